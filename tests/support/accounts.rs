//! Random accounts and the bot's diverged view of them, and the checks of what a sync
//! leaves: shared by the units property test (`tests/sync_units_property.rs`) and the
//! chaos campaign (`tests/chaos.rs`).
//!
//! An [`AccountSpec`] (drawn by [`account_spec`]) is built by [`build`] into a
//! [`FakeAccount`] for the in-process fake exchange and the bot's records of it: 3 to 12
//! symbols against USDT (BNB among them), bases held without any USDT symbol, symbols
//! never traded, symbols with up to ~2,500 fills (several 1,000-fill pages), fees in the
//! quote, the base, BNB (priced at the fill's minute, or at the current price when the
//! minute has no candle) or nothing; some of the fills recorded by the bot, positions open
//! with the wrong quantity or closed, stale balances and dust, orders the bot thinks open
//! that are filled, gone or archived, open orders it never recorded, old-layout
//! checkpoints whose basis must be rebuilt, recent histories (dense, bursts of 1,001 fills
//! in one millisecond, holes below an old checkpoint) that an emergency re-scans.
//!
//! [`assert_true_to_the_exchange`] checks records against the exchange and a replay from
//! scratch; [`assert_same_records`] compares two stores' records field by field.
//!
//! Include it from a test crate, beside the fake exchange, with
//! `#[path = "support/fake_exchange.rs"] mod fake_exchange;` and
//! `#[path = "support/accounts.rs"] mod accounts;`.
#![allow(dead_code)]

use crate::fake_exchange::FakeAccount;
use binance_account_sync::core::pnl::replay;
use binance_account_sync::core::positions::{entry_estimate, is_position_size, recorded_class};
use binance_account_sync::core::{Mode, RulesConfig};
use binance_account_sync::domain::{
    minute_start, AccountId, Asset, Balance, BalanceRecord, BasisState, CursorRecord, DustRecord,
    ExchangeOrder, Fill, Millis, OrderOrigin, OrderRecord, OrderStatus, PositionRecord,
    PositionStatus, Record, Records, Side, Symbol, SymbolInfo, TradeRecord, Writer,
};
use binance_account_sync::report::{record_key, SyncReport};
use binance_account_sync::service::{now_ms, RunSettings, SyncRequest};
use binance_account_sync::store::memory::MemoryStore;
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::Duration;

/// When a quiet symbol's history starts (2023-11-14): long before the emergency's
/// lookback. Every time a fill gives is before any run, so a field the sync sets to the
/// run's own time is told apart.
pub const T0: Millis = 1_700_000_000_000;
pub const DAY: Millis = 86_400_000;
/// How long before today a recent history starts: within the emergency lookback (30
/// days), so its symbol is re-scanned by 24-hour windows.
pub const RECENT_DAYS: Millis = 20;

/// A base the generator trades against USDT: its starting price (in ticks of
/// 10^-price_dp), its quantity step (10^-qty_dp) and minimum notional.
pub struct BaseDef {
    pub name: &'static str,
    pub price: i64,
    pub price_dp: u32,
    pub qty_dp: u32,
    pub min_notional: i64,
}

pub const fn base(
    name: &'static str,
    price: i64,
    price_dp: u32,
    qty_dp: u32,
    min_notional: i64,
) -> BaseDef {
    BaseDef {
        name,
        price,
        price_dp,
        qty_dp,
        min_notional,
    }
}

// name, starting price (in ticks), price decimals, quantity decimals, minimum notional
pub const BASES: [BaseDef; 12] = [
    base("BNB", 30_000, 2, 3, 5),
    base("BTC", 4_000_000, 2, 5, 10),
    base("ETH", 200_000, 2, 4, 10),
    base("SOL", 50_000, 3, 2, 5),
    base("ADA", 5_000, 4, 1, 5),
    base("XRP", 6_000, 4, 1, 5),
    base("DOT", 6_000, 3, 2, 5),
    base("LTC", 7_000, 2, 3, 5),
    base("TRX", 10_000, 5, 0, 5),
    base("AVAX", 20_000, 3, 2, 5),
    base("LINK", 15_000, 3, 2, 5),
    base("ATOM", 9_000, 3, 2, 5),
];

/// Assets held that no USDT symbol trades (one of them listed against BTC only).
pub const QUOTELESS: [&str; 3] = ["QLA", "QLB", "QLC"];

// The drawn account ------------------------------------------------------------------

/// Which of a symbol's fills the bot recorded.
#[derive(Debug, Clone)]
pub enum Recorded {
    Nothing,
    Everything,
    /// The fills before this share (per mille) of the history: the bot went down after.
    FirstPart(u16),
    /// About this percentage of the fills, anywhere.
    Sample(u8),
}

/// What the account holds of a base beyond what its fills leave.
#[derive(Debug, Clone)]
pub enum Extra {
    Nothing,
    /// Half a quantity step: below the minimum size.
    Dust,
    /// This many lots (~1,000 USDT each) from outside the symbol's fills.
    Deposit(u8),
}

/// The bot's position record of the symbol.
#[derive(Debug, Clone)]
pub enum BotPosition {
    None,
    /// Open, at this percentage of the holding (a lot when nothing is held).
    Open {
        qty_pct: u16,
    },
    /// An old round trip, closed.
    Closed,
}

/// An order the bot's records hold open.
#[derive(Debug, Clone)]
pub enum StaleOrder {
    None,
    /// Filled on the exchange (one of the symbol's fills' orders).
    Filled,
    /// Unknown to the exchange (-2013).
    Vanished,
    /// Archived by the exchange (-2026).
    Archived,
}

/// An order open on the exchange.
#[derive(Debug, Clone)]
pub enum OpenOrder {
    None,
    /// Placed by the bot (`bot-` prefix) or by hand, and recorded by the bot or not.
    Open {
        bot: bool,
        recorded: bool,
    },
}

/// When a symbol's fills happened.
#[derive(Debug, Clone)]
pub enum When {
    /// Long before the emergency's lookback: its forward read is all an emergency reads.
    LongAgo,
    /// Within the lookback: an emergency re-scans it by 24-hour windows.
    Recent {
        /// Fills every ~30 s rather than every ~2 min: windows of more than 1,000 fills.
        dense: bool,
        /// A market order filled 1,001+ times within one millisecond (when the history is
        /// long enough): a window no halving brings under 1,000 fills.
        burst: bool,
        /// With an old-layout checkpoint: this percentage of the fills it covers is missing
        /// from the store (only the re-scan finds them).
        holes_pct: u8,
    },
}

