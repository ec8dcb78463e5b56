//! Order status.
//!
//! Rules:
//! - An order open in the DB (`status.is_open()`) or `Unknown` in the DB, and absent from
//!   `snapshot.open_orders`, is looked up in `snapshot.order_lookups[(symbol, id)]`:
//!   - `Found` → its true status, executed qty and average price (`OrderUpdated`), and
//!     `unknown_runs` back to 0;
//!   - `NotFound` (`-2013`) → status `Unknown`, `unknown_runs += 1`. It is NOT cancelled:
//!     the order may exist (eventual consistency) and is looked up again next run. When
//!     `unknown_runs >= config.unknown_order_runs`, a Warning `order_unknown:<SYMBOL>:<ID>`;
//!   - `Archived` (`-2026`) → terminal `Canceled` with zero fill: Binance archives only
//!     canceled/expired orders with no executed quantity. When the records hold fills of
//!     it (an executed quantity, or a stored or newly read fill of the order), the two
//!     cannot both be true: nothing is zeroed; the order becomes `Unknown` (executed
//!     quantity and average price kept, `unknown_runs += 1`, so its lookups back off) and
//!     a Warning `order_archived_with_fills:<SYMBOL>:<ID>` says so, at once;
//!   - no lookup → untouched (the shell did not ask this run).
//! - An order open on the exchange and in the DB with a different status, executed qty,
//!   average price, price or quantity → `OrderUpdated` to the exchange's values.
//! - An order open on the exchange and unknown to the DB → `OrderRecorded`; `origin` Bot
//!   when its client order id starts with one of `bot_order_prefixes`, else External
//!   (note + Info discrepancy `order_external:<SYMBOL>:<ID>`).

use super::{expect_of, next_version, ReconcileInput};
use crate::domain::{
    Correction, CorrectionKind, Discrepancy, ExchangeOrder, Expect, OrderLookup, OrderOrigin,
    OrderRecord, OrderStatus, Plan, Record, Severity, Symbol, Writer,
};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Bot or External, by client order id prefix.
pub fn classify_origin(client_order_id: &str, bot_prefixes: &[String]) -> OrderOrigin {
    if bot_prefixes
        .iter()
        .any(|p| !p.is_empty() && client_order_id.starts_with(p.as_str()))
    {
        OrderOrigin::Bot
    } else {
        OrderOrigin::External
    }
}

/// True when two order records agree on everything the exchange decides.
fn same_state(a: &OrderRecord, b: &OrderRecord) -> bool {
    a.status == b.status
        && a.executed_qty == b.executed_qty
        && a.avg_price == b.avg_price
        && a.price == b.price
        && a.orig_qty == b.orig_qty
        && a.unknown_runs == b.unknown_runs
}

/// The DB record updated to what the exchange says of the order.
fn updated_from(db: &OrderRecord, ex: &ExchangeOrder, input: &ReconcileInput<'_>) -> OrderRecord {
    OrderRecord {
        status: ex.status.clone(),
        executed_qty: ex.executed_qty,
        avg_price: ex.avg_price(),
        price: ex.price,
        orig_qty: ex.orig_qty,
        unknown_runs: 0,
        version: next_version(Expect::Version(db.version)),
        updated_at: input.now,
        updated_by: Writer::Sync,
        ..db.clone()
    }
}

/// Plan the order corrections of one symbol (its records' orders from the watermark, the
/// exchange's open orders of it, the lookups made for it).
pub(crate) fn plan_orders(input: &ReconcileInput<'_>, symbol: &Symbol, plan: &mut Plan) {
    let snapshot = input.snapshot;
    let open: BTreeMap<(Symbol, u64), &ExchangeOrder> = snapshot
        .open_orders
        .iter()
        .filter(|o| &o.symbol == symbol)
        .map(|o| ((o.symbol.clone(), o.order_id), o))
        .collect();

    // The symbol's order history page, where the open orders do not say more (they are
    // read at once; the history may lag).
    let history: BTreeMap<(Symbol, u64), &ExchangeOrder> = snapshot
        .order_pages
        .get(symbol)
        .into_iter()
        .flat_map(|p| p.orders.iter())
        .filter(|o| &o.symbol == symbol)
        .map(|o| ((o.symbol.clone(), o.order_id), o))
        .filter(|(k, _)| !open.contains_key(k))
        .collect();
    plan_known_orders(input, symbol, &open, &history, plan);
    plan_new_orders(input, &open, true, plan);
    plan_new_orders(input, &history, false, plan);
}

