//! Whose a fill is: the bot's or the owner's (bot-only positions, `SYNC_POSITIONS=bot`).
//!
//! Rules:
//! - A fill is the bot's when its order's client order id starts with one of the bot's
//!   prefixes (`bot_order_prefixes`), else the owner's: the same test that gives an order
//!   record its origin (`orders::classify_origin`), applied to the client order id
//!   wherever the run knows the order from: its record, the order history read this run,
//!   the open orders, or a lookup made for the fill (`snapshot.fill_orders`).
//! - A fill whose order the exchange does not know (`-2013`, or archived: Binance archives
//!   only orders with no fill, so the two disagree) is the owner's: nothing says the bot
//!   placed it. A fill whose order the run could not learn of is neither yet: the bot's
//!   cost basis waits before it (`trades.rs`), never guesses.
//! - With `SYNC_POSITIONS=bot` the cost basis holds the bot's fills only: the owner's are
//!   recorded, moved the balances and are explained like any fill, but they are not in
//!   the position and carry no realized P&L (`trades.rs`); the holding beyond the bot's
//!   position is the owner's, reported apart (`positions.rs`).
//! - The shell resolves, before planning a page, the orders of the fills whose origin
//!   the run does not know ([`unknown_orders`]): from the store by id, then from the
//!   exchange, at most [`MAX_FILL_ORDER_LOOKUPS`] a unit (the basis waits before the
//!   rest, and the next unit goes on: each unit makes progress, none wedges).

use super::orders::classify_origin;
use super::ReconcileInput;
use crate::domain::{OrderLookup, OrderOrigin, PositionsOf, Symbol, TradeRecord};
use std::collections::BTreeSet;

/// Orders a unit looks up on the exchange for its fills' origin at most (4 weight each).
pub const MAX_FILL_ORDER_LOOKUPS: usize = 20;

/// The origin of order `order_id` of `symbol` as the run knows it, if it does.
pub fn fill_origin(
    input: &ReconcileInput<'_>,
    symbol: &Symbol,
    order_id: u64,
) -> Option<OrderOrigin> {
    let prefixes = &input.config.bot_order_prefixes;
    let by_id = |client_order_id: &str| Some(classify_origin(client_order_id, prefixes));
    let snapshot = input.snapshot;
    if let Some(order) = input.records.orders.get(&(symbol.clone(), order_id)) {
        return by_id(&order.client_order_id);
    }
    let read = snapshot
        .order_pages
        .get(symbol)
        .into_iter()
        .flat_map(|p| p.orders.iter())
        .chain(snapshot.open_orders.iter())
        .find(|o| &o.symbol == symbol && o.order_id == order_id);
    if let Some(order) = read {
        return by_id(&order.client_order_id);
    }
    match snapshot.fill_orders.get(&(symbol.clone(), order_id))? {
        OrderLookup::Found(order) => by_id(&order.client_order_id),
        OrderLookup::NotFound | OrderLookup::Archived => Some(OrderOrigin::External),
    }
}

/// Whether the cost basis takes `trade` (see the module's rules): `Some(true)` it does,
/// `Some(false)` it is the owner's, `None` its origin is not known yet.
pub fn in_basis(input: &ReconcileInput<'_>, trade: &TradeRecord) -> Option<bool> {
    match input.config.positions_of {
        PositionsOf::Account => Some(true),
        PositionsOf::Bot => fill_origin(input, &trade.symbol, trade.order_id)
            .map(|origin| origin == OrderOrigin::Bot),
    }
}

