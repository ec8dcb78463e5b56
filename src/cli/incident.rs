//! `incident --since T`: the "while you were down" timeline of an account, from the
//! table alone. What happened on the exchange as the sync's audit records know it (fills
//! the records lacked, order status changes, balance moves), what was corrected, the
//! runs, the verdict changes and acknowledgements, and each discrepancy at the first run
//! that reported it, in time order.
//!
//! Sources: `AUDIT#` since T (checkpoint writes left out), `RUN#` since T (each summary's
//! discrepancies: the first run that listed a key, how many runs listed it), `TRUSTLOG#`
//! since T. A fill is placed at its exchange time; everything else at the time the sync
//! wrote it. Fills the bot recorded itself are not in the audit trail, so they are not in
//! the timeline: it shows what the bot did not know.

use super::{fmt_time, parse_since, Out};
use crate::domain::{AccountId, CorrectionKind, Millis, Record};
use crate::store::verdicts::{TrustLogEntry, TrustLogKind, VerdictStore};
use crate::store::{AuditEntry, Store};
use serde::Serialize;
use std::collections::BTreeMap;
use std::process::ExitCode;

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// When it happened: a fill's exchange time, else when the sync wrote it (ms).
    pub at: Millis,
    /// `exchange` (happened on the account), `sync` (the sync corrected or judged),
    /// `operator` (an acknowledgement).
    pub source: &'static str,
    /// `fill`, `order_status`, `balance_move`, `correction`, `run`, `discrepancy`,
    /// `verdict`, `acknowledged`.
    pub kind: &'static str,
    /// The item or discrepancy key.
    pub key: String,
    pub detail: String,
    /// The run (or unit) that saw or wrote it.
    pub run_id: Option<String>,
    /// When the sync wrote the correction, for an exchange event (ms).
    pub corrected_at: Option<Millis>,
}

fn audit_event(e: &AuditEntry) -> Option<Event> {
    let c = &e.correction;
    let key = crate::report::record_key(&c.after);
    let run_id = Some(e.run_id.clone());
    let event = match (&c.after, c.kind) {
        (_, CorrectionKind::CursorAdvanced) => return None,
        (Record::Trade(t), CorrectionKind::TradeRecovered) => Event {
            at: t.time,
            source: "exchange",
            kind: "fill",
            key,
            detail: format!(
                "{} {} {} @ {} (order {}, fee {} {}): missing from the records, recovered",
                t.side.as_str(),
                t.qty.normalize(),
                t.symbol,
                t.price.normalize(),
                t.order_id,
                t.commission.normalize(),
                t.commission_asset
            ),
            run_id,
            corrected_at: Some(e.at),
        },
        (Record::Order(o), CorrectionKind::OrderUpdated | CorrectionKind::OrderRecorded) => {
            let before = match &c.before {
                Some(Record::Order(b)) => format!("{} → ", b.status.as_str()),
                _ => "not recorded → ".to_owned(),
            };
            Event {
                at: e.at,
                source: "exchange",
                kind: "order_status",
                key,
                detail: format!(
                    "order {} {} {}: {before}{} (executed {} of {}); {}",
                    o.order_id,
                    o.symbol,
                    o.side.as_str(),
                    o.status.as_str(),
                    o.executed_qty.normalize(),
                    o.orig_qty.normalize(),
                    c.reason
                ),
                run_id,
                corrected_at: Some(e.at),
            }
        }
        (Record::Balance(b), CorrectionKind::BalanceCorrected) => {
            let before = match &c.before {
                Some(Record::Balance(o)) => {
                    format!("{}/{}", o.free.normalize(), o.locked.normalize())
                }
                _ => "none".to_owned(),
            };
            Event {
                at: e.at,
                source: "exchange",
                kind: "balance_move",
                key,
                detail: format!(
                    "{} free/locked {before} → {}/{} in the records; {}",
                    b.asset,
                    b.free.normalize(),
                    b.locked.normalize(),
                    c.reason
                ),
                run_id,
                corrected_at: Some(e.at),
            }
        }
        (_, kind) => Event {
            at: e.at,
            source: "sync",
            kind: "correction",
            key,
            detail: format!("{}: {}", kind.as_str(), c.reason),
            run_id,
            corrected_at: Some(e.at),
        },
    };
    Some(event)
}

