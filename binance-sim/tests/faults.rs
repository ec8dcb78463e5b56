//! Each injected fault kind, by count and by probability.

mod common;
use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn http_500_502_503_have_their_bodies_and_count_down() {
    let (sim, c) = start("minimal.json", 6000).await;
    c.control(
        "/__sim/faults",
        json!({"path": "/api/v3/time", "kind": "http_500", "count": 1}),
    )
    .await;
    let r = c.get("/api/v3/time", &[]).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json(),
        json!({"code": -1001, "msg": "Internal error; unable to process your request. Please try again."})
    );
    assert_eq!(
        c.get("/api/v3/time", &[]).await.status,
        200,
        "count exhausted"
    );

    c.control(
        "/__sim/faults",
        json!({"path": "*", "kind": "http_502", "count": 1}),
    )
    .await;
    let r = c.get("/api/v3/ping", &[]).await;
    assert_eq!(r.status, 502);
    assert!(r.text.contains("502 Bad Gateway"));

    c.control(
        "/__sim/faults",
        json!({"path": "/api/v3/ping", "kind": "http_503", "count": 2}),
    )
    .await;
    let r = c.get("/api/v3/ping", &[]).await;
    assert_eq!((r.status, r.msg().as_str()), (503, "Service Unavailable."));
    c.control(
        "/__sim/faults",
        json!({"path": "/api/v3/time", "kind": "http_503", "variant": "unknown"}),
    )
    .await;
    let r = c.get("/api/v3/time", &[]).await;
    assert_eq!(
        (r.status, r.msg().as_str()),
        (
            503,
            "Unknown error, please check your request or try again later."
        )
    );
    c.http
        .delete(format!("{}/__sim/faults", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.get("/api/v3/ping", &[]).await.status,
        200,
        "faults cleared"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_429_storm_answers_429_with_retry_after() {
    let (sim, c) = start("minimal.json", 6000).await;
    c.control(
        "/__sim/faults",
        json!({"path": "*", "kind": "rate_limit_429", "count": 3}),
    )
    .await;
    for _ in 0..3 {
        let r = c.get("/api/v3/ping", &[]).await;
        assert_eq!((r.status, r.code()), (429, -1003));
        assert!(r.header("retry-after").is_some());
        assert!(r.header("x-mbx-used-weight-1m").is_some());
    }
    assert_eq!(
        c.get("/api/v3/ping", &[]).await.status,
        200,
        "a storm does not ban"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_and_truncated_json_break_only_the_body() {
    let (sim, c) = start("minimal.json", 6000).await;
    c.control(
        "/__sim/faults",
        json!({"path": "/api/v3/account", "kind": "malformed_json", "count": 1}),
    )
    .await;
    let r = c.signed("GET", "/api/v3/account", &[]).await;
    assert_eq!(r.status, 200);
    assert!(
        serde_json::from_str::<serde_json::Value>(&r.text).is_err(),
        "{}",
        r.text
    );
    c.control(
        "/__sim/faults",
        json!({"path": "/api/v3/account", "kind": "truncated_json", "count": 1}),
    )
    .await;
    let r = c.signed("GET", "/api/v3/account", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.text.starts_with("{\"balances\"") || r.text.starts_with('{'));
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err());
    assert!(
        r.header("x-mbx-used-weight-1m").is_some(),
        "weight was charged"
    );
    assert_eq!(c.signed("GET", "/api/v3/account", &[]).await.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn drop_connection_closes_tcp_without_a_response() {
    let (sim, c) = start("minimal.json", 6000).await;
    c.control(
        "/__sim/faults",
        json!({"path": "/api/v3/time", "kind": "drop_connection", "count": 1}),
    )
    .await;
    let err = c.http.get(format!("{}/api/v3/time", c.base)).send().await;
    assert!(err.is_err(), "expected a transport error, got {err:?}");
    assert_eq!(
        c.get("/api/v3/time", &[]).await.status,
        200,
        "next request is fine"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_delays_the_answer() {
    let (sim, c) = start("minimal.json", 6000).await;
    c.control(
        "/__sim/faults",
        json!({"path": "/api/v3/ping", "kind": "latency", "latency_ms": 300, "count": 1}),
    )
    .await;
    let t = Instant::now();
    assert_eq!(c.get("/api/v3/ping", &[]).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    // The fault had count 1: it is used up (no wall-clock upper bound: that would be a
    // timed test on a loaded machine).
    let left: serde_json::Value = c
        .http
        .get(format!("{}/__sim/faults", c.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !left.to_string().contains("latency"),
        "the one-shot latency fault is gone: {left}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn probability_faults_fire_sometimes_and_never_at_zero() {
    let (sim, c) = start("minimal.json", 6000).await;
    c.control(
        "/__sim/faults",
        json!({"path": "/api/v3/ping", "kind": "http_500", "probability": 0.0}),
    )
    .await;
    for _ in 0..20 {
        assert_eq!(c.get("/api/v3/ping", &[]).await.status, 200);
    }
    c.http
        .delete(format!("{}/__sim/faults", c.base))
        .send()
        .await
        .unwrap();
    c.control(
        "/__sim/faults",
        json!({"path": "/api/v3/ping", "kind": "http_500", "probability": 0.5}),
    )
    .await;
    let mut fails = 0;
    for _ in 0..200 {
        if c.get("/api/v3/ping", &[]).await.status == 500 {
            fails += 1;
        }
    }
    assert!((40..=160).contains(&fails), "about half: {fails}");
    sim.shutdown().await;
}
