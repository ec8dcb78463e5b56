//! The whole-sync scenarios, written once against any store. Each takes a fresh, empty
//! store; `tests/sync_memory.rs` and `tests/sync_dynamo.rs` call them with the in-memory
//! store and with DynamoDB on the local emulator.

use super::wrappers::{
    Attempt, BotRacesApply, CrashAfterApply, HoldApplyUntilLeaseTried, ReplayGate, Replayed,
};
use super::*;
use binance_account_sync::core::conflict::ConflictResolution;
use binance_account_sync::core::RulesConfig;
use binance_account_sync::domain::FlowKind;
use binance_account_sync::domain::{
    BalanceRecord, CorrectionKind, CursorRecord, OrderOrigin, OrderRecord, OrderStatus,
    PositionStatus, Side, Symbol, Writer,
};
use binance_account_sync::exchange::{Exchange, FillsFrom};
use binance_account_sync::report::{Outcome, ReportedConflict, SyncReport};
use binance_account_sync::service::{now_ms, run_id_for, run_sync};
use std::collections::{BTreeMap, BTreeSet};

const ETH_BOT_ORDER: u64 = 19_283_000_192;
const SOL_MANUAL_ORDER: u64 = 9_731_000_378;

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).expect("symbol")
}

fn show(label: &str, report: &SyncReport) {
    println!(
        "--- {label}: {:?} {:?} weight={} requests={} units={} counts={:?} conflicts={:?} read={:?} failed={:?} discrepancies={:?}",
        report.outcome,
        report.outcome_detail,
        report.exchange_usage.weight,
        report.exchange_usage.requests,
        report.units,
        report.counts,
        report.conflicts,
        report.symbols_checked,
        report.symbols_failed,
        report.discrepancies.iter().map(|d| d.key.as_str()).collect::<Vec<_>>()
    );
}

async fn sync<S: Store>(sim: &Sim, store: &S, request: &SyncRequest) -> SyncReport {
    sync_with(sim, store, request, &RulesConfig::default()).await
}

async fn sync_with<S: Store>(
    sim: &Sim,
    store: &S,
    request: &SyncRequest,
    rules: &RulesConfig,
) -> SyncReport {
    let report = run_sync(&sim.client(), store, rules, &settings(), request)
        .await
        .expect("sync runs");
    show(&format!("{:?}", request.mode), &report);
    report
}

/// Seed the demo records and run one emergency sync: the DB then agrees with the exchange.
async fn converged<S: TestStore>(sim: &Sim, store: &S, account: &AccountId) {
    seed_demo(store, account).await;
    let first = sync(sim, store, &request(account, Mode::Emergency)).await;
    assert_eq!(first.outcome, Outcome::Complete);
    assert!(first.correction_count() > 0, "the demo DB starts diverged");
}

// 1 ------------------------------------------------------------------------------------

pub async fn bot_write_racing_the_sync_survives<S: TestStore>(store: S) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    seed_demo(&store, &account).await;
    let usdt_before = records(&store, &account).await.balances[&asset("USDT")].clone();

    // The bot writes a (wrong) USDT balance between the sync's read and its write.
    let bot_value = BalanceRecord {
        free: dec("99999.5"),
        locked: dec("0"),
        updated_at: now_ms(),
        updated_by: Writer::Bot,
        ..usdt_before.clone()
    };
    let racing = BotRacesApply::new(
        &store,
        binance_account_sync::domain::Record::Balance(bot_value),
    );
    let report = sync(&sim, &racing, &request(&account, Mode::Emergency)).await;
    assert!(
        racing.fired(),
        "the sync planned a USDT correction and the bot raced it"
    );

    assert_eq!(report.outcome, Outcome::Complete);
    assert_eq!(
        report.conflicts,
        vec![ReportedConflict {
            key: "BALANCE#USDT".into(),
            resolution: ConflictResolution::Deferred
        }],
        "exactly the raced item is reported, deferred to the next run"
    );
    let after = records(&store, &account).await;
    let usdt = &after.balances[&asset("USDT")];
    assert_eq!(
        (usdt.free, usdt.locked),
        (dec("99999.5"), dec("0")),
        "the bot's value survives"
    );
    assert_eq!(usdt.updated_by, Writer::Bot);
    assert_eq!(
        usdt.version,
        usdt_before.version + 1,
        "only the bot wrote it"
    );

    // Nothing else lost: every other correction the sync asked for is stored as planned.
    let asked = racing.asked.lock().expect("lock").clone();
    let stored = keyed(&after);
    let others: Vec<_> = asked
        .iter()
        .filter(|c| record_key(&c.after) != "BALANCE#USDT")
        .collect();
    assert_eq!(others.len() + 1, asked.len());
    // A key corrected by several units of the run (a checkpoint) holds the last one.
    let mut last: BTreeMap<String, &Record> = BTreeMap::new();
    for c in &others {
        last.insert(record_key(&c.after), &c.after);
    }
    for (key, after) in &last {
        assert_eq!(stored.get(key), Some(*after), "correction of {key} applied");
    }
    // Checkpoint writes are the sync's bookkeeping: counted apart from the corrections.
    assert_eq!(
        (report.correction_count() + report.checkpoints_written) as usize,
        others.len()
    );
    assert_eq!(
        audit(&store, &account).await.len(),
        others.len(),
        "one audit entry per write"
    );

    // The next run corrects the bot's wrong value from the exchange.
    let next = sync(&sim, &store, &request(&account, Mode::Periodic)).await;
    assert!(next.conflicts.is_empty());
    assert!(next.corrections.iter().any(|c| c.key == "BALANCE#USDT"));
    let exchange = sim.balances().await;
    let after = records(&store, &account).await;
    assert_balances_equal_exchange(&after, &exchange);
    assert_eq!(after.balances[&asset("USDT")].updated_by, Writer::Sync);
    sim.shutdown().await;
}

// 2 ------------------------------------------------------------------------------------

