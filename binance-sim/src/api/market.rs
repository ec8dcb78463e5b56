//! Public market endpoints: exchangeInfo, ticker/price, klines.

use super::{ApiResult, Call};
use crate::errors::ApiError;
use crate::json::J;
use crate::lock;
use crate::obj;
use crate::state::{fmt8, Exchange};
use rust_decimal::Decimal;
use serde_json::json;

/// `symbols` is a JSON array in the query: `["BTCUSDT","ETHUSDT"]`.
fn parse_symbols(raw: &str) -> Result<Vec<String>, ApiError> {
    let v: Vec<String> =
        serde_json::from_str(raw).map_err(|_| ApiError::invalid_param("symbols"))?;
    if v.is_empty() {
        return Err(ApiError::invalid_param("symbols"));
    }
    if v.len() > 100 {
        return Err(ApiError::bad(
            -1101,
            "Too many values sent for parameter 'symbols', maximum allowed up to 100.",
        ));
    }
    Ok(v)
}

/// The symbols a request selects (`symbol`, `symbols`, or all).
fn select(ex: &Exchange, call: &Call) -> Result<Vec<String>, ApiError> {
    match (call.params.str("symbol"), call.params.str("symbols")) {
        (Some(_), Some(_)) => Err(ApiError::bad_combo()),
        (Some(s), None) => {
            ex.symbol(s).ok_or_else(ApiError::bad_symbol)?;
            Ok(vec![s.to_string()])
        }
        (None, Some(list)) => {
            let list = parse_symbols(list)?;
            for s in &list {
                ex.symbol(s).ok_or_else(ApiError::bad_symbol)?;
            }
            Ok(list)
        }
        (None, None) => Ok(ex.symbols.iter().map(|s| s.symbol.clone()).collect()),
    }
}

pub fn exchange_info(call: &Call) -> ApiResult {
    let ex = call.exchange();
    let names = select(&ex, call)?;
    let limit = lock(&call.shared.limiter).limit;
    let symbols: Vec<J> = names
        .iter()
        .filter_map(|n| ex.symbol(n))
        .map(Exchange::symbol_info_json)
        .collect();
    let rate = |t: &str, i: &str, n: i64, l: u64| obj! {"rateLimitType": t, "interval": i, "intervalNum": n, "limit": l};
    let info = obj! {
        "timezone": "UTC",
        "serverTime": call.now,
        "rateLimits": vec![
            rate("REQUEST_WEIGHT", "MINUTE", 1, limit),
            rate("ORDERS", "SECOND", 10, 100),
            rate("ORDERS", "DAY", 1, 200_000),
            rate("RAW_REQUESTS", "MINUTE", 5, 300_000)
        ],
        "exchangeFilters": Vec::<J>::new(),
        "symbols": symbols
    };
    // "The sors field is optional. It is omitted in responses if SOR is not
    // available" (sor_faq.md). Listed whole whichever symbols were asked
    // for [inference: the docs do not say it is filtered].
    Ok(match ex.sor.to_json() {
        Some(sors) => info.with("sors", sors),
        None => info,
    })
}

pub fn ticker_price(call: &Call) -> ApiResult {
    let ex = call.exchange();
    let single = call.params.has("symbol");
    let names = select(&ex, call)?;
    let items: Vec<J> = names
        .iter()
        .filter_map(|n| ex.symbol(n))
        .map(|s| obj! {"symbol": &s.symbol, "price": fmt8(s.price)})
        .collect();
    if single {
        Ok(items.into_iter().next().unwrap_or(J::Obj(vec![])))
    } else {
        Ok(J::Arr(items))
    }
}

fn interval_ms(i: &str) -> Option<i64> {
    let m = 60_000;
    Some(match i {
        "1m" => m,
        "3m" => 3 * m,
        "5m" => 5 * m,
        "15m" => 15 * m,
        "30m" => 30 * m,
        "1h" => 60 * m,
        "2h" => 120 * m,
        "4h" => 240 * m,
        "6h" => 360 * m,
        "8h" => 480 * m,
        "12h" => 720 * m,
        "1d" => 1440 * m,
        _ => return None,
    })
}

