//! When a symbol's last-page unit reads its order history (`allOrders`, weight 20).
//!
//! The order history exists so that every order placed since the order checkpoint
//! (`orders_through`) gets a record, bot or external, whatever its final status, and so
//! that every recorded trade's order exists (`orders.rs`). Reading it on every read of
//! every symbol doubled what a rotated or quiet symbol costs; most reads find nothing,
//! so it is read only when it can have changed or is owed:
//!
//! Rules:
//! - **Never read** (`orders_read_at` absent: a first read, or a checkpoint written before
//!   the field existed): read. It records the symbol's whole order history, a page a run.
//! - **Pending** (`orders_pending`: the last page was full): read, the next page.
//! - **New fills** in the unit's page (a trade id past `last_trade_id`): read. A fill's
//!   order may have no record (a market order placed and filled between two runs).
//!   A unit that reads new fills without reading the order history (a page before the
//!   symbol's last, a page that waits before a fee) clears `orders_read_at`
//!   (`checkpoint.rs`), so the unit that ends the symbol, even in a later run, reads it.
//! - **An open order above the order checkpoint** among the open orders the run read
//!   (`openOrders`, read when a locked amount moved or in an emergency): read. The open
//!   order gets its record from the open orders anyway, but it proves that orders were
//!   placed since the checkpoint, and those placed beside it and finished without a fill
//!   (a bot's cancel-and-replace) have no other way to a record. Once the history has
//!   passed the order it no longer asks: the cost is one read per burst of new orders.
//! - **Due**: the last read of the order history is [`REREAD_MS`] (24 hours, the
//!   rotation's period) old or older: read. Nothing else shows an order placed and
//!   cancelled or expired with no fill between two runs (the balances end where they
//!   were), so this is its bound: such an order gets its record at the first read of the
//!   symbol at least 24 hours after the last order-history read, i.e. within 24 hours
//!   plus one rotation (every symbol is read within 24 hours at the default rotation: at
//!   most 48 hours in all).
//! - Otherwise not read: the records of the orders open or unknown in the records are
//!   still loaded from the watermark and looked up one by one (`scope::orders_to_query`),
//!   so the bot's own orders settle every read as before.
//!
//! An emergency follows the same rule (a quiet symbol's emergency read costs its forward
//! read alone); it reads the open orders, so a symbol with an order open since the
//! checkpoint reads its history.

use crate::domain::{CursorRecord, ExchangeOrder, Fill, Millis, Symbol};

/// How long a symbol's order history may go unread while nothing shows it changed: the
/// rotation's period (`scope::rotation_share` covers every symbol within a day).
pub const REREAD_MS: Millis = super::scope::DAY_MS;

/// Why a unit reads the symbol's order history (the first rule that holds, in the
/// module's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    NeverRead,
    Pending,
    NewFills,
    OpenOrderAbove,
    Due,
}

