//! What a run reads, and in which order. Pure functions the shell calls between units.
//!
//! Rules (every one is in `docs/rules.md`):
//! - **The balances are ground truth**, `account.updateTime` is not relied on (it is not
//!   documented to move on every balance change). The sync state keeps a digest of every
//!   asset's free and locked amounts as last explained. An asset has *moved* when its total
//!   differs from the digest's baseline plus what the fills read since explain.
//! - **Periodic run.** Symbols are read in this order, each class ordered stalest first
//!   (oldest `covered_through`, never-read first):
//!   1. work in progress: a checkpoint whose last read stopped early, whose basis is
//!      being rebuilt, whose stored trades are being verified (`verify.rs`), or whose
//!      last read could not check the base's holding (no current price, no trading
//!      rules: `holding_unchecked`; a price missing for good costs its symbol's forward
//!      read and one price a run, and is noted each time), or that follows trades
//!      inserted with their fee unpriced (`fee_unpriced`: the unit re-prices them; a fee
//!      price missing for good costs the forward read and one klines request a run);
//!   2. evidence of change: a symbol never read whose base is held, in the records or
//!      configured; a symbol whose base moved; an *active* symbol (a fill within the
//!      periodic lookback, an open position, or orders open in the records) whose quote or
//!      fee asset moved; a symbol with open orders when a locked amount moved;
//!   3. rotation: the stalest of the rest, `rotation_per_run` of them (default: enough to
//!      cover every symbol within 24 hours at the schedule's rate).
//!
//!   A symbol in backoff (`retry_at` in the future) waits, so a failing unit cannot head
//!   every run; a symbol the exchange does not list is skipped and noted.
//!   A symbol whose last unit failed is work in progress once its backoff ends.
//! - **Detection bound.** A buy-then-sell round trip on an *inactive* symbol between two
//!   runs leaves its base unchanged and moves only the quote (and the fee asset), which
//!   does not select inactive symbols; the rotation reads it within 24 hours (the
//!   rotation's period), and the unit that reads it to its end plans its position.
//! - **Emergency run.** Every symbol whose checkpoint has not completed the current
//!   emergency scope (`emergency_done < requested_at`); the scope is persisted, so the
//!   runs after an interrupted one finish it in emergency mode first. A quiet symbol
//!   costs its forward read from the checkpoint (one request); a symbol active within
//!   the lookback is then re-scanned by 24-hour windows from the lookback's start
//!   (`rescan_range`), to find fills missing below its checkpoint: a window that returns
//!   a full page is halved, and a 1 ms span still full is read order by order
//!   (`orderId` + `fromId`, a documented combination).
//! - **An emergency owed.** The scope closes when a run reads it without stopping early; a
//!   symbol failing or backing off then does not hold it open (every run would be an
//!   emergency). The closed scope stays *owed* (`rescan_owed`) while a checkpoint of a
//!   listed symbol has not completed it: a periodic run reads such a symbol (once its
//!   backoff is over) as in the emergency, re-scan first, and its forward read to the end
//!   completes it. A checkpoint created after the scope closed does not owe it (its first
//!   read completes it). A newer emergency's scope, once closed, replaces the owed one.
//! - **Digest.** An asset's first digest is its balance as read, stamped with the
//!   exchange's time of the read (`since`): every fill before it is in it, so a fill
//!   counts toward an asset's movement only at or after its baseline's `since` (a fill
//!   read later, by a cut run or a lagging history, is not counted twice). Until every
//!   symbol of the asset (with a checkpoint, as its base, quote or fee asset, active or
//!   not) has been read to its end after that first baseline (`unread_since`), the asset
//!   counts as moved, its locked part too, so its symbols
//!   (and the open orders) are read, across as many runs as that takes.
//! - After the units, an asset's baseline advances to the exchange's amounts when the
//!   fills (and the transfers) read explain the movement exactly; otherwise the explained
//!   part is kept and the movement is looked for again next run. A run counts a *miss*
//!   when it read all its scope, or when every symbol the movement asks for (the asset's
//!   base symbols, and the active symbols it is the quote or a fee asset of) was read to
//!   its end since the movement was first seen (`moved_at`), in this run or earlier ones:
//!   an account with more such symbols than one run reads still gets there. After
//!   `unexplained_runs` misses the baseline advances and the rest is reported
//!   (`balance_unexplained:<ASSET>`), so no state repeats forever. A symbol failing its
//!   units is reported on its own and does not hold an asset back.

use super::{Flows, Mode, RulesConfig};
use crate::domain::{
    Asset, AssetDigest, Balance, BasisState, CursorRecord, Discrepancy, EmergencyScope,
    ExchangeOrder, Millis, OrderRecord, OrderStatus, PositionRecord, PositionStatus, Records,
    Severity, Symbol, SymbolInfo, SyncState,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const DAY_MS: Millis = 24 * 60 * 60 * 1000;

/// What moved since the digest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Movement {
    /// Assets whose total moved (a fill, a flow, a conversion).
    pub moved: BTreeSet<Asset>,
    /// Some locked amount moved (an order placed, cancelled or filled).
    pub locked_moved: bool,
}

impl Movement {
    pub fn is_quiet(&self) -> bool {
        self.moved.is_empty() && !self.locked_moved
    }
}

/// Compare the exchange's balances with the digest. An asset absent on one side counts as
/// zero there; an empty digest (first run) makes every held asset moved.
pub fn movement(
    digest: &BTreeMap<Asset, AssetDigest>,
    balances: &BTreeMap<Asset, Balance>,
) -> Movement {
    let mut out = Movement::default();
    let assets: BTreeSet<&Asset> = digest.keys().chain(balances.keys()).collect();
    for asset in assets {
        let (free, locked) = balances
            .get(asset)
            .map_or((Decimal::ZERO, Decimal::ZERO), |b| (b.free, b.locked));
        let d = digest.get(asset).cloned().unwrap_or_default();
        if free + locked != d.total() + d.explained || d.unread_since.is_some() {
            out.moved.insert(asset.clone());
        }
        // Locked amounts taken into a baseline before the asset's symbols were read may
        // hold orders the records do not know yet: the open orders are read until then.
        if locked != d.locked || (d.unread_since.is_some() && !locked.is_zero()) {
            out.locked_moved = true;
        }
    }
    out
}

/// Why a symbol is read this run (also its priority: lower first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadReason {
    InProgress,
    Emergency,
    NeverRead,
    BaseMoved,
    QuoteOrFeeMoved,
    OrdersMoved,
    Rotation,
}

/// What the scope decision needs.
#[derive(Debug, Clone)]
pub struct ScopeInput<'a> {
    pub mode: Mode,
    pub now: Millis,
    pub config: &'a RulesConfig,
    pub cursors: &'a BTreeMap<Symbol, CursorRecord>,
    pub positions: &'a BTreeMap<Symbol, PositionRecord>,
    /// The exchange's symbols (from the cached `exchangeInfo`).
    pub symbols: &'a BTreeMap<Symbol, SymbolInfo>,
    pub balances: &'a BTreeMap<Asset, Balance>,
    pub movement: &'a Movement,
    /// The exchange's open orders, when read this run.
    pub open_orders: Option<&'a [ExchangeOrder]>,
    pub emergency: Option<&'a EmergencyScope>,
    /// A closed emergency scope some checkpoints still owe (`rescan_owed`).
    pub owed: Option<&'a EmergencyScope>,
}

/// The run's reading list, and the symbols skipped because the exchange does not list them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub reads: Vec<(Symbol, ReadReason)>,
    pub unknown: BTreeSet<Symbol>,
    /// Symbols waiting out a backoff after a failed unit.
    pub backing_off: BTreeSet<Symbol>,
}

/// Every symbol the account may hold or trade: checkpoints, open positions, open orders,
/// configured extras, and every held asset paired with each configured quote (when the
/// exchange lists that symbol).
pub fn universe(input: &ScopeInput<'_>) -> BTreeSet<Symbol> {
    let mut out: BTreeSet<Symbol> = input.cursors.keys().cloned().collect();
    out.extend(
        input
            .positions
            .values()
            .filter(|p| p.status == PositionStatus::Open)
            .map(|p| p.symbol.clone()),
    );
    out.extend(input.config.extra_symbols.iter().cloned());
    if let Some(open) = input.open_orders {
        out.extend(open.iter().map(|o| o.symbol.clone()));
    }
    out.extend(held_symbols(input));
    out
}

fn held_symbols(input: &ScopeInput<'_>) -> BTreeSet<Symbol> {
    let quotes = &input.config.quote_assets;
    input
        .symbols
        .values()
        .filter(|i| quotes.contains(&i.quote) && !quotes.contains(&i.base))
        .filter(|i| {
            input
                .balances
                .get(&i.base)
                .is_some_and(|b| !b.total().is_zero())
        })
        .map(|i| i.symbol.clone())
        .collect()
}

/// Active: a fill within the periodic lookback, an open position, or orders open in the
/// records at the last read.
pub fn is_active(input: &ScopeInput<'_>, symbol: &Symbol, cursor: Option<&CursorRecord>) -> bool {
    active_at(input.config, input.now, input.positions, symbol, cursor)
}

/// `is_active` from its parts (the digest step has no `ScopeInput`).
fn active_at(
    config: &RulesConfig,
    now: Millis,
    positions: &BTreeMap<Symbol, PositionRecord>,
    symbol: &Symbol,
    cursor: Option<&CursorRecord>,
) -> bool {
    let lookback = Millis::from(config.periodic_lookback_days) * DAY_MS;
    cursor.is_some_and(|c| c.open_orders > 0 || c.last_fill_at.is_some_and(|t| t >= now - lookback))
        || positions
            .get(symbol)
            .is_some_and(|p| p.status == PositionStatus::Open)
}

