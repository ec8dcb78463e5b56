//! The exchange port (the origin document's `ExchangeInterface`). The service talks to the
//! exchange only through [`Exchange`]; Binance is one adapter (`binance`). A second
//! exchange is a new adapter, never a change to the core.

pub mod binance;
pub mod credentials;
pub mod keys;

use crate::domain::{
    ApiRestrictions, Balance, ExchangeOrder, Fill, Flow, FlowKind, Millis, OrderLookup, Symbol,
    SymbolInfo,
};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;

/// The account-level read (`GET /api/v3/account`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub update_time: Millis,
    /// The exchange's clock when the balances were read, as best known (the request's
    /// server-time `timestamp`): fills at or after it are not in these balances.
    pub server_time: Millis,
    /// Non-zero balances only.
    pub balances: Vec<Balance>,
}

/// Where to start reading a symbol's fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillsFrom {
    /// Every fill with trade id >= this (the stored cursor + 1).
    TradeId(u64),
    /// Every fill at or after this time (no cursor yet: the lookback).
    Time(Millis),
}

/// One page of `myTrades` (at most 1,000 fills), in one of the documented combinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillsQuery {
    /// `fromId`: fills with trade id >= this.
    FromId(u64),
    /// `startTime` + `endTime` (at most 24 hours apart).
    Window { start: Millis, end: Millis },
    /// `orderId` + `fromId`: one order's fills (documented combination), paged.
    Order { order_id: u64, from_id: u64 },
}

/// Fills per page the exchange returns at most.
pub const FILLS_PAGE: usize = 1000;

/// SOR allocations per `myAllocations` request (its documented maximum).
pub const ALLOCATIONS_PAGE: usize = 1000;
/// Orders per `allOrders` page (the documented maximum `limit`).
pub const ORDERS_PAGE: usize = 1000;
/// One-minute candles per `klines` request (the documented maximum `limit`).
pub const KLINES_PAGE: usize = 1000;

/// The result of a paged read that may stop early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// False when the read stopped before the last page (budget or deadline).
    pub complete: bool,
}

/// Requests and weight used so far by this client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Usage {
    pub requests: u64,
    /// Sum of the documented weights of the requests sent.
    pub weight: u64,
    /// Last `X-MBX-USED-WEIGHT-1M` seen (the IP's weight in the current minute).
    pub last_used_weight_1m: Option<u64>,
    pub retries: u64,
}

/// Why an exchange read failed. Stable `kind()` names reach metrics and Lambda's errorType.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The exchange answered with an error body `{code, msg}`.
    #[error("exchange rejected the request: {code} {msg}")]
    Api { status: u16, code: i64, msg: String },
    /// The key was refused (-2014, -2015) even after re-reading the secret.
    #[error("exchange refused the API key: {code} {msg}")]
    Auth { code: i64, msg: String },
    /// HTTP 429 that did not clear within the allowed waits.
    #[error("rate limited by the exchange (retry after {retry_after_s:?} s)")]
    RateLimited { retry_after_s: Option<u64> },
    /// HTTP 418: the IP is banned. The run stops; the client never retries it.
    #[error("IP banned by the exchange for {retry_after_s:?} s")]
    Banned { retry_after_s: Option<u64> },
    /// HTTP 451: Binance refuses to serve the location the request came from (a
    /// restricted country, e.g. the region of some AWS data centres). Not retried: no
    /// later request from the same place will be served either.
    #[error("exchange refuses requests from this location (HTTP 451 on {endpoint}): run the function in a region Binance serves")]
    RestrictedLocation { endpoint: String },
    /// The run's deadline (less its margin) has come: no new request is started.
    #[error("run deadline reached before the next exchange request")]
    DeadlineReached,
    /// The per-run weight budget would be exceeded by the next request.
    #[error("per-run weight budget of {budget} exhausted ({used} used)")]
    BudgetExhausted { budget: u64, used: u64 },
    /// The deployment's (or egress IP's) shared weight for this minute is used up and the
    /// next minute starts too late for the run: the run stops (partial) and resumes.
    #[error(
        "shared weight of {share} per minute used up ({used} used by every invocation together)"
    )]
    SharedWeightExhausted { share: u64, used: u64 },
    /// Connection, timeout, or 5xx that outlasted the retries.
    #[error("exchange unavailable after {attempts} attempts: {detail}")]
    Unavailable { attempts: u32, detail: String },
    /// A response that could not be parsed (malformed, truncated, wrong types).
    #[error("malformed exchange response from {endpoint}: {detail}")]
    Malformed { endpoint: String, detail: String },
    /// This account cannot read that history at all (a master account asking for the
    /// sub-account transfer history): there is nothing of its kind to explain, so it is
    /// not a failure and nothing is owed.
    #[error("{endpoint} is not available to this account: {code} {msg}")]
    NotAvailable {
        endpoint: String,
        code: i64,
        msg: String,
    },
    /// The client was configured wrongly (bad base URL, bad recvWindow...).
    #[error("exchange client configuration: {0}")]
    Config(String),
}

impl ExchangeError {
    /// Stable name for metrics and Lambda `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Api { .. } => "ExchangeApiError",
            Self::Auth { .. } => "ExchangeAuthError",
            Self::RateLimited { .. } => "ExchangeRateLimited",
            Self::Banned { .. } => "ExchangeBanned",
            Self::RestrictedLocation { .. } => "ExchangeRestrictedLocation",
            Self::BudgetExhausted { .. } => "ExchangeBudgetExhausted",
            Self::DeadlineReached => "ExchangeDeadlineReached",
            Self::SharedWeightExhausted { .. } => "ExchangeSharedWeightExhausted",
            Self::Unavailable { .. } => "ExchangeUnavailable",
            Self::Malformed { .. } => "ExchangeMalformedResponse",
            Self::NotAvailable { .. } => "ExchangeNotAvailable",
            Self::Config(_) => "ExchangeConfigError",
        }
    }
}

