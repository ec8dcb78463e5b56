//! The USDⓈ-M futures account: perpetual contracts with a mark price, the
//! futures wallet (one balance per margin asset), positions in One-way Mode
//! (`positionSide` `BOTH`, signed `positionAmt`) or Hedge Mode (`LONG` and
//! `SHORT` legs), orders, fills, and the income ledger (`REALIZED_PNL`,
//! `COMMISSION`, `FUNDING_FEE`, `TRANSFER`, `INSURANCE_CLEAR`).
//!
//! Everything here is plain data changed by control actions
//! (`futures_control.rs`) and universal transfers (`ledger.rs`); the
//! `/fapi` endpoints (`api/futures.rs`) only read it. Money is exact
//! `Decimal`: realized P&L, commissions, funding and fees are rounded to 8
//! decimals when they are booked, and the wallet moves by exactly what the
//! income rows say. Sources and open questions: docs/futures-endpoints.md.

use crate::errors::ApiError;
use crate::json::J;
use crate::obj;
use crate::scenario::{FuturesSpec, ScenarioError};
use crate::state::Side;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

pub const DAY_MS: i64 = 86_400_000;

/// `deliveryDate` of a perpetual contract (every PERPETUAL symbol in the
/// docs' and the SDKs' examples shows it).
pub const PERPETUAL_DELIVERY_DATE: i64 = 4_133_404_800_000;

/// Position side (common-definition: `BOTH`, `LONG`, `SHORT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PositionSide {
    Both,
    Long,
    Short,
}

impl PositionSide {
    pub fn parse(s: &str) -> Option<PositionSide> {
        match s {
            "BOTH" => Some(PositionSide::Both),
            "LONG" => Some(PositionSide::Long),
            "SHORT" => Some(PositionSide::Short),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PositionSide::Both => "BOTH",
            PositionSide::Long => "LONG",
            PositionSide::Short => "SHORT",
        }
    }
}

/// The income types the sim writes (Get Income History's `incomeType`).
pub const REALIZED_PNL: &str = "REALIZED_PNL";
pub const COMMISSION: &str = "COMMISSION";
pub const FUNDING_FEE: &str = "FUNDING_FEE";
pub const TRANSFER: &str = "TRANSFER";
pub const INSURANCE_CLEAR: &str = "INSURANCE_CLEAR";

/// Every `incomeType` the docs list (binance-connector-js
/// `GetIncomeHistoryIncomeTypeEnum`); a filter outside it is `-1130`.
pub const INCOME_TYPES: &[&str] = &[
    "TRANSFER",
    "WELCOME_BONUS",
    "REALIZED_PNL",
    "FUNDING_FEE",
    "COMMISSION",
    "INSURANCE_CLEAR",
    "REFERRAL_KICKBACK",
    "COMMISSION_REBATE",
    "API_REBATE",
    "CONTEST_REWARD",
    "CROSS_COLLATERAL_TRANSFER",
    "OPTIONS_PREMIUM_FEE",
    "OPTIONS_SETTLE_PROFIT",
    "INTERNAL_TRANSFER",
    "AUTO_EXCHANGE",
    "DELIVERED_SETTELMENT",
    "COIN_SWAP_DEPOSIT",
    "COIN_SWAP_WITHDRAW",
    "POSITION_LIMIT_INCREASE_FEE",
    "STRATEGY_UMFUTURES_TRANSFER",
    "FEE_RETURN",
    "BFUSD_REWARD",
];

/// A perpetual contract.
#[derive(Debug, Clone)]
pub struct FuturesSymbol {
    pub symbol: String,
    pub base: String,
    pub quote: String,
    pub margin_asset: String,
    pub status: String,
    pub mark_price: Decimal,
    pub price_precision: u32,
    pub quantity_precision: u32,
    pub tick_size: Decimal,
    pub step_size: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    pub min_notional: Decimal,
    pub leverage: u32,
    pub maint_margin_rate: Decimal,
    pub liquidation_fee: Decimal,
    pub onboard_date: i64,
}

/// Formats `d` with exactly `dp` decimals.
pub fn fixed(d: Decimal, dp: u32) -> String {
    let mut r = d.round_dp(dp);
    r.rescale(dp);
    r.to_string()
}

/// Binance's 8-decimal money format (`"-0.37500000"`).
pub fn money(d: Decimal) -> String {
    fixed(d, 8)
}

/// A decimal without trailing zeros, at most 8 decimals (`"0.385"`, `"0"`).
pub fn plain(d: Decimal) -> String {
    let n = d.round_dp(8).normalize();
    if n.is_zero() {
        "0".into()
    } else {
        n.to_string()
    }
}

impl FuturesSymbol {
    pub fn qty(&self, d: Decimal) -> String {
        fixed(d, self.quantity_precision)
    }

    pub fn price(&self, d: Decimal) -> String {
        fixed(d, self.price_precision)
    }

