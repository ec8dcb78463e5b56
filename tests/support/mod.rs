//! Shared by the whole-sync integration tests (`tests/sync_*.rs`): the simulator and its
//! control API, the Binance client pointed at it, the two stores (in-memory, DynamoDB on
//! the local emulator) behind one test-side trait, the demo seed, and store wrappers that
//! inject a racing bot write, hold a run inside `apply`, or lose `apply`'s answer.
//!
//! The scenarios themselves (`scenarios.rs`) are written once, generic over the store, and
//! instantiated by `tests/sync_memory.rs` and `tests/sync_dynamo.rs`.
#![allow(dead_code)]

pub mod cli;
pub mod lambda;
pub mod scenarios;
pub mod shapes;
pub mod wrappers;

use binance_account_sync::core::Mode;
use binance_account_sync::domain::{AccountId, Asset, Record, Records};
use binance_account_sync::exchange::binance::{BinanceClient, BinanceConfig};
use binance_account_sync::exchange::credentials::{Credentials, StaticCredentials};
use binance_account_sync::report::record_key;
use binance_account_sync::service::{RunSettings, SyncRequest};
use binance_account_sync::store::dynamo::{
    create_table_from_definition, DynamoStore, TableOptions,
};
use binance_account_sync::store::memory::MemoryStore;
use binance_account_sync::store::{AuditEntry, Store};
use binance_sim::{RunningSim, Scenario, SimConfig};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

pub type Client = BinanceClient<StaticCredentials>;

pub fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|e| panic!("decimal {s:?}: {e}"))
}

/// A fresh account id per test: tests share nothing, even on one table.
pub fn fresh_account() -> AccountId {
    AccountId::parse(format!("itest-{}", uuid::Uuid::new_v4())).expect("account id")
}

/// Where Binance's docs are silent, the unfavourable answer (binance-sim's strict mode):
/// the product must be right either way. The withdrawal fee is inside `amount`, or outside
/// it with `SIM_WITHDRAW_FEE=outside` (CI runs the whole-sync tests both ways).
pub fn strict() -> binance_sim::StrictConfig {
    binance_sim::StrictConfig {
        withdraw_fee_in_amount: !withdraw_fee_outside(),
        ..binance_sim::StrictConfig::strict()
    }
}

pub fn withdraw_fee_outside() -> bool {
    std::env::var("SIM_WITHDRAW_FEE").is_ok_and(|v| v == "outside")
}

/// The in-process simulator plus an HTTP client for its control API.
pub struct Sim {
    running: RunningSim,
    http: reqwest::Client,
}

impl Sim {
    /// The demo scenario (key demo-key/demo-secret, 60 fills, two open orders).
    pub async fn demo() -> Sim {
        let scenario =
            Scenario::from_file(repo("binance-sim/scenarios/demo.json")).expect("demo scenario");
        let running = binance_sim::spawn(SimConfig {
            scenario: Some(scenario),
            strict: strict(),
            ..SimConfig::default()
        })
        .await
        .expect("sim starts");
        Sim {
            running,
            http: reqwest::Client::new(),
        }
    }

    /// A simulator loaded with `scenario` (a scenario document, see binance-sim/README.md).
    pub async fn with_scenario(scenario: Value) -> Sim {
        let scenario =
            Scenario::from_json_str(&scenario.to_string()).expect("the test's scenario parses");
        let running = binance_sim::spawn(SimConfig {
            scenario: Some(scenario),
            strict: strict(),
            ..SimConfig::default()
        })
        .await
        .expect("sim starts");
        Sim {
            running,
            http: reqwest::Client::new(),
        }
    }

    /// Requests and weight per path (`/__sim/counters`).
    pub async fn counters(&self) -> Value {
        let url = format!("{}/__sim/counters", self.base_url());
        self.http
            .get(&url)
            .send()
            .await
            .expect("GET counters")
            .json()
            .await
            .expect("counters json")
    }

    /// Requests sent to one path so far.
    pub async fn requests_to(&self, path: &str) -> u64 {
        self.counters().await["by_path"][path]["requests"]
            .as_u64()
            .unwrap_or(0)
    }

    pub fn base_url(&self) -> String {
        self.running.base_url()
    }

    /// A fresh Binance client (its `Usage` starts at zero, so a run's report shows that
    /// run's weight alone).
    pub fn client(&self) -> Client {
        self.client_with_budget(None)
    }

    pub fn client_with_budget(&self, weight_budget: Option<u64>) -> Client {
        let config = BinanceConfig {
            base_url: self.base_url().parse().expect("url"),
            base_backoff: Duration::from_millis(1),
            weight_budget,
            ..BinanceConfig::default()
        };
        BinanceClient::new(
            config,
            StaticCredentials(Credentials::new("demo-key", "demo-secret")),
            reqwest::Client::new(),
        )
        .expect("client")
    }