pub async fn two_syncs_started_at_once_one_runs_one_reports_lease_held<S: TestStore>(store: S) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    seed_demo(&store, &account).await;
    let gate = HoldApplyUntilLeaseTried::new(&store, 2);
    let (c1, c2) = (sim.client(), sim.client());
    let rules = RulesConfig::default();
    let (s1, s2) = (settings(), settings());
    let (r1, r2) = (
        request(&account, Mode::Emergency),
        request(&account, Mode::Emergency),
    );
    let both = async {
        tokio::join!(
            run_sync(&c1, &gate, &rules, &s1, &r1),
            run_sync(&c2, &gate, &rules, &s2, &r2)
        )
    };
    // A guard against a hang, not a synchronisation: the runs finish in well under a second.
    let (a, b) = tokio::time::timeout(std::time::Duration::from_secs(120), both)
        .await
        .expect("the two runs finish (no deadlock)");
    let (a, b) = (a.expect("run a"), b.expect("run b"));
    show("a", &a);
    show("b", &b);
    let (winner, loser) = match (a.outcome, b.outcome) {
        (Outcome::Complete, Outcome::LeaseHeld) => (a, b),
        (Outcome::LeaseHeld, Outcome::Complete) => (b, a),
        other => panic!("expected one Complete and one LeaseHeld, got {other:?}"),
    };
    assert!(winner.correction_count() > 0);
    assert_eq!(loser.correction_count(), 0, "the loser wrote nothing");
    assert_eq!(
        loser.exchange_usage.weight, 0,
        "the loser did not read the exchange"
    );
    let detail = loser.outcome_detail.clone().unwrap_or_default();
    assert!(
        detail.contains(&winner.run_id),
        "the loser names the holder: {detail}"
    );
    assert_eq!(
        audit(&store, &account).await.len() as u64,
        winner.correction_count() + winner.checkpoints_written,
        "only the winner's writes were made"
    );

    let third = sync(&sim, &store, &request(&account, Mode::Emergency)).await;
    assert_eq!(third.outcome, Outcome::Complete, "the lease was released");
    assert_eq!(third.correction_count(), 0, "the winner's run converged");
    sim.shutdown().await;
}

// 3 ------------------------------------------------------------------------------------

/// A retried invocation (same Lambda request id, so the same run id) writes nothing twice:
/// neither after the first attempt died with its first unit written, nor when two attempts
/// of it run side by side and plan the same unit from the same records (the retry starts
/// while the first is still running). The second attempt's corrections of that unit are
/// all refused by their conditions: each record keeps the first attempt's write and has one
/// audit entry.
pub async fn retried_invocation_writes_nothing_twice<S: TestStore>(store: S) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    seed_demo(&store, &account).await;
    let mut retry = request(&account, Mode::Emergency);
    retry.invocation_id = Some("lambda-request-7f3a".into());

    // 1. The first attempt dies after its first unit's writes landed.
    let crash = CrashAfterApply::new(&store);
    let first = run_sync(
        &sim.client(),
        &crash,
        &RulesConfig::default(),
        &settings(),
        &retry,
    )
    .await;
    assert!(first.is_err(), "the first attempt died after writing");
    let written = crash.written.lock().expect("lock").clone();
    assert!(
        !written.is_empty(),
        "the first attempt wrote its first unit's corrections"
    );
    let audit_after_crash = audit(&store, &account).await;
    assert_eq!(audit_after_crash.len(), written.len());

    // The dead attempt still holds the lease: another invocation is refused ...
    let other = sync(&sim, &store, &request(&account, Mode::Emergency)).await;
    assert_eq!(other.outcome, Outcome::LeaseHeld);

    // 2. ... but the retry of the same invocation takes it, and here it is delivered twice
    // at once: both attempts read the records the crashed one left and plan the same next
    // unit; the second's writes go in only after the first's landed.
    let before_replay = records(&store, &account).await;
    let gate = ReplayGate::new();
    let (a_store, b_store) = (
        Replayed::new(&store, &gate, Attempt::First),
        Replayed::new(&store, &gate, Attempt::Second),
    );
    let (rules, run_settings) = (RulesConfig::default(), settings());
    let (a_client, b_client) = (sim.client(), sim.client());
    let a = async { run_sync(&a_client, &a_store, &rules, &run_settings, &retry).await };
    let b = async {
        let a_now = gate.first_is_inside().await;
        // The second attempt's writes are stamped later than the first's (its audit keys
        // differ from the first's, as two attempts' always do in production).
        while now_ms() <= a_now {
            tokio::task::yield_now().await;
        }
        run_sync(&b_client, &b_store, &rules, &run_settings, &retry).await
    };
    let (ra, rb) = tokio::time::timeout(std::time::Duration::from_secs(120), async {
        tokio::join!(a, b)
    })
    .await
    .expect("both replays reach their first write and finish");
    // Whichever replay finishes second finds the lease released by its twin: its outcome
    // is not recorded (an error, never a second run summary); its writes are checked below.
    let mut reports = Vec::new();
    for r in [ra, rb] {
        match r {
            Ok(r) => {
                assert_eq!(r.run_id, run_id_for(&account, Some("lambda-request-7f3a")));
                assert!(
                    matches!(r.outcome, Outcome::Complete | Outcome::Partial),
                    "{:?}",
                    r.outcome
                );
                reports.push(r);
            }
            Err(e) => assert!(e.to_string().contains("no longer held"), "{e}"),
        }
    }
    assert!(!reports.is_empty(), "one replay recorded its outcome");
    let first_wrote = gate
        .first_first_apply
        .lock()
        .expect("lock")
        .clone()
        .expect("the first replay applied a unit");
    assert!(!first_wrote.applied.is_empty(), "{first_wrote:?}");
    let (asked, answered) = gate
        .second_first_apply
        .lock()
        .expect("lock")
        .clone()
        .expect("the second replay applied a unit");
    let plan_of = |cs: &[binance_account_sync::domain::Correction]| -> Vec<_> {
        cs.iter()
            .map(|c| (c.kind, record_key(&c.after), c.expect))
            .collect()
    };
    assert_eq!(
        plan_of(&asked),
        plan_of(&first_wrote.applied),
        "both replays planned the same unit from the same records"
    );
    assert!(
        answered.applied.is_empty(),
        "a write the first replay made is never made again: {:?}",
        answered.applied
    );
    assert_eq!(answered.conflicts.len(), asked.len(), "{answered:?}");
    for (conflict, first) in answered.conflicts.iter().zip(&first_wrote.applied) {
        assert_eq!(
            conflict.current.as_ref(),
            Some(&first.after),
            "{}: the stored item is the first replay's write",
            record_key(&first.after)
        );
    }
    // Nothing the crashed attempt wrote was written again by either replay.
    for c in reports.iter().flat_map(|r| &r.corrections) {
        if let Some(w) = written.iter().find(|w| record_key(&w.after) == c.key) {
            assert_ne!(
                serde_json::to_value(&w.after).expect("json"),
                c.after,
                "{} rewritten with what the first attempt wrote",
                c.key
            );
        }
    }
    assert!(
        before_replay.trades.len() < sim.trade_count().await,
        "the replays had work left to do"
    );

    let entries = audit(&store, &account).await;
    assert!(
        audit_after_crash.iter().all(|e| entries.contains(e)),
        "the crashed attempt's audit entries are kept"
    );
    let per_write: BTreeMap<(String, u64), usize> =
        entries.iter().fold(BTreeMap::new(), |mut m, e| {
            let key = (
                record_key(&e.correction.after),
                binance_account_sync::store::keys::record_version(&e.correction.after),
            );
            *m.entry(key).or_default() += 1;
            m
        });
    let twice: Vec<_> = per_write.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "audited more than once: {twice:?}");
    let again = sync(&sim, &store, &retry).await;
    assert_eq!(again.correction_count(), 0, "converged: {:?}", again.counts);
    let after = records(&store, &account).await;
    assert_eq!(
        after.trades.len(),
        sim.trade_count().await,
        "every fill exactly once"
    );
    sim.shutdown().await;
}