    /// One entry of exchangeInfo `symbols[]` (field order of the docs'
    /// example; filters as separate objects, as the live exchange sends
    /// them).
    pub fn to_json(&self) -> J {
        let strs = |v: &[&str]| J::Arr(v.iter().map(|s| J::Val((*s).into())).collect());
        let qty = |d: Decimal| plain(d);
        let filters = vec![
            obj! {"filterType": "PRICE_FILTER", "maxPrice": "1000000", "minPrice": plain(self.tick_size), "tickSize": plain(self.tick_size)},
            obj! {"filterType": "LOT_SIZE", "maxQty": qty(self.max_qty), "minQty": qty(self.min_qty), "stepSize": qty(self.step_size)},
            obj! {"filterType": "MARKET_LOT_SIZE", "maxQty": qty(self.max_qty), "minQty": qty(self.min_qty), "stepSize": qty(self.step_size)},
            obj! {"filterType": "MAX_NUM_ORDERS", "limit": 200i64},
            obj! {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10i64},
            obj! {"filterType": "MIN_NOTIONAL", "notional": plain(self.min_notional)},
            obj! {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500", "multiplierDecimal": "4"},
        ];
        obj! {
            "symbol": &self.symbol,
            "pair": &self.symbol,
            "contractType": "PERPETUAL",
            "deliveryDate": PERPETUAL_DELIVERY_DATE,
            "onboardDate": self.onboard_date,
            "status": &self.status,
            "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000",
            "baseAsset": &self.base,
            "quoteAsset": &self.quote,
            "marginAsset": &self.margin_asset,
            "pricePrecision": self.price_precision,
            "quantityPrecision": self.quantity_precision,
            "baseAssetPrecision": 8u32,
            "quotePrecision": 8u32,
            "underlyingType": "COIN",
            "underlyingSubType": Vec::<J>::new(),
            "settlePlan": 0i64,
            "triggerProtect": "0.0500",
            "liquidationFee": fixed(self.liquidation_fee, 6),
            "marketTakeBound": "0.05",
            "maxMoveOrderLimit": 10000i64,
            "filters": filters,
            "orderTypes": strs(&["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"]),
            "timeInForce": strs(&["GTC", "IOC", "FOK", "GTX", "GTD"])
        }
    }
}

/// One position (one leg in Hedge Mode). `amt` is signed: negative is
/// short, in One-way Mode (`BOTH`) and on the `SHORT` leg alike.
#[derive(Debug, Clone)]
pub struct Position {
    pub symbol: String,
    pub side: PositionSide,
    pub amt: Decimal,
    /// The average price of the fills that opened the position (Binance's
    /// `entryPrice`); 0 when flat.
    pub entry_price: Decimal,
    pub update_time: i64,
}

#[derive(Debug, Clone)]
pub struct FuturesTrade {
    pub symbol: String,
    pub id: u64,
    pub order_id: u64,
    pub side: Side,
    pub position_side: PositionSide,
    pub price: Decimal,
    pub qty: Decimal,
    pub realized_pnl: Decimal,
    pub commission: Decimal,
    pub commission_asset: String,
    pub time: i64,
    pub maker: bool,
}

impl FuturesTrade {
    /// Account Trade List's element (binance-connector-js
    /// `AccountTradeListResponseInner`, in its field order).
    pub fn to_json(&self, sym: &FuturesSymbol) -> J {
        obj! {
            "buyer": self.side == Side::Buy,
            "commission": money(self.commission),
            "commissionAsset": &self.commission_asset,
            "id": self.id,
            "maker": self.maker,
            "orderId": self.order_id,
            "price": sym.price(self.price),
            "qty": sym.qty(self.qty),
            "quoteQty": plain(self.price * self.qty),
            "realizedPnl": money(self.realized_pnl),
            "side": self.side.as_str(),
            "positionSide": self.position_side.as_str(),
            "symbol": &self.symbol,
            "time": self.time
        }
    }
}

#[derive(Debug, Clone)]
pub struct FuturesOrder {
    pub symbol: String,
    pub order_id: u64,
    pub client_order_id: String,
    pub side: Side,
    pub position_side: PositionSide,
    pub order_type: String,
    pub time_in_force: String,
    pub price: Decimal,
    pub orig_qty: Decimal,
    pub executed_qty: Decimal,
    pub cum_quote: Decimal,
    pub status: String,
    pub reduce_only: bool,
    /// Placed by the liquidation engine (`autoCloseType` LIQUIDATION):
    /// listed by `GET /fapi/v1/forceOrders`.
    pub liquidation: bool,
    pub time: i64,
    pub update_time: i64,
}

impl FuturesOrder {
    pub fn is_open(&self) -> bool {
        self.status == "NEW" || self.status == "PARTIALLY_FILLED"
    }

    /// "These orders will not be found: order status is `CANCELED` or
    /// `EXPIRED` AND order has NO filled trade AND created time + 3 days <
    /// current time; order create time + 90 days < current time" (All
    /// Orders, Query Order).
    pub fn is_findable(&self, now: i64) -> bool {
        let zero_fill_closed =
            (self.status == "CANCELED" || self.status == "EXPIRED") && self.executed_qty.is_zero();
        !(zero_fill_closed && self.time + 3 * DAY_MS < now) && self.time + 90 * DAY_MS >= now
    }

