//! "Check one input" for every fuzz target: the fuzz targets (`fuzz/fuzz_targets/`) and
//! the corpus replay (`tests/fuzz_corpus.rs`, which includes this file with `#[path]`)
//! call exactly these functions, so CI replays what the fuzzer ran.
//!
//! Each function feeds raw bytes to one parser of `binance_account_sync`, the way the
//! product receives them, and returns what the parser did. The contract checked: no input
//! panics, and every rejection is a typed error (a non-empty kind and message). A few
//! targets also check a documented property of what they accept (named where checked).
//!
//! Only the crates the main package already depends on are used here (the replay test
//! compiles this file as part of the main package's tests).

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use binance_account_sync::exchange::binance::model::{
    malformed, parse_body, ErrorBody, ParseFailure, WireAccount, WireApiRestrictions, WireDeposit,
    WireExchangeInfo, WireKline, WireOrder, WireServerTime, WireTicker, WireTrade, WireWithdrawal,
};
use binance_account_sync::exchange::credentials::CredentialError;
use binance_account_sync::exchange::ExchangeError;
use binance_account_sync::lambda::payload::{parse_event, MAX_LOOKBACK_DAYS};
use binance_account_sync::secrets::parse_secret;
use binance_account_sync::store::dynamo::item::{
    decode_audit, decode_record, decode_state, encode_record, Item,
};
use binance_account_sync::store::StoreError;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;

/// What a parser did with one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    /// Refused with a typed error.
    Rejected {
        kind: String,
        message: String,
    },
    /// Not an input the product can receive, so it was not passed on: a payload that is
    /// not JSON (the Lambda runtime refuses it), a secret that is not UTF-8 (a
    /// `SecretString` is text), a store item that is not DynamoDB's wire form.
    Skipped,
}

/// A "check one input" function.
pub type Check = fn(&[u8]) -> Outcome;

/// Every target: its name (the file in `fuzz/fuzz_targets/` and the folder in
/// `fuzz/corpus/`) and its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("payload", payload),
    ("secret", secret),
    ("binance_account", binance_account),
    ("binance_order", binance_order),
    ("binance_order_list", binance_order_list),
    ("binance_my_trades", binance_my_trades),
    ("binance_exchange_info", binance_exchange_info),
    ("binance_ticker_price", binance_ticker_price),
    ("binance_klines", binance_klines),
    ("binance_deposits", binance_deposits),
    ("binance_withdrawals", binance_withdrawals),
    ("binance_api_restrictions", binance_api_restrictions),
    ("binance_server_time", binance_server_time),
    ("binance_error", binance_error),
    ("store_record", store_record),
    ("store_state", store_state),
    ("store_audit", store_audit),
];

/// A rejection: it must carry a kind and a message.
fn typed(kind: &str, message: String) -> Outcome {
    assert!(!kind.is_empty(), "a rejection without a kind: {message}");
    assert!(
        !message.trim().is_empty(),
        "a {kind} rejection without a message"
    );
    Outcome::Rejected {
        kind: kind.to_owned(),
        message,
    }
}

fn outcome<T, E>(result: Result<T, E>, kind: impl Fn(&E) -> &'static str) -> Outcome
where
    E: std::fmt::Display,
{
    match result {
        Ok(_) => Outcome::Accepted,
        Err(e) => typed(kind(&e), e.to_string()),
    }
}

// ---- the invoke payload -----------------------------------------------------------------

/// The Lambda runtime hands the handler a `serde_json::Value`; `parse_event` decides.
/// Checked: an accepted lookback is within `1..=MAX_LOOKBACK_DAYS`.
pub fn payload(data: &[u8]) -> Outcome {
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return Outcome::Skipped;
    };
    match parse_event(event) {
        Ok(inv) => {
            if let Some(days) = inv.lookback_days {
                assert!(
                    (1..=MAX_LOOKBACK_DAYS).contains(&i64::from(days)),
                    "accepted lookback_days {days}"
                );
            }
            Outcome::Accepted
        }
        Err(e) => typed(e.kind(), e.to_string()),
    }
}

// ---- the secret -------------------------------------------------------------------------

fn credential_kind(e: &CredentialError) -> &'static str {
    match e {
        CredentialError::Malformed(_) => "CredentialMalformed",
        CredentialError::PrivateKey(_) => "CredentialPrivateKey",
        CredentialError::Unavailable(_) => "CredentialUnavailable",
    }
}

