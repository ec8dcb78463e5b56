//! Fault injection for the chaos campaign (`tests/chaos.rs`): a seeded fault schedule, an
//! exchange wrapper in front of the in-process fake exchange and a store wrapper in front of
//! a real store (in memory or DynamoDB), both driven by it, plus a bot that writes while
//! the sync runs and a "kill" that stops a run inside any store call.
//!
//! Every decision is a pure function of (schedule seed, run, attempt, call number), so a
//! failing pair replays exactly from its seeds. No sleeps, no wall-clock races: a killed run
//! is a store call that never answers while the harness drops the run's future.
//!
//! The exchange faults are those the Binance adapter turns them into (what the sync sees
//! once the client's own retries are spent): a 5xx, a timeout or a dropped connection that
//! outlasted the retries is `Unavailable`; one the retries absorbed is invisible (counted
//! as transient); `-1003`/429 is `RateLimited`; 418 is `Banned` and the client remembers the
//! ban's end; a truncated or malformed body is `Malformed`; a clock skew the client could
//! not resync past is `-1021`. The store faults are what the DynamoDB adapter maps the SDK's
//! errors to: throttling, a transaction cancelled by `TransactionConflict` past its
//! attempts, and an unreachable endpoint are `Unavailable`; a multi-transaction `apply` can
//! fail after some of its transactions committed, and an answer can be lost after the
//! writes landed.
//!
//! Include it with `#[path = "support/faults.rs"] mod faults;` beside `fake_exchange`
//! and `support` (it needs `TestStore`).
#![allow(dead_code)]

use crate::fake_exchange::FakeExchange;
use crate::support::TestStore;
use binance_account_sync::domain::{
    AccountId, ApiRestrictions, Correction, ExchangeOrder, Fill, Flow, FlowKind, Millis,
    OrderLookup, Record, Records, Symbol, SymbolInfo, SyncState,
};
use binance_account_sync::exchange::{
    AccountInfo, Exchange, ExchangeError, FillsFrom, FillsQuery, Paged, Usage,
};
use binance_account_sync::report::record_key;
use binance_account_sync::service::now_ms;
use binance_account_sync::store::{
    ApplyOutcome, AuditEntry, LeaseOutcome, LoadScope, Store, StoreError,
};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// SplitMix64 of a tuple of numbers: the one source of every decision.
pub fn mix(parts: &[u64]) -> u64 {
    let mut z: u64 = 0x243F_6A88_85A3_08D3;
    for p in parts {
        z = z.wrapping_add(*p).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
    }
    z
}

/// One schedule period (`SYNC_SCHEDULE_MINUTES` = 30): what "the next run" means.
pub const PERIOD_MS: Millis = 30 * 60 * 1000;

/// The kinds of exchange fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExchangeFault {
    /// A 5xx, a timeout or a dropped connection that the client's retries absorbed.
    Transient,
    /// HTTP 500/502/503 past the retries.
    ServerError,
    /// A request that timed out on every attempt.
    Timeout,
    /// The connection closed without an answer on every attempt.
    DroppedConnection,
    /// `-1003` / HTTP 429 that did not clear.
    RateLimited,
    /// HTTP 418: banned for two minutes; the client remembers it.
    Banned,
    /// 200 with a body cut short.
    Truncated,
    /// `-1021`: the clock skew the client could not resync past.
    ClockSkew,
}

pub const EXCHANGE_FAULTS: [ExchangeFault; 8] = [
    ExchangeFault::Transient,
    ExchangeFault::ServerError,
    ExchangeFault::Timeout,
    ExchangeFault::DroppedConnection,
    ExchangeFault::RateLimited,
    ExchangeFault::Banned,
    ExchangeFault::Truncated,
    ExchangeFault::ClockSkew,
];

/// The kinds of store fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StoreFault {
    /// `ThrottlingException` / `ProvisionedThroughputExceeded` past the SDK's retries.
    Throttled,
    /// A transaction still cancelled by `TransactionConflict` after its attempts (apply).
    TransactionConflict,
    /// The endpoint unreachable.
    Unavailable,
    /// `apply` committed its first transactions (50 corrections each), then failed.
    PartialApply,
    /// `apply` committed everything, then its answer was lost.
    LostAnswer,
}