/// Read-only access to an exchange account. Implementations page, retry, sign and
/// account for weight internally; callers see whole, normalized answers.
pub trait Exchange: Send + Sync {
    /// A short name for reports ("binance").
    fn name(&self) -> &'static str;

    /// Trading rules for the given symbols (all symbols when empty). Unknown symbols are
    /// left out of the map rather than failing the call.
    fn symbols(
        &self,
        symbols: &[Symbol],
    ) -> impl Future<Output = Result<BTreeMap<Symbol, SymbolInfo>, ExchangeError>> + Send;

    /// Balances and the account's update time.
    fn account(&self) -> impl Future<Output = Result<AccountInfo, ExchangeError>> + Send;

    /// All open orders of the account.
    fn open_orders(&self)
        -> impl Future<Output = Result<Vec<ExchangeOrder>, ExchangeError>> + Send;

    /// One order's current state.
    fn order(
        &self,
        symbol: &Symbol,
        order_id: u64,
    ) -> impl Future<Output = Result<OrderLookup, ExchangeError>> + Send;

    /// Fills of one symbol from a trade id or a time, ascending, every page.
    fn fills(
        &self,
        symbol: &Symbol,
        from: FillsFrom,
    ) -> impl Future<Output = Result<Paged<Fill>, ExchangeError>> + Send;

    /// One page of one symbol's fills, ascending by trade id.
    fn fills_page(
        &self,
        symbol: &Symbol,
        query: FillsQuery,
    ) -> impl Future<Output = Result<Vec<Fill>, ExchangeError>> + Send;

    /// One page of one symbol's SOR allocations with allocation id >= `from_id`,
    /// ascending (at most [`ALLOCATIONS_PAGE`]; fewer when no more follow), as fills
    /// whose `trade_id` is the allocation id. An exchange without SOR answers none (no
    /// default: a wrapper that forgot to pass it on would hide every SOR fill).
    fn allocations_page(
        &self,
        symbol: &Symbol,
        from_id: u64,
    ) -> impl Future<Output = Result<Vec<Fill>, ExchangeError>> + Send;

    /// Orders of one symbol with order id >= `from_order_id`, ascending, every page.
    fn orders_from(
        &self,
        symbol: &Symbol,
        from_order_id: u64,
    ) -> impl Future<Output = Result<Paged<ExchangeOrder>, ExchangeError>> + Send;

    /// One page of one symbol's orders with order id >= `from_order_id`, ascending
    /// (at most [`ORDERS_PAGE`]; fewer when no more follow).
    fn orders_page(
        &self,
        symbol: &Symbol,
        from_order_id: u64,
    ) -> impl Future<Output = Result<Vec<ExchangeOrder>, ExchangeError>> + Send;

    /// Current prices of the given symbols.
    fn prices(
        &self,
        symbols: &[Symbol],
    ) -> impl Future<Output = Result<BTreeMap<Symbol, Decimal>, ExchangeError>> + Send;

    /// The closes of the one-minute candles opening from `from_minute` to `to_minute`
    /// (minute starts, at most [`KLINES_PAGE`] minutes: one request), by opening time, for
    /// fee conversion at fill time. A minute with no trade has no candle; a symbol the
    /// exchange does not list has none at all (an empty map, not an error).
    fn minute_closes(
        &self,
        symbol: &Symbol,
        from_minute: Millis,
        to_minute: Millis,
    ) -> impl Future<Output = Result<BTreeMap<Millis, Decimal>, ExchangeError>> + Send;

    /// The kinds of balance move (not trades) this adapter reads, in the order a run reads
    /// them.
    fn flow_kinds(&self) -> &'static [FlowKind];

    /// Every flow of `kind` created at or after `since`, oldest first, in whatever status
    /// it is now (a pending deposit, a withdrawal in progress, a failed one).
    fn flows(
        &self,
        kind: FlowKind,
        since: Millis,
    ) -> impl Future<Output = Result<Vec<Flow>, ExchangeError>> + Send;

    /// The API key's permissions.
    fn api_restrictions(
        &self,
    ) -> impl Future<Output = Result<ApiRestrictions, ExchangeError>> + Send;

    /// Requests and weight used so far in this run.
    fn usage(&self) -> Usage;

    /// A run starts: usage (and with it the weight budget) counts from zero again, and no
    /// request is started at or after `stop_at` (the run's deadline less its margin). A
    /// Lambda keeps one client across warm invocations, so this is what makes the budget
    /// per run rather than per container.
    fn begin_run(&self, stop_at: Option<Millis>) {
        let _ = stop_at;
    }

    /// The end of an IP ban the client learnt of (HTTP 418), if any: the shell persists it
    /// so that a cold start does not send requests into the ban.
    fn banned_until(&self) -> Option<Millis> {
        None
    }

    /// A ban learnt of in an earlier run (from the sync state).
    fn restore_ban(&self, until: Millis) {
        let _ = until;
    }

    /// The symbol trading `base` against `quote`, by the exchange's naming convention.
    /// Binance concatenates (`BTC` + `USDT` = `BTCUSDT`); another exchange overrides this.
    fn pair_symbol(
        &self,
        base: &crate::domain::Asset,
        quote: &crate::domain::Asset,
    ) -> Option<Symbol> {
        Symbol::parse(format!("{base}{quote}")).ok()
    }
}
