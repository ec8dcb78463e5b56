//! Smart Order Routing endpoints (rest-api.md "SOR" and "Query
//! Allocations"; faqs/sor_faq.md): `POST /api/v3/sor/order`,
//! `POST /api/v3/sor/order/test` and `GET /api/v3/myAllocations`. The
//! routing itself is in `sor.rs`.

use super::account::{check_window, page, time_range};
use super::{ApiResult, Call};
use crate::errors::ApiError;
use crate::json::J;
use crate::matching::NewOrder;
use crate::obj;
use crate::sor::{Allocation, SorOrder};
use crate::state::{fmt8, Order, Side};
use rust_decimal::Decimal;

/// The request's order, and its `newOrderRespType` (default FULL).
fn parse(call: &Call) -> Result<(SorOrder, &'static str), ApiError> {
    let p = &call.params;
    let symbol = p.required("symbol")?.to_string();
    let side =
        Side::parse(p.required("side")?).ok_or_else(|| ApiError::bad(-1117, "Invalid side."))?;
    let order_type = p.required("type")?.to_string();
    // Mandatory on this endpoint (there is no quoteOrderQty to stand in).
    let quantity = p
        .decimal("quantity")?
        .ok_or_else(|| ApiError::mandatory("quantity"))?;
    let resp_type = match p.str("newOrderRespType") {
        None | Some("FULL") => "FULL",
        Some("RESULT") => "RESULT",
        Some("ACK") => "ACK",
        Some(_) => return Err(ApiError::invalid_param("newOrderRespType")),
    };
    let order = NewOrder {
        symbol,
        side,
        order_type,
        time_in_force: p.str("timeInForce").map(str::to_string),
        quantity: Some(quantity),
        quote_order_qty: None,
        price: p.decimal("price")?,
        client_order_id: p.str("newClientOrderId").map(str::to_string),
        stp_mode: p.str("selfTradePreventionMode").map(str::to_string),
    };
    let req = SorOrder {
        order,
        iceberg_qty: p.decimal("icebergQty")?,
        strategy_id: p.i64("strategyId")?,
        strategy_type: p.i64("strategyType")?,
    };
    Ok((req, resp_type))
}

/// The FULL response of an SOR order, in the field order of the docs'
/// example: the fills are allocations, then `workingFloor`,
/// `selfTradePreventionMode`, `usedSor` (and `expiryReason` if it expired).
pub fn full_response(order: &Order, allocations: &[Allocation], transact_time: i64) -> J {
    let fills = allocations.iter().map(Allocation::to_fill_json).collect();
    let json = super::trade::full_head(order, fills, transact_time);
    // "icebergQty: Appears only if the parameter icebergQty was sent".
    let json = match order.iceberg_qty {
        Some(q) => json.with("icebergQty", J::Val(fmt8(q).into())),
        None => json,
    };
    let json = order
        .with_strategy(json)
        .with(
            "workingFloor",
            J::Val(order.working_floor.unwrap_or("SOR").into()),
        )
        .with(
            "selfTradePreventionMode",
            J::Val(order.stp_mode.clone().into()),
        )
        .with("usedSor", J::Val(true.into()));
    match order.expiry_reason {
        Some(r) => json.with("expiryReason", J::Val(r.into())),
        None => json,
    }
}

/// `POST /api/v3/sor/order` (TRADE), weight 1, 0 if it succeeds (CHANGELOG
/// 2026-03-27). LIMIT and MARKET only; `quoteOrderQty` "is not supported",
/// so it is an unread parameter (`-1104`). A symbol in no SOR is `-1013
/// This symbol has no SOR.`.
pub fn new_order(call: &Call) -> ApiResult {
    let (req, resp_type) = parse(call)?;
    let mut ex = call.exchange();
    let (order, allocations) = ex.place_sor_order(req, call.now)?;
    Ok(match resp_type {
        "ACK" => obj! {
            "symbol": &order.symbol,
            "orderId": order.order_id,
            "orderListId": -1i64,
            "clientOrderId": &order.client_order_id,
            "transactTime": call.now
        },
        // RESULT: FULL without the fills (and, as on Binance, every other
        // field of FULL).
        "RESULT" => full_response(&order, &allocations, call.now).without("fills"),
        _ => full_response(&order, &allocations, call.now),
    })
}

