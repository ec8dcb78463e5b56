//! The account shapes bot operators have, each a whole-sync scenario (simulator → client →
//! `run_sync` → store), generic over the store: `tests/sync_memory.rs` and
//! `tests/sync_dynamo.rs` run each on both. Every one of them failed on the run shape that
//! loaded the whole partition and applied once (see the bounded-runs issue).

use super::*;
use binance_account_sync::core::{Mode, RulesConfig};
use binance_account_sync::domain::{
    BasisState, CursorRecord, PositionRecord, PositionStatus, Side, Symbol, TradeRecord, Writer,
};
use binance_account_sync::report::{Outcome, SyncReport};
use binance_account_sync::service::{now_ms, run_sync, RunSettings};
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).expect("symbol")
}

/// A symbol of the scenario format with Binance-like filters.
pub fn symbol(base: &str, quote: &str, price: &str) -> Value {
    json!({
        "symbol": format!("{base}{quote}"), "base": base, "quote": quote, "price": price,
        "filters": {
            "PRICE_FILTER": {"minPrice": "0.00001", "maxPrice": "1000000", "tickSize": "0.00001"},
            "LOT_SIZE": {"minQty": "0.001", "maxQty": "9000000", "stepSize": "0.001"},
            "NOTIONAL": {"minNotional": "5"}
        }
    })
}

/// `n` fills of one symbol spread over four days ending a day ago, alternating buys and
/// sells of `qty` at `price`, fees in the quote asset; ids from `first_id`.
pub fn fills(symbol: &str, first_id: u64, n: u64, price: &str, qty: &str) -> Vec<Value> {
    fills_ending(symbol, first_id, n, price, qty, 1)
}

/// `fills`, ending `days_ago` days ago (a symbol quiet within a 30-day lookback: 31).
pub fn fills_ending(
    symbol: &str,
    first_id: u64,
    n: u64,
    price: &str,
    qty: &str,
    days_ago: i64,
) -> Vec<Value> {
    let start = now_ms() - DAY * (4 + days_ago);
    (0..n)
        .map(|i| {
            let p = dec(price);
            let q = dec(qty);
            json!({
                "symbol": symbol, "id": first_id + i, "orderId": 1_000_000 + first_id + i,
                "price": p.to_string(), "qty": q.to_string(), "quoteQty": (p * q).to_string(),
                "commission": "0.01", "commissionAsset": "USDT",
                "time": start + (i as i64) * (4 * DAY / n.max(1) as i64),
                "isBuyer": i % 2 == 0, "isMaker": false
            })
        })
        .collect()
}

/// A scenario with the tests' key (`demo-key`), the given symbols, balances and fills.
pub fn scenario(symbols: Vec<Value>, balances: Vec<(&str, &str)>, trades: Vec<Value>) -> Value {
    json!({
        "description": "account shape of a whole-sync test",
        "api_keys": [{"key": "demo-key", "secret": "demo-secret",
                      "restrictions": {"ipRestrict": true, "enableReading": true,
                                       "enableWithdrawals": false,
                                       "enableSpotAndMarginTrading": false}}],
        "fees": {"maker": "0.001", "taker": "0.001"},
        "symbols": symbols,
        "balances": balances.into_iter()
            .map(|(a, f)| json!({"asset": a, "free": f}))
            .collect::<Vec<_>>(),
        "trades": trades,
    })
}

async fn run<S: Store>(
    sim: &Sim,
    store: &S,
    account: &AccountId,
    mode: Mode,
    settings: &RunSettings,
) -> SyncReport {
    let report = run_sync(
        &sim.client_with_budget(Some(3000)),
        store,
        &RulesConfig::default(),
        settings,
        &request(account, mode),
    )
    .await
    .expect("the run returns a report");
    println!(
        "--- {:?}: {:?} {:?} weight={} units={} read={} unknown={:?} failed={:?} counts={:?}",
        mode,
        report.outcome,
        report.outcome_detail,
        report.exchange_usage.weight,
        report.units,
        report.symbols_checked.len(),
        report.symbols_unknown,
        report.symbols_failed,
        report.counts
    );
    report
}