/// Quiet symbols a periodic run rotates through: enough to cover `n` symbols within 24
/// hours at the schedule's rate, unless configured.
pub fn rotation_share(config: &RulesConfig, n: usize) -> usize {
    match config.rotation_per_run {
        Some(k) => k as usize,
        None => {
            let runs_per_day = (1440 / config.schedule_minutes.max(1)).max(1) as usize;
            n.div_ceil(runs_per_day)
        }
    }
}

/// The run's reading list, in order (see the module's rules).
pub fn plan_scope(input: &ScopeInput<'_>) -> Scope {
    let mut scope = Scope::default();
    let mut classed: Vec<(ReadReason, Option<Millis>, Symbol)> = Vec::new();
    let mut rest: Vec<(Option<Millis>, Symbol)> = Vec::new();
    let held = held_symbols(input);
    let exchange_open: BTreeSet<&Symbol> = input
        .open_orders
        .map(|o| o.iter().map(|o| &o.symbol).collect())
        .unwrap_or_default();
    for symbol in universe(input) {
        let Some(info) = input.symbols.get(&symbol) else {
            scope.unknown.insert(symbol);
            continue;
        };
        let cursor = input.cursors.get(&symbol);
        if cursor
            .and_then(|c| c.retry_at)
            .is_some_and(|t| t > input.now)
        {
            scope.backing_off.insert(symbol);
            continue;
        }
        let covered = cursor.and_then(|c| c.covered_through);
        let reason = read_reason(input, &symbol, info, cursor, &held, &exchange_open);
        match reason {
            Some(r) => classed.push((r, covered, symbol)),
            None => rest.push((covered, symbol)),
        }
    }
    classed.sort();
    scope.reads = classed.into_iter().map(|(r, _, s)| (s, r)).collect();
    if input.mode == Mode::Periodic {
        rest.sort();
        let n = scope.reads.len() + rest.len();
        let share = rotation_share(input.config, n);
        scope.reads.extend(
            rest.into_iter()
                .take(share)
                .map(|(_, s)| (s, ReadReason::Rotation)),
        );
    }
    super::positions::owners_last(
        &mut scope.reads,
        input.symbols,
        input.positions,
        &input.config.quote_assets,
    );
    scope
}

fn read_reason(
    input: &ScopeInput<'_>,
    symbol: &Symbol,
    info: &SymbolInfo,
    cursor: Option<&CursorRecord>,
    held: &BTreeSet<Symbol>,
    exchange_open: &BTreeSet<&Symbol>,
) -> Option<ReadReason> {
    if let Some(c) = cursor {
        // A verification of stored trades under way (`verify.rs`) is work in progress too.
        // A unit that failed left its page unapplied: once its backoff ends (a symbol in
        // backoff is skipped before this), it is work in progress, not rotation.
        if c.pending
            || c.orders_pending
            || c.failures > 0
            || c.holding_unchecked
            // Trades inserted with their fee unpriced are re-priced by the symbol's unit:
            // read while it follows one (`trades.rs`), as long as the price stays missing.
            || !c.fee_unpriced.is_empty()
            || c.basis_state == BasisState::Rebuilding
            || super::verify::pending(c).is_some()
        {
            return Some(ReadReason::InProgress);
        }
    }
    if let Some(scope) = input.emergency {
        if cursor.is_none_or(|c| owes(c, scope)) {
            return Some(ReadReason::Emergency);
        }
        return None;
    }
    if let (Some(owed), Some(c)) = (input.owed, cursor) {
        if owes(c, owed) {
            return Some(ReadReason::Emergency);
        }
    }
    if cursor.is_none() {
        // A symbol never read: read once if the account may trade it.
        let wanted = held.contains(symbol)
            || input.positions.contains_key(symbol)
            || exchange_open.contains(symbol)
            || input.config.extra_symbols.contains(symbol);
        return wanted.then_some(ReadReason::NeverRead);
    }
    let moved = &input.movement.moved;
    if moved.contains(&info.base) {
        return Some(ReadReason::BaseMoved);
    }
    if is_active(input, symbol, cursor) {
        let fee_moved = cursor.is_some_and(|c| c.fee_assets.iter().any(|a| moved.contains(a)));
        if moved.contains(&info.quote) || fee_moved {
            return Some(ReadReason::QuoteOrFeeMoved);
        }
    }
    let has_orders = exchange_open.contains(symbol) || cursor.is_some_and(|c| c.open_orders > 0);
    if input.movement.locked_moved && has_orders {
        return Some(ReadReason::OrdersMoved);
    }
    None
}

/// Whether a checkpoint has not completed an emergency scope.
pub fn owes(cursor: &CursorRecord, scope: &EmergencyScope) -> bool {
    cursor
        .emergency_done
        .is_none_or(|done| done < scope.requested_at)
}

/// The emergency scope still owed once a run ends: the scope this run closed (else the one
/// owed before) while a checkpoint of a symbol the exchange lists has not completed it;
/// None once every one has (see the module's rules). `symbols` empty: the run did not load
/// them (a quiet run), and the owed scope stays as it was.
pub fn rescan_owed(
    closing: Option<&EmergencyScope>,
    owed: Option<&EmergencyScope>,
    cursors: &BTreeMap<Symbol, CursorRecord>,
    symbols: &BTreeMap<Symbol, SymbolInfo>,
) -> Option<EmergencyScope> {
    if closing.is_none() && symbols.is_empty() {
        return owed.cloned();
    }
    closing
        .or(owed)
        .map(|scope| EmergencyScope {
            opened_by: None,
            ..scope.clone()
        })
        .filter(|scope| {
            cursors
                .iter()
                .any(|(s, c)| symbols.contains_key(s) && owes(c, scope))
        })
}

/// The re-scan an emergency owes a symbol after its forward read: the time range
/// `[from, to)` of its fills still to re-read by 24-hour windows, when the symbol was
/// active within the lookback (a fill since `lookback_start`); None for a quiet symbol
/// (its forward read from the checkpoint is all it costs) or a finished re-scan.
pub fn rescan_range(cursor: &CursorRecord, scope: &EmergencyScope) -> Option<(Millis, Millis)> {
    if !owes(cursor, scope) {
        return None;
    }
    // Active within the lookback, or a checkpoint of the previous layout whose fills' times
    // are unknown (it has trades, no fill time): re-scanned once to know.
    let active = match cursor.last_fill_at {
        Some(t) => t >= scope.lookback_start,
        None => cursor.last_trade_id.is_some(),
    };
    if !active {
        return None;
    }
    // Through `covered_through` itself (windows are half-open).
    let to = cursor.covered_through?.saturating_add(1);
    let from = match (cursor.rescan_for, cursor.rescan_through) {
        (Some(f), Some(t)) if f == scope.requested_at => t.max(scope.lookback_start),
        _ => scope.lookback_start,
    };
    (from < to).then_some((from, to))
}

