//! Binance adapter: implements [`Exchange`] over the Binance SPOT REST API.
//!
//! One concept per file:
//! - [`endpoints`]: every endpoint and its documented weight, in one table.
//! - [`signing`]: percent-encoding and HMAC-SHA256 of exactly what goes on the wire.
//! - `clock`: the server-time offset and the `-1021` re-measure-and-retry-once rule.
//! - `transport`: one request with budget, retries, 429/418 and credential refresh.
//! - `paging`: `myTrades` / `allOrders` paging and the 24-hour window walk, and one
//!   `myAllocations` page.
//! - [`model`] / [`lenient`]: wire types and their mapping to the domain.

pub mod endpoints;
pub mod lenient;
pub mod model;
pub mod signing;

mod clock;
mod paging;
mod shared;
mod transport;

pub use shared::SharedWeight;

use crate::domain::{
    ApiRestrictions, ExchangeOrder, Fill, Flow, FlowKind, Millis, OrderLookup, Symbol, SymbolInfo,
};
use crate::exchange::credentials::CredentialSource;
use crate::exchange::{AccountInfo, Exchange, ExchangeError, FillsFrom, Paged, Usage};
use endpoints::{
    ACCOUNT, API_RESTRICTIONS, ASSET_DIVIDEND, CONVERT_HISTORY, CONVERT_PAGE_LIMIT,
    CONVERT_WINDOW_MS, DEPOSIT_HISTORY, DIVIDEND_PAGE_LIMIT, DIVIDEND_WINDOW_MS, DUST_LOG,
    EARN_REDEMPTIONS, EARN_REWARDS, EARN_SUBSCRIPTIONS, EARN_WINDOW_MS, EXCHANGE_INFO, KLINES,
    OPEN_ORDERS_ALL, ORDER, ROWS_PAGE_SIZE, SPOT_TRANSFER_TYPES, SUB_ACCOUNT_TRANSFERS,
    SUB_TRANSFER_PAGE_LIMIT, SUB_TRANSFER_WINDOW_MS, TICKER_PRICE, TRANSFER_HISTORY,
    TRANSFER_HISTORY_MS, TRANSFER_WINDOW_MS, WALLET_PAGE_LIMIT, WALLET_WINDOW_MS, WITHDRAW_HISTORY,
};
use model::{
    WireAccount, WireApiRestrictions, WireConvertPage, WireDeposit, WireDividendPage, WireDustLog,
    WireEarnRedemption, WireEarnReward, WireEarnSubscription, WireExchangeInfo, WireKline,
    WireOrder, WireRowsPage, WireSubAccountTransfer, WireTicker, WireTransfer, WireWithdrawal,
};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// `-1121 Invalid symbol.`
const BAD_SYMBOL: i64 = -1121;
/// "Too many values sent for parameter 'symbols', maximum allowed up to 100." (-1101)
const MAX_SYMBOLS_PER_CALL: usize = 100;
/// `-2013 Order does not exist.`
const NO_SUCH_ORDER: i64 = -2013;
/// `-2026` Order archived (zero-fill cancel/expire older than 90 days).
const ORDER_ARCHIVED: i64 = -2026;
/// What the sub-account transfer history may answer a key that is not a sub-account's
/// (undocumented): the documented `-1002 UNAUTHORIZED` and `-1020 UNSUPPORTED_OPERATION`.
const NOT_A_SUB_ACCOUNT: [i64; 2] = [-1002, -1020];
/// Pages of one `{"rows", "total"}` window at most: 10,000 rows at 100 a page.
const MAX_ROWS_PAGES: usize = 100;

/// The local wall clock in epoch ms. Injected so tests can move time.
pub type ClockFn = Arc<dyn Fn() -> Millis + Send + Sync>;

/// How the client waits (backoff, `Retry-After`). Injected so tests can drive the
/// simulator's clock instead of sleeping; the default is `tokio::time::sleep`.
pub type SleepFn = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// `tokio::time::sleep`.
pub fn tokio_sleep() -> SleepFn {
    Arc::new(|d| Box::pin(tokio::time::sleep(d)))
}