// 3b -----------------------------------------------------------------------------------

/// Nothing is ever deleted: after runs that see a position closed on the exchange (the
/// owner sold it), an order cancelled and a holding no fill explains withdrawn to zero,
/// every item the partition held before (the bot's records, checkpoints,
/// sync state, audit and run records) is still there, and each record that lost its
/// reason to be is kept in a terminal state: the position closed, the order cancelled, the
/// balance at zero. On DynamoDB the items are listed raw, so a store that deleted any
/// item, by whatever call, fails here.
pub async fn nothing_is_ever_deleted<S: TestStore>(store: S) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    converged(&sim, &store, &account).await;
    let before = store.stored_items(&account).await;
    let records_before = records(&store, &account).await;
    let audit_before = audit(&store, &account).await;
    for (what, key) in [
        ("open position", "POSITION#BTCUSDT"),
        ("recovered position without fills", "POSITION#BNBUSDT"),
        ("balance", "BALANCE#BNB"),
    ] {
        assert!(keyed(&records_before).contains_key(key), "{what} {key}");
    }
    assert_eq!(
        records_before.orders[&(sym("ETHUSDT"), ETH_BOT_ORDER)].status,
        OrderStatus::New
    );

    // The owner, while the bot is down: sells every BTC the lot size allows, cancels the
    // bot's ETH order and withdraws all the BNB (a holding no fill explains).
    let held = sim.balances().await["BTC"].0;
    let sellable = (held * dec("100000")).floor() / dec("100000");
    sim.manual_trade("BTCUSDT", "SELL", &sellable.to_string())
        .await;
    sim.control(
        "orders/cancel",
        json!({"symbol": "ETHUSDT", "orderId": ETH_BOT_ORDER}),
    )
    .await;
    let bnb = sim.balances().await["BNB"].0;
    sim.control(
        "withdrawals",
        json!({"asset": "BNB", "amount": bnb.to_string()}),
    )
    .await;
    sim.after_history_lag().await;

    for mode in [Mode::Periodic, Mode::Emergency] {
        let report = sync(&sim, &store, &request(&account, mode)).await;
        assert_eq!(report.outcome, Outcome::Complete, "{mode:?}");
    }
    let after = store.stored_items(&account).await;
    let gone: Vec<_> = before.difference(&after).collect();
    assert!(gone.is_empty(), "items deleted: {gone:?}");
    assert!(after.len() > before.len(), "the runs wrote corrections");
    let entries = audit(&store, &account).await;
    assert!(
        audit_before.iter().all(|e| entries.contains(e)),
        "every audit entry is kept as written"
    );

    let records_after = records(&store, &account).await;
    let kept = keyed(&records_after);
    let lost: Vec<_> = keyed(&records_before)
        .into_keys()
        .filter(|k| !kept.contains_key(k))
        .collect();
    assert!(lost.is_empty(), "records no longer loaded: {lost:?}");
    for s in ["BTCUSDT", "BNBUSDT"] {
        assert_eq!(
            records_after.positions[&sym(s)].status,
            PositionStatus::Closed,
            "{s} closed, not removed"
        );
    }
    assert_eq!(
        records_after.orders[&(sym("ETHUSDT"), ETH_BOT_ORDER)].status,
        OrderStatus::Canceled,
        "the cancelled order keeps its record"
    );
    let bnb = &records_after.balances[&asset("BNB")];
    assert_eq!((bnb.free, bnb.locked), (dec("0"), dec("0")), "{bnb:?}");
    sim.shutdown().await;
}

// 4 ------------------------------------------------------------------------------------

pub async fn dry_run_reports_the_full_plan_and_changes_nothing<S: TestStore>(store: S) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    converged(&sim, &store, &account).await;
    // The world moves on: a manual trade on the exchange, a bad balance written by the bot.
    sim.manual_trade("ETHUSDT", "BUY", "0.1").await;
    let mut btc = records(&store, &account).await.balances[&asset("BTC")].clone();
    btc.free = dec("7");
    store
        .bot_write(&account, binance_account_sync::domain::Record::Balance(btc))
        .await;
    let before = records(&store, &account).await;
    let audit_before = audit(&store, &account).await;
    assert!(!audit_before.is_empty());

    let mut dry = request(&account, Mode::Periodic);
    dry.dry_run = true;
    let planned = sync(&sim, &store, &dry).await;
    assert!(planned.dry_run);
    assert_eq!(planned.outcome, Outcome::Complete);
    assert!(
        planned.count(CorrectionKind::TradeRecovered) == 1,
        "{:?}",
        planned.counts
    );
    assert!(
        planned.count(CorrectionKind::BalanceCorrected) >= 2,
        "{:?}",
        planned.counts
    );
    assert_eq!(
        records(&store, &account).await,
        before,
        "records (sync state included) unchanged"
    );
    assert_eq!(
        audit(&store, &account).await,
        audit_before,
        "audit unchanged"
    );

    // The real run then does exactly what the dry run announced.
    let real = sync(&sim, &store, &request(&account, Mode::Periodic)).await;
    let keys = |r: &SyncReport| {
        r.corrections
            .iter()
            .map(|c| c.key.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&real), keys(&planned));
    assert_eq!(real.counts, planned.counts);
    sim.shutdown().await;
}

/// A market order the owner placed and that filled between two runs is never among the
/// open orders a run reads: the order history (`allOrders` from the order checkpoint)
/// gives it a record, and every fill's order exists in the records.
pub async fn an_order_placed_and_filled_between_runs_gets_a_record<S: TestStore>(store: S) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    converged(&sim, &store, &account).await;
    let (trade_id, _) = sim.manual_trade("SOLUSDT", "BUY", "0.5").await;
    let report = sync(&sim, &store, &request(&account, Mode::Periodic)).await;
    assert_eq!(report.outcome, Outcome::Complete, "{report:?}");
    let after = records(&store, &account).await;
    let fill = &after.trades[&(sym("SOLUSDT"), trade_id)];
    let order = after
        .orders
        .get(&(sym("SOLUSDT"), fill.order_id))
        .unwrap_or_else(|| panic!("no record of order {}", fill.order_id));
    assert_eq!(
        (&order.status, order.executed_qty, order.origin),
        (&OrderStatus::Filled, dec("0.5"), OrderOrigin::External)
    );
    for t in after.trades.values() {
        assert!(
            after.orders.contains_key(&(t.symbol.clone(), t.order_id)),
            "trade {} {} has no order record",
            t.symbol,
            t.trade_id
        );
    }
    // The order checkpoint stays behind orders younger than the history's lag, so the
    // next run may read it again: it finds it recorded and writes nothing.
    let again = sync(&sim, &store, &request(&account, Mode::Periodic)).await;
    assert_eq!(again.count(CorrectionKind::OrderRecorded), 0, "{again:?}");
    assert_eq!(again.count(CorrectionKind::OrderUpdated), 0, "{again:?}");
    sim.shutdown().await;
}

