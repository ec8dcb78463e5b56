//! A conditional write lost to a bot write (or to a retried invocation of this run).
//!
//! Rules: the sync never overwrites newer data within a run. When the write of a
//! correction fails its condition, the store reads the item again and asks
//! [`resolve_conflict`]:
//! - `Resolved` when the item now there already says what the sync wanted: the meaningful
//!   fields are equal (decimals compared as numbers; `version`, `updated_at`,
//!   `updated_by` ignored). This also covers an `Expect::Absent` insert that meets the
//!   same item (a retried invocation already wrote it). A trade is the same when it is the
//!   same fill (the bot's own P&L and fee conversion of it are kept); a cursor is resolved
//!   when it is already at or past the wanted trade id.
//! - `Deferred` otherwise: the newer write wins now; the next run compares again.

use crate::domain::{Correction, CursorRecord, Record, Writer};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictResolution {
    /// The item already agrees with the correction: count it as done.
    Resolved,
    /// Newer data the sync did not see: leave it; the next run looks again.
    Deferred,
}

/// Decide what a lost conditional write means. `current` is the item as re-read (None
/// when absent).
pub fn resolve_conflict(correction: &Correction, current: Option<Record>) -> ConflictResolution {
    match current {
        Some(current) if same_content(&correction.after, &current) => ConflictResolution::Resolved,
        _ => ConflictResolution::Deferred,
    }
}

/// Equal in everything but bookkeeping fields.
pub fn same_content(wanted: &Record, current: &Record) -> bool {
    match (wanted, current) {
        (Record::Balance(a), Record::Balance(b)) => {
            a.asset == b.asset && a.free == b.free && a.locked == b.locked
        }
        (Record::Position(a), Record::Position(b))
        | (Record::PositionHistory(a), Record::PositionHistory(b)) => {
            let norm = |p: &crate::domain::PositionRecord| crate::domain::PositionRecord {
                version: 0,
                updated_at: 0,
                updated_by: Writer::Sync,
                recovered: false,
                ..p.clone()
            };
            norm(a) == norm(b)
        }
        (Record::Dust(a), Record::Dust(b)) => a.asset == b.asset && a.quantity == b.quantity,
        (Record::Order(a), Record::Order(b)) => {
            let norm = |o: &crate::domain::OrderRecord| crate::domain::OrderRecord {
                version: 0,
                updated_at: 0,
                updated_by: Writer::Sync,
                ..o.clone()
            };
            norm(a) == norm(b)
        }
        (Record::Trade(a), Record::Trade(b)) => {
            a.symbol == b.symbol
                && a.trade_id == b.trade_id
                && a.order_id == b.order_id
                && a.side == b.side
                && a.price == b.price
                && a.qty == b.qty
                && a.quote_qty == b.quote_qty
                && a.commission == b.commission
                && a.commission_asset == b.commission_asset
                && a.time == b.time
        }
        (Record::Cursor(a), Record::Cursor(b)) => cursor_at_or_past(a, b),
        (Record::Ledger(a), Record::Ledger(b)) => {
            let norm = |l: &crate::domain::LedgerRecord| crate::domain::LedgerRecord {
                version: 0,
                updated_at: 0,
                updated_by: Writer::Sync,
                ..l.clone()
            };
            norm(a) == norm(b)
        }
        _ => false,
    }
}

