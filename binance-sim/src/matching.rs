//! Order placement, fills, cancels and price moves, with exact balance moves.
//!
//! There is no order book: the account trades against "the market" at the
//! symbol's current price. A MARKET order fills at once at that price (taker).
//! A LIMIT order that is marketable on placement fills at once at the current
//! price (taker); otherwise it rests, and fills at its own price (maker) when
//! a price move crosses it.
//!
//! Balance rules (as on Binance): placing a LIMIT locks the quote (BUY,
//! price × qty) or the base (SELL, qty); a fill spends from `locked`; a cancel
//! or the final fill gives back what is still locked. MARKET orders spend
//! from `free`. Commission comes off what the account receives (base on a
//! BUY, quote on a SELL), or from BNB when the account pays fees in BNB.

use crate::errors::ApiError;
use crate::state::{
    Exchange, Order, PreventedMatch, Side, Symbol, Trade, ALLOWED_STP_MODES, DEFAULT_STP_MODE,
};
use rust_decimal::Decimal;

/// A new order, already parsed from REST or the control API.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub symbol: String,
    pub side: Side,
    pub order_type: String,
    pub time_in_force: Option<String>,
    pub quantity: Option<Decimal>,
    pub quote_order_qty: Option<Decimal>,
    pub price: Option<Decimal>,
    pub client_order_id: Option<String>,
    /// `selfTradePreventionMode`; `None`: the symbol's default.
    pub stp_mode: Option<String>,
}

fn insufficient() -> ApiError {
    ApiError::new_order_rejected("Account has insufficient balance for requested action.")
}

fn is_multiple(value: Decimal, step: Decimal) -> bool {
    step.is_zero() || (value % step).is_zero()
}

/// A new order that passed every check made before the matching engine
/// (symbol, account, type, quantities, filters, STP mode, client id).
#[derive(Debug, Clone)]
pub struct CheckedOrder {
    pub sym: crate::state::Symbol,
    pub qty: Decimal,
    pub quote_order_qty: Decimal,
    /// `None` for MARKET.
    pub limit_price: Option<Decimal>,
    /// LIMIT: the `timeInForce` sent; MARKET: `GTC`, as Binance shows it.
    pub time_in_force: String,
    pub stp_mode: String,
    pub client_order_id: String,
}

impl Exchange {
    /// A fill's balance moves: the base against the quote (a LIMIT order's side from its
    /// locked amount, a MARKET order's from free), then the commission in its asset.
    pub(crate) fn settle_fill(
        &mut self,
        sym: &Symbol,
        side: Side,
        (qty, quote_qty): (Decimal, Decimal),
        from_locked: bool,
        (commission, commission_asset): (Decimal, &str),
    ) {
        let (paid, paid_qty, got, got_qty) = match side {
            Side::Buy => (&sym.quote, quote_qty, &sym.base, qty),
            Side::Sell => (&sym.base, qty, &sym.quote, quote_qty),
        };
        let b = self.balance_mut(paid);
        if from_locked {
            b.locked -= paid_qty;
        } else {
            b.free -= paid_qty;
        }
        self.balance_mut(got).free += got_qty;
        self.balance_mut(commission_asset).free -= commission;
    }

