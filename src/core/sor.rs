//! Smart Order Routing (SOR) fills: allocations, read and replayed beside the trades.
//!
//! Rules:
//! - An order sent through SOR fills with *allocations* (`myAllocations`), never trades:
//!   `myTrades` does not list them. A symbol listed under an SOR configuration
//!   (`SymbolInfo::sor`) has its allocations read with its fills, by allocation id from
//!   the checkpoint's `last_alloc_id` (or, while its basis is rebuilt, from the basis's
//!   next allocation), one page per unit.
//! - An allocation id is not a trade id (the two sequences overlap), so an SOR fill is a
//!   trade record in a key space of its own (`source: sor`, sort key
//!   `TRADE#<SYMBOL>#SOR#<allocationId>`), recovered, fee-converted and explained like a
//!   trade: every allocation not recorded is inserted (`TradeRecovered`, `Expect::Absent`);
//!   one recorded with another side, price or quantity is kept and reported
//!   (`trade_disagrees:<SYMBOL>:SOR#<ID>`). A fee in a third asset with no price at its
//!   minute is recorded unpriced at once (`fee_unpriced`, reported), never at another
//!   price: allocations do not make the trades' read wait.
//! - The cost basis replays trades and allocations in execution order
//!   ([`execution_order`]): each sequence in its own id order, an allocation before a
//!   trade only when it is strictly earlier (the same millisecond: the trade first).
//! - A page replays only what both sequences cover: when one was read short of its end,
//!   the other's fills after the last one read wait for the next page (the trades up to
//!   the last allocation's time, the allocations strictly before the last trade's); they
//!   are recorded now and replayed from the store then.
//! - An allocation the basis would take from before the last fill it replayed (listed
//!   late, or read for the first time by a basis built from trades alone), or, once the
//!   basis holds allocations, such a trade, means the basis missed it: it is rebuilt from
//!   the exchange's fills, as for a trade found below it (`trades.rs`). A page of an SOR
//!   symbol read without its allocations (a re-scan by time) does not extend the basis.

use super::{trades, ReconcileInput, SymbolPlan};
use crate::domain::{AllocationsRead, Asset, Basis, FillSource, Millis, Symbol, TradeRecord};
use std::collections::BTreeMap;

/// Trades and allocations (each ascending by its own id) in execution order.
pub fn execution_order<'a>(
    trades: impl IntoIterator<Item = &'a TradeRecord>,
    allocations: impl IntoIterator<Item = &'a TradeRecord>,
) -> Vec<&'a TradeRecord> {
    let mut trades = trades.into_iter().peekable();
    let mut allocations = allocations.into_iter().peekable();
    let mut out = Vec::new();
    loop {
        let take_alloc = match (trades.peek(), allocations.peek()) {
            (None, None) => return out,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (Some(t), Some(a)) => a.time < t.time,
        };
        let next = if take_alloc {
            allocations.next()
        } else {
            trades.next()
        };
        out.extend(next);
    }
}

/// Whether the symbol's allocations are part of its fills: listed under SOR, or read.
pub(super) fn is_sor_symbol(input: &ReconcileInput<'_>, symbol: &Symbol) -> bool {
    input.snapshot.symbols.get(symbol).is_some_and(|i| i.sor)
        || input
            .snapshot
            .history
            .get(symbol)
            .is_some_and(|h| h.allocations.is_some())
}

/// The symbol's recorded allocations, by allocation id.
pub(super) fn known<'a>(
    input: &ReconcileInput<'a>,
    symbol: &Symbol,
) -> BTreeMap<u64, &'a TradeRecord> {
    input
        .records
        .allocations
        .range((symbol.clone(), 0)..=(symbol.clone(), u64::MAX))
        .map(|((_, id), t)| (*id, t))
        .collect()
}

