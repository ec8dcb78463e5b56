//! The ledger end to end on the simulator in strict mode (deposits credited 20 minutes
//! after they are made, withdrawals debited at once and completed in 10-minute steps):
//! each flow is recorded, followed to its final status, and explains the balance move of
//! the run that sees it, never a false Critical.

mod support;

use binance_account_sync::core::Mode;
use binance_account_sync::domain::{FlowKind, FlowStatus, Records, Severity};
use binance_account_sync::report::SyncReport;
use serde_json::json;
use support::*;

/// The demo account on the simulator, its records seeded and synced once.
async fn synced_demo() -> (
    Sim,
    binance_account_sync::store::memory::MemoryStore,
    binance_account_sync::domain::AccountId,
) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    let store = memory_store();
    seed_demo(&store, &account).await;
    sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    (sim, store, account)
}

/// Moves the simulator's clock `minutes` on from real time (each call from real time).
async fn clock_at(sim: &Sim, minutes: i64) {
    sim.control("clock", json!({"skew_ms": minutes * 60_000}))
        .await;
}

fn flow_statuses(records: &Records, kind: FlowKind) -> Vec<FlowStatus> {
    records
        .ledger
        .values()
        .filter(|r| r.kind == kind)
        .map(|r| r.status)
        .collect()
}

fn flow_part(
    report: &SyncReport,
    asset_name: &str,
    kind: FlowKind,
) -> Option<rust_decimal::Decimal> {
    report
        .explanations
        .iter()
        .find(|e| e.asset == asset(asset_name))
        .map(|e| e.flow(kind))
}

fn no_critical(report: &SyncReport) {
    assert!(
        report
            .discrepancies
            .iter()
            .all(|d| d.severity != Severity::Critical),
        "{:?}",
        report.discrepancies
    );
}

/// The deposit is pending through one run (nothing has moved, nothing is read) and
/// credited before the next: that run reads back to it and explains the whole rise.
#[tokio::test]
async fn a_deposit_pending_through_a_run_is_explained_by_the_run_that_sees_it_credited() {
    let (sim, store, account) = synced_demo().await;

    sim.control("deposits", json!({"asset": "USDT", "amount": "750"}))
        .await;
    // An on-demand run a minute later: the deposit is pending, nothing has moved.
    clock_at(&sim, 1).await;
    let pending = sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    assert_eq!(
        flow_part(&pending, "USDT", FlowKind::Deposit),
        None,
        "nothing moved yet"
    );

    clock_at(&sim, 31).await;
    let credited = sync_with_defaults(&sim, &store, &account, Mode::Periodic).await;
    assert_eq!(
        flow_part(&credited, "USDT", FlowKind::Deposit),
        Some(dec("750")),
        "{:?}",
        credited.explanations
    );
    let usdt = credited
        .explanations
        .iter()
        .find(|e| e.asset == asset("USDT"))
        .expect("explained");
    assert_eq!(usdt.unexplained, dec("0"), "{usdt:?}");
    no_critical(&credited);
    let after = records(&store, &account).await;
    assert!(flow_statuses(&after, FlowKind::Deposit)
        .iter()
        .all(|s| *s == FlowStatus::Done));
    assert_eq!(
        after.state.ledger_open_since, None,
        "nothing left to follow"
    );
    assert_balances_equal_exchange(&after, &sim.balances().await);
    sim.shutdown().await;
}

