//! Defects the chaos campaign found (`tests/chaos.rs`), each shrunk to the account and the
//! fault that showed it, as a regression test named after the behaviour it keeps.

mod support;

#[path = "support/accounts.rs"]
mod accounts;
#[path = "support/fake_exchange.rs"]
mod fake_exchange;
#[path = "support/faults.rs"]
mod faults;

use accounts::{build, AccountSpec, Built, Recorded, SymbolSpec};
use binance_account_sync::core::Mode;
use binance_account_sync::domain::{Record, Symbol};
use binance_account_sync::exchange::Exchange;
use binance_account_sync::report::{Outcome, SyncReport};
use binance_account_sync::service::{run_sync, SyncError, SyncRequest};
use binance_account_sync::store::Store;
use fake_exchange::FakeExchange;
use faults::{Clock, FaultLog, FaultyExchange, Schedule};
use std::sync::{Arc, Mutex};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// One account of these symbols and nothing else unusual (the campaign's other knobs off).
fn account_of(symbols: Vec<SymbolSpec>) -> AccountSpec {
    AccountSpec {
        symbols,
        quoteless: vec![],
        stale_balances: 0,
        gone_asset: false,
        cuts: vec![7],
    }
}

/// The fake exchange behind the fault layer with no scheduled faults: a test sets only the
/// targeted one it needs.
fn without_faults(fake: &FakeExchange) -> FaultyExchange<'_> {
    FaultyExchange::new(
        fake,
        Schedule {
            faulty_runs: 0,
            ..Schedule::from_seed(0)
        },
        Arc::new(Clock::default()),
        Arc::new(Mutex::new(FaultLog::default())),
    )
}

/// The bot's record of its first fill says one lot step more than the exchange's; which
/// symbol and trade id.
fn a_bot_fill_one_step_larger(built: &mut Built) -> (Symbol, u64) {
    built
        .seed
        .iter_mut()
        .find_map(|r| match r {
            Record::Trade(t) => {
                t.qty += built.account.symbols[&t.symbol].step_size;
                Some((t.symbol.clone(), t.trade_id))
            }
            _ => None,
        })
        .expect("a bot trade")
}

/// One symbol of 40 fills, every one recorded by the bot, under an old-layout checkpoint
/// through 90 % of them; with that checkpoint's last trade id.
fn recorded_under_an_old_checkpoint() -> (Built, u64) {
    let built = build(&account_of(vec![SymbolSpec {
        recorded: Recorded::Everything,
        layout1: Some(900),
        ..accounts::quiet_symbol(40)
    }]));
    let through = *built
        .layout1
        .values()
        .next()
        .expect("an old-layout checkpoint");
    (built, through)
}

/// One run with the campaign's settings.
async fn sync(
    exchange: &impl Exchange,
    store: &impl Store,
    built: &Built,
    request: &SyncRequest,
) -> Result<SyncReport, SyncError> {
    run_sync(
        exchange,
        store,
        &built.rules,
        &accounts::settings(None),
        request,
    )
    .await
}

/// Campaign seed 20261201, pair 4 (and about a third of all pairs): the bot recorded a
/// fill with a quantity one step larger than the exchange's. The sync never rewrites a
/// stored trade (right); it must report the disagreement (it did not: no discrepancy).
#[test]
fn a_bot_fill_that_disagrees_with_the_exchange_is_reported() {
    let spec = account_of(vec![SymbolSpec {
        recorded: Recorded::Everything,
        ..accounts::quiet_symbol(5)
    }]);
    let mut built = build(&spec);
    let (symbol, id) = a_bot_fill_one_step_larger(&mut built);
    runtime().block_on(async {
        let (store, _) = accounts::seeded(&built);
        let exchange = FakeExchange::new(built.account.clone());
        let report = sync(
            &exchange,
            &store,
            &built,
            &accounts::request(Mode::Emergency),
        )
        .await
        .expect("the run");
        assert_eq!(report.outcome, Outcome::Complete);
        assert!(
            report
                .discrepancies
                .iter()
                .any(|d| d.symbol.as_ref() == Some(&symbol)
                    && (d.key.contains(&id.to_string()) || d.message.contains(&id.to_string()))),
            "the bot's {symbol} trade {id} disagrees with the exchange's fill; reported: {:?}",
            report.discrepancies
        );
    });
}

