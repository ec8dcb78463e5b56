//! The functional core: pure reconciliation. No I/O, no AWS types, no async.
//!
//! A run is a sequence of small units (see `crate::service`); each unit gives the core
//! what it read and what it loaded, and the core returns a `Plan` of corrections. One
//! file per rule family:
//!
//! - `scope.rs`      — what a run reads and in which order: the balance digest, active
//!   symbols, rotation, backoff, the emergency scope
//! - `checkpoint.rs` — how a symbol's checkpoint advances after a page of fills
//! - `trades.rs`     — missing fills, fee conversion, the cost basis carried forward
//! - `sor.rs`        — Smart Order Routing fills (allocations): their key space, and
//!   their place among the trades in the cost basis (execution order)
//! - `orders.rs`     — order status, unknown and archived orders, external orders
//! - `order_history.rs` — when a symbol's unit reads its order history (`allOrders`)
//! - `positions.rs`  — spot positions and dust, recovery and closing
//! - `attribution.rs` — whose a fill is, the bot's or the owner's (bot-only positions)
//! - `ledger.rs`     — balance moves that are not trades (deposits, withdrawals,
//!   conversions...): their records, their lifecycle, what each moved in Spot
//! - `balances.rs`   — balances per asset, tolerance, discrepancy wording, explanations
//! - `pnl.rs`        — the cost-basis method (average cost) used everywhere
//! - `conflict.rs`   — what to do when a conditional write lost to a bot write
//! - `verify.rs`     — stored trades no read compared yet, compared once with the exchange's
//! - `verdict.rs`    — whether the bot may trust a symbol's records now, and why not
//!
//! Two planning functions serve the units: [`plan_symbol`] (one page of one symbol's
//! fills: its trades, its orders, and, once the symbol is read to the end, its position
//! and dust; the checkpoint last) and [`plan_balances`] (the account-wide step). The
//! positions and balances steps see what the trades step recovered, so that one run both
//! records a missed fill and explains its effect. [`reconcile`] composes them over a whole
//! snapshot (every symbol read in one page, from an empty basis): the from-scratch
//! reference the tests compare the units with. Every rule is written down in
//! `docs/rules.md`.
//!
//! General rules of every correction: `after.version` = expected version + 1 (1 when
//! `Expect::Absent`); `before` = the record as read; `updated_by = Writer::Sync` and
//! `updated_at = now` where the record has them. Nothing is ever deleted.

pub mod attribution;
pub mod balances;
pub mod checkpoint;
pub mod conflict;
pub mod ledger;
pub mod order_history;
pub mod orders;
pub mod pnl;
pub mod positions;
pub mod scope;
pub mod sor;
pub mod trades;
pub mod verdict;
pub mod verify;

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;

pub use conflict::{resolve_conflict, ConflictResolution};
pub use scope::{orders_to_query, too_soon};
pub use trades::{fee_price_needs, fee_price_requests};

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
    /// History endpoints may lag the balance: a read covers fills up to its time less this.
    pub history_lag_ms: Millis,
    /// How far the exchange's time of a balances read may be from the sync's estimate of
    /// it (clock offset error, the request's own time in flight): a fill this close to a
    /// baseline may or may not be in it (`scope.rs`).
    pub baseline_margin_ms: Millis,
    /// Minutes between scheduled runs (the rotation covers every symbol within a day).
    pub schedule_minutes: u32,
    /// Quiet symbols read per periodic run besides those with evidence of change; None =
    /// enough to cover every symbol within 24 hours.
    pub rotation_per_run: Option<u32>,
    /// A symbol not covered for longer than this is reported (the `SymbolsUncovered` alarm).
    pub uncovered_alarm_hours: u32,
    /// Runs in a row an asset's movement may stay unexplained, with every symbol of it
    /// read, before its digest advances and the rest is reported.
    pub unexplained_runs: u32,
    /// The hysteresis band around a symbol's minimum notional, in percent (default 10): a
    /// position becomes dust only below `min_notional × (1 − band)`, dust a position only
    /// at `min_notional × (1 + band)` (`positions.rs`).
    pub dust_band_pct: Decimal,
    /// Whose fills make a position (`SYNC_POSITIONS`, default the account's): with `Bot`,
    /// only the fills of orders with `bot_order_prefixes` (`positions.rs`).
    pub positions_of: crate::domain::PositionsOf,
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
            history_lag_ms: 60_000,
            baseline_margin_ms: 2_000,
            schedule_minutes: 30,
            rotation_per_run: None,
            uncovered_alarm_hours: 26,
            unexplained_runs: 2,
            dust_band_pct: Decimal::TEN,
            positions_of: crate::domain::PositionsOf::Account,
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

