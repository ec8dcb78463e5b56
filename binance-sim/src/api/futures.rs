//! The USDⓈ-M futures endpoints (`/fapi`, read-only): time, exchangeInfo,
//! account, balance, positionRisk, position mode, userTrades, allOrders,
//! openOrders, order, openOrder and income. Weights are in `weights.rs`
//! (the `/fapi` pool), parameters in `strict.rs`; shapes, limits and
//! sources in docs/futures-endpoints.md.

use super::account::page;
use super::{ApiResult, Call};
use crate::errors::ApiError;
use crate::futures::{
    money, plain, Futures, FuturesOrder, FuturesSymbol, Position, PositionSide, DAY_MS,
    INCOME_TYPES,
};
use crate::json::J;
use crate::obj;
use crate::state::Exchange;
use crate::strict::StrictConfig;
use rust_decimal::Decimal;

/// "The time between `startTime` and `endTime` cannot be longer than 7
/// days" (userTrades); "The query time period must be less then 7 days"
/// (allOrders). Both default to "the last 7 days".
const WEEK_MS: i64 = 7 * DAY_MS;
/// userTrades: "Only support querying trade in the past 6 months" (read
/// as 180 days, the shorter reading).
const TRADE_HISTORY_MS: i64 = 180 * DAY_MS;
/// income: "Income history only contains data for the last three months"
/// (read as 90 days).
const INCOME_HISTORY_MS: i64 = 90 * DAY_MS;

fn symbol_of<'a>(f: &'a Futures, name: &str) -> Result<&'a FuturesSymbol, ApiError> {
    f.symbol(name).ok_or_else(ApiError::bad_symbol)
}

/// `GET /fapi/v1/exchangeInfo`'s `assets` and `symbols`: the configured
/// contracts and their margin assets (empty without a `futures` section).
pub fn exchange_info_lists(ex: &Exchange) -> (Vec<J>, Vec<J>) {
    let mut assets: Vec<&str> = Vec::new();
    for s in &ex.futures.symbols {
        if !assets.contains(&s.margin_asset.as_str()) {
            assets.push(&s.margin_asset);
        }
    }
    let assets = assets
        .into_iter()
        .map(|a| obj! {"asset": a, "marginAvailable": true, "autoAssetExchange": "0"})
        .collect();
    let symbols = ex
        .futures
        .symbols
        .iter()
        .map(FuturesSymbol::to_json)
        .collect();
    (assets, symbols)
}

/// The `[lo, hi]` window of a history request. Both bounds: `-1023` when
/// reversed, `-1127` when longer than `max_ms`. Neither: the last
/// `default_ms`. One bound alone: to now / from the beginning, or, with
/// [`StrictConfig::fapi_one_bound_7d`], `default_ms` from it (the docs give
/// the span of neither case).
fn window(
    strict: &StrictConfig,
    now: i64,
    start: Option<i64>,
    end: Option<i64>,
    max_ms: Option<i64>,
    default_ms: i64,
) -> Result<(i64, i64), ApiError> {
    match (start, end) {
        (Some(s), Some(e)) => {
            if s > e {
                return Err(ApiError::bad(-1023, "Start time is greater than end time."));
            }
            if max_ms.is_some_and(|m| e - s > m) {
                return Err(ApiError::more_than_hours(max_ms.unwrap_or(0) / 3_600_000));
            }
            Ok((s, e))
        }
        (None, None) => Ok((now - default_ms, now)),
        (Some(s), None) if strict.fapi_one_bound_7d => Ok((s, s + default_ms)),
        (Some(s), None) => Ok((s, now)),
        (None, Some(e)) if strict.fapi_one_bound_7d => Ok((e - default_ms, e)),
        (None, Some(e)) => Ok((i64::MIN, e)),
    }
}

/// Which `limit` items a window that holds more returns: the oldest from
/// `startTime` (the general rule), the newest without it ("Otherwise most
/// recent"); under [`StrictConfig::newest_page_in_window`] the newest of a
/// `startTime` window too (the endpoint pages do not say), as on Spot.
fn oldest_first(strict: &StrictConfig, start: Option<i64>) -> bool {
    start.is_some() && !strict.newest_page_in_window
}

