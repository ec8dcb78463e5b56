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

/// The orders of `trades` whose origin the run does not know: what the shell loads (and
/// then looks up) before planning. None unless positions are the bot's. Ascending.
pub fn unknown_orders<'t>(
    input: &ReconcileInput<'_>,
    symbol: &Symbol,
    trades: impl IntoIterator<Item = (u64, u64)> + 't,
) -> BTreeSet<u64> {
    if input.config.positions_of != PositionsOf::Bot {
        return BTreeSet::new();
    }
    trades
        .into_iter()
        .map(|(_, order_id)| order_id)
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
        let unknown = unknown_orders(&i, &btc, [(10, 7), (11, 1), (12, 7), (13, 8)]);
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
        assert!(unknown_orders(&w.input(), &sym("BTCUSDT"), [(1, 9)]).is_empty());
    }
}
