//! Spot positions and dust.
//!
//! Rules:
//! - A position is a holding of a base asset against a configured quote asset. The base's
//!   *owner* is the bot's open position for that base (the first configured quote of
//!   them; one the sync recovered does not claim the base) if there is one, else the first
//!   symbol in `snapshot.symbols` with that base and the first matching quote of
//!   `quote_assets`, else an open position the sync recovered. Quote assets themselves are
//!   never positions.
//! - One base, several quotes (BTCUSDT and BTCFDUSD): each other symbol of the base is
//!   sized by its own fills (its valid basis, when it holds at least its `min_qty`;
//!   without a valid basis its open record's quantity stands, never closed for want of a
//!   read), in configured-quote order and never beyond the holding; the owner's position
//!   is what they leave (`Shares`), flagged partial when its own fills do not explain it.
//!   A rest below the owner's minimum size is in no position and is noted. Dust is the
//!   whole holding below minimum size, never while another symbol holds a position of the
//!   base. The base's other symbols are read just before the owner in a run
//!   (`owners_last`; the owner keeps its place), so its share is what their fresh fills
//!   leave, not last run's.
//! - The holding (free + locked) is a position when it is > 0, >= the symbol's `min_qty`
//!   AND, when a price is known, its notional reaches the threshold. Below that it is dust:
//!   a `DustRecord` (`DustRecorded`), never a position. A dust record whose asset became a
//!   position (or zero) is set to 0, never deleted.
//! - The threshold is a band around `min_notional` (hysteresis, `dust_band_pct`, default
//!   10 %), not a line: a base the records hold as an open position stays one down to
//!   `min_notional × (1 − band)`; a base the records hold as dust becomes a position only
//!   at `min_notional × (1 + band)`; a base the records hold as neither is classified at
//!   `min_notional`. A holding near the minimum whose price and quantity wander (a fee
//!   paid in the base, a small partial sell) does not flip each run, each flip an alert.
//! - A holding whose quantity the records already hold (an open position of exactly that
//!   quantity, or a dust record of exactly it) keeps its class: a price move alone never
//!   turns a position into dust or back (each flip would be an alert), and the price is
//!   not needed. Any other holding is classified afresh, with the current price: one the
//!   run has not read yet is asked for (`SymbolPlan::needs_price`) before planning; when
//!   it cannot be read and the notional would decide, the holding is not checked (noted).
//! - A position is planned only by a unit that read its symbol's fills to the end in this
//!   run, with a valid cost basis; a symbol the run did not reach keeps its records
//!   untouched.
//! - Missing in the DB (absent or closed): recovered (`PositionRecovered`, side "long",
//!   `recovered: true`); entry price = average cost of the symbol's cost basis (every
//!   fill replayed, carried in its checkpoint) when it explains the whole holding; else
//!   the explained part at that cost and the rest at the current price, `entry_partial`
//!   set and the rest price kept (`entry_estimate`; with neither, 0, flagged).
//!   Note `New position found on exchange: BTCUSDT long 0.001`, discrepancy
//!   `position_recovered:<SYMBOL>`.
//! - History is kept: a closed position whose symbol is held again is first copied, every
//!   field as it is, to a history item of its own (`PositionArchived`, keyed by symbol, opening
//!   and closing times, written only if absent), then the new round trip takes the position's
//!   key. Planned in that order, so a run cut between the two writes has archived and not
//!   yet reopened (the next run reopens, and meets the archive already there), never the
//!   reverse. The exit, close time and realized P&L of a past round trip are never lost.
//! - Open in the DB but below the minimum size on the exchange: closed
//!   (`PositionClosed`) with exit price = quantity-weighted average of the sell fills since
//!   the holding was last flat (else the current price), realized P&L = the average-cost
//!   P&L of those sells (else unchanged). Note `Position closed on exchange: ETHUSDT long 0.5`,
//!   discrepancy `position_closed:<SYMBOL>`. The closed record keeps the quantity closed.
//! - Open in both with a different quantity: `PositionAdjusted`; the entry price becomes
//!   the average cost of the symbol's cost basis (when it holds a quantity): the quantity
//!   was wrong, so the entry computed with it was too. When the basis explains only part
//!   of the holding, the rest keeps the records' rest price, else their entry (flagged). Whichever unit makes the
//!   correction, however the runs were cut. An entry the sync wrote last (a correction,
//!   a recovery) follows the basis's average cost whenever it changes (a fill found
//!   below the basis later, and the rebuild after it, change it too); a position the sync
//!   recovered and the bot rewrote follows it when the basis holds exactly the holding;
//!   the bot's own entry is kept.

use super::trades::SymbolRead;
use super::{expect_of, next_version, ReconcileInput};
use crate::domain::{
    Asset, Basis, BasisState, Correction, CorrectionKind, Discrepancy, DustRecord, Expect, Plan,
    PositionRecord, PositionStatus, PositionsOf, Record, Severity, Symbol, SymbolInfo, Writer,
};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Entry prices are stored to 8 decimal places (Binance's price precision): the
/// average-cost division is exact only to 28 digits, and a record that shows
/// `173.42902135696373593183664719` helps nobody. P&L keeps full precision internally.
const ENTRY_PRICE_DP: u32 = 8;

fn entry_of(basis: &Basis) -> Decimal {
    basis.avg_cost.round_dp(ENTRY_PRICE_DP)
}

/// An entry price, and whether the known fills explain it (see the module's rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub price: Decimal,
    pub partial: bool,
    pub rest_price: Option<Decimal>,
}

/// The entry price of a holding of `total` from its cost basis: the basis's average cost
/// when its fills explain the whole holding; otherwise the explained part at that cost and
/// the rest at `rest_price` (what else is known of it), flagged partial; with neither,
/// the average cost of what is explained, or 0, flagged.
pub fn entry_estimate(basis: &Basis, total: Decimal, rest_price: Option<Decimal>) -> Entry {
    let explained = basis.qty.max(Decimal::ZERO).min(total);
    if explained > Decimal::ZERO && explained == total {
        return Entry {
            price: entry_of(basis),
            partial: false,
            rest_price: None,
        };
    }
    let price = match rest_price {
        Some(rest) if total > Decimal::ZERO => {
            ((explained * basis.avg_cost + (total - explained) * rest) / total)
                .round_dp(ENTRY_PRICE_DP)
        }
        _ if explained > Decimal::ZERO => entry_of(basis),
        _ => rest_price.unwrap_or(Decimal::ZERO),
    };
    Entry {
        price,
        partial: true,
        rest_price,
    }
}

/// The symbol a holding of `base` is valued against: first configured quote with a symbol.
pub fn position_symbol<'a>(
    base: &Asset,
    symbols: &'a std::collections::BTreeMap<Symbol, SymbolInfo>,
    quote_assets: &[Asset],
) -> Option<&'a SymbolInfo> {
    quote_assets
        .iter()
        .find_map(|q| symbols.values().find(|i| &i.base == base && &i.quote == q))
}

/// True when `total` of the symbol's base is a position (not dust), given the class the
/// records hold the base in: `Some(true)` an open position, `Some(false)` dust, `None`
/// neither (the band of the module's rules; `band_pct` in percent).
pub fn is_position_size(
    total: Decimal,
    info: &SymbolInfo,
    price: Option<Decimal>,
    was_position: Option<bool>,
    band_pct: Decimal,
) -> bool {
    let band = info.min_notional * band_pct / Decimal::ONE_HUNDRED;
    let threshold = match was_position {
        Some(true) => info.min_notional - band,
        Some(false) => info.min_notional + band,
        None => info.min_notional,
    };
    total > Decimal::ZERO && total >= info.min_qty && price.is_none_or(|p| total * p >= threshold)
}

/// The class the records hold `base` in, for the band: an open position, else dust (a
/// non-zero dust record), else none.
pub fn recorded_class(records: &crate::domain::Records, base: &Asset) -> Option<bool> {
    let open = records
        .positions
        .values()
        .any(|p| p.status == PositionStatus::Open && &p.base == base);
    class_of(open, records.dust.get(base))
}

/// [`recorded_class`] from the records already found: whether the base has an open
/// position, and its dust record.
fn class_of(open_position: bool, dust: Option<&DustRecord>) -> Option<bool> {
    if open_position {
        Some(true)
    } else if dust.is_some_and(|d| !d.quantity.is_zero()) {
        Some(false)
    } else {
        None
    }
}

fn discrepancy(
    key: String,
    kind: &str,
    symbol: &Symbol,
    asset: &Asset,
    before: String,
    after: String,
    message: String,
) -> Discrepancy {
    Discrepancy {
        key,
        kind: kind.to_owned(),
        severity: Severity::Warning,
        symbol: Some(symbol.clone()),
        asset: Some(asset.clone()),
        before: Some(before),
        after: Some(after),
        diff_pct: None,
        message,
    }
}

/// What the position rules of one base need, once its symbol and size are known.
struct Holding<'a> {
    symbol: Symbol,
    base: &'a Asset,
    info: Option<&'a SymbolInfo>,
    total: Decimal,
    price: Option<Decimal>,
    basis: &'a Basis,
}

/// What became of the holding of a unit's base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PositionCheck {
    /// Planned, or not this unit's to plan (a quote asset, another symbol's base).
    Done,
    /// The rules need this symbol's current price and the partial `snapshot.prices`
    /// lacks it: nothing is planned; the caller plans again with it.
    NeedsPrice(Symbol),
    /// Not checked (no price, no trading rules): the checkpoint says so, and the next
    /// run reads the symbol again (`scope.rs`), or the holding would wait for the
    /// rotation while its records are wrong.
    Unchecked,
}