pub const STORE_FAULTS: [StoreFault; 5] = [
    StoreFault::Throttled,
    StoreFault::TransactionConflict,
    StoreFault::Unavailable,
    StoreFault::PartialApply,
    StoreFault::LostAnswer,
];

/// A fault schedule: which runs are faulty, how often each side fails and how, where each
/// run is cut or killed, and how busy the bot is. Drawn from its seed alone.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub seed: u64,
    /// Runs 0 .. faulty_runs are under faults (the first is the emergency).
    pub faulty_runs: u32,
    /// Per mille of exchange requests that fail, and the kinds drawn (weights per kind).
    pub exchange_pm: u64,
    pub exchange_weights: [u64; 8],
    /// Per mille of store calls that fail, and the kinds drawn.
    pub store_pm: u64,
    pub store_weights: [u64; 5],
    /// Per faulty run: stop after this many units (`RunSettings::max_units`).
    pub cuts: Vec<Option<u64>>,
    /// Per faulty run: the store call at which the run is killed.
    pub kills: Vec<Option<u64>>,
    /// Per mille of `apply` calls the bot writes before (a concurrent writer).
    pub bot_pm: u64,
}

impl Schedule {
    pub fn from_seed(seed: u64) -> Schedule {
        let r = |k: u64| mix(&[seed, k]);
        let faulty_runs = 1 + (r(1) % 4) as u32;
        let exchange_pm = [0, 5, 20, 60, 150, 300][(r(2) % 6) as usize];
        let store_pm = [0, 5, 20, 60, 120][(r(3) % 5) as usize];
        let mut exchange_weights = [0u64; 8];
        for (i, w) in exchange_weights.iter_mut().enumerate() {
            // Some kinds are left out of a schedule: storms of one kind happen.
            *w = if r(10 + i as u64).is_multiple_of(3) {
                0
            } else {
                1 + r(20 + i as u64) % 5
            };
        }
        if exchange_weights.iter().all(|w| *w == 0) {
            exchange_weights[(r(4) % 8) as usize] = 1;
        }
        let mut store_weights = [0u64; 5];
        for (i, w) in store_weights.iter_mut().enumerate() {
            *w = if r(30 + i as u64).is_multiple_of(3) {
                0
            } else {
                1 + r(40 + i as u64) % 5
            };
        }
        if store_weights.iter().all(|w| *w == 0) {
            store_weights[(r(5) % 5) as usize] = 1;
        }
        let cuts = (0..faulty_runs)
            .map(|i| {
                let x = r(100 + u64::from(i));
                x.is_multiple_of(3).then_some(1 + (x >> 8) % 12)
            })
            .collect();
        let kills = (0..faulty_runs)
            .map(|i| {
                let x = r(200 + u64::from(i));
                x.is_multiple_of(4).then_some((x >> 8) % 40)
            })
            .collect();
        let bot_pm = [0, 0, 50, 200, 500][(r(6) % 5) as usize];
        Schedule {
            seed,
            faulty_runs,
            exchange_pm,
            exchange_weights,
            store_pm,
            store_weights,
            cuts,
            kills,
            bot_pm,
        }
    }

    fn pick<T: Copy>(weights: &[u64], kinds: &[T], x: u64) -> T {
        let total: u64 = weights.iter().sum();
        let mut at = x % total.max(1);
        for (w, k) in weights.iter().zip(kinds) {
            if at < *w {
                return *k;
            }
            at -= w;
        }
        kinds[0]
    }

    /// The fault of exchange request `n` of (run, attempt), if any.
    pub fn exchange_fault(&self, run: u32, attempt: u32, n: u64) -> Option<ExchangeFault> {
        if run >= self.faulty_runs {
            return None;
        }
        let x = mix(&[self.seed, 1, u64::from(run), u64::from(attempt), n]);
        (x % 1000 < self.exchange_pm)
            .then(|| Self::pick(&self.exchange_weights, &EXCHANGE_FAULTS, x >> 16))
    }

