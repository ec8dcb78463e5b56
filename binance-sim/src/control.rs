//! The control API under `/__sim`: unsigned JSON for tests and demos.
//!
//! It acts as the account owner while the bot is down (orders, fills,
//! cancels, manual trades, deposits, withdrawals), moves prices and the
//! clock, injects faults, and reads counters. It is outside `/api` and
//! `/sapi`, so it never costs weight and faults never hit it.

use crate::api::error_response;
use crate::api::trade::{full_response, place};
use crate::errors::ApiError;
use crate::faults::FaultSpec;
use crate::ledger::Wallet;
use crate::matching::NewOrder;
use crate::scenario::Scenario;
use crate::state::{fmt8, Side};
use crate::{lock, Shared};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
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
        .route("/scenario", post(load_scenario))
        .route("/state", get(state))
        .route("/orders", post(new_order))
        .route("/orders/fill", post(fill_order))
        .route("/orders/cancel", post(cancel_order))
        .route("/trades", post(manual_trade))
        .route("/deposits", post(deposit))
        .route("/withdrawals", post(withdraw))
        .route("/transfers", post(transfer))
        .route("/converts", post(convert))
        .route("/dust", post(dust))
        .route("/distributions", post(distribution))
        .route("/earn/subscribe", post(earn_subscribe))
        .route("/earn/redeem", post(earn_redeem))
        .route("/earn/rewards", post(earn_reward))
        .route("/sub-account", post(set_sub_account))
        .route("/testnet", post(set_testnet))
        .route("/sub-account/transfers", post(sub_account_transfer))
        .route("/prices", post(set_price))
        .route("/clock", post(clock))
        .route(
            "/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route("/counters", get(counters))
        .route("/limits", post(limits))
        .route("/reset-weight", post(reset_weight))
        .route("/strict", post(set_strict).get(get_strict))
        .route("/sors", post(set_sors).get(get_sors))
        .nest("/futures", crate::futures_control::router())
}

// The JSON plumbing of every `/__sim` action, `futures_control.rs` too.

pub(crate) fn bad_request(msg: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg}))).into_response()
}

pub(crate) fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("bad JSON body: {e}"))
}

pub(crate) fn reply<T: serde::Serialize>(r: Result<T, ApiError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => error_response(&e),
    }
}

async fn load_scenario(State(s): S, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    let scenario = match Scenario::from_json_str(&text) {
        Ok(sc) => sc,
        Err(e) => return bad_request(e.to_string()),
    };
    match crate::load_scenario(&s.clock, &scenario) {
        Ok(mut ex) => {
            {
                // Strictness is configuration: kept unless the scenario sets it.
                let mut current = lock(&s.exchange);
                if scenario.strict.is_none() {
                    ex.strict = current.strict.clone();
                }
                *current = ex;
            }
            lock(&s.limiter).reset();
            lock(&s.faults).active.clear();
            *lock(&s.counters) = crate::Counters::default();
            state(State(s)).await
        }
        Err(e) => bad_request(e.to_string()),
    }
}