/// How a base's holding is shared between its symbols (see the module's rules): the
/// owner takes what the others' fills do not explain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shares {
    pub owner: Symbol,
    /// Every other symbol of the base with a share, in configured-quote order.
    pub others: Vec<(Symbol, Decimal)>,
    pub owner_size: Decimal,
    /// What the holding holds beyond every position (bot-only positions: the owner's).
    pub rest: Decimal,
}

impl Shares {
    fn of(&self, symbol: &Symbol) -> Option<Decimal> {
        if symbol == &self.owner {
            return Some(self.owner_size);
        }
        self.others
            .iter()
            .find(|(s, _)| s == symbol)
            .map(|(_, q)| *q)
    }

    fn others_total(&self) -> Decimal {
        self.others.iter().map(|(_, q)| *q).sum()
    }
}

/// The symbol that owns `base`'s holding and every symbol of the base, in configured-quote
/// order: the owner is the bot's open position of the base (the first quote of them),
/// else the first configured quote the exchange lists, else a position the sync opened.
pub fn owner_of(
    base: &Asset,
    symbols: &BTreeMap<Symbol, SymbolInfo>,
    positions: &BTreeMap<Symbol, PositionRecord>,
    quotes: &[Asset],
) -> Option<(Symbol, Vec<Symbol>)> {
    let rank = |quote: &Asset| quotes.iter().position(|q| q == quote).unwrap_or(usize::MAX);
    let open = |p: &&PositionRecord| p.status == PositionStatus::Open && &p.base == base;
    let mut candidates: Vec<(usize, Symbol)> = symbols
        .values()
        .filter(|i| &i.base == base && quotes.contains(&i.quote))
        .map(|i| (rank(&i.quote), i.symbol.clone()))
        .chain(
            positions
                .values()
                .filter(open)
                .map(|p| (rank(&p.quote), p.symbol.clone())),
        )
        .collect();
    candidates.sort();
    candidates.dedup();
    // A position the sync recovered does not claim the base (the bot's own does): else the
    // first run, recovering one quote before the other, would hand the base's rest to
    // whichever it recovered first, and the next run back to the first quote.
    let claims = |p: &&PositionRecord| open(p) && (!p.recovered || p.updated_by == Writer::Bot);
    let first_open = |want: &dyn Fn(&&PositionRecord) -> bool| {
        candidates
            .iter()
            .find(|(_, s)| positions.get(s).filter(|p| want(p)).is_some())
            .map(|(_, s)| s.clone())
    };
    let owner = first_open(&claims)
        .or_else(|| position_symbol(base, symbols, quotes).map(|i| i.symbol.clone()))
        .or_else(|| first_open(&open))?;
    Some((owner, candidates.into_iter().map(|(_, s)| s).collect()))
}

/// The reading order with each base's owner after the base's other symbols read in the
/// same run, so the owner's share is what their fresh fills leave (the shell updates the
/// checkpoints after each unit): a sibling listed after its owner is read just before it,
/// so the owner keeps its place (a run cut short still reads it as early as before).
/// Otherwise the order is kept.
pub fn owners_last<R>(
    reads: &mut Vec<(Symbol, R)>,
    symbols: &BTreeMap<Symbol, SymbolInfo>,
    positions: &BTreeMap<Symbol, PositionRecord>,
    quotes: &[Asset],
) {
    let mut i = 0;
    while i < reads.len() {
        let symbol = reads[i].0.clone();
        let siblings = symbols
            .get(&symbol)
            .and_then(|info| owner_of(&info.base, symbols, positions, quotes))
            .filter(|(owner, _)| owner == &symbol)
            .map(|(_, all)| all)
            .unwrap_or_default();
        // Each move puts a sibling before the owner: at most one per sibling.
        let mut j = i + 1;
        while j < reads.len() {
            if reads[j].0 != symbol && siblings.contains(&reads[j].0) {
                let sibling = reads.remove(j);
                reads.insert(i, sibling);
                i += 1;
            }
            j += 1;
        }
        i += 1;
    }
}

/// The shares of `holding` of `base`. The unit's own basis is the one it just carried
/// forward (`unit`); the other symbols' are their checkpoints'.
pub(crate) fn shares(
    input: &ReconcileInput<'_>,
    base: &Asset,
    holding: Decimal,
    unit: (&Symbol, &Basis, BasisState),
) -> Option<Shares> {
    let quotes = &input.config.quote_assets;
    let open = |symbol: &Symbol| {
        input
            .records
            .positions
            .get(symbol)
            .filter(|p| p.status == PositionStatus::Open && &p.base == base)
    };
    let (owner, candidates) = owner_of(
        base,
        &input.snapshot.symbols,
        &input.records.positions,
        quotes,
    )?;
    // What a symbol's own fills explain (at least its minimum quantity, else nothing);
    // without a valid basis, the records' open quantity stands until the fills are known
    // (never closed for want of a read).
    let own = |symbol: &Symbol| {
        let (basis, state) = if symbol == unit.0 {
            (Some(unit.1), unit.2)
        } else {
            match input.records.cursors.get(symbol) {
                Some(c) => (Some(&c.basis), c.basis_state),
                None => (None, BasisState::Rebuilding),
            }
        };
        let own = match (basis, state) {
            (Some(b), BasisState::Valid) => b.qty,
            _ => open(symbol).map_or(Decimal::ZERO, |p| p.quantity),
        };
        let min_qty = input
            .snapshot
            .symbols
            .get(symbol)
            .map_or(Decimal::ZERO, |i| i.min_qty);
        if own > Decimal::ZERO && own >= min_qty {
            own
        } else {
            Decimal::ZERO
        }
    };
    let mut remaining = holding.max(Decimal::ZERO);
    let mut others = Vec::new();
    for symbol in candidates.iter().filter(|s| *s != &owner) {
        let share = own(symbol).min(remaining);
        remaining -= share;
        if share > Decimal::ZERO || open(symbol).is_some() {
            others.push((symbol.clone(), share));
        }
    }
    // The owner takes what the others leave; with bot-only positions only what its own
    // (the bot's) fills explain, like the others, and the rest is the owner's.
    let owner_size = match input.config.positions_of {
        PositionsOf::Account => remaining,
        PositionsOf::Bot => own(&owner).min(remaining),
    };
    Some(Shares {
        owner,
        others,
        owner_size,
        rest: remaining - owner_size,
    })
}

/// Plan the position and dust of the unit symbol's base (see the module's rules).
pub(crate) fn plan_position(
    input: &ReconcileInput<'_>,
    unit_symbol: &Symbol,
    read: &SymbolRead,
    plan: &mut Plan,
) -> PositionCheck {
    let snapshot = input.snapshot;
    let quotes = &input.config.quote_assets;
    let base = &read.base;
    if quotes.contains(base) {
        return PositionCheck::Done;
    }
    let holding = snapshot
        .balances
        .get(base)
        .map_or(Decimal::ZERO, |b| b.total());
    let Some(shares) = shares(
        input,
        base,
        holding,
        (unit_symbol, &read.basis, read.basis_state),
    ) else {
        return PositionCheck::Done;
    };
    let Some(total) = shares.of(unit_symbol) else {
        return PositionCheck::Done; // the base's position belongs to another symbol's unit
    };
    let symbol = unit_symbol.clone();
    let owner = shares.owner == symbol;
    let others_total = shares.others_total();
    let db_open = input
        .records
        .positions
        .get(&symbol)
        .filter(|p| p.status == PositionStatus::Open && &p.base == base);
    let info = snapshot.symbols.get(&symbol);
    if read.basis_state == BasisState::Rebuilding {
        plan.notes.push(format!(
            "Position of {symbol} not checked: its cost basis is being rebuilt"
        ));
        // The rebuild is work in progress: it brings the symbol back by itself.
        return PositionCheck::Done;
    }
    let price = snapshot.prices.get(&symbol).copied();
    if !owner {
        // Sized by its own fills (at least its minimum quantity): a position, or none.
        let holding = Holding {
            symbol,
            base,
            info,
            total,
            price,
            basis: &read.basis,
        };
        plan_holding(input, &holding, db_open, total > Decimal::ZERO, plan);
        return PositionCheck::Done;
    }
    let db_dust = input.records.dust.get(base);
    // The class the records already give this exact quantity, if any.
    let held_class = match db_open {
        Some(p) => (p.quantity == total && !total.is_zero()).then_some(true),
        None if others_total.is_zero() => {
            (db_dust.map_or(Decimal::ZERO, |d| d.quantity) == total).then_some(false)
        }
        None => None,
    };
    if held_class.is_none() && price.is_none() && snapshot.prices_partial {
        return PositionCheck::NeedsPrice(symbol);
    }
    let is_position = match (held_class, info) {
        (Some(class), _) => class,
        // Without a price the notional is unknown: a holding it would decide is left as
        // it is (a failed price read never turns dust into a position, or back).
        (None, Some(i))
            if price.is_none()
                && !i.min_notional.is_zero()
                && total >= i.min_qty
                && !total.is_zero() =>
        {
            plan.notes.push(format!(
                "No current price for {symbol}: position of {base} not checked"
            ));
            return PositionCheck::Unchecked;
        }
        (None, Some(i)) => is_position_size(
            total,
            i,
            price,
            class_of(db_open.is_some(), db_dust),
            input.config.dust_band_pct,
        ),
        (None, None) if total.is_zero() => false,
        (None, None) => {
            plan.notes.push(format!(
                "No trading rules for {symbol}: position of {base} not checked"
            ));
            return PositionCheck::Unchecked;
        }
    };
    if !is_position && !total.is_zero() && !others_total.is_zero() {
        let held: Vec<String> = shares
            .others
            .iter()
            .map(|(s, q)| format!("{s} {}", q.normalize()))
            .collect();
        plan.notes.push(format!(
            "{base}: {} held beyond the fills of {} is in no position (below {symbol} minimum size)",
            total.normalize(),
            held.join(", ")
        ));
    }
    if !shares.rest.is_zero() {
        let bots: Vec<String> = std::iter::once((&symbol, total))
            .chain(shares.others.iter().map(|(s, q)| (s, *q)))
            .filter(|(_, q)| !q.is_zero())
            .map(|(s, q)| format!("{s} {}", q.normalize()))
            .collect();
        plan.notes.push(format!(
            "{base}: {} held beyond the bot's fills is the owner's (or a bot remainder below minimum size), in no position (the bot's: {})",
            shares.rest.normalize(),
            if bots.is_empty() { "none".to_owned() } else { bots.join(", ") }
        ));
    }
    let holding = Holding {
        symbol,
        base,
        info,
        total,
        price,
        basis: &read.basis,
    };
    // Dust is the whole holding below minimum size: none while another symbol holds a
    // position of the base.
    let dust_qty = if is_position || !others_total.is_zero() {
        Decimal::ZERO
    } else {
        total
    };
    plan_dust(input, &holding, dust_qty, plan);
    plan_holding(input, &holding, db_open, is_position, plan);
    PositionCheck::Done
}

