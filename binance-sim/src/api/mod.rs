//! The Binance endpoints and the pipeline every request goes through:
//!
//! 1. count the request; pick an injected fault (may answer now);
//! 2. charge the documented weight to the right pool (may answer 429/418);
//! 3. for SIGNED endpoints: API key, timestamp/recvWindow, signature;
//! 4. run the endpoint;
//! 5. add `X-MBX-USED-WEIGHT-1M` (or the SAPI header) to whatever answer.

pub mod account;
pub mod auth;
pub mod futures;
pub mod ledger;
pub mod market;
pub mod sapi;
pub mod sor;
pub mod subaccount;
pub mod trade;

use crate::errors::ApiError;
use crate::faults::{FaultKind, FaultSpec};
use crate::json::J;
use crate::params::Params;
use crate::server::ConnCtx;
use crate::weights::{self, Pool, Verdict};
use crate::{lock, Shared};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// What an endpoint returns: JSON, or a documented error.
pub type ApiResult = Result<J, ApiError>;

/// A request as the endpoints see it.
pub struct Call<'a> {
    pub shared: &'a Shared,
    pub params: Params,
    pub now: i64,
    pub api_key: Option<String>,
    /// The client's address (the TCP peer).
    pub ip: IpAddr,
}

impl Call<'_> {
    /// The exchange at this request's time (due transfer changes applied).
    pub fn exchange(&self) -> std::sync::MutexGuard<'_, crate::state::Exchange> {
        self.shared.exchange_at(self.now)
    }
}

fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let text = serde_json::to_string(body).unwrap_or_default();
    let mut r = (status, text).into_response();
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    r
}

pub fn error_response(e: &ApiError) -> Response {
    let mut r = json_response(e.status, &e.body());
    if let Some(s) = e.retry_after {
        if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
            r.headers_mut().insert("retry-after", v);
        }
    }
    r
}

fn set_header(r: &mut Response, name: &'static str, value: u64) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        r.headers_mut().insert(name, v);
    }
}

/// `MARKET_DATA` endpoints: an API key is required, no signature.
fn needs_api_key(method: &Method, path: &str) -> bool {
    method == Method::GET && path == "/sapi/v1/margin/allPairs"
}

/// Does this path require a signature?
fn is_signed(method: &Method, path: &str) -> bool {
    matches!(
        (method.as_str(), path),
        ("GET", "/api/v3/account")
            | ("GET", "/api/v3/account/commission")
            | ("GET", "/api/v3/openOrders")
            | ("GET", "/api/v3/allOrders")
            | ("GET", "/api/v3/order")
            | ("POST", "/api/v3/order")
            | ("DELETE", "/api/v3/order")
            | ("GET", "/api/v3/myTrades")
            | ("POST", "/api/v3/sor/order")
            | ("POST", "/api/v3/sor/order/test")
            | ("GET", "/api/v3/myAllocations")
    ) || (path.starts_with("/sapi/") && !needs_api_key(method, path))
        || (path.starts_with("/fapi/") && !FAPI_PUBLIC.contains(&path))
}

/// The `/fapi` endpoints that are `NONE` security (market data); every
/// other `/fapi` endpoint served is `USER_DATA`, so SIGNED.
const FAPI_PUBLIC: &[&str] = &["/fapi/v1/ping", "/fapi/v1/time", "/fapi/v1/exchangeInfo"];

