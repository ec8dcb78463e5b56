//! What the bot's database says: the records the sync reads and corrects. These are the
//! items of the shared DynamoDB table (see `docs/data-model.md`) without their keys; the
//! store adapter adds the keys. Every record carries the `version` it was read at: the
//! sync's write is conditional on it, so a bot write in between always wins.

use super::exchange::{Millis, OrderStatus, Side};
use super::ids::{Asset, Symbol};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Who wrote a record last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Writer {
    Bot,
    Sync,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceRecord {
    pub asset: Asset,
    pub free: Decimal,
    pub locked: Decimal,
    pub version: u64,
    pub updated_at: Millis,
    pub updated_by: Writer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PositionStatus {
    Open,
    Closed,
}

/// A spot position: a holding of `base` against `quote` at or above the symbol's minimum size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionRecord {
    pub symbol: Symbol,
    pub base: Asset,
    pub quote: Asset,
    /// Always "long" on spot; kept as a field for the bot's schema.
    pub side: String,
    pub status: PositionStatus,
    pub quantity: Decimal,
    /// Average cost of the open quantity, in quote per base.
    pub entry_price: Decimal,
    pub exit_price: Option<Decimal>,
    /// Realized P&L in the quote asset (average-cost method, fees included).
    pub realized_pnl: Decimal,
    pub opened_at: Millis,
    pub closed_at: Option<Millis>,
    /// True when the sync created it from the exchange (the bot never recorded it).
    pub recovered: bool,
    pub version: u64,
    pub updated_at: Millis,
    pub updated_by: Writer,
}

/// A holding below the symbol's minimum tradable size: recorded, never a position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DustRecord {
    pub asset: Asset,
    pub quantity: Decimal,
    pub version: u64,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderOrigin {
    Bot,
    /// Placed by hand or by another program (client order id without the bot's prefix).
    External,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub symbol: Symbol,
    pub order_id: u64,
    pub client_order_id: String,
    pub side: Side,
    pub order_type: String,
    pub price: Decimal,
    pub orig_qty: Decimal,
    pub executed_qty: Decimal,
    pub avg_price: Option<Decimal>,
    pub status: OrderStatus,
    pub origin: OrderOrigin,
    /// Consecutive runs in which the exchange said "Order does not exist".
    pub unknown_runs: u32,
    pub created_at: Millis,
    pub version: u64,
    pub updated_at: Millis,
    pub updated_by: Writer,
}

/// A fill as the bot records it. Unique by (symbol, trade_id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRecord {
    pub symbol: Symbol,
    pub trade_id: u64,
    pub order_id: u64,
    pub side: Side,
    pub price: Decimal,
    pub qty: Decimal,
    pub quote_qty: Decimal,
    pub commission: Decimal,
    pub commission_asset: Asset,
    /// The commission converted to the symbol's quote asset at the fill's time.
    pub commission_quote: Decimal,
    /// Realized P&L of a sell (average cost), in the quote asset; None for buys.
    pub realized_pnl: Option<Decimal>,
    pub time: Millis,
    pub is_maker: bool,
    /// True when the sync inserted it.
    pub recovered: bool,
    pub version: u64,
}

/// How far the sync has read a symbol's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorRecord {
    pub symbol: Symbol,
    /// Highest trade id recorded; the next read starts at `last_trade_id + 1`.
    pub last_trade_id: Option<u64>,
    /// Highest order id seen for the symbol.
    pub last_order_id: Option<u64>,
    pub version: u64,
    pub updated_at: Millis,
}

/// One sync per account: the lease, the last outcome, and what the cheap
/// "nothing could have changed" test needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<Millis>,
    pub last_run_id: Option<String>,
    pub last_success_at: Option<Millis>,
    pub last_attempt_at: Option<Millis>,
    pub last_error: Option<String>,
    /// `account.updateTime` seen by the last complete run.
    pub last_account_update_time: Option<Millis>,
    /// Fingerprints of discrepancies already alerted, with when (alert de-duplication).
    pub alerted: BTreeMap<String, Millis>,
    /// When the API key's restrictions were last checked.
    pub last_security_check_at: Option<Millis>,
    pub version: u64,
}

/// Everything the sync read from the store for one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Records {
    pub balances: BTreeMap<Asset, BalanceRecord>,
    pub positions: BTreeMap<Symbol, PositionRecord>,
    pub dust: BTreeMap<Asset, DustRecord>,
    pub orders: BTreeMap<(Symbol, u64), OrderRecord>,
    pub trades: BTreeMap<(Symbol, u64), TradeRecord>,
    pub cursors: BTreeMap<Symbol, CursorRecord>,
    pub state: SyncState,
}