/// The orders a symbol unit looks up one by one (`GET /api/v3/order`): open or unknown in
/// the records and not among the exchange's open orders (all of them when the open orders
/// were not read this run), nor finished in the page of the order history read. An order unknown for `unknown_order_runs` runs or more is
/// looked up with backoff: once its last lookup is older than 2^(runs − limit) hours
/// (at most a day), so it never makes every run pay for it. Sorted.
pub fn orders_to_query(
    orders: &BTreeMap<(Symbol, u64), OrderRecord>,
    open_orders: Option<&[ExchangeOrder]>,
    history: Option<&crate::domain::OrderPage>,
    config: &RulesConfig,
    now: Millis,
) -> Vec<(Symbol, u64)> {
    let open: BTreeSet<(&Symbol, u64)> = open_orders
        .unwrap_or_default()
        .iter()
        .map(|o| (&o.symbol, o.order_id))
        .collect();
    // The order history's final states need no lookup (`orders.rs` takes them).
    let settled: BTreeSet<(&Symbol, u64)> = history
        .map(|p| p.orders.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|o| o.status.is_terminal())
        .map(|o| (&o.symbol, o.order_id))
        .collect();
    orders
        .iter()
        .filter(|(_, o)| o.status.is_open() || o.status == OrderStatus::Unknown)
        .filter(|((s, id), _)| !open.contains(&(s, *id)) && !settled.contains(&(s, *id)))
        .filter(|(_, o)| {
            o.status != OrderStatus::Unknown || o.unknown_runs < config.unknown_order_runs || {
                let over = o.unknown_runs - config.unknown_order_runs;
                let wait = (3_600_000 as Millis) << over.min(5);
                now - o.updated_at >= wait.min(DAY_MS)
            }
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// A periodic run refuses to start within `min_interval_ms` of the last success. An
/// emergency run is never too soon.
pub fn too_soon(state: &SyncState, now: Millis, min_interval_ms: Millis, mode: Mode) -> bool {
    mode == Mode::Periodic
        && state
            .last_success_at
            .is_some_and(|t| now - t < min_interval_ms)
}

/// The backoff after `failures` failed units in a row: 30 minutes doubling, at most a day.
pub fn retry_after(failures: u32) -> Millis {
    let base: Millis = 30 * 60 * 1000;
    (base << failures.saturating_sub(1).min(6)).min(DAY_MS)
}

/// What the digest step needs.
#[derive(Debug, Clone)]
pub struct DigestInput<'a> {
    pub digest: &'a BTreeMap<Asset, AssetDigest>,
    pub balances: &'a BTreeMap<Asset, Balance>,
    /// Signed movement explained by every fill read past its checkpoint this run (each
    /// leg only in the assets whose baseline was read before the fill).
    pub movement: &'a Flows,
    /// Signed movement explained by this run's flows (deposits +, withdrawals −, ...),
    /// under each reading of what the docs leave open (`ledger.rs`): any of them explains.
    pub flows: &'a super::ledger::FlowMoves,
    /// The checkpoints after the run's units, the exchange's symbols and the records'
    /// positions: which symbols a movement of an asset asks for, and whether they were
    /// read to their end since it was seen.
    pub cursors: &'a BTreeMap<Symbol, CursorRecord>,
    pub symbols: &'a BTreeMap<Symbol, SymbolInfo>,
    pub positions: &'a BTreeMap<Symbol, PositionRecord>,
    /// Whether the open orders were read (a locked-only change is then explained).
    pub open_orders_read: bool,
    /// The run read everything its scope asked for (no deadline or budget stop): a
    /// movement still unexplained is then a miss even if not every symbol of the asset was
    /// read (an inactive symbol's round trip is the rotation's to find).
    pub run_complete: bool,
    /// The sync's clock when the balances were read (`moved_at`), and the exchange's
    /// (`since` of a baseline taken now).
    pub now: Millis,
    pub server_time: Millis,
    pub config: &'a RulesConfig,
}

/// Which symbols of an asset must have been read since a time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// Every symbol with a checkpoint it is the base, quote or a fee asset of (a first
    /// baseline: any of them may hold what the records lack).
    All,
    /// Those a movement of it has the periodic scope read: those of its base, and the
    /// active ones it is the quote or a fee asset of (see `read_reason`).
    Movement,
}

fn symbols_of<'a>(input: &'a DigestInput<'_>, asset: &Asset, reads: Reads) -> Vec<&'a Symbol> {
    input
        .symbols
        .values()
        .filter(|i| {
            let cursor = input.cursors.get(&i.symbol);
            let active = reads == Reads::All
                || active_at(input.config, input.now, input.positions, &i.symbol, cursor);
            let fee = cursor.is_some_and(|c| c.fee_assets.contains(asset));
            cursor.is_some() && (&i.base == asset || (active && (&i.quote == asset || fee)))
        })
        .map(|i| &i.symbol)
        .collect()
}

/// Every symbol a movement of `asset` asks for was read to its end at or after `at`, in
/// this run or earlier ones (a symbol failing its units is reported as such and does
/// not hold the asset back).
fn read_since(input: &DigestInput<'_>, asset: &Asset, at: Millis, reads: Reads) -> bool {
    symbols_of(input, asset, reads).into_iter().all(|s| {
        input.cursors.get(s).is_none_or(|c| {
            c.failures > 0
                || c.covered_through
                    .is_some_and(|t| t + input.config.history_lag_ms >= at)
        })
    })
}

/// The digest after the run, and the movements reported as unexplained.
pub fn advance_digest(input: &DigestInput<'_>) -> (BTreeMap<Asset, AssetDigest>, Vec<Discrepancy>) {
    let mut out = BTreeMap::new();
    let mut reports = Vec::new();
    let assets: BTreeSet<&Asset> = input.digest.keys().chain(input.balances.keys()).collect();
    for asset in assets {
        let (free, locked) = input
            .balances
            .get(asset)
            .map_or((Decimal::ZERO, Decimal::ZERO), |b| (b.free, b.locked));
        let baseline = |unread_since| AssetDigest {
            free,
            locked,
            explained: Decimal::ZERO,
            misses: 0,
            since: input.server_time,
            moved_at: None,
            unread_since,
            uncertain: Decimal::ZERO,
        };
        let Some(old) = input.digest.get(asset) else {
            // An asset's first digest is what the account holds: fills before it are in
            // it, and only later fills count against it. Until its symbols were read to
            // their end, it stays moved.
            let unread = Some(input.now).filter(|t| !read_since(input, asset, *t, Reads::All));
            let first = baseline(unread);
            if !first.total().is_zero() {
                out.insert(asset.clone(), first);
            }
            continue;
        };
        let unread = old
            .unread_since
            .filter(|t| !read_since(input, asset, *t, Reads::All));
        let explained = old.explained + input.movement.of(asset);
        let uncertain = old.uncertain + input.movement.uncertain_of(asset);
        let total = free + locked;
        // Fills within the clock margin of the baseline: in it, or not. The baseline was
        // read at one instant, so it holds the earliest of this run's such legs: each
        // reading "the first k are in it, the rest moved" is tried, with the legs an
        // earlier run kept (a sum) in it or not.
        let mut legs = input
            .movement
            .uncertain
            .get(asset)
            .cloned()
            .unwrap_or_default();
        legs.sort_by_key(|(time, _, _)| *time);
        let readings: Vec<Decimal> = (0..=legs.len())
            .flat_map(|k| {
                let moved: Decimal = legs[k..].iter().map(|(_, a, _)| *a).sum();
                [moved, moved + old.uncertain]
            })
            .collect();
        let explains = |extra: Decimal| {
            readings
                .iter()
                .any(|u| total == old.total() + explained + u + extra)
        };
        let readings = input.flows.totals(asset);
        let transfer = readings
            .iter()
            .copied()
            .find(|t| explains(*t))
            .unwrap_or(readings[0]);
        let locked_ok = locked == old.locked || input.open_orders_read;
        let matches = explains(Decimal::ZERO) || (!transfer.is_zero() && explains(transfer));
        let moved_at = old.moved_at.unwrap_or(input.now);
        let next = if matches && locked_ok {
            baseline(unread)
        } else if matches {
            // Totals explained; the locked part waits for an open-orders read.
            AssetDigest {
                explained,
                uncertain,
                unread_since: unread,
                ..old.clone()
            }
        } else if input.run_complete || read_since(input, asset, moved_at, Reads::Movement) {
            let misses = old.misses.saturating_add(1);
            if misses >= input.config.unexplained_runs {
                let rest = total - (old.total() + explained + transfer);
                reports.push(Discrepancy {
                    key: format!("balance_unexplained:{asset}"),
                    kind: "balance_unexplained".to_owned(),
                    severity: Severity::Warning,
                    symbol: None,
                    asset: Some(asset.clone()),
                    before: Some((old.total() + explained).normalize().to_string()),
                    after: Some(total.normalize().to_string()),
                    diff_pct: None,
                    message: format!(
                        "{asset} moved by {} that no fill or transfer read explains",
                        rest.normalize()
                    ),
                });
                baseline(unread)
            } else {
                AssetDigest {
                    explained,
                    uncertain,
                    misses,
                    moved_at: Some(moved_at),
                    unread_since: unread,
                    ..old.clone()
                }
            }
        } else {
            AssetDigest {
                explained,
                uncertain,
                moved_at: Some(moved_at),
                unread_since: unread,
                ..old.clone()
            }
        };
        let empty = next.total().is_zero()
            && next.explained.is_zero()
            && next.uncertain.is_zero()
            && next.misses == 0
            && next.unread_since.is_none();
        if !empty {
            out.insert(asset.clone(), next);
        }
    }
    (out, reports)
}

/// Symbols not covered for longer than the configured age (the `SymbolsUncovered`
/// metric and alarm), with their age in hours. A symbol never read counts from now.
pub fn uncovered(
    cursors: &BTreeMap<Symbol, CursorRecord>,
    config: &RulesConfig,
    now: Millis,
) -> Vec<(Symbol, Millis)> {
    let limit = Millis::from(config.uncovered_alarm_hours) * 3_600_000;
    cursors
        .values()
        .filter_map(|c| {
            let at = c.covered_through?;
            (now - at > limit).then(|| (c.symbol.clone(), (now - at) / 3_600_000))
        })
        .collect()
}

/// The records' view needed for the scope (kept for the CLI's `status`).
pub fn open_positions(records: &Records) -> usize {
    records
        .positions
        .values()
        .filter(|p| p.status == PositionStatus::Open)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;
    use rust_decimal_macros::dec;

    fn bal(a: &str, free: Decimal, locked: Decimal) -> (Asset, Balance) {
        (
            asset(a),
            Balance {
                asset: asset(a),
                free,
                locked,
            },
        )
    }

    fn cursor_at(s: &str, covered: Millis, last_fill: Option<Millis>) -> CursorRecord {
        CursorRecord {
            covered_through: Some(covered),
            last_fill_at: last_fill,
            last_trade_id: last_fill.map(|_| 1),
            verify: None,
            version: 1,
            ..CursorRecord::new(sym(s))
        }
    }

    fn infos(names: &[(&str, &str)]) -> BTreeMap<Symbol, SymbolInfo> {
        names
            .iter()
            .map(|(b, q)| {
                let i = symbol_info(b, q, dec!(0.0001), dec!(5));
                (i.symbol.clone(), i)
            })
            .collect()
    }

    #[test]
    fn unchanged_balances_are_quiet_and_a_moved_quote_is_not_a_moved_base() {
        let balances: BTreeMap<_, _> =
            [bal("BTC", dec!(1), dec!(0)), bal("USDT", dec!(10), dec!(0))]
                .into_iter()
                .collect();
        let digest: BTreeMap<_, _> = balances
            .values()
            .map(|b| {
                (
                    b.asset.clone(),
                    AssetDigest {
                        free: b.free,
                        locked: b.locked,
                        ..AssetDigest::default()
                    },
                )
            })
            .collect();
        assert!(movement(&digest, &balances).is_quiet());
        let mut moved = balances.clone();
        moved.insert(asset("USDT"), bal("USDT", dec!(9), dec!(1)).1);
        let m = movement(&digest, &moved);
        assert_eq!(
            m.moved,
            BTreeSet::new(),
            "total unchanged: only locked moved"
        );
        assert!(m.locked_moved);
        moved.insert(asset("USDT"), bal("USDT", dec!(11), dec!(0)).1);
        assert_eq!(movement(&digest, &moved).moved, [asset("USDT")].into());
    }

    #[test]
    fn evidence_first_then_stalest_rotation_and_backoff_waits() {
        let config = RulesConfig {
            rotation_per_run: Some(1),
            ..RulesConfig::default()
        };
        let now = 100 * DAY_MS;
        let symbols = infos(&[
            ("AAA", "USDT"),
            ("BBB", "USDT"),
            ("CCC", "USDT"),
            ("XRP", "USDT"),
        ]);
        let mut cursors = BTreeMap::new();
        for (s, covered) in [
            ("AAAUSDT", now - 10),
            ("BBBUSDT", now - 1000),
            ("CCCUSDT", now - 5),
        ] {
            cursors.insert(sym(s), cursor_at(s, covered, None));
        }
        let mut failing = cursor_at("XRPUSDT", now - 99_999, Some(now - DAY_MS));
        failing.retry_at = Some(now + 1);
        cursors.insert(sym("XRPUSDT"), failing);
        let balances = BTreeMap::new();
        let movement = Movement {
            moved: [asset("CCC")].into(),
            locked_moved: false,
        };
        let scope = periodic(&config, now, &cursors, &symbols, &balances, &movement);
        assert_eq!(
            scope.reads,
            vec![
                (sym("CCCUSDT"), ReadReason::BaseMoved),
                (sym("BBBUSDT"), ReadReason::Rotation)
            ]
        );
        assert_eq!(scope.backing_off, [sym("XRPUSDT")].into());
    }

    /// Pair 1397's second half: a quiet symbol whose holding its last read could not
    /// check is read by the next periodic run, ahead of the rotation.
    #[test]
    fn a_symbol_whose_holding_was_left_unchecked_is_read_next_run() {
        let config = RulesConfig {
            rotation_per_run: Some(0),
            ..RulesConfig::default()
        };
        let now = 100 * DAY_MS;
        let symbols = infos(&[("AAA", "USDT"), ("DOT", "USDT")]);
        let mut cursors = BTreeMap::new();
        cursors.insert(sym("AAAUSDT"), cursor_at("AAAUSDT", now - 10, None));
        let unchecked = CursorRecord {
            holding_unchecked: true,
            ..cursor_at("DOTUSDT", now - 10, None)
        };
        cursors.insert(sym("DOTUSDT"), unchecked);
        let balances = BTreeMap::new();
        let scope = periodic(
            &config,
            now,
            &cursors,
            &symbols,
            &balances,
            &Movement::default(),
        );
        assert_eq!(scope.reads, vec![(sym("DOTUSDT"), ReadReason::InProgress)]);
    }

    /// A quiet symbol whose checkpoint follows a trade inserted with its fee unpriced is
    /// read by the next periodic run, ahead of the rotation: its unit re-prices the fee.
    #[test]
    fn a_symbol_following_an_unpriced_fee_is_read_next_run() {
        let config = RulesConfig {
            rotation_per_run: Some(0),
            ..RulesConfig::default()
        };
        let now = 100 * DAY_MS;
        let symbols = infos(&[("AAA", "USDT"), ("DOT", "USDT")]);
        let mut cursors = BTreeMap::new();
        cursors.insert(sym("AAAUSDT"), cursor_at("AAAUSDT", now - 10, None));
        let following = CursorRecord {
            fee_unpriced: vec![crate::domain::UnpricedFee {
                trade_id: 7,
                time: now - 10,
                asset: Asset::parse("BNB").expect("asset"),
            }],
            ..cursor_at("DOTUSDT", now - 10, None)
        };
        cursors.insert(sym("DOTUSDT"), following);
        let scope = periodic(
            &config,
            now,
            &cursors,
            &symbols,
            &BTreeMap::new(),
            &Movement::default(),
        );
        assert_eq!(scope.reads, vec![(sym("DOTUSDT"), ReadReason::InProgress)]);
    }

    static NO_POSITIONS: BTreeMap<Symbol, PositionRecord> = BTreeMap::new();
    static NO_BALANCES: BTreeMap<Asset, Balance> = BTreeMap::new();

    /// A periodic run's input with no positions, no balances, no open orders read and no
    /// emergency; a test sets what else it needs (`ScopeInput { .., ..periodic_input(..) }`).
    fn periodic_input<'a>(
        config: &'a RulesConfig,
        now: Millis,
        cursors: &'a BTreeMap<Symbol, CursorRecord>,
        symbols: &'a BTreeMap<Symbol, SymbolInfo>,
        movement: &'a Movement,
    ) -> ScopeInput<'a> {
        ScopeInput {
            mode: Mode::Periodic,
            now,
            config,
            cursors,
            positions: &NO_POSITIONS,
            symbols,
            balances: &NO_BALANCES,
            movement,
            open_orders: None,
            emergency: None,
            owed: None,
        }
    }

    /// The scope of a periodic run with no positions, no open orders read and no
    /// emergency.
    fn periodic(
        config: &RulesConfig,
        now: Millis,
        cursors: &BTreeMap<Symbol, CursorRecord>,
        symbols: &BTreeMap<Symbol, SymbolInfo>,
        balances: &BTreeMap<Asset, Balance>,
        movement: &Movement,
    ) -> Scope {
        plan_scope(&ScopeInput {
            balances,
            ..periodic_input(config, now, cursors, symbols, movement)
        })
    }

    #[test]
    fn a_closed_emergency_stays_owed_by_the_checkpoints_that_did_not_complete_it() {
        let scope = EmergencyScope {
            requested_at: 50 * DAY_MS,
            lookback_start: 20 * DAY_MS,
            opened_by: None,
        };
        let symbols = infos(&[("AAA", "USDT"), ("BBB", "USDT")]);
        let done = |s: &str, at: Option<Millis>| CursorRecord {
            emergency_done: at,
            ..cursor_at(s, 49 * DAY_MS, None)
        };
        let mut cursors: BTreeMap<Symbol, CursorRecord> = [
            (sym("AAAUSDT"), done("AAAUSDT", Some(scope.requested_at))),
            (
                sym("BBBUSDT"),
                done("BBBUSDT", Some(scope.requested_at - 1)),
            ),
            // Not listed any more: never read again, so it holds nothing.
            (sym("OLDUSDT"), done("OLDUSDT", None)),
        ]
        .into();
        assert_eq!(
            rescan_owed(Some(&scope), None, &cursors, &symbols),
            Some(scope.clone()),
            "BBBUSDT completed only an older scope"
        );
        assert_eq!(
            rescan_owed(None, Some(&scope), &cursors, &BTreeMap::new()),
            Some(scope.clone()),
            "a run that loaded no symbols keeps it"
        );
        cursors.insert(
            sym("BBBUSDT"),
            done("BBBUSDT", Some(scope.requested_at + 7)),
        );
        assert_eq!(
            rescan_owed(None, Some(&scope), &cursors, &symbols),
            None,
            "every listed checkpoint completed it"
        );
        let newer = EmergencyScope {
            requested_at: 60 * DAY_MS,
            lookback_start: 30 * DAY_MS,
            opened_by: None,
        };
        assert_eq!(
            rescan_owed(Some(&newer), Some(&scope), &cursors, &symbols),
            Some(newer.clone()),
            "a newer scope closing replaces the owed one"
        );
    }

    #[test]
    fn a_periodic_run_reads_a_symbol_owing_a_closed_emergency_first() {
        let config = RulesConfig {
            rotation_per_run: Some(0),
            ..RulesConfig::default()
        };
        let now = 100 * DAY_MS;
        let owed = EmergencyScope {
            requested_at: now - DAY_MS,
            lookback_start: now - 31 * DAY_MS,
            opened_by: None,
        };
        let symbols = infos(&[("AAA", "USDT"), ("BBB", "USDT")]);
        let mut cursors = BTreeMap::new();
        cursors.insert(sym("AAAUSDT"), cursor_at("AAAUSDT", now - 10, None));
        let mut completed = cursor_at("BBBUSDT", now - 10, None);
        completed.emergency_done = Some(owed.requested_at);
        cursors.insert(sym("BBBUSDT"), completed);
        let movement = Movement::default();
        let input = ScopeInput {
            owed: Some(&owed),
            ..periodic_input(&config, now, &cursors, &symbols, &movement)
        };
        assert_eq!(
            plan_scope(&input).reads,
            vec![(sym("AAAUSDT"), ReadReason::Emergency)]
        );
        assert!(plan_scope(&ScopeInput {
            owed: None,
            ..input
        })
        .reads
        .is_empty());
    }

    /// What every digest test leaves empty: no transfers, checkpoints, symbols or positions.
    #[derive(Default)]
    struct Nothing {
        transfers: crate::core::ledger::FlowMoves,
        cursors: BTreeMap<Symbol, CursorRecord>,
        symbols: BTreeMap<Symbol, SymbolInfo>,
        positions: BTreeMap<Symbol, PositionRecord>,
    }

    impl Nothing {
        /// A digest step with nothing but `digest`, `balances` and `movement`, at `now`
        /// (the exchange's clock 1 s behind); tests override the rest.
        fn input<'a>(
            &'a self,
            config: &'a RulesConfig,
            digest: &'a BTreeMap<Asset, AssetDigest>,
            balances: &'a BTreeMap<Asset, Balance>,
            movement: &'a Flows,
            now: Millis,
        ) -> DigestInput<'a> {
            DigestInput {
                digest,
                balances,
                movement,
                flows: &self.transfers,
                cursors: &self.cursors,
                symbols: &self.symbols,
                positions: &self.positions,
                open_orders_read: false,
                run_complete: false,
                now,
                server_time: now - 1_000,
                config,
            }
        }
    }

    #[test]
    fn digest_advances_when_explained_and_reports_after_repeated_misses() {
        let config = RulesConfig::default();
        let digest: BTreeMap<_, _> = [(
            asset("BTC"),
            AssetDigest {
                free: dec!(1),
                ..AssetDigest::default()
            },
        )]
        .into();
        let balances: BTreeMap<_, _> = [bal("BTC", dec!(1.5), dec!(0))].into_iter().collect();
        let mut flows = Flows::default();
        flows.trades.insert(asset("BTC"), dec!(0.5));
        let nothing = Nothing::default();
        let input = nothing.input(&config, &digest, &balances, &flows, 5_000);
        let (next, reports) = advance_digest(&input);
        assert_eq!(next[&asset("BTC")].free, dec!(1.5));
        assert!(reports.is_empty());

        let empty = Flows::default();
        let mut d = digest.clone();
        for run in 1..=config.unexplained_runs {
            let (next, reports) = advance_digest(&DigestInput {
                digest: &d,
                movement: &empty,
                ..input.clone()
            });
            if run < config.unexplained_runs {
                assert!(reports.is_empty(), "run {run}");
                assert_eq!(next[&asset("BTC")].free, dec!(1), "baseline kept");
            } else {
                assert_eq!(reports[0].key, "balance_unexplained:BTC");
                assert_eq!(next[&asset("BTC")].free, dec!(1.5), "baseline advanced");
            }
            d = next;
        }
    }

    /// An order the page of the order history shows finished needs no lookup (its record
    /// is settled from the page); one the page shows still open (it may lag) does.
    #[test]
    fn an_order_the_order_history_shows_finished_is_not_looked_up() {
        let config = RulesConfig::default();
        let mut orders = BTreeMap::new();
        for id in [1, 2] {
            orders.insert(
                (sym("BTCUSDT"), id),
                order_rec("BTCUSDT", id, OrderStatus::New, dec!(1), dec!(0)),
            );
        }
        let shown = |id, status| bot_order(id, status, dec!(0));
        let page = crate::domain::OrderPage {
            from_order_id: 1,
            orders: vec![shown(1, OrderStatus::Canceled), shown(2, OrderStatus::New)],
            complete: true,
        };
        assert_eq!(
            orders_to_query(&orders, None, Some(&page), &config, 1_000),
            vec![(sym("BTCUSDT"), 2)]
        );
    }

    #[test]
    fn unknown_order_lookups_back_off_once_reported() {
        let config = RulesConfig::default();
        let mut orders = BTreeMap::new();
        let mut o = order_rec("BTCUSDT", 2, OrderStatus::Unknown, dec!(1), dec!(0));
        o.unknown_runs = config.unknown_order_runs;
        o.updated_at = 1_000;
        orders.insert((sym("BTCUSDT"), 2), o);
        orders.insert(
            (sym("BTCUSDT"), 1),
            order_rec("BTCUSDT", 1, OrderStatus::New, dec!(1), dec!(0)),
        );
        assert_eq!(
            orders_to_query(&orders, None, None, &config, 1_000 + 60_000),
            vec![(sym("BTCUSDT"), 1)]
        );
        assert_eq!(
            orders_to_query(&orders, None, None, &config, 1_000 + 3_600_000).len(),
            2
        );
    }

    /// A fill near the baseline, in it (the balances held it when read) or not: the
    /// movement is explained either way, across runs too, and nothing is reported.
    #[test]
    fn a_fill_near_the_baseline_explains_the_movement_in_it_or_not() {
        let config = RulesConfig::default();
        let nothing = Nothing::default();
        let digest: BTreeMap<_, _> = [(
            asset("USDT"),
            AssetDigest {
                free: dec!(100),
                ..AssetDigest::default()
            },
        )]
        .into();
        let near = Flows {
            uncertain: [(asset("USDT"), vec![(0, dec!(-10), false)])].into(),
            ..Flows::default()
        };
        for (held, label) in [(dec!(90), "not in the baseline"), (dec!(100), "in it")] {
            let balances: BTreeMap<_, _> = [bal("USDT", held, dec!(0))].into_iter().collect();
            let (after, reports) =
                advance_digest(&nothing.input(&config, &digest, &balances, &near, 5_000));
            let d = &after[&asset("USDT")];
            assert_eq!(
                (d.free, d.misses, d.moved_at, d.uncertain),
                (held, 0, None, dec!(0)),
                "{label}: the baseline advances"
            );
            assert!(reports.is_empty());
        }
        // Neither: the uncertain part is kept for the runs after, like the explained one.
        let balances: BTreeMap<_, _> = [bal("USDT", dec!(80), dec!(0))].into_iter().collect();
        let (after, _) = advance_digest(&nothing.input(&config, &digest, &balances, &near, 5_000));
        let d = &after[&asset("USDT")];
        assert_eq!((d.free, d.uncertain), (dec!(100), dec!(-10)));
        // The next run reads a sure fill of -10: with the uncertain one it explains 80.
        let sure = Flows {
            trades: [(asset("USDT"), dec!(-10))].into(),
            ..Flows::default()
        };
        let (after, _) = advance_digest(&nothing.input(&config, &after, &balances, &sure, 6_000));
        assert_eq!(after[&asset("USDT")].free, dec!(80));
        assert_eq!(after[&asset("USDT")].uncertain, dec!(0));
    }

    /// Two fills near the baseline, the earlier in it and the later not (a lagging fill
    /// from before the read, and one just after it): the baseline held the earliest, so
    /// "the first one in it, the second moved" explains the movement, and nothing is
    /// reported; neither "both" nor "none" would.
    #[test]
    fn of_two_fills_near_the_baseline_the_earlier_may_be_in_it_and_the_later_not() {
        let config = RulesConfig::default();
        let nothing = Nothing::default();
        let digest: BTreeMap<_, _> = [(
            asset("BTC"),
            AssetDigest {
                free: dec!(1),
                ..AssetDigest::default()
            },
        )]
        .into();
        let near = Flows {
            // Listed later first: the readings follow the fills' times, not their order.
            uncertain: [(
                asset("BTC"),
                vec![(20, dec!(0.001), false), (10, dec!(-0.5), false)],
            )]
            .into(),
            ..Flows::default()
        };
        let balances: BTreeMap<_, _> = [bal("BTC", dec!(1.001), dec!(0))].into_iter().collect();
        let (after, reports) =
            advance_digest(&nothing.input(&config, &digest, &balances, &near, 5_000));
        let d = &after[&asset("BTC")];
        assert_eq!(
            (d.free, d.misses, d.moved_at, d.uncertain),
            (dec!(1.001), 0, None, dec!(0))
        );
        assert!(reports.is_empty());
        // The later fill in the baseline and the earlier not cannot be: that reading is
        // not tried.
        let balances: BTreeMap<_, _> = [bal("BTC", dec!(0.5), dec!(0))].into_iter().collect();
        let (after, _) = advance_digest(&nothing.input(&config, &digest, &balances, &near, 5_000));
        assert_eq!(after[&asset("BTC")].moved_at, Some(5_000));
    }

    #[test]
    fn too_soon_only_for_periodic_runs() {
        let state = SyncState {
            last_success_at: Some(1_000),
            ..SyncState::default()
        };
        assert!(too_soon(&state, 1_500, 1_000, Mode::Periodic));
        assert!(!too_soon(&state, 2_000, 1_000, Mode::Periodic));
        assert!(!too_soon(&state, 1_500, 1_000, Mode::Emergency));
    }

    /// A quote moved on an account whose runs never read all its symbols at once (more
    /// active symbols than one run's budget): the symbols read in earlier runs count, so
    /// the movement becomes a miss, then a report, and the asset goes quiet.
    #[test]
    fn unexplained_movement_is_missed_once_its_symbols_were_read_across_runs() {
        let config = RulesConfig::default();
        let symbols = infos(&[("AAA", "USDT"), ("BBB", "USDT")]);
        let digest: BTreeMap<_, _> = [(
            asset("USDT"),
            AssetDigest {
                free: dec!(100),
                ..AssetDigest::default()
            },
        )]
        .into();
        let balances: BTreeMap<_, _> = [bal("USDT", dec!(90), dec!(0))].into_iter().collect();
        let nothing = Nothing::default();
        // Both symbols active; run 1 (cut) reads AAA only, run 2 (cut) reads BBB only.
        let t1 = 10 * DAY_MS;
        let t2 = t1 + 1_800_000;
        let lag = config.history_lag_ms;
        let cursors: BTreeMap<_, _> = [
            (
                sym("AAAUSDT"),
                cursor_at("AAAUSDT", t1 + 5 - lag, Some(t1 - 1)),
            ),
            (
                sym("BBBUSDT"),
                cursor_at("BBBUSDT", t1 - DAY_MS, Some(t1 - 1)),
            ),
        ]
        .into();
        let flows = Flows::default();
        let input = DigestInput {
            cursors: &cursors,
            symbols: &symbols,
            ..nothing.input(&config, &digest, &balances, &flows, t1)
        };
        let (after1, reports) = advance_digest(&input);
        let d = &after1[&asset("USDT")];
        assert_eq!((d.misses, d.moved_at, d.free), (0, Some(t1), dec!(100)));
        assert!(reports.is_empty());

        let mut later = cursors.clone();
        later.insert(
            sym("BBBUSDT"),
            cursor_at("BBBUSDT", t2 + 5 - lag, Some(t1 - 1)),
        );
        let mut d = after1;
        let mut reported = None;
        for run in 0..config.unexplained_runs {
            let (next, reports) = advance_digest(&DigestInput {
                digest: &d,
                cursors: &later,
                now: t2 + Millis::from(run) * 1_800_000,
                ..input.clone()
            });
            if !reports.is_empty() {
                reported = Some(run + 1);
            }
            d = next;
        }
        assert_eq!(
            reported,
            Some(config.unexplained_runs),
            "reported once missed enough"
        );
        let d = &d[&asset("USDT")];
        assert_eq!(
            (d.free, d.misses, d.moved_at),
            (dec!(90), 0, None),
            "quiet again"
        );
    }

    /// An asset seen for the first time takes its baseline at once, with the exchange's
    /// time: a fill before it (read later, by a cut run or a late history) is in it.
    #[test]
    fn first_digest_is_taken_at_once_with_the_exchange_time() {
        let config = RulesConfig::default();
        let balances: BTreeMap<_, _> = [bal("ETH", dec!(2), dec!(0.5))].into_iter().collect();
        let (nothing, flows, empty) = (Nothing::default(), Flows::default(), BTreeMap::new());
        let (next, reports) =
            advance_digest(&nothing.input(&config, &empty, &balances, &flows, 9_000));
        assert!(reports.is_empty());
        assert_eq!(
            next[&asset("ETH")],
            AssetDigest {
                free: dec!(2),
                locked: dec!(0.5),
                since: 8_000,
                ..AssetDigest::default()
            }
        );
    }

    /// A periodic run's scope with positions and the exchange's open orders.
    fn periodic_with(
        config: &RulesConfig,
        now: Millis,
        cursors: &BTreeMap<Symbol, CursorRecord>,
        positions: &BTreeMap<Symbol, PositionRecord>,
        symbols: &BTreeMap<Symbol, SymbolInfo>,
        movement: &Movement,
        open_orders: Option<&[ExchangeOrder]>,
    ) -> Scope {
        plan_scope(&ScopeInput {
            positions,
            open_orders,
            ..periodic_input(config, now, cursors, symbols, movement)
        })
    }

    #[test]
    fn a_moved_asset_or_a_moved_locked_amount_alone_is_not_quiet() {
        let moved = Movement {
            moved: [asset("BTC")].into(),
            locked_moved: false,
        };
        assert!(!moved.is_quiet());
        let locked = Movement {
            moved: BTreeSet::new(),
            locked_moved: true,
        };
        assert!(!locked.is_quiet());
    }

    #[test]
    fn an_asset_whose_movement_the_fills_explained_is_not_moved_again() {
        let digest: BTreeMap<_, _> = [(
            asset("BTC"),
            AssetDigest {
                free: dec!(1),
                locked: dec!(0.5),
                explained: dec!(0.5),
                ..AssetDigest::default()
            },
        )]
        .into();
        let balances: BTreeMap<_, _> = [bal("BTC", dec!(1.5), dec!(0.5))].into_iter().collect();
        assert!(
            movement(&digest, &balances).is_quiet(),
            "1 + 0.5 locked + 0.5 explained, the locked part as it was"
        );
    }

    #[test]
    fn a_locked_amount_in_a_baseline_taken_before_its_symbols_were_read_is_a_locked_move() {
        let digest: BTreeMap<_, _> = [(
            asset("BTC"),
            AssetDigest {
                free: dec!(1),
                locked: dec!(0.5),
                unread_since: Some(5),
                ..AssetDigest::default()
            },
        )]
        .into();
        let balances: BTreeMap<_, _> = [bal("BTC", dec!(1), dec!(0.5))].into_iter().collect();
        assert!(movement(&digest, &balances).locked_moved);
    }

    #[test]
    fn the_universe_pairs_every_held_asset_with_each_configured_quote_and_open_positions() {
        let config = RulesConfig {
            quote_assets: vec![asset("USDT"), asset("USDC")],
            ..RulesConfig::default()
        };
        let symbols = infos(&[
            ("BTC", "USDT"),
            ("ETH", "USDT"),
            ("USDC", "USDT"),
            ("BTC", "EUR"),
            ("AAA", "USDT"),
            ("BBB", "USDT"),
        ]);
        let balances: BTreeMap<_, _> = [
            bal("BTC", dec!(0), dec!(0.1)),
            bal("ETH", dec!(0), dec!(0)),
            bal("USDC", dec!(5), dec!(0)),
        ]
        .into_iter()
        .collect();
        let mut closed = position("BBBUSDT", "BBB", dec!(0), dec!(1), 1);
        closed.status = PositionStatus::Closed;
        let positions: BTreeMap<_, _> = [
            (
                sym("AAAUSDT"),
                position("AAAUSDT", "AAA", dec!(1), dec!(1), 1),
            ),
            (sym("BBBUSDT"), closed),
        ]
        .into();
        let (config, cursors, movement) = (config, BTreeMap::new(), Movement::default());
        let input = ScopeInput {
            positions: &positions,
            balances: &balances,
            ..periodic_input(&config, 100 * DAY_MS, &cursors, &symbols, &movement)
        };
        assert_eq!(universe(&input), [sym("AAAUSDT"), sym("BTCUSDT")].into());
    }

    #[test]
    fn a_symbol_is_active_with_a_fill_within_the_lookback_orders_open_or_a_position_open() {
        let config = RulesConfig::default(); // a 7-day lookback
        let now = 100 * DAY_MS;
        let (cursors, movement) = (BTreeMap::new(), Movement::default());
        let mut closed = position("BBBUSDT", "BBB", dec!(0), dec!(1), 1);
        closed.status = PositionStatus::Closed;
        let positions: BTreeMap<_, _> = [
            (
                sym("AAAUSDT"),
                position("AAAUSDT", "AAA", dec!(1), dec!(1), 1),
            ),
            (sym("BBBUSDT"), closed),
        ]
        .into();
        let symbols = BTreeMap::new();
        let input = ScopeInput {
            positions: &positions,
            ..periodic_input(&config, now, &cursors, &symbols, &movement)
        };
        let active = |s: &str, c: Option<&CursorRecord>| is_active(&input, &sym(s), c);
        let filled = |at| cursor_at("CCCUSDT", now, Some(at));
        assert!(
            active("CCCUSDT", Some(&filled(now - 6 * DAY_MS))),
            "a fill 6 days ago"
        );
        assert!(
            !active("CCCUSDT", Some(&filled(now - 8 * DAY_MS))),
            "8 days ago"
        );
        let orders = |n| CursorRecord {
            open_orders: n,
            ..cursor_at("CCCUSDT", now, None)
        };
        assert!(active("CCCUSDT", Some(&orders(2))), "orders open");
        assert!(!active("CCCUSDT", Some(&orders(0))), "none");
        assert!(active("AAAUSDT", None), "a position open");
        assert!(!active("BBBUSDT", None), "a position closed");
    }

    #[test]
    fn the_rotation_covers_every_symbol_within_a_day_at_the_schedules_rate() {
        let config = RulesConfig::default(); // every 30 minutes: 48 runs a day
        assert_eq!(rotation_share(&config, 100), 3);
        assert_eq!(rotation_share(&config, 48), 1);
        let pinned = RulesConfig {
            rotation_per_run: Some(5),
            ..RulesConfig::default()
        };
        assert_eq!(rotation_share(&pinned, 100), 5);
    }

    #[test]
    fn a_lone_quiet_symbol_is_rotated_in_and_one_whose_backoff_ends_now_is_read() {
        let config = RulesConfig::default();
        let now = 100 * DAY_MS;
        let symbols = infos(&[("AAA", "USDT")]);
        let mut c = cursor_at("AAAUSDT", now - 10, None);
        c.retry_at = Some(now);
        let cursors: BTreeMap<_, _> = [(sym("AAAUSDT"), c)].into();
        let scope = periodic(
            &config,
            now,
            &cursors,
            &symbols,
            &BTreeMap::new(),
            &Movement::default(),
        );
        assert_eq!(scope.reads, vec![(sym("AAAUSDT"), ReadReason::Rotation)]);
        assert!(scope.backing_off.is_empty());
    }

    /// Chaos campaign seed 20261201 (1,000 schedules), pair 611: two symbols whose units
    /// failed (a clock-skew fault on their order-history read) waited for the rotation,
    /// one a run, and the records converged a run late. A failed unit left its page
    /// unapplied: once its backoff ends, the symbol is work in progress.
    #[test]
    fn a_symbol_whose_unit_failed_is_work_in_progress_once_its_backoff_ends() {
        let config = RulesConfig {
            rotation_per_run: Some(0),
            ..RulesConfig::default()
        };
        let now = 100 * DAY_MS;
        let symbols = infos(&[("AAA", "USDT"), ("BBB", "USDT")]);
        let failed = |s: &str, retry_at| CursorRecord {
            failures: 1,
            last_error: Some("ExchangeApiError".to_owned()),
            retry_at: Some(retry_at),
            ..cursor_at(s, now - 10, Some(now - 20 * DAY_MS))
        };
        let cursors: BTreeMap<_, _> = [
            (sym("AAAUSDT"), failed("AAAUSDT", now)),
            (sym("BBBUSDT"), failed("BBBUSDT", now + 1)),
        ]
        .into();
        let scope = periodic(
            &config,
            now,
            &cursors,
            &symbols,
            &BTreeMap::new(),
            &Movement::default(),
        );
        assert_eq!(scope.reads, vec![(sym("AAAUSDT"), ReadReason::InProgress)]);
        assert!(scope.backing_off.contains(&sym("BBBUSDT")));
    }

    #[test]
    fn a_symbol_whose_stored_trades_are_being_verified_is_work_in_progress() {
        let config = RulesConfig {
            rotation_per_run: Some(0),
            ..RulesConfig::default()
        };
        let now = 100 * DAY_MS;
        let symbols = infos(&[("AAA", "USDT")]);
        let verifying = CursorRecord {
            verify: Some(crate::domain::VerifyRange {
                from: 0,
                below: None,
            }),
            ..cursor_at("AAAUSDT", now - 10, Some(now - 20 * DAY_MS))
        };
        let cursors: BTreeMap<_, _> = [(sym("AAAUSDT"), verifying)].into();
        let scope = periodic(
            &config,
            now,
            &cursors,
            &symbols,
            &BTreeMap::new(),
            &Movement::default(),
        );
        assert_eq!(scope.reads, vec![(sym("AAAUSDT"), ReadReason::InProgress)]);
    }

    #[test]
    fn a_symbol_never_read_is_read_for_a_position_an_open_order_or_the_configuration() {
        let config = RulesConfig {
            rotation_per_run: Some(0),
            extra_symbols: vec![sym("CCCUSDT")],
            ..RulesConfig::default()
        };
        let symbols = infos(&[
            ("AAA", "USDT"),
            ("BBB", "USDT"),
            ("CCC", "USDT"),
            ("DDD", "USDT"),
        ]);
        let positions: BTreeMap<_, _> = [(
            sym("AAAUSDT"),
            position("AAAUSDT", "AAA", dec!(1), dec!(1), 1),
        )]
        .into();
        let open = [ex_order(
            "BBBUSDT",
            1,
            "bot-1",
            crate::domain::Side::Buy,
            dec!(1),
            dec!(1),
            dec!(0),
            OrderStatus::New,
        )];
        let scope = periodic_with(
            &config,
            100 * DAY_MS,
            &BTreeMap::new(),
            &positions,
            &symbols,
            &Movement::default(),
            Some(&open),
        );
        assert_eq!(
            scope.reads,
            vec![
                (sym("AAAUSDT"), ReadReason::NeverRead),
                (sym("BBBUSDT"), ReadReason::NeverRead),
                (sym("CCCUSDT"), ReadReason::NeverRead),
            ]
        );
    }

    #[test]
    fn an_active_symbol_is_read_when_its_fee_asset_moved() {
        let config = RulesConfig {
            rotation_per_run: Some(0),
            ..RulesConfig::default()
        };
        let now = 100 * DAY_MS;
        let symbols = infos(&[("AAA", "USDT"), ("BBB", "USDT")]);
        let mut cursors = BTreeMap::new();
        for s in ["AAAUSDT", "BBBUSDT"] {
            let mut c = cursor_at(s, now - 10, Some(now - DAY_MS));
            c.fee_assets = vec![asset("BNB")];
            cursors.insert(sym(s), c);
        }
        cursors.get_mut(&sym("BBBUSDT")).expect("bbb").last_fill_at = Some(now - 30 * DAY_MS);
        let movement = Movement {
            moved: [asset("BNB")].into(),
            locked_moved: false,
        };
        let scope = periodic(
            &config,
            now,
            &cursors,
            &symbols,
            &BTreeMap::new(),
            &movement,
        );
        assert_eq!(
            scope.reads,
            vec![(sym("AAAUSDT"), ReadReason::QuoteOrFeeMoved)],
            "BBBUSDT is not active"
        );
    }

    #[test]
    fn a_moved_locked_amount_reads_only_the_symbols_with_orders_open_in_the_records() {
        let config = RulesConfig {
            rotation_per_run: Some(0),
            ..RulesConfig::default()
        };
        let now = 100 * DAY_MS;
        let symbols = infos(&[("AAA", "USDT"), ("BBB", "USDT")]);
        let mut cursors = BTreeMap::new();
        let mut with_orders = cursor_at("AAAUSDT", now - 10, None);
        with_orders.open_orders = 2;
        cursors.insert(sym("AAAUSDT"), with_orders);
        cursors.insert(sym("BBBUSDT"), cursor_at("BBBUSDT", now - 10, None));
        let locked = Movement {
            moved: BTreeSet::new(),
            locked_moved: true,
        };
        let scope = periodic(&config, now, &cursors, &symbols, &BTreeMap::new(), &locked);
        assert_eq!(scope.reads, vec![(sym("AAAUSDT"), ReadReason::OrdersMoved)]);
        let quiet = periodic(
            &config,
            now,
            &cursors,
            &symbols,
            &BTreeMap::new(),
            &Movement::default(),
        );
        assert!(quiet.reads.is_empty(), "nothing locked moved");
    }

    #[test]
    fn an_owed_scope_cannot_be_resumed_by_the_run_that_opened_it() {
        let scope = EmergencyScope {
            requested_at: 50 * DAY_MS,
            lookback_start: 20 * DAY_MS,
            opened_by: Some("run-1".into()),
        };
        let symbols = infos(&[("AAA", "USDT")]);
        let cursors: BTreeMap<_, _> =
            [(sym("AAAUSDT"), cursor_at("AAAUSDT", 49 * DAY_MS, None))].into();
        let owed = rescan_owed(Some(&scope), None, &cursors, &symbols).expect("owed");
        assert_eq!(owed.opened_by, None);
        assert_eq!(owed.requested_at, scope.requested_at);
    }

    #[test]
    fn an_emergency_rescans_an_active_symbol_from_the_lookback_or_where_it_stopped() {
        let scope = EmergencyScope {
            requested_at: 50 * DAY_MS,
            lookback_start: 20 * DAY_MS,
            opened_by: None,
        };
        let covered = 49 * DAY_MS;
        let active = cursor_at("AAAUSDT", covered, Some(30 * DAY_MS));
        assert_eq!(
            rescan_range(&active, &scope),
            Some((scope.lookback_start, covered + 1))
        );
        let at_start = cursor_at("AAAUSDT", covered, Some(scope.lookback_start));
        assert_eq!(
            rescan_range(&at_start, &scope),
            Some((scope.lookback_start, covered + 1)),
            "a fill at the lookback's start"
        );
        let quiet = cursor_at("AAAUSDT", covered, Some(scope.lookback_start - 1));
        assert_eq!(
            rescan_range(&quiet, &scope),
            None,
            "no fill within the lookback"
        );
        let done = CursorRecord {
            emergency_done: Some(scope.requested_at),
            ..active.clone()
        };
        assert_eq!(rescan_range(&done, &scope), None, "completed");
        let resumed = CursorRecord {
            rescan_for: Some(scope.requested_at),
            rescan_through: Some(40 * DAY_MS),
            ..active.clone()
        };
        assert_eq!(
            rescan_range(&resumed, &scope),
            Some((40 * DAY_MS, covered + 1))
        );
        let older = CursorRecord {
            rescan_for: Some(scope.requested_at - 1),
            ..resumed.clone()
        };
        assert_eq!(
            rescan_range(&older, &scope),
            Some((scope.lookback_start, covered + 1)),
            "another emergency's progress does not count"
        );
        let finished = CursorRecord {
            rescan_through: Some(covered + 1),
            ..resumed
        };
        assert_eq!(
            rescan_range(&finished, &scope),
            None,
            "re-scanned to the end"
        );
    }

    #[test]
    fn an_order_unknown_fewer_runs_than_the_limit_is_looked_up_every_run() {
        let config = RulesConfig::default();
        let mut o = order_rec("BTCUSDT", 2, OrderStatus::Unknown, dec!(1), dec!(0));
        o.unknown_runs = config.unknown_order_runs - 1;
        o.updated_at = 1_000;
        let orders: BTreeMap<_, _> = [((sym("BTCUSDT"), 2), o)].into();
        assert_eq!(
            orders_to_query(&orders, None, None, &config, 1_000 + 60_000),
            vec![(sym("BTCUSDT"), 2)]
        );
    }

    #[test]
    fn unknown_order_lookups_wait_twice_as_long_each_run_up_to_a_day() {
        let config = RulesConfig::default();
        let at = 10 * DAY_MS;
        let queried = |over: u32, after: Millis| {
            let mut o = order_rec("BTCUSDT", 2, OrderStatus::Unknown, dec!(1), dec!(0));
            o.unknown_runs = config.unknown_order_runs + over;
            o.updated_at = at;
            let orders: BTreeMap<_, _> = [((sym("BTCUSDT"), 2), o)].into();
            !orders_to_query(&orders, None, None, &config, at + after).is_empty()
        };
        let hour = 3_600_000;
        assert!(!queried(0, 60_000), "a minute after");
        assert!(!queried(1, hour + hour / 2), "1.5 h of 2 h");
        assert!(queried(1, 2 * hour));
        assert!(!queried(10, DAY_MS - 1), "capped at a day");
        assert!(queried(10, DAY_MS));
    }

    #[test]
    fn a_failing_unit_backs_off_30_minutes_doubling_up_to_a_day() {
        let minute = 60_000;
        assert_eq!(retry_after(0), 30 * minute);
        assert_eq!(retry_after(1), 30 * minute);
        assert_eq!(retry_after(2), 60 * minute);
        assert_eq!(retry_after(3), 120 * minute);
        assert_eq!(retry_after(6), 16 * 60 * minute);
        assert_eq!(retry_after(7), DAY_MS);
        assert_eq!(retry_after(40), DAY_MS);
    }

    #[test]
    fn symbols_uncovered_longer_than_the_alarm_hours_are_listed_with_their_age() {
        let config = RulesConfig::default(); // 26 hours
        let now = 100 * DAY_MS;
        let hour = 3_600_000;
        let cursors: BTreeMap<_, _> = [
            (sym("AAAUSDT"), cursor_at("AAAUSDT", now - 26 * hour, None)),
            (
                sym("BBBUSDT"),
                cursor_at("BBBUSDT", now - 30 * hour - 1, None),
            ),
            (sym("CCCUSDT"), CursorRecord::new(sym("CCCUSDT"))),
        ]
        .into();
        assert_eq!(
            uncovered(&cursors, &config, now),
            vec![(sym("BBBUSDT"), 30)]
        );
    }

    #[test]
    fn the_status_counts_only_open_positions() {
        let mut records = Records::default();
        for s in ["AAA", "BBB", "CCC"] {
            let p = position(&format!("{s}USDT"), s, dec!(1), dec!(1), 1);
            records.positions.insert(p.symbol.clone(), p);
        }
        records
            .positions
            .get_mut(&sym("CCCUSDT"))
            .expect("ccc")
            .status = PositionStatus::Closed;
        assert_eq!(open_positions(&records), 2);
    }

    /// A digest of one asset.
    /// A USDT deposit of `amount` this run.
    fn deposited(amount: Decimal) -> crate::core::ledger::FlowMoves {
        crate::core::ledger::FlowMoves::certain(
            crate::domain::FlowKind::Deposit,
            [(asset("USDT"), amount)].into(),
        )
    }

    fn one(a: &str, d: AssetDigest) -> BTreeMap<Asset, AssetDigest> {
        [(asset(a), d)].into()
    }

    #[test]
    fn a_transfer_explains_a_movement_only_when_it_is_the_movement() {
        let config = RulesConfig::default();
        let digest = one(
            "USDT",
            AssetDigest {
                free: dec!(100),
                ..AssetDigest::default()
            },
        );
        let balances: BTreeMap<_, _> = [bal("USDT", dec!(150), dec!(0))].into_iter().collect();
        let flows = Flows::default();
        let (exact, short) = (
            Nothing {
                transfers: deposited(dec!(50)),
                ..Nothing::default()
            },
            Nothing {
                transfers: deposited(dec!(20)),
                ..Nothing::default()
            },
        );
        let (after, reports) =
            advance_digest(&exact.input(&config, &digest, &balances, &flows, 5_000));
        assert_eq!(
            (after[&asset("USDT")].free, after[&asset("USDT")].misses),
            (dec!(150), 0)
        );
        assert!(reports.is_empty());
        let (after, _) = advance_digest(&short.input(&config, &digest, &balances, &flows, 5_000));
        assert_eq!(
            (after[&asset("USDT")].free, after[&asset("USDT")].misses),
            (dec!(100), 1),
            "20 of 50 explained: a miss"
        );
    }

    #[test]
    fn an_unexplained_movement_is_reported_with_what_the_fills_and_transfers_left() {
        let config = RulesConfig {
            unexplained_runs: 1,
            ..RulesConfig::default()
        };
        let digest = one(
            "USDT",
            AssetDigest {
                free: dec!(100),
                explained: dec!(10),
                ..AssetDigest::default()
            },
        );
        let balances: BTreeMap<_, _> = [bal("USDT", dec!(200), dec!(0))].into_iter().collect();
        let flows = Flows {
            trades: [(asset("USDT"), dec!(5))].into(),
            ..Flows::default()
        };
        let nothing = Nothing {
            transfers: deposited(dec!(20)),
            ..Nothing::default()
        };
        let (after, reports) =
            advance_digest(&nothing.input(&config, &digest, &balances, &flows, 5_000));
        let r = &reports[0];
        assert_eq!(
            r.message,
            "USDT moved by 65 that no fill or transfer read explains"
        );
        assert_eq!(
            (r.before.as_deref(), r.after.as_deref()),
            (Some("115"), Some("200"))
        );
        assert_eq!(after[&asset("USDT")].free, dec!(200));
    }

    #[test]
    fn a_movement_explained_but_locked_differently_waits_for_the_open_orders_keeping_what_was_explained(
    ) {
        let config = RulesConfig::default();
        let digest = one(
            "USDT",
            AssetDigest {
                free: dec!(100),
                unread_since: Some(5),
                ..AssetDigest::default()
            },
        );
        let balances: BTreeMap<_, _> = [bal("USDT", dec!(95), dec!(10))].into_iter().collect();
        let flows = Flows {
            trades: [(asset("USDT"), dec!(5))].into(),
            uncertain: [(asset("USDT"), vec![(0, dec!(-3), false)])].into(),
            ..Flows::default()
        };
        let nothing = Nothing::default();
        let (after, reports) =
            advance_digest(&nothing.input(&config, &digest, &balances, &flows, 5_000));
        assert!(reports.is_empty());
        assert_eq!(
            after[&asset("USDT")],
            AssetDigest {
                free: dec!(100),
                explained: dec!(5),
                uncertain: dec!(-3),
                unread_since: None,
                ..AssetDigest::default()
            },
            "every symbol read (none): no longer unread"
        );
    }

    #[test]
    fn a_miss_keeps_what_was_explained_and_when_the_movement_was_seen() {
        let config = RulesConfig::default();
        let digest = one(
            "USDT",
            AssetDigest {
                free: dec!(100),
                unread_since: Some(5),
                ..AssetDigest::default()
            },
        );
        let balances: BTreeMap<_, _> = [bal("USDT", dec!(200), dec!(0))].into_iter().collect();
        let flows = Flows {
            trades: [(asset("USDT"), dec!(5))].into(),
            ..Flows::default()
        };
        let nothing = Nothing::default();
        let input = DigestInput {
            run_complete: true,
            ..nothing.input(&config, &digest, &balances, &flows, 5_000)
        };
        let (after, reports) = advance_digest(&input);
        assert!(reports.is_empty());
        let d = &after[&asset("USDT")];
        assert_eq!(
            (d.free, d.explained, d.misses, d.moved_at, d.unread_since),
            (dec!(100), dec!(5), 1, Some(5_000), None)
        );
    }

    #[test]
    fn a_movement_whose_base_symbol_was_not_read_since_waits_without_a_miss() {
        let config = RulesConfig::default();
        let now = 10 * DAY_MS;
        let symbols = infos(&[("BTC", "USDT")]);
        // Read to its end after the first baseline (at 5), not since the movement.
        let cursors: BTreeMap<_, _> = [(sym("BTCUSDT"), cursor_at("BTCUSDT", 1_000, None))].into();
        let digest = one(
            "BTC",
            AssetDigest {
                free: dec!(1),
                uncertain: dec!(0.1),
                unread_since: Some(5),
                ..AssetDigest::default()
            },
        );
        let balances: BTreeMap<_, _> = [bal("BTC", dec!(3), dec!(0))].into_iter().collect();
        let flows = Flows {
            trades: [(asset("BTC"), dec!(0.5))].into(),
            uncertain: [(asset("BTC"), vec![(0, dec!(0.2), false)])].into(),
            ..Flows::default()
        };
        let nothing = Nothing::default();
        let input = DigestInput {
            cursors: &cursors,
            symbols: &symbols,
            ..nothing.input(&config, &digest, &balances, &flows, now)
        };
        let (after, reports) = advance_digest(&input);
        assert!(reports.is_empty());
        let d = &after[&asset("BTC")];
        assert_eq!(
            (
                d.free,
                d.explained,
                d.uncertain,
                d.misses,
                d.moved_at,
                d.unread_since
            ),
            (dec!(1), dec!(0.5), dec!(0.3), 0, Some(now), None)
        );
    }

    /// A quote's movement asks for its active symbols only (an inactive one's round trip is
    /// the rotation's to find), and a symbol failing its units does not hold it back; a
    /// first baseline asks for every symbol of the asset.
    #[test]
    fn an_inactive_or_failing_symbol_does_not_hold_a_quotes_miss_back_but_holds_its_first_baseline()
    {
        let config = RulesConfig::default();
        let now = 100 * DAY_MS;
        let symbols = infos(&[("AAA", "USDT"), ("BBB", "USDT")]);
        let mut failing = cursor_at("BBBUSDT", now - DAY_MS, Some(now - DAY_MS));
        failing.failures = 2;
        let cursors: BTreeMap<_, _> = [
            (
                sym("AAAUSDT"),
                cursor_at("AAAUSDT", now - DAY_MS, Some(now - 30 * DAY_MS)),
            ),
            (sym("BBBUSDT"), failing),
        ]
        .into();
        let digest = one(
            "USDT",
            AssetDigest {
                free: dec!(100),
                ..AssetDigest::default()
            },
        );
        let balances: BTreeMap<_, _> = [bal("USDT", dec!(90), dec!(0))].into_iter().collect();
        let (nothing, flows) = (Nothing::default(), Flows::default());
        let input = DigestInput {
            cursors: &cursors,
            symbols: &symbols,
            ..nothing.input(&config, &digest, &balances, &flows, now)
        };
        let (after, _) = advance_digest(&input);
        assert_eq!(after[&asset("USDT")].misses, 1, "a miss");
        let first = BTreeMap::new();
        let (after, _) = advance_digest(&DigestInput {
            digest: &first,
            ..input
        });
        assert_eq!(
            after[&asset("USDT")].unread_since,
            Some(now),
            "AAAUSDT not read since"
        );
    }

    #[test]
    fn an_asset_sold_out_and_explained_leaves_the_digest() {
        let config = RulesConfig::default();
        let digest = one(
            "BTC",
            AssetDigest {
                free: dec!(1),
                ..AssetDigest::default()
            },
        );
        let flows = Flows {
            trades: [(asset("BTC"), dec!(-1))].into(),
            ..Flows::default()
        };
        let nothing = Nothing::default();
        let (after, _) =
            advance_digest(&nothing.input(&config, &digest, &BTreeMap::new(), &flows, 5_000));
        assert!(after.is_empty());
    }
}
