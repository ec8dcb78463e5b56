//! The imperative shell: one run of the sync. Both the Lambda handler and the CLI call
//! [`run_sync`]; nothing else orchestrates I/O.
//!
//! A run is a sequence of small units, each of which loads only the records it needs,
//! plans with the pure core and applies its corrections (its checkpoint last) before the
//! next starts — so a run cut anywhere loses nothing and the next one goes on:
//!
//! 1. `account`: the sync state, the lease, the account's balances, what moved since the
//!    digest, the symbol cache, the open orders when a locked amount moved, the scope
//!    (`core::scope`): which symbols to read, in which order;
//! 2. `symbol`: per symbol, one unit per page of fills (or of stored trades, while a cost
//!    basis is rebuilt), until the symbol is read to its end;
//! 3. `balances`: the transfers, then every balance record against the exchange, then
//!    the digest.
//!
//! A symbol's unit that fails for its own reasons (a rejected request, a malformed
//! answer, a write refused) fails alone: reported, backed off, the run goes on. The run
//! fails as a whole only when the exchange or the store is unreachable. The deadline and
//! the weight budget stop the run between units (`Partial`); the next run resumes.

mod account;
mod apply;
mod balances;
pub mod migrate;
pub mod progress;
mod symbol;
pub mod verdicts;

use crate::core::{Flows, Mode, RulesConfig};
use crate::domain::{AccountId, Millis};
use crate::exchange::{Exchange, ExchangeError};
use crate::report::{Outcome, SyncReport};
use crate::store::{LeaseOutcome, Store, StoreError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the caller asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRequest {
    pub account: AccountId,
    pub mode: Mode,
    pub dry_run: bool,
    /// Overrides the mode's default lookback (days).
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
    /// Stop after this many units (tests cut runs at any unit with it; None = no limit).
    pub max_units: Option<u64>,
    /// Called with the run's progress (the CLI on a terminal); None in Lambda.
    pub progress: Option<progress::ProgressHook>,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_secs(5 * 60),
            lease_duration: Duration::from_secs(15 * 60),
            deadline_margin: Duration::from_secs(10),
            max_units: None,
            progress: None,
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

/// Wall-clock now in epoch milliseconds.
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// The run id: derived from the invocation id when there is one, so a retried
/// invocation replays with the same id (and the same transaction tokens).
pub fn run_id_for(account: &AccountId, invocation_id: Option<&str>) -> String {
    match invocation_id {
        Some(inv) => uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_OID,
            format!("binance-account-sync/{account}/{inv}").as_bytes(),
        )
        .to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    }
}

/// What ends a run's reading early: the deadline, the weight budget (or the IP reserve),
/// the unit limit.
pub(crate) struct Limits {
    deadline: Option<Millis>,
    margin_ms: Millis,
    max_units: Option<u64>,
}

impl Limits {
    pub(crate) fn out_of_time(&self) -> bool {
        self.deadline
            .is_some_and(|d| now_ms() + self.margin_ms >= d)
    }
}

/// Is this exchange error a reason to stop reading (partial run), rather than a failure?
pub(crate) fn is_stop(e: &ExchangeError) -> bool {
    matches!(
        e,
        ExchangeError::BudgetExhausted { .. }
            | ExchangeError::SharedWeightExhausted { .. }
            | ExchangeError::DeadlineReached
            | ExchangeError::RateLimited { .. }
    )
}

/// Is this exchange error the exchange being unreachable or refusing the account as a
/// whole (the run fails), rather than a failure of one symbol's unit?
pub(crate) fn is_fatal(e: &ExchangeError) -> bool {
    matches!(
        e,
        ExchangeError::Auth { .. }
            | ExchangeError::Banned { .. }
            | ExchangeError::RestrictedLocation { .. }
            | ExchangeError::Unavailable { .. }
            | ExchangeError::Config(_)
    )
}

/// The state of one run, threaded through its units.
pub(crate) struct Run<'a, E, S> {
    pub exchange: &'a E,
    pub store: &'a S,
    pub rules: &'a RulesConfig,
    pub request: &'a SyncRequest,
    pub run_id: String,
    pub limits: Limits,
    pub report: SyncReport,
    /// The mode the units run in: emergency while an emergency scope is unfinished.
    pub mode: Mode,
    /// Why the reading stopped early, if it did.
    pub stopped: Option<String>,
    /// Units run so far (also their sequence in audit keys).
    pub units: u64,
    /// Fills read past their checkpoints this run (the digest's explanation).
    pub movement: Flows,
    /// Fills recovered this run (the balances' explanation).
    pub recovered: Flows,
    /// `RunSettings::progress`.
    pub progress: Option<progress::ProgressHook>,
}

