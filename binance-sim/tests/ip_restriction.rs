//! An API key restricted to trusted IPs ("Restrict access to trusted IPs
//! only"): from any other address every SIGNED request is HTTP 401 `-2015
//! Invalid API-key, IP, or permissions for action.`, and
//! `apiRestrictions` says `ipRestrict: true`.

mod common;
use common::*;
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};

/// minimal.json with its key trusting only `ips`.
async fn restrict(c: &Client, ips: &[&str]) {
    let text = std::fs::read_to_string(crate_dir().join("scenarios/minimal.json")).unwrap();
    let mut sc: serde_json::Value = serde_json::from_str(&text).unwrap();
    sc["api_keys"][0]["ip_restrict"] = json!(true);
    sc["api_keys"][0]["ips"] = json!(ips);
    c.control("/__sim/scenario", sc).await;
}

/// The same client, its connections made from `local` (any 127/8 address
/// reaches the sim on 127.0.0.1).
fn from_address(c: &Client, local: Ipv4Addr) -> Client {
    Client {
        http: reqwest::Client::builder()
            .local_address(IpAddr::V4(local))
            .build()
            .unwrap(),
        ..c.clone()
    }
}

#[tokio::test]
async fn a_signed_request_from_an_untrusted_address_is_refused_with_2015() {
    let (sim, c) = start("minimal.json", 6000).await;
    let r = c
        .signed("GET", "/sapi/v1/account/apiRestrictions", &[])
        .await;
    assert_eq!(r.json()["ipRestrict"], false);

    restrict(&c, &["127.0.0.2"]).await;
    // From 127.0.0.1: refused, whatever the endpoint.
    for (method, path) in [
        ("GET", "/api/v3/account"),
        ("GET", "/api/v3/openOrders"),
        ("GET", "/sapi/v1/account/apiRestrictions"),
    ] {
        let r = c.signed(method, path, &[]).await;
        assert_eq!((r.status, r.code()), (401, -2015), "{path}: {}", r.text);
        assert_eq!(r.msg(), "Invalid API-key, IP, or permissions for action.");
    }
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
    assert_eq!((r.status, r.code()), (401, -2015), "{}", r.text);
    // Public endpoints take no key: unaffected.
    assert_eq!(c.get("/api/v3/ping", &[]).await.status, 200);

    // From the trusted address: served, and the restriction is reported.
    let trusted = from_address(&c, Ipv4Addr::new(127, 0, 0, 2));
    let r = trusted.signed("GET", "/api/v3/account", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = trusted
        .signed("GET", "/sapi/v1/account/apiRestrictions", &[])
        .await;
    assert_eq!(r.json()["ipRestrict"], true, "{}", r.text);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_ip_restriction_without_addresses_is_not_a_valid_scenario() {
    let (sim, c) = start("minimal.json", 6000).await;
    let text = std::fs::read_to_string(crate_dir().join("scenarios/minimal.json")).unwrap();
    for key_fields in [
        json!({"ip_restrict": true}),
        json!({"ip_restrict": true, "ips": ["not-an-ip"]}),
        json!({"ips": ["127.0.0.1"]}),
    ] {
        let mut sc: serde_json::Value = serde_json::from_str(&text).unwrap();
        for (k, v) in key_fields.as_object().unwrap() {
            sc["api_keys"][0][k] = v.clone();
        }
        let r = c
            .http
            .post(format!("{}/__sim/scenario", c.base))
            .json(&sc)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{key_fields}");
    }
    sim.shutdown().await;
}