/// Debited while "awaiting approval": the run then explains the drop with the pending
/// withdrawal; the runs that see it processing and completed change no balance and raise
/// nothing, and its record follows it to `done`.
#[tokio::test]
async fn a_withdrawal_debited_while_pending_is_explained_then_followed_to_completion() {
    let (sim, store, account) = synced_demo().await;

    sim.control(
        "withdrawals",
        json!({"asset": "USDT", "amount": "120", "fee": "1"}),
    )
    .await;
    clock_at(&sim, 1).await;
    let debited = sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    let withdrawn = if withdraw_fee_outside() {
        dec("-121")
    } else {
        dec("-120")
    };
    assert_eq!(
        flow_part(&debited, "USDT", FlowKind::Withdrawal),
        Some(withdrawn),
        "{:?}",
        debited.explanations
    );
    no_critical(&debited);
    let mid = records(&store, &account).await;
    let followed: Vec<_> = mid
        .ledger
        .values()
        .filter(|r| r.kind == FlowKind::Withdrawal && r.status == FlowStatus::Pending)
        .map(|r| r.key())
        .collect();
    assert_eq!(followed.len(), 1, "the new withdrawal, pending");
    assert_eq!(
        mid.state.ledger_open_since,
        Some(followed[0].0),
        "followed while pending"
    );

    clock_at(&sim, 32).await;
    let completed = sync_with_defaults(&sim, &store, &account, Mode::Periodic).await;
    no_critical(&completed);
    assert!(
        completed
            .explanations
            .iter()
            .all(|e| e.asset != asset("USDT")),
        "no USDT balance to correct: {:?}",
        completed.explanations
    );
    let after = records(&store, &account).await;
    assert_eq!(after.ledger[&followed[0]].status, FlowStatus::Done);
    assert_eq!(after.ledger[&followed[0]].version, 2);
    assert_eq!(after.state.ledger_open_since, None);
    assert_balances_equal_exchange(&after, &sim.balances().await);
    sim.shutdown().await;
}

/// A Convert (not a fill: `myTrades` never shows it) and an airdrop, made by the owner
/// while the bot was down: both recorded, and every balance they moved explained by its
/// kind, nothing unexplained.
#[tokio::test]
async fn a_convert_and_a_distribution_are_recorded_and_explain_the_balances_they_moved() {
    let (sim, store, account) = synced_demo().await;

    sim.control(
        "converts",
        json!({"fromAsset": "USDT", "fromAmount": "200", "toAsset": "ETH", "toAmount": "0.06"}),
    )
    .await;
    sim.control(
        "distributions",
        json!({"asset": "SOL", "amount": "0.05", "info": "SOL airdrop"}),
    )
    .await;
    clock_at(&sim, 1).await;
    let report = sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    assert_eq!(
        flow_part(&report, "USDT", FlowKind::Convert),
        Some(dec("-200")),
        "{:?}",
        report.explanations
    );
    assert_eq!(
        flow_part(&report, "ETH", FlowKind::Convert),
        Some(dec("0.06"))
    );
    assert_eq!(
        flow_part(&report, "SOL", FlowKind::Distribution),
        Some(dec("0.05"))
    );
    assert_nothing_unexplained(&report);
    let after = records(&store, &account).await;
    assert_eq!(
        flow_statuses(&after, FlowKind::Convert),
        vec![FlowStatus::Done]
    );
    assert_eq!(
        flow_statuses(&after, FlowKind::Distribution),
        vec![FlowStatus::Done]
    );
    assert_balances_equal_exchange(&after, &sim.balances().await);
    sim.shutdown().await;
}