fn trade_record(v: &Value) -> TradeRecord {
    let d = |k: &str| dec(v[k].as_str().expect("decimal field"));
    TradeRecord {
        source: binance_account_sync::domain::FillSource::Trade,
        symbol: sym(v["symbol"].as_str().expect("symbol")),
        trade_id: v["id"].as_u64().expect("id"),
        order_id: v["orderId"].as_u64().expect("orderId"),
        side: if v["isBuyer"].as_bool() == Some(true) {
            Side::Buy
        } else {
            Side::Sell
        },
        price: d("price"),
        qty: d("qty"),
        quote_qty: d("quoteQty"),
        commission: d("commission"),
        commission_asset: asset(v["commissionAsset"].as_str().expect("asset")),
        commission_quote: d("commission"),
        realized_pnl: None,
        time: v["time"].as_i64().expect("time"),
        is_maker: false,
        recovered: false,
        fee_unpriced: false,
        version: 0,
    }
}

/// Every stored trade exactly once, equal to its exchange fill.
async fn assert_every_fill_once<S: Store>(store: &S, account: &AccountId, trades: &[Value]) {
    let stored = records(store, account).await;
    assert_eq!(stored.trades.len(), trades.len(), "every fill exactly once");
    for t in trades {
        let want = trade_record(t);
        let got = &stored.trades[&(want.symbol.clone(), want.trade_id)];
        assert_eq!(
            (got.order_id, got.side, got.price, got.qty, got.time),
            (want.order_id, want.side, want.price, want.qty, want.time),
            "trade {}",
            want.trade_id
        );
    }
}

// 1 ------------------------------------------------------------------------------------

/// The account once traded a symbol Binance later delisted: its checkpoint, trades and
/// position stay in the table. Every run completes, notes the symbol, keeps its records.
pub async fn delisted_symbol_is_skipped_noted_and_its_records_kept<S: TestStore>(store: S) {
    let trades = fills("BTCUSDT", 1, 6, "60000", "0.01");
    let sim = Sim::with_scenario(scenario(
        vec![symbol("BTC", "USDT", "60000")],
        vec![("USDT", "1000"), ("BTC", "0.05")],
        trades.clone(),
    ))
    .await;
    let account = fresh_account();
    store
        .bot_write(
            &account,
            Record::Cursor(CursorRecord {
                last_trade_id: Some(77),
                covered_through: Some(now_ms() - 40 * DAY),
                ..CursorRecord::new(sym("LUNAUSDT"))
            }),
        )
        .await;
    store
        .bot_write(
            &account,
            Record::Position(PositionRecord {
                symbol: sym("LUNAUSDT"),
                base: asset("LUNA"),
                quote: asset("USDT"),
                side: "long".into(),
                status: PositionStatus::Open,
                quantity: dec("1000"),
                entry_price: dec("80"),
                entry_partial: false,
                entry_rest_price: None,
                exit_price: None,
                realized_pnl: dec("0"),
                opened_at: now_ms() - 400 * DAY,
                closed_at: None,
                recovered: false,
                version: 0,
                updated_at: now_ms() - 400 * DAY,
                updated_by: Writer::Bot,
            }),
        )
        .await;
    let before = keyed(&records(&store, &account).await);

    for mode in [Mode::Emergency, Mode::Periodic, Mode::Emergency] {
        let report = run(&sim, &store, &account, mode, &settings()).await;
        assert_eq!(report.outcome, Outcome::Complete, "{mode:?}");
        assert_eq!(report.symbols_unknown, vec!["LUNAUSDT"], "{mode:?}");
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.contains("LUNAUSDT unknown on exchange")),
            "{:?}",
            report.notes
        );
    }
    let after = keyed(&records(&store, &account).await);
    for key in ["CURSOR#LUNAUSDT", "POSITION#LUNAUSDT"] {
        assert_eq!(after.get(key), before.get(key), "{key} kept as it was");
    }
    assert_every_fill_once(&store, &account, &trades).await;
    sim.shutdown().await;
}

// 2 ------------------------------------------------------------------------------------

