//! `sync` prints its progress on stderr only to a terminal: with stderr piped (a script,
//! CI, `--json` consumers) no progress line appears and stdout is the report alone. Run
//! with `scripts/with-stack.sh cargo test --test cli_progress` (the table is DynamoDB's).
//! The hook itself (counts that only increase) is tested in `tests/sync_service.rs`.

mod support;

use std::process::{Command, Stdio};
use support::{dynamo_store, fresh_account, seed_demo, Sim};

#[tokio::test]
async fn sync_prints_no_progress_when_stderr_is_not_a_terminal() {
    let sim = Sim::demo().await;
    let store = dynamo_store().await;
    let account = fresh_account();
    seed_demo(&store, &account).await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_binance-account-sync"));
    cmd.args(["sync", "--emergency", "--json"])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("BINANCE_SECRET_ID")
        .env_remove("SYNC_ALERT_TOPIC_ARN")
        .env("RUST_LOG", "warn")
        .env("SYNC_ACCOUNT_ID", account.as_str())
        .env("SYNC_TABLE_NAME", store.table())
        .env("BINANCE_BASE_URL", sim.base_url())
        .env("BINANCE_API_KEY", "demo-key")
        .env("BINANCE_API_SECRET", "demo-secret")
        .env("SYNC_MIN_INTERVAL_SECONDS", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("the CLI runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is the JSON report alone");
    assert!(report.is_object(), "{report}");
    assert!(
        !stderr.lines().any(|l| l.contains("symbols, weight")),
        "no progress on a pipe:\n{stderr}"
    );
    sim.shutdown().await;
}
