//! Widely used third-party clients work against the simulator unchanged but
//! for their base URL: python-binance 1.0.37, ccxt 4.5.90 (default options)
//! and Binance's official Python SDK binance-sdk-spot 13.3.0; python-binance
//! and ccxt also read the USD-M futures account.
//!
//! Set `SIM_PYTHON` to an interpreter that has python-binance and ccxt (for
//! example the repository's `.venv/bin/python`, which `make setup` creates),
//! and `SIM_SDK_PYTHON` to one that has binance-sdk-spot (default:
//! `SIM_PYTHON`; the SDK needs pydantic >= 2.14.1, which the repository's
//! cfn-lint pins cannot share a venv with). If an interpreter cannot import
//! its client, that test FAILS and says so: it never skips silently.

mod common;
use common::*;
use std::process::Command;

/// `$var` (else `$SIM_PYTHON`, else `python3`), asserted to import `module`
/// of the pinned `package`.
fn python_with(var: &str, module: &str, package: &str) -> String {
    let python = std::env::var(var)
        .or_else(|_| std::env::var("SIM_PYTHON"))
        .unwrap_or_else(|_| "python3".to_string());
    let probe = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {var}={python}: {e}"));
    assert!(
        probe.status.success(),
        "{package} is not importable by {python} (set {var} to an interpreter that has {package}):\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    python
}

fn python_with_binance() -> String {
    python_with("SIM_PYTHON", "binance.client", "python-binance==1.0.37")
}

#[tokio::test]
async fn third_party_python_binance_client_works_unchanged() {
    let python = python_with_binance();
    let (sim, c) = start("demo.json", 6000).await;
    check_with_python_binance(&python, &c, "demo-secret").await;
    sim.shutdown().await;
}

/// python-binance signs with `private_key=` (pycryptodome: Ed25519 per RFC 8032,
/// RSA PKCS#1 v1.5): an implementation independent of the simulator's.
#[tokio::test]
async fn third_party_python_binance_signs_with_ed25519_and_rsa_keys() {
    let python = python_with_binance();
    for key in [
        binance_sim::testkeys::TestKey::ed25519(),
        binance_sim::testkeys::TestKey::rsa(),
    ] {
        let (sim, c) = start("demo.json", 6000).await;
        register_public_key(&c, &key).await;
        check_with_python_binance(&python, &c, &key.private_pem).await;
        sim.shutdown().await;
    }
}

async fn check_with_python_binance(python: &str, c: &Client, secret_or_pem: &str) {
    run_check(
        python,
        "python_binance_check.py",
        "python-binance OK",
        c,
        secret_or_pem,
    )
    .await;
    // It really talked to us: signed calls were counted against the key.
    let counters = c.control_get("/__sim/counters").await;
    assert!(
        counters["by_key"]["demo-key"]["requests"]
            .as_u64()
            .unwrap_or(0)
            >= 9,
        "{counters}"
    );
}

/// The demo scenario with its key registered as `key`'s public half.
async fn register_public_key(c: &Client, key: &binance_sim::testkeys::TestKey) {
    let mut demo: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate_dir().join("scenarios/demo.json")).unwrap(),
    )
    .unwrap();
    let registered = &mut demo["api_keys"][0];
    registered.as_object_mut().unwrap().remove("secret");
    registered["public_key"] = key.public_pem.clone().into();
    c.control("/__sim/scenario", demo).await;
}

/// Runs `tests/third_party/<script> BASE demo-key SECRET` and checks it
/// printed `ok_line`.
async fn run_check(python: &str, script: &str, ok_line: &str, c: &Client, secret_or_pem: &str) {
    run_check_as(python, script, ok_line, c, "demo-key", secret_or_pem).await
}

/// [`run_check`] with another API key.
async fn run_check_as(
    python: &str,
    script: &str,
    ok_line: &str,
    c: &Client,
    key: &str,
    secret_or_pem: &str,
) {
    let script = crate_dir().join("tests/third_party").join(script);
    let (python, base, key, secret) = (
        python.to_owned(),
        c.base.clone(),
        key.to_owned(),
        secret_or_pem.to_owned(),
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .args([&base, &key, &secret])
            .output()
    })
    .await
    .expect("join")
    .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{ok_line:?} check failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(stdout.contains(ok_line), "{stdout}");
}

// ---- ccxt -------------------------------------------------------------------

fn python_with_ccxt() -> String {
    python_with("SIM_PYTHON", "ccxt", "ccxt==4.5.90")
}

