//! In-memory adapter of the [`Store`] port, with the DynamoDB adapter's semantics:
//! versioned conditional writes, conflicts carrying the current record, the lease, one
//! audit record per applied correction, idempotent retries of a run, nothing deleted.
//! Plus test hooks that play the bot (`put_bot_record`) and inspect the contents.

use crate::domain::{
    AccountId, Correction, EmergencyScope, Expect, Millis, Record, Records, SkippedItem,
    SymbolCache, SyncState,
};
use crate::store::keys;
use crate::store::{
    ApplyOutcome, AuditEntry, Conflict, LeaseOutcome, LoadScope, Store, StoreError,
};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Clone)]
struct StoredAudit {
    entry: AuditEntry,
    target_sk: String,
    after_version: u64,
}

#[derive(Debug, Default, Clone)]
struct Partition {
    /// Keyed by sort key, as in the table.
    records: BTreeMap<String, Record>,
    state: Option<SyncState>,
    audit: BTreeMap<String, StoredAudit>,
    runs: BTreeMap<String, serde_json::Value>,
    /// Items that do not decode (test hook): sort key -> why.
    malformed: BTreeMap<String, String>,
    symbol_cache: Option<SymbolCache>,
    schema: Option<u32>,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    partitions: Mutex<BTreeMap<String, Partition>>,
    items_read: std::sync::atomic::AtomicU64,
    /// The trust items (`memory_verdicts`).
    pub(crate) trust: crate::store::memory_verdicts::TrustTables,
}

