//! Injected faults: what a flaky network or an overloaded exchange does.
//!
//! A fault matches an endpoint path exactly, or every `/api` and `/sapi`
//! path with `"*"`. It fires on the next `count` matching requests, or on
//! each matching request with `probability` (until `count` is used up if
//! both are given), or on every matching request if neither is given.
//! The first matching fault that fires wins. Faults are checked before the
//! rate limiter (a failing gateway does not reach the exchange), except
//! `malformed_json` / `truncated_json`, which corrupt the real answer after
//! the exchange has acted (so a POST order still happened, as on Binance
//! where a broken reply means "execution status unknown").

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    Latency,
    #[serde(rename = "http_500")]
    Http500,
    #[serde(rename = "http_502")]
    Http502,
    #[serde(rename = "http_503")]
    Http503,
    #[serde(rename = "rate_limit_429")]
    RateLimit429,
    MalformedJson,
    TruncatedJson,
    DropConnection,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub path: String,
    pub kind: FaultKind,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub probability: Option<f64>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// For `http_503`: `"unavailable"` (default) answers "Service
    /// Unavailable."; `"unknown"` answers "Unknown error, please check your
    /// request or try again later." (execution status unknown).
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Debug, Default)]
pub struct Faults {
    pub active: Vec<FaultSpec>,
    /// How many times each kind fired, for tests and the demo.
    pub fired: u64,
}

impl Faults {
    /// Picks the fault (if any) for this request and consumes one count.
    pub fn pick(&mut self, path: &str) -> Option<FaultSpec> {
        let mut chosen = None;
        for f in self.active.iter_mut() {
            if f.path != "*" && f.path != path {
                continue;
            }
            if f.count == Some(0) {
                continue;
            }
            if let Some(p) = f.probability {
                if rand::random::<f64>() >= p {
                    continue;
                }
            }
            if let Some(c) = f.count.as_mut() {
                *c -= 1;
            }
            chosen = Some(f.clone());
            break;
        }
        self.active.retain(|f| f.count != Some(0));
        if chosen.is_some() {
            self.fired += 1;
        }
        chosen
    }
}
