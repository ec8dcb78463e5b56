//! What the exchange says: the normalized, exchange-neutral view of an account that the
//! adapters in `crate::exchange` produce and the pure core in `crate::core` reads.
//! Money is `rust_decimal::Decimal` everywhere; times are epoch milliseconds.

use super::ids::{Asset, Symbol};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub type Millis = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

/// The start of the one-minute candle containing `t` (fee prices are keyed by it).
pub fn minute_start(t: Millis) -> Millis {
    t - t.rem_euclid(MINUTE_MS)
}

/// One minute, in milliseconds.
pub const MINUTE_MS: Millis = 60_000;

/// Order status. Unknown values are kept (`Other`) rather than rejected: Binance adds
/// statuses over time and a sync must not fail on them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum OrderStatus {
    New,
    PendingNew,
    PartiallyFilled,
    Filled,
    Canceled,
    PendingCancel,
    Rejected,
    Expired,
    ExpiredInMatch,
    /// The sync asked and the exchange said "Order does not exist" (not an exchange status).
    Unknown,
    Other(String),
}

impl OrderStatus {
    pub fn as_str(&self) -> &str {
        match self {
            Self::New => "NEW",
            Self::PendingNew => "PENDING_NEW",
            Self::PartiallyFilled => "PARTIALLY_FILLED",
            Self::Filled => "FILLED",
            Self::Canceled => "CANCELED",
            Self::PendingCancel => "PENDING_CANCEL",
            Self::Rejected => "REJECTED",
            Self::Expired => "EXPIRED",
            Self::ExpiredInMatch => "EXPIRED_IN_MATCH",
            Self::Unknown => "UNKNOWN",
            Self::Other(s) => s,
        }
    }
    /// Terminal: the order can never change again.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Filled | Self::Canceled | Self::Rejected | Self::Expired | Self::ExpiredInMatch
        )
    }
    /// Open: the order can still fill.
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            Self::New | Self::PendingNew | Self::PartiallyFilled | Self::PendingCancel
        )
    }
}

impl From<String> for OrderStatus {
    fn from(s: String) -> Self {
        match s.as_str() {
            "NEW" => Self::New,
            "PENDING_NEW" => Self::PendingNew,
            "PARTIALLY_FILLED" => Self::PartiallyFilled,
            "FILLED" => Self::Filled,
            "CANCELED" => Self::Canceled,
            "PENDING_CANCEL" => Self::PendingCancel,
            "REJECTED" => Self::Rejected,
            "EXPIRED" => Self::Expired,
            "EXPIRED_IN_MATCH" => Self::ExpiredInMatch,
            "UNKNOWN" => Self::Unknown,
            _ => Self::Other(s),
        }
    }
}
impl From<OrderStatus> for String {
    fn from(s: OrderStatus) -> String {
        s.as_str().to_owned()
    }
}

/// One asset's balance on the exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub asset: Asset,
    pub free: Decimal,
    pub locked: Decimal,
}

impl Balance {
    pub fn total(&self) -> Decimal {
        self.free + self.locked
    }
}

/// Trading rules of one symbol that the core needs (from `exchangeInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolInfo {
    pub symbol: Symbol,
    pub base: Asset,
    pub quote: Asset,
    /// LOT_SIZE minQty: below this a holding is dust.
    pub min_qty: Decimal,
    /// LOT_SIZE stepSize.
    pub step_size: Decimal,
    /// NOTIONAL / MIN_NOTIONAL minNotional (zero when the symbol has none).
    pub min_notional: Decimal,
    pub base_precision: u32,
    pub quote_precision: u32,
    /// Listed under a Smart Order Routing configuration (`exchangeInfo.sors`): SOR orders
    /// may fill it with allocations, which `myTrades` never shows. Left out of the cached
    /// JSON when false (the cache's item has a size budget).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sor: bool,
}

/// An order as the exchange reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeOrder {
    pub symbol: Symbol,
    pub order_id: u64,
    pub client_order_id: String,
    pub side: Side,
    /// LIMIT, MARKET, ... kept as text (unknown types are kept).
    pub order_type: String,
    pub price: Decimal,
    pub orig_qty: Decimal,
    pub executed_qty: Decimal,
    /// `cummulativeQuoteQty`; negative on some historical orders = not available.
    pub cumulative_quote_qty: Decimal,
    pub status: OrderStatus,
    pub time: Millis,
    pub update_time: Millis,
}

impl ExchangeOrder {
    /// Average fill price, when it can be known.
    pub fn avg_price(&self) -> Option<Decimal> {
        if self.executed_qty.is_zero() || self.cumulative_quote_qty.is_sign_negative() {
            None
        } else {
            // An absurd pair (beyond 28 digits) has no average rather than a panic.
            self.cumulative_quote_qty.checked_div(self.executed_qty)
        }
    }
}

/// The answer to "what happened to this order?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderLookup {
    Found(ExchangeOrder),
    /// `-2013 Order does not exist.`: unknown, not cancelled.
    NotFound,
    /// `-2026`: canceled or expired with zero fill more than 90 days ago.
    Archived,
}

