//! The real CLI binary as the operator runs it, for the tests that drive it
//! (`tests/cli_*.rs`, `tests/bot_example.rs`): spawned with exactly the variables a test
//! gives it (the AWS_* emulator variables inherited, nothing else of the sync's), killed by
//! its PID if it hangs, and its exit code and JSON read back.

use super::{dynamo_store, fresh_account, seed_demo};
use aws_sdk_dynamodb::types::AttributeValue;
use binance_account_sync::domain::AccountId;
use binance_account_sync::store::dynamo::DynamoStore;
use binance_account_sync::store::keys;
use serde_json::Value;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The variables the CLI reads that a test sets explicitly (never inherited): a value in
/// the developer's shell must not change what a test sees.
const CLI_VARS: &[&str] = &[
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_LOG_LEVEL",
    "RUST_LOG",
    "SYNC_ACCOUNT_ID",
    "SYNC_ACCOUNTS",
    "SYNC_TABLE_NAME",
    "SYNC_ALERT_TOPIC_ARN",
    "SYNC_SCHEDULE_MINUTES",
    "SYNC_ROTATION_PER_RUN",
    "BINANCE_SECRET_ID",
    "BINANCE_API_KEY",
    "BINANCE_API_SECRET",
    "BINANCE_PRIVATE_KEY",
    "BINANCE_BASE_URL",
    "USER",
];

/// Run the CLI with `args` and exactly the CLI variables in `env`; killed by its PID if
/// it has not exited within `timeout`.
pub async fn cli_within(args: &[&str], env: &[(&str, String)], timeout: Duration) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_binance-account-sync"));
    cmd.args(args);
    for v in CLI_VARS {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the CLI starts");
    let pid = child.id();
    match tokio::time::timeout(
        timeout,
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    {
        Ok(joined) => joined.expect("join").expect("wait"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .status();
            panic!(
                "the CLI (PID {pid}) did not exit within {} s: {args:?}",
                timeout.as_secs()
            );
        }
    }
}

/// [`cli_within`] 120 s: a whole sync against the simulator fits with room to spare.
pub async fn cli(args: &[&str], env: &[(&str, String)]) -> Output {
    cli_within(args, env, Duration::from_secs(120)).await
}

/// The table-only variables (`status`, `audit`, `discrepancies`, `incident`).
pub fn table_env(store: &DynamoStore, account: &AccountId) -> Vec<(&'static str, String)> {
    vec![
        ("SYNC_ACCOUNT_ID", account.as_str().to_owned()),
        ("SYNC_TABLE_NAME", store.table().to_owned()),
    ]
}

/// Everything `sync` and `check` need, against this exchange.
pub fn full_env(
    base_url: &str,
    store: &DynamoStore,
    account: &AccountId,
) -> Vec<(&'static str, String)> {
    let mut env = table_env(store, account);
    env.extend([
        ("BINANCE_BASE_URL", base_url.to_owned()),
        ("BINANCE_API_KEY", "demo-key".to_owned()),
        ("BINANCE_API_SECRET", "demo-secret".to_owned()),
        ("SYNC_MIN_INTERVAL_SECONDS", "0".to_owned()),
    ]);
    env
}

/// A fresh account on the emulator's table, seeded with the demo's stale records.
pub async fn seeded_demo_table() -> (DynamoStore, AccountId) {
    let store = dynamo_store().await;
    let account = fresh_account();
    seed_demo(&store, &account).await;
    (store, account)
}

/// Set `symbol`'s checkpoint coverage `hours` back, as if that long had passed since a run
/// last read it (between two CLI runs, by hand on the table).
pub async fn age_checkpoint(store: &DynamoStore, account: &AccountId, symbol: &str, hours: i64) {
    let old = binance_account_sync::service::now_ms() - hours * 3_600_000;
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(keys::pk(account)))
        .key("sk", AttributeValue::S(format!("CURSOR#{symbol}")))
        .update_expression("SET covered_through = :t")
        .expression_attribute_values(":t", AttributeValue::N(old.to_string()))
        .send()
        .await
        .expect("age the checkpoint");
}

pub fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", explain(out)))
}

pub fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

pub fn explain(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Run the CLI, assert it exited 0 and return its JSON.
pub async fn ok_json(args: &[&str], env: &[(&str, String)]) -> Value {
    let out = cli(args, env).await;
    assert_eq!(code(&out), Some(0), "{args:?}: {}", explain(&out));
    stdout_json(&out)
}
