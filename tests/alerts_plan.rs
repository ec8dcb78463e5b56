//! Alert planning: what alerts, de-duplication, failures, security findings.

use binance_account_sync::alerts::{
    failure_alert, plan_alert, security_alert, security_check_due, security_findings,
    AlertSeverity, AlertType, SecurityFinding,
};
use binance_account_sync::core::Mode;
use binance_account_sync::domain::{ApiRestrictions, CorrectionKind, Discrepancy, Severity};
use binance_account_sync::report::{Outcome, ReportedCorrection, SyncReport};
use std::collections::BTreeMap;

const HOUR: i64 = 3_600_000;
const REPEAT: i64 = 24 * HOUR;
const T0: i64 = 1_790_000_000_000;

fn disc(key: &str, severity: Severity) -> Discrepancy {
    Discrepancy {
        key: key.into(),
        // The kind is the key's first part, as the core writes them.
        kind: key.split(':').next().unwrap_or(key).into(),
        severity,
        symbol: None,
        asset: None,
        before: Some("100".into()),
        after: Some("90".into()),
        diff_pct: Some(rust_decimal::Decimal::new(-10, 0)),
        message: format!("{key} differs"),
    }
}

fn report(discrepancies: Vec<Discrepancy>) -> SyncReport {
    SyncReport {
        run_id: "run-1".into(),
        account: "main".into(),
        exchange: "binance".into(),
        mode: Mode::Periodic,
        dry_run: false,
        started_at: T0,
        finished_at: T0,
        duration_ms: 1,
        outcome: Outcome::Complete,
        outcome_detail: None,
        counts: BTreeMap::new(),
        corrections: vec![],
        corrections_not_listed: 0,
        checkpoints_written: 0,
        discrepancies,
        explanations: vec![],
        conflicts: vec![],
        notes: vec![],
        symbols_checked: vec![],
        symbols_failed: vec![],
        symbols_unknown: vec![],
        symbols_uncovered: vec![],
        units: 0,
        trust: None,
        exchange_usage: Default::default(),
        dynamodb_capacity_units: 0.0,
    }
}

#[test]
fn clean_run_does_not_alert() {
    let (alert, map) = plan_alert(
        &report(vec![disc("trades_recovered:BNBUSDT", Severity::Info)]),
        &BTreeMap::new(),
        T0,
        REPEAT,
    );
    assert!(alert.is_none());
    assert!(map.is_empty());
}

#[test]
fn same_discrepancy_not_realerted_within_repeat_window() {
    let r = report(vec![disc("balance_unexplained:USDT", Severity::Warning)]);
    let (first, map) = plan_alert(&r, &BTreeMap::new(), T0, REPEAT);
    let first = first.expect("first sighting alerts");
    assert_eq!(first.alert_type, AlertType::Discrepancy);
    assert_eq!(first.severity, AlertSeverity::Warning);
    assert!(first.message.contains("balance_unexplained:USDT"));
    assert_eq!(map.get("balance_unexplained:USDT"), Some(&T0));

    let (again, map2) = plan_alert(&r, &map, T0 + REPEAT - 1, REPEAT);
    assert!(again.is_none(), "re-alerted within the window");
    assert_eq!(
        map2.get("balance_unexplained:USDT"),
        Some(&T0),
        "first alert time kept"
    );

    let (later, map3) = plan_alert(&r, &map2, T0 + REPEAT, REPEAT);
    assert!(later.is_some(), "repeats once the window has passed");
    assert_eq!(map3.get("balance_unexplained:USDT"), Some(&(T0 + REPEAT)));
}

#[test]
fn resolved_then_recurring_discrepancy_alerts_again() {
    let bad = report(vec![disc("balance_unexplained:USDT", Severity::Warning)]);
    let (_, map) = plan_alert(&bad, &BTreeMap::new(), T0, REPEAT);
    let (none, map) = plan_alert(&report(vec![]), &map, T0 + HOUR, REPEAT);
    assert!(none.is_none());
    assert!(map.is_empty(), "resolved key dropped");
    let (again, _) = plan_alert(&bad, &map, T0 + 2 * HOUR, REPEAT);
    assert!(again.is_some(), "recurrence alerts again");
}

#[test]
fn only_new_keys_alert_and_are_listed() {
    let (_, map) = plan_alert(
        &report(vec![disc("balance_unexplained:USDT", Severity::Warning)]),
        &BTreeMap::new(),
        T0,
        REPEAT,
    );
    let r = report(vec![
        disc("balance_unexplained:USDT", Severity::Warning),
        disc("balance:BTC", Severity::Critical),
    ]);
    let (alert, map) = plan_alert(&r, &map, T0 + HOUR, REPEAT);
    let alert = alert.unwrap();
    assert_eq!(alert.severity, AlertSeverity::Critical);
    assert!(alert.message.contains("balance:BTC"));
    assert!(!alert.message.contains("balance_unexplained:USDT"));
    assert_eq!(map.len(), 2);
}