    /// Places an order and returns its id and the trades it made at once.
    pub fn place_order(&mut self, req: NewOrder, now: i64) -> Result<(u64, Vec<Trade>), ApiError> {
        let CheckedOrder {
            sym,
            qty,
            quote_order_qty,
            limit_price,
            stp_mode,
            client_order_id,
            ..
        } = self.check_order(&req, &["GTC"])?;
        let market_price = sym.price;

        // Funds check and lock.
        let (locked_remaining, marketable) = match (limit_price, req.side) {
            (None, Side::Buy) => {
                if self.balance(&sym.quote).free
                    < (qty * market_price).round_dp(sym.quote_precision)
                {
                    return Err(insufficient());
                }
                (Decimal::ZERO, true)
            }
            (None, Side::Sell) => {
                if self.balance(&sym.base).free < qty {
                    return Err(insufficient());
                }
                (Decimal::ZERO, true)
            }
            (Some(p), Side::Buy) => {
                let need = (p * qty).round_dp(sym.quote_precision);
                let b = self.balance_mut(&sym.quote);
                if b.free < need {
                    return Err(insufficient());
                }
                b.free -= need;
                b.locked += need;
                (need, market_price <= p)
            }
            (Some(p), Side::Sell) => {
                let b = self.balance_mut(&sym.base);
                if b.free < qty {
                    return Err(insufficient());
                }
                b.free -= qty;
                b.locked += qty;
                (qty, market_price >= p)
            }
        };
        if limit_price.is_some() {
            self.touch(now);
        }
        let order_id = self.alloc_order_id(&sym.symbol);
        self.orders.insert(
            (order_id, sym.symbol.clone()),
            Order {
                symbol: sym.symbol.clone(),
                order_id,
                client_order_id,
                side: req.side,
                order_type: req.order_type.clone(),
                time_in_force: "GTC".into(),
                price: limit_price.unwrap_or(Decimal::ZERO),
                orig_qty: qty,
                orig_quote_order_qty: quote_order_qty,
                executed_qty: Decimal::ZERO,
                cummulative_quote_qty: Decimal::ZERO,
                status: "NEW".into(),
                time: now,
                update_time: now,
                locked_remaining,
                stp_mode: stp_mode.clone(),
                prevented: None,
                prevented_matches: Vec::new(),
                iceberg_qty: None,
                strategy_id: None,
                strategy_type: None,
                working_floor: None,
                expiry_reason: None,
            },
        );
        self.log_order(&sym.symbol, order_id, now);
        let mut trades = Vec::new();
        // The account's own resting orders that this one would meet before
        // the market's liquidity: on the other side, at a price at least as
        // good as the market's (ties go to the resting order) and within
        // this order's limit. Price priority, then time.
        let mut own: Vec<(Decimal, u64)> = self
            .orders
            .values()
            .filter(|o| o.symbol == sym.symbol && o.is_open() && o.side != req.side)
            .filter(|o| o.order_id != order_id && o.order_type == "LIMIT")
            .filter(|o| match req.side {
                Side::Buy => o.price <= market_price && limit_price.is_none_or(|l| o.price <= l),
                Side::Sell => o.price >= market_price && limit_price.is_none_or(|l| o.price >= l),
            })
            .map(|o| (o.price, o.order_id))
            .collect();
        own.sort_by(|a, b| match req.side {
            Side::Buy => a.cmp(b),
            Side::Sell => b.0.cmp(&a.0).then(a.1.cmp(&b.1)),
        });
        for (price, maker_id) in own {
            let remaining = self
                .order(&sym.symbol, order_id)
                .map(|o| o.remaining())
                .unwrap_or_default();
            if remaining.is_zero()
                || !self
                    .order(&sym.symbol, order_id)
                    .is_some_and(Order::is_open)
            {
                break;
            }
            if stp_mode == "NONE" {
                // No prevention: the account trades with itself.
                let maker_left = self
                    .order(&sym.symbol, maker_id)
                    .map(|o| o.remaining())
                    .unwrap_or_default();
                let q = remaining.min(maker_left);
                self.fill(&sym.symbol, maker_id, q, price, true, now)?;
                trades.push(self.fill(&sym.symbol, order_id, q, price, false, now)?);
                continue;
            }
            let maker_left = self
                .order(&sym.symbol, maker_id)
                .map(|o| o.remaining())
                .unwrap_or_default();
            let id = self.alloc_prevented_match_id(&sym.symbol);
            let expire_maker = stp_mode == "EXPIRE_MAKER" || stp_mode == "EXPIRE_BOTH";
            let expire_taker = stp_mode == "EXPIRE_TAKER" || stp_mode == "EXPIRE_BOTH";
            if expire_maker {
                self.expire_in_match(&sym.symbol, maker_id, id, now)?;
            }
            if expire_taker {
                self.expire_in_match(&sym.symbol, order_id, id, now)?;
            }
            if let Some(o) = self.order_mut(&sym.symbol, order_id) {
                o.prevented_matches.push(PreventedMatch {
                    id,
                    maker_order_id: maker_id,
                    price,
                    taker_prevented: expire_taker.then_some(remaining),
                    maker_prevented: expire_maker.then_some(maker_left),
                });
            }
            if expire_taker {
                break;
            }
        }
        let left = self
            .order(&sym.symbol, order_id)
            .filter(|o| o.is_open())
            .map(|o| o.remaining())
            .unwrap_or_default();
        if marketable && !left.is_zero() {
            // Taker fill at the current price (never worse than the limit).
            trades.push(self.fill(&sym.symbol, order_id, left, market_price, false, now)?);
        }
        Ok((order_id, trades))
    }

