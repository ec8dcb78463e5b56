//! In-memory adapters of the fleet's ports ([`Registry`], [`WeightLedger`]), with the
//! DynamoDB adapters' semantics: a reservation is atomic (one lock), never passes the
//! share, a raise never lowers a count. Test hooks store items the CLI could not write
//! (`put_raw`) and read the largest count of any minute (`max_used`).

use crate::domain::{AccountId, Millis};
use crate::fleet::ledger::{LedgerKey, Reservation};
use crate::fleet::{AccountEntry, Field, RawAccount};
use crate::store::registry::{raw_of, Registry};
use crate::store::weight::{LedgerFuture, WeightLedger};
use crate::store::StoreError;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Debug, Default)]
pub struct MemoryRegistry {
    items: Mutex<BTreeMap<String, RawAccount>>,
}

impl MemoryRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Store an item as it is (test hook: a malformed item written by hand).
    pub fn put_raw(&self, raw: RawAccount) {
        lock(&self.items).insert(raw.account.clone(), raw);
    }
}

impl Registry for MemoryRegistry {
    async fn put_account(&self, entry: &AccountEntry) -> Result<(), StoreError> {
        self.put_raw(raw_of(entry));
        Ok(())
    }

    async fn raw_account(&self, account: &AccountId) -> Result<Option<RawAccount>, StoreError> {
        Ok(lock(&self.items).get(account.as_str()).cloned())
    }

    async fn raw_accounts(&self) -> Result<Vec<RawAccount>, StoreError> {
        Ok(lock(&self.items).values().cloned().collect())
    }

    async fn set_enabled(
        &self,
        account: &AccountId,
        enabled: bool,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let mut items = lock(&self.items);
        match items.get_mut(account.as_str()) {
            None => Ok(false),
            Some(raw) => {
                raw.enabled = Field::Present(enabled);
                raw.updated_at = Field::Present(now.to_string());
                Ok(true)
            }
        }
    }
}

#[derive(Debug, Default)]
pub struct MemoryLedger {
    minutes: Mutex<BTreeMap<(LedgerKey, i64), u64>>,
    bans: Mutex<BTreeMap<LedgerKey, Millis>>,
}

impl MemoryLedger {
    pub fn new() -> Self {
        Self::default()
    }

    /// The largest count any minute of `key` reached.
    pub fn max_used(&self, key: &LedgerKey) -> u64 {
        lock(&self.minutes)
            .iter()
            .filter(|((k, _), _)| k == key)
            .map(|(_, used)| *used)
            .max()
            .unwrap_or(0)
    }
}

impl WeightLedger for MemoryLedger {
    fn reserve(
        &self,
        key: &LedgerKey,
        minute: i64,
        weight: u64,
        share: u64,
    ) -> LedgerFuture<'_, Reservation> {
        let mut minutes = lock(&self.minutes);
        let used = minutes.entry((key.clone(), minute)).or_insert(0);
        let answer = if *used + weight <= share {
            *used += weight;
            Reservation::Granted { used: *used }
        } else {
            Reservation::Full { used: *used }
        };
        Box::pin(async move { Ok(answer) })
    }

    fn raise(&self, key: &LedgerKey, minute: i64, used: u64) -> LedgerFuture<'_, ()> {
        let mut minutes = lock(&self.minutes);
        let current = minutes.entry((key.clone(), minute)).or_insert(0);
        *current = (*current).max(used);
        Box::pin(async { Ok(()) })
    }

    fn banned_until(&self, key: &LedgerKey) -> LedgerFuture<'_, Option<Millis>> {
        let until = lock(&self.bans).get(key).copied();
        Box::pin(async move { Ok(until) })
    }

    fn record_ban(&self, key: &LedgerKey, until: Millis) -> LedgerFuture<'_, ()> {
        let mut bans = lock(&self.bans);
        let current = bans.entry(key.clone()).or_insert(until);
        *current = (*current).max(until);
        Box::pin(async { Ok(()) })
    }

    fn used(&self, key: &LedgerKey, minute: i64) -> LedgerFuture<'_, u64> {
        let used = lock(&self.minutes)
            .get(&(key.clone(), minute))
            .copied()
            .unwrap_or(0);
        Box::pin(async move { Ok(used) })
    }
}