fn run_events(runs: &[serde_json::Value]) -> Vec<Event> {
    let mut out = Vec::new();
    // key -> (first run's start, its run id, message, runs seen)
    let mut seen: BTreeMap<String, (Millis, String, String, u32)> = BTreeMap::new();
    for r in runs {
        let at = r["started_at"].as_i64().unwrap_or_default();
        let run_id = r["run_id"].as_str().unwrap_or("?").to_owned();
        let outcome = r["outcome"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| r["error"].as_str().map(|e| format!("failed: {e}")))
            .unwrap_or_else(|| "unknown".to_owned());
        let mode = r["mode"].as_str().unwrap_or("");
        let corrections: u64 = r["counts"]
            .as_object()
            .map(|m| m.values().filter_map(|v| v.as_u64()).sum())
            .unwrap_or(0);
        out.push(Event {
            at,
            source: "sync",
            kind: "run",
            key: run_id.clone(),
            detail: format!("{mode} run {outcome}, {corrections} correction(s)")
                .trim()
                .to_owned(),
            run_id: Some(run_id.clone()),
            corrected_at: None,
        });
        for d in r["discrepancies"].as_array().into_iter().flatten() {
            let Some(key) = d["key"].as_str() else {
                continue;
            };
            let entry = seen.entry(key.to_owned()).or_insert_with(|| {
                (
                    at,
                    run_id.clone(),
                    d["message"].as_str().unwrap_or_default().to_owned(),
                    0,
                )
            });
            entry.3 += 1;
        }
    }
    for (key, (at, run_id, message, runs_seen)) in seen {
        out.push(Event {
            at,
            source: "sync",
            kind: "discrepancy",
            key,
            detail: format!("{message} (first seen by this run; reported by {runs_seen} run(s))"),
            run_id: Some(run_id),
            corrected_at: None,
        });
    }
    out
}

fn trust_event(e: &TrustLogEntry) -> Event {
    match e.kind {
        TrustLogKind::VerdictChanged => {
            let trust = |v: &serde_json::Value| v["trust"].as_str().unwrap_or("none").to_owned();
            let reasons = super::reason_lines(&e.after["reasons"]);
            Event {
                at: e.at,
                source: "sync",
                kind: "verdict",
                key: e.target.clone(),
                detail: format!(
                    "{} {} → {}{}",
                    e.after["symbol"].as_str().unwrap_or("?"),
                    e.before.as_ref().map_or("none".to_owned(), trust),
                    trust(&e.after),
                    if reasons.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", reasons.join("; "))
                    }
                ),
                run_id: Some(e.actor.clone()),
                corrected_at: None,
            }
        }
        TrustLogKind::Acknowledged => Event {
            at: e.at,
            source: "operator",
            kind: "acknowledged",
            key: e.target.clone(),
            detail: format!(
                "{} {} acknowledged by {}: {}",
                e.after["asset"].as_str().unwrap_or("?"),
                e.after["amount"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| e.after["amount"].to_string()),
                e.after["acked_by"].as_str().unwrap_or("?"),
                e.after["note"].as_str().unwrap_or("")
            ),
            run_id: None,
            corrected_at: None,
        },
    }
}

/// The timeline from its sources, in time order (ties: exchange first, then the sync's
/// run, then what it found, then the operator; then by key). Pure.
pub fn timeline(
    audit: &[AuditEntry],
    runs: &[serde_json::Value],
    trust: &[TrustLogEntry],
) -> Vec<Event> {
    let mut events: Vec<Event> = audit.iter().filter_map(audit_event).collect();
    events.extend(run_events(runs));
    events.extend(trust.iter().map(trust_event));
    let rank = |e: &Event| match (e.source, e.kind) {
        ("exchange", _) => 0,
        ("sync", "run") => 1,
        ("sync", _) => 2,
        _ => 3,
    };
    events.sort_by(|a, b| (a.at, rank(a), &a.key).cmp(&(b.at, rank(b), &b.key)));
    events
}

