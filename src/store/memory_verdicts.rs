//! In-memory adapter of the [`VerdictStore`] port, with the DynamoDB adapter's
//! semantics: versioned conditional writes, each write with its log record, an
//! acknowledgement never replaced, nothing deleted.

use crate::core::verdict::{Ack, Heartbeat};
use crate::domain::{AccountId, Expect, Millis};
use crate::store::keys;
use crate::store::memory::MemoryStore;
use crate::store::verdicts::{
    ack_sk, trust_log_from, trust_log_sk, verdict_sk, AccountTrust, AckOutcome, StoredVerdict,
    TrustItems, TrustLogEntry, VerdictStore, TRUST_LOG_END,
};
use crate::store::StoreError;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Default, Clone)]
struct TrustPartition {
    verdicts: BTreeMap<String, StoredVerdict>,
    account: Option<AccountTrust>,
    acks: BTreeMap<String, Ack>,
    log: BTreeMap<String, TrustLogEntry>,
    heartbeat: Option<Heartbeat>,
}

/// The trust items of every account (a field of [`MemoryStore`]).
#[derive(Debug, Default)]
pub struct TrustTables {
    partitions: Mutex<BTreeMap<String, TrustPartition>>,
}

impl TrustTables {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, TrustPartition>> {
        self.partitions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn holds(expect: Expect, current: Option<u64>) -> bool {
    match (expect, current) {
        (Expect::Absent, None) => true,
        (Expect::Version(v), Some(c)) => v == c,
        _ => false,
    }
}

impl MemoryStore {
    /// Play the bot: write its heartbeat (test hook).
    pub fn put_bot_heartbeat(&self, account: &AccountId, heartbeat: Heartbeat) {
        self.trust
            .lock()
            .entry(keys::pk(account))
            .or_default()
            .heartbeat = Some(heartbeat);
    }
}

impl VerdictStore for MemoryStore {
    async fn bot_heartbeat(&self, account: &AccountId) -> Result<Option<Heartbeat>, StoreError> {
        Ok(self
            .trust
            .lock()
            .get(&keys::pk(account))
            .and_then(|p| p.heartbeat))
    }

    async fn load_trust(&self, account: &AccountId) -> Result<TrustItems, StoreError> {
        let parts = self.trust.lock();
        let Some(p) = parts.get(&keys::pk(account)) else {
            return Ok(TrustItems::default());
        };
        Ok(TrustItems {
            verdicts: p
                .verdicts
                .values()
                .map(|v| (v.symbol.clone(), v.clone()))
                .collect(),
            account: p.account.clone(),
            acks: p.acks.values().cloned().collect(),
            skipped: Vec::new(),
            undecoded_versions: BTreeMap::new(),
        })
    }

    async fn write_verdict(
        &self,
        account: &AccountId,
        verdict: &StoredVerdict,
        expect: Expect,
        log: &TrustLogEntry,
    ) -> Result<bool, StoreError> {
        let key = trust_log_sk(log);
        let mut parts = self.trust.lock();
        let p = parts.entry(keys::pk(account)).or_default();
        let sk = verdict_sk(&verdict.symbol);
        if !holds(expect, p.verdicts.get(&sk).map(|v| v.version)) {
            // A retry of a write that happened finds its log record (as on DynamoDB).
            return Ok(p.log.contains_key(&key));
        }
        p.verdicts.insert(sk, verdict.clone());
        p.log.insert(key, log.clone());
        Ok(true)
    }

    async fn save_account_trust(
        &self,
        account: &AccountId,
        trust: &AccountTrust,
        expect: Expect,
    ) -> Result<bool, StoreError> {
        let mut parts = self.trust.lock();
        let p = parts.entry(keys::pk(account)).or_default();
        if !holds(expect, p.account.as_ref().map(|a| a.version)) {
            return Ok(false);
        }
        p.account = Some(trust.clone());
        Ok(true)
    }

    async fn put_ack(
        &self,
        account: &AccountId,
        ack: &Ack,
        log: &TrustLogEntry,
    ) -> Result<AckOutcome, StoreError> {
        let key = trust_log_sk(log);
        let mut parts = self.trust.lock();
        let p = parts.entry(keys::pk(account)).or_default();
        let sk = ack_sk(&ack.asset, ack.amount);
        if p.acks.contains_key(&sk) {
            return Ok(AckOutcome::AlreadyAcknowledged);
        }
        p.acks.insert(sk, ack.clone());
        p.log.insert(key, log.clone());
        Ok(AckOutcome::Written)
    }

    async fn trust_log_since(
        &self,
        account: &AccountId,
        since: Millis,
    ) -> Result<Vec<TrustLogEntry>, StoreError> {
        let parts = self.trust.lock();
        Ok(parts.get(&keys::pk(account)).map_or_else(Vec::new, |p| {
            p.log
                .range(trust_log_from(since)..TRUST_LOG_END.to_owned())
                .map(|(_, e)| e.clone())
                .collect()
        }))
    }

    async fn runs_since(
        &self,
        account: &AccountId,
        since: Millis,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let from = keys::run_sk(since, "");
        Ok(self
            .run_items(account)
            .into_iter()
            .filter(|(sk, _)| sk.as_str() >= from.as_str())
            .map(|(sk, summary)| with_started_at(summary, &sk))
            .collect())
    }
}

/// A run summary with its `started_at` (a failed run's summary lacks it; its key has it).
pub(crate) fn with_started_at(mut summary: serde_json::Value, run_sk: &str) -> serde_json::Value {
    let started = run_sk
        .strip_prefix(keys::RUN_PREFIX)
        .and_then(|rest| rest.split('#').next())
        .and_then(|t| t.parse::<Millis>().ok());
    if let (Some(obj), Some(at)) = (summary.as_object_mut(), started) {
        obj.entry("started_at").or_insert(at.into());
    }
    summary
}