// The order history read only when it can have changed or is owed ----------------------

const ALL_ORDERS: &str = "/api/v3/allOrders";

/// Every one of the demo's four symbols read each run (no rotation share to wait for).
fn every_symbol_each_run() -> RulesConfig {
    RulesConfig {
        rotation_per_run: Some(4),
        ..RulesConfig::default()
    }
}

/// A periodic run's `allOrders` requests and its report.
async fn order_history_reads<S: Store>(
    sim: &Sim,
    store: &S,
    account: &AccountId,
    rules: &RulesConfig,
) -> (u64, SyncReport) {
    let before = sim.requests_to(ALL_ORDERS).await;
    let report = sync_with(sim, store, &request(account, Mode::Periodic), rules).await;
    assert_eq!(report.outcome, Outcome::Complete, "{report:?}");
    (sim.requests_to(ALL_ORDERS).await - before, report)
}

/// Rewrite the checkpoints of `symbols` as `change` says (the test plays the clock: the
/// service reads the wall clock, so a day passing is its checkpoints' times moving back).
async fn rewrite_checkpoints<S: TestStore>(
    store: &S,
    account: &AccountId,
    symbols: &[&str],
    change: impl Fn(&mut CursorRecord),
) {
    let cursors = records(store, account).await.cursors;
    for s in symbols {
        let mut c = cursors[&sym(s)].clone();
        change(&mut c);
        store
            .bot_write(account, binance_account_sync::domain::Record::Cursor(c))
            .await;
    }
}

/// A day passes for the order history of `symbols`: its last read is 24 hours older.
fn a_day_earlier(c: &mut CursorRecord) {
    c.orders_read_at = c
        .orders_read_at
        .map(|t| t - binance_account_sync::core::order_history::REREAD_MS);
}

/// Every symbol read again within a day of its last order-history read, with no new fill,
/// reads its fills from the checkpoint and no order history.
pub async fn a_quiet_symbol_read_again_within_a_day_reads_no_order_history<S: TestStore>(store: S) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    converged(&sim, &store, &account).await;
    let (reads, report) =
        order_history_reads(&sim, &store, &account, &every_symbol_each_run()).await;
    assert_eq!(report.symbols_checked.len(), 4, "{report:?}");
    assert_eq!(report.correction_count(), 0, "{:?}", report.corrections);
    assert_eq!(reads, 0, "no order history read by a quiet read");
    sim.shutdown().await;
}

/// A run that reads a new fill of one symbol reads that symbol's order history (the fill's
/// order gets its record), and not the other symbols' it reads.
pub async fn a_symbol_with_a_new_fill_reads_its_order_history_and_only_it<S: TestStore>(store: S) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    converged(&sim, &store, &account).await;
    let (trade_id, _) = sim.manual_trade("SOLUSDT", "BUY", "0.5").await;
    let (reads, report) =
        order_history_reads(&sim, &store, &account, &every_symbol_each_run()).await;
    assert_eq!(report.symbols_checked.len(), 4, "{report:?}");
    assert_eq!(reads, 1, "SOLUSDT's alone");
    let after = records(&store, &account).await;
    let fill = &after.trades[&(sym("SOLUSDT"), trade_id)];
    assert!(
        after.orders.contains_key(&(sym("SOLUSDT"), fill.order_id)),
        "the new fill's order has a record"
    );
    sim.shutdown().await;
}

/// A symbol whose last page of orders was full (`orders_pending`) reads the next page,
/// even with nothing else new; the other symbols read beside it do not.
pub async fn a_symbol_with_orders_pending_reads_its_order_history<S: TestStore>(store: S) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    converged(&sim, &store, &account).await;
    rewrite_checkpoints(&store, &account, &["BTCUSDT"], |c| c.orders_pending = true).await;
    let (reads, report) =
        order_history_reads(&sim, &store, &account, &every_symbol_each_run()).await;
    assert_eq!(report.symbols_checked.len(), 4, "{report:?}");
    assert_eq!(reads, 1, "BTCUSDT's alone");
    let after = records(&store, &account).await;
    assert!(
        !after.cursors[&sym("BTCUSDT")].orders_pending,
        "its last page read"
    );
    sim.shutdown().await;
}

/// A symbol whose order history was last read 24 hours ago reads it again, quiet or not,
/// and its checkpoint takes the new read's time.
pub async fn a_symbol_whose_order_history_was_read_a_day_ago_reads_it_again<S: TestStore>(
    store: S,
) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    converged(&sim, &store, &account).await;
    rewrite_checkpoints(&store, &account, &["BTCUSDT"], a_day_earlier).await;
    let started = now_ms();
    let (reads, report) =
        order_history_reads(&sim, &store, &account, &every_symbol_each_run()).await;
    assert_eq!(report.symbols_checked.len(), 4, "{report:?}");
    assert_eq!(reads, 1, "BTCUSDT's alone");
    let read_at = records(&store, &account).await.cursors[&sym("BTCUSDT")].orders_read_at;
    assert!(
        read_at.is_some_and(|t| t >= started),
        "stamped by this run: {read_at:?}"
    );
    sim.shutdown().await;
}

/// An order placed by hand and cancelled with no fill between two runs moves no balance
/// and no fill shows it: the read within the day does not find it, the first read of its
/// symbol a day after the last order-history read records it as the exchange ended it
/// (the bound: 24 hours plus one rotation, `core::order_history`).
pub async fn an_order_placed_and_cancelled_with_no_fill_gets_its_record_within_the_bound<
    S: TestStore,
>(
    store: S,
) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    converged(&sim, &store, &account).await;
    let placed = sim
        .control(
            "orders",
            json!({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                   "quantity": "0.001", "price": "50000", "clientOrderId": "web_by_hand"}),
        )
        .await;
    let order_id = placed["orderId"].as_u64().expect("orderId");
    sim.control(
        "orders/cancel",
        json!({"symbol": "BTCUSDT", "orderId": order_id}),
    )
    .await;
    sim.after_history_lag().await;
    let key = (sym("BTCUSDT"), order_id);

    let (reads, report) =
        order_history_reads(&sim, &store, &account, &every_symbol_each_run()).await;
    assert_eq!(report.symbols_checked.len(), 4, "{report:?}");
    assert_eq!(reads, 0);
    assert!(
        !records(&store, &account).await.orders.contains_key(&key),
        "within the day: not found yet"
    );

    let all = ["BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT"];
    rewrite_checkpoints(&store, &account, &all, a_day_earlier).await;
    let (reads, _) = order_history_reads(&sim, &store, &account, &every_symbol_each_run()).await;
    assert_eq!(reads, 4, "every symbol's history is due");
    let order = records(&store, &account).await.orders[&key].clone();
    assert_eq!(
        (&order.status, order.executed_qty, order.origin),
        (&OrderStatus::Canceled, dec("0"), OrderOrigin::External)
    );
    sim.shutdown().await;
}

// 5 ------------------------------------------------------------------------------------