/// A holding against the records' open position of its symbol, if any: recovered, closed
/// or adjusted (see the module's rules).
fn plan_holding(
    input: &ReconcileInput<'_>,
    h: &Holding<'_>,
    db_open: Option<&PositionRecord>,
    is_position: bool,
    plan: &mut Plan,
) {
    match (db_open, is_position) {
        (None, false) => {}
        (None, true) => recover(input, h, plan),
        (Some(db), false) => close(input, h, db, plan),
        (Some(db), true) => adjust(input, h, db, plan),
    }
}

/// Dust: the holding when below minimum size, else zero (set to 0, never deleted).
fn plan_dust(input: &ReconcileInput<'_>, h: &Holding<'_>, dust_qty: Decimal, plan: &mut Plan) {
    let (base, total, symbol) = (h.base, h.total, &h.symbol);
    let db_dust = input.records.dust.get(base);
    if !db_dust.map_or(!dust_qty.is_zero(), |d| d.quantity != dust_qty) {
        return;
    }
    let expect = expect_of(db_dust.map(|d| d.version));
    let reason = if dust_qty.is_zero() {
        format!(
            "Dust of {base} cleared: holding is now {} (position or zero)",
            total.normalize()
        )
    } else {
        format!(
            "Dust recorded: {base} {} (below {symbol} minimum size)",
            dust_qty.normalize()
        )
    };
    plan.notes.push(reason.clone());
    plan.corrections.push(Correction {
        kind: CorrectionKind::DustRecorded,
        expect,
        before: db_dust.cloned().map(Record::Dust),
        after: Record::Dust(DustRecord {
            asset: base.clone(),
            quantity: dust_qty,
            version: next_version(expect),
            updated_at: input.now,
        }),
        reason,
    });
}

/// Missing in the records (absent or closed): recovered from the exchange.
fn recover(input: &ReconcileInput<'_>, h: &Holding<'_>, plan: &mut Plan) {
    let (symbol, base, total, basis) = (&h.symbol, h.base, h.total, h.basis);
    let existing = input.records.positions.get(symbol);
    if let Some(closed) = existing.filter(|p| p.status == PositionStatus::Closed) {
        archive(closed, plan);
    }
    let expect = expect_of(existing.map(|p| p.version));
    // The part of the holding no known fill explains is valued at the current price.
    let entry = entry_estimate(basis, total, h.price);
    let opened_at = if basis.qty > Decimal::ZERO {
        basis.open_since.unwrap_or(input.now)
    } else {
        input.now
    };
    let quote = h.info.map_or_else(|| base.clone(), |i| i.quote.clone());
    let after = PositionRecord {
        symbol: symbol.clone(),
        base: base.clone(),
        quote,
        side: "long".to_owned(),
        status: PositionStatus::Open,
        quantity: total,
        entry_price: entry.price,
        entry_partial: entry.partial,
        entry_rest_price: entry.rest_price,
        exit_price: None,
        realized_pnl: Decimal::ZERO,
        opened_at,
        closed_at: None,
        recovered: true,
        version: next_version(expect),
        updated_at: input.now,
        updated_by: Writer::Sync,
    };
    let note = format!(
        "New position found on exchange: {symbol} long {}",
        total.normalize()
    );
    plan.notes.push(note.clone());
    plan.discrepancies.push(discrepancy(
        format!("position_recovered:{symbol}"),
        "position_recovered",
        symbol,
        base,
        "none".to_owned(),
        total.normalize().to_string(),
        note.clone(),
    ));
    plan.corrections.push(Correction {
        kind: CorrectionKind::PositionRecovered,
        expect,
        before: existing.cloned().map(Record::Position),
        after: Record::Position(after),
        reason: note,
    });
}

/// A closed round trip, copied as it is to its history item before its key is reused.
fn archive(closed: &PositionRecord, plan: &mut Plan) {
    let reason = format!(
        "Position history kept: {} round trip opened at {} closed at {}, realized P&L {}",
        closed.symbol,
        closed.opened_at,
        closed
            .closed_at
            .map_or_else(|| "an unknown time".to_owned(), |t| t.to_string()),
        closed.realized_pnl.normalize()
    );
    plan.notes.push(reason.clone());
    plan.corrections.push(Correction {
        kind: CorrectionKind::PositionArchived,
        expect: Expect::Absent,
        before: None,
        after: Record::PositionHistory(PositionRecord {
            version: next_version(Expect::Absent),
            ..closed.clone()
        }),
        reason,
    });
}

/// Open in the records, below the minimum size on the exchange: closed, exit and P&L
/// from the sells of the round trip.
fn close(input: &ReconcileInput<'_>, h: &Holding<'_>, db: &PositionRecord, plan: &mut Plan) {
    let (symbol, basis) = (&h.symbol, h.basis);
    let sold_since_open =
        basis.sold_qty > Decimal::ZERO && basis.last_sell_at.is_some_and(|t| t >= db.opened_at);
    let (exit_price, realized_pnl, closed_at) = if sold_since_open {
        (
            basis.sold_value / basis.sold_qty,
            basis.sold_realized,
            basis.last_sell_at.unwrap_or(input.now),
        )
    } else {
        (
            h.price.unwrap_or(db.entry_price),
            db.realized_pnl,
            input.now,
        )
    };
    let after = PositionRecord {
        status: PositionStatus::Closed,
        exit_price: Some(exit_price),
        realized_pnl,
        closed_at: Some(closed_at),
        version: next_version(Expect::Version(db.version)),
        updated_at: input.now,
        updated_by: Writer::Sync,
        ..db.clone()
    };
    // With bot-only positions a holding can remain that no fill of the bot's explains:
    // the position is closed for the bot, not on the exchange.
    let held = input
        .snapshot
        .balances
        .get(h.base)
        .map_or(Decimal::ZERO, |b| b.total());
    let note = if input.config.positions_of == PositionsOf::Bot && held > h.total {
        format!(
            "Position closed, not the bot's: {symbol} {} {} (no fill of the bot's orders holds it; the {} {} held is the owner's)",
            db.side,
            db.quantity.normalize(),
            (held - h.total).normalize(),
            h.base
        )
    } else {
        format!(
            "Position closed on exchange: {symbol} {} {}",
            db.side,
            db.quantity.normalize()
        )
    };
    plan.notes.push(note.clone());
    plan.discrepancies.push(discrepancy(
        format!("position_closed:{symbol}"),
        "position_closed",
        symbol,
        h.base,
        db.quantity.normalize().to_string(),
        h.total.normalize().to_string(),
        note.clone(),
    ));
    plan.corrections.push(Correction {
        kind: CorrectionKind::PositionClosed,
        expect: Expect::Version(db.version),
        before: Some(Record::Position(db.clone())),
        after: Record::Position(after),
        reason: note,
    });
}

