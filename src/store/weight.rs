//! The shared weight ledger port (rules in `crate::fleet::ledger`): one item per key and
//! minute (`pk = WEIGHT#<key>`, `sk = MINUTE#<minute>`, attribute `used`), and one item
//! for a ban's end (`sk = BAN`). Every write is atomic on one item, so concurrent
//! invocations never take more than the share between them.
//!
//! Object-safe (boxed futures): the Binance client holds an `Arc<dyn WeightLedger>` and
//! need not know which adapter it is.

use crate::domain::Millis;
use crate::fleet::ledger::{LedgerKey, Reservation};
use crate::store::StoreError;
use std::future::Future;
use std::pin::Pin;

pub type LedgerFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

pub const WEIGHT_PREFIX: &str = "WEIGHT#";
pub const MINUTE_PREFIX: &str = "MINUTE#";
pub const BAN_SK: &str = "BAN";

pub fn weight_pk(key: &LedgerKey) -> String {
    format!("{WEIGHT_PREFIX}{key}")
}

pub fn minute_sk(minute: i64) -> String {
    format!("{MINUTE_PREFIX}{:013}", minute.max(0))
}

pub trait WeightLedger: Send + Sync {
    /// Add `weight` to the minute unless the sum would pass `share`.
    fn reserve(
        &self,
        key: &LedgerKey,
        minute: i64,
        weight: u64,
        share: u64,
    ) -> LedgerFuture<'_, Reservation>;

    /// The header said `used` in this minute: raise the count to it (never lowers it).
    fn raise(&self, key: &LedgerKey, minute: i64, used: u64) -> LedgerFuture<'_, ()>;

    /// The end of a ban recorded by any invocation (None: none recorded).
    fn banned_until(&self, key: &LedgerKey) -> LedgerFuture<'_, Option<Millis>>;

    /// Record a ban's end (kept when a later end is already recorded).
    fn record_ban(&self, key: &LedgerKey, until: Millis) -> LedgerFuture<'_, ()>;

    /// The count of one minute (0 when no item): dashboards and tests.
    fn used(&self, key: &LedgerKey, minute: i64) -> LedgerFuture<'_, u64>;
}
