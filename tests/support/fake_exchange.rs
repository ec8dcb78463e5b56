//! An in-process fake of the exchange port ([`Exchange`]) over an account given in full:
//! its symbols, balances, every fill per symbol, its orders, current prices and one-minute
//! closes. No network, no clock of its own, no randomness: the same account answers the
//! same way every time, so whole-sync tests can run thousands of fills in milliseconds.
//!
//! It keeps the documented contract of the port, and of Binance behind it:
//! - `fills_page(FromId(id))`: the fills with trade id >= `id`, at most [`FILLS_PAGE`],
//!   ascending; `Window`: the fills within `[start, end]` (at most 24 hours apart, else
//!   `-1127`), at most [`FILLS_PAGE`], ascending; `Order`: one order's fills from an id.
//! - `symbols(&[])` lists every symbol; a list leaves unknown symbols out.
//! - `order()` answers `Found`, `NotFound` (-2013) or `Archived` (-2026).
//! - Every request is counted in [`Usage`] with Binance's documented `/api` weight
//!   (account 20, openOrders 80, myTrades 20 (5 with an order id), order 4, allOrders 20,
//!   exchangeInfo 20, ticker/price 4, klines 2, time 1); the `/sapi` wallet endpoints are
//!   counted as requests but, as in the Binance adapter, not as `/api` weight. `begin_run`
//!   starts the count again and sets the run's stop time (no request starts at or after
//!   it); an optional weight budget refuses the request that would overrun it.
//!
//! Include it from a test crate with
//! `#[path = "support/fake_exchange.rs"] mod fake_exchange;`.
#![allow(dead_code)]

use binance_account_sync::domain::{
    ApiRestrictions, Balance, ExchangeOrder, Fill, Flow, FlowKind, Millis, OrderLookup, Symbol,
    SymbolInfo,
};
use binance_account_sync::exchange::{
    AccountInfo, Exchange, ExchangeError, FillsFrom, FillsQuery, Paged, Usage, FILLS_PAGE,
};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

/// `myTrades` / `allOrders`: `endTime - startTime` may not exceed 24 hours.
pub const WINDOW_MS: Millis = 24 * 60 * 60 * 1000;

/// Binance's error codes the fake answers with.
pub const BAD_SYMBOL: i64 = -1121;
pub const NO_SUCH_ORDER: i64 = -2013;
pub const BAD_WINDOW: i64 = -1127;

/// The endpoints, with their documented `/api` weight (0: a `/sapi` endpoint, metered in
/// its own pools and not in the run's budget).
pub mod endpoint {
    pub const TIME: (&str, u64) = ("/api/v3/time", 1);
    pub const EXCHANGE_INFO: (&str, u64) = ("/api/v3/exchangeInfo", 20);
    pub const ACCOUNT: (&str, u64) = ("/api/v3/account", 20);
    pub const OPEN_ORDERS: (&str, u64) = ("/api/v3/openOrders", 80);
    pub const ORDER: (&str, u64) = ("/api/v3/order", 4);
    pub const ALL_ORDERS: (&str, u64) = ("/api/v3/allOrders", 20);
    pub const MY_TRADES: (&str, u64) = ("/api/v3/myTrades", 20);
    pub const MY_TRADES_BY_ORDER: (&str, u64) = ("/api/v3/myTrades?orderId", 5);
    pub const MY_ALLOCATIONS: (&str, u64) = ("/api/v3/myAllocations", 20);
    pub const TICKER_PRICE: (&str, u64) = ("/api/v3/ticker/price", 4);
    pub const KLINES: (&str, u64) = ("/api/v3/klines", 2);
    pub const DEPOSITS: (&str, u64) = ("/sapi/v1/capital/deposit/hisrec", 0);
    pub const WITHDRAWALS: (&str, u64) = ("/sapi/v1/capital/withdraw/history", 0);
    pub const CONVERTS: (&str, u64) = ("/sapi/v1/convert/tradeFlow", 0);
    pub const DUST: (&str, u64) = ("/sapi/v1/asset/dribblet", 0);
    pub const DISTRIBUTIONS: (&str, u64) = ("/sapi/v1/asset/assetDividend", 0);
    pub const EARN: (&str, u64) = ("/sapi/v1/simple-earn/flexible/history", 0);
    pub const TRANSFERS: (&str, u64) = ("/sapi/v1/asset/transfer", 0);
    pub const SUB_ACCOUNT_TRANSFERS: (&str, u64) =
        ("/sapi/v1/sub-account/transfer/subUserHistory", 0);
    pub const API_RESTRICTIONS: (&str, u64) = ("/sapi/v1/account/apiRestrictions", 0);
}

