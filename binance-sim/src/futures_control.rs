//! The `/__sim/futures` control actions: the account owner (or the
//! exchange) acting on the USDⓈ-M futures account while the bot is down.
//! Unsigned JSON, no weight, like the rest of `/__sim` (`control.rs`).
//! Money moves between the spot and futures wallets with the existing
//! `POST /__sim/transfers` (`MAIN_UMFUTURE`, `UMFUTURE_MAIN`).
//!
//! | action | body |
//! |---|---|
//! | `POST /fill` | `{symbol, side, quantity, price?, positionSide?, maker?, reduceOnly?, clientOrderId?}`: an order that fills at once (MARKET at the mark price without `price`) |
//! | `POST /close` | `{symbol, positionSide?, price?}`: closes the whole leg |
//! | `POST /liquidate` | `{symbol, positionSide?, price?}`: the liquidation engine closes the leg |
//! | `POST /orders` | `{symbol, side, quantity, price, positionSide?, clientOrderId?}`: a resting LIMIT order |
//! | `POST /orders/cancel` | `{symbol, orderId}` |
//! | `POST /orders/fill` | `{symbol, orderId, quantity?}`: fills a resting order as the maker |
//! | `POST /mark-price` | `{symbol, markPrice}` |
//! | `POST /funding` | `{rate, symbol?}`: one funding settlement on every open position |
//! | `POST /position-mode` | `{dualSidePosition}` |
//! | `GET /state` | wallet, positions, counts |

use crate::control::{bad_request, parse, reply};
use crate::errors::ApiError;
use crate::futures::{
    money, FillRequest, FillResult, Futures, FuturesOrder, FuturesSymbol, FuturesTrade, Income,
    PositionSide,
};
use crate::state::Side;
use crate::Shared;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

type S = State<Arc<Shared>>;

pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/fill", post(fill))
        .route("/close", post(close))
        .route("/liquidate", post(liquidate))
        .route("/orders", post(place))
        .route("/orders/cancel", post(cancel))
        .route("/orders/fill", post(fill_order))
        .route("/mark-price", post(mark_price))
        .route("/funding", post(funding))
        .route("/position-mode", post(position_mode))
        .route("/state", get(state))
}