/// ccxt with its default options: `load_markets` also asks the wallet
/// (`capital/config/getall`), the margin pair lists and the USD-M and COIN-M
/// hosts' exchangeInfo; every host is pointed at the sim.
#[tokio::test]
async fn third_party_ccxt_with_default_options_works_unchanged() {
    let python = python_with_ccxt();
    let (sim, c) = start("demo.json", 6000).await;
    run_check(&python, "ccxt_check.py", "ccxt OK", &c, "demo-secret").await;
    let counters = c.control_get("/__sim/counters").await;
    for path in [
        "/api/v3/exchangeInfo",
        "/sapi/v1/capital/config/getall",
        "/sapi/v1/margin/allPairs",
        "/sapi/v1/margin/isolated/allPairs",
        "/fapi/v1/exchangeInfo",
        "/dapi/v1/exchangeInfo",
        "/api/v3/account",
        "/api/v3/myTrades",
        "/api/v3/allOrders",
        "/api/v3/openOrders",
        "/api/v3/order",
    ] {
        assert!(
            counters["by_path"][path]["requests"].as_u64().unwrap_or(0) >= 1,
            "ccxt never called {path}: {counters}"
        );
    }
    sim.shutdown().await;
}

/// ccxt signs with an Ed25519 private key given as `secret` (its own
/// implementation, not the sim's).
#[tokio::test]
async fn third_party_ccxt_signs_with_an_ed25519_key() {
    let python = python_with_ccxt();
    let key = binance_sim::testkeys::TestKey::ed25519();
    let (sim, c) = start("demo.json", 6000).await;
    register_public_key(&c, &key).await;
    run_check(&python, "ccxt_check.py", "ccxt OK", &c, &key.private_pem).await;
    sim.shutdown().await;
}

/// The futures state both futures checks expect: a BTCUSDT and an ETHUSDT
/// short, and one funding payment on ETHUSDT.
async fn futures_state(c: &Client) {
    for (symbol, qty, price) in [("BTCUSDT", "0.010", "50000"), ("ETHUSDT", "0.100", "3000")] {
        c.control(
            "/__sim/futures/fill",
            serde_json::json!({"symbol": symbol, "side": "SELL", "quantity": qty, "price": price}),
        )
        .await;
    }
    c.control(
        "/__sim/futures/funding",
        serde_json::json!({"symbol": "ETHUSDT", "rate": "0.0001"}),
    )
    .await;
}

/// python-binance's futures reads: account (v2), balance and positionRisk
/// (v3), userTrades, income, position mode, time.
#[tokio::test]
async fn third_party_python_binance_reads_the_futures_account() {
    let python = python_with_binance();
    let (sim, c) = start("futures.json", 6000).await;
    futures_state(&c).await;
    run_check_as(
        &python,
        "python_binance_futures_check.py",
        "python-binance futures OK",
        &c,
        "test-key",
        "test-secret",
    )
    .await;
    sim.shutdown().await;
}

/// ccxt reads the USD-M futures account (defaultType "future"): markets
/// from `/fapi/v1/exchangeInfo`, positions (`/fapi/v3/positionRisk` after
/// `/fapi/v1/leverageBracket`), balance, trades, funding history (income)
/// and orders, parsed into its unified structures.
#[tokio::test]
async fn third_party_ccxt_reads_the_futures_account() {
    let python = python_with_ccxt();
    let (sim, c) = start("futures.json", 6000).await;
    futures_state(&c).await;
    run_check_as(
        &python,
        "ccxt_futures_check.py",
        "ccxt futures OK",
        &c,
        "test-key",
        "test-secret",
    )
    .await;
    let counters = c.control_get("/__sim/counters").await;
    for path in [
        "/fapi/v1/exchangeInfo",
        "/fapi/v3/positionRisk",
        "/fapi/v1/userTrades",
        "/fapi/v1/income",
        "/fapi/v1/allOrders",
    ] {
        assert!(
            counters["by_path"][path]["requests"].as_u64().unwrap_or(0) >= 1,
            "ccxt never called {path}: {counters}"
        );
    }
    sim.shutdown().await;
}

// ---- binance-sdk-spot -------------------------------------------------------

fn python_with_sdk() -> String {
    python_with(
        "SIM_SDK_PYTHON",
        "binance_sdk_spot.spot",
        "binance-sdk-spot==13.3.0",
    )
}

#[tokio::test]
async fn third_party_binance_sdk_spot_works_unchanged() {
    let python = python_with_sdk();
    let (sim, c) = start("demo.json", 6000).await;
    run_check(
        &python,
        "binance_sdk_spot_check.py",
        "binance-sdk-spot OK",
        &c,
        "demo-secret",
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn third_party_binance_sdk_spot_signs_with_an_ed25519_key() {
    let python = python_with_sdk();
    let key = binance_sim::testkeys::TestKey::ed25519();
    let (sim, c) = start("demo.json", 6000).await;
    register_public_key(&c, &key).await;
    run_check(
        &python,
        "binance_sdk_spot_check.py",
        "binance-sdk-spot OK",
        &c,
        &key.private_pem,
    )
    .await;
    sim.shutdown().await;
}
