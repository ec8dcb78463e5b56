//! The Lambda handler. Everything expensive (configuration, SDK clients, the HTTP client,
//! the credential cache) is built once per cold start into an [`App`] that every
//! invocation borrows. Per invocation: parse the payload (before any I/O), run the sync,
//! emit EMF metrics, publish alerts, return the `SyncReport`.
//!
//! Errors reach Lambda as `{"errorType": kind(), "errorMessage": ...}` through
//! `From<HandlerError> for lambda_runtime::Diagnostic` (lambda_runtime would otherwise
//! use the Rust type name).
//!
//! A panic inside the run is caught (`panic.rs`) and is a failed run like any other: the
//! errorType `Panic`, the `SyncFailure` metric, the failure alert, and the lease released
//! when the run had taken it.

use super::panic::{CatchPanic, PanicReport, PANIC_KIND};
use super::payload::{parse_event, PayloadError};
use super::wiring;
use crate::alerts::{self, Alert, SnsPublisher};
use crate::config::{Config, ConfigError};
use crate::domain::Millis;
use crate::exchange::Exchange;
use crate::metrics::{self, MetricContext};
use crate::report::{Outcome, SyncReport};
use crate::service::{run_id_for, run_sync, SyncError, SyncRequest};
use crate::store::verdicts::VerdictStore;
use crate::store::Store;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use std::time::Instant;
use tracing::Instrument;