    /// The order shape of Query Order / All Orders / Current All Open
    /// Orders (binance-connector-js `QueryOrderResponse`, in its order;
    /// `activatePrice` and `priceRate` only come with TRAILING_STOP_MARKET
    /// orders, which the sim does not make).
    pub fn to_json(&self, sym: &FuturesSymbol) -> J {
        let avg = if self.executed_qty.is_zero() {
            Decimal::ZERO
        } else {
            self.cum_quote / self.executed_qty
        };
        obj! {
            "avgPrice": fixed(avg, sym.price_precision.max(5)),
            "clientOrderId": &self.client_order_id,
            "cumQuote": plain(self.cum_quote),
            "executedQty": sym.qty(self.executed_qty),
            "orderId": self.order_id,
            "origQty": sym.qty(self.orig_qty),
            "origType": &self.order_type,
            "price": if self.price.is_zero() { "0".to_string() } else { sym.price(self.price) },
            "reduceOnly": self.reduce_only,
            "side": self.side.as_str(),
            "positionSide": self.position_side.as_str(),
            "status": &self.status,
            "stopPrice": "0",
            "closePosition": false,
            "symbol": &self.symbol,
            "time": self.time,
            "timeInForce": &self.time_in_force,
            "type": &self.order_type,
            "updateTime": self.update_time,
            "workingType": "CONTRACT_PRICE",
            "priceProtect": false,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0i64
        }
    }

    /// User's Force Orders' element (binance-connector-js
    /// `UsersForceOrdersResponseInner`, in its order; GO mock).
    pub fn to_force_json(&self, sym: &FuturesSymbol) -> J {
        let avg = if self.executed_qty.is_zero() {
            Decimal::ZERO
        } else {
            self.cum_quote / self.executed_qty
        };
        obj! {
            "orderId": self.order_id,
            "symbol": &self.symbol,
            "status": &self.status,
            "clientOrderId": &self.client_order_id,
            "price": sym.price(self.price),
            "avgPrice": fixed(avg, sym.price_precision.max(5)),
            "origQty": sym.qty(self.orig_qty),
            "executedQty": sym.qty(self.executed_qty),
            "cumQuote": plain(self.cum_quote),
            "timeInForce": &self.time_in_force,
            "type": &self.order_type,
            "reduceOnly": self.reduce_only,
            "closePosition": false,
            "side": self.side.as_str(),
            "positionSide": self.position_side.as_str(),
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "origType": &self.order_type,
            "time": self.time,
            "updateTime": self.update_time
        }
    }
}

/// One row of the income ledger.
#[derive(Debug, Clone)]
pub struct Income {
    pub symbol: String,
    pub income_type: &'static str,
    pub income: Decimal,
    pub asset: String,
    pub time: i64,
    pub tran_id: u64,
    pub trade_id: Option<u64>,
}

impl Income {
    /// Get Income History's element: `info` is the type's name and
    /// `tradeId` is `""` for rows without a trade, as in the docs' example.
    pub fn to_json(&self) -> J {
        obj! {
            "symbol": &self.symbol,
            "incomeType": self.income_type,
            "income": money(self.income),
            "asset": &self.asset,
            "info": self.income_type,
            "time": self.time,
            "tranId": self.tran_id,
            "tradeId": self.trade_id.map(|t| t.to_string()).unwrap_or_default()
        }
    }
}

/// A futures wallet balance.
#[derive(Debug, Clone, Default)]
pub struct WalletAsset {
    pub balance: Decimal,
    pub update_time: i64,
}

/// A fill the owner (or the liquidation engine) makes.
#[derive(Debug, Clone)]
pub struct FillRequest {
    pub symbol: String,
    pub side: Side,
    /// `None`: `BOTH` in One-way Mode; required (`LONG`/`SHORT`) in Hedge Mode.
    pub position_side: Option<PositionSide>,
    pub quantity: Decimal,
    /// `None`: at the mark price.
    pub price: Option<Decimal>,
    pub maker: bool,
    pub reduce_only: bool,
    pub client_order_id: Option<String>,
    pub liquidation: bool,
}

/// What a fill booked: the order, its trade and its income rows.
#[derive(Debug, Clone)]
pub struct FillResult {
    pub order: FuturesOrder,
    pub trade: FuturesTrade,
    pub income: Vec<Income>,
}

#[derive(Debug, Clone, Default)]
pub struct Futures {
    pub symbols: Vec<FuturesSymbol>,
    /// Margin assets in first-seen order.
    pub wallet: Vec<(String, WalletAsset)>,
    pub dual_side: bool,
    pub positions: Vec<Position>,
    pub orders: Vec<FuturesOrder>,
    pub trades: Vec<FuturesTrade>,
    pub income: Vec<Income>,
    pub maker: Decimal,
    pub taker: Decimal,
    next_order_id: u64,
    next_trade_id: u64,
    /// "`tranId` is unique in the same `incomeType` for a user": one
    /// sequence per type, all starting at the same number, so the same
    /// `tranId` appears under different types (as in the docs' example).
    next_tran_id: BTreeMap<&'static str, u64>,
    liquidations: u64,
}

fn bad_position_side() -> ApiError {
    ApiError::bad(
        -4061,
        "Order's position side does not match user's setting.",
    )
}

fn reduce_only_rejected() -> ApiError {
    ApiError::bad(-2022, "ReduceOnly Order is rejected.")
}

fn sign(d: Decimal) -> Decimal {
    if d.is_sign_negative() && !d.is_zero() {
        Decimal::NEGATIVE_ONE
    } else {
        Decimal::ONE
    }
}

const TRAN_ID_BASE: u64 = 9_689_322_392;
const ORDER_ID_BASE: u64 = 8_389_765_519;
const TRADE_ID_BASE: u64 = 403_811_250;

impl Futures {
    pub fn from_spec(spec: Option<&FuturesSpec>, now: i64) -> Result<Futures, ScenarioError> {
        let mut f = Futures {
            maker: Decimal::new(2, 4),
            taker: Decimal::new(5, 4),
            next_order_id: ORDER_ID_BASE,
            next_trade_id: TRADE_ID_BASE,
            ..Futures::default()
        };
        let Some(spec) = spec else {
            return Ok(f);
        };
        f.maker = spec.maker;
        f.taker = spec.taker;
        f.dual_side = spec.dual_side_position;
        for s in &spec.symbols {
            if f.symbol(&s.symbol).is_some() {
                return Err(ScenarioError::Invalid(format!(
                    "duplicate futures symbol {}",
                    s.symbol
                )));
            }
            if s.mark_price <= Decimal::ZERO {
                return Err(ScenarioError::Invalid(format!(
                    "futures symbol {}: mark_price must be > 0",
                    s.symbol
                )));
            }
            let step = s
                .step_size
                .unwrap_or_else(|| Decimal::new(1, s.quantity_precision));
            f.symbols.push(FuturesSymbol {
                symbol: s.symbol.clone(),
                base: s.base.clone(),
                quote: s.quote.clone(),
                margin_asset: s.margin_asset.clone().unwrap_or_else(|| s.quote.clone()),
                status: s.status.clone(),
                mark_price: s.mark_price,
                price_precision: s.price_precision,
                quantity_precision: s.quantity_precision,
                tick_size: s
                    .tick_size
                    .unwrap_or_else(|| Decimal::new(1, s.price_precision)),
                step_size: step,
                min_qty: s.min_qty.unwrap_or(step),
                max_qty: s.max_qty,
                min_notional: s.min_notional,
                leverage: s.leverage.max(1),
                maint_margin_rate: s.maint_margin_rate,
                liquidation_fee: s.liquidation_fee,
                onboard_date: s
                    .onboard_date
                    .map(|t| t.resolve(now))
                    .unwrap_or(now - 365 * DAY_MS),
            });
        }
        for b in &spec.wallet {
            f.wallet_mut(&b.asset).balance += b.balance;
            f.wallet_mut(&b.asset).update_time = now;
        }
        Ok(f)
    }