/// The account the fake serves. Build it, then hand it to [`FakeExchange::new`].
#[derive(Debug, Clone, Default)]
pub struct FakeAccount {
    /// Every symbol the exchange lists (`exchangeInfo`).
    pub symbols: BTreeMap<Symbol, SymbolInfo>,
    /// Non-zero balances.
    pub balances: Vec<Balance>,
    pub update_time: Millis,
    /// Every fill of the account per symbol, ascending by trade id (ids are per symbol).
    pub fills: BTreeMap<Symbol, Vec<Fill>>,
    /// Every SOR allocation per symbol, ascending by allocation id (`trade_id`).
    pub allocations: BTreeMap<Symbol, Vec<Fill>>,
    /// Every order the exchange knows, open or not, by (symbol, order id).
    pub orders: BTreeMap<(Symbol, u64), ExchangeOrder>,
    /// Orders answered with `-2026` (archived: canceled with zero fill long ago).
    pub archived: BTreeSet<(Symbol, u64)>,
    /// Current prices.
    pub prices: BTreeMap<Symbol, Decimal>,
    /// One-minute closes by (symbol, minute start); a minute absent has no candle.
    pub minute_closes: BTreeMap<(Symbol, Millis), Decimal>,
    /// Every balance move that is not a trade (deposits, withdrawals, ...), as it stands now.
    pub flows: Vec<Flow>,
    pub restrictions: Option<ApiRestrictions>,
}

impl FakeAccount {
    /// Every fill, in (symbol, trade id) order.
    pub fn all_fills(&self) -> impl Iterator<Item = &Fill> {
        self.fills.values().flatten()
    }

    pub fn fill_count(&self) -> usize {
        self.fills.values().map(Vec::len).sum()
    }
}

#[derive(Debug, Default)]
struct RunState {
    usage: Usage,
    stop_at: Option<Millis>,
    /// Requests per endpoint path since `begin_run`.
    calls: BTreeMap<&'static str, u64>,
    /// `fills_page` requests per query kind since `begin_run`.
    fill_queries: BTreeMap<&'static str, u64>,
}

/// The kinds of `fills_page` query, as [`FakeExchange::fill_queries`] counts them.
pub mod query {
    pub const FROM_ID: &str = "fromId";
    pub const WINDOW: &str = "startTime+endTime";
    pub const ORDER: &str = "orderId+fromId";
}

/// The fake exchange: a [`FakeAccount`] behind the [`Exchange`] port.
#[derive(Debug)]
pub struct FakeExchange {
    account: FakeAccount,
    weight_budget: Option<u64>,
    /// The wall clock the stop time is compared with (only read when a stop time is set).
    clock: fn() -> Millis,
    state: Mutex<RunState>,
}

impl FakeExchange {
    /// Panics when the account breaks the port's invariants (fills not ascending by
    /// trade id, a fill filed under another symbol, a balance of zero).
    pub fn new(account: FakeAccount) -> Self {
        for (symbol, fills) in &account.fills {
            for pair in fills.windows(2) {
                assert!(
                    pair[0].trade_id < pair[1].trade_id,
                    "fills of {symbol} must ascend by trade id: {} then {}",
                    pair[0].trade_id,
                    pair[1].trade_id
                );
            }
            for f in fills {
                assert_eq!(
                    &f.symbol, symbol,
                    "fill {} filed under {symbol}",
                    f.trade_id
                );
            }
        }
        for b in &account.balances {
            assert!(
                !b.total().is_zero(),
                "the account read omits zero balances ({})",
                b.asset
            );
        }
        Self {
            account,
            weight_budget: None,
            clock: binance_account_sync::service::now_ms,
            state: Mutex::new(RunState::default()),
        }
    }