impl<E: Exchange, S: Store> Run<'_, E, S> {
    /// Note why the run stops early (the first reason wins).
    pub(crate) fn stop(&mut self, why: impl Into<String>) {
        if self.stopped.is_none() {
            self.stopped = Some(why.into());
        }
    }

    /// May another unit start?
    pub(crate) fn may_continue(&mut self) -> bool {
        if self.stopped.is_some() {
            return false;
        }
        if self.limits.out_of_time() {
            self.stop("deadline reached");
            return false;
        }
        if self.limits.max_units.is_some_and(|m| self.units >= m) {
            self.stop("unit limit reached");
            return false;
        }
        true
    }

    /// The id a unit's `apply` runs under: the run id and the unit's sequence, so audit
    /// keys of two units never collide, and a retried invocation replays the same ids.
    pub(crate) fn unit_id(&self) -> String {
        format!("{}.{:05}", self.run_id, self.units)
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
    let started_at = now_ms();
    let run_id = run_id_for(&request.account, request.invocation_id.as_deref());
    let margin_ms = settings.deadline_margin.as_millis() as Millis;
    let report = SyncReport::empty(
        &run_id,
        &request.account,
        exchange.name(),
        request.mode,
        request.dry_run,
        started_at,
    );
    exchange.begin_run(request.deadline.map(|d| d - margin_ms));

    let state = store.state(&request.account).await?;
    if let Some(until) = state.banned_until {
        exchange.restore_ban(until);
    }
    let mut run = Run {
        exchange,
        store,
        rules,
        request,
        run_id: run_id.clone(),
        limits: Limits {
            deadline: request.deadline,
            margin_ms,
            max_units: settings.max_units,
        },
        progress: settings.progress.clone(),
        report,
        mode: request.mode,
        stopped: None,
        units: 0,
        movement: Flows::default(),
        recovered: Flows::default(),
    };

    let min_interval_ms = settings.min_interval.as_millis() as Millis;
    if crate::core::too_soon(&state, started_at, min_interval_ms, request.mode) {
        run.report.outcome = Outcome::TooSoon;
        run.report.outcome_detail = Some(format!(
            "last successful run at {} is within the minimum interval of {} s",
            state.last_success_at.unwrap_or_default(),
            settings.min_interval.as_secs()
        ));
        return Ok(run.report.finish(exchange.usage()));
    }

    // A dry run changes no record, the lease included.
    if !request.dry_run {
        let expires_at = request
            .deadline
            .unwrap_or(started_at + settings.lease_duration.as_millis() as Millis);
        match store
            .acquire_lease(&request.account, &run_id, started_at, expires_at)
            .await?
        {
            LeaseOutcome::Acquired => {}
            LeaseOutcome::Held { owner, expires_at } => {
                run.report.outcome = Outcome::LeaseHeld;
                run.report.outcome_detail =
                    Some(format!("run {owner} holds the lease until {expires_at}"));
                return Ok(run.report.finish(exchange.usage()));
            }
        }
    }
    // Under the lease, the state is read again: a run that finished between the first read
    // and the lease left its digest and scope there.
    let state = if request.dry_run {
        state
    } else {
        match store.state(&request.account).await {
            Ok(s) => s,
            Err(e) => {
                let e = SyncError::from(e);
                release_after_failure(store, &run, &state, started_at, &e).await;
                return Err(e);
            }
        }
    };

    let result = match migrate_first(run.store, run.request).await {
        Ok(()) => work(&mut run, &state).await,
        Err(e) => Err(e),
    };
    let mut next = state.clone();
    next.last_run_id = Some(run_id.clone());
    next.last_attempt_at = Some(started_at);
    next.banned_until = exchange.banned_until().filter(|u| *u > now_ms());
    match result {
        Ok(done) => {
            next.last_error = None;
            next.digest = done.digest;
            next.emergency = done.emergency;
            next.rescan_owed = done.rescan_owed;
            next.ledger_open_since = done.ledger_open_since;
            next.flow_kinds_unavailable = done.flow_kinds_unavailable;
            if let Some(why) = run.stopped.take() {
                run.report.outcome = Outcome::Partial;
                run.report.outcome_detail = Some(why.clone());
                next.last_outcome = Some(format!("partial: {why}"));
            } else {
                next.last_success_at = Some(started_at);
                next.last_outcome = Some("complete".to_owned());
            }
            run.report.units = run.units;
            if !request.dry_run {
                let summary = run.report.summary_json();
                store
                    .finish_run(&request.account, &run_id, &next, &summary)
                    .await?;
                // The summary holds the findings the checkpoints kept: they need keeping
                // no longer. Not done, they are reported again by the next run.
                if !done.reported.is_empty() {
                    run.units += 1;
                    let plan = crate::domain::Plan {
                        corrections: done.reported,
                        ..Default::default()
                    };
                    let mut records = crate::domain::Records::default();
                    if let Err(e) = apply::apply_plan(&mut run, &plan, &mut records).await {
                        tracing::warn!(error = %e, "could not clear the reported findings");
                    }
                }
            }
            Ok(run.report.finish(exchange.usage()))
        }
        // The weight (the shared ledger, the budget) or the time ran out before the
        // account step could read the balances: a partial run that changed nothing, not a
        // failure. The next run starts where this one would have.
        Err(SyncError::Exchange(e)) if is_stop(&e) => {
            let why = e.to_string();
            run.report.outcome = Outcome::Partial;
            run.report.outcome_detail = Some(why.clone());
            run.report.units = run.units;
            if !request.dry_run {
                // Keep an emergency this run persisted before it stopped.
                if let Ok(current) = store.state(&request.account).await {
                    if current.lease_owner.as_deref() == Some(run_id.as_str()) {
                        next.emergency = current.emergency;
                    }
                }
                next.last_outcome = Some(format!("partial: {why}"));
                let summary = run.report.summary_json();
                store
                    .finish_run(&request.account, &run_id, &next, &summary)
                    .await?;
            }
            Ok(run.report.finish(exchange.usage()))
        }
        Err(e) => {
            release_after_failure(store, &run, &state, started_at, &e).await;
            Err(e)
        }
    }
}

