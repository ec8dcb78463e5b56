//! The cost-basis method, used everywhere: **average cost** (see `docs/pnl.md`).
//!
//! - A buy adds the quantity received at its price plus its fee in the quote asset. A fee
//!   paid in the base asset reduces the quantity received instead (it is then not also
//!   added to the cost, which would count it twice).
//! - A sell realizes `(price − avg_cost) × qty − fee_quote` and reduces the quantity; the
//!   average cost of what is left does not change.
//! - A sell of more than the known holding (history read only partly) realizes gross P&L
//!   only on the covered part: the cost of the rest is unknown, so its gross P&L is taken
//!   as zero rather than invented. Its fee is still a cost.
//! - Fills are replayed in execution order: trades in trade-id order (the exchange's own
//!   order of execution), an SOR allocation among them by its time (`sor.rs`).

use crate::domain::{Asset, Basis, FillSource, Side, TradeRecord};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Apply one fill to `basis`; returns the realized P&L for a sell, None for a buy. The
/// caller applies fills in execution order, each once (`basis.through` records the last
/// trade, `basis.alloc_through` the last allocation, `basis.folded_at` the last time).
pub fn apply(basis: &mut Basis, fill: &TradeRecord, base: &Asset) -> Option<Decimal> {
    pass_over(basis, fill);
    basis.folded_at = Some(basis.folded_at.map_or(fill.time, |t| t.max(fill.time)));
    match fill.side {
        Side::Buy => {
            let (received, cost) = if &fill.commission_asset == base {
                (fill.qty - fill.commission, fill.price * fill.qty)
            } else {
                (fill.qty, fill.price * fill.qty + fill.commission_quote)
            };
            let new_qty = basis.qty + received;
            if new_qty > Decimal::ZERO {
                basis.avg_cost = (basis.qty * basis.avg_cost + cost) / new_qty;
                if basis.qty <= Decimal::ZERO {
                    // A new holding: its round trip starts here.
                    basis.open_since = Some(fill.time);
                    basis.sold_qty = Decimal::ZERO;
                    basis.sold_value = Decimal::ZERO;
                    basis.sold_realized = Decimal::ZERO;
                    basis.last_sell_at = None;
                }
                basis.qty = new_qty;
            }
            None
        }
        Side::Sell => {
            let covered = fill.qty.min(basis.qty.max(Decimal::ZERO));
            let pnl = (fill.price - basis.avg_cost) * covered - fill.commission_quote;
            basis.qty -= covered;
            if basis.qty <= Decimal::ZERO {
                basis.qty = Decimal::ZERO;
                basis.avg_cost = Decimal::ZERO;
                basis.open_since = None;
            }
            basis.realized += pnl;
            basis.sold_qty += fill.qty;
            basis.sold_value += fill.price * fill.qty;
            basis.sold_realized += pnl;
            basis.last_sell_at = Some(fill.time);
            Some(pnl)
        }
    }
}

/// Pass over a fill the basis does not hold (the owner's, with bot-only positions): its
/// sequence's watermark moves past it, nothing else.
pub fn pass_over(basis: &mut Basis, fill: &TradeRecord) {
    let last = match fill.source {
        FillSource::Trade => &mut basis.through,
        FillSource::Sor => &mut basis.alloc_through,
    };
    *last = Some(last.map_or(fill.trade_id, |t| t.max(fill.trade_id)));
}

