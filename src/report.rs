//! The `SyncReport`: what one run found and did. Stable field names (documented in
//! `docs/report.md`); the CLI renders it, `--json` prints it raw, Lambda returns it.

use crate::core::Mode;
use crate::domain::{CorrectionKind, Discrepancy, Millis};
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
    pub resolution: crate::core::conflict::ConflictResolution,
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
    /// Corrections counted but not listed (beyond `MAX_LISTED_CORRECTIONS`).
    #[serde(default)]
    pub corrections_not_listed: u64,
    /// Checkpoint writes (the sync's own bookkeeping: not corrections of the bot's records,
    /// so neither counted nor listed among them).
    #[serde(default)]
    pub checkpoints_written: u64,
    pub discrepancies: Vec<Discrepancy>,
    pub explanations: Vec<crate::domain::BalanceExplanation>,
    pub conflicts: Vec<ReportedConflict>,
    pub notes: Vec<String>,
    pub symbols_checked: Vec<String>,
    /// Symbols whose unit failed this run (each alone; the run went on), with the kind.
    #[serde(default)]
    pub symbols_failed: Vec<SymbolFailure>,
    /// Symbols the exchange does not list (delisted or unknown): skipped, records kept.
    #[serde(default)]
    pub symbols_unknown: Vec<String>,
    /// Symbols not covered for longer than the configured age.
    #[serde(default)]
    pub symbols_uncovered: Vec<String>,
    /// Units run (pages of fills, basis rebuild pages, account-wide steps).
    #[serde(default)]
    pub units: u64,
    /// The trust verdicts after the run (`core::verdict`, `docs/bot-contract.md`); None
    /// when they were not judged (a dry run) nor could be read.
    #[serde(default)]
    pub trust: Option<TrustSummary>,
    pub exchange_usage: Usage,
    pub dynamodb_capacity_units: f64,
}

/// The verdicts as the run left them in the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustSummary {
    /// Every symbol's records are known right for fills before this time (ms).
    pub verified_through: Option<Millis>,
    pub trusted: u32,
    pub untrusted: u32,
    /// Verdicts this run rewrote (they changed).
    pub changed: u64,
    /// The bot's heartbeat is stale while positions or orders are open (None: the bot
    /// writes no heartbeat, or the verdicts were not judged).
    #[serde(default)]
    pub bot_heartbeat_stale: Option<bool>,
    /// Whether this run judged them (false: read as an earlier run left them, e.g. the
    /// lease was held or the run was too soon).
    pub judged: bool,
    pub verdicts: Vec<ReportedVerdict>,
}

/// One symbol's verdict as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedVerdict {
    pub symbol: String,
    pub trust: crate::core::verdict::Trust,
    pub reasons: Vec<crate::core::verdict::Reason>,
    /// When the verdict took this value.
    pub since: Millis,
}

/// A symbol whose unit failed for its own reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolFailure {
    pub symbol: String,
    /// The stable error kind (`ExchangeApiError`, `StoreRejected`, ...).
    pub kind: String,
    pub detail: String,
}

impl SyncReport {
    pub fn correction_count(&self) -> u64 {
        self.counts.values().sum()
    }
    pub fn count(&self, kind: CorrectionKind) -> u64 {
        self.counts.get(&kind).copied().unwrap_or(0)
    }
}

/// The table sort key of a record (`BALANCE#USDT`, `TRADE#BTCUSDT#000…42`), as reports
/// and the audit command show it.
pub fn record_key(record: &crate::domain::Record) -> String {
    crate::store::keys::record_sk(record)
}

/// At most this many corrections are listed in a report (counts stay complete): a
/// recovery of thousands of fills must not overrun Lambda's 6 MB response. The audit
/// records hold every one.
pub const MAX_LISTED_CORRECTIONS: usize = 1000;
/// At most this many notes are kept in the run summary item (400 KB item limit).
pub const MAX_SUMMARY_NOTES: usize = 50;
/// At most this many entries of each list are kept in the run summary item.
pub const MAX_SUMMARY_LIST: usize = 100;

