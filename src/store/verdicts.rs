//! The trust port: the verdicts the bot reads, the account's "verified through", the
//! operators' acknowledgements, and the trust log (their audit records). A port of its
//! own beside [`crate::store::Store`]: DynamoDB (`dynamo::verdicts`) and in-memory
//! (`memory_verdicts`) adapters. Items (sync-owned but for `TRUST#ACK#`, written by the
//! `discrepancies ack` command; `docs/data-model.md`):
//!
//! - `TRUST#VERDICT#<SYMBOL>` — one symbol's verdict, rewritten only when it changes,
//!   conditional on the version read, in one transaction with its `TRUSTLOG#` record;
//! - `TRUST#ACCOUNT` — `verified_through`, the counts, the open unexplained amounts;
//!   written every run, conditional on the version read;
//! - `TRUST#ACK#<ASSET>#<amount>` — an acknowledged unexplained amount (never replaced);
//! - `TRUSTLOG#<at:013>#<actor>#<target sk>` — one per verdict change or acknowledgement, kept
//!   forever, outside the `TRUST#` range so the run's read of its trust items stays
//!   bounded by the account's symbols and assets.

use crate::core::verdict::{Ack, Heartbeat, Reason, Trust, UnexplainedAmount};
use crate::domain::{AccountId, Asset, Expect, Millis, SkippedItem, Symbol};
use crate::store::StoreError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;

pub const TRUST_PREFIX: &str = "TRUST#";
pub const VERDICT_PREFIX: &str = "TRUST#VERDICT#";
pub const TRUST_ACCOUNT_SK: &str = "TRUST#ACCOUNT";
pub const ACK_PREFIX: &str = "TRUST#ACK#";
pub const TRUST_LOG_PREFIX: &str = "TRUSTLOG#";
/// Upper bound of the trust log range (`~` sorts after every digit).
pub const TRUST_LOG_END: &str = "TRUSTLOG#~";
/// The bot's heartbeat (written by the bot, read by the verdict step).
pub const BOT_HEARTBEAT_SK: &str = "BOT#HEARTBEAT";

pub mod entity {
    pub const VERDICT: &str = "verdict";
    pub const TRUST_ACCOUNT: &str = "trust_account";
    pub const ACK: &str = "ack";
    pub const TRUST_LOG: &str = "trust_log";
}

pub fn verdict_sk(symbol: &Symbol) -> String {
    format!("{VERDICT_PREFIX}{symbol}")
}

/// The amount in its canonical text (`0.0010` and `0.001` are one key).
pub fn ack_sk(asset: &Asset, amount: Decimal) -> String {
    format!("{ACK_PREFIX}{asset}#{}", amount.normalize())
}

/// The log record of `entry`: its time, who wrote, what (deterministic, so a retried
/// write finds its record).
pub fn trust_log_sk(entry: &TrustLogEntry) -> String {
    format!(
        "{TRUST_LOG_PREFIX}{}#{}#{}",
        crate::store::keys::millis13(entry.at),
        entry.actor,
        entry.target
    )
}

pub fn trust_log_from(since: Millis) -> String {
    format!("{TRUST_LOG_PREFIX}{}", crate::store::keys::millis13(since))
}

/// A verdict as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredVerdict {
    pub symbol: Symbol,
    pub trust: Trust,
    pub reasons: Vec<Reason>,
    /// Base and quote, when known (so later runs need not read the symbol cache).
    pub base: Option<Asset>,
    pub quote: Option<Asset>,
    /// When the verdict took this value (the run's start).
    pub since: Millis,
    /// The run that wrote it.
    pub run_id: String,
    pub version: u64,
    pub updated_at: Millis,
}

/// The account's trust summary, written every run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountTrust {
    /// Every symbol's records are known right for fills before this time (ms); None
    /// until every symbol was once trusted together.
    pub verified_through: Option<Millis>,
    pub trusted: u32,
    pub untrusted: u32,
    /// Unexplained amounts not acknowledged yet.
    pub unexplained: Vec<UnexplainedAmount>,
    /// The run that wrote it and its outcome (`complete`, `partial`, `failed: <kind>`).
    pub run_id: String,
    pub outcome: String,
    pub version: u64,
    pub updated_at: Millis,
}

/// What the log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustLogKind {
    VerdictChanged,
    Acknowledged,
}

impl TrustLogKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerdictChanged => "verdict_changed",
            Self::Acknowledged => "acknowledged",
        }
    }
}

/// One trust log record (the audit record of a verdict change or an acknowledgement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustLogEntry {
    pub at: Millis,
    pub kind: TrustLogKind,
    /// The run id, or `operator:<name>` for an acknowledgement.
    pub actor: String,
    /// The sort key of the item written.
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: serde_json::Value,
}

/// The account's trust items (a run reads them once).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrustItems {
    pub verdicts: BTreeMap<Symbol, StoredVerdict>,
    pub account: Option<AccountTrust>,
    pub acks: Vec<Ack>,
    /// Items that do not decode (skipped, reported).
    pub skipped: Vec<SkippedItem>,
    /// The versions of the sync-owned items that do not decode, by sort key: the next
    /// write replaces them conditionally instead of failing on them forever.
    pub undecoded_versions: BTreeMap<String, u64>,
}

/// What an acknowledgement write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    Written,
    /// That asset and amount were acknowledged before: nothing written.
    AlreadyAcknowledged,
}

/// The trust items of one account.
pub trait VerdictStore: Send + Sync {
    /// Every `TRUST#` item of the account (verdicts, the account summary, the acks).
    fn load_trust(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<TrustItems, StoreError>> + Send;

    /// Write one verdict conditional on `expect` (the version read, or absent), in one
    /// transaction with its log record. `Ok(false)`: the condition failed (the item
    /// changed since it was read), nothing written.
    fn write_verdict(
        &self,
        account: &AccountId,
        verdict: &StoredVerdict,
        expect: Expect,
        log: &TrustLogEntry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Write the account summary conditional on `expect`. `Ok(false)`: it changed since.
    fn save_account_trust(
        &self,
        account: &AccountId,
        trust: &AccountTrust,
        expect: Expect,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Record an acknowledgement (if absent) with its log record, in one transaction.
    fn put_ack(
        &self,
        account: &AccountId,
        ack: &Ack,
        log: &TrustLogEntry,
    ) -> impl Future<Output = Result<AckOutcome, StoreError>> + Send;

    /// Trust log records at or after `since`, oldest first.
    fn trust_log_since(
        &self,
        account: &AccountId,
        since: Millis,
    ) -> impl Future<Output = Result<Vec<TrustLogEntry>, StoreError>> + Send;

    /// The bot's heartbeat, if it writes one (an item that does not decode counts as
    /// none and is logged: a bot's mistake must not stop the verdicts).
    fn bot_heartbeat(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Option<Heartbeat>, StoreError>> + Send;

    /// Run summaries (`RUN#` items) of runs started at or after `since`, oldest first.
    fn runs_since(
        &self,
        account: &AccountId,
        since: Millis,
    ) -> impl Future<Output = Result<Vec<serde_json::Value>, StoreError>> + Send;
}