/// The allocations of `read` not recorded yet, as the records the sync inserts; those
/// recorded otherwise than the exchange has them are reported.
pub(super) fn recover(
    input: &ReconcileInput<'_>,
    symbol: &Symbol,
    (base, quote): (&Asset, &Asset),
    read: &AllocationsRead,
    known: &BTreeMap<u64, &TradeRecord>,
    out: &mut SymbolPlan,
) -> BTreeMap<u64, TradeRecord> {
    let mut new = BTreeMap::new();
    for fill in &read.fills {
        if let Some(recorded) = known.get(&fill.trade_id) {
            if let Some(mut d) = trades::disagreement(symbol, recorded, fill) {
                d.key = format!("trade_disagrees:{symbol}:SOR#{}", fill.trade_id);
                d.message = d.message.replacen(
                    &format!("Recorded trade {}", fill.trade_id),
                    &format!("Recorded SOR allocation {}", fill.trade_id),
                    1,
                );
                out.plan.discrepancies.push(d);
            }
            continue;
        }
        let (commission_quote, fee_unpriced) = match trades::commission_in_quote(
            fill,
            base,
            quote,
            input.snapshot,
        ) {
            Some(q) => (q, false),
            None => {
                out.plan.discrepancies.push(trades::fee_unpriced(
                    symbol,
                    &format!("SOR#{}", fill.trade_id),
                    &fill.commission_asset,
                    format!(
                        "No price for {}{quote} at {}: SOR allocation {} of {symbol} recorded with its fee unpriced ({quote} value 0, fee_unpriced)",
                        fill.commission_asset,
                        super::minute_start(fill.time),
                        fill.trade_id
                    ),
                ));
                (rust_decimal::Decimal::ZERO, true)
            }
        };
        let record = TradeRecord {
            source: FillSource::Sor,
            fee_unpriced,
            ..trades::trade_record(symbol, fill, commission_quote)
        };
        new.insert(fill.trade_id, record);
    }
    new
}

/// What one page replays into the basis, in execution order (see the module's rules):
/// `trades` the trade candidates (past the basis, within the page), `allocations` the
/// recorded and recovered allocations past the basis, `read` this page's allocations.
pub(super) fn replayed<'a>(
    trades: Vec<&'a TradeRecord>,
    trades_complete: bool,
    allocations: &'a BTreeMap<u64, TradeRecord>,
    basis: &Basis,
    read: Option<&AllocationsRead>,
) -> Vec<&'a TradeRecord> {
    let Some(read) = read else {
        return trades;
    };
    let alloc_upto = if read.complete {
        u64::MAX
    } else {
        read.fills.iter().map(|f| f.trade_id).max().unwrap_or(0)
    };
    let allocs: Vec<&TradeRecord> = allocations
        .range(basis.next_alloc_id()..)
        .take_while(|(id, _)| **id <= alloc_upto)
        .map(|(_, t)| t)
        .collect();
    // What each sequence covers: all of it when read to its end, else up to its last fill.
    let trades_end = if trades_complete {
        Millis::MAX
    } else {
        trades.last().map_or(Millis::MIN, |t| t.time)
    };
    let allocs_end = if read.complete {
        Millis::MAX
    } else {
        allocs.last().map_or(Millis::MIN, |t| t.time)
    };
    // Ties go to the trade: an allocation at the last trade's millisecond waits for the
    // trades' next page, a trade at the last allocation's is replayed before it anyway.
    let trades = trades.into_iter().take_while(|t| t.time <= allocs_end);
    let allocs = allocs
        .into_iter()
        .take_while(|a| trades_complete || a.time < trades_end);
    execution_order(trades, allocs)
}