/// What one symbol unit planned: the corrections (the checkpoint's last), and the
/// balance movements its fills explain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolPlan {
    pub plan: Plan,
    /// The checkpoint after this unit (also the last correction of `plan`, when it changed).
    pub checkpoint: crate::domain::CursorRecord,
    /// Every fill past the old checkpoint (recorded by the bot or not): what moved the
    /// account's balances since the last read. Feeds the digest.
    pub movement: Flows,
    /// The fills recovered by this unit (not in the records before): what explains the
    /// records' balances differing from the exchange's.
    pub recovered: Flows,
    /// A current price the position rules need and the partial `snapshot.prices` lacks:
    /// the position is not planned; plan again with it.
    pub needs_price: Option<Symbol>,
}

/// Signed balance changes per asset, from fills.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flows {
    /// Base and quote legs of the fills (buy: +qty base, −quote qty; sell: the reverse).
    pub trades: BTreeMap<Asset, Decimal>,
    /// −commission, in its asset.
    pub fees: BTreeMap<Asset, Decimal>,
    /// Every leg of the fills whose time is too close to the asset's baseline (or to the
    /// read its balance record was copied from) to say whether it holds them (`scope.rs`:
    /// the clock margin), one by one: the fill's time, the signed amount, and whether the
    /// leg is a fee. That read was at one instant, so the legs it holds are the earliest
    /// of them (`balances.rs` tries each such prefix).
    #[serde(default)]
    pub uncertain: BTreeMap<Asset, Vec<(Millis, Decimal, bool)>>,
}

/// Whether a fill's leg in an asset counts toward its movement since the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counts {
    Yes,
    /// Within the clock margin of the baseline: it may be in it or not.
    Maybe,
    No,
}

impl Counts {
    /// A fill at `fill_time` against a balance read at `read_at` (the exchange's clock,
    /// known to within `margin`): after it, it counts; before it, the read holds it; within
    /// the margin, either.
    pub fn after_read(fill_time: Millis, read_at: Millis, margin: Millis) -> Self {
        if fill_time > read_at.saturating_add(margin) {
            Counts::Yes
        } else if fill_time >= read_at.saturating_sub(margin) {
            Counts::Maybe
        } else {
            Counts::No
        }
    }
}

impl Flows {
    pub fn add_fill(&mut self, t: &TradeRecord, base: &Asset, quote: &Asset) {
        self.add_fill_counted(t, base, quote, |_| Counts::Yes);
    }

    /// The legs of a fill in the assets `counts` accepts (a digest counts a fill only in
    /// the assets whose baseline it is not already in), those it is unsure of apart.
    pub fn add_fill_counted(
        &mut self,
        t: &TradeRecord,
        base: &Asset,
        quote: &Asset,
        counts: impl Fn(&Asset) -> Counts,
    ) {
        let sign = if t.side == crate::domain::Side::Buy {
            Decimal::ONE
        } else {
            Decimal::NEGATIVE_ONE
        };
        let mut legs = vec![
            (base, sign * t.qty, false),
            (quote, -sign * t.quote_qty, false),
        ];
        if !t.commission.is_zero() {
            legs.push((&t.commission_asset, -t.commission, true));
        }
        for (asset, amount, fee) in legs {
            let map = match (counts(asset), fee) {
                (Counts::No, _) => continue,
                (Counts::Maybe, _) => {
                    let legs = self.uncertain.entry(asset.clone()).or_default();
                    legs.push((t.time, amount, fee));
                    continue;
                }
                (Counts::Yes, false) => &mut self.trades,
                (Counts::Yes, true) => &mut self.fees,
            };
            *map.entry(asset.clone()).or_default() += amount;
        }
    }

    pub fn merge(&mut self, other: &Flows) {
        for (a, v) in &other.trades {
            *self.trades.entry(a.clone()).or_default() += v;
        }
        for (a, v) in &other.fees {
            *self.fees.entry(a.clone()).or_default() += v;
        }
        for (a, legs) in &other.uncertain {
            let mine = self.uncertain.entry(a.clone()).or_default();
            mine.extend(legs.iter().copied());
        }
    }

    /// The signed change of one asset from the fills too close to its baseline to tell.
    pub fn uncertain_of(&self, asset: &Asset) -> Decimal {
        self.uncertain
            .get(asset)
            .map_or(Decimal::ZERO, |legs| legs.iter().map(|(_, a, _)| *a).sum())
    }

    /// The total signed change of one asset.
    pub fn of(&self, asset: &Asset) -> Decimal {
        self.trades.get(asset).copied().unwrap_or_default()
            + self.fees.get(asset).copied().unwrap_or_default()
    }
}

