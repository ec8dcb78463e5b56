//! CloudWatch metrics as Embedded Metric Format (EMF) documents printed to stdout; the
//! Lambda log agent turns them into metrics, so no API call and no extra latency.
//!
//! One document per run, dimensions `[["Account","Mode"]]`, namespace from
//! `SYNC_METRICS_NAMESPACE`, with the Powertools `service` as a property. A separate
//! `ColdStart` document on the first invocation of a container, shaped as Powertools for
//! AWS Lambda emits it (`capture_cold_start_metric`): `ColdStart` = 1 with the dimensions
//! `function_name` and `service`; and at init an `InitDurationMs` document with the same
//! dimensions. `service` is not a dimension of the run documents (Powertools adds it to
//! every metric): the alarms and the dashboard select `Account`/`Mode` series, and adding a
//! dimension would make them new series. The builders are pure; [`emit`] writes one line.

use crate::core::Mode;
use crate::domain::{CorrectionKind, Millis, Severity};
use crate::report::{Outcome, SyncReport};
use serde_json::{json, Map, Value};
use std::io::Write;

/// Units allowed by CloudWatch.
pub const VALID_UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// EMF limits.
pub const MAX_METRICS: usize = 100;
pub const MAX_DIMENSIONS: usize = 30;

/// Where a document goes: namespace and the dimension values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricContext<'a> {
    pub namespace: &'a str,
    /// The Powertools `service` (`telemetry::service_name`), a property of the document.
    pub service: &'a str,
    pub account: &'a str,
    pub mode: Mode,
    pub timestamp: Millis,
}

struct Doc {
    metrics: Vec<Value>,
    body: Map<String, Value>,
}

impl Doc {
    fn new() -> Self {
        Self {
            metrics: Vec::new(),
            body: Map::new(),
        }
    }
    fn metric(&mut self, name: &str, unit: &str, value: f64) -> &mut Self {
        // Non-finite values are not numbers in JSON; report 0 rather than drop the doc.
        let v = if value.is_finite() { value } else { 0.0 };
        self.metrics.push(json!({"Name": name, "Unit": unit}));
        self.body.insert(name.to_owned(), json!(v));
        self
    }
    fn count(&mut self, name: &str, value: u64) -> &mut Self {
        self.metric(name, "Count", value as f64)
    }
    fn property(&mut self, name: &str, value: Value) -> &mut Self {
        self.body.insert(name.to_owned(), value);
        self
    }
    fn finish(self, namespace: &str, dimensions: &[&str], timestamp: Millis) -> Value {
        let mut body = self.body;
        body.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [dimensions],
                    "Metrics": self.metrics,
                }]
            }),
        );
        Value::Object(body)
    }
}

fn with_dimensions(doc: &mut Doc, ctx: &MetricContext<'_>) {
    doc.property("Account", json!(ctx.account))
        .property("Mode", json!(ctx.mode.as_str()))
        .property("service", json!(ctx.service));
}

/// Whether a run counts as a success for the "no successful sync" alarm: it completed,
/// made progress, or a success happened within the minimum interval.
pub fn is_success(outcome: Outcome) -> bool {
    // A partial run is not a success: its records are not known right yet
    // (`SyncPartial` counts it; the no-success alarm sees it).
    matches!(outcome, Outcome::Complete | Outcome::TooSoon)
}

/// Discrepancies that need a human (severity ≥ Warning): the `Discrepancies` metric.
pub fn alertable_discrepancies(report: &SyncReport) -> u64 {
    report
        .discrepancies
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
        .count() as u64
}

/// The document for a run that returned a report.
pub fn emf_for_report(report: &SyncReport, ctx: &MetricContext<'_>) -> Value {
    let mut doc = Doc::new();
    with_dimensions(&mut doc, ctx);
    let success = is_success(report.outcome);
    doc.count("SyncSuccess", u64::from(success))
        .count("SyncFailure", 0)
        .count("SyncPartial", u64::from(report.outcome == Outcome::Partial))
        .count(
            "SyncSkipped",
            u64::from(matches!(
                report.outcome,
                Outcome::LeaseHeld | Outcome::TooSoon
            )),
        )
        .metric("DurationMs", "Milliseconds", report.duration_ms as f64)
        .count("Corrections", report.correction_count())
        .count(
            "BalanceCorrections",
            report.count(CorrectionKind::BalanceCorrected),
        )
        .count(
            "PositionsRecovered",
            report.count(CorrectionKind::PositionRecovered),
        )
        .count(
            "PositionsClosed",
            report.count(CorrectionKind::PositionClosed),
        )
        .count(
            "PositionsAdjusted",
            report.count(CorrectionKind::PositionAdjusted),
        )
        .count("DustRecorded", report.count(CorrectionKind::DustRecorded))
        .count(
            "OrdersUpdated",
            report.count(CorrectionKind::OrderUpdated)
                + report.count(CorrectionKind::OrderRecorded),
        )
        .count(
            "TradesRecovered",
            report.count(CorrectionKind::TradeRecovered),
        )
        .count("Discrepancies", alertable_discrepancies(report))
        .count("WriteConflicts", report.conflicts.len() as u64)
        .count("SymbolsFailed", report.symbols_failed.len() as u64)
        .count("SymbolsUnknown", report.symbols_unknown.len() as u64)
        .count("SymbolsUncovered", report.symbols_uncovered.len() as u64)
        .count("BinanceWeightUsed", report.exchange_usage.weight)
        .count("BinanceRequests", report.exchange_usage.requests)
        .metric(
            "DynamoDBCapacityUnits",
            "Count",
            report.dynamodb_capacity_units,
        )
        .property("RunId", json!(report.run_id))
        .property("Outcome", json!(report.outcome))
        .property("DryRun", json!(report.dry_run));
    doc.finish(ctx.namespace, &["Account", "Mode"], ctx.timestamp)
}

