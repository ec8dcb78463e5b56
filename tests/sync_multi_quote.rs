//! One base on two quotes, end to end on the simulator: BTC bought on BTCUSDT and on
//! BTCFDUSD while the bot was down. Each symbol's position is sized by its own fills (the
//! shell reads the base's owner after its other symbol, with that symbol's fresh
//! checkpoint), a second run changes nothing, and selling one quote's BTC closes that
//! position alone.

mod support;

use binance_account_sync::core::{Mode, RulesConfig};
use binance_account_sync::domain::{AccountId, Asset, PositionStatus, Symbol};
use binance_account_sync::report::SyncReport;
use binance_account_sync::service::run_sync;
use binance_account_sync::store::memory::MemoryStore;
use rust_decimal::Decimal;
use support::shapes::{scenario, symbol};
use support::*;

fn rules() -> RulesConfig {
    RulesConfig {
        // FDUSD first: BTCFDUSD owns the base and sorts before BTCUSDT, so the owner is
        // read after its sibling only because the shell reorders (`owners_last`).
        quote_assets: vec![
            Asset::parse("FDUSD").expect("asset"),
            Asset::parse("USDT").expect("asset"),
        ],
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

/// Open positions as (symbol, quantity, entry price).
async fn open_positions(
    store: &MemoryStore,
    account: &AccountId,
) -> Vec<(String, Decimal, Decimal)> {
    records(store, account)
        .await
        .positions
        .values()
        .filter(|p| p.status == PositionStatus::Open)
        .map(|p| (p.symbol.to_string(), p.quantity, p.entry_price))
        .collect()
}

/// The entry of a buy of `qty` at `price` whose fee (0.1 %) was paid in the base.
fn entry(price: &str, qty: &str) -> Decimal {
    let (p, q) = (dec(price), dec(qty));
    (p * q / (q - q * dec("0.001"))).round_dp(8)
}

#[tokio::test]
async fn btc_bought_on_two_quotes_gives_each_symbol_the_position_its_own_fills_explain() {
    let sim = Sim::with_scenario(scenario(
        vec![
            symbol("BTC", "USDT", "50000"),
            symbol("BTC", "FDUSD", "50100"),
        ],
        vec![("USDT", "100000"), ("FDUSD", "200000")],
        vec![],
    ))
    .await;
    let account = fresh_account();
    let store = memory_store();
    run(&sim, &store, &account, Mode::Emergency).await;

    sim.manual_trade("BTCUSDT", "BUY", "1").await;
    sim.manual_trade("BTCFDUSD", "BUY", "2").await;
    let first = run(&sim, &store, &account, Mode::Emergency).await;
    let positions = open_positions(&store, &account).await;
    // Each sized and valued by its own fill (fees in the base); together the holding.
    assert_eq!(
        positions,
        vec![
            ("BTCFDUSD".to_owned(), dec("1.998"), entry("50100", "2")),
            ("BTCUSDT".to_owned(), dec("0.999"), entry("50000", "1")),
        ],
        "{:?}",
        first.notes
    );
    assert_eq!(sim.balances().await["BTC"].0, dec("2.997"));
    let pos = records(&store, &account).await.positions;
    assert!(
        pos.values().all(|p| !p.entry_partial),
        "each explained by its own fills: {pos:?}"
    );

    // Nothing moved: nothing to correct.
    let again = run(&sim, &store, &account, Mode::Periodic).await;
    assert_eq!(open_positions(&store, &account).await, positions);
    assert_eq!(again.correction_count(), 0, "{:?}", again.notes);

    // The FDUSD BTC sold: that position closes, the USDT one is untouched.
    sim.manual_trade("BTCFDUSD", "SELL", "1.998").await;
    let third = run(&sim, &store, &account, Mode::Emergency).await;
    let after = records(&store, &account).await.positions;
    let fd = &after[&Symbol::parse("BTCFDUSD").expect("symbol")];
    assert_eq!(
        (fd.status, fd.exit_price),
        (PositionStatus::Closed, Some(dec("50100"))),
        "{:?}",
        third.notes
    );
    assert_eq!(
        open_positions(&store, &account).await,
        vec![positions[1].clone()],
        "{:?}",
        third.notes
    );
    sim.shutdown().await;
}