/// The fallback handler: every path that is not `/__sim/...`.
pub async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let ctx = parts.extensions.get::<ConnCtx>().cloned();
    let ip = ctx
        .as_ref()
        .map(|c| c.peer.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let api_key = parts
        .headers
        .get("x-mbx-apikey")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match axum::body::to_bytes(body, 1 << 20).await {
        Ok(b) => b,
        Err(_) => {
            return error_response(&ApiError::bad(-1102, "Field value was empty or malformed."))
        }
    };
    // "For GET endpoints, parameters must be sent as a query string"
    // (rest-api.md, General Information on Endpoints): a GET body is never
    // read, neither for parameters nor for the signature payload. POST, PUT
    // and DELETE may mix query string and form body.
    let raw_body = if method == Method::GET {
        String::new()
    } else {
        String::from_utf8_lossy(&body).to_string()
    };

    let served = ["/api/", "/sapi/", "/fapi/", "/dapi/"];
    if !served.iter().any(|p| path.starts_with(p)) {
        return (StatusCode::NOT_FOUND, "").into_response();
    }
    // The Spot testnet's host has no `/sapi` (FACTS §1): not found, no Binance error body.
    if path.starts_with("/sapi/") && lock(&shared.exchange).testnet {
        return (StatusCode::NOT_FOUND, "").into_response();
    }

    // 1. Count, and maybe fail before the exchange sees the request.
    {
        let mut c = lock(&shared.counters);
        c.by_path.entry(path.clone()).or_default().requests += 1;
        if let Some(k) = &api_key {
            c.by_key.entry(k.clone()).or_default().requests += 1;
        }
    }
    let fault = lock(&shared.faults).pick(&path);
    let mut late_fault = None;
    if let Some(f) = fault {
        match f.kind {
            FaultKind::Latency => {
                tokio::time::sleep(std::time::Duration::from_millis(
                    f.latency_ms.unwrap_or(1000),
                ))
                .await;
            }
            FaultKind::MalformedJson | FaultKind::TruncatedJson => late_fault = Some(f),
            _ => return early_fault(&shared, &f, ctx.as_ref(), ip).await,
        }
    }

    // 2. Weight.
    let params = Params::parse(&raw_query, &raw_body);
    let has = |name: &str| params.as_ref().is_ok_and(|p| p.has(name));
    let Some((weight, pool)) = weights::weight(method.as_str(), &path, &has) else {
        return json_response(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"code": -1020, "msg": "This operation is not supported."}),
        );
    };
    let now = shared.clock.now_ms();
    let mut header: (&'static str, u64);
    match pool {
        Pool::Api => {
            let verdict = lock(&shared.limiter).charge_api(ip, weight, now);
            match verdict {
                Verdict::Allowed { used } => header = ("x-mbx-used-weight-1m", used),
                Verdict::TooMany {
                    used,
                    retry_after_s,
                    limit,
                } => {
                    count_weight(&shared, &path, api_key.as_deref(), weight);
                    let mut r = error_response(&ApiError::too_much_weight(limit, retry_after_s));
                    set_header(&mut r, "x-mbx-used-weight-1m", used);
                    return r;
                }
                Verdict::Banned {
                    used,
                    until_ms,
                    retry_after_s,
                } => {
                    let mut r = error_response(&ApiError::banned(until_ms, retry_after_s));
                    set_header(&mut r, "x-mbx-used-weight-1m", used);
                    return r;
                }
            }
        }
        Pool::SapiIp | Pool::SapiUid => {
            let (name, key, limit) = if pool == Pool::SapiIp {
                (
                    "x-sapi-used-ip-weight-1m",
                    format!("ip:{ip}:{path}"),
                    weights::SAPI_IP_LIMIT,
                )
            } else {
                (
                    "x-sapi-used-uid-weight-1m",
                    "uid".to_string(),
                    weights::SAPI_UID_LIMIT,
                )
            };
            let (used, ok) = lock(&shared.limiter).charge_sapi(&key, weight, limit, now);
            if !ok {
                let retry = weights::Limiter::seconds_to_window_end(now);
                let mut r = error_response(&ApiError::too_much_weight(limit, retry));
                set_header(&mut r, name, used);
                return r;
            }
            header = (name, used);
        }
        Pool::Fapi | Pool::Dapi => {
            let key = format!("{pool:?}:{ip}");
            let limit = weights::FUTURES_WEIGHT_LIMIT;
            let (used, ok) = lock(&shared.limiter).charge_sapi(&key, weight, limit, now);
            if !ok {
                let retry = weights::Limiter::seconds_to_window_end(now);
                let mut r = error_response(&ApiError::too_much_weight(limit, retry));
                set_header(&mut r, "x-mbx-used-weight-1m", used);
                return r;
            }
            header = ("x-mbx-used-weight-1m", used);
        }
    }
    count_weight(&shared, &path, api_key.as_deref(), weight);

    // 3 + 4. Security, then the endpoint.
    let result = match params {
        Err(e) => Err(e),
        Ok(params) => {
            let call = Call {
                shared: &shared,
                params,
                now,
                api_key: api_key.clone(),
                ip,
            };
            let signed = is_signed(&method, &path);
            let checked = if signed {
                auth::check(&call, &method, &path, &raw_query, &raw_body)
            } else if needs_api_key(&method, &path) {
                auth::check_key_only(&call)
            } else {
                Ok(())
            };
            match checked.and_then(|()| check_all_read(&call, &method, &path, signed)) {
                Err(e) => Err(e),
                Ok(()) => route(&method, &path, &call),
            }
        }
    };
    // Successful order placements and cancels cost 0 weight since
    // 2026-04-02, SOR placements included (CHANGELOG 2026-03-27; not the
    // test endpoints); the request was charged its documented 1 up front
    // (a rejected order still costs it).
    let is_order_write = (path == "/api/v3/order" && method != Method::GET)
        || (path == "/api/v3/sor/order" && method == Method::POST);
    if is_order_write && result.is_ok() {
        lock(&shared.limiter).refund(ip, weight, now);
        count_weight_refund(&shared, &path, api_key.as_deref(), weight);
    }
    // The header reports the weight at answer time.
    if pool == Pool::Api {
        header.1 = lock(&shared.limiter).used(ip, now);
    }
    let mut response = match result {
        Ok(v) => match late_fault {
            Some(f) => corrupt(&f, &v),
            None => json_response(StatusCode::OK, &v),
        },
        Err(e) => error_response(&e),
    };
    set_header(&mut response, header.0, header.1);
    tracing::info!(%method, %path, status = response.status().as_u16(), weight, used = header.1, "request");
    response
}