    /// The checks of a new order before it reaches the matching engine;
    /// `tifs` are the LIMIT `timeInForce` values simulated for this kind of
    /// order (anything else is `-1115`). Changes nothing.
    pub fn check_order(&self, req: &NewOrder, tifs: &[&str]) -> Result<CheckedOrder, ApiError> {
        let sym = self
            .symbol(&req.symbol)
            .ok_or_else(ApiError::bad_symbol)?
            .clone();
        if !self.can_trade {
            return Err(ApiError::new_order_rejected(
                "This account may not place or cancel orders.",
            ));
        }
        if sym.status != "TRADING" {
            return Err(ApiError::new_order_rejected("Market is closed."));
        }
        let market_price = sym.price;
        let (qty, quote_order_qty, limit_price) = match req.order_type.as_str() {
            "MARKET" => {
                if req.time_in_force.is_some() {
                    return Err(ApiError::bad(
                        -1106,
                        "Parameter 'timeInForce' sent when not required.",
                    ));
                }
                if req.price.is_some() {
                    return Err(ApiError::bad(
                        -1106,
                        "Parameter 'price' sent when not required.",
                    ));
                }
                match (req.quantity, req.quote_order_qty) {
                    (Some(q), None) => (q, Decimal::ZERO, None),
                    (None, Some(qq)) => {
                        // Reverse market order: buy/sell as much base as the
                        // quote amount buys, rounded down to the step size.
                        if market_price.is_zero() {
                            return Err(ApiError::new_order_rejected(
                                "Order book liquidity is less than symbol minimum quantity.",
                            ));
                        }
                        let raw = qq / market_price;
                        let step = sym
                            .filters
                            .lot_size
                            .as_ref()
                            .map(|l| l.step_size)
                            .unwrap_or(Decimal::new(1, 8));
                        let q = if step.is_zero() {
                            raw.round_dp(8)
                        } else {
                            (raw / step).floor() * step
                        };
                        (q, qq, None)
                    }
                    (Some(_), Some(_)) => return Err(ApiError::bad_combo()),
                    (None, None) => {
                        return Err(ApiError::either_mandatory("quantity", "quoteOrderQty"))
                    }
                }
            }
            "LIMIT" => {
                let tif = req
                    .time_in_force
                    .as_deref()
                    .ok_or_else(|| ApiError::mandatory("timeInForce"))?;
                if !tifs.contains(&tif) {
                    // Not simulated for this kind of order (IOC/FOK on
                    // POST /api/v3/order); say so instead of misbehaving.
                    return Err(ApiError::bad(-1115, "Invalid timeInForce."));
                }
                let q = req
                    .quantity
                    .ok_or_else(|| ApiError::mandatory("quantity"))?;
                let p = req.price.ok_or_else(|| ApiError::mandatory("price"))?;
                (q, Decimal::ZERO, Some(p))
            }
            _ => return Err(ApiError::bad(-1116, "Invalid orderType.")),
        };
        if qty.scale() > sym.base_precision {
            return Err(ApiError::bad(
                -1111,
                "Parameter 'quantity' has too much precision.",
            ));
        }
        if qty <= Decimal::ZERO {
            return Err(ApiError::bad(-1013, "Invalid quantity."));
        }
        if let Some(l) = &sym.filters.lot_size {
            if qty < l.min_qty || qty > l.max_qty || !is_multiple(qty, l.step_size) {
                return Err(ApiError::filter_failure("LOT_SIZE"));
            }
        }
        if let Some(p) = limit_price {
            if p.scale() > sym.quote_precision {
                return Err(ApiError::bad(
                    -1111,
                    "Parameter 'price' has too much precision.",
                ));
            }
            if p <= Decimal::ZERO {
                return Err(ApiError::bad(-1013, "Invalid price."));
            }
            if let Some(f) = &sym.filters.price_filter {
                if (!f.min_price.is_zero() && p < f.min_price)
                    || (!f.max_price.is_zero() && p > f.max_price)
                    || !is_multiple(p, f.tick_size)
                {
                    return Err(ApiError::filter_failure("PRICE_FILTER"));
                }
            }
        }
        if let Some(n) = &sym.filters.notional {
            let is_market = limit_price.is_none();
            let notional = limit_price.unwrap_or(market_price) * qty;
            if (!is_market || n.apply_min_to_market) && notional < n.min_notional {
                return Err(ApiError::filter_failure("NOTIONAL"));
            }
            if (!is_market || n.apply_max_to_market) && notional > n.max_notional {
                return Err(ApiError::filter_failure("NOTIONAL"));
            }
        }
        let stp_mode = match req.stp_mode.as_deref() {
            None => DEFAULT_STP_MODE.to_string(),
            Some(m) if ALLOWED_STP_MODES.contains(&m) => m.to_string(),
            Some("DECREMENT") | Some("TRANSFER") => {
                return Err(ApiError::bad(
                    -1013,
                    "This symbol does not allow the specified self-trade prevention mode.",
                ))
            }
            Some(_) => return Err(ApiError::invalid_param("selfTradePreventionMode")),
        };
        let client_order_id = match req.client_order_id.clone() {
            Some(c) if c.is_empty() => {
                return Err(ApiError::bad(-1118, "New client order ID was empty."))
            }
            Some(c) => {
                if self
                    .orders
                    .values()
                    .any(|o| o.symbol == sym.symbol && o.client_order_id == c && o.is_open())
                {
                    return Err(ApiError::new_order_rejected("Duplicate order sent."));
                }
                c
            }
            None => random_client_id(),
        };
        let time_in_force = match limit_price {
            Some(_) => req.time_in_force.clone().unwrap_or_else(|| "GTC".into()),
            None => "GTC".into(),
        };
        Ok(CheckedOrder {
            sym,
            qty,
            quote_order_qty,
            limit_price,
            time_in_force,
            stp_mode,
            client_order_id,
        })
    }