/// The document for a failed run: `SyncFailure` = 1 with the stable `ErrorType`.
pub fn emf_for_failure(kind: &str, duration_ms: u64, ctx: &MetricContext<'_>) -> Value {
    let mut doc = Doc::new();
    with_dimensions(&mut doc, ctx);
    doc.count("SyncSuccess", 0)
        .count("SyncFailure", 1)
        .metric("DurationMs", "Milliseconds", duration_ms as f64)
        .property("ErrorType", json!(kind));
    doc.finish(ctx.namespace, &["Account", "Mode"], ctx.timestamp)
}

/// Powertools' cold-start dimensions.
const COLD_START_DIMENSIONS: &[&str] = &["function_name", "service"];

/// The `ColdStart` document, on a container's first invocation (Powertools' shape:
/// dimensions `function_name` and `service`).
pub fn emf_cold_start(
    namespace: &str,
    service: &str,
    function_name: &str,
    timestamp: Millis,
) -> Value {
    let mut doc = Doc::new();
    doc.property("function_name", json!(function_name))
        .property("service", json!(service))
        .count("ColdStart", 1);
    doc.finish(namespace, COLD_START_DIMENSIONS, timestamp)
}

/// The init document (what the cold start cost), written when the init finishes; same
/// dimensions as `ColdStart`.
pub fn emf_init_duration(
    namespace: &str,
    service: &str,
    function_name: &str,
    init_ms: u64,
    timestamp: Millis,
) -> Value {
    let mut doc = Doc::new();
    doc.property("function_name", json!(function_name))
        .property("service", json!(service))
        .metric("InitDurationMs", "Milliseconds", init_ms as f64);
    doc.finish(namespace, COLD_START_DIMENSIONS, timestamp)
}

/// The registry's document, once per fan-out (`list_accounts`): how many accounts the
/// schedule syncs, and how many registry items do not parse (alarmed: such an account is
/// never synced until its item is fixed). No dimension: one deployment, one series.
pub fn emf_registry(namespace: &str, enabled: u64, invalid: u64, timestamp: Millis) -> Value {
    let mut doc = Doc::new();
    doc.count("RegistryAccounts", enabled)
        .count("RegistryItemsInvalid", invalid);
    doc.finish(namespace, &[], timestamp)
}

/// Write one document as one line.
pub fn write_emf(doc: &Value, out: &mut impl Write) -> std::io::Result<()> {
    let line = serde_json::to_string(doc).map_err(std::io::Error::other)?;
    writeln!(out, "{line}")?;
    out.flush()
}

/// Print one document to stdout (where the Lambda agent picks it up).
pub fn emit(doc: &Value) {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    if let Err(e) = write_emf(doc, &mut lock) {
        tracing::warn!(error = %e, "could not write EMF metrics");
    }
}

/// Check a document against the EMF specification's structure and limits. Used by tests;
/// returns the first violation.
pub fn validate_emf(doc: &Value) -> Result<(), String> {
    let root = doc.as_object().ok_or("document is not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("missing _aws")?;
    let ts = aws
        .get("Timestamp")
        .and_then(Value::as_i64)
        .ok_or("_aws.Timestamp is not an integer")?;
    // Milliseconds since the epoch: after 2001-09-09 and before 2286.
    if !(1_000_000_000_000..10_000_000_000_000).contains(&ts) {
        return Err(format!("_aws.Timestamp {ts} is not epoch milliseconds"));
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("missing CloudWatchMetrics")?;
    if directives.is_empty() {
        return Err("CloudWatchMetrics is empty".into());
    }
    for d in directives {
        let ns = d
            .get("Namespace")
            .and_then(Value::as_str)
            .ok_or("missing Namespace")?;
        if ns.is_empty() || ns.len() > 255 {
            return Err(format!("bad namespace {ns:?}"));
        }
        let sets = d
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("missing Dimensions")?;
        for set in sets {
            let set = set.as_array().ok_or("dimension set is not an array")?;
            if set.len() > MAX_DIMENSIONS {
                return Err(format!(
                    "{} dimensions in a set (max {MAX_DIMENSIONS})",
                    set.len()
                ));
            }
            for dim in set {
                let name = dim.as_str().ok_or("dimension name is not a string")?;
                match root.get(name) {
                    Some(Value::String(v)) if !v.is_empty() && v.len() <= 1024 => {}
                    _ => return Err(format!("dimension {name} has no string value member")),
                }
            }
        }
        let metrics = d
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("missing Metrics")?;
        if metrics.len() > MAX_METRICS {
            return Err(format!("{} metrics (max {MAX_METRICS})", metrics.len()));
        }
        for m in metrics {
            let name = m
                .get("Name")
                .and_then(Value::as_str)
                .ok_or("metric without Name")?;
            if name.is_empty() || name.len() > 1024 {
                return Err(format!("bad metric name {name:?}"));
            }
            if let Some(unit) = m.get("Unit") {
                let unit = unit.as_str().ok_or("Unit is not a string")?;
                if !VALID_UNITS.contains(&unit) {
                    return Err(format!("metric {name} has invalid unit {unit}"));
                }
            }
            match root.get(name) {
                Some(Value::Number(n)) if n.as_f64().is_some_and(f64::is_finite) => {}
                Some(Value::Array(vs)) if !vs.is_empty() && vs.len() <= 100 => {
                    if !vs.iter().all(|v| v.as_f64().is_some_and(f64::is_finite)) {
                        return Err(format!("metric {name} has a non-finite value"));
                    }
                }
                _ => return Err(format!("metric {name} has no numeric value member")),
            }
        }
    }
    Ok(())
}