/// The records' orders of `symbol`: updated from the open orders or the lookups.
fn plan_known_orders(
    input: &ReconcileInput<'_>,
    symbol: &Symbol,
    open: &BTreeMap<(Symbol, u64), &ExchangeOrder>,
    history: &BTreeMap<(Symbol, u64), &ExchangeOrder>,
    plan: &mut Plan,
) {
    let snapshot = input.snapshot;
    for (key, db) in input
        .records
        .orders
        .iter()
        .filter(|((s, _), _)| s == symbol)
    {
        if snapshot.unknown_symbols.contains(&db.symbol) {
            continue;
        }
        let (after, reason) = if let Some(ex) = open.get(key) {
            let after = updated_from(db, ex, input);
            let reason = format!(
                "Order {} {} updated from exchange: {} executed {} (was {} executed {})",
                db.symbol,
                db.order_id,
                ex.status.as_str(),
                ex.executed_qty.normalize(),
                db.status.as_str(),
                db.executed_qty.normalize()
            );
            (after, reason)
        } else if db.status.is_open() || db.status == OrderStatus::Unknown {
            match snapshot.order_lookups.get(key) {
                None => match history.get(key).filter(|ex| ex.status.is_terminal()) {
                    Some(ex) => from_history(db, ex, input),
                    None => continue,
                },
                Some(OrderLookup::Found(ex)) => {
                    let after = updated_from(db, ex, input);
                    let reason = format!(
                        "Order {} {} {} on exchange (was {}), executed {}",
                        db.symbol,
                        db.order_id,
                        ex.status.as_str(),
                        db.status.as_str(),
                        ex.executed_qty.normalize()
                    );
                    (after, reason)
                }
                Some(OrderLookup::Archived) if holds_fills(input, db) => {
                    let message = format!(
                        "Order {} {} archived on exchange (-2026: only orders with zero fill are), but the records hold fills of it (executed {}): kept, marked UNKNOWN; check the order",
                        db.symbol,
                        db.order_id,
                        db.executed_qty.normalize()
                    );
                    plan.discrepancies.push(unknown_warning(
                        db,
                        "order_archived_with_fills",
                        message.clone(),
                    ));
                    (marked_unknown(db, input), message)
                }
                Some(OrderLookup::Archived) => {
                    let after = OrderRecord {
                        status: OrderStatus::Canceled,
                        executed_qty: Decimal::ZERO,
                        avg_price: None,
                        unknown_runs: 0,
                        version: next_version(Expect::Version(db.version)),
                        updated_at: input.now,
                        updated_by: Writer::Sync,
                        ..db.clone()
                    };
                    let reason = format!(
                        "Order {} {} archived on exchange (-2026: canceled or expired with zero fill over 90 days ago): marked CANCELED",
                        db.symbol, db.order_id
                    );
                    (after, reason)
                }
                Some(OrderLookup::NotFound) => {
                    let after = marked_unknown(db, input);
                    let runs = after.unknown_runs;
                    if runs >= input.config.unknown_order_runs {
                        plan.discrepancies.push(unknown_warning(
                            db,
                            "order_unknown",
                            format!(
                                "Order {} {} does not exist on exchange for {runs} consecutive runs",
                                db.symbol, db.order_id
                            ),
                        ));
                    }
                    let reason = format!(
                        "Order {} {} does not exist on exchange (-2013), run {runs}: marked UNKNOWN, not cancelled",
                        db.symbol, db.order_id
                    );
                    (after, reason)
                }
            }
        } else if let Some(ex) = history.get(key).filter(|ex| ex.status.is_terminal()) {
            // A terminal record the exchange's history ends otherwise (a lagged history
            // shows an older state, so only a terminal one, which is final, is taken).
            from_history(db, ex, input)
        } else {
            continue;
        };
        if same_state(db, &after) {
            continue;
        }
        plan.corrections.push(Correction {
            kind: CorrectionKind::OrderUpdated,
            expect: Expect::Version(db.version),
            before: Some(Record::Order(db.clone())),
            after: Record::Order(after),
            reason,
        });
    }
}

