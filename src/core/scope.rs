//! What a run must read. Pure functions the shell calls before `reconcile`.

use super::{Mode, RulesConfig};
use crate::domain::{
    Asset, Balance, CursorRecord, ExchangeOrder, Millis, OrderStatus, PositionStatus, Records,
    Symbol, SymbolInfo, SyncState,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

const DAY_MS: Millis = 24 * 60 * 60 * 1000;

/// Where to start reading a symbol's fills (`myTrades`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FillsStart {
    /// `fromId`: the next trade after the cursor (cheap, window-independent).
    TradeId(u64),
    /// `startTime`: the lookback start (no cursor, or an emergency run).
    Time(Millis),
}

/// The symbols whose history and orders a run checks: symbols of open positions, of DB
/// orders still open or unknown, of cursors (every symbol ever traded: the REST API has no
/// cross-symbol history, so a symbol traded and fully exited is found only this way),
/// every non-zero balance paired with each configured quote asset (when that symbol
/// exists), open orders on the exchange, and `extra_symbols`.
pub fn symbols_to_check(
    records: &Records,
    balances: &BTreeMap<Asset, Balance>,
    open_orders: &[ExchangeOrder],
    symbols_map: &BTreeMap<Symbol, SymbolInfo>,
    config: &RulesConfig,
) -> BTreeSet<Symbol> {
    let mut out = BTreeSet::new();
    out.extend(
        records
            .positions
            .values()
            .filter(|p| p.status == PositionStatus::Open)
            .map(|p| p.symbol.clone()),
    );
    out.extend(
        records
            .orders
            .values()
            .filter(|o| o.status.is_open() || o.status == OrderStatus::Unknown)
            .map(|o| o.symbol.clone()),
    );
    out.extend(records.cursors.keys().cloned());
    for (asset, balance) in balances {
        if balance.total() == Decimal::ZERO || config.quote_assets.contains(asset) {
            continue;
        }
        out.extend(
            symbols_map
                .values()
                .filter(|i| &i.base == asset && config.quote_assets.contains(&i.quote))
                .map(|i| i.symbol.clone()),
        );
    }
    out.extend(open_orders.iter().map(|o| o.symbol.clone()));
    out.extend(config.extra_symbols.iter().cloned());
    out
}