fn position_mark(sym: &FuturesSymbol) -> String {
    money(sym.mark_price)
}

/// Break-even price: the price at which closing pays back the taker fees
/// of opening and closing [inference: the docs list the field, not its
/// formula].
fn break_even(f: &Futures, p: &Position) -> Decimal {
    if p.amt.is_zero() {
        return Decimal::ZERO;
    }
    let t = f.taker;
    let one = Decimal::ONE;
    if p.amt > Decimal::ZERO {
        p.entry_price * (one + t) / (one - t)
    } else {
        p.entry_price * (one - t) / (one + t)
    }
}

/// Cross-margin liquidation price of a position when it is the account's
/// only risk: where wallet + uPnL equals maintenance margin [inference:
/// the API docs give no formula; Binance's own adds the bracket's
/// maintenance amount and the other positions].
fn liquidation_price(f: &Futures, sym: &FuturesSymbol, p: &Position) -> Decimal {
    if p.amt.is_zero() {
        return Decimal::ZERO;
    }
    let others: Decimal = f
        .positions
        .iter()
        .filter(|o| !(o.symbol == p.symbol && o.side == p.side))
        .filter(|o| {
            f.symbol(&o.symbol)
                .is_some_and(|s| s.margin_asset == sym.margin_asset)
        })
        .map(|o| f.unrealized(o) - f.maint_margin(o))
        .sum();
    let wallet = f.balance(&sym.margin_asset) + others;
    let denom = p.amt - p.amt.abs() * sym.maint_margin_rate;
    if denom.is_zero() {
        return Decimal::ZERO;
    }
    let price = (p.amt * p.entry_price - wallet) / denom;
    if price > Decimal::ZERO {
        price
    } else {
        Decimal::ZERO
    }
}

fn flat(symbol: &str, side: PositionSide) -> Position {
    Position {
        symbol: symbol.to_string(),
        side,
        amt: Decimal::ZERO,
        entry_price: Decimal::ZERO,
        update_time: 0,
    }
}

/// Every (symbol, leg) of the account, open or flat, in contract order.
fn all_legs(f: &Futures, symbol: Option<&str>) -> Vec<Position> {
    let mut out = Vec::new();
    for s in f
        .symbols
        .iter()
        .filter(|s| symbol.is_none_or(|n| s.symbol == n))
    {
        for side in f.sides() {
            out.push(
                f.position(&s.symbol, *side)
                    .cloned()
                    .unwrap_or_else(|| flat(&s.symbol, *side)),
            );
        }
    }
    out
}

/// v3's rows: "only symbol that has position or open orders will be
/// returned" (here per leg: a leg with a position or open orders).
fn live_legs(f: &Futures, symbol: Option<&str>) -> Vec<Position> {
    all_legs(f, symbol)
        .into_iter()
        .filter(|p| !p.amt.is_zero() || !f.open_order_margin(&p.symbol, Some(p.side)).is_zero())
        .collect()
}

fn position_risk_v3_row(f: &Futures, sym: &FuturesSymbol, p: &Position) -> J {
    let notional = p.amt * sym.mark_price;
    let pim = f.initial_margin(p);
    let oim = f.open_order_margin(&p.symbol, Some(p.side));
    obj! {
        "symbol": &p.symbol,
        "positionSide": p.side.as_str(),
        "positionAmt": sym.qty(p.amt),
        "entryPrice": plain(p.entry_price),
        "breakEvenPrice": plain(break_even(f, p)),
        "markPrice": position_mark(sym),
        "unRealizedProfit": money(f.unrealized(p)),
        "liquidationPrice": plain(liquidation_price(f, sym, p)),
        "isolatedMargin": "0",
        "notional": money(notional),
        "marginAsset": &sym.margin_asset,
        "isolatedWallet": "0",
        "initialMargin": money(pim + oim),
        "maintMargin": money(f.maint_margin(p)),
        "positionInitialMargin": money(pim),
        "openOrderInitialMargin": money(oim),
        "adl": if p.amt.is_zero() { 0i64 } else { 2i64 },
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": p.update_time
    }
}