    pub fn symbol(&self, name: &str) -> Option<&FuturesSymbol> {
        self.symbols.iter().find(|s| s.symbol == name)
    }

    pub fn balance(&self, asset: &str) -> Decimal {
        self.wallet
            .iter()
            .find(|(a, _)| a == asset)
            .map(|(_, w)| w.balance)
            .unwrap_or_default()
    }

    fn wallet_mut(&mut self, asset: &str) -> &mut WalletAsset {
        let idx = match self.wallet.iter().position(|(a, _)| a == asset) {
            Some(i) => i,
            None => {
                self.wallet
                    .push((asset.to_string(), WalletAsset::default()));
                self.wallet.len() - 1
            }
        };
        &mut self.wallet[idx].1
    }

    fn book(&mut self, asset: &str, amount: Decimal, now: i64) {
        let w = self.wallet_mut(asset);
        w.balance += amount;
        w.update_time = now;
    }

    fn tran_id(&mut self, income_type: &'static str) -> u64 {
        let next = self.next_tran_id.entry(income_type).or_insert(TRAN_ID_BASE);
        let id = *next;
        *next += 1;
        id
    }

    /// Books one income row and moves the wallet by exactly its amount.
    fn income_row(
        &mut self,
        income_type: &'static str,
        symbol: &str,
        asset: &str,
        amount: Decimal,
        trade_id: Option<u64>,
        now: i64,
    ) -> Income {
        let row = Income {
            symbol: symbol.to_string(),
            income_type,
            income: amount,
            asset: asset.to_string(),
            time: now,
            tran_id: self.tran_id(income_type),
            trade_id,
        };
        self.book(asset, amount, now);
        self.income.push(row.clone());
        row
    }

    pub fn position(&self, symbol: &str, side: PositionSide) -> Option<&Position> {
        self.positions
            .iter()
            .find(|p| p.symbol == symbol && p.side == side)
    }

    fn position_mut(&mut self, symbol: &str, side: PositionSide, now: i64) -> &mut Position {
        let idx = match self
            .positions
            .iter()
            .position(|p| p.symbol == symbol && p.side == side)
        {
            Some(i) => i,
            None => {
                self.positions.push(Position {
                    symbol: symbol.to_string(),
                    side,
                    amt: Decimal::ZERO,
                    entry_price: Decimal::ZERO,
                    update_time: now,
                });
                self.positions.len() - 1
            }
        };
        &mut self.positions[idx]
    }

    /// The position sides an account in the current mode has.
    pub fn sides(&self) -> &'static [PositionSide] {
        if self.dual_side {
            &[PositionSide::Long, PositionSide::Short]
        } else {
            &[PositionSide::Both]
        }
    }