    fn alloc_prevented_match_id(&mut self, symbol: &str) -> u64 {
        let next = self
            .next_prevented_match_id
            .entry(symbol.to_string())
            .or_insert(0);
        let id = *next;
        *next += 1;
        id
    }

    /// Expires an open order by STP: `EXPIRED_IN_MATCH`, its remaining
    /// quantity as `preventedQuantity`, what it still locks given back.
    fn expire_in_match(
        &mut self,
        symbol: &str,
        order_id: u64,
        match_id: u64,
        now: i64,
    ) -> Result<(), ApiError> {
        let o = self
            .order(symbol, order_id)
            .ok_or_else(ApiError::no_such_order)?
            .clone();
        let sym = self
            .symbol(symbol)
            .ok_or_else(ApiError::bad_symbol)?
            .clone();
        if !o.locked_remaining.is_zero() {
            self.release_locked(&sym, o.side, o.locked_remaining);
            self.touch(now);
        }
        if let Some(m) = self.order_mut(symbol, order_id) {
            m.status = "EXPIRED_IN_MATCH".into();
            m.prevented = Some((match_id, m.remaining()));
            m.locked_remaining = Decimal::ZERO;
            m.update_time = now;
        }
        self.log_order(symbol, order_id, now);
        Ok(())
    }

