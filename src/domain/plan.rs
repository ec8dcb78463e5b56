//! The output of the pure core: the corrections to apply, and the discrepancies found.
//! The store applies a `Plan` with conditional writes; the report is built from it.

use super::ids::{Asset, Symbol};
use super::ledger::{FlowKind, LedgerRecord};
use super::records::{
    BalanceRecord, CursorRecord, DustRecord, OrderRecord, PositionRecord, TradeRecord,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which family of rule produced a correction. Stable names: they are report fields
/// and metric names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionKind {
    BalanceCorrected,
    PositionRecovered,
    PositionClosed,
    PositionAdjusted,
    /// A closed position copied to its history item before a new one opens on its symbol.
    PositionArchived,
    DustRecorded,
    OrderUpdated,
    OrderRecorded,
    TradeRecovered,
    /// The realized P&L of a sell the sync recovered, set once its basis was rebuilt.
    TradePnlSet,
    /// The fee in quote of a trade the sync inserted with its fee unpriced, set once the
    /// price at the fill's minute is known (`fee_unpriced` cleared).
    TradeFeePriced,
    CursorAdvanced,
    /// A balance move the ledger had not recorded yet.
    FlowRecorded,
    /// A recorded flow whose status moved (or that the sync stopped following).
    FlowUpdated,
}

impl CorrectionKind {
    /// The stable name (report field, metric suffix).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BalanceCorrected => "balance_corrected",
            Self::PositionRecovered => "position_recovered",
            Self::PositionClosed => "position_closed",
            Self::PositionAdjusted => "position_adjusted",
            Self::PositionArchived => "position_archived",
            Self::DustRecorded => "dust_recorded",
            Self::OrderUpdated => "order_updated",
            Self::OrderRecorded => "order_recorded",
            Self::TradeRecovered => "trade_recovered",
            Self::TradePnlSet => "trade_pnl_set",
            Self::TradeFeePriced => "trade_fee_priced",
            Self::CursorAdvanced => "cursor_advanced",
            Self::FlowRecorded => "flow_recorded",
            Self::FlowUpdated => "flow_updated",
        }
    }
}

/// A record the sync wants to exist after the run.
// The checkpoint is the largest variant by far; records are planned and written a unit's
// page at a time (bounded), so boxing it would change every match for no memory that
// matters.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Balance(BalanceRecord),
    Position(PositionRecord),
    /// A past round trip, kept at its own key (`POSHIST#<SYMBOL>#<opened_at>`).
    PositionHistory(PositionRecord),
    Dust(DustRecord),
    Order(OrderRecord),
    Trade(TradeRecord),
    Cursor(CursorRecord),
    /// One flow of the ledger (`LEDGER#<time>#<kind>#<id>`).
    Ledger(LedgerRecord),
}

/// What a write may assume about the item it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// The item must not exist yet (`attribute_not_exists`).
    Absent,
    /// The item must still be at this version (it was read at it).
    Version(u64),
}

/// One correction: the new record, what it replaces, and why. Applied together with its
/// audit record in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub kind: CorrectionKind,
    pub expect: Expect,
    /// The record as read (None when absent).
    pub before: Option<Record>,
    /// The record to write. Its `version` is the expected version + 1 (or 1 when absent).
    pub after: Record,
    /// Human-readable reason, also the audit record's reason.
    pub reason: String,
}

/// Severity of a discrepancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// A difference worth a human's attention (beyond tolerance, unexplained, or unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discrepancy {
    /// Stable fingerprint used for alert de-duplication, e.g. `balance:USDT`.
    pub key: String,
    pub kind: String,
    pub severity: Severity,
    pub symbol: Option<Symbol>,
    pub asset: Option<Asset>,
    pub before: Option<String>,
    pub after: Option<String>,
    /// Relative difference in percent, when meaningful.
    pub diff_pct: Option<Decimal>,
    pub message: String,
}

/// What explains a balance change (exchange − DB): recovered fills, their fees, and each
/// kind of flow the ledger counted this run; `unexplained` is the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceExplanation {
    pub asset: Asset,
    pub db_total: Decimal,
    pub exchange_total: Decimal,
    pub from_trades: Decimal,
    pub from_fees: Decimal,
    /// Each kind of flow's part (deposits +, withdrawals −, ...), only the kinds that
    /// moved the asset.
    pub from_flows: BTreeMap<FlowKind, Decimal>,
    pub unexplained: Decimal,
}

impl BalanceExplanation {
    /// One kind of flow's part (0 when it moved nothing).
    pub fn flow(&self, kind: FlowKind) -> Decimal {
        self.from_flows.get(&kind).copied().unwrap_or_default()
    }
}

/// The complete output of `core::reconcile`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub corrections: Vec<Correction>,
    pub discrepancies: Vec<Discrepancy>,
    pub explanations: Vec<BalanceExplanation>,
    /// Log lines in the origin document's wording ("New position found on exchange: ...").
    pub notes: Vec<String>,
}
