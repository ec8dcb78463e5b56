//! The bot's synchronous request: invoke the function (RequestResponse) with
//! `{"mode":"emergency"}` and read the verdicts in its response (`trust`), the same the
//! table then holds (`TRUST#VERDICT#…`, `TRUST#ACCOUNT`). In memory, against the
//! simulator, through the Lambda handler itself (`App::handle`), as `docs/bot-contract.md`
//! documents. Also: an unexplained amount keeps its symbols untrusted until an operator
//! acknowledges it, and a different amount still alerts.

mod support;

use binance_account_sync::core::verdict::{Ack, ReasonCode, Trust};
use binance_account_sync::domain::{AccountId, Discrepancy, Severity};
use binance_account_sync::lambda::{App, InvocationContext};
use binance_account_sync::store::memory::MemoryStore;
use binance_account_sync::store::verdicts::{
    AccountTrust, TrustLogEntry, TrustLogKind, VerdictStore,
};
use serde_json::json;
use support::lambda::{config, ctx};
use support::shapes::{fills, scenario, symbol};
use support::{dec, Sim};

fn app(sim: &Sim) -> App<support::Client, MemoryStore> {
    let mut app = App::new(config(), sim.client(), MemoryStore::new(), None, "fn");
    app.emit_metrics = false;
    app
}

#[tokio::test]
async fn the_bots_emergency_invoke_answers_with_every_symbols_verdict_as_stored() {
    let sim = Sim::demo().await;
    let app = app(&sim);
    let account = app.config.account.clone();
    support::seed_demo(&app.store, &account).await;

    let report = app
        .handle(json!({"mode": "emergency"}), &ctx("bot-startup-1"))
        .await
        .expect("the emergency run");
    // The Lambda response is the report as JSON: what the bot's invoke reads.
    let response = serde_json::to_value(&report).expect("json");
    let trust = &response["trust"];
    assert_eq!(trust["judged"], true, "{trust}");
    let verdicts = trust["verdicts"].as_array().expect("verdicts");
    assert!(!verdicts.is_empty(), "{trust}");
    let stored = app.store.load_trust(&account).await.expect("trust items");
    assert_eq!(stored.verdicts.len(), verdicts.len());
    for v in verdicts {
        let symbol = v["symbol"].as_str().expect("symbol");
        let s = stored
            .verdicts
            .values()
            .find(|s| s.symbol.as_str() == symbol)
            .unwrap_or_else(|| panic!("{symbol} stored"));
        assert_eq!(serde_json::to_value(s.trust).expect("trust"), v["trust"]);
        // Every symbol was read to its end by the emergency: none is "never read".
        assert!(
            s.reasons.iter().all(|r| r.code != ReasonCode::NeverRead),
            "{symbol}: {:?}",
            s.reasons
        );
    }
    let summary = stored.account.expect("the account summary");
    assert_eq!(summary.run_id, report.run_id);
    assert_eq!(
        trust["verified_through"].as_i64(),
        summary.verified_through,
        "{trust}"
    );
    // The demo's records are repaired by the emergency: every symbol is trusted, and the
    // account is verified through the oldest coverage.
    assert_eq!(summary.untrusted, 0, "{trust}");
    assert!(summary.verified_through.is_some(), "all trusted: verified");

    // The next run leaves unchanged verdicts alone and still writes the summary.
    let again = app
        .handle(json!({"mode": "periodic"}), &ctx("periodic-2"))
        .await
        .expect("periodic run");
    let t = again.trust.expect("judged");
    assert_eq!(t.changed, 0, "{:?}", t.verdicts);
    let summary = summary_of(&app, &account).await;
    assert_eq!(summary.run_id, again.run_id, "written every run");
    sim.shutdown().await;
}

/// BTCUSDT alone: 2 fills, BTC and USDT held.
fn btc_account(btc: &str) -> serde_json::Value {
    scenario(
        vec![symbol("BTC", "USDT", "100")],
        vec![("USDT", "1000"), ("BTC", btc)],
        fills("BTCUSDT", 1, 2, "100", "0.01"),
    )
}

