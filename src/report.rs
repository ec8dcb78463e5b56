//! The `SyncReport`: what one run found and did. Stable field names (documented in
//! `docs/report.md`); the CLI renders it, `--json` prints it raw, Lambda returns it.

use crate::core::Mode;
use crate::domain::{CorrectionKind, Discrepancy, Millis, Plan};
use crate::exchange::Usage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything was read and every correction applied (or planned, in a dry run).
    Complete,
    /// The run stopped early (deadline or weight budget); cursors were saved and the
    /// next run continues.
    Partial,
    /// Another run holds the lease; nothing was done.
    LeaseHeld,
    /// A periodic run within the minimum interval of the last success; nothing was done.
    TooSoon,
}

/// One correction as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedCorrection {
    pub kind: CorrectionKind,
    pub key: String,
    pub reason: String,
    pub before: Option<serde_json::Value>,
    pub after: serde_json::Value,
}

/// A write that lost to a newer bot write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedConflict {
    pub key: String,
    /// `resolved` when the newer item already agrees with the exchange, `deferred` when
    /// the next run will look again.
    pub resolution: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    pub run_id: String,
    pub account: String,
    pub exchange: String,
    pub mode: Mode,
    pub dry_run: bool,
    pub started_at: Millis,
    pub finished_at: Millis,
    pub duration_ms: u64,
    pub outcome: Outcome,
    /// Why the run is partial or did nothing, if it is.
    pub outcome_detail: Option<String>,
    /// Number of corrections per kind (applied, or planned in a dry run).
    pub counts: BTreeMap<CorrectionKind, u64>,
    pub corrections: Vec<ReportedCorrection>,
    pub discrepancies: Vec<Discrepancy>,
    pub explanations: Vec<crate::domain::BalanceExplanation>,
    pub conflicts: Vec<ReportedConflict>,
    pub notes: Vec<String>,
    pub symbols_checked: Vec<String>,
    pub exchange_usage: Usage,
    pub dynamodb_capacity_units: f64,
}

impl SyncReport {
    pub fn correction_count(&self) -> u64 {
        self.counts.values().sum()
    }
    pub fn count(&self, kind: CorrectionKind) -> u64 {
        self.counts.get(&kind).copied().unwrap_or(0)
    }
    /// Count corrections by kind.
    pub fn count_plan(plan: &Plan) -> BTreeMap<CorrectionKind, u64> {
        let mut counts = BTreeMap::new();
        for c in &plan.corrections {
            *counts.entry(c.kind).or_insert(0) += 1;
        }
        counts
    }
}