    /// Refuse (`BudgetExhausted`) any `/api` request that would take the run's weight past
    /// `budget`, as the Binance adapter's per-run budget does.
    pub fn with_weight_budget(mut self, budget: u64) -> Self {
        self.weight_budget = Some(budget);
        self
    }

    pub fn account_data(&self) -> &FakeAccount {
        &self.account
    }

    /// Requests per endpoint path since the last `begin_run` (`myTrades` with an order id
    /// is counted as `/api/v3/myTrades?orderId`).
    pub fn calls(&self) -> BTreeMap<&'static str, u64> {
        self.lock().calls.clone()
    }

    /// Requests to one endpoint since the last `begin_run`.
    pub fn calls_to(&self, path: &str) -> u64 {
        self.lock().calls.get(path).copied().unwrap_or(0)
    }

    /// `fills_page` requests of one kind (see [`query`]) since the last `begin_run`.
    pub fn fill_queries(&self, kind: &str) -> u64 {
        self.lock().fill_queries.get(kind).copied().unwrap_or(0)
    }

    fn lock(&self) -> MutexGuard<'_, RunState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Count one request, or refuse it (stop time reached, budget exhausted).
    fn charge(&self, (path, weight): (&'static str, u64)) -> Result<(), ExchangeError> {
        let mut st = self.lock();
        if st.stop_at.is_some_and(|stop| (self.clock)() >= stop) {
            return Err(ExchangeError::DeadlineReached);
        }
        if let Some(budget) = self.weight_budget {
            if st.usage.weight + weight > budget {
                return Err(ExchangeError::BudgetExhausted {
                    budget,
                    used: st.usage.weight,
                });
            }
        }
        st.usage.requests += 1;
        st.usage.weight += weight;
        *st.calls.entry(path).or_insert(0) += 1;
        Ok(())
    }

    fn api_error(code: i64, msg: &str) -> ExchangeError {
        ExchangeError::Api {
            status: 400,
            code,
            msg: msg.to_owned(),
        }
    }

    fn fills_of(&self, symbol: &Symbol) -> Result<&[Fill], ExchangeError> {
        if !self.account.symbols.contains_key(symbol) {
            return Err(Self::api_error(BAD_SYMBOL, "Invalid symbol."));
        }
        Ok(self.account.fills.get(symbol).map_or(&[], Vec::as_slice))
    }

    /// One `myTrades` page, uncharged.
    fn page(&self, symbol: &Symbol, query: FillsQuery) -> Result<Vec<Fill>, ExchangeError> {
        let fills = self.fills_of(symbol)?;
        let page: Vec<Fill> = match query {
            FillsQuery::FromId(id) => {
                let start = fills.partition_point(|f| f.trade_id < id);
                fills[start..].iter().take(FILLS_PAGE).cloned().collect()
            }
            FillsQuery::Window { start, end } => {
                if end < start || end - start > WINDOW_MS {
                    return Err(Self::api_error(
                        BAD_WINDOW,
                        "More than 24 hours between startTime and endTime.",
                    ));
                }
                fills
                    .iter()
                    .filter(|f| start <= f.time && f.time <= end)
                    .take(FILLS_PAGE)
                    .cloned()
                    .collect()
            }
            FillsQuery::Order { order_id, from_id } => fills
                .iter()
                .filter(|f| f.order_id == order_id && f.trade_id >= from_id)
                .take(FILLS_PAGE)
                .cloned()
                .collect(),
        };
        Ok(page)
    }
}

impl Exchange for FakeExchange {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn symbols(
        &self,
        symbols: &[Symbol],
    ) -> Result<BTreeMap<Symbol, SymbolInfo>, ExchangeError> {
        self.charge(endpoint::EXCHANGE_INFO)?;
        if symbols.is_empty() {
            return Ok(self.account.symbols.clone());
        }
        Ok(symbols
            .iter()
            .filter_map(|s| self.account.symbols.get(s).map(|i| (s.clone(), i.clone())))
            .collect())
    }