/// Whether the fills a page would replay reach back before the basis's last one (see the
/// module's rules): the basis missed them and is rebuilt.
pub(super) fn late(basis: &Basis, replayed: &[&TradeRecord]) -> bool {
    let has_allocs = replayed.iter().any(|t| t.source == FillSource::Sor);
    // A basis built before allocations were read knows no time to compare with.
    if has_allocs && basis.through.is_some() && basis.folded_at.is_none() {
        return true;
    }
    let Some(at) = basis.folded_at else {
        return false;
    };
    replayed
        .iter()
        .any(|t| t.time < at && (t.source == FillSource::Sor || basis.alloc_through.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;
    use crate::domain::Side;
    use rust_decimal_macros::dec;

    fn at(id: u64, time: Millis, source: FillSource) -> TradeRecord {
        TradeRecord {
            source,
            time,
            ..trade(
                "BTCUSDT",
                id,
                Side::Buy,
                dec!(100),
                dec!(1),
                dec!(0),
                "USDT",
                dec!(0),
            )
        }
    }

    fn order_of(fills: &[&TradeRecord]) -> Vec<(FillSource, u64)> {
        fills.iter().map(|t| (t.source, t.trade_id)).collect()
    }

    #[test]
    fn an_allocation_is_replayed_between_the_trades_it_came_between_and_after_one_at_its_millisecond(
    ) {
        use FillSource::{Sor, Trade};
        let trades = [at(1, 100, Trade), at(2, 200, Trade), at(3, 300, Trade)];
        let allocs = [at(1, 150, Sor), at(2, 300, Sor)];
        let order = execution_order(&trades, &allocs);
        assert_eq!(
            order_of(&order),
            [(Trade, 1), (Sor, 1), (Trade, 2), (Trade, 3), (Sor, 2)]
        );
    }

    #[test]
    fn a_page_replays_only_what_both_sequences_cover() {
        use FillSource::{Sor, Trade};
        let trades = [at(1, 100, Trade), at(2, 200, Trade)];
        let allocs: BTreeMap<u64, TradeRecord> =
            [at(0, 150, Sor), at(1, 200, Sor), at(2, 250, Sor)]
                .into_iter()
                .map(|a| (a.trade_id, a))
                .collect();
        let read = |complete: bool, ids: &[u64]| AllocationsRead {
            fills: ids
                .iter()
                .map(|id| {
                    fill(
                        "BTCUSDT",
                        *id,
                        1,
                        Side::Buy,
                        dec!(100),
                        dec!(1),
                        dec!(0),
                        "USDT",
                        0,
                    )
                })
                .collect(),
            from_id: 0,
            complete,
        };
        let basis = Basis::default();
        // The trades' page is short of their end: the allocations from the last trade's
        // millisecond on wait for the next page.
        let r = read(true, &[0, 1, 2]);
        let got = replayed(trades.iter().collect(), false, &allocs, &basis, Some(&r));
        assert_eq!(order_of(&got), [(Trade, 1), (Sor, 0), (Trade, 2)]);
        // The allocations' page is short of their end (it holds 0 only): the trades after
        // its last allocation wait.
        let r = read(false, &[0]);
        let got = replayed(trades.iter().collect(), true, &allocs, &basis, Some(&r));
        assert_eq!(order_of(&got), [(Trade, 1), (Sor, 0)]);
        // Both read to their ends: everything.
        let r = read(true, &[0, 1, 2]);
        let got = replayed(trades.iter().collect(), true, &allocs, &basis, Some(&r));
        assert_eq!(
            order_of(&got),
            [(Trade, 1), (Sor, 0), (Trade, 2), (Sor, 1), (Sor, 2)]
        );
    }

    #[test]
    fn an_allocation_from_before_the_basiss_last_fill_means_the_basis_missed_it() {
        use FillSource::{Sor, Trade};
        let basis = Basis {
            through: Some(5),
            folded_at: Some(500),
            ..Basis::default()
        };
        assert!(late(&basis, &[&at(0, 499, Sor)]));
        assert!(!late(&basis, &[&at(0, 500, Sor), &at(6, 600, Trade)]));
        // A trade before the last fill matters only once the basis holds allocations.
        assert!(!late(&basis, &[&at(6, 400, Trade)]));
        let with_allocs = Basis {
            alloc_through: Some(0),
            ..basis.clone()
        };
        assert!(late(&with_allocs, &[&at(6, 400, Trade)]));
        // Built from trades before allocations were read: no time to compare with.
        let legacy = Basis {
            folded_at: None,
            ..basis
        };
        assert!(late(&legacy, &[&at(0, 900, Sor)]));
        assert!(!late(&legacy, &[&at(6, 900, Trade)]));
    }

    /// Plan one unit of BTCUSDT from the given trade and allocation pages (each read to
    /// its end) and apply its writes to the world's records.
    fn unit_of(
        w: &mut World,
        trades: (u64, Vec<crate::domain::Fill>),
        allocs: (u64, Vec<crate::domain::Fill>),
    ) -> crate::core::SymbolPlan {
        let btc = sym("BTCUSDT");
        w.snap_fills_from("BTCUSDT", trades.0, trades.1, true);
        if let Some(h) = w.snap.history.get_mut(&btc) {
            h.allocations = Some(AllocationsRead {
                from_id: allocs.0,
                fills: allocs.1,
                complete: true,
            });
        }
        let unit = crate::core::plan_symbol(&w.input(), &btc);
        for c in &unit.plan.corrections {
            if let crate::domain::Record::Trade(t) = &c.after {
                let map = match t.source {
                    FillSource::Trade => &mut w.recs.trades,
                    FillSource::Sor => &mut w.recs.allocations,
                };
                map.insert((t.symbol.clone(), t.trade_id), t.clone());
            }
        }
        w.recs.cursors.insert(btc, unit.checkpoint.clone());
        unit
    }

    #[test]
    fn an_allocation_listed_after_later_trades_were_replayed_rebuilds_the_basis_to_the_replay() {
        use crate::domain::BasisState;
        let mut w = World::new();
        if let Some(info) = w.snap.symbols.get_mut(&sym("BTCUSDT")) {
            info.sor = true;
        }
        let f = |id, side, price, qty, time| {
            fill(
                "BTCUSDT",
                id,
                10 + id,
                side,
                price,
                qty,
                dec!(0),
                "USDT",
                time,
            )
        };
        let trades = vec![
            f(1, Side::Buy, dec!(100), dec!(1), 100),
            f(2, Side::Buy, dec!(200), dec!(1), 300),
        ];
        let late_sell = f(0, Side::Sell, dec!(150), dec!(0.5), 200);
        unit_of(&mut w, (0, trades.clone()), (0, vec![]));
        let btc = sym("BTCUSDT");
        assert_eq!(w.recs.cursors[&btc].basis.folded_at, Some(300));

        // The allocation made between the two buys is listed only now.
        let unit = unit_of(&mut w, (3, vec![]), (0, vec![late_sell.clone()]));
        assert_eq!(unit.checkpoint.basis_state, BasisState::Rebuilding);
        assert!(
            w.recs.allocations.contains_key(&(btc.clone(), 0)),
            "recorded at once"
        );

        // The rebuild reads both sequences from the start and replays them in order.
        let unit = unit_of(&mut w, (0, trades), (0, vec![late_sell]));
        let sell_pnl = unit.plan.corrections.iter().find_map(|c| match &c.after {
            crate::domain::Record::Trade(t) if t.source == FillSource::Sor => t.realized_pnl,
            _ => None,
        });
        let stored: Vec<&TradeRecord> = w
            .recs
            .trades
            .values()
            .chain(w.recs.allocations.values())
            .collect();
        let (expected, realized) = crate::core::pnl::replay(stored, &asset("BTC"));
        let got = &w.recs.cursors[&btc];
        assert_eq!(
            (got.basis_state, &got.basis),
            (BasisState::Valid, &expected)
        );
        // (150 − 100) × 0.5 before the second buy, not against its 150 average after it.
        assert_eq!(realized[&(FillSource::Sor, 0)], dec!(25));
        assert_eq!(
            sell_pnl,
            Some(dec!(25)),
            "the recorded sell gets the replay's P&L"
        );
    }

    mod replayed {
        use super::*;
        use crate::core::plan_symbol;
        use crate::core::pnl::replay;
        use crate::domain::{BasisState, Record};
        use proptest::prelude::*;

        /// One fill of the drawn history: (an SOR allocation, buy, quantity in
        /// thousandths, price in units, milliseconds after the fill before: 0 = the same
        /// millisecond).
        type Drawn = (bool, bool, u32, u32, u8);

        fn drawn() -> impl Strategy<Value = Drawn> {
            (
                prop::bool::weighted(0.4),
                prop::bool::weighted(0.6),
                1u32..2_000,
                100u32..200,
                0u8..3,
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            /// Trades and SOR allocations, each sequence read in its own pages (cut
            /// anywhere, independently, as `myTrades` and `myAllocations` page): every
            /// fill is recorded once in its own key space, the cost basis is a
            /// from-scratch replay of all of them in execution order, and every recovered
            /// sell carries that replay's realized P&L.
            #[test]
            fn trades_and_allocations_read_in_any_pages_replay_in_execution_order(
                history in proptest::collection::vec(drawn(), 1..40),
                trade_page in 1usize..6,
                alloc_page in 1usize..6,
            ) {
                let btc = sym("BTCUSDT");
                let (mut trades, mut allocs) = (Vec::new(), Vec::new());
                let mut time = 1_000;
                for (i, (alloc, buy, qty, price, gap)) in history.iter().enumerate() {
                    time += i64::from(*gap);
                    let seq: &mut Vec<crate::domain::Fill> = if *alloc { &mut allocs } else { &mut trades };
                    // Trade ids from 1, allocation ids from 0, as Binance counts them.
                    let id = seq.len() as u64 + u64::from(!*alloc);
                    seq.push(fill(
                        "BTCUSDT",
                        id,
                        100 + i as u64,
                        if *buy { Side::Buy } else { Side::Sell },
                        rust_decimal::Decimal::from(*price),
                        rust_decimal::Decimal::new(i64::from(*qty), 3),
                        rust_decimal::Decimal::new(i64::from(*qty), 4),
                        "USDT",
                        time,
                    ));
                }
                let mut w = World::new();
                if let Some(info) = w.snap.symbols.get_mut(&btc) {
                    info.sor = true;
                }
                let page = |all: &[crate::domain::Fill], from: u64, size: usize| {
                    let start = all.partition_point(|f| f.trade_id < from);
                    let end = (start + size).min(all.len());
                    (all[start..end].to_vec(), end == all.len())
                };
                let mut units = 0;
                loop {
                    let cursor = w.recs.cursors.get(&btc).cloned();
                    let rebuilding = cursor.as_ref().is_some_and(|c| c.basis_state == BasisState::Rebuilding);
                    let (trade_from, alloc_from) = match &cursor {
                        None => (0, 0),
                        Some(c) if rebuilding => (c.basis.next_trade_id(), c.basis.next_alloc_id()),
                        Some(c) => (
                            c.last_trade_id.map_or(0, |t| t + 1),
                            c.last_alloc_id.map_or(0, |t| t + 1),
                        ),
                    };
                    // Read to both ends, and the basis through the last of each.
                    let done = cursor.as_ref().is_some_and(|c| {
                        !rebuilding
                            && c.last_trade_id == trades.last().map(|f| f.trade_id)
                            && c.last_alloc_id == allocs.last().map(|f| f.trade_id)
                            && c.basis.through == c.last_trade_id
                            && c.basis.alloc_through == c.last_alloc_id
                    });
                    if done || units > 400 {
                        break;
                    }
                    units += 1;
                    let (t_page, t_complete) = page(&trades, trade_from, trade_page);
                    let (a_page, a_complete) = page(&allocs, alloc_from, alloc_page);
                    w.snap_fills_from("BTCUSDT", trade_from, t_page, t_complete);
                    if let Some(h) = w.snap.history.get_mut(&btc) {
                        h.allocations = Some(AllocationsRead {
                            fills: a_page,
                            from_id: alloc_from,
                            complete: a_complete,
                        });
                    }
                    let unit = plan_symbol(&w.input(), &btc);
                    for c in &unit.plan.corrections {
                        if let Record::Trade(t) = &c.after {
                            let map = match t.source {
                                FillSource::Trade => &mut w.recs.trades,
                                FillSource::Sor => &mut w.recs.allocations,
                            };
                            map.insert((t.symbol.clone(), t.trade_id), t.clone());
                        }
                    }
                    w.recs.cursors.insert(btc.clone(), unit.checkpoint.clone());
                }
                prop_assert!(units <= 400, "the reads end");
                prop_assert_eq!(w.recs.trades.len(), trades.len(), "every trade recorded once");
                prop_assert_eq!(w.recs.allocations.len(), allocs.len(), "every allocation recorded once");
                let stored: Vec<&TradeRecord> = w.recs.trades.values().chain(w.recs.allocations.values()).collect();
                prop_assert!(stored.iter().all(|t| t.recovered));
                let (expected, realized) = replay(stored.iter().copied(), &asset("BTC"));
                let got = &w.recs.cursors[&btc];
                prop_assert_eq!(got.basis_state, BasisState::Valid);
                prop_assert_eq!(&got.basis, &expected);
                for t in &stored {
                    prop_assert_eq!(
                        t.realized_pnl,
                        realized.get(&(t.source, t.trade_id)).copied(),
                        "{:?} {}", t.source, t.trade_id
                    );
                }
            }
        }
    }
}