/// Why an invocation failed. `kind()` is the stable Lambda `errorType`.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// A registry deployment refused the invocation's account (unknown, disabled, its
    /// item invalid) or could not read the registry.
    #[error(transparent)]
    Fleet(#[from] super::fleet::FleetError),
    /// The cold start failed for another reason (kept as kind + message so every
    /// invocation of the broken container can report it).
    #[error("initialization failed: {message}")]
    Init { kind: &'static str, message: String },
    /// The run panicked (a bug): where, and the message only when it is a literal.
    #[error("{0}")]
    Panic(PanicReport),
}

impl HandlerError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Payload(e) => e.kind(),
            Self::Config(e) => e.kind(),
            Self::Sync(e) => e.kind(),
            Self::Fleet(e) => e.kind(),
            Self::Init { kind, .. } => kind,
            Self::Panic(_) => PANIC_KIND,
        }
    }

    /// A copy for reporting a cold-start failure on every invocation.
    fn replay(&self) -> Self {
        match self {
            Self::Config(e) => Self::Config(e.clone()),
            other => Self::Init {
                kind: other.kind(),
                message: other.to_string(),
            },
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        Diagnostic {
            error_type: e.kind().to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// What the handler needs from the Lambda context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationContext {
    pub request_id: String,
    /// Epoch ms by which the invocation must return.
    pub deadline_ms: Option<Millis>,
}

impl InvocationContext {
    pub fn from_lambda(ctx: &lambda_runtime::Context) -> Self {
        let deadline = i64::try_from(ctx.deadline).ok().filter(|d| *d > 0);
        Self {
            request_id: ctx.request_id.clone(),
            deadline_ms: deadline,
        }
    }
}

/// Everything built once per cold start.
pub struct App<E: Exchange, S: Store> {
    pub config: Config,
    pub exchange: E,
    pub store: S,
    pub publisher: Option<SnsPublisher>,
    /// `AWS_LAMBDA_FUNCTION_NAME` (the cold-start metric's dimension, the logs'
    /// `function_name`).
    pub function_name: String,
    /// The Powertools `service` (`POWERTOOLS_SERVICE_NAME`, default
    /// `binance-account-sync`): the logs' key, the metrics' property.
    pub service: String,
    /// Print EMF documents on stdout (Lambda). The CLI turns this off: its stdout is the
    /// report.
    pub emit_metrics: bool,
    /// Accept the test-only `"test_panic": true` payload. False unless the wiring found a
    /// local emulator (`payload::is_local_emulator`); refused with a `PayloadError`
    /// otherwise.
    pub allow_test_panic: bool,
}

impl<E: Exchange, S: Store + VerdictStore> App<E, S> {
    pub fn new(
        config: Config,
        exchange: E,
        store: S,
        publisher: Option<SnsPublisher>,
        function_name: impl Into<String>,
    ) -> Self {
        Self {
            config,
            exchange,
            store,
            publisher,
            function_name: function_name.into(),
            service: crate::telemetry::service_name(),
            emit_metrics: true,
            allow_test_panic: false,
        }
    }

    fn metric_context(&self, mode: crate::core::Mode, timestamp: Millis) -> MetricContext<'_> {
        MetricContext {
            namespace: &self.config.metrics_namespace,
            service: &self.service,
            account: self.config.account.as_str(),
            mode,
            timestamp,
        }
    }

    /// One invocation. In Lambda (metrics on) its log lines carry the Powertools keys
    /// (`telemetry::invocation_span`) and the container's first invocation emits the
    /// `ColdStart` metric.
    pub async fn handle(
        &self,
        payload: Value,
        ctx: &InvocationContext,
    ) -> Result<SyncReport, HandlerError> {
        if !self.emit_metrics {
            // The CLI: text logs, no invocation keys to add.
            return self.handle_invocation(payload, ctx).await;
        }
        if crate::telemetry::COLD_START.take_metric(&ctx.request_id) {
            metrics::emit(&metrics::emf_cold_start(
                &self.config.metrics_namespace,
                &self.service,
                &self.function_name,
                crate::service::now_ms(),
            ));
        }
        let span = crate::telemetry::invocation_span(
            &ctx.request_id,
            &self.function_name,
            crate::telemetry::current_trace_header().as_deref(),
        );
        self.handle_invocation(payload, ctx).instrument(span).await
    }

    async fn handle_invocation(
        &self,
        payload: Value,
        ctx: &InvocationContext,
    ) -> Result<SyncReport, HandlerError> {
        let invocation = match parse_event(payload) {
            Ok(i) if i.test_panic && !self.allow_test_panic => Err(PayloadError::TestPanicRefused),
            other => other,
        };
        let invocation = match invocation {
            Ok(i) => match &i.account {
                Some(named) if *named != self.config.account => {
                    let e = PayloadError::WrongAccount {
                        expected: self.config.account.as_str().to_owned(),
                        got: named.as_str().to_owned(),
                    };
                    tracing::error!(error_type = e.kind(), error = %e, "rejected payload");
                    return Err(e.into());
                }
                _ => i,
            },
            Err(e) => {
                tracing::error!(error_type = e.kind(), error = %e, "rejected payload");
                return Err(e.into());
            }
        };
        tracing::info!(
            mode = invocation.mode.as_str(),
            dry_run = invocation.dry_run,
            lookback_days = ?invocation.lookback_days,
            deadline_ms = ?ctx.deadline_ms,
            "sync starting"
        );
        let request = SyncRequest {
            account: self.config.account.clone(),
            mode: invocation.mode,
            dry_run: invocation.dry_run,
            lookback_days: invocation.lookback_days,
            deadline: ctx.deadline_ms,
            invocation_id: Some(ctx.request_id.clone()),
        };
        let started = Instant::now();
        let started_at = crate::service::now_ms();
        let test_panic = invocation.test_panic;
        // Boxed (inside CatchPanic): the service's future is deep (exchange + store
        // adapters); keeping it on the heap keeps the handler's future small and its layout
        // within rustc's query depth limit in the binary crate.
        let result = CatchPanic::new(async {
            if test_panic {
                panic!("test_panic requested by the payload (local emulator only)");
            }
            run_sync(
                &self.exchange,
                &self.store,
                &self.config.rules,
                &self.config.run,
                &request,
            )
            .await
        })
        .await;
        let now = crate::service::now_ms();
        let result = match result {
            // The trust verdicts, before the metrics and alerts (an acknowledged amount
            // is not alerted): `service::verdicts`.
            Ok(Ok(mut report)) => {
                crate::service::verdicts::after_report(
                    &self.store,
                    &self.config.rules,
                    &request.account,
                    &mut report,
                    ctx.deadline_ms,
                )
                .await;
                if let Some(trust) = report
                    .trust
                    .as_ref()
                    .filter(|t| t.judged && self.emit_metrics)
                {
                    metrics::emit(&crate::trust_metrics::emf_for_trust(
                        trust,
                        &self.config.metrics_namespace,
                        self.config.account.as_str(),
                        now,
                    ));
                }
                Ok(report)
            }
            Ok(Err(e)) => {
                if !request.dry_run {
                    crate::service::verdicts::after_failure(
                        &self.store,
                        &self.config.rules,
                        &request.account,
                        &run_id_for(&request.account, Some(&ctx.request_id)),
                        started_at,
                        e.kind(),
                        ctx.deadline_ms,
                    )
                    .await;
                }
                Err(HandlerError::Sync(e))
            }
            Err(panic) => {
                let e = HandlerError::Panic(panic);
                let outcome = format!("failed: {}", e.kind());
                self.release_abandoned_lease(&ctx.request_id, started_at, outcome, Some(&e))
                    .await;
                if !request.dry_run {
                    crate::service::verdicts::after_failure(
                        &self.store,
                        &self.config.rules,
                        &request.account,
                        &run_id_for(&request.account, Some(&ctx.request_id)),
                        started_at,
                        e.kind(),
                        ctx.deadline_ms,
                    )
                    .await;
                }
                Err(e)
            }
        };
        match result {
            Ok(report) => {
                if self.emit_metrics {
                    metrics::emit(&metrics::emf_for_report(
                        &report,
                        &self.metric_context(invocation.mode, now),
                    ));
                }
                tracing::info!(
                    run_id = %report.run_id,
                    outcome = ?report.outcome,
                    corrections = report.correction_count(),
                    discrepancies = report.discrepancies.len(),
                    duration_ms = report.duration_ms,
                    "sync finished"
                );
                self.after_report(&report, now).await;
                Ok(report)
            }
            Err(e) => {
                let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                if self.emit_metrics {
                    metrics::emit(&metrics::emf_for_failure(
                        e.kind(),
                        elapsed,
                        &self.metric_context(invocation.mode, now),
                    ));
                }
                tracing::error!(error_type = e.kind(), error = %e, "sync failed");
                self.after_failure(&e, invocation.mode, &ctx.request_id, now)
                    .await;
                Err(e)
            }
        }
    }

    /// Free the lease of a run that did not end by itself (it panicked, or the CLI was
    /// interrupted) and record its outcome, when that run holds it: the run id is derived
    /// from the request id, as in `run_sync`. A run that took no lease (dry run, too soon,
    /// lease held by another) or already released it is left alone. `finish_run` is
    /// conditional on the owner, so a lease another run took over is never freed. The
    /// sync state is read again, so what the run saved before it stopped (emergency
    /// scope, digest) is kept. Returns whether a lease was released.
    pub async fn release_abandoned_lease(
        &self,
        request_id: &str,
        started_at: Millis,
        outcome: String,
        error: Option<&HandlerError>,
    ) -> bool {
        let account = &self.config.account;
        let run_id = run_id_for(account, Some(request_id));
        let state = match self.store.state(account).await {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(error_type = e.kind(), error = %e, "lease not released: sync state unavailable");
                return false;
            }
        };
        if state.lease_owner.as_deref() != Some(run_id.as_str()) {
            return false;
        }
        let mut next = state;
        next.last_run_id = Some(run_id.clone());
        next.last_attempt_at = Some(started_at);
        next.last_outcome = Some(outcome.clone());
        if let Some(e) = error {
            next.last_error = Some(format!("{}: {e}", e.kind()));
        }
        if let Some(until) = self
            .exchange
            .banned_until()
            .filter(|u| *u > crate::service::now_ms())
        {
            next.banned_until = Some(until);
        }
        let summary = serde_json::json!({"run_id": run_id, "outcome": outcome});
        match self
            .store
            .finish_run(account, &run_id, &next, &summary)
            .await
        {
            Ok(()) => {
                tracing::info!(run_id = %run_id, outcome = %outcome, "lease released");
                true
            }
            Err(e) => {
                tracing::warn!(error_type = e.kind(), error = %e, "lease not released");
                false
            }
        }
    }

    /// Alerts for a run that returned a report, and the periodic security check. The
    /// de-duplication map and the last check time live in the sync-state item, so they
    /// survive cold starts: an unresolved discrepancy is not re-alerted every 30 minutes.
    async fn after_report(&self, report: &SyncReport, now: Millis) {
        let account = &self.config.account;
        let state = match self.store.state(account).await {
            Ok(state) => state,
            Err(e) => {
                // Without the map the alert may repeat; never lose one.
                tracing::warn!(error_type = e.kind(), error = %e, "alert state unavailable");
                crate::domain::SyncState::default()
            }
        };
        let repeat_ms = i64::try_from(self.config.alert_repeat.as_millis()).unwrap_or(i64::MAX);
        let (alert, next) = alerts::plan_alert(report, &state.alerted, now, repeat_ms);
        // Keep the old map when the alert was not delivered, so the next run retries.
        let alerted = match alert {
            Some(alert) if !self.send(&alert).await => state.alerted.clone(),
            _ => next,
        };

        let mut last_check = state.last_security_check_at;
        let ran = matches!(report.outcome, Outcome::Complete | Outcome::Partial);
        let hours = self.config.security_check_interval.as_secs() / 3600;
        if ran && alerts::security_check_due(last_check, now, hours) {
            match self.exchange.api_restrictions().await {
                Ok(restrictions) => {
                    last_check = Some(now);
                    let findings = alerts::security_findings(&restrictions);
                    if let Some(alert) = alerts::security_alert(account.as_str(), &findings) {
                        tracing::warn!(?findings, "API key security findings");
                        self.send(&alert).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error_type = e.kind(), error = %e, "API key restrictions not checked")
                }
            }
        }
        if !report.dry_run
            && (alerted != state.alerted || last_check != state.last_security_check_at)
        {
            if let Err(e) = self
                .store
                .save_alert_state(account, &alerted, last_check)
                .await
            {
                tracing::warn!(error_type = e.kind(), error = %e, "alert state not saved");
            }
        }
    }

    /// Alert a failed run, at most once per repeat window for the same errorType.
    async fn after_failure(
        &self,
        e: &HandlerError,
        mode: crate::core::Mode,
        request_id: &str,
        now: Millis,
    ) {
        let account = &self.config.account;
        // Without the state (the store may be what failed) alert anyway: never lose one.
        let state = self.store.state(account).await.ok();
        let alerted = state
            .as_ref()
            .map(|s| s.alerted.clone())
            .unwrap_or_default();
        let repeat_ms = i64::try_from(self.config.alert_repeat.as_millis()).unwrap_or(i64::MAX);
        let (send, next) = alerts::plan_failure_alert(e.kind(), &alerted, now, repeat_ms);
        if !send {
            tracing::info!(
                error_type = e.kind(),
                "failure already alerted; not repeated"
            );
            return;
        }
        let alert = alerts::failure_alert(
            account.as_str(),
            mode,
            e.kind(),
            &e.to_string(),
            Some(request_id),
        );
        if self.send(&alert).await {
            if let Some(state) = state {
                if let Err(err) = self
                    .store
                    .save_alert_state(account, &next, state.last_security_check_at)
                    .await
                {
                    tracing::warn!(error_type = err.kind(), error = %err, "alert state not saved");
                }
            }
        }
    }

    /// Publish, or log when no topic is configured. True when delivered (or no topic).
    async fn send(&self, alert: &Alert) -> bool {
        match &self.publisher {
            None => {
                tracing::warn!(subject = %alert.subject, severity = alert.severity.as_str(), "alert (no SYNC_ALERT_TOPIC_ARN)");
                true
            }
            Some(p) => match p.publish(alert).await {
                Ok(id) => {
                    tracing::info!(message_id = %id, subject = %alert.subject, "alert published");
                    true
                }
                Err(e) => {
                    tracing::error!(error_type = e.kind(), error = %e, "alert not published");
                    false
                }
            },
        }
    }
}

