//! Runs cut at any unit end and resumed leave exactly the records one uncut run leaves,
//! and those records are what a from-scratch replay of the exchange's fills says.
//!
//! Each case draws an account — 3 to 12 symbols against USDT (BNB among them), bases held
//! without any USDT symbol, symbols never traded, symbols with up to ~2,500 fills (several
//! 1,000-fill pages), fees in the quote, the base, BNB (priced at the fill's minute, or at
//! the current price when the minute has no candle) or nothing — and the bot's view of it:
//! some of the fills recorded (none, all, the first part, a sample), positions open with
//! the wrong quantity or closed, stale balances and dust, orders the bot thinks open that
//! are filled, gone or archived on the exchange, open orders it never recorded, and
//! checkpoints of the old layout whose cost basis must be rebuilt from the stored trades.
//! Some histories are long past; others lie within the emergency's lookback, so the
//! emergency re-scans them by 24-hour windows — some dense (windows of more than 1,000
//! fills, halved), some with 1,001 fills in one millisecond (read order by order), some
//! with fills missing below an old checkpoint that only the re-scan finds.
//!
//! Then, on the in-memory store and the in-process fake exchange:
//! - run A: an emergency run, then periodic runs, each cut after k units (k drawn per
//!   run), until one ends `Complete`;
//! - run B: one uncut emergency run from the same seed;
//! - A and B hold the same records (but for who wrote when, the checkpoints' read times
//!   and emergency stamps, an unknown order's count of the runs that asked, and fields the
//!   sync sets to the run's own time);
//! - no run reports a conflict (no bot writes meanwhile) or a failed symbol, no run of A
//!   runs more units than allowed, and the uncut run reads each symbol's fills forward in
//!   exactly one page per 1,000 fills plus the short last one;
//! - every fill is stored exactly once, as the exchange reports it; the trades the runs
//!   recovered carry the fee priced at their minute and, when sells, the realized P&L of
//!   a from-scratch replay; each checkpoint's cost basis is that replay's; positions and
//!   dust follow the holdings; balances are the exchange's; orders are settled.
//!
//! The plain tests after the property are its finds, shrunk (see each one's comment).

#[path = "support/accounts.rs"]
mod accounts;
#[path = "support/fake_exchange.rs"]
mod fake_exchange;

use accounts::*;
use binance_account_sync::core::pnl::replay;
use binance_account_sync::core::{Mode, RulesConfig};
use binance_account_sync::domain::{
    Asset, AssetDigest, Fill, OrderStatus, Record, Records, Side, TradeRecord,
};
use binance_account_sync::report::{Outcome, SyncReport};
use binance_account_sync::service::{now_ms, run_sync};
use binance_account_sync::store::memory::MemoryStore;
use binance_account_sync::store::Store;
use fake_exchange::FakeExchange;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// Runs A may take before it must have converged (a re-scanned symbol costs a unit per
/// day of the lookback).
const MAX_RUNS: usize = 600;

/// Run A: an emergency run, then periodic ones, each cut after `cuts[i % len]` units,
/// until one is complete.
async fn cut_runs(
    exchange: &FakeExchange,
    store: &MemoryStore,
    rules: &RulesConfig,
    cuts: &[u64],
) -> Vec<SyncReport> {
    let mut reports = Vec::new();
    for i in 0..MAX_RUNS {
        let k = cuts[i % cuts.len()];
        let mode = if i == 0 {
            Mode::Emergency
        } else {
            Mode::Periodic
        };
        let report = run_sync(exchange, store, rules, &settings(Some(k)), &request(mode))
            .await
            .unwrap_or_else(|e| panic!("run {i} of A (cut after {k} units) failed: {e}"));
        assert!(
            report.symbols_failed.is_empty(),
            "run {i} of A: {}",
            brief(&report)
        );
        let outcome = report.outcome;
        assert!(
            matches!(outcome, Outcome::Complete | Outcome::Partial),
            "run {i} of A: {}",
            brief(&report)
        );
        assert!(
            report.conflicts.is_empty(),
            "run {i} of A: no bot wrote, yet conflicts: {:?}",
            report.conflicts
        );
        assert!(
            report.units <= k + 1,
            "run {i} of A ran {} units past its limit of {k} (and the balances step)",
            report.units
        );
        reports.push(report);
        if outcome == Outcome::Complete {
            return reports;
        }
    }
    let last: Vec<String> = reports.iter().rev().take(3).map(brief).collect();
    panic!("A did not converge in {MAX_RUNS} runs; the last: {last:#?}");
}

fn check(spec: &AccountSpec) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(check_async(spec));
}

