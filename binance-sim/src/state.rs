//! The simulated account and market: symbols, balances, orders, trades,
//! deposits and withdrawals, plus how each renders as Binance JSON.
//!
//! [`Exchange`] is plain data behind one mutex (see `lib.rs`); every
//! mutation happens with the lock held and no `.await` inside, so a request
//! sees a consistent account. Order matching lives in `matching.rs`.

use crate::clock::format_utc;
use crate::json::J;
use crate::obj;
use crate::scenario::{FeeSpec, FilterSpec, KeyRestrictions, Scenario, ScenarioError};
use crate::strict::StrictConfig;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Orders are keyed by `(orderId, symbol)`: with
/// [`StrictConfig::colliding_ids`] two symbols can have the same order id.
/// The id comes first so iteration stays in id order.
pub type OrderKey = (u64, String);

/// Binance prints quantities and prices with 8 decimals.
pub fn fmt8(d: Decimal) -> String {
    format!("{:.8}", d.round_dp(8))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn parse(s: &str) -> Option<Side> {
        match s {
            "BUY" => Some(Side::Buy),
            "SELL" => Some(Side::Sell),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Symbol {
    pub symbol: String,
    pub base: String,
    pub quote: String,
    pub price: Decimal,
    pub base_precision: u32,
    pub quote_precision: u32,
    pub status: String,
    pub filters: FilterSpec,
    /// (time ms, price), sorted by time; source of klines.
    pub history: Vec<(i64, Decimal)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Balance {
    pub free: Decimal,
    pub locked: Decimal,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub symbol: String,
    pub order_id: u64,
    pub client_order_id: String,
    pub side: Side,
    pub order_type: String,
    pub time_in_force: String,
    pub price: Decimal,
    pub orig_qty: Decimal,
    pub orig_quote_order_qty: Decimal,
    pub executed_qty: Decimal,
    pub cummulative_quote_qty: Decimal,
    pub status: String,
    pub time: i64,
    pub update_time: i64,
    /// Funds this order still holds in `locked` (quote for BUY, base for SELL).
    pub locked_remaining: Decimal,
    /// `selfTradePreventionMode` (its own, or the symbol's default).
    pub stp_mode: String,
    /// Expired by STP: `(preventedMatchId, preventedQuantity)`.
    pub prevented: Option<(u64, Decimal)>,
    /// As a taker: the prevented matches of its placement (FULL response).
    pub prevented_matches: Vec<PreventedMatch>,
    /// `icebergQty` as sent (zero: not an iceberg order).
    pub iceberg_qty: Option<Decimal>,
    /// `strategyId` / `strategyType`, shown only when sent.
    pub strategy_id: Option<i64>,
    pub strategy_type: Option<i64>,
    /// Placed with SOR (`POST /api/v3/sor/order`): where its last activity
    /// happened, `"SOR"` or `"EXCHANGE"` (enums.md, Working Floor). `None`:
    /// a normal order, which shows neither `usedSor` nor `workingFloor`.
    pub working_floor: Option<&'static str>,
    /// `expiryReason` (enums.md, Expiry Reasons) of an order that expired.
    pub expiry_reason: Option<&'static str>,
}

/// One prevented match (stp_faq.md): the would-be maker, its price and the
/// quantities STP expired.
#[derive(Debug, Clone)]
pub struct PreventedMatch {
    pub id: u64,
    pub maker_order_id: u64,
    pub price: Decimal,
    pub taker_prevented: Option<Decimal>,
    pub maker_prevented: Option<Decimal>,
}

impl PreventedMatch {
    pub fn to_json(&self) -> J {
        let mut f = vec![
            ("preventedMatchId", J::Val(self.id.into())),
            ("makerOrderId", J::Val(self.maker_order_id.into())),
            ("price", J::Val(fmt8(self.price).into())),
        ];
        if let Some(q) = self.taker_prevented {
            f.push(("takerPreventedQuantity", J::Val(fmt8(q).into())));
        }
        if let Some(q) = self.maker_prevented {
            f.push(("makerPreventedQuantity", J::Val(fmt8(q).into())));
        }
        J::Obj(f)
    }
}

/// `preventedMatchId` and `preventedQuantity`, which "appear only if the
/// order expired due to STP" (rest-api.md, Conditional fields in Order
/// Responses), after `selfTradePreventionMode` as in stp_faq.md.
pub fn with_prevented(json: J, order: &Order) -> J {
    match order.prevented {
        Some((id, qty)) => json
            .with("preventedMatchId", J::Val(id.into()))
            .with("preventedQuantity", J::Val(fmt8(qty).into())),
        None => json,
    }
}

/// The STP modes the sim's symbols allow, and the default (what BTCUSDT
/// shows on the live exchange; stp_faq.md describes DECREMENT and TRANSFER,
/// which the sim does not simulate).
pub const ALLOWED_STP_MODES: &[&str] = &["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"];
pub const DEFAULT_STP_MODE: &str = "EXPIRE_MAKER";

impl Order {
    pub fn is_open(&self) -> bool {
        self.status == "NEW" || self.status == "PARTIALLY_FILLED"
    }

    pub fn remaining(&self) -> Decimal {
        self.orig_qty - self.executed_qty
    }

    /// Books one fill of `qty` (worth `quote_qty`) on the order, on the book
    /// or through SOR alike. `from_locked`: the fill is paid from what the
    /// order locked (a LIMIT order). Answers what the order still holds once
    /// it is FILLED (a BUY that paid less than its limit), for the caller to
    /// give back; zero otherwise.
    pub fn record_fill(
        &mut self,
        qty: Decimal,
        quote_qty: Decimal,
        from_locked: bool,
        now: i64,
    ) -> Decimal {
        self.executed_qty += qty;
        self.cummulative_quote_qty += quote_qty;
        self.update_time = now;
        if from_locked {
            self.locked_remaining -= match self.side {
                Side::Buy => quote_qty,
                Side::Sell => qty,
            };
        }
        if self.executed_qty == self.orig_qty {
            self.status = "FILLED".into();
            std::mem::take(&mut self.locked_remaining)
        } else {
            self.status = "PARTIALLY_FILLED".into();
            Decimal::ZERO
        }
    }

    /// Binance archives CANCELED/EXPIRED orders with no fill after 90 days.
    pub fn is_archived(&self, now_ms: i64) -> bool {
        (self.status == "CANCELED" || self.status == "EXPIRED" || self.status == "EXPIRED_IN_MATCH")
            && self.executed_qty.is_zero()
            && now_ms - self.update_time > 90 * 86_400_000
    }

    /// The shape of `order.json` / `openOrders.json` / `allOrders.json`.
    pub fn to_json(&self) -> J {
        let json = obj! {
            "symbol": &self.symbol,
            "orderId": self.order_id,
            "orderListId": -1i64,
            "clientOrderId": &self.client_order_id,
            "price": fmt8(self.price),
            "origQty": fmt8(self.orig_qty),
            "executedQty": fmt8(self.executed_qty),
            "cummulativeQuoteQty": fmt8(self.cummulative_quote_qty),
            "status": &self.status,
            "timeInForce": &self.time_in_force,
            "type": &self.order_type,
            "side": self.side.as_str(),
            "stopPrice": fmt8(Decimal::ZERO),
            "icebergQty": fmt8(self.iceberg_qty.unwrap_or_default()),
            "time": self.time,
            "updateTime": self.update_time,
            "isWorking": true,
            "workingTime": self.time,
            "origQuoteOrderQty": fmt8(self.orig_quote_order_qty)
        };
        let json = self.with_strategy(json).with(
            "selfTradePreventionMode",
            J::Val(self.stp_mode.clone().into()),
        );
        self.with_sor_fields(with_prevented(json, self))
    }

    /// `strategyId` and `strategyType`, which appear "if the parameter was
    /// populated in the request" (Conditional fields in Order Responses).
    pub fn with_strategy(&self, json: J) -> J {
        let json = match self.strategy_id {
            Some(id) => json.with("strategyId", J::Val(id.into())),
            None => json,
        };
        match self.strategy_type {
            Some(t) => json.with("strategyType", J::Val(t.into())),
            None => json,
        }
    }

    /// `usedSor` and `workingFloor` ("appears when placing orders using
    /// SOR"; sor_faq.md: order queries show them too), then `expiryReason`
    /// ("when an order has expired"), in the order the SDKs' order mocks use.
    pub fn with_sor_fields(&self, json: J) -> J {
        let json = match self.working_floor {
            Some(floor) => json
                .with("usedSor", J::Val(true.into()))
                .with("workingFloor", J::Val(floor.into())),
            None => json,
        };
        match self.expiry_reason {
            Some(r) => json.with("expiryReason", J::Val(r.into())),
            None => json,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Trade {
    pub symbol: String,
    pub id: u64,
    pub order_id: u64,
    pub price: Decimal,
    pub qty: Decimal,
    pub quote_qty: Decimal,
    pub commission: Decimal,
    pub commission_asset: String,
    pub time: i64,
    pub is_buyer: bool,
    pub is_maker: bool,
}

impl Trade {
    /// The shape of `myTrades.json`.
    pub fn to_json(&self) -> J {
        obj! {
            "symbol": &self.symbol,
            "id": self.id,
            "orderId": self.order_id,
            "orderListId": -1i64,
            "price": fmt8(self.price),
            "qty": fmt8(self.qty),
            "quoteQty": fmt8(self.quote_qty),
            "commission": fmt8(self.commission),
            "commissionAsset": &self.commission_asset,
            "time": self.time,
            "isBuyer": self.is_buyer,
            "isMaker": self.is_maker,
            "isBestMatch": true
        }
    }

    /// The element of `fills[]` in a FULL order response.
    pub fn to_fill_json(&self) -> J {
        obj! {
            "price": fmt8(self.price),
            "qty": fmt8(self.qty),
            "commission": fmt8(self.commission),
            "commissionAsset": &self.commission_asset,
            "tradeId": self.id
        }
    }
}

#[derive(Debug, Clone)]
pub struct Deposit {
    pub id: String,
    pub coin: String,
    pub amount: Decimal,
    pub network: String,
    pub status: i64,
    pub address: String,
    pub tx_id: String,
    pub insert_time: i64,
    pub complete_time: i64,
    /// While pending (strict deposit lifecycle): when it will be credited.
    pub credit_at: Option<i64>,
    /// `walletType`: 0 Spot, 1 Funding (the wallet credited).
    pub wallet_type: i64,
}

impl Deposit {
    /// The shape of `deposit-hisrec.json`.
    pub fn to_json(&self) -> J {
        obj! {
            "id": &self.id,
            "amount": self.amount.normalize().to_string(),
            "coin": &self.coin,
            "network": &self.network,
            "status": &self.status,
            "address": &self.address,
            "addressTag": "",
            "txId": &self.tx_id,
            "insertTime": self.insert_time,
            "completeTime": self.complete_time,
            "transferType": 0,
            "confirmTimes": "1/1",
            "unlockConfirm": 0,
            "walletType": self.wallet_type,
            "travelRuleStatus": 0
        }
    }
}

#[derive(Debug, Clone)]
pub struct Withdrawal {
    pub id: String,
    pub coin: String,
    pub amount: Decimal,
    pub transaction_fee: Decimal,
    pub network: String,
    pub status: i64,
    pub address: String,
    pub tx_id: String,
    pub withdraw_order_id: Option<String>,
    pub apply_time: i64,
    pub complete_time: Option<i64>,
    /// Status changes still to come, `(at ms, status)`, in time order
    /// (strict withdrawal lifecycle).
    pub schedule: Vec<(i64, i64)>,
    /// `walletType`: 0 Spot, 1 Funding (the wallet debited).
    pub wallet_type: i64,
}

impl Withdrawal {
    /// The shape of `withdraw-history.json`: times are UTC strings.
    pub fn to_json(&self) -> J {
        let mut fields = vec![
            ("id", J::Val(self.id.clone().into())),
            ("amount", J::Val(fmt8(self.amount).into())),
            (
                "transactionFee",
                J::Val(self.transaction_fee.normalize().to_string().into()),
            ),
            ("coin", J::Val(self.coin.clone().into())),
            ("status", J::Val(self.status.into())),
            ("address", J::Val(self.address.clone().into())),
            ("txId", J::Val(self.tx_id.clone().into())),
            ("applyTime", J::Val(format_utc(self.apply_time).into())),
            ("network", J::Val(self.network.clone().into())),
            ("transferType", J::Val(0.into())),
        ];
        // "will not be returned if there's no withdrawOrderId for this withdraw"
        if let Some(w) = &self.withdraw_order_id {
            fields.push(("withdrawOrderId", J::Val(w.clone().into())));
        }
        fields.extend([
            ("info", J::Val("".into())),
            ("confirmNo", J::Val(12.into())),
            ("walletType", J::Val(self.wallet_type.into())),
            ("txKey", J::Val("".into())),
        ]);
        if let Some(c) = self.complete_time {
            fields.push(("completeTime", J::Val(format_utc(c).into())));
        }
        J::Obj(fields)
    }
}

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub key: String,
    /// How its signatures are checked (HMAC secret, Ed25519 or RSA public key).
    pub verifier: crate::signing::Verifier,
    pub restrictions: KeyRestrictions,
    pub create_time: i64,
    /// With an IP restriction: the only client addresses the key works from.
    pub trusted_ips: Option<Vec<std::net::IpAddr>>,
}

impl ApiKey {
    /// Whether a request from `ip` may use this key.
    pub fn allows_ip(&self, ip: std::net::IpAddr) -> bool {
        self.trusted_ips
            .as_ref()
            .is_none_or(|ips| ips.contains(&ip))
    }

    /// `ipRestrict` as `apiRestrictions` reports it.
    pub fn ip_restrict(&self) -> bool {
        self.trusted_ips.is_some() || self.restrictions.ip_restrict
    }
}

fn trusted_ips(
    k: &crate::scenario::ApiKeySpec,
) -> Result<Option<Vec<std::net::IpAddr>>, ScenarioError> {
    let ips = k
        .ips
        .iter()
        .map(|ip| {
            ip.parse().map_err(|_| {
                ScenarioError::Invalid(format!("api key {}: {ip:?} is not an IP address", k.key))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    match (k.ip_restrict, ips.is_empty()) {
        (true, true) => Err(ScenarioError::Invalid(format!(
            "api key {}: ip_restrict needs at least one address in ips",
            k.key
        ))),
        (true, false) => Ok(Some(ips)),
        (false, true) => Ok(None),
        (false, false) => Err(ScenarioError::Invalid(format!(
            "api key {}: ips is given but ip_restrict is not true",
            k.key
        ))),
    }
}

/// Everything the exchange knows about the one simulated account.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub uid: u64,
    pub can_trade: bool,
    pub can_withdraw: bool,
    pub can_deposit: bool,
    /// `account.updateTime`: time of the last balance change.
    pub update_time: i64,
    pub keys: Vec<ApiKey>,
    pub fees: FeeSpec,
    /// Symbols in scenario order.
    pub symbols: Vec<Symbol>,
    /// Balances in first-seen order (Binance lists assets in a stable order).
    pub balances: Vec<(String, Balance)>,
    pub orders: BTreeMap<OrderKey, Order>,
    /// Every state an order has had, `(since ms, order)`, in time order:
    /// what `allOrders` serves when [`StrictConfig::history_lag_ms`] > 0.
    pub order_log: Vec<(i64, Order)>,
    /// Per symbol, in id order (ids ascend within a symbol).
    pub trades: Vec<Trade>,
    pub deposits: Vec<Deposit>,
    pub withdrawals: Vec<Withdrawal>,
    /// Above every order id of every symbol.
    pub next_order_id: u64,
    /// Above every trade id of every symbol.
    pub next_trade_id: u64,
    pub next_transfer_id: u64,
    /// The strict-mode switches in force.
    pub strict: StrictConfig,
    /// With `colliding_ids`: each symbol's next order / trade id, all
    /// starting at the same number (the global next id when first used).
    pub symbol_next_order_id: BTreeMap<String, u64>,
    pub symbol_next_trade_id: BTreeMap<String, u64>,
    pub collide_base_order_id: Option<u64>,
    pub collide_base_trade_id: Option<u64>,
    /// Each symbol's next `preventedMatchId` (from 0, as in stp_faq.md).
    pub next_prevented_match_id: BTreeMap<String, u64>,
    /// The Funding wallet and the wallet histories (`ledger.rs`).
    pub ledger: crate::ledger::Ledger,
    /// Master or sub-account, and the transfers between them (`subaccount.rs`).
    pub subaccount: crate::subaccount::SubAccounts,
    /// Plays the Spot testnet's host, which serves only the `/api` endpoints ("only the
    /// `/api` endpoints are available", testnet general-info): `/sapi/*` is a 404.
    pub testnet: bool,
    /// The SOR configurations and the allocations SOR made (`sor.rs`).
    pub sor: crate::sor::SorBook,
    /// The USDⓈ-M futures account (`futures.rs`); empty without the
    /// scenario's `futures` section.
    pub futures: crate::futures::Futures,
}

fn rel(spec: Option<crate::scenario::TimeSpec>, now: i64, default: i64) -> i64 {
    spec.map(|t| t.resolve(now)).unwrap_or(default)
}

impl Exchange {
    /// Builds the state from a scenario; `now` is the server time at load.
    pub fn from_scenario(s: &Scenario, now: i64) -> Result<Exchange, ScenarioError> {
        let mut ex = Exchange {
            uid: s.account.uid,
            can_trade: s.account.can_trade,
            can_withdraw: s.account.can_withdraw,
            can_deposit: s.account.can_deposit,
            update_time: now,
            keys: s
                .api_keys
                .iter()
                .map(|k| {
                    Ok(ApiKey {
                        key: k.key.clone(),
                        verifier: crate::signing::Verifier::from_spec(k)
                            .map_err(ScenarioError::Invalid)?,
                        restrictions: k.restrictions.clone(),
                        create_time: rel(k.restrictions.create_time, now, now - 30 * 86_400_000),
                        trusted_ips: trusted_ips(k)?,
                    })
                })
                .collect::<Result<_, ScenarioError>>()?,
            fees: s.fees.clone(),
            symbols: Vec::new(),
            balances: Vec::new(),
            orders: BTreeMap::new(),
            order_log: Vec::new(),
            trades: Vec::new(),
            deposits: Vec::new(),
            withdrawals: Vec::new(),
            next_order_id: 1,
            next_trade_id: 1,
            next_transfer_id: 1,
            strict: StrictConfig::default(),
            symbol_next_order_id: BTreeMap::new(),
            symbol_next_trade_id: BTreeMap::new(),
            collide_base_order_id: None,
            collide_base_trade_id: None,
            next_prevented_match_id: BTreeMap::new(),
            ledger: crate::ledger::Ledger::default(),
            subaccount: crate::subaccount::SubAccounts::default(),
            testnet: false,
            sor: crate::sor::SorBook::default(),
            futures: crate::futures::Futures::from_spec(s.futures.as_ref(), now)?,
        };
        for sym in &s.symbols {
            if ex.symbol(&sym.symbol).is_some() {
                return Err(ScenarioError::Invalid(format!(
                    "duplicate symbol {}",
                    sym.symbol
                )));
            }
            let mut history: Vec<(i64, Decimal)> = sym
                .price_history
                .iter()
                .map(|p| (p.time.resolve(now), p.price))
                .collect();
            history.push((now, sym.price));
            ex.symbols.push(Symbol {
                symbol: sym.symbol.clone(),
                base: sym.base.clone(),
                quote: sym.quote.clone(),
                price: sym.price,
                base_precision: sym.base_precision,
                quote_precision: sym.quote_precision,
                status: sym.status.clone(),
                filters: sym.filters.clone(),
                history,
            });
        }
        let mut latest_change: Option<i64> = None;
        let mut bump = |t: i64| latest_change = Some(latest_change.map_or(t, |l: i64| l.max(t)));
        for o in &s.orders {
            let sym = ex
                .symbol(&o.symbol)
                .ok_or_else(|| {
                    ScenarioError::Invalid(format!(
                        "order {} has unknown symbol {}",
                        o.order_id, o.symbol
                    ))
                })?
                .clone();
            let side = Side::parse(&o.side).ok_or_else(|| {
                ScenarioError::Invalid(format!("order {} has bad side {}", o.order_id, o.side))
            })?;
            let time = o.time.resolve(now);
            let update_time = rel(o.update_time, now, time);
            let mut order = Order {
                symbol: o.symbol.clone(),
                order_id: o.order_id,
                client_order_id: o
                    .client_order_id
                    .clone()
                    .unwrap_or_else(|| format!("sim{}", o.order_id)),
                side,
                order_type: o.order_type.clone(),
                time_in_force: o.time_in_force.clone().unwrap_or_else(|| "GTC".into()),
                price: o.price,
                orig_qty: o.orig_qty,
                orig_quote_order_qty: Decimal::ZERO,
                executed_qty: o.executed_qty,
                cummulative_quote_qty: o.cummulative_quote_qty,
                status: o.status.clone(),
                time,
                update_time,
                locked_remaining: Decimal::ZERO,
                stp_mode: o
                    .self_trade_prevention_mode
                    .clone()
                    .unwrap_or_else(|| "NONE".into()),
                prevented: None,
                prevented_matches: Vec::new(),
                iceberg_qty: None,
                strategy_id: None,
                strategy_type: None,
                working_floor: None,
                expiry_reason: None,
            };
            if order.is_open() {
                order.locked_remaining = match side {
                    Side::Buy => (order.price * order.remaining()).round_dp(sym.quote_precision),
                    Side::Sell => order.remaining(),
                };
                bump(time);
            }
            ex.order_log.push((time, order.clone()));
            if ex
                .orders
                .insert((o.order_id, o.symbol.clone()), order)
                .is_some()
            {
                return Err(ScenarioError::Invalid(format!(
                    "duplicate orderId {} on {}",
                    o.order_id, o.symbol
                )));
            }
        }
        for t in &s.trades {
            if ex.symbol(&t.symbol).is_none() {
                return Err(ScenarioError::Invalid(format!(
                    "trade {} has unknown symbol {}",
                    t.id, t.symbol
                )));
            }
            let time = t.time.resolve(now);
            bump(time);
            ex.trades.push(Trade {
                symbol: t.symbol.clone(),
                id: t.id,
                order_id: t.order_id,
                price: t.price,
                qty: t.qty,
                quote_qty: t.quote_qty.unwrap_or(t.price * t.qty),
                commission: t.commission,
                commission_asset: t.commission_asset.clone(),
                time,
                is_buyer: t.is_buyer,
                is_maker: t.is_maker,
            });
            if let Some(sym) = ex.symbol_mut(&t.symbol) {
                sym.history.push((time, t.price));
            }
        }
        ex.trades.sort_by_key(|t| t.id);
        for sym in &mut ex.symbols {
            sym.history.sort_by_key(|(t, _)| *t);
        }
        for (i, d) in s.deposits.iter().enumerate() {
            let insert_time = d.insert_time.resolve(now);
            bump(insert_time);
            ex.deposits.push(Deposit {
                id: d
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("{}", 769_800_519_366_885_376_u64 + i as u64)),
                coin: d.coin.clone(),
                amount: d.amount,
                network: d.network.clone().unwrap_or_else(|| d.coin.clone()),
                status: d.status,
                address: d
                    .address
                    .clone()
                    .unwrap_or_else(|| "0x0000000000000000000000000000000000000001".into()),
                tx_id: d
                    .tx_id
                    .clone()
                    .unwrap_or_else(|| format!("0xsimdeposit{i:056x}")),
                insert_time,
                complete_time: rel(d.complete_time, now, insert_time),
                credit_at: None,
                wallet_type: 0,
            });
        }
        for (i, w) in s.withdrawals.iter().enumerate() {
            let apply_time = w.apply_time.resolve(now);
            bump(apply_time);
            let complete_time = match w.complete_time {
                Some(c) => Some(c.resolve(now)),
                None if w.status == 6 => Some(apply_time + 120_000),
                None => None,
            };
            ex.withdrawals.push(Withdrawal {
                id: w
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("simwithdraw{i:021x}")),
                coin: w.coin.clone(),
                amount: w.amount,
                transaction_fee: w.transaction_fee,
                network: w.network.clone().unwrap_or_else(|| w.coin.clone()),
                status: w.status,
                address: w
                    .address
                    .clone()
                    .unwrap_or_else(|| "0x94df8b352de7f46f64b01d3666bf6e936e44ce60".into()),
                tx_id: w
                    .tx_id
                    .clone()
                    .unwrap_or_else(|| format!("0xsimwithdraw{i:055x}")),
                withdraw_order_id: w.withdraw_order_id.clone(),
                apply_time,
                complete_time,
                schedule: Vec::new(),
                wallet_type: 0,
            });
        }
        // Balances: `locked` defaults to what the open orders hold.
        let mut locks: BTreeMap<String, Decimal> = BTreeMap::new();
        for o in ex.orders.values().filter(|o| o.is_open()) {
            if let Some(sym) = ex.symbol(&o.symbol) {
                let asset = match o.side {
                    Side::Buy => sym.quote.clone(),
                    Side::Sell => sym.base.clone(),
                };
                *locks.entry(asset).or_default() += o.locked_remaining;
            }
        }
        for b in &s.balances {
            let locked = b
                .locked
                .unwrap_or_else(|| locks.get(&b.asset).copied().unwrap_or_default());
            ex.balances.push((
                b.asset.clone(),
                Balance {
                    free: b.free,
                    locked,
                },
            ));
        }
        for (asset, locked) in locks {
            if !ex.balances.iter().any(|(a, _)| *a == asset) {
                ex.balances.push((
                    asset,
                    Balance {
                        free: Decimal::ZERO,
                        locked,
                    },
                ));
            }
        }
        ex.sor.configure(&ex.symbols, &s.sors)?;
        ex.update_time = match s.account.update_time {
            Some(t) => t.resolve(now),
            None => latest_change.unwrap_or(now),
        };
        ex.next_order_id = ex
            .orders
            .keys()
            .map(|(id, _)| *id)
            .max()
            .map_or(1, |m| m + 1);
        ex.next_trade_id = ex.trades.iter().map(|t| t.id).max().map_or(1, |m| m + 1);
        Ok(ex)
    }

    pub fn symbol(&self, name: &str) -> Option<&Symbol> {
        self.symbols.iter().find(|s| s.symbol == name)
    }

    pub fn symbol_mut(&mut self, name: &str) -> Option<&mut Symbol> {
        self.symbols.iter_mut().find(|s| s.symbol == name)
    }

    pub fn key(&self, api_key: &str) -> Option<&ApiKey> {
        self.keys.iter().find(|k| k.key == api_key)
    }

    pub fn balance(&self, asset: &str) -> Balance {
        self.balances
            .iter()
            .find(|(a, _)| a == asset)
            .map(|(_, b)| b.clone())
            .unwrap_or_default()
    }

    pub fn balance_mut(&mut self, asset: &str) -> &mut Balance {
        let idx = match self.balances.iter().position(|(a, _)| a == asset) {
            Some(i) => i,
            None => {
                self.balances.push((asset.to_string(), Balance::default()));
                self.balances.len() - 1
            }
        };
        &mut self.balances[idx].1
    }

    /// Gives `amount` an order of `side` on `sym` held back to `free` (quote
    /// for BUY, base for SELL, as [`Order::locked_remaining`]). A zero amount
    /// touches nothing: it must not add an empty balance row.
    pub fn release_locked(&mut self, sym: &Symbol, side: Side, amount: Decimal) {
        if amount.is_zero() {
            return;
        }
        let asset = match side {
            Side::Buy => &sym.quote,
            Side::Sell => &sym.base,
        };
        let b = self.balance_mut(asset);
        b.locked -= amount;
        b.free += amount;
    }

    /// Marks a balance change. `updateTime` strictly increases so a client
    /// comparing it never misses a change made within the same millisecond;
    /// with [`StrictConfig::freeze_update_time`] it does not move at all.
    pub fn touch(&mut self, now: i64) {
        if !self.strict.freeze_update_time {
            self.update_time = now.max(self.update_time + 1);
        }
    }

    pub fn order(&self, symbol: &str, order_id: u64) -> Option<&Order> {
        self.orders.get(&(order_id, symbol.to_string()))
    }

    pub fn order_mut(&mut self, symbol: &str, order_id: u64) -> Option<&mut Order> {
        self.orders.get_mut(&(order_id, symbol.to_string()))
    }

    /// Records an order's current state in [`Exchange::order_log`].
    pub fn log_order(&mut self, symbol: &str, order_id: u64, now: i64) {
        if let Some(o) = self.order(symbol, order_id).cloned() {
            self.order_log.push((now, o));
        }
    }

    /// The next order id for `symbol` (global, or per symbol with
    /// [`StrictConfig::colliding_ids`]).
    pub fn alloc_order_id(&mut self, symbol: &str) -> u64 {
        let own_max = self
            .orders
            .keys()
            .filter(|(_, s)| s == symbol)
            .map(|(id, _)| *id)
            .max();
        let id = if self.strict.colliding_ids {
            let base = *self.collide_base_order_id.get_or_insert(self.next_order_id);
            let next = self
                .symbol_next_order_id
                .entry(symbol.to_string())
                .or_insert(base);
            let id = (*next).max(own_max.map_or(0, |m| m + 1));
            *next = id + 1;
            id
        } else {
            self.next_order_id
        };
        self.next_order_id = self.next_order_id.max(id + 1);
        id
    }

    /// The next trade id for `symbol`; see [`Exchange::alloc_order_id`].
    pub fn alloc_trade_id(&mut self, symbol: &str) -> u64 {
        let own_max = self
            .trades
            .iter()
            .filter(|t| t.symbol == symbol)
            .map(|t| t.id)
            .max();
        let id = if self.strict.colliding_ids {
            let base = *self.collide_base_trade_id.get_or_insert(self.next_trade_id);
            let next = self
                .symbol_next_trade_id
                .entry(symbol.to_string())
                .or_insert(base);
            let id = (*next).max(own_max.map_or(0, |m| m + 1));
            *next = id + 1;
            id
        } else {
            self.next_trade_id
        };
        self.next_trade_id = self.next_trade_id.max(id + 1);
        id
    }

    /// Applies every transfer status change that is due by `now` (sim
    /// clock): pending deposits are credited, withdrawals move on. Called
    /// whenever the exchange is looked at, so time passing needs no timer.
    pub fn settle(&mut self, now: i64) {
        let mut credits: Vec<(String, Decimal, i64, i64)> = Vec::new();
        for d in &mut self.deposits {
            if let Some(at) = d.credit_at.filter(|at| *at <= now) {
                d.credit_at = None;
                d.status = 1;
                d.complete_time = at;
                credits.push((d.coin.clone(), d.amount, at, d.wallet_type));
            }
        }
        credits.sort_by_key(|(_, _, at, _)| *at);
        for (coin, amount, at, wallet_type) in credits {
            let wallet = crate::ledger::Wallet::from_wallet_type(wallet_type);
            self.credit(wallet, &coin, amount, at);
        }
        for w in &mut self.withdrawals {
            while let Some(&(at, status)) = w.schedule.first() {
                if at > now {
                    break;
                }
                w.schedule.remove(0);
                w.status = status;
                if status == 6 {
                    w.complete_time = Some(at);
                }
            }
        }
    }

    pub fn find_order_by_client_id(&self, symbol: &str, cid: &str) -> Option<&Order> {
        // The most recent order with that client id wins, as on Binance
        // (client ids can be reused once the earlier order is closed).
        self.orders
            .values()
            .rev()
            .find(|o| o.symbol == symbol && o.client_order_id == cid)
    }

    /// The shape of `account.json`.
    pub fn account_json(&self, omit_zero: bool) -> J {
        let maker_bp = (self.fees.maker * Decimal::new(10_000, 0)).round();
        let taker_bp = (self.fees.taker * Decimal::new(10_000, 0)).round();
        let balances: Vec<J> = self
            .balances
            .iter()
            .filter(|(_, b)| !(omit_zero && b.free.is_zero() && b.locked.is_zero()))
            .map(|(a, b)| obj! {"asset": a, "free": fmt8(b.free), "locked": fmt8(b.locked)})
            .collect();
        obj! {
            "makerCommission": maker_bp.to_string().parse::<i64>().unwrap_or(0),
            "takerCommission": taker_bp.to_string().parse::<i64>().unwrap_or(0),
            "buyerCommission": 0i64,
            "sellerCommission": 0i64,
            "commissionRates": obj! {
                "maker": fmt8(self.fees.maker),
                "taker": fmt8(self.fees.taker),
                "buyer": fmt8(Decimal::ZERO),
                "seller": fmt8(Decimal::ZERO)
            },
            "canTrade": self.can_trade,
            "canWithdraw": self.can_withdraw,
            "canDeposit": self.can_deposit,
            "brokered": false,
            "requireSelfTradePrevention": false,
            "preventSor": false,
            "updateTime": self.update_time,
            "accountType": "SPOT",
            "balances": balances,
            "permissions": vec![J::Val("SPOT".into())],
            "uid": self.uid
        }
    }

    /// One symbol as in `exchangeInfo-excerpt.json`.
    pub fn symbol_info_json(sym: &Symbol) -> J {
        let mut filters: Vec<J> = Vec::new();
        if let Some(p) = &sym.filters.price_filter {
            filters.push(obj! {"filterType": "PRICE_FILTER", "minPrice": fmt8(p.min_price), "maxPrice": fmt8(p.max_price), "tickSize": fmt8(p.tick_size)});
        }
        if let Some(l) = &sym.filters.lot_size {
            filters.push(obj! {"filterType": "LOT_SIZE", "minQty": fmt8(l.min_qty), "maxQty": fmt8(l.max_qty), "stepSize": fmt8(l.step_size)});
        }
        if let Some(n) = &sym.filters.notional {
            filters.push(obj! {"filterType": "NOTIONAL", "minNotional": fmt8(n.min_notional), "applyMinToMarket": n.apply_min_to_market, "maxNotional": fmt8(n.max_notional), "applyMaxToMarket": n.apply_max_to_market, "avgPriceMins": n.avg_price_mins});
        }
        let strs = |v: &[&str]| J::Arr(v.iter().map(|s| J::Val((*s).into())).collect());
        obj! {
            "symbol": &sym.symbol,
            "status": &sym.status,
            "baseAsset": &sym.base,
            "baseAssetPrecision": sym.base_precision,
            "quoteAsset": &sym.quote,
            "quotePrecision": sym.quote_precision,
            "quoteAssetPrecision": sym.quote_precision,
            "baseCommissionPrecision": sym.base_precision,
            "quoteCommissionPrecision": sym.quote_precision,
            "orderTypes": strs(&["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"]),
            "icebergAllowed": true,
            "ocoAllowed": true,
            "otoAllowed": true,
            "opoAllowed": true,
            "quoteOrderQtyMarketAllowed": true,
            "allowTrailingStop": false,
            "cancelReplaceAllowed": false,
            "amendAllowed": false,
            "pegInstructionsAllowed": true,
            "isSpotTradingAllowed": true,
            "isMarginTradingAllowed": false,
            "filters": filters,
            "permissions": Vec::<J>::new(),
            "permissionSets": vec![strs(&["SPOT"])],
            "defaultSelfTradePreventionMode": DEFAULT_STP_MODE,
            "allowedSelfTradePreventionModes": strs(ALLOWED_STP_MODES)
        }
    }
}
