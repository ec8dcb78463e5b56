//! The imperative shell: one run of the sync. Both the Lambda handler and the CLI call
//! [`run_sync`]; nothing else orchestrates I/O.
//!
//! The run, in order:
//! 1. load the account's records (one partition) and refuse a periodic run that comes too
//!    soon after the last success;
//! 2. take the run lease (one sync per account at a time; it expires with the deadline);
//! 3. read the exchange: account and open orders always; then, unless the cheap
//!    "nothing could have changed" test passes, each symbol's new fills, the orders that
//!    left the open set, deposits, withdrawals and fee-conversion prices;
//! 4. `core::reconcile` plans the corrections (pure);
//! 5. the store applies them with conditional writes, each with its audit record;
//! 6. the sync state (cursor of the cheap test, last success, lease) is written and the
//!    report returned.
//!
//! Deadline and weight budget: before each unit of exchange work the run checks the time
//! left; when it runs out, or the budget is spent, it stops reading, applies what it has
//! (cursors only advance over fills actually read), and returns a `Partial` report. The
//! next run continues from the saved cursors.

use crate::core::{self, Mode, ReconcileInput, RulesConfig};
use crate::domain::{AccountId, Asset, ExchangeSnapshot, Millis, Records, Symbol, SymbolHistory};
use crate::exchange::{Exchange, ExchangeError, FillsFrom};
use crate::report::{Outcome, ReportedConflict, SyncReport};
use crate::store::{LeaseOutcome, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// Tracks the time left before the deadline.
struct Clock {
    deadline: Option<Millis>,
    margin_ms: Millis,
}

impl Clock {
    fn out_of_time(&self) -> bool {
        self.deadline
            .is_some_and(|d| now_ms() + self.margin_ms >= d)
    }
}

/// Why the exchange reading stopped early, if it did.
#[derive(Default)]
struct Reading {
    stopped: Option<String>,
}

impl Reading {
    /// Turn a budget or deadline stop into a partial run; pass every other error up.
    fn absorb<T>(&mut self, r: Result<T, ExchangeError>) -> Result<Option<T>, SyncError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e @ (ExchangeError::BudgetExhausted { .. } | ExchangeError::DeadlineReached)) => {
                self.stopped = Some(e.to_string());
                Ok(None)
            }
            Err(e) => Err(e.into()),
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
    let started_at = now_ms();
    let run_id = run_id_for(&request.account, request.invocation_id.as_deref());
    let clock = Clock {
        deadline: request.deadline,
        margin_ms: settings.deadline_margin.as_millis() as Millis,
    };
    let mut report = SyncReport::empty(
        &run_id,
        &request.account,
        exchange.name(),
        request.mode,
        request.dry_run,
        started_at,
    );

    exchange.begin_run(request.deadline.map(|d| d - clock.margin_ms));
    let (records, read_units) = store.load(&request.account).await?;
    report.dynamodb_capacity_units += read_units;

    let min_interval_ms = settings.min_interval.as_millis() as Millis;
    if core::scope::too_soon(&records.state, started_at, min_interval_ms, request.mode) {
        report.outcome = Outcome::TooSoon;
        report.outcome_detail = Some(format!(
            "last successful run at {} is within the minimum interval of {} s",
            records.state.last_success_at.unwrap_or_default(),
            settings.min_interval.as_secs()
        ));
        return Ok(report.finish(exchange.usage()));
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
                report.outcome = Outcome::LeaseHeld;
                report.outcome_detail =
                    Some(format!("run {owner} holds the lease until {expires_at}"));
                return Ok(report.finish(exchange.usage()));
            }
        }
    }

    let result = sync_with_lease(
        exchange,
        store,
        rules,
        request,
        &records,
        &clock,
        &run_id,
        &mut report,
    )
    .await;
    match result {
        Ok(state) => {
            if !request.dry_run {
                let summary = report.summary_json();
                store
                    .finish_run(&request.account, &run_id, &state, &summary)
                    .await?;
            }
            Ok(report.finish(exchange.usage()))
        }
        Err(e) => {
            if !request.dry_run {
                // Record the failure and free the lease; the original error wins.
                let mut state = records.state.clone();
                state.last_attempt_at = Some(started_at);
                state.last_error = Some(format!("{}: {e}", e.kind()));
                let summary = serde_json::json!({"run_id": run_id, "error": e.kind()});
                if let Err(release) = store
                    .finish_run(&request.account, &run_id, &state, &summary)
                    .await
                {
                    tracing::warn!(error = %release, "could not release the lease after a failed run");
                }
            }
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn sync_with_lease<E: Exchange, S: Store>(
    exchange: &E,
    store: &S,
    rules: &RulesConfig,
    request: &SyncRequest,
    records: &Records,
    clock: &Clock,
    run_id: &str,
    report: &mut SyncReport,
) -> Result<crate::domain::SyncState, SyncError> {
    let mut reading = Reading::default();
    let (snapshot, scanned) =
        read_exchange(exchange, rules, request, records, clock, &mut reading).await?;
    report.symbols_checked = snapshot.symbols.keys().map(|s| s.to_string()).collect();

    let now = now_ms();
    let plan = core::reconcile(&ReconcileInput {
        snapshot: &snapshot,
        records,
        config: rules,
        mode: request.mode,
        now,
    });
    report.discrepancies = plan.discrepancies.clone();
    report.explanations = plan.explanations.clone();
    report.notes = plan.notes.clone();
    for note in &plan.notes {
        tracing::info!(account = %request.account, "{note}");
    }

    let applied = if request.dry_run {
        plan.corrections.clone()
    } else {
        let outcome = store
            .apply(&request.account, run_id, now, &plan.corrections)
            .await?;
        report.dynamodb_capacity_units += outcome.capacity_units;
        for conflict in &outcome.conflicts {
            let resolution =
                core::conflict::resolve_conflict(&conflict.correction, conflict.current.clone());
            report.conflicts.push(ReportedConflict {
                key: crate::report::record_key(&conflict.correction.after),
                resolution,
            });
        }
        outcome.applied
    };
    report.record_corrections(&applied);

    let complete = reading.stopped.is_none();
    if let Some(why) = reading.stopped {
        report.outcome = Outcome::Partial;
        report.outcome_detail = Some(why);
    }

    let mut state = records.state.clone();
    state.last_run_id = Some(run_id.to_owned());
    state.last_attempt_at = Some(report.started_at);
    state.last_error = None;
    if complete {
        state.last_success_at = Some(report.started_at);
        // Only a run that read every symbol's history may arm the cheap test.
        if scanned {
            state.last_account_update_time = Some(snapshot.account_update_time);
        }
    }
    Ok(state)
}

/// Read what the run needs from the exchange. Returns the snapshot and whether every
/// symbol's history was scanned (false when the cheap test skipped it or the run stopped).
async fn read_exchange<E: Exchange>(
    exchange: &E,
    rules: &RulesConfig,
    request: &SyncRequest,
    records: &Records,
    clock: &Clock,
    reading: &mut Reading,
) -> Result<(ExchangeSnapshot, bool), SyncError> {
    let account = exchange.account().await?;
    let open_orders = exchange.open_orders().await?;
    let mut snapshot = ExchangeSnapshot {
        taken_at: now_ms(),
        account_update_time: account.update_time,
        balances: account
            .balances
            .iter()
            .map(|b| (b.asset.clone(), b.clone()))
            .collect(),
        open_orders,
        ..ExchangeSnapshot::default()
    };

    // Candidate symbols: recorded ones, held assets against each quote, open orders,
    // configured extras. The exchange drops the ones it does not list.
    let mut candidates: BTreeSet<Symbol> = BTreeSet::new();
    candidates.extend(records.positions.keys().cloned());
    candidates.extend(records.cursors.keys().cloned());
    candidates.extend(records.orders.keys().map(|(s, _)| s.clone()));
    candidates.extend(snapshot.open_orders.iter().map(|o| o.symbol.clone()));
    candidates.extend(rules.extra_symbols.iter().cloned());
    let held: BTreeSet<&Asset> = snapshot
        .balances
        .keys()
        .chain(records.balances.keys())
        .collect();
    for base in held {
        for quote in &rules.quote_assets {
            if base != quote {
                candidates.extend(exchange.pair_symbol(base, quote));
            }
        }
    }
    let candidates: Vec<Symbol> = candidates.into_iter().collect();
    snapshot.symbols = exchange.symbols(&candidates).await?;
    snapshot.unknown_symbols = candidates
        .iter()
        .filter(|s| !snapshot.symbols.contains_key(*s))
        .cloned()
        .collect();

    let to_check = core::scope::symbols_to_check(
        records,
        &snapshot.balances,
        &snapshot.open_orders,
        &snapshot.symbols,
        rules,
    );
    let checked: Vec<Symbol> = to_check.iter().cloned().collect();
    if let Some(prices) = reading.absorb(exchange.prices(&checked).await)? {
        snapshot.prices = prices;
    }

    let skip_history = request.mode == Mode::Periodic
        && core::scope::nothing_changed(
            &records.state,
            snapshot.account_update_time,
            records,
            &snapshot.open_orders,
        );
    if skip_history {
        return Ok((snapshot, false));
    }

    let lookback_days = request.lookback_days.unwrap_or(match request.mode {
        Mode::Periodic => rules.periodic_lookback_days,
        Mode::Emergency => rules.emergency_lookback_days,
    });

    // Orders that left the open set: ask what became of them.
    for (symbol, order_id) in core::scope::orders_to_query(records, &snapshot.open_orders) {
        if clock.out_of_time() || reading.stopped.is_some() {
            reading
                .stopped
                .get_or_insert_with(|| "deadline reached".to_owned());
            break;
        }
        if !snapshot.symbols.contains_key(&symbol) {
            continue;
        }
        match reading.absorb(exchange.order(&symbol, order_id).await)? {
            Some(lookup) => {
                snapshot.order_lookups.insert((symbol, order_id), lookup);
            }
            None => break,
        }
    }

    // New fills per symbol, from the cursor or the lookback.
    for symbol in &to_check {
        if clock.out_of_time() || reading.stopped.is_some() {
            reading
                .stopped
                .get_or_insert_with(|| "deadline reached".to_owned());
            break;
        }
        let from = match core::scope::fills_start(
            records.cursors.get(symbol),
            request.mode,
            Some(lookback_days),
            now_ms(),
        ) {
            core::scope::FillsStart::TradeId(id) => FillsFrom::TradeId(id),
            core::scope::FillsStart::Time(t) => FillsFrom::Time(t),
        };
        match reading.absorb(exchange.fills(symbol, from).await)? {
            Some(paged) => {
                if !paged.complete {
                    reading.stopped.get_or_insert_with(|| {
                        format!("weight budget reached while reading {symbol}")
                    });
                }
                snapshot.history.insert(
                    symbol.clone(),
                    SymbolHistory {
                        fills: paged.items,
                        complete: paged.complete,
                    },
                );
            }
            None => break,
        }
    }

    // Deposits and withdrawals since the last success (or the lookback), to explain
    // balance changes. The wallet endpoints have their own limits; failing them only
    // loses the explanation, so their errors are logged, not fatal.
    let since = records
        .state
        .last_success_at
        .unwrap_or_else(|| now_ms() - i64::from(lookback_days) * 86_400_000);
    if clock.out_of_time() || reading.stopped.is_some() {
        reading
            .stopped
            .get_or_insert_with(|| "deadline reached".to_owned());
    } else {
        match exchange.deposits(since).await {
            Ok(d) => snapshot.deposits = d,
            Err(e) => tracing::warn!(error = %e, "deposit history unavailable"),
        }
        match exchange.withdrawals(since).await {
            Ok(w) => snapshot.withdrawals = w,
            Err(e) => tracing::warn!(error = %e, "withdrawal history unavailable"),
        }
    }

    // Prices at fill time for fees paid in another asset.
    let mut fee_prices: BTreeMap<(Symbol, Millis), rust_decimal::Decimal> = BTreeMap::new();
    for (symbol, minute) in core::trades::fee_price_needs(&snapshot) {
        if clock.out_of_time() || reading.stopped.is_some() {
            // Unconverted fees fall back to the current price: the run is partial.
            reading
                .stopped
                .get_or_insert_with(|| "deadline reached".to_owned());
            break;
        }
        if let Some(Some(price)) = reading.absorb(exchange.price_at(&symbol, minute).await)? {
            fee_prices.insert((symbol, minute), price);
        }
    }
    snapshot.fee_prices = fee_prices;

    let scanned = reading.stopped.is_none() && !clock.out_of_time();
    Ok((snapshot, scanned))
}