    async fn account(&self) -> Result<AccountInfo, ExchangeError> {
        self.charge(endpoint::ACCOUNT)?;
        Ok(AccountInfo {
            update_time: self.account.update_time,
            server_time: (self.clock)(),
            balances: self.account.balances.clone(),
        })
    }

    async fn open_orders(&self) -> Result<Vec<ExchangeOrder>, ExchangeError> {
        self.charge(endpoint::OPEN_ORDERS)?;
        Ok(self
            .account
            .orders
            .values()
            .filter(|o| o.status.is_open())
            .cloned()
            .collect())
    }

    async fn order(&self, symbol: &Symbol, order_id: u64) -> Result<OrderLookup, ExchangeError> {
        self.charge(endpoint::ORDER)?;
        if !self.account.symbols.contains_key(symbol) {
            return Err(Self::api_error(BAD_SYMBOL, "Invalid symbol."));
        }
        let key = (symbol.clone(), order_id);
        if self.account.archived.contains(&key) {
            return Ok(OrderLookup::Archived);
        }
        Ok(match self.account.orders.get(&key) {
            Some(o) => OrderLookup::Found(o.clone()),
            None => OrderLookup::NotFound,
        })
    }

    async fn fills(&self, symbol: &Symbol, from: FillsFrom) -> Result<Paged<Fill>, ExchangeError> {
        let fills = self.fills_of(symbol)?;
        let wanted: Vec<Fill> = match from {
            FillsFrom::TradeId(id) => fills.iter().filter(|f| f.trade_id >= id).cloned().collect(),
            FillsFrom::Time(t) => fills.iter().filter(|f| f.time >= t).cloned().collect(),
        };
        // Paged by id: a full page asks for the next one, so n fills take n / 1000 + 1.
        let pages = wanted.len() / FILLS_PAGE + 1;
        let mut items = Vec::with_capacity(wanted.len());
        for (i, chunk) in wanted
            .chunks(FILLS_PAGE)
            .chain(std::iter::once(&[][..]))
            .take(pages)
            .enumerate()
        {
            if let Err(e) = self.charge(endpoint::MY_TRADES) {
                return match e {
                    ExchangeError::DeadlineReached | ExchangeError::BudgetExhausted { .. }
                        if i > 0 =>
                    {
                        Ok(Paged {
                            items,
                            complete: false,
                        })
                    }
                    e => Err(e),
                };
            }
            items.extend_from_slice(chunk);
        }
        Ok(Paged {
            items,
            complete: true,
        })
    }

    async fn fills_page(
        &self,
        symbol: &Symbol,
        query: FillsQuery,
    ) -> Result<Vec<Fill>, ExchangeError> {
        let (ep, kind) = match query {
            FillsQuery::FromId(_) => (endpoint::MY_TRADES, query::FROM_ID),
            FillsQuery::Window { .. } => (endpoint::MY_TRADES, query::WINDOW),
            FillsQuery::Order { .. } => (endpoint::MY_TRADES_BY_ORDER, query::ORDER),
        };
        self.charge(ep)?;
        *self.lock().fill_queries.entry(kind).or_insert(0) += 1;
        self.page(symbol, query)
    }

    async fn allocations_page(
        &self,
        symbol: &Symbol,
        from_id: u64,
    ) -> Result<Vec<Fill>, ExchangeError> {
        self.charge(endpoint::MY_ALLOCATIONS)?;
        self.fills_of(symbol)?;
        let all = self
            .account
            .allocations
            .get(symbol)
            .map_or(&[][..], Vec::as_slice);
        let start = all.partition_point(|f| f.trade_id < from_id);
        Ok(all[start..]
            .iter()
            .take(binance_account_sync::exchange::ALLOCATIONS_PAGE)
            .cloned()
            .collect())
    }

