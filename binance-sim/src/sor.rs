//! Smart Order Routing (SOR): the configurations and the allocations.
//!
//! Sources: `faqs/sor_faq.md` and rest-api.md ("New order using SOR",
//! "Query Allocations", exchangeInfo's `sors`). An SOR configuration is a
//! base asset and symbols whose quote assets are interchangeable (pegged
//! 1:1). An order sent with `POST /api/v3/sor/order` to one of them may take
//! liquidity from all their books; what it takes is not a trade but an
//! *allocation*: a fill with `matchType: ONE_PARTY_TRADE_REPORT`, `tradeId:
//! -1` and an `allocId`, listed by `GET /api/v3/myAllocations` and never by
//! `myTrades`. The account always pays (BUY) or receives (SELL) the quote
//! asset of the symbol it sent the order to, never the other books' quote.
//!
//! Simulation rules (the sim has no order books, `matching.rs`: each symbol
//! trades at its current price with unlimited depth):
//! - The SOR taker phase takes the whole quantity at the best current price
//!   among the configuration's TRADING symbols (lowest for a BUY, highest
//!   for a SELL; a tie goes to the symbol the order was sent to, then to
//!   the configuration's order): one allocation per order. The FAQ's
//!   examples show every fill of the taker phase as an allocation, those
//!   taken from the submitted symbol's own book included, so that is what
//!   the sim does too.
//! - A LIMIT order takes only a best price within its limit. If there is
//!   none, a GTC order rests on the book it was sent to ("LIMIT GTC orders
//!   will place the remaining quantity on the order book you originally
//!   submitted the order to"); from then on it is a normal resting order
//!   whose fills are trades (`workingFloor` becomes `EXCHANGE`). IOC and
//!   FOK orders expire ("LIMIT IOC or MARKET orders will immediately
//!   expire"), with `expiryReason` `UNFILLED_IOC_QUANTITY_EXPIRED` /
//!   `UNFILLED_FOK_ORDER_EXPIRED`.
//! - The taker phase does not meet the account's own resting orders, so
//!   `selfTradePreventionMode` is checked and shown but never prevents a
//!   match (the docs say nothing of STP across SOR books).
//! - Allocations are taker fills at the account's taker rate, commission
//!   as for a trade (`matching.rs`: base on a BUY, quote on a SELL, or BNB).
//!   They do not move the symbols' prices and are not kline volume (klines
//!   count trades).
//! - Allocation ids are a per-symbol sequence from 0 (the symbol the order
//!   was sent to), as the FAQ's `allocId`s and `allocationId`s count.