/// Up to four periodic runs (request ids `{prefix}-0`…), until one's digest reports an
/// unexplained balance; which run reports it first is not the point of the tests.
async fn until_unexplained_reported(
    app: &App<impl binance_account_sync::exchange::Exchange, MemoryStore>,
    prefix: &str,
) -> Option<Discrepancy> {
    for i in 0..4 {
        let r = app
            .handle(json!({"mode": "periodic"}), &ctx(&format!("{prefix}-{i}")))
            .await
            .expect("run");
        if let Some(d) = r
            .discrepancies
            .iter()
            .find(|d| d.kind == "balance_unexplained")
        {
            return Some(d.clone());
        }
    }
    None
}

/// The account's trust summary as stored.
async fn summary_of(
    app: &App<impl binance_account_sync::exchange::Exchange, MemoryStore>,
    account: &AccountId,
) -> AccountTrust {
    app.store
        .load_trust(account)
        .await
        .expect("trust")
        .account
        .expect("summary")
}

async fn verdict_of(
    app: &App<impl binance_account_sync::exchange::Exchange, MemoryStore>,
    account: &AccountId,
) -> (Trust, Vec<ReasonCode>) {
    let items = app.store.load_trust(account).await.expect("trust");
    let v = items
        .verdicts
        .values()
        .find(|v| v.symbol.as_str() == "BTCUSDT")
        .expect("BTCUSDT judged");
    (v.trust, v.reasons.iter().map(|r| r.code).collect())
}