/// One fill (a `myTrades` row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    pub symbol: Symbol,
    pub trade_id: u64,
    pub order_id: u64,
    pub side: Side,
    pub price: Decimal,
    pub qty: Decimal,
    pub quote_qty: Decimal,
    pub commission: Decimal,
    pub commission_asset: Asset,
    pub time: Millis,
    pub is_maker: bool,
}

/// The API key's permissions (`/sapi/v1/account/apiRestrictions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRestrictions {
    pub ip_restrict: bool,
    pub enable_withdrawals: bool,
    pub enable_reading: bool,
    pub enable_spot_and_margin_trading: bool,
}

/// One page of a symbol's orders, ascending by order id: every order with an id from
/// `from_order_id` up to the page's last (all of them when `complete`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPage {
    pub from_order_id: u64,
    pub orders: Vec<ExchangeOrder>,
    /// True when the page was not full: no order after it yet.
    pub complete: bool,
}

/// How the trade history of one symbol was read this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolHistory {
    /// Fills returned, ascending by trade id. All fills with id >= the cursor (or since
    /// the lookback start when there was no cursor).
    pub fills: Vec<Fill>,
    /// The trade id the read started at, when it read by id (`fromId`): every fill of
    /// the symbol from it on is in `fills` (up to the page's end). None for a read by time
    /// window (an emergency re-scan), which holds only the window's fills.
    #[serde(default)]
    pub from_id: Option<u64>,
    /// True when the read reached the end of the symbol's fills (the last page was not
    /// full); false when more pages remain.
    pub complete: bool,
    /// When the read was made (server time): the checkpoint covers fills up to this time
    /// less the history lag margin.
    pub read_at: Millis,
    /// The symbol's SOR allocations read with the fills (symbols under an SOR
    /// configuration only; None: not read).
    #[serde(default)]
    pub allocations: Option<AllocationsRead>,
}

/// One page of a symbol's SOR allocations (`myAllocations` by `fromAllocationId`), as
/// fills whose `trade_id` is the allocation id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationsRead {
    pub fills: Vec<Fill>,
    /// The allocation id the page starts at: every allocation from it on is in `fills`
    /// (up to the page's end).
    pub from_id: u64,
    /// The page was not full: no allocation after it yet.
    pub complete: bool,
}

/// Everything the sync read from the exchange in one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeSnapshot {
    /// Server time when the account was read.
    pub taken_at: Millis,
    /// The exchange's clock when the balances were read, as best known (the account
    /// request's server-time `timestamp`; 0: unknown, `taken_at` stands in): fills before
    /// it are in `balances`.
    #[serde(default)]
    pub balances_server_time: Millis,
    /// `account.updateTime` (not documented to move on every balance change: not relied on).
    pub account_update_time: Millis,
    /// Non-zero balances, by asset.
    pub balances: BTreeMap<Asset, Balance>,
    /// All open orders.
    pub open_orders: Vec<ExchangeOrder>,
    /// Trading rules of every symbol the run may touch.
    pub symbols: BTreeMap<Symbol, SymbolInfo>,
    /// Current prices, for valuing holdings and converting fees when no fill-time price is known.
    pub prices: BTreeMap<Symbol, Decimal>,
    /// `prices` holds only the prices read so far: a rule that needs a missing one asks for
    /// it (`SymbolPlan::needs_price`) rather than planning without it. False: every price
    /// that could be read is there, and a rule plans without the missing ones.
    pub prices_partial: bool,
    /// Fill-time prices used to convert fees paid in another asset: (symbol, minute start) -> close.
    pub fee_prices: BTreeMap<(Symbol, Millis), Decimal>,
    /// The (symbol, minute start) fee prices the exchange answered for without a candle
    /// (no price at that minute, or no such market): no later run will find one either.
    /// A minute whose request failed is in neither map.
    #[serde(default)]
    pub fee_prices_absent: BTreeSet<(Symbol, Millis)>,
    /// Trade history per symbol scanned this run (absent = not scanned).
    pub history: BTreeMap<Symbol, SymbolHistory>,
    /// Answers for orders the sync asked about, by (symbol, order id).
    pub order_lookups: BTreeMap<(Symbol, u64), OrderLookup>,
    /// The orders of fills whose origin the records lack, looked up on the exchange for
    /// bot-only positions (`core::attribution`), by (symbol, order id).
    #[serde(default)]
    pub fill_orders: BTreeMap<(Symbol, u64), OrderLookup>,
    /// One page of a symbol's order history (`allOrders` by order id), read by the unit
    /// that reads the symbol's last page of fills.
    #[serde(default)]
    pub order_pages: BTreeMap<Symbol, OrderPage>,
    /// The balance moves read this run, one read per kind (absent = not read).
    #[serde(default)]
    pub flows: Vec<super::ledger::FlowRead>,
    /// Symbols the exchange does not know (`-1121`): skipped, reported.
    pub unknown_symbols: BTreeSet<Symbol>,
    /// Whether `open_orders` was read this run (it is read only when a locked amount moved).
    pub open_orders_read: bool,
    /// The emergency scope this run works on (`EmergencyScope::requested_at`), if any,
    /// and the start of its lookback.
    pub emergency_requested_at: Option<Millis>,
    pub emergency_lookback_start: Option<Millis>,
}