/// The Lambda entry point (main.rs calls it when `AWS_LAMBDA_RUNTIME_API` is set).
pub async fn run_lambda() -> Result<(), lambda_runtime::Error> {
    crate::telemetry::init_lambda();
    super::panic::install_hook(false);
    if matches!(
        crate::config::AccountsSource::from_env(),
        Ok(crate::config::AccountsSource::Registry)
    ) {
        return run_fleet_lambda().await;
    }
    let init_started = Instant::now();
    let app = wiring::init().await;
    match &app {
        Ok(app) => {
            let init_ms = emit_init_duration(
                &app.config.metrics_namespace,
                &app.service,
                &app.function_name,
                init_started,
            );
            tracing::info!(account = %app.config.account, init_ms, "cold start");
        }
        // Keep the runtime up so every invocation reports the stable errorType.
        Err(e) => tracing::error!(error_type = e.kind(), error = %e, "cold start failed"),
    }
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let (payload, context) = event.into_parts();
        let app = app.as_ref().map_err(HandlerError::replay)?;
        let ctx = InvocationContext::from_lambda(&context);
        // A panic outside the run itself (alerting, the security check) still gets the
        // stable errorType and a redacted message, not lambda_runtime's own report.
        match CatchPanic::new(app.handle(payload, &ctx)).await {
            Ok(result) => result,
            Err(panic) => {
                tracing::error!(error_type = PANIC_KIND, error = %panic, "handler panicked");
                Err(HandlerError::Panic(panic))
            }
        }
    }))
    .await
}

