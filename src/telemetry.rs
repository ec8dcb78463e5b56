//! Logging. In Lambda: one flat JSON object per line on stdout, with the keys Powertools
//! for AWS Lambda's logger uses, so its users' Logs Insights queries work unchanged:
//! `timestamp`, `level`, `message`, `service`, `cold_start`, `function_name`,
//! `function_request_id`, `xray_trace_id` (the handler opens [`invocation_span`] around
//! every invocation), beside the event's own fields and the runtime span's `requestId`
//! (every enclosing span's fields are lifted to the top level, not nested under `span`).
//! In the CLI: human-readable text on stderr, so stdout stays for the report.
//!
//! The level: `AWS_LAMBDA_LOG_LEVEL` when set (Lambda's advanced logging controls set it
//! from the function's `ApplicationLogLevel`: TRACE, DEBUG, INFO, WARN, ERROR, FATAL), so
//! the level chosen in the Lambda console or template wins; otherwise `RUST_LOG` (any
//! `EnvFilter` directive); otherwise `info`. An unknown `AWS_LAMBDA_LOG_LEVEL` is ignored
//! (falls back to `RUST_LOG`) rather than silencing the function.

use serde_json::{Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// The default `service` (Powertools reads `POWERTOOLS_SERVICE_NAME`; so do we).
pub const DEFAULT_SERVICE: &str = "binance-account-sync";

/// `POWERTOOLS_SERVICE_NAME` when set and not empty, else [`DEFAULT_SERVICE`]: the logs'
/// `service` key and the metrics' `service` dimension/property.
pub fn service_name() -> String {
    std::env::var("POWERTOOLS_SERVICE_NAME")
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_SERVICE.to_owned())
}

/// Which invocation of this container was its cold start: the first request id seen.
/// Asking again for the same request answers the same (the fleet and the account's App
/// both ask during one invocation), so it is keyed by request id, not a one-shot flag.
#[derive(Debug, Default)]
pub struct ColdStart {
    first: OnceLock<String>,
    metric_taken: AtomicBool,
}

impl ColdStart {
    pub const fn new() -> Self {
        Self {
            first: OnceLock::new(),
            metric_taken: AtomicBool::new(false),
        }
    }

    /// True for the container's first invocation (and only for it).
    pub fn is_cold(&self, request_id: &str) -> bool {
        self.first.get_or_init(|| request_id.to_owned()) == request_id
    }

    /// True once per container, during its first invocation: whoever gets it emits the
    /// `ColdStart` metric, so the fleet and the account's App never both do.
    pub fn take_metric(&self, request_id: &str) -> bool {
        self.is_cold(request_id) && !self.metric_taken.swap(true, Ordering::SeqCst)
    }
}

/// This process's cold start.
pub static COLD_START: ColdStart = ColdStart::new();

/// The trace id Powertools logs as `xray_trace_id`: the `Root=` part of an X-Ray trace
/// header (`Root=1-..;Parent=..;Sampled=1`, what the runtime puts in `_X_AMZN_TRACE_ID`).
pub fn xray_trace_id(header: &str) -> Option<&str> {
    header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Root="))
        .filter(|root| !root.is_empty())
}

/// The span around one invocation: its fields become every log line's Powertools keys.
/// `trace_header` is the invocation's X-Ray header (the runtime sets `_X_AMZN_TRACE_ID`
/// for each invocation: [`current_trace_header`]).
pub fn invocation_span(
    request_id: &str,
    function_name: &str,
    trace_header: Option<&str>,
) -> tracing::Span {
    let span = tracing::info_span!(
        "invocation",
        service = %service_name(),
        cold_start = COLD_START.is_cold(request_id),
        function_name = %function_name,
        function_request_id = %request_id,
        xray_trace_id = tracing::field::Empty,
    );
    if let Some(id) = trace_header.and_then(xray_trace_id) {
        span.record("xray_trace_id", id);
    }
    span
}

/// `_X_AMZN_TRACE_ID`, which lambda_runtime sets before each invocation.
pub fn current_trace_header() -> Option<String> {
    std::env::var("_X_AMZN_TRACE_ID").ok()
}

/// The Lambda log format: a flat JSON object per event (see the module doc).
#[derive(Debug, Default, Clone, Copy)]
pub struct FlatJson;

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::from(format!("{value:?}")));
    }
}

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut line = Map::new();
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        line.insert("timestamp".into(), Value::from(timestamp));
        line.insert(
            "level".into(),
            Value::from(event.metadata().level().as_str()),
        );
        line.insert("target".into(), Value::from(event.metadata().target()));
        // Outer spans first, so an inner span's field (or the event's) wins a clash.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                // JsonFields stores each span's fields as one JSON object.
                if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(fields) {
                    line.extend(fields);
                }
            }
        }
        event.record(&mut JsonVisitor(&mut line));
        let text = serde_json::to_string(&line).map_err(|_| std::fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

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
        .with_env_filter(filter())
        .fmt_fields(JsonFields::new())
        .event_format(FlatJson)
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
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The lines the Lambda format writes while `f` runs.
    fn lambda_lines(f: impl FnOnce()) -> Vec<Value> {
        let out = Captured::default();
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = out.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn lambda_log_lines_carry_the_powertools_keys_at_the_top_level() {
        let lines = lambda_lines(|| {
            let runtime = tracing::info_span!("Lambda runtime invoke", requestId = "req-7");
            let _r = runtime.enter();
            let span = invocation_span(
                "req-7",
                "binance-account-sync-prod",
                Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
            );
            let _s = span.enter();
            tracing::info!(corrections = 3, "sync finished");
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["message"], "sync finished");
        assert_eq!(line["level"], "INFO");
        assert!(line["timestamp"].is_string());
        assert_eq!(line["service"], service_name());
        assert!(line["cold_start"].is_boolean());
        assert_eq!(line["function_name"], "binance-account-sync-prod");
        assert_eq!(line["function_request_id"], "req-7");
        assert_eq!(line["xray_trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(line["requestId"], "req-7");
        assert_eq!(line["corrections"], 3);
        assert!(line.get("span").is_none() && line.get("fields").is_none());
    }

    #[test]
    fn a_line_outside_an_invocation_has_no_invocation_keys() {
        let lines = lambda_lines(|| tracing::warn!("cold start failed"));
        assert_eq!(lines[0]["message"], "cold start failed");
        assert_eq!(lines[0]["level"], "WARN");
        assert!(lines[0].get("function_request_id").is_none());
    }

    #[test]
    fn only_the_first_invocation_of_a_container_is_its_cold_start() {
        let cold = ColdStart::new();
        assert!(cold.is_cold("first"));
        assert!(cold.is_cold("first"), "asked twice in one invocation");
        assert!(!cold.is_cold("second"));
        assert!(cold.is_cold("first"));
    }

    #[test]
    fn the_cold_start_metric_is_taken_once_and_only_by_the_first_invocation() {
        let cold = ColdStart::new();
        assert!(cold.take_metric("first"));
        assert!(!cold.take_metric("first"));
        assert!(!cold.take_metric("second"));
        let late = ColdStart::new();
        assert!(late.is_cold("a"));
        assert!(!late.take_metric("b"));
    }

    #[test]
    fn xray_trace_id_is_the_root_of_the_trace_header() {
        assert_eq!(
            xray_trace_id("Root=1-abc-def;Parent=1234;Sampled=0"),
            Some("1-abc-def")
        );
        assert_eq!(xray_trace_id("Parent=1234;Root=1-x"), Some("1-x"));
        assert_eq!(xray_trace_id("Parent=1234"), None);
        assert_eq!(xray_trace_id(""), None);
    }

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