fn position_risk_v2_row(f: &Futures, sym: &FuturesSymbol, p: &Position) -> J {
    obj! {
        "entryPrice": plain(p.entry_price),
        "breakEvenPrice": plain(break_even(f, p)),
        "marginType": "cross",
        "isAutoAddMargin": "false",
        "isolatedMargin": "0.00000000",
        "leverage": sym.leverage.to_string(),
        "liquidationPrice": plain(liquidation_price(f, sym, p)),
        "markPrice": position_mark(sym),
        "maxNotionalValue": "250000",
        "positionAmt": sym.qty(p.amt),
        "notional": money(p.amt * sym.mark_price),
        "isolatedWallet": "0",
        "symbol": &p.symbol,
        "unRealizedProfit": money(f.unrealized(p)),
        "positionSide": p.side.as_str(),
        "updateTime": p.update_time
    }
}

/// `GET /fapi/v3/positionRisk` (`v3`) and `GET /fapi/v2/positionRisk`
/// (every contract and leg, with leverage and margin type).
pub fn position_risk(call: &Call, v3: bool) -> ApiResult {
    let ex = call.exchange();
    let f = &ex.futures;
    let symbol = call.params.str("symbol");
    if let Some(s) = symbol {
        symbol_of(f, s)?;
    }
    let legs = if v3 {
        live_legs(f, symbol)
    } else {
        all_legs(f, symbol)
    };
    let mut rows = Vec::new();
    for p in &legs {
        let sym = symbol_of(f, &p.symbol)?;
        rows.push(if v3 {
            position_risk_v3_row(f, sym, p)
        } else {
            position_risk_v2_row(f, sym, p)
        });
    }
    Ok(J::Arr(rows))
}

/// Per-asset figures of the account and balance endpoints.
struct AssetFigures {
    wallet: Decimal,
    upnl: Decimal,
    maint: Decimal,
    pim: Decimal,
    oim: Decimal,
    available: Decimal,
    max_withdraw: Decimal,
    update_time: i64,
}

fn figures(f: &Futures, asset: &str, update_time: i64) -> AssetFigures {
    let (upnl, pim, oim, maint) = f.asset_margins(asset);
    let wallet = f.balance(asset);
    AssetFigures {
        wallet,
        upnl,
        maint,
        pim,
        oim,
        available: wallet + upnl - pim - oim,
        max_withdraw: f.max_withdraw(asset),
        update_time,
    }
}

fn all_figures(f: &Futures) -> Vec<(String, AssetFigures)> {
    f.wallet
        .iter()
        .map(|(a, w)| (a.clone(), figures(f, a, w.update_time)))
        .collect()
}

/// The account-wide totals: the sum over the margin assets, each counted
/// at face value [inference: in Single-Asset Mode only USDT-margined
/// figures are summed on Binance; the sim's scenarios use one asset].
fn totals(all: &[(String, AssetFigures)]) -> Vec<(&'static str, J)> {
    let sum = |g: &dyn Fn(&AssetFigures) -> Decimal| -> J {
        J::Val(money(all.iter().map(|(_, a)| g(a)).sum()).into())
    };
    vec![
        ("totalInitialMargin", sum(&|a| a.pim + a.oim)),
        ("totalMaintMargin", sum(&|a| a.maint)),
        ("totalWalletBalance", sum(&|a| a.wallet)),
        ("totalUnrealizedProfit", sum(&|a| a.upnl)),
        ("totalMarginBalance", sum(&|a| a.wallet + a.upnl)),
        ("totalPositionInitialMargin", sum(&|a| a.pim)),
        ("totalOpenOrderInitialMargin", sum(&|a| a.oim)),
        ("totalCrossWalletBalance", sum(&|a| a.wallet)),
        ("totalCrossUnPnl", sum(&|a| a.upnl)),
        ("availableBalance", sum(&|a| a.available)),
        ("maxWithdrawAmount", sum(&|a| a.max_withdraw)),
    ]
}