/// The init-duration document (how long init took, from `init_started`); the init time.
fn emit_init_duration(
    namespace: &str,
    service: &str,
    function_name: &str,
    init_started: Instant,
) -> u64 {
    let init_ms = u64::try_from(init_started.elapsed().as_millis()).unwrap_or(u64::MAX);
    metrics::emit(&metrics::emf_init_duration(
        namespace,
        service,
        function_name,
        init_ms,
        crate::service::now_ms(),
    ));
    init_ms
}

/// The Lambda entry point of a registry deployment (`SYNC_ACCOUNTS=registry`): the same
/// runtime loop, each invocation dispatched by the fleet to its account's App.
async fn run_fleet_lambda() -> Result<(), lambda_runtime::Error> {
    let init_started = Instant::now();
    let fleet = wiring::init_fleet().await;
    match &fleet {
        Ok(fleet) => {
            let init_ms = emit_init_duration(
                &fleet.config.metrics_namespace,
                &crate::telemetry::service_name(),
                &wiring::function_name(),
                init_started,
            );
            tracing::info!(init_ms, "cold start (accounts registry)");
        }
        Err(e) => tracing::error!(error_type = e.kind(), error = %e, "cold start failed"),
    }
    let fleet = &fleet;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let (payload, context) = event.into_parts();
        let fleet = fleet.as_ref().map_err(HandlerError::replay)?;
        let ctx = InvocationContext::from_lambda(&context);
        match CatchPanic::new(fleet.handle(payload, &ctx)).await {
            Ok(result) => result,
            Err(panic) => {
                tracing::error!(error_type = PANIC_KIND, error = %panic, "handler panicked");
                Err(HandlerError::Panic(panic))
            }
        }
    }))
    .await
}
