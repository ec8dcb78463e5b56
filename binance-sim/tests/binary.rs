//! The `binance-sim` binary: first stdout line, --port-file, clean SIGTERM.

mod common;
use common::spawn_binary;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn binary_announces_its_url_writes_the_port_file_and_exits_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("binance-sim-bin-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port_file = dir.join("port");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/demo.json");
    let port_arg = port_file.to_string_lossy().into_owned();
    let (mut child, url) = spawn_binary(&[
        "--port",
        "0",
        "--weight-limit",
        "1200",
        "--scenario",
        scenario,
        "--port-file",
        &port_arg,
    ]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let port = url.rsplit(':').next().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(&port_file).unwrap_or_default() != port {
        assert!(Instant::now() < deadline, "port file not written");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGTERM → clean exit (status 0).
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            assert!(s.success(), "exit status {s}");
            break;
        }
        assert!(Instant::now() < deadline, "did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn dropping_a_running_sim_stops_it() {
    let sim = binance_sim::spawn(binance_sim::SimConfig::default())
        .await
        .unwrap();
    let addr = sim.addr;
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    drop(sim);
    let deadline = Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting after drop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