/// Open in both with another quantity: adjusted, at the basis's average cost.
fn adjust(input: &ReconcileInput<'_>, h: &Holding<'_>, db: &PositionRecord, plan: &mut Plan) {
    let (symbol, total, basis) = (&h.symbol, h.total, h.basis);
    // A quantity the sync corrects is one the bot's records got wrong: its entry is the
    // fills' average cost. Decided by the correction alone, not by which unit recovered
    // the fills behind it (a unit without a price, or whose apply was half committed,
    // leaves the correction to a later one), so cut runs end where one uncut run ends.
    // An entry the sync wrote last (a correction, a recovery) is the sync's to keep
    // true: it follows the basis (a rebuild after a fill found below it changes it), or
    // cut runs that corrected before the fill was found would keep a stale one. A
    // position the sync recovered and the bot rewrote follows it when it explains the
    // holding exactly; the bot's own entry is never churned.
    // When the fills do not explain the whole holding, the rest keeps the price the
    // records valued it at: the rest price of a partial entry the sync wrote last (None
    // too: it was valued at nothing else), else the records' entry. Stable from run to
    // run, and the same however the runs were cut. A flag and rest price on an item the
    // bot wrote last are not taken for the sync's estimate: the bot's entry is its own.
    let corrected = db.quantity != total;
    let follows_basis = db.updated_by == Writer::Sync || (basis.qty == total && db.recovered);
    let entry = if (corrected || follows_basis) && basis.qty > Decimal::ZERO {
        let rest = if db.updated_by == Writer::Sync && db.entry_partial {
            db.entry_rest_price
        } else {
            Some(db.entry_price)
        };
        entry_estimate(basis, total, rest)
    } else {
        Entry {
            price: db.entry_price,
            partial: db.entry_partial,
            rest_price: db.entry_rest_price,
        }
    };
    let entry_price = entry.price;
    if db.quantity == total
        && db.entry_price == entry.price
        && db.entry_partial == entry.partial
        && db.entry_rest_price == entry.rest_price
    {
        return;
    }
    let after = PositionRecord {
        quantity: total,
        entry_price,
        entry_partial: entry.partial,
        entry_rest_price: entry.rest_price,
        version: next_version(Expect::Version(db.version)),
        updated_at: input.now,
        updated_by: Writer::Sync,
        ..db.clone()
    };
    let note = format!(
        "Position adjusted from exchange: {symbol} long {} -> {} (entry {} -> {})",
        db.quantity.normalize(),
        total.normalize(),
        db.entry_price.normalize(),
        entry_price.normalize()
    );
    plan.notes.push(note.clone());
    plan.corrections.push(Correction {
        kind: CorrectionKind::PositionAdjusted,
        expect: Expect::Version(db.version),
        before: Some(Record::Position(db.clone())),
        after: Record::Position(after),
        reason: note,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reconcile;
    use crate::core::testkit::*;
    use crate::domain::Side;
    use rust_decimal_macros::dec;

    /// The one dust record the plan writes.
    fn planned_dust(plan: &Plan) -> &DustRecord {
        let dust: Vec<&DustRecord> = plan
            .corrections
            .iter()
            .filter_map(|c| match &c.after {
                Record::Dust(d) => Some(d),
                _ => None,
            })
            .collect();
        match dust[..] {
            [d] => d,
            _ => panic!("not one dust record: {:?}", plan.corrections),
        }
    }

    fn positions(plan: &Plan) -> Vec<&PositionRecord> {
        plan.corrections
            .iter()
            .filter_map(|c| match &c.after {
                Record::Position(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn dust_below_min_qty_is_recorded_not_a_position() {
        let mut w = World::new();
        w.ex_bal("BTC", dec!(0.00005), dec!(0)); // min_qty 0.0001
        let plan = reconcile(&w.input());
        assert!(positions(&plan).is_empty());
        let dust = of_kind(&plan, CorrectionKind::DustRecorded);
        assert_eq!(dust.len(), 1);
        let Record::Dust(d) = &dust[0].after else {
            panic!()
        };
        assert_eq!(
            (d.asset.as_str(), d.quantity, d.version),
            ("BTC", dec!(0.00005), 1)
        );
    }

    #[test]
    fn dust_below_min_notional_is_recorded_not_a_position() {
        let mut w = World::new();
        w.ex_bal("ETH", dec!(0.002), dec!(0)); // 0.002 * 2000 = 4 < 5
        let plan = reconcile(&w.input());
        assert!(positions(&plan).is_empty());
        assert_eq!(of_kind(&plan, CorrectionKind::DustRecorded).len(), 1);
    }

    #[test]
    fn quote_asset_is_never_a_position() {
        let mut w = World::new();
        w.ex_bal("USDT", dec!(1000), dec!(0));
        let plan = reconcile(&w.input());
        assert!(positions(&plan).is_empty());
        assert!(of_kind(&plan, CorrectionKind::DustRecorded).is_empty());
    }

    #[test]
    fn missing_position_recovered_at_average_cost_of_known_fills() {
        let mut w = World::new();
        w.ex_bal("BTC", dec!(0.001), dec!(0));
        w.snap_fills(
            "BTCUSDT",
            vec![
                fill(
                    "BTCUSDT",
                    1,
                    1,
                    Side::Buy,
                    dec!(40000),
                    dec!(0.0005),
                    dec!(0),
                    "USDT",
                    10,
                ),
                fill(
                    "BTCUSDT",
                    2,
                    2,
                    Side::Buy,
                    dec!(60000),
                    dec!(0.0005),
                    dec!(0),
                    "USDT",
                    20,
                ),
            ],
        );
        let plan = reconcile(&w.input());
        let p = positions(&plan)[0];
        assert_eq!(
            (p.entry_price, p.quantity, p.opened_at, p.recovered),
            (dec!(50000), dec!(0.001), 10, true)
        );
        assert_eq!(p.side, "long");
        assert!(plan
            .notes
            .contains(&"New position found on exchange: BTCUSDT long 0.001".to_owned()));
        assert!(plan
            .discrepancies
            .iter()
            .any(|d| d.key == "position_recovered:BTCUSDT"));
    }

    #[test]
    fn missing_position_without_fills_uses_current_price() {
        let mut w = World::new();
        w.ex_bal("BTC", dec!(0.001), dec!(0));
        let plan = reconcile(&w.input());
        let p = positions(&plan)[0];
        // No fill explains any of it: the current price, flagged an estimate.
        assert_eq!(
            (p.entry_price, p.entry_partial, p.entry_rest_price),
            (dec!(50000), true, Some(dec!(50000)))
        );
        assert_eq!(
            of_kind(&plan, CorrectionKind::PositionRecovered)[0].expect,
            Expect::Absent
        );
    }

    /// The exchange's one BTCUSDT fill: a buy of 0.001 at 40,000.
    fn one_buy_at_40000(w: &mut World) {
        w.snap_fills(
            "BTCUSDT",
            vec![fill(
                "BTCUSDT",
                1,
                1,
                Side::Buy,
                dec!(40000),
                dec!(0.001),
                dec!(0),
                "USDT",
                9,
            )],
        );
    }

    /// Fills that explain 1 % of a holding do not make its entry: the explained part at
    /// their cost, the rest at the current price, flagged partial; fills that explain the
    /// whole holding give their average cost, unflagged.
    #[test]
    fn an_entry_the_fills_explain_only_in_part_is_blended_and_flagged() {
        let mut w = World::new();
        one_buy_at_40000(&mut w);
        w.ex_bal("BTC", dec!(0.1), dec!(0));
        let plan = reconcile(&w.input());
        let p = positions(&plan)[0];
        // (0.001 × 40,000 + 0.099 × 50,000) / 0.1 = 49,900.
        assert_eq!(
            (p.entry_price, p.entry_partial, p.entry_rest_price),
            (dec!(49900), true, Some(dec!(50000)))
        );

        w.ex_bal("BTC", dec!(0.001), dec!(0));
        let plan = reconcile(&w.input());
        let p = positions(&plan)[0];
        assert_eq!(
            (p.entry_price, p.entry_partial, p.entry_rest_price),
            (dec!(40000), false, None)
        );
    }

    /// An entry is never 0 without its flag: with no fill and no price, 0 flagged.
    #[test]
    fn an_entry_nothing_explains_is_zero_only_flagged() {
        let none = Basis::default();
        assert_eq!(
            entry_estimate(&none, dec!(1), None),
            Entry {
                price: dec!(0),
                partial: true,
                rest_price: None
            }
        );
        let half = Basis {
            qty: dec!(0.5),
            avg_cost: dec!(100),
            ..Basis::default()
        };
        assert_eq!(entry_estimate(&half, dec!(1), None).price, dec!(100));
        assert_eq!(
            entry_estimate(&half, dec!(1), Some(dec!(200))).price,
            dec!(150)
        );
        // More explained than held (sold since): the fills' cost, unflagged.
        assert!(!entry_estimate(&half, dec!(0.4), Some(dec!(200))).partial);
    }

    /// A partial entry is stable: a run that finds nothing new keeps it (its rest price
    /// is kept with it, so it is not blended again with itself).
    #[test]
    fn a_partial_entry_is_kept_by_the_next_run() {
        let mut w = World::new();
        w.ex_bal("BTC", dec!(0.1), dec!(0));
        one_buy_at_40000(&mut w);
        let plan = reconcile(&w.input());
        let recovered = positions(&plan)[0].clone();
        w.db_position(recovered);
        w.db_trade(trade(
            "BTCUSDT",
            1,
            Side::Buy,
            dec!(40000),
            dec!(0.001),
            dec!(0),
            "USDT",
            dec!(0),
        ));
        w.snap_fills("BTCUSDT", vec![]);
        w.snap.prices.insert(sym("BTCUSDT"), dec!(70000));
        let plan = reconcile(&w.input());
        assert!(positions(&plan).is_empty(), "{:?}", plan.corrections);
    }

    #[test]
    fn position_closed_while_bot_down_gets_exit_price_and_realized_pnl() {
        let mut w = World::new();
        w.db_position(position("ETHUSDT", "ETH", dec!(0.5), dec!(2000), 5));
        w.db_trade(trade(
            "ETHUSDT",
            1,
            Side::Buy,
            dec!(2000),
            dec!(0.5),
            dec!(0),
            "USDT",
            dec!(0),
        ));
        w.snap_fills(
            "ETHUSDT",
            vec![
                fill(
                    "ETHUSDT",
                    2,
                    9,
                    Side::Sell,
                    dec!(2100),
                    dec!(0.25),
                    dec!(0.5),
                    "USDT",
                    10,
                ),
                fill(
                    "ETHUSDT",
                    3,
                    9,
                    Side::Sell,
                    dec!(2300),
                    dec!(0.25),
                    dec!(0.5),
                    "USDT",
                    11,
                ),
            ],
        );
        let plan = reconcile(&w.input());
        let c = &of_kind(&plan, CorrectionKind::PositionClosed)[0];
        assert_eq!(c.expect, Expect::Version(2));
        let Record::Position(p) = &c.after else {
            panic!()
        };
        assert_eq!(p.status, PositionStatus::Closed);
        assert_eq!(p.exit_price, Some(dec!(2200)));
        // (2100-2000)*0.25 - 0.5 + (2300-2000)*0.25 - 0.5 = 99
        assert_eq!(p.realized_pnl, dec!(99));
        assert_eq!((p.closed_at, p.version), (Some(11), 3));
        assert_eq!((p.updated_by, p.updated_at), (Writer::Sync, w.now));
        assert!(plan
            .notes
            .contains(&"Position closed on exchange: ETHUSDT long 0.5".to_owned()));
        assert!(plan
            .discrepancies
            .iter()
            .any(|d| d.key == "position_closed:ETHUSDT"));
    }

    /// A closed round trip whose base is held again: its record is copied, every field, to
    /// its history item before the new position takes the key, and in that order.
    #[test]
    fn a_closed_position_held_again_is_archived_before_the_new_round_trip_opens() {
        let mut w = World::new();
        let closed = PositionRecord {
            status: PositionStatus::Closed,
            exit_price: Some(dec!(2200)),
            realized_pnl: dec!(99),
            closed_at: Some(11),
            updated_by: Writer::Bot,
            ..position("ETHUSDT", "ETH", dec!(0.5), dec!(2000), 5)
        };
        w.db_position(closed.clone());
        w.ex_bal("ETH", dec!(0.3), dec!(0));
        let plan = reconcile(&w.input());
        let kinds: Vec<CorrectionKind> = bot_visible(&plan)
            .iter()
            .map(|c| c.kind)
            .filter(|k| k.as_str().starts_with("position_"))
            .collect();
        assert_eq!(
            kinds,
            [
                CorrectionKind::PositionArchived,
                CorrectionKind::PositionRecovered
            ]
        );
        let archived = &of_kind(&plan, CorrectionKind::PositionArchived)[0];
        assert_eq!(archived.expect, Expect::Absent);
        assert_eq!(
            archived.after,
            Record::PositionHistory(PositionRecord {
                version: 1,
                ..closed
            })
        );
        let reopened = &of_kind(&plan, CorrectionKind::PositionRecovered)[0];
        assert_eq!(reopened.expect, Expect::Version(2));
        let Record::Position(p) = &reopened.after else {
            panic!("{:?}", reopened.after)
        };
        assert_eq!(
            (
                p.status,
                p.quantity,
                p.exit_price,
                p.closed_at,
                p.realized_pnl
            ),
            (PositionStatus::Open, dec!(0.3), None, None, dec!(0))
        );
    }

    /// An open position, or none at all, has no past round trip to keep.
    #[test]
    fn only_a_closed_position_is_archived() {
        let mut w = World::new();
        w.ex_bal("ETH", dec!(0.3), dec!(0));
        let plan = reconcile(&w.input());
        assert_eq!(of_kind(&plan, CorrectionKind::PositionRecovered).len(), 1);
        assert!(of_kind(&plan, CorrectionKind::PositionArchived).is_empty());

        w.db_position(position("ETHUSDT", "ETH", dec!(0.5), dec!(2000), 5));
        let plan = reconcile(&w.input());
        assert_eq!(of_kind(&plan, CorrectionKind::PositionAdjusted).len(), 1);
        assert!(of_kind(&plan, CorrectionKind::PositionArchived).is_empty());
    }

    #[test]
    fn position_closed_without_sells_exits_at_current_price() {
        let mut w = World::new();
        w.db_position(position("ETHUSDT", "ETH", dec!(0.5), dec!(1800), 5));
        let plan = reconcile(&w.input());
        let Record::Position(p) = &of_kind(&plan, CorrectionKind::PositionClosed)[0].after else {
            panic!()
        };
        assert_eq!((p.exit_price, p.closed_at), (Some(dec!(2000)), Some(w.now)));
    }

    /// Chaos campaign seed 20261201 (1,000 schedules), pair 240: the sync recovered a
    /// position from a basis that missed a buy below its checkpoint; the emergency found
    /// the buy and rebuilt the basis, and the position kept the old entry price. A
    /// position the sync recovered follows its basis; the bot's keeps its own entry.
    #[test]
    fn a_recovered_position_follows_its_rebuilt_basis_and_the_bots_keeps_its_entry() {
        let mut w = World::new();
        for (id, price) in [(1, dec!(40000)), (2, dec!(60000))] {
            w.db_trade(trade(
                "BTCUSDT",
                id,
                Side::Buy,
                price,
                dec!(0.001),
                dec!(0),
                "USDT",
                dec!(0),
            ));
        }
        w.ex_bal("BTC", dec!(0.002), dec!(0));
        let recovered = PositionRecord {
            recovered: true,
            ..position("BTCUSDT", "BTC", dec!(0.002), dec!(60000), 5)
        };
        w.db_position(recovered);
        let plan = reconcile(&w.input());
        let adjusted = of_kind(&plan, CorrectionKind::PositionAdjusted);
        let Record::Position(p) = &adjusted[0].after else {
            panic!("{adjusted:?}")
        };
        assert_eq!((p.quantity, p.entry_price), (dec!(0.002), dec!(50000)));

        w.db_position(position("BTCUSDT", "BTC", dec!(0.002), dec!(60000), 5));
        let plan = reconcile(&w.input());
        assert!(
            of_kind(&plan, CorrectionKind::PositionAdjusted).is_empty(),
            "the bot's entry price is the bot's"
        );

        // Chaos campaign pair 1886: a bot position whose quantity the sync corrected
        // before a fill below the basis was found; the entry the sync wrote follows the
        // rebuilt basis, as one uncut run would have written it.
        w.db_position(PositionRecord {
            updated_by: Writer::Sync,
            ..position("BTCUSDT", "BTC", dec!(0.002), dec!(60000), 5)
        });
        let plan = reconcile(&w.input());
        let adjusted = of_kind(&plan, CorrectionKind::PositionAdjusted);
        let Record::Position(p) = &adjusted[0].after else {
            panic!("{adjusted:?}")
        };
        assert_eq!((p.quantity, p.entry_price), (dec!(0.002), dec!(50000)));
    }

    /// A corrected quantity takes the basis's average cost only when the basis holds
    /// something: with no fill known, the records' entry stays (never 0).
    #[test]
    fn a_corrected_quantity_without_known_fills_keeps_the_records_entry() {
        let mut w = World::new();
        w.db_position(position("ETHUSDT", "ETH", dec!(0.5), dec!(2000), 5));
        w.ex_bal("ETH", dec!(0.6), dec!(0));
        let plan = reconcile(&w.input());
        let Record::Position(p) = &of_kind(&plan, CorrectionKind::PositionAdjusted)[0].after else {
            panic!("{:?}", plan.corrections)
        };
        assert_eq!((p.quantity, p.entry_price), (dec!(0.6), dec!(2000)));
    }

    #[test]
    fn quantity_change_adjusts_position_and_new_buys_recompute_entry() {
        let mut w = World::new();
        w.db_position(position("BTCUSDT", "BTC", dec!(0.001), dec!(40000), 5));
        w.db_trade(trade(
            "BTCUSDT",
            1,
            Side::Buy,
            dec!(40000),
            dec!(0.001),
            dec!(0),
            "USDT",
            dec!(0),
        ));
        w.ex_bal("BTC", dec!(0.002), dec!(0));
        w.snap_fills(
            "BTCUSDT",
            vec![fill(
                "BTCUSDT",
                2,
                2,
                Side::Buy,
                dec!(60000),
                dec!(0.001),
                dec!(0),
                "USDT",
                9,
            )],
        );
        let plan = reconcile(&w.input());
        let Record::Position(p) = &of_kind(&plan, CorrectionKind::PositionAdjusted)[0].after else {
            panic!()
        };
        assert_eq!((p.quantity, p.entry_price), (dec!(0.002), dec!(50000)));
        assert_eq!((p.updated_by, p.updated_at), (Writer::Sync, w.now));
        // Without the new fill, the known fills explain half of the corrected quantity:
        // that half at their cost (40,000), the rest at what the records knew (the bot's
        // 45,000), flagged partial.
        w.snap_fills("BTCUSDT", vec![]);
        w.db_position(position("BTCUSDT", "BTC", dec!(0.001), dec!(45000), 5));
        let plan = reconcile(&w.input());
        let Record::Position(p) = &of_kind(&plan, CorrectionKind::PositionAdjusted)[0].after else {
            panic!()
        };
        assert_eq!(
            (
                p.quantity,
                p.entry_price,
                p.entry_partial,
                p.entry_rest_price
            ),
            (dec!(0.002), dec!(42500), true, Some(dec!(45000)))
        );
    }

    /// Chaos campaign seed 20261201 (1,000 schedules), pairs 752 and 1886: the unit that
    /// recovered the buys of a bot position whose quantity was wrong did not plan the
    /// position (no price that run; or its apply was half committed), and the unit that
    /// corrected the quantity later recovered nothing itself, so the entry stayed the
    /// bot's where one uncut run takes the fills'. A corrected quantity takes the fills'
    /// average cost, whoever recorded the fills and whichever unit recovered them.
    #[test]
    fn a_bot_position_whose_quantity_is_corrected_takes_the_fills_average_cost() {
        for recovered in [true, false] {
            let mut w = World::new();
            w.db_position(position("BTCUSDT", "BTC", dec!(0.001), dec!(40000), 5));
            for (id, price, by_sync) in [(1, dec!(40000), false), (2, dec!(60000), recovered)] {
                w.db_trade(crate::domain::TradeRecord {
                    recovered: by_sync,
                    ..trade(
                        "BTCUSDT",
                        id,
                        Side::Buy,
                        price,
                        dec!(0.001),
                        dec!(0),
                        "USDT",
                        dec!(0),
                    )
                });
            }
            // A deposit beside the fills: they explain 0.002 of the 0.0025 held, at 50,000;
            // the rest at the bot's 40,000: (100 + 20) / 0.0025 = 48,000, flagged partial.
            w.ex_bal("BTC", dec!(0.0025), dec!(0));
            let plan = reconcile(&w.input());
            let adjusted = of_kind(&plan, CorrectionKind::PositionAdjusted);
            let Record::Position(p) = &adjusted[0].after else {
                panic!("{adjusted:?}")
            };
            assert_eq!(
                (p.quantity, p.entry_price, p.entry_partial),
                (dec!(0.0025), dec!(48000), true),
                "second buy recovered by the sync: {recovered}"
            );
        }
    }

    #[test]
    fn dust_that_grew_into_a_position_is_cleared_not_deleted() {
        let mut w = World::new();
        w.recs.dust.insert(
            asset("BTC"),
            DustRecord {
                asset: asset("BTC"),
                quantity: dec!(0.00001),
                version: 2,
                updated_at: 0,
            },
        );
        w.ex_bal("BTC", dec!(0.01), dec!(0));
        let plan = reconcile(&w.input());
        let d = planned_dust(&plan);
        assert_eq!((d.quantity, d.version), (dec!(0), 3));
        assert_eq!(of_kind(&plan, CorrectionKind::PositionRecovered).len(), 1);
    }

    #[test]
    fn position_of_a_partly_read_symbol_waits_for_a_complete_read() {
        use crate::core::{Mode, RulesConfig};
        use crate::domain::{Balance, ExchangeSnapshot, Records};
        let mut snap = ExchangeSnapshot::default();
        let info = symbol_info("BTC", "USDT", dec!(0.00001), dec!(5));
        snap.symbols.insert(info.symbol.clone(), info.clone());
        snap.prices.insert(info.symbol.clone(), dec!(50000));
        snap.balances.insert(
            info.base.clone(),
            Balance {
                asset: info.base.clone(),
                free: dec!(0.5),
                locked: Decimal::ZERO,
            },
        );
        snap.history.insert(
            info.symbol.clone(),
            crate::domain::SymbolHistory {
                allocations: None,
                fills: vec![],
                from_id: None,
                complete: false,
                read_at: 0,
            },
        );
        let records = Records::default();
        let config = RulesConfig::default();
        let plan_for = |snap: &ExchangeSnapshot| {
            crate::core::reconcile(&ReconcileInput {
                snapshot: snap,
                records: &records,
                config: &config,
                mode: Mode::Periodic,
                now: 1,
            })
        };
        let plan = plan_for(&snap);
        assert!(
            !plan
                .corrections
                .iter()
                .any(|c| matches!(c.after, Record::Position(_))),
            "no position from a partial history: {:?}",
            plan.corrections
        );
        assert!(
            !plan
                .discrepancies
                .iter()
                .any(|d| d.kind.starts_with("position")),
            "nothing said of a position not planned"
        );
        // Read completely, the same holding is recovered.
        if let Some(h) = snap.history.get_mut(&info.symbol) {
            h.complete = true;
        }
        let plan = plan_for(&snap);
        assert!(plan
            .corrections
            .iter()
            .any(|c| c.kind == CorrectionKind::PositionRecovered));
    }

    /// A price move alone never flips a held position to dust (nor dust to a position):
    /// each flip would be an alert, and a rotated read that found nothing needs no price.
    #[test]
    fn price_move_alone_never_flips_a_held_position_or_dust() {
        let mut w = World::new();
        w.db_position(position("ETHUSDT", "ETH", dec!(0.002), dec!(2000), 0));
        w.ex_bal("ETH", dec!(0.002), dec!(0));
        // 0.002 ETH at 1,000 is 2 USDT, below the 5 USDT minimum notional.
        w.snap.prices.insert(sym("ETHUSDT"), dec!(1000));
        w.recs.dust.insert(asset("BNB"), dust("BNB", dec!(0.02)));
        w.ex_bal("BNB", dec!(0.02), dec!(0));
        // 0.02 BNB at 600 is 12 USDT, above it.
        w.snap.prices.insert(sym("BNBUSDT"), dec!(600));
        w.db_bal("ETH", dec!(0.002), dec!(0));
        w.db_bal("BNB", dec!(0.02), dec!(0));
        let plan = reconcile(&w.input());
        assert!(bot_visible(&plan).is_empty(), "{:?}", bot_visible(&plan));

        // Once the quantity changes, the holding is classified afresh, with the price.
        w.ex_bal("ETH", dec!(0.003), dec!(0));
        let plan = reconcile(&w.input());
        assert_eq!(of_kind(&plan, CorrectionKind::PositionClosed).len(), 1);
    }

    /// Hysteresis: a held position whose quantity changed stays a position inside the band
    /// below the minimum notional (5 USDT, band 10 %: down to 4.5), and is closed to dust
    /// only below it.
    #[test]
    fn a_position_near_the_minimum_notional_stays_a_position_inside_the_band() {
        let mut w = World::new();
        w.db_position(position("ETHUSDT", "ETH", dec!(0.01), dec!(2000), 0));
        // A partial sell leaves 0.0024 ETH: 4.8 USDT at 2,000, under 5 but inside the band.
        w.ex_bal("ETH", dec!(0.0024), dec!(0));
        let plan = reconcile(&w.input());
        let adjusted = of_kind(&plan, CorrectionKind::PositionAdjusted);
        let Record::Position(p) = &adjusted[0].after else {
            panic!("{:?}", plan.corrections)
        };
        assert_eq!((p.status, p.quantity), (PositionStatus::Open, dec!(0.0024)));
        assert!(of_kind(&plan, CorrectionKind::PositionClosed).is_empty());
        assert!(of_kind(&plan, CorrectionKind::DustRecorded).is_empty());

        // 0.0022 ETH is 4.4 USDT: below the band, closed, the holding recorded as dust.
        w.ex_bal("ETH", dec!(0.0022), dec!(0));
        let plan = reconcile(&w.input());
        assert_eq!(of_kind(&plan, CorrectionKind::PositionClosed).len(), 1);
        assert_eq!(planned_dust(&plan).quantity, dec!(0.0022));
    }

    /// Hysteresis, the other way: dust whose quantity changed becomes a position only at
    /// the top of the band (5.5 USDT); inside it, the dust record follows the quantity.
    #[test]
    fn dust_near_the_minimum_notional_becomes_a_position_only_above_the_band() {
        let mut w = World::new();
        w.recs.dust.insert(asset("ETH"), dust("ETH", dec!(0.002)));
        // 0.0026 ETH at 2,000 is 5.2 USDT: over the minimum, inside the band.
        w.ex_bal("ETH", dec!(0.0026), dec!(0));
        let plan = reconcile(&w.input());
        assert!(positions(&plan).is_empty(), "{:?}", plan.corrections);
        assert_eq!(planned_dust(&plan).quantity, dec!(0.0026));

        // 0.0028 ETH is 5.6 USDT: above the band, a position; the dust record cleared.
        w.ex_bal("ETH", dec!(0.0028), dec!(0));
        let plan = reconcile(&w.input());
        assert_eq!(of_kind(&plan, CorrectionKind::PositionRecovered).len(), 1);
        assert_eq!(planned_dust(&plan).quantity, dec!(0));
    }

    /// A base the records hold as neither position nor dust is classified at the minimum
    /// notional itself; a band of 0 is the plain threshold for every class.
    #[test]
    fn a_base_the_records_do_not_hold_is_classified_at_the_minimum_notional() {
        let mut w = World::new();
        w.ex_bal("ETH", dec!(0.0026), dec!(0)); // 5.2 USDT
        let plan = reconcile(&w.input());
        assert_eq!(of_kind(&plan, CorrectionKind::PositionRecovered).len(), 1);

        let mut w = World::new();
        w.config.dust_band_pct = dec!(0);
        w.recs.dust.insert(asset("ETH"), dust("ETH", dec!(0.002)));
        w.ex_bal("ETH", dec!(0.0026), dec!(0));
        let plan = reconcile(&w.input());
        assert_eq!(of_kind(&plan, CorrectionKind::PositionRecovered).len(), 1);
    }

    /// A unit asks for its symbol's current price only when its holding must be classified
    /// (the records do not hold its quantity), and plans nothing until it has it.
    #[test]
    fn unit_asks_for_a_missing_price_only_when_the_holding_must_be_classified() {
        let mut w = World::new();
        w.snap.prices.clear();
        w.snap.prices_partial = true;
        w.db_position(position("ETHUSDT", "ETH", dec!(0.5), dec!(2000), 0));
        w.ex_bal("ETH", dec!(0.5), dec!(0));
        let unit = crate::core::plan_symbol(&w.input(), &sym("ETHUSDT"));
        assert_eq!(unit.needs_price, None);

        w.ex_bal("ETH", dec!(0.7), dec!(0));
        let unit = crate::core::plan_symbol(&w.input(), &sym("ETHUSDT"));
        assert_eq!(unit.needs_price, Some(sym("ETHUSDT")));
        assert!(of_kind(&unit.plan, CorrectionKind::PositionAdjusted).is_empty());

        w.snap.prices.insert(sym("ETHUSDT"), dec!(2000));
        let unit = crate::core::plan_symbol(&w.input(), &sym("ETHUSDT"));
        assert_eq!(unit.needs_price, None);
        assert_eq!(
            of_kind(&unit.plan, CorrectionKind::PositionAdjusted).len(),
            1
        );
    }

    /// A price that could not be read never decides a class: the holding is left as the
    /// records have it, and said so (dust is not made a position because a read failed).
    #[test]
    fn holding_the_notional_would_decide_is_not_classified_without_a_price() {
        let mut w = World::new();
        w.snap.prices.clear();
        w.recs.dust.insert(asset("ETH"), dust("ETH", dec!(0.001)));
        w.ex_bal("ETH", dec!(0.002), dec!(0));
        let plan = reconcile(&w.input());
        assert!(of_kind(&plan, CorrectionKind::PositionRecovered).is_empty());
        assert!(of_kind(&plan, CorrectionKind::DustRecorded).is_empty());
        assert!(plan
            .notes
            .contains(&"No current price for ETHUSDT: position of ETH not checked".to_owned()));
    }

    /// A holding that left without a sell since the bot opened its position (withdrawn,
    /// converted) closes at the current price with its P&L unchanged: the sells of the
    /// basis's round trip before the position opened are not its exit.
    #[test]
    fn a_position_whose_holding_left_without_a_sell_since_it_opened_closes_at_the_current_price() {
        let mut w = World::new();
        let mut bot = position("ETHUSDT", "ETH", dec!(0.5), dec!(2000), 5);
        bot.opened_at = 100;
        w.db_position(bot);
        w.db_trade(trade(
            "ETHUSDT",
            1,
            Side::Buy,
            dec!(2000),
            dec!(1),
            dec!(0),
            "USDT",
            dec!(0),
        ));
        // A sell before the position's opening (time 50), then the holding left.
        let mut sell = trade(
            "ETHUSDT",
            2,
            Side::Sell,
            dec!(2500),
            dec!(0.5),
            dec!(0),
            "USDT",
            dec!(0),
        );
        sell.time = 50;
        w.db_trade(sell);
        w.snap.prices.insert(sym("ETHUSDT"), dec!(1800));
        let plan = reconcile(&w.input());
        let Record::Position(p) = &of_kind(&plan, CorrectionKind::PositionClosed)[0].after else {
            panic!("{:?}", plan.corrections)
        };
        assert_eq!(
            (p.exit_price, p.realized_pnl, p.closed_at),
            (Some(dec!(1800)), dec!(0), Some(w.now))
        );
    }

    /// Zero is never a position, whatever the symbol's filters (some list no minimum).
    #[test]
    fn a_zero_holding_is_never_a_position_even_without_minimums() {
        let free = symbol_info("AAA", "USDT", dec!(0), dec!(0));
        for was in [None, Some(true), Some(false)] {
            assert!(!is_position_size(dec!(0), &free, None, was, dec!(10)));
            assert!(!is_position_size(
                dec!(0),
                &free,
                Some(dec!(1)),
                was,
                dec!(10)
            ));
            assert!(is_position_size(
                dec!(0.00000001),
                &free,
                None,
                was,
                dec!(10)
            ));
        }
    }

    /// The bot's open position on a symbol the exchange no longer describes (delisted,
    /// no trading rules): closed once nothing is held, never closed (nor sized) while
    /// something is, since without the rules its size cannot be judged.
    #[test]
    fn a_position_without_trading_rules_is_closed_only_once_nothing_is_held() {
        for (held, closed) in [(dec!(0), true), (dec!(3), false)] {
            let mut w = World::new();
            w.snap.symbols.remove(&sym("ETHUSDT"));
            w.db_position(position("ETHUSDT", "ETH", dec!(0.5), dec!(2000), 5));
            w.ex_bal("ETH", held, dec!(0));
            let unit = crate::core::plan_symbol(&w.input(), &sym("ETHUSDT"));
            assert_eq!(
                of_kind(&unit.plan, CorrectionKind::PositionClosed).len(),
                usize::from(closed),
                "holding {held}: {:?}",
                unit.plan.notes
            );
            assert!(of_kind(&unit.plan, CorrectionKind::PositionAdjusted).is_empty());
            assert_eq!(unit.checkpoint.holding_unchecked, !closed, "holding {held}");
        }
    }

    /// Chaos campaign seed 20261201 (1,000 schedules), pair 1397: the unit that read
    /// DOTUSDT to its end had no price for it (the price read failed), so its 12,589 DOT
    /// stayed recorded as dust; the symbol was quiet after that and waited for the
    /// rotation. The checkpoint now says the holding is unchecked (the scope reads such
    /// a symbol next run), and the next unit with a price clears the flag.
    #[test]
    fn a_holding_left_unchecked_for_want_of_a_price_is_flagged_in_its_checkpoint() {
        let mut w = World::new();
        w.snap.prices.clear();
        w.recs.dust.insert(asset("ETH"), dust("ETH", dec!(0.001)));
        w.ex_bal("ETH", dec!(5), dec!(0));
        let unit = crate::core::plan_symbol(&w.input(), &sym("ETHUSDT"));
        assert!(unit.checkpoint.holding_unchecked);

        w.recs
            .cursors
            .insert(sym("ETHUSDT"), unit.checkpoint.clone());
        w.snap.prices.insert(sym("ETHUSDT"), dec!(2000));
        let unit = crate::core::plan_symbol(&w.input(), &sym("ETHUSDT"));
        assert!(!unit.checkpoint.holding_unchecked);
        assert_eq!(
            of_kind(&unit.plan, CorrectionKind::PositionRecovered).len(),
            1,
            "checked with a price, the 5 ETH are a position"
        );
    }

    /// BTC traded on BTCUSDT (the bot's) and BTCFDUSD, FDUSD configured after USDT.
    fn two_quotes() -> World {
        let mut w = World::new();
        w.config.quote_assets = vec![asset("USDT"), asset("FDUSD")];
        let info = symbol_info("BTC", "FDUSD", dec!(0.0001), dec!(5));
        w.snap.prices.insert(info.symbol.clone(), dec!(50000));
        w.snap.symbols.insert(info.symbol.clone(), info);
        w
    }

    /// BTCFDUSD's checkpoint after its unit read its fills: the shell reads a base's other
    /// symbols before its owner (`owners_last`) and updates checkpoints after each unit.
    fn fdusd_read(w: &mut World, basis: Basis) {
        let mut cursor = crate::domain::CursorRecord::new(sym("BTCFDUSD"));
        cursor.last_trade_id = basis.through;
        cursor.basis = basis;
        w.recs.cursors.insert(sym("BTCFDUSD"), cursor);
        w.snap_fills("BTCFDUSD", vec![]);
    }

    fn bought_half() -> Basis {
        Basis {
            qty: dec!(0.5),
            avg_cost: dec!(52000),
            open_since: Some(9),
            through: Some(7),
            ..Basis::default()
        }
    }

    fn positions_after(plan: &Plan) -> Vec<(Symbol, PositionStatus, Decimal, Decimal)> {
        plan.corrections
            .iter()
            .filter_map(|c| match &c.after {
                Record::Position(p) => {
                    Some((p.symbol.clone(), p.status, p.quantity, p.entry_price))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_bases_other_symbols_are_read_just_before_its_owner() {
        let w = two_quotes();
        let mut reads = vec![
            (sym("BTCUSDT"), 0),
            (sym("ETHUSDT"), 1),
            (sym("BTCFDUSD"), 2),
        ];
        owners_last(
            &mut reads,
            &w.snap.symbols,
            &w.recs.positions,
            &w.config.quote_assets,
        );
        assert_eq!(
            reads,
            vec![
                (sym("BTCFDUSD"), 2),
                (sym("BTCUSDT"), 0),
                (sym("ETHUSDT"), 1)
            ],
            "the sibling comes forward; the owner keeps its place before ETHUSDT"
        );
    }

    #[test]
    fn each_quote_of_one_base_is_sized_by_its_own_fills_and_the_owner_keeps_its_own() {
        let mut w = two_quotes();
        w.db_position(position("BTCUSDT", "BTC", dec!(1), dec!(40000), 5));
        w.snap_fills(
            "BTCUSDT",
            vec![fill(
                "BTCUSDT",
                1,
                1,
                Side::Buy,
                dec!(40000),
                dec!(1),
                dec!(0),
                "USDT",
                5,
            )],
        );
        fdusd_read(&mut w, bought_half());
        w.ex_bal("BTC", dec!(1.5), dec!(0));
        let plan = reconcile(&w.input());
        assert_eq!(
            positions_after(&plan),
            vec![(
                sym("BTCFDUSD"),
                PositionStatus::Open,
                dec!(0.5),
                dec!(52000)
            )],
            "{:?}",
            plan.notes
        );
        assert!(of_kind(&plan, CorrectionKind::DustRecorded).is_empty());
    }

    #[test]
    fn the_owner_takes_what_no_other_quotes_fills_explain() {
        let mut w = two_quotes();
        w.db_position(position("BTCUSDT", "BTC", dec!(1), dec!(40000), 5));
        fdusd_read(&mut w, bought_half());
        // 0.2 BTC more than both symbols' records and fills: the owner's.
        w.ex_bal("BTC", dec!(1.7), dec!(0));
        let plan = reconcile(&w.input());
        let after = positions_after(&plan);
        assert!(after.contains(&(
            sym("BTCFDUSD"),
            PositionStatus::Open,
            dec!(0.5),
            dec!(52000)
        )));
        let usdt: Vec<_> = after.iter().filter(|p| p.0 == sym("BTCUSDT")).collect();
        assert_eq!(usdt.len(), 1, "{after:?}");
        assert_eq!((usdt[0].1, usdt[0].2), (PositionStatus::Open, dec!(1.2)));
    }

    #[test]
    fn another_quotes_position_sold_out_is_closed_and_the_owners_is_untouched() {
        let mut w = two_quotes();
        w.db_position(position("BTCUSDT", "BTC", dec!(1), dec!(40000), 5));
        w.db_position(PositionRecord {
            quote: asset("FDUSD"),
            ..position("BTCFDUSD", "BTC", dec!(0.5), dec!(52000), 9)
        });
        fdusd_read(
            &mut w,
            Basis {
                realized: dec!(1000),
                through: Some(8),
                sold_qty: dec!(0.5),
                sold_value: dec!(27000),
                sold_realized: dec!(1000),
                last_sell_at: Some(20),
                ..Basis::default()
            },
        );
        w.ex_bal("BTC", dec!(1), dec!(0));
        let plan = reconcile(&w.input());
        let closed = of_kind(&plan, CorrectionKind::PositionClosed);
        assert_eq!(closed.len(), 1, "{:?}", plan.notes);
        let Record::Position(p) = &closed[0].after else {
            panic!("{:?}", closed[0].after)
        };
        assert_eq!(
            (&p.symbol, p.exit_price, p.realized_pnl),
            (&sym("BTCFDUSD"), Some(dec!(54000)), dec!(1000))
        );
        assert!(of_kind(&plan, CorrectionKind::PositionAdjusted).is_empty());
    }

    #[test]
    fn another_quotes_open_position_without_a_read_keeps_its_quantity_out_of_the_owners() {
        let mut w = two_quotes();
        w.db_position(position("BTCUSDT", "BTC", dec!(1), dec!(40000), 5));
        w.db_position(PositionRecord {
            quote: asset("FDUSD"),
            ..position("BTCFDUSD", "BTC", dec!(0.5), dec!(52000), 9)
        });
        w.snap.history.remove(&sym("BTCFDUSD"));
        // 0.2 more than both records: the owner's; BTCFDUSD's 0.5 is kept out of it.
        w.ex_bal("BTC", dec!(1.7), dec!(0));
        let plan = reconcile(&w.input());
        let after = positions_after(&plan);
        assert_eq!(after.len(), 1, "{after:?} {:?}", plan.notes);
        assert_eq!(
            (&after[0].0, after[0].1, after[0].2),
            (&sym("BTCUSDT"), PositionStatus::Open, dec!(1.2))
        );
    }

    /// Bot-only positions: BTCUSDT fills of the bot's order 1 and of the owner's orders
    /// (client ids without the bot's prefix), each order known from its record.
    fn bot_and_owner(sells: bool) -> World {
        let mut w = World::new();
        w.config.positions_of = PositionsOf::Bot;
        let order = |id: u64, client: &str, side: Side| crate::domain::OrderRecord {
            client_order_id: client.to_owned(),
            side,
            ..order_rec(
                "BTCUSDT",
                id,
                crate::domain::OrderStatus::Filled,
                dec!(1),
                dec!(1),
            )
        };
        w.db_order(order(1, "bot-1", Side::Buy));
        w.db_order(order(2, "web_8f2c", Side::Buy));
        w.db_order(order(3, "ios_77a1", Side::Sell));
        let mut fills = vec![
            usdt_fill(1, Side::Buy, dec!(40000), dec!(0.5)),
            usdt_fill(2, Side::Buy, dec!(20000), dec!(1.5)),
        ];
        if sells {
            fills.push(usdt_fill(3, Side::Sell, dec!(30000), dec!(0.5)));
        }
        w.snap_fills("BTCUSDT", fills);
        w
    }

    fn recovered_trade(plan: &Plan, id: u64) -> crate::domain::TradeRecord {
        plan.corrections
            .iter()
            .find_map(|c| match &c.after {
                Record::Trade(t) if t.trade_id == id => Some(t.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("trade {id} not recovered"))
    }

    #[test]
    fn a_bot_only_position_is_the_bots_fills_and_the_owners_holding_is_reported_apart() {
        let mut w = bot_and_owner(false);
        w.ex_bal("BTC", dec!(2), dec!(0));
        let plan = reconcile(&w.input());
        let p = positions(&plan);
        assert_eq!(p.len(), 1, "{:?}", plan.notes);
        assert_eq!(
            (p[0].quantity, p[0].entry_price, p[0].entry_partial),
            (dec!(0.5), dec!(40000), false),
            "the bot's 0.5 at the bot's price, not 2 BTC at the account's 25,000"
        );
        assert!(
            plan.notes
                .iter()
                .any(|n| n.starts_with("BTC: 1.5 held beyond the bot's")),
            "{:?}",
            plan.notes
        );
        // The owner's fill is recorded all the same: it moved the balances.
        assert_eq!(recovered_trade(&plan, 2).qty, dec!(1.5));
        assert!(of_kind(&plan, CorrectionKind::DustRecorded).is_empty());
    }

    #[test]
    fn a_position_no_bot_fill_holds_is_closed_as_not_the_bots_while_the_owner_holds_the_base() {
        let mut w = World::new();
        w.config.positions_of = PositionsOf::Bot;
        w.db_position(position("BNBUSDT", "BNB", dec!(1.4), dec!(650), 5));
        w.ex_bal("BNB", dec!(1.4), dec!(0));
        let plan = reconcile(&w.input());
        let closed = of_kind(&plan, CorrectionKind::PositionClosed);
        assert_eq!(closed.len(), 1, "{:?}", plan.notes);
        assert_eq!(
            closed[0].reason,
            "Position closed, not the bot's: BNBUSDT long 1.4 (no fill of the bot's orders holds it; the 1.4 BNB held is the owner's)"
        );
    }

    #[test]
    fn an_owners_sell_is_recorded_without_realized_pnl_and_leaves_the_bots_position() {
        let mut w = bot_and_owner(true);
        w.ex_bal("BTC", dec!(1.5), dec!(0));
        let plan = reconcile(&w.input());
        assert_eq!(
            recovered_trade(&plan, 3).realized_pnl,
            None,
            "not the bot's round trip"
        );
        let p = positions(&plan);
        assert_eq!((p[0].quantity, p[0].entry_price), (dec!(0.5), dec!(40000)));
        // The same account with positions of the account's: the sell realizes against the
        // average cost of every buy.
        let mut all = bot_and_owner(true);
        all.config.positions_of = PositionsOf::Account;
        all.ex_bal("BTC", dec!(1.5), dec!(0));
        let plan = reconcile(&all.input());
        assert_eq!(recovered_trade(&plan, 3).realized_pnl, Some(dec!(2500)));
        assert_eq!(positions(&plan)[0].quantity, dec!(1.5));
    }

    #[test]
    fn a_fill_whose_order_is_unknown_holds_the_bots_basis_before_it_and_plans_no_position() {
        let mut w = bot_and_owner(false);
        w.recs.orders.remove(&(sym("BTCUSDT"), 2));
        w.ex_bal("BTC", dec!(2), dec!(0));
        let plan = reconcile(&w.input());
        assert!(positions(&plan).is_empty(), "{:?}", plan.notes);
        let cursor = planned_cursor(&plan, "BTCUSDT");
        assert_eq!(
            (cursor.basis.through, cursor.basis_state, cursor.basis_of),
            (Some(1), BasisState::Rebuilding, PositionsOf::Bot),
            "the bot's buy is in, the fill of the unknown order waits"
        );
        assert_eq!(cursor.last_trade_id, Some(2), "both fills are recorded");
        // Once the exchange answers for the order, its fill is placed.
        let mut w = bot_and_owner(false);
        w.recs.orders.remove(&(sym("BTCUSDT"), 2));
        w.snap
            .fill_orders
            .insert((sym("BTCUSDT"), 2), crate::domain::OrderLookup::NotFound);
        w.ex_bal("BTC", dec!(2), dec!(0));
        assert_eq!(positions(&reconcile(&w.input()))[0].quantity, dec!(0.5));
    }

    #[test]
    fn a_basis_of_the_accounts_fills_is_rebuilt_when_positions_become_the_bots() {
        let mut w = bot_and_owner(false);
        let mut cursor = crate::domain::CursorRecord::new(sym("BTCUSDT"));
        cursor.last_trade_id = Some(2);
        cursor.basis = Basis {
            qty: dec!(2),
            avg_cost: dec!(25000),
            through: Some(2),
            open_since: Some(10),
            ..Basis::default()
        };
        w.recs.cursors.insert(sym("BTCUSDT"), cursor);
        w.snap_fills_from("BTCUSDT", 3, vec![], true);
        w.ex_bal("BTC", dec!(2), dec!(0));
        let plan = reconcile(&w.input());
        assert!(
            positions(&plan).is_empty(),
            "no position from a basis of the wrong fills"
        );
        assert!(
            plan.notes
                .iter()
                .any(|n| n.contains("holds the account's fills")),
            "{:?}",
            plan.notes
        );
        let rebuilt = planned_cursor(&plan, "BTCUSDT");
        assert_eq!(
            (rebuilt.basis.through, rebuilt.basis_state, rebuilt.basis_of),
            (None, BasisState::Rebuilding, PositionsOf::Bot)
        );
    }
}