    /// Fills `qty` of an open order at `price`; moves balances exactly.
    pub fn fill(
        &mut self,
        symbol: &str,
        order_id: u64,
        qty: Decimal,
        price: Decimal,
        is_maker: bool,
        now: i64,
    ) -> Result<Trade, ApiError> {
        let order = self
            .order(symbol, order_id)
            .ok_or_else(ApiError::no_such_order)?
            .clone();
        if !order.is_open() {
            return Err(ApiError::new_order_rejected("Order is not open."));
        }
        if qty <= Decimal::ZERO || qty > order.remaining() {
            return Err(ApiError::invalid_param("quantity"));
        }
        let sym = self
            .symbol(&order.symbol)
            .ok_or_else(ApiError::bad_symbol)?
            .clone();
        let quote_qty = (price * qty).round_dp(sym.quote_precision);
        let rate = if is_maker {
            self.fees.maker
        } else {
            self.fees.taker
        };
        let (commission, commission_asset) =
            self.commission(&sym.base, &sym.quote, order.side, qty, quote_qty, rate);
        let is_limit = order.order_type == "LIMIT";
        self.settle_fill(
            &sym,
            order.side,
            (qty, quote_qty),
            is_limit,
            (commission, &commission_asset),
        );
        let trade = Trade {
            symbol: sym.symbol.clone(),
            id: self.alloc_trade_id(&sym.symbol),
            order_id,
            price,
            qty,
            quote_qty,
            commission,
            commission_asset,
            time: now,
            is_buyer: order.side == Side::Buy,
            is_maker,
        };
        self.trades.push(trade.clone());
        let mut leftover = Decimal::ZERO;
        if let Some(o) = self.order_mut(symbol, order_id) {
            if o.working_floor.is_some() {
                // An SOR order resting on the book it was sent to trades
                // there: its last activity is on the exchange (sor_faq.md).
                o.working_floor = Some("EXCHANGE");
            }
            leftover = o.record_fill(qty, quote_qty, is_limit, now);
        }
        self.log_order(symbol, order_id, now);
        // A BUY LIMIT that filled below its limit price gives back the rest.
        self.release_locked(&sym, order.side, leftover);
        if let Some(s) = self.symbol_mut(&sym.symbol) {
            s.history.push((now, price));
        }
        self.touch(now);
        Ok(trade)
    }

    /// The commission of one fill: `(amount, asset)`.
    ///
    /// In BNB: quote value × rate × (1 − discount) ÷ the BNB<quote> price,
    /// when the account pays in BNB, a BNB<quote> symbol exists and the BNB
    /// balance covers it (otherwise Binance falls back to the normal asset).
    pub(crate) fn commission(
        &self,
        base: &str,
        quote: &str,
        side: Side,
        qty: Decimal,
        quote_qty: Decimal,
        rate: Decimal,
    ) -> (Decimal, String) {
        if self.fees.pay_fees_in_bnb {
            let bnb_price = self.symbol(&format!("BNB{quote}")).map(|s| s.price);
            if let Some(p) = bnb_price.filter(|p| !p.is_zero()) {
                let fee =
                    (quote_qty * rate * (Decimal::ONE - self.fees.bnb_discount) / p).round_dp(8);
                if self.balance("BNB").free >= fee {
                    return (fee, "BNB".into());
                }
            }
        }
        match side {
            Side::Buy => ((qty * rate).round_dp(8), base.to_string()),
            Side::Sell => ((quote_qty * rate).round_dp(8), quote.to_string()),
        }
    }

    /// Cancels an open order and unlocks what it still holds.
    pub fn cancel(&mut self, symbol: &str, order_id: u64, now: i64) -> Result<Order, ApiError> {
        let order = self
            .order(symbol, order_id)
            .ok_or_else(|| ApiError::cancel_rejected("Unknown order sent."))?
            .clone();
        if !order.is_open() {
            return Err(ApiError::cancel_rejected("Unknown order sent."));
        }
        let sym = self
            .symbol(&order.symbol)
            .ok_or_else(ApiError::bad_symbol)?
            .clone();
        if !order.locked_remaining.is_zero() {
            self.release_locked(&sym, order.side, order.locked_remaining);
            self.touch(now);
        }
        let o = self
            .order_mut(symbol, order_id)
            .ok_or_else(ApiError::no_such_order)?;
        o.status = "CANCELED".into();
        o.update_time = now;
        o.locked_remaining = Decimal::ZERO;
        let o = o.clone();
        self.log_order(symbol, order_id, now);
        Ok(o)
    }

