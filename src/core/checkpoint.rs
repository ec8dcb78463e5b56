//! How a symbol's checkpoint advances after a unit.
//!
//! Rules:
//! - Every symbol read has a checkpoint (`CURSOR#<SYMBOL>`), fills or not; the sync alone
//!   writes it, and it is the last write of its unit (in the unit's last transaction), so
//!   a unit cut short leaves the old checkpoint and the next run reads the page again
//!   (its inserts are idempotent).
//! - `last_trade_id` and `last_order_id` only move forward, to the highest id read.
//! - `orders_through` (the order history read, `allOrders`) moves forward to the highest
//!   order id of the unit's order page among the orders placed before the read's time
//!   less `history_lag_ms` (the history may lag: a younger order's older neighbour may
//!   not be served yet); a full page sets `orders_pending` (more orders to read: work in
//!   progress for the scope, while the fills, read to the end, keep the symbol trusted).
//!   A unit that read the order history sets `orders_read_at` to the read's time; one
//!   that read fills past `last_trade_id` without it clears it, so that the symbol's next
//!   last-page unit reads the orders of those fills (`order_history`); otherwise it stays.
//! - `covered_through`: when the read reached the end of the symbol's fills, the read's
//!   time less `history_lag_ms` (history endpoints may lag the balance), never backwards;
//!   unchanged by a read that stopped before the end, which sets `pending` instead.
//! - The basis (and its state) is the one the trades step carried forward.
//! - The orders the records hold open or unknown after the symbol's last page (the unit
//!   that loads them) give `open_orders` and the `order_watermark` (the lowest of their
//!   ids; past the highest order id when none is open), so the next read loads only
//!   orders that may still change; earlier pages leave both as they were.
//! - A successful unit clears the failure count and backoff. In an emergency, the forward
//!   read to the end marks the scope done for the symbol (`emergency_done`) once no
//!   re-scan is owed: the re-scan of an active symbol runs before it.
//! - A unit's findings that no later read makes again (`trade_disagrees`,
//!   `trade_not_on_exchange`, `fee_unpriced`: the page that showed them is applied) go into the checkpoint
//!   it writes (`unreported`, each key once, at most [`MAX_UNREPORTED`]), atomically with
//!   the page: every run reports the findings of the checkpoints it loads and, once it has
//!   its report, clears them (`reported`). A run that fails or dies after the unit loses
//!   nothing.
//! - Written only when something but its bookkeeping changed.

use super::trades::SymbolRead;
use super::{expect_of, next_version, ReconcileInput, SymbolPlan};
use crate::domain::{
    Correction, CorrectionKind, CursorRecord, Discrepancy, OrderRecord, Record, Symbol,
};
use std::collections::BTreeMap;

/// Findings a checkpoint keeps for the next report at most (a symbol with more has a
/// bigger problem than its list: the first ones say so).
pub const MAX_UNREPORTED: usize = 20;

/// The kinds of finding a read makes once (see the module's rules).
const ONCE: [&str; 3] = ["trade_disagrees", "trade_not_on_exchange", "fee_unpriced"];

/// `unreported` with this unit's once-only findings added (each key once).
pub fn with_findings(unreported: &[Discrepancy], found: &[Discrepancy]) -> Vec<Discrepancy> {
    let mut out = unreported.to_vec();
    for d in found.iter().filter(|d| ONCE.contains(&d.kind.as_str())) {
        if out.len() < MAX_UNREPORTED && !out.iter().any(|x| x.key == d.key) {
            out.push(d.clone());
        }
    }
    out
}

/// The checkpoint once a run has reported its findings: none kept.
pub fn reported(cursor: &CursorRecord, now: i64) -> Correction {
    let expect = expect_of(Some(cursor.version));
    Correction {
        kind: CorrectionKind::CursorAdvanced,
        expect,
        before: Some(Record::Cursor(cursor.clone())),
        after: Record::Cursor(CursorRecord {
            unreported: Vec::new(),
            version: next_version(expect),
            updated_at: now,
            ..cursor.clone()
        }),
        reason: format!(
            "Checkpoint of {}: {} finding(s) reported",
            cursor.symbol,
            cursor.unreported.len()
        ),
    }
}