/// The owner moves USDT to the Funding wallet, subscribes some to Simple Earn, redeems part
/// of it and earns a reward, all while the bot is down: each is recorded by its own kind,
/// the Spot balance they moved is explained by them, a real-time reward (paid into the
/// Earn position) explains nothing in Spot and a bonus reward (paid to Spot) explains its
/// credit. Nothing is unexplained.
#[tokio::test]
async fn a_wallet_transfer_and_simple_earn_moves_are_recorded_and_explain_the_spot_balance() {
    let (sim, store, account) = synced_demo().await;

    sim.control(
        "transfers",
        json!({"type": "MAIN_FUNDING", "asset": "USDT", "amount": "120"}),
    )
    .await;
    sim.control("earn/subscribe", json!({"asset": "USDT", "amount": "300"}))
        .await;
    sim.control("earn/redeem", json!({"asset": "USDT", "amount": "100"}))
        .await;
    sim.control(
        "earn/rewards",
        json!({"asset": "USDT", "rewards": "0.0123", "type": "REALTIME"}),
    )
    .await;
    sim.control(
        "earn/rewards",
        json!({"asset": "USDT", "rewards": "0.5", "type": "BONUS"}),
    )
    .await;
    clock_at(&sim, 1).await;
    let report = sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    let part = |kind| flow_part(&report, "USDT", kind);
    assert_eq!(
        part(FlowKind::Transfer),
        Some(dec("-120")),
        "{:?}",
        report.explanations
    );
    assert_eq!(part(FlowKind::EarnSubscription), Some(dec("-300")));
    assert_eq!(part(FlowKind::EarnRedemption), Some(dec("100")));
    // The real-time reward accrues in Earn; the bonus is paid to Spot.
    assert_eq!(part(FlowKind::EarnReward), Some(dec("0.5")));
    assert_nothing_unexplained(&report);
    let after = records(&store, &account).await;
    for kind in [
        FlowKind::Transfer,
        FlowKind::EarnSubscription,
        FlowKind::EarnRedemption,
        FlowKind::EarnReward,
    ] {
        let done = if kind == FlowKind::EarnReward { 2 } else { 1 };
        assert_eq!(
            flow_statuses(&after, kind),
            vec![FlowStatus::Done; done],
            "{kind}"
        );
    }
    assert_balances_equal_exchange(&after, &sim.balances().await);
    // The next run reads the same flows again and changes nothing.
    clock_at(&sim, 2).await;
    let again = sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    assert_eq!(records(&store, &account).await.ledger, after.ledger);
    no_critical(&again);
    sim.shutdown().await;
}

/// A fill the history showed later than the balance: the run right after the owner's
/// trade copies the new balances (the trade is not in `myTrades` yet, strict mode's history
/// lag: that run reports the move it cannot explain), and the run that then recovers the
/// fill must not count it again: the copied balance holds it already. Nothing
/// unexplained, no Critical.
#[tokio::test]
async fn a_fill_shown_after_the_balance_was_copied_is_not_counted_twice() {
    let (sim, store, account) = synced_demo().await;
    sim.manual_trade_now("ETHUSDT", "BUY", "0.5").await;
    sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    // A second buy, after that run: the records' difference the late run explains.
    sim.manual_trade("ETHUSDT", "BUY", "0.2").await;
    let late = sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    assert_eq!(
        late.count(binance_account_sync::domain::CorrectionKind::TradeRecovered),
        2,
        "both fills are recovered by the later run: {:?}",
        late.notes
    );
    assert_nothing_unexplained(&late);
    sim.shutdown().await;
}

/// The owner moves USDT in from the master account and some of it back out: the run
/// that sees both explains the Spot balance by them, nothing unexplained. (Before the
/// sub-account transfers were read, this run left 379.5 USDT unexplained.)
#[tokio::test]
async fn a_transfer_in_from_the_master_and_one_out_to_it_explain_the_spot_balance() {
    let (sim, store, account) = synced_demo().await;

    sim.control(
        "sub-account/transfers",
        json!({"direction": "in", "asset": "USDT", "amount": "500"}),
    )
    .await;
    sim.control(
        "sub-account/transfers",
        json!({"direction": "out", "asset": "USDT", "amount": "120.5"}),
    )
    .await;
    // A failed one moves nothing and must explain nothing.
    sim.control(
        "sub-account/transfers",
        json!({"direction": "out", "asset": "USDT", "amount": "40", "fail": true}),
    )
    .await;
    clock_at(&sim, 1).await;
    let report = sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    assert_nothing_unexplained(&report);
    assert_eq!(
        flow_part(&report, "USDT", FlowKind::SubAccountTransfer),
        Some(dec("379.5")),
        "{:?}",
        report.explanations
    );
    no_critical(&report);
    let after = records(&store, &account).await;
    let mut statuses = flow_statuses(&after, FlowKind::SubAccountTransfer);
    statuses.sort();
    assert_eq!(
        statuses,
        vec![FlowStatus::Done, FlowStatus::Done, FlowStatus::Failed]
    );
    assert_eq!(after.state.ledger_open_since, None, "all three are final");
    assert_balances_equal_exchange(&after, &sim.balances().await);
    // The next run reads the same transfers again and changes nothing.
    clock_at(&sim, 2).await;
    let again = sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    assert_eq!(records(&store, &account).await.ledger, after.ledger);
    no_critical(&again);
    sim.shutdown().await;
}

