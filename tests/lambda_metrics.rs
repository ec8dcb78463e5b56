//! EMF documents against the specification's structure and limits.

use binance_account_sync::core::Mode;
use binance_account_sync::domain::{CorrectionKind, Discrepancy, Severity};
use binance_account_sync::exchange::Usage;
use binance_account_sync::metrics::{
    emf_cold_start, emf_for_failure, emf_for_report, emf_init_duration, validate_emf, write_emf,
    MetricContext, MAX_METRICS,
};
use binance_account_sync::report::{Outcome, ReportedConflict, SyncReport};
use std::collections::BTreeMap;

const NOW: i64 = 1_790_000_000_000;

fn report() -> SyncReport {
    let counts: BTreeMap<CorrectionKind, u64> = [
        (CorrectionKind::BalanceCorrected, 2),
        (CorrectionKind::PositionRecovered, 1),
        (CorrectionKind::OrderUpdated, 3),
        (CorrectionKind::OrderRecorded, 1),
        (CorrectionKind::TradeRecovered, 5),
    ]
    .into_iter()
    .collect();
    SyncReport {
        run_id: "run-1".into(),
        account: "main".into(),
        exchange: "binance".into(),
        mode: Mode::Emergency,
        dry_run: false,
        started_at: NOW - 1500,
        finished_at: NOW,
        duration_ms: 1500,
        outcome: Outcome::Complete,
        outcome_detail: None,
        counts,
        corrections: vec![],
        corrections_not_listed: 0,
        checkpoints_written: 0,
        discrepancies: vec![
            disc("balance_unexplained:USDT", Severity::Warning),
            disc("trades_recovered:BNBUSDT", Severity::Info),
            disc("balance:BTC", Severity::Critical),
        ],
        explanations: vec![],
        conflicts: vec![ReportedConflict {
            key: "position:BTCUSDT".into(),
            resolution: binance_account_sync::core::conflict::ConflictResolution::Deferred,
        }],
        notes: vec![],
        symbols_checked: vec!["BTCUSDT".into()],
        symbols_failed: vec![],
        symbols_unknown: vec![],
        symbols_uncovered: vec![],
        units: 3,
        trust: None,
        exchange_usage: Usage {
            requests: 12,
            weight: 240,
            last_used_weight_1m: Some(300),
            retries: 0,
        },
        dynamodb_capacity_units: 7.5,
    }
}

fn disc(key: &str, severity: Severity) -> Discrepancy {
    Discrepancy {
        key: key.into(),
        // The kind is the key's first part, as the core writes them.
        kind: key.split(':').next().unwrap_or(key).into(),
        severity,
        symbol: None,
        asset: None,
        before: None,
        after: None,
        diff_pct: None,
        message: "m".into(),
    }
}

fn ctx() -> MetricContext<'static> {
    MetricContext {
        namespace: "BinanceAccountSync",
        service: "binance-account-sync",
        account: "main",
        mode: Mode::Emergency,
        timestamp: NOW,
    }
}

#[test]
fn report_document_is_valid_emf_with_the_expected_values() {
    let doc = emf_for_report(&report(), &ctx());
    validate_emf(&doc).unwrap();
    assert_eq!(doc["_aws"]["Timestamp"], NOW);
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "BinanceAccountSync"
    );
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["Account", "Mode"]])
    );
    assert_eq!(doc["Account"], "main");
    assert_eq!(doc["Mode"], "emergency");
    for (name, value) in [
        ("SyncSuccess", 1.0),
        ("SyncFailure", 0.0),
        ("DurationMs", 1500.0),
        ("BalanceCorrections", 2.0),
        ("PositionsRecovered", 1.0),
        ("PositionsClosed", 0.0),
        ("OrdersUpdated", 4.0),
        ("TradesRecovered", 5.0),
        ("Discrepancies", 2.0),
        ("WriteConflicts", 1.0),
        ("BinanceWeightUsed", 240.0),
    ] {
        assert_eq!(doc[name].as_f64(), Some(value), "{name}");
    }
    let metrics = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap();
    assert!(metrics.len() <= MAX_METRICS);
    let duration = metrics.iter().find(|m| m["Name"] == "DurationMs").unwrap();
    assert_eq!(duration["Unit"], "Milliseconds");
}