/// Bring the account's items to the current layout before the first unit (a dry run
/// changes nothing, so it reads the layout as it is).
async fn migrate_first<S: Store>(store: &S, request: &SyncRequest) -> Result<(), SyncError> {
    if !request.dry_run {
        migrate::ensure(store, &request.account).await?;
    }
    Ok(())
}

/// Record a failed run and free the lease; the original error wins.
async fn release_after_failure<E: Exchange, S: Store>(
    store: &S,
    run: &Run<'_, E, S>,
    state: &crate::domain::SyncState,
    started_at: Millis,
    e: &SyncError,
) {
    if run.request.dry_run {
        return;
    }
    let mut next = state.clone();
    // An emergency this run opened was persisted (`save_progress`) after `state` was read:
    // keep it, or the failure that interrupted the emergency also forgets it.
    // A state that cannot be read is not overwritten: the lease then runs out with its
    // deadline (or a retry of the same invocation takes it again).
    match store.state(&run.request.account).await {
        Ok(current) => {
            if current.lease_owner.as_deref() == Some(run.run_id.as_str()) {
                next.emergency = current.emergency;
            }
        }
        Err(read) => {
            tracing::warn!(error = %read, "could not read the sync state after a failed run; left as it is");
            return;
        }
    }
    next.last_run_id = Some(run.run_id.clone());
    next.last_attempt_at = Some(started_at);
    next.banned_until = run.exchange.banned_until().filter(|u| *u > now_ms());
    next.last_error = Some(format!("{}: {e}", e.kind()));
    next.last_outcome = Some(format!("failed: {}", e.kind()));
    let summary = serde_json::json!({"run_id": run.run_id, "error": e.kind()});
    if let Err(release) = store
        .finish_run(&run.request.account, &run.run_id, &next, &summary)
        .await
    {
        tracing::warn!(error = %release, "could not release the lease after a failed run");
    }
}

/// What the run leaves in the sync state.
pub(crate) struct Done {
    pub digest: std::collections::BTreeMap<crate::domain::Asset, crate::domain::AssetDigest>,
    pub emergency: Option<crate::domain::EmergencyScope>,
    pub rescan_owed: Option<crate::domain::EmergencyScope>,
    /// The oldest flow the ledger still follows (see `SyncState::ledger_open_since`).
    pub ledger_open_since: Option<crate::domain::Millis>,
    /// See `SyncState::flow_kinds_unavailable`.
    pub flow_kinds_unavailable: std::collections::BTreeSet<crate::domain::FlowKind>,
    /// The checkpoints whose kept findings this run reported, cleared.
    pub reported: Vec<crate::domain::Correction>,
}

/// The run's order of work.
async fn work<E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
    state: &crate::domain::SyncState,
) -> Result<Done, SyncError> {
    let mut view = account::read(run, state).await?;
    let reads = view.scope.reads.clone();
    let report_progress = |run: &Run<'_, E, S>, symbols_done: usize| {
        if let Some(hook) = &run.progress {
            hook.report(progress::Progress {
                symbols_done,
                symbols_in_scope: reads.len(),
                weight_used: run.exchange.usage().weight,
            });
        }
    };
    report_progress(run, 0);
    for (done, (symbol, _reason)) in reads.iter().enumerate() {
        if !run.may_continue() {
            break;
        }
        symbol::read_symbol(run, &mut view, symbol).await?;
        report_progress(run, done + 1);
    }
    balances::settle(run, &mut view, state).await
}
