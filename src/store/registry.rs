//! The accounts registry port: one config item per account in the shared table
//! (`pk = REGISTRY`, `sk = ACCOUNT#<id>`, see `docs/data-model.md`). The adapters read
//! and write [`RawAccount`]s; parsing them into entries is `crate::fleet`'s, so both
//! adapters refuse exactly the same items.

use crate::domain::{AccountId, Millis};
use crate::fleet::{parse_entry, AccountEntry, InvalidAccount, Listing, RawAccount};
use crate::store::StoreError;
use std::future::Future;

/// The registry's partition key.
pub const REGISTRY_PK: &str = "REGISTRY";
/// The prefix of an account's item in the registry partition.
pub const REGISTRY_ACCOUNT_PREFIX: &str = "ACCOUNT#";
/// The `entity` attribute of a registry item.
pub const REGISTRY_ENTITY: &str = "registry_account";

pub fn registry_sk(account: &str) -> String {
    format!("{REGISTRY_ACCOUNT_PREFIX}{account}")
}

/// One account looked up by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(AccountEntry),
    Invalid(InvalidAccount),
    Missing,
}

/// The accounts a fleet deployment syncs.
pub trait Registry: Send + Sync {
    /// Create or replace an account's item (the CLI's `accounts add`).
    fn put_account(
        &self,
        entry: &AccountEntry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One item as stored (None: no such account).
    fn raw_account(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Option<RawAccount>, StoreError>> + Send;

    /// Every item of the registry (bounded by the number of accounts, paged).
    fn raw_accounts(&self) -> impl Future<Output = Result<Vec<RawAccount>, StoreError>> + Send;

    /// Enable or disable an account; false when it is not in the registry (nothing is
    /// created). Its records are kept either way.
    fn set_enabled(
        &self,
        account: &AccountId,
        enabled: bool,
        now: Millis,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// One account, parsed.
    fn lookup(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Lookup, StoreError>> + Send {
        async move {
            Ok(match self.raw_account(account).await? {
                None => Lookup::Missing,
                Some(raw) => match parse_entry(raw) {
                    Ok(entry) => Lookup::Found(entry),
                    Err(e) => Lookup::Invalid(e),
                },
            })
        }
    }

    /// Every account, parsed: the bad items beside the good ones.
    fn list(&self) -> impl Future<Output = Result<Listing, StoreError>> + Send {
        async move { Ok(Listing::from_raw(self.raw_accounts().await?)) }
    }
}

/// The raw form of an entry (what `put_account` stores), for the adapters.
pub fn raw_of(entry: &AccountEntry) -> RawAccount {
    use crate::fleet::Field;
    RawAccount {
        account: entry.account.as_str().to_owned(),
        secret: Field::Present(entry.secret.as_str().to_owned()),
        markets: Field::Present(
            entry
                .markets
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
        ),
        symbols: Field::Present(
            entry
                .symbols
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
        ),
        tolerance_pct: match entry.tolerance_pct {
            Some(t) => Field::Present(t.to_string()),
            None => Field::Absent,
        },
        enabled: Field::Present(entry.enabled),
        updated_at: Field::Present(entry.updated_at.to_string()),
    }
}