    /// POST to the control API; panics with the sim's answer when it refuses.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/__sim/{path}", self.base_url());
        let resp = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = resp.status();
        let text = resp.text().await.expect("control body");
        assert!(status.is_success(), "POST {url} {body} -> {status}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {url}: {e}: {text}"))
    }

    /// Remove every injected fault.
    pub async fn clear_faults(&self) {
        let url = format!("{}/__sim/faults", self.base_url());
        let resp = self
            .http
            .delete(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DELETE {url}: {e}"));
        assert!(
            resp.status().is_success(),
            "DELETE {url}: {}",
            resp.status()
        );
    }

    pub async fn state(&self) -> Value {
        let url = format!("{}/__sim/state", self.base_url());
        self.http
            .get(&url)
            .send()
            .await
            .expect("GET state")
            .json()
            .await
            .expect("state json")
    }

    /// The exchange's balances (free, locked) per asset, from `/__sim/state`.
    pub async fn balances(&self) -> BTreeMap<String, (Decimal, Decimal)> {
        let state = self.state().await;
        state["balances"]
            .as_array()
            .expect("balances array")
            .iter()
            .map(|b| {
                let s = |k: &str| dec(b[k].as_str().unwrap_or_else(|| panic!("{k} in {b}")));
                (
                    b["asset"].as_str().expect("asset").to_owned(),
                    (s("free"), s("locked")),
                )
            })
            .collect()
    }

    /// The number of fills the exchange holds.
    pub async fn trade_count(&self) -> usize {
        self.state().await["trades"].as_u64().expect("trades count") as usize
    }

    /// Move the simulator's clock past the strict mode's history lag: the next run comes
    /// later than a fill takes to reach `myTrades` (runs are minutes apart).
    pub async fn after_history_lag(&self) {
        let lag = binance_sim::StrictConfig::strict().history_lag_ms;
        self.control("clock", json!({"advance_ms": lag + 1000}))
            .await;
    }

    /// Act as the owner: a manual MARKET trade. Returns (trade id, price) of its fill. The
    /// sim's clock then moves past the history lag (see `after_history_lag`); a test of
    /// the lag itself uses `manual_trade_now`.
    pub async fn manual_trade(&self, symbol: &str, side: &str, quantity: &str) -> (u64, Decimal) {
        let fill = self.manual_trade_now(symbol, side, quantity).await;
        self.after_history_lag().await;
        fill
    }

    /// `manual_trade` without waiting out the history lag.
    pub async fn manual_trade_now(
        &self,
        symbol: &str,
        side: &str,
        quantity: &str,
    ) -> (u64, Decimal) {
        let order = self
            .control(
                "trades",
                json!({"symbol": symbol, "side": side, "quantity": quantity}),
            )
            .await;
        let fills = order["fills"].as_array().expect("FULL order has fills");
        assert_eq!(fills.len(), 1, "one fill at the current price: {order}");
        (
            fills[0]["tradeId"].as_u64().expect("tradeId"),
            dec(fills[0]["price"].as_str().expect("price")),
        )
    }

    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

/// A store as the tests see it: the port, plus the bot's own write.
pub trait TestStore: Store {
    /// Play the bot: write `record` at the stored version + 1 (conditional on it).
    fn bot_write(&self, account: &AccountId, record: Record)
        -> impl Future<Output = Record> + Send;
    /// Every item the account's partition holds, by an identity that never changes once
    /// written (DynamoDB: every sort key of the partition, read raw, whatever the item).
    fn stored_items(&self, account: &AccountId) -> impl Future<Output = BTreeSet<String>> + Send;
}

impl TestStore for MemoryStore {
    async fn bot_write(&self, account: &AccountId, record: Record) -> Record {
        self.put_bot_record(account, record)
    }
    async fn stored_items(&self, account: &AccountId) -> BTreeSet<String> {
        let records = keyed(&self.records(account)).into_keys();
        let audit = self.audit(account).into_iter().map(|e| {
            format!(
                "AUDIT {} {} {} v{}",
                e.at,
                e.run_id,
                record_key(&e.correction.after),
                binance_account_sync::store::keys::record_version(&e.correction.after)
            )
        });
        let runs = self.runs(account).into_iter().map(|r| format!("RUN {r}"));
        records.chain(audit).chain(runs).collect()
    }
}

impl TestStore for DynamoStore {
    async fn bot_write(&self, account: &AccountId, record: Record) -> Record {
        self.put_bot_record(account, record)
            .await
            .expect("bot write to DynamoDB")
    }
    async fn stored_items(&self, account: &AccountId) -> BTreeSet<String> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let mut keys = BTreeSet::new();
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .consistent_read(true)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(binance_account_sync::store::keys::pk(account)),
                )
                .projection_expression("sk")
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("query the partition");
            for item in out.items.unwrap_or_default() {
                keys.insert(item["sk"].as_s().expect("sk is a string").clone());
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return keys,
            }
        }
    }
}