fn in_range(sk: &str, from: &str, to: Option<&str>) -> bool {
    match to {
        None => sk.starts_with(from),
        Some(to) => sk >= from && sk <= to,
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Partition>> {
        // A panic in another test thread must not hide this store's contents.
        self.partitions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Play the bot: write `record` the way the bot must (its version becomes the stored
    /// version + 1, or 1 for a new item). Returns the record as stored.
    pub fn put_bot_record(&self, account: &AccountId, mut record: Record) -> Record {
        let mut parts = self.lock();
        let part = parts.entry(keys::pk(account)).or_default();
        let sk = keys::record_sk(&record);
        let next = part
            .records
            .get(&sk)
            .map_or(1, |r| keys::record_version(r).saturating_add(1));
        keys::set_record_version(&mut record, next);
        part.records.insert(sk, record.clone());
        record
    }

    /// Play a bot that wrote an item the sync cannot decode (test hook): `load_scoped`
    /// reports it in `Records::skipped` when its key is in scope.
    pub fn put_malformed(&self, account: &AccountId, sk: &str, detail: &str) {
        let mut parts = self.lock();
        let part = parts.entry(keys::pk(account)).or_default();
        part.malformed.insert(sk.to_owned(), detail.to_owned());
    }

    /// Items read per scope so far (the memory store's stand-in for read capacity).
    pub fn items_read(&self) -> u64 {
        self.items_read.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The account's records as stored (what `load` returns).
    pub fn records(&self, account: &AccountId) -> Records {
        let parts = self.lock();
        let mut records = Records::default();
        if let Some(part) = parts.get(&keys::pk(account)) {
            for r in part.records.values() {
                keys::insert_record(&mut records, r.clone());
            }
            records.state = part.state.clone().unwrap_or_default();
        }
        records
    }

    /// Every audit entry of the account, oldest first.
    pub fn audit(&self, account: &AccountId) -> Vec<AuditEntry> {
        let parts = self.lock();
        parts.get(&keys::pk(account)).map_or_else(Vec::new, |p| {
            p.audit.values().map(|a| a.entry.clone()).collect()
        })
    }

    /// The RUN items written by `finish_run` (sort key, summary), oldest first.
    pub(crate) fn run_items(&self, account: &AccountId) -> Vec<(String, serde_json::Value)> {
        let parts = self.lock();
        parts.get(&keys::pk(account)).map_or_else(Vec::new, |p| {
            p.runs.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        })
    }

    /// The RUN summaries written by `finish_run`, oldest first.
    pub fn runs(&self, account: &AccountId) -> Vec<serde_json::Value> {
        let parts = self.lock();
        parts
            .get(&keys::pk(account))
            .map_or_else(Vec::new, |p| p.runs.values().cloned().collect())
    }
}

impl Store for MemoryStore {
    async fn load(&self, account: &AccountId) -> Result<(Records, f64), StoreError> {
        Ok((self.records(account), 0.0))
    }

    async fn load_scoped(
        &self,
        account: &AccountId,
        scope: &LoadScope,
    ) -> Result<(Records, f64), StoreError> {
        let parts = self.lock();
        let mut records = Records::default();
        let Some(part) = parts.get(&keys::pk(account)) else {
            return Ok((records, 0.0));
        };
        let limit = keys::scope_limit(scope).map(|l| l as usize);
        let mut read = 0u64;
        for (from, to) in keys::scope_ranges(scope) {
            let mut taken = 0usize;
            for (sk, r) in part
                .records
                .range(from.clone()..)
                .take_while(|(sk, _)| match &to {
                    Some(to) => sk.as_str() <= to.as_str(),
                    None => sk.starts_with(from.as_str()),
                })
                .filter(|(sk, _)| in_range(sk, &from, to.as_deref()))
            {
                if limit.is_some_and(|l| taken >= l) {
                    break;
                }
                if part.malformed.contains_key(sk) {
                    continue;
                }
                keys::insert_record(&mut records, r.clone());
                taken += 1;
                read += 1;
            }
            for (sk, detail) in &part.malformed {
                if in_range(sk, &from, to.as_deref()) {
                    records.skipped.push(SkippedItem {
                        key: format!("{}|{sk}", keys::pk(account)),
                        detail: detail.clone(),
                    });
                }
            }
        }
        self.items_read
            .fetch_add(read, std::sync::atomic::Ordering::SeqCst);
        Ok((records, 0.0))
    }

    async fn symbol_cache(&self, account: &AccountId) -> Result<Option<SymbolCache>, StoreError> {
        Ok(self
            .lock()
            .get(&keys::pk(account))
            .and_then(|p| p.symbol_cache.clone()))
    }

    async fn save_symbol_cache(
        &self,
        account: &AccountId,
        cache: &SymbolCache,
    ) -> Result<(), StoreError> {
        self.lock()
            .entry(keys::pk(account))
            .or_default()
            .symbol_cache = Some(cache.clone());
        Ok(())
    }

    async fn save_progress(
        &self,
        account: &AccountId,
        owner: &str,
        emergency: Option<&EmergencyScope>,
        banned_until: Option<Millis>,
    ) -> Result<(), StoreError> {
        let mut parts = self.lock();
        let part = parts.entry(keys::pk(account)).or_default();
        let stored = part.state.get_or_insert_with(SyncState::default);
        if stored.lease_owner.as_deref() != Some(owner) {
            return Err(StoreError::Rejected(format!(
                "save_progress: lease of {owner} is no longer held"
            )));
        }
        stored.emergency = emergency.cloned();
        stored.banned_until = banned_until;
        stored.version = stored.version.saturating_add(1);
        Ok(())
    }

    async fn schema_version(&self, account: &AccountId) -> Result<Option<u32>, StoreError> {
        Ok(self.lock().get(&keys::pk(account)).and_then(|p| p.schema))
    }

    async fn set_schema_version(
        &self,
        account: &AccountId,
        version: u32,
    ) -> Result<(), StoreError> {
        self.lock().entry(keys::pk(account)).or_default().schema = Some(version);
        Ok(())
    }

    async fn acquire_lease(
        &self,
        account: &AccountId,
        owner: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<LeaseOutcome, StoreError> {
        let mut parts = self.lock();
        let state = parts
            .entry(keys::pk(account))
            .or_default()
            .state
            .get_or_insert_with(SyncState::default);
        match (&state.lease_owner, state.lease_expires_at) {
            (Some(holder), Some(until)) if holder != owner && until >= now => {
                Ok(LeaseOutcome::Held {
                    owner: holder.clone(),
                    expires_at: until,
                })
            }
            _ => {
                state.lease_owner = Some(owner.to_owned());
                state.lease_expires_at = Some(expires_at);
                state.last_attempt_at = Some(now);
                state.version = state.version.saturating_add(1);
                Ok(LeaseOutcome::Acquired)
            }
        }
    }

    async fn finish_run(
        &self,
        account: &AccountId,
        owner: &str,
        state: &SyncState,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let (run_id, started_at) = keys::run_identity(state, summary)?;
        let run_sk = keys::run_sk(started_at, &run_id);
        let mut parts = self.lock();
        let part = parts.entry(keys::pk(account)).or_default();
        let stored = part.state.get_or_insert_with(SyncState::default);
        if stored.lease_owner.as_deref() != Some(owner) {
            if part.runs.contains_key(&run_sk) {
                return Ok(()); // a replay of a finish that already happened
            }
            return Err(StoreError::Rejected(format!(
                "finish_run: lease of {owner} is no longer held (holder now: {:?}); outcome not recorded",
                stored.lease_owner
            )));
        }
        if part.runs.contains_key(&run_sk) {
            return Err(StoreError::Rejected(format!(
                "finish_run: run item {run_sk} already exists"
            )));
        }
        *stored = SyncState {
            lease_owner: None,
            lease_expires_at: None,
            version: stored.version.saturating_add(1),
            // Owned by save_alert_state, never by a run's outcome.
            alerted: std::mem::take(&mut stored.alerted),
            last_security_check_at: stored.last_security_check_at,
            ..state.clone()
        };
        part.runs.insert(run_sk, summary.clone());
        Ok(())
    }

    async fn state(&self, account: &AccountId) -> Result<SyncState, StoreError> {
        let parts = self.lock();
        Ok(parts
            .get(&keys::pk(account))
            .and_then(|p| p.state.clone())
            .unwrap_or_default())
    }

    async fn save_alert_state(
        &self,
        account: &AccountId,
        alerted: &BTreeMap<String, Millis>,
        last_security_check_at: Option<Millis>,
    ) -> Result<(), StoreError> {
        let mut parts = self.lock();
        let part = parts.entry(keys::pk(account)).or_default();
        let stored = part.state.get_or_insert_with(SyncState::default);
        stored.alerted = alerted.clone();
        stored.last_security_check_at = last_security_check_at;
        stored.version = stored.version.saturating_add(1);
        Ok(())
    }

    async fn apply(
        &self,
        account: &AccountId,
        run_id: &str,
        now: Millis,
        corrections: &[Correction],
    ) -> Result<ApplyOutcome, StoreError> {
        keys::check_corrections(corrections)?;
        let mut parts = self.lock();
        let part = parts.entry(keys::pk(account)).or_default();
        let mut outcome = ApplyOutcome::default();
        for (seq, c) in corrections.iter().enumerate() {
            let target_sk = keys::record_sk(&c.after);
            let after_version = keys::record_version(&c.after);
            let audit_sk = keys::audit_sk(now, run_id, seq);
            if let Some(existing) = part.audit.get(&audit_sk) {
                if existing.target_sk == target_sk && existing.after_version == after_version {
                    outcome.applied.push(c.clone()); // written by an earlier attempt of this run
                    continue;
                }
                return Err(StoreError::Rejected(format!(
                    "audit key {audit_sk} already records a different correction (run id reused with the same time?)"
                )));
            }
            let current = part.records.get(&target_sk);
            let holds = match (c.expect, current) {
                (Expect::Absent, None) => true,
                (Expect::Version(v), Some(r)) => keys::record_version(r) == v,
                _ => false,
            };
            if !holds {
                outcome.conflicts.push(Conflict {
                    correction: c.clone(),
                    current: current.cloned(),
                });
                continue;
            }
            part.records.insert(target_sk.clone(), c.after.clone());
            part.audit.insert(
                audit_sk,
                StoredAudit {
                    entry: AuditEntry {
                        run_id: run_id.to_owned(),
                        at: now,
                        correction: c.clone(),
                        source: keys::AUDIT_SOURCE.to_owned(),
                    },
                    target_sk,
                    after_version,
                },
            );
            outcome.applied.push(c.clone());
        }
        Ok(outcome)
    }

    async fn audit_since(
        &self,
        account: &AccountId,
        since: Millis,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let parts = self.lock();
        let Some(part) = parts.get(&keys::pk(account)) else {
            return Ok(Vec::new());
        };
        let from = keys::audit_from(since);
        Ok(part
            .audit
            .range(from..keys::AUDIT_END.to_owned())
            .map(|(_, a)| a.entry.clone())
            .collect())
    }
}
