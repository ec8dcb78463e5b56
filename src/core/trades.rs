//! Trade recovery, fee conversion and cursors.
//!
//! Rules:
//! - For each symbol in `snapshot.history`, every fill not in `records.trades` is inserted
//!   (`TradeRecovered`, `Expect::Absent`, `recovered: true`). A fill already recorded is
//!   never re-inserted, whoever recorded it.
//! - A fee paid in an asset other than the symbol's quote is converted to the quote at
//!   the fill's time. Fee in the base: commission × the fill's own price (exact). Fee in a
//!   third asset (BNB): the price of `<FEE><QUOTE>` at the fill's minute
//!   (`snapshot.fee_prices`), else the current price (`snapshot.prices`). Both forms are
//!   recorded (`commission` + `commission_asset`, and `commission_quote`). When no price
//!   is known the fee is recorded with `commission_quote = 0` and an Info discrepancy.
//! - Recovered sells carry `realized_pnl` by average cost (`pnl.rs`), replaying the
//!   records' and the recovered fills of the symbol in trade-id order.
//! - After the fills, the symbol's cursor `last_trade_id` = the highest trade id read, only
//!   when that moves it forward (`CursorAdvanced`; `Expect::Absent` when no cursor yet).
//!   History pages are read in ascending trade id, so even a partial read is a contiguous
//!   prefix and advancing to its maximum skips nothing.

use super::{
    expect_of, minute_start, next_version, pnl, symbol_parts, trades_of, ReconcileInput, Recovered,
};
use crate::domain::{
    Asset, Correction, CorrectionKind, CursorRecord, Discrepancy, ExchangeSnapshot, Fill, Millis,
    Plan, Record, Severity, Symbol, TradeRecord,
};
use rust_decimal::Decimal;
use std::collections::BTreeSet;

/// The (fee symbol, minute start) prices the shell must fetch before `reconcile`, so that
/// fees paid in a third asset (e.g. BNB) convert at the fill's time. Sorted, no duplicates.
pub fn fee_price_needs(snapshot: &ExchangeSnapshot) -> Vec<(Symbol, Millis)> {
    let mut needs = BTreeSet::new();
    for (symbol, history) in &snapshot.history {
        let Some(info) = snapshot.symbols.get(symbol) else {
            continue;
        };
        for fill in &history.fills {
            if fill.commission.is_zero()
                || fill.commission_asset == info.quote
                || fill.commission_asset == info.base
            {
                continue;
            }
            if let Ok(fee_symbol) =
                Symbol::parse(format!("{}{}", fill.commission_asset, info.quote))
            {
                needs.insert((fee_symbol, minute_start(fill.time)));
            }
        }
    }
    needs.into_iter().collect()
}

/// A fill's commission in the quote asset, when it can be known (see module rules).
pub fn commission_in_quote(
    fill: &Fill,
    base: &Asset,
    quote: &Asset,
    snapshot: &ExchangeSnapshot,
) -> Option<Decimal> {
    if fill.commission.is_zero() || &fill.commission_asset == quote {
        return Some(fill.commission);
    }
    if &fill.commission_asset == base {
        return Some(fill.commission * fill.price);
    }
    let fee_symbol = Symbol::parse(format!("{}{}", fill.commission_asset, quote)).ok()?;
    let price = snapshot
        .fee_prices
        .get(&(fee_symbol.clone(), minute_start(fill.time)))
        .or_else(|| snapshot.prices.get(&fee_symbol))?;
    Some(fill.commission * price)
}

/// Plan the trade and cursor corrections; returns the fills recovered this run.
pub(crate) fn plan_trades(input: &ReconcileInput<'_>, plan: &mut Plan) -> Recovered {
    let snapshot = input.snapshot;
    let records = input.records;
    let mut recovered = Recovered::new();
    for (symbol, history) in &snapshot.history {
        if snapshot.unknown_symbols.contains(symbol) {
            continue;
        }
        let Some((base, quote)) = symbol_parts(input, symbol) else {
            plan.notes.push(format!(
                "Trades of {symbol} skipped: base and quote unknown"
            ));
            continue;
        };
        let mut new_here = Recovered::new();
        for fill in &history.fills {
            let key = (symbol.clone(), fill.trade_id);
            if records.trades.contains_key(&key) || new_here.contains_key(&key) {
                continue;
            }
            let commission_quote = commission_in_quote(fill, &base, &quote, snapshot).unwrap_or_else(|| {
                plan.discrepancies.push(Discrepancy {
                    key: format!("fee_price_missing:{symbol}:{}", fill.trade_id),
                    kind: "fee_price_missing".to_owned(),
                    severity: Severity::Info,
                    symbol: Some(symbol.clone()),
                    asset: Some(fill.commission_asset.clone()),
                    before: None,
                    after: None,
                    diff_pct: None,
                    message: format!(
                        "No price for {}{quote} at {}: fee of trade {} recorded without its {quote} value",
                        fill.commission_asset, fill.time, fill.trade_id
                    ),
                });
                Decimal::ZERO
            });
            new_here.insert(key, trade_record(symbol, fill, commission_quote));
        }
        if !new_here.is_empty() {
            let (_, realized) = pnl::replay(trades_of(records, &new_here, symbol), &base);
            for trade in new_here.values_mut() {
                trade.realized_pnl = realized.get(&trade.trade_id).copied();
            }
            plan.discrepancies.push(Discrepancy {
                key: format!("trades_recovered:{symbol}"),
                kind: "trades_recovered".to_owned(),
                severity: Severity::Info,
                symbol: Some(symbol.clone()),
                asset: None,
                before: None,
                after: Some(new_here.len().to_string()),
                diff_pct: None,
                message: format!("{} missing trade(s) recovered for {symbol}", new_here.len()),
            });
        }
        for trade in new_here.values() {
            let reason = format!(
                "Missing trade recovered: {symbol} {} {} @ {} (trade {})",
                trade.side.as_str(),
                trade.qty.normalize(),
                trade.price.normalize(),
                trade.trade_id
            );
            plan.notes.push(reason.clone());
            plan.corrections.push(Correction {
                kind: CorrectionKind::TradeRecovered,
                expect: crate::domain::Expect::Absent,
                before: None,
                after: Record::Trade(trade.clone()),
                reason,
            });
        }
        if let Some(max_id) = history.fills.iter().map(|f| f.trade_id).max() {
            plan_cursor(input, symbol, max_id, plan);
        }
        recovered.extend(new_here);
    }
    recovered
}