/// The orders the shell must look up one by one (`GET /api/v3/order`): open or unknown in
/// the DB and not in the exchange's open orders. Sorted.
pub fn orders_to_query(records: &Records, open_orders: &[ExchangeOrder]) -> Vec<(Symbol, u64)> {
    let open: BTreeSet<(&Symbol, u64)> = open_orders
        .iter()
        .map(|o| (&o.symbol, o.order_id))
        .collect();
    records
        .orders
        .iter()
        .filter(|(_, o)| o.status.is_open() || o.status == OrderStatus::Unknown)
        .filter(|((s, id), _)| !open.contains(&(s, *id)))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Where to read fills from. Periodic: after the cursor when there is one, else
/// `now − lookback` (default 7 days). Emergency: always `now − lookback` (default 30
/// days), cursor or not, to find fills missed before the cursor (already-recorded fills
/// are never re-inserted, and the cursor only moves forward). `lookback_days_override`
/// replaces the mode's default (the shell passes the request's override, or the
/// configured `RulesConfig` lookback).
pub fn fills_start(
    cursor: Option<&CursorRecord>,
    mode: Mode,
    lookback_days_override: Option<u32>,
    now: Millis,
) -> FillsStart {
    let days = lookback_days_override.unwrap_or(match mode {
        Mode::Periodic => 7,
        Mode::Emergency => 30,
    });
    let since = FillsStart::Time(now - Millis::from(days) * DAY_MS);
    match (mode, cursor.and_then(|c| c.last_trade_id)) {
        (Mode::Periodic, Some(id)) => FillsStart::TradeId(id.saturating_add(1)),
        _ => since,
    }
}

/// The cheap test of a periodic run: can anything have changed since the last complete run?
///
/// True when `account.updateTime` equals the one stored by the last complete run AND the
/// DB's open orders equal the exchange's open orders (same keys, status, executed qty),
/// with no order left `Unknown` in the DB.
///
/// Why this is safe: every fill, deposit, withdrawal, transfer, order placement and
/// cancel changes a balance (free or locked), and any balance change moves
/// `updateTime`; so an equal `updateTime` means no fill, no new or cancelled order and no
/// funds movement since that run. The open-order comparison catches DB-side drift (the bot
/// wrote an order the exchange does not have, or missed a partial fill report).
///
/// What it does not skip: balances are still compared on every run (the account read that
/// gives `updateTime` returns them anyway), so a DB balance edited by hand is still
/// corrected. A run that skips on this test skips only the per-symbol history and order
/// lookups.
pub fn nothing_changed(
    state: &SyncState,
    account_update_time: Millis,
    records: &Records,
    open_orders: &[ExchangeOrder],
) -> bool {
    if state.last_account_update_time != Some(account_update_time) {
        return false;
    }
    if records
        .orders
        .values()
        .any(|o| o.status == OrderStatus::Unknown)
    {
        return false;
    }
    let db: BTreeMap<(&Symbol, u64), (&OrderStatus, Decimal)> = records
        .orders
        .values()
        .filter(|o| o.status.is_open())
        .map(|o| ((&o.symbol, o.order_id), (&o.status, o.executed_qty)))
        .collect();
    let ex: BTreeMap<(&Symbol, u64), (&OrderStatus, Decimal)> = open_orders
        .iter()
        .map(|o| ((&o.symbol, o.order_id), (&o.status, o.executed_qty)))
        .collect();
    db == ex
}

/// A periodic run refuses to start within `min_interval_ms` of the last success. An
/// emergency run is never too soon.
pub fn too_soon(state: &SyncState, now: Millis, min_interval_ms: Millis, mode: Mode) -> bool {
    mode == Mode::Periodic
        && state
            .last_success_at
            .is_some_and(|t| now - t < min_interval_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;
    use crate::domain::Side;
    use rust_decimal_macros::dec;

    fn cursor(id: Option<u64>) -> CursorRecord {
        CursorRecord {
            symbol: sym("BTCUSDT"),
            last_trade_id: id,
            last_order_id: None,
            version: 1,
            updated_at: 0,
        }
    }

    #[test]
    fn nothing_changed_when_update_time_and_open_orders_equal() {
        let mut w = World::new();
        w.recs.state.last_account_update_time = Some(42);
        w.db_order(order_rec("BTCUSDT", 1, OrderStatus::New, dec!(1), dec!(0)));
        w.db_order(order_rec(
            "BTCUSDT",
            2,
            OrderStatus::Filled,
            dec!(1),
            dec!(1),
        ));
        let open = vec![ex_order(
            "BTCUSDT",
            1,
            "bot-1",
            Side::Buy,
            dec!(100),
            dec!(1),
            dec!(0.0),
            OrderStatus::New,
        )];
        assert!(nothing_changed(&w.recs.state, 42, &w.recs, &open));
        assert!(
            !nothing_changed(&w.recs.state, 43, &w.recs, &open),
            "updateTime moved"
        );
        assert!(
            !nothing_changed(&w.recs.state, 42, &w.recs, &[]),
            "order gone from exchange"
        );
        let mut partly = open.clone();
        partly[0].executed_qty = dec!(0.5);
        assert!(
            !nothing_changed(&w.recs.state, 42, &w.recs, &partly),
            "partial fill"
        );
        w.db_order(order_rec(
            "BTCUSDT",
            3,
            OrderStatus::Unknown,
            dec!(1),
            dec!(0),
        ));
        assert!(
            !nothing_changed(&w.recs.state, 42, &w.recs, &open),
            "unknown order pending"
        );
        let fresh = crate::domain::SyncState::default();
        assert!(
            !nothing_changed(&fresh, 42, &Records::default(), &[]),
            "no complete run yet"
        );
    }

    #[test]
    fn too_soon_only_for_periodic_runs() {
        let state = SyncState {
            last_success_at: Some(1_000),
            ..SyncState::default()
        };
        assert!(too_soon(&state, 1_500, 1_000, Mode::Periodic));
        assert!(!too_soon(&state, 2_000, 1_000, Mode::Periodic));
        assert!(!too_soon(&state, 1_500, 1_000, Mode::Emergency));
        assert!(!too_soon(
            &SyncState::default(),
            1_500,
            1_000,
            Mode::Periodic
        ));
    }

    #[test]
    fn fills_start_uses_cursor_when_periodic_and_lookback_otherwise() {
        let now = 100 * DAY_MS;
        assert_eq!(
            fills_start(Some(&cursor(Some(41))), Mode::Periodic, None, now),
            FillsStart::TradeId(42)
        );
        assert_eq!(
            fills_start(Some(&cursor(None)), Mode::Periodic, None, now),
            FillsStart::Time(93 * DAY_MS)
        );
        assert_eq!(
            fills_start(None, Mode::Periodic, None, now),
            FillsStart::Time(93 * DAY_MS)
        );
        assert_eq!(
            fills_start(Some(&cursor(Some(41))), Mode::Emergency, None, now),
            FillsStart::Time(70 * DAY_MS)
        );
        assert_eq!(
            fills_start(None, Mode::Periodic, Some(2), now),
            FillsStart::Time(98 * DAY_MS)
        );
    }

    #[test]
    fn symbols_to_check_collects_every_source() {
        let mut w = World::new();
        w.db_position(position("ETHUSDT", "ETH", dec!(1), dec!(1), 0));
        w.db_order(order_rec("XRPUSDT", 1, OrderStatus::New, dec!(1), dec!(0)));
        w.db_order(order_rec(
            "ADAUSDT",
            1,
            OrderStatus::Filled,
            dec!(1),
            dec!(1),
        ));
        w.recs.cursors.insert(
            sym("SOLUSDT"),
            CursorRecord {
                symbol: sym("SOLUSDT"),
                last_trade_id: Some(1),
                last_order_id: None,
                version: 1,
                updated_at: 0,
            },
        );
        w.ex_bal("BTC", dec!(0), dec!(0.5));
        w.ex_bal("USDT", dec!(10), dec!(0));
        w.config.extra_symbols.push(sym("DOGEUSDT"));
        let open = vec![ex_order(
            "BNBUSDT",
            7,
            "x",
            Side::Buy,
            dec!(1),
            dec!(1),
            dec!(0),
            OrderStatus::New,
        )];
        let got = symbols_to_check(&w.recs, &w.snap.balances, &open, &w.snap.symbols, &w.config);
        let names: Vec<_> = got.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            vec!["BNBUSDT", "BTCUSDT", "DOGEUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
        );
    }

    #[test]
    fn orders_to_query_are_open_or_unknown_and_not_listed_open() {
        let mut w = World::new();
        w.db_order(order_rec("BTCUSDT", 1, OrderStatus::New, dec!(1), dec!(0)));
        w.db_order(order_rec(
            "BTCUSDT",
            2,
            OrderStatus::Unknown,
            dec!(1),
            dec!(0),
        ));
        w.db_order(order_rec(
            "BTCUSDT",
            3,
            OrderStatus::Filled,
            dec!(1),
            dec!(1),
        ));
        w.db_order(order_rec(
            "BTCUSDT",
            4,
            OrderStatus::PartiallyFilled,
            dec!(1),
            dec!(0.1),
        ));
        let open = vec![ex_order(
            "BTCUSDT",
            4,
            "bot-4",
            Side::Buy,
            dec!(1),
            dec!(1),
            dec!(0.1),
            OrderStatus::PartiallyFilled,
        )];
        assert_eq!(
            orders_to_query(&w.recs, &open),
            vec![(sym("BTCUSDT"), 1), (sym("BTCUSDT"), 2)]
        );
    }
}