pub async fn owner_actions_while_bot_down_are_recovered<S: TestStore>(store: S) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    converged(&sim, &store, &account).await;

    // The owner acts a few seconds after that run started (withdrawal times have second
    // precision; the same-second case is in tests/sync_known_bugs.rs).
    sim.control("clock", json!({"skew_ms": 3000})).await;
    // The owner, while the bot is down.
    sim.control(
        "orders/fill",
        json!({"symbol": "ETHUSDT", "orderId": ETH_BOT_ORDER}),
    )
    .await;
    let (manual_id, _) = sim.manual_trade("BTCUSDT", "BUY", "0.001").await;
    sim.control("deposits", json!({"asset": "USDT", "amount": "750"}))
        .await;
    sim.control(
        "withdrawals",
        json!({"asset": "USDT", "amount": "120", "fee": "1"}),
    )
    .await;
    let moved = sim
        .control("prices", json!({"symbol": "SOLUSDT", "price": "211"}))
        .await;
    assert_eq!(
        moved["fills"].as_array().map(Vec::len),
        Some(1),
        "the price move fills the resting SOL sell: {moved}"
    );
    // The next scheduled run, half an hour later: the fills have reached the history, the
    // deposit is credited and the withdrawal completed (strict mode: each takes time).
    sim.control("clock", json!({"advance_ms": 31 * 60 * 1000}))
        .await;

    let report = sync(&sim, &store, &request(&account, Mode::Periodic)).await;
    assert_eq!(report.outcome, Outcome::Complete);
    let after = records(&store, &account).await;

    let eth = &after.orders[&(sym("ETHUSDT"), ETH_BOT_ORDER)];
    assert_eq!(eth.status, OrderStatus::Filled);
    assert_eq!(eth.executed_qty, dec("0.5"));
    assert_eq!(eth.avg_price, Some(dec("3100")));
    let sol = &after.orders[&(sym("SOLUSDT"), SOL_MANUAL_ORDER)];
    assert_eq!(sol.status, OrderStatus::Filled);
    assert_eq!(sol.executed_qty, dec("5"));
    assert_eq!(sol.avg_price, Some(dec("210")));

    let manual = after
        .trades
        .get(&(sym("BTCUSDT"), manual_id))
        .expect("the manual fill is recorded");
    assert!(manual.recovered);
    assert_eq!(manual.qty, dec("0.001"));
    assert_eq!(after.trades.len(), sim.trade_count().await);

    assert_balances_equal_exchange(&after, &sim.balances().await);

    let usdt = report
        .explanations
        .iter()
        .find(|e| e.asset == asset("USDT"))
        .expect("the USDT change is explained");
    assert_eq!(usdt.flow(FlowKind::Deposit), dec("750"), "{usdt:?}");
    // 120 withdrawn with a fee of 1: the fee inside the amount or outside it, as the
    // simulator plays it; the explanation finds which.
    let withdrawn = if withdraw_fee_outside() {
        dec("-121")
    } else {
        dec("-120")
    };
    assert_eq!(usdt.flow(FlowKind::Withdrawal), withdrawn, "{usdt:?}");
    assert_eq!(usdt.unexplained, dec("0"), "{usdt:?}");

    let next = sync(&sim, &store, &request(&account, Mode::Periodic)).await;
    assert_eq!(next.outcome, Outcome::Complete);
    assert_eq!(next.correction_count(), 0, "{:?}", next.corrections);
    sim.shutdown().await;
}

// 6 ------------------------------------------------------------------------------------

/// Weight of a periodic run when nothing changed, without rotation: server time (1) +
/// account (20). The balances equal the digest, so no symbol is read.
pub const QUIET_RUN_WEIGHT: u64 = 21;
/// With the default rotation (every symbol within 24 hours: one of the four per run):
/// the 21 above + one `myTrades` by id (20). The rotated read finds nothing, its order
/// history was read within the day (`core::order_history`: no `allOrders`), and the
/// records hold its holding, so no price is read.
pub const QUIET_ROTATING_RUN_WEIGHT: u64 = 41;
/// After one new SOLUSDT fill (no rotation): 21 + prices (4) + `myTrades` by id for the
/// symbols whose base moved or that are active with a moved quote or fee asset (SOLUSDT,
/// BNBUSDT: BNB paid the fee, BTCUSDT and ETHUSDT: active, USDT moved; 4 × 20) + the
/// `allOrders` page of SOLUSDT, the one with a new fill (20) + one
/// kline (2) to price the BNB fee at the fill's minute + the two orders open in the
/// records looked up one by one (2 × 4; the open-orders list, 80, is read only when a
/// locked amount moved).
pub const ONE_FILL_RUN_WEIGHT: u64 = 135;

pub async fn periodic_run_with_nothing_changed_uses_little_weight<S: TestStore>(store: S) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    converged(&sim, &store, &account).await;
    let no_rotation = RulesConfig {
        rotation_per_run: Some(0),
        ..RulesConfig::default()
    };

    let quiet = sync_with(
        &sim,
        &store,
        &request(&account, Mode::Periodic),
        &no_rotation,
    )
    .await;
    println!(
        "weight of a periodic run with nothing changed: {}",
        quiet.exchange_usage.weight
    );
    assert_eq!(quiet.outcome, Outcome::Complete);
    assert_eq!(quiet.correction_count(), 0);
    assert!(
        quiet.symbols_checked.is_empty(),
        "{:?}",
        quiet.symbols_checked
    );
    assert_eq!(quiet.exchange_usage.weight, QUIET_RUN_WEIGHT);

    let rotating = sync(&sim, &store, &request(&account, Mode::Periodic)).await;
    assert_eq!(rotating.correction_count(), 0);
    assert_eq!(rotating.symbols_checked.len(), 1, "one symbol rotated in");
    assert_eq!(rotating.exchange_usage.weight, QUIET_ROTATING_RUN_WEIGHT);

    let (trade_id, _) = sim.manual_trade("SOLUSDT", "BUY", "0.5").await;
    let one = sync_with(
        &sim,
        &store,
        &request(&account, Mode::Periodic),
        &no_rotation,
    )
    .await;
    println!(
        "weight of a periodic run after one new fill: {}",
        one.exchange_usage.weight
    );
    assert_eq!(one.outcome, Outcome::Complete);
    let recovered: Vec<_> = one
        .corrections
        .iter()
        .filter(|c| c.kind == CorrectionKind::TradeRecovered)
        .map(|c| c.key.clone())
        .collect();
    assert_eq!(recovered, vec![format!("TRADE#SOLUSDT#{trade_id:020}")]);
    assert_eq!(one.exchange_usage.weight, ONE_FILL_RUN_WEIGHT);
    let after = sync_with(
        &sim,
        &store,
        &request(&account, Mode::Periodic),
        &no_rotation,
    )
    .await;
    assert_eq!(
        after.exchange_usage.weight, QUIET_RUN_WEIGHT,
        "the fill explained the movement: the digest advanced"
    );
    sim.shutdown().await;
}

// 7 ------------------------------------------------------------------------------------

