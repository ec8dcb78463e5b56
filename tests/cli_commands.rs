//! The operator's commands and their exit codes, by the real CLI binary against the
//! simulator and the DynamoDB emulator: run with
//! `scripts/with-stack.sh cargo test --test cli_commands`. Without `AWS_ENDPOINT_URL`
//! the tests that need the table FAIL (never skip).
//!
//! Exit codes: 0 success, 1 a failed run or check, 2 a usage or configuration error,
//! 3 `sync --detailed-exitcode` that found discrepancies. With `--json` an error is
//! `{"error": {"type": ..., "message": ...}}` on stdout.

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use binance_account_sync::store::keys;
use serde_json::Value;
use support::cli::{cli, code, explain, full_env, seeded_demo_table, stdout_json, table_env};
use support::{dynamo_store, fresh_account, repo, Sim};

/// The check of this name in `check --json` output.
fn check<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name}: {doc}"))
}

/// The demo scenario with the key's restrictions replaced.
fn demo_with_restrictions(restrictions: Value) -> Value {
    let text = std::fs::read_to_string(repo("binance-sim/scenarios/demo.json")).expect("demo");
    let mut scenario: Value = serde_json::from_str(&text).expect("demo parses");
    scenario["api_keys"][0]["restrictions"] = restrictions;
    scenario
}

#[tokio::test]
async fn a_usage_error_exits_2_and_is_json_with_json() {
    let out = cli(&["status", "--json", "--no-such-flag"], &[]).await;
    assert_eq!(code(&out), Some(2), "{}", explain(&out));
    let doc = stdout_json(&out);
    assert_eq!(doc["error"]["type"], "UsageError", "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("--no-such-flag")),
        "{doc}"
    );

    let out = cli(&["frobnicate"], &[]).await;
    assert_eq!(code(&out), Some(2), "{}", explain(&out));
    let out = cli(&["--help"], &[]).await;
    assert_eq!(code(&out), Some(0), "{}", explain(&out));
}

#[tokio::test]
async fn a_missing_variable_exits_2_naming_it_as_a_config_error() {
    let out = cli(&["sync", "--json"], &[("SYNC_TABLE_NAME", "t-able".into())]).await;
    assert_eq!(code(&out), Some(2), "{}", explain(&out));
    let doc = stdout_json(&out);
    assert_eq!(doc["error"]["type"], "ConfigError", "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("SYNC_ACCOUNT_ID")),
        "{doc}"
    );

    // Without --json: the error line on stderr, nothing on stdout.
    let out = cli(&["status"], &[("SYNC_ACCOUNT_ID", "main".into())]).await;
    assert_eq!(code(&out), Some(2), "{}", explain(&out));
    assert!(out.stdout.is_empty(), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("error [ConfigError]: SYNC_TABLE_NAME is required"),
        "{}",
        explain(&out)
    );
}

#[tokio::test]
async fn status_and_audit_need_the_table_only_and_judge_health_by_the_schedule() {
    let sim = Sim::demo().await;
    let (store, account) = seeded_demo_table().await;
    let out = cli(
        &["sync", "--emergency", "--json"],
        &full_env(&sim.base_url(), &store, &account),
    )
    .await;
    assert_eq!(code(&out), Some(0), "{}", explain(&out));

    // No BINANCE_* variable at all.
    let mut env = table_env(&store, &account);
    env.push(("SYNC_SCHEDULE_MINUTES", "5".into()));
    let out = cli(&["status", "--json"], &env).await;
    assert_eq!(code(&out), Some(0), "{}", explain(&out));
    let status = stdout_json(&out);
    assert_eq!(status["health"], "healthy", "{status}");
    assert_eq!(status["schedule_minutes"], 5, "{status}");
    // Two missed 5-minute periods and 5 minutes of slack.
    assert_eq!(status["stale_after_ms"], 15 * 60_000, "{status}");

    let out = cli(&["audit", "--since", "1h", "--json"], &env).await;
    assert_eq!(code(&out), Some(0), "{}", explain(&out));
    let entries = stdout_json(&out);
    assert!(
        entries.as_array().is_some_and(|e| !e.is_empty()),
        "the demo's corrections are listed: {entries}"
    );

    let out = cli(&["audit", "--since", "yesterday", "--json"], &env).await;
    assert_eq!(code(&out), Some(2), "{}", explain(&out));
    assert_eq!(stdout_json(&out)["error"]["type"], "UsageError");
    sim.shutdown().await;
}