    /// The fault of store call `n` of (run, attempt), if any. `apply` calls only may draw
    /// the kinds that exist for writes.
    pub fn store_fault(&self, run: u32, attempt: u32, n: u64, apply: bool) -> Option<StoreFault> {
        if run >= self.faulty_runs {
            return None;
        }
        let x = mix(&[self.seed, 2, u64::from(run), u64::from(attempt), n]);
        if x % 1000 >= self.store_pm {
            return None;
        }
        let kind = Self::pick(&self.store_weights, &STORE_FAULTS, x >> 16);
        match kind {
            StoreFault::TransactionConflict | StoreFault::PartialApply | StoreFault::LostAnswer
                if !apply =>
            {
                Some(StoreFault::Throttled)
            }
            k => Some(k),
        }
    }

    /// Whether the bot writes before `apply` call `n` of (run, attempt).
    pub fn bot_writes(&self, run: u32, attempt: u32, n: u64) -> Option<u64> {
        if run >= self.faulty_runs {
            return None;
        }
        let x = mix(&[self.seed, 3, u64::from(run), u64::from(attempt), n]);
        (x % 1000 < self.bot_pm).then_some(x >> 16)
    }
}

/// Where the campaign is: which run and attempt, and the simulated clock (the periods that
/// passed between runs). Shared by both wrappers.
#[derive(Debug, Default)]
pub struct Clock {
    pub run: AtomicU32,
    pub attempt: AtomicU32,
    /// How far the simulated clock is ahead of the wall clock.
    pub offset_ms: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> Millis {
        now_ms() + self.offset_ms.load(Ordering::SeqCst)
    }
    pub fn at(&self) -> (u32, u32) {
        (
            self.run.load(Ordering::SeqCst),
            self.attempt.load(Ordering::SeqCst),
        )
    }
    pub fn pass_period(&self) {
        self.offset_ms.fetch_add(PERIOD_MS, Ordering::SeqCst);
    }
}

/// What the faults did, for the report of a run and the campaign's figures.
#[derive(Debug, Default, Clone)]
pub struct FaultLog {
    /// (run, attempt, fault) of each exchange fault that reached the sync.
    pub exchange: Vec<(u32, u32, ExchangeFault)>,
    pub store: Vec<(u32, u32, StoreFault)>,
    pub transient: u64,
    /// Requests the client refused itself during a ban it knew of.
    pub ban_refusals: u64,
    /// (run, attempt) of each such refusal.
    pub refused: Vec<(u32, u32)>,
}

// The exchange -----------------------------------------------------------------------

/// The fake exchange behind a fault schedule.
pub struct FaultyExchange<'a> {
    pub inner: &'a FakeExchange,
    schedule: Schedule,
    clock: Arc<Clock>,
    calls: AtomicU64,
    banned_until: Mutex<Option<Millis>>,
    /// A symbol whose `myTrades` answers come back truncated (a targeted fault).
    truncate_fills_of: Mutex<Option<Symbol>>,
    /// An endpoint whose answers come back truncated (a targeted fault).
    truncate_endpoint: Mutex<Option<&'static str>>,
    pub log: Arc<Mutex<FaultLog>>,
}

impl<'a> FaultyExchange<'a> {
    /// Every answer of `endpoint` (a path, e.g. `/api/v3/ticker/price`) comes back truncated
    /// until set to None.
    pub fn truncate_endpoint(&self, endpoint: Option<&'static str>) {
        *self.truncate_endpoint.lock().expect("truncate") = endpoint;
    }

    /// Every `myTrades` answer for `symbol` comes back truncated until set to None.
    pub fn truncate_fills_of(&self, symbol: Option<Symbol>) {
        *self.truncate_fills_of.lock().expect("truncate") = symbol;
    }

    pub fn new(
        inner: &'a FakeExchange,
        schedule: Schedule,
        clock: Arc<Clock>,
        log: Arc<Mutex<FaultLog>>,
    ) -> Self {
        Self {
            inner,
            schedule,
            clock,
            calls: AtomicU64::new(0),
            banned_until: Mutex::new(None),
            truncate_fills_of: Mutex::new(None),
            truncate_endpoint: Mutex::new(None),
            log,
        }
    }

