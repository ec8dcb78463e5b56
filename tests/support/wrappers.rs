//! Store wrappers that put the sync in the situations the guarantees are about. Each
//! delegates everything to the wrapped store except the one call it perturbs.

use super::TestStore;
use binance_account_sync::domain::{AccountId, Correction, Millis, Record, Records, SyncState};
use binance_account_sync::report::record_key;
use binance_account_sync::store::{ApplyOutcome, AuditEntry, LeaseOutcome, Store, StoreError};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use tokio::sync::watch;

macro_rules! delegate_scoped {
    () => {
        async fn load_scoped(
            &self,
            account: &AccountId,
            scope: &binance_account_sync::store::LoadScope,
        ) -> Result<(Records, f64), StoreError> {
            self.inner.load_scoped(account, scope).await
        }
        async fn symbol_cache(
            &self,
            account: &AccountId,
        ) -> Result<Option<binance_account_sync::domain::SymbolCache>, StoreError> {
            self.inner.symbol_cache(account).await
        }
        async fn save_symbol_cache(
            &self,
            account: &AccountId,
            cache: &binance_account_sync::domain::SymbolCache,
        ) -> Result<(), StoreError> {
            self.inner.save_symbol_cache(account, cache).await
        }
        async fn save_progress(
            &self,
            account: &AccountId,
            owner: &str,
            emergency: Option<&binance_account_sync::domain::EmergencyScope>,
            banned_until: Option<Millis>,
        ) -> Result<(), StoreError> {
            self.inner
                .save_progress(account, owner, emergency, banned_until)
                .await
        }
        async fn schema_version(&self, account: &AccountId) -> Result<Option<u32>, StoreError> {
            self.inner.schema_version(account).await
        }
        async fn set_schema_version(
            &self,
            account: &AccountId,
            version: u32,
        ) -> Result<(), StoreError> {
            self.inner.set_schema_version(account, version).await
        }
    };
}

macro_rules! delegate_lease {
    () => {
        async fn acquire_lease(
            &self,
            account: &AccountId,
            owner: &str,
            now: Millis,
            expires_at: Millis,
        ) -> Result<LeaseOutcome, StoreError> {
            self.inner
                .acquire_lease(account, owner, now, expires_at)
                .await
        }
    };
}

macro_rules! delegate_except_apply {
    () => {
        async fn state(&self, account: &AccountId) -> Result<SyncState, StoreError> {
            self.inner.state(account).await
        }
        async fn save_alert_state(
            &self,
            account: &AccountId,
            alerted: &std::collections::BTreeMap<String, Millis>,
            last_security_check_at: Option<Millis>,
        ) -> Result<(), StoreError> {
            self.inner
                .save_alert_state(account, alerted, last_security_check_at)
                .await
        }
        async fn load(&self, account: &AccountId) -> Result<(Records, f64), StoreError> {
            self.inner.load(account).await
        }
        delegate_scoped!();
        async fn finish_run(
            &self,
            account: &AccountId,
            owner: &str,
            state: &SyncState,
            summary: &serde_json::Value,
        ) -> Result<(), StoreError> {
            self.inner.finish_run(account, owner, state, summary).await
        }
        async fn audit_since(
            &self,
            account: &AccountId,
            since: Millis,
        ) -> Result<Vec<AuditEntry>, StoreError> {
            self.inner.audit_since(account, since).await
        }
    };
}

/// On the first `apply` that corrects `target` (a table key such as `BALANCE#USDT`), the
/// bot writes `bot_record` to that item first, then the sync's writes go through.
pub struct BotRacesApply<'a, S> {
    pub inner: &'a S,
    target: String,
    bot_record: Record,
    fired: AtomicBool,
    /// Every correction the sync asked to write.
    pub asked: Mutex<Vec<Correction>>,
}

impl<'a, S: TestStore> BotRacesApply<'a, S> {
    pub fn new(inner: &'a S, bot_record: Record) -> Self {
        Self {
            inner,
            target: record_key(&bot_record),
            bot_record,
            fired: AtomicBool::new(false),
            asked: Mutex::new(Vec::new()),
        }
    }

    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

impl<S: TestStore> Store for BotRacesApply<'_, S> {
    delegate_except_apply!();

    delegate_lease!();