/// Whether the unit that read `page` (the symbol's last page of fills, from `cursor`)
/// reads the order history at `now`, and why; None when it cannot have changed and is
/// not owed. `open_orders`: the open orders the run read (None when it did not read
/// them), any symbol's.
pub fn read_reason(
    cursor: &CursorRecord,
    symbol: &Symbol,
    page: &[Fill],
    open_orders: Option<&[ExchangeOrder]>,
    now: Millis,
) -> Option<Reason> {
    let Some(read_at) = cursor.orders_read_at else {
        return Some(Reason::NeverRead);
    };
    if cursor.orders_pending {
        return Some(Reason::Pending);
    }
    let is_new = |trade_id: u64| cursor.last_trade_id.is_none_or(|last| trade_id > last);
    if page
        .iter()
        .any(|f| &f.symbol == symbol && is_new(f.trade_id))
    {
        return Some(Reason::NewFills);
    }
    let above = |order_id: u64| cursor.orders_through.is_none_or(|t| order_id > t);
    if open_orders
        .unwrap_or_default()
        .iter()
        .any(|o| &o.symbol == symbol && above(o.order_id))
    {
        return Some(Reason::OpenOrderAbove);
    }
    if now - read_at >= REREAD_MS {
        return Some(Reason::Due);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;
    use crate::domain::{OrderStatus, Side};
    use rust_decimal_macros::dec;

    const NOW: Millis = 10 * REREAD_MS;

    /// BTCUSDT read through trade 41 and order 7, its order history read an hour ago.
    fn quiet() -> CursorRecord {
        CursorRecord {
            last_trade_id: Some(41),
            orders_through: Some(7),
            orders_read_at: Some(NOW - 3_600_000),
            ..CursorRecord::new(sym("BTCUSDT"))
        }
    }

    fn reason(c: &CursorRecord, page: &[Fill], open: Option<&[ExchangeOrder]>) -> Option<Reason> {
        read_reason(c, &sym("BTCUSDT"), page, open, NOW)
    }

    fn btc_fill(trade_id: u64) -> Fill {
        fill(
            "BTCUSDT",
            trade_id,
            9,
            Side::Buy,
            dec!(100),
            dec!(1),
            dec!(0),
            "USDT",
            NOW,
        )
    }

    fn open(symbol: &str, order_id: u64) -> ExchangeOrder {
        ex_order(
            symbol,
            order_id,
            "bot-x",
            Side::Buy,
            dec!(100),
            dec!(1),
            dec!(0),
            OrderStatus::New,
        )
    }

    /// A quiet symbol read again within 24 hours of its last order-history read, with no
    /// new fill, no page owed and no open order above its checkpoint, reads no history.
    #[test]
    fn a_quiet_symbol_read_again_within_a_day_reads_no_order_history() {
        assert_eq!(reason(&quiet(), &[], None), None);
        assert_eq!(reason(&quiet(), &[], Some(&[])), None);
        let almost = CursorRecord {
            orders_read_at: Some(NOW - REREAD_MS + 1),
            ..quiet()
        };
        assert_eq!(reason(&almost, &[], None), None);
    }

    /// A checkpoint that never read the history (or was written before `orders_read_at`
    /// existed) reads it, whatever else holds.
    #[test]
    fn a_symbol_whose_order_history_was_never_read_reads_it() {
        let never = CursorRecord {
            orders_read_at: None,
            ..quiet()
        };
        assert_eq!(reason(&never, &[], None), Some(Reason::NeverRead));
        let fresh = CursorRecord::new(sym("BTCUSDT"));
        assert_eq!(reason(&fresh, &[], None), Some(Reason::NeverRead));
    }

    /// A full last page of orders leaves more to read: the next unit reads on.
    #[test]
    fn a_symbol_with_orders_pending_reads_its_order_history() {
        let pending = CursorRecord {
            orders_pending: true,
            ..quiet()
        };
        assert_eq!(reason(&pending, &[], None), Some(Reason::Pending));
    }

    /// A page with a fill past the checkpoint reads the history (its order may have no
    /// record); fills at or below the checkpoint, or of another symbol, do not.
    #[test]
    fn a_symbol_with_a_new_fill_reads_its_order_history() {
        assert_eq!(
            reason(&quiet(), &[btc_fill(42)], None),
            Some(Reason::NewFills)
        );
        assert_eq!(reason(&quiet(), &[btc_fill(41)], None), None);
        let mut other = btc_fill(50);
        other.symbol = sym("ETHUSDT");
        assert_eq!(reason(&quiet(), &[other], None), None);
        let no_fill_yet = CursorRecord {
            last_trade_id: None,
            ..quiet()
        };
        assert_eq!(
            reason(&no_fill_yet, &[btc_fill(0)], None),
            Some(Reason::NewFills)
        );
    }

    /// An open order of the symbol above the order checkpoint reads the history; one at
    /// or below it, or another symbol's, does not. With no order checkpoint yet any open
    /// order of the symbol does.
    #[test]
    fn an_open_order_placed_since_the_order_checkpoint_reads_the_order_history() {
        let above = [open("BTCUSDT", 8)];
        assert_eq!(
            reason(&quiet(), &[], Some(&above)),
            Some(Reason::OpenOrderAbove)
        );
        let old_or_other = [open("BTCUSDT", 7), open("ETHUSDT", 99)];
        assert_eq!(reason(&quiet(), &[], Some(&old_or_other)), None);
        let no_order_yet = CursorRecord {
            orders_through: None,
            ..quiet()
        };
        assert_eq!(
            reason(&no_order_yet, &[], Some(&[open("BTCUSDT", 1)])),
            Some(Reason::OpenOrderAbove)
        );
    }

    /// The history last read 24 hours ago or earlier is due: an order placed and
    /// cancelled with no fill is found by this read.
    #[test]
    fn a_symbol_whose_order_history_was_read_a_day_ago_reads_it_again() {
        let day_old = CursorRecord {
            orders_read_at: Some(NOW - REREAD_MS),
            ..quiet()
        };
        assert_eq!(reason(&day_old, &[], None), Some(Reason::Due));
    }
}