/// Every action but `GET /state`: the JSON body parsed (a bad one is a 400,
/// before the clock is read), then `act` on it at the sim's now, its error
/// answered as the exchange would.
fn handle<B: DeserializeOwned>(
    s: &Shared,
    body: &Bytes,
    act: impl FnOnce(B, i64) -> Result<Value, ApiError>,
) -> Response {
    let b: B = match parse(body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    reply(act(b, now))
}

fn side(s: &str) -> Result<Side, ApiError> {
    Side::parse(s).ok_or_else(|| ApiError::bad(-1117, "Invalid side."))
}

fn position_side(s: Option<&str>) -> Result<Option<PositionSide>, ApiError> {
    match s {
        None => Ok(None),
        Some(v) => PositionSide::parse(v)
            .map(Some)
            .ok_or_else(|| ApiError::bad(-4060, "Invalid position side.")),
    }
}

fn income_json(rows: &[Income]) -> Vec<Value> {
    rows.iter().map(|i| i.to_json().to_value()).collect()
}

/// What a fill answers: the order, its trade and the income it wrote.
fn order_trade_json(
    sym: &FuturesSymbol,
    order: &FuturesOrder,
    trade: &FuturesTrade,
    income: &[Income],
) -> Value {
    json!({
        "order": order.to_json(sym).to_value(),
        "trade": trade.to_json(sym).to_value(),
        "income": income_json(income),
    })
}

fn fill_json(f: &Futures, r: &FillResult) -> Value {
    match f.symbol(&r.order.symbol) {
        Some(sym) => order_trade_json(sym, &r.order, &r.trade, &r.income),
        None => json!({}),
    }
}

/// A resting order as its symbol shows it.
fn order_json(f: &Futures, o: &FuturesOrder) -> Result<Value, ApiError> {
    let sym = f.symbol(&o.symbol).ok_or_else(ApiError::bad_symbol)?;
    Ok(o.to_json(sym).to_value())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FillBody {
    symbol: String,
    side: String,
    quantity: Decimal,
    #[serde(default)]
    price: Option<Decimal>,
    #[serde(default)]
    position_side: Option<String>,
    #[serde(default)]
    maker: bool,
    #[serde(default)]
    reduce_only: bool,
    #[serde(default)]
    client_order_id: Option<String>,
}

/// Opens, adds to, reduces or closes a position with one immediate fill.
async fn fill(State(s): S, body: Bytes) -> Response {
    handle(&s, &body, |b: FillBody, now| {
        let req = FillRequest {
            symbol: b.symbol,
            side: side(&b.side)?,
            position_side: position_side(b.position_side.as_deref())?,
            quantity: b.quantity,
            price: b.price,
            maker: b.maker,
            reduce_only: b.reduce_only,
            client_order_id: b.client_order_id,
            liquidation: false,
        };
        let mut ex = s.exchange_at(now);
        let r = ex.futures.fill(req, now)?;
        Ok(fill_json(&ex.futures, &r))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CloseBody {
    symbol: String,
    #[serde(default)]
    position_side: Option<String>,
    #[serde(default)]
    price: Option<Decimal>,
}

fn close_leg(s: &Shared, body: &Bytes, liquidation: bool) -> Response {
    handle(s, body, |b: CloseBody, now| {
        let leg = position_side(b.position_side.as_deref())?;
        let mut ex = s.exchange_at(now);
        let r = ex
            .futures
            .close(&b.symbol, leg, b.price, liquidation, now)?;
        Ok(fill_json(&ex.futures, &r))
    })
}

/// Closes a whole leg at `price` (or the mark price) as a taker.
async fn close(State(s): S, body: Bytes) -> Response {
    close_leg(&s, &body, false)
}

/// The liquidation engine closes a whole leg: an IOC LIMIT order with an
/// `autoclose-` client order id, its trade, and the clearance fee as
/// `INSURANCE_CLEAR` income.
async fn liquidate(State(s): S, body: Bytes) -> Response {
    close_leg(&s, &body, true)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OrderBody {
    symbol: String,
    side: String,
    quantity: Decimal,
    price: Decimal,
    #[serde(default)]
    position_side: Option<String>,
    #[serde(default)]
    client_order_id: Option<String>,
}

async fn place(State(s): S, body: Bytes) -> Response {
    handle(&s, &body, |b: OrderBody, now| {
        let leg = position_side(b.position_side.as_deref())?;
        let mut ex = s.exchange_at(now);
        let o = ex.futures.place(
            &b.symbol,
            side(&b.side)?,
            leg,
            b.quantity,
            b.price,
            b.client_order_id,
            now,
        )?;
        order_json(&ex.futures, &o)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OrderRef {
    symbol: String,
    order_id: u64,
    #[serde(default)]
    quantity: Option<Decimal>,
}

async fn cancel(State(s): S, body: Bytes) -> Response {
    handle(&s, &body, |b: OrderRef, now| {
        let mut ex = s.exchange_at(now);
        let o = ex.futures.cancel(&b.symbol, b.order_id, now)?;
        order_json(&ex.futures, &o)
    })
}

async fn fill_order(State(s): S, body: Bytes) -> Response {
    handle(&s, &body, |b: OrderRef, now| {
        let mut ex = s.exchange_at(now);
        let (o, t, income) = ex
            .futures
            .fill_order(&b.symbol, b.order_id, b.quantity, now)?;
        let sym = ex
            .futures
            .symbol(&o.symbol)
            .ok_or_else(ApiError::bad_symbol)?;
        Ok(order_trade_json(sym, &o, &t, &income))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MarkBody {
    symbol: String,
    mark_price: Decimal,
}

async fn mark_price(State(s): S, body: Bytes) -> Response {
    handle(&s, &body, |b: MarkBody, now| {
        s.exchange_at(now)
            .futures
            .set_mark_price(&b.symbol, b.mark_price)?;
        Ok(json!({"symbol": b.symbol, "markPrice": money(b.mark_price)}))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FundingBody {
    rate: Decimal,
    #[serde(default)]
    symbol: Option<String>,
}

/// One funding settlement: answers the `FUNDING_FEE` rows it wrote.
async fn funding(State(s): S, body: Bytes) -> Response {
    handle(&s, &body, |b: FundingBody, now| {
        let rows = s
            .exchange_at(now)
            .futures
            .charge_funding(b.symbol.as_deref(), b.rate, now)?;
        Ok(json!({"income": income_json(&rows)}))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ModeBody {
    dual_side_position: bool,
}

/// Change Position Mode, with its documented refusals.
async fn position_mode(State(s): S, body: Bytes) -> Response {
    handle(&s, &body, |b: ModeBody, now| {
        s.exchange_at(now)
            .futures
            .set_dual_side(b.dual_side_position)?;
        Ok(json!({"code": 200, "msg": "success"}))
    })
}

async fn state(State(s): S) -> Response {
    let now = s.clock.now_ms();
    let ex = s.exchange_at(now);
    let f = &ex.futures;
    let wallet: Vec<Value> = f
        .wallet
        .iter()
        .map(|(a, w)| json!({"asset": a, "balance": money(w.balance)}))
        .collect();
    let positions: Vec<Value> = f
        .positions
        .iter()
        .filter(|p| !p.amt.is_zero())
        .map(|p| {
            json!({
                "symbol": p.symbol,
                "positionSide": p.side.as_str(),
                "positionAmt": p.amt.normalize().to_string(),
                "entryPrice": p.entry_price.normalize().to_string(),
            })
        })
        .collect();
    Json(json!({
        "dualSidePosition": f.dual_side,
        "wallet": wallet,
        "positions": positions,
        "orders": f.orders.len(),
        "trades": f.trades.len(),
        "income": f.income.len(),
    }))
    .into_response()
}
