//! A `sync` stopped by SIGINT or SIGTERM releases the account's lease and exits 130 / 143,
//! so the next run goes ahead at once instead of reporting `lease_held` for 15 minutes.
//! The real CLI binary against the simulator and the DynamoDB emulator: run with
//! `scripts/with-stack.sh cargo test --test cli_signals`. Without `AWS_ENDPOINT_URL`
//! every test FAILS (never skips).
//!
//! The run is held deterministically: every simulator endpoint answers after 120 s (a
//! latency fault; the client gives up on a request after 15 s and retries four times), so
//! once the lease exists the run is inside its first exchange request until the signal.

mod support;

use binance_account_sync::domain::AccountId;
use binance_account_sync::store::dynamo::DynamoStore;
use binance_account_sync::store::Store;
use serde_json::{json, Value};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{dynamo_store, fresh_account, Sim};

/// The CLI's `sync` as a child process, configured for this account, table and simulator.
fn spawn_sync(sim: &Sim, store: &DynamoStore, account: &AccountId, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_binance-account-sync"))
        .arg("sync")
        .args(extra)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("SYNC_ALERT_TOPIC_ARN")
        .env_remove("BINANCE_SECRET_ID")
        .env("SYNC_ACCOUNT_ID", account.as_str())
        .env("SYNC_TABLE_NAME", store.table())
        .env("SYNC_MIN_INTERVAL_SECONDS", "0")
        .env("BINANCE_BASE_URL", sim.base_url())
        .env("BINANCE_API_KEY", "demo-key")
        .env("BINANCE_API_SECRET", "demo-secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the CLI starts")
}

/// Wait (at most 120 s) for the child to exit; killed by its PID otherwise.
async fn wait_exit(child: Child) -> Output {
    let pid = child.id();
    let waited = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await;
    match waited {
        Ok(joined) => joined.expect("join").expect("wait"),
        Err(_) => {
            signal(pid, "KILL");
            panic!("the CLI (PID {pid}) did not exit within 120 s");
        }
    }
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {name} {pid}");
}

/// Hold every exchange request of the run.
async fn hold_the_exchange(sim: &Sim) {
    sim.control(
        "faults",
        json!({"path": "*", "kind": "latency", "latency_ms": 120_000}),
    )
    .await;
}

async fn release_the_exchange(sim: &Sim) {
    let url = format!("{}/__sim/faults", sim.base_url());
    let resp = reqwest::Client::new()
        .delete(&url)
        .send()
        .await
        .expect("DELETE faults");
    assert!(
        resp.status().is_success(),
        "DELETE {url}: {}",
        resp.status()
    );
}

/// Wait until the run holds the account's lease (the observable condition the signal
/// must come after), or fail with the CLI's output if it exits first.
async fn wait_for_lease(store: &DynamoStore, account: &AccountId, child: &mut Child) -> String {
    let started = Instant::now();
    loop {
        let state = store.state(account).await.expect("sync state");
        if let Some(owner) = state.lease_owner {
            return owner;
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                std::io::Read::read_to_string(&mut e, &mut err).ok();
            }
            panic!("the CLI exited ({status}) before taking the lease:\n{err}");
        }
        if started.elapsed() > Duration::from_secs(60) {
            signal(child.id(), "KILL");
            panic!("no lease taken within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn interrupted_sync_releases_the_lease(
    sig: &str,
    code: i32,
) -> (Sim, DynamoStore, AccountId) {
    let sim = Sim::demo().await;
    let store = dynamo_store().await;
    let account = fresh_account();
    hold_the_exchange(&sim).await;

    let mut child = spawn_sync(&sim, &store, &account, &["--emergency"]);
    let owner = wait_for_lease(&store, &account, &mut child).await;
    assert!(owner.len() >= 32, "a run id holds the lease: {owner}");
    signal(child.id(), sig);
    let out = wait_exit(child).await;
    let stderr = String::from_utf8_lossy(&out.stderr);

    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code after {sig}; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("error [Interrupted]: SIG{sig} received"))
            && stderr.contains("its lease released"),
        "stderr:\n{stderr}"
    );
    let state = store.state(&account).await.expect("state");
    assert_eq!(state.lease_owner, None, "the lease is released");
    assert_eq!(state.lease_expires_at, None);
    assert_eq!(
        state.last_outcome.as_deref(),
        Some(format!("interrupted: SIG{sig}").as_str())
    );
    assert_eq!(state.last_run_id.as_deref(), Some(owner.as_str()));
    (sim, store, account)
}

#[tokio::test]
async fn sigint_stops_the_sync_releases_the_lease_and_exits_130() {
    let (sim, store, account) = interrupted_sync_releases_the_lease("INT", 130).await;

    // The next run goes ahead at once: no `lease_held`.
    release_the_exchange(&sim).await;
    let out = wait_exit(spawn_sync(
        &sim,
        &store,
        &account,
        &["--emergency", "--json"],
    ))
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("the report is JSON");
    assert_eq!(report["outcome"], "complete", "{report}");
    sim.shutdown().await;
}

#[tokio::test]
async fn sigterm_stops_the_sync_releases_the_lease_and_exits_143() {
    let (sim, _store, _account) = interrupted_sync_releases_the_lease("TERM", 143).await;
    sim.shutdown().await;
}
