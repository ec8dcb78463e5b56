//! Records <-> DynamoDB items, written by hand so that every attribute's name and type is
//! the documented contract with the bot (`docs/data-model.md`).
//!
//! Money: every `Decimal` is stored as a DynamoDB number (`N`) holding the decimal's exact
//! text (`Decimal::to_string`), never through `f64`. DynamoDB normalises numbers
//! (`1.50` comes back as `1.5`); they are parsed back as decimals, which compare by value.

use crate::domain::{
    Asset, AssetDigest, BalanceRecord, Basis, Correction, CorrectionKind, CursorRecord, DustRecord,
    EmergencyScope, Expect, FlowKind, FlowLeg, LedgerRecord, Millis, OrderRecord, PositionRecord,
    Record, Symbol, SymbolCache, SyncState, TradeRecord, VerifyRange,
};
use crate::store::keys::{self, entity};
use crate::store::{AuditEntry, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

pub type Item = HashMap<String, AttributeValue>;

pub use crate::store::keys::AUDIT_SOURCE;

/// Seconds RUN items are kept (DynamoDB TTL on `expires_at`, epoch seconds).
pub const RUN_TTL_SECONDS: i64 = 90 * 24 * 60 * 60;

/// The exact decimal text for an `N` attribute, without trailing zeros (`1.50` -> `1.5`,
/// `-0` -> `0`). The value is unchanged; the text is the canonical form DynamoDB stores
/// anyway, so a replayed request is byte-identical to what the table holds (MiniStack
/// 1.5.33 normalises numbers inside the remembered request and then reports a retried
/// transaction with `1.50` as an `IdempotentParameterMismatch`).
pub fn decimal_n(d: Decimal) -> AttributeValue {
    if d.is_zero() {
        AttributeValue::N("0".to_owned())
    } else {
        AttributeValue::N(d.normalize().to_string())
    }
}

/// Builds an item; remembers the optional attributes that are absent so that an update
/// can REMOVE them.
#[derive(Default)]
pub struct ItemBuilder {
    pub item: Item,
    pub absent: Vec<&'static str>,
}

impl ItemBuilder {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn s(mut self, name: &str, v: impl Into<String>) -> Self {
        self.item
            .insert(name.to_owned(), AttributeValue::S(v.into()));
        self
    }
    pub fn dec(mut self, name: &str, v: Decimal) -> Self {
        self.item.insert(name.to_owned(), decimal_n(v));
        self
    }
    pub fn int(mut self, name: &str, v: impl Into<i128>) -> Self {
        self.item
            .insert(name.to_owned(), AttributeValue::N(v.into().to_string()));
        self
    }
    pub fn b(mut self, name: &str, v: bool) -> Self {
        self.item.insert(name.to_owned(), AttributeValue::Bool(v));
        self
    }
    /// An enum stored as its serde name (e.g. `BUY`, `FILLED`, `bot`).
    pub fn e<T: Serialize>(self, name: &str, v: &T) -> Result<Self, StoreError> {
        let text =
            enum_text(v).map_err(|detail| StoreError::Rejected(format!("{name}: {detail}")))?;
        Ok(self.s(name, text))
    }
    pub fn opt_s(self, name: &'static str, v: Option<&str>) -> Self {
        match v {
            Some(v) => self.s(name, v),
            None => self.none(name),
        }
    }
    pub fn opt_dec(self, name: &'static str, v: Option<Decimal>) -> Self {
        match v {
            Some(v) => self.dec(name, v),
            None => self.none(name),
        }
    }
    pub fn opt_int(self, name: &'static str, v: Option<impl Into<i128>>) -> Self {
        match v {
            Some(v) => self.int(name, v),
            None => self.none(name),
        }
    }
    pub fn with(mut self, name: &str, v: AttributeValue) -> Self {
        self.item.insert(name.to_owned(), v);
        self
    }
    /// A flag stored only when true (absent = false), so that clearing it REMOVEs it.
    pub fn opt_true(self, name: &'static str, v: bool) -> Self {
        if v {
            self.b(name, true)
        } else {
            self.none(name)
        }
    }
    fn none(mut self, name: &'static str) -> Self {
        self.absent.push(name);
        self
    }
}

fn enum_text<T: Serialize>(v: &T) -> Result<String, String> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Err(format!("expected a string, got {other}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Reads typed attributes of one item; every error names the item's key.
pub struct ItemReader<'a> {
    pub key: String,
    item: &'a Item,
}

impl<'a> ItemReader<'a> {
    pub fn new(item: &'a Item) -> Self {
        let part = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_s().ok())
                .map_or("?", |s| s.as_str())
        };
        let key = format!("{}|{}", part("pk"), part("sk"));
        Self { key, item }
    }

    pub fn malformed(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Malformed {
            key: self.key.clone(),
            detail: detail.into(),
        }
    }

    fn get(&self, name: &str) -> Option<&'a AttributeValue> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => None,
            Some(v) => Some(v),
        }
    }

    pub fn opt_s(&self, name: &str) -> Result<Option<&'a str>, StoreError> {
        match self.get(name) {
            None => Ok(None),
            Some(AttributeValue::S(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.malformed(format!("{name} must be S, got {other:?}"))),
        }
    }
    pub fn s(&self, name: &str) -> Result<&'a str, StoreError> {
        self.opt_s(name)?
            .ok_or_else(|| self.malformed(format!("{name} is missing")))
    }

    fn opt_n(&self, name: &str) -> Result<Option<&'a str>, StoreError> {
        match self.get(name) {
            None => Ok(None),
            Some(AttributeValue::N(n)) => Ok(Some(n.as_str())),
            Some(other) => Err(self.malformed(format!("{name} must be N, got {other:?}"))),
        }
    }

    pub fn opt_dec(&self, name: &str) -> Result<Option<Decimal>, StoreError> {
        let Some(text) = self.opt_n(name)? else {
            return Ok(None);
        };
        Decimal::from_str(text)
            .or_else(|_| Decimal::from_scientific(text))
            .map(Some)
            .map_err(|e| self.malformed(format!("{name} = {text:?} is not a decimal: {e}")))
    }
    pub fn dec(&self, name: &str) -> Result<Decimal, StoreError> {
        self.opt_dec(name)?
            .ok_or_else(|| self.malformed(format!("{name} is missing")))
    }

    pub fn opt_int<T: FromStr>(&self, name: &str) -> Result<Option<T>, StoreError>
    where
        T::Err: std::fmt::Display,
    {
        let Some(text) = self.opt_n(name)? else {
            return Ok(None);
        };
        text.parse::<T>().map(Some).map_err(|e| {
            self.malformed(format!(
                "{name} = {text:?} is not an integer of the expected range: {e}"
            ))
        })
    }
    pub fn int<T: FromStr>(&self, name: &str) -> Result<T, StoreError>
    where
        T::Err: std::fmt::Display,
    {
        self.opt_int(name)?
            .ok_or_else(|| self.malformed(format!("{name} is missing")))
    }

    pub fn b(&self, name: &str) -> Result<bool, StoreError> {
        self.opt_b(name)?
            .ok_or_else(|| self.malformed(format!("{name} is missing")))
    }

    pub fn opt_b(&self, name: &str) -> Result<Option<bool>, StoreError> {
        match self.get(name) {
            Some(AttributeValue::Bool(b)) => Ok(Some(*b)),
            None => Ok(None),
            Some(other) => Err(self.malformed(format!("{name} must be BOOL, got {other:?}"))),
        }
    }

    /// An enum or identifier parsed from its string form through serde.
    pub fn parse<T: DeserializeOwned>(&self, name: &str) -> Result<T, StoreError> {
        let text = self.s(name)?;
        serde_json::from_value(serde_json::Value::String(text.to_owned()))
            .map_err(|e| self.malformed(format!("{name} = {text:?}: {e}")))
    }
    pub fn asset(&self, name: &str) -> Result<Asset, StoreError> {
        let text = self.s(name)?;
        Asset::parse(text).map_err(|e| self.malformed(format!("{name}: {e}")))
    }
    pub fn symbol(&self, name: &str) -> Result<Symbol, StoreError> {
        let text = self.s(name)?;
        Symbol::parse(text).map_err(|e| self.malformed(format!("{name}: {e}")))
    }

    /// A JSON document stored as a string attribute.
    pub fn json<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        let Some(text) = self.opt_s(name)? else {
            return Ok(None);
        };
        serde_json::from_str(text)
            .map(Some)
            .map_err(|e| self.malformed(format!("{name} is not valid JSON: {e}")))
    }

    pub fn millis_map(&self, name: &str) -> Result<BTreeMap<String, Millis>, StoreError> {
        match self.get(name) {
            None => Ok(BTreeMap::new()),
            Some(AttributeValue::M(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    AttributeValue::N(n) => n
                        .parse::<Millis>()
                        .map(|at| (k.clone(), at))
                        .map_err(|e| self.malformed(format!("{name}.{k} = {n:?}: {e}"))),
                    other => Err(self.malformed(format!("{name}.{k} must be N, got {other:?}"))),
                })
                .collect(),
            Some(other) => Err(self.malformed(format!("{name} must be M, got {other:?}"))),
        }
    }
}

