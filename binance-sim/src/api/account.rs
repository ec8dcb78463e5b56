//! Account reads (USER_DATA): account, openOrders, allOrders, order, myTrades.

use super::{ApiResult, Call};
use crate::errors::ApiError;
use crate::json::J;
use crate::obj;
use crate::state::{fmt8, Exchange, Order, Trade};
use crate::strict::StrictConfig;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;

pub fn account(call: &Call) -> ApiResult {
    let omit = call.params.bool("omitZeroBalances")?.unwrap_or(false);
    Ok(call.exchange().account_json(omit))
}

pub fn open_orders(call: &Call) -> ApiResult {
    let ex = call.exchange();
    let symbol = call.params.str("symbol");
    if let Some(s) = symbol {
        ex.symbol(s).ok_or_else(ApiError::bad_symbol)?;
    }
    Ok(J::Arr(
        ex.orders
            .values()
            .filter(|o| o.is_open() && symbol.is_none_or(|s| o.symbol == s))
            .map(Order::to_json)
            .collect(),
    ))
}

/// The 24-hour rule of allOrders and myTrades.
pub(super) fn check_window(start: Option<i64>, end: Option<i64>) -> Result<(), ApiError> {
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            return Err(ApiError::bad(-1127, "Lookup interval is too big."));
        }
        if e - s > DAY_MS {
            return Err(ApiError::more_than_hours(24));
        }
    }
    Ok(())
}

/// Binance's paging: with a start (id or time) the oldest `limit` items from
/// it; otherwise the newest `limit` items (up to `endTime` if given).
/// Items are in ascending order in both cases.
pub(super) fn page<T: Clone>(items: Vec<T>, from_start: bool, limit: usize) -> Vec<T> {
    if from_start {
        items.into_iter().take(limit).collect()
    } else {
        let skip = items.len().saturating_sub(limit);
        items.into_iter().skip(skip).collect()
    }
}

/// The time range `[start, end]` (inclusive) a request covers, with the
/// strict `start_time_alone_24h` switch: `startTime` alone ends 24 h later.
pub(super) fn time_range(
    strict: &StrictConfig,
    start: Option<i64>,
    end: Option<i64>,
) -> (i64, i64) {
    let end = match (start, end) {
        (_, Some(e)) => e,
        (Some(s), None) if strict.start_time_alone_24h => s + DAY_MS - 1,
        _ => i64::MAX,
    };
    (start.unwrap_or(i64::MIN), end)
}

/// Whether a time-window page starts from its oldest item. With the strict
/// `newest_page_in_window` switch a `startTime` window (no id cursor) gives
/// its newest page instead.
fn from_start(strict: &StrictConfig, id_cursor: bool, start: Option<i64>) -> bool {
    id_cursor || (start.is_some() && !strict.newest_page_in_window)
}

/// The orders of `symbol` as `allOrders` (Database) sees them at `now`:
/// live, or with `history_lag_ms` each order's last state at least that old.
fn history_orders(ex: &Exchange, symbol: &str, now: i64) -> Vec<Order> {
    let lag = ex.strict.history_lag_ms;
    if lag <= 0 {
        return ex
            .orders
            .values()
            .filter(|o| o.symbol == symbol)
            .cloned()
            .collect();
    }
    let mut latest: BTreeMap<u64, &Order> = BTreeMap::new();
    for (at, o) in &ex.order_log {
        if o.symbol == symbol && *at <= now - lag {
            latest.insert(o.order_id, o);
        }
    }
    latest.into_values().cloned().collect()
}

/// The fills of `symbol` that `myTrades` sees at `now` (`history_lag_ms`).
fn history_trades<'a>(ex: &'a Exchange, symbol: &'a str, now: i64) -> Vec<&'a Trade> {
    let lag = ex.strict.history_lag_ms.max(0);
    ex.trades
        .iter()
        .filter(|t| t.symbol == symbol && t.time <= now - lag)
        .collect()
}

pub fn all_orders(call: &Call) -> ApiResult {
    let symbol = call.params.required("symbol")?;
    let order_id = call.params.u64("orderId")?;
    let start = call.params.time_ms("startTime")?;
    let end = call.params.time_ms("endTime")?;
    let limit = call.params.limit(500, 1000)?;
    check_window(start, end)?;
    let ex = call.exchange();
    ex.symbol(symbol).ok_or_else(ApiError::bad_symbol)?;
    let (lo, hi) = time_range(&ex.strict, start, end);
    let items: Vec<Order> = history_orders(&ex, symbol, call.now)
        .into_iter()
        .filter(|o| !o.is_archived(call.now))
        .filter(|o| order_id.is_none_or(|id| o.order_id >= id))
        .filter(|o| o.time >= lo && o.time <= hi)
        .collect();
    let from_start = from_start(&ex.strict, order_id.is_some(), start);
    Ok(J::Arr(
        page(items, from_start, limit)
            .iter()
            .map(Order::to_json)
            .collect(),
    ))
}

