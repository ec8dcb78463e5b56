//! A widely used third-party client works against the simulator unchanged
//! but for its base URL: python-binance 1.0.37.
//!
//! Set `SIM_PYTHON` to an interpreter that has python-binance (for example
//! the repository's `.venv/bin/python`, which `make setup` creates). If it cannot import `binance`, this test
//! FAILS and says so: it never skips silently.

mod common;
use common::*;
use std::process::Command;

#[tokio::test]
async fn third_party_python_binance_client_works_unchanged() {
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

    let (sim, c) = start("demo.json", 6000).await;
    let script = crate_dir().join("tests/third_party/python_binance_check.py");
    let base = c.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .args([&base, "demo-key", "demo-secret"])
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
    sim.shutdown().await;
}