/// The record marked `Unknown`, one more run counted (its lookups back off with it).
fn marked_unknown(db: &OrderRecord, input: &ReconcileInput<'_>) -> OrderRecord {
    OrderRecord {
        status: OrderStatus::Unknown,
        unknown_runs: db.unknown_runs.saturating_add(1),
        version: next_version(Expect::Version(db.version)),
        updated_at: input.now,
        updated_by: Writer::Sync,
        ..db.clone()
    }
}

/// The Warning of an order the sync marks `Unknown`: `<kind>:<SYMBOL>:<ID>`.
fn unknown_warning(db: &OrderRecord, kind: &str, message: String) -> Discrepancy {
    Discrepancy {
        key: format!("{kind}:{}:{}", db.symbol, db.order_id),
        kind: kind.to_owned(),
        severity: Severity::Warning,
        symbol: Some(db.symbol.clone()),
        asset: None,
        before: Some(db.status.as_str().to_owned()),
        after: Some(OrderStatus::Unknown.as_str().to_owned()),
        diff_pct: None,
        message,
    }
}

/// True when the records, or the fills read this run, hold a fill of the order.
fn holds_fills(input: &ReconcileInput<'_>, db: &OrderRecord) -> bool {
    let of_order = |symbol: &Symbol, order_id: u64| symbol == &db.symbol && order_id == db.order_id;
    !db.executed_qty.is_zero()
        || input
            .records
            .trades
            .values()
            .any(|t| of_order(&t.symbol, t.order_id))
        || input
            .snapshot
            .history
            .get(&db.symbol)
            .is_some_and(|h| h.fills.iter().any(|f| of_order(&f.symbol, f.order_id)))
}

/// A record updated to the final state the order history gives it, when its status or
/// executed quantity differs: the history's other fields do not rewrite a finished record
/// (a bot's rounded average price stays), and an average the exchange cannot give (old
/// orders report a negative cumulative quote quantity) keeps the record's.
fn from_history(
    db: &OrderRecord,
    ex: &ExchangeOrder,
    input: &ReconcileInput<'_>,
) -> (OrderRecord, String) {
    if db.status == ex.status && db.executed_qty == ex.executed_qty {
        return (db.clone(), String::new()); // the same state: nothing to write
    }
    let reason = format!(
        "Order {} {} {} in the exchange's order history (was {}), executed {}",
        db.symbol,
        db.order_id,
        ex.status.as_str(),
        db.status.as_str(),
        ex.executed_qty.normalize()
    );
    let after = updated_from(db, ex, input);
    let avg_price = after.avg_price.or(db.avg_price);
    (OrderRecord { avg_price, ..after }, reason)
}

