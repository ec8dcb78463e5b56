//! Test builders shared by the core's table tests and property tests.
#![allow(clippy::too_many_arguments)]

use super::{Mode, ReconcileInput, RulesConfig};
use crate::domain::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

pub fn asset(s: &str) -> Asset {
    Asset::parse(s).expect("asset")
}
pub fn sym(s: &str) -> Symbol {
    Symbol::parse(s).expect("symbol")
}

pub fn symbol_info(base: &str, quote: &str, min_qty: Decimal, min_notional: Decimal) -> SymbolInfo {
    SymbolInfo {
        sor: false,
        symbol: sym(&format!("{base}{quote}")),
        base: asset(base),
        quote: asset(quote),
        min_qty,
        step_size: min_qty,
        min_notional,
        base_precision: 8,
        quote_precision: 8,
    }
}

pub fn fill(
    symbol: &str,
    trade_id: u64,
    order_id: u64,
    side: Side,
    price: Decimal,
    qty: Decimal,
    commission: Decimal,
    commission_asset: &str,
    time: Millis,
) -> Fill {
    Fill {
        symbol: sym(symbol),
        trade_id,
        order_id,
        side,
        price,
        qty,
        quote_qty: price * qty,
        commission,
        commission_asset: asset(commission_asset),
        time,
        is_maker: false,
    }
}

/// A BTCUSDT fill of order `id` (trade `id`), no fee, at time `id` seconds.
pub fn usdt_fill(id: u64, side: Side, price: Decimal, qty: Decimal) -> Fill {
    fill(
        "BTCUSDT",
        id,
        id,
        side,
        price,
        qty,
        Decimal::ZERO,
        "USDT",
        id as Millis * 1_000,
    )
}

pub fn trade(
    symbol: &str,
    trade_id: u64,
    side: Side,
    price: Decimal,
    qty: Decimal,
    commission: Decimal,
    commission_asset: &str,
    commission_quote: Decimal,
) -> TradeRecord {
    TradeRecord {
        source: crate::domain::FillSource::Trade,
        symbol: sym(symbol),
        trade_id,
        order_id: trade_id,
        side,
        price,
        qty,
        quote_qty: price * qty,
        commission,
        commission_asset: asset(commission_asset),
        commission_quote,
        realized_pnl: None,
        time: trade_id as Millis,
        is_maker: false,
        recovered: false,
        fee_unpriced: false,
        version: 1,
    }
}

pub fn ex_order(
    symbol: &str,
    order_id: u64,
    client: &str,
    side: Side,
    price: Decimal,
    orig_qty: Decimal,
    executed_qty: Decimal,
    status: OrderStatus,
) -> ExchangeOrder {
    ExchangeOrder {
        symbol: sym(symbol),
        order_id,
        client_order_id: client.to_owned(),
        side,
        order_type: "LIMIT".to_owned(),
        price,
        orig_qty,
        executed_qty,
        cumulative_quote_qty: executed_qty * price,
        status,
        time: 100,
        update_time: 200,
    }
}

/// A BTCUSDT buy of 1 at 100 by the bot (`bot-<id>`), as the exchange reports it.
pub fn bot_order(order_id: u64, status: OrderStatus, executed_qty: Decimal) -> ExchangeOrder {
    ex_order(
        "BTCUSDT",
        order_id,
        &format!("bot-{order_id}"),
        Side::Buy,
        dec!(100),
        dec!(1),
        executed_qty,
        status,
    )
}

pub fn order_rec(
    symbol: &str,
    order_id: u64,
    status: OrderStatus,
    orig_qty: Decimal,
    executed_qty: Decimal,
) -> OrderRecord {
    OrderRecord {
        symbol: sym(symbol),
        order_id,
        client_order_id: format!("bot-{order_id}"),
        side: Side::Buy,
        order_type: "LIMIT".to_owned(),
        price: dec!(100),
        orig_qty,
        executed_qty,
        avg_price: None,
        status,
        origin: OrderOrigin::Bot,
        unknown_runs: 0,
        created_at: 100,
        version: 3,
        updated_at: 50,
        updated_by: Writer::Bot,
    }
}

pub fn position(
    symbol: &str,
    base: &str,
    qty: Decimal,
    entry: Decimal,
    opened_at: Millis,
) -> PositionRecord {
    PositionRecord {
        symbol: sym(symbol),
        base: asset(base),
        quote: asset("USDT"),
        side: "long".to_owned(),
        status: PositionStatus::Open,
        quantity: qty,
        entry_price: entry,
        entry_partial: false,
        entry_rest_price: None,
        exit_price: None,
        realized_pnl: Decimal::ZERO,
        opened_at,
        closed_at: None,
        recovered: false,
        version: 2,
        updated_at: 0,
        updated_by: Writer::Bot,
    }
}

/// A dust record the bot wrote (version 2).
pub fn dust(a: &str, quantity: Decimal) -> DustRecord {
    DustRecord {
        asset: asset(a),
        quantity,
        version: 2,
        updated_at: 0,
    }
}

/// An exchange snapshot and DB records under construction.
pub struct World {
    pub snap: ExchangeSnapshot,
    pub recs: Records,
    pub config: RulesConfig,
    pub mode: Mode,
    pub now: Millis,
}