use crate::errors::ApiError;
use crate::json::J;
use crate::matching::{CheckedOrder, NewOrder};
use crate::obj;
use crate::scenario::{ScenarioError, SorSpec};
use crate::state::{fmt8, Exchange, Order, Side, Symbol};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The `timeInForce` values an SOR LIMIT order may have (the FAQ describes
/// GTC and IOC; FOK is the remaining documented one).
const SOR_TIFS: &[&str] = &["GTC", "IOC", "FOK"];

/// One allocation: what SOR transferred to the account for one fill.
#[derive(Debug, Clone)]
pub struct Allocation {
    /// The symbol the order was submitted to.
    pub symbol: String,
    pub allocation_id: u64,
    pub order_id: u64,
    pub price: Decimal,
    pub qty: Decimal,
    pub quote_qty: Decimal,
    pub commission: Decimal,
    pub commission_asset: String,
    pub time: i64,
    pub is_buyer: bool,
}

impl Allocation {
    /// The shape of `GET /api/v3/myAllocations` (rest-api.md, Query
    /// Allocations). The account receives allocations: never the maker,
    /// never the allocator.
    pub fn to_json(&self) -> J {
        obj! {
            "symbol": &self.symbol,
            "allocationId": self.allocation_id,
            "allocationType": "SOR",
            "orderId": self.order_id,
            "orderListId": -1i64,
            "price": fmt8(self.price),
            "qty": fmt8(self.qty),
            "quoteQty": fmt8(self.quote_qty),
            "commission": fmt8(self.commission),
            "commissionAsset": &self.commission_asset,
            "time": self.time,
            "isBuyer": self.is_buyer,
            "isMaker": false,
            "isAllocator": false
        }
    }

    /// The element of `fills[]` in an SOR order's FULL response.
    pub fn to_fill_json(&self) -> J {
        obj! {
            "matchType": "ONE_PARTY_TRADE_REPORT",
            "price": fmt8(self.price),
            "qty": fmt8(self.qty),
            "commission": fmt8(self.commission),
            "commissionAsset": &self.commission_asset,
            "tradeId": -1i64,
            "allocId": self.allocation_id
        }
    }
}

/// The SOR configurations in force and every allocation made.
#[derive(Debug, Clone, Default)]
pub struct SorBook {
    /// In configuration order; empty: SOR is not available.
    pub configs: Vec<SorSpec>,
    /// In the order they were made (ids ascend within a symbol).
    pub allocations: Vec<Allocation>,
    /// Each symbol's next allocation id.
    next_id: BTreeMap<String, u64>,
}

impl SorBook {
    /// Replaces the configurations (allocations already made stay). Every
    /// symbol must exist and have the configuration's base asset, and
    /// belong to one configuration only (an order's SOR must be one).
    pub fn configure(
        &mut self,
        symbols: &[Symbol],
        specs: &[SorSpec],
    ) -> Result<(), ScenarioError> {
        let mut seen: Vec<&str> = Vec::new();
        for spec in specs {
            if spec.symbols.is_empty() {
                return Err(ScenarioError::Invalid(format!(
                    "SOR {} has no symbols",
                    spec.base_asset
                )));
            }
            for name in &spec.symbols {
                let sym = symbols.iter().find(|s| s.symbol == *name).ok_or_else(|| {
                    ScenarioError::Invalid(format!(
                        "SOR {} names unknown symbol {name}",
                        spec.base_asset
                    ))
                })?;
                if sym.base != spec.base_asset {
                    return Err(ScenarioError::Invalid(format!(
                        "SOR {} names {name}, whose base asset is {}",
                        spec.base_asset, sym.base
                    )));
                }
                if seen.contains(&name.as_str()) {
                    return Err(ScenarioError::Invalid(format!(
                        "symbol {name} is in more than one SOR"
                    )));
                }
                seen.push(name);
            }
        }
        self.configs = specs.to_vec();
        Ok(())
    }

    /// The configuration `symbol` belongs to.
    pub fn of(&self, symbol: &str) -> Option<&SorSpec> {
        self.configs
            .iter()
            .find(|c| c.symbols.iter().any(|s| s == symbol))
    }

    /// exchangeInfo's `sors` array; `None` when SOR is not available (the
    /// field "is omitted in responses if SOR is not available").
    pub fn to_json(&self) -> Option<J> {
        if self.configs.is_empty() {
            return None;
        }
        Some(J::Arr(
            self.configs
                .iter()
                .map(|c| {
                    obj! {
                        "baseAsset": &c.base_asset,
                        "symbols": J::Arr(c.symbols.iter().map(|s| J::Val(s.clone().into())).collect())
                    }
                })
                .collect(),
        ))
    }

    fn alloc_id(&mut self, symbol: &str) -> u64 {
        let next = self.next_id.entry(symbol.to_string()).or_insert(0);
        let id = *next;
        *next += 1;
        id
    }
}

/// A new SOR order: a normal new order plus the parameters only the SOR
/// endpoint simulates.
#[derive(Debug, Clone)]
pub struct SorOrder {
    pub order: NewOrder,
    pub iceberg_qty: Option<Decimal>,
    pub strategy_id: Option<i64>,
    pub strategy_type: Option<i64>,
}

impl Exchange {
    /// Every check of an SOR order before the matching engine; changes
    /// nothing (what `POST /api/v3/sor/order/test` runs).
    pub fn check_sor_order(&self, req: &SorOrder) -> Result<CheckedOrder, ApiError> {
        self.symbol(&req.order.symbol)
            .ok_or_else(ApiError::bad_symbol)?;
        if self.sor.of(&req.order.symbol).is_none() {
            // Not in errors.md; the answer live Binance gives (ccxt/ccxt
            // pull requests 18883 and 20252 quote it).
            return Err(ApiError::bad(-1013, "This symbol has no SOR."));
        }
        let checked = self.check_order(&req.order, SOR_TIFS)?;
        if req.strategy_type.is_some_and(|t| t < 1_000_000) {
            // errors.md -1134 BAD_STRATEGY_TYPE.
            return Err(ApiError::bad(-1134, "strategyType was less than 1000000."));
        }
        if let Some(iceberg) = req.iceberg_qty {
            // "Used with LIMIT to create an iceberg order"; "Any order with
            // an icebergQty MUST have timeInForce set to GTC" (New order).
            if checked.limit_price.is_none() || checked.time_in_force != "GTC" {
                return Err(ApiError::new_order_rejected(
                    "Unsupported order combination",
                ));
            }
            if iceberg.is_sign_negative() {
                return Err(ApiError::invalid_param("icebergQty"));
            }
            if iceberg >= checked.qty {
                return Err(ApiError::new_order_rejected("IcebergQty exceeds QTY."));
            }
        }
        Ok(checked)
    }

    /// The best book of `symbol`'s SOR for a `side` order: `(symbol, price)`.
    fn best_sor_book(&self, symbol: &str, side: Side) -> Option<(String, Decimal)> {
        let config = self.sor.of(symbol)?;
        // The submitted symbol first, so a tie goes to it.
        let names = std::iter::once(symbol).chain(
            config
                .symbols
                .iter()
                .map(String::as_str)
                .filter(|s| *s != symbol),
        );
        let mut best: Option<(String, Decimal)> = None;
        for sym in names.filter_map(|n| self.symbol(n)) {
            if sym.status != "TRADING" || sym.price <= Decimal::ZERO {
                continue;
            }
            let better = best.as_ref().is_none_or(|(_, p)| match side {
                Side::Buy => sym.price < *p,
                Side::Sell => sym.price > *p,
            });
            if better {
                best = Some((sym.symbol.clone(), sym.price));
            }
        }
        best
    }

    /// Places an SOR order: checks, funds, then the taker phase across the
    /// SOR's books (see the module docs). Returns the order and the
    /// allocations it received.
    pub fn place_sor_order(
        &mut self,
        req: SorOrder,
        now: i64,
    ) -> Result<(Order, Vec<Allocation>), ApiError> {
        let c = self.check_sor_order(&req)?;
        let side = req.order.side;
        let sym = c.sym.clone();
        let fill_price = self
            .best_sor_book(&sym.symbol, side)
            .map(|(_, p)| p)
            .filter(|p| match (c.limit_price, side) {
                (None, _) => true,
                (Some(l), Side::Buy) => *p <= l,
                (Some(l), Side::Sell) => *p >= l,
            });
        let insufficient = || {
            ApiError::new_order_rejected("Account has insufficient balance for requested action.")
        };
        let locked = match (c.limit_price, side) {
            (None, Side::Buy) => {
                let need = (c.qty * fill_price.unwrap_or(sym.price)).round_dp(sym.quote_precision);
                if self.balance(&sym.quote).free < need {
                    return Err(insufficient());
                }
                Decimal::ZERO
            }
            (None, Side::Sell) => {
                if self.balance(&sym.base).free < c.qty {
                    return Err(insufficient());
                }
                Decimal::ZERO
            }
            (Some(p), Side::Buy) => {
                let need = (p * c.qty).round_dp(sym.quote_precision);
                let b = self.balance_mut(&sym.quote);
                if b.free < need {
                    return Err(insufficient());
                }
                b.free -= need;
                b.locked += need;
                need
            }
            (Some(_), Side::Sell) => {
                let b = self.balance_mut(&sym.base);
                if b.free < c.qty {
                    return Err(insufficient());
                }
                b.free -= c.qty;
                b.locked += c.qty;
                c.qty
            }
        };
        if !locked.is_zero() {
            self.touch(now);
        }
        let order_id = self.alloc_order_id(&sym.symbol);
        let key = (order_id, sym.symbol.clone());
        self.orders.insert(
            key.clone(),
            Order {
                symbol: sym.symbol.clone(),
                order_id,
                client_order_id: c.client_order_id.clone(),
                side,
                order_type: req.order.order_type.clone(),
                time_in_force: c.time_in_force.clone(),
                price: c.limit_price.unwrap_or(Decimal::ZERO),
                orig_qty: c.qty,
                orig_quote_order_qty: Decimal::ZERO,
                executed_qty: Decimal::ZERO,
                cummulative_quote_qty: Decimal::ZERO,
                status: "NEW".into(),
                time: now,
                update_time: now,
                locked_remaining: locked,
                stp_mode: c.stp_mode.clone(),
                prevented: None,
                prevented_matches: Vec::new(),
                iceberg_qty: req.iceberg_qty,
                strategy_id: req.strategy_id,
                strategy_type: req.strategy_type,
                working_floor: Some("SOR"),
                expiry_reason: None,
            },
        );
        let mut allocations = Vec::new();
        match fill_price {
            Some(price) => {
                allocations.push(self.allocate(&sym, order_id, c.qty, price, now)?);
            }
            None if c.limit_price.is_some() && c.time_in_force == "GTC" => {
                // Nothing to take: placed as new on the book it was sent to.
                if let Some(o) = self.orders.get_mut(&key) {
                    o.working_floor = Some("EXCHANGE");
                }
            }
            None => {
                let reason = match (c.limit_price, c.time_in_force.as_str()) {
                    (Some(_), "IOC") => "UNFILLED_IOC_QUANTITY_EXPIRED",
                    (Some(_), _) => "UNFILLED_FOK_ORDER_EXPIRED",
                    (None, _) => "INSUFFICIENT_LIQUIDITY",
                };
                self.expire_sor_order(&sym, order_id, reason, now);
            }
        }
        self.log_order(&sym.symbol, order_id, now);
        let order = self
            .orders
            .get(&key)
            .cloned()
            .ok_or_else(ApiError::no_such_order)?;
        Ok((order, allocations))
    }

    /// Fills `qty` of an SOR order at `price` with one allocation; moves
    /// balances exactly as a taker trade would (`Exchange::fill`).
    fn allocate(
        &mut self,
        sym: &Symbol,
        order_id: u64,
        qty: Decimal,
        price: Decimal,
        now: i64,
    ) -> Result<Allocation, ApiError> {
        let order = self
            .order(&sym.symbol, order_id)
            .ok_or_else(ApiError::no_such_order)?
            .clone();
        let quote_qty = (price * qty).round_dp(sym.quote_precision);
        let (commission, commission_asset) = self.commission(
            &sym.base,
            &sym.quote,
            order.side,
            qty,
            quote_qty,
            self.fees.taker,
        );
        let from_locked = order.order_type == "LIMIT";
        self.settle_fill(
            sym,
            order.side,
            (qty, quote_qty),
            from_locked,
            (commission, &commission_asset),
        );
        let mut leftover = Decimal::ZERO;
        if let Some(o) = self.order_mut(&sym.symbol, order_id) {
            o.working_floor = Some("SOR");
            leftover = o.record_fill(qty, quote_qty, from_locked, now);
        }
        // A BUY LIMIT that took a price below its limit gives back the rest.
        self.release_locked(sym, order.side, leftover);
        let allocation = Allocation {
            symbol: sym.symbol.clone(),
            allocation_id: self.sor.alloc_id(&sym.symbol),
            order_id,
            price,
            qty,
            quote_qty,
            commission,
            commission_asset,
            time: now,
            is_buyer: order.side == Side::Buy,
        };
        self.sor.allocations.push(allocation.clone());
        self.touch(now);
        Ok(allocation)
    }

    /// Expires an SOR order that found nothing to take (IOC, FOK, MARKET),
    /// giving back what it locked.
    fn expire_sor_order(&mut self, sym: &Symbol, order_id: u64, reason: &'static str, now: i64) {
        let Some(o) = self.order_mut(&sym.symbol, order_id) else {
            return;
        };
        let released = o.locked_remaining;
        o.status = "EXPIRED".into();
        o.expiry_reason = Some(reason);
        o.locked_remaining = Decimal::ZERO;
        o.update_time = now;
        let side = o.side;
        if !released.is_zero() {
            self.release_locked(sym, side, released);
            self.touch(now);
        }
    }
}