async fn check_async(spec: &AccountSpec) {
    let run_time = now_ms();
    let built = build(spec);
    let account = account_id();

    // A: cut at any unit end, resumed until complete.
    let exchange_a = FakeExchange::new(built.account.clone());
    let (store_a, seed_a) = seeded(&built);
    let reports = cut_runs(&exchange_a, &store_a, &built.rules, &spec.cuts).await;

    // B: one uncut run.
    let exchange_b = FakeExchange::new(built.account.clone());
    let (store_b, seed_b) = seeded(&built);
    let whole = run_sync(
        &exchange_b,
        &store_b,
        &built.rules,
        &settings(None),
        &request(Mode::Emergency),
    )
    .await
    .expect("the uncut run");
    assert_eq!(whole.outcome, Outcome::Complete, "B: {}", brief(&whole));
    assert!(whole.symbols_failed.is_empty(), "B: {}", brief(&whole));
    assert!(
        whole.conflicts.is_empty(),
        "B: no bot wrote, yet conflicts: {:?}",
        whole.conflicts
    );
    let b_forward = exchange_b.fill_queries(fake_exchange::query::FROM_ID);
    let b_windows = exchange_b.fill_queries(fake_exchange::query::WINDOW);

    let a = store_a.load(&account).await.expect("load A").0;
    let b = store_b.load(&account).await.expect("load B").0;
    assert_same_records(&a, &b, run_time);
    let runs_a = reports.len() as u32;
    assert_true_to_the_exchange(
        "A",
        &a,
        &built,
        &seed_a,
        Some(reports[0].started_at),
        runs_a,
    );
    assert_true_to_the_exchange("B", &b, &built, &seed_b, Some(whole.started_at), 1);
    // Forward pages, plus those that compare the bot's trades below old checkpoints.
    let (forward, verify) = (
        pages_needed(&built, &b),
        verify_pages_at_most(&built, &seed_b),
    );
    assert!(
        (forward..=forward + verify).contains(&b_forward),
        "B: {b_forward} fromId pages; forward (each symbol from its checkpoint, 1,000 fills \
         a page): {forward}, verifying the bot's trades below old checkpoints: at most {verify}"
    );
    // Symbols whose checkpoint may hide holes within the lookback: an old-layout checkpoint
    // (its fills' times unknown) of a symbol that traded recently. A symbol never read is
    // read forward from its first fill and needs no re-scan.
    let recent = spec
        .symbols
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            let symbol = sym(&format!("{}USDT", BASES[*i].name));
            matches!(s.when, When::Recent { .. }) && built.layout1.contains_key(&symbol)
        })
        .count() as u64;
    assert!(
        b_windows >= recent,
        "B: {b_windows} re-scan windows for {recent} symbols active within the lookback"
    );
    for (label, state) in [("A", &a.state), ("B", &b.state)] {
        assert_eq!(
            (
                state.emergency.as_ref(),
                state.last_outcome.as_deref(),
                state.lease_owner.as_deref()
            ),
            (None, Some("complete"), None),
            "{label}: the sync state after the last run"
        );
    }
}

/// One uncut run of a built account on a fresh store: its report and the records after.
fn one_run(built: &Built) -> (SyncReport, Records) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let exchange = FakeExchange::new(built.account.clone());
        let (store, _) = seeded(built);
        let report = run_sync(
            &exchange,
            &store,
            &built.rules,
            &settings(None),
            &request(Mode::Emergency),
        )
        .await
        .expect("the run");
        let records = store.load(&account_id()).await.expect("load").0;
        (report, records)
    })
}

/// The property's first find, shrunk: a symbol whose fills take two pages (1,000 fills:
/// a full page, then an empty one), an order the bot holds open that the exchange has
/// archived, and an order open on the exchange that the bot recorded. The first page's
/// unit loads no orders (only the last page's does) yet writes the order watermark past
/// the highest order id it knows of (the exchange's open order), so the last page's unit
/// loads neither order: the archived one is never looked up, and the open one is planned
/// as new and conflicts with the bot's record of it.
#[test]
fn orders_open_in_the_records_are_settled_when_the_fills_span_pages() {
    let spec = AccountSpec {
        symbols: vec![SymbolSpec {
            stale_order: StaleOrder::Archived,
            open_order: OpenOrder::Open {
                bot: false,
                recorded: true,
            },
            ..quiet_symbol(1000)
        }],
        quoteless: vec![],
        stale_balances: 0,
        gone_asset: false,
        cuts: vec![7],
    };
    let built = build(&spec);
    let (report, records) = one_run(&built);
    assert_eq!(report.outcome, Outcome::Complete, "{}", brief(&report));
    let orders: Vec<(u64, &OrderStatus)> = records
        .orders
        .values()
        .map(|o| (o.order_id, &o.status))
        .collect();
    let archived = built
        .account
        .archived
        .iter()
        .next()
        .expect("an archived order")
        .1;
    let open = built
        .account
        .orders
        .values()
        .find(|o| o.status.is_open())
        .expect("an open order")
        .order_id;
    assert_eq!(
        orders,
        vec![
            (archived, &OrderStatus::Canceled),
            (open, &OrderStatus::New)
        ],
        "the archived order settled as CANCELED, the open one kept"
    );
    assert!(
        report.conflicts.is_empty(),
        "no bot wrote during the run, yet: {:?}",
        report.conflicts
    );
}