#[derive(Debug, Clone)]
pub struct SymbolSpec {
    pub fills: usize,
    pub when: When,
    pub seed: u64,
    /// Share of the fills (percent) whose fee is paid in BNB.
    pub bnb_fee_pct: u8,
    pub recorded: Recorded,
    pub extra: Extra,
    pub position: BotPosition,
    pub stale_order: StaleOrder,
    pub open_order: OpenOrder,
    /// A dust record the bot left.
    pub stale_dust: bool,
    /// A checkpoint of the old layout (ids only) through this share (per mille) of the
    /// fills; the trades it covers are stored (but for the holes of a recent history).
    pub layout1: Option<u16>,
}

#[derive(Debug, Clone)]
pub struct AccountSpec {
    /// Symbol `i` trades `BASES[i]` against USDT.
    pub symbols: Vec<SymbolSpec>,
    /// Amounts (whole units) of the quote-less bases held.
    pub quoteless: Vec<u32>,
    /// Bit `i`: the bot's balance record of asset `i` (USDT, the bases, the quote-less
    /// ones) is stale.
    pub stale_balances: u32,
    /// The bot holds a balance record of an asset the account no longer holds.
    pub gone_asset: bool,
    /// Units after which the runs of A are cut, one per run, cycled.
    pub cuts: Vec<u64>,
}

pub fn fill_count() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => Just(0usize),
        4 => 1usize..60,
        2 => 60usize..400,
        1 => prop::sample::select(vec![999usize, 1000, 1001, 2000]),
        1 => 900usize..2500,
    ]
}

pub fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        2 => Just(When::LongAgo),
        1 => (
            any::<bool>(),
            prop_oneof![3 => Just(false), 1 => Just(true)],
            prop_oneof![1 => Just(0u8), 1 => 1u8..30],
        )
            .prop_map(|(dense, burst, holes_pct)| When::Recent {
                dense,
                burst,
                holes_pct,
            }),
    ]
}

pub fn symbol_spec() -> impl Strategy<Value = SymbolSpec> {
    (
        (
            fill_count(),
            when(),
            any::<u64>(),
            prop_oneof![2 => Just(0u8), 1 => 10u8..60],
        ),
        prop_oneof![
            Just(Recorded::Nothing),
            Just(Recorded::Everything),
            (0u16..1000).prop_map(Recorded::FirstPart),
            (5u8..95).prop_map(Recorded::Sample),
        ],
        prop_oneof![
            2 => Just(Extra::Nothing),
            1 => Just(Extra::Dust),
            1 => (1u8..4).prop_map(Extra::Deposit),
        ],
        prop_oneof![
            3 => Just(BotPosition::None),
            2 => (0u16..300).prop_map(|qty_pct| BotPosition::Open { qty_pct }),
            1 => Just(BotPosition::Closed),
        ],
        prop_oneof![
            3 => Just(StaleOrder::None),
            1 => Just(StaleOrder::Filled),
            1 => Just(StaleOrder::Vanished),
            1 => Just(StaleOrder::Archived),
        ],
        prop_oneof![
            2 => Just(OpenOrder::None),
            1 => (any::<bool>(), any::<bool>())
                .prop_map(|(bot, recorded)| OpenOrder::Open { bot, recorded }),
        ],
        any::<bool>(),
        prop_oneof![3 => Just(None), 1 => (0u16..1000).prop_map(Some)],
    )
        .prop_map(
            |(
                (fills, when, seed, bnb_fee_pct),
                recorded,
                extra,
                position,
                stale_order,
                open_order,
                stale_dust,
                layout1,
            )| SymbolSpec {
                fills,
                when,
                seed,
                bnb_fee_pct,
                recorded,
                extra,
                position,
                stale_order,
                open_order,
                stale_dust,
                layout1,
            },
        )
}

pub fn account_spec() -> impl Strategy<Value = AccountSpec> {
    (
        prop::collection::vec(symbol_spec(), 3..=12),
        prop::collection::vec(1u32..500, 1..=3),
        any::<u32>(),
        any::<bool>(),
        prop::collection::vec(1u64..8, 1..12),
    )
        .prop_map(
            |(symbols, quoteless, stale_balances, gone_asset, mut cuts)| {
                // A run cut after its first unit (the account read) reads no symbol: some
                // cut must leave room for a symbol's unit, or nothing converges.
                if cuts.iter().all(|k| *k < 2) {
                    cuts.push(2);
                }
                AccountSpec {
                    symbols,
                    quoteless,
                    stale_balances,
                    gone_asset,
                    cuts,
                }
            },
        )
}

// Building the account and the bot's records ------------------------------------------

/// SplitMix64: the fills of a symbol come from its seed, so a shrunk case stays readable.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|e| panic!("decimal {s:?}: {e}"))
}

pub fn asset(s: &str) -> Asset {
    Asset::parse(s).expect("asset")
}

pub fn sym(s: &str) -> Symbol {
    Symbol::parse(s).expect("symbol")
}

pub fn usdt() -> Asset {
    asset("USDT")
}

pub fn bnb_usdt() -> Symbol {
    sym("BNBUSDT")
}

/// The BNBUSDT close of a minute (the fees paid in BNB are sized with it).
pub fn bnb_close(minute: Millis) -> Decimal {
    Decimal::from(280 + (minute / 60_000).rem_euclid(40))
}

/// Whether the exchange has a BNBUSDT candle for the minute (else the sync stores the fee
/// unpriced, at once: the exchange answered that minute without a price).
pub fn has_candle(minute: Millis) -> bool {
    (minute / 60_000).rem_euclid(13) != 5
}

/// The account, the bot's records of it, and what the checks need to know of both.
pub struct Built {
    pub account: FakeAccount,
    /// The bot's records, in the order written.
    pub seed: Vec<Record>,
    pub rules: RulesConfig,
    /// Symbols with an old-layout checkpoint, and the trade id it was read through.
    pub layout1: BTreeMap<Symbol, u64>,
    /// The bot's position record per symbol (open or closed).
    pub bot_positions: BTreeMap<Symbol, PositionRecord>,
    /// Bot trades whose quantity or price disagrees with the exchange's fill (the chaos
    /// campaign's): the sync never rewrites a stored trade, so these keep the bot's values.
    pub disagreeing: BTreeSet<(Symbol, u64)>,
}