fn trade_record(symbol: &Symbol, fill: &Fill, commission_quote: Decimal) -> TradeRecord {
    TradeRecord {
        symbol: symbol.clone(),
        trade_id: fill.trade_id,
        order_id: fill.order_id,
        side: fill.side,
        price: fill.price,
        qty: fill.qty,
        quote_qty: fill.quote_qty,
        commission: fill.commission,
        commission_asset: fill.commission_asset.clone(),
        commission_quote,
        realized_pnl: None,
        time: fill.time,
        is_maker: fill.is_maker,
        recovered: true,
        version: 1,
    }
}

fn plan_cursor(input: &ReconcileInput<'_>, symbol: &Symbol, max_id: u64, plan: &mut Plan) {
    let current = input.records.cursors.get(symbol);
    if current
        .and_then(|c| c.last_trade_id)
        .is_some_and(|id| id >= max_id)
    {
        return;
    }
    let expect = expect_of(current.map(|c| c.version));
    let after = CursorRecord {
        symbol: symbol.clone(),
        last_trade_id: Some(max_id),
        last_order_id: current.and_then(|c| c.last_order_id),
        version: next_version(expect),
        updated_at: input.now,
    };
    let from = current
        .and_then(|c| c.last_trade_id)
        .map_or("none".to_owned(), |id| id.to_string());
    plan.corrections.push(Correction {
        kind: CorrectionKind::CursorAdvanced,
        expect,
        before: current.cloned().map(Record::Cursor),
        after: Record::Cursor(after),
        reason: format!("Trade cursor of {symbol} advanced from {from} to {max_id}"),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reconcile;
    use crate::core::testkit::*;
    use crate::domain::{Expect, Side};
    use rust_decimal_macros::dec;

    #[test]
    fn manual_trade_recorded_as_recovered_fill() {
        let mut w = World::new();
        w.snap_fills(
            "BTCUSDT",
            vec![fill(
                "BTCUSDT",
                7,
                70,
                Side::Buy,
                dec!(50000),
                dec!(0.01),
                dec!(0.5),
                "USDT",
                1_000,
            )],
        );
        let plan = reconcile(&w.input());
        let trades = of_kind(&plan, CorrectionKind::TradeRecovered);
        assert_eq!(trades.len(), 1);
        assert_eq!(trades[0].expect, Expect::Absent);
        let Record::Trade(t) = &trades[0].after else {
            panic!("not a trade")
        };
        assert!(t.recovered);
        assert_eq!(t.version, 1);
        assert_eq!(
            (t.trade_id, t.order_id, t.qty, t.commission_quote),
            (7, 70, dec!(0.01), dec!(0.5))
        );
        assert!(plan
            .notes
            .iter()
            .any(|n| n == "Missing trade recovered: BTCUSDT BUY 0.01 @ 50000 (trade 7)"));
    }

    #[test]
    fn fill_already_recorded_is_never_reinserted() {
        let mut w = World::new();
        let f = fill(
            "BTCUSDT",
            7,
            70,
            Side::Buy,
            dec!(50000),
            dec!(0.01),
            dec!(0.5),
            "USDT",
            1_000,
        );
        w.snap_fills("BTCUSDT", vec![f.clone()]);
        w.db_trade(trade(
            "BTCUSDT",
            7,
            Side::Buy,
            dec!(50000),
            dec!(0.01),
            dec!(0.5),
            "USDT",
            dec!(0.5),
        ));
        let plan = reconcile(&w.input());
        assert!(of_kind(&plan, CorrectionKind::TradeRecovered).is_empty());
    }

    #[test]
    fn bnb_fee_converted_at_fill_time_and_recorded_both_ways() {
        let mut w = World::new();
        let t = 1_700_000_012_345;
        w.snap_fills(
            "BTCUSDT",
            vec![fill(
                "BTCUSDT",
                1,
                1,
                Side::Buy,
                dec!(50000),
                dec!(0.01),
                dec!(0.001),
                "BNB",
                t,
            )],
        );
        w.snap
            .fee_prices
            .insert((sym("BNBUSDT"), minute_start(t)), dec!(300));
        w.snap.prices.insert(sym("BNBUSDT"), dec!(999)); // current price must not be used
        assert_eq!(
            fee_price_needs(&w.snap),
            vec![(sym("BNBUSDT"), 1_699_999_980_000)]
        );
        let plan = reconcile(&w.input());
        let Record::Trade(tr) = &of_kind(&plan, CorrectionKind::TradeRecovered)[0].after else {
            panic!()
        };
        assert_eq!(tr.commission, dec!(0.001));
        assert_eq!(tr.commission_asset, asset("BNB"));
        assert_eq!(tr.commission_quote, dec!(0.3));
    }

    #[test]
    fn bnb_fee_falls_back_to_current_price_then_is_flagged() {
        let mut w = World::new();
        w.snap_fills(
            "BTCUSDT",
            vec![fill(
                "BTCUSDT",
                1,
                1,
                Side::Buy,
                dec!(50000),
                dec!(0.01),
                dec!(0.001),
                "BNB",
                5,
            )],
        );
        w.snap.prices.insert(sym("BNBUSDT"), dec!(250));
        let plan = reconcile(&w.input());
        let Record::Trade(tr) = &of_kind(&plan, CorrectionKind::TradeRecovered)[0].after else {
            panic!()
        };
        assert_eq!(tr.commission_quote, dec!(0.25));
        w.snap.prices.clear();
        let plan = reconcile(&w.input());
        let Record::Trade(tr) = &of_kind(&plan, CorrectionKind::TradeRecovered)[0].after else {
            panic!()
        };
        assert_eq!(tr.commission_quote, dec!(0));
        assert!(plan
            .discrepancies
            .iter()
            .any(|d| d.key == "fee_price_missing:BTCUSDT:1"));
    }

    #[test]
    fn fee_in_base_converted_at_fill_price() {
        let mut w = World::new();
        w.snap_fills(
            "BTCUSDT",
            vec![fill(
                "BTCUSDT",
                1,
                1,
                Side::Buy,
                dec!(50000),
                dec!(0.01),
                dec!(0.00001),
                "BTC",
                5,
            )],
        );
        let plan = reconcile(&w.input());
        let Record::Trade(tr) = &of_kind(&plan, CorrectionKind::TradeRecovered)[0].after else {
            panic!()
        };
        assert_eq!(tr.commission_quote, dec!(0.5));
        assert!(fee_price_needs(&w.snap).is_empty());
    }

    #[test]
    fn recovered_sell_gets_average_cost_realized_pnl() {
        let mut w = World::new();
        w.db_trade(trade(
            "ETHUSDT",
            1,
            Side::Buy,
            dec!(2000),
            dec!(1),
            dec!(0),
            "USDT",
            dec!(0),
        ));
        w.snap_fills(
            "ETHUSDT",
            vec![fill(
                "ETHUSDT",
                2,
                2,
                Side::Sell,
                dec!(2500),
                dec!(0.5),
                dec!(1),
                "USDT",
                5,
            )],
        );
        let plan = reconcile(&w.input());
        let Record::Trade(tr) = &of_kind(&plan, CorrectionKind::TradeRecovered)[0].after else {
            panic!()
        };
        assert_eq!(tr.realized_pnl, Some(dec!(249)));
    }

    #[test]
    fn cursor_advances_only_forward() {
        let mut w = World::new();
        w.snap_fills(
            "BTCUSDT",
            vec![
                fill(
                    "BTCUSDT",
                    10,
                    1,
                    Side::Buy,
                    dec!(1),
                    dec!(1),
                    dec!(0),
                    "USDT",
                    5,
                ),
                fill(
                    "BTCUSDT",
                    12,
                    1,
                    Side::Buy,
                    dec!(1),
                    dec!(1),
                    dec!(0),
                    "USDT",
                    6,
                ),
            ],
        );
        let plan = reconcile(&w.input());
        let cursors = of_kind(&plan, CorrectionKind::CursorAdvanced);
        assert_eq!(cursors.len(), 1);
        assert_eq!(cursors[0].expect, Expect::Absent);
        let Record::Cursor(c) = &cursors[0].after else {
            panic!()
        };
        assert_eq!((c.last_trade_id, c.version), (Some(12), 1));

        w.recs.cursors.insert(
            sym("BTCUSDT"),
            CursorRecord {
                symbol: sym("BTCUSDT"),
                last_trade_id: Some(20),
                last_order_id: None,
                version: 4,
                updated_at: 0,
            },
        );
        assert!(of_kind(&reconcile(&w.input()), CorrectionKind::CursorAdvanced).is_empty());
    }
}