fn record_json(record: &crate::domain::Record) -> serde_json::Value {
    serde_json::to_value(record).unwrap_or(serde_json::Value::Null)
}

impl SyncReport {
    /// A report for a run that has just started: nothing done yet.
    pub fn empty(
        run_id: &str,
        account: &crate::domain::AccountId,
        exchange: &str,
        mode: Mode,
        dry_run: bool,
        started_at: Millis,
    ) -> Self {
        Self {
            run_id: run_id.to_owned(),
            account: account.to_string(),
            exchange: exchange.to_owned(),
            mode,
            dry_run,
            started_at,
            finished_at: started_at,
            duration_ms: 0,
            outcome: Outcome::Complete,
            outcome_detail: None,
            counts: BTreeMap::new(),
            corrections: Vec::new(),
            corrections_not_listed: 0,
            checkpoints_written: 0,
            discrepancies: Vec::new(),
            explanations: Vec::new(),
            conflicts: Vec::new(),
            notes: Vec::new(),
            symbols_checked: Vec::new(),
            symbols_failed: Vec::new(),
            symbols_unknown: Vec::new(),
            symbols_uncovered: Vec::new(),
            units: 0,
            trust: None,
            exchange_usage: Usage::default(),
            dynamodb_capacity_units: 0.0,
        }
    }

    /// Stamp the end time and the exchange usage.
    pub fn finish(mut self, usage: Usage) -> Self {
        self.finished_at = crate::service::now_ms();
        self.duration_ms = u64::try_from(self.finished_at - self.started_at).unwrap_or(0);
        self.exchange_usage = usage;
        self
    }

    /// Add applied (or, in a dry run, planned) corrections.
    pub fn record_corrections(&mut self, corrections: &[crate::domain::Correction]) {
        for c in corrections {
            if c.kind == crate::domain::CorrectionKind::CursorAdvanced {
                self.checkpoints_written += 1;
                continue;
            }
            *self.counts.entry(c.kind).or_insert(0) += 1;
            if self.corrections.len() >= MAX_LISTED_CORRECTIONS {
                self.corrections_not_listed += 1;
                continue;
            }
            self.corrections.push(ReportedCorrection {
                kind: c.kind,
                key: record_key(&c.after),
                reason: c.reason.clone(),
                before: c.before.as_ref().map(record_json),
                after: record_json(&c.after),
            });
        }
    }

    /// The report without the per-correction detail, small enough for a run item.
    pub fn summary_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.remove("corrections");
            obj.remove("explanations");
            // The verdicts are items of their own (`TRUST#`); the summary keeps the counts.
            if let Some(trust) = obj.get_mut("trust").and_then(|t| t.as_object_mut()) {
                trust.remove("verdicts");
            }
            // Every list is capped so the run item stays far below DynamoDB's 400 KB.
            for field in [
                "discrepancies",
                "conflicts",
                "symbols_checked",
                "symbols_failed",
                "symbols_unknown",
                "symbols_uncovered",
            ] {
                if let Some(serde_json::Value::Array(list)) = obj.get_mut(field) {
                    let total = list.len();
                    if total > MAX_SUMMARY_LIST {
                        list.truncate(MAX_SUMMARY_LIST);
                        obj.insert(
                            format!("{field}_not_listed"),
                            serde_json::json!(total - MAX_SUMMARY_LIST),
                        );
                    }
                }
            }
            if let Some(serde_json::Value::Array(notes)) = obj.get_mut("notes") {
                let total = notes.len();
                notes.truncate(MAX_SUMMARY_NOTES);
                if total > MAX_SUMMARY_NOTES {
                    notes.push(
                        format!(
                            "… {} more notes (see the audit records)",
                            total - MAX_SUMMARY_NOTES
                        )
                        .into(),
                    );
                }
            }
        }
        v
    }
}
