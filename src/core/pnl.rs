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
//! - Fills are replayed in trade-id order (the exchange's own order of execution).

use crate::domain::{Asset, Millis, Side, TradeRecord};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The state of a holding after replaying fills.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CostBasis {
    /// Quantity held according to the fills replayed.
    pub qty: Decimal,
    /// Average cost per unit of `qty`, in quote (zero when `qty` is zero).
    pub avg_cost: Decimal,
    /// Sum of the realized P&L of every sell replayed.
    pub realized: Decimal,
    /// Time of the buy that started the current holding (after the last time it was flat).
    pub open_since: Option<Millis>,
}

impl CostBasis {
    /// Apply one fill; returns the realized P&L for a sell, None for a buy.
    pub fn apply(&mut self, fill: &TradeRecord, base: &Asset) -> Option<Decimal> {
        match fill.side {
            Side::Buy => {
                let (received, cost) = if &fill.commission_asset == base {
                    (fill.qty - fill.commission, fill.price * fill.qty)
                } else {
                    (fill.qty, fill.price * fill.qty + fill.commission_quote)
                };
                let new_qty = self.qty + received;
                if new_qty > Decimal::ZERO {
                    self.avg_cost = (self.qty * self.avg_cost + cost) / new_qty;
                    if self.qty <= Decimal::ZERO {
                        self.open_since = Some(fill.time);
                    }
                    self.qty = new_qty;
                }
                None
            }
            Side::Sell => {
                let covered = fill.qty.min(self.qty.max(Decimal::ZERO));
                let pnl = (fill.price - self.avg_cost) * covered - fill.commission_quote;
                self.qty -= covered;
                if self.qty <= Decimal::ZERO {
                    self.qty = Decimal::ZERO;
                    self.avg_cost = Decimal::ZERO;
                    self.open_since = None;
                }
                self.realized += pnl;
                Some(pnl)
            }
        }
    }
}

/// Replay fills (any order in; replayed by trade id). Returns the final basis and the
/// realized P&L of each sell, by trade id.
pub fn replay<'a>(
    fills: impl IntoIterator<Item = &'a TradeRecord>,
    base: &Asset,
) -> (CostBasis, BTreeMap<u64, Decimal>) {
    let ordered: BTreeMap<u64, &TradeRecord> = fills.into_iter().map(|f| (f.trade_id, f)).collect();
    let mut basis = CostBasis::default();
    let mut realized = BTreeMap::new();
    for (id, fill) in ordered {
        if let Some(pnl) = basis.apply(fill, base) {
            realized.insert(id, pnl);
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
        assert_eq!(realized.get(&3), Some(&dec!(147)));
        assert_eq!(basis.qty, dec!(1));
        assert_eq!(basis.avg_cost, dec!(151));
    }

    #[test]
    fn fee_in_base_reduces_quantity_received() {
        let base = asset("BTC");
        let b = trade(
            "BTCUSDT",
            1,
            Side::Buy,
            dec!(100),
            dec!(1),
            dec!(0.01),
            "BTC",
            dec!(1),
        );
        let (basis, _) = replay([&b], &base);
        assert_eq!(basis.qty, dec!(0.99));
        assert_eq!(basis.avg_cost * dec!(0.99), dec!(100));
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
        assert_eq!(realized.get(&2), Some(&dec!(49)));
        assert_eq!(basis.qty, dec!(0));
        assert_eq!(basis.open_since, None);
    }
}