/// Campaign seed 20261201 (1,000 schedules), pair 495: the run's prices read failed (a
/// truncated answer), so a BTC holding worth 0.40 USDT (above the lot step, below the
/// 10 USDT minimum notional) was recorded as an open position; a later run with prices
/// closed it with an exit price and a realized P&L of 200 USDT that no trade made. Now a
/// holding the notional would decide is not classified without a price.
#[test]
fn a_holding_below_the_minimum_notional_is_dust_even_when_prices_are_unavailable() {
    let spec = account_of(vec![accounts::quiet_symbol(0), accounts::quiet_symbol(0)]);
    let mut built = build(&spec);
    let btc = binance_account_sync::domain::Asset::parse("BTC").expect("asset");
    built
        .account
        .balances
        .push(binance_account_sync::domain::Balance {
            asset: btc.clone(),
            free: rust_decimal::Decimal::new(1, 5), // one lot step: 0.00001 BTC, ~0.40 USDT
            locked: rust_decimal::Decimal::ZERO,
        });
    runtime().block_on(async {
        let (store, _) = accounts::seeded(&built);
        let fake = FakeExchange::new(built.account.clone());
        let exchange = without_faults(&fake);
        exchange.truncate_endpoint(Some("/api/v3/ticker/price"));
        sync(
            &exchange,
            &store,
            &built,
            &accounts::request(Mode::Emergency),
        )
        .await
        .expect("the run");
        let records = store.records(&accounts::account_id());
        let btcusdt = Symbol::parse("BTCUSDT").expect("symbol");
        assert!(
            !records.positions.contains_key(&btcusdt),
            "0.00001 BTC (0.40 USDT, minimum notional 10) is not a position: {:?}",
            records.positions.get(&btcusdt)
        );
    });
}

/// Campaign seed 20261201, pair 86: an emergency's scope closed although one symbol's unit
/// failed during it (its answers came back truncated), so the re-scan that finds the fills
/// missing below its checkpoint never ran, and they stayed missing. Now the closed scope
/// stays owed by every checkpoint that did not complete it: once the symbol recovers (its
/// backoff over), a periodic run re-scans it and recovers the fills.
#[test]
fn a_symbol_that_failed_during_an_emergency_is_re_scanned_when_it_recovers() {
    let spec = account_of(vec![
        SymbolSpec {
            when: accounts::When::Recent {
                dense: false,
                burst: false,
                holes_pct: 20,
            },
            // An old-layout checkpoint through 90 % of the fills: the stored trades it
            // covers miss a fifth (only a re-scan finds them), and newer fills follow.
            layout1: Some(900),
            ..accounts::quiet_symbol(60)
        },
        accounts::quiet_symbol(3),
    ]);
    let built = build(&spec);
    let (failing, through) = built
        .layout1
        .iter()
        .next()
        .map(|(s, id)| (s.clone(), *id))
        .expect("a symbol with an old-layout checkpoint");
    let on_exchange = built.account.fills[&failing].len();
    let stored = |records: &binance_account_sync::domain::Records| {
        records
            .trades
            .values()
            .filter(|t| t.symbol == failing)
            .count()
    };
    runtime().block_on(async {
        let (store, _) = accounts::seeded(&built);
        let holes = on_exchange - stored(&store.records(&accounts::account_id()));
        assert!(
            holes > 0,
            "the seed misses fills below the checkpoint (through {through})"
        );
        let fake = FakeExchange::new(built.account.clone());
        let exchange = without_faults(&fake);
        exchange.truncate_fills_of(Some(failing.clone()));
        let emergency = sync(
            &exchange,
            &store,
            &built,
            &accounts::request(Mode::Emergency),
        )
        .await
        .expect("the emergency run");
        assert!(
            emergency
                .symbols_failed
                .iter()
                .any(|f| f.symbol == failing.to_string()),
            "{failing} failed during the emergency: {:?}",
            emergency.symbols_failed
        );

        // The symbol recovers and its backoff runs out.
        exchange.truncate_fills_of(None);
        let account = accounts::account_id();
        let mut cursor = store.records(&account).cursors[&failing].clone();
        cursor.retry_at = Some(binance_account_sync::service::now_ms() - 1);
        support::TestStore::bot_write(&store, &account, Record::Cursor(cursor)).await;

        let periodic = sync(
            &exchange,
            &store,
            &built,
            &accounts::request(Mode::Periodic),
        )
        .await
        .expect("the periodic run");
        assert!(
            periodic.symbols_failed.is_empty(),
            "{:?}",
            periodic.symbols_failed
        );
        let records = store.records(&account);
        assert_eq!(
            stored(&records),
            on_exchange,
            "the {holes} fills missing below {failing}'s checkpoint are recovered by the \
             re-scan the failed emergency still owed"
        );
        assert!(
            records.cursors[&failing].emergency_done.is_some(),
            "the owed scope is completed"
        );
    });
}