pub struct SymbolFills {
    pub fills: Vec<Fill>,
    /// What the fills leave of the base.
    pub holding: Decimal,
    pub last_price: Decimal,
}

pub fn gen_fills(
    i: usize,
    def: &BaseDef,
    spec: &SymbolSpec,
    info: &SymbolInfo,
    today: Millis,
) -> SymbolFills {
    let mut rng = Rng(spec.seed);
    let step = info.step_size;
    let base = &info.base;
    let mut ticks = def.price;
    let (mut t, max_gap, burst) = match spec.when {
        When::LongAgo => (T0, 240_000, None),
        When::Recent { dense, burst, .. } => (
            today - RECENT_DAYS * DAY,
            if dense { 60_000 } else { 240_000 },
            // Fills 50 .. 50 + 1,001..1,050 share one millisecond and one order.
            (burst && spec.fills >= 1_100).then(|| 50..50 + 1_001 + (spec.seed % 50) as usize),
        ),
    };
    t += i as Millis * 7_919;
    let mut trade_id = 1 + rng.below(50_000);
    let mut order_id = 1_000_000 * (i as u64 + 1) + rng.below(1_000);
    let mut holding = Decimal::ZERO;
    let mut last_side = None;
    let mut fills = Vec::with_capacity(spec.fills);
    for j in 0..spec.fills {
        let in_burst = burst.as_ref().is_some_and(|b| b.contains(&j));
        let burst_goes_on = in_burst && burst.as_ref().is_some_and(|b| j > b.start);
        let swing = (ticks / 100).max(1);
        ticks = (ticks + rng.below(2 * swing as u64 + 1) as i64 - swing).max(def.price / 2);
        let price = Decimal::new(ticks, def.price_dp);
        let sellable = (holding / step).floor() * step;
        let side = if in_burst {
            Side::Buy
        } else if sellable >= step && rng.percent(45) {
            Side::Sell
        } else {
            Side::Buy
        };
        if !burst_goes_on && (last_side != Some(side) || in_burst || rng.percent(60)) {
            order_id += 1 + rng.below(20);
        }
        last_side = Some(side);
        let notional = Decimal::from(20 + rng.below(1_980));
        let mut qty = ((notional / price) / step).floor() * step;
        if qty < step {
            qty = step;
        }
        if side == Side::Sell {
            qty = qty.min(sellable);
        }
        let quote_qty = price * qty;
        let roll = rng.below(100);
        let (mut commission, mut commission_asset) = if roll < u64::from(spec.bnb_fee_pct) {
            let close = bnb_close(minute_start(t));
            (
                (quote_qty * dec("0.00075") / close).round_dp(8),
                asset("BNB"),
            )
        } else if roll >= 97 {
            (Decimal::ZERO, asset("BNB"))
        } else if side == Side::Buy {
            ((qty * dec("0.001")).round_dp(def.qty_dp + 3), base.clone())
        } else {
            ((quote_qty * dec("0.001")).round_dp(8), usdt())
        };
        if side == Side::Sell && &commission_asset == base && !commission.is_zero() {
            // BNBUSDT: a sell's fee is taken from what it receives.
            commission = (quote_qty * dec("0.001")).round_dp(8);
            commission_asset = usdt();
        }
        match side {
            Side::Buy if &commission_asset == base => holding += qty - commission,
            Side::Buy => holding += qty,
            Side::Sell => holding -= qty,
        }
        fills.push(Fill {
            symbol: info.symbol.clone(),
            trade_id,
            order_id,
            side,
            price,
            qty,
            quote_qty,
            commission,
            commission_asset,
            time: t,
            is_maker: rng.percent(50),
        });
        let burst_next = burst
            .as_ref()
            .is_some_and(|b| b.contains(&(j + 1)) && j + 1 > b.start);
        if !burst_next {
            t += rng.below(max_gap) as Millis;
        }
        trade_id += 1 + rng.below(3);
    }
    SymbolFills {
        fills,
        holding,
        last_price: Decimal::new(ticks, def.price_dp),
    }
}

/// The commission in the quote as the sync must value it (see `core::trades`).
pub fn commission_quote(f: &Fill, info: &SymbolInfo, account: &FakeAccount) -> Decimal {
    if f.commission.is_zero() || f.commission_asset == info.quote {
        return f.commission;
    }
    if f.commission_asset == info.base {
        return f.commission * f.price;
    }
    // A minute without a candle: never the current price; the fill is stored with its fee
    // unpriced (`fee_unpriced`, 0 in the quote).
    match fee_minute_close(f, info, account) {
        Some(price) => f.commission * price,
        None => Decimal::ZERO,
    }
}

/// The close of the fill's minute of its fee asset against the quote, for a fee paid in a
/// third asset; None when the exchange has no candle for that minute.
pub fn fee_minute_close(f: &Fill, info: &SymbolInfo, account: &FakeAccount) -> Option<Decimal> {
    let fee_symbol = sym(&format!("{}{}", f.commission_asset, info.quote));
    account
        .minute_closes
        .get(&(fee_symbol, minute_start(f.time)))
        .copied()
}

/// A fill as the bot records it (its own fee value and P&L).
pub fn bot_trade(f: &Fill, commission_quote: Decimal, recovered: bool) -> TradeRecord {
    TradeRecord {
        source: binance_account_sync::domain::FillSource::Trade,
        symbol: f.symbol.clone(),
        trade_id: f.trade_id,
        order_id: f.order_id,
        side: f.side,
        price: f.price,
        qty: f.qty,
        quote_qty: f.quote_qty,
        commission: f.commission,
        commission_asset: f.commission_asset.clone(),
        commission_quote,
        realized_pnl: (f.side == Side::Sell).then(|| (f.quote_qty / Decimal::from(50)).round_dp(2)),
        time: f.time,
        is_maker: f.is_maker,
        recovered,
        fee_unpriced: false,
        version: 0,
    }
}

pub fn order_record(o: &ExchangeOrder, origin: OrderOrigin) -> OrderRecord {
    OrderRecord {
        symbol: o.symbol.clone(),
        order_id: o.order_id,
        client_order_id: o.client_order_id.clone(),
        side: o.side,
        order_type: o.order_type.clone(),
        price: o.price,
        orig_qty: o.orig_qty,
        executed_qty: o.executed_qty,
        avg_price: o.avg_price(),
        status: o.status.clone(),
        origin,
        unknown_runs: 0,
        created_at: o.time,
        version: 0,
        updated_at: o.time,
        updated_by: Writer::Bot,
    }
}