/// Plan one unit of one symbol: the page of fills in `snapshot.history[symbol]` against
/// the records loaded for it (its trades in the page's range, its orders from the
/// watermark, the positions and dust of its base, its checkpoint). Pure.
pub fn plan_symbol(input: &ReconcileInput<'_>, symbol: &Symbol) -> SymbolPlan {
    let mut out = SymbolPlan {
        plan: Plan::default(),
        checkpoint: input
            .records
            .cursors
            .get(symbol)
            .cloned()
            .unwrap_or_else(|| crate::domain::CursorRecord::new(symbol.clone())),
        movement: Flows::default(),
        recovered: Flows::default(),
        needs_price: None,
    };
    let Some(read) = trades::plan_trades(input, symbol, &mut out) else {
        return out;
    };
    // Orders and the position only once the symbol is read to its end (the unit that
    // loaded its orders).
    // The holding left unchecked (no price, no trading rules) is kept in the checkpoint
    // (`holding_unchecked`), so that the next run reads the symbol again.
    let mut holding_unchecked = false;
    if read.complete {
        orders::plan_orders(input, symbol, &mut out.plan);
        match positions::plan_position(input, symbol, &read, &mut out.plan) {
            positions::PositionCheck::Done => {}
            positions::PositionCheck::NeedsPrice(s) => out.needs_price = Some(s),
            positions::PositionCheck::Unchecked => holding_unchecked = true,
        }
    }
    checkpoint::plan_checkpoint(input, symbol, &read, holding_unchecked, &mut out);
    out
}

/// Plan the account-wide balances step: the ledger's records of the flows read, and every
/// balance record against the exchange, the differences explained by the run's recovered
/// fills (`recovered`) and the flows. Pure.
pub fn plan_balances(input: &ReconcileInput<'_>, recovered: &Flows) -> Plan {
    plan_balances_with(input, recovered, &ledger::flow_moves(input))
}

/// [`plan_balances`] with the run's flow moves already computed (the shell needs them for
/// the digest too, and they walk every flow read under every reading).
pub fn plan_balances_with(
    input: &ReconcileInput<'_>,
    recovered: &Flows,
    moves: &ledger::FlowMoves,
) -> Plan {
    let mut plan = Plan::default();
    for skipped in &input.records.skipped {
        plan.discrepancies.push(malformed_item(skipped));
    }
    ledger::plan_ledger(input, &mut plan);
    balances::plan_balances(input, recovered, moves, &mut plan);
    plan
}

/// An item that does not decode: skipped (the run goes on) and reported with its key.
pub fn malformed_item(skipped: &crate::domain::SkippedItem) -> crate::domain::Discrepancy {
    crate::domain::Discrepancy {
        key: format!("malformed_item:{}", skipped.key),
        kind: "malformed_item".to_owned(),
        severity: crate::domain::Severity::Warning,
        symbol: None,
        asset: None,
        before: None,
        after: None,
        diff_pct: None,
        message: format!(
            "Item {} does not decode and was skipped: {}",
            skipped.key, skipped.detail
        ),
    }
}

/// Compare and plan everything at once: every symbol of `snapshot.history` read in one
/// page from an empty basis (so the basis is replayed from all of the records' trades),
/// then the balances. The from-scratch reference the units are tested against. Pure and
/// deterministic: the same input gives the same plan.
pub fn reconcile(input: &ReconcileInput<'_>) -> Plan {
    let mut plan = Plan::default();
    for symbol in &input.snapshot.unknown_symbols {
        plan.notes
            .push(format!("Symbol {symbol} unknown on exchange: skipped"));
    }
    let mut recovered = Flows::default();
    for symbol in input.snapshot.history.keys() {
        let unit = plan_symbol(input, symbol);
        recovered.merge(&unit.recovered);
        plan.corrections.extend(unit.plan.corrections);
        plan.discrepancies.extend(unit.plan.discrepancies);
        plan.explanations.extend(unit.plan.explanations);
        plan.notes.extend(unit.plan.notes);
    }
    let balances = plan_balances(input, &recovered);
    plan.corrections.extend(balances.corrections);
    plan.discrepancies.extend(balances.discrepancies);
    plan.explanations.extend(balances.explanations);
    plan.notes.extend(balances.notes);
    plan
}

/// Fills recovered by one unit (not in the records before), by (symbol, trade id).
pub type Recovered = BTreeMap<(Symbol, u64), TradeRecord>;

/// The `Expect` for a record read at `version` (None = absent).
pub fn expect_of(version: Option<u64>) -> Expect {
    version.map_or(Expect::Absent, Expect::Version)
}

/// The version a write made under `expect` carries.
pub fn next_version(expect: Expect) -> u64 {
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