fn asset_json(asset: &str, a: &AssetFigures, v2: bool) -> J {
    let mut fields = vec![
        ("asset", J::Val(asset.into())),
        ("walletBalance", J::Val(money(a.wallet).into())),
        ("unrealizedProfit", J::Val(money(a.upnl).into())),
        ("marginBalance", J::Val(money(a.wallet + a.upnl).into())),
        ("maintMargin", J::Val(money(a.maint).into())),
        ("initialMargin", J::Val(money(a.pim + a.oim).into())),
        ("positionInitialMargin", J::Val(money(a.pim).into())),
        ("openOrderInitialMargin", J::Val(money(a.oim).into())),
        ("crossWalletBalance", J::Val(money(a.wallet).into())),
        ("crossUnPnl", J::Val(money(a.upnl).into())),
        ("availableBalance", J::Val(money(a.available).into())),
        ("maxWithdrawAmount", J::Val(money(a.max_withdraw).into())),
    ];
    if v2 {
        fields.push(("marginAvailable", J::Val(true.into())));
    }
    fields.push(("updateTime", J::Val(a.update_time.into())));
    J::Obj(fields)
}

/// `GET /fapi/v3/account` (`v3`; positions only where there is a position
/// or open orders) and `GET /fapi/v2/account` (every contract and leg).
pub fn account(call: &Call, v3: bool) -> ApiResult {
    let ex = call.exchange();
    let f = &ex.futures;
    let all = all_figures(f);
    let assets: Vec<J> = all.iter().map(|(n, a)| asset_json(n, a, !v3)).collect();
    let mut positions = Vec::new();
    let legs = if v3 {
        live_legs(f, None)
    } else {
        all_legs(f, None)
    };
    for p in &legs {
        let sym = symbol_of(f, &p.symbol)?;
        let pim = f.initial_margin(p);
        let oim = f.open_order_margin(&p.symbol, Some(p.side));
        positions.push(if v3 {
            obj! {
                "symbol": &p.symbol,
                "positionSide": p.side.as_str(),
                "positionAmt": sym.qty(p.amt),
                "unrealizedProfit": money(f.unrealized(p)),
                "isolatedMargin": "0",
                "notional": money(p.amt * sym.mark_price),
                "isolatedWallet": "0",
                "initialMargin": money(pim + oim),
                "maintMargin": money(f.maint_margin(p)),
                "updateTime": p.update_time
            }
        } else {
            obj! {
                "symbol": &p.symbol,
                "initialMargin": money(pim + oim),
                "maintMargin": money(f.maint_margin(p)),
                "unrealizedProfit": money(f.unrealized(p)),
                "positionInitialMargin": money(pim),
                "openOrderInitialMargin": money(oim),
                "leverage": sym.leverage.to_string(),
                "isolated": false,
                "entryPrice": plain(p.entry_price),
                "maxNotional": "250000",
                "bidNotional": "0",
                "askNotional": "0",
                "positionSide": p.side.as_str(),
                "positionAmt": sym.qty(p.amt),
                "updateTime": p.update_time
            }
        });
    }
    let mut fields: Vec<(&'static str, J)> = Vec::new();
    if !v3 {
        fields.extend([
            ("feeTier", J::Val(0.into())),
            ("feeBurn", J::Val(false.into())),
            ("canTrade", J::Val(true.into())),
            ("canDeposit", J::Val(true.into())),
            ("canWithdraw", J::Val(true.into())),
            ("updateTime", J::Val(0.into())),
            ("multiAssetsMargin", J::Val(false.into())),
            ("tradeGroupId", J::Val((-1).into())),
        ]);
    }
    fields.extend(totals(&all));
    fields.push(("assets", J::Arr(assets)));
    fields.push(("positions", J::Arr(positions)));
    Ok(J::Obj(fields))
}

/// A stable 4-letter `accountAlias` from the uid ("unique account code").
fn account_alias(uid: u64) -> String {
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = uid;
    (0..4)
        .map(|_| {
            let c = letters[(n % 52) as usize] as char;
            n /= 52;
            c
        })
        .collect()
}

/// `GET /fapi/v2/balance` and `GET /fapi/v3/balance` (the same shape).
pub fn balance(call: &Call) -> ApiResult {
    let ex = call.exchange();
    let alias = account_alias(ex.uid);
    Ok(J::Arr(
        all_figures(&ex.futures)
            .iter()
            .map(|(asset, a)| {
                obj! {
                    "accountAlias": alias.as_str(),
                    "asset": asset,
                    "balance": money(a.wallet),
                    "crossWalletBalance": money(a.wallet),
                    "crossUnPnl": money(a.upnl),
                    "availableBalance": money(a.available),
                    "maxWithdrawAmount": money(a.max_withdraw),
                    "marginAvailable": true,
                    "updateTime": a.update_time
                }
            })
            .collect(),
    ))
}

/// `GET /fapi/v1/positionSide/dual`.
pub fn position_mode(call: &Call) -> ApiResult {
    Ok(obj! {"dualSidePosition": call.exchange().futures.dual_side})
}

/// `GET /fapi/v1/userTrades`: `symbol` required; `fromId` "cannot be sent
/// with `startTime` or `endTime`" (`-1128`); a window of at most 7 days
/// (`-1127`), the last 7 days by default; trades of the past 6 months only;
/// `limit` default 500, max 1000.
pub fn user_trades(call: &Call) -> ApiResult {
    let symbol = call.params.required("symbol")?;
    let order_id = call.params.u64("orderId")?;
    let start = call.params.time_ms("startTime")?;
    let end = call.params.time_ms("endTime")?;
    let from_id = call.params.u64("fromId")?;
    let limit = call.params.limit(500, 1000)?;
    if from_id.is_some() && (start.is_some() || end.is_some()) {
        return Err(ApiError::bad_combo());
    }
    let ex = call.exchange();
    let f = &ex.futures;
    let sym = symbol_of(f, symbol)?;
    let horizon = call.now - TRADE_HISTORY_MS;
    let (lo, hi) = match from_id {
        Some(_) => (i64::MIN, i64::MAX),
        None => window(&ex.strict, call.now, start, end, Some(WEEK_MS), WEEK_MS)?,
    };
    let items: Vec<_> = f
        .trades
        .iter()
        .filter(|t| t.symbol == symbol && t.time >= horizon)
        .filter(|t| order_id.is_none_or(|id| t.order_id == id))
        .filter(|t| from_id.is_none_or(|id| t.id >= id))
        .filter(|t| t.time >= lo && t.time <= hi)
        .collect();
    let from_start = from_id.is_some() || oldest_first(&ex.strict, start);
    Ok(J::Arr(
        page(items, from_start, limit)
            .into_iter()
            .map(|t| t.to_json(sym))
            .collect(),
    ))
}

fn findable<'a>(f: &'a Futures, symbol: &str, now: i64) -> impl Iterator<Item = &'a FuturesOrder> {
    let symbol = symbol.to_string();
    f.orders
        .iter()
        .filter(move |o| o.symbol == symbol && o.is_findable(now))
}