fn max_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The orders of `symbol` as they will be after this unit: the records' with the unit's
/// order corrections applied.
fn orders_after(
    input: &ReconcileInput<'_>,
    symbol: &Symbol,
    out: &SymbolPlan,
) -> BTreeMap<u64, OrderRecord> {
    let mut orders: BTreeMap<u64, OrderRecord> = input
        .records
        .orders
        .iter()
        .filter(|((s, _), _)| s == symbol)
        .map(|((_, id), o)| (*id, o.clone()))
        .collect();
    for c in &out.plan.corrections {
        if let Record::Order(o) = &c.after {
            if &o.symbol == symbol {
                orders.insert(o.order_id, o.clone());
            }
        }
    }
    orders
}

/// Plan the checkpoint write of one unit (pushed last) and set `out.checkpoint`.
pub(crate) fn plan_checkpoint(
    input: &ReconcileInput<'_>,
    symbol: &Symbol,
    read: &SymbolRead,
    holding_unchecked: bool,
    out: &mut SymbolPlan,
) {
    let old = &read.cursor;
    let orders = orders_after(input, symbol, out);
    let still_open: Vec<u64> = orders
        .values()
        .filter(|o| o.status.is_open() || o.status == crate::domain::OrderStatus::Unknown)
        .map(|o| o.order_id)
        .collect();
    let exchange_max_order = input
        .snapshot
        .open_orders
        .iter()
        .filter(|o| &o.symbol == symbol)
        .map(|o| o.order_id)
        .max();
    let last_order_id = max_opt(
        max_opt(old.last_order_id, read.max_order_id),
        max_opt(orders.keys().max().copied(), exchange_max_order),
    );
    // The order history read: up to the page's last order old enough for the history's
    // lag (a younger one may still have an older neighbour on its way), forward only.
    // Only a read to the end plans the orders (`plan_symbol`): a page that waits before a
    // fill leaves the order history where it was, even when its unit read a page of it.
    let order_page = input
        .snapshot
        .order_pages
        .get(symbol)
        .filter(|_| read.complete);
    let settled_before = read.read_at - input.config.history_lag_ms;
    let orders_through = max_opt(
        old.orders_through,
        order_page.and_then(|p| {
            p.orders
                .iter()
                .filter(|o| o.time <= settled_before)
                .map(|o| o.order_id)
                .max()
        }),
    );
    let orders_pending = order_page.map_or(old.orders_pending, |p| !p.complete);
    let last_trade_id = max_opt(old.last_trade_id, read.max_trade_id);
    // When the order history was read with every fill read so far: this read's time when
    // it read it; cleared when fills were read past the checkpoint without it (a page
    // before the symbol's last, a page that waits), so the unit that ends the symbol reads
    // the orders of those fills even in a later run (`order_history`).
    let orders_read_at = match order_page {
        Some(_) => Some(read.read_at),
        None if last_trade_id != old.last_trade_id => None,
        None => old.orders_read_at,
    };
    let mut fee_assets = old.fee_assets.clone();
    for a in &read.fee_assets {
        if !fee_assets.contains(a) {
            fee_assets.push(a.clone());
        }
    }
    fee_assets.sort();
    let covered_through = if read.complete {
        let at = read.read_at - input.config.history_lag_ms;
        Some(old.covered_through.map_or(at, |c| c.max(at)))
    } else {
        old.covered_through
    };
    let last_fill_at = match (old.last_fill_at, read.max_time) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, None) => a,
        (None, b) => b,
    };
    // An emergency is done for the symbol with its forward read to the end, once it owes
    // no re-scan (a quiet symbol, or one re-scanned by the units before).
    let scope = match (
        input.snapshot.emergency_requested_at,
        input.snapshot.emergency_lookback_start,
    ) {
        (Some(requested_at), Some(lookback_start)) => Some(crate::domain::EmergencyScope {
            requested_at,
            lookback_start,
            opened_by: None,
        }),
        _ => None,
    };
    let emergency_done = match &scope {
        Some(s) if read.complete && super::scope::rescan_range(old, s).is_none() => Some(
            old.emergency_done
                .map_or(s.requested_at, |d| d.max(s.requested_at)),
        ),
        _ => old.emergency_done,
    };
    let next = CursorRecord {
        symbol: symbol.clone(),
        last_trade_id,
        last_alloc_id: max_opt(old.last_alloc_id, read.max_alloc_id),
        last_order_id,
        orders_through,
        orders_read_at,
        covered_through,
        last_fill_at,
        fee_assets,
        basis: read.basis.clone(),
        basis_state: read.basis_state,
        basis_of: read.basis_of,
        // Only the unit that loaded the orders (the last page) may move the watermark.
        open_orders: if read.complete {
            still_open.len() as u32
        } else {
            old.open_orders
        },
        order_watermark: if read.complete {
            still_open
                .iter()
                .min()
                .copied()
                .or_else(|| last_order_id.map(|id| id.saturating_add(1)))
        } else {
            old.order_watermark
        },
        failures: 0,
        last_error: None,
        retry_at: None,
        emergency_done,
        rescan_for: old.rescan_for,
        rescan_through: old.rescan_through,
        pending: !read.complete,
        // A full page of orders leaves more to read: work in progress for the scope.
        orders_pending,
        // Only the unit that read to the end checks the holding.
        holding_unchecked: if read.complete {
            holding_unchecked
        } else {
            old.holding_unchecked
        },
        verify: super::verify::after_forward_read(
            old.verify,
            old.last_trade_id.map_or(0, |t| t.saturating_add(1)),
        ),
        unreported: with_findings(&old.unreported, &out.plan.discrepancies),
        fee_wait: read.fee_wait,
        fee_unpriced: read.fee_unpriced.clone(),
        version: old.version,
        updated_at: old.updated_at,
    };
    out.checkpoint = next.clone();
    if &next == old && input.records.cursors.contains_key(symbol) {
        return;
    }
    let current = input.records.cursors.get(symbol);
    let expect = expect_of(current.map(|c| c.version));
    let after = CursorRecord {
        version: next_version(expect),
        updated_at: input.now,
        ..next
    };
    let from = old
        .last_trade_id
        .map_or("none".to_owned(), |id| id.to_string());
    let to = after
        .last_trade_id
        .map_or("none".to_owned(), |id| id.to_string());
    out.checkpoint = after.clone();
    out.plan.corrections.push(Correction {
        kind: CorrectionKind::CursorAdvanced,
        expect,
        before: current.cloned().map(Record::Cursor),
        after: Record::Cursor(after),
        reason: format!("Checkpoint of {symbol}: trades read through {to} (was {from})"),
    });
}