    /// Before a request: the ban the client remembers, then the schedule's fault.
    fn gate(&self, endpoint: &str) -> Result<(), ExchangeError> {
        if *self.truncate_endpoint.lock().expect("truncate") == Some(endpoint) {
            return Err(ExchangeError::Malformed {
                endpoint: endpoint.to_owned(),
                detail: "EOF while parsing a list at line 1 column 4096".to_owned(),
            });
        }
        let now = self.clock.now();
        if let Some(until) = *self.banned_until.lock().expect("ban") {
            if until > now {
                self.log.lock().expect("log").ban_refusals += 1;
                let (run, attempt) = self.clock.at();
                self.log.lock().expect("log").refused.push((run, attempt));
                return Err(ExchangeError::Banned {
                    retry_after_s: Some(((until - now) / 1000) as u64),
                });
            }
        }
        let (run, attempt) = self.clock.at();
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let Some(fault) = self.schedule.exchange_fault(run, attempt, n) else {
            return Ok(());
        };
        let mut log = self.log.lock().expect("log");
        if fault == ExchangeFault::Transient {
            log.transient += 1;
            return Ok(());
        }
        log.exchange.push((run, attempt, fault));
        drop(log);
        if std::env::var("CHAOS_VERBOSE").is_ok_and(|v| v == "1") {
            eprintln!("   fault {fault:?} on {endpoint} (run {run} attempt {attempt} request {n})");
        }
        Err(match fault {
            ExchangeFault::Transient => unreachable!(),
            ExchangeFault::ServerError => ExchangeError::Unavailable {
                attempts: 4,
                detail: format!("{endpoint}: HTTP 503 Service Unavailable"),
            },
            ExchangeFault::Timeout => ExchangeError::Unavailable {
                attempts: 4,
                detail: format!("{endpoint}: operation timed out"),
            },
            ExchangeFault::DroppedConnection => ExchangeError::Unavailable {
                attempts: 4,
                detail: format!("{endpoint}: connection closed before message completed"),
            },
            ExchangeFault::RateLimited => ExchangeError::RateLimited {
                retry_after_s: Some(30),
            },
            ExchangeFault::Banned => {
                *self.banned_until.lock().expect("ban") = Some(now + 120_000);
                ExchangeError::Banned {
                    retry_after_s: Some(120),
                }
            }
            ExchangeFault::Truncated => ExchangeError::Malformed {
                endpoint: endpoint.to_owned(),
                detail: "EOF while parsing an object at line 1 column 212".to_owned(),
            },
            ExchangeFault::ClockSkew => ExchangeError::Api {
                status: 400,
                code: -1021,
                msg: "Timestamp for this request is outside of the recvWindow.".to_owned(),
            },
        })
    }
}