/// `POST /api/v3/sor/order/test` (TRADE), weight 1, or 20 with
/// `computeCommissionRates`: every check of a new SOR order, nothing placed
/// ("does not send it into the matching engine", so no balance check).
/// `{}`, or the order's commission rates: the account's maker/taker rates,
/// no special or tax commission, and the BNB discount as "Standard
/// commission is reduced by this rate" (0.25 for a 25 % discount, as this
/// endpoint's example shows).
pub fn test_order(call: &Call) -> ApiResult {
    let compute = call.params.bool("computeCommissionRates")?.unwrap_or(false);
    let (req, _) = parse(call)?;
    let ex = call.exchange();
    let checked = ex.check_sor_order(&req)?;
    if !compute {
        return Ok(J::Obj(vec![]));
    }
    let rates = |maker: Decimal, taker: Decimal| obj! {"maker": fmt8(maker), "taker": fmt8(taker)};
    let zero = Decimal::ZERO;
    Ok(obj! {
        "standardCommissionForOrder": rates(ex.fees.maker, ex.fees.taker),
        "specialCommissionForOrder": rates(zero, zero),
        "taxCommissionForOrder": rates(zero, zero),
        "discount": obj! {
            "enabledForAccount": ex.fees.pay_fees_in_bnb,
            "enabledForSymbol": ex.symbol(&format!("BNB{}", checked.sym.quote)).is_some(),
            "discountAsset": "BNB",
            "discount": fmt8(ex.fees.bnb_discount)
        }
    })
}

/// `GET /api/v3/myAllocations` (USER_DATA), weight 20. `symbol` is the
/// symbol the orders were submitted to. The documented combinations only
/// (anything else `-1128`, as `myTrades`):
///
/// | parameters | answer |
/// |---|---|
/// | `symbol` | "allocations from oldest to newest": the oldest `limit` |
/// | + `startTime` | "oldest allocations since `startTime`" |
/// | + `endTime` | "newest allocations until `endTime`" |
/// | + `startTime` + `endTime` | "within the time range": the oldest `limit` (strict `newest_page_in_window`: the newest) |
/// | + `fromAllocationId` | from that id (>=) |
/// | + `orderId` | the order's, "starting with oldest" |
/// | + `orderId` + `fromAllocationId` | the order's, from that id |
///
/// "The time between `startTime` and `endTime` can't be longer than 24
/// hours" (`-1127`, as allOrders/myTrades). `limit` default 500, max 1000.
/// Data source Database: `history_lag_ms` applies, as to `myTrades`.
pub fn my_allocations(call: &Call) -> ApiResult {
    let p = &call.params;
    let symbol = p.required("symbol")?;
    let start = p.time_ms("startTime")?;
    let end = p.time_ms("endTime")?;
    let from_id = p.u64("fromAllocationId")?;
    let order_id = p.u64("orderId")?;
    let limit = p.limit(500, 1000)?;
    super::account::check_combo(order_id, start, end, from_id)?;
    check_window(start, end)?;
    let ex = call.exchange();
    ex.symbol(symbol).ok_or_else(ApiError::bad_symbol)?;
    let (lo, hi) = time_range(&ex.strict, start, end);
    let seen_by = call.now - ex.strict.history_lag_ms.max(0);
    let items: Vec<&Allocation> = ex
        .sor
        .allocations
        .iter()
        .filter(|a| a.symbol == symbol && a.time <= seen_by)
        .filter(|a| order_id.is_none_or(|id| a.order_id == id))
        .filter(|a| from_id.is_none_or(|id| a.allocation_id >= id))
        .filter(|a| a.time >= lo && a.time <= hi)
        .collect();
    let from_start = match (start, end) {
        (None, Some(_)) => false,
        (Some(_), Some(_)) => !ex.strict.newest_page_in_window,
        _ => true,
    };
    Ok(J::Arr(
        page(items, from_start, limit)
            .into_iter()
            .map(Allocation::to_json)
            .collect(),
    ))
}