#[tokio::test]
async fn detailed_exitcode_is_3_when_a_sync_corrects_records_and_0_when_nothing_differs() {
    let sim = Sim::demo().await;
    let (store, account) = seeded_demo_table().await;
    let env = full_env(&sim.base_url(), &store, &account);

    let first = cli(
        &["sync", "--emergency", "--detailed-exitcode", "--json"],
        &env,
    )
    .await;
    assert_eq!(code(&first), Some(3), "{}", explain(&first));
    let report = stdout_json(&first);
    assert_eq!(report["outcome"], "complete", "{report}");

    let second = cli(
        &["sync", "--emergency", "--detailed-exitcode", "--json"],
        &env,
    )
    .await;
    assert_eq!(code(&second), Some(0), "{}", explain(&second));
    let report = stdout_json(&second);
    assert!(
        report["counts"]
            .as_object()
            .is_some_and(|c| c.values().all(|n| n == 0)),
        "nothing left to correct: {report}"
    );

    // Without the flag a sync that corrected records exits 0.
    let (store2, account2) = seeded_demo_table().await;
    let plain = cli(
        &["sync", "--emergency", "--dry-run"],
        &full_env(&sim.base_url(), &store2, &account2),
    )
    .await;
    assert_eq!(code(&plain), Some(0), "{}", explain(&plain));
    sim.shutdown().await;
}

