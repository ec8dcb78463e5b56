//! Logging. In Lambda: JSON lines on stdout carrying the invocation's span fields (the
//! runtime opens a `Lambda runtime invoke` span with `requestId` around every invocation).
//! In the CLI: human-readable text on stderr, so stdout stays for the report.
//! The filter comes from `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// JSON logs for Lambda. Safe to call twice (the second call is a no-op).
pub fn init_lambda() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(true)
        .try_init();
}

/// Text logs for the CLI, on stderr.
pub fn init_cli() {
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal, not in pipes, files or CI logs.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