/// The system clock.
pub fn system_clock() -> ClockFn {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    })
}

/// How the client talks to Binance.
#[derive(Clone)]
pub struct BinanceConfig {
    /// Default `https://api.binance.com`.
    pub base_url: url::Url,
    /// Default 5000; Binance allows 1..=60000.
    pub recv_window_ms: u64,
    /// Per-run cap on the `/api` weight this client may spend (None = no cap).
    pub weight_budget: Option<u64>,
    /// Stop before a request that would take the IP's weight in the current minute (as
    /// the last `X-MBX-USED-WEIGHT-1M` said) past this: the rest is left for the bot.
    /// None = no stop short of the exchange's own limit.
    pub ip_weight_stop: Option<u64>,
    /// Retries after the first attempt for transient failures (default 4).
    pub max_retries: u32,
    /// First backoff; doubles per retry, with jitter (default 200 ms).
    pub base_backoff: Duration,
    /// Per-request timeout (default 10 s, Binance's own backend timeout).
    pub request_timeout: Duration,
    /// Longest `Retry-After` a 429 may ask us to wait (default 30 s); longer → `RateLimited`.
    pub max_429_wait: Duration,
    /// The shared weight ledger of the deployment or the egress IP (None: this client's
    /// own budget and the header only, as a single-account deployment runs).
    pub shared_weight: Option<SharedWeight>,
    /// The local clock (default: system clock).
    pub clock: ClockFn,
    /// How waits are done (default: `tokio::time::sleep`).
    pub sleep: SleepFn,
}

impl Default for BinanceConfig {
    fn default() -> Self {
        Self {
            base_url: default_base_url(),
            recv_window_ms: 5000,
            weight_budget: None,
            ip_weight_stop: None,
            max_retries: 4,
            base_backoff: Duration::from_millis(200),
            request_timeout: Duration::from_secs(10),
            max_429_wait: Duration::from_secs(30),
            shared_weight: None,
            clock: system_clock(),
            sleep: tokio_sleep(),
        }
    }
}

fn default_base_url() -> url::Url {
    match url::Url::parse("https://api.binance.com/") {
        Ok(u) => u,
        // A constant literal that parses; this arm cannot run.
        Err(_) => unreachable!("constant base URL parses"),
    }
}

impl fmt::Debug for BinanceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinanceConfig")
            .field("base_url", &self.base_url.as_str())
            .field("recv_window_ms", &self.recv_window_ms)
            .field("weight_budget", &self.weight_budget)
            .field("ip_weight_stop", &self.ip_weight_stop)
            .field("max_retries", &self.max_retries)
            .field("base_backoff", &self.base_backoff)
            .field("request_timeout", &self.request_timeout)
            .field("max_429_wait", &self.max_429_wait)
            .field("shared_weight", &self.shared_weight)
            .finish_non_exhaustive()
    }
}

/// Mutable per-client state. Guarded by a std mutex that is never held across an await.
#[derive(Default)]
struct State {
    /// Usage of the current run (reset by `begin_run`).
    usage: Usage,
    /// Set by a 418: no request is sent before this time (local ms). Binance bans for
    /// `Retry-After` seconds; without one the ban is assumed to last the documented
    /// minimum of 2 minutes. The ban outlives runs: it belongs to the IP.
    banned_until: Option<Millis>,
    /// No request is started at or after this time (local ms); set by `begin_run`.
    stop_at: Option<Millis>,
    /// server - local, in ms; None until first measured.
    offset_ms: Option<Millis>,
    /// The minute (local ms / 60000) of the last `X-MBX-USED-WEIGHT-1M` seen.
    used_weight_minute: Option<Millis>,
    /// exchangeInfo cache for the client's lifetime (rules change rarely; 20 weight a call).
    symbols: BTreeMap<Symbol, SymbolInfo>,
    unknown_symbols: BTreeSet<Symbol>,
    all_symbols_loaded: bool,
    /// The minute whose shared ban was last read from the ledger.
    ledger_ban_checked: Option<i64>,
    /// What the ledger held after this client's last reservation, per minute.
    ledger_used: BTreeMap<i64, u64>,
    /// Waits for a new minute in this run (bounded without a deadline).
    ledger_waits: u32,
}