    async fn apply(
        &self,
        account: &AccountId,
        run_id: &str,
        now: Millis,
        corrections: &[Correction],
    ) -> Result<ApplyOutcome, StoreError> {
        self.asked
            .lock()
            .expect("lock")
            .extend(corrections.iter().cloned());
        let targets = corrections
            .iter()
            .any(|c| record_key(&c.after) == self.target);
        if targets && !self.fired.swap(true, Ordering::SeqCst) {
            self.inner.bot_write(account, self.bot_record.clone()).await;
        }
        self.inner.apply(account, run_id, now, corrections).await
    }
}

/// The first `apply` of more than one transaction's worth (`TX` corrections) commits its
/// first transaction and then fails, as the DynamoDB adapter's `apply` does when a later
/// transaction of the same call cannot be sent (the checkpoint rides in the last one).
pub struct HalfCommittedApply<'a, S> {
    pub inner: &'a S,
    fired: AtomicBool,
    /// What the half-committed call wrote.
    pub committed: Mutex<Vec<Correction>>,
}

impl<'a, S: Store> HalfCommittedApply<'a, S> {
    /// Corrections per transaction, as in `tests/support/faults.rs`'s `PartialApply`.
    pub const TX: usize = 50;

    pub fn new(inner: &'a S) -> Self {
        Self {
            inner,
            fired: AtomicBool::new(false),
            committed: Mutex::new(Vec::new()),
        }
    }
}

impl<S: Store> Store for HalfCommittedApply<'_, S> {
    delegate_except_apply!();

    delegate_lease!();

    async fn apply(
        &self,
        account: &AccountId,
        run_id: &str,
        now: Millis,
        corrections: &[Correction],
    ) -> Result<ApplyOutcome, StoreError> {
        if corrections.len() <= Self::TX || self.fired.swap(true, Ordering::SeqCst) {
            return self.inner.apply(account, run_id, now, corrections).await;
        }
        let outcome = self
            .inner
            .apply(account, run_id, now, &corrections[..Self::TX])
            .await?;
        self.committed
            .lock()
            .expect("lock")
            .extend(outcome.applied.iter().cloned());
        Err(StoreError::Unavailable(format!(
            "transaction 1 of run {run_id}: dispatch failure: connection reset"
        )))
    }
}

/// Holds every run inside `apply` until `lease_tries` runs have asked for the lease, so
/// two runs started together really overlap.
pub struct HoldApplyUntilLeaseTried<'a, S> {
    pub inner: &'a S,
    lease_tries: usize,
    tried: watch::Sender<usize>,
}

impl<'a, S: Store> HoldApplyUntilLeaseTried<'a, S> {
    pub fn new(inner: &'a S, lease_tries: usize) -> Self {
        Self {
            inner,
            lease_tries,
            tried: watch::Sender::new(0),
        }
    }
}

impl<S: Store> Store for HoldApplyUntilLeaseTried<'_, S> {
    delegate_except_apply!();

    async fn acquire_lease(
        &self,
        account: &AccountId,
        owner: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<LeaseOutcome, StoreError> {
        let r = self
            .inner
            .acquire_lease(account, owner, now, expires_at)
            .await;
        self.tried.send_modify(|n| *n += 1);
        r
    }

    async fn apply(
        &self,
        account: &AccountId,
        run_id: &str,
        now: Millis,
        corrections: &[Correction],
    ) -> Result<ApplyOutcome, StoreError> {
        let mut rx = self.tried.subscribe();
        let want = self.lease_tries;
        rx.wait_for(|n| *n >= want).await.expect("sender alive");
        self.inner.apply(account, run_id, now, corrections).await
    }
}

/// The invocation dies after its writes landed: `apply` writes, then its answer is lost
/// (an error), and the dying invocation never releases its lease (`finish_run` fails too).
pub struct CrashAfterApply<'a, S> {
    pub inner: &'a S,
    crashed: AtomicBool,
    /// `apply` calls that go through before the one the invocation dies after.
    survive: AtomicUsize,
    /// What the crashed attempt actually wrote.
    pub written: Mutex<Vec<Correction>>,
}

impl<'a, S: Store> CrashAfterApply<'a, S> {
    /// Dies after its first `apply`.
    pub fn new(inner: &'a S) -> Self {
        Self::after_applies(inner, 1)
    }