/// The attributes of a trade item a correction of it may set (`version` with them): the
/// ones the sync derives (`TradePnlSet`, `TradeFeePriced`). The rest is the exchange's
/// fill, written once by whoever inserted it.
pub const TRADE_SYNC_OWNED: [&str; 4] = [
    "version",
    "realized_pnl",
    "commission_quote",
    "fee_unpriced",
];

/// The record's attributes (with pk, sk, entity, version) and the optional attributes
/// it leaves absent.
pub fn encode_record(pk: &str, record: &Record) -> Result<ItemBuilder, StoreError> {
    let b = ItemBuilder::new()
        .s("pk", pk)
        .s("sk", keys::record_sk(record))
        .s("entity", keys::record_entity(record))
        .int("version", keys::record_version(record));
    Ok(match record {
        Record::Balance(r) => b
            .s("asset", r.asset.as_str())
            .dec("free", r.free)
            .dec("locked", r.locked)
            .int("updated_at", r.updated_at)
            .e("updated_by", &r.updated_by)?
            .opt_int("as_of", r.as_of),
        Record::Position(r) | Record::PositionHistory(r) => b
            .s("symbol", r.symbol.as_str())
            .s("base", r.base.as_str())
            .s("quote", r.quote.as_str())
            .s("side", r.side.as_str())
            .e("status", &r.status)?
            .dec("quantity", r.quantity)
            .dec("entry_price", r.entry_price)
            .b("entry_partial", r.entry_partial)
            .opt_dec("entry_rest_price", r.entry_rest_price)
            .opt_dec("exit_price", r.exit_price)
            .dec("realized_pnl", r.realized_pnl)
            .int("opened_at", r.opened_at)
            .opt_int("closed_at", r.closed_at)
            .b("recovered", r.recovered)
            .int("updated_at", r.updated_at)
            .e("updated_by", &r.updated_by)?,
        Record::Dust(r) => b
            .s("asset", r.asset.as_str())
            .dec("quantity", r.quantity)
            .int("updated_at", r.updated_at),
        Record::Order(r) => b
            .s("symbol", r.symbol.as_str())
            .int("order_id", r.order_id)
            .s("client_order_id", r.client_order_id.as_str())
            .e("side", &r.side)?
            .s("order_type", r.order_type.as_str())
            .dec("price", r.price)
            .dec("orig_qty", r.orig_qty)
            .dec("executed_qty", r.executed_qty)
            .opt_dec("avg_price", r.avg_price)
            .e("status", &r.status)?
            .e("origin", &r.origin)?
            .int("unknown_runs", r.unknown_runs)
            .int("created_at", r.created_at)
            .int("updated_at", r.updated_at)
            .e("updated_by", &r.updated_by)?,
        Record::Trade(r) => b
            .s("symbol", r.symbol.as_str())
            .int("trade_id", r.trade_id)
            .int("order_id", r.order_id)
            .e("side", &r.side)?
            .dec("price", r.price)
            .dec("qty", r.qty)
            .dec("quote_qty", r.quote_qty)
            .dec("commission", r.commission)
            .s("commission_asset", r.commission_asset.as_str())
            .dec("commission_quote", r.commission_quote)
            .opt_dec("realized_pnl", r.realized_pnl)
            .int("time", r.time)
            .b("is_maker", r.is_maker)
            .b("recovered", r.recovered)
            // Absent when false (the bot's trades never carry it); a re-pricing REMOVEs it.
            .opt_true("fee_unpriced", r.fee_unpriced)
            // The key says it too (`keys::alloc_sk`); the attribute is for readers of items.
            .opt_s(
                "source",
                (r.source == crate::domain::FillSource::Sor).then_some("sor"),
            ),
        Record::Ledger(r) => b
            .e("kind", &r.kind)?
            .s("flow_id", r.id.as_str())
            .int("time", r.time)
            .e("status", &r.status)?
            .s("exchange_status", r.exchange_status.as_str())
            .opt_int("completed_at", r.completed_at)
            .s("legs", legs_json(&r.legs)?)
            .b("unverifiable", r.unverifiable)
            .int("updated_at", r.updated_at)
            .e("updated_by", &r.updated_by)?,
        Record::Cursor(r) => b
            .s("symbol", r.symbol.as_str())
            .int("schema", CHECKPOINT_SCHEMA)
            .opt_int("last_trade_id", r.last_trade_id)
            .opt_int("last_alloc_id", r.last_alloc_id)
            .opt_int("last_order_id", r.last_order_id)
            .opt_int("orders_through", r.orders_through)
            .b("orders_pending", r.orders_pending)
            // Absent when never read (or fills were read since without it): read next time.
            .opt_int("orders_read_at", r.orders_read_at)
            .opt_int("covered_through", r.covered_through)
            .opt_int("last_fill_at", r.last_fill_at)
            .s(
                "fee_assets",
                r.fee_assets
                    .iter()
                    .map(Asset::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            )
            .dec("basis_qty", r.basis.qty)
            .dec("basis_avg_cost", r.basis.avg_cost)
            .dec("basis_realized", r.basis.realized)
            .opt_int("basis_open_since", r.basis.open_since)
            .opt_int("basis_through", r.basis.through)
            .opt_int("basis_alloc_through", r.basis.alloc_through)
            .opt_int("basis_folded_at", r.basis.folded_at)
            .dec("basis_sold_qty", r.basis.sold_qty)
            .dec("basis_sold_value", r.basis.sold_value)
            .dec("basis_sold_realized", r.basis.sold_realized)
            .opt_int("basis_last_sell_at", r.basis.last_sell_at)
            .e("basis_state", &r.basis_state)?
            .s("basis_of", r.basis_of.as_str())
            .int("open_orders", r.open_orders)
            .opt_int("order_watermark", r.order_watermark)
            .int("failures", r.failures)
            .opt_s("last_error", r.last_error.as_deref())
            .opt_int("retry_at", r.retry_at)
            .opt_int("emergency_done", r.emergency_done)
            .opt_int("rescan_for", r.rescan_for)
            .opt_int("rescan_through", r.rescan_through)
            .b("pending", r.pending)
            .b("holding_unchecked", r.holding_unchecked)
            .opt_int("verify_from", r.verify.map(|v| v.from))
            .opt_int("verify_below", r.verify.and_then(|v| v.below))
            .b("verified", r.verify.is_none())
            .opt_s("unreported", unreported_json(&r.unreported)?.as_deref())
            .opt_int("fee_wait_trade_id", r.fee_wait.map(|w| w.trade_id))
            .opt_int("fee_wait_runs", r.fee_wait.map(|w| w.runs))
            .opt_s("fee_unpriced", unpriced_json(&r.fee_unpriced)?.as_deref())
            .int("updated_at", r.updated_at),
    })
}

/// A checkpoint's unreported findings as one JSON string (None: none).
fn unreported_json(
    unreported: &[crate::domain::Discrepancy],
) -> Result<Option<String>, StoreError> {
    if unreported.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(unreported)
        .map(Some)
        .map_err(|e| StoreError::Rejected(format!("unreported findings: {e}")))
}

/// A checkpoint's trades inserted with their fee unpriced as one JSON string (None: none).
fn unpriced_json(unpriced: &[crate::domain::UnpricedFee]) -> Result<Option<String>, StoreError> {
    if unpriced.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(unpriced)
        .map(Some)
        .map_err(|e| StoreError::Rejected(format!("unpriced fees: {e}")))
}

/// The attributes of a position, current or past.
fn decode_position(r: &ItemReader<'_>, version: u64) -> Result<PositionRecord, StoreError> {
    Ok(PositionRecord {
        symbol: r.symbol("symbol")?,
        base: r.asset("base")?,
        quote: r.asset("quote")?,
        side: r.s("side")?.to_owned(),
        status: r.parse("status")?,
        quantity: r.dec("quantity")?,
        entry_price: r.dec("entry_price")?,
        // Absent on the bot's own items: its entry is its own, not an estimate.
        entry_partial: r.opt_b("entry_partial")?.unwrap_or(false),
        entry_rest_price: r.opt_dec("entry_rest_price")?,
        exit_price: r.opt_dec("exit_price")?,
        realized_pnl: r.dec("realized_pnl")?,
        opened_at: r.int("opened_at")?,
        closed_at: r.opt_int("closed_at")?,
        recovered: r.b("recovered")?,
        version,
        updated_at: r.int("updated_at")?,
        updated_by: r.parse("updated_by")?,
    })
}

/// Decode a record item by its sort-key prefix. `Ok(None)`: not a record item (sync
/// state, run, audit or an item of the bot's own that the sync does not read).
pub fn decode_record(item: &Item) -> Result<Option<Record>, StoreError> {
    let r = ItemReader::new(item);
    let sk = r.s("sk")?;
    let version: u64 = r.int("version")?;
    let record = if sk.starts_with(keys::BALANCE_PREFIX) {
        Record::Balance(BalanceRecord {
            asset: r.asset("asset")?,
            free: r.dec("free")?,
            locked: r.dec("locked")?,
            version,
            updated_at: r.int("updated_at")?,
            updated_by: r.parse("updated_by")?,
            as_of: r.opt_int("as_of")?,
        })
    } else if sk.starts_with(keys::POSITION_PREFIX) {
        Record::Position(decode_position(&r, version)?)
    } else if sk.starts_with(keys::POSITION_HISTORY_PREFIX) {
        Record::PositionHistory(decode_position(&r, version)?)
    } else if sk.starts_with(keys::DUST_PREFIX) {
        Record::Dust(DustRecord {
            asset: r.asset("asset")?,
            quantity: r.dec("quantity")?,
            version,
            updated_at: r.int("updated_at")?,
        })
    } else if sk.starts_with(keys::ORDER_PREFIX) {
        Record::Order(OrderRecord {
            symbol: r.symbol("symbol")?,
            order_id: r.int("order_id")?,
            client_order_id: r.s("client_order_id")?.to_owned(),
            side: r.parse("side")?,
            order_type: r.s("order_type")?.to_owned(),
            price: r.dec("price")?,
            orig_qty: r.dec("orig_qty")?,
            executed_qty: r.dec("executed_qty")?,
            avg_price: r.opt_dec("avg_price")?,
            status: r.parse("status")?,
            origin: r.parse("origin")?,
            unknown_runs: r.opt_int("unknown_runs")?.unwrap_or(0),
            created_at: r.int("created_at")?,
            version,
            updated_at: r.int("updated_at")?,
            updated_by: r.parse("updated_by")?,
        })
    } else if sk.starts_with(keys::TRADE_PREFIX) {
        Record::Trade(TradeRecord {
            symbol: r.symbol("symbol")?,
            // The key names the id sequence (`TRADE#<SYMBOL>#SOR#<id>`: an allocation).
            source: if keys::is_alloc_sk(sk) {
                crate::domain::FillSource::Sor
            } else {
                crate::domain::FillSource::Trade
            },
            trade_id: r.int("trade_id")?,
            order_id: r.int("order_id")?,
            side: r.parse("side")?,
            price: r.dec("price")?,
            qty: r.dec("qty")?,
            quote_qty: r.dec("quote_qty")?,
            commission: r.dec("commission")?,
            commission_asset: r.asset("commission_asset")?,
            commission_quote: r.dec("commission_quote")?,
            realized_pnl: r.opt_dec("realized_pnl")?,
            time: r.int("time")?,
            is_maker: r.b("is_maker")?,
            recovered: r.b("recovered")?,
            // Absent on the bot's trades and on items written before it: priced.
            fee_unpriced: r.opt_b("fee_unpriced")?.unwrap_or(false),
            version,
        })
    } else if sk.starts_with(keys::CURSOR_PREFIX) {
        Record::Cursor(decode_checkpoint(&r, version)?)
    } else if sk.starts_with(keys::LEDGER_PREFIX) {
        Record::Ledger(LedgerRecord {
            kind: r.parse("kind")?,
            id: r.s("flow_id")?.to_owned(),
            time: r.int("time")?,
            status: r.parse("status")?,
            exchange_status: r.s("exchange_status")?.to_owned(),
            completed_at: r.opt_int("completed_at")?,
            legs: decode_legs(&r)?,
            unverifiable: r.opt_b("unverifiable")?.unwrap_or(false),
            version,
            updated_at: r.int("updated_at")?,
            updated_by: r.parse("updated_by")?,
        })
    } else {
        return Ok(None);
    };
    let expected = keys::record_sk(&record);
    if expected != sk {
        return Err(r.malformed(format!(
            "attributes name {expected}, but the sort key is {sk}"
        )));
    }
    Ok(Some(record))
}

/// A flow's legs as one JSON string attribute: `[{"asset","wallet","amount","role"}]`,
/// amounts as exact decimal strings (the legs are read back whole, never queried).
fn legs_json(legs: &[FlowLeg]) -> Result<String, StoreError> {
    serde_json::to_string(legs).map_err(|e| StoreError::Rejected(format!("ledger legs JSON: {e}")))
}

fn decode_legs(r: &ItemReader<'_>) -> Result<Vec<FlowLeg>, StoreError> {
    let legs: Vec<FlowLeg> = r
        .json("legs")?
        .ok_or_else(|| r.malformed("legs missing".to_owned()))?;
    Ok(legs)
}

/// The layout of checkpoint items this version writes. A `CURSOR#` item without `schema`
/// is a version-1 cursor (trade and order ids only): it decodes with its basis to be
/// rebuilt from the exchange's fills (`migrate` rewrites it).
pub const CHECKPOINT_SCHEMA: u32 = 2;

fn decode_checkpoint(r: &ItemReader<'_>, version: u64) -> Result<CursorRecord, StoreError> {
    let symbol = r.symbol("symbol")?;
    let last_trade_id = r.opt_int("last_trade_id")?;
    let updated_at = r.int("updated_at")?;
    if r.opt_int::<u32>("schema")?.is_none() {
        return Ok(CursorRecord {
            last_trade_id,
            last_order_id: r.opt_int("last_order_id")?,
            covered_through: Some(updated_at),
            basis_state: if last_trade_id.is_some() {
                crate::domain::BasisState::Rebuilding
            } else {
                crate::domain::BasisState::Valid
            },
            version,
            updated_at,
            ..CursorRecord::new(symbol)
        });
    }
    let fee_assets = r
        .opt_s("fee_assets")?
        .unwrap_or_default()
        .split(',')
        .filter(|a| !a.is_empty())
        .map(|a| Asset::parse(a).map_err(|e| r.malformed(format!("fee_assets: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CursorRecord {
        symbol,
        last_trade_id,
        // Absent on checkpoints written before SOR allocations were read: none read.
        last_alloc_id: r.opt_int("last_alloc_id")?,
        last_order_id: r.opt_int("last_order_id")?,
        orders_through: r.opt_int("orders_through")?,
        orders_pending: r.opt_b("orders_pending")?.unwrap_or(false),
        // Absent on checkpoints written before it existed: never read for this purpose,
        // so the symbol's next read reads its order history (`core::order_history`).
        orders_read_at: r.opt_int("orders_read_at")?,
        covered_through: r.opt_int("covered_through")?,
        last_fill_at: r.opt_int("last_fill_at")?,
        fee_assets,
        basis: Basis {
            qty: r.dec("basis_qty")?,
            avg_cost: r.dec("basis_avg_cost")?,
            realized: r.dec("basis_realized")?,
            open_since: r.opt_int("basis_open_since")?,
            through: r.opt_int("basis_through")?,
            alloc_through: r.opt_int("basis_alloc_through")?,
            folded_at: r.opt_int("basis_folded_at")?,
            sold_qty: r.dec("basis_sold_qty")?,
            sold_value: r.dec("basis_sold_value")?,
            sold_realized: r.dec("basis_sold_realized")?,
            last_sell_at: r.opt_int("basis_last_sell_at")?,
        },
        basis_state: r.parse("basis_state")?,
        // Absent on checkpoints written before bot-only positions: the account's fills.
        basis_of: match r.opt_s("basis_of")? {
            None => crate::domain::PositionsOf::Account,
            Some(text) => crate::domain::PositionsOf::parse(text).ok_or_else(|| {
                r.malformed(format!(
                    "basis_of = {text:?}: neither \"account\" nor \"bot\""
                ))
            })?,
        },
        open_orders: r.int("open_orders")?,
        order_watermark: r.opt_int("order_watermark")?,
        failures: r.int("failures")?,
        last_error: r.opt_s("last_error")?.map(str::to_owned),
        retry_at: r.opt_int("retry_at")?,
        emergency_done: r.opt_int("emergency_done")?,
        rescan_for: r.opt_int("rescan_for")?,
        rescan_through: r.opt_int("rescan_through")?,
        pending: r.b("pending")?,
        // Absent on checkpoints written before it existed: checked.
        holding_unchecked: r.opt_b("holding_unchecked")?.unwrap_or(false),
        verify: match (r.opt_int::<u64>("verify_from")?, r.get("verified")) {
            (Some(from), _) => Some(VerifyRange {
                from,
                below: r.opt_int("verify_below")?,
            }),
            (None, Some(_)) if r.b("verified")? => None,
            // Written before trades were verified: every stored trade up to the
            // checkpoint is compared once.
            _ => Some(VerifyRange {
                from: 0,
                below: last_trade_id.map(|t: u64| t.saturating_add(1)),
            }),
        },
        unreported: match r.opt_s("unreported")? {
            Some(text) => {
                serde_json::from_str(text).map_err(|e| r.malformed(format!("unreported: {e}")))?
            }
            None => Vec::new(),
        },
        fee_wait: match (
            r.opt_int::<u64>("fee_wait_trade_id")?,
            r.opt_int::<u32>("fee_wait_runs")?,
        ) {
            (Some(trade_id), runs) => Some(crate::domain::FeeWait {
                trade_id,
                runs: runs.unwrap_or(0),
            }),
            (None, _) => None,
        },
        fee_unpriced: match r.opt_s("fee_unpriced")? {
            Some(text) => {
                serde_json::from_str(text).map_err(|e| r.malformed(format!("fee_unpriced: {e}")))?
            }
            None => Vec::new(),
        },
        version,
        updated_at,
    })
}

/// The digest as a map of maps of numbers (exact decimals).
pub fn encode_digest(digest: &BTreeMap<Asset, AssetDigest>) -> AttributeValue {
    AttributeValue::M(
        digest
            .iter()
            .map(|(asset, d)| {
                let m: HashMap<String, AttributeValue> = [
                    ("free".to_owned(), decimal_n(d.free)),
                    ("locked".to_owned(), decimal_n(d.locked)),
                    ("explained".to_owned(), decimal_n(d.explained)),
                    ("misses".to_owned(), AttributeValue::N(d.misses.to_string())),
                    ("since".to_owned(), AttributeValue::N(d.since.to_string())),
                ]
                .into_iter()
                .chain(
                    d.moved_at
                        .map(|t| ("moved_at".to_owned(), AttributeValue::N(t.to_string()))),
                )
                .chain(
                    d.unread_since
                        .map(|t| ("unread_since".to_owned(), AttributeValue::N(t.to_string()))),
                )
                .chain(
                    (!d.uncertain.is_zero())
                        .then(|| ("uncertain".to_owned(), decimal_n(d.uncertain))),
                )
                .collect();
                (asset.to_string(), AttributeValue::M(m))
            })
            .collect(),
    )
}

fn decode_digest(r: &ItemReader<'_>) -> Result<BTreeMap<Asset, AssetDigest>, StoreError> {
    let Some(AttributeValue::M(m)) = r.get("digest") else {
        return Ok(BTreeMap::new());
    };
    let num = |asset: &str,
               inner: &HashMap<String, AttributeValue>,
               k: &str|
     -> Result<String, StoreError> {
        match inner.get(k) {
            Some(AttributeValue::N(n)) => Ok(n.clone()),
            other => Err(r.malformed(format!("digest.{asset}.{k} must be N, got {other:?}"))),
        }
    };
    let mut out = BTreeMap::new();
    for (asset, v) in m {
        let AttributeValue::M(inner) = v else {
            return Err(r.malformed(format!("digest.{asset} must be M")));
        };
        let dec = |k: &str| -> Result<Decimal, StoreError> {
            let text = num(asset, inner, k)?;
            Decimal::from_str(&text)
                .or_else(|_| Decimal::from_scientific(&text))
                .map_err(|e| r.malformed(format!("digest.{asset}.{k} = {text:?}: {e}")))
        };
        let misses = num(asset, inner, "misses")?
            .parse::<u32>()
            .map_err(|e| r.malformed(format!("digest.{asset}.misses: {e}")))?;
        // `since` and `moved_at` came with layout 2's cross-run digest: absent is 0 / none.
        let time = |k: &str| -> Result<Option<Millis>, StoreError> {
            if !inner.contains_key(k) {
                return Ok(None);
            }
            num(asset, inner, k)?
                .parse::<Millis>()
                .map(Some)
                .map_err(|e| r.malformed(format!("digest.{asset}.{k}: {e}")))
        };
        let since = time("since")?.unwrap_or(0);
        let moved_at = time("moved_at")?;
        let unread_since = time("unread_since")?;
        out.insert(
            Asset::parse(asset).map_err(|e| r.malformed(format!("digest key {asset:?}: {e}")))?,
            AssetDigest {
                free: dec("free")?,
                locked: dec("locked")?,
                explained: dec("explained")?,
                misses,
                since,
                moved_at,
                unread_since,
                // Absent: no fill near the baseline (and digests written before it).
                uncertain: if inner.contains_key("uncertain") {
                    dec("uncertain")?
                } else {
                    Decimal::ZERO
                },
            },
        );
    }
    Ok(out)
}

/// The symbol cache: the whole map as one JSON string attribute (decimals as strings, so
/// exact), refreshed daily.
pub fn encode_symbol_cache(pk: &str, cache: &SymbolCache) -> Result<Item, StoreError> {
    let text = serde_json::to_string(&cache.symbols)
        .map_err(|e| StoreError::Rejected(format!("symbol cache: {e}")))?;
    if text.len() > MAX_SYMBOL_CACHE_BYTES {
        return Err(StoreError::Rejected(format!(
            "symbol cache of {} bytes is over the {MAX_SYMBOL_CACHE_BYTES}-byte item budget",
            text.len()
        )));
    }
    Ok(ItemBuilder::new()
        .s("pk", pk)
        .s("sk", keys::SYMBOL_CACHE_SK)
        .s("entity", entity::SYMBOL_CACHE)
        .int("fetched_at", cache.fetched_at)
        .int("layout", SYMBOL_CACHE_LAYOUT)
        .s("symbols", text)
        .item)
}

/// The symbol cache's layout: 2 = the symbols carry `sor`. A cache of an older layout
/// decodes as fetched at 0, so the next run refreshes it instead of reading every symbol
/// as outside SOR for up to a day.
pub const SYMBOL_CACHE_LAYOUT: u32 = 2;

/// A DynamoDB item is at most 400 KB; the cache keeps clear of it.
pub const MAX_SYMBOL_CACHE_BYTES: usize = 350_000;

pub fn decode_symbol_cache(item: &Item) -> Result<SymbolCache, StoreError> {
    let r = ItemReader::new(item);
    let current = r.opt_int::<u32>("layout")?.unwrap_or(1) >= SYMBOL_CACHE_LAYOUT;
    Ok(SymbolCache {
        fetched_at: if current { r.int("fetched_at")? } else { 0 },
        symbols: r.json("symbols")?.unwrap_or_default(),
    })
}

pub fn decode_state(item: &Item) -> Result<SyncState, StoreError> {
    let r = ItemReader::new(item);
    Ok(SyncState {
        lease_owner: r.opt_s("lease_owner")?.map(str::to_owned),
        lease_expires_at: r.opt_int("lease_expires_at")?,
        last_run_id: r.opt_s("last_run_id")?.map(str::to_owned),
        last_success_at: r.opt_int("last_success_at")?,
        last_attempt_at: r.opt_int("last_attempt_at")?,
        last_error: r.opt_s("last_error")?.map(str::to_owned),
        digest: decode_digest(&r)?,
        emergency: match (
            r.opt_int::<Millis>("emergency_requested_at")?,
            r.opt_int::<Millis>("emergency_lookback_start")?,
        ) {
            (Some(requested_at), Some(lookback_start)) => Some(EmergencyScope {
                requested_at,
                lookback_start,
                opened_by: r.opt_s("emergency_opened_by")?.map(str::to_owned),
            }),
            _ => None,
        },
        rescan_owed: match (
            r.opt_int::<Millis>("owed_requested_at")?,
            r.opt_int::<Millis>("owed_lookback_start")?,
        ) {
            (Some(requested_at), Some(lookback_start)) => Some(EmergencyScope {
                requested_at,
                lookback_start,
                opened_by: None,
            }),
            _ => None,
        },
        banned_until: r.opt_int("banned_until")?,
        last_outcome: r.opt_s("last_outcome")?.map(str::to_owned),
        alerted: r.millis_map("alerted")?,
        last_security_check_at: r.opt_int("last_security_check_at")?,
        ledger_open_since: r.opt_int("ledger_open_since")?,
        flow_kinds_unavailable: decode_flow_kinds(r.opt_s("flow_kinds_unavailable")?),
        version: r.opt_int("version")?.unwrap_or(0),
    })
}

/// The alert de-duplication map as a DynamoDB map of numbers.
pub fn encode_alerted(alerted: &BTreeMap<String, Millis>) -> AttributeValue {
    AttributeValue::M(
        alerted
            .iter()
            .map(|(k, at)| (k.clone(), AttributeValue::N(at.to_string())))
            .collect::<HashMap<_, _>>(),
    )
}

/// The sync-state attributes `finish_run` writes (lease and version excluded: the lease is
/// removed and the version incremented by the update itself; the alert state is written
/// only by `save_alert_state`).
pub fn encode_state_outcome(state: &SyncState) -> ItemBuilder {
    ItemBuilder::new()
        .s("entity", entity::SYNC_STATE)
        .opt_s("last_run_id", state.last_run_id.as_deref())
        .opt_int("last_success_at", state.last_success_at)
        .opt_int("last_attempt_at", state.last_attempt_at)
        .opt_s("last_error", state.last_error.as_deref())
        .opt_s("last_outcome", state.last_outcome.as_deref())
        .opt_int("banned_until", state.banned_until)
        .opt_int(
            "emergency_requested_at",
            state.emergency.as_ref().map(|e| e.requested_at),
        )
        .opt_int(
            "emergency_lookback_start",
            state.emergency.as_ref().map(|e| e.lookback_start),
        )
        .opt_s(
            "emergency_opened_by",
            state
                .emergency
                .as_ref()
                .and_then(|e| e.opened_by.as_deref()),
        )
        .opt_int(
            "owed_requested_at",
            state.rescan_owed.as_ref().map(|e| e.requested_at),
        )
        .opt_int(
            "owed_lookback_start",
            state.rescan_owed.as_ref().map(|e| e.lookback_start),
        )
        .opt_int("ledger_open_since", state.ledger_open_since)
        .opt_s(
            "flow_kinds_unavailable",
            encode_flow_kinds(&state.flow_kinds_unavailable).as_deref(),
        )
        .with("digest", encode_digest(&state.digest))
}

/// The unavailable flow kinds as one `S` of their stable names, comma-separated (absent
/// when none, so that clearing the set REMOVEs it).
fn encode_flow_kinds(kinds: &std::collections::BTreeSet<FlowKind>) -> Option<String> {
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    (!names.is_empty()).then(|| names.join(","))
}

/// A name this version does not know (written by a newer one) is left out: the kind is
/// then read, and reported once more if still unavailable.
fn decode_flow_kinds(s: Option<&str>) -> std::collections::BTreeSet<FlowKind> {
    s.unwrap_or_default()
        .split(',')
        .filter_map(FlowKind::parse)
        .collect()
}

/// The audit record of one correction.
pub fn encode_audit(
    pk: &str,
    sk: &str,
    run_id: &str,
    seq: usize,
    at: Millis,
    c: &Correction,
) -> Result<Item, StoreError> {
    let json = |r: &Record| {
        serde_json::to_string(r).map_err(|e| StoreError::Rejected(format!("audit JSON: {e}")))
    };
    let mut b = ItemBuilder::new()
        .s("pk", pk)
        .s("sk", sk)
        .s("entity", entity::AUDIT)
        .int("version", 1u8)
        .s("run_id", run_id)
        .int("seq", seq as u64)
        .int("at", at)
        .e("kind", &c.kind)?
        .s("reason", c.reason.as_str())
        .s("target_sk", keys::record_sk(&c.after))
        .s("target_entity", keys::record_entity(&c.after))
        .int("after_version", keys::record_version(&c.after))
        .s("after", json(&c.after)?)
        .s("source", AUDIT_SOURCE);
    b = match c.expect {
        Expect::Absent => b.s("expect", "absent"),
        Expect::Version(v) => b.s("expect", "version").int("expect_version", v),
    };
    if let Some(before) = &c.before {
        b = b.s("before", json(before)?);
    }
    Ok(b.item)
}

pub fn decode_audit(item: &Item) -> Result<AuditEntry, StoreError> {
    let r = ItemReader::new(item);
    let expect = match r.s("expect")? {
        "absent" => Expect::Absent,
        "version" => Expect::Version(r.int("expect_version")?),
        other => return Err(r.malformed(format!("expect = {other:?}"))),
    };
    let kind: CorrectionKind = r.parse("kind")?;
    let after: Record = r
        .json("after")?
        .ok_or_else(|| r.malformed("after is missing"))?;
    Ok(AuditEntry {
        run_id: r.s("run_id")?.to_owned(),
        at: r.int("at")?,
        correction: Correction {
            kind,
            expect,
            before: r.json("before")?,
            after,
            reason: r.s("reason")?.to_owned(),
        },
        source: r.s("source")?.to_owned(),
    })
}

/// Whether an existing audit item records exactly this correction (same target, same
/// resulting version): then the correction was applied by an earlier attempt.
pub fn audit_records(item: &Item, c: &Correction) -> bool {
    let r = ItemReader::new(item);
    r.s("target_sk").ok() == Some(keys::record_sk(&c.after).as_str())
        && r.int::<u64>("after_version").ok() == Some(keys::record_version(&c.after))
}

/// The RUN summary item. `expires_at` (epoch seconds) lets DynamoDB TTL drop it after 90 days.
pub fn encode_run(
    pk: &str,
    started_at: Millis,
    run_id: &str,
    summary: &serde_json::Value,
) -> Result<Item, StoreError> {
    let text = serde_json::to_string(summary)
        .map_err(|e| StoreError::Rejected(format!("run summary JSON: {e}")))?;
    Ok(ItemBuilder::new()
        .s("pk", pk)
        .s("sk", keys::run_sk(started_at, run_id))
        .s("entity", entity::RUN)
        .int("version", 1u8)
        .s("run_id", run_id)
        .int("started_at", started_at)
        .s("summary", text)
        .int("expires_at", started_at.max(0) / 1000 + RUN_TTL_SECONDS)
        .item)
}