    /// The leg a request acts on: `BOTH` in One-way Mode, `LONG`/`SHORT`
    /// (required) in Hedge Mode; anything else is `-4061`.
    fn leg(&self, requested: Option<PositionSide>) -> Result<PositionSide, ApiError> {
        match (self.dual_side, requested) {
            (false, None) | (false, Some(PositionSide::Both)) => Ok(PositionSide::Both),
            (true, Some(s)) if s != PositionSide::Both => Ok(s),
            _ => Err(bad_position_side()),
        }
    }

    fn check_quantity(sym: &FuturesSymbol, qty: Decimal) -> Result<(), ApiError> {
        if qty <= Decimal::ZERO {
            return Err(ApiError::bad(-4003, "Quantity less than zero."));
        }
        if qty < sym.min_qty {
            return Err(ApiError::bad(-4004, "Quantity less than min quantity."));
        }
        if qty > sym.max_qty {
            return Err(ApiError::bad(-4005, "Quantity greater than max quantity."));
        }
        if !sym.step_size.is_zero() && !(qty % sym.step_size).is_zero() {
            return Err(ApiError::bad(
                -1111,
                "Precision is over the maximum defined for this asset.",
            ));
        }
        Ok(())
    }

    /// Where a fill of `qty` on `side` takes leg `leg` from `amt`:
    /// `(closed quantity, new amount)`. In Hedge Mode a leg cannot change
    /// sign (an order that would is `-2022`); in One-way Mode the rest of a
    /// fill past zero opens the other way.
    fn split(
        dual: bool,
        leg: PositionSide,
        amt: Decimal,
        side: Side,
        qty: Decimal,
        reduce_only: bool,
    ) -> Result<(Decimal, Decimal), ApiError> {
        let delta = if side == Side::Buy { qty } else { -qty };
        let opening = amt.is_zero() || sign(amt) == sign(delta);
        if dual {
            let opens = match leg {
                PositionSide::Long => side == Side::Buy,
                _ => side == Side::Sell,
            };
            if (opens && reduce_only) || (!opens && qty > amt.abs()) {
                return Err(reduce_only_rejected());
            }
        } else if reduce_only && (opening || qty > amt.abs()) {
            return Err(reduce_only_rejected());
        }
        let closed = if opening {
            Decimal::ZERO
        } else {
            qty.min(amt.abs())
        };
        Ok((closed, amt + delta))
    }

    fn alloc_order_id(&mut self) -> u64 {
        self.next_order_id += 1;
        self.next_order_id
    }

    fn alloc_trade_id(&mut self) -> u64 {
        self.next_trade_id += 1;
        self.next_trade_id
    }

    /// Applies a fill of `qty` at `price` to the order's leg: moves the
    /// position (average entry on opening, realized P&L on reducing), books
    /// realized P&L and commission to the wallet and the income ledger, and
    /// records the trade.
    #[allow(clippy::too_many_arguments)]
    fn apply_fill(
        &mut self,
        sym: &FuturesSymbol,
        order_id: u64,
        side: Side,
        leg: PositionSide,
        qty: Decimal,
        price: Decimal,
        maker: bool,
        reduce_only: bool,
        now: i64,
    ) -> Result<(FuturesTrade, Vec<Income>), ApiError> {
        let dual = self.dual_side;
        let amt = self
            .position(&sym.symbol, leg)
            .map_or(Decimal::ZERO, |p| p.amt);
        let (closed, new_amt) = Self::split(dual, leg, amt, side, qty, reduce_only)?;
        let pos = self.position_mut(&sym.symbol, leg, now);
        let entry = pos.entry_price;
        let realized = (closed * (price - entry) * sign(amt)).round_dp(8);
        if closed.is_zero() {
            // Opening or adding: the entry is the average of the fills.
            let total = amt.abs() + qty;
            pos.entry_price = (amt.abs() * entry + qty * price) / total;
        } else if new_amt.is_zero() {
            pos.entry_price = Decimal::ZERO;
        } else if sign(new_amt) != sign(amt) {
            // One-way Mode: the rest past zero opened at this fill's price.
            pos.entry_price = price;
        }
        pos.amt = new_amt;
        pos.update_time = now;
        let rate = if maker { self.maker } else { self.taker };
        let commission = (qty * price * rate).round_dp(8);
        let trade = FuturesTrade {
            symbol: sym.symbol.clone(),
            id: self.alloc_trade_id(),
            order_id,
            side,
            position_side: leg,
            price,
            qty,
            realized_pnl: realized,
            commission,
            commission_asset: sym.margin_asset.clone(),
            time: now,
            maker,
        };
        let mut income = Vec::new();
        if !closed.is_zero() && !realized.is_zero() {
            income.push(self.income_row(
                REALIZED_PNL,
                &sym.symbol,
                &sym.margin_asset,
                realized,
                Some(trade.id),
                now,
            ));
        }
        if !commission.is_zero() {
            income.push(self.income_row(
                COMMISSION,
                &sym.symbol,
                &sym.margin_asset,
                -commission,
                Some(trade.id),
                now,
            ));
        }
        self.trades.push(trade.clone());
        Ok((trade, income))
    }

