//! The trust verdicts' CloudWatch metrics, as one EMF document per judged run (beside the
//! run's own document of `metrics`), dimension `Account`:
//!
//! - `SymbolsUntrusted` — verdicts `untrusted` after the run;
//! - `VerdictsChanged` — verdicts the run rewrote;
//! - `BotHeartbeatStale` — 1 when the bot's heartbeat (`BOT#HEARTBEAT`) is older than its
//!   `stale_after_ms` while positions or orders are open, else 0; absent when the bot
//!   writes no heartbeat. The `BotHeartbeatStaleAlarm` of `infra/template.yaml` watches it.

use crate::domain::Millis;
use crate::report::TrustSummary;
use serde_json::{json, Map, Value};

/// The document (pure).
pub fn emf_for_trust(
    trust: &TrustSummary,
    namespace: &str,
    account: &str,
    timestamp: Millis,
) -> Value {
    let mut root = Map::new();
    let mut metrics = vec![
        json!({"Name": "SymbolsUntrusted", "Unit": "Count"}),
        json!({"Name": "VerdictsChanged", "Unit": "Count"}),
    ];
    root.insert("Account".into(), json!(account));
    root.insert("SymbolsUntrusted".into(), json!(f64::from(trust.untrusted)));
    root.insert("VerdictsChanged".into(), json!(trust.changed as f64));
    if let Some(stale) = trust.bot_heartbeat_stale {
        metrics.push(json!({"Name": "BotHeartbeatStale", "Unit": "Count"}));
        root.insert(
            "BotHeartbeatStale".into(),
            json!(if stale { 1.0 } else { 0.0 }),
        );
    }
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Account"]],
                "Metrics": metrics,
            }],
        }),
    );
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(stale: Option<bool>) -> TrustSummary {
        TrustSummary {
            verified_through: Some(1),
            trusted: 3,
            untrusted: 1,
            changed: 2,
            bot_heartbeat_stale: stale,
            judged: true,
            verdicts: Vec::new(),
        }
    }

    #[test]
    fn the_trust_document_is_valid_emf_and_carries_the_heartbeat_only_when_watched() {
        let doc = emf_for_trust(&summary(Some(true)), "Ns", "main", 1_764_000_000_000);
        crate::metrics::validate_emf(&doc).expect("valid EMF");
        assert_eq!(doc["BotHeartbeatStale"], 1.0);
        assert_eq!(doc["SymbolsUntrusted"], 1.0);
        let unwatched = emf_for_trust(&summary(None), "Ns", "main", 1_764_000_000_000);
        crate::metrics::validate_emf(&unwatched).expect("valid EMF");
        assert!(unwatched.get("BotHeartbeatStale").is_none());
    }
}
