//! Weight headers, 429 then 418, SAPI pools, and the controllable window.

mod common;
use common::*;
use serde_json::json;

/// (method, path, params, signed, weight)
type Case = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    bool,
    u64,
);

#[tokio::test]
async fn weight_header_is_exact_per_endpoint() {
    let (sim, c) = start("demo.json", 6000).await;
    align_minute(&c).await;
    let mut total = 0;
    let cases: Vec<Case> = vec![
        ("GET", "/api/v3/ping", vec![], false, 1),
        ("GET", "/api/v3/time", vec![], false, 1),
        ("GET", "/api/v3/exchangeInfo", vec![], false, 20),
        ("GET", "/api/v3/account", vec![], true, 20),
        (
            "GET",
            "/api/v3/openOrders",
            vec![("symbol", "ETHUSDT")],
            true,
            6,
        ),
        ("GET", "/api/v3/openOrders", vec![], true, 80),
        (
            "GET",
            "/api/v3/allOrders",
            vec![("symbol", "ETHUSDT")],
            true,
            20,
        ),
        (
            "GET",
            "/api/v3/myTrades",
            vec![("symbol", "ETHUSDT")],
            true,
            20,
        ),
        (
            "GET",
            "/api/v3/myTrades",
            vec![("symbol", "ETHUSDT"), ("orderId", "1")],
            true,
            5,
        ),
        (
            "GET",
            "/api/v3/order",
            vec![("symbol", "ETHUSDT"), ("orderId", "1")],
            true,
            4,
        ),
        (
            "GET",
            "/api/v3/ticker/price",
            vec![("symbol", "BTCUSDT")],
            false,
            2,
        ),
        ("GET", "/api/v3/ticker/price", vec![], false, 4),
        (
            "GET",
            "/api/v3/ticker/price",
            vec![("symbols", "[\"BTCUSDT\",\"ETHUSDT\"]")],
            false,
            4,
        ),
        (
            "GET",
            "/api/v3/klines",
            vec![("symbol", "BTCUSDT"), ("interval", "1m")],
            false,
            2,
        ),
    ];
    for (m, path, params, signed, w) in cases {
        let r = if signed {
            c.signed(m, path, &params).await
        } else {
            c.get(path, &params).await
        };
        total += w;
        assert_eq!(r.weight(), total, "{path} {params:?}: {}", r.text);
    }
    // SAPI has its own pools and does not touch the /api weight.
    let r = c
        .signed("GET", "/sapi/v1/capital/deposit/hisrec", &[])
        .await;
    assert_eq!(r.header("x-sapi-used-ip-weight-1m").as_deref(), Some("1"));
    assert!(r.header("x-mbx-used-weight-1m").is_none());
    let r = c
        .signed("GET", "/sapi/v1/capital/withdraw/history", &[])
        .await;
    assert_eq!(
        r.header("x-sapi-used-uid-weight-1m").as_deref(),
        Some("18000")
    );
    let r = c.get("/api/v3/ping", &[]).await;
    assert_eq!(r.weight(), total + 1);
    let counters = c.control_get("/__sim/counters").await;
    assert_eq!(counters["current_minute_weight"], json!(total + 1));
    assert_eq!(
        counters["by_path"]["/api/v3/openOrders"]["weight"],
        json!(86)
    );
    assert_eq!(counters["by_key"]["demo-key"]["requests"], json!(9));
    sim.shutdown().await;
}

#[tokio::test]
async fn errors_still_cost_weight() {
    let (sim, c) = start("minimal.json", 6000).await;
    align_minute(&c).await;
    let r = c
        .signed("GET", "/api/v3/myTrades", &[("symbol", "NOPE")])
        .await;
    assert_eq!(r.code(), -1121);
    assert_eq!(r.weight(), 20);
    sim.shutdown().await;
}