impl Exchange for FaultyExchange<'_> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    async fn symbols(
        &self,
        symbols: &[Symbol],
    ) -> Result<BTreeMap<Symbol, SymbolInfo>, ExchangeError> {
        self.gate("/api/v3/exchangeInfo")?;
        self.inner.symbols(symbols).await
    }
    async fn account(&self) -> Result<AccountInfo, ExchangeError> {
        self.gate("/api/v3/account")?;
        self.inner.account().await
    }
    async fn open_orders(&self) -> Result<Vec<ExchangeOrder>, ExchangeError> {
        self.gate("/api/v3/openOrders")?;
        self.inner.open_orders().await
    }
    async fn order(&self, symbol: &Symbol, order_id: u64) -> Result<OrderLookup, ExchangeError> {
        self.gate("/api/v3/order")?;
        self.inner.order(symbol, order_id).await
    }
    async fn fills(&self, symbol: &Symbol, from: FillsFrom) -> Result<Paged<Fill>, ExchangeError> {
        self.gate("/api/v3/myTrades")?;
        self.inner.fills(symbol, from).await
    }
    async fn fills_page(
        &self,
        symbol: &Symbol,
        query: FillsQuery,
    ) -> Result<Vec<Fill>, ExchangeError> {
        self.gate("/api/v3/myTrades")?;
        if self.truncate_fills_of.lock().expect("truncate").as_ref() == Some(symbol) {
            return Err(ExchangeError::Malformed {
                endpoint: "/api/v3/myTrades".to_owned(),
                detail: "EOF while parsing a list at line 1 column 4096".to_owned(),
            });
        }
        self.inner.fills_page(symbol, query).await
    }
    async fn allocations_page(
        &self,
        symbol: &Symbol,
        from_id: u64,
    ) -> Result<Vec<Fill>, ExchangeError> {
        self.gate("/api/v3/myAllocations")?;
        self.inner.allocations_page(symbol, from_id).await
    }
    async fn orders_from(
        &self,
        symbol: &Symbol,
        from_order_id: u64,
    ) -> Result<Paged<ExchangeOrder>, ExchangeError> {
        self.gate("/api/v3/allOrders")?;
        self.inner.orders_from(symbol, from_order_id).await
    }
    async fn orders_page(
        &self,
        symbol: &Symbol,
        from_order_id: u64,
    ) -> Result<Vec<ExchangeOrder>, ExchangeError> {
        self.gate("/api/v3/allOrders")?;
        self.inner.orders_page(symbol, from_order_id).await
    }
    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Decimal>, ExchangeError> {
        self.gate("/api/v3/ticker/price")?;
        self.inner.prices(symbols).await
    }
    async fn minute_closes(
        &self,
        symbol: &Symbol,
        from_minute: Millis,
        to_minute: Millis,
    ) -> Result<BTreeMap<Millis, Decimal>, ExchangeError> {
        self.gate("/api/v3/klines")?;
        self.inner
            .minute_closes(symbol, from_minute, to_minute)
            .await
    }
    fn flow_kinds(&self) -> &'static [FlowKind] {
        self.inner.flow_kinds()
    }
    async fn flows(&self, kind: FlowKind, since: Millis) -> Result<Vec<Flow>, ExchangeError> {
        self.gate(match kind {
            FlowKind::Deposit => "/sapi/v1/capital/deposit/hisrec",
            FlowKind::Withdrawal => "/sapi/v1/capital/withdraw/history",
            _ => "/sapi/flows",
        })?;
        self.inner.flows(kind, since).await
    }
    async fn api_restrictions(&self) -> Result<ApiRestrictions, ExchangeError> {
        self.gate("/sapi/v1/account/apiRestrictions")?;
        self.inner.api_restrictions().await
    }
    fn usage(&self) -> Usage {
        self.inner.usage()
    }
    fn begin_run(&self, stop_at: Option<Millis>) {
        self.inner.begin_run(stop_at)
    }
    /// The ban's end in simulated time: the service persists it while it is ahead of the
    /// wall clock, and a later run restores it, compared again in simulated time.
    fn banned_until(&self) -> Option<Millis> {
        *self.banned_until.lock().expect("ban")
    }
    fn restore_ban(&self, until: Millis) {
        let mut ban = self.banned_until.lock().expect("ban");
        if ban.is_none_or(|b| b < until) {
            *ban = Some(until);
        }
    }
}

// The store --------------------------------------------------------------------------

/// A bot write made while a run was in flight.
#[derive(Debug, Clone)]
pub struct BotWrite {
    pub run: u32,
    /// The record as written (its version the stored one + 1).
    pub record: Record,
}

/// What the bot may write: fills it records late (as the bot values them) and balances it
/// sets from its own (stale) view.
#[derive(Debug, Clone, Default)]
pub struct BotWriter {
    pub trades: Vec<Record>,
    pub balances: Vec<Record>,
}

/// A store behind a fault schedule, a killer and a concurrent bot.
pub struct FaultyStore<'a, S> {
    pub inner: &'a S,
    account: AccountId,
    schedule: Schedule,
    clock: Arc<Clock>,
    calls: AtomicU64,
    applies: AtomicU64,
    /// The store call at which the current attempt is killed.
    kill_at: Mutex<Option<u64>>,
    /// The `apply` of the current attempt that fails before writing (a targeted fault).
    fail_apply_at: Mutex<Option<u64>>,
    pub killed: Notify,
    was_killed: AtomicBool,
    bot: BotWriter,
    pub bot_writes: Mutex<Vec<BotWrite>>,
    pub log: Arc<Mutex<FaultLog>>,
}