pub fn info_of(def: &BaseDef, base: &str, quote: &str) -> SymbolInfo {
    let step = Decimal::new(1, def.qty_dp);
    SymbolInfo {
        sor: false,
        symbol: sym(&format!("{base}{quote}")),
        base: asset(base),
        quote: asset(quote),
        min_qty: step,
        step_size: step,
        min_notional: Decimal::from(def.min_notional),
        base_precision: 8,
        quote_precision: 8,
    }
}

pub fn build(spec: &AccountSpec) -> Built {
    // Recent histories are placed relative to today (a whole day, so that a case drawn
    // again on the same day is the same account).
    let today = now_ms() / DAY * DAY;
    let mut account = FakeAccount {
        update_time: T0 + 40 * 86_400_000,
        ..FakeAccount::default()
    };
    let mut seed: Vec<Record> = Vec::new();
    let mut layout1 = BTreeMap::new();
    let mut bot_positions = BTreeMap::new();
    let mut extra_symbols = Vec::new();
    let mut totals: BTreeMap<Asset, (Decimal, Decimal)> = BTreeMap::new();
    let mut usdt_locked = Decimal::ZERO;
    // Fee assets are priced through BNBUSDT, listed whether or not it is traded.
    let bnb_def = &BASES[0];
    account
        .symbols
        .insert(bnb_usdt(), info_of(bnb_def, "BNB", "USDT"));
    account
        .prices
        .insert(bnb_usdt(), Decimal::new(bnb_def.price, bnb_def.price_dp));

    let mut generated = Vec::new();
    for (i, s) in spec.symbols.iter().enumerate() {
        let def = &BASES[i];
        let info = info_of(def, def.name, "USDT");
        let g = gen_fills(i, def, s, &info, today);
        account.symbols.insert(info.symbol.clone(), info.clone());
        account.prices.insert(info.symbol.clone(), g.last_price);
        generated.push((info, g));
    }
    // Minute closes of every fee paid in BNB (but the minutes without a candle).
    for (_, g) in &generated {
        for f in &g.fills {
            let minute = minute_start(f.time);
            if f.commission_asset == asset("BNB") && has_candle(minute) {
                account
                    .minute_closes
                    .insert((bnb_usdt(), minute), bnb_close(minute));
            }
        }
    }
    // Noise the sync must not trade: symbols against a quote it is not configured for.
    for (base, quote) in [("QLA", "BTC"), ("ETH", "BTC")] {
        let info = info_of(&BASES[3], base, quote);
        account.prices.insert(info.symbol.clone(), dec("0.05"));
        account.symbols.insert(info.symbol.clone(), info);
    }

    for (i, ((info, g), s)) in generated.iter().zip(&spec.symbols).enumerate() {
        let def = &BASES[i];
        let mut rng = Rng(s.seed ^ 0x5EED);
        let step = info.step_size;
        let lot = ((Decimal::from(1_000) / g.last_price) / step)
            .floor()
            .max(Decimal::ONE)
            * step;
        let extra = match s.extra {
            Extra::Nothing => Decimal::ZERO,
            Extra::Dust => step / Decimal::TWO,
            Extra::Deposit(n) => lot * Decimal::from(n),
        };
        let total = g.holding + extra;
        let mut locked = Decimal::ZERO;
        let max_fill_order = g.fills.iter().map(|f| f.order_id).max().unwrap_or(0);
        let max_order = max_fill_order.max(1_000_000 * (i as u64 + 1));

        // The order open on the exchange (it locks what it may buy or sell).
        if let OpenOrder::Open { bot, recorded } = s.open_order {
            let order_id = max_order + 7;
            let sellable = (total / step).floor() * step / Decimal::TWO;
            let sellable = (sellable / step).floor() * step;
            let (side, qty) = if sellable >= step {
                (Side::Sell, sellable)
            } else {
                (Side::Buy, lot)
            };
            let price = (g.last_price * dec("1.05")).round_dp(def.price_dp);
            match side {
                Side::Sell => locked = qty,
                Side::Buy => usdt_locked += price * qty,
            }
            let time = g.fills.last().map_or(T0, |f| f.time) + 1_000;
            let order = ExchangeOrder {
                symbol: info.symbol.clone(),
                order_id,
                client_order_id: if bot {
                    format!("bot-{order_id}")
                } else {
                    format!("web_{order_id}")
                },
                side,
                order_type: "LIMIT".to_owned(),
                price,
                orig_qty: qty,
                executed_qty: Decimal::ZERO,
                cumulative_quote_qty: Decimal::ZERO,
                status: OrderStatus::New,
                time,
                update_time: time,
            };
            if recorded {
                let origin = if bot {
                    OrderOrigin::Bot
                } else {
                    OrderOrigin::External
                };
                seed.push(Record::Order(order_record(&order, origin)));
            }
            account
                .orders
                .insert((info.symbol.clone(), order_id), order);
        }
        // The order the bot's records hold open.
        let stale = match s.stale_order {
            StaleOrder::None => None,
            StaleOrder::Filled if g.fills.is_empty() => None,
            StaleOrder::Filled => {
                let pick = &g.fills[rng.below(g.fills.len() as u64) as usize];
                let of_order: Vec<&Fill> = g
                    .fills
                    .iter()
                    .filter(|f| f.order_id == pick.order_id)
                    .collect();
                let executed: Decimal = of_order.iter().map(|f| f.qty).sum();
                let quote: Decimal = of_order.iter().map(|f| f.quote_qty).sum();
                let filled = ExchangeOrder {
                    symbol: info.symbol.clone(),
                    order_id: pick.order_id,
                    client_order_id: format!("bot-{}", pick.order_id),
                    side: pick.side,
                    order_type: "MARKET".to_owned(),
                    price: Decimal::ZERO,
                    orig_qty: executed,
                    executed_qty: executed,
                    cumulative_quote_qty: quote,
                    status: OrderStatus::Filled,
                    time: of_order[0].time,
                    update_time: of_order[of_order.len() - 1].time,
                };
                account
                    .orders
                    .insert((info.symbol.clone(), pick.order_id), filled.clone());
                Some(ExchangeOrder {
                    executed_qty: Decimal::ZERO,
                    cumulative_quote_qty: Decimal::ZERO,
                    status: OrderStatus::New,
                    ..filled
                })
            }
            StaleOrder::Vanished | StaleOrder::Archived => {
                let order_id = max_order + 3;
                if matches!(s.stale_order, StaleOrder::Archived) {
                    account.archived.insert((info.symbol.clone(), order_id));
                }
                Some(ExchangeOrder {
                    symbol: info.symbol.clone(),
                    order_id,
                    client_order_id: format!("bot-{order_id}"),
                    side: Side::Buy,
                    order_type: "LIMIT".to_owned(),
                    price: g.last_price,
                    orig_qty: lot,
                    executed_qty: Decimal::ZERO,
                    cumulative_quote_qty: Decimal::ZERO,
                    status: OrderStatus::New,
                    time: T0,
                    update_time: T0,
                })
            }
        };
        if let Some(o) = stale {
            seed.push(Record::Order(order_record(&o, OrderOrigin::Bot)));
        }

        if !total.is_zero() {
            totals.insert(info.base.clone(), (total - locked, locked));
        } else if !g.fills.is_empty() {
            // Sold out: nothing held points at the symbol, the configuration does.
            extra_symbols.push(info.symbol.clone());
        }
        account.fills.insert(info.symbol.clone(), g.fills.clone());

        // The trades the bot recorded, and those an old-layout checkpoint says were read.
        let n = g.fills.len();
        let through = s
            .layout1
            .filter(|_| n > 0)
            .map(|pm| (n - 1) * usize::from(pm) / 1000);
        for (j, f) in g.fills.iter().enumerate() {
            let by_bot = match s.recorded {
                Recorded::Nothing => false,
                Recorded::Everything => true,
                Recorded::FirstPart(pm) => j * 1000 < n * usize::from(pm),
                Recorded::Sample(p) => rng.percent(u64::from(p)),
            };
            // Holes: fills the old checkpoint covers that are not stored (the re-scan of a
            // recent history finds them).
            // Only where the forward read then reads a fill: a checkpoint of the old layout
            // knows no fill time, so without a newer fill its symbol does not count as
            // active and is not re-scanned (see
            // `an_emergency_re_scans_a_migrated_checkpoint_of_recent_fills`).
            let hole = match s.when {
                When::Recent { holes_pct, .. } if through.is_some_and(|th| th + 1 < n) => {
                    rng.percent(u64::from(holes_pct))
                }
                _ => false,
            };
            let by_old_sync = through.is_some_and(|th| j <= th) && !hole;
            if by_bot || by_old_sync {
                // The bot values BNB at its own rate; the old sync at the fill's minute.
                let cq =
                    if by_bot && f.commission_asset == asset("BNB") && info.base != asset("BNB") {
                        f.commission * dec("305.5")
                    } else {
                        commission_quote(f, info, &account)
                    };
                seed.push(Record::Trade(bot_trade(f, cq, !by_bot)));
            }
        }
        if let Some(th) = through {
            let f = &g.fills[th];
            let cursor = CursorRecord {
                last_trade_id: Some(f.trade_id),
                last_order_id: g.fills[..=th].iter().map(|f| f.order_id).max(),
                covered_through: Some(f.time),
                basis_state: BasisState::Rebuilding,
                updated_at: f.time,
                ..CursorRecord::new(info.symbol.clone())
            };
            layout1.insert(info.symbol.clone(), f.trade_id);
            seed.push(Record::Cursor(cursor));
        }

        let first_at = g.fills.first().map_or(T0, |f| f.time);
        let last_at = g.fills.last().map_or(T0, |f| f.time);
        let opened_at = first_at + rng.below((last_at - first_at + 1) as u64) as Millis;
        let position = match s.position {
            BotPosition::None => None,
            BotPosition::Open { qty_pct } => Some(PositionRecord {
                symbol: info.symbol.clone(),
                base: info.base.clone(),
                quote: usdt(),
                side: "long".to_owned(),
                status: PositionStatus::Open,
                quantity: if total.is_zero() {
                    lot
                } else {
                    (total * Decimal::from(qty_pct) / Decimal::ONE_HUNDRED).round_dp(def.qty_dp)
                },
                entry_price: Decimal::new(def.price, def.price_dp),
                entry_partial: false,
                entry_rest_price: None,
                exit_price: None,
                realized_pnl: Decimal::ZERO,
                opened_at,
                closed_at: None,
                recovered: false,
                version: 0,
                updated_at: opened_at,
                updated_by: Writer::Bot,
            }),
            BotPosition::Closed => Some(PositionRecord {
                symbol: info.symbol.clone(),
                base: info.base.clone(),
                quote: usdt(),
                side: "long".to_owned(),
                status: PositionStatus::Closed,
                quantity: lot,
                entry_price: Decimal::new(def.price, def.price_dp),
                entry_partial: false,
                entry_rest_price: None,
                exit_price: Some(g.last_price),
                realized_pnl: Decimal::from(12),
                opened_at: T0 - 86_400_000,
                closed_at: Some(T0 - 3_600_000),
                recovered: false,
                version: 0,
                updated_at: T0 - 3_600_000,
                updated_by: Writer::Bot,
            }),
        };
        if let Some(p) = position {
            bot_positions.insert(info.symbol.clone(), p.clone());
            seed.push(Record::Position(p));
        }
        if s.stale_dust {
            seed.push(Record::Dust(DustRecord {
                asset: info.base.clone(),
                quantity: step / Decimal::from(3),
                version: 0,
                updated_at: T0,
            }));
        }
    }
    // BNB is held when a BNB symbol holds it, and is paid as fees: keep a reserve.
    let bnb_fees: Decimal = account
        .all_fills()
        .filter(|f| f.commission_asset == asset("BNB"))
        .map(|f| f.commission)
        .sum();
    if !bnb_fees.is_zero() {
        let e = totals.entry(asset("BNB")).or_default();
        e.0 += bnb_fees.round_dp(3) + dec("0.5");
    }
    totals.insert(usdt(), (dec("100000") - usdt_locked, usdt_locked));
    for (a, amount) in QUOTELESS.iter().zip(&spec.quoteless) {
        totals.insert(asset(a), (Decimal::from(*amount), Decimal::ZERO));
    }
    account.balances = totals
        .iter()
        .map(|(a, (free, locked))| Balance {
            asset: a.clone(),
            free: *free,
            locked: *locked,
        })
        .collect();

    // The bot's balances: some stale, one of an asset gone.
    let mut assets: Vec<Asset> = vec![usdt()];
    assets.extend(
        spec.symbols
            .iter()
            .enumerate()
            .map(|(i, _)| asset(BASES[i].name)),
    );
    assets.extend(
        QUOTELESS
            .iter()
            .take(spec.quoteless.len())
            .map(|a| asset(a)),
    );
    for (bit, a) in assets.iter().enumerate() {
        if spec.stale_balances & (1 << bit) == 0 {
            continue;
        }
        let (free, locked) = totals.get(a).copied().unwrap_or_default();
        seed.push(Record::Balance(BalanceRecord {
            asset: a.clone(),
            free: free * dec("0.9") + Decimal::ONE,
            locked: if bit % 2 == 0 { locked } else { Decimal::ZERO },
            version: 0,
            updated_at: T0,
            updated_by: Writer::Bot,
            as_of: None,
        }));
    }
    if spec.gone_asset {
        seed.push(Record::Balance(BalanceRecord {
            asset: asset("GONE"),
            free: dec("3.25"),
            locked: Decimal::ZERO,
            version: 0,
            updated_at: T0,
            updated_by: Writer::Bot,
            as_of: None,
        }));
    }

    Built {
        account,
        seed,
        rules: RulesConfig {
            extra_symbols,
            ..RulesConfig::default()
        },
        layout1,
        bot_positions,
        disagreeing: BTreeSet::new(),
    }
}