pub async fn position_closed_while_bot_down_gets_exit_price<S: TestStore>(store: S) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    converged(&sim, &store, &account).await;
    let before = records(&store, &account).await;
    let position = &before.positions[&sym("BTCUSDT")];
    assert_eq!(position.status, PositionStatus::Open);
    let held = sim.balances().await["BTC"].0;
    // Sell all that LOT_SIZE allows (step 0.00001); the rest is below minQty 0.00001.
    let sellable = (held * dec("100000")).floor() / dec("100000");
    let (_, price) = sim
        .manual_trade("BTCUSDT", "SELL", &sellable.to_string())
        .await;

    let report = sync(&sim, &store, &request(&account, Mode::Periodic)).await;
    assert_eq!(
        report.count(CorrectionKind::PositionClosed),
        1,
        "{:?}",
        report.counts
    );
    let after = records(&store, &account).await;
    let closed = &after.positions[&sym("BTCUSDT")];
    assert_eq!(closed.status, PositionStatus::Closed);
    // The documented rule (docs/pnl.md): exit = average price of the sells of the round
    // trip, i.e. since the fills' holding was last flat (the owner's sale and the partial
    // sells before it), P&L = the sum of theirs. Replayed here from the fills' quantities.
    let fills = sim
        .client()
        .fills(&sym("BTCUSDT"), FillsFrom::TradeId(0))
        .await
        .expect("fills")
        .items;
    let mut holding = dec("0");
    let mut sells = Vec::new();
    for f in fills {
        match f.side {
            Side::Buy => {
                let received = if f.commission_asset == asset("BTC") {
                    f.qty - f.commission
                } else {
                    f.qty
                };
                if holding <= dec("0") && received > dec("0") {
                    sells.clear(); // a new round trip
                }
                holding += received;
            }
            Side::Sell => {
                holding -= f.qty.min(holding.max(dec("0")));
                sells.push(f);
            }
        }
    }
    assert!(
        sells.iter().all(|f| f.time >= position.opened_at),
        "the round trip began no earlier than the bot's position"
    );
    assert_eq!(
        sells.last().map(|f| f.price),
        Some(price),
        "the owner's sale is the last sell"
    );
    let sold: Decimal = sells.iter().map(|f| f.qty).sum();
    let value: Decimal = sells.iter().map(|f| f.price * f.qty).sum();
    assert_eq!(
        closed.exit_price,
        Some(value / sold),
        "exit at the average sell price"
    );
    let pnl: Decimal = sells
        .iter()
        .map(|f| {
            after.trades[&(sym("BTCUSDT"), f.trade_id)]
                .realized_pnl
                .expect("sell P&L")
        })
        .sum();
    assert_eq!(closed.realized_pnl, pnl, "realized P&L of the sells");
    assert_ne!(closed.realized_pnl, dec("0"));
    assert_eq!(
        closed.closed_at,
        sells.last().map(|f| f.time),
        "closed at the last sale"
    );
    let dust = after
        .dust
        .get(&asset("BTC"))
        .expect("the remainder is dust");
    assert_eq!(dust.quantity, held - sellable);
    assert!(dust.quantity > dec("0") && dust.quantity < dec("0.00001"));
    sim.shutdown().await;
}

// 8 ------------------------------------------------------------------------------------

/// Cursors at 0 for every symbol with a balance: every fill read goes by id, one
/// `myTrades` call per symbol.
async fn seed_cursors<S: TestStore>(store: &S, account: &AccountId, symbols: &[&str]) {
    for s in symbols {
        store
            .bot_write(
                account,
                binance_account_sync::domain::Record::Cursor(CursorRecord {
                    last_trade_id: Some(0),
                    ..CursorRecord::new(sym(s))
                }),
            )
            .await;
    }
}

async fn max_trade_id(sim: &Sim, symbol: &str) -> u64 {
    let fills = sim
        .client()
        .fills(&sym(symbol), FillsFrom::TradeId(0))
        .await
        .expect("fills");
    fills.items.iter().map(|f| f.trade_id).max().expect("fills")
}

pub async fn partial_run_at_deadline_resumes_next_run<S: TestStore>(store: S) {
    const SYMBOLS: [&str; 4] = ["BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT"];
    let sim = Sim::demo().await;
    let account = fresh_account();
    seed_demo(&store, &account).await;
    seed_cursors(&store, &account, &SYMBOLS).await;
    let seeded = records(&store, &account).await;

    // The first two myTrades calls (BNBUSDT, then BTCUSDT: the stalest first) take
    // 2 s each; the deadline leaves 3 s after the margin. After BNBUSDT there is time left,
    // after BTCUSDT there is not: ETHUSDT and SOLUSDT are not read.
    sim.control(
        "faults",
        json!({"path": "/api/v3/myTrades", "kind": "latency", "latency_ms": 2000, "count": 2}),
    )
    .await;
    let settings = RunSettings {
        deadline_margin: std::time::Duration::from_secs(1),
        ..settings()
    };
    let mut req = request(&account, Mode::Periodic);
    req.deadline = Some(now_ms() + 1000 + 3000);
    let partial = run_sync(
        &sim.client(),
        &store,
        &RulesConfig::default(),
        &settings,
        &req,
    )
    .await
    .expect("partial run");
    show("partial", &partial);
    assert_eq!(partial.outcome, Outcome::Partial);
    assert!(
        partial
            .outcome_detail
            .as_deref()
            .unwrap_or("")
            .contains("deadline"),
        "{:?}",
        partial.outcome_detail
    );

    // BNBUSDT was read and checkpointed; BTCUSDT's page came back at the deadline, before
    // its BNB fees could be priced at their minutes, so it was not applied (no fee is
    // valued at a later price) and its checkpoint stays for the next run.
    let mid = records(&store, &account).await;
    assert!(
        mid.cursors[&sym("BNBUSDT")].covered_through.is_some(),
        "the symbol read is checkpointed"
    );
    assert_eq!(partial.symbols_checked, vec!["BNBUSDT", "BTCUSDT"]);
    for s in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] {
        assert_eq!(
            mid.cursors[&sym(s)].last_trade_id,
            Some(0),
            "{s} was not read"
        );
    }
    let btc_trades = |r: &Records| {
        r.trades
            .keys()
            .filter(|(s, _)| s.as_str() == "BTCUSDT")
            .count()
    };
    assert_eq!(
        btc_trades(&mid),
        btc_trades(&seeded),
        "only the bot's own BTCUSDT fills so far"
    );
    assert!(
        mid.state.last_success_at.is_none(),
        "a partial run is not a success"
    );

    let rest = sync(&sim, &store, &request(&account, Mode::Periodic)).await;
    assert_eq!(rest.outcome, Outcome::Complete);
    assert_eq!(
        rest.count(CorrectionKind::TradeRecovered) + partial.count(CorrectionKind::TradeRecovered),
        44,
        "the 60 fills less the 16 the bot recorded, each recovered once"
    );
    let after = records(&store, &account).await;
    assert_eq!(after.trades.len(), sim.trade_count().await);
    for s in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] {
        assert_eq!(
            after.cursors[&sym(s)].last_trade_id,
            Some(max_trade_id(&sim, s).await)
        );
    }
    sim.shutdown().await;
}

