//! Smart Order Routing fills, end to end on the simulator: the owner buys and sells BTC
//! through SOR (filled by allocations, which `myTrades` never lists) between plain trades
//! while the bot is down. The sync records each allocation in its own key space, sizes and
//! prices the position from trades and allocations in execution order, explains every
//! balance, and a second run changes nothing.

mod support;

use binance_account_sync::core::pnl::replay;
use binance_account_sync::core::Mode;
use binance_account_sync::domain::{FillSource, PositionStatus, Symbol};
use binance_account_sync::store::keys;
use serde_json::json;
use support::shapes::{scenario, symbol};
use support::*;

/// BTCUSDT and BTCUSDC under one SOR configuration (USDC the cheaper book), ETHUSDT in none.
async fn sor_sim() -> Sim {
    let mut s = scenario(
        vec![
            symbol("BTC", "USDT", "60000"),
            symbol("BTC", "USDC", "59900"),
            symbol("ETH", "USDT", "3000"),
        ],
        vec![("USDT", "200000"), ("USDC", "1000")],
        vec![],
    );
    s["sors"] = json!([{"base_asset": "BTC", "symbols": ["BTCUSDT", "BTCUSDC"]}]);
    Sim::with_scenario(s).await
}

/// The owner's MARKET order of BTCUSDT through SOR, without waiting out the history lag.
async fn owner_order_now(sim: &Sim, side: &str, qty: &str) {
    let order = sim
        .control(
            "trades",
            json!({"symbol": "BTCUSDT", "side": side, "quantity": qty, "sor": true}),
        )
        .await;
    assert_eq!(
        order["fills"][0]["matchType"], "ONE_PARTY_TRADE_REPORT",
        "{order}"
    );
}

/// The owner's MARKET order, through SOR when `sor`; the sim's clock then passes the
/// history lag.
async fn owner_order(sim: &Sim, side: &str, qty: &str, sor: bool) {
    let order = sim
        .control(
            "trades",
            json!({"symbol": "BTCUSDT", "side": side, "quantity": qty, "sor": sor}),
        )
        .await;
    let fills = order["fills"].as_array().expect("FULL response has fills");
    assert_eq!(fills.len(), 1, "{order}");
    let allocated = fills[0]["matchType"] == "ONE_PARTY_TRADE_REPORT";
    assert_eq!(allocated, sor, "an SOR order fills by allocation: {order}");
    sim.after_history_lag().await;
}

#[tokio::test]
async fn sor_fills_are_recorded_apart_and_the_position_replays_them_among_the_trades() {
    let sim = sor_sim().await;
    let account = fresh_account();
    let store = memory_store();
    sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;

    owner_order(&sim, "BUY", "1", false).await;
    owner_order(&sim, "BUY", "0.5", true).await;
    owner_order(&sim, "SELL", "0.4", true).await;
    owner_order(&sim, "BUY", "0.2", false).await;
    let report = sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    assert_nothing_unexplained(&report);

    let recs = records(&store, &account).await;
    let btc = Symbol::parse("BTCUSDT").expect("symbol");
    let allocations: Vec<_> = recs.allocations.values().collect();
    assert_eq!(
        allocations
            .iter()
            .map(|t| (t.trade_id, t.side.as_str(), t.qty, t.recovered))
            .collect::<Vec<_>>(),
        [(0, "BUY", dec("0.5"), true), (1, "SELL", dec("0.4"), true)],
        "{:?}",
        report.notes
    );
    // Their own key space: allocation 0 is not trade 0, and no trade record holds them.
    let keyed = keyed(&recs);
    assert!(keyed.contains_key(&keys::alloc_sk(&btc, 0)));
    assert_eq!(
        recs.trades.len(),
        2,
        "the two plain trades: {:?}",
        recs.trades
    );
    assert!(allocations.iter().all(|t| t.source == FillSource::Sor));

    // The position: trades and allocations replayed in execution order.
    let fills: Vec<_> = recs
        .trades
        .values()
        .chain(recs.allocations.values())
        .collect();
    let (basis, realized) = replay(fills.iter().copied(), &asset("BTC"));
    let position = &recs.positions[&btc];
    assert_eq!(
        (position.status, position.quantity, position.entry_price),
        (PositionStatus::Open, basis.qty, basis.avg_cost.round_dp(8)),
        "{:?}",
        report.notes
    );
    assert_eq!(
        sim.balances().await["BTC"].0,
        basis.qty,
        "the holding, all of it"
    );
    let sell = &recs.allocations[&(btc.clone(), 1)];
    assert_eq!(
        sell.realized_pnl,
        realized.get(&(FillSource::Sor, 1)).copied()
    );
    assert!(sell.realized_pnl.is_some_and(|p| !p.is_zero()));

    let again = sync_with_defaults(&sim, &store, &account, Mode::Periodic).await;
    assert_eq!(again.correction_count(), 0, "{:?}", again.notes);
    assert_nothing_unexplained(&again);
    sim.shutdown().await;
}

#[tokio::test]
async fn only_symbols_under_an_sor_configuration_have_their_allocations_read() {
    let sim = sor_sim().await;
    let account = fresh_account();
    let store = memory_store();
    sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    let before = sim.requests_to("/api/v3/myAllocations").await;
    sim.manual_trade("ETHUSDT", "BUY", "1").await;
    sim.manual_trade("BTCUSDT", "BUY", "0.1").await;
    let report = sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    assert_nothing_unexplained(&report);
    let read: Vec<&String> = report
        .symbols_checked
        .iter()
        .filter(|s| s.starts_with("BTC"))
        .collect();
    // One page for each SOR symbol the run read (the BTC bought moved BTC), none for
    // ETHUSDT.
    assert!(!read.is_empty(), "{:?}", report.symbols_checked);
    assert_eq!(
        sim.requests_to("/api/v3/myAllocations").await - before,
        read.len() as u64,
        "{:?}",
        report.symbols_checked
    );
    assert!(report.symbols_checked.iter().any(|s| s == "ETHUSDT"));
    sim.shutdown().await;
}

/// The demo's shape: a manual sell still in the history's lag when the bot's first run
/// reads the account, then, moments after a run's baseline, a buy through SOR. Both fills
/// are within the clock margin of that baseline: the earlier one is in it, the later one
/// moved the balances, and the run says so (no movement left to look for, which would hold
/// every BTC and USDT symbol's verdict `not_read`), rather than looking for it again and
/// reporting it unexplained a few runs later.
#[tokio::test]
async fn an_sor_fill_just_after_the_baseline_and_a_lagging_trade_before_it_are_both_placed() {
    let sim = Sim::demo().await;
    sim.control(
        "sors",
        json!([{"base_asset": "BTC", "symbols": ["BTCUSDT"]}]),
    )
    .await;
    let account = fresh_account();
    let store = memory_store();
    seed_demo(&store, &account).await;
    sim.manual_trade_now("BTCUSDT", "SELL", "0.02042").await;
    sync_with_defaults(&sim, &store, &account, Mode::Emergency).await;
    sync_with_defaults(&sim, &store, &account, Mode::Periodic).await;
    owner_order_now(&sim, "BUY", "0.001").await;
    sim.after_history_lag().await;
    let report = sync_with_defaults(&sim, &store, &account, Mode::Periodic).await;
    assert_nothing_unexplained(&report);
    let recs = records(&store, &account).await;
    let btc = &recs.state.digest[&asset("BTC")];
    assert_eq!(
        (btc.moved_at, btc.misses, btc.free),
        (None, 0, dec("0.00100677")),
        "{:?}",
        report.notes
    );
    sim.shutdown().await;
}