    /// Moves a symbol's price, records it for klines, and fills every resting
    /// LIMIT order the new price crosses (as maker, at the order's price).
    pub fn set_price(
        &mut self,
        symbol: &str,
        price: Decimal,
        now: i64,
    ) -> Result<Vec<Trade>, ApiError> {
        let s = self.symbol_mut(symbol).ok_or_else(ApiError::bad_symbol)?;
        s.price = price;
        s.history.push((now, price));
        let crossed: Vec<(u64, Decimal, Decimal)> = self
            .orders
            .values()
            .filter(|o| o.symbol == symbol && o.is_open() && o.order_type == "LIMIT")
            .filter(|o| match o.side {
                Side::Buy => price <= o.price,
                Side::Sell => price >= o.price,
            })
            .map(|o| (o.order_id, o.remaining(), o.price))
            .collect();
        let mut trades = Vec::new();
        for (id, qty, p) in crossed {
            trades.push(self.fill(symbol, id, qty, p, true, now)?);
        }
        Ok(trades)
    }

    /// A deposit: credited at once (status 1), or, with
    /// [`crate::strict::StrictConfig::deposit_credit_delay_ms`], pending
    /// (status 0, balance unchanged) until the delay has passed on the sim
    /// clock. Returns the id and the status now.
    pub fn deposit(
        &mut self,
        asset: &str,
        amount: Decimal,
        wallet: crate::ledger::Wallet,
        now: i64,
    ) -> Result<(String, i64), ApiError> {
        if amount <= Decimal::ZERO {
            return Err(ApiError::invalid_param("amount"));
        }
        let delay = self.strict.deposit_credit_delay_ms;
        let (status, complete_time, credit_at) = if delay > 0 {
            (0, 0, Some(now + delay))
        } else {
            self.credit(wallet, asset, amount, now);
            (1, now, None)
        };
        let id = format!("{}", 800_000_000_000_000_000u64 + self.next_transfer_id);
        self.next_transfer_id += 1;
        self.deposits.push(crate::state::Deposit {
            id: id.clone(),
            coin: asset.into(),
            amount,
            network: asset.into(),
            status,
            address: "0x0000000000000000000000000000000000000001".into(),
            tx_id: format!("0xsimdeposit{:056x}", self.next_transfer_id),
            insert_time: now,
            complete_time,
            credit_at,
            wallet_type: wallet.wallet_type(),
        });
        Ok((id, status))
    }

    /// A withdrawal, debited at once: `amount + fee` from the balance, or
    /// `amount` alone with
    /// [`crate::strict::StrictConfig::withdraw_fee_in_amount`] (the
    /// recipient then gets `amount - fee`). Completed (6) at once, or with
    /// [`crate::strict::StrictConfig::withdrawal_step_ms`] Awaiting Approval
    /// (2), then Processing (4), then Completed (6), one step per delay.
    /// Returns the id and the status now.
    pub fn withdraw(
        &mut self,
        asset: &str,
        amount: Decimal,
        fee: Decimal,
        wallet: crate::ledger::Wallet,
        now: i64,
    ) -> Result<(String, i64), ApiError> {
        if amount <= Decimal::ZERO || fee < Decimal::ZERO {
            return Err(ApiError::invalid_param("amount"));
        }
        let debit = if self.strict.withdraw_fee_in_amount {
            if fee > amount {
                return Err(ApiError::invalid_param("amount"));
            }
            amount
        } else {
            amount + fee
        };
        self.debit(wallet, asset, debit, now)?;
        let step = self.strict.withdrawal_step_ms;
        let (status, complete_time, schedule) = if step > 0 {
            (2, None, vec![(now + step, 4), (now + 2 * step, 6)])
        } else {
            (6, Some(now), Vec::new())
        };
        let id = format!("{:032x}", 0x51u128 << 120 | self.next_transfer_id as u128);
        self.next_transfer_id += 1;
        self.withdrawals.push(crate::state::Withdrawal {
            id: id.clone(),
            coin: asset.into(),
            amount,
            transaction_fee: fee,
            network: asset.into(),
            status,
            address: "0x94df8b352de7f46f64b01d3666bf6e936e44ce60".into(),
            tx_id: format!("0xsimwithdraw{:055x}", self.next_transfer_id),
            withdraw_order_id: None,
            apply_time: now,
            complete_time,
            schedule,
            wallet_type: wallet.wallet_type(),
        });
        Ok((id, status))
    }
}

/// Binance generates 22-character client ids when none is given.
fn random_client_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..22)
        .map(|_| {
            let i = rand::random::<u32>() as usize % ALPHABET.len();
            ALPHABET[i] as char
        })
        .collect()
}
