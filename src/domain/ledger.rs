//! Balance moves that are not trades: deposits, withdrawals, conversions, distributions,
//! wallet transfers, transfers with the master or a sibling sub-account. The exchange adapter reads each kind from its own endpoint and
//! gives a [`Flow`]; the sync keeps one [`LedgerRecord`] per flow (unique by kind and the
//! exchange's own id), follows it to a terminal status, and the balance bridge
//! (`core::ledger`) counts what each flow moved in the Spot wallet.

use super::exchange::Millis;
use super::ids::Asset;
use super::records::Writer;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One kind of balance move, read from one endpoint. Stable names: record keys, report
/// fields and metric dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    Deposit,
    Withdrawal,
    /// A Convert trade (not a fill: `myTrades` never shows it).
    Convert,
    /// Small balances converted to BNB.
    DustConversion,
    /// An airdrop or other distribution.
    Distribution,
    /// Spot to Simple Earn (flexible).
    EarnSubscription,
    /// Simple Earn (flexible) back to a wallet.
    EarnRedemption,
    /// Interest paid by Simple Earn.
    EarnReward,
    /// A transfer between the account's own wallets (Spot, Funding, futures).
    Transfer,
    /// A transfer between this (sub-)account and its master or a sibling sub-account.
    SubAccountTransfer,
}

impl FlowKind {
    pub const ALL: [FlowKind; 10] = [
        Self::Deposit,
        Self::Withdrawal,
        Self::Convert,
        Self::DustConversion,
        Self::Distribution,
        Self::EarnSubscription,
        Self::EarnRedemption,
        Self::EarnReward,
        Self::Transfer,
        Self::SubAccountTransfer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deposit => "deposit",
            Self::Withdrawal => "withdrawal",
            Self::Convert => "convert",
            Self::DustConversion => "dust_conversion",
            Self::Distribution => "distribution",
            Self::EarnSubscription => "earn_subscription",
            Self::EarnRedemption => "earn_redemption",
            Self::EarnReward => "earn_reward",
            Self::Transfer => "transfer",
            Self::SubAccountTransfer => "sub_account_transfer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for FlowKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The wallet a leg of a flow moved. Only Spot is what the account's balances are; a
/// flow into Funding changes no Spot balance and is reported as such.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wallet {
    Spot,
    Funding,
    /// USD-M futures.
    UsdmFutures,
    /// Simple Earn.
    Earn,
    /// A wallet the sync does not follow (margin, COIN-M, options...).
    Other,
}

/// Where a flow stands in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowStatus {
    /// Not final yet. The docs list the statuses but not when the balance moves within
    /// them (a withdrawal "processing" may be debited already): the bridge tries both.
    Pending,
    /// Final, and the balances moved.
    Done,
    /// Final, and the balances did not move (cancelled, rejected, failed) or moved back.
    Failed,
}

impl FlowStatus {
    pub fn is_terminal(self) -> bool {
        self != Self::Pending
    }
}

/// What a leg's amount is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegRole {
    Principal,
    /// A fee the docs do not say is inside or outside the principal (a withdrawal's
    /// `transactionFee`): the bridge tries both readings.
    Fee,
    /// A Spot balance that may or may not mirror a move in another wallet (an Earn
    /// position listed in Spot as `LD<asset>`): the bridge tries both readings.
    Mirror,
}

/// One asset's signed move in one wallet (credit +, debit −).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowLeg {
    pub asset: Asset,
    pub wallet: Wallet,
    pub amount: Decimal,
    pub role: LegRole,
}

/// A balance move as the exchange reports it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub kind: FlowKind,
    /// The exchange's own id, unique within the kind.
    pub id: String,
    /// When the flow was created (never changes over its lifecycle): the record's key and
    /// what reads by time select on.
    pub time: Millis,
    pub status: FlowStatus,
    /// The exchange's own status, as text (`"6"`, `"SUCCESS"`), kept for the reader.
    pub exchange_status: String,
    /// When it became final, where the exchange says.
    pub completed_at: Option<Millis>,
    /// Its moves once `Done`.
    pub legs: Vec<FlowLeg>,
    /// Its times are whole seconds (the exchange gives no milliseconds): compared with the
    /// sync's millisecond clock at that precision.
    #[serde(default)]
    pub whole_seconds: bool,
}

impl Flow {
    pub fn key(&self) -> FlowKey {
        (self.time, self.kind, self.id.clone())
    }
    /// When its effect took place, as best known: completion, else creation.
    pub fn effective_at(&self) -> Millis {
        self.completed_at.unwrap_or(self.time)
    }
}

/// A flow's identity among `Records::ledger`: creation time, kind, the exchange's id.
pub type FlowKey = (Millis, FlowKind, String);

/// The sync's record of one flow (`LEDGER#<time>#<kind>#<id>`): never deleted, updated as
/// its status moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRecord {
    pub kind: FlowKind,
    pub id: String,
    pub time: Millis,
    pub status: FlowStatus,
    pub exchange_status: String,
    pub completed_at: Option<Millis>,
    pub legs: Vec<FlowLeg>,
    /// Still pending when the sync stopped following it (open past the follow limit, or
    /// older than its endpoint's history): its outcome is not verified.
    #[serde(default)]
    pub unverifiable: bool,
    pub version: u64,
    pub updated_at: Millis,
    pub updated_by: Writer,
}

impl LedgerRecord {
    /// The record of `flow` as the sync writes it.
    pub fn of(flow: &Flow, unverifiable: bool, version: u64, now: Millis) -> Self {
        Self {
            kind: flow.kind,
            id: flow.id.clone(),
            time: flow.time,
            status: flow.status,
            exchange_status: flow.exchange_status.clone(),
            completed_at: flow.completed_at,
            legs: flow.legs.clone(),
            unverifiable,
            version,
            updated_at: now,
            updated_by: Writer::Sync,
        }
    }

    pub fn key(&self) -> FlowKey {
        (self.time, self.kind, self.id.clone())
    }
}

/// One kind's read this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowRead {
    pub kind: FlowKind,
    /// Every flow of the kind created at or after `since`, oldest first.
    pub flows: Vec<Flow>,
    pub since: Millis,
}
