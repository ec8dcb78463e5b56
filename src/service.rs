//! The imperative shell: one run of the sync. Both the Lambda handler and the CLI call
//! [`run_sync`]; nothing else orchestrates I/O.

use crate::core::{Mode, RulesConfig};
use crate::domain::{AccountId, Millis};
use crate::exchange::{Exchange, ExchangeError};
use crate::report::SyncReport;
use crate::store::{Store, StoreError};
use std::time::Duration;

/// What the caller asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRequest {
    pub account: AccountId,
    pub mode: Mode,
    pub dry_run: bool,
    /// Overrides the mode's default lookback (days) when there is no cursor.
    pub lookback_days: Option<u32>,
    /// Wall-clock epoch ms by which the run must have returned (Lambda deadline).
    pub deadline: Option<Millis>,
    /// The invocation's id (Lambda request id). A retried invocation carries the same id,
    /// so the run id, and with it every transaction token, is the same.
    pub invocation_id: Option<String>,
}

/// Settings of the shell (not of the rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSettings {
    /// A periodic run refuses to start within this interval of the last success.
    pub min_interval: Duration,
    /// How long a lease lasts when the request has no deadline.
    pub lease_duration: Duration,
    /// Stop starting new work this long before the deadline.
    pub deadline_margin: Duration,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_secs(5 * 60),
            lease_duration: Duration::from_secs(15 * 60),
            deadline_margin: Duration::from_secs(10),
        }
    }
}

/// Why a run failed. `kind()` is the stable Lambda `errorType` and metric name.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Exchange(e) => e.kind(),
            Self::Store(e) => e.kind(),
        }
    }
}

/// Run one sync.
pub async fn run_sync<E: Exchange, S: Store>(
    exchange: &E,
    store: &S,
    rules: &RulesConfig,
    settings: &RunSettings,
    request: &SyncRequest,
) -> Result<SyncReport, SyncError> {
    let _ = (exchange, store, rules, settings, request);
    todo!("service::run_sync")
}