/// Thirty small balances (airdrops, dust, coins never traded here) beside the bot's own
/// symbol: the bot's missed fills are recovered within two periodic runs.
pub async fn bot_fills_recovered_within_two_periodic_runs_beside_30_quiet_symbols<S: TestStore>(
    store: S,
) {
    let mut symbols = vec![symbol("XRP", "USDT", "0.5")];
    let names: Vec<String> = (0..30)
        .map(|i| format!("AIR{}", (b'A' + i) as char))
        .collect();
    let mut balances: Vec<(&str, &str)> = vec![("USDT", "5000"), ("XRP", "2000")];
    for n in &names {
        symbols.push(symbol(n, "USDT", "0.01"));
        balances.push((n.as_str(), "12.5"));
    }
    let trades = fills("XRPUSDT", 500, 40, "0.5", "100");
    let sim = Sim::with_scenario(scenario(symbols, balances, trades.clone())).await;
    let account = fresh_account();
    // The bot stored the first ten of its forty fills before it crashed.
    for t in &trades[..10] {
        store
            .bot_write(&account, Record::Trade(trade_record(t)))
            .await;
    }

    let mut recovered = 0;
    for runs in 1..=2 {
        let report = run(&sim, &store, &account, Mode::Periodic, &settings()).await;
        recovered += report.count(binance_account_sync::domain::CorrectionKind::TradeRecovered);
        assert!(report.exchange_usage.weight <= 3000);
        if recovered == 30 {
            println!("recovered in {runs} run(s)");
            break;
        }
    }
    assert_eq!(
        recovered, 30,
        "the thirty missed XRPUSDT fills, within two runs"
    );
    assert_every_fill_once(&store, &account, &trades).await;
    sim.shutdown().await;
}

// 3 ------------------------------------------------------------------------------------

/// The bot stored none of its 12,000 fills of the last five days: all are recorded within
/// two runs, none twice.
pub async fn twelve_thousand_missed_fills_recorded_within_two_runs_none_twice<S: TestStore>(
    store: S,
) {
    let trades = fills("DOGEUSDT", 10_000, 12_000, "0.1", "50");
    let sim = Sim::with_scenario(scenario(
        vec![symbol("DOGE", "USDT", "0.1")],
        vec![("USDT", "100000"), ("DOGE", "1000")],
        trades.clone(),
    ))
    .await;
    let account = fresh_account();
    let lambda_like = RunSettings {
        deadline_margin: std::time::Duration::from_secs(10),
        ..settings()
    };
    let mut done = false;
    for _ in 1..=2 {
        let mut req = request(&account, Mode::Periodic);
        req.deadline = Some(now_ms() + 300_000);
        let report = run_sync(
            &sim.client_with_budget(Some(3000)),
            &store,
            &RulesConfig::default(),
            &lambda_like,
            &req,
        )
        .await
        .expect("run");
        println!(
            "--- {:?} {:?} units={} counts={:?}",
            report.outcome, report.outcome_detail, report.units, report.counts
        );
        if report.outcome == Outcome::Complete {
            done = true;
            break;
        }
    }
    assert!(done, "complete within two runs");
    assert_every_fill_once(&store, &account, &trades).await;
    sim.shutdown().await;
}

// 4 ------------------------------------------------------------------------------------