/// A master account's key is refused the sub-account history (strict mode: `-1002`): the
/// runs do not fail, owe nothing, and say so once, not on every run.
#[tokio::test]
async fn a_master_account_is_told_once_that_sub_account_transfers_are_unavailable() {
    let (sim, store, account) = synced_demo().await;
    sim.control("sub-account", json!({"master": true})).await;

    let mut notes = Vec::new();
    for minute in 1..=3 {
        // Something moves, so every run reads the ledger.
        sim.control("distributions", json!({"asset": "USDT", "amount": "1"}))
            .await;
        clock_at(&sim, minute).await;
        let report = sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
        assert!(
            report.outcome_detail.is_none(),
            "{:?}",
            report.outcome_detail
        );
        assert_nothing_unexplained(&report);
        notes.push(
            report
                .notes
                .iter()
                .filter(|n| n.contains("sub account transfer"))
                .count(),
        );
        let state = records(&store, &account).await.state;
        assert!(state
            .flow_kinds_unavailable
            .contains(&FlowKind::SubAccountTransfer));
        assert_eq!(state.ledger_open_since, None, "nothing is owed");
    }
    assert_eq!(notes, vec![1, 0, 0], "reported by the first run only");

    // Made a sub-account again, the kind is read and no longer marked.
    sim.control("sub-account", json!({"master": false})).await;
    sim.control(
        "sub-account/transfers",
        json!({"direction": "in", "asset": "USDT", "amount": "5"}),
    )
    .await;
    clock_at(&sim, 4).await;
    let report = sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    assert_eq!(
        flow_part(&report, "USDT", FlowKind::SubAccountTransfer),
        Some(dec("5"))
    );
    assert!(records(&store, &account)
        .await
        .state
        .flow_kinds_unavailable
        .is_empty());
    sim.shutdown().await;
}

/// On Binance's Spot testnet, whose host serves only `/api` (every `/sapi` path is a 404
/// without Binance's error body), the ledger says once that it is unavailable and the runs
/// go on: complete, nothing owed, the trades still explaining the balances.
#[tokio::test]
async fn on_the_spot_testnet_the_ledger_is_reported_unavailable_once_and_runs_go_on() {
    use binance_account_sync::exchange::Exchange;
    let (sim, store, account) = synced_demo().await;
    sim.control("testnet", json!({"testnet": true})).await;
    let kinds = sim.client().flow_kinds().len();

    let mut notes = Vec::new();
    for _ in 0..3 {
        // A trade moves the balances, so every run reads the ledger.
        sim.manual_trade("ETHUSDT", "BUY", "0.01").await;
        let report = sync_with_defaults(&sim, &store, &account, Mode::Periodic).await;
        assert!(
            report.outcome_detail.is_none(),
            "{:?}",
            report.outcome_detail
        );
        assert_nothing_unexplained(&report);
        notes.push(
            report
                .notes
                .iter()
                .filter(|n| n.contains("history not available to this account"))
                .count(),
        );
        let state = records(&store, &account).await.state;
        assert_eq!(state.flow_kinds_unavailable.len(), kinds);
        assert_eq!(state.ledger_open_since, None, "nothing is owed");
    }
    assert_eq!(notes, vec![kinds, 0, 0], "reported by the first run only");
    sim.shutdown().await;
}
