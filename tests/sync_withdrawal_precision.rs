//! Regression: a withdrawal's `applyTime` has second precision, so one made in the same
//! second as the last run's start must still explain the balance drop.

mod support;

use binance_account_sync::core::{Mode, RulesConfig};
use binance_account_sync::domain::FlowKind;
use binance_account_sync::service::run_sync;
use serde_json::json;
use support::*;

/// Binance prints a withdrawal's `applyTime` with second precision ("2026-11-24
/// 21:50:30"); the sync asks for withdrawals since the last success (ms) and gets this one,
/// but `core::balances` then keeps only those with `time > last_success_at`: a withdrawal
/// made in the same second as the last run's start is truncated to before it and dropped,
/// so the balance drop is reported as unexplained.
#[tokio::test]
async fn withdrawal_in_the_same_second_as_the_last_run_is_explained() {
    let sim = Sim::demo().await;
    let account = fresh_account();
    let store = memory_store();
    seed_demo(&store, &account).await;
    let run = |mode| {
        let client = sim.client();
        let store = &store;
        let request = request(&account, mode);
        async move {
            run_sync(
                &client,
                store,
                &RulesConfig::default(),
                &settings(),
                &request,
            )
            .await
            .expect("sync runs")
        }
    };
    run(Mode::Emergency).await;
    // Quiet runs until the last success starts early in its second (so that a withdrawal
    // right after it lands in the same second); nearly always the first one does.
    let mut since = 0;
    for _ in 0..20 {
        run(Mode::Periodic).await;
        since = records(&store, &account)
            .await
            .state
            .last_success_at
            .expect("last success");
        if since.rem_euclid(1000) < 800 {
            break;
        }
    }
    assert!(
        since.rem_euclid(1000) < 800,
        "no run started early in its second"
    );

    // The owner withdraws right after that run started: put the sim's clock at `since`.
    let real_now = sim.control("clock", json!({"skew_ms": 0})).await["server_time"]
        .as_i64()
        .expect("server_time");
    sim.control("clock", json!({"skew_ms": since - real_now}))
        .await;
    let applied_at = sim
        .control(
            "withdrawals",
            json!({"asset": "USDT", "amount": "120", "fee": "1"}),
        )
        .await["applyTime"]
        .as_i64()
        .expect("applyTime");
    assert!(
        applied_at >= since && applied_at / 1000 == since / 1000,
        "precondition: the withdrawal ({applied_at}) is after the last run's start ({since}), in the same second"
    );
    // The next run, half an hour on: the withdrawal has completed (strict mode moves it
    // through its statuses over time).
    sim.control("clock", json!({"skew_ms": 31 * 60 * 1000}))
        .await;

    let report = run(Mode::Periodic).await;
    let usdt = report
        .explanations
        .iter()
        .find(|e| e.asset == asset("USDT"))
        .expect("the USDT drop is explained");
    // 120 with a fee of 1, the fee inside the amount or outside it as the sim plays it.
    let withdrawn = if withdraw_fee_outside() {
        dec("-121")
    } else {
        dec("-120")
    };
    assert_eq!(usdt.flow(FlowKind::Withdrawal), withdrawn, "{usdt:?}");
    assert_eq!(usdt.unexplained, dec("0"), "{usdt:?}");
    sim.shutdown().await;
}