pub fn memory_store() -> MemoryStore {
    MemoryStore::new()
}

/// A DynamoDB store on a fresh table of the local emulator. Fails (never skips) when
/// `AWS_ENDPOINT_URL` is not set.
pub async fn dynamo_store() -> DynamoStore {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => {}
        _ => panic!(
            "AWS_ENDPOINT_URL is not set: the DynamoDB sync tests need the local emulator.\n\
             Run: scripts/with-stack.sh cargo test --test sync_dynamo"
        ),
    }
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = format!("bas-itest-{}", uuid::Uuid::new_v4());
    create_table_from_definition(
        &client,
        &table,
        include_str!("../../infra/table.json"),
        TableOptions {
            deletion_protection: Some(false),
        },
    )
    .await
    .expect("create the test table");
    DynamoStore::new(client, table)
}

/// The bot's records of the demo account (`demo/bot-records.json`), written bot-style.
pub async fn seed_demo<S: TestStore>(store: &S, account: &AccountId) {
    #[derive(serde::Deserialize)]
    struct Seed {
        records: Vec<Record>,
    }
    let text = std::fs::read_to_string(repo("demo/bot-records.json")).expect("seed");
    let seed: Seed = serde_json::from_str(&text).expect("seed parses");
    for r in seed.records {
        store.bot_write(account, r).await;
    }
}

pub async fn records<S: Store>(store: &S, account: &AccountId) -> Records {
    store.load(account).await.expect("load").0
}

pub async fn audit<S: Store>(store: &S, account: &AccountId) -> Vec<AuditEntry> {
    store.audit_since(account, 0).await.expect("audit")
}

/// Every record by its table key (`BALANCE#USDT`, `TRADE#BTCUSDT#42`, ...).
pub fn keyed(records: &Records) -> BTreeMap<String, Record> {
    records
        .every_record()
        .map(|r| (record_key(&r), r))
        .collect()
}

pub fn request(account: &AccountId, mode: Mode) -> SyncRequest {
    SyncRequest {
        account: account.clone(),
        mode,
        dry_run: false,
        lookback_days: None,
        deadline: None,
        invocation_id: None,
    }
}

/// One sync of `account` on the simulator with the default rules; panics if it fails.
#[allow(dead_code)]
pub async fn sync_with_defaults<S: Store>(
    sim: &Sim,
    store: &S,
    account: &AccountId,
    mode: Mode,
) -> binance_account_sync::report::SyncReport {
    binance_account_sync::service::run_sync(
        &sim.client(),
        store,
        &binance_account_sync::core::RulesConfig::default(),
        &settings(),
        &request(account, mode),
    )
    .await
    .expect("sync runs")
}

/// No minimum interval: the tests run periodic syncs back to back.
pub fn settings() -> RunSettings {
    RunSettings {
        min_interval: Duration::ZERO,
        ..RunSettings::default()
    }
}

pub fn asset(s: &str) -> Asset {
    Asset::parse(s).expect("asset")
}

/// The DB's balances equal the exchange's exactly (as decimals): every asset the exchange
/// holds, and zero for every asset the DB has that the exchange does not.
pub fn assert_balances_equal_exchange(
    records: &Records,
    exchange: &BTreeMap<String, (Decimal, Decimal)>,
) {
    for (a, (free, locked)) in exchange {
        let zero = free.is_zero() && locked.is_zero();
        match records.balances.get(&asset(a)) {
            Some(b) => assert_eq!(
                (b.free, b.locked),
                (*free, *locked),
                "balance {a}: DB (free, locked) vs exchange"
            ),
            None => assert!(
                zero,
                "balance {a} missing in DB; exchange has {free}/{locked}"
            ),
        }
    }
    for (a, b) in &records.balances {
        if !exchange.contains_key(a.as_str()) {
            assert!(
                b.free.is_zero() && b.locked.is_zero(),
                "DB balance {a} = {}/{} but the exchange has none",
                b.free,
                b.locked
            );
        }
    }
}

/// Every balance the run explained is explained to the last unit, and no discrepancy is
/// Critical.
pub fn assert_nothing_unexplained(report: &binance_account_sync::report::SyncReport) {
    for e in &report.explanations {
        assert_eq!(e.unexplained, Decimal::ZERO, "{e:?}");
    }
    assert!(
        report
            .discrepancies
            .iter()
            .all(|d| d.severity != binance_account_sync::domain::Severity::Critical),
        "{:?}",
        report.discrepancies
    );
}
