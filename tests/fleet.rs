//! A fleet deployment (`SYNC_ACCOUNTS=registry`) against one simulator and the local
//! emulator: the registry, the real Secrets Manager reads, the shared weight ledger on
//! DynamoDB, and several accounts synced at once.
//!
//! Run: `scripts/with-stack.sh cargo test --test fleet`. Without `AWS_ENDPOINT_URL` these
//! tests FAIL (never skip).
//!
//! The weight test asserts on the simulator's OWN per-IP count (`max_minute_weight` of
//! `/__sim/counters`): every client of the simulator is 127.0.0.1, as every Lambda behind
//! one NAT IP is one IP to Binance.

mod support;

use binance_account_sync::config::FleetConfig;
use binance_account_sync::domain::AccountId;
use binance_account_sync::fleet::ledger::{minute_of, LedgerKey};
use binance_account_sync::fleet::{parse_entry, Field, RawAccount};
use binance_account_sync::lambda::wiring::{fleet_from, FleetImpl};
use binance_account_sync::lambda::InvocationContext;
use binance_account_sync::store::dynamo::DynamoStore;
use binance_account_sync::store::registry::Registry;
use binance_account_sync::store::weight::WeightLedger;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use support::{dynamo_store, repo, Sim};

/// The demo scenario with one API key per account (all on the one simulated account:
/// each registry account has its own partition, its own key and its own secret).
fn scenario_with_keys(keys: &[&str]) -> Value {
    let text = std::fs::read_to_string(repo("binance-sim/scenarios/demo.json")).expect("demo");
    let mut scenario: Value = serde_json::from_str(&text).expect("demo parses");
    let template = scenario["api_keys"][0].clone();
    let mut list = Vec::new();
    for k in keys {
        let mut key = template.clone();
        key["key"] = json!(format!("{k}-key"));
        key["secret"] = json!(format!("{k}-secret"));
        list.push(key);
    }
    scenario["api_keys"] = Value::Array(list);
    scenario
}

async fn aws() -> aws_config::SdkConfig {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => {}
        _ => panic!(
            "AWS_ENDPOINT_URL is not set: the fleet tests need the local emulator.\n\
             Run: scripts/with-stack.sh cargo test --test fleet"
        ),
    }
    aws_config::load_from_env().await
}

/// A secret holding `value`; returns its name.
async fn secret(aws: &aws_config::SdkConfig, value: &str) -> String {
    let name = format!("binance/fleet-{}", uuid::Uuid::new_v4());
    aws_sdk_secretsmanager::Client::new(aws)
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .expect("create the secret");
    name
}

/// A fresh account of the registry whose secret holds `key`'s pair on the simulator.
async fn add_account(aws: &aws_config::SdkConfig, store: &DynamoStore, key: &str) -> AccountId {
    let value = json!({"api_key": format!("{key}-key"), "api_secret": format!("{key}-secret")});
    add_account_with_secret(aws, store, &value.to_string()).await
}

async fn add_account_with_secret(
    aws: &aws_config::SdkConfig,
    store: &DynamoStore,
    secret_value: &str,
) -> AccountId {
    let secret = secret(aws, secret_value).await;
    let account = support::fresh_account();
    let entry = parse_entry(RawAccount {
        account: account.as_str().to_owned(),
        secret: Field::Present(secret),
        ..RawAccount::default()
    })
    .expect("a valid entry");
    store.put_account(&entry).await.expect("registry put");
    account
}

fn fleet(aws: &aws_config::SdkConfig, store: &DynamoStore, sim: &Sim, share: u64) -> FleetImpl {
    let vars: HashMap<&str, String> = [
        ("SYNC_ACCOUNTS", "registry".to_owned()),
        ("SYNC_TABLE_NAME", store.table().to_owned()),
        ("BINANCE_BASE_URL", sim.base_url()),
        ("SYNC_WEIGHT_STOP_AT", share.to_string()),
        ("SYNC_WEIGHT_BUDGET", "3000".to_owned()),
        ("SYNC_HISTORY_LAG_SECONDS", "0".to_owned()),
    ]
    .into_iter()
    .collect();
    let config = FleetConfig::from_lookup(|k| vars.get(k).cloned()).expect("fleet config");
    fleet_from(config, aws).expect("the fleet builds")
}

fn ctx(seconds: i64) -> InvocationContext {
    InvocationContext {
        request_id: uuid::Uuid::new_v4().to_string(),
        deadline_ms: Some(binance_account_sync::service::now_ms() + seconds * 1000),
    }
}