/// `GET /fapi/v1/allOrders`: `orderId` gives orders from it (oldest first);
/// otherwise the most recent, within a window of at most 7 days (the last
/// 7 days by default). Zero-fill CANCELED/EXPIRED orders older than 3 days
/// and any order older than 90 days are not found.
pub fn all_orders(call: &Call) -> ApiResult {
    let symbol = call.params.required("symbol")?;
    let order_id = call.params.u64("orderId")?;
    let start = call.params.time_ms("startTime")?;
    let end = call.params.time_ms("endTime")?;
    let limit = call.params.limit(500, 1000)?;
    let ex = call.exchange();
    let f = &ex.futures;
    let sym = symbol_of(f, symbol)?;
    let (lo, hi) = if order_id.is_some() && start.is_none() && end.is_none() {
        (i64::MIN, i64::MAX)
    } else {
        window(&ex.strict, call.now, start, end, Some(WEEK_MS), WEEK_MS)?
    };
    let items: Vec<_> = findable(f, symbol, call.now)
        .filter(|o| order_id.is_none_or(|id| o.order_id >= id))
        .filter(|o| o.time >= lo && o.time <= hi)
        .collect();
    let from_start = order_id.is_some() || oldest_first(&ex.strict, start);
    Ok(J::Arr(
        page(items, from_start, limit)
            .into_iter()
            .map(|o| o.to_json(sym))
            .collect(),
    ))
}