/// The secret's JSON, `{"api_key": "...", "api_secret": "..."}` or `{"api_key": "...",
/// "private_key": "<PEM>"}`.
/// Checked: a refusal never quotes the `api_secret` or `private_key` value (when that
/// value is one a message could not contain by chance: 8+ characters with a digit, not
/// also a key).
pub fn secret(data: &[u8]) -> Outcome {
    let Ok(raw) = std::str::from_utf8(data) else {
        return Outcome::Skipped;
    };
    match parse_secret(raw) {
        Ok(_) => Outcome::Accepted,
        Err(e) => {
            assert!(
                matches!(
                    e,
                    CredentialError::Malformed(_) | CredentialError::PrivateKey(_)
                ),
                "parsing reported {e:?}"
            );
            let message = e.to_string();
            if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(raw) {
                for field in ["api_secret", "private_key"] {
                    if let Some(Value::String(s)) = map.get(field) {
                        let distinctive = s.chars().count() >= 8
                            && s.chars().any(|c| c.is_ascii_digit())
                            && !map.keys().any(|k| k.contains(s.as_str()));
                        assert!(
                            !(distinctive && message.contains(s.as_str())),
                            "the refusal quotes the {field}"
                        );
                    }
                }
            }
            typed(credential_kind(&e), message)
        }
    }
}

// ---- Binance responses ------------------------------------------------------------------

/// What the client does with a 2xx body: parse it, and a body it cannot parse is an
/// `ExchangeError::Malformed` (a syntax error after the retries, a shape error at once).
fn body<T: DeserializeOwned>(endpoint: &str, data: &[u8]) -> Result<T, ExchangeError> {
    parse_body::<T>(data).map_err(|f| match f {
        ParseFailure::Syntax(d) | ParseFailure::Shape(d) => malformed(endpoint, d),
    })
}

fn exchange(parse: impl FnOnce() -> Result<(), ExchangeError>) -> Outcome {
    outcome(parse(), ExchangeError::kind)
}

/// `GET /api/v3/account`, and each balance's total (the core sums free and locked).
pub fn binance_account(data: &[u8]) -> Outcome {
    const EP: &str = "/api/v3/account";
    exchange(|| {
        let account = body::<WireAccount>(EP, data)?.into_domain(EP)?;
        for b in &account.balances {
            let _ = b.total();
        }
        Ok(())
    })
}

/// `GET /api/v3/order`, and the order's average fill price (the core records it).
pub fn binance_order(data: &[u8]) -> Outcome {
    const EP: &str = "/api/v3/order";
    exchange(|| {
        let order = body::<WireOrder>(EP, data)?.into_domain(EP)?;
        let _ = order.avg_price();
        Ok(())
    })
}

/// `GET /api/v3/openOrders` and `GET /api/v3/allOrders` (one parser), and each order's
/// average fill price.
pub fn binance_order_list(data: &[u8]) -> Outcome {
    const EP: &str = "/api/v3/openOrders";
    exchange(|| {
        for wire in body::<Vec<WireOrder>>(EP, data)? {
            let _ = wire.into_domain(EP)?.avg_price();
        }
        Ok(())
    })
}

/// `GET /api/v3/myTrades`.
pub fn binance_my_trades(data: &[u8]) -> Outcome {
    const EP: &str = "/api/v3/myTrades";
    exchange(|| {
        for wire in body::<Vec<WireTrade>>(EP, data)? {
            wire.into_domain(EP)?;
        }
        Ok(())
    })
}

/// `GET /api/v3/exchangeInfo`.
pub fn binance_exchange_info(data: &[u8]) -> Outcome {
    const EP: &str = "/api/v3/exchangeInfo";
    exchange(|| {
        for wire in body::<WireExchangeInfo>(EP, data)?.symbols {
            wire.into_domain(EP)?;
        }
        Ok(())
    })
}

/// `GET /api/v3/ticker/price` (always asked for a list).
pub fn binance_ticker_price(data: &[u8]) -> Outcome {
    const EP: &str = "/api/v3/ticker/price";
    exchange(|| {
        for wire in body::<Vec<WireTicker>>(EP, data)? {
            wire.into_domain(EP)?;
        }
        Ok(())
    })
}

/// `GET /api/v3/klines`: the client reads the first row; every row is read here.
pub fn binance_klines(data: &[u8]) -> Outcome {
    const EP: &str = "/api/v3/klines";
    exchange(|| {
        for row in body::<Vec<WireKline>>(EP, data)? {
            row.parts(EP)?;
        }
        Ok(())
    })
}

/// `GET /sapi/v1/capital/deposit/hisrec`.
pub fn binance_deposits(data: &[u8]) -> Outcome {
    const EP: &str = "/sapi/v1/capital/deposit/hisrec";
    exchange(|| {
        for wire in body::<Vec<WireDeposit>>(EP, data)? {
            wire.into_domain(EP)?;
        }
        Ok(())
    })
}