/// Candles built from the recorded price history. A candle with no price
/// point in it is flat at the last earlier price; candles before the first
/// recorded price are not returned. Volume counts the account's own fills
/// (the simulator has no other market participants).
pub fn klines(call: &Call) -> ApiResult {
    let symbol = call.params.required("symbol")?;
    let interval = call.params.required("interval")?;
    let step = interval_ms(interval).ok_or_else(ApiError::bad_interval)?;
    let limit = call.params.limit(500, 1000)?;
    let start = call.params.time_ms("startTime")?;
    let end = call.params.time_ms("endTime")?;
    let ex = call.exchange();
    let sym = ex.symbol(symbol).ok_or_else(ApiError::bad_symbol)?;
    let Some(first) = sym.history.first().map(|(t, _)| *t) else {
        return Ok(J::Arr(vec![]));
    };
    let align = |t: i64| t.div_euclid(step) * step;
    let last_open = align(end.unwrap_or(call.now).min(call.now));
    let first_open = align(start.unwrap_or(first).max(first));
    let mut opens: Vec<i64> = Vec::new();
    let mut t = first_open;
    while t <= last_open {
        opens.push(t);
        t += step;
    }
    // Binance: with startTime, the oldest candles from it; else the newest.
    if start.is_some() {
        opens.truncate(limit);
    } else if opens.len() > limit {
        opens.drain(..opens.len() - limit);
    }
    let mut out = Vec::new();
    for open_time in opens {
        let close_time = open_time + step - 1;
        let before = sym
            .history
            .iter()
            .rev()
            .find(|(t, _)| *t < open_time)
            .map(|(_, p)| *p);
        let inside: Vec<Decimal> = sym
            .history
            .iter()
            .filter(|(t, _)| *t >= open_time && *t <= close_time)
            .map(|(_, p)| *p)
            .collect();
        let (o, h, l, c) = match (inside.first(), before) {
            (Some(first_in), _) => {
                let o = *first_in;
                let h = inside.iter().copied().fold(o, Decimal::max);
                let l = inside.iter().copied().fold(o, Decimal::min);
                (o, h, l, *inside.last().unwrap_or(first_in))
            }
            (None, Some(p)) => (p, p, p, p),
            (None, None) => continue,
        };
        let fills: Vec<_> = ex
            .trades
            .iter()
            .filter(|t| t.symbol == sym.symbol && t.time >= open_time && t.time <= close_time)
            .collect();
        let vol: Decimal = fills.iter().map(|t| t.qty).sum();
        let qvol: Decimal = fills.iter().map(|t| t.quote_qty).sum();
        let buy_vol: Decimal = fills.iter().filter(|t| t.is_buyer).map(|t| t.qty).sum();
        let buy_qvol: Decimal = fills
            .iter()
            .filter(|t| t.is_buyer)
            .map(|t| t.quote_qty)
            .sum();
        out.push(J::Val(json!([
            open_time,
            fmt8(o),
            fmt8(h),
            fmt8(l),
            fmt8(c),
            fmt8(vol),
            close_time,
            fmt8(qvol),
            fills.len(),
            fmt8(buy_vol),
            fmt8(buy_qvol),
            "0"
        ])));
    }
    Ok(J::Arr(out))
}

/// `GET /fapi/v1/exchangeInfo` (USD-M, `futuresType` `U_MARGINED`) and
/// `GET /dapi/v1/exchangeInfo` (COIN-M): USD-M lists the scenario's
/// `futures` contracts and their margin assets (none without that
/// section); COIN-M is not simulated, so its `symbols` are empty. The rate
/// limits are the futures hosts' own.
pub fn futures_exchange_info(call: &Call, futures_type: &str) -> ApiResult {
    let rate = |t: &str, i: &str, n: i64, l: u64| obj! {"rateLimitType": t, "interval": i, "intervalNum": n, "limit": l};
    let limits = vec![
        rate(
            "REQUEST_WEIGHT",
            "MINUTE",
            1,
            crate::weights::FUTURES_WEIGHT_LIMIT,
        ),
        rate("ORDERS", "MINUTE", 1, 1200),
        rate("ORDERS", "SECOND", 10, 300),
    ];
    let mut fields = vec![
        ("timezone", J::Val("UTC".into())),
        ("serverTime", J::Val(call.now.into())),
    ];
    if futures_type == "U_MARGINED" {
        fields.push(("futuresType", J::Val(futures_type.into())));
    }
    fields.push(("rateLimits", J::Arr(limits)));
    fields.push(("exchangeFilters", J::Arr(Vec::new())));
    let (assets, symbols) = if futures_type == "U_MARGINED" {
        super::futures::exchange_info_lists(&call.exchange())
    } else {
        (Vec::new(), Vec::new())
    };
    if futures_type == "U_MARGINED" {
        fields.push(("assets", J::Arr(assets)));
    }
    fields.push(("symbols", J::Arr(symbols)));
    Ok(J::Obj(fields))
}