/// One invocation per account, each on its own task, all started at once.
async fn at_once(
    fleet: &Arc<FleetImpl>,
    accounts: &[AccountId],
    deadline_s: i64,
) -> Vec<Result<Value, binance_account_sync::lambda::HandlerError>> {
    let tasks: Vec<_> = accounts
        .iter()
        .map(|a| {
            let fleet = fleet.clone();
            let payload = json!({"account": a.as_str(), "mode": "periodic"});
            tokio::spawn(async move { fleet.handle(payload, &ctx(deadline_s)).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("the invocation's task"));
    }
    out
}

fn ledger_key(store: &DynamoStore) -> LedgerKey {
    LedgerKey::deployment(store.table())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_accounts_synced_at_once_stay_within_the_shared_weight_share() {
    let aws = aws().await;
    let store = dynamo_store().await;
    let sim = Sim::with_scenario(scenario_with_keys(&["a", "b", "c"])).await;
    let mut accounts = Vec::new();
    for k in ["a", "b", "c"] {
        accounts.push(add_account(&aws, &store, k).await);
    }
    // One account's first sync costs a few hundred weight; three at once want more than
    // the share in one minute, so the ledger must hold some of them to the next minute.
    let share = 400;
    let fleet = Arc::new(fleet(&aws, &store, &sim, share));
    let started_minute = minute_of(binance_account_sync::service::now_ms());
    let results = at_once(&fleet, &accounts, 240).await;

    let mut total_weight = 0;
    for (account, result) in accounts.iter().zip(&results) {
        let report = result
            .as_ref()
            .unwrap_or_else(|e| panic!("{account}: {} {e}", e.kind()));
        assert_eq!(
            report["outcome"], "complete",
            "{account} synced to its end: {report}"
        );
        assert_eq!(report["account"], account.as_str());
        total_weight += report["exchange_usage"]["weight"]
            .as_u64()
            .expect("exchange_usage.weight");
    }
    assert!(
        total_weight > share,
        "the three runs together ({total_weight}) must want more than the share ({share}), or this proves nothing"
    );
    let counters = sim.counters().await;
    let max_minute = counters["max_minute_weight"]
        .as_u64()
        .expect("max_minute_weight");
    assert!(
        max_minute <= share,
        "the simulator saw {max_minute} weight in one minute from the one IP, above the share of {share}"
    );
    // The ledger holds what was spent, minute by minute, never above the share.
    let now_minute = minute_of(binance_account_sync::service::now_ms());
    let mut ledger_total = 0;
    for m in started_minute..=now_minute + 1 {
        let used = store
            .used(&ledger_key(&store), m)
            .await
            .expect("ledger read");
        assert!(used <= share, "minute {m}: ledger at {used}");
        ledger_total += used;
    }
    assert!(
        ledger_total >= total_weight,
        "ledger {ledger_total} < spent {total_weight}"
    );
    for account in &accounts {
        let state = binance_account_sync::store::Store::state(&store, account)
            .await
            .expect("state");
        assert!(
            state.last_success_at.is_some(),
            "{account} has a success recorded"
        );
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_account_with_a_malformed_secret_fails_alone() {
    let aws = aws().await;
    let store = dynamo_store().await;
    let sim = Sim::with_scenario(scenario_with_keys(&["a", "b"])).await;
    let good_a = add_account(&aws, &store, "a").await;
    let broken = add_account_with_secret(&aws, &store, "this is not JSON").await;
    let good_b = add_account(&aws, &store, "b").await;
    let fleet = Arc::new(fleet(&aws, &store, &sim, 4800));
    let mut results = at_once(&fleet, &[good_a, broken.clone(), good_b], 120)
        .await
        .into_iter();
    let (a, bad, b) = (
        results.next().expect("a"),
        results.next().expect("bad"),
        results.next().expect("b"),
    );
    assert_eq!(a.expect("a syncs")["outcome"], "complete");
    assert_eq!(b.expect("b syncs")["outcome"], "complete");
    let e = bad.expect_err("the malformed secret fails its account's run");
    assert_eq!(e.kind(), "ExchangeConfigError", "{e}");
    assert!(
        !e.to_string().contains("this is not JSON"),
        "the secret is never echoed: {e}"
    );
    let state = binance_account_sync::store::Store::state(&store, &broken)
        .await
        .expect("state");
    assert!(state.last_success_at.is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn list_accounts_answers_the_enabled_accounts_and_names_a_bad_item() {
    let aws = aws().await;
    let store = dynamo_store().await;
    let sim = Sim::with_scenario(scenario_with_keys(&["a"])).await;
    let enabled = add_account(&aws, &store, "a").await;
    let disabled = add_account(&aws, &store, "a").await;
    store
        .set_enabled(&disabled, false, 1)
        .await
        .expect("disable");
    // An item written by hand with a market this version does not know.
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("REGISTRY".into()),
        )
        .item(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("ACCOUNT#by-hand".into()),
        )
        .item(
            "secret_id",
            aws_sdk_dynamodb::types::AttributeValue::S("binance/x".into()),
        )
        .item(
            "markets",
            aws_sdk_dynamodb::types::AttributeValue::L(vec![
                aws_sdk_dynamodb::types::AttributeValue::S("futures".into()),
            ]),
        )
        .send()
        .await
        .expect("put by hand");
    let fleet = fleet(&aws, &store, &sim, 4800);
    let answer = fleet
        .handle(json!({"action": "list_accounts"}), &ctx(60))
        .await
        .expect("list");
    assert_eq!(answer["accounts"], json!([{"account": enabled.as_str()}]));
    assert_eq!(answer["disabled"], 1);
    assert_eq!(answer["invalid"][0]["account"], "by-hand");
    assert_eq!(answer["invalid"][0]["field"], "markets");

    // The disabled and the invalid account are refused by name, before any request.
    let e = fleet
        .handle(
            json!({"account": disabled.as_str(), "mode": "periodic"}),
            &ctx(60),
        )
        .await
        .expect_err("disabled");
    assert_eq!(e.kind(), "AccountDisabled");
    let e = fleet
        .handle(json!({"account": "by-hand", "mode": "periodic"}), &ctx(60))
        .await
        .expect_err("invalid");
    assert_eq!(e.kind(), "RegistryItemInvalid");
    assert!(e.to_string().contains("markets"), "{e}");
    let e = fleet
        .handle(json!({"account": "nobody", "mode": "periodic"}), &ctx(60))
        .await
        .expect_err("unknown");
    assert_eq!(e.kind(), "UnknownAccount");
    let e = fleet
        .handle(json!({"mode": "periodic"}), &ctx(60))
        .await
        .expect_err("no account");
    assert_eq!(e.kind(), "PayloadError");
    assert_eq!(
        sim.counters().await["max_minute_weight"],
        0,
        "no request was sent"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_ban_recorded_by_one_invocation_stops_every_other_before_it_sends() {
    let aws = aws().await;
    let store = dynamo_store().await;
    let sim = Sim::with_scenario(scenario_with_keys(&["a"])).await;
    let account = add_account(&aws, &store, "a").await;
    let until = binance_account_sync::service::now_ms() + 120_000;
    store
        .record_ban(&ledger_key(&store), until)
        .await
        .expect("ban recorded");
    let fleet = fleet(&aws, &store, &sim, 4800);
    let e = fleet
        .handle(
            json!({"account": account.as_str(), "mode": "periodic"}),
            &ctx(60),
        )
        .await
        .expect_err("banned");
    assert_eq!(e.kind(), "ExchangeBanned", "{e}");
    let counters = sim.counters().await;
    assert_eq!(
        counters["max_minute_weight"], 0,
        "no /api request reached the exchange during the ban: {counters}"
    );
    // The ban's end is kept in the account's state too (a cold start honours it).
    let state = binance_account_sync::store::Store::state(&store, &account)
        .await
        .expect("state");
    assert_eq!(state.banned_until, Some(until));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_ledger_full_until_the_deadline_ends_the_run_partial_not_failed() {
    let aws = aws().await;
    let store = dynamo_store().await;
    let sim = Sim::with_scenario(scenario_with_keys(&["a"])).await;
    let account = add_account(&aws, &store, "a").await;
    let share = 4800;
    // Other invocations (or the bot, through the header) have used the share of this
    // minute and of the next ones: no minute the run could wait for has room.
    let now_minute = minute_of(binance_account_sync::service::now_ms());
    for m in now_minute..now_minute + 3 {
        store
            .raise(&ledger_key(&store), m, share)
            .await
            .expect("fill the minute");
    }
    let fleet = fleet(&aws, &store, &sim, share);
    // 20 s to the deadline (10 s of it the run's margin): at most one short wait.
    let report = fleet
        .handle(
            json!({"account": account.as_str(), "mode": "periodic"}),
            &ctx(20),
        )
        .await
        .unwrap_or_else(|e| panic!("a full ledger is not a failure: {} {e}", e.kind()));
    assert_eq!(report["outcome"], "partial", "{report}");
    assert!(
        report["outcome_detail"]
            .as_str()
            .unwrap_or("")
            .contains("shared weight"),
        "{report}"
    );
    assert_eq!(
        sim.counters().await["max_minute_weight"],
        0,
        "no /api request was sent past the share"
    );
    let state = binance_account_sync::store::Store::state(&store, &account)
        .await
        .expect("state");
    assert!(state.last_error.is_none(), "{:?}", state.last_error);
    assert!(
        state
            .last_outcome
            .as_deref()
            .unwrap_or("")
            .starts_with("partial"),
        "{:?}",
        state.last_outcome
    );
    assert!(state.lease_owner.is_none(), "the lease is released");
    sim.shutdown().await;
}