/// `GET /sapi/v1/capital/withdraw/history`.
pub fn binance_withdrawals(data: &[u8]) -> Outcome {
    const EP: &str = "/sapi/v1/capital/withdraw/history";
    exchange(|| {
        for wire in body::<Vec<WireWithdrawal>>(EP, data)? {
            wire.into_domain(EP)?;
        }
        Ok(())
    })
}

/// `GET /sapi/v1/account/apiRestrictions`.
pub fn binance_api_restrictions(data: &[u8]) -> Outcome {
    const EP: &str = "/sapi/v1/account/apiRestrictions";
    exchange(|| {
        let wire = body::<WireApiRestrictions>(EP, data)?;
        let _ = binance_account_sync::domain::ApiRestrictions::from(wire);
        Ok(())
    })
}

/// `GET /api/v3/time`.
pub fn binance_server_time(data: &[u8]) -> Outcome {
    const EP: &str = "/api/v3/time";
    exchange(|| body::<WireServerTime>(EP, data).map(|_| ()))
}

/// The body of a non-2xx answer, `{"code": -1121, "msg": "Invalid symbol."}`: read the
/// way the client reads it (`serde_json::from_slice`; anything else is "no error body").
pub fn binance_error(data: &[u8]) -> Outcome {
    outcome(serde_json::from_slice::<ErrorBody>(data), |_| {
        "NoBinanceErrorBody"
    })
}

// ---- store items ------------------------------------------------------------------------

/// An item from DynamoDB's JSON wire form: `{"name": {"S": "x"}, "n": {"N": "1.5"}, ...}`
/// with `S`, `N`, `B` (the string's bytes, not base64-decoded), `BOOL`, `NULL`, `L`, `M`,
/// `SS`, `NS` and `BS`. None when the bytes are not such an item.
pub fn item_from_json(data: &[u8]) -> Option<Item> {
    let Value::Object(map) = serde_json::from_slice::<Value>(data).ok()? else {
        return None;
    };
    map.iter()
        .map(|(k, v)| Some((k.clone(), attribute(v)?)))
        .collect::<Option<HashMap<_, _>>>()
}

fn attribute(v: &Value) -> Option<AttributeValue> {
    let Value::Object(m) = v else { return None };
    if m.len() != 1 {
        return None;
    }
    let (tag, v) = m.iter().next()?;
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    Some(match (tag.as_str(), v) {
        ("S", Value::String(s)) => AttributeValue::S(s.clone()),
        ("N", Value::String(s)) => AttributeValue::N(s.clone()),
        ("B", Value::String(s)) => AttributeValue::B(Blob::new(s.as_bytes())),
        ("BOOL", Value::Bool(b)) => AttributeValue::Bool(*b),
        ("NULL", Value::Bool(b)) => AttributeValue::Null(*b),
        ("SS", v) => AttributeValue::Ss(strings(v)?),
        ("NS", v) => AttributeValue::Ns(strings(v)?),
        ("BS", v) => AttributeValue::Bs(strings(v)?.into_iter().map(Blob::new).collect()),
        ("L", Value::Array(a)) => {
            AttributeValue::L(a.iter().map(attribute).collect::<Option<_>>()?)
        }
        ("M", Value::Object(o)) => AttributeValue::M(
            o.iter()
                .map(|(k, v)| Some((k.clone(), attribute(v)?)))
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
}

fn store(decode: impl FnOnce() -> Result<(), StoreError>) -> Outcome {
    outcome(decode(), StoreError::kind)
}

/// `decode_record` (balances, positions, dust, orders, trades, cursors).
/// Checked: a decoded record encodes and decodes back to itself (docs/data-model.md:
/// "every record survives encode -> decode exactly").
pub fn store_record(data: &[u8]) -> Outcome {
    let Some(item) = item_from_json(data) else {
        return Outcome::Skipped;
    };
    store(|| {
        if let Some(record) = decode_record(&item)? {
            let pk = item
                .get("pk")
                .and_then(|v| v.as_s().ok())
                .map_or("ACCOUNT#fuzz", String::as_str);
            let again = encode_record(pk, &record)?.item;
            let back = decode_record(&again);
            assert!(
                matches!(&back, Ok(Some(r)) if *r == record),
                "{record:?} encoded as {again:?} decodes as {back:?}"
            );
        }
        Ok(())
    })
}

/// `decode_state` (the `SYNC#STATE` item).
pub fn store_state(data: &[u8]) -> Outcome {
    let Some(item) = item_from_json(data) else {
        return Outcome::Skipped;
    };
    store(|| decode_state(&item).map(|_| ()))
}

/// `decode_audit` (an `AUDIT#` item, with the records as JSON strings).
pub fn store_audit(data: &[u8]) -> Outcome {
    let Some(item) = item_from_json(data) else {
        return Outcome::Skipped;
    };
    store(|| decode_audit(&item).map(|_| ()))
}