/// `GET /fapi/v1/openOrders` (weight 1 with `symbol`, 40 without).
pub fn open_orders(call: &Call) -> ApiResult {
    let symbol = call.params.str("symbol");
    let ex = call.exchange();
    let f = &ex.futures;
    if let Some(s) = symbol {
        symbol_of(f, s)?;
    }
    let mut out = Vec::new();
    for o in f
        .orders
        .iter()
        .filter(|o| o.is_open() && symbol.is_none_or(|s| o.symbol == s))
    {
        out.push(o.to_json(symbol_of(f, &o.symbol)?));
    }
    Ok(J::Arr(out))
}

/// `GET /fapi/v1/order` (any findable order) and `GET /fapi/v1/openOrder`
/// (`open_only`: "If the queried order has been filled or cancelled, the
/// error message "Order does not exist" will be returned.").
pub fn query_order(call: &Call, open_only: bool) -> ApiResult {
    let symbol = call.params.required("symbol")?;
    let order_id = call.params.u64("orderId")?;
    let client_id = call.params.str("origClientOrderId");
    if order_id.is_none() && client_id.is_none() {
        return Err(ApiError::either_mandatory("orderId", "origClientOrderId"));
    }
    let ex = call.exchange();
    let f = &ex.futures;
    let sym = symbol_of(f, symbol)?;
    let found = findable(f, symbol, call.now)
        .filter(|o| order_id.is_none_or(|id| o.order_id == id))
        .filter(|o| client_id.is_none_or(|c| o.client_order_id == c))
        .last()
        .filter(|o| !open_only || o.is_open())
        .ok_or_else(ApiError::no_such_order)?;
    Ok(found.to_json(sym))
}

/// `GET /fapi/v1/income`: `incomeType` one of the documented types
/// (`-1130` otherwise); the last 7 days without `startTime`/`endTime`;
/// the last three months only; `page` (from 1) of `limit` rows (default
/// 100, max 1000), in time order.
pub fn income(call: &Call) -> ApiResult {
    let symbol = call.params.str("symbol");
    let income_type = call.params.str("incomeType");
    let start = call.params.time_ms("startTime")?;
    let end = call.params.time_ms("endTime")?;
    let page_no = call.params.u64("page")?.unwrap_or(1);
    let limit = call.params.limit(100, 1000)?;
    if page_no == 0 {
        return Err(ApiError::invalid_param("page"));
    }
    if let Some(t) = income_type {
        if !INCOME_TYPES.contains(&t) {
            return Err(ApiError::invalid_param("incomeType"));
        }
    }
    let ex = call.exchange();
    let f = &ex.futures;
    if let Some(s) = symbol {
        symbol_of(f, s)?;
    }
    let (lo, hi) = window(&ex.strict, call.now, start, end, None, WEEK_MS)?;
    let horizon = call.now - INCOME_HISTORY_MS;
    let rows: Vec<_> = f
        .income
        .iter()
        .filter(|i| i.time >= horizon && i.time >= lo && i.time <= hi)
        .filter(|i| symbol.is_none_or(|s| i.symbol == s))
        .filter(|i| income_type.is_none_or(|t| i.income_type == t))
        .collect();
    let skip = usize::try_from(page_no - 1)
        .unwrap_or(usize::MAX)
        .saturating_mul(limit);
    // In time order from the window's start (the docs show no other
    // order); the strict switch turns a `startTime` window newest-first.
    let oldest = !(start.is_some() && ex.strict.newest_page_in_window);
    let selected: Vec<_> = if oldest {
        rows.into_iter().skip(skip).take(limit).collect()
    } else {
        // Pages counted from the newest row; each page in time order.
        let keep = rows.len().saturating_sub(skip);
        let from = keep.saturating_sub(limit);
        rows.into_iter().take(keep).skip(from).collect()
    };
    Ok(J::Arr(selected.into_iter().map(|i| i.to_json()).collect()))
}