// 9 ------------------------------------------------------------------------------------

/// The first run of the seeded demo account: 125 fixed (time, account, exchangeInfo, open
/// orders, prices), then one `myTrades` from `fromId=0` and one `allOrders` page per
/// symbol in order (BNBUSDT, BTCUSDT, ...; 20 + 20 each) with its fee klines (2 each): 230
/// stops the run after BTCUSDT.
pub const LOW_BUDGET: u64 = 230;

pub async fn weight_budget_exhaustion_gives_a_partial_report<S: TestStore>(store: S) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    seed_demo(&store, &account).await;

    let partial = run_sync(
        &sim.client_with_budget(Some(LOW_BUDGET)),
        &store,
        &RulesConfig::default(),
        &settings(),
        &request(&account, Mode::Periodic),
    )
    .await
    .expect("budget-limited run");
    show("budget", &partial);
    assert_eq!(partial.outcome, Outcome::Partial);
    assert!(
        partial
            .outcome_detail
            .as_deref()
            .unwrap_or("")
            .contains("budget"),
        "{:?}",
        partial.outcome_detail
    );
    assert!(partial.exchange_usage.weight <= LOW_BUDGET);
    let mid = records(&store, &account).await;
    assert!(
        mid.trades.len() < sim.trade_count().await,
        "not everything was read"
    );
    assert_eq!(
        mid.cursors
            .get(&sym("BTCUSDT"))
            .and_then(|c| c.last_trade_id),
        Some(max_trade_id(&sim, "BTCUSDT").await),
        "the symbol read before the budget ran out is checkpointed"
    );
    assert!(
        mid.state.last_success_at.is_none(),
        "a partial run is not a success"
    );

    let rest = sync(&sim, &store, &request(&account, Mode::Periodic)).await;
    assert_eq!(rest.outcome, Outcome::Complete);
    let after = records(&store, &account).await;
    assert_eq!(after.trades.len(), sim.trade_count().await);
    assert_balances_equal_exchange(&after, &sim.balances().await);
    sim.shutdown().await;
}

// 10 -----------------------------------------------------------------------------------

pub async fn unknown_order_is_not_cancelled<S: TestStore>(store: S) {
    let sim = Sim::demo().await;
    let account = fresh_account();
    seed_demo(&store, &account).await;
    let ghost_id = 880_000_000_000 + u64::from(uuid::Uuid::new_v4().as_fields().1);
    store
        .bot_write(
            &account,
            binance_account_sync::domain::Record::Order(OrderRecord {
                symbol: sym("BTCUSDT"),
                order_id: ghost_id,
                client_order_id: "bot-btcusdt-ghost".into(),
                side: Side::Buy,
                order_type: "LIMIT".into(),
                price: dec("90000"),
                orig_qty: dec("0.001"),
                executed_qty: dec("0"),
                avg_price: None,
                status: OrderStatus::New,
                origin: OrderOrigin::Bot,
                unknown_runs: 0,
                created_at: now_ms(),
                version: 0,
                updated_at: now_ms(),
                updated_by: Writer::Bot,
            }),
        )
        .await;
    let flag = format!("order_unknown:BTCUSDT:{ghost_id}");
    let runs = RulesConfig::default().unknown_order_runs;
    assert!(runs >= 2);
    // An unknown order no longer keeps the cheap path off: it is looked up when its symbol
    // is read (here: a rotation wide enough to read every symbol each run).
    let rotate_all = RulesConfig {
        rotation_per_run: Some(10),
        ..RulesConfig::default()
    };
    for run in 1..=runs {
        let report = sync_with(
            &sim,
            &store,
            &request(&account, Mode::Periodic),
            &rotate_all,
        )
        .await;
        assert_eq!(report.outcome, Outcome::Complete);
        let order = records(&store, &account).await.orders[&(sym("BTCUSDT"), ghost_id)].clone();
        assert_eq!(
            order.status,
            OrderStatus::Unknown,
            "run {run}: never cancelled"
        );
        assert_eq!(order.unknown_runs, run, "run {run}");
        let flagged = report.discrepancies.iter().any(|d| d.key == flag);
        assert_eq!(
            flagged,
            run >= runs,
            "run {run}: flagged only from run {runs}"
        );
    }
    let quiet = sync_with(
        &sim,
        &store,
        &request(&account, Mode::Periodic),
        &RulesConfig {
            rotation_per_run: Some(0),
            ..RulesConfig::default()
        },
    )
    .await;
    assert_eq!(
        quiet.exchange_usage.weight, QUIET_RUN_WEIGHT,
        "the reported unknown order does not make a quiet run read its symbol"
    );
    sim.shutdown().await;
}

// 8b -----------------------------------------------------------------------------------

/// Every record by key, every field of it (as JSON).
fn content(records: &Records) -> BTreeMap<String, Value> {
    keyed(records)
        .into_iter()
        .map(|(k, r)| (k, serde_json::to_value(&r).expect("record json")))
        .collect()
}

/// The times the runs of one account ran: `[started_at - history lag, finished_at]` of
/// each (a checkpoint's `covered_through` is its read's time less the history lag).
fn run_windows(reports: &[&SyncReport]) -> Vec<(i64, i64)> {
    let lag = RulesConfig::default().history_lag_ms;
    reports
        .iter()
        .map(|r| (r.started_at - lag, r.finished_at))
        .collect()
}

/// Where two accounts' records differ, field by field, every field compared. Two values of
/// a field may differ only where the field is a time the writing run stamps from its own
/// clock (`updated_at`; a checkpoint's `covered_through` and `orders_read_at`; a balance's
/// `as_of`, its account read's time; the `opened_at` of a holding no
/// fill explains, which opens when the sync first sees it): then each must fall inside
/// one of its own account's runs. A checkpoint (the sync's own item) may have been written
/// more often by the cut account's two runs: its `version` may be higher there, never
/// lower. Everything else, `version` and `updated_by` of every bot record included, must
/// be equal.
fn differences(
    (cut, cut_runs): (&Records, &[(i64, i64)]),
    (whole, whole_runs): (&Records, &[(i64, i64)]),
) -> Vec<String> {
    let (a, b) = (content(cut), content(whole));
    let within = |v: &Value, runs: &[(i64, i64)]| {
        v.as_i64()
            .is_some_and(|t| runs.iter().any(|(from, to)| (*from..=*to).contains(&t)))
    };
    let mut out = Vec::new();
    for key in a.keys().chain(b.keys()).collect::<BTreeSet<_>>() {
        let (Some(Value::Object(x)), Some(Value::Object(y))) = (a.get(key), b.get(key)) else {
            out.push(format!(
                "{key}: cut {:?} / whole {:?}",
                a.get(key),
                b.get(key)
            ));
            continue;
        };
        let no_fill = |records: &Records| match key.strip_prefix("POSITION#") {
            Some(s) => !records.trades.keys().any(|(t, _)| t.as_str() == s),
            None => false,
        };
        for field in x.keys().chain(y.keys()).collect::<BTreeSet<_>>() {
            let (u, v) = (&x.get(field), &y.get(field));
            if u == v {
                continue;
            }
            let (u, v) = (u.unwrap_or(&Value::Null), v.unwrap_or(&Value::Null));
            let run_time = field == "updated_at"
                || (field == "covered_through" && key.starts_with("CURSOR#"))
                || (field == "as_of" && key.starts_with("BALANCE#"))
                // The time the order history was read: a time of the run that read it.
                || (field == "orders_read_at" && key.starts_with("CURSOR#"))
                || (field == "opened_at" && no_fill(cut) && no_fill(whole));
            if run_time && within(u, cut_runs) && within(v, whole_runs) {
                continue;
            }
            if field == "version"
                && key.starts_with("CURSOR#")
                && u.as_u64() >= v.as_u64()
                && v.as_u64().is_some()
            {
                continue;
            }
            out.push(format!("{key}.{field}: cut {u} / whole {v}"));
        }
    }
    out
}

