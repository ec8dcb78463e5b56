//! Trading (TRADE): `POST /api/v3/order` and `DELETE /api/v3/order`.

use super::{ApiResult, Call};
use crate::errors::ApiError;
use crate::json::J;
use crate::matching::NewOrder;
use crate::obj;
use crate::state::{fmt8, with_prevented, Exchange, Order, Side, Trade};

/// The fields a FULL order response starts with, in the docs' order, then its `fills`
/// (trades for an order, allocations for an SOR order).
pub fn full_head(order: &Order, fills: Vec<J>, transact_time: i64) -> J {
    obj! {
        "symbol": &order.symbol,
        "orderId": order.order_id,
        "orderListId": -1i64,
        "clientOrderId": &order.client_order_id,
        "transactTime": transact_time,
        "price": fmt8(order.price),
        "origQty": fmt8(order.orig_qty),
        "executedQty": fmt8(order.executed_qty),
        "origQuoteOrderQty": fmt8(order.orig_quote_order_qty),
        "cummulativeQuoteQty": fmt8(order.cummulative_quote_qty),
        "status": &order.status,
        "timeInForce": &order.time_in_force,
        "type": &order.order_type,
        "side": order.side.as_str(),
        "workingTime": order.time,
        "fills": J::Arr(fills)
    }
}

/// The FULL response of a new order (also used by the control API).
pub fn full_response(order: &Order, fills: &[Trade], transact_time: i64) -> J {
    let fills = fills.iter().map(Trade::to_fill_json).collect();
    let json = full_head(order, fills, transact_time);
    let json = if order.prevented_matches.is_empty() {
        json
    } else {
        json.with(
            "preventedMatches",
            J::Arr(
                order
                    .prevented_matches
                    .iter()
                    .map(|m| m.to_json())
                    .collect(),
            ),
        )
    };
    let json = json.with(
        "selfTradePreventionMode",
        J::Val(order.stp_mode.clone().into()),
    );
    with_prevented(json, order)
}

fn respond(order: &Order, fills: &[Trade], now: i64, resp_type: &str) -> J {
    match resp_type {
        "ACK" => obj! {
            "symbol": &order.symbol,
            "orderId": order.order_id,
            "orderListId": -1i64,
            "clientOrderId": &order.client_order_id,
            "transactTime": now
        },
        "RESULT" => full_response(order, fills, now).without("fills"),
        _ => full_response(order, fills, now),
    }
}

/// Places an order for the account (REST and control API share this).
pub fn place(ex: &mut Exchange, req: NewOrder, now: i64) -> Result<(Order, Vec<Trade>), ApiError> {
    let symbol = req.symbol.clone();
    let (id, fills) = ex.place_order(req, now)?;
    let order = ex
        .order(&symbol, id)
        .cloned()
        .ok_or_else(ApiError::no_such_order)?;
    Ok((order, fills))
}

pub fn new_order(call: &Call) -> ApiResult {
    let p = &call.params;
    let symbol = p.required("symbol")?.to_string();
    let side =
        Side::parse(p.required("side")?).ok_or_else(|| ApiError::bad(-1117, "Invalid side."))?;
    let order_type = p.required("type")?.to_string();
    let resp_type = p.str("newOrderRespType").unwrap_or("FULL").to_string();
    let req = NewOrder {
        symbol,
        side,
        order_type,
        time_in_force: p.str("timeInForce").map(str::to_string),
        quantity: p.decimal("quantity")?,
        quote_order_qty: p.decimal("quoteOrderQty")?,
        price: p.decimal("price")?,
        client_order_id: p.str("newClientOrderId").map(str::to_string),
        stp_mode: p.str("selfTradePreventionMode").map(str::to_string),
    };
    let mut ex = call.exchange();
    let (order, fills) = place(&mut ex, req, call.now)?;
    Ok(respond(&order, &fills, call.now, &resp_type))
}

pub fn cancel_order(call: &Call) -> ApiResult {
    let p = &call.params;
    let symbol = p.required("symbol")?;
    let order_id = p.u64("orderId")?;
    let cid = p.str("origClientOrderId");
    let mut ex = call.exchange();
    ex.symbol(symbol).ok_or_else(ApiError::bad_symbol)?;
    let id = match (order_id, cid) {
        (None, None) => return Err(ApiError::either_mandatory("orderId", "origClientOrderId")),
        (Some(id), cid) => {
            let o = ex
                .order(symbol, id)
                .ok_or_else(|| ApiError::cancel_rejected("Unknown order sent."))?;
            if cid.is_some_and(|c| c != o.client_order_id) {
                return Err(ApiError::client_order_id_mismatch());
            }
            id
        }
        (None, Some(c)) => {
            ex.find_order_by_client_id(symbol, c)
                .ok_or_else(|| ApiError::cancel_rejected("Unknown order sent."))?
                .order_id
        }
    };
    let o = ex.cancel(symbol, id, call.now)?;
    let new_cid = p
        .str("newClientOrderId")
        .map(str::to_string)
        .unwrap_or_else(|| format!("cancel{}", o.order_id));
    Ok(obj! {
        "symbol": &o.symbol,
        "origClientOrderId": &o.client_order_id,
        "orderId": o.order_id,
        "orderListId": -1i64,
        "clientOrderId": new_cid,
        "transactTime": call.now,
        "price": fmt8(o.price),
        "origQty": fmt8(o.orig_qty),
        "executedQty": fmt8(o.executed_qty),
        "origQuoteOrderQty": fmt8(o.orig_quote_order_qty),
        "cummulativeQuoteQty": fmt8(o.cummulative_quote_qty),
        "status": &o.status,
        "timeInForce": &o.time_in_force,
        "type": &o.order_type,
        "side": o.side.as_str(),
        "selfTradePreventionMode": &o.stp_mode
    })
}
