//! Bot-only positions end to end on the simulator (`SYNC_POSITIONS=bot`): the owner holds
//! BTC of their own and trades it by hand (client order ids `web_…`), the bot (client order
//! ids `bot-…`) bought BTC too and crashed before recording anything. The bot's position is
//! what its own fills bought, at their price; the owner's BTC is reported apart; the owner's
//! later trades never move the bot's position; the balances stay explained.

mod support;

use binance_account_sync::core::{Mode, RulesConfig};
use binance_account_sync::domain::{AccountId, CorrectionKind, PositionStatus, PositionsOf, Side};
use binance_account_sync::report::SyncReport;
use binance_account_sync::service::run_sync;
use binance_account_sync::store::memory::MemoryStore;
use rust_decimal::Decimal;
use serde_json::json;
use support::shapes::{scenario, symbol};
use support::*;

fn rules() -> RulesConfig {
    RulesConfig {
        positions_of: PositionsOf::Bot,
        ..RulesConfig::default()
    }
}

async fn run(sim: &Sim, store: &MemoryStore, account: &AccountId, mode: Mode) -> SyncReport {
    run_sync(
        &sim.client(),
        store,
        &rules(),
        &settings(),
        &request(account, mode),
    )
    .await
    .expect("sync runs")
}

/// The bot's MARKET order, placed and filled while the bot was down (nothing recorded).
async fn bot_buys(sim: &Sim, quantity: &str) {
    sim.control(
        "orders",
        json!({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
               "quantity": quantity, "clientOrderId": "bot-7f3a"}),
    )
    .await;
    sim.after_history_lag().await;
}

/// Open positions as (symbol, quantity, entry price, entry partial).
async fn open_positions(
    store: &MemoryStore,
    account: &AccountId,
) -> Vec<(String, Decimal, Decimal, bool)> {
    records(store, account)
        .await
        .positions
        .values()
        .filter(|p| p.status == PositionStatus::Open)
        .map(|p| {
            (
                p.symbol.to_string(),
                p.quantity,
                p.entry_price,
                p.entry_partial,
            )
        })
        .collect()
}

#[tokio::test]
async fn the_bots_position_is_its_own_fills_and_the_owners_btc_is_kept_apart() {
    let sim = Sim::with_scenario(scenario(
        vec![symbol("BTC", "USDT", "50000")],
        vec![("USDT", "100000")],
        vec![],
    ))
    .await;
    let account = fresh_account();
    let store = memory_store();
    run(&sim, &store, &account, Mode::Emergency).await;

    // The owner's long-term BTC, bought by hand; then the bot's buy at a higher price.
    sim.manual_trade("BTCUSDT", "BUY", "1").await;
    sim.control("prices", json!({"symbol": "BTCUSDT", "price": "60000"}))
        .await;
    bot_buys(&sim, "0.2").await;
    let first = run(&sim, &store, &account, Mode::Emergency).await;
    // The bot's 0.2 less its fee in the base, at its own price: not 1.2 BTC at a blend.
    let bot_qty = dec("0.2") - dec("0.0002");
    let entry = (dec("60000") * dec("0.2") / bot_qty).round_dp(8);
    assert_eq!(
        open_positions(&store, &account).await,
        vec![("BTCUSDT".to_owned(), bot_qty, entry, false)],
        "{:?}",
        first.notes
    );
    assert!(
        first
            .notes
            .iter()
            .any(|n| n.starts_with("BTC: 0.999 held beyond the bot's fills is the owner's")),
        "{:?}",
        first.notes
    );
    assert_nothing_unexplained(&first);
    assert_balances_equal_exchange(&records(&store, &account).await, &sim.balances().await);

    // Nothing moved: nothing to correct.
    let again = run(&sim, &store, &account, Mode::Periodic).await;
    assert_eq!(again.correction_count(), 0, "{:?}", again.notes);

    // The owner sells half of their BTC by hand: the bot's position does not move, and
    // the sell is recorded without realized P&L (not the bot's round trip).
    let (sell_id, _) = sim.manual_trade("BTCUSDT", "SELL", "0.5").await;
    let third = run(&sim, &store, &account, Mode::Emergency).await;
    assert_eq!(
        open_positions(&store, &account).await,
        vec![("BTCUSDT".to_owned(), bot_qty, entry, false)],
        "{:?}",
        third.notes
    );
    assert_eq!(third.count(CorrectionKind::PositionAdjusted), 0);
    let sell = records(&store, &account)
        .await
        .trades
        .into_values()
        .find(|t| t.trade_id == sell_id)
        .expect("the owner's sell is recorded");
    assert_eq!((sell.side, sell.realized_pnl), (Side::Sell, None));
    assert_nothing_unexplained(&third);
    assert_balances_equal_exchange(&records(&store, &account).await, &sim.balances().await);
    sim.shutdown().await;
}

/// An account synced with positions of the account's, then switched to the bot's: each
/// checkpoint's basis is rebuilt from the exchange's fills (the rebuild's pages read no
/// order history: the fills' orders come from their records), and the position the sync
/// had recovered becomes the bot's alone.
#[tokio::test]
async fn switching_to_bot_only_positions_rebuilds_the_basis_and_shrinks_the_position_to_the_bots() {
    let sim = Sim::with_scenario(scenario(
        vec![symbol("BTC", "USDT", "50000")],
        vec![("USDT", "100000")],
        vec![],
    ))
    .await;
    let account = fresh_account();
    let store = memory_store();
    let account_wide = |mode| {
        let (sim, store, account) = (&sim, &store, &account);
        async move {
            run_sync(
                &sim.client(),
                store,
                &RulesConfig::default(),
                &settings(),
                &request(account, mode),
            )
            .await
            .expect("sync runs")
        }
    };
    account_wide(Mode::Emergency).await;
    sim.manual_trade("BTCUSDT", "BUY", "1").await;
    sim.control("prices", json!({"symbol": "BTCUSDT", "price": "60000"}))
        .await;
    bot_buys(&sim, "0.2").await;
    account_wide(Mode::Emergency).await;
    let whole = open_positions(&store, &account).await;
    assert_eq!(whole[0].1, dec("1.1988"), "the account's BTC: {whole:?}");

    let switched = run(&sim, &store, &account, Mode::Emergency).await;
    let bot_qty = dec("0.1998");
    assert_eq!(
        open_positions(&store, &account).await,
        vec![(
            "BTCUSDT".to_owned(),
            bot_qty,
            (dec("60000") * dec("0.2") / bot_qty).round_dp(8),
            false
        )],
        "{:?}",
        switched.notes
    );
    assert_eq!(switched.count(CorrectionKind::PositionAdjusted), 1);
    assert!(
        switched
            .notes
            .iter()
            .any(|n| n.contains("holds the account's fills")),
        "{:?}",
        switched.notes
    );
    assert_nothing_unexplained(&switched);
    sim.shutdown().await;
}