/// A run cut short by the deadline and the run that resumes it leave the same records as
/// one complete run from the same start.
pub async fn partial_then_resumed_run_ends_where_one_complete_run_ends<S: TestStore>(store: S) {
    const SYMBOLS: [&str; 4] = ["BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT"];
    let sim = Sim::demo().await;
    let (cut, whole) = (fresh_account(), fresh_account());
    for account in [&cut, &whole] {
        seed_demo(&store, account).await;
        seed_cursors(&store, account, &SYMBOLS).await;
    }
    let one = sync(&sim, &store, &request(&whole, Mode::Periodic)).await;
    assert_eq!(one.outcome, Outcome::Complete);

    sim.control(
        "faults",
        json!({"path": "/api/v3/myTrades", "kind": "latency", "latency_ms": 2000, "count": 2}),
    )
    .await;
    let settings = RunSettings {
        deadline_margin: std::time::Duration::from_secs(1),
        ..settings()
    };
    let mut req = request(&cut, Mode::Periodic);
    req.deadline = Some(now_ms() + 1000 + 3000);
    let partial = run_sync(
        &sim.client(),
        &store,
        &RulesConfig::default(),
        &settings,
        &req,
    )
    .await
    .expect("partial run");
    assert_eq!(partial.outcome, Outcome::Partial);
    let rest = sync(&sim, &store, &request(&cut, Mode::Periodic)).await;
    assert_eq!(rest.outcome, Outcome::Complete);

    let differing = differences(
        (
            &records(&store, &cut).await,
            &run_windows(&[&partial, &rest]),
        ),
        (&records(&store, &whole).await, &run_windows(&[&one])),
    );
    assert!(
        differing.is_empty(),
        "{} fields differ:\n{}",
        differing.len(),
        differing.join("\n")
    );
    sim.shutdown().await;
}

/// The owner buys BTC while BNBUSDT's klines fail (the fee's minute price cannot be read)
/// and its current price can: the fill waits in its unit for FEE_WAIT_RUNS runs (never
/// priced at today's price, the checkpoint below it, the symbol not failed), is then
/// inserted with its fee flagged unpriced (Warning), and the first run that reads the
/// minute's close re-prices it (`trade_fee_priced`, with its audit record).
pub async fn a_fee_whose_minute_price_cannot_be_read_waits_then_is_flagged_and_repriced<
    S: TestStore,
>(
    store: S,
) {
    use binance_account_sync::core::trades::FEE_WAIT_RUNS;
    use binance_account_sync::domain::FeeWait;
    let sim = Sim::demo().await;
    let account = fresh_account();
    converged(&sim, &store, &account).await;
    sim.control(
        "faults",
        json!({"path": "/api/v3/klines", "kind": "malformed_json"}),
    )
    .await;
    let (id, _) = sim.manual_trade("BTCUSDT", "BUY", "0.001").await;
    let btc = sym("BTCUSDT");

    for run in 1..=FEE_WAIT_RUNS {
        let report = sync(&sim, &store, &request(&account, Mode::Periodic)).await;
        assert!(
            report.symbols_failed.is_empty(),
            "{:?}",
            report.symbols_failed
        );
        let now = records(&store, &account).await;
        assert!(
            !now.trades.contains_key(&(btc.clone(), id)),
            "run {run}: the fill waits, never priced at today's price"
        );
        let cursor = &now.cursors[&btc];
        assert_eq!(
            cursor.fee_wait,
            Some(FeeWait {
                trade_id: id,
                runs: run
            })
        );
        assert!(
            cursor.last_trade_id < Some(id),
            "the checkpoint stays below it"
        );
        assert!(cursor.pending);
    }

    let report = sync(&sim, &store, &request(&account, Mode::Periodic)).await;
    let finding = report
        .discrepancies
        .iter()
        .find(|d| d.key == format!("fee_unpriced:BTCUSDT:{id}"))
        .expect("the unpriced fee is reported");
    assert_eq!(
        finding.severity,
        binance_account_sync::domain::Severity::Warning
    );
    let now = records(&store, &account).await;
    let flagged = &now.trades[&(btc.clone(), id)];
    assert_eq!(
        (
            flagged.recovered,
            flagged.fee_unpriced,
            flagged.commission_quote
        ),
        (true, true, dec("0"))
    );
    assert_eq!(flagged.commission_asset, asset("BNB"));
    let cursor = &now.cursors[&btc];
    assert_eq!(cursor.fee_wait, None);
    assert_eq!(
        cursor
            .fee_unpriced
            .iter()
            .map(|u| u.trade_id)
            .collect::<Vec<_>>(),
        vec![id]
    );
    assert!(cursor.last_trade_id >= Some(id));

    sim.clear_faults().await;
    let report = sync(&sim, &store, &request(&account, Mode::Periodic)).await;
    assert_eq!(report.count(CorrectionKind::TradeFeePriced), 1);
    let now = records(&store, &account).await;
    let priced = &now.trades[&(btc.clone(), id)];
    let state = sim.state().await;
    let bnb_close = state["prices"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["symbol"] == "BNBUSDT"))
        .and_then(|p| p["price"].as_str())
        .map(dec)
        .expect("BNBUSDT price");
    assert!(!priced.fee_unpriced);
    assert_eq!(
        priced.commission_quote,
        priced.commission * bnb_close,
        "the close of the fill's minute (BNBUSDT did not move)"
    );
    assert_eq!(
        (priced.qty, priced.price, priced.version),
        (flagged.qty, flagged.price, flagged.version + 1)
    );
    assert!(now.cursors[&btc].fee_unpriced.is_empty());
    assert!(audit(&store, &account)
        .await
        .iter()
        .any(|a| a.correction.kind == CorrectionKind::TradeFeePriced));
}