/// A quiet run reads the same from the store whatever the history: the reads of a quiet
/// periodic run are the same at 1,000 and at `many` recorded fills.
pub async fn quiet_run_reads_as_much_at_1000_as_at_many_recorded_fills<S: TestStore>(
    make_store: impl Fn() -> std::pin::Pin<Box<dyn Future<Output = S>>>,
    reads: impl Fn(&S) -> u64,
    many: u64,
) {
    let no_rotation = RulesConfig {
        rotation_per_run: Some(0),
        ..RulesConfig::default()
    };
    let mut measured = Vec::new();
    for n in [1_000, many] {
        let trades = fills("ADAUSDT", 1, n, "0.4", "10");
        let sim = Sim::with_scenario(scenario(
            vec![symbol("ADA", "USDT", "0.4")],
            vec![("USDT", "1000"), ("ADA", "10")],
            trades.clone(),
        ))
        .await;
        let store = make_store().await;
        let account = fresh_account();
        // The first run records the history (a symbol never read is read from its first
        // fill).
        let first = run(&sim, &store, &account, Mode::Periodic, &settings()).await;
        assert_eq!(first.outcome, Outcome::Complete);
        assert_eq!(records(&store, &account).await.trades.len() as u64, n);
        let before = reads(&store);
        let quiet = run_sync(
            &sim.client(),
            &store,
            &no_rotation,
            &settings(),
            &request(&account, Mode::Periodic),
        )
        .await
        .expect("quiet run");
        assert_eq!(quiet.outcome, Outcome::Complete);
        assert_eq!(quiet.correction_count(), 0);
        measured.push((n, reads(&store) - before, quiet.exchange_usage.weight));
        sim.shutdown().await;
    }
    println!("store reads of a quiet run (fills, reads, weight): {measured:?}");
    assert_eq!(
        measured[0].1, measured[1].1,
        "the quiet run's store reads do not grow with history: {measured:?}"
    );
    assert!(measured.iter().all(|m| m.2 <= 21), "{measured:?}");
}

// 5 ------------------------------------------------------------------------------------

/// An emergency sync of a quiet symbol costs one request: `myTrades` from its checkpoint.
pub async fn quiet_symbol_emergency_read_costs_one_request<S: TestStore>(store: S) {
    let mut symbols = Vec::new();
    let mut balances: Vec<(&str, &str)> = vec![("USDT", "1000")];
    let names = ["ONE", "TWO", "SIX"];
    let mut trades = Vec::new();
    for (i, n) in names.iter().enumerate() {
        symbols.push(symbol(n, "USDT", "2"));
        balances.push((n, "100"));
        // Quiet: no fill within the 30-day lookback.
        trades.extend(fills_ending(
            &format!("{n}USDT"),
            100 * (i as u64 + 1),
            5,
            "2",
            "1",
            40,
        ));
    }
    let sim = Sim::with_scenario(scenario(symbols, balances, trades)).await;
    let account = fresh_account();
    let first = run(&sim, &store, &account, Mode::Emergency, &settings()).await;
    assert_eq!(first.outcome, Outcome::Complete);
    let before = sim.requests_to("/api/v3/myTrades").await;
    let again = run(&sim, &store, &account, Mode::Emergency, &settings()).await;
    assert_eq!(again.outcome, Outcome::Complete);
    assert_eq!(again.correction_count(), 0);
    let used = sim.requests_to("/api/v3/myTrades").await - before;
    assert_eq!(
        used,
        names.len() as u64,
        "one myTrades request per quiet symbol"
    );
    sim.shutdown().await;
}

// 6 ------------------------------------------------------------------------------------

/// A bot item that does not decode is skipped and reported with its key; the run goes on.
pub async fn malformed_bot_item_is_skipped_and_reported<S: TestStore>(
    store: S,
    put_malformed: impl AsyncFn(&S, &AccountId, &str),
) {
    let trades = fills("BTCUSDT", 1, 4, "60000", "0.01");
    let sim = Sim::with_scenario(scenario(
        vec![symbol("BTC", "USDT", "60000")],
        vec![("USDT", "1000"), ("BTC", "0.02")],
        trades.clone(),
    ))
    .await;
    let account = fresh_account();
    put_malformed(&store, &account, "BALANCE#DOGE").await;
    put_malformed(&store, &account, "TRADE#BTCUSDT#00000000000000000003").await;
    put_malformed(&store, &account, "POSITION#SOLUSDT").await;
    let report = run(&sim, &store, &account, Mode::Emergency, &settings()).await;
    assert_eq!(report.outcome, Outcome::Complete);
    for key in [
        "BALANCE#DOGE",
        "TRADE#BTCUSDT#00000000000000000003",
        "POSITION#SOLUSDT",
    ] {
        assert!(
            report
                .discrepancies
                .iter()
                .any(|d| d.kind == "malformed_item" && d.key.contains(key)),
            "{key} reported: {:?}",
            report.discrepancies
        );
    }
    let stored = records(&store, &account).await;
    assert!(
        stored.trades.contains_key(&(sym("BTCUSDT"), 4)),
        "the rest of the symbol is synced"
    );
    sim.shutdown().await;
}

