//! What the bot's database says: the records the sync reads and corrects. These are the
//! items of the shared DynamoDB table (see `docs/data-model.md`) without their keys; the
//! store adapter adds the keys. Every record carries the `version` it was read at: the
//! sync's write is conditional on it, so a bot write in between always wins.

use super::exchange::{Millis, OrderStatus, Side};
use super::ids::{Asset, Symbol};
use super::ledger::FlowKind;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
    /// Set by the sync when it copies the exchange's balance: the exchange's time of that
    /// account read. The balance then holds every fill before it, so a fill recovered
    /// later from before it (one the history showed late) explains nothing of the
    /// records' difference (`core::trades`). A sync-owned attribute: None on the bot's
    /// writes and on items written before it existed.
    #[serde(default)]
    pub as_of: Option<Millis>,
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
    /// The known fills do not explain the whole holding: `entry_price` values the rest at
    /// `entry_rest_price` (when known) and is an estimate (`docs/pnl.md`).
    #[serde(default)]
    pub entry_partial: bool,
    /// The price the unexplained part of the holding is valued at in `entry_price`: the
    /// current price when the sync recovered the position, else the records' entry.
    #[serde(default)]
    pub entry_rest_price: Option<Decimal>,
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

/// Which of the exchange's id sequences a fill's id belongs to. A fill is unique by
/// (symbol, source, id): a Smart Order Routing allocation id is not a trade id, and the two
/// sequences overlap.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum FillSource {
    /// A trade (`myTrades`, id = `tradeId`).
    #[default]
    Trade,
    /// An SOR allocation (`myAllocations`, id = `allocationId`).
    Sor,
}

/// A fill as the bot records it. Unique by (symbol, source, trade_id): `trade_id` is the
/// allocation id of an SOR fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRecord {
    pub symbol: Symbol,
    /// The id sequence `trade_id` is of (absent: a trade).
    #[serde(default)]
    pub source: FillSource,
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
    /// The sync inserted it with its fee in a third asset not priced yet (no price at the
    /// fill's minute after waiting, `core::trades`): `commission_quote` is 0 until a later
    /// run re-prices it. A sync-owned attribute; absent (false) on the bot's trades and on
    /// items written before it existed.
    #[serde(default)]
    pub fee_unpriced: bool,
    pub version: u64,
}

/// The cost basis of one symbol after replaying its fills in trade-id order (average
/// cost, `core::pnl`). The sync's own running state: it lives in the checkpoint item, which
/// only the sync writes, never in a field of an item the bot writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis {
    /// Quantity held according to the fills replayed.
    pub qty: Decimal,
    /// Average cost per unit of `qty`, in quote (zero when `qty` is zero).
    pub avg_cost: Decimal,
    /// Sum of the realized P&L of every sell replayed.
    pub realized: Decimal,
    /// Time of the buy that started the current holding (after the last time it was flat).
    pub open_since: Option<Millis>,
    /// The last trade id replayed (None: none yet).
    pub through: Option<u64>,
    /// The last SOR allocation id replayed (None: none yet): allocations are replayed
    /// with the trades in execution order (`core::sor`).
    #[serde(default)]
    pub alloc_through: Option<u64>,
    /// The time of the last fill replayed, trade or allocation: a fill of the other
    /// sequence from before it came too late for the basis (`core::sor`).
    #[serde(default)]
    pub folded_at: Option<Millis>,
    /// Sells since the holding was last flat: quantity, value (price × qty), realized
    /// P&L and the last sell's time. A close takes its exit price and P&L from these.
    pub sold_qty: Decimal,
    pub sold_value: Decimal,
    pub sold_realized: Decimal,
    pub last_sell_at: Option<Millis>,
}

impl Basis {
    /// The first trade id the basis has not replayed: where a read that extends it starts.
    pub fn next_trade_id(&self) -> u64 {
        self.through.map_or(0, |t| t.saturating_add(1))
    }

    /// The first allocation id the basis has not replayed.
    pub fn next_alloc_id(&self) -> u64 {
        self.alloc_through.map_or(0, |t| t.saturating_add(1))
    }
}

/// Whether a checkpoint's basis can be trusted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BasisState {
    /// Every trade up to `basis.through` is in the basis: positions may be planned.
    #[default]
    Valid,
    /// Being rebuilt from the exchange's fills (a migrated cursor, or a fill found below the
    /// basis): `basis.through` is how far the rebuild got.
    Rebuilding,
}