#[tokio::test]
async fn an_unexplained_amount_keeps_its_symbols_untrusted_until_acknowledged_and_a_new_one_alerts()
{
    let sim = Sim::with_scenario(btc_account("1")).await;
    let app = app(&sim);
    let account = app.config.account.clone();
    let first = app
        .handle(json!({"mode": "emergency"}), &ctx("r1"))
        .await
        .expect("first run");
    assert_eq!(
        verdict_of(&app, &account).await.0,
        Trust::Trusted,
        "{:?}",
        first.trust
    );

    // 0.001 BTC leaves the account with no fill or transfer to explain it.
    sim.control("scenario", btc_account("0.999")).await;
    let reported = until_unexplained_reported(&app, "miss").await;
    let d = reported.expect("the digest reports the unexplained amount");
    assert_eq!(d.severity, Severity::Warning, "it alerts");
    let (trust, codes) = verdict_of(&app, &account).await;
    assert_eq!(trust, Trust::Untrusted);
    assert!(codes.contains(&ReasonCode::UnexplainedBalance), "{codes:?}");
    let open = summary_of(&app, &account).await.unexplained;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].amount, dec("-0.001"));

    // Not reported again, still untrusted: it does not go away by itself.
    let quiet = app
        .handle(json!({"mode": "periodic"}), &ctx("quiet"))
        .await
        .expect("run");
    assert!(quiet
        .discrepancies
        .iter()
        .all(|d| d.kind != "balance_unexplained"));
    assert_eq!(verdict_of(&app, &account).await.0, Trust::Untrusted);

    // The operator acknowledges it; the next run trusts BTCUSDT again.
    let ack = Ack {
        asset: open[0].asset.clone(),
        amount: open[0].amount,
        note: "moved to the savings wallet by hand".into(),
        acked_at: binance_account_sync::service::now_ms(),
        acked_by: "ops".into(),
    };
    let log = TrustLogEntry {
        at: ack.acked_at,
        kind: TrustLogKind::Acknowledged,
        actor: "operator:ops".into(),
        target: "TRUST#ACK#BTC#-0.001".into(),
        before: None,
        after: serde_json::to_value(&ack).expect("json"),
    };
    app.store.put_ack(&account, &ack, &log).await.expect("ack");
    app.handle(json!({"mode": "periodic"}), &ctx("after-ack"))
        .await
        .expect("run");
    assert_eq!(verdict_of(&app, &account).await, (Trust::Trusted, vec![]));
    let summary = summary_of(&app, &account).await;
    assert!(summary.unexplained.is_empty());

    // A different amount alerts and untrusts again.
    sim.control("scenario", btc_account("0.997")).await;
    let again = until_unexplained_reported(&app, "new").await;
    assert_eq!(again.expect("reported").severity, Severity::Warning);
    assert_eq!(verdict_of(&app, &account).await.0, Trust::Untrusted);
    let log = app.store.trust_log_since(&account, 0).await.expect("log");
    assert!(log.iter().any(|e| e.kind == TrustLogKind::Acknowledged));
    assert!(
        log.iter()
            .filter(|e| e.kind == TrustLogKind::VerdictChanged)
            .count()
            >= 3,
        "{log:#?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_run_untrusts_every_symbol_and_does_not_advance_verified_through() {
    let sim = Sim::with_scenario(btc_account("1")).await;
    let app = app(&sim);
    let account = app.config.account.clone();
    app.handle(json!({"mode": "emergency"}), &ctx("ok"))
        .await
        .expect("first run");
    let before = summary_of(&app, &account).await;
    assert_eq!(verdict_of(&app, &account).await.0, Trust::Trusted);
    // The exchange goes away: the run fails as a whole.
    sim.control(
        "faults",
        json!({"path": "*", "kind": "http_503", "count": 1000}),
    )
    .await;
    let err = app.handle(json!({"mode": "emergency"}), &ctx("down")).await;
    assert!(err.is_err(), "the run fails");
    let (trust, codes) = verdict_of(&app, &account).await;
    assert_eq!(
        (trust, codes),
        (Trust::Untrusted, vec![ReasonCode::RunFailed])
    );
    let after = summary_of(&app, &account).await;
    assert_eq!(after.verified_through, before.verified_through);
    assert!(after.outcome.starts_with("failed: "), "{}", after.outcome);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_dry_run_judges_nothing_and_answers_with_the_stored_verdicts() {
    let sim = Sim::with_scenario(btc_account("1")).await;
    let app = app(&sim);
    let account = app.config.account.clone();
    app.handle(json!({"mode": "emergency"}), &ctx("ok"))
        .await
        .expect("first run");
    let before = app.store.load_trust(&account).await.expect("trust");
    // The exchange moves (an unexplained amount would follow), but a dry run writes nothing.
    sim.control("scenario", btc_account("0.5")).await;
    let dry = app
        .handle(json!({"mode": "emergency", "dry_run": true}), &ctx("dry"))
        .await
        .expect("dry run");
    let trust = dry.trust.expect("the stored verdicts");
    assert!(!trust.judged);
    assert_eq!(trust.changed, 0);
    assert_eq!(trust.verdicts.len(), before.verdicts.len());
    assert_eq!(trust.verdicts[0].trust, Trust::Trusted);
    assert_eq!(
        app.store.load_trust(&account).await.expect("trust"),
        before,
        "nothing written"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_panicking_run_untrusts_every_symbol() {
    let sim = Sim::with_scenario(btc_account("1")).await;
    let memory = MemoryStore::new();
    let account = config().account.clone();
    let mut ok = App::new(
        config(),
        sim.client(),
        support::wrappers::PanicOnFirstApply::new(&memory),
        None,
        "fn",
    );
    ok.emit_metrics = false;
    // Its first apply panics; the next run goes through and trusts BTCUSDT.
    assert!(ok
        .handle(json!({"mode": "emergency"}), &ctx("p1"))
        .await
        .is_err());
    ok.handle(json!({"mode": "emergency"}), &ctx("p2"))
        .await
        .expect("second run");
    let items = memory.load_trust(&account).await.expect("trust");
    assert_eq!(
        items.verdicts.values().next().map(|v| v.trust),
        Some(Trust::Trusted)
    );

    let mut panics = App::new(
        config(),
        sim.client(),
        support::wrappers::PanicOnFirstApply::new(&memory),
        None,
        "fn",
    );
    panics.emit_metrics = false;
    let err = panics
        .handle(json!({"mode": "emergency"}), &ctx("p3"))
        .await
        .expect_err("the run panics");
    assert_eq!(err.kind(), "Panic");
    let items = memory.load_trust(&account).await.expect("trust");
    let v = items.verdicts.values().next().expect("a verdict");
    assert_eq!(v.trust, Trust::Untrusted);
    assert_eq!(v.reasons[0].code, ReasonCode::RunFailed);
    assert!(v.reasons[0].detail.contains("Panic"), "{:?}", v.reasons);
    sim.shutdown().await;
}

#[tokio::test]
async fn near_the_deadline_the_verdict_step_writes_nothing_and_the_next_run_does() {
    let sim = Sim::with_scenario(btc_account("1")).await;
    let app = app(&sim);
    let account = app.config.account.clone();
    app.handle(json!({"mode": "emergency"}), &ctx("first"))
        .await
        .expect("first run");
    let before = app.store.load_trust(&account).await.expect("trust");
    // An invocation with a second left: the run stops before its first request (partial,
    // nothing read), and the verdict step does not write into the time the metrics and
    // alerts need.
    let soon = InvocationContext {
        request_id: "late".into(),
        deadline_ms: Some(binance_account_sync::service::now_ms() + 1_000),
    };
    let late = app
        .handle(json!({"mode": "emergency"}), &soon)
        .await
        .expect("a run with no time left ends partial");
    assert_eq!(
        late.outcome,
        binance_account_sync::report::Outcome::Partial,
        "{:?}",
        late.outcome_detail
    );
    assert_eq!(
        app.store.load_trust(&account).await.expect("trust"),
        before,
        "nothing written: the summary still names the run before"
    );
    // The next run judges again (a run that failed in between is no reason now).
    let next = app
        .handle(json!({"mode": "emergency"}), &ctx("next"))
        .await
        .expect("run");
    let trust = next.trust.expect("judged");
    assert!(trust.judged);
    let summary = summary_of(&app, &account).await;
    assert_eq!(summary.run_id, next.run_id);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_stale_heartbeat_with_a_position_open_is_reported() {
    // BTC held: the sync recovers an open position.
    let sim = Sim::with_scenario(btc_account("1")).await;
    let app = app(&sim);
    let account = app.config.account.clone();
    let first = app
        .handle(json!({"mode": "emergency"}), &ctx("h1"))
        .await
        .expect("run");
    assert_eq!(
        first.trust.as_ref().and_then(|t| t.bot_heartbeat_stale),
        None,
        "no heartbeat written: not watched"
    );
    let now = binance_account_sync::service::now_ms();
    app.store.put_bot_heartbeat(
        &account,
        binance_account_sync::core::verdict::Heartbeat {
            at: now - 20 * 60_000,
            stale_after_ms: 10 * 60_000,
        },
    );
    let stale = app
        .handle(json!({"mode": "periodic"}), &ctx("h2"))
        .await
        .expect("run");
    let trust = stale.trust.expect("judged");
    assert_eq!(trust.bot_heartbeat_stale, Some(true), "{trust:?}");
    let doc = binance_account_sync::trust_metrics::emf_for_trust(&trust, "Ns", "main", now);
    assert_eq!(doc["BotHeartbeatStale"], 1.0);

    app.store.put_bot_heartbeat(
        &account,
        binance_account_sync::core::verdict::Heartbeat {
            at: binance_account_sync::service::now_ms(),
            stale_after_ms: 10 * 60_000,
        },
    );
    let fresh = app
        .handle(json!({"mode": "periodic"}), &ctx("h3"))
        .await
        .expect("run");
    assert_eq!(
        fresh.trust.expect("judged").bot_heartbeat_stale,
        Some(false)
    );
    sim.shutdown().await;
}