/// The Binance SPOT adapter. Read-only; safe to share between tasks.
pub struct BinanceClient<C: CredentialSource> {
    config: BinanceConfig,
    credentials: C,
    http: reqwest::Client,
    state: Mutex<State>,
}

impl<C: CredentialSource> fmt::Debug for BinanceClient<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinanceClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<C: CredentialSource> BinanceClient<C> {
    /// Validates the configuration; no request is sent here.
    pub fn new(
        mut config: BinanceConfig,
        credentials: C,
        http: reqwest::Client,
    ) -> Result<Self, ExchangeError> {
        if !(1..=60_000).contains(&config.recv_window_ms) {
            return Err(ExchangeError::Config(format!(
                "recv_window_ms must be 1..=60000, got {}",
                config.recv_window_ms
            )));
        }
        match config.base_url.scheme() {
            "https" | "http" => {}
            other => {
                return Err(ExchangeError::Config(format!(
                    "base_url scheme must be http(s), got {other}"
                )))
            }
        }
        if config.base_url.cannot_be_a_base() {
            return Err(ExchangeError::Config(
                "base_url cannot be a base URL".into(),
            ));
        }
        // `Url::join` replaces the last path segment unless the path ends in '/'.
        if !config.base_url.path().ends_with('/') {
            let path = format!("{}/", config.base_url.path());
            config.base_url.set_path(&path);
        }
        Ok(Self {
            config,
            credentials,
            http,
            state: Mutex::new(State::default()),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &BinanceConfig {
        &self.config
    }

    /// Where the credentials come from.
    pub fn credential_source(&self) -> &C {
        &self.credentials
    }

    /// Server minus local clock, once measured.
    pub fn clock_offset_ms(&self) -> Option<Millis> {
        self.state().offset_ms
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave State inconsistent (plain fields).
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// exchangeInfo for a list of symbols (JSON-array parameter) or all symbols.
    async fn exchange_info(
        &self,
        symbols: Option<&[Symbol]>,
    ) -> Result<Vec<SymbolInfo>, ExchangeError> {
        let params = match symbols {
            Some([one]) => vec![("symbol", one.as_str().to_owned())],
            Some(list) => vec![("symbols", json_array(list))],
            None => vec![],
        };
        let info: WireExchangeInfo = self.call(&EXCHANGE_INFO, &params).await?;
        info.into_domain(EXCHANGE_INFO.path)
    }

    fn cache_symbols(&self, infos: Vec<SymbolInfo>) {
        let mut st = self.state();
        for i in infos {
            st.symbols.insert(i.symbol.clone(), i);
        }
    }

    async fn wallet_windows<W, T>(
        &self,
        ep: &endpoints::Endpoint,
        since: Millis,
        map: impl Fn(W) -> Result<T, ExchangeError>,
    ) -> Result<Vec<T>, ExchangeError>
    where
        W: serde::de::DeserializeOwned,
    {
        // Windows must be < 90 days; inside one, page with offset.
        let now = self.server_now();
        let mut out = Vec::new();
        let mut start = since;
        while start <= now {
            let end = (start + WALLET_WINDOW_MS - 1).min(now);
            let mut offset = 0usize;
            loop {
                let params = [
                    ("startTime", start.to_string()),
                    ("endTime", end.to_string()),
                    ("offset", offset.to_string()),
                    ("limit", WALLET_PAGE_LIMIT.to_string()),
                ];
                let page: Vec<W> = self.call(ep, &params).await?;
                let n = page.len();
                for w in page {
                    out.push(map(w)?);
                }
                if n < WALLET_PAGE_LIMIT {
                    break;
                }
                offset += n;
            }
            start = end + 1;
        }
        Ok(out)
    }
}

/// A history read by time windows with no paging: `window` long at most, `limit` rows a
/// page; a full page (or one that says more follow) halves its window until each half
/// fits, so no row is lost to the page limit.
#[derive(Clone, Copy)]
struct Windows {
    window: Millis,
    limit: usize,
}

impl<C: CredentialSource> BinanceClient<C> {
    async fn windowed<W, T>(
        &self,
        ep: &endpoints::Endpoint,
        extra: &[(&'static str, String)],
        shape: Windows,
        since: Millis,
        read: impl Fn(W) -> (Vec<T>, bool),
    ) -> Result<Vec<T>, ExchangeError>
    where
        W: serde::de::DeserializeOwned,
    {
        let now = self.server_now();
        let mut windows: Vec<(Millis, Millis)> = Vec::new();
        let mut start = since;
        while start <= now {
            let end = (start + shape.window - 1).min(now);
            windows.push((start, end));
            start = end + 1;
        }
        let mut out = Vec::new();
        while let Some((start, end)) = windows.pop() {
            let mut params = extra.to_vec();
            params.extend([
                ("startTime", start.to_string()),
                ("endTime", end.to_string()),
                ("limit", shape.limit.to_string()),
            ]);
            let (rows, more) = read(self.call(ep, &params).await?);
            if (more || rows.len() >= shape.limit) && end > start {
                let mid = start + (end - start) / 2;
                windows.push((start, mid));
                windows.push((mid + 1, end));
                continue;
            }
            out.extend(rows);
        }
        Ok(out)
    }

    /// Convert trades created at or after `since`, in windows of at most 30 days.
    async fn converts(&self, since: Millis) -> Result<Vec<Flow>, ExchangeError> {
        let shape = Windows {
            window: CONVERT_WINDOW_MS,
            limit: CONVERT_PAGE_LIMIT,
        };
        let read = |p: WireConvertPage| (p.list, p.more_data);
        self.windowed(&CONVERT_HISTORY, &[], shape, since, read)
            .await?
            .into_iter()
            .map(|row| row.into_domain(CONVERT_HISTORY.path))
            .collect()
    }

    /// Distributions at or after `since`, in windows of at most 180 days.
    async fn dividends(&self, since: Millis) -> Result<Vec<Flow>, ExchangeError> {
        let shape = Windows {
            window: DIVIDEND_WINDOW_MS,
            limit: DIVIDEND_PAGE_LIMIT,
        };
        let read = |p: WireDividendPage| (p.rows, false);
        self.windowed(&ASSET_DIVIDEND, &[], shape, since, read)
            .await?
            .into_iter()
            .map(|row| row.into_domain(ASSET_DIVIDEND.path))
            .collect()
    }

    /// Transfers with the master or a sibling sub-account at or after `since`: both `type`s
    /// (1 in, 2 out; without one only 2 is returned), failures included
    /// (`returnFailHistory`, default false) so that a failed transfer is seen final, in
    /// 30-day windows of pages of 200 that split when full. A key that is not a
    /// sub-account's is answered with an error the docs do not give; the documented
    /// general codes that fit (`-1002` not authorized, `-1020` not supported) mean the
    /// account has no such history: [`ExchangeError::NotAvailable`], not a failure.
    async fn sub_account_transfers(&self, since: Millis) -> Result<Vec<Flow>, ExchangeError> {
        let shape = Windows {
            window: SUB_TRANSFER_WINDOW_MS,
            limit: SUB_TRANSFER_PAGE_LIMIT,
        };
        let ep = &SUB_ACCOUNT_TRANSFERS;
        let mut out = Vec::new();
        for direction in ["1", "2"] {
            let extra = [
                ("type", direction.to_owned()),
                ("returnFailHistory", "true".to_owned()),
            ];
            let read = |rows: Vec<WireSubAccountTransfer>| (rows, false);
            let rows = match self.windowed(ep, &extra, shape, since, read).await {
                Err(ExchangeError::Api { code, msg, .. }) if NOT_A_SUB_ACCOUNT.contains(&code) => {
                    return Err(ExchangeError::NotAvailable {
                        endpoint: ep.path.to_owned(),
                        code,
                        msg,
                    })
                }
                other => other?,
            };
            for row in rows {
                out.push(row.into_domain(ep.path)?);
            }
        }
        Ok(out)
    }

    /// A `{"rows", "total"}` history (universal transfers, Simple Earn) from `since`: time
    /// windows of at most `window`, laid back from now (a read from 30 days back is one
    /// window, not one and a sliver), each paged with `current` (from 1) and `size` until a
    /// short page or `total` rows, whichever comes first, and never past `MAX_ROWS_PAGES`
    /// (a server that ignored `current` and sent no `total` would page for ever).
    async fn rows_windows<W>(
        &self,
        ep: &endpoints::Endpoint,
        extra: &[(&'static str, String)],
        window: Millis,
        since: Millis,
    ) -> Result<Vec<W>, ExchangeError>
    where
        W: serde::de::DeserializeOwned,
    {
        let mut out = Vec::new();
        let mut end = self.server_now();
        while end >= since {
            let start = (end - window + 1).max(since);
            for current in 1..=MAX_ROWS_PAGES {
                let mut params = extra.to_vec();
                params.extend([
                    ("startTime", start.to_string()),
                    ("endTime", end.to_string()),
                    ("current", current.to_string()),
                    ("size", ROWS_PAGE_SIZE.to_string()),
                ]);
                let page: WireRowsPage<W> = self.call(ep, &params).await?;
                let n = page.rows.len();
                out.extend(page.rows);
                let seen = (current * ROWS_PAGE_SIZE) as u64;
                if n < ROWS_PAGE_SIZE || page.total.is_some_and(|t| seen >= t) {
                    break;
                }
            }
            end = start - 1;
        }
        Ok(out)
    }

    /// Universal transfers into or out of Spot at or after `since`, one type at a time.
    /// The endpoint keeps 6 months: an older `since` is read from there.
    async fn transfers(&self, since: Millis) -> Result<Vec<Flow>, ExchangeError> {
        let since = since.max(self.server_now() - TRANSFER_HISTORY_MS + 1);
        let mut out = Vec::new();
        for kind in SPOT_TRANSFER_TYPES {
            let extra = [("type", kind.to_owned())];
            out.extend(
                self.row_flows(
                    &TRANSFER_HISTORY,
                    &extra,
                    TRANSFER_WINDOW_MS,
                    since,
                    WireTransfer::into_domain,
                )
                .await?,
            );
        }
        Ok(out)
    }

    /// The flows of one `{"rows", "total"}` history at or after `since` ([`rows_windows`],
    /// each row mapped with the endpoint's path for its errors).
    async fn row_flows<W>(
        &self,
        ep: &endpoints::Endpoint,
        extra: &[(&'static str, String)],
        window: Millis,
        since: Millis,
        map: impl Fn(W, &str) -> Result<Flow, ExchangeError>,
    ) -> Result<Vec<Flow>, ExchangeError>
    where
        W: serde::de::DeserializeOwned,
    {
        self.rows_windows(ep, extra, window, since)
            .await?
            .into_iter()
            .map(|row| map(row, ep.path))
            .collect()
    }

    /// Every flow of `kind` at or after `since`, oldest first (the port's `flows`).
    async fn flows_of(&self, kind: FlowKind, since: Millis) -> Result<Vec<Flow>, ExchangeError> {
        let mut all = match kind {
            FlowKind::Deposit => {
                self.wallet_windows(&DEPOSIT_HISTORY, since, |w: WireDeposit| {
                    w.into_domain(DEPOSIT_HISTORY.path)
                })
                .await?
            }
            FlowKind::Withdrawal => {
                self.wallet_windows(&WITHDRAW_HISTORY, since, |w: WireWithdrawal| {
                    w.into_domain(WITHDRAW_HISTORY.path)
                })
                .await?
            }
            FlowKind::Convert => self.converts(since).await?,
            FlowKind::DustConversion => {
                let params = [
                    ("startTime", since.to_string()),
                    ("endTime", self.server_now().to_string()),
                ];
                let log: WireDustLog = self.call(&DUST_LOG, &params).await?;
                log.user_asset_dribblets
                    .into_iter()
                    .map(|d| d.into_domain(DUST_LOG.path))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .filter(|f| f.time >= since)
                    .collect()
            }
            FlowKind::Distribution => self.dividends(since).await?,
            FlowKind::Transfer => self.transfers(since).await?,
            FlowKind::SubAccountTransfer => self.sub_account_transfers(since).await?,
            FlowKind::EarnSubscription => {
                self.row_flows(
                    &EARN_SUBSCRIPTIONS,
                    &[],
                    EARN_WINDOW_MS,
                    since,
                    WireEarnSubscription::into_domain,
                )
                .await?
            }
            FlowKind::EarnRedemption => {
                self.row_flows(
                    &EARN_REDEMPTIONS,
                    &[],
                    EARN_WINDOW_MS,
                    since,
                    WireEarnRedemption::into_domain,
                )
                .await?
            }
            FlowKind::EarnReward => {
                let all = [("type", "ALL".to_owned())];
                self.row_flows(
                    &EARN_REWARDS,
                    &all,
                    EARN_WINDOW_MS,
                    since,
                    WireEarnReward::into_domain,
                )
                .await?
            }
        };
        all.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
        // A row that arrives while a newest-first history is paged pushes an older one onto
        // the next page: read twice, kept once.
        all.dedup_by(|a, b| a.id == b.id && a.time == b.time);
        Ok(all)
    }
}

/// `["A","B"]` as Binance wants it for `symbols=` (percent-encoded later by the signer).
fn json_array(symbols: &[Symbol]) -> String {
    let names: Vec<&str> = symbols.iter().map(Symbol::as_str).collect();
    serde_json::to_string(&names).unwrap_or_default()
}

fn is_code(e: &ExchangeError, want: i64) -> bool {
    matches!(e, ExchangeError::Api { code, .. } if *code == want)
}

impl<C: CredentialSource> Exchange for BinanceClient<C> {
    fn name(&self) -> &'static str {
        "binance"
    }

    /// Cached for the client's lifetime. A list containing an unknown symbol makes Binance
    /// reject the whole call with `-1121`, so then each symbol is asked alone and the
    /// unknown ones are dropped (and remembered, so they are not asked again).
    async fn symbols(
        &self,
        symbols: &[Symbol],
    ) -> Result<BTreeMap<Symbol, SymbolInfo>, ExchangeError> {
        if symbols.is_empty() {
            if !self.state().all_symbols_loaded {
                let all = self.exchange_info(None).await?;
                self.cache_symbols(all);
                self.state().all_symbols_loaded = true;
            }
            return Ok(self.state().symbols.clone());
        }
        let missing: Vec<Symbol> = {
            let st = self.state();
            let mut seen = BTreeSet::new();
            symbols
                .iter()
                .filter(|s| {
                    !st.all_symbols_loaded
                        && !st.symbols.contains_key(*s)
                        && !st.unknown_symbols.contains(*s)
                })
                .filter(|s| seen.insert((*s).clone()))
                .cloned()
                .collect()
        };
        // Binance caps `symbols=[...]` at 100 values (-1101), so ask in chunks.
        for chunk in missing.chunks(MAX_SYMBOLS_PER_CALL) {
            match self.exchange_info(Some(chunk)).await {
                Ok(infos) => self.cache_symbols(infos),
                Err(e) if is_code(&e, BAD_SYMBOL) && chunk.len() == 1 => {
                    for s in chunk {
                        tracing::info!(symbol = %s, "symbol unknown to the exchange (-1121); skipped");
                        self.state().unknown_symbols.insert(s.clone());
                    }
                }
                Err(e) if is_code(&e, BAD_SYMBOL) => {
                    for s in chunk {
                        match self.exchange_info(Some(std::slice::from_ref(s))).await {
                            Ok(infos) => self.cache_symbols(infos),
                            Err(e) if is_code(&e, BAD_SYMBOL) => {
                                tracing::info!(symbol = %s, "symbol unknown to the exchange (-1121); skipped");
                                self.state().unknown_symbols.insert(s.clone());
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let st = self.state();
        Ok(symbols
            .iter()
            .filter_map(|s| st.symbols.get(s).map(|i| (s.clone(), i.clone())))
            .collect())
    }

    async fn account(&self) -> Result<AccountInfo, ExchangeError> {
        // The balances are at least as new as the request: a fill before it is in them.
        if self.state().offset_ms.is_none() {
            self.sync_clock().await?;
        }
        let sent_at = self.server_now();
        let wire: WireAccount = self
            .call(&ACCOUNT, &[("omitZeroBalances", "true".to_owned())])
            .await?;
        let mut info = wire.into_domain(ACCOUNT.path)?;
        info.server_time = sent_at;
        Ok(info)
    }

    async fn open_orders(&self) -> Result<Vec<ExchangeOrder>, ExchangeError> {
        let wire: Vec<WireOrder> = self.call(&OPEN_ORDERS_ALL, &[]).await?;
        wire.into_iter()
            .map(|o| o.into_domain(OPEN_ORDERS_ALL.path))
            .collect()
    }

    async fn order(&self, symbol: &Symbol, order_id: u64) -> Result<OrderLookup, ExchangeError> {
        let params = [
            ("symbol", symbol.as_str().to_owned()),
            ("orderId", order_id.to_string()),
        ];
        match self.call::<WireOrder>(&ORDER, &params).await {
            Ok(o) => Ok(OrderLookup::Found(o.into_domain(ORDER.path)?)),
            Err(e) if is_code(&e, NO_SUCH_ORDER) => Ok(OrderLookup::NotFound),
            Err(e) if is_code(&e, ORDER_ARCHIVED) => Ok(OrderLookup::Archived),
            Err(e) => Err(e),
        }
    }

    async fn fills_page(
        &self,
        symbol: &Symbol,
        query: crate::exchange::FillsQuery,
    ) -> Result<Vec<Fill>, ExchangeError> {
        self.fills_one_page(symbol, query).await
    }

    async fn allocations_page(
        &self,
        symbol: &Symbol,
        from_id: u64,
    ) -> Result<Vec<Fill>, ExchangeError> {
        self.allocations_one_page(symbol, from_id).await
    }

    fn banned_until(&self) -> Option<Millis> {
        self.state().banned_until
    }

    fn restore_ban(&self, until: Millis) {
        let mut st = self.state();
        if st.banned_until.is_none_or(|u| u < until) {
            st.banned_until = Some(until);
        }
    }

    async fn fills(&self, symbol: &Symbol, from: FillsFrom) -> Result<Paged<Fill>, ExchangeError> {
        self.fills_paged(symbol, from).await
    }

    async fn orders_from(
        &self,
        symbol: &Symbol,
        from_order_id: u64,
    ) -> Result<Paged<ExchangeOrder>, ExchangeError> {
        self.orders_paged(symbol, from_order_id).await
    }

    async fn orders_page(
        &self,
        symbol: &Symbol,
        from_order_id: u64,
    ) -> Result<Vec<ExchangeOrder>, ExchangeError> {
        self.orders_one_page(symbol, from_order_id).await
    }

    /// One `symbols=[...]` call (weight 4). If Binance rejects the list because one symbol
    /// is unknown (`-1121`), one all-symbols call (also weight 4) is filtered instead.
    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Decimal>, ExchangeError> {
        let to_map = |rows: Vec<WireTicker>| -> Result<BTreeMap<Symbol, Decimal>, ExchangeError> {
            rows.into_iter()
                .map(|t| t.into_domain(TICKER_PRICE.path))
                .collect()
        };
        if symbols.is_empty() {
            return to_map(self.call(&TICKER_PRICE, &[]).await?);
        }
        let wanted: BTreeSet<&Symbol> = symbols.iter().collect();
        let mut rows = Vec::new();
        // Binance caps `symbols=[...]` at 100 values (-1101), so ask in chunks.
        for chunk in symbols.chunks(MAX_SYMBOLS_PER_CALL) {
            match self
                .call::<Vec<WireTicker>>(&TICKER_PRICE, &[("symbols", json_array(chunk))])
                .await
            {
                Ok(r) => rows.extend(r),
                Err(e) if is_code(&e, BAD_SYMBOL) => {
                    rows = self.call(&TICKER_PRICE, &[]).await?;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(to_map(rows)?
            .into_iter()
            .filter(|(s, _)| wanted.contains(s))
            .collect())
    }

    /// One `klines` request (1m, `startTime`..`endTime`, `limit=1000`): the closes of the
    /// candles opening within the range; a minute with no candle (no trade, before
    /// listing, in the future) is absent.
    async fn minute_closes(
        &self,
        symbol: &Symbol,
        from_minute: Millis,
        to_minute: Millis,
    ) -> Result<BTreeMap<Millis, Decimal>, ExchangeError> {
        let params = [
            ("symbol", symbol.as_str().to_owned()),
            ("interval", "1m".to_owned()),
            ("startTime", from_minute.to_string()),
            (
                "endTime",
                (to_minute + crate::domain::MINUTE_MS - 1).to_string(),
            ),
            ("limit", crate::exchange::KLINES_PAGE.to_string()),
        ];
        let rows: Vec<WireKline> = match self.call(&KLINES, &params).await {
            // A fee asset with no market against this quote: no fill-time price, which the
            // core reports; it must not fail the run.
            Err(ExchangeError::Api {
                code: BAD_SYMBOL, ..
            }) => return Ok(BTreeMap::new()),
            other => other?,
        };
        let mut closes = BTreeMap::new();
        for row in &rows {
            let (open, _, close) = row.parts(KLINES.path)?;
            if (from_minute..=to_minute).contains(&open) {
                closes.insert(open, close);
            }
        }
        Ok(closes)
    }

    fn flow_kinds(&self) -> &'static [FlowKind] {
        &[
            FlowKind::Deposit,
            FlowKind::Withdrawal,
            FlowKind::Convert,
            FlowKind::DustConversion,
            FlowKind::Distribution,
            FlowKind::Transfer,
            FlowKind::SubAccountTransfer,
            FlowKind::EarnSubscription,
            FlowKind::EarnRedemption,
            FlowKind::EarnReward,
        ]
    }

    /// Every flow of `kind` created at or after `since` (deposits by `insertTime`,
    /// withdrawals by `applyTime`), oldest first (the wallet API answers newest first, per
    /// window).
    async fn flows(&self, kind: FlowKind, since: Millis) -> Result<Vec<Flow>, ExchangeError> {
        match self.flows_of(kind, since).await {
            // The Spot testnet serves only `/api` (FACTS §1): a 404 without Binance's error
            // body from a wallet history says this host has none, not that it failed.
            Err(ExchangeError::Api {
                status: 404,
                code: 0,
                msg,
            }) => Err(ExchangeError::NotAvailable {
                endpoint: format!("the {} history", kind.as_str().replace('_', " ")),
                code: 0,
                msg,
            }),
            other => other,
        }
    }

    async fn api_restrictions(&self) -> Result<ApiRestrictions, ExchangeError> {
        let w: WireApiRestrictions = self.call(&API_RESTRICTIONS, &[]).await?;
        Ok(w.into())
    }

    fn usage(&self) -> Usage {
        self.state().usage.clone()
    }

    fn begin_run(&self, stop_at: Option<Millis>) {
        let mut st = self.state();
        st.usage = Usage::default();
        st.stop_at = stop_at;
        st.ledger_waits = 0;
    }
}