    async fn orders_page(
        &self,
        symbol: &Symbol,
        from_order_id: u64,
    ) -> Result<Vec<ExchangeOrder>, ExchangeError> {
        self.charge(endpoint::ALL_ORDERS)?;
        if !self.account.symbols.contains_key(symbol) {
            return Err(Self::api_error(BAD_SYMBOL, "Invalid symbol."));
        }
        Ok(self
            .account
            .orders
            .range((symbol.clone(), from_order_id)..)
            .take_while(|((s, _), _)| s == symbol)
            .take(FILLS_PAGE)
            .map(|(_, o)| o.clone())
            .collect())
    }

    async fn orders_from(
        &self,
        symbol: &Symbol,
        from_order_id: u64,
    ) -> Result<Paged<ExchangeOrder>, ExchangeError> {
        if !self.account.symbols.contains_key(symbol) {
            self.charge(endpoint::ALL_ORDERS)?;
            return Err(Self::api_error(BAD_SYMBOL, "Invalid symbol."));
        }
        let items: Vec<ExchangeOrder> = self
            .account
            .orders
            .range((symbol.clone(), from_order_id)..)
            .take_while(|((s, _), _)| s == symbol)
            .map(|(_, o)| o.clone())
            .collect();
        for _ in 0..items.len() / FILLS_PAGE + 1 {
            self.charge(endpoint::ALL_ORDERS)?;
        }
        Ok(Paged {
            items,
            complete: true,
        })
    }

    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Decimal>, ExchangeError> {
        self.charge(endpoint::TICKER_PRICE)?;
        if symbols.is_empty() {
            return Ok(self.account.prices.clone());
        }
        Ok(symbols
            .iter()
            .filter_map(|s| self.account.prices.get(s).map(|p| (s.clone(), *p)))
            .collect())
    }

    async fn minute_closes(
        &self,
        symbol: &Symbol,
        from_minute: Millis,
        to_minute: Millis,
    ) -> Result<BTreeMap<Millis, Decimal>, ExchangeError> {
        self.charge(endpoint::KLINES)?;
        // An unknown symbol has no candle (the adapter maps -1121 to an empty map too).
        Ok(self
            .account
            .minute_closes
            .range((symbol.clone(), from_minute)..=(symbol.clone(), to_minute))
            .map(|((_, minute), close)| (*minute, *close))
            .collect())
    }

    fn flow_kinds(&self) -> &'static [FlowKind] {
        &FlowKind::ALL
    }

    async fn flows(&self, kind: FlowKind, since: Millis) -> Result<Vec<Flow>, ExchangeError> {
        self.charge(match kind {
            FlowKind::Deposit => endpoint::DEPOSITS,
            FlowKind::Withdrawal => endpoint::WITHDRAWALS,
            FlowKind::Convert => endpoint::CONVERTS,
            FlowKind::DustConversion => endpoint::DUST,
            FlowKind::Distribution => endpoint::DISTRIBUTIONS,
            FlowKind::EarnSubscription | FlowKind::EarnRedemption | FlowKind::EarnReward => {
                endpoint::EARN
            }
            FlowKind::Transfer => endpoint::TRANSFERS,
            FlowKind::SubAccountTransfer => endpoint::SUB_ACCOUNT_TRANSFERS,
        })?;
        let mut out: Vec<Flow> = self
            .account
            .flows
            .iter()
            .filter(|f| f.kind == kind && f.time >= since)
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
        Ok(out)
    }

    async fn api_restrictions(&self) -> Result<ApiRestrictions, ExchangeError> {
        self.charge(endpoint::API_RESTRICTIONS)?;
        Ok(self
            .account
            .restrictions
            .clone()
            .unwrap_or(ApiRestrictions {
                ip_restrict: true,
                enable_withdrawals: false,
                enable_reading: true,
                enable_spot_and_margin_trading: true,
            }))
    }

    fn usage(&self) -> Usage {
        self.lock().usage.clone()
    }

    fn begin_run(&self, stop_at: Option<Millis>) {
        let mut st = self.lock();
        st.usage = Usage::default();
        st.calls.clear();
        st.fill_queries.clear();
        st.stop_at = stop_at;
    }
}