/// Whose fills a cost basis, and so a position, is made of (`SYNC_POSITIONS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionsOf {
    /// Every fill of the account: a position is the account's holding.
    #[default]
    Account,
    /// Only the fills of the bot's orders (client order id with one of the bot's
    /// prefixes): a position is what the bot bought; the rest of the holding is the
    /// owner's, reported apart (`core::positions`).
    Bot,
}

impl PositionsOf {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Bot => "bot",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "account" => Some(Self::Account),
            "bot" => Some(Self::Bot),
            _ => None,
        }
    }
}

/// A fill whose fee (in a third asset) has no price at its minute yet: the symbol's read
/// waits before it (`core::trades`), `runs` runs so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeWait {
    pub trade_id: u64,
    pub runs: u32,
}

/// A trade the sync inserted with its fee unpriced (`TradeRecord::fee_unpriced`): what a
/// run needs to ask for its price (the fee asset and the fill's time) without loading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnpricedFee {
    pub trade_id: u64,
    pub time: Millis,
    pub asset: Asset,
}

/// How far the sync has read a symbol: its checkpoint (sort key `CURSOR#<SYMBOL>`, written
/// by the sync only). Every symbol the sync reads has one, fills or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorRecord {
    pub symbol: Symbol,
    /// Highest trade id read; the next read starts at `last_trade_id + 1`. None: no fill
    /// yet (the next read starts at `fromId=0`).
    pub last_trade_id: Option<u64>,
    /// Highest SOR allocation id read (symbols under an SOR configuration only).
    #[serde(default)]
    pub last_alloc_id: Option<u64>,
    /// Highest order id seen for the symbol.
    pub last_order_id: Option<u64>,
    /// Highest order id read from the exchange's order history (`allOrders`): every order
    /// of the symbol up to it has a record. The next read starts after it. None: never
    /// read (the next read starts at order id 0).
    #[serde(default)]
    pub orders_through: Option<u64>,
    /// The last page of the order history read was full: more orders to read. Work in
    /// progress for the scope (the symbol is read again first), not an unread symbol for
    /// the verdict (its fills are read).
    #[serde(default)]
    pub orders_pending: bool,
    /// When the order history was last read with every fill read so far (the read's
    /// time): it is read again when it can have changed or 24 hours later
    /// (`core::order_history`). None: never read, written before the field existed, or
    /// fills were read since without it; the symbol's next last-page unit reads it.
    #[serde(default)]
    pub orders_read_at: Option<Millis>,
    /// Every fill before this time has been read: the read's time less the history lag
    /// margin. None: never read.
    pub covered_through: Option<Millis>,
    /// Time of the newest fill read (the symbol is active while it is within the lookback).
    pub last_fill_at: Option<Millis>,
    /// Assets the symbol's fees were paid in other than its base and quote (BNB).
    pub fee_assets: Vec<Asset>,
    /// The cost basis through `basis.through`.
    pub basis: Basis,
    pub basis_state: BasisState,
    /// Whose fills the basis holds: a checkpoint whose basis is of other fills than the
    /// configuration asks for is rebuilt (`core::trades`). Absent on items written before
    /// bot-only positions existed: the account's.
    #[serde(default)]
    pub basis_of: PositionsOf,
    /// Orders open or unknown in the records at the last read; the lowest such order id
    /// (orders below it are terminal in the records and are not loaded again).
    pub open_orders: u32,
    pub order_watermark: Option<u64>,
    /// Consecutive failed units, the last failure's kind, and when to try again.
    pub failures: u32,
    pub last_error: Option<String>,
    pub retry_at: Option<Millis>,
    /// `requested_at` of the last emergency scope this symbol completed.
    pub emergency_done: Option<Millis>,
    /// Emergency re-scan progress: for the scope requested at `rescan_for`, the 24-hour
    /// windows before `rescan_through` are done.
    pub rescan_for: Option<Millis>,
    pub rescan_through: Option<Millis>,
    /// The last read stopped before the end of the symbol's fills (deadline, budget): the
    /// next run goes on from the checkpoint first.
    pub pending: bool,
    /// The last read to the end could not check the base's holding (no current price,
    /// no trading rules): the next run reads the symbol again, as work in progress.
    #[serde(default)]
    pub holding_unchecked: bool,
    /// Stored trades below the sync's first read of the symbol (or below a migrated
    /// checkpoint) not yet compared with the exchange's fills (`core::verify`); None once
    /// they all were.
    pub verify: Option<VerifyRange>,
    /// Findings of the symbol's units that no later read makes again (a recorded trade
    /// that disagrees with the exchange's fill), kept with the checkpoint until a run
    /// reports them: a run that fails or dies after the unit loses its report, not them.
    pub unreported: Vec<crate::domain::Discrepancy>,
    /// The read waits before this fill: its fee has no price at its minute yet. The
    /// checkpoint stays below it, so the next run reads it again.
    #[serde(default)]
    pub fee_wait: Option<FeeWait>,
    /// Trades inserted with their fee unpriced, oldest first, at most
    /// `core::trades::MAX_UNPRICED`: each run asks for their minute prices and re-prices
    /// those it gets.
    #[serde(default)]
    pub fee_unpriced: Vec<UnpricedFee>,
    pub version: u64,
    pub updated_at: Millis,
}

