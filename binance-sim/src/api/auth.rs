//! SIGNED endpoint security: API key, timing, signature, key permissions.
//!
//! Order of checks: API key (`-2014` missing / `-2015` unknown or used from
//! an address its IP restriction does not trust, HTTP 401),
//! mandatory `timestamp` and `signature` (`-1102`), `recvWindow` (default
//! 5000, decimal with up to 3 places, max 60000), the timing rule from the
//! docs (`timestamp < serverTime + 1000 && serverTime - timestamp <=
//! recvWindow`, else `-1021`), the signature (`-1022`: hex HMAC, or base64
//! Ed25519 / RSA for a key registered with a public key), then the key's
//! permissions (`-2015`).

use super::Call;
use crate::errors::ApiError;
use crate::signing;
use axum::http::Method;
use rust_decimal::Decimal;

pub fn check(
    call: &Call,
    method: &Method,
    path: &str,
    raw_query: &str,
    raw_body: &str,
) -> Result<(), ApiError> {
    let key = match call.api_key.as_deref() {
        None | Some("") => return Err(ApiError::api_key_format()),
        Some(k) => k,
    };
    let (verifier, restrictions) = {
        let ex = call.exchange();
        match ex.key(key) {
            None => return Err(ApiError::rejected_key()),
            // An IP-restricted key used from an untrusted address: the same
            // 401 -2015 ("Invalid API-key, IP, or permissions for action.").
            Some(k) if !k.allows_ip(call.ip) => return Err(ApiError::rejected_key()),
            Some(k) => (k.verifier.clone(), k.restrictions.clone()),
        }
    };
    let ts = call.params.required("timestamp")?;
    let ts: i64 = ts
        .parse()
        .map_err(|_| ApiError::illegal_chars("timestamp", "^[0-9]{1,20}$"))?;
    let recv_window = match call.params.decimal("recvWindow")? {
        None => Decimal::new(5000, 0),
        Some(w) => {
            if w.scale() > 3 {
                return Err(ApiError::bad(
                    -1111,
                    "Parameter 'recvWindow' has too much precision.",
                ));
            }
            if w > Decimal::new(60_000, 0) {
                return Err(ApiError::bad(
                    -1102,
                    "'recvWindow' contains unexpected value. Cannot be greater than 60000.",
                ));
            }
            if w <= Decimal::ZERO {
                return Err(ApiError::invalid_param("recvWindow"));
            }
            w
        }
    };
    let signature = call.params.required("signature")?.to_string();
    // Timestamps may be in ms or µs; compare in ms with µs precision.
    let ts_ms = if ts >= 100_000_000_000_000 {
        Decimal::new(ts, 3)
    } else {
        Decimal::new(ts, 0)
    };
    let server = Decimal::new(call.now, 0);
    if ts_ms >= server + Decimal::new(1000, 0) {
        return Err(ApiError::ts_ahead());
    }
    if server - ts_ms > recv_window {
        return Err(ApiError::ts_outside_window());
    }
    let (payload, _) = signing::payload_and_signature(raw_query, raw_body);
    if !verifier.verify(&payload, &signature) {
        return Err(ApiError::bad_signature());
    }
    let is_trade = method != Method::GET && path == "/api/v3/order";
    if (is_trade && !restrictions.enable_spot_and_margin_trading)
        || (!is_trade && !restrictions.enable_reading)
    {
        return Err(ApiError::rejected_key());
    }
    Ok(())
}

/// `MARKET_DATA` security: the API key must be sent (`-2014`) and known,
/// and trust the client's address (`-2015`); nothing is signed.
pub fn check_key_only(call: &Call) -> Result<(), ApiError> {
    let key = match call.api_key.as_deref() {
        None | Some("") => return Err(ApiError::api_key_format()),
        Some(k) => k,
    };
    match call.exchange().key(key) {
        Some(k) if k.allows_ip(call.ip) => Ok(()),
        _ => Err(ApiError::rejected_key()),
    }
}