/// The same with no order open on the exchange: the bot holds open an order of the first
/// page's fills (filled on the exchange). The first page's unit moves the watermark past
/// the page's highest order id, so the order is never looked up.
#[test]
fn an_order_filled_on_an_early_page_is_settled() {
    let spec = AccountSpec {
        symbols: vec![SymbolSpec {
            stale_order: StaleOrder::Filled,
            ..quiet_symbol(1500)
        }],
        quoteless: vec![],
        stale_balances: 0,
        gone_asset: false,
        cuts: vec![7],
    };
    let built = build(&spec);
    let (report, records) = one_run(&built);
    assert_eq!(report.outcome, Outcome::Complete, "{}", brief(&report));
    let filled = built
        .account
        .orders
        .values()
        .find(|o| o.status == OrderStatus::Filled)
        .expect("a filled order");
    let first_page_max = built.account.fills[&filled.symbol][..1000]
        .iter()
        .map(|f| f.order_id)
        .max();
    assert!(
        Some(filled.order_id) < first_page_max,
        "the order is among the first page's"
    );
    let r = &records.orders[&(filled.symbol.clone(), filled.order_id)];
    assert_eq!(
        (&r.status, r.executed_qty),
        (&OrderStatus::Filled, filled.executed_qty),
        "the order the bot holds open is FILLED on the exchange"
    );
}

/// Periodic runs after A and B have converged (nothing changes on the exchange): what
/// their reports said of unexplained balances, and the digest after them.
#[test]
fn a_first_run_cut_short_explains_the_balances_as_one_uncut_run_does() {
    // Two symbols sharing USDT, a few fills each; every run of A reads one symbol.
    let spec = AccountSpec {
        symbols: vec![
            SymbolSpec {
                extra: Extra::Deposit(1),
                ..quiet_symbol(5)
            },
            SymbolSpec {
                extra: Extra::Deposit(1),
                seed: 7,
                ..quiet_symbol(5)
            },
        ],
        quoteless: vec![],
        stale_balances: 0,
        gone_asset: false,
        cuts: vec![2],
    };
    let built = build(&spec);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let exchange_a = FakeExchange::new(built.account.clone());
        let (store_a, _) = seeded(&built);
        let mut reports_a = cut_runs(&exchange_a, &store_a, &built.rules, &spec.cuts).await;
        let exchange_b = FakeExchange::new(built.account.clone());
        let (store_b, _) = seeded(&built);
        let mut reports_b = vec![run_sync(
            &exchange_b,
            &store_b,
            &built.rules,
            &settings(None),
            &request(Mode::Emergency),
        )
        .await
        .expect("B")];
        // The schedule goes on; the account does not change.
        for _ in 0..3 {
            for (exchange, store, reports) in [
                (&exchange_a, &store_a, &mut reports_a),
                (&exchange_b, &store_b, &mut reports_b),
            ] {
                let r = run_sync(
                    exchange,
                    store,
                    &built.rules,
                    &settings(None),
                    &request(Mode::Periodic),
                )
                .await
                .expect("periodic run");
                reports.push(r);
            }
        }
        let unexplained = |reports: &[SyncReport]| -> Vec<String> {
            reports
                .iter()
                .flat_map(|r| &r.discrepancies)
                .filter(|d| d.kind == "balance_unexplained")
                .map(|d| d.message.clone())
                .collect()
        };
        let state_a = store_a.state(&account_id()).await.expect("state A");
        let state_b = store_b.state(&account_id()).await.expect("state B");
        // Each baseline is stamped with the exchange's time of its own store's last
        // account read (A and B run one after the other, so those differ): checked
        // against each one's last run, then the rest compared whole.
        for (label, state, reports) in [("A", &state_a, &reports_a), ("B", &state_b, &reports_b)] {
            let last = reports.last().expect("a run").started_at;
            for (asset, d) in &state.digest {
                assert!(
                    d.since >= last,
                    "{label}: {asset}'s baseline is older than its last run ({} < {last})",
                    d.since
                );
            }
        }
        let unstamped = |digest: &BTreeMap<Asset, AssetDigest>| {
            digest
                .iter()
                .map(|(a, d)| {
                    (
                        a.clone(),
                        AssetDigest {
                            since: 0,
                            ..d.clone()
                        },
                    )
                })
                .collect::<BTreeMap<Asset, AssetDigest>>()
        };
        assert_eq!(
            (unexplained(&reports_a), unstamped(&state_a.digest)),
            (unexplained(&reports_b), unstamped(&state_b.digest)),
            "cut runs (A, left) vs one uncut run (B, right): unexplained balances reported, \
             and the digest after {} and {} runs",
            reports_a.len(),
            reports_b.len()
        );
    });
}