#[tokio::test]
async fn check_passes_with_a_read_only_ip_restricted_key_and_a_decodable_table() {
    let sim = Sim::with_scenario(demo_with_restrictions(serde_json::json!({
        "ipRestrict": true, "enableReading": true,
        "enableWithdrawals": false, "enableSpotAndMarginTrading": false
    })))
    .await;
    let (store, account) = seeded_demo_table().await;

    let out = cli(
        &["check", "--json"],
        &full_env(&sim.base_url(), &store, &account),
    )
    .await;
    assert_eq!(code(&out), Some(0), "{}", explain(&out));
    let doc = stdout_json(&out);
    assert_eq!(doc["ok"], true, "{doc}");
    for name in [
        "exchange",
        "clock",
        "key_permissions",
        "key_ip_restriction",
        "table",
        "records",
    ] {
        assert_eq!(check(&doc, name)["level"], "ok", "{name}: {doc}");
    }
    assert!(
        check(&doc, "records")["data"]["counts"]["balances"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{doc}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("demo-secret"), "the secret is never printed");

    // The exchange's clock 5 s ahead: a warning, and a warning does not fail the check.
    sim.control("clock", serde_json::json!({"advance_ms": 5000}))
        .await;
    let out = cli(
        &["check", "--json"],
        &full_env(&sim.base_url(), &store, &account),
    )
    .await;
    assert_eq!(code(&out), Some(0), "{}", explain(&out));
    let doc = stdout_json(&out);
    let clock = check(&doc, "clock");
    assert_eq!(clock["level"], "warn", "{doc}");
    assert!(
        clock["data"]["offset_ms"]
            .as_i64()
            .is_some_and(|o| (4000..6000).contains(&o)),
        "{doc}"
    );
    assert_eq!(doc["warnings"], 1, "{doc}");
    sim.shutdown().await;
}

#[tokio::test]
async fn check_fails_on_a_trading_key_and_an_undecodable_item_and_warns_on_no_ip_restriction() {
    // The demo key: trading and withdrawals enabled, no IP restriction.
    let sim = Sim::demo().await;
    let (store, account) = seeded_demo_table().await;
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S(keys::pk(&account)))
        .item("sk", AttributeValue::S("BALANCE#DOGE".into()))
        .item("entity", AttributeValue::S("balance".into()))
        .item("version", AttributeValue::N("1".into()))
        .item("asset", AttributeValue::S("DOGE".into()))
        .item("free", AttributeValue::S("lots".into()))
        .send()
        .await
        .expect("put a malformed bot item");

    let env = full_env(&sim.base_url(), &store, &account);
    let out = cli(&["check", "--json"], &env).await;
    assert_eq!(code(&out), Some(1), "{}", explain(&out));
    let doc = stdout_json(&out);
    assert_eq!(doc["ok"], false);
    assert_eq!(check(&doc, "exchange")["level"], "ok", "{doc}");
    let perms = check(&doc, "key_permissions");
    assert_eq!(perms["level"], "fail", "{doc}");
    assert!(
        perms["detail"]
            .as_str()
            .is_some_and(|d| d.contains("trading")),
        "{doc}"
    );
    assert_eq!(check(&doc, "key_ip_restriction")["level"], "warn", "{doc}");
    let records = check(&doc, "records");
    assert_eq!(records["level"], "fail", "{doc}");
    assert!(
        records["data"]["not_decoded"][0]["key"]
            .as_str()
            .is_some_and(|k| k.contains("BALANCE#DOGE")),
        "{doc}"
    );

    // The text form: one line per check with its level.
    let out = cli(&["check"], &env).await;
    assert_eq!(code(&out), Some(1), "{}", explain(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("warn") && l.contains("key_ip_restriction")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("fail") && l.contains("BALANCE#DOGE")),
        "{text}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn check_fails_when_the_table_does_not_exist() {
    let sim = Sim::demo().await;
    let store = dynamo_store().await;
    let account = fresh_account();
    let mut env = full_env(&sim.base_url(), &store, &account);
    env.retain(|(k, _)| *k != "SYNC_TABLE_NAME");
    env.push(("SYNC_TABLE_NAME", format!("{}-missing", store.table())));
    let out = cli(&["check", "--json"], &env).await;
    assert_eq!(code(&out), Some(1), "{}", explain(&out));
    let doc = stdout_json(&out);
    let table = check(&doc, "table");
    assert_eq!(table["level"], "fail", "{doc}");
    assert!(
        table["detail"]
            .as_str()
            .is_some_and(|d| d.contains("does not exist")),
        "{doc}"
    );
    assert_eq!(check(&doc, "records")["level"], "fail", "{doc}");
    sim.shutdown().await;
}

/// A server on 127.0.0.1 that answers every request with HTTP 451 and Binance's
/// restricted-location body; stopped (its task aborted) when dropped.
struct Restricted {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Restricted {
    async fn start() -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = conn.read(&mut buf).await;
                    let body = r#"{"code":0,"msg":"Service unavailable from a restricted location according to 'b. Eligibility' in https://www.binance.com/en/terms."}"#;
                    let resp = format!(
                        "HTTP/1.1 451 Unavailable For Legal Reasons\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(resp.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Self { url, task }
    }
}

impl Drop for Restricted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn http_451_fails_sync_and_check_as_exchange_restricted_location() {
    let server = Restricted::start().await;
    let store = dynamo_store().await;
    let account = fresh_account();
    let env = full_env(&server.url, &store, &account);

    let out = cli(&["sync", "--json"], &env).await;
    assert_eq!(code(&out), Some(1), "{}", explain(&out));
    let doc = stdout_json(&out);
    assert_eq!(doc["error"]["type"], "ExchangeRestrictedLocation", "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("region Binance serves")),
        "{doc}"
    );

    let out = cli(&["check", "--json"], &env).await;
    assert_eq!(code(&out), Some(1), "{}", explain(&out));
    let doc = stdout_json(&out);
    let exchange = check(&doc, "exchange");
    assert_eq!(exchange["level"], "fail", "{doc}");
    assert_eq!(
        exchange["error_type"], "ExchangeRestrictedLocation",
        "{doc}"
    );
    drop(server);
}

#[tokio::test]
async fn aws_lambda_log_level_overrides_rust_log() {
    let store = dynamo_store().await;
    let account = fresh_account();
    let mut env = table_env(&store, &account);
    env.push(("RUST_LOG", "debug".into()));
    let verbose = cli(&["status"], &env).await;
    assert_eq!(code(&verbose), Some(0), "{}", explain(&verbose));
    assert!(
        String::from_utf8_lossy(&verbose.stderr).contains("DEBUG"),
        "RUST_LOG=debug alone logs at debug: {}",
        explain(&verbose)
    );

    env.push(("AWS_LAMBDA_LOG_LEVEL", "ERROR".into()));
    let quiet = cli(&["status"], &env).await;
    assert_eq!(code(&quiet), Some(0), "{}", explain(&quiet));
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(
        !stderr.contains("DEBUG") && !stderr.contains("INFO"),
        "AWS_LAMBDA_LOG_LEVEL=ERROR wins over RUST_LOG=debug: {stderr}"
    );
}

#[tokio::test]
async fn sync_with_an_ed25519_private_key_from_the_environment_signs_every_read() {
    let key = binance_sim::testkeys::TestKey::ed25519();
    let text = std::fs::read_to_string(repo("binance-sim/scenarios/demo.json")).expect("demo");
    let mut scenario: Value = serde_json::from_str(&text).expect("demo parses");
    let registered = scenario["api_keys"][0].as_object_mut().expect("a key");
    registered.remove("secret");
    registered.insert("public_key".into(), key.public_pem.clone().into());
    let sim = Sim::with_scenario(scenario).await;
    let (store, account) = seeded_demo_table().await;
    let mut env: Vec<(&'static str, String)> = full_env(&sim.base_url(), &store, &account)
        .into_iter()
        .filter(|(k, _)| *k != "BINANCE_API_SECRET")
        .collect();
    env.push(("BINANCE_PRIVATE_KEY", key.private_pem.clone()));

    let out = cli(&["sync", "--emergency", "--json"], &env).await;
    assert_eq!(code(&out), Some(0), "{}", explain(&out));
    assert_eq!(stdout_json(&out)["outcome"], "complete");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for line in key.private_pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!text.contains(line), "the private key is never printed");
    }

    // A public key where the private one belongs: a configuration error naming the variable.
    env.retain(|(k, _)| *k != "BINANCE_PRIVATE_KEY");
    env.push(("BINANCE_PRIVATE_KEY", key.public_pem.clone()));
    let bad = cli(&["sync", "--json"], &env).await;
    assert_eq!(code(&bad), Some(2), "{}", explain(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("BINANCE_PRIVATE_KEY"),
        "{}",
        explain(&bad)
    );
    sim.shutdown().await;
}