// 7 ------------------------------------------------------------------------------------

/// A run cut inside a symbol's pages is followed by one that goes on from the cut: the
/// checkpoint holds the pages applied, the next run reads from there, nothing twice.
pub async fn run_cut_inside_a_symbols_pages_goes_on_from_the_cut<S: TestStore>(store: S) {
    let trades = fills("ETHUSDT", 1, 2_500, "3000", "0.01");
    let sim = Sim::with_scenario(scenario(
        vec![symbol("ETH", "USDT", "3000")],
        vec![("USDT", "1000"), ("ETH", "1")],
        trades.clone(),
    ))
    .await;
    let account = fresh_account();
    // Units: the account step, then the first 1,000-fill page; the cut comes before the
    // second page.
    let cut = RunSettings {
        max_units: Some(2),
        ..settings()
    };
    let partial = run(&sim, &store, &account, Mode::Periodic, &cut).await;
    assert_eq!(partial.outcome, Outcome::Partial);
    let mid = records(&store, &account).await;
    let checkpoint = &mid.cursors[&sym("ETHUSDT")];
    assert_eq!(
        checkpoint.last_trade_id,
        Some(1_000),
        "the first page is checkpointed"
    );
    assert!(checkpoint.pending, "more pages remain");
    assert_eq!(mid.trades.len(), 1_000);
    assert!(
        !mid.positions.contains_key(&sym("ETHUSDT")),
        "no position from a partly read history"
    );
    let before = sim.requests_to("/api/v3/myTrades").await;
    let rest = run(&sim, &store, &account, Mode::Periodic, &settings()).await;
    assert_eq!(rest.outcome, Outcome::Complete);
    assert_eq!(
        sim.requests_to("/api/v3/myTrades").await - before,
        2,
        "the next run reads the two pages after the cut, not the first again"
    );
    assert_every_fill_once(&store, &account, &trades).await;
    let done = records(&store, &account).await;
    assert!(!done.cursors[&sym("ETHUSDT")].pending);
    sim.shutdown().await;
}

// 8 ------------------------------------------------------------------------------------

/// An emergency sync interrupted by the deadline persists its scope: the following
/// periodic runs finish it in emergency mode, then go back to periodic work.
pub async fn interrupted_emergency_is_finished_by_the_next_runs<S: TestStore>(store: S) {
    let mut symbols = Vec::new();
    let mut balances: Vec<(&str, &str)> = vec![("USDT", "1000")];
    let names = ["ALFA", "BETA", "GAMA", "DELT", "EPSI"];
    let mut trades = Vec::new();
    for (i, n) in names.iter().enumerate() {
        symbols.push(symbol(n, "USDT", "3"));
        balances.push((n, "50"));
        // Quiet: no fill within the 30-day lookback.
        trades.extend(fills_ending(
            &format!("{n}USDT"),
            1_000 * (i as u64 + 1),
            3,
            "3",
            "1",
            40,
        ));
    }
    let sim = Sim::with_scenario(scenario(symbols, balances, trades.clone())).await;
    let account = fresh_account();
    let cut = RunSettings {
        max_units: Some(3),
        ..settings()
    };
    let partial = run(&sim, &store, &account, Mode::Emergency, &cut).await;
    assert_eq!(partial.outcome, Outcome::Partial);
    let state = store.state(&account).await.expect("state");
    let scope = state
        .emergency
        .clone()
        .expect("the unfinished scope is persisted");

    let mut finished = false;
    for _ in 0..names.len() {
        let next = run(&sim, &store, &account, Mode::Periodic, &cut).await;
        assert!(
            next.notes
                .iter()
                .any(|n| n.contains("Finishing the emergency sync"))
                || store
                    .state(&account)
                    .await
                    .expect("state")
                    .emergency
                    .is_none()
        );
        if store
            .state(&account)
            .await
            .expect("state")
            .emergency
            .is_none()
        {
            finished = true;
            break;
        }
    }
    assert!(finished, "the emergency scope is finished by the next runs");
    let stored = records(&store, &account).await;
    for n in names {
        let c = &stored.cursors[&sym(&format!("{n}USDT"))];
        assert!(
            c.emergency_done.is_some_and(|d| d >= scope.requested_at),
            "{n}USDT read for the emergency"
        );
    }
    assert_every_fill_once(&store, &account, &trades).await;
    let periodic = run(&sim, &store, &account, Mode::Periodic, &settings()).await;
    assert!(
        !periodic
            .notes
            .iter()
            .any(|n| n.contains("Finishing the emergency")),
        "back to periodic work"
    );
    sim.shutdown().await;
}

