//! The payloads the function accepts, parsed before any I/O:
//!
//! - EventBridge Scheduler input: `{"mode":"periodic"}`
//! - the EventBridge rule "Scheduled Event" envelope (`source: aws.events`,
//!   `detail-type: Scheduled Event`): a periodic run
//! - a manual invoke: `{"mode":"emergency","dry_run":false,"lookback_days":30}`
//! - LOCAL EMULATOR ONLY, for tests: `"test_panic": true` beside a mode makes the run
//!   panic, to prove on the built function that a panic is a failed run. The handler
//!   refuses it ([`PayloadError::TestPanicRefused`]) unless [`is_local_emulator`] holds.
//!
//! Anything else is a [`PayloadError`] naming what is wrong. Examples of every accepted
//! and rejected shape are in `tests/fixtures/events/`.

use crate::core::Mode;
use crate::domain::AccountId;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Serialize;
use serde_json::{Map, Value};

/// The longest lookback a manual invoke may ask for.
pub const MAX_LOOKBACK_DAYS: i64 = 365;

/// What one invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invocation {
    /// `"account": "<id>"`: the account to sync. A registry deployment needs it; a
    /// single-account deployment accepts its own account's id (and refuses another).
    pub account: Option<AccountId>,
    pub mode: Mode,
    pub dry_run: bool,
    pub lookback_days: Option<u32>,
    /// `"test_panic": true`: panic inside the run (local emulator only, see
    /// [`is_local_emulator`]; the handler refuses it anywhere else).
    pub test_panic: bool,
}

/// Why a payload was refused. `kind()` is always `PayloadError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("payload must be a JSON object, got {found}")]
    NotAnObject { found: &'static str },
    #[error(
        "payload has unknown field {field:?} (allowed: account, mode, dry_run, lookback_days)"
    )]
    UnknownField { field: String },
    #[error("payload names no \"account\": this deployment syncs the accounts of its registry, so every invocation names one (or asks {{\"action\": \"list_accounts\"}})")]
    MissingAccount,
    #[error("payload's account is invalid: {reason}")]
    BadAccount { reason: String },
    #[error("unknown action {action} (the only action is \"list_accounts\")")]
    UnknownAction { action: String },
    #[error("payload names account {got:?} but this deployment syncs account {expected:?} only (SYNC_ACCOUNT_ID)")]
    WrongAccount { expected: String, got: String },
    #[error("payload has no \"mode\" (expected \"periodic\" or \"emergency\")")]
    MissingMode,
    #[error("unknown mode {mode:?} (expected \"periodic\" or \"emergency\")")]
    UnknownMode { mode: String },
    #[error("field {field:?} must be {expected}, got {found}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    #[error("lookback_days must be a whole number in 1..=365, got {value}")]
    LookbackOutOfRange { value: String },
    #[error("unsupported EventBridge event {event_source:?}/{detail_type:?} (only aws.events \"Scheduled Event\")")]
    UnsupportedEvent {
        event_source: String,
        detail_type: String,
    },
    #[error("malformed EventBridge envelope: {0}")]
    MalformedEnvelope(String),
    #[error("test_panic is refused: it is accepted only when every AWS endpoint of the function is a local emulator on the loopback interface (AWS_ENDPOINT_URL on 127.0.0.1, ::1 or localhost)")]
    TestPanicRefused,
}

