//! The payloads the function accepts, parsed before any I/O:
//!
//! - EventBridge Scheduler input: `{"mode":"periodic"}`
//! - the EventBridge rule "Scheduled Event" envelope (`source: aws.events`,
//!   `detail-type: Scheduled Event`): a periodic run
//! - a manual invoke: `{"mode":"emergency","dry_run":false,"lookback_days":30}`
//!
//! Anything else is a [`PayloadError`] naming what is wrong. Examples of every accepted
//! and rejected shape are in `tests/fixtures/events/`.

use crate::core::Mode;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Serialize;
use serde_json::{Map, Value};

/// The longest lookback a manual invoke may ask for.
pub const MAX_LOOKBACK_DAYS: i64 = 365;

/// What one invocation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Invocation {
    pub mode: Mode,
    pub dry_run: bool,
    pub lookback_days: Option<u32>,
}

/// Why a payload was refused. `kind()` is always `PayloadError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("payload must be a JSON object, got {found}")]
    NotAnObject { found: &'static str },
    #[error("payload has unknown field {field:?} (allowed: mode, dry_run, lookback_days)")]
    UnknownField { field: String },
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
            mode: Mode::Periodic,
            dry_run: false,
            lookback_days: None,
        })
    } else {
        Err(PayloadError::UnsupportedEvent {
            event_source: clip(&envelope.source),
            detail_type: clip(&envelope.detail_type),
        })
    }
}

fn parse_direct(map: &Map<String, Value>) -> Result<Invocation, PayloadError> {
    if let Some(field) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "mode" | "dry_run" | "lookback_days"))
    {
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
    Ok(Invocation {
        mode,
        dry_run,
        lookback_days,
    })
}