/// A failed unit: the checkpoint keeps its progress and records the failure, with a
/// backoff so that the symbol does not head every run (see `scope::retry_after`).
pub fn failed(cursor: Option<&CursorRecord>, symbol: &Symbol, kind: &str, now: i64) -> Correction {
    let old = cursor
        .cloned()
        .unwrap_or_else(|| CursorRecord::new(symbol.clone()));
    let failures = old.failures.saturating_add(1);
    let expect = expect_of(cursor.map(|c| c.version));
    let after = CursorRecord {
        failures,
        last_error: Some(kind.to_owned()),
        retry_at: Some(now + super::scope::retry_after(failures)),
        version: next_version(expect),
        updated_at: now,
        ..old
    };
    Correction {
        kind: CorrectionKind::CursorAdvanced,
        expect,
        before: cursor.cloned().map(Record::Cursor),
        after: Record::Cursor(after),
        reason: format!("Unit of {symbol} failed ({kind}), attempt {failures}: backing off"),
    }
}

/// The checkpoint after one re-scan window `[.., through)` of the emergency requested at
/// `requested_at`: the basis (and its state) as the window's trades step left it, and the
/// re-scan progress (the forward read after it marks the emergency done).
#[allow(clippy::too_many_arguments)]
pub fn rescanned(
    current: &CursorRecord,
    planned: &CursorRecord,
    scope: &crate::domain::EmergencyScope,
    through: i64,
    to: i64,
    newest_fill: Option<i64>,
    now: i64,
) -> Correction {
    let done = through >= to;
    let requested_at = scope.requested_at;
    // The newest fill seen; a re-scan that found none in the lookback knows at least that
    // (a migrated checkpoint does not know its last fill's time until re-scanned).
    let last_fill_at = match (current.last_fill_at, newest_fill) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, None) => a,
        (None, b) => b,
    }
    .or(done.then_some(scope.lookback_start - 1));
    let expect = expect_of(Some(current.version));
    let after = CursorRecord {
        basis: planned.basis.clone(),
        basis_state: planned.basis_state,
        last_fill_at,
        rescan_for: Some(requested_at),
        rescan_through: Some(through),
        unreported: planned.unreported.clone(),
        // A window inserts a fee it cannot price at once (it never waits): followed.
        fee_unpriced: planned.fee_unpriced.clone(),
        version: next_version(expect),
        updated_at: now,
        ..current.clone()
    };
    Correction {
        kind: CorrectionKind::CursorAdvanced,
        expect,
        before: Some(Record::Cursor(current.clone())),
        after: Record::Cursor(after),
        reason: format!(
            "Emergency re-scan of {} through {through}{}",
            current.symbol,
            if done { " (done)" } else { "" }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan_symbol;
    use crate::core::testkit::*;
    use crate::domain::{EmergencyScope, Expect, OrderPage, OrderStatus, Severity, Side};
    use rust_decimal_macros::dec;

    fn finding(kind: &str, key: &str) -> Discrepancy {
        Discrepancy {
            key: key.to_owned(),
            kind: kind.to_owned(),
            severity: Severity::Warning,
            symbol: Some(sym("BTCUSDT")),
            asset: None,
            before: None,
            after: None,
            diff_pct: None,
            message: key.to_owned(),
        }
    }

    fn cursor_at(version: u64) -> CursorRecord {
        CursorRecord {
            last_trade_id: Some(41),
            last_fill_at: Some(5_000),
            covered_through: Some(9_000),
            failures: 2,
            last_error: Some("timeout".to_owned()),
            retry_at: Some(1),
            unreported: vec![finding("trade_disagrees", "trade_disagrees:BTCUSDT:7")],
            version,
            updated_at: 1,
            ..CursorRecord::new(sym("BTCUSDT"))
        }
    }

    fn cursor_of(c: &Correction) -> &CursorRecord {
        match &c.after {
            Record::Cursor(c) => c,
            other => panic!("not a checkpoint: {other:?}"),
        }
    }

    /// A unit's once-only findings join the checkpoint each key once, other kinds never,
    /// and the list stops at its cap.
    #[test]
    fn once_only_findings_are_kept_each_key_once_up_to_the_cap() {
        let kept = vec![finding("trade_disagrees", "a")];
        let found = [
            finding("trade_disagrees", "a"),
            finding("trade_not_on_exchange", "b"),
            finding("balance", "c"),
        ];
        let keys: Vec<String> = with_findings(&kept, &found)
            .into_iter()
            .map(|d| d.key)
            .collect();
        assert_eq!(keys, ["a", "b"]);

        let full: Vec<Discrepancy> = (0..MAX_UNREPORTED)
            .map(|i| finding("trade_disagrees", &format!("k{i}")))
            .collect();
        let more = [finding("trade_disagrees", "new")];
        assert_eq!(with_findings(&full, &more).len(), MAX_UNREPORTED);
        let one_short = &full[..MAX_UNREPORTED - 1];
        assert_eq!(with_findings(one_short, &more).len(), MAX_UNREPORTED);
    }

    /// Once reported, the findings leave the checkpoint; the write is versioned and
    /// stamped like every other.
    #[test]
    fn a_reported_checkpoint_keeps_no_finding_and_is_stamped() {
        let c = reported(&cursor_at(4), 77);
        assert_eq!(c.expect, Expect::Version(4));
        let after = cursor_of(&c);
        assert!(after.unreported.is_empty());
        assert_eq!((after.version, after.updated_at), (5, 77));
        assert_eq!(after.last_trade_id, Some(41), "progress kept");
    }

    /// A failed unit counts the failure, names it and backs off from now; the progress
    /// stays. A symbol never read gets its first checkpoint.
    #[test]
    fn a_failed_unit_counts_names_and_backs_off_keeping_the_progress() {
        let c = failed(Some(&cursor_at(4)), &sym("BTCUSDT"), "malformed", 1_000);
        let after = cursor_of(&c);
        assert_eq!(
            (
                after.failures,
                after.last_error.as_deref(),
                after.retry_at,
                after.version,
                after.updated_at
            ),
            (
                3,
                Some("malformed"),
                Some(1_000 + crate::core::scope::retry_after(3)),
                5,
                1_000
            )
        );
        assert_eq!(after.last_trade_id, Some(41));

        let c = failed(None, &sym("ETHUSDT"), "timeout", 1_000);
        assert_eq!(c.expect, Expect::Absent);
        let after = cursor_of(&c);
        assert_eq!((after.failures, after.version), (1, 1));
        assert_eq!(after.symbol, sym("ETHUSDT"));
    }

    /// A re-scan window records its progress, the basis the window left, its findings
    /// and the newest fill seen; the last window, finding no fill, records that none was
    /// in the lookback.
    #[test]
    fn a_rescan_window_records_progress_basis_and_the_newest_fill() {
        let current = CursorRecord {
            last_fill_at: None,
            ..cursor_at(4)
        };
        let planned = CursorRecord {
            basis: crate::domain::Basis {
                qty: dec!(2),
                ..Default::default()
            },
            basis_state: crate::domain::BasisState::Rebuilding,
            unreported: vec![finding("trade_disagrees", "z")],
            ..current.clone()
        };
        let scope = EmergencyScope {
            requested_at: 50_000,
            lookback_start: 10_000,
            opened_by: None,
        };
        let mid = rescanned(
            &current,
            &planned,
            &scope,
            20_000,
            30_000,
            Some(15_000),
            60_000,
        );
        let after = cursor_of(&mid);
        assert_eq!(
            (
                after.basis.qty,
                after.rescan_for,
                after.rescan_through,
                after.last_fill_at,
                after.version,
                after.updated_at
            ),
            (dec!(2), Some(50_000), Some(20_000), Some(15_000), 5, 60_000)
        );
        assert_eq!(after.unreported, planned.unreported);
        assert_eq!(after.basis_state, crate::domain::BasisState::Rebuilding);
        assert!(!mid.reason.contains("(done)"));

        let last = rescanned(&current, &planned, &scope, 30_000, 30_000, None, 60_000);
        assert_eq!(cursor_of(&last).last_fill_at, Some(9_999));
        assert!(last.reason.contains("(done)"));
        let not_yet = rescanned(&current, &planned, &scope, 29_999, 30_000, None, 60_000);
        assert_eq!(cursor_of(&not_yet).last_fill_at, None);
    }

    /// The orders open or unknown in the records after the last page are counted and the
    /// lowest of them is the watermark; a terminal one is neither. The checkpoint write is
    /// stamped with the run's time.
    #[test]
    fn the_watermark_is_the_lowest_order_still_open_or_unknown() {
        let mut w = World::new();
        w.snap_fills("BTCUSDT", Vec::new());
        w.db_order(order_rec(
            "BTCUSDT",
            3,
            OrderStatus::Filled,
            dec!(1),
            dec!(1),
        ));
        w.db_order(order_rec(
            "BTCUSDT",
            5,
            OrderStatus::Unknown,
            dec!(1),
            dec!(0),
        ));
        w.db_order(order_rec("BTCUSDT", 8, OrderStatus::New, dec!(1), dec!(0)));
        let out = plan_symbol(&w.input(), &sym("BTCUSDT"));
        assert_eq!(
            (out.checkpoint.open_orders, out.checkpoint.order_watermark),
            (2, Some(5))
        );
        let write = out
            .plan
            .corrections
            .iter()
            .find(|c| c.kind == CorrectionKind::CursorAdvanced)
            .expect("a first checkpoint");
        assert_eq!(cursor_of(write).updated_at, w.now);
    }

    /// An emergency is done for a symbol by its read to the end only once no re-scan is
    /// owed: an active symbol read to the end before its re-scan is not done.
    #[test]
    fn an_emergency_is_not_done_while_the_symbol_owes_its_rescan() {
        let mut w = World::new();
        w.recs.cursors.insert(
            sym("BTCUSDT"),
            CursorRecord {
                emergency_done: None,
                ..cursor_at(4)
            },
        );
        w.snap.emergency_requested_at = Some(50_000);
        w.snap.emergency_lookback_start = Some(1_000);
        w.snap_fills("BTCUSDT", Vec::new());
        let out = plan_symbol(&w.input(), &sym("BTCUSDT"));
        assert_eq!(out.checkpoint.emergency_done, None);

        // Quiet within the lookback: the read to the end is all it owes.
        w.snap.emergency_lookback_start = Some(6_000);
        let out = plan_symbol(&w.input(), &sym("BTCUSDT"));
        assert_eq!(out.checkpoint.emergency_done, Some(50_000));
    }

    fn page(from_order_id: u64, ids: &[u64], complete: bool) -> OrderPage {
        OrderPage {
            from_order_id,
            orders: ids
                .iter()
                .map(|&id| bot_order(id, OrderStatus::Canceled, dec!(0)))
                .collect(),
            complete,
        }
    }

    /// The order checkpoint moves to the last order of the page read that is older than
    /// the history's lag, never back; a full page leaves more orders to read (work in
    /// progress, not an unread symbol: `pending` is the fills' alone).
    #[test]
    fn the_order_checkpoint_moves_to_the_pages_last_settled_order_and_a_full_page_is_pending() {
        let mut w = World::new();
        w.config.history_lag_ms = 5_000;
        w.snap_fills("BTCUSDT", Vec::new());
        if let Some(h) = w.snap.history.get_mut(&sym("BTCUSDT")) {
            h.read_at = 10_000;
        }
        let mut full = page(0, &[3, 7, 9], false);
        full.orders[2].time = 6_000; // placed within the lag: may have a neighbour to come
        w.snap.order_pages.insert(sym("BTCUSDT"), full);
        let out = plan_symbol(&w.input(), &sym("BTCUSDT"));
        assert_eq!(
            (
                out.checkpoint.orders_through,
                out.checkpoint.orders_pending,
                out.checkpoint.pending
            ),
            (Some(7), true, false)
        );

        w.recs
            .cursors
            .insert(sym("BTCUSDT"), out.checkpoint.clone());
        w.snap
            .order_pages
            .insert(sym("BTCUSDT"), page(8, &[], true));
        let out = plan_symbol(&w.input(), &sym("BTCUSDT"));
        assert_eq!(
            (out.checkpoint.orders_through, out.checkpoint.orders_pending),
            (Some(7), false)
        );

        // No page read (a unit before the symbol's last page): unchanged.
        w.snap.order_pages.clear();
        let out = plan_symbol(&w.input(), &sym("BTCUSDT"));
        assert_eq!(out.checkpoint.orders_through, Some(7));
    }

    /// A unit that read the order history stamps the read's time; a later unit that reads
    /// nothing new keeps it; one that reads fills past the checkpoint without the order
    /// history (none read, or the page waits) clears it: the orders of those fills are owed.
    #[test]
    fn the_order_history_read_time_is_stamped_by_its_read_and_cleared_by_fills_read_without_it() {
        let btc = sym("BTCUSDT");
        let mut w = World::new();
        let read_at = |w: &mut World, at| {
            if let Some(h) = w.snap.history.get_mut(&btc) {
                h.read_at = at;
            }
        };
        w.snap_fills("BTCUSDT", Vec::new());
        read_at(&mut w, 50_000);
        w.snap.order_pages.insert(btc.clone(), page(0, &[3], true));
        let out = plan_symbol(&w.input(), &btc);
        assert_eq!(out.checkpoint.orders_read_at, Some(50_000));

        w.recs.cursors.insert(btc.clone(), out.checkpoint.clone());
        w.snap.order_pages.clear();
        read_at(&mut w, 90_000);
        let out = plan_symbol(&w.input(), &btc);
        assert_eq!(
            out.checkpoint.orders_read_at,
            Some(50_000),
            "nothing new: kept"
        );

        let buy = fill(
            "BTCUSDT",
            1,
            3,
            Side::Buy,
            dec!(100),
            dec!(1),
            dec!(0),
            "USDT",
            80_000,
        );
        w.snap_fills("BTCUSDT", vec![buy.clone()]);
        read_at(&mut w, 90_000);
        let out = plan_symbol(&w.input(), &btc);
        assert_eq!(
            (out.checkpoint.last_trade_id, out.checkpoint.orders_read_at),
            (Some(1), None),
            "a new fill read without the order history: owed"
        );

        // The same fill with the order history read: stamped.
        w.snap.order_pages.insert(btc.clone(), page(4, &[], true));
        let out = plan_symbol(&w.input(), &btc);
        assert_eq!(out.checkpoint.orders_read_at, Some(90_000));
    }

    /// A read to the end covers the fills up to its time less the history lag; the
    /// highest order id seen counts the symbol's own open orders only.
    #[test]
    fn a_read_to_the_end_covers_its_time_less_the_lag_and_sees_its_own_orders() {
        let mut w = World::new();
        w.config.history_lag_ms = 5_000;
        w.snap_fills("BTCUSDT", Vec::new());
        if let Some(h) = w.snap.history.get_mut(&sym("BTCUSDT")) {
            h.read_at = 100_000;
        }
        let open = |symbol: &str, id| {
            ex_order(
                symbol,
                id,
                "bot-x",
                Side::Buy,
                dec!(1),
                dec!(1),
                dec!(0),
                OrderStatus::New,
            )
        };
        w.snap.open_orders = vec![open("BTCUSDT", 4), open("ETHUSDT", 90)];
        let out = plan_symbol(&w.input(), &sym("BTCUSDT"));
        assert_eq!(out.checkpoint.covered_through, Some(95_000));
        assert_eq!(out.checkpoint.last_order_id, Some(4));
    }
}
