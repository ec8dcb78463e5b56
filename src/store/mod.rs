//! The store port. The service reads and writes the bot's records only through [`Store`];
//! DynamoDB is one adapter (`dynamo`), an in-memory one (`memory`) serves tests.

pub mod dynamo;
pub mod keys;
pub mod memory;
pub mod memory_fleet;
pub mod memory_verdicts;
pub mod registry;
pub mod verdicts;
pub mod weight;

use crate::domain::{
    AccountId, Correction, EmergencyScope, Millis, Record, Records, Symbol, SymbolCache,
};
use serde::{Deserialize, Serialize};
use std::future::Future;

/// Outcome of asking for the run lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LeaseOutcome {
    Acquired,
    /// Another run holds it until `expires_at`.
    Held {
        owner: String,
        expires_at: Millis,
    },
}

/// Why one correction was not written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub correction: Correction,
    /// The item as it is now (from `ReturnValuesOnConditionCheckFailure=ALL_OLD`);
    /// None when it does not exist.
    pub current: Option<Record>,
}

/// What `apply` did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplyOutcome {
    /// Corrections written (each with its audit record).
    pub applied: Vec<Correction>,
    /// Corrections refused because the item changed since it was read.
    pub conflicts: Vec<Conflict>,
    /// Write capacity consumed.
    pub capacity_units: f64,
}

/// An audit record as stored (one per applied correction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub run_id: String,
    pub at: Millis,
    pub correction: Correction,
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store item {key} is malformed: {detail}")]
    Malformed { key: String, detail: String },
    #[error("store request rejected: {0}")]
    Rejected(String),
}

impl StoreError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "StoreUnavailable",
            Self::Malformed { .. } => "StoreMalformedItem",
            Self::Rejected(_) => "StoreRejected",
        }
    }
}

/// The part of an account's records one unit loads: never the whole partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadScope {
    /// Every balance record (bounded by the account's assets).
    Balances,
    /// The ledger's flows created at or after `from_time` (bounded by the read window:
    /// the last success, or the oldest flow still followed).
    Ledger { from_time: Millis },
    /// Positions, dust and checkpoints (bounded by the account's symbols and assets).
    AccountSymbols,
    /// One symbol's orders with `from_order_id <= id <= to_order_id` (no upper bound when
    /// None).
    Orders {
        symbol: Symbol,
        from_order_id: u64,
        to_order_id: Option<u64>,
    },
    /// One symbol's SOR fills with allocation id >= `from_id`, ascending.
    Allocations { symbol: Symbol, from_id: u64 },
    /// One symbol's trades with `from_id <= id <= to_id` (no upper bound when None), at
    /// most `limit` of them, ascending.
    Trades {
        symbol: Symbol,
        from_id: u64,
        to_id: Option<u64>,
        limit: Option<u32>,
    },
}

/// The bot's records for one account.
pub trait Store: Send + Sync {
    /// The records of one scope, with the read capacity consumed. Items that do not decode
    /// are skipped and listed in `Records::skipped`, never fatal.
    fn load_scoped(
        &self,
        account: &AccountId,
        scope: &LoadScope,
    ) -> impl Future<Output = Result<(Records, f64), StoreError>> + Send;

    /// The cached `exchangeInfo` fields, if any.
    fn symbol_cache(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Option<SymbolCache>, StoreError>> + Send;

    /// Replace the cached `exchangeInfo` fields (a sync-owned item).
    fn save_symbol_cache(
        &self,
        account: &AccountId,
        cache: &SymbolCache,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Persist, while holding the lease, what must survive a run cut short: the emergency
    /// scope still to finish and a ban's end.
    fn save_progress(
        &self,
        account: &AccountId,
        owner: &str,
        emergency: Option<&EmergencyScope>,
        banned_until: Option<Millis>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The account's table layout version (None: a table written before versioning, i.e.
    /// layout 1, or an empty account).
    fn schema_version(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Option<u32>, StoreError>> + Send;

    /// Record the layout version once a migration is complete.
    fn set_schema_version(
        &self,
        account: &AccountId,
        version: u32,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every record of the account (one partition). Never called by a run (its reads are
    /// scoped); used by `migrate`'s tests, diagnostics and tests.
    fn load(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<(Records, f64), StoreError>> + Send;

    /// Take the run lease until `expires_at`. A lease held by another owner is taken over
    /// only once it has expired.
    fn acquire_lease(
        &self,
        account: &AccountId,
        owner: &str,
        now: Millis,
        expires_at: Millis,
    ) -> impl Future<Output = Result<LeaseOutcome, StoreError>> + Send;

    /// Release the lease and record the run's outcome in the sync state.
    fn finish_run(
        &self,
        account: &AccountId,
        owner: &str,
        state: &crate::domain::SyncState,
        summary: &serde_json::Value,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Write the corrections, each with its audit record in one transaction, conditional
    /// on the versions they were planned from. `run_id` makes retries idempotent.
    fn apply(
        &self,
        account: &AccountId,
        run_id: &str,
        now: Millis,
        corrections: &[Correction],
    ) -> impl Future<Output = Result<ApplyOutcome, StoreError>> + Send;

    /// The sync state alone (the `status` command, alert de-duplication).
    fn state(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<crate::domain::SyncState, StoreError>> + Send;

    /// Persist what was alerted (discrepancy key -> when) and when the API key was last
    /// checked. Only these two attributes change: `finish_run` never writes them, so the
    /// alert de-duplication survives cold starts and is owned by the alerting step alone.
    fn save_alert_state(
        &self,
        account: &AccountId,
        alerted: &std::collections::BTreeMap<String, Millis>,
        last_security_check_at: Option<Millis>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Audit entries at or after `since`, oldest first.
    fn audit_since(
        &self,
        account: &AccountId,
        since: Millis,
    ) -> impl Future<Output = Result<Vec<AuditEntry>, StoreError>> + Send;
}