pub(crate) async fn run<S: Store + VerdictStore>(
    account: &AccountId,
    store: &S,
    since: &str,
    out: Out,
) -> ExitCode {
    let since = match parse_since(since, crate::service::now_ms()) {
        Ok(t) => t,
        Err(e) => return out.fail("UsageError", &e),
    };
    let sources = tokio::try_join!(
        store.audit_since(account, since),
        store.runs_since(account, since),
        store.trust_log_since(account, since),
    );
    let (audit, runs, trust) = match sources {
        Ok(s) => s,
        Err(e) => return out.fail(e.kind(), &e.to_string()),
    };
    // A fill recovered after T may have happened before it: it is still part of the
    // incident (the sync learnt of it after T).
    let events = timeline(&audit, &runs, &trust);
    if out.json {
        return out.print_json(&serde_json::json!({
            "account": account.as_str(),
            "since": since,
            "events": events,
        }));
    }
    println!(
        "Account {account} since {}: {} event(s)",
        fmt_time(Some(since)),
        events.len()
    );
    for e in &events {
        let run = e
            .run_id
            .as_deref()
            .map(|r| format!("  [run {}]", &r[..r.len().min(8)]))
            .unwrap_or_default();
        println!(
            "  {}  {:<8} {:<13} {}  {}{run}",
            fmt_time(Some(e.at)),
            e.source,
            e.kind,
            e.key,
            e.detail
        );
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Asset, BalanceRecord, Correction, Expect, Side, Symbol, TradeRecord, Writer,
    };
    use rust_decimal_macros::dec;
    use serde_json::json;

    fn trade(time: Millis) -> Record {
        Record::Trade(TradeRecord {
            source: crate::domain::FillSource::Trade,
            symbol: Symbol::parse("BTCUSDT").unwrap(),
            trade_id: 42,
            order_id: 7,
            side: Side::Buy,
            price: dec!(50000),
            qty: dec!(0.1),
            quote_qty: dec!(5000),
            commission: dec!(0.0001),
            commission_asset: Asset::parse("BTC").unwrap(),
            commission_quote: dec!(5),
            realized_pnl: None,
            time,
            is_maker: false,
            recovered: true,
            fee_unpriced: false,
            version: 1,
        })
    }

    fn entry(
        at: Millis,
        kind: CorrectionKind,
        before: Option<Record>,
        after: Record,
    ) -> AuditEntry {
        AuditEntry {
            run_id: "run-b.00001".into(),
            at,
            correction: Correction {
                kind,
                expect: Expect::Absent,
                before,
                after,
                reason: "exchange says so".into(),
            },
            source: "binance-account-sync".into(),
        }
    }

    #[test]
    fn the_timeline_places_fills_at_their_exchange_time_and_discrepancies_at_their_first_run() {
        let balance = |free| {
            Record::Balance(BalanceRecord {
                asset: Asset::parse("BTC").unwrap(),
                free,
                locked: dec!(0),
                version: 2,
                updated_at: 0,
                updated_by: Writer::Sync,
                as_of: None,
            })
        };
        let audit = vec![
            entry(5_000, CorrectionKind::TradeRecovered, None, trade(1_000)),
            entry(
                5_001,
                CorrectionKind::BalanceCorrected,
                Some(balance(dec!(1))),
                balance(dec!(1.1)),
            ),
            entry(5_002, CorrectionKind::CursorAdvanced, None, trade(9)),
        ];
        let runs = vec![
            json!({"run_id": "run-a", "started_at": 2_000, "outcome": "complete", "mode": "periodic",
                   "discrepancies": [{"key": "balance_unexplained:BTC", "message": "BTC moved by 0.1"}]}),
            json!({"run_id": "run-b", "started_at": 4_000, "outcome": "complete", "mode": "emergency",
                   "counts": {"trade_recovered": 1},
                   "discrepancies": [{"key": "balance_unexplained:BTC", "message": "BTC moved by 0.1"}]}),
            json!({"run_id": "run-c", "started_at": 6_000, "error": "ExchangeUnavailable"}),
        ];
        let events = timeline(&audit, &runs, &[]);
        let kinds: Vec<(Millis, &str)> = events.iter().map(|e| (e.at, e.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                (1_000, "fill"),
                (2_000, "run"),
                (2_000, "discrepancy"),
                (4_000, "run"),
                (5_001, "balance_move"),
                (6_000, "run"),
            ],
            "{events:#?}"
        );
        let d = &events[2];
        assert_eq!(
            d.run_id.as_deref(),
            Some("run-a"),
            "the first run that saw it"
        );
        assert!(d.detail.contains("2 run(s)"), "{}", d.detail);
        assert_eq!(events[0].corrected_at, Some(5_000));
        assert!(events[0].detail.contains("BUY 0.1 BTCUSDT @ 50000"));
        assert!(
            events[4].detail.contains("1/0 → 1.1/0"),
            "{}",
            events[4].detail
        );
        assert!(events[5].detail.contains("failed: ExchangeUnavailable"));
    }
}