fn cursor_at_or_past(wanted: &CursorRecord, current: &CursorRecord) -> bool {
    wanted.symbol == current.symbol
        && match (wanted.last_trade_id, current.last_trade_id) {
            (Some(w), Some(c)) => c >= w,
            (None, _) => true,
            (Some(_), None) => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;
    use crate::domain::{BalanceRecord, CorrectionKind, Expect, OrderStatus, Side};
    use rust_decimal_macros::dec;

    fn balance(free: rust_decimal::Decimal, version: u64, by: Writer) -> BalanceRecord {
        BalanceRecord {
            asset: asset("USDT"),
            free,
            locked: dec!(0),
            version,
            updated_at: version as i64,
            updated_by: by,
            as_of: None,
        }
    }

    fn correction(after: Record, expect: Expect) -> Correction {
        Correction {
            kind: CorrectionKind::BalanceCorrected,
            expect,
            before: None,
            after,
            reason: String::new(),
        }
    }

    #[test]
    fn bot_write_wins_over_stale_correction() {
        let c = correction(
            Record::Balance(balance(dec!(100), 6, Writer::Sync)),
            Expect::Version(5),
        );
        let newer = Record::Balance(balance(dec!(90), 6, Writer::Bot));
        assert_eq!(
            resolve_conflict(&c, Some(newer)),
            ConflictResolution::Deferred
        );
        assert_eq!(resolve_conflict(&c, None), ConflictResolution::Deferred);
    }

    #[test]
    fn bot_write_that_agrees_resolves_the_conflict() {
        let c = correction(
            Record::Balance(balance(dec!(100), 6, Writer::Sync)),
            Expect::Version(5),
        );
        let agreeing = Record::Balance(balance(dec!(100.000), 7, Writer::Bot));
        assert_eq!(
            resolve_conflict(&c, Some(agreeing)),
            ConflictResolution::Resolved
        );
    }

    #[test]
    fn retried_insert_of_same_trade_is_resolved() {
        let mut t = trade(
            "BTCUSDT",
            5,
            Side::Buy,
            dec!(100),
            dec!(1),
            dec!(0.1),
            "BNB",
            dec!(30),
        );
        t.recovered = true;
        let c = correction(Record::Trade(t.clone()), Expect::Absent);
        let mut bot_version = t.clone();
        bot_version.recovered = false;
        bot_version.commission_quote = dec!(29.5);
        assert_eq!(
            resolve_conflict(&c, Some(Record::Trade(t.clone()))),
            ConflictResolution::Resolved
        );
        assert_eq!(
            resolve_conflict(&c, Some(Record::Trade(bot_version))),
            ConflictResolution::Resolved
        );
        let mut other = t;
        other.qty = dec!(2);
        assert_eq!(
            resolve_conflict(&c, Some(Record::Trade(other))),
            ConflictResolution::Deferred
        );
    }

    #[test]
    fn order_moved_further_by_bot_defers() {
        let want = order_rec(
            "BTCUSDT",
            1,
            OrderStatus::PartiallyFilled,
            dec!(1),
            dec!(0.5),
        );
        let bot = order_rec("BTCUSDT", 1, OrderStatus::Filled, dec!(1), dec!(1));
        let c = correction(Record::Order(want.clone()), Expect::Version(3));
        assert_eq!(
            resolve_conflict(&c, Some(Record::Order(bot))),
            ConflictResolution::Deferred
        );
        let mut same = want;
        same.version = 9;
        same.updated_by = Writer::Bot;
        assert_eq!(
            resolve_conflict(&c, Some(Record::Order(same))),
            ConflictResolution::Resolved
        );
    }

    #[test]
    fn cursor_already_past_is_resolved() {
        let cur = |id| CursorRecord {
            last_trade_id: Some(id),
            version: 2,
            ..CursorRecord::new(sym("BTCUSDT"))
        };
        let c = correction(Record::Cursor(cur(10)), Expect::Version(1));
        assert_eq!(
            resolve_conflict(&c, Some(Record::Cursor(cur(12)))),
            ConflictResolution::Resolved
        );
        assert_eq!(
            resolve_conflict(&c, Some(Record::Cursor(cur(9)))),
            ConflictResolution::Deferred
        );
    }

    #[test]
    fn a_position_already_written_by_a_retried_run_is_resolved_whoever_stamped_it() {
        let want = position("BTCUSDT", "BTC", dec!(0.5), dec!(50000), 100);
        let c = correction(Record::Position(want.clone()), Expect::Version(2));
        let mut there = want.clone();
        there.version = 7;
        there.updated_at = 999;
        there.updated_by = Writer::Sync;
        there.recovered = true;
        assert_eq!(
            resolve_conflict(&c, Some(Record::Position(there.clone()))),
            ConflictResolution::Resolved
        );
        there.quantity = dec!(0.4);
        assert_eq!(
            resolve_conflict(&c, Some(Record::Position(there))),
            ConflictResolution::Deferred
        );
    }

    #[test]
    fn a_dust_record_of_the_same_quantity_is_resolved_and_another_quantity_deferred() {
        let c = correction(Record::Dust(dust("BTC", dec!(0.00001))), Expect::Absent);
        let mut there = dust("BTC", dec!(0.000010));
        there.version = 9;
        assert_eq!(
            resolve_conflict(&c, Some(Record::Dust(there))),
            ConflictResolution::Resolved
        );
        assert_eq!(
            resolve_conflict(&c, Some(Record::Dust(dust("BTC", dec!(0.00002))))),
            ConflictResolution::Deferred
        );
    }

    #[test]
    fn an_order_the_bot_rewrote_with_the_same_content_later_is_resolved() {
        let mut want = order_rec("BTCUSDT", 1, OrderStatus::Filled, dec!(1), dec!(1));
        want.updated_by = Writer::Sync;
        want.updated_at = 7;
        let c = correction(Record::Order(want.clone()), Expect::Version(3));
        let mut there = want;
        there.updated_by = Writer::Bot;
        there.updated_at = 99;
        assert_eq!(
            resolve_conflict(&c, Some(Record::Order(there))),
            ConflictResolution::Resolved
        );
    }

    /// A flow written by an earlier attempt of the run (Lambda retried it): done, not a
    /// conflict; one whose status moved since is newer and left to the next run.
    #[test]
    fn a_flow_already_recorded_alike_is_resolved_and_one_with_another_status_deferred() {
        use crate::domain::{FlowStatus, LedgerRecord, Wallet};
        let flow = deposit_flow("d1", "USDT", dec!(5), Wallet::Spot, FlowStatus::Pending, 9);
        let rec = |status, version, updated_at| LedgerRecord {
            kind: flow.kind,
            id: flow.id.clone(),
            time: flow.time,
            status,
            exchange_status: flow.exchange_status.clone(),
            completed_at: None,
            legs: flow.legs.clone(),
            unverifiable: false,
            version,
            updated_at,
            updated_by: Writer::Sync,
        };
        let c = correction(
            Record::Ledger(rec(FlowStatus::Pending, 1, 7)),
            Expect::Absent,
        );
        assert_eq!(
            resolve_conflict(&c, Some(Record::Ledger(rec(FlowStatus::Pending, 1, 5)))),
            ConflictResolution::Resolved
        );
        assert_eq!(
            resolve_conflict(&c, Some(Record::Ledger(rec(FlowStatus::Done, 2, 8)))),
            ConflictResolution::Deferred
        );
    }
}
