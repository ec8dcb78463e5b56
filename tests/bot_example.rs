//! The bot contract's example (`examples/bot_startup.py`, boto3) run with
//! `.venv/bin/python` against the DynamoDB emulator after a real sync (the CLI binary
//! against the simulator) wrote the records and the verdicts: it may trade on a trusted
//! symbol with the corrected balance, and must not once the symbol is untrusted. Run with
//! `scripts/with-stack.sh cargo test --test bot_example` (`make setup` first); without
//! `AWS_ENDPOINT_URL` it FAILS (never skips).

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use binance_account_sync::domain::AccountId;
use binance_account_sync::store::dynamo::DynamoStore;
use binance_account_sync::store::keys;
use serde_json::Value;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::{dynamo_store, fresh_account, repo, seed_demo, Sim};

/// The variables the CLI reads that a test sets explicitly (never inherited).
const CLI_VARS: &[&str] = &[
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_LOG_LEVEL",
    "RUST_LOG",
    "SYNC_ACCOUNT_ID",
    "SYNC_TABLE_NAME",
    "SYNC_ALERT_TOPIC_ARN",
    "SYNC_SCHEDULE_MINUTES",
    "SYNC_ROTATION_PER_RUN",
    "BINANCE_SECRET_ID",
    "BINANCE_API_KEY",
    "BINANCE_API_SECRET",
    "BINANCE_BASE_URL",
    "USER",
];

/// Run the CLI with `args` and exactly the CLI variables in `env`; killed by its PID if
/// it has not exited within 120 s.
async fn cli(args: &[&str], env: &[(&str, String)]) -> Output {
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
        Duration::from_secs(120),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    {
        Ok(joined) => joined.expect("join").expect("wait"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .status();
            panic!("the CLI (PID {pid}) did not exit within 120 s: {args:?}");
        }
    }
}

fn table_env(store: &DynamoStore, account: &AccountId) -> Vec<(&'static str, String)> {
    vec![
        ("SYNC_ACCOUNT_ID", account.as_str().to_owned()),
        ("SYNC_TABLE_NAME", store.table().to_owned()),
    ]
}

fn full_env(
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

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn explain(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn ok_json(args: &[&str], env: &[(&str, String)]) -> Value {
    let out = cli(args, env).await;
    assert_eq!(code(&out), Some(0), "{args:?}: {}", explain(&out));
    stdout_json(&out)
}

/// The example, with the table's variables (the AWS_* emulator variables inherited).
fn bot_startup(store: &DynamoStore, account: &AccountId, symbol: &str) -> Output {
    let python = repo(".venv/bin/python");
    assert!(
        std::path::Path::new(&python).exists(),
        "{python} is missing: run `make setup`"
    );
    Command::new(python)
        .arg(repo("examples/bot_startup.py"))
        .args(["--symbol", symbol])
        .env_remove("SYNC_FUNCTION_NAME")
        .env("SYNC_TABLE_NAME", store.table())
        .env("SYNC_ACCOUNT_ID", account.as_str())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("python runs")
}

#[tokio::test]
async fn the_python_startup_example_trades_only_on_a_trusted_symbol_with_the_corrected_balance() {
    let sim = Sim::demo().await;
    let store = dynamo_store().await;
    let account = fresh_account();
    seed_demo(&store, &account).await;
    let env = full_env(&sim.base_url(), &store, &account);
    let report = ok_json(&["sync", "--emergency", "--json"], &env).await;
    assert_eq!(report["trust"]["untrusted"], 0, "{}", report["trust"]);

    let out = bot_startup(&store, &account, "BTCUSDT");
    assert_eq!(code(&out), Some(0), "{}", explain(&out));
    let doc = stdout_json(&out);
    assert_eq!(doc["may_trade"], true, "{doc}");
    assert_eq!(doc["trust"], "trusted", "{doc}");
    let (usdt_free, _) = sim.balances().await["USDT"];
    assert_eq!(
        doc["current_balance"].as_str().map(support::dec),
        Some(usdt_free),
        "the corrected balance, exact: {doc}"
    );
    assert_eq!(
        doc["balance_corrected_by_sync"], true,
        "the demo's USDT was stale: {doc}"
    );
    assert!(doc["verified_through"].is_string(), "{doc}");

    // BTCUSDT's coverage two days old, a quiet run: untrusted, the bot must not trade.
    let old = binance_account_sync::service::now_ms() - 48 * 3_600_000;
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(keys::pk(&account)))
        .key("sk", AttributeValue::S("CURSOR#BTCUSDT".into()))
        .update_expression("SET covered_through = :t")
        .expression_attribute_values(":t", AttributeValue::N(old.to_string()))
        .send()
        .await
        .expect("age the checkpoint");
    let mut quiet = env.clone();
    quiet.push(("SYNC_ROTATION_PER_RUN", "0".into()));
    ok_json(&["sync", "--json"], &quiet).await;
    let out = bot_startup(&store, &account, "BTCUSDT");
    assert_eq!(code(&out), Some(3), "{}", explain(&out));
    let doc = stdout_json(&out);
    assert_eq!(doc["may_trade"], false, "{doc}");
    assert_eq!(doc["trust"], "untrusted", "{doc}");
    assert!(
        doc["reasons"][0]
            .as_str()
            .is_some_and(|r| r.starts_with("not_covered")),
        "{doc}"
    );
    sim.shutdown().await;
}