/// The trade ids `[from, below)` still to compare with the exchange's fills; `below` None:
/// up to the first fill the sync reads forward (every stored trade so far is below it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyRange {
    pub from: u64,
    pub below: Option<u64>,
}

impl CursorRecord {
    /// A symbol never read.
    pub fn new(symbol: Symbol) -> Self {
        Self {
            symbol,
            last_trade_id: None,
            last_alloc_id: None,
            last_order_id: None,
            orders_through: None,
            orders_pending: false,
            orders_read_at: None,
            covered_through: None,
            last_fill_at: None,
            fee_assets: Vec::new(),
            basis: Basis::default(),
            basis_state: BasisState::Valid,
            basis_of: PositionsOf::Account,
            open_orders: 0,
            order_watermark: None,
            failures: 0,
            last_error: None,
            retry_at: None,
            emergency_done: None,
            rescan_for: None,
            rescan_through: None,
            pending: false,
            holding_unchecked: false,
            verify: Some(VerifyRange {
                from: 0,
                below: None,
            }),
            unreported: Vec::new(),
            fee_wait: None,
            fee_unpriced: Vec::new(),
            version: 0,
            updated_at: 0,
        }
    }
}

/// One asset's balance as last explained: the digest the cheap test compares with. The
/// baseline advances only when the fills and flows read since explain the movement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetDigest {
    pub free: Decimal,
    pub locked: Decimal,
    /// Signed change explained by fills and flows read since the baseline was taken.
    pub explained: Decimal,
    /// Runs in a row in which every symbol of the asset was read and the movement stayed
    /// unexplained (after a few, the baseline advances and the rest is reported).
    pub misses: u32,
    /// The exchange's time when the baseline was read (0: unknown, a digest from before
    /// this field). The baseline holds every fill before it, so only fills at or after it
    /// explain a movement: a fill read later (a cut run, a late history) is not counted twice.
    #[serde(default)]
    pub since: Millis,
    /// When the movement still unexplained was first seen (the sync's clock, like the
    /// checkpoints' `covered_through`): a miss is counted once every symbol of the asset
    /// was read to its end after it, in this run or earlier ones.
    #[serde(default)]
    pub moved_at: Option<Millis>,
    /// The baseline was taken (the sync's clock) before every symbol of the asset was
    /// read to its end: the asset counts as moved, so its symbols are read (a backlog
    /// below their checkpoints included), until each was read after this time.
    #[serde(default)]
    pub unread_since: Option<Millis>,
    /// Signed change of the fills read whose time was within the clock margin of `since`
    /// (they may be in the baseline or not): a movement is explained with them or without.
    #[serde(default)]
    pub uncertain: Decimal,
}

impl AssetDigest {
    pub fn total(&self) -> Decimal {
        self.free + self.locked
    }
}

/// An emergency sync not finished yet: the following runs finish it in emergency mode
/// (every symbol whose checkpoint has `emergency_done < requested_at`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyScope {
    pub requested_at: Millis,
    /// Fills since this time are re-scanned for active symbols.
    pub lookback_start: Millis,
    /// The run that opened the scope: Lambda's retry of that invocation (same request id,
    /// same run id) resumes it instead of opening a new one, so a cut invocation and an
    /// uncut one leave the same records. None on an owed scope (nothing resumes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_by: Option<String>,
}