#[tokio::test]
async fn over_the_limit_gets_429_then_418_ban_with_retry_after() {
    let (sim, c) = start("minimal.json", 100).await;
    align_minute(&c).await;
    for i in 1..=5 {
        let r = c.get("/api/v3/exchangeInfo", &[]).await;
        assert_eq!(r.status, 200, "request {i}");
        assert_eq!(r.weight(), 20 * i);
    }
    let r = c.get("/api/v3/ping", &[]).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), -1003);
    assert_eq!(r.msg(), "Too much request weight used; current limit is 100 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.");
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (49..=50).contains(&retry),
        "seconds to the end of the minute: {retry}"
    );
    // ban_after_429s = 3: three more 429s, then 418.
    for _ in 0..3 {
        assert_eq!(c.get("/api/v3/ping", &[]).await.status, 429);
    }
    let r = c.get("/api/v3/ping", &[]).await;
    assert_eq!(r.status, 418);
    assert_eq!(r.code(), -1003);
    assert!(
        r.msg()
            .starts_with("Way too much request weight used; IP banned until "),
        "{}",
        r.msg()
    );
    assert!(r
        .msg()
        .ends_with(". Please use WebSocket Streams for live updates to avoid bans."));
    assert_eq!(r.header("retry-after").as_deref(), Some("120"));
    // Still banned in the next minute; free after 2 minutes.
    c.control("/__sim/clock", json!({"advance_ms": 60_000}))
        .await;
    assert_eq!(c.get("/api/v3/ping", &[]).await.status, 418);
    c.control("/__sim/clock", json!({"advance_ms": 61_000}))
        .await;
    let r = c.get("/api/v3/ping", &[]).await;
    assert_eq!((r.status, r.weight()), (200, 1));
    sim.shutdown().await;
}

#[tokio::test]
async fn waiting_out_the_429_avoids_a_ban_and_the_window_rolls_with_the_sim_clock() {
    let (sim, c) = start("minimal.json", 20).await;
    align_minute(&c).await;
    assert_eq!(c.get("/api/v3/exchangeInfo", &[]).await.status, 200);
    assert_eq!(c.get("/api/v3/ping", &[]).await.status, 429);
    c.control("/__sim/clock", json!({"advance_ms": 60_000}))
        .await;
    let r = c.get("/api/v3/ping", &[]).await;
    assert_eq!((r.status, r.weight()), (200, 1));
    sim.shutdown().await;
}

#[tokio::test]
async fn limit_and_window_are_controllable() {
    let (sim, c) = start("minimal.json", 6000).await;
    align_minute(&c).await;
    c.control("/__sim/limits", json!({"weight_per_minute": 21}))
        .await;
    assert_eq!(c.get("/api/v3/exchangeInfo", &[]).await.status, 200);
    let info = c.get("/api/v3/ping", &[]).await;
    assert_eq!((info.status, info.weight()), (200, 21));
    assert_eq!(c.get("/api/v3/ping", &[]).await.status, 429);
    c.control("/__sim/reset-weight", json!({})).await;
    let r = c.get("/api/v3/exchangeInfo", &[]).await;
    assert_eq!((r.status, r.weight()), (200, 20));
    assert_eq!(r.json()["rateLimits"][0]["limit"], json!(21));
    sim.shutdown().await;
}

#[tokio::test]
async fn successful_orders_cost_no_weight_but_rejected_ones_cost_one() {
    let (sim, c) = start("minimal.json", 6000).await;
    align_minute(&c).await;
    let r = c
        .signed_body(
            "POST",
            "/api/v3/order",
            &[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quantity", "0.001"),
            ],
        )
        .await;
    assert_eq!((r.status, r.weight()), (200, 0), "{}", r.text);
    let r = c
        .signed_body(
            "POST",
            "/api/v3/order",
            &[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quantity", "1"),
            ],
        )
        .await;
    assert_eq!((r.code(), r.weight()), (-2010, 1));
    sim.shutdown().await;
}

#[tokio::test]
async fn max_minute_weight_is_the_busiest_minute_of_the_ip_until_a_reset() {
    let (sim, c) = start("demo.json", 6000).await;
    align_minute(&c).await;
    // 40 in this minute, 20 in the next: the busiest stays 40.
    c.get("/api/v3/exchangeInfo", &[]).await;
    c.get("/api/v3/exchangeInfo", &[]).await;
    assert_eq!(
        c.control_get("/__sim/counters").await["max_minute_weight"],
        json!(40)
    );
    c.control("/__sim/clock", json!({"advance_ms": 60_000}))
        .await;
    c.get("/api/v3/exchangeInfo", &[]).await;
    let counters = c.control_get("/__sim/counters").await;
    assert_eq!(counters["current_minute_weight"], json!(20));
    assert_eq!(counters["max_minute_weight"], json!(40));
    c.control("/__sim/reset-weight", json!({})).await;
    assert_eq!(
        c.control_get("/__sim/counters").await["max_minute_weight"],
        json!(0)
    );
    sim.shutdown().await;
}