// Running ----------------------------------------------------------------------------

pub fn account_id() -> AccountId {
    AccountId::parse("prop-account").expect("account id")
}

pub fn request(mode: Mode) -> SyncRequest {
    SyncRequest {
        account: account_id(),
        mode,
        dry_run: false,
        lookback_days: None,
        deadline: None,
        invocation_id: None,
    }
}

pub fn settings(max_units: Option<u64>) -> RunSettings {
    RunSettings {
        max_units,
        min_interval: Duration::ZERO,
        ..RunSettings::default()
    }
}

/// A store holding the bot's records; returns it with the records as stored.
pub fn seeded(built: &Built) -> (MemoryStore, Vec<Record>) {
    let store = MemoryStore::new();
    let stored = built
        .seed
        .iter()
        .map(|r| store.put_bot_record(&account_id(), r.clone()))
        .collect();
    (store, stored)
}

pub fn brief(report: &SyncReport) -> String {
    format!(
        "{:?} {:?} units={} read={:?} failed={:?}",
        report.outcome,
        report.outcome_detail,
        report.units,
        report.symbols_checked,
        report.symbols_failed
    )
}

// Checking ---------------------------------------------------------------------------

/// Records by key as the bot reads them: without who wrote when (`version`, `updated_at`,
/// `updated_by`, a copied balance's `as_of`), a checkpoint's read times (`covered_through`, `orders_read_at`,
/// `rescan_through`) and
/// emergency stamps (`emergency_done`, `rescan_for`: the request's time, checked on their
/// own), an unknown order's count of the runs that asked for it (`unknown_runs`: runs
/// that each read the symbol ask more often; checked on its own), and with a time the sync took from its own
/// clock (at or after `run_time`: a holding no fill explains) shown as such.
pub fn comparable(records: &Records, run_time: Millis) -> BTreeMap<String, Value> {
    records
        .every_record()
        .map(|r| {
            let mut v = serde_json::to_value(&r).expect("record json");
            let o = v.as_object_mut().expect("a record is an object");
            for f in [
                "version",
                "updated_at",
                "updated_by",
                "covered_through",
                "orders_read_at",
                "emergency_done",
                "rescan_for",
                "rescan_through",
                // A balance the sync copied keeps its account read's time: like who wrote
                // it, a matter of the write's history (`updated_by`), not of the balance.
                "as_of",
            ] {
                o.remove(f);
            }
            // An order unknown to the exchange counts the runs that asked for it: cut runs
            // that each read the symbol ask more often (checked on its own).
            if matches!(&r, Record::Order(order) if order.status == OrderStatus::Unknown) {
                o.insert("unknown_runs".to_owned(), Value::from("runs that asked"));
            }
            for f in ["opened_at", "closed_at"] {
                if o.get(f)
                    .and_then(Value::as_i64)
                    .is_some_and(|t| t >= run_time)
                {
                    o.insert(f.to_owned(), Value::from("the run's time"));
                }
            }
            (record_key(&r), v)
        })
        .collect()
}