#[test]
fn skipped_runs_are_not_failures() {
    let mut r = report();
    r.outcome = Outcome::LeaseHeld;
    let doc = emf_for_report(&r, &ctx());
    validate_emf(&doc).unwrap();
    assert_eq!(doc["SyncSuccess"], 0.0);
    assert_eq!(doc["SyncFailure"], 0.0);
    assert_eq!(doc["SyncSkipped"], 1.0);
}

#[test]
fn failure_document_counts_a_failure_with_its_error_type() {
    let doc = emf_for_failure("ExchangeBanned", 800, &ctx());
    validate_emf(&doc).unwrap();
    assert_eq!(doc["SyncFailure"], 1.0);
    assert_eq!(doc["SyncSuccess"], 0.0);
    assert_eq!(doc["ErrorType"], "ExchangeBanned");
}

#[test]
fn cold_start_document_has_the_powertools_dimensions_function_name_and_service() {
    let doc = emf_cold_start(
        "BinanceAccountSync",
        "binance-account-sync",
        "sync-prod",
        NOW,
    );
    validate_emf(&doc).unwrap();
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["function_name", "service"]])
    );
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Metrics"],
        serde_json::json!([{"Name": "ColdStart", "Unit": "Count"}])
    );
    assert_eq!(doc["ColdStart"], 1.0);
    assert_eq!(doc["function_name"], "sync-prod");
    assert_eq!(doc["service"], "binance-account-sync");
}

#[test]
fn init_duration_document_shares_the_cold_start_dimensions_without_counting_one() {
    let doc = emf_init_duration(
        "BinanceAccountSync",
        "binance-account-sync",
        "sync-prod",
        120,
        NOW,
    );
    validate_emf(&doc).unwrap();
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["function_name", "service"]])
    );
    assert_eq!(doc["InitDurationMs"], 120.0);
    assert!(
        doc.get("ColdStart").is_none(),
        "ColdStart counts invocations, not inits"
    );
}

#[test]
fn run_documents_carry_the_service_beside_their_account_and_mode_dimensions() {
    for doc in [
        emf_for_report(&report(), &ctx()),
        emf_for_failure("ExchangeBanned", 800, &ctx()),
    ] {
        validate_emf(&doc).unwrap();
        assert_eq!(doc["service"], "binance-account-sync");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Account", "Mode"]])
        );
    }
}

#[test]
fn non_finite_values_never_reach_the_document() {
    let mut r = report();
    r.dynamodb_capacity_units = f64::NAN;
    validate_emf(&emf_for_report(&r, &ctx())).unwrap();
}

#[test]
fn validator_catches_spec_violations() {
    let good = emf_for_failure("X", 1, &ctx());
    let mut no_value = good.clone();
    no_value.as_object_mut().unwrap().remove("SyncFailure");
    assert!(validate_emf(&no_value).is_err());
    let mut seconds = good.clone();
    seconds["_aws"]["Timestamp"] = serde_json::json!(NOW / 1000);
    assert!(validate_emf(&seconds).is_err());
    let mut bad_unit = good.clone();
    bad_unit["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = serde_json::json!("Things");
    assert!(validate_emf(&bad_unit).is_err());
    let mut no_dim = good;
    no_dim.as_object_mut().unwrap().remove("Account");
    assert!(validate_emf(&no_dim).is_err());
}

#[test]
fn writer_prints_one_json_line() {
    let mut out = Vec::new();
    write_emf(&emf_for_failure("X", 1, &ctx()), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 1);
    let parsed: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    validate_emf(&parsed).unwrap();
}

#[test]
fn the_registry_document_counts_the_fleet_without_an_account_dimension() {
    let doc =
        binance_account_sync::metrics::emf_registry("BinanceAccountSync", 3, 1, 1_796_000_000_000);
    binance_account_sync::metrics::validate_emf(&doc).expect("valid EMF");
    assert_eq!(doc["RegistryAccounts"], 3.0);
    assert_eq!(doc["RegistryItemsInvalid"], 1.0);
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([[]]),
        "one series per deployment: the alarm watches it without dimensions"
    );
}
