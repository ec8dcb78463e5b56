//! Account reads (USER_DATA): account, openOrders, allOrders, order, myTrades.

use super::{ApiResult, Call};
use crate::errors::ApiError;
use crate::json::J;
use crate::lock;
use crate::state::Order;

const DAY_MS: i64 = 86_400_000;

pub fn account(call: &Call) -> ApiResult {
    let omit = call.params.bool("omitZeroBalances")?.unwrap_or(false);
    Ok(lock(&call.shared.exchange).account_json(omit))
}

pub fn open_orders(call: &Call) -> ApiResult {
    let ex = lock(&call.shared.exchange);
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
fn check_window(start: Option<i64>, end: Option<i64>) -> Result<(), ApiError> {
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
fn page<T: Clone>(items: Vec<T>, from_start: bool, limit: usize) -> Vec<T> {
    if from_start {
        items.into_iter().take(limit).collect()
    } else {
        let skip = items.len().saturating_sub(limit);
        items.into_iter().skip(skip).collect()
    }
}

pub fn all_orders(call: &Call) -> ApiResult {
    let symbol = call.params.required("symbol")?;
    let order_id = call.params.u64("orderId")?;
    let start = call.params.time_ms("startTime")?;
    let end = call.params.time_ms("endTime")?;
    let limit = call.params.limit(500, 1000)?;
    check_window(start, end)?;
    let ex = lock(&call.shared.exchange);
    ex.symbol(symbol).ok_or_else(ApiError::bad_symbol)?;
    let items: Vec<&Order> = ex
        .orders
        .values()
        .filter(|o| o.symbol == symbol && !o.is_archived(call.now))
        .filter(|o| order_id.is_none_or(|id| o.order_id >= id))
        .filter(|o| start.is_none_or(|s| o.time >= s))
        .filter(|o| end.is_none_or(|e| o.time <= e))
        .collect();
    let from_start = order_id.is_some() || start.is_some();
    Ok(J::Arr(
        page(items, from_start, limit)
            .into_iter()
            .map(Order::to_json)
            .collect(),
    ))
}

pub fn get_order(call: &Call) -> ApiResult {
    let symbol = call.params.required("symbol")?;
    let order_id = call.params.u64("orderId")?;
    let cid = call.params.str("origClientOrderId");
    let ex = lock(&call.shared.exchange);
    ex.symbol(symbol).ok_or_else(ApiError::bad_symbol)?;
    let order = match (order_id, cid) {
        (None, None) => return Err(ApiError::either_mandatory("orderId", "origClientOrderId")),
        (Some(id), cid) => {
            let o = ex
                .orders
                .get(&id)
                .filter(|o| o.symbol == symbol)
                .ok_or_else(ApiError::no_such_order)?;
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
    // The documented combinations; anything else is -1128.
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
    if !allowed {
        return Err(ApiError::bad_combo());
    }
    check_window(start, end)?;
    let ex = lock(&call.shared.exchange);
    ex.symbol(symbol).ok_or_else(ApiError::bad_symbol)?;
    let items: Vec<_> = ex
        .trades
        .iter()
        .filter(|t| t.symbol == symbol)
        .filter(|t| order_id.is_none_or(|id| t.order_id == id))
        .filter(|t| from_id.is_none_or(|id| t.id >= id))
        .filter(|t| start.is_none_or(|s| t.time >= s))
        .filter(|t| end.is_none_or(|e| t.time <= e))
        .collect();
    let from_start = from_id.is_some() || start.is_some() || order_id.is_some();
    Ok(J::Arr(
        page(items, from_start, limit)
            .into_iter()
            .map(|t| t.to_json())
            .collect(),
    ))
}