// The emergency re-scan (24-hour windows over a recent history) and what it finds ------

/// A symbol of recent fills (BTCUSDT, beside an untraded BNBUSDT) with a checkpoint of the
/// old layout through its middle fill; the store misses the fills below it that `missing`
/// picks: holes only an emergency's re-scan finds.
fn migrated_with_holes(
    spec: SymbolSpec,
    missing: impl Fn(&Fill) -> bool,
) -> (Built, u64, BTreeSet<u64>) {
    let mut built = build(&AccountSpec {
        symbols: vec![quiet_symbol(0), spec],
        quoteless: vec![],
        stale_balances: 0,
        gone_asset: false,
        cuts: vec![7],
    });
    let symbol = sym("BTCUSDT");
    let through = built.layout1[&symbol];
    let holes: BTreeSet<u64> = built.account.fills[&symbol]
        .iter()
        .filter(|f| f.trade_id <= through && missing(f))
        .map(|f| f.trade_id)
        .collect();
    assert!(!holes.is_empty(), "the case has holes");
    built
        .seed
        .retain(|r| !matches!(r, Record::Trade(t) if holes.contains(&t.trade_id)));
    (built, through, holes)
}

fn recent_symbol(fills: usize, seed: u64) -> SymbolSpec {
    SymbolSpec {
        fills,
        seed,
        when: When::Recent {
            dense: false,
            burst: false,
            holes_pct: 0,
        },
        layout1: Some(500),
        ..quiet_symbol(fills)
    }
}

/// The trades of BTCUSDT after one uncut emergency run, and the replay of them.
fn btc_after_one_run(
    built: &Built,
) -> (
    Records,
    Vec<TradeRecord>,
    BTreeMap<(binance_account_sync::domain::FillSource, u64), Decimal>,
) {
    let (report, records) = one_run(built);
    assert_eq!(report.outcome, Outcome::Complete, "{}", brief(&report));
    let symbol = sym("BTCUSDT");
    let trades: Vec<TradeRecord> = records
        .trades
        .values()
        .filter(|t| t.symbol == symbol)
        .cloned()
        .collect();
    assert_eq!(
        trades.len(),
        built.account.fills[&symbol].len(),
        "every fill stored, the holes found by the re-scan"
    );
    let (_, realized) = replay(&trades, &asset("BTC"));
    (records, trades, realized)
}

/// A sell missing below the checkpoint, found by the re-scan, is inserted while the basis
/// is marked for a rebuild (`core::trades`: realized P&L only with a valid basis); the
/// rebuild replays the stored trades but never writes the P&L of the trades it replays.
#[test]
fn sells_found_below_the_checkpoint_carry_the_replayed_realized_pnl() {
    let (built, _, holes) = migrated_with_holes(recent_symbol(30, 3), |f| f.side == Side::Sell);
    let (_, trades, realized) = btc_after_one_run(&built);
    let found: Vec<(u64, Option<Decimal>, Option<Decimal>)> = trades
        .iter()
        .filter(|t| holes.contains(&t.trade_id))
        .map(|t| {
            (
                t.trade_id,
                t.realized_pnl,
                realized.get(&(t.source, t.trade_id)).copied(),
            )
        })
        .collect();
    assert!(!found.is_empty());
    let wrong: Vec<_> = found.iter().filter(|(_, got, want)| got != want).collect();
    assert!(
        wrong.is_empty(),
        "sells found by the re-scan (trade id, stored P&L, replayed P&L): {wrong:?}"
    );
}

