//! Request security: the official HMAC vectors, signatures, keys, timing.

mod common;
use common::*;
use serde_json::Value;

#[test]
fn official_hmac_test_vectors_verify() {
    let path = shared_binance_dir().join("hmac-test-vector.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).unwrap();
    let secret = v["secretKey"].as_str().unwrap();
    let vectors = v["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 3);
    for vec in vectors {
        let payload = vec["payload"].as_str().unwrap();
        let expected = vec["signature"].as_str().unwrap();
        assert_eq!(sign(secret, payload), expected, "vector {}", vec["name"]);
        assert!(binance_sim::signing::verify(
            secret,
            payload,
            &expected.to_uppercase()
        ));
        // The payload the simulator rebuilds from the request matches.
        let (q, b) = match (vec["query_string"].as_str(), vec["request_body"].as_str()) {
            (Some(q), Some(b)) => (q.to_string(), format!("{b}&signature={expected}")),
            _ => (format!("{payload}&signature={expected}"), String::new()),
        };
        let (rebuilt, sig) = binance_sim::signing::payload_and_signature(&q, &b);
        assert_eq!(rebuilt, payload);
        assert_eq!(sig.as_deref(), Some(expected));
    }
}

#[tokio::test]
async fn official_vector_request_is_accepted_by_the_server_at_its_own_timestamp() {
    // Put the server clock at the vector's timestamp and load its key.
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(shared_binance_dir().join("hmac-test-vector.json")).unwrap(),
    )
    .unwrap();
    let (sim, c) = start("minimal.json", 6000).await;
    let mut sc: Value = serde_json::from_str(
        &std::fs::read_to_string(crate_dir().join("scenarios/minimal.json")).unwrap(),
    )
    .unwrap();
    sc["api_keys"] = serde_json::json!([{"key": v["apiKey"], "secret": v["secretKey"]}]);
    sc["clock"] = serde_json::json!({"start_ms": 1499827319559i64});
    sc["symbols"].as_array_mut().unwrap().push(
        serde_json::json!({"symbol": "LTCBTC", "base": "LTC", "quote": "BTC", "price": "0.2"}),
    );
    c.control("/__sim/scenario", sc).await;
    let vec = &v["vectors"][0];
    let url = vec["curl_url"]
        .as_str()
        .unwrap()
        .replace("https://api.binance.com", "");
    let (path, query) = url.split_once('?').unwrap();
    let r = c.raw("POST", path, query, v["apiKey"].as_str()).await;
    // Signature and timing pass; the account simply has no BTC to buy with.
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), -2010, "{}", r.text);
    assert_eq!(
        r.msg(),
        "Account has insufficient balance for requested action."
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_signature_is_minus_1022() {
    let (sim, c) = start("minimal.json", 6000).await;
    let ts = c.server_time().await.to_string();
    let q = encode(&[("timestamp", &ts)]);
    let r = c
        .raw(
            "GET",
            "/api/v3/account",
            &format!("{q}&signature={}", "ab".repeat(32)),
            Some("test-key"),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), -1022);
    assert_eq!(r.msg(), "Signature for this request is not valid.");
    sim.shutdown().await;
}

