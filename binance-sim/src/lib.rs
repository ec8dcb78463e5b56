//! # binance-sim: a faithful local simulator of the Binance Spot REST API
//!
//! Tests of `binance-account-sync` talk to this server instead of
//! `api.binance.com`. It answers the real paths with the real JSON shapes,
//! checks HMAC, Ed25519 and RSA signatures and timestamps exactly as Binance documents,
//! counts request weight per IP and answers 429 / 418, and can be steered by
//! tests through an unsigned control API under `/__sim`.
//!
//! Layout (one concept per file, in the spirit of tokio's mini-redis):
//!
//! - [`scenario`]: the JSON scenario file (starting state, relative times).
//! - [`state`]: the account and market data, and how it renders as JSON.
//! - [`matching`]: placing, filling and canceling orders; balance moves.
//! - [`sor`]: Smart Order Routing: the SOR configurations, SOR orders
//!   filled by allocations across their books, and the allocations.
//! - [`ledger`]: the Funding wallet and the balance moves without trades
//!   (transfers, Convert, dust, distributions, Simple Earn).
//! - [`subaccount`]: transfers between this account and its master or a
//!   sibling sub-account, and the switch to play a master account.
//! - [`futures`]: the USDⓈ-M futures account: contracts and mark prices,
//!   the futures wallet, positions (One-way and Hedge Mode), orders, fills
//!   and the income ledger.
//! - [`futures_control`]: the `/__sim/futures` control actions (fills,
//!   closes, resting orders, mark prices, funding, liquidation, position
//!   mode).
//! - [`clock`]: server time = real time + a controllable skew.
//! - [`signing`]: the signature over the raw query string + body: HMAC-SHA256
//!   (hex), Ed25519 or RSA (base64), by how the key was registered.
//! - [`testkeys`]: fresh Ed25519/RSA key pairs as PEM, for clients' tests.
//! - [`params`]: parameter parsing with Binance's error codes.
//! - [`weights`]: endpoint weights and the per-IP 429/418 limiter.
//! - [`faults`]: injected latency, 5XX, 429 storms, bad JSON, dropped TCP.
//! - [`errors`]: the `{code, msg}` error bodies.
//! - [`json`]: ordered JSON, so responses keep Binance's field order.
//! - [`api`]: the `/api/v3`, `/sapi/v1` and `/fapi` endpoints and their
//!   pipeline.
//! - [`control`]: the `/__sim` control API.
//! - [`server`]: the accept loop (ours, so a fault can drop a connection).
//! - [`strict`]: strict mode, the unfavourable answers where the docs are
//!   silent (FACTS.md §12), one switch each.
//!
//! Entry point for other crates' tests: [`spawn`] a [`SimConfig`] and talk
//! to [`RunningSim::base_url`].

pub mod api;
pub mod clock;
pub mod control;
pub mod errors;
pub mod faults;
pub mod futures;
pub mod futures_control;
pub mod json;
pub mod ledger;
pub mod matching;
pub mod params;
pub mod scenario;
pub mod server;
pub mod signing;
pub mod sor;
pub mod state;
pub mod strict;
pub mod subaccount;
pub mod testkeys;
pub mod weights;

pub use scenario::Scenario;
pub use strict::StrictConfig;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// `/api` REQUEST_WEIGHT limit per minute per IP (Binance: 6000).
    pub weight_limit_per_minute: u64,
    /// Starting state; `None` loads `scenarios/minimal.json`.
    pub scenario: Option<Scenario>,
    /// After the first 429 of a window, this many more requests are answered
    /// 429; the next one is answered 418 and bans the IP.
    pub ban_after_429s: u32,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Strict-mode switches; the default is the favourable behaviour. A
    /// scenario's own `strict` object, if any, replaces this.
    pub strict: StrictConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            weight_limit_per_minute: 6000,
            scenario: None,
            ban_after_429s: 3,
            port: 0,
            strict: StrictConfig::default(),
        }
    }
}

/// Per-path and per-key request and weight counters (`GET /__sim/counters`).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Counter {
    pub requests: u64,
    pub weight: u64,
}

#[derive(Debug, Default)]
pub struct Counters {
    pub by_path: BTreeMap<String, Counter>,
    pub by_key: BTreeMap<String, Counter>,
}

/// Everything the request handlers share.
#[derive(Debug)]
pub struct Shared {
    pub clock: clock::Clock,
    pub exchange: Mutex<state::Exchange>,
    pub limiter: Mutex<weights::Limiter>,
    pub faults: Mutex<faults::Faults>,
    pub counters: Mutex<Counters>,
}

/// Locks a mutex; a panic in another handler must not wedge the simulator.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Builds the shared state, loading the scenario at the scenario's clock.
    pub fn new(config: &SimConfig) -> std::io::Result<Arc<Shared>> {
        let scenario = match &config.scenario {
            Some(s) => s.clone(),
            None => Scenario::minimal().map_err(std::io::Error::other)?,
        };
        let clock = clock::Clock::default();
        let mut exchange = load_scenario(&clock, &scenario).map_err(std::io::Error::other)?;
        exchange.strict = scenario.strict.clone().unwrap_or(config.strict.clone());
        Ok(Arc::new(Shared {
            clock,
            exchange: Mutex::new(exchange),
            limiter: Mutex::new(weights::Limiter::new(
                config.weight_limit_per_minute,
                config.ban_after_429s,
            )),
            faults: Mutex::new(faults::Faults::default()),
            counters: Mutex::new(Counters::default()),
        }))
    }
}

impl Shared {
    /// Locks the exchange after applying what the sim clock says is due
    /// (transfer status changes, see [`state::Exchange::settle`]).
    pub fn exchange_at(&self, now: i64) -> MutexGuard<'_, state::Exchange> {
        let mut ex = lock(&self.exchange);
        ex.settle(now);
        ex
    }
}

/// Sets the clock from the scenario and builds its exchange state (with
/// the scenario's `strict` switches, or the favourable default).
pub fn load_scenario(
    clock: &clock::Clock,
    s: &Scenario,
) -> Result<state::Exchange, scenario::ScenarioError> {
    match s.clock.start_ms {
        Some(start) => clock.set_skew_ms(start - clock::real_now_ms()),
        None => clock.set_skew_ms(s.clock.skew_ms),
    }
    let mut ex = state::Exchange::from_scenario(s, clock.now_ms())?;
    ex.strict = s.strict.clone().unwrap_or_default();
    Ok(ex)
}

/// A simulator serving on 127.0.0.1.
#[derive(Debug)]
pub struct RunningSim {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSim {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, closes every connection and waits for the server.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Dropping a running simulator stops it too (without waiting), so a test
/// that forgets `shutdown` does not leave a server behind.
impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts a simulator on `127.0.0.1:config.port` (0 = a free port).
pub async fn spawn(config: SimConfig) -> std::io::Result<RunningSim> {
    let shared = Shared::new(&config)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let router = server::router(shared.clone());
    let task = tokio::spawn(server::serve(listener, router, rx));
    Ok(RunningSim {
        addr,
        shared,
        shutdown: Some(tx),
        task: Some(task),
    })
}