// 9 ------------------------------------------------------------------------------------

/// A table written by the previous layout (cursors with trade ids only) migrates: its
/// checkpoints are rewritten with a cost basis rebuilt from the stored trades, the schema
/// item is written, and the positions come out as a from-scratch replay gives them.
pub async fn existing_table_migrates_and_its_basis_is_rebuilt<S: TestStore>(
    store: S,
    put_layout_1_cursor: impl AsyncFn(&S, &AccountId, &str, u64),
) {
    let trades = fills("SOLUSDT", 1, 1_200, "150", "0.1");
    // Holding after the alternating buys and sells: every buy of 0.1 is sold again.
    let sim = Sim::with_scenario(scenario(
        vec![symbol("SOL", "USDT", "150")],
        vec![("USDT", "1000"), ("SOL", "2.5")],
        trades.clone(),
    ))
    .await;
    let account = fresh_account();
    for t in &trades {
        store
            .bot_write(&account, Record::Trade(trade_record(t)))
            .await;
    }
    put_layout_1_cursor(&store, &account, "SOLUSDT", 1_200).await;
    assert_eq!(store.schema_version(&account).await.expect("schema"), None);

    let report = run(&sim, &store, &account, Mode::Periodic, &settings()).await;
    assert_eq!(report.outcome, Outcome::Complete);
    assert_eq!(
        store.schema_version(&account).await.expect("schema"),
        Some(binance_account_sync::store::keys::SCHEMA_VERSION)
    );
    let stored = records(&store, &account).await;
    let checkpoint = &stored.cursors[&sym("SOLUSDT")];
    assert_eq!(
        checkpoint.basis_state,
        BasisState::Valid,
        "the basis was rebuilt"
    );
    let (replayed, _) = binance_account_sync::core::pnl::replay(
        stored
            .trades
            .values()
            .filter(|t| t.symbol == sym("SOLUSDT")),
        &asset("SOL"),
    );
    assert_eq!(
        checkpoint.basis, replayed,
        "the rebuilt basis is the full replay"
    );
    assert_eq!(stored.trades.len(), trades.len(), "no fill inserted twice");
    let again = run(&sim, &store, &account, Mode::Periodic, &settings()).await;
    assert_eq!(again.correction_count(), 0);
    sim.shutdown().await;
}

// 10 -----------------------------------------------------------------------------------