/// `GET /fapi/v1/time`.
pub fn time(call: &Call) -> ApiResult {
    Ok(obj! {"serverTime": call.now})
}

/// `GET /fapi/v1/leverageBracket` ("Notional and Leverage Brackets"): one
/// bracket per contract, from 0 to 50,000 notional at the contract's
/// leverage and maintenance rate. The docs' example gives the numbers as
/// JSON numbers, not strings; rates are written from their decimal text.
pub fn leverage_brackets(call: &Call) -> ApiResult {
    let symbol = call.params.str("symbol");
    let ex = call.exchange();
    let f = &ex.futures;
    if let Some(s) = symbol {
        symbol_of(f, s)?;
    }
    let number = |d: Decimal| -> J {
        J::Val(serde_json::from_str(&d.normalize().to_string()).unwrap_or(serde_json::Value::Null))
    };
    Ok(J::Arr(
        f.symbols
            .iter()
            .filter(|s| symbol.is_none_or(|n| s.symbol == n))
            .map(|s| {
                obj! {
                    "symbol": &s.symbol,
                    "brackets": vec![obj! {
                        "bracket": 1i64,
                        "initialLeverage": s.leverage,
                        "notionalCap": 50_000i64,
                        "notionalFloor": 0i64,
                        "maintMarginRatio": number(s.maint_margin_rate),
                        "cum": 0i64
                    }]
                }
            })
            .collect(),
    ))
}

/// `GET /fapi/v1/forceOrders` ("User's Force Orders"): the liquidation
/// engine's orders. `autoCloseType` LIQUIDATION or ADL (`-1130`
/// otherwise; the sim makes no ADL orders); "If "startTime" is not sent,
/// data within 7 days before "endTime" can be queried"; `limit` default
/// 50, max 100 (binance-futures-connector-python).
pub fn force_orders(call: &Call) -> ApiResult {
    let symbol = call.params.str("symbol");
    let kind = call.params.str("autoCloseType");
    let start = call.params.time_ms("startTime")?;
    let end = call.params.time_ms("endTime")?;
    let limit = call.params.limit(50, 100)?;
    if kind.is_some_and(|k| k != "LIQUIDATION" && k != "ADL") {
        return Err(ApiError::invalid_param("autoCloseType"));
    }
    let ex = call.exchange();
    let f = &ex.futures;
    if let Some(s) = symbol {
        symbol_of(f, s)?;
    }
    let (lo, hi) = match (start, end) {
        (None, e) => {
            let e = e.unwrap_or(call.now);
            (e - WEEK_MS, e)
        }
        (s, e) => window(&ex.strict, call.now, s, e, None, WEEK_MS)?,
    };
    let items: Vec<_> = f
        .orders
        .iter()
        .filter(|o| o.liquidation && kind != Some("ADL"))
        .filter(|o| symbol.is_none_or(|s| o.symbol == s))
        .filter(|o| o.time >= lo && o.time <= hi)
        .collect();
    let mut out = Vec::new();
    for o in page(items, oldest_first(&ex.strict, start), limit) {
        out.push(o.to_force_json(symbol_of(f, &o.symbol)?));
    }
    Ok(J::Arr(out))
}