/// One sync per account: the lease, the last outcome, and the digest of the cheap test.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<Millis>,
    pub last_run_id: Option<String>,
    pub last_success_at: Option<Millis>,
    pub last_attempt_at: Option<Millis>,
    pub last_error: Option<String>,
    /// Every asset's free and locked as last explained (the cheap test).
    pub digest: BTreeMap<Asset, AssetDigest>,
    /// An emergency sync still to finish.
    pub emergency: Option<EmergencyScope>,
    /// The last emergency scope that closed while some checkpoints had not completed it
    /// (their symbol failed or was backing off): periodic runs finish it for them.
    pub rescan_owed: Option<EmergencyScope>,
    /// A 418 ban's end, so that a cold start does not hammer a banned IP.
    pub banned_until: Option<Millis>,
    /// The run's outcome: `complete` or `partial` (with why), for `status`.
    pub last_outcome: Option<String>,
    /// Fingerprints of discrepancies already alerted, with when (alert de-duplication).
    pub alerted: BTreeMap<String, Millis>,
    /// When the API key's restrictions were last checked.
    pub last_security_check_at: Option<Millis>,
    /// The creation time of the oldest flow the ledger still follows (pending), or the start
    /// of a flow read a run owes (`core::ledger::owed`): the next run's flow reads start
    /// there, so a change of status is seen and no flow goes unrecorded.
    #[serde(default)]
    pub ledger_open_since: Option<Millis>,
    /// The flow kinds this account cannot read at all (a master account has no
    /// sub-account transfer history), as the last run that tried found: reported when
    /// first found, not on every run.
    #[serde(default)]
    pub flow_kinds_unavailable: BTreeSet<FlowKind>,
    pub version: u64,
}

/// The fields of `exchangeInfo` the sync needs, cached in the table and refreshed daily.
/// A symbol not listed is remembered as unknown until the next refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolCache {
    pub fetched_at: Millis,
    pub symbols: BTreeMap<Symbol, super::exchange::SymbolInfo>,
}

/// An item of the account that could not be decoded: skipped, reported, never fatal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedItem {
    pub key: String,
    pub detail: String,
}

/// The key of a past round trip among `Records::position_history`: symbol, opening and
/// closing times (0 when it has none).
pub fn history_key(p: &PositionRecord) -> (Symbol, Millis, Millis) {
    (p.symbol.clone(), p.opened_at, p.closed_at.unwrap_or(0))
}

/// Everything the sync read from the store for one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Records {
    pub balances: BTreeMap<Asset, BalanceRecord>,
    pub positions: BTreeMap<Symbol, PositionRecord>,
    /// Past round trips the sync archived before opening a new position on their symbol,
    /// by symbol and opening time. Never read by a run (a run's reads do not grow with the
    /// account's history); only full loads (tests, `check`) fill it.
    pub position_history: BTreeMap<(Symbol, Millis, Millis), PositionRecord>,
    pub dust: BTreeMap<Asset, DustRecord>,
    pub orders: BTreeMap<(Symbol, u64), OrderRecord>,
    pub trades: BTreeMap<(Symbol, u64), TradeRecord>,
    /// The SOR fills (`FillSource::Sor`), by symbol and allocation id: a key space of
    /// their own.
    #[serde(default)]
    pub allocations: BTreeMap<(Symbol, u64), TradeRecord>,
    pub cursors: BTreeMap<Symbol, CursorRecord>,
    /// The ledger's records of the flows a run reads (those created since its read
    /// window starts), by creation time, kind and the exchange's id.
    pub ledger: BTreeMap<super::ledger::FlowKey, super::ledger::LedgerRecord>,
    pub state: SyncState,
    /// Items that did not decode (reported as discrepancies, never fatal).
    pub skipped: Vec<SkippedItem>,
}

impl Records {
    /// Every record held, of every kind, as `Record`s (the sync state and skipped items
    /// aside).
    pub fn every_record(&self) -> impl Iterator<Item = super::plan::Record> + '_ {
        use super::plan::Record;
        let b = self.balances.values().cloned().map(Record::Balance);
        let p = self.positions.values().cloned().map(Record::Position);
        let h = self
            .position_history
            .values()
            .cloned()
            .map(Record::PositionHistory);
        let d = self.dust.values().cloned().map(Record::Dust);
        let o = self.orders.values().cloned().map(Record::Order);
        let t = self
            .trades
            .values()
            .chain(self.allocations.values())
            .cloned()
            .map(Record::Trade);
        let c = self.cursors.values().cloned().map(Record::Cursor);
        let l = self.ledger.values().cloned().map(Record::Ledger);
        b.chain(p)
            .chain(h)
            .chain(d)
            .chain(o)
            .chain(t)
            .chain(c)
            .chain(l)
    }
}