/// Orders on the exchange that the records do not have: recorded, bot or external. An
/// external order still `open` is also an Info discrepancy; one from the order history
/// (placed and finished between runs) is noted only, or a first read of a long history
/// would list thousands.
fn plan_new_orders(
    input: &ReconcileInput<'_>,
    orders: &BTreeMap<(Symbol, u64), &ExchangeOrder>,
    open: bool,
    plan: &mut Plan,
) {
    let snapshot = input.snapshot;
    for (key, ex) in orders {
        if input.records.orders.contains_key(key) || snapshot.unknown_symbols.contains(&ex.symbol) {
            continue;
        }
        let origin = classify_origin(&ex.client_order_id, &input.config.bot_order_prefixes);
        let expect = expect_of(None);
        let record = OrderRecord {
            symbol: ex.symbol.clone(),
            order_id: ex.order_id,
            client_order_id: ex.client_order_id.clone(),
            side: ex.side,
            order_type: ex.order_type.clone(),
            price: ex.price,
            orig_qty: ex.orig_qty,
            executed_qty: ex.executed_qty,
            avg_price: ex.avg_price(),
            status: ex.status.clone(),
            origin,
            unknown_runs: 0,
            created_at: ex.time,
            version: next_version(expect),
            updated_at: input.now,
            updated_by: Writer::Sync,
        };
        let who = match origin {
            OrderOrigin::Bot => "bot",
            OrderOrigin::External => "external",
        };
        let reason = format!(
            "New order found on exchange: {} {} {} @ {} ({who}, id {})",
            ex.symbol,
            ex.side.as_str(),
            ex.orig_qty.normalize(),
            ex.price.normalize(),
            ex.order_id
        );
        plan.notes.push(reason.clone());
        if open && origin == OrderOrigin::External {
            plan.discrepancies.push(Discrepancy {
                key: format!("order_external:{}:{}", ex.symbol, ex.order_id),
                kind: "order_external".to_owned(),
                severity: Severity::Info,
                symbol: Some(ex.symbol.clone()),
                asset: None,
                before: None,
                after: Some(ex.client_order_id.clone()),
                diff_pct: None,
                message: format!(
                    "External order on exchange: {} {} {} @ {} (client id {:?})",
                    ex.symbol,
                    ex.side.as_str(),
                    ex.orig_qty.normalize(),
                    ex.price.normalize(),
                    ex.client_order_id
                ),
            });
        }
        plan.corrections.push(Correction {
            kind: CorrectionKind::OrderRecorded,
            expect,
            before: None,
            after: Record::Order(record),
            reason,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reconcile;
    use crate::core::testkit::*;
    use crate::domain::Side;
    use rust_decimal_macros::dec;

    fn only_order(plan: &Plan) -> &OrderRecord {
        let orders: Vec<_> = plan
            .corrections
            .iter()
            .filter_map(|c| match &c.after {
                Record::Order(o) => Some(o),
                _ => None,
            })
            .collect();
        assert_eq!(orders.len(), 1, "{:?}", plan.corrections);
        orders[0]
    }

    #[test]
    fn order_filled_while_bot_down_moves_to_filled() {
        let mut w = World::new();
        w.db_order(order_rec("BTCUSDT", 1, OrderStatus::New, dec!(2), dec!(0)));
        let mut ex = ex_order(
            "BTCUSDT",
            1,
            "bot-1",
            Side::Buy,
            dec!(100),
            dec!(2),
            dec!(2),
            OrderStatus::Filled,
        );
        ex.cumulative_quote_qty = dec!(199);
        w.snap
            .order_lookups
            .insert((sym("BTCUSDT"), 1), OrderLookup::Found(ex));
        let plan = reconcile(&w.input());
        let c = &of_kind(&plan, CorrectionKind::OrderUpdated)[0];
        assert_eq!(c.expect, Expect::Version(3));
        let o = only_order(&plan);
        assert_eq!(
            (o.status.clone(), o.executed_qty, o.avg_price, o.version),
            (OrderStatus::Filled, dec!(2), Some(dec!(99.5)), 4)
        );
        assert_eq!((o.updated_by, o.updated_at), (Writer::Sync, w.now));
    }

    /// Every field the exchange decides comes from it: an order whose quantity was
    /// amended down on the exchange (`order/amend/keepPriority`), or whose price the bot
    /// recorded wrongly, is recorded as the exchange has it.
    #[test]
    fn an_updated_order_takes_its_price_and_quantity_from_the_exchange() {
        let mut w = World::new();
        w.db_order(order_rec("BTCUSDT", 1, OrderStatus::New, dec!(2), dec!(0)));
        w.snap.open_orders.push(ex_order(
            "BTCUSDT",
            1,
            "bot-1",
            Side::Buy,
            dec!(101.5),
            dec!(1.5),
            dec!(0.5),
            OrderStatus::PartiallyFilled,
        ));
        let o = only_order(&reconcile(&w.input())).clone();
        assert_eq!(
            (o.price, o.orig_qty, o.executed_qty),
            (dec!(101.5), dec!(1.5), dec!(0.5))
        );
    }

    #[test]
    fn partial_fill_updates_executed_qty_and_avg_price() {
        let mut w = World::new();
        w.db_order(order_rec("BTCUSDT", 1, OrderStatus::New, dec!(2), dec!(0)));
        w.snap.open_orders.push(ex_order(
            "BTCUSDT",
            1,
            "bot-1",
            Side::Buy,
            dec!(100),
            dec!(2),
            dec!(0.5),
            OrderStatus::PartiallyFilled,
        ));
        let plan = reconcile(&w.input());
        let o = only_order(&plan);
        assert_eq!(
            (o.status.clone(), o.executed_qty, o.avg_price),
            (OrderStatus::PartiallyFilled, dec!(0.5), Some(dec!(100)))
        );
        // Same state as the exchange (decimals compared as numbers): no correction.
        let mut w2 = World::new();
        let mut db = order_rec(
            "BTCUSDT",
            1,
            OrderStatus::PartiallyFilled,
            dec!(2.0),
            dec!(0.50),
        );
        db.avg_price = Some(dec!(100.00));
        w2.db_order(db);
        w2.snap.open_orders = w.snap.open_orders.clone();
        assert!(bot_visible(&reconcile(&w2.input())).is_empty());
    }

    #[test]
    fn unknown_order_is_not_cancelled_and_flagged_after_n_runs() {
        let mut w = World::new();
        w.db_order(order_rec("BTCUSDT", 9, OrderStatus::New, dec!(1), dec!(0)));
        w.snap
            .order_lookups
            .insert((sym("BTCUSDT"), 9), OrderLookup::NotFound);
        for run in 1..=3u32 {
            let plan = reconcile(&w.input());
            let o = only_order(&plan).clone();
            assert_eq!(o.status, OrderStatus::Unknown);
            assert_eq!(o.unknown_runs, run);
            // The lookup's backoff counts from this run (`scope::orders_to_query`).
            assert_eq!((o.updated_by, o.updated_at), (Writer::Sync, w.now));
            let flagged = plan
                .discrepancies
                .iter()
                .any(|d| d.key == "order_unknown:BTCUSDT:9");
            assert_eq!(flagged, run >= 3, "run {run}");
            w.db_order(o); // applied
        }
        // Found later: back to its true status, counter reset.
        let ex = ex_order(
            "BTCUSDT",
            9,
            "bot-9",
            Side::Buy,
            dec!(100),
            dec!(1),
            dec!(1),
            OrderStatus::Filled,
        );
        w.snap
            .order_lookups
            .insert((sym("BTCUSDT"), 9), OrderLookup::Found(ex));
        let o = only_order(&reconcile(&w.input())).clone();
        assert_eq!((o.status, o.unknown_runs), (OrderStatus::Filled, 0));
    }

    #[test]
    fn archived_order_is_terminal_with_zero_fill() {
        let mut w = World::new();
        let mut db = order_rec("BTCUSDT", 4, OrderStatus::New, dec!(1), dec!(0));
        db.unknown_runs = 2;
        w.db_order(db);
        w.snap
            .order_lookups
            .insert((sym("BTCUSDT"), 4), OrderLookup::Archived);
        let plan = reconcile(&w.input());
        let o = only_order(&plan);
        assert_eq!(
            (o.status.clone(), o.executed_qty, o.avg_price),
            (OrderStatus::Canceled, dec!(0), None)
        );
        assert_eq!(
            (o.unknown_runs, o.updated_by, o.updated_at),
            (0, Writer::Sync, w.now),
            "known now: no longer counted as unknown, stamped by this run"
        );
        assert!(o.status.is_terminal());
        assert!(bot_visible(&plan)[0].reason.contains("archived"));
        assert!(plan.discrepancies.is_empty(), "{:?}", plan.discrepancies);
    }

    /// Binance archives only orders with zero fill (`-2026`): an archived order whose
    /// records hold fills is a contradiction to report; its fills are never zeroed.
    #[test]
    fn an_archived_order_whose_records_hold_fills_is_reported_never_zeroed() {
        let archived = |w: &mut World| {
            w.snap
                .order_lookups
                .insert((sym("BTCUSDT"), 4), OrderLookup::Archived);
        };
        // Its record's executed quantity.
        let mut w = World::new();
        let mut db = order_rec(
            "BTCUSDT",
            4,
            OrderStatus::PartiallyFilled,
            dec!(1),
            dec!(0.3),
        );
        db.avg_price = Some(dec!(100));
        w.db_order(db);
        archived(&mut w);
        let plan = reconcile(&w.input());
        let o = only_order(&plan);
        assert_eq!(
            (
                o.status.clone(),
                o.executed_qty,
                o.avg_price,
                o.unknown_runs
            ),
            (OrderStatus::Unknown, dec!(0.3), Some(dec!(100)), 1)
        );
        let d = &plan.discrepancies[0];
        assert_eq!(
            (d.key.as_str(), d.severity),
            ("order_archived_with_fills:BTCUSDT:4", Severity::Warning)
        );

        // A stored fill of it, though the record says nothing was executed.
        let mut w = World::new();
        w.db_order(order_rec("BTCUSDT", 4, OrderStatus::New, dec!(1), dec!(0)));
        let mut t = trade(
            "BTCUSDT",
            7,
            Side::Buy,
            dec!(100),
            dec!(0.3),
            dec!(0),
            "USDT",
            dec!(0),
        );
        t.order_id = 4;
        w.db_trade(t);
        archived(&mut w);
        let plan = reconcile(&w.input());
        assert_eq!(only_order(&plan).status, OrderStatus::Unknown);
        assert_eq!(plan.discrepancies[0].kind, "order_archived_with_fills");

        // A fill of it read this run, neither stored nor in the record's quantity.
        let mut w = World::new();
        w.db_order(order_rec("BTCUSDT", 4, OrderStatus::New, dec!(1), dec!(0)));
        w.snap_fills(
            "BTCUSDT",
            vec![fill(
                "BTCUSDT",
                8,
                4,
                Side::Buy,
                dec!(100),
                dec!(0.3),
                dec!(0),
                "USDT",
                9,
            )],
        );
        archived(&mut w);
        let plan = reconcile(&w.input());
        let o = plan
            .corrections
            .iter()
            .find_map(|c| match &c.after {
                Record::Order(o) if o.order_id == 4 => Some(o),
                _ => None,
            })
            .expect("the order's correction");
        assert_eq!(o.status, OrderStatus::Unknown);
    }

    fn history(w: &mut World, orders: Vec<ExchangeOrder>) {
        w.snap.order_pages.insert(
            sym("BTCUSDT"),
            crate::domain::OrderPage {
                from_order_id: 1,
                orders,
                complete: true,
            },
        );
    }

    /// Orders placed and finished between two runs are never among the open orders: the
    /// order history gives them their records, whatever their final status.
    #[test]
    fn an_order_finished_between_runs_is_recorded_from_the_order_history() {
        let mut w = World::new();
        let filled = ex_order(
            "BTCUSDT",
            5,
            "web_manual",
            Side::Buy,
            dec!(100),
            dec!(1),
            dec!(1),
            OrderStatus::Filled,
        );
        let expired = ex_order(
            "BTCUSDT",
            6,
            "bot-6",
            Side::Sell,
            dec!(120),
            dec!(1),
            dec!(0),
            OrderStatus::ExpiredInMatch,
        );
        history(&mut w, vec![filled, expired]);
        let plan = reconcile(&w.input());
        let recorded: Vec<(u64, OrderStatus, Decimal, OrderOrigin)> = plan
            .corrections
            .iter()
            .filter(|c| c.kind == CorrectionKind::OrderRecorded)
            .filter_map(|c| match &c.after {
                Record::Order(o) => Some((o.order_id, o.status.clone(), o.executed_qty, o.origin)),
                _ => None,
            })
            .collect();
        assert_eq!(
            recorded,
            [
                (5, OrderStatus::Filled, dec!(1), OrderOrigin::External),
                (6, OrderStatus::ExpiredInMatch, dec!(0), OrderOrigin::Bot),
            ]
        );
        // Noted, not listed as discrepancies: a first read of a long history would list
        // thousands.
        assert!(plan.discrepancies.is_empty(), "{:?}", plan.discrepancies);
    }

    /// The order history may lag: only a final state in it changes a record (a record
    /// still open is settled by it, with no lookup); an older, open state never rewrites
    /// a record; the open orders, read at once, say more than the history.
    #[test]
    fn the_order_history_changes_a_record_only_with_a_final_state() {
        let state = bot_order;
        let mut w = World::new();
        w.db_order(order_rec("BTCUSDT", 1, OrderStatus::New, dec!(1), dec!(0)));
        w.db_order(order_rec(
            "BTCUSDT",
            2,
            OrderStatus::Filled,
            dec!(1),
            dec!(1),
        ));
        w.db_order(order_rec("BTCUSDT", 3, OrderStatus::New, dec!(1), dec!(0)));
        history(
            &mut w,
            vec![
                state(1, OrderStatus::Filled, dec!(1)),
                state(2, OrderStatus::New, dec!(0)),
                state(3, OrderStatus::New, dec!(0)),
            ],
        );
        let plan = reconcile(&w.input());
        let o = only_order(&plan);
        assert_eq!(
            (o.order_id, &o.status, o.executed_qty),
            (1, &OrderStatus::Filled, dec!(1))
        );

        // A finished record in the same state keeps its own average price (a bot's
        // rounding); the history's average does not rewrite it.
        let mut rounded = order_rec("BTCUSDT", 4, OrderStatus::Filled, dec!(1), dec!(1));
        rounded.avg_price = Some(dec!(100.01));
        let mut w2 = World::new();
        w2.db_order(rounded);
        history(&mut w2, vec![state(4, OrderStatus::Filled, dec!(1))]);
        assert!(bot_visible(&reconcile(&w2.input())).is_empty());

        // Open on the exchange too, partly filled since: the open orders' state wins.
        w.snap
            .open_orders
            .push(state(3, OrderStatus::PartiallyFilled, dec!(0.4)));
        let plan = reconcile(&w.input());
        let three: Vec<&OrderRecord> = plan
            .corrections
            .iter()
            .filter_map(|c| match &c.after {
                Record::Order(o) if o.order_id == 3 => Some(o),
                _ => None,
            })
            .collect();
        assert_eq!(
            (&three[0].status, three[0].executed_qty),
            (&OrderStatus::PartiallyFilled, dec!(0.4))
        );
    }

    #[test]
    fn open_order_without_lookup_is_untouched() {
        let mut w = World::new();
        w.db_order(order_rec("BTCUSDT", 4, OrderStatus::New, dec!(1), dec!(0)));
        assert!(bot_visible(&reconcile(&w.input())).is_empty());
    }

    #[test]
    fn terminal_order_is_never_looked_up_again() {
        let mut w = World::new();
        w.db_order(order_rec(
            "BTCUSDT",
            4,
            OrderStatus::Filled,
            dec!(1),
            dec!(1),
        ));
        w.snap
            .order_lookups
            .insert((sym("BTCUSDT"), 4), OrderLookup::NotFound);
        assert!(bot_visible(&reconcile(&w.input())).is_empty());
    }

    #[test]
    fn external_order_classified_by_client_id_prefix() {
        let mut w = World::new();
        w.snap.open_orders.push(ex_order(
            "BTCUSDT",
            1,
            "bot-abc",
            Side::Buy,
            dec!(100),
            dec!(1),
            dec!(0),
            OrderStatus::New,
        ));
        w.snap.open_orders.push(ex_order(
            "BTCUSDT",
            2,
            "web_xyz",
            Side::Sell,
            dec!(110),
            dec!(1),
            dec!(0),
            OrderStatus::New,
        ));
        let plan = reconcile(&w.input());
        let rec = of_kind(&plan, CorrectionKind::OrderRecorded);
        assert_eq!(rec.len(), 2);
        assert!(rec.iter().all(|c| c.expect == Expect::Absent));
        let origins: Vec<_> = rec
            .iter()
            .map(|c| match &c.after {
                Record::Order(o) => (o.order_id, o.origin, o.version),
                _ => panic!(),
            })
            .collect();
        assert_eq!(
            origins,
            vec![(1, OrderOrigin::Bot, 1), (2, OrderOrigin::External, 1)]
        );
        let keys: Vec<_> = plan
            .discrepancies
            .iter()
            .map(|d| (d.key.as_str(), d.severity))
            .collect();
        assert_eq!(keys, vec![("order_external:BTCUSDT:2", Severity::Info)]);
        assert!(plan.notes.contains(
            &"New order found on exchange: BTCUSDT SELL 1 @ 110 (external, id 2)".to_owned()
        ));
    }
}