pub fn get_order(call: &Call) -> ApiResult {
    let symbol = call.params.required("symbol")?;
    let order_id = call.params.u64("orderId")?;
    let cid = call.params.str("origClientOrderId");
    let ex = call.exchange();
    ex.symbol(symbol).ok_or_else(ApiError::bad_symbol)?;
    let order = match (order_id, cid) {
        (None, None) => return Err(ApiError::either_mandatory("orderId", "origClientOrderId")),
        (Some(id), cid) => {
            let o = ex.order(symbol, id).ok_or_else(ApiError::no_such_order)?;
            if let Some(c) = cid {
                if o.client_order_id != c {
                    return Err(ApiError::client_order_id_mismatch());
                }
            }
            o
        }
        (None, Some(c)) => ex
            .find_order_by_client_id(symbol, c)
            .ok_or_else(ApiError::no_such_order)?,
    };
    if order.is_archived(call.now) {
        return Err(ApiError::archived());
    }
    Ok(order.to_json())
}

pub fn my_trades(call: &Call) -> ApiResult {
    let symbol = call.params.required("symbol")?;
    let order_id = call.params.u64("orderId")?;
    let from_id = call.params.u64("fromId")?;
    let start = call.params.time_ms("startTime")?;
    let end = call.params.time_ms("endTime")?;
    let limit = call.params.limit(500, 1000)?;
    check_combo(order_id, start, end, from_id)?;
    check_window(start, end)?;
    let ex = call.exchange();
    ex.symbol(symbol).ok_or_else(ApiError::bad_symbol)?;
    let (lo, hi) = time_range(&ex.strict, start, end);
    let items: Vec<_> = history_trades(&ex, symbol, call.now)
        .into_iter()
        .filter(|t| order_id.is_none_or(|id| t.order_id == id))
        .filter(|t| from_id.is_none_or(|id| t.id >= id))
        .filter(|t| t.time >= lo && t.time <= hi)
        .collect();
    let from_start = from_start(&ex.strict, from_id.is_some() || order_id.is_some(), start);
    Ok(J::Arr(
        page(items, from_start, limit)
            .into_iter()
            .map(|t| t.to_json())
            .collect(),
    ))
}

/// `GET /api/v3/account/commission` (rest-api.md, "Query Commission Rates"):
/// the scenario's maker/taker rates as the standard commission, no special
/// or tax commission, and the BNB discount. `discount` is what the standard
/// commission is multiplied by when paid in BNB (1 − the scenario's
/// `bnb_discount`; the docs' example 0.75 is a 25 % discount [inference]).
pub fn commission(call: &Call) -> ApiResult {
    let symbol = call.params.required("symbol")?;
    let ex = call.exchange();
    let sym = ex.symbol(symbol).ok_or_else(ApiError::bad_symbol)?;
    let zero = fmt8(Decimal::ZERO);
    let rates = |maker: Decimal, taker: Decimal| {
        obj! {"maker": fmt8(maker), "taker": fmt8(taker), "buyer": zero.clone(), "seller": zero.clone()}
    };
    let bnb_for_symbol = ex.symbol(&format!("BNB{}", sym.quote)).is_some();
    Ok(obj! {
        "symbol": &sym.symbol,
        "standardCommission": rates(ex.fees.maker, ex.fees.taker),
        "specialCommission": rates(Decimal::ZERO, Decimal::ZERO),
        "taxCommission": rates(Decimal::ZERO, Decimal::ZERO),
        "discount": obj! {
            "enabledForAccount": ex.fees.pay_fees_in_bnb,
            "enabledForSymbol": bnb_for_symbol,
            "discountAsset": "BNB",
            "discount": fmt8(Decimal::ONE - ex.fees.bnb_discount)
        }
    })
}

/// The parameter combinations `myTrades` and `myAllocations` document (`orderId`,
/// `startTime`, `endTime`, the from-id); anything else is `-1128`.
pub(crate) fn check_combo(
    order_id: Option<u64>,
    start: Option<i64>,
    end: Option<i64>,
    from_id: Option<u64>,
) -> Result<(), ApiError> {
    let combo = (
        order_id.is_some(),
        start.is_some(),
        end.is_some(),
        from_id.is_some(),
    );
    let allowed = matches!(
        combo,
        (false, false, false, false)
            | (true, false, false, false)
            | (false, true, false, false)
            | (false, false, true, false)
            | (false, false, false, true)
            | (false, true, true, false)
            | (true, false, false, true)
    );
    if allowed {
        Ok(())
    } else {
        Err(ApiError::bad_combo())
    }
}
