//! A widely used third-party client works against the simulator unchanged
//! but for its base URL: python-binance 1.0.37.
//!
//! Set `SIM_PYTHON` to an interpreter that has python-binance (for example
//! the repository's `.venv/bin/python`, which `make setup` creates). If it cannot import `binance`, this test
//! FAILS and says so: it never skips silently.

mod common;
use common::*;
use std::process::Command;

fn python_with_binance() -> String {
    let python = std::env::var("SIM_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let probe = Command::new(&python)
        .args(["-c", "import binance.client"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run SIM_PYTHON={python}: {e}"));
    assert!(
        probe.status.success(),
        "python-binance is not importable by {python} (set SIM_PYTHON to an interpreter that has python-binance==1.0.37):\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    python
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
        let mut demo: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(crate_dir().join("scenarios/demo.json")).unwrap(),
        )
        .unwrap();
        let registered = &mut demo["api_keys"][0];
        registered.as_object_mut().unwrap().remove("secret");
        registered["public_key"] = key.public_pem.clone().into();
        c.control("/__sim/scenario", demo).await;
        check_with_python_binance(&python, &c, &key.private_pem).await;
        sim.shutdown().await;
    }
}

async fn check_with_python_binance(python: &str, c: &Client, secret_or_pem: &str) {
    let script = crate_dir().join("tests/third_party/python_binance_check.py");
    let (python, base, secret) = (python.to_owned(), c.base.clone(), secret_or_pem.to_owned());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .args([&base, "demo-key", &secret])
            .output()
    })
    .await
    .expect("join")
    .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python-binance check failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(stdout.contains("python-binance OK"), "{stdout}");
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