/// An emergency re-scans an active symbol by 24-hour windows (halving the busy ones) and
/// finds fills missing below its checkpoint (records lost by the bot, a restored table):
/// they are inserted, the basis is rebuilt, and it equals the from-scratch replay.
pub async fn emergency_rescan_finds_fills_missing_below_the_checkpoint<S: TestStore>(store: S) {
    // 5,000 fills over four days: 1,250 a day, so every busy 24-hour window is halved.
    let trades = fills("LINKUSDT", 1, 5_000, "15", "1");
    let sim = Sim::with_scenario(scenario(
        vec![symbol("LINK", "USDT", "15")],
        vec![("USDT", "1000"), ("LINK", "10")],
        trades.clone(),
    ))
    .await;
    let account = fresh_account();
    let first = run(&sim, &store, &account, Mode::Periodic, &settings()).await;
    assert_eq!(first.outcome, Outcome::Complete);
    let synced = records(&store, &account).await;
    let checkpoint = synced.cursors[&sym("LINKUSDT")].clone();

    // The same account on a second table that lost three of its trades: the checkpoint
    // (the sync's) says everything was read.
    let lost = [17_u64, 2_345, 4_999];
    let account2 = fresh_account();
    for t in synced
        .trades
        .values()
        .filter(|t| !lost.contains(&t.trade_id))
    {
        store.bot_write(&account2, Record::Trade(t.clone())).await;
    }
    store
        .bot_write(
            &account2,
            Record::Cursor(CursorRecord {
                version: 0,
                ..checkpoint
            }),
        )
        .await;

    let before = sim.requests_to("/api/v3/myTrades").await;
    let emergency = run(&sim, &store, &account2, Mode::Emergency, &settings()).await;
    assert_eq!(emergency.outcome, Outcome::Complete);
    let windows = sim.requests_to("/api/v3/myTrades").await - before;
    assert!(
        windows > 31,
        "30 days of windows, busy ones halved: {windows} requests"
    );
    assert_eq!(
        emergency.count(binance_account_sync::domain::CorrectionKind::TradeRecovered),
        lost.len() as u64,
        "exactly the lost fills are recovered"
    );
    let stored = records(&store, &account2).await;
    assert_eq!(stored.trades.len(), trades.len(), "every fill exactly once");
    let c = &stored.cursors[&sym("LINKUSDT")];
    assert_eq!(c.basis_state, BasisState::Valid, "the basis was rebuilt");
    let (replayed, _) = binance_account_sync::core::pnl::replay(
        stored
            .trades
            .values()
            .filter(|t| t.symbol == sym("LINKUSDT")),
        &asset("LINK"),
    );
    assert_eq!(c.basis, replayed, "the rebuilt basis is the full replay");
    assert!(c.emergency_done.is_some());
    sim.shutdown().await;
}

/// 1,200 fills of three orders in one millisecond: the window stays full down to 1 ms and
/// is read order by order (`orderId` + `fromId`); a fill missing below the checkpoint is
/// found whichever 1,000 the window returned.
pub async fn one_millisecond_full_of_fills_is_read_order_by_order<S: TestStore>(store: S) {
    let at = now_ms() - 2 * DAY;
    let trades: Vec<Value> = (0..1_200u64)
        .map(|i| {
            json!({
                "symbol": "ARBUSDT", "id": 1 + i, "orderId": 500 + i % 3,
                "price": "1", "qty": "1", "quoteQty": "1",
                "commission": "0.001", "commissionAsset": "USDT",
                "time": at, "isBuyer": true, "isMaker": false
            })
        })
        .collect();
    let sim = Sim::with_scenario(scenario(
        vec![symbol("ARB", "USDT", "1")],
        vec![("USDT", "1000"), ("ARB", "1200")],
        trades.clone(),
    ))
    .await;
    let account = fresh_account();
    assert_eq!(
        run(&sim, &store, &account, Mode::Periodic, &settings())
            .await
            .outcome,
        Outcome::Complete
    );
    let synced = records(&store, &account).await;
    let account2 = fresh_account();
    // The lost fill is the newest: the oldest 1,000 of the window do not hold it.
    for t in synced.trades.values().filter(|t| t.trade_id != 1_200) {
        store.bot_write(&account2, Record::Trade(t.clone())).await;
    }
    store
        .bot_write(
            &account2,
            Record::Cursor(CursorRecord {
                version: 0,
                ..synced.cursors[&sym("ARBUSDT")].clone()
            }),
        )
        .await;
    let report = run(&sim, &store, &account2, Mode::Emergency, &settings()).await;
    assert_eq!(report.outcome, Outcome::Complete);
    assert_eq!(
        report.count(binance_account_sync::domain::CorrectionKind::TradeRecovered),
        1
    );
    assert_eq!(records(&store, &account2).await.trades.len(), 1_200);
    sim.shutdown().await;
}

// 11 -----------------------------------------------------------------------------------