#[tokio::test]
async fn signature_is_case_insensitive_and_parameter_order_is_the_clients() {
    let (sim, c) = start("minimal.json", 6000).await;
    let ts = c.server_time().await.to_string();
    // Sorted order (python-binance), recvWindow last, upper-case hex.
    let q = encode(&[
        ("omitZeroBalances", "true"),
        ("timestamp", &ts),
        ("recvWindow", "10000"),
    ]);
    let sig = sign("test-secret", &q).to_uppercase();
    let r = c
        .raw(
            "GET",
            "/api/v3/account",
            &format!("{q}&signature={sig}"),
            Some("test-key"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    sim.shutdown().await;
}

#[tokio::test]
async fn signature_over_query_plus_body_without_separator_is_accepted() {
    let (sim, c) = start("minimal.json", 6000).await;
    let ts = c.server_time().await.to_string();
    let q = "symbol=BTCUSDT&side=BUY&type=MARKET";
    let body = format!("quantity=0.001&timestamp={ts}");
    let sig = sign("test-secret", &format!("{q}{body}"));
    let r = c
        .http
        .post(format!("{}/api/v3/order?{q}", c.base))
        .header("X-MBX-APIKEY", "test-key")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("{body}&signature={sig}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_and_unknown_api_keys_get_401_with_documented_codes() {
    let (sim, c) = start("minimal.json", 6000).await;
    let ts = c.server_time().await.to_string();
    let q = encode(&[("timestamp", &ts)]);
    let sig = sign("test-secret", &q);
    let r = c
        .raw(
            "GET",
            "/api/v3/account",
            &format!("{q}&signature={sig}"),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code(), r.msg().as_str()),
        (401, -2014, "API-key format invalid.")
    );
    let r = c
        .raw(
            "GET",
            "/api/v3/account",
            &format!("{q}&signature={sig}"),
            Some("nope"),
        )
        .await;
    assert_eq!(
        (r.status, r.code(), r.msg().as_str()),
        (
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action."
        )
    );
    sim.shutdown().await;
}

async fn at_timestamp(c: &Client, ts: i64, recv_window: Option<&str>) -> Resp {
    let ts = ts.to_string();
    let mut p = vec![("timestamp", ts.as_str())];
    if let Some(w) = recv_window {
        p.push(("recvWindow", w));
    }
    let q = encode(&p);
    let sig = sign("test-secret", &q);
    c.raw(
        "GET",
        "/api/v3/account",
        &format!("{q}&signature={sig}"),
        Some("test-key"),
    )
    .await
}

#[tokio::test]
async fn timing_rule_uses_the_two_documented_messages() {
    let (sim, c) = start("minimal.json", 6000).await;
    let now = c.server_time().await;
    let r = at_timestamp(&c, now - 6000, None).await;
    assert_eq!((r.status, r.code()), (400, -1021));
    assert_eq!(
        r.msg(),
        "Timestamp for this request is outside of the recvWindow."
    );
    let r = at_timestamp(&c, now - 6000, Some("10000")).await;
    assert_eq!(r.status, 200, "a wider recvWindow accepts it: {}", r.text);
    let r = at_timestamp(&c, now + 1000 + 500, None).await;
    assert_eq!(r.code(), -1021);
    assert_eq!(
        r.msg(),
        "Timestamp for this request was 1000ms ahead of the server's time."
    );
    let r = at_timestamp(&c, now + 500, None).await;
    assert_eq!(r.status, 200, "less than 1000 ms ahead is fine: {}", r.text);
    // Microseconds are accepted.
    let r = at_timestamp(&c, (now - 100) * 1000 + 123, None).await;
    assert_eq!(r.status, 200, "µs timestamp: {}", r.text);
    sim.shutdown().await;
}

#[tokio::test]
async fn recv_window_above_60000_is_rejected() {
    let (sim, c) = start("minimal.json", 6000).await;
    let now = c.server_time().await;
    let r = at_timestamp(&c, now, Some("60001")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), -1102);
    assert_eq!(
        r.msg(),
        "'recvWindow' contains unexpected value. Cannot be greater than 60000."
    );
    let r = at_timestamp(&c, now, Some("60000")).await;
    assert_eq!(r.status, 200);
    let r = at_timestamp(&c, now, Some("6000.346")).await;
    assert_eq!(r.status, 200, "three decimals allowed: {}", r.text);
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_timestamp_and_signature_name_the_parameter() {
    let (sim, c) = start("minimal.json", 6000).await;
    let r = c
        .raw("GET", "/api/v3/account", "signature=00", Some("test-key"))
        .await;
    assert_eq!(r.code(), -1102);
    assert_eq!(
        r.msg(),
        "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
    );
    let ts = c.server_time().await;
    let r = c
        .raw(
            "GET",
            "/api/v3/account",
            &format!("timestamp={ts}"),
            Some("test-key"),
        )
        .await;
    assert_eq!(
        r.msg(),
        "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
    );
    sim.shutdown().await;
}