/// Campaign seed 20261201 (200 schedules), pair 7: the bot's record of a fill below an
/// old-layout checkpoint disagreed with the exchange's; no read of the sync returns a fill
/// below its checkpoint, so it was never compared and never reported. Now the stored
/// trades below a checkpoint the sync did not read to are compared once with the
/// exchange's fills, and the disagreement is reported (the record kept).
#[test]
fn a_bot_fill_below_a_migrated_checkpoint_that_disagrees_is_reported() {
    let (mut built, through) = recorded_under_an_old_checkpoint();
    let (symbol, id, kept) = built
        .seed
        .iter_mut()
        .find_map(|r| match r {
            Record::Trade(t) if !t.recovered && t.trade_id < through => {
                t.price += t.price / rust_decimal::Decimal::from(100);
                t.quote_qty = t.price * t.qty;
                Some((t.symbol.clone(), t.trade_id, t.clone()))
            }
            _ => None,
        })
        .expect("a bot trade below the checkpoint");
    runtime().block_on(async {
        let (store, _) = accounts::seeded(&built);
        let exchange = FakeExchange::new(built.account.clone());
        let mut named = false;
        for mode in [Mode::Periodic, Mode::Periodic] {
            let report = sync(&exchange, &store, &built, &accounts::request(mode))
                .await
                .expect("the run");
            named |= report
                .discrepancies
                .iter()
                .any(|d| d.key == format!("trade_disagrees:{symbol}:{id}"));
        }
        assert!(
            named,
            "the bot's {symbol} trade {id} disagrees with the exchange's fill"
        );
        let records = store.records(&accounts::account_id());
        let stored = &records.trades[&(symbol.clone(), id)];
        assert_eq!(
            (stored.price, stored.qty),
            (kept.price, kept.qty),
            "the record is kept as the bot wrote it"
        );
        assert_eq!(
            records.cursors[&symbol].verify, None,
            "every stored trade below the checkpoint was compared"
        );
    });
}

/// Campaign seed 20261201 (300 schedules), pairs 59, 70 and 114: the unit that compared a
/// bot fill with the exchange's found the disagreement, its page was applied, and the run
/// then failed or was killed: its report was lost, and no later read compares that fill
/// again. Now the finding is written with the page, in the checkpoint, and the next run
/// reports it (then clears it).
#[test]
fn a_disagreement_found_by_a_run_that_then_died_is_reported_by_the_next() {
    let spec = account_of(vec![SymbolSpec {
        recorded: Recorded::Everything,
        ..accounts::quiet_symbol(5)
    }]);
    let mut built = build(&spec);
    let (symbol, id) = a_bot_fill_one_step_larger(&mut built);
    let key = format!("trade_disagrees:{symbol}:{id}");
    runtime().block_on(async {
        let (store, _) = accounts::seeded(&built);
        let exchange = FakeExchange::new(built.account.clone());
        // The first unit's writes land, then the invocation dies; Lambda retries it.
        let invocation = binance_account_sync::service::SyncRequest {
            invocation_id: Some("invocation-1".to_owned()),
            ..accounts::request(Mode::Emergency)
        };
        let dying = support::wrappers::CrashAfterApply::new(&store);
        let died = sync(&exchange, &dying, &built, &invocation).await;
        assert!(died.is_err(), "the invocation died");
        let written = dying.written.lock().expect("written").clone();
        assert!(
            written
                .iter()
                .any(|c| matches!(&c.after, Record::Cursor(k) if k.symbol == symbol)),
            "the unit that compared the fill was applied: {written:?}"
        );

        // Lambda retries a minute or more later, never within the same millisecond (the
        // audit keys are the write's time and the run's id): a condition, not a sleep.
        let died_at = binance_account_sync::service::now_ms();
        while binance_account_sync::service::now_ms() <= died_at {
            std::hint::spin_loop();
        }
        let account = accounts::account_id();
        let next = sync(&exchange, &store, &built, &invocation)
            .await
            .expect("the retried invocation");
        assert!(
            next.discrepancies.iter().any(|d| d.key == key),
            "{key} is reported by the next run: {:?}",
            next.discrepancies
        );
        let after = store.records(&account);
        assert!(
            after.cursors[&symbol].unreported.is_empty(),
            "reported, the finding is no longer kept"
        );
        let again = sync(
            &exchange,
            &store,
            &built,
            &accounts::request(Mode::Periodic),
        )
        .await
        .expect("a third run");
        assert!(
            !again.discrepancies.iter().any(|d| d.key == key),
            "reported once, not by every run"
        );
    });
}