/// Replay fills from an empty basis (any order in; replayed in execution order,
/// `sor::execution_order`). Returns the final basis and the realized P&L of each sell, by
/// (id sequence, id). The from-scratch reference every incremental basis must equal.
pub fn replay<'a>(
    fills: impl IntoIterator<Item = &'a TradeRecord>,
    base: &Asset,
) -> (Basis, BTreeMap<(FillSource, u64), Decimal>) {
    let (trades, allocs): (BTreeMap<u64, &TradeRecord>, BTreeMap<u64, &TradeRecord>) = {
        let (mut t, mut a) = (BTreeMap::new(), BTreeMap::new());
        for f in fills {
            match f.source {
                FillSource::Trade => t.insert(f.trade_id, f),
                FillSource::Sor => a.insert(f.trade_id, f),
            };
        }
        (t, a)
    };
    let mut basis = Basis::default();
    let mut realized = BTreeMap::new();
    for fill in super::sor::execution_order(trades.into_values(), allocs.into_values()) {
        if let Some(pnl) = apply(&mut basis, fill, base) {
            realized.insert((fill.source, fill.trade_id), pnl);
        }
    }
    (basis, realized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;
    use rust_decimal_macros::dec;

    #[test]
    fn average_cost_includes_quote_fees_and_sells_realize_against_it() {
        let base = asset("BTC");
        let b1 = trade(
            "BTCUSDT",
            1,
            Side::Buy,
            dec!(100),
            dec!(1),
            dec!(1),
            "USDT",
            dec!(1),
        );
        let b2 = trade(
            "BTCUSDT",
            2,
            Side::Buy,
            dec!(200),
            dec!(1),
            dec!(1),
            "USDT",
            dec!(1),
        );
        let s3 = trade(
            "BTCUSDT",
            3,
            Side::Sell,
            dec!(300),
            dec!(1),
            dec!(2),
            "USDT",
            dec!(2),
        );
        let (basis, realized) = replay([&s3, &b1, &b2], &base);
        // avg cost = (100 + 1 + 200 + 1) / 2 = 151; sell: (300 - 151) * 1 - 2 = 147
        assert_eq!(realized.get(&(FillSource::Trade, 3)), Some(&dec!(147)));
        assert_eq!(basis.qty, dec!(1));
        assert_eq!(basis.avg_cost, dec!(151));
    }

    #[test]
    fn fee_in_base_reduces_quantity_received() {
        let base = asset("BTC");
        // 0.5 BTC bought at 100 (50 USDT paid), 0.0005 BTC of it kept as the fee.
        let b = trade(
            "BTCUSDT",
            1,
            Side::Buy,
            dec!(100),
            dec!(0.5),
            dec!(0.0005),
            "BTC",
            dec!(0.05),
        );
        let (basis, _) = replay([&b], &base);
        assert_eq!(basis.qty, dec!(0.4995));
        assert_eq!(basis.avg_cost * dec!(0.4995), dec!(50));
    }

    /// A fill whose whole quantity went to its fee adds nothing and divides by nothing.
    #[test]
    fn a_buy_whose_whole_quantity_went_to_its_fee_leaves_the_basis_as_it_was() {
        let base = asset("BTC");
        let b = trade(
            "BTCUSDT",
            1,
            Side::Buy,
            dec!(100),
            dec!(0.0001),
            dec!(0.0001),
            "BTC",
            dec!(0.01),
        );
        let (basis, _) = replay([&b], &base);
        assert_eq!(
            (basis.qty, basis.avg_cost, basis.open_since, basis.through),
            (dec!(0), dec!(0), None, Some(1))
        );
    }

    /// The sells of a round trip accumulate quantity and value (price × quantity), from
    /// which a close takes its exit price.
    #[test]
    fn sells_accumulate_their_quantity_and_value_for_the_exit_price() {
        let base = asset("BTC");
        let fills = [
            trade(
                "BTCUSDT",
                1,
                Side::Buy,
                dec!(40000),
                dec!(0.005),
                dec!(0),
                "USDT",
                dec!(0),
            ),
            trade(
                "BTCUSDT",
                2,
                Side::Sell,
                dec!(50000),
                dec!(0.001),
                dec!(0),
                "USDT",
                dec!(0),
            ),
            trade(
                "BTCUSDT",
                3,
                Side::Sell,
                dec!(54000),
                dec!(0.003),
                dec!(0),
                "USDT",
                dec!(0),
            ),
        ];
        let (basis, realized) = replay(fills.iter(), &base);
        assert_eq!(
            (basis.sold_qty, basis.sold_value, basis.qty),
            (dec!(0.004), dec!(212), dec!(0.001))
        );
        // (50000 − 40000) × 0.001 + (54000 − 40000) × 0.003 = 10 + 42
        assert_eq!(
            (
                realized[&(FillSource::Trade, 2)],
                realized[&(FillSource::Trade, 3)]
            ),
            (dec!(10), dec!(42))
        );
        assert_eq!((basis.realized, basis.sold_realized), (dec!(52), dec!(52)));
    }

    #[test]
    fn sell_beyond_known_holding_realizes_only_the_covered_part() {
        let base = asset("BTC");
        let b = trade(
            "BTCUSDT",
            1,
            Side::Buy,
            dec!(100),
            dec!(1),
            dec!(0),
            "USDT",
            dec!(0),
        );
        let s = trade(
            "BTCUSDT",
            2,
            Side::Sell,
            dec!(150),
            dec!(3),
            dec!(1),
            "USDT",
            dec!(1),
        );
        let (basis, realized) = replay([&b, &s], &base);
        assert_eq!(realized.get(&(FillSource::Trade, 2)), Some(&dec!(49)));
        assert_eq!(basis.qty, dec!(0));
        assert_eq!(basis.open_since, None);
    }
}