fn count_weight(shared: &Shared, path: &str, key: Option<&str>, weight: u64) {
    let mut c = lock(&shared.counters);
    c.by_path.entry(path.to_string()).or_default().weight += weight;
    if let Some(k) = key {
        c.by_key.entry(k.to_string()).or_default().weight += weight;
    }
}

fn count_weight_refund(shared: &Shared, path: &str, key: Option<&str>, weight: u64) {
    let mut c = lock(&shared.counters);
    if let Some(e) = c.by_path.get_mut(path) {
        e.weight = e.weight.saturating_sub(weight);
    }
    if let Some(e) = key.and_then(|k| c.by_key.get_mut(k)) {
        e.weight = e.weight.saturating_sub(weight);
    }
}

/// A parameter the endpoint does not read is `-1104` (errors.md,
/// `UNREAD_PARAMETERS`), in every mode. Checked after security and before
/// the endpoint acts. "Read" and "sent" count distinct names,
/// `timestamp`/`recvWindow`/`signature` included [inference: the docs give
/// only the message template].
fn check_all_read(call: &Call, method: &Method, path: &str, signed: bool) -> Result<(), ApiError> {
    let Some(known) = crate::strict::read_params(method.as_str(), path) else {
        return Ok(());
    };
    // ccxt signs every /sapi call, MARKET_DATA ones included, and live
    // Binance answers it, so those read the signing parameters too
    // [inference].
    let reads_signing = signed || needs_api_key(method, path);
    let is_read = |n: &str| {
        known.contains(&n) || (reads_signing && crate::strict::SIGNED_PARAMS.contains(&n))
    };
    let sent = call.params.names().count();
    let read = call.params.names().filter(|n| is_read(n)).count();
    if read < sent {
        return Err(ApiError::unread_params(read, sent));
    }
    Ok(())
}

fn route(method: &Method, path: &str, call: &Call) -> ApiResult {
    match (method.as_str(), path) {
        ("GET", "/api/v3/ping") => Ok(J::Obj(vec![])),
        ("GET", "/api/v3/time") => Ok(crate::obj! {"serverTime": call.now}),
        ("GET", "/api/v3/exchangeInfo") => market::exchange_info(call),
        ("GET", "/api/v3/ticker/price") => market::ticker_price(call),
        ("GET", "/api/v3/klines") => market::klines(call),
        ("GET", "/api/v3/account") => account::account(call),
        ("GET", "/api/v3/account/commission") => account::commission(call),
        ("GET", "/api/v3/openOrders") => account::open_orders(call),
        ("GET", "/api/v3/allOrders") => account::all_orders(call),
        ("GET", "/api/v3/order") => account::get_order(call),
        ("GET", "/api/v3/myTrades") => account::my_trades(call),
        ("POST", "/api/v3/order") => trade::new_order(call),
        ("DELETE", "/api/v3/order") => trade::cancel_order(call),
        ("POST", "/api/v3/sor/order") => sor::new_order(call),
        ("POST", "/api/v3/sor/order/test") => sor::test_order(call),
        ("GET", "/api/v3/myAllocations") => sor::my_allocations(call),
        ("GET", "/sapi/v1/capital/deposit/hisrec") => sapi::deposits(call),
        ("GET", "/sapi/v1/capital/withdraw/history") => sapi::withdrawals(call),
        ("GET", "/sapi/v1/account/apiRestrictions") => sapi::api_restrictions(call),
        ("GET", "/sapi/v1/capital/config/getall") => sapi::all_coins(call),
        ("GET", "/sapi/v1/margin/allPairs") => sapi::margin_pairs(call),
        ("GET", "/sapi/v1/margin/isolated/allPairs") => sapi::margin_pairs(call),
        ("POST", "/sapi/v1/asset/get-funding-asset") => ledger::funding_asset(call),
        ("GET", "/sapi/v1/asset/transfer") => ledger::transfers(call),
        ("GET", "/sapi/v1/convert/tradeFlow") => ledger::convert_trade_flow(call),
        ("GET", "/sapi/v1/asset/dribblet") => ledger::dribblet(call),
        ("GET", "/sapi/v1/asset/assetDividend") => ledger::asset_dividend(call),
        ("GET", "/sapi/v1/simple-earn/flexible/history/subscriptionRecord") => {
            ledger::earn_history(call, ledger::EarnHistory::Subscription)
        }
        ("GET", "/sapi/v1/simple-earn/flexible/history/redemptionRecord") => {
            ledger::earn_history(call, ledger::EarnHistory::Redemption)
        }
        ("GET", "/sapi/v1/simple-earn/flexible/history/rewardsRecord") => {
            ledger::earn_history(call, ledger::EarnHistory::Rewards)
        }
        ("GET", "/sapi/v1/simple-earn/flexible/position") => ledger::earn_position(call),
        ("GET", "/sapi/v1/sub-account/transfer/subUserHistory") => {
            subaccount::transfer_history(call)
        }
        ("GET", "/fapi/v1/exchangeInfo") => market::futures_exchange_info(call, "U_MARGINED"),
        ("GET", "/fapi/v1/ping") => Ok(J::Obj(vec![])),
        ("GET", "/fapi/v1/time") => futures::time(call),
        ("GET", "/fapi/v2/account") => futures::account(call, false),
        ("GET", "/fapi/v3/account") => futures::account(call, true),
        ("GET", "/fapi/v2/balance") | ("GET", "/fapi/v3/balance") => futures::balance(call),
        ("GET", "/fapi/v2/positionRisk") => futures::position_risk(call, false),
        ("GET", "/fapi/v3/positionRisk") => futures::position_risk(call, true),
        ("GET", "/fapi/v1/positionSide/dual") => futures::position_mode(call),
        ("GET", "/fapi/v1/userTrades") => futures::user_trades(call),
        ("GET", "/fapi/v1/allOrders") => futures::all_orders(call),
        ("GET", "/fapi/v1/openOrders") => futures::open_orders(call),
        ("GET", "/fapi/v1/order") => futures::query_order(call, false),
        ("GET", "/fapi/v1/openOrder") => futures::query_order(call, true),
        ("GET", "/fapi/v1/income") => futures::income(call),
        ("GET", "/fapi/v1/leverageBracket") => futures::leverage_brackets(call),
        ("GET", "/fapi/v1/forceOrders") => futures::force_orders(call),
        ("GET", "/dapi/v1/exchangeInfo") => market::futures_exchange_info(call, "COIN_MARGINED"),
        _ => Err(ApiError::bad(-1020, "This operation is not supported.")),
    }
}