    /// An immediate fill: a MARKET order (LIMIT with a price) that fills
    /// whole at `price` (or the mark price), as the taker unless `maker`.
    pub fn fill(&mut self, req: FillRequest, now: i64) -> Result<FillResult, ApiError> {
        let sym = self
            .symbol(&req.symbol)
            .cloned()
            .ok_or_else(ApiError::bad_symbol)?;
        Self::check_quantity(&sym, req.quantity)?;
        let leg = self.leg(req.position_side)?;
        let price = req.price.unwrap_or(sym.mark_price);
        if price <= Decimal::ZERO {
            return Err(ApiError::bad(-4001, "Price less than 0."));
        }
        let order_id = self.alloc_order_id();
        let (trade, mut income) = self.apply_fill(
            &sym,
            order_id,
            req.side,
            leg,
            req.quantity,
            price,
            req.maker,
            req.reduce_only,
            now,
        )?;
        let client_order_id = match (&req.client_order_id, req.liquidation) {
            (Some(c), _) => c.clone(),
            (None, true) => {
                self.liquidations += 1;
                format!("autoclose-{now}{:06}", self.liquidations)
            }
            (None, false) => format!("web_sim{order_id}"),
        };
        let (order_type, tif) = match (req.liquidation, req.price.is_some()) {
            // The liquidation engine's orders are IOC LIMIT orders with an
            // `autoclose-` client id (Users Force Orders example).
            (true, _) => ("LIMIT", "IOC"),
            (false, true) => ("LIMIT", "GTC"),
            (false, false) => ("MARKET", "GTC"),
        };
        let order = FuturesOrder {
            symbol: sym.symbol.clone(),
            order_id,
            client_order_id,
            side: req.side,
            position_side: leg,
            order_type: order_type.into(),
            time_in_force: tif.into(),
            price: if order_type == "MARKET" {
                Decimal::ZERO
            } else {
                price
            },
            orig_qty: req.quantity,
            executed_qty: req.quantity,
            cum_quote: req.quantity * price,
            status: "FILLED".into(),
            reduce_only: req.reduce_only || req.liquidation,
            liquidation: req.liquidation,
            time: now,
            update_time: now,
        };
        self.orders.push(order.clone());
        if req.liquidation {
            // The clearance fee takes what margin is left, up to its rate
            // [inference: the API docs give the rate (`liquidationFee`),
            // not what happens when the margin left is smaller].
            let rate_fee = (req.quantity * price * sym.liquidation_fee).round_dp(8);
            let left = self.balance(&sym.margin_asset).max(Decimal::ZERO);
            let fee = rate_fee.min(left);
            if !fee.is_zero() {
                income.push(self.income_row(
                    INSURANCE_CLEAR,
                    &sym.symbol,
                    &sym.margin_asset,
                    -fee,
                    None,
                    now,
                ));
            }
        }
        Ok(FillResult {
            order,
            trade,
            income,
        })
    }

    /// Closes a whole leg at `price` (or the mark); `liquidation` makes it
    /// the liquidation engine's `autoclose-` order with its clearance fee.
    pub fn close(
        &mut self,
        symbol: &str,
        position_side: Option<PositionSide>,
        price: Option<Decimal>,
        liquidation: bool,
        now: i64,
    ) -> Result<FillResult, ApiError> {
        self.symbol(symbol).ok_or_else(ApiError::bad_symbol)?;
        let leg = self.leg(position_side)?;
        let amt = self.position(symbol, leg).map_or(Decimal::ZERO, |p| p.amt);
        if amt.is_zero() {
            return Err(ApiError::bad(-2024, "Position is not sufficient."));
        }
        self.fill(
            FillRequest {
                symbol: symbol.to_string(),
                side: if amt > Decimal::ZERO {
                    Side::Sell
                } else {
                    Side::Buy
                },
                position_side: Some(leg),
                quantity: amt.abs(),
                price,
                maker: false,
                reduce_only: true,
                client_order_id: None,
                liquidation,
            },
            now,
        )
    }

    /// A resting LIMIT GTC order (no fill yet).
    #[allow(clippy::too_many_arguments)]
    pub fn place(
        &mut self,
        symbol: &str,
        side: Side,
        position_side: Option<PositionSide>,
        quantity: Decimal,
        price: Decimal,
        client_order_id: Option<String>,
        now: i64,
    ) -> Result<FuturesOrder, ApiError> {
        let sym = self
            .symbol(symbol)
            .cloned()
            .ok_or_else(ApiError::bad_symbol)?;
        Self::check_quantity(&sym, quantity)?;
        let leg = self.leg(position_side)?;
        if price <= Decimal::ZERO {
            return Err(ApiError::bad(-4001, "Price less than 0."));
        }
        let order_id = self.alloc_order_id();
        let order = FuturesOrder {
            symbol: symbol.to_string(),
            order_id,
            client_order_id: client_order_id.unwrap_or_else(|| format!("web_sim{order_id}")),
            side,
            position_side: leg,
            order_type: "LIMIT".into(),
            time_in_force: "GTC".into(),
            price,
            orig_qty: quantity,
            executed_qty: Decimal::ZERO,
            cum_quote: Decimal::ZERO,
            status: "NEW".into(),
            reduce_only: false,
            liquidation: false,
            time: now,
            update_time: now,
        };
        self.orders.push(order.clone());
        Ok(order)
    }