/// Campaign seed 20261201 (1,000 schedules), pairs 752 and 1886: the bot's open position
/// held the wrong quantity, and the unit that recovered the buys explaining it had its
/// `apply` half committed (the trades landed, the position and the checkpoint did not).
/// The retry read the same page, found the buys stored, counted none as recovered, and
/// corrected the quantity at the bot's old entry price, where one uncut run takes the
/// entry from the recovered fills. Now buys the sync stored past the checkpoint count as
/// the page's, whichever attempt inserted them.
#[test]
fn a_bot_position_corrected_after_a_half_committed_apply_gets_the_entry_of_an_uncut_run() {
    let spec = account_of(vec![SymbolSpec {
        // More fills than one transaction holds, none recorded by the bot, a holding
        // the fills do not explain alone (a deposit), and the bot's position at half.
        extra: accounts::Extra::Deposit(1),
        position: accounts::BotPosition::Open { qty_pct: 50 },
        ..accounts::quiet_symbol(120)
    }]);
    let built = build(&spec);
    let symbol = built
        .account
        .fills
        .keys()
        .next()
        .expect("the symbol")
        .clone();
    let account = accounts::account_id();
    runtime().block_on(async {
        // The reference: one uncut run.
        let (uncut, _) = accounts::seeded(&built);
        let exchange = FakeExchange::new(built.account.clone());
        let whole = sync(
            &exchange,
            &uncut,
            &built,
            &accounts::request(Mode::Emergency),
        )
        .await
        .expect("the uncut run");
        assert_eq!(whole.outcome, Outcome::Complete);
        let want = uncut.records(&account).positions[&symbol].clone();
        let bot = built
            .seed
            .iter()
            .find_map(|r| match r {
                Record::Position(p) => Some(p.clone()),
                _ => None,
            })
            .expect("the bot's position");
        assert_ne!(
            want.entry_price, bot.entry_price,
            "the uncut run takes the entry from the recovered buys"
        );

        // The same account, the first big apply half committed.
        let (store, _) = accounts::seeded(&built);
        let half = support::wrappers::HalfCommittedApply::new(&store);
        let invocation = binance_account_sync::service::SyncRequest {
            invocation_id: Some("invocation-1".to_owned()),
            ..accounts::request(Mode::Emergency)
        };
        let first = sync(&exchange, &half, &built, &invocation).await;
        let committed = half.committed.lock().expect("committed").clone();
        assert!(
            committed
                .iter()
                .all(|c| matches!(&c.after, Record::Trade(_))),
            "the committed transaction holds trades only: {committed:?}"
        );
        assert!(!committed.is_empty(), "the first apply half committed");
        let mid = store.records(&account);
        assert_eq!(
            mid.positions[&symbol].quantity, bot.quantity,
            "the position was not corrected yet (first run: {first:?})"
        );

        // The runs after it (a backoff waited out) until one completes.
        for _ in 0..3 {
            if let Some(mut cursor) = store.records(&account).cursors.get(&symbol).cloned() {
                if cursor.retry_at.is_some() {
                    cursor.retry_at = Some(binance_account_sync::service::now_ms() - 1);
                    support::TestStore::bot_write(&store, &account, Record::Cursor(cursor)).await;
                }
            }
            let report = sync(&exchange, &store, &built, &invocation)
                .await
                .expect("the next attempt");
            if report.outcome == Outcome::Complete && report.symbols_failed.is_empty() {
                break;
            }
        }
        let got = store.records(&account).positions[&symbol].clone();
        assert_eq!(
            (got.quantity, got.entry_price),
            (want.quantity, want.entry_price),
            "the corrected position is the uncut run's"
        );
    });
}