#[test]
fn partial_or_skipped_runs_do_not_forget_alerted_keys() {
    let (_, map) = plan_alert(
        &report(vec![disc("balance_unexplained:USDT", Severity::Warning)]),
        &BTreeMap::new(),
        T0,
        REPEAT,
    );
    for outcome in [Outcome::Partial, Outcome::LeaseHeld, Outcome::TooSoon] {
        let mut r = report(vec![]);
        r.outcome = outcome;
        let (alert, next) = plan_alert(&r, &map, T0 + HOUR, REPEAT);
        assert!(alert.is_none());
        assert_eq!(next, map, "{outcome:?}");
    }
}

#[test]
fn recovered_position_alerts() {
    let mut r = report(vec![]);
    r.counts.insert(CorrectionKind::PositionRecovered, 1);
    r.corrections.push(ReportedCorrection {
        kind: CorrectionKind::PositionRecovered,
        key: "position:ETHUSDT".into(),
        reason: "New position found on exchange: ETHUSDT".into(),
        before: None,
        after: serde_json::json!({}),
    });
    let (alert, _) = plan_alert(&r, &BTreeMap::new(), T0, REPEAT);
    let alert = alert.unwrap();
    assert_eq!(alert.alert_type, AlertType::Position);
    assert!(alert
        .message
        .contains("New position found on exchange: ETHUSDT"));
    let attrs: BTreeMap<_, _> = alert.attributes().into_iter().collect();
    assert_eq!(attrs["account"], "main");
    assert_eq!(attrs["type"], "position");
    assert_eq!(attrs["severity"], "warning");
}

#[test]
fn failure_always_alerts() {
    let a = failure_alert(
        "main",
        Mode::Periodic,
        "ExchangeBanned",
        "IP banned by the exchange",
        Some("req-1"),
    );
    assert_eq!(a.alert_type, AlertType::Failure);
    assert_eq!(a.severity, AlertSeverity::Critical);
    assert!(a.subject.contains("ExchangeBanned"));
    assert!(a.message.contains("req-1"));
}

#[test]
fn subjects_fit_sns_limits() {
    let long_account = "ü".repeat(200);
    let a = failure_alert(
        &long_account,
        Mode::Emergency,
        "StoreUnavailable",
        "x",
        None,
    );
    assert!(a.subject.len() < 100);
    assert!(a.subject.chars().all(|c| c.is_ascii() && !c.is_control()));
}

#[test]
fn withdrawal_permission_raises_security_alert() {
    let restrictions = ApiRestrictions {
        ip_restrict: true,
        enable_withdrawals: true,
        enable_reading: true,
        enable_spot_and_margin_trading: true,
    };
    let findings = security_findings(&restrictions);
    assert_eq!(findings, vec![SecurityFinding::WithdrawalsEnabled]);
    let alert = security_alert("main", &findings).unwrap();
    assert_eq!(alert.alert_type, AlertType::Security);
    assert_eq!(alert.severity, AlertSeverity::Critical);
    assert!(alert.message.to_lowercase().contains("withdraw"));
}

#[test]
fn missing_ip_restriction_is_a_finding_and_a_safe_key_is_not() {
    let open = ApiRestrictions {
        ip_restrict: false,
        enable_withdrawals: false,
        enable_reading: true,
        enable_spot_and_margin_trading: true,
    };
    assert_eq!(
        security_findings(&open),
        vec![SecurityFinding::NoIpRestriction]
    );
    assert_eq!(
        security_alert("main", &security_findings(&open))
            .unwrap()
            .severity,
        AlertSeverity::Warning
    );
    let safe = ApiRestrictions {
        ip_restrict: true,
        ..open
    };
    assert!(security_findings(&safe).is_empty());
    assert!(security_alert("main", &[]).is_none());
}

#[test]
fn security_check_is_due_once_per_interval() {
    assert!(security_check_due(None, T0, 24));
    assert!(!security_check_due(Some(T0), T0 + 23 * HOUR, 24));
    assert!(security_check_due(Some(T0), T0 + 24 * HOUR, 24));
}

#[test]
fn same_failure_alerted_once_per_repeat_window_and_again_after_a_success() {
    use binance_account_sync::alerts::plan_failure_alert;
    let day = 86_400_000;
    let (send, map) = plan_failure_alert("ExchangeUnavailable", &Default::default(), 1_000, day);
    assert!(send, "the first failure alerts");
    let (again, map2) = plan_failure_alert("ExchangeUnavailable", &map, 1_000 + 30 * 60_000, day);
    assert!(
        !again,
        "the same failure 30 minutes later does not alert again"
    );
    assert_eq!(map2, map);
    let (other, _) = plan_failure_alert("StoreUnavailable", &map, 1_000 + 30 * 60_000, day);
    assert!(other, "a different failure alerts");
    let (later, _) = plan_failure_alert("ExchangeUnavailable", &map, 1_000 + day, day);
    assert!(later, "after the repeat window it alerts again");
    // A successful run's plan drops the failure key, so a recurrence alerts at once.
    let ok = report(vec![]);
    let (_, after_success) = binance_account_sync::alerts::plan_alert(&ok, &map, 2_000, day);
    assert!(!after_success.contains_key("failure:ExchangeUnavailable"));
}