pub fn assert_same_records(a: &Records, b: &Records, run_time: Millis) {
    let (a, b) = (comparable(a, run_time), comparable(b, run_time));
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let differing: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .take(10)
        .map(|k| format!("{k}:\n  cut:   {:?}\n  whole: {:?}", a.get(k), b.get(k)))
        .collect();
    assert!(
        differing.is_empty(),
        "records of the cut runs and of the uncut run differ (first 10):\n{}",
        differing.join("\n")
    );
}

/// Every fill stored once, as the exchange reports it; the trades a run recovered valued
/// as the rules say; the bot's and the old sync's trades untouched; every checkpoint's
/// basis the replay's; positions and dust as the holdings say.
pub fn assert_true_to_the_exchange(
    label: &str,
    records: &Records,
    built: &Built,
    stored_seed: &[Record],
    // The emergency every checkpoint completed; None: not checked here (the chaos
    // campaign checks it, since a symbol failing during an emergency leaves it open).
    requested_at: Option<Millis>,
    runs: u32,
) {
    let account = &built.account;
    let seeded_trades: BTreeMap<(Symbol, u64), &TradeRecord> = stored_seed
        .iter()
        .filter_map(|r| match r {
            Record::Trade(t) => Some(((t.symbol.clone(), t.trade_id), t)),
            _ => None,
        })
        .collect();
    assert_eq!(
        records.trades.len(),
        account.fill_count(),
        "{label}: trades stored vs fills on the exchange"
    );
    let mut replays = BTreeMap::new();
    for (symbol, fills) in &account.fills {
        let info = &account.symbols[symbol];
        let trades: Vec<&TradeRecord> = records
            .trades
            .range((symbol.clone(), 0)..=(symbol.clone(), u64::MAX))
            .map(|(_, t)| t)
            .collect();
        assert_eq!(trades.len(), fills.len(), "{label}: trades of {symbol}");
        let (basis, realized) = replay(trades.iter().copied(), &info.base);
        for (f, t) in fills.iter().zip(&trades) {
            let seen = (
                &t.symbol,
                t.trade_id,
                t.order_id,
                t.side,
                t.price,
                t.qty,
                t.quote_qty,
                t.commission,
                &t.commission_asset,
                t.time,
                t.is_maker,
            );
            let want = (
                &f.symbol,
                f.trade_id,
                f.order_id,
                f.side,
                f.price,
                f.qty,
                f.quote_qty,
                f.commission,
                &f.commission_asset,
                f.time,
                f.is_maker,
            );
            if !built.disagreeing.contains(&(symbol.clone(), f.trade_id)) {
                assert_eq!(seen, want, "{label}: trade {symbol} {}", f.trade_id);
            }
            match seeded_trades.get(&(symbol.clone(), f.trade_id)) {
                // An earlier sync's insert: its derived P&L is the sync's to keep true to
                // the replay (the migrated checkpoint's rebuild rewrites it); nothing else.
                Some(s) if s.recovered => {
                    let pnl_aside = TradeRecord {
                        realized_pnl: s.realized_pnl,
                        version: s.version,
                        ..(*t).clone()
                    };
                    assert_eq!(&pnl_aside, *s, "{label}: a stored trade was rewritten");
                    assert_eq!(
                        t.realized_pnl,
                        realized.get(&(t.source, t.trade_id)).copied(),
                        "{label}: realized P&L of the earlier sync's trade {symbol} {} vs the replay",
                        t.trade_id
                    );
                }
                Some(s) => assert_eq!(*t, *s, "{label}: a stored trade was rewritten"),
                None => {
                    // Inserted once (version 1); a sell found below an incomplete basis is
                    // written once more, when the rebuild sets its realized P&L (checked
                    // against the replay just below).
                    assert!(
                        t.recovered && (t.version == 1 || (t.version == 2 && t.side == Side::Sell)),
                        "{label}: recovered trade {symbol} {}: {t:?}",
                        t.trade_id
                    );
                    assert_eq!(
                        t.commission_quote,
                        commission_quote(f, info, account),
                        "{label}: fee of recovered trade {symbol} {} in the quote",
                        t.trade_id
                    );
                    let third_asset = !f.commission.is_zero()
                        && f.commission_asset != info.quote
                        && f.commission_asset != info.base;
                    assert_eq!(
                        t.fee_unpriced,
                        third_asset && fee_minute_close(f, info, account).is_none(),
                        "{label}: recovered trade {symbol} {} flagged unpriced exactly when its minute has no price",
                        t.trade_id
                    );
                    assert_eq!(
                        t.realized_pnl,
                        realized.get(&(t.source, t.trade_id)).copied(),
                        "{label}: realized P&L of recovered trade {symbol} {} vs the replay",
                        t.trade_id
                    );
                }
            }
        }
        let cursor = records.cursors.get(symbol);
        if !fills.is_empty() {
            let c = cursor.unwrap_or_else(|| panic!("{label}: {symbol} traded but never read"));
            assert_eq!(
                c.last_trade_id,
                fills.last().map(|f| f.trade_id),
                "{label}: checkpoint of {symbol} read through"
            );
        }
        if let Some(c) = cursor {
            assert_eq!(
                (c.basis_state, c.pending, c.failures, c.retry_at),
                (BasisState::Valid, false, 0, None),
                "{label}: checkpoint of {symbol} not settled: {c:?}"
            );
            assert_eq!(
                (c.basis.qty, c.basis.avg_cost, c.basis.realized),
                (basis.qty, basis.avg_cost, basis.realized),
                "{label}: cost basis of {symbol} (qty, avg cost, realized) vs a replay from scratch"
            );
            assert_eq!(
                c.basis, basis,
                "{label}: cost basis of {symbol} vs a replay from scratch"
            );
            if let Some(requested_at) = requested_at {
                assert_eq!(
                    c.emergency_done,
                    Some(requested_at),
                    "{label}: {symbol} completed the emergency scope"
                );
                assert!(
                    c.rescan_for.is_none_or(|f| f == requested_at),
                    "{label}: {symbol} re-scanned for another emergency: {c:?}"
                );
            }
        }
        replays.insert(symbol.clone(), basis);
    }

    // Positions and dust follow the holdings of every symbol read, each classified in the
    // band the bot's records put its base in (the exchange's holdings do not move while
    // the runs go on, so that class is the one every run met until it corrected it).
    let mut seeded = Records::default();
    for r in stored_seed {
        match r {
            Record::Position(p) => {
                seeded.positions.insert(p.symbol.clone(), p.clone());
            }
            Record::Dust(d) => {
                seeded.dust.insert(d.asset.clone(), d.clone());
            }
            _ => {}
        }
    }
    for (symbol, basis) in &replays {
        let info = &account.symbols[symbol];
        if !records.cursors.contains_key(symbol) {
            assert!(
                !records.positions.contains_key(symbol) || built.bot_positions.contains_key(symbol),
                "{label}: a position of {symbol}, never read"
            );
            continue;
        }
        let total = account
            .balances
            .iter()
            .find(|b| b.asset == info.base)
            .map_or(Decimal::ZERO, Balance::total);
        let price = account.prices.get(symbol).copied();
        let position = records.positions.get(symbol);
        let open = position.filter(|p| p.status == PositionStatus::Open);
        let dust = records
            .dust
            .get(&info.base)
            .map_or(Decimal::ZERO, |d| d.quantity);
        // A closed round trip whose key a new one took is kept in the history, every field.
        if let Some(past) = seeded
            .positions
            .get(symbol)
            .filter(|p| p.status == PositionStatus::Closed)
        {
            if position != Some(past) {
                assert_eq!(
                    records
                        .position_history
                        .get(&binance_account_sync::domain::history_key(past)),
                    Some(&PositionRecord {
                        version: 1,
                        ..past.clone()
                    }),
                    "{label}: the closed round trip of {symbol}, reopened, kept in the history"
                );
            }
        }
        let class = recorded_class(&seeded, &info.base);
        // A holding whose exact quantity the records hold keeps its class, whatever the
        // price (core::positions: a price move alone never flips a position to dust or
        // back); any other is classified with the band.
        let seeded_open = seeded
            .positions
            .values()
            .find(|p| p.status == PositionStatus::Open && p.base == info.base);
        let held_class = match seeded_open {
            Some(p) => (p.quantity == total && !total.is_zero()).then_some(true),
            None => (seeded
                .dust
                .get(&info.base)
                .map_or(Decimal::ZERO, |d| d.quantity)
                == total)
                .then_some(false),
        };
        let is_position = held_class.unwrap_or_else(|| {
            is_position_size(total, info, price, class, built.rules.dust_band_pct)
        });
        if is_position {
            let p = open.unwrap_or_else(|| {
                panic!(
                    "{label}: {symbol} holds {total}, a position, not recorded open: {position:?}"
                )
            });
            assert_eq!(p.quantity, total, "{label}: position quantity of {symbol}");
            assert_eq!(dust, Decimal::ZERO, "{label}: dust of {symbol}'s base");
            let bot_open = built
                .bot_positions
                .get(symbol)
                .is_some_and(|b| b.status == PositionStatus::Open);
            if !bot_open {
                assert!(p.recovered, "{label}: {symbol} recovered");
                assert_eq!(p.realized_pnl, Decimal::ZERO, "{label}: {symbol} realized");
                // The entry as the replay's basis explains the holding: its average cost
                // when it explains all of it, else blended with the price, flagged.
                let entry = entry_estimate(basis, total, price);
                assert_eq!(
                    (p.entry_price, p.entry_partial, p.entry_rest_price),
                    (entry.price, entry.partial, entry.rest_price),
                    "{label}: recovered position of {symbol}: entry vs the replay"
                );
                if basis.qty > Decimal::ZERO {
                    assert_eq!(
                        Some(p.opened_at),
                        basis.open_since,
                        "{label}: recovered position of {symbol}: opening vs the replay"
                    );
                }
            }
        } else {
            assert!(
                open.is_none(),
                "{label}: {symbol} holds {total}, below the minimum size, yet open: {open:?}"
            );
            assert_eq!(dust, total, "{label}: dust of {symbol}'s base");
        }
    }

    // Balances: the exchange's, exactly, and zero for what it no longer holds.
    for b in &account.balances {
        let r = records.balances.get(&b.asset);
        assert_eq!(
            r.map(|r| (r.free, r.locked)),
            Some((b.free, b.locked)),
            "{label}: balance of {}",
            b.asset
        );
    }
    for (a, r) in &records.balances {
        if !account.balances.iter().any(|b| &b.asset == a) {
            assert_eq!(
                (r.free, r.locked),
                (Decimal::ZERO, Decimal::ZERO),
                "{label}: balance of {a}, no longer held"
            );
        }
    }

    // Orders: the exchange's open ones recorded, the finished ones too once the symbol's
    // order history is read (placed and finished between runs, bot or external), the
    // stale ones settled.
    for ((symbol, id), o) in &account.orders {
        let Some(cursor) = records.cursors.get(symbol) else {
            continue;
        };
        let r = records.orders.get(&(symbol.clone(), *id));
        if o.status.is_open() {
            let r = r.unwrap_or_else(|| panic!("{label}: open order {symbol} {id} not recorded"));
            assert_eq!(r.status, o.status, "{label}: order {symbol} {id}");
        } else if !cursor.pending && !cursor.orders_pending {
            let r = r.unwrap_or_else(|| {
                panic!("{label}: finished order {symbol} {id}, its history read, not recorded")
            });
            assert_eq!(
                (&r.status, r.executed_qty),
                (&o.status, o.executed_qty),
                "{label}: order {symbol} {id} as the exchange finished it"
            );
        } else if let Some(r) = r {
            assert_eq!(
                (&r.status, r.executed_qty),
                (&o.status, o.executed_qty),
                "{label}: order {symbol} {id} settled from the exchange"
            );
        }
    }
    for ((symbol, id), r) in &records.orders {
        let key = (symbol.clone(), *id);
        if !records.cursors.contains_key(symbol) {
            continue;
        }
        if account.archived.contains(&key) {
            assert_eq!(
                r.status,
                OrderStatus::Canceled,
                "{label}: archived {symbol} {id}"
            );
        } else if !account.orders.contains_key(&key) {
            // Counted per run that asked: one per run at most.
            assert!(
                r.status == OrderStatus::Unknown && (1..=runs).contains(&r.unknown_runs),
                "{label}: vanished order {symbol} {id}: unknown in 1 to {runs} runs, never \
                 cancelled: {r:?}"
            );
        }
    }
}

