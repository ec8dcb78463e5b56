//! `accounts add|list|disable|enable` by the real CLI binary against the DynamoDB emulator:
//! `scripts/with-stack.sh cargo test --test cli_accounts`. Without `AWS_ENDPOINT_URL`
//! these tests FAIL (never skip).
//!
//! Exit codes as every command: 0 success, 1 a failed command (an unknown account, a
//! registry holding an item that does not parse), 2 a usage or configuration error.

mod support;

use binance_account_sync::store::dynamo::DynamoStore;
use binance_account_sync::store::registry::{Lookup, Registry};
use serde_json::Value;
use std::process::Output;
use std::time::Duration;
use support::cli::{cli_within, code, explain, stdout_json as json};
use support::dynamo_store;

/// Run the CLI with only `SYNC_TABLE_NAME` of the sync's variables; killed by its PID if
/// it has not exited within 60 s.
async fn cli(args: &[&str], table: Option<&str>) -> Output {
    let env: Vec<_> = table
        .map(|t| ("SYNC_TABLE_NAME", t.to_owned()))
        .into_iter()
        .collect();
    cli_within(args, &env, Duration::from_secs(60)).await
}

/// The message of a `--json` error document ("" when there is none).
fn error_message(err: &Value) -> &str {
    err["error"]["message"].as_str().unwrap_or("")
}

async fn table() -> DynamoStore {
    dynamo_store().await
}

#[tokio::test]
async fn accounts_added_are_listed_and_a_disabled_one_is_kept_but_not_synced() {
    let store = table().await;
    let t = Some(store.table());
    let out = cli(
        &[
            "accounts",
            "add",
            "alice",
            "--secret",
            "binance/alice",
            "--symbols",
            "btcusdt,ETHUSDT",
            "--tolerance-pct",
            "0.5",
            "--json",
        ],
        t,
    )
    .await;
    assert_eq!(code(&out), Some(0), "{}", explain(&out));
    let added = json(&out);
    assert_eq!(added["account"], "alice");
    assert_eq!(added["symbols"], serde_json::json!(["BTCUSDT", "ETHUSDT"]));
    assert_eq!(added["markets"], serde_json::json!(["spot"]));
    let out = cli(&["accounts", "add", "bob", "--secret", "binance/bob"], t).await;
    assert_eq!(code(&out), Some(0), "{}", explain(&out));

    let out = cli(&["accounts", "disable", "bob", "--json"], t).await;
    assert_eq!(code(&out), Some(0), "{}", explain(&out));
    assert_eq!(json(&out)["enabled"], false);

    let out = cli(&["accounts", "list", "--json"], t).await;
    assert_eq!(code(&out), Some(0), "{}", explain(&out));
    let listing = json(&out);
    let accounts = listing["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), 2, "{listing}");
    assert_eq!(accounts[0]["account"], "alice");
    assert_eq!(accounts[0]["enabled"], true);
    assert_eq!(accounts[1]["account"], "bob");
    assert_eq!(accounts[1]["enabled"], false);
    // What the CLI wrote, the run reads: the same entry.
    let bob = binance_account_sync::domain::AccountId::parse("bob").unwrap();
    match store.lookup(&bob).await.expect("lookup") {
        Lookup::Found(e) => assert!(!e.enabled),
        other => panic!("bob: {other:?}"),
    }

    let out = cli(&["accounts", "enable", "bob"], t).await;
    assert_eq!(code(&out), Some(0), "{}", explain(&out));
    let out = cli(&["accounts", "list"], t).await;
    assert_eq!(code(&out), Some(0), "{}", explain(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 account(s), 2 enabled"), "{text}");
}

#[tokio::test]
async fn a_bad_value_is_a_usage_error_naming_the_field_and_writes_nothing() {
    let store = table().await;
    let t = Some(store.table());
    for (args, field) in [
        (
            vec![
                "accounts",
                "add",
                "carol",
                "--secret",
                "binance/carol",
                "--markets",
                "usdm",
            ],
            "markets",
        ),
        (
            vec![
                "accounts",
                "add",
                "carol",
                "--secret",
                "binance/carol",
                "--tolerance-pct",
                "-2",
            ],
            "tolerance_pct",
        ),
        (
            vec!["accounts", "add", "carol", "--secret", "not a secret name"],
            "secret_id",
        ),
        (
            vec!["accounts", "add", "car#ol", "--secret", "binance/carol"],
            "account",
        ),
    ] {
        let mut with_json = args.clone();
        with_json.push("--json");
        let out = cli(&with_json, t).await;
        assert_eq!(code(&out), Some(2), "{args:?}: {}", explain(&out));
        let err = json(&out);
        assert_eq!(err["error"]["type"], "UsageError", "{err}");
        assert!(error_message(&err).contains(field), "{args:?}: {err}");
    }
    let out = cli(&["accounts", "list", "--json"], t).await;
    assert_eq!(
        json(&out)["accounts"],
        serde_json::json!([]),
        "nothing was written"
    );
    // A missing flag is clap's usage error, exit 2 too.
    let out = cli(&["accounts", "add", "carol"], t).await;
    assert_eq!(code(&out), Some(2), "{}", explain(&out));
}

#[tokio::test]
async fn disabling_an_unknown_account_fails_and_a_missing_table_variable_is_a_config_error() {
    let store = table().await;
    let out = cli(
        &["accounts", "disable", "nobody", "--json"],
        Some(store.table()),
    )
    .await;
    assert_eq!(code(&out), Some(1), "{}", explain(&out));
    assert_eq!(json(&out)["error"]["type"], "UnknownAccount");
    let out = cli(&["accounts", "list", "--json"], None).await;
    assert_eq!(code(&out), Some(2), "{}", explain(&out));
    let err = json(&out);
    assert_eq!(err["error"]["type"], "ConfigError");
    assert!(error_message(&err).contains("SYNC_TABLE_NAME"), "{err}");
}

#[tokio::test]
async fn a_registry_item_that_does_not_parse_is_listed_by_name_and_exits_1() {
    let store = table().await;
    let out = cli(
        &["accounts", "add", "good", "--secret", "binance/good"],
        Some(store.table()),
    )
    .await;
    assert_eq!(code(&out), Some(0), "{}", explain(&out));
    use aws_sdk_dynamodb::types::AttributeValue as A;
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", A::S("REGISTRY".into()))
        .item("sk", A::S("ACCOUNT#by-hand".into()))
        .item("secret_id", A::S("binance/x".into()))
        .item("tolerance_pct", A::S("1".into()))
        .send()
        .await
        .expect("put by hand");
    let out = cli(&["accounts", "list", "--json"], Some(store.table())).await;
    assert_eq!(code(&out), Some(1), "{}", explain(&out));
    let listing = json(&out);
    assert_eq!(listing["accounts"][0]["account"], "good");
    assert_eq!(listing["invalid"][0]["account"], "by-hand");
    assert_eq!(listing["invalid"][0]["field"], "tolerance_pct");
}