impl<'a, S: TestStore> FaultyStore<'a, S> {
    pub fn new(
        inner: &'a S,
        account: AccountId,
        schedule: Schedule,
        clock: Arc<Clock>,
        log: Arc<Mutex<FaultLog>>,
        bot: BotWriter,
    ) -> Self {
        Self {
            inner,
            account,
            schedule,
            clock,
            calls: AtomicU64::new(0),
            applies: AtomicU64::new(0),
            kill_at: Mutex::new(None),
            fail_apply_at: Mutex::new(None),
            killed: Notify::new(),
            was_killed: AtomicBool::new(false),
            bot,
            bot_writes: Mutex::new(Vec::new()),
            log,
        }
    }

    /// A new attempt starts: call numbers count from zero, and it is killed at `kill_at`.
    pub fn begin_attempt(&self, kill_at: Option<u64>) {
        self.calls.store(0, Ordering::SeqCst);
        self.applies.store(0, Ordering::SeqCst);
        *self.kill_at.lock().expect("kill") = kill_at;
        self.was_killed.store(false, Ordering::SeqCst);
    }

    /// Fail the `n`-th `apply` of the current attempt (counting from 0) before it writes.
    pub fn fail_apply_at(&self, n: Option<u64>) {
        *self.fail_apply_at.lock().expect("fail") = n;
    }

    pub fn was_killed(&self) -> bool {
        self.was_killed.load(Ordering::SeqCst)
    }

    /// Before a store call: the kill, then the schedule's fault.
    async fn gate(&self, apply: bool) -> Result<Option<StoreFault>, StoreError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let kill = *self.kill_at.lock().expect("kill");
        if kill == Some(n) {
            self.was_killed.store(true, Ordering::SeqCst);
            self.killed.notify_one();
            // The function is gone: this call never answers (the harness drops the run).
            std::future::pending::<()>().await;
        }
        let (run, attempt) = self.clock.at();
        let Some(fault) = self.schedule.store_fault(run, attempt, n, apply) else {
            return Ok(None);
        };
        self.log
            .lock()
            .expect("log")
            .store
            .push((run, attempt, fault));
        match fault {
            StoreFault::Throttled => Err(StoreError::Unavailable(
                "ThrottlingException: Rate of requests exceeds the allowed throughput.".into(),
            )),
            StoreFault::TransactionConflict => Err(StoreError::Unavailable(
                "transaction 0 still cancelled after 5 attempts: TransactionConflict".into(),
            )),
            StoreFault::Unavailable => Err(StoreError::Unavailable(
                "dispatch failure: io error: Connection refused (os error 111)".into(),
            )),
            StoreFault::PartialApply | StoreFault::LostAnswer => Ok(Some(fault)),
        }
    }

    /// The bot writes one record, as it does while the sync runs.
    async fn bot_write(&self, pick: u64) {
        let (run, _) = self.clock.at();
        let pool = if pick.is_multiple_of(2) && !self.bot.trades.is_empty() {
            &self.bot.trades
        } else if !self.bot.balances.is_empty() {
            &self.bot.balances
        } else if !self.bot.trades.is_empty() {
            &self.bot.trades
        } else {
            return;
        };
        let record = pool[((pick >> 1) % pool.len() as u64) as usize].clone();
        let written = self.inner.bot_write(&self.account, record).await;
        self.bot_writes.lock().expect("bot").push(BotWrite {
            run,
            record: written,
        });
    }
}

