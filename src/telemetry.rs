//! Logging. In Lambda: JSON lines on stdout carrying the invocation's span fields (the
//! runtime opens a `Lambda runtime invoke` span with `requestId` around every invocation).
//! In the CLI: human-readable text on stderr, so stdout stays for the report.
//!
//! The level: `AWS_LAMBDA_LOG_LEVEL` when set (Lambda's advanced logging controls set it
//! from the function's `ApplicationLogLevel`: TRACE, DEBUG, INFO, WARN, ERROR, FATAL), so
//! the level chosen in the Lambda console or template wins; otherwise `RUST_LOG` (any
//! `EnvFilter` directive); otherwise `info`. An unknown `AWS_LAMBDA_LOG_LEVEL` is ignored
//! (falls back to `RUST_LOG`) rather than silencing the function.

use tracing_subscriber::EnvFilter;

/// The `EnvFilter` directive for an `AWS_LAMBDA_LOG_LEVEL` value (case-insensitive);
/// None for an empty or unknown value. FATAL has no tracing level: it maps to `error`.
pub fn lambda_log_directive(value: &str) -> Option<&'static str> {
    match value.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Some("trace"),
        "DEBUG" => Some("debug"),
        "INFO" => Some("info"),
        "WARN" => Some("warn"),
        "ERROR" | "FATAL" => Some("error"),
        _ => None,
    }
}

/// The filter directive from the two variables, by precedence (see the module doc).
pub fn filter_directive(aws_lambda_log_level: Option<&str>, rust_log: Option<&str>) -> String {
    if let Some(d) = aws_lambda_log_level.and_then(lambda_log_directive) {
        return d.to_owned();
    }
    match rust_log.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) if EnvFilter::try_new(v).is_ok() => v.to_owned(),
        _ => "info".to_owned(),
    }
}

fn filter() -> EnvFilter {
    let lambda = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    let directive = filter_directive(lambda.as_deref(), rust_log.as_deref());
    EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("info"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_lambda_log_level_takes_precedence_over_rust_log() {
        assert_eq!(filter_directive(Some("WARN"), Some("debug")), "warn");
        assert_eq!(filter_directive(Some("debug"), Some("error")), "debug");
        assert_eq!(filter_directive(Some("TRACE"), None), "trace");
    }

    #[test]
    fn fatal_maps_to_error_the_most_severe_tracing_level() {
        assert_eq!(filter_directive(Some("FATAL"), Some("trace")), "error");
    }

    #[test]
    fn rust_log_applies_when_aws_lambda_log_level_is_unset_empty_or_unknown() {
        let directive = "binance_account_sync=debug,info";
        assert_eq!(filter_directive(None, Some(directive)), directive);
        assert_eq!(filter_directive(Some(""), Some("warn")), "warn");
        assert_eq!(filter_directive(Some("LOUD"), Some("warn")), "warn");
    }

    #[test]
    fn the_default_is_info() {
        assert_eq!(filter_directive(None, None), "info");
        assert_eq!(filter_directive(Some("LOUD"), Some("  ")), "info");
    }
}