impl PayloadError {
    pub fn kind(&self) -> &'static str {
        "PayloadError"
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Echo at most 64 characters of caller input.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(64).collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

/// Parse an invocation payload.
pub fn parse_event(event: Value) -> Result<Invocation, PayloadError> {
    let Value::Object(map) = event else {
        return Err(PayloadError::NotAnObject {
            found: type_name(&event),
        });
    };
    if map.contains_key("detail-type") || map.contains_key("source") {
        return parse_envelope(map);
    }
    parse_direct(&map)
}

fn parse_envelope(map: Map<String, Value>) -> Result<Invocation, PayloadError> {
    let envelope: EventBridgeEvent<Value> = serde_json::from_value(Value::Object(map))
        .map_err(|e| PayloadError::MalformedEnvelope(clip(&e.to_string())))?;
    if envelope.source == "aws.events" && envelope.detail_type == "Scheduled Event" {
        Ok(Invocation {
            account: None,
            mode: Mode::Periodic,
            dry_run: false,
            lookback_days: None,
            test_panic: false,
        })
    } else {
        Err(PayloadError::UnsupportedEvent {
            event_source: clip(&envelope.source),
            detail_type: clip(&envelope.detail_type),
        })
    }
}

fn parse_direct(map: &Map<String, Value>) -> Result<Invocation, PayloadError> {
    if let Some(field) = map.keys().find(|k| {
        !matches!(
            k.as_str(),
            "account" | "mode" | "dry_run" | "lookback_days" | "test_panic"
        )
    }) {
        return Err(PayloadError::UnknownField { field: clip(field) });
    }
    let mode = match map.get("mode") {
        None | Some(Value::Null) => return Err(PayloadError::MissingMode),
        Some(Value::String(s)) => match s.as_str() {
            "periodic" => Mode::Periodic,
            "emergency" => Mode::Emergency,
            other => return Err(PayloadError::UnknownMode { mode: clip(other) }),
        },
        Some(v) => {
            return Err(PayloadError::WrongType {
                field: "mode",
                expected: "a string",
                found: type_name(v),
            })
        }
    };
    let dry_run = match map.get("dry_run") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(PayloadError::WrongType {
                field: "dry_run",
                expected: "a boolean",
                found: type_name(v),
            })
        }
    };
    let lookback_days = match map.get("lookback_days") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(d) if (1..=MAX_LOOKBACK_DAYS).contains(&d) => Some(u32::try_from(d).map_err(
                |_| PayloadError::LookbackOutOfRange {
                    value: n.to_string(),
                },
            )?),
            _ => {
                return Err(PayloadError::LookbackOutOfRange {
                    value: clip(&n.to_string()),
                })
            }
        },
        Some(v) => {
            return Err(PayloadError::WrongType {
                field: "lookback_days",
                expected: "a whole number",
                found: type_name(v),
            })
        }
    };
    let test_panic = match map.get("test_panic") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(PayloadError::WrongType {
                field: "test_panic",
                expected: "a boolean",
                found: type_name(v),
            })
        }
    };
    let account = match map.get("account") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            Some(
                AccountId::parse(s.clone()).map_err(|e| PayloadError::BadAccount {
                    reason: clip(&e.to_string()),
                })?,
            )
        }
        Some(v) => {
            return Err(PayloadError::WrongType {
                field: "account",
                expected: "a string",
                found: type_name(v),
            })
        }
    };
    Ok(Invocation {
        account,
        mode,
        dry_run,
        lookback_days,
        test_panic,
    })
}

/// Whether the function runs against a local AWS emulator, the condition under which a
/// `test_panic` payload is accepted: `AWS_ENDPOINT_URL` is set and its host is a loopback
/// address (127.0.0.0/8, ::1, `localhost`), no service-specific `AWS_ENDPOINT_URL_*`
/// points anywhere else, and `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is not set (it would
/// send the SDK to AWS). Then every AWS call of the function goes to this machine: a
/// real deployment never sets `AWS_ENDPOINT_URL` (the template sets it only from the
/// `LocalEndpointUrl` parameter, for the emulator), and a function whose AWS calls go to
/// the loopback interface reaches no real table or topic.
///
/// `vars` is the process environment (`std::env::vars()`), passed in for tests.
pub fn is_local_emulator(vars: impl IntoIterator<Item = (String, String)>) -> bool {
    let mut global = false;
    for (name, value) in vars {
        if name == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" && !value.is_empty() {
            return false;
        }
        if name == "AWS_ENDPOINT_URL" {
            if !is_loopback_url(&value) {
                return false;
            }
            global = true;
        } else if name.starts_with("AWS_ENDPOINT_URL_") && !is_loopback_url(&value) {
            return false;
        }
    }
    global
}

fn is_loopback_url(text: &str) -> bool {
    match url::Url::parse(text).ok().as_ref().and_then(url::Url::host) {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}