impl<S: TestStore> Store for FaultyStore<'_, S> {
    async fn load_scoped(
        &self,
        account: &AccountId,
        scope: &LoadScope,
    ) -> Result<(Records, f64), StoreError> {
        self.gate(false).await?;
        self.inner.load_scoped(account, scope).await
    }
    async fn symbol_cache(
        &self,
        account: &AccountId,
    ) -> Result<Option<binance_account_sync::domain::SymbolCache>, StoreError> {
        self.gate(false).await?;
        self.inner.symbol_cache(account).await
    }
    async fn save_symbol_cache(
        &self,
        account: &AccountId,
        cache: &binance_account_sync::domain::SymbolCache,
    ) -> Result<(), StoreError> {
        self.gate(false).await?;
        self.inner.save_symbol_cache(account, cache).await
    }
    async fn save_progress(
        &self,
        account: &AccountId,
        owner: &str,
        emergency: Option<&binance_account_sync::domain::EmergencyScope>,
        banned_until: Option<Millis>,
    ) -> Result<(), StoreError> {
        self.gate(false).await?;
        self.inner
            .save_progress(account, owner, emergency, banned_until)
            .await
    }
    async fn schema_version(&self, account: &AccountId) -> Result<Option<u32>, StoreError> {
        self.gate(false).await?;
        self.inner.schema_version(account).await
    }
    async fn set_schema_version(
        &self,
        account: &AccountId,
        version: u32,
    ) -> Result<(), StoreError> {
        self.gate(false).await?;
        self.inner.set_schema_version(account, version).await
    }
    async fn load(&self, account: &AccountId) -> Result<(Records, f64), StoreError> {
        self.inner.load(account).await
    }
    async fn acquire_lease(
        &self,
        account: &AccountId,
        owner: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<LeaseOutcome, StoreError> {
        self.gate(false).await?;
        // The lease is compared in simulated time: a run killed a period ago has let go.
        let offset = self.clock.offset_ms.load(Ordering::SeqCst);
        self.inner
            .acquire_lease(account, owner, now + offset, expires_at + offset)
            .await
    }
    async fn finish_run(
        &self,
        account: &AccountId,
        owner: &str,
        state: &SyncState,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.gate(false).await?;
        self.inner.finish_run(account, owner, state, summary).await
    }
    async fn apply(
        &self,
        account: &AccountId,
        run_id: &str,
        now: Millis,
        corrections: &[Correction],
    ) -> Result<ApplyOutcome, StoreError> {
        let n = self.applies.fetch_add(1, Ordering::SeqCst);
        let fault = self.gate(true).await?;
        if *self.fail_apply_at.lock().expect("fail") == Some(n) {
            self.log.lock().expect("log").store.push((
                self.clock.at().0,
                self.clock.at().1,
                StoreFault::Unavailable,
            ));
            return Err(StoreError::Unavailable(
                "dispatch failure: io error: Connection refused (os error 111)".into(),
            ));
        }
        let (run, attempt) = self.clock.at();
        if let Some(pick) = self.schedule.bot_writes(run, attempt, n) {
            self.bot_write(pick).await;
        }
        match fault {
            None => self.inner.apply(account, run_id, now, corrections).await,
            Some(StoreFault::PartialApply) => {
                // Transactions of 50 corrections commit in order; the failure comes after
                // the first `k` of them (none when the apply fits one).
                let chunks = corrections.len().div_ceil(50);
                let k = (mix(&[self.schedule.seed, 4, n]) % chunks.max(1) as u64) as usize;
                let head = &corrections[..(k * 50).min(corrections.len())];
                if !head.is_empty() {
                    self.inner.apply(account, run_id, now, head).await?;
                }
                Err(StoreError::Unavailable(format!(
                    "transaction {k} of run {run_id}: dispatch failure: connection reset"
                )))
            }
            Some(_) => {
                self.inner.apply(account, run_id, now, corrections).await?;
                Err(StoreError::Unavailable(
                    "connection lost after the writes were sent".into(),
                ))
            }
        }
    }
    async fn state(&self, account: &AccountId) -> Result<SyncState, StoreError> {
        self.gate(false).await?;
        self.inner.state(account).await
    }
    async fn save_alert_state(
        &self,
        account: &AccountId,
        alerted: &BTreeMap<String, Millis>,
        last_security_check_at: Option<Millis>,
    ) -> Result<(), StoreError> {
        self.gate(false).await?;
        self.inner
            .save_alert_state(account, alerted, last_security_check_at)
            .await
    }
    async fn audit_since(
        &self,
        account: &AccountId,
        since: Millis,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit_since(account, since).await
    }
}

/// The key of a record, as the checks name it.
pub fn key_of(record: &Record) -> String {
    record_key(record)
}