    fn open_order_index(&self, symbol: &str, order_id: u64) -> Result<usize, ApiError> {
        self.orders
            .iter()
            .position(|o| o.symbol == symbol && o.order_id == order_id && o.is_open())
            .ok_or_else(ApiError::no_such_order)
    }

    pub fn cancel(
        &mut self,
        symbol: &str,
        order_id: u64,
        now: i64,
    ) -> Result<FuturesOrder, ApiError> {
        let i = self.open_order_index(symbol, order_id)?;
        let o = &mut self.orders[i];
        o.status = "CANCELED".into();
        o.update_time = now;
        Ok(o.clone())
    }

    /// Fills a resting order (whole, or `quantity` of it) at its own price,
    /// as the maker.
    pub fn fill_order(
        &mut self,
        symbol: &str,
        order_id: u64,
        quantity: Option<Decimal>,
        now: i64,
    ) -> Result<(FuturesOrder, FuturesTrade, Vec<Income>), ApiError> {
        let i = self.open_order_index(symbol, order_id)?;
        let o = self.orders[i].clone();
        let sym = self
            .symbol(symbol)
            .cloned()
            .ok_or_else(ApiError::bad_symbol)?;
        let remaining = o.orig_qty - o.executed_qty;
        let qty = quantity.unwrap_or(remaining);
        if qty <= Decimal::ZERO || qty > remaining {
            return Err(ApiError::invalid_param("quantity"));
        }
        let (trade, income) = self.apply_fill(
            &sym,
            o.order_id,
            o.side,
            o.position_side,
            qty,
            o.price,
            true,
            o.reduce_only,
            now,
        )?;
        let o = &mut self.orders[i];
        o.executed_qty += qty;
        o.cum_quote += qty * o.price;
        o.status = if o.executed_qty == o.orig_qty {
            "FILLED".into()
        } else {
            "PARTIALLY_FILLED".into()
        };
        o.update_time = now;
        Ok((o.clone(), trade, income))
    }

    pub fn set_mark_price(&mut self, symbol: &str, price: Decimal) -> Result<(), ApiError> {
        if price <= Decimal::ZERO {
            return Err(ApiError::invalid_param("markPrice"));
        }
        let sym = self
            .symbols
            .iter_mut()
            .find(|s| s.symbol == symbol)
            .ok_or_else(ApiError::bad_symbol)?;
        sym.mark_price = price;
        Ok(())
    }

    /// One funding settlement at `rate` on every open position (of
    /// `symbol`, if given): a position pays `positionAmt × markPrice ×
    /// rate` (longs pay a positive rate, shorts receive it), booked as
    /// `FUNDING_FEE` income; no trade, no order.
    pub fn charge_funding(
        &mut self,
        symbol: Option<&str>,
        rate: Decimal,
        now: i64,
    ) -> Result<Vec<Income>, ApiError> {
        if let Some(s) = symbol {
            self.symbol(s).ok_or_else(ApiError::bad_symbol)?;
        }
        let due: Vec<(String, String, Decimal)> = self
            .positions
            .iter()
            .filter(|p| !p.amt.is_zero() && symbol.is_none_or(|s| p.symbol == s))
            .filter_map(|p| {
                let sym = self.symbol(&p.symbol)?;
                let pay = (-p.amt * sym.mark_price * rate).round_dp(8);
                Some((p.symbol.clone(), sym.margin_asset.clone(), pay))
            })
            .filter(|(_, _, pay)| !pay.is_zero())
            .collect();
        Ok(due
            .into_iter()
            .map(|(sym, asset, pay)| self.income_row(FUNDING_FEE, &sym, &asset, pay, None, now))
            .collect())
    }

    /// Change Position Mode: `-4059` when already in it, `-4067` with open
    /// orders, `-4068` with an open position.
    pub fn set_dual_side(&mut self, dual: bool) -> Result<(), ApiError> {
        if dual == self.dual_side {
            return Err(ApiError::bad(-4059, "No need to change position side."));
        }
        if self.orders.iter().any(FuturesOrder::is_open) {
            return Err(ApiError::bad(
                -4067,
                "Position side cannot be changed if there exists open orders.",
            ));
        }
        if self.positions.iter().any(|p| !p.amt.is_zero()) {
            return Err(ApiError::bad(
                -4068,
                "Position side cannot be changed if there exists position.",
            ));
        }
        self.dual_side = dual;
        Ok(())
    }

    /// A universal transfer's futures side: the wallet moves by `amount`
    /// (positive in, negative out) and a `TRANSFER` income row is written.
    /// Out of the wallet is limited to the free balance (`-4026`).
    pub fn transfer(&mut self, asset: &str, amount: Decimal, now: i64) -> Result<Income, ApiError> {
        if amount.is_sign_negative() && self.max_withdraw(asset) < -amount {
            return Err(ApiError::bad(-4026, "User has insufficient balance"));
        }
        Ok(self.income_row(TRANSFER, "", asset, amount, None, now))
    }

    /// Unrealized P&L of a position at the mark price.
    pub fn unrealized(&self, p: &Position) -> Decimal {
        match self.symbol(&p.symbol) {
            Some(s) if !p.amt.is_zero() => p.amt * (s.mark_price - p.entry_price),
            _ => Decimal::ZERO,
        }
    }