    /// Dies after its `n`-th `apply` (n ≥ 1); the ones before answer normally.
    pub fn after_applies(inner: &'a S, n: usize) -> Self {
        Self {
            inner,
            crashed: AtomicBool::new(false),
            survive: AtomicUsize::new(n.saturating_sub(1)),
            written: Mutex::new(Vec::new()),
        }
    }
}

impl<S: Store> Store for CrashAfterApply<'_, S> {
    async fn load(&self, account: &AccountId) -> Result<(Records, f64), StoreError> {
        self.inner.load(account).await
    }
    delegate_scoped!();

    delegate_lease!();

    async fn finish_run(
        &self,
        account: &AccountId,
        owner: &str,
        state: &SyncState,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        if self.crashed.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("the invocation is dead".into()));
        }
        self.inner.finish_run(account, owner, state, summary).await
    }

    async fn apply(
        &self,
        account: &AccountId,
        run_id: &str,
        now: Millis,
        corrections: &[Correction],
    ) -> Result<ApplyOutcome, StoreError> {
        let outcome = self.inner.apply(account, run_id, now, corrections).await?;
        self.written
            .lock()
            .expect("lock")
            .extend(outcome.applied.iter().cloned());
        let before = self
            .survive
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if before.is_ok() {
            return Ok(outcome);
        }
        self.crashed.store(true, Ordering::SeqCst);
        Err(StoreError::Unavailable(
            "connection lost after the writes were sent".into(),
        ))
    }

    async fn state(&self, account: &AccountId) -> Result<SyncState, StoreError> {
        self.inner.state(account).await
    }
    async fn save_alert_state(
        &self,
        account: &AccountId,
        alerted: &std::collections::BTreeMap<String, Millis>,
        last_security_check_at: Option<Millis>,
    ) -> Result<(), StoreError> {
        self.inner
            .save_alert_state(account, alerted, last_security_check_at)
            .await
    }
    async fn audit_since(
        &self,
        account: &AccountId,
        since: Millis,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit_since(account, since).await
    }
}

/// The first `apply` panics (a bug in the middle of a run, after the lease was taken and
/// the exchange read), with a message formatted at run time that holds the API secret:
/// what a panic may carry and must never be reported. Later calls go through.
pub struct PanicOnFirstApply<'a, S> {
    pub inner: &'a S,
    fired: AtomicBool,
}

/// The trust items go straight to the inner store (the handler's verdict step).
impl<S: binance_account_sync::store::verdicts::VerdictStore>
    binance_account_sync::store::verdicts::VerdictStore for PanicOnFirstApply<'_, S>
{
    async fn load_trust(
        &self,
        account: &AccountId,
    ) -> Result<binance_account_sync::store::verdicts::TrustItems, StoreError> {
        self.inner.load_trust(account).await
    }
    async fn write_verdict(
        &self,
        account: &AccountId,
        verdict: &binance_account_sync::store::verdicts::StoredVerdict,
        expect: binance_account_sync::domain::Expect,
        log: &binance_account_sync::store::verdicts::TrustLogEntry,
    ) -> Result<bool, StoreError> {
        self.inner
            .write_verdict(account, verdict, expect, log)
            .await
    }
    async fn save_account_trust(
        &self,
        account: &AccountId,
        trust: &binance_account_sync::store::verdicts::AccountTrust,
        expect: binance_account_sync::domain::Expect,
    ) -> Result<bool, StoreError> {
        self.inner.save_account_trust(account, trust, expect).await
    }
    async fn put_ack(
        &self,
        account: &AccountId,
        ack: &binance_account_sync::core::verdict::Ack,
        log: &binance_account_sync::store::verdicts::TrustLogEntry,
    ) -> Result<binance_account_sync::store::verdicts::AckOutcome, StoreError> {
        self.inner.put_ack(account, ack, log).await
    }
    async fn trust_log_since(
        &self,
        account: &AccountId,
        since: Millis,
    ) -> Result<Vec<binance_account_sync::store::verdicts::TrustLogEntry>, StoreError> {
        self.inner.trust_log_since(account, since).await
    }
    async fn runs_since(
        &self,
        account: &AccountId,
        since: Millis,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        self.inner.runs_since(account, since).await
    }
    async fn bot_heartbeat(
        &self,
        account: &AccountId,
    ) -> Result<Option<binance_account_sync::core::verdict::Heartbeat>, StoreError> {
        self.inner.bot_heartbeat(account).await
    }
}