impl World {
    /// Symbols BTCUSDT, ETHUSDT, BNBUSDT (min notional 5) with prices; nothing else.
    pub fn new() -> Self {
        let mut snap = ExchangeSnapshot {
            taken_at: 1_000_000,
            ..ExchangeSnapshot::default()
        };
        for (b, q, p) in [
            ("BTC", dec!(0.0001), dec!(50000)),
            ("ETH", dec!(0.001), dec!(2000)),
            ("BNB", dec!(0.01), dec!(300)),
        ] {
            let info = symbol_info(b, "USDT", q, dec!(5));
            snap.prices.insert(info.symbol.clone(), p);
            // Every symbol is read (to its end, no fill) unless a test says otherwise.
            snap.history.insert(
                info.symbol.clone(),
                SymbolHistory {
                    allocations: None,
                    fills: Vec::new(),
                    from_id: None,
                    complete: true,
                    read_at: 0,
                },
            );
            snap.symbols.insert(info.symbol.clone(), info);
        }
        Self {
            snap,
            recs: Records::default(),
            config: RulesConfig::default(),
            mode: Mode::Periodic,
            now: 1_000_000,
        }
    }
    pub fn input(&self) -> ReconcileInput<'_> {
        ReconcileInput {
            snapshot: &self.snap,
            records: &self.recs,
            config: &self.config,
            mode: self.mode,
            now: self.now,
        }
    }
    pub fn snap_fills(&mut self, symbol: &str, fills: Vec<Fill>) {
        self.snap.history.insert(
            sym(symbol),
            SymbolHistory {
                allocations: None,
                read_at: 0,
                fills,
                from_id: None,
                complete: true,
            },
        );
    }
    /// The symbol's fills as a read by id from `from_id` returns them (a rebuild's page).
    pub fn snap_fills_from(
        &mut self,
        symbol: &str,
        from_id: u64,
        fills: Vec<Fill>,
        complete: bool,
    ) {
        self.snap.history.insert(
            sym(symbol),
            SymbolHistory {
                allocations: None,
                read_at: 0,
                fills,
                from_id: Some(from_id),
                complete,
            },
        );
    }
    pub fn db_trade(&mut self, t: TradeRecord) {
        self.recs.trades.insert((t.symbol.clone(), t.trade_id), t);
    }
    pub fn ex_bal(&mut self, a: &str, free: Decimal, locked: Decimal) {
        self.snap.balances.insert(
            asset(a),
            Balance {
                asset: asset(a),
                free,
                locked,
            },
        );
    }
    pub fn db_bal(&mut self, a: &str, free: Decimal, locked: Decimal) {
        self.recs.balances.insert(
            asset(a),
            BalanceRecord {
                asset: asset(a),
                free,
                locked,
                version: 5,
                updated_at: 0,
                updated_by: Writer::Bot,
                as_of: None,
            },
        );
    }
    pub fn db_order(&mut self, o: OrderRecord) {
        self.recs.orders.insert((o.symbol.clone(), o.order_id), o);
    }
    /// A flow read this run (in its kind's read, from the beginning of time).
    pub fn ex_flow(&mut self, flow: Flow) {
        match self.snap.flows.iter_mut().find(|r| r.kind == flow.kind) {
            Some(read) => read.flows.push(flow),
            None => self.snap.flows.push(FlowRead {
                kind: flow.kind,
                flows: vec![flow],
                since: Millis::MIN,
            }),
        }
    }
    /// The ledger's record of a flow as an earlier run recorded it.
    pub fn db_flow(&mut self, flow: &Flow) {
        let rec = LedgerRecord::of(flow, false, 1, 1);
        self.recs.ledger.insert(rec.key(), rec);
    }
    pub fn db_position(&mut self, p: PositionRecord) {
        self.recs.positions.insert(p.symbol.clone(), p);
    }
}

/// The corrections of records the bot reads (every read also writes its checkpoint).
/// A deposit of `amount` into a wallet, created at `time`.
pub fn deposit_flow(
    id: &str,
    a: &str,
    amount: Decimal,
    wallet: Wallet,
    status: FlowStatus,
    time: Millis,
) -> Flow {
    Flow {
        kind: FlowKind::Deposit,
        id: id.into(),
        time,
        status,
        exchange_status: format!("{status:?}"),
        completed_at: None,
        legs: vec![FlowLeg {
            asset: asset(a),
            wallet,
            amount,
            role: LegRole::Principal,
        }],
        whole_seconds: false,
    }
}

/// A withdrawal from Spot of `amount` with its fee as a leg of its own, applied at `time`
/// (whole seconds, as Binance gives them).
pub fn withdrawal_flow(
    id: &str,
    a: &str,
    amount: Decimal,
    fee: Decimal,
    status: FlowStatus,
    time: Millis,
) -> Flow {
    let leg = |amount, role| FlowLeg {
        asset: asset(a),
        wallet: Wallet::Spot,
        amount,
        role,
    };
    Flow {
        kind: FlowKind::Withdrawal,
        id: id.into(),
        time,
        status,
        exchange_status: format!("{status:?}"),
        completed_at: None,
        legs: vec![leg(-amount, LegRole::Principal), leg(-fee, LegRole::Fee)],
        whole_seconds: true,
    }
}

pub fn bot_visible(plan: &Plan) -> Vec<&Correction> {
    plan.corrections
        .iter()
        .filter(|c| c.kind != CorrectionKind::CursorAdvanced)
        .collect()
}

pub fn of_kind(plan: &Plan, kind: CorrectionKind) -> Vec<&Correction> {
    plan.corrections.iter().filter(|c| c.kind == kind).collect()
}

/// The checkpoint the plan writes for `symbol`.
pub fn planned_cursor(plan: &Plan, symbol: &str) -> crate::domain::CursorRecord {
    plan.corrections
        .iter()
        .find_map(|c| match &c.after {
            crate::domain::Record::Cursor(c) if c.symbol == sym(symbol) => Some(c.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no checkpoint of {symbol} planned"))
}
