//! The functional core: pure reconciliation. No I/O, no AWS types, no async.
//!
//! `reconcile` compares what the exchange says (`ExchangeSnapshot`) with what the bot's
//! database says (`Records`) and returns a `Plan` of corrections. One file per rule family:
//!
//! - `balances.rs`  — balances per asset, tolerance, discrepancy wording, explanations
//! - `positions.rs` — spot positions and dust, recovery and closing
//! - `orders.rs`    — order status, unknown and archived orders, external orders
//! - `trades.rs`    — missing fills, cursors, fee conversion
//! - `pnl.rs`       — the cost-basis method (average cost) used everywhere
//! - `scope.rs`     — what a run must read: symbols, orders to query, lookback, the
//!   "nothing could have changed" test
//! - `conflict.rs`  — what to do when a conditional write lost to a bot write
//!
//! `reconcile` runs the families in a fixed order: trades (and cursors), orders,
//! positions (and dust), balances. Positions and balances read the fills recovered by
//! the trades step, so that one run both records a missed fill and explains its effect.
//! Every rule is written down in `docs/rules.md`.
//!
//! General rules of every correction: `after.version` = expected version + 1 (1 when
//! `Expect::Absent`); `before` = the record as read; `updated_by = Writer::Sync` and
//! `updated_at = now` where the record has them. Nothing is ever deleted.

pub mod balances;
pub mod conflict;
pub mod orders;
pub mod pnl;
pub mod positions;
pub mod scope;
pub mod trades;

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;

pub use conflict::{resolve_conflict, ConflictResolution};
pub use scope::{
    fills_start, nothing_changed, orders_to_query, symbols_to_check, too_soon, FillsStart,
};
pub use trades::fee_price_needs;

use crate::domain::{Asset, ExchangeSnapshot, Expect, Millis, Plan, Records, Symbol, TradeRecord};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Periodic (scheduled, incremental) or emergency (full, long lookback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Periodic,
    Emergency,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Periodic => "periodic",
            Mode::Emergency => "emergency",
        }
    }
}

/// The rules' settings. Defaults follow the origin document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesConfig {
    /// Quote assets positions are held against, in order of preference (default USDT).
    pub quote_assets: Vec<Asset>,
    /// A balance difference above this percentage is a discrepancy (default 1).
    pub tolerance_pct: Decimal,
    /// Client order id prefixes of the bot's own orders.
    pub bot_order_prefixes: Vec<String>,
    /// After this many runs of "Order does not exist", an order is a discrepancy.
    pub unknown_order_runs: u32,
    /// Lookback with no cursor, in days.
    pub periodic_lookback_days: u32,
    pub emergency_lookback_days: u32,
    /// Symbols always checked, besides those found in records, balances and open orders.
    pub extra_symbols: Vec<crate::domain::Symbol>,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self {
            quote_assets: vec![Asset::parse("USDT").unwrap_or_else(|_| unreachable!())],
            tolerance_pct: Decimal::ONE,
            bot_order_prefixes: vec!["bot-".to_owned()],
            unknown_order_runs: 3,
            periodic_lookback_days: 7,
            emergency_lookback_days: 30,
            extra_symbols: Vec::new(),
        }
    }
}

/// Everything `reconcile` needs.
#[derive(Debug, Clone)]
pub struct ReconcileInput<'a> {
    pub snapshot: &'a ExchangeSnapshot,
    pub records: &'a Records,
    pub config: &'a RulesConfig,
    pub mode: Mode,
    pub now: Millis,
}

/// Compare and plan. Pure and deterministic: the same input gives the same plan.
pub fn reconcile(input: &ReconcileInput<'_>) -> Plan {
    let mut plan = Plan {
        planned_at: input.now,
        ..Plan::default()
    };
    for symbol in &input.snapshot.unknown_symbols {
        plan.notes
            .push(format!("Symbol {symbol} unknown on exchange: skipped"));
    }
    let recovered = trades::plan_trades(input, &mut plan);
    orders::plan_orders(input, &mut plan);
    positions::plan_positions(input, &recovered, &mut plan);
    balances::plan_balances(input, &recovered, &mut plan);
    plan
}

/// Fills recovered this run (not in the records before), by (symbol, trade id).
pub type Recovered = BTreeMap<(Symbol, u64), TradeRecord>;

/// The `Expect` for a record read at `version` (None = absent).
pub(crate) fn expect_of(version: Option<u64>) -> Expect {
    version.map_or(Expect::Absent, Expect::Version)
}

/// The version a write made under `expect` carries.
pub(crate) fn next_version(expect: Expect) -> u64 {
    match expect {
        Expect::Absent => 1,
        Expect::Version(v) => v.saturating_add(1),
    }
}

pub use crate::domain::minute_start;

/// (base, quote) of a symbol: from the exchange's symbol info, else by matching a
/// configured quote asset as suffix (only when the symbol info is missing).
pub(crate) fn symbol_parts(input: &ReconcileInput<'_>, symbol: &Symbol) -> Option<(Asset, Asset)> {
    if let Some(info) = input.snapshot.symbols.get(symbol) {
        return Some((info.base.clone(), info.quote.clone()));
    }
    input.config.quote_assets.iter().find_map(|q| {
        let base = symbol.as_str().strip_suffix(q.as_str())?;
        Some((Asset::parse(base).ok()?, q.clone()))
    })
}

/// Every trade known after this run for one symbol: the records' plus the recovered ones.
pub(crate) fn trades_of<'a>(
    records: &'a Records,
    recovered: &'a Recovered,
    symbol: &Symbol,
) -> impl Iterator<Item = &'a TradeRecord> {
    let sym = symbol.clone();
    let sym2 = symbol.clone();
    records
        .trades
        .iter()
        .filter(move |((s, _), _)| *s == sym)
        .map(|(_, t)| t)
        .chain(
            recovered
                .iter()
                .filter(move |((s, _), _)| *s == sym2)
                .map(|(_, t)| t),
        )
}