/// Campaign seed 20261201 (1,000 schedules), pairs 27 and 1408: an emergency invocation
/// died after its first writes and Lambda retried it (same request id). The retry opened
/// a new scope, so every symbol its first attempt had completed owed the emergency again
/// and was re-read and re-scanned, and a re-scan that found no fill stamped the new
/// lookback's start where one uncut run leaves the first's. The retry now resumes the
/// scope its first attempt opened.
#[test]
fn a_retried_emergency_invocation_resumes_the_scope_its_first_attempt_opened() {
    let spec = account_of(vec![
        SymbolSpec {
            // An old-layout checkpoint: its symbol owes a re-scan in the emergency.
            layout1: Some(900),
            recorded: Recorded::Everything,
            ..accounts::quiet_symbol(40)
        },
        accounts::quiet_symbol(3),
        accounts::quiet_symbol(3),
    ]);
    let built = build(&spec);
    let account = accounts::account_id();
    runtime().block_on(async {
        let (store, _) = accounts::seeded(&built);
        let exchange = FakeExchange::new(built.account.clone());
        let invocation = binance_account_sync::service::SyncRequest {
            invocation_id: Some("emergency-1".to_owned()),
            ..accounts::request(Mode::Emergency)
        };
        // It dies after its second write: the first migrates the old-layout checkpoint
        // (before the scope opens), the second is its first unit's.
        let dying = support::wrappers::CrashAfterApply::after_applies(&store, 2);
        assert!(
            sync(&exchange, &dying, &built, &invocation).await.is_err(),
            "the first attempt died"
        );
        let opened = store
            .state(&account)
            .await
            .expect("state")
            .emergency
            .expect("the first attempt persisted its scope");

        // Lambda's retry comes later, never within the millisecond of the first attempt's
        // last write (audit keys are the write's time and the run's id): a condition on
        // the clock, not a sleep.
        let died_at = binance_account_sync::service::now_ms();
        while binance_account_sync::service::now_ms() <= died_at {
            std::hint::spin_loop();
        }
        let retry = sync(&exchange, &store, &built, &invocation)
            .await
            .expect("the retry");
        assert_eq!(
            retry.outcome,
            Outcome::Complete,
            "{:?}",
            retry.outcome_detail
        );
        let records = store.records(&account);
        for (symbol, cursor) in &records.cursors {
            assert_eq!(
                cursor.emergency_done,
                Some(opened.requested_at),
                "{symbol} completed the scope the first attempt opened, not a new one"
            );
        }
        assert!(
            retry
                .notes
                .iter()
                .any(|n| n.contains(&format!("opened at {}", opened.requested_at))),
            "the retry says it resumes: {:?}",
            retry.notes
        );
        assert_eq!(store.state(&account).await.expect("state").emergency, None);
    });
}

/// Campaign seed 20261201 (1,000 schedules), pairs 7360, 2272, 2348, 3880, 7615, 8805,
/// 9114, 4184, 6319, 8711 and 9828: an old-layout checkpoint whose stored trades had a
/// hole below it. Its cost basis was rebuilt from the stored trades, so without the fill
/// of the hole; the bot then recorded that fill, late, and every later read (the re-scan,
/// the comparison of the stored trades) found it stored and recovered nothing, so nothing
/// rebuilt the basis again: its cost, quantity and the sells' P&L stayed wrong. Now the
/// basis is rebuilt from the exchange's fills (the store's hole is recovered on the way),
/// whoever stores the fill and whenever.
#[test]
fn a_fill_the_bot_records_after_the_rebuild_began_is_in_the_cost_basis() {
    let (mut built, through) = recorded_under_an_old_checkpoint();
    // The hole: a fill the bot had not recorded (the old sync's checkpoint passed it).
    let below: Vec<usize> = built
        .seed
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r, Record::Trade(t) if !t.recovered && t.trade_id < through))
        .map(|(i, _)| i)
        .collect();
    assert!(
        below.len() > 10,
        "bot trades below the checkpoint: {below:?}"
    );
    let hole = below[below.len() / 2];
    let Record::Trade(late) = built.seed.remove(hole) else {
        unreachable!("found as a trade")
    };
    let account = accounts::account_id();
    // However far the first run gets (cut after each of its first units, or not cut),
    // the bot then records the fill, and two runs follow.
    for cut in [Some(1), Some(2), Some(3), Some(4), None] {
        runtime().block_on(async {
            let (store, mut stored) = accounts::seeded(&built);
            let exchange = FakeExchange::new(built.account.clone());
            let periodic = accounts::request(Mode::Periodic);
            let first = run_sync(
                &exchange,
                &store,
                &built.rules,
                &accounts::settings(cut),
                &periodic,
            )
            .await
            .expect("the first run");
            stored.push(
                support::TestStore::bot_write(&store, &account, Record::Trade(late.clone())).await,
            );
            let mut last = first;
            for _ in 0..2 {
                last = sync(&exchange, &store, &built, &periodic)
                    .await
                    .expect("a later run");
            }
            assert_eq!(
                last.outcome,
                Outcome::Complete,
                "cut {cut:?}: {}",
                accounts::brief(&last)
            );
            accounts::assert_true_to_the_exchange(
                &format!("cut after {cut:?} units, then the bot's late write"),
                &store.records(&account),
                &built,
                &stored,
                None,
                3,
            );
        });
    }
}