/// The secret the panic's message carries (the demo scenario's API secret).
pub const PANIC_SECRET: &str = "demo-secret";

impl<'a, S: Store> PanicOnFirstApply<'a, S> {
    pub fn new(inner: &'a S) -> Self {
        Self {
            inner,
            fired: AtomicBool::new(false),
        }
    }
}

impl<S: Store> Store for PanicOnFirstApply<'_, S> {
    delegate_except_apply!();

    delegate_lease!();

    async fn apply(
        &self,
        account: &AccountId,
        run_id: &str,
        now: Millis,
        corrections: &[Correction],
    ) -> Result<ApplyOutcome, StoreError> {
        if !self.fired.swap(true, Ordering::SeqCst) {
            panic!(
                "bug while signing with {PANIC_SECRET} ({} corrections)",
                corrections.len()
            );
        }
        self.inner.apply(account, run_id, now, corrections).await
    }
}

/// Two attempts of one invocation (same run id) side by side: the first holds its first
/// `apply` until the second has planned from the same records and reached its own first
/// `apply`; the second's then goes through only after the first's has landed. So every
/// correction the second asks for on its first `apply` is one the first attempt already
/// wrote: a store that writes unconditionally would write it (and audit it) twice.
pub struct ReplayGate {
    /// The `now` of the first attempt's first `apply`, once it is inside it.
    first_inside: watch::Sender<Option<Millis>>,
    second_inside: watch::Sender<bool>,
    first_landed: watch::Sender<bool>,
    /// What the second attempt asked for on its first `apply`, and what the store answered.
    pub second_first_apply: Mutex<Option<(Vec<Correction>, ApplyOutcome)>>,
    /// What the first attempt wrote on its first `apply`.
    pub first_first_apply: Mutex<Option<ApplyOutcome>>,
}

impl ReplayGate {
    pub fn new() -> Self {
        Self {
            first_inside: watch::Sender::new(None),
            second_inside: watch::Sender::new(false),
            first_landed: watch::Sender::new(false),
            second_first_apply: Mutex::new(None),
            first_first_apply: Mutex::new(None),
        }
    }

    /// Waits until the first attempt is inside its first `apply`; returns its `now`.
    pub async fn first_is_inside(&self) -> Millis {
        let mut rx = self.first_inside.subscribe();
        let now = *rx.wait_for(Option::is_some).await.expect("sender alive");
        now.expect("some")
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    First,
    Second,
}

pub struct Replayed<'a, S> {
    pub inner: &'a S,
    gate: &'a ReplayGate,
    attempt: Attempt,
    applied_once: AtomicBool,
}

impl<'a, S: Store> Replayed<'a, S> {
    pub fn new(inner: &'a S, gate: &'a ReplayGate, attempt: Attempt) -> Self {
        Self {
            inner,
            gate,
            attempt,
            applied_once: AtomicBool::new(false),
        }
    }
}

impl<S: Store> Store for Replayed<'_, S> {
    delegate_except_apply!();

    delegate_lease!();

    async fn apply(
        &self,
        account: &AccountId,
        run_id: &str,
        now: Millis,
        corrections: &[Correction],
    ) -> Result<ApplyOutcome, StoreError> {
        if self.applied_once.swap(true, Ordering::SeqCst) {
            return self.inner.apply(account, run_id, now, corrections).await;
        }
        match self.attempt {
            Attempt::First => {
                self.gate.first_inside.send_replace(Some(now));
                let mut rx = self.gate.second_inside.subscribe();
                rx.wait_for(|b| *b).await.expect("sender alive");
                let out = self.inner.apply(account, run_id, now, corrections).await;
                if let Ok(o) = &out {
                    *self.gate.first_first_apply.lock().expect("lock") = Some(o.clone());
                }
                self.gate.first_landed.send_replace(true);
                out
            }
            Attempt::Second => {
                self.gate.second_inside.send_replace(true);
                let mut rx = self.gate.first_landed.subscribe();
                rx.wait_for(|b| *b).await.expect("sender alive");
                let out = self.inner.apply(account, run_id, now, corrections).await?;
                *self.gate.second_first_apply.lock().expect("lock") =
                    Some((corrections.to_vec(), out.clone()));
                Ok(out)
            }
        }
    }
}