/// The number of `myTrades` pages an uncut run needs: each symbol read from its
/// checkpoint, one page per 1,000 fills and one more that comes back short. An old-layout
/// checkpoint's basis is rebuilt first, from the exchange's fills read by id from the
/// first: a page per 1,000 until a page reaches the checkpoint (at least one), then the
/// forward read from the highest id those pages read.
pub fn pages_needed(built: &Built, records: &Records) -> u64 {
    records
        .cursors
        .keys()
        .map(|s| {
            let fills = built.account.fills.get(s).map_or(&[][..], Vec::as_slice);
            let (rebuild, last) = match built.layout1.get(s) {
                None => (0, None),
                Some(&through) => {
                    let below = fills.iter().filter(|f| f.trade_id <= through).count();
                    let pages = below.div_ceil(1000).max(1);
                    let read = fills.len().min(pages * 1000);
                    let last = read
                        .checked_sub(1)
                        .map_or(through, |i| fills[i].trade_id.max(through));
                    (pages, Some(last))
                }
            };
            let left = fills
                .iter()
                .filter(|f| last.is_none_or(|l| f.trade_id > l))
                .count();
            (rebuild + left / 1000 + 1) as u64
        })
        .sum()
}

/// The most `myTrades` pages comparing the bot's trades below the old-layout checkpoints
/// can take (`core::verify`): none for a symbol without bot trades below its checkpoint
/// (the sync's own copies need no read), else one per 1,000 fills up to the checkpoint
/// and one more.
pub fn verify_pages_at_most(built: &Built, seed: &[Record]) -> u64 {
    built
        .layout1
        .iter()
        .map(|(s, through)| {
            let bot_below = seed.iter().any(|r| {
                matches!(r, Record::Trade(t) if &t.symbol == s && !t.recovered && t.trade_id <= *through)
            });
            if !bot_below {
                return 0;
            }
            let fills = built.account.fills.get(s).map_or(&[][..], Vec::as_slice);
            let below = fills.iter().filter(|f| f.trade_id <= *through).count();
            (below / 1000 + 1) as u64
        })
        .sum()
}

pub fn quiet_symbol(fills: usize) -> SymbolSpec {
    SymbolSpec {
        fills,
        when: When::LongAgo,
        seed: 0,
        bnb_fee_pct: 0,
        recorded: Recorded::Nothing,
        extra: Extra::Nothing,
        position: BotPosition::None,
        stale_order: StaleOrder::None,
        open_order: OpenOrder::None,
        stale_dust: false,
        layout1: None,
    }
}