async fn state(State(s): S) -> Response {
    let now = s.clock.now_ms();
    let ex = s.exchange_at(now);
    let balances: Vec<Value> = ex
        .balances
        .iter()
        .map(|(a, b)| json!({"asset": a, "free": fmt8(b.free), "locked": fmt8(b.locked)}))
        .collect();
    let funding: Vec<Value> = ex
        .ledger
        .funding
        .iter()
        .map(|(a, b)| json!({"asset": a, "free": fmt8(*b)}))
        .collect();
    let earn: Vec<Value> = ex
        .ledger
        .earn_positions
        .iter()
        .map(|(a, p)| json!({"asset": a, "amount": fmt8(p.amount), "rewards": fmt8(p.rewards)}))
        .collect();
    let prices: Vec<Value> = ex
        .symbols
        .iter()
        .map(|sym| json!({"symbol": sym.symbol, "price": fmt8(sym.price)}))
        .collect();
    Json(json!({
        "server_time": now,
        "clock_skew_ms": s.clock.skew_ms(),
        "update_time": ex.update_time,
        "balances": balances,
        "funding": funding,
        "earn": earn,
        "prices": prices,
        "open_orders": ex.orders.values().filter(|o| o.is_open()).count(),
        "orders": ex.orders.len(),
        "trades": ex.trades.len(),
        "deposits": ex.deposits.len(),
        "withdrawals": ex.withdrawals.len()
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBody {
    symbol: String,
    side: String,
    #[serde(rename = "type")]
    order_type: String,
    quantity: Decimal,
    #[serde(default)]
    price: Option<Decimal>,
    #[serde(default, rename = "clientOrderId")]
    client_order_id: Option<String>,
}

fn parse_side(s: &str) -> Result<Side, ApiError> {
    Side::parse(s).ok_or_else(|| ApiError::bad(-1117, "Invalid side."))
}

async fn new_order(State(s): S, body: Bytes) -> Response {
    let b: OrderBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    reply((|| {
        let req = NewOrder {
            symbol: b.symbol,
            side: parse_side(&b.side)?,
            time_in_force: (b.order_type == "LIMIT").then(|| "GTC".to_string()),
            order_type: b.order_type,
            quantity: Some(b.quantity),
            quote_order_qty: None,
            price: b.price,
            client_order_id: b.client_order_id,
            stp_mode: None,
        };
        let mut ex = s.exchange_at(now);
        let (order, fills) = place(&mut ex, req, now)?;
        Ok(full_response(&order, &fills, now))
    })())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FillBody {
    symbol: String,
    #[serde(rename = "orderId")]
    order_id: u64,
    #[serde(default)]
    quantity: Option<Decimal>,
}

/// Fills an open order (fully, or `quantity` of it) at its own price, as a
/// maker: someone else took the other side.
async fn fill_order(State(s): S, body: Bytes) -> Response {
    let b: FillBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    reply((|| {
        let mut ex = s.exchange_at(now);
        let o = ex
            .order(&b.symbol, b.order_id)
            .cloned()
            .ok_or_else(ApiError::no_such_order)?;
        let qty = b.quantity.unwrap_or(o.remaining());
        let trade = ex.fill(&b.symbol, b.order_id, qty, o.price, true, now)?;
        let order = ex
            .order(&b.symbol, b.order_id)
            .cloned()
            .ok_or_else(ApiError::no_such_order)?;
        Ok(json!({"order": order.to_json(), "trade": trade.to_json()}))
    })())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    symbol: String,
    #[serde(rename = "orderId")]
    order_id: u64,
}

async fn cancel_order(State(s): S, body: Bytes) -> Response {
    let b: CancelBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    reply((|| {
        let mut ex = s.exchange_at(now);
        Ok(ex.cancel(&b.symbol, b.order_id, now)?.to_json())
    })())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TradeBody {
    symbol: String,
    side: String,
    quantity: Decimal,
    /// Sent through Smart Order Routing (`POST /api/v3/sor/order`): filled by an
    /// allocation, which `myTrades` never lists (`sor.rs`).
    #[serde(default)]
    sor: bool,
}

/// A manual MARKET trade by the owner (e.g. in the Binance app), through SOR on request;
/// the answer is the order's FULL response.
async fn manual_trade(State(s): S, body: Bytes) -> Response {
    let b: TradeBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    reply((|| {
        let req = NewOrder {
            symbol: b.symbol,
            side: parse_side(&b.side)?,
            order_type: "MARKET".into(),
            time_in_force: None,
            quantity: Some(b.quantity),
            quote_order_qty: None,
            price: None,
            client_order_id: Some(format!("web_{}", now)),
            stp_mode: None,
        };
        let mut ex = s.exchange_at(now);
        if b.sor {
            let (order, allocations) = ex.place_sor_order(
                crate::sor::SorOrder {
                    order: req,
                    iceberg_qty: None,
                    strategy_id: None,
                    strategy_type: None,
                },
                now,
            )?;
            return Ok(crate::api::sor::full_response(&order, &allocations, now));
        }
        let (order, fills) = place(&mut ex, req, now)?;
        Ok(full_response(&order, &fills, now))
    })())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepositBody {
    asset: String,
    amount: Decimal,
    /// `"spot"` (default) or `"funding"`.
    #[serde(default)]
    wallet: Wallet,
}

async fn deposit(State(s): S, body: Bytes) -> Response {
    let b: DepositBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    let r = s
        .exchange_at(now)
        .deposit(&b.asset, b.amount, b.wallet, now);
    reply(r.map(|(id, status)| json!({"id": id, "insertTime": now, "status": status})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawBody {
    asset: String,
    amount: Decimal,
    #[serde(default)]
    fee: Decimal,
    #[serde(default)]
    wallet: Wallet,
}

async fn withdraw(State(s): S, body: Bytes) -> Response {
    let b: WithdrawBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    let r = s
        .exchange_at(now)
        .withdraw(&b.asset, b.amount, b.fee, b.wallet, now);
    reply(r.map(|(id, status)| json!({"id": id, "applyTime": now, "status": status})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    #[serde(rename = "type")]
    kind: String,
    asset: String,
    amount: Decimal,
}

/// A universal transfer (`MAIN_FUNDING`, `FUNDING_MAIN`, `MAIN_UMFUTURE`,
/// `UMFUTURE_MAIN`, `FUNDING_UMFUTURE`, `UMFUTURE_FUNDING`), answered like
/// `POST /sapi/v1/asset/transfer`: `{"tranId": N}`.
async fn transfer(State(s): S, body: Bytes) -> Response {
    let b: TransferBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    let r = s
        .exchange_at(now)
        .universal_transfer(&b.kind, &b.asset, b.amount, now);
    reply(r.map(|id| json!({"tranId": id})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConvertBody {
    #[serde(rename = "fromAsset")]
    from_asset: String,
    #[serde(rename = "fromAmount")]
    from_amount: Decimal,
    #[serde(rename = "toAsset")]
    to_asset: String,
    #[serde(rename = "toAmount")]
    to_amount: Decimal,
    #[serde(default)]
    wallet: Wallet,
}

/// A Convert trade by the owner: returns its `tradeFlow` row.
async fn convert(State(s): S, body: Bytes) -> Response {
    let b: ConvertBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    let r = s.exchange_at(now).convert(
        &b.from_asset,
        b.from_amount,
        &b.to_asset,
        b.to_amount,
        b.wallet,
        now,
    );
    reply(r.map(|t| t.to_json()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DustBody {
    assets: Vec<String>,
}

/// Dust to BNB: returns the dribblet as `GET /sapi/v1/asset/dribblet`
/// shows it.
async fn dust(State(s): S, body: Bytes) -> Response {
    let b: DustBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    let r = s.exchange_at(now).dust(&b.assets, now);
    reply(r.map(|d| d.to_json()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DistributionBody {
    asset: String,
    amount: Decimal,
    #[serde(default)]
    info: Option<String>,
}

/// A distribution credited to Spot: returns its `assetDividend` row.
async fn distribution(State(s): S, body: Bytes) -> Response {
    let b: DistributionBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    let r = s
        .exchange_at(now)
        .distribute(&b.asset, b.amount, b.info, now);
    reply(r.map(|d| d.to_json()))
}

fn earn_wallet(name: Option<&str>) -> Result<Wallet, String> {
    match name {
        None | Some("SPOT") => Ok(Wallet::Spot),
        Some("FUND") => Ok(Wallet::Funding),
        Some(other) => Err(format!("unknown account {other:?}: use SPOT or FUND")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EarnSubscribeBody {
    asset: String,
    amount: Decimal,
    #[serde(default, rename = "sourceAccount")]
    source_account: Option<String>,
}

/// Subscribes to the asset's flexible product (`<ASSET>001`); answered like
/// `POST /sapi/v1/simple-earn/flexible/subscribe`.
async fn earn_subscribe(State(s): S, body: Bytes) -> Response {
    let b: EarnSubscribeBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let source = match earn_wallet(b.source_account.as_deref()) {
        Ok(w) => w,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    let r = s
        .exchange_at(now)
        .earn_subscribe(&b.asset, b.amount, source, now);
    reply(r.map(|id| json!({"purchaseId": id, "success": true})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EarnRedeemBody {
    asset: String,
    #[serde(default)]
    amount: Option<Decimal>,
    #[serde(default, rename = "destAccount")]
    dest_account: Option<String>,
}

/// Redeems `amount` (all without it); answered like
/// `POST /sapi/v1/simple-earn/flexible/redeem`.
async fn earn_redeem(State(s): S, body: Bytes) -> Response {
    let b: EarnRedeemBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let dest = match earn_wallet(b.dest_account.as_deref()) {
        Ok(w) => w,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    let r = s
        .exchange_at(now)
        .earn_redeem(&b.asset, b.amount, dest, now);
    reply(r.map(|(id, _)| json!({"redeemId": id, "success": true})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EarnRewardBody {
    asset: String,
    rewards: Decimal,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// Pays a reward into the flexible position (type `REALTIME` by default).
async fn earn_reward(State(s): S, body: Bytes) -> Response {
    let b: EarnRewardBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    let kind = b.kind.unwrap_or_else(|| "REALTIME".into());
    let r = s
        .exchange_at(now)
        .earn_reward(&b.asset, b.rewards, &kind, now);
    reply(r.map(|()| json!({"asset": b.asset, "rewards": fmt8(b.rewards), "type": kind})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceBody {
    symbol: String,
    price: Decimal,
}

async fn set_price(State(s): S, body: Bytes) -> Response {
    let b: PriceBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    let r = s.exchange_at(now).set_price(&b.symbol, b.price, now);
    reply(r.map(|fills| json!({"symbol": b.symbol, "price": fmt8(b.price), "fills": fills.iter().map(|t| t.to_json()).collect::<Vec<_>>()})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    #[serde(default)]
    skew_ms: Option<i64>,
    #[serde(default)]
    advance_ms: Option<i64>,
}

async fn clock(State(s): S, body: Bytes) -> Response {
    let b: ClockBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    if let Some(k) = b.skew_ms {
        s.clock.set_skew_ms(k);
    }
    if let Some(a) = b.advance_ms {
        s.clock.advance_ms(a);
    }
    Json(json!({"server_time": s.clock.now_ms(), "skew_ms": s.clock.skew_ms()})).into_response()
}

async fn add_fault(State(s): S, body: Bytes) -> Response {
    let f: FaultSpec = match parse(&body) {
        Ok(f) => f,
        Err(e) => return bad_request(e),
    };
    if f.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
        return bad_request("probability must be within 0..=1".into());
    }
    let mut faults = lock(&s.faults);
    faults.active.push(f);
    Json(json!({"active": faults.active})).into_response()
}

async fn list_faults(State(s): S) -> Response {
    let faults = lock(&s.faults);
    Json(json!({"active": faults.active, "fired": faults.fired})).into_response()
}

async fn clear_faults(State(s): S) -> Response {
    lock(&s.faults).active.clear();
    Json(json!({"active": []})).into_response()
}

async fn counters(State(s): S) -> Response {
    let now = s.clock.now_ms();
    let (used, limit, max_minute) = {
        let mut l = lock(&s.limiter);
        (l.used_total(now), l.limit, l.max_minute_weight())
    };
    let c = lock(&s.counters);
    Json(json!({
        "by_path": c.by_path,
        "by_key": c.by_key,
        "current_minute_weight": used,
        "max_minute_weight": max_minute,
        "weight_limit_per_minute": limit,
        "server_time": now
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsBody {
    weight_per_minute: u64,
    #[serde(default)]
    ban_after_429s: Option<u32>,
}

async fn limits(State(s): S, body: Bytes) -> Response {
    let b: LimitsBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let mut l = lock(&s.limiter);
    l.limit = b.weight_per_minute;
    if let Some(n) = b.ban_after_429s {
        l.ban_after_429s = n;
    }
    Json(json!({"weight_per_minute": l.limit, "ban_after_429s": l.ban_after_429s})).into_response()
}

async fn reset_weight(State(s): S) -> Response {
    lock(&s.limiter).reset();
    Json(json!({"reset": true})).into_response()
}

async fn get_strict(State(s): S) -> Response {
    Json(lock(&s.exchange).strict.clone()).into_response()
}

/// Sets strict-mode switches at runtime: the named switches change, the
/// others keep their current value (`"preset"` resets the base first).
async fn set_strict(State(s): S, body: Bytes) -> Response {
    let v: Value = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    let mut ex = s.exchange_at(now);
    match crate::strict::StrictConfig::apply_json(&ex.strict, &v) {
        Ok(c) => {
            ex.strict = c.clone();
            Json(c).into_response()
        }
        Err(e) => bad_request(e),
    }
}

async fn get_sors(State(s): S) -> Response {
    Json(lock(&s.exchange).sor.configs.clone()).into_response()
}

/// Replaces the SOR configurations (`[{base_asset, symbols}]`, as the
/// scenario's `sors`; `[]` makes SOR unavailable). Allocations already made
/// stay queryable. Answers the configurations now in force.
async fn set_sors(State(s): S, body: Bytes) -> Response {
    let specs: Vec<crate::scenario::SorSpec> = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    let mut ex = s.exchange_at(now);
    let symbols = ex.symbols.clone();
    match ex.sor.configure(&symbols, &specs) {
        Ok(()) => Json(ex.sor.configs.clone()).into_response(),
        Err(e) => bad_request(e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubAccountBody {
    /// Play a master (not a sub-account) account.
    master: bool,
}

/// Makes the account a master (`{"master": true}`) or a sub-account again.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestnetBody {
    testnet: bool,
}

/// `{"testnet": true}`: the simulator plays the Spot testnet's host (only `/api`).
async fn set_testnet(State(s): S, body: Bytes) -> Response {
    let b: TestnetBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    s.exchange_at(now).testnet = b.testnet;
    Json(json!({"testnet": b.testnet})).into_response()
}

async fn set_sub_account(State(s): S, body: Bytes) -> Response {
    let b: SubAccountBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let now = s.clock.now_ms();
    s.exchange_at(now).subaccount.is_master = b.master;
    Json(json!({"master": b.master})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubTransferBody {
    /// `in` (from the counter-party) or `out` (to it).
    direction: String,
    /// `master` (default) or `subAccount`.
    #[serde(rename = "counterParty", default)]
    counter_party: Option<String>,
    #[serde(default)]
    email: Option<String>,
    asset: String,
    amount: Decimal,
    /// This account's wallet: `SPOT` (default) or `USDT_FUTURE`.
    #[serde(rename = "accountType", default)]
    account_type: Option<String>,
    /// The counter-party's wallet (default `SPOT`).
    #[serde(rename = "counterAccountType", default)]
    counter_account_type: Option<String>,
    /// Record it as `FAILURE` and move nothing.
    #[serde(default)]
    fail: bool,
}

/// A transfer between this sub-account and its master or a sibling, as the
/// owner makes it on the web: returns its `subUserHistory` row.
async fn sub_account_transfer(State(s): S, body: Bytes) -> Response {
    use crate::subaccount::{Direction, TransferRequest};
    let b: SubTransferBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let direction = match b.direction.as_str() {
        "in" => Direction::In,
        "out" => Direction::Out,
        other => return bad_request(format!("direction {other:?}: use \"in\" or \"out\"")),
    };
    let req = TransferRequest {
        direction,
        counter_party: b.counter_party.unwrap_or_else(|| "master".to_string()),
        email: b.email,
        asset: b.asset,
        amount: b.amount,
        account_type: b.account_type.unwrap_or_else(|| "SPOT".to_string()),
        counter_account_type: b.counter_account_type.unwrap_or_else(|| "SPOT".to_string()),
        fail: b.fail,
    };
    let now = s.clock.now_ms();
    let r = s.exchange_at(now).sub_account_transfer(req, now);
    reply(r.map(|t| t.to_json()))
}
