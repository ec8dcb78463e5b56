//! Binance error bodies: `{"code": <negative int>, "msg": "<text>"}`.
//!
//! Every message here is copied from the official `errors.md` (see
//! `shared/binance/error-examples.json`). Constructors exist so the handlers
//! cannot misspell a documented message.

use axum::http::StatusCode;
use serde_json::json;

/// An error answer from the simulated exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i64,
    pub msg: String,
    /// Seconds for the `Retry-After` header (429 and 418 only).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A 4XX client error with HTTP 400, the status Binance uses for these.
    pub fn bad(code: i64, msg: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            msg: msg.into(),
            retry_after: None,
        }
    }

    pub fn body(&self) -> serde_json::Value {
        json!({ "code": self.code, "msg": self.msg })
    }

    pub fn mandatory(param: &str) -> Self {
        Self::bad(
            -1102,
            format!("Mandatory parameter '{param}' was not sent, was empty/null, or malformed."),
        )
    }

    pub fn either_mandatory(a: &str, b: &str) -> Self {
        Self::bad(
            -1102,
            format!("Param '{a}' or '{b}' must be sent, but both were empty/null!"),
        )
    }

    pub fn illegal_chars(param: &str, legal: &str) -> Self {
        Self::bad(
            -1100,
            format!("Illegal characters found in parameter '{param}'; legal range is '{legal}'."),
        )
    }

    pub fn duplicate_param() -> Self {
        Self::bad(-1101, "Duplicate values for a parameter detected.")
    }

    /// `-1104 UNREAD_PARAMETERS`, with the counts filled in.
    pub fn unread_params(read: usize, sent: usize) -> Self {
        Self::bad(
            -1104,
            format!(
                "Not all sent parameters were read; read '{read}' parameter(s) but was sent '{sent}'."
            ),
        )
    }

    pub fn invalid_param(param: &str) -> Self {
        Self::bad(
            -1130,
            format!("Data sent for parameter '{param}' is not valid."),
        )
    }

    pub fn bad_symbol() -> Self {
        Self::bad(-1121, "Invalid symbol.")
    }

    pub fn bad_interval() -> Self {
        Self::bad(-1120, "Invalid interval.")
    }

    pub fn bad_combo() -> Self {
        Self::bad(-1128, "Combination of optional parameters invalid.")
    }

    pub fn more_than_hours(hours: i64) -> Self {
        Self::bad(
            -1127,
            format!("More than {hours} hours between startTime and endTime."),
        )
    }

    pub fn no_such_order() -> Self {
        Self::bad(-2013, "Order does not exist.")
    }

    pub fn archived() -> Self {
        Self::bad(
            -2026,
            "Order was canceled or expired with no executed qty over 90 days ago and has been archived.",
        )
    }

    pub fn client_order_id_mismatch() -> Self {
        Self::bad(-2039, "Client order ID is not correct for this order ID.")
    }

    pub fn new_order_rejected(msg: &str) -> Self {
        Self::bad(-2010, msg)
    }

    pub fn cancel_rejected(msg: &str) -> Self {
        Self::bad(-2011, msg)
    }

    pub fn filter_failure(filter: &str) -> Self {
        Self::bad(-1013, format!("Filter failure: {filter}"))
    }

    pub fn ts_outside_window() -> Self {
        Self::bad(
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        )
    }

    pub fn ts_ahead() -> Self {
        Self::bad(
            -1021,
            "Timestamp for this request was 1000ms ahead of the server's time.",
        )
    }

    pub fn bad_signature() -> Self {
        Self::bad(-1022, "Signature for this request is not valid.")
    }

    /// Binance answers key problems with HTTP 401.
    pub fn api_key_format() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            ..Self::bad(-2014, "API-key format invalid.")
        }
    }

    pub fn rejected_key() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            ..Self::bad(-2015, "Invalid API-key, IP, or permissions for action.")
        }
    }

    pub fn too_much_weight(limit: u64, retry_after: u64) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: -1003,
            msg: format!(
                "Too much request weight used; current limit is {limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
            ),
            retry_after: Some(retry_after),
        }
    }

    pub fn banned(until_ms: i64, retry_after: u64) -> Self {
        Self {
            status: StatusCode::IM_A_TEAPOT,
            code: -1003,
            msg: format!(
                "Way too much request weight used; IP banned until {until_ms}. Please use WebSocket Streams for live updates to avoid bans."
            ),
            retry_after: Some(retry_after),
        }
    }

    pub fn internal() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: -1001,
            msg: "Internal error; unable to process your request. Please try again.".into(),
            retry_after: None,
        }
    }
}