/// The forward read (from the checkpoint) runs before the re-scan: the sells it recovers
/// realize against a basis rebuilt without the holes the re-scan finds afterwards.
#[test]
fn sells_read_after_holes_below_them_carry_the_replayed_realized_pnl() {
    let (built, through, _) = migrated_with_holes(recent_symbol(30, 3), |f| f.side == Side::Buy);
    let (_, trades, realized) = btc_after_one_run(&built);
    let wrong: Vec<(u64, Option<Decimal>, Option<Decimal>)> = trades
        .iter()
        .filter(|t| t.side == Side::Sell && t.trade_id > through)
        .map(|t| {
            (
                t.trade_id,
                t.realized_pnl,
                realized.get(&(t.source, t.trade_id)).copied(),
            )
        })
        .filter(|(_, got, want)| got != want)
        .collect();
    assert!(
        wrong.is_empty(),
        "sells past the checkpoint (trade id, stored P&L, replayed P&L): {wrong:?}"
    );
}

/// The position is planned by the forward read's last page, before the re-scan finds the
/// buys missing below the checkpoint; nothing plans it again once the basis is rebuilt.
#[test]
fn a_position_recovered_with_holes_below_the_checkpoint_has_the_replayed_entry() {
    let (built, _, _) = migrated_with_holes(recent_symbol(30, 3), |f| f.side == Side::Buy);
    let (records, trades, _) = btc_after_one_run(&built);
    let (basis, _) = replay(&trades, &asset("BTC"));
    assert!(basis.qty > Decimal::ZERO, "the case holds BTC");
    let p = &records.positions[&sym("BTCUSDT")];
    assert_eq!(
        (p.entry_price, Some(p.opened_at)),
        (basis.avg_cost.round_dp(8), basis.open_since),
        "entry price and opening of the recovered position vs the replay"
    );
}

/// `unit` prices a page's fees paid in BNB at their minute before it inserts them; the
/// re-scan's window inserts what it finds with the current price only.
#[test]
fn a_fee_in_bnb_found_below_the_checkpoint_is_priced_at_its_minute() {
    let (built, _, holes) = migrated_with_holes(
        SymbolSpec {
            bnb_fee_pct: 100,
            ..recent_symbol(30, 3)
        },
        |f| f.commission_asset == asset("BNB") && !f.commission.is_zero(),
    );
    let (_, trades, _) = btc_after_one_run(&built);
    let info = &built.account.symbols[&sym("BTCUSDT")];
    let fills: BTreeMap<u64, &Fill> = built.account.fills[&info.symbol]
        .iter()
        .map(|f| (f.trade_id, f))
        .collect();
    let wrong: Vec<(u64, Decimal, Decimal)> = trades
        .iter()
        .filter(|t| holes.contains(&t.trade_id))
        .map(|t| {
            let want = commission_quote(fills[&t.trade_id], info, &built.account);
            (t.trade_id, t.commission_quote, want)
        })
        .filter(|(_, got, want)| got != want)
        .collect();
    assert!(
        wrong.is_empty(),
        "fees found by the re-scan (trade id, stored, at the fill's minute): {wrong:?}"
    );
}

/// A checkpoint of the old layout knows no fill time (`last_fill_at` None), and a symbol is
/// re-scanned only when its last fill is within the lookback: a migrated symbol that
/// traded last week but not since is treated as quiet, and its holes stay.
#[test]
fn an_emergency_re_scans_a_migrated_checkpoint_of_recent_fills() {
    // Through its last fill: the forward read finds nothing newer.
    let spec = SymbolSpec {
        layout1: Some(1000),
        ..recent_symbol(30, 3)
    };
    let (built, _, _) = migrated_with_holes(spec, |f| f.trade_id % 3 == 0);
    btc_after_one_run(&built);
}

/// Every run begins a symbol with its forward read, even when the checkpoint is current and
/// an emergency re-scan of it is half done: a run with room for one unit of the symbol
/// spends it on the forward read, and the re-scan never advances.
#[test]
fn an_emergency_re_scan_progresses_when_each_run_has_room_for_one_symbol_unit() {
    let spec = AccountSpec {
        symbols: vec![SymbolSpec {
            layout1: None,
            ..recent_symbol(5, 1)
        }],
        quoteless: vec![],
        stale_balances: 0,
        gone_asset: false,
        // Each run: the account unit, one symbol unit, the balances step.
        cuts: vec![2],
    };
    let built = build(&spec);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let exchange = FakeExchange::new(built.account.clone());
        let (store, _) = seeded(&built);
        cut_runs(&exchange, &store, &built.rules, &spec.cuts).await;
    });
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        // Failing cases are kept beside this file and replayed first (an integration test
        // has no lib.rs for `SourceParallel` to find).
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(
                "tests/sync_units_property.proptest-regressions",
            ),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn runs_cut_at_any_unit_end_where_one_uncut_run_ends(spec in account_spec()) {
        check(&spec);
    }
}