/// Faults answered before the exchange acts.
async fn early_fault(
    shared: &Shared,
    f: &FaultSpec,
    ctx: Option<&ConnCtx>,
    ip: IpAddr,
) -> Response {
    match f.kind {
        FaultKind::Http500 => error_response(&ApiError::internal()),
        FaultKind::Http502 => {
            let mut r = (
                StatusCode::BAD_GATEWAY,
                "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
            )
                .into_response();
            r.headers_mut()
                .insert("content-type", HeaderValue::from_static("text/html"));
            r
        }
        FaultKind::Http503 => {
            let (code, msg) = if f.variant.as_deref() == Some("unknown") {
                (
                    -1000,
                    "Unknown error, please check your request or try again later.",
                )
            } else {
                (-1001, "Service Unavailable.")
            };
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &serde_json::json!({"code": code, "msg": msg}),
            )
        }
        FaultKind::RateLimit429 => {
            let now = shared.clock.now_ms();
            let (limit, used) = {
                let mut l = lock(&shared.limiter);
                (l.limit, l.used(ip, now))
            };
            let mut r = error_response(&ApiError::too_much_weight(
                limit,
                weights::Limiter::seconds_to_window_end(now),
            ));
            set_header(&mut r, "x-mbx-used-weight-1m", used);
            r
        }
        FaultKind::DropConnection => {
            if let Some(c) = ctx {
                c.kill();
                // The connection task drops this future with the socket.
                std::future::pending::<()>().await;
            }
            Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .body(Body::empty())
                .unwrap_or_default()
        }
        // Handled elsewhere; answer as a 500 if we ever get here.
        FaultKind::Latency | FaultKind::MalformedJson | FaultKind::TruncatedJson => {
            error_response(&ApiError::internal())
        }
    }
}

/// Corrupts a successful body: `malformed_json` breaks the syntax,
/// `truncated_json` cuts the body in half (with a matching Content-Length,
/// so the HTTP framing is fine and only the JSON is broken).
fn corrupt(f: &FaultSpec, v: &J) -> Response {
    let text = serde_json::to_string(v).unwrap_or_default();
    let body = match f.kind {
        FaultKind::TruncatedJson => {
            let mut cut = (text.len() / 2).max(1);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text[..cut].to_string()
        }
        _ => {
            if let Some(rest) = text.strip_prefix('{') {
                format!("{{,{rest}")
            } else if let Some(rest) = text.strip_prefix('[') {
                format!("[,{rest}")
            } else {
                format!("{text},")
            }
        }
    };
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    r
}