/// A fill reaches `myTrades` some seconds after the balance moved (strict mode's history
/// lag): the run that sees the balance move but not the fill keeps the movement
/// unexplained, and the next run recovers the fill and advances the digest.
pub async fn a_fill_that_reaches_the_history_late_is_recovered_by_the_next_run<S: TestStore>(
    store: S,
) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    seed_demo(&store, &account).await;
    let converged = run(&sim, &store, &account, Mode::Emergency, &settings()).await;
    assert_eq!(converged.outcome, Outcome::Complete);
    let quiet_rules = RulesConfig {
        rotation_per_run: Some(0),
        ..RulesConfig::default()
    };
    let periodic = |rules: RulesConfig| {
        let client = sim.client();
        let (store, account) = (&store, &account);
        async move {
            run_sync(
                &client,
                store,
                &rules,
                &settings(),
                &request(account, Mode::Periodic),
            )
            .await
            .expect("run")
        }
    };

    let (trade_id, _) = sim.manual_trade_now("SOLUSDT", "BUY", "0.5").await;
    let early = periodic(quiet_rules.clone()).await;
    assert_eq!(early.outcome, Outcome::Complete);
    assert_eq!(
        early.count(binance_account_sync::domain::CorrectionKind::TradeRecovered),
        0,
        "the fill is not in the history yet"
    );
    assert!(early.symbols_checked.contains(&"SOLUSDT".to_owned()));
    let digest = store.state(&account).await.expect("state").digest;
    assert_ne!(
        digest[&asset("SOL")].total(),
        sim.balances().await["SOL"].0 + sim.balances().await["SOL"].1,
        "the SOL movement is not taken as explained"
    );

    sim.after_history_lag().await;
    let late = periodic(quiet_rules.clone()).await;
    assert!(
        records(&store, &account)
            .await
            .trades
            .contains_key(&(sym("SOLUSDT"), trade_id)),
        "the next run recovers the late fill: {:?}",
        late.counts
    );
    let quiet = periodic(quiet_rules).await;
    assert_eq!(
        quiet.exchange_usage.weight, 21,
        "explained at last: the digest advanced and the run after is quiet"
    );
    sim.shutdown().await;
}

// 8-decimal entry price ------------------------------------------------------------------

/// A position the bot never recorded is recovered at the average cost of its buys (fees
/// in the quote included, `docs/pnl.md`), stored to 8 decimal places and rounded (half
/// even), not truncated and not at the division's 28 digits: three buys whose average is
/// 60024.8166… (1260.52115 USDT over 0.021 BTC).
pub async fn recovered_entry_price_is_the_average_cost_rounded_to_8_decimals<S: TestStore>(
    store: S,
) {
    let t0 = now_ms() - 2 * DAY;
    let buy = |id: u64, qty: &str, price: &str, fee: &str| {
        json!({
            "symbol": "BTCUSDT", "id": id, "orderId": 2_000_000 + id,
            "price": price, "qty": qty, "quoteQty": (dec(price) * dec(qty)).to_string(),
            "commission": fee, "commissionAsset": "USDT",
            "time": t0 + id as i64 * 60_000, "isBuyer": true, "isMaker": false
        })
    };
    let trades = vec![
        buy(1, "0.003", "60000.01", "0.07"),
        buy(2, "0.007", "59999.97", "0.13"),
        buy(3, "0.011", "60001.03", "0.31"),
    ];
    let sim = Sim::with_scenario(scenario(
        vec![symbol("BTC", "USDT", "60000")],
        vec![("USDT", "1000"), ("BTC", "0.021")],
        trades.clone(),
    ))
    .await;
    let account = fresh_account();
    let report = run(&sim, &store, &account, Mode::Periodic, &settings()).await;
    assert_eq!(report.outcome, Outcome::Complete);
    let position = records(&store, &account).await.positions[&sym("BTCUSDT")].clone();
    // cost = 180.00003 + 419.99979 + 660.01133 (price × qty) + 0.51 (fees) = 1260.52115
    // over 0.021 BTC: 60024.816666… (a repeating 6), which no 8-place number holds.
    let exact = dec("1260.52115") / dec("0.021");
    assert!(exact.scale() > 8, "{exact}");
    // Rounded to 8 places (half even); a truncation would store ...66666.
    assert_eq!(
        (position.entry_price, position.quantity, position.status),
        (dec("60024.81666667"), dec("0.021"), PositionStatus::Open),
        "{position:?}"
    );
    assert!(position.recovered);
    assert_eq!(position.opened_at, t0 + 60_000, "opened at the first buy");
    assert_every_fill_once(&store, &account, &trades).await;
    sim.shutdown().await;
}