/// The orders among `order_ids` (those of a unit's fills) whose origin the run does not
/// know: what the shell loads (and then looks up) before planning. None unless positions
/// are the bot's. Ascending.
pub fn unknown_orders(
    input: &ReconcileInput<'_>,
    symbol: &Symbol,
    order_ids: impl IntoIterator<Item = u64>,
) -> BTreeSet<u64> {
    if input.config.positions_of != PositionsOf::Bot {
        return BTreeSet::new();
    }
    order_ids
        .into_iter()
        .filter(|order_id| fill_origin(input, symbol, *order_id).is_none())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;
    use crate::domain::{OrderPage, OrderStatus, Side};
    use rust_decimal_macros::dec;

    fn order(id: u64, client: &str) -> crate::domain::ExchangeOrder {
        ex_order(
            "BTCUSDT",
            id,
            client,
            Side::Buy,
            dec!(100),
            dec!(1),
            dec!(1),
            OrderStatus::Filled,
        )
    }

    #[test]
    fn a_fill_is_the_bots_by_its_orders_client_id_wherever_the_run_knows_the_order() {
        let mut w = World::new();
        w.config.positions_of = PositionsOf::Bot;
        let btc = sym("BTCUSDT");
        w.snap.order_pages.insert(
            btc.clone(),
            OrderPage {
                from_order_id: 1,
                orders: vec![order(1, "bot-1"), order(2, "web_abc")],
                complete: true,
            },
        );
        w.snap.open_orders.push(order(3, "bot-3"));
        w.snap
            .fill_orders
            .insert((btc.clone(), 4), OrderLookup::Found(order(4, "android_x")));
        w.snap
            .fill_orders
            .insert((btc.clone(), 5), OrderLookup::NotFound);
        // The record's client id decides, with today's prefixes.
        w.db_order(order_rec(
            "BTCUSDT",
            6,
            OrderStatus::Filled,
            dec!(1),
            dec!(1),
        ));
        let i = w.input();
        let origins: Vec<Option<OrderOrigin>> =
            (1..=7).map(|id| fill_origin(&i, &btc, id)).collect();
        use OrderOrigin::{Bot, External};
        assert_eq!(
            origins,
            [
                Some(Bot),
                Some(External),
                Some(Bot),
                Some(External),
                Some(External),
                Some(Bot),
                None
            ]
        );
        let unknown = unknown_orders(&i, &btc, [7, 1, 7, 8]);
        assert_eq!(unknown.into_iter().collect::<Vec<_>>(), [7, 8]);
    }

    #[test]
    fn every_fill_is_in_the_accounts_basis_and_no_order_is_looked_up_for_it() {
        let w = World::new();
        let t = trade(
            "BTCUSDT",
            1,
            Side::Buy,
            dec!(100),
            dec!(1),
            dec!(0),
            "USDT",
            dec!(0),
        );
        assert_eq!(in_basis(&w.input(), &t), Some(true));
        assert!(unknown_orders(&w.input(), &sym("BTCUSDT"), [9]).is_empty());
    }

    mod replayed {
        use super::*;
        use crate::core::plan_symbol;
        use crate::core::pnl::replay;
        use crate::domain::{Record, TradeRecord};
        use proptest::prelude::*;

        /// One fill of the drawn history: (bot's order, buy, quantity in thousandths,
        /// price in units, how the run learns of its order: 0 its record, 1 the order
        /// history read with it, 2 a lookup).
        type Drawn = (bool, bool, u32, u32, u8);

        fn drawn() -> impl Strategy<Value = Drawn> {
            (
                any::<bool>(),
                prop::bool::weighted(0.6),
                1u32..2_000,
                100u32..200,
                0u8..3,
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            /// Bot-only positions: read in pages cut anywhere, the bot's cost basis is a
            /// from-scratch replay of the bot's fills alone, every recovered sell of the
            /// bot's carries that replay's realized P&L, and the owner's sells carry none.
            #[test]
            fn the_bots_basis_read_in_any_pages_is_a_replay_of_its_fills_alone(
                history in proptest::collection::vec(drawn(), 1..40),
                cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..4),
            ) {
                let btc = sym("BTCUSDT");
                let fills: Vec<crate::domain::Fill> = history
                    .iter()
                    .enumerate()
                    .map(|(i, (_, buy, qty, price, _))| {
                        let id = i as u64 + 1;
                        fill(
                            "BTCUSDT",
                            id,
                            100 + id,
                            if *buy { Side::Buy } else { Side::Sell },
                            rust_decimal::Decimal::from(*price),
                            rust_decimal::Decimal::new(i64::from(*qty), 3),
                            rust_decimal::Decimal::new(i64::from(*qty), 4),
                            "USDT",
                            id as i64 * 1_000,
                        )
                    })
                    .collect();
                let order = |i: usize| {
                    let (bot, buy, _, _, _) = history[i];
                    let id = 100 + i as u64 + 1;
                    ex_order(
                        "BTCUSDT",
                        id,
                        &if bot { format!("bot-{id}") } else { format!("web_{id}") },
                        if buy { Side::Buy } else { Side::Sell },
                        rust_decimal::Decimal::from(history[i].3),
                        rust_decimal::Decimal::ONE,
                        rust_decimal::Decimal::ONE,
                        OrderStatus::Filled,
                    )
                };
                let mut ends: Vec<usize> = cuts.iter().map(|c| c.index(fills.len())).collect();
                ends.push(fills.len());
                ends.sort_unstable();
                ends.dedup();

                let mut w = World::new();
                w.config.positions_of = PositionsOf::Bot;
                for (i, (_, _, _, _, known)) in history.iter().enumerate() {
                    if *known == 0 {
                        let o = order(i);
                        w.db_order(crate::domain::OrderRecord {
                            client_order_id: o.client_order_id.clone(),
                            ..order_rec("BTCUSDT", o.order_id, OrderStatus::Filled, dec!(1), dec!(1))
                        });
                    }
                }
                let mut start = 0;
                for end in ends.into_iter().filter(|e| *e > 0) {
                    let page = &fills[start..end];
                    let from = w
                        .recs
                        .cursors
                        .get(&btc)
                        .and_then(|c| c.last_trade_id)
                        .map_or(0, |t| t + 1);
                    w.snap_fills_from("BTCUSDT", from, page.to_vec(), end == fills.len());
                    w.snap.order_pages.clear();
                    w.snap.fill_orders.clear();
                    let mut read_with = Vec::new();
                    for (i, drawn) in history.iter().enumerate().take(end).skip(start) {
                        match drawn.4 {
                            1 => read_with.push(order(i)),
                            2 => {
                                let o = order(i);
                                w.snap.fill_orders.insert((btc.clone(), o.order_id), OrderLookup::Found(o));
                            }
                            _ => {}
                        }
                    }
                    w.snap.order_pages.insert(btc.clone(), OrderPage {
                        from_order_id: 0,
                        orders: read_with,
                        complete: true,
                    });
                    let unit = plan_symbol(&w.input(), &btc);
                    for c in &unit.plan.corrections {
                        if let Record::Trade(t) = &c.after {
                            w.recs.trades.insert((t.symbol.clone(), t.trade_id), t.clone());
                        }
                    }
                    w.recs.cursors.insert(btc.clone(), unit.checkpoint.clone());
                    start = end;
                }

                let stored: Vec<TradeRecord> = w.recs.trades.values().cloned().collect();
                prop_assert_eq!(stored.len(), fills.len(), "every fill recorded once");
                let bots: Vec<&TradeRecord> = stored.iter().filter(|t| history[(t.trade_id - 1) as usize].0).collect();
                let (expected, realized) = replay(bots.iter().copied(), &asset("BTC"));
                let got = &w.recs.cursors[&btc];
                prop_assert_eq!(got.basis_state, crate::domain::BasisState::Valid);
                prop_assert_eq!(got.basis_of, PositionsOf::Bot);
                let expected = crate::domain::Basis {
                    through: Some(fills.len() as u64),
                    ..expected
                };
                prop_assert_eq!(&got.basis, &expected);
                for t in &stored {
                    let bot = history[(t.trade_id - 1) as usize].0;
                    let want = if bot { realized.get(&(t.source, t.trade_id)).copied() } else { None };
                    prop_assert_eq!(t.realized_pnl, want, "trade {}", t.trade_id);
                }
            }
        }
    }
}