    /// Initial margin of a position: |notional| / leverage.
    pub fn initial_margin(&self, p: &Position) -> Decimal {
        match self.symbol(&p.symbol) {
            Some(s) => (p.amt * s.mark_price).abs() / Decimal::from(s.leverage),
            None => Decimal::ZERO,
        }
    }

    pub fn maint_margin(&self, p: &Position) -> Decimal {
        match self.symbol(&p.symbol) {
            Some(s) => (p.amt * s.mark_price).abs() * s.maint_margin_rate,
            None => Decimal::ZERO,
        }
    }

    /// Initial margin the open orders of `symbol` on leg `side` hold
    /// (price × remaining / leverage).
    pub fn open_order_margin(&self, symbol: &str, side: Option<PositionSide>) -> Decimal {
        self.orders
            .iter()
            .filter(|o| {
                o.is_open() && o.symbol == symbol && side.is_none_or(|s| o.position_side == s)
            })
            .filter_map(|o| {
                let s = self.symbol(&o.symbol)?;
                Some(o.price * (o.orig_qty - o.executed_qty) / Decimal::from(s.leverage))
            })
            .sum()
    }

    /// Per margin asset: (unrealized P&L, position initial margin, open
    /// order initial margin, maintenance margin).
    pub fn asset_margins(&self, asset: &str) -> (Decimal, Decimal, Decimal, Decimal) {
        let mut out = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        for p in &self.positions {
            if self
                .symbol(&p.symbol)
                .is_some_and(|s| s.margin_asset == asset)
            {
                out.0 += self.unrealized(p);
                out.1 += self.initial_margin(p);
                out.3 += self.maint_margin(p);
            }
        }
        for s in self.symbols.iter().filter(|s| s.margin_asset == asset) {
            out.2 += self.open_order_margin(&s.symbol, None);
        }
        out
    }

    /// What can leave the wallet: the balance less the margin in use, and
    /// never more than the balance.
    pub fn max_withdraw(&self, asset: &str) -> Decimal {
        let (upnl, pim, oim, _) = self.asset_margins(asset);
        let wallet = self.balance(asset);
        let available = wallet + upnl.min(Decimal::ZERO) - pim - oim;
        available.min(wallet).max(Decimal::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn btc() -> FuturesSymbol {
        FuturesSymbol {
            symbol: "BTCUSDT".into(),
            base: "BTC".into(),
            quote: "USDT".into(),
            margin_asset: "USDT".into(),
            status: "TRADING".into(),
            mark_price: dec("50000"),
            price_precision: 2,
            quantity_precision: 3,
            tick_size: dec("0.01"),
            step_size: dec("0.001"),
            min_qty: dec("0.001"),
            max_qty: dec("1000"),
            min_notional: dec("5"),
            leverage: 20,
            maint_margin_rate: dec("0.004"),
            liquidation_fee: dec("0.0125"),
            onboard_date: 0,
        }
    }

    fn fill(side: Side, qty: &str, price: &str) -> FillRequest {
        FillRequest {
            symbol: "BTCUSDT".into(),
            side,
            position_side: None,
            quantity: dec(qty),
            price: Some(dec(price)),
            maker: false,
            reduce_only: false,
            client_order_id: None,
            liquidation: false,
        }
    }

    fn account() -> Futures {
        let mut f = Futures::from_spec(None, 0).unwrap();
        f.symbols.push(btc());
        f.taker = Decimal::ZERO;
        f
    }

    #[test]
    fn entry_is_the_average_and_a_reduce_realizes_against_it() {
        let mut f = account();
        f.fill(fill(Side::Buy, "1", "100"), 1).unwrap();
        f.fill(fill(Side::Buy, "3", "200"), 2).unwrap();
        let p = f.position("BTCUSDT", PositionSide::Both).unwrap();
        assert_eq!(p.entry_price, dec("175"));
        let r = f.fill(fill(Side::Sell, "2", "275"), 3).unwrap();
        assert_eq!(r.trade.realized_pnl, dec("200"));
        let p = f.position("BTCUSDT", PositionSide::Both).unwrap();
        assert_eq!((p.amt, p.entry_price), (dec("2"), dec("175")));
    }

    #[test]
    fn one_way_fill_past_zero_flips_at_the_fill_price() {
        let mut f = account();
        f.fill(fill(Side::Buy, "1", "100"), 1).unwrap();
        let r = f.fill(fill(Side::Sell, "3", "90"), 2).unwrap();
        assert_eq!(r.trade.realized_pnl, dec("-10"));
        let p = f.position("BTCUSDT", PositionSide::Both).unwrap();
        assert_eq!((p.amt, p.entry_price), (dec("-2"), dec("90")));
    }

    #[test]
    fn hedge_legs_cannot_cross_zero() {
        let mut f = account();
        f.dual_side = true;
        let mut long = fill(Side::Buy, "1", "100");
        long.position_side = Some(PositionSide::Long);
        f.fill(long, 1).unwrap();
        let mut too_much = fill(Side::Sell, "2", "100");
        too_much.position_side = Some(PositionSide::Long);
        assert_eq!(f.fill(too_much, 2).unwrap_err().code, -2022);
        assert_eq!(
            f.fill(fill(Side::Buy, "1", "1"), 3).unwrap_err().code,
            -4061
        );
    }
}
