//! Ed25519 and RSA API keys: registered with a public key PEM, checked as
//! Binance documents (base64 signature, percent-encoded on the wire, `-1022`
//! when it does not verify), next to the HMAC keys of `security.rs`.

mod common;
use binance_sim::testkeys::TestKey;
use binance_sim::Scenario;
use common::*;
use serde_json::{json, Value};

fn scenario_with_keys(keys: Value) -> Value {
    let mut sc: Value = serde_json::from_str(
        &std::fs::read_to_string(crate_dir().join("scenarios/minimal.json")).unwrap(),
    )
    .unwrap();
    sc["api_keys"] = keys;
    sc
}

/// The minimal scenario with one API key registered by its public key.
async fn with_one_key(name: &str, key: &TestKey) -> (binance_sim::RunningSim, Client) {
    let (sim, c) = start("minimal.json", 6000).await;
    c.control(
        "/__sim/scenario",
        scenario_with_keys(json!([{"key": name, "public_key": key.public_pem}])),
    )
    .await;
    (sim, c)
}

/// A GET /api/v3/account signed by `sign`, the base64 signature
/// percent-encoded as the docs' step 3 says.
async fn account_signed(c: &Client, key: &str, sign: impl Fn(&str) -> String) -> Resp {
    let ts = c.server_time().await.to_string();
    let q = encode(&[("omitZeroBalances", "true"), ("timestamp", &ts)]);
    let sig = encode(&[("signature", &sign(&q))]);
    c.raw("GET", "/api/v3/account", &format!("{q}&{sig}"), Some(key))
        .await
}

fn assert_bad_signature(r: &Resp) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), -1022, "{}", r.text);
    assert_eq!(r.msg(), "Signature for this request is not valid.");
}

#[tokio::test]
async fn ed25519_and_rsa_keys_accept_their_own_signature_and_refuse_another_keys() {
    let (ed, rsa, stranger) = (TestKey::ed25519(), TestKey::rsa(), TestKey::ed25519());
    let (sim, c) = start("minimal.json", 6000).await;
    c.control(
        "/__sim/scenario",
        scenario_with_keys(json!([
            {"key": "test-key", "secret": "test-secret"},
            {"key": "ed-key", "public_key": ed.public_pem},
            {"key": "rsa-key", "public_key": rsa.public_pem},
        ])),
    )
    .await;

    for (key, signer) in [("ed-key", &ed), ("rsa-key", &rsa)] {
        let r = account_signed(&c, key, |p| signer.sign(p)).await;
        assert_eq!(r.status, 200, "{key}: {}", r.text);
        assert!(r.json()["balances"].is_array(), "{key}: {}", r.text);
    }
    // Another key's signature, the other algorithm's, a tampered one, hex.
    assert_bad_signature(&account_signed(&c, "ed-key", |p| stranger.sign(p)).await);
    assert_bad_signature(&account_signed(&c, "ed-key", |p| rsa.sign(p)).await);
    assert_bad_signature(&account_signed(&c, "rsa-key", |p| ed.sign(p)).await);
    let flipped = |p: &str| {
        let s = ed.sign(p);
        let first = if s.starts_with('A') { "B" } else { "A" };
        format!("{first}{}", &s[1..])
    };
    assert_bad_signature(&account_signed(&c, "ed-key", flipped).await);
    assert_bad_signature(&account_signed(&c, "ed-key", |p| sign("test-secret", p)).await);
    // The HMAC key is unchanged beside them.
    let r = account_signed(&c, "test-key", |p| sign("test-secret", p)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    sim.shutdown().await;
}

#[tokio::test]
async fn ed25519_signature_must_be_over_the_exact_payload_sent() {
    let ed = TestKey::ed25519();
    let (sim, c) = with_one_key("ed-key", &ed).await;
    let ts = c.server_time().await.to_string();
    let signed = encode(&[("timestamp", &ts)]);
    let sent = encode(&[("timestamp", &ts), ("recvWindow", "5000")]);
    let sig = encode(&[("signature", &ed.sign(&signed))]);
    let r = c
        .raw(
            "GET",
            "/api/v3/account",
            &format!("{sent}&{sig}"),
            Some("ed-key"),
        )
        .await;
    assert_bad_signature(&r);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unencoded_plus_in_a_base64_signature_is_refused() {
    // Binance asks for the base64 signature to be percent-encoded: a raw `+`
    // is form-decoded as a space. Find a signature containing `+` by varying
    // the payload, then send it unencoded.
    let rsa = TestKey::rsa();
    let (sim, c) = with_one_key("rsa-key", &rsa).await;
    let ts = c.server_time().await.to_string();
    let (q, sig) = (0..1000)
        .map(|n| encode(&[("timestamp", &ts), ("recvWindow", &format!("{}", 4000 + n))]))
        .map(|q| {
            let s = rsa.sign(&q);
            (q, s)
        })
        .find(|(_, s)| s.contains('+'))
        .expect("some signature has a '+'");
    let raw = c
        .raw(
            "GET",
            "/api/v3/account",
            &format!("{q}&signature={sig}"),
            Some("rsa-key"),
        )
        .await;
    assert_bad_signature(&raw);
    let encoded = encode(&[("signature", &sig)]);
    let ok = c
        .raw(
            "GET",
            "/api/v3/account",
            &format!("{q}&{encoded}"),
            Some("rsa-key"),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    sim.shutdown().await;
}

#[tokio::test]
async fn rsa_signature_in_a_post_body_covers_query_plus_body() {
    let rsa = TestKey::rsa();
    let (sim, c) = with_one_key("rsa-key", &rsa).await;
    let ts = c.server_time().await.to_string();
    let q = "symbol=BTCUSDT&side=BUY&type=MARKET";
    let body = format!("quantity=0.001&timestamp={ts}");
    let sig = encode(&[("signature", &rsa.sign(&format!("{q}{body}")))]);
    let r = c
        .http
        .post(format!("{}/api/v3/order?{q}", c.base))
        .header("X-MBX-APIKEY", "rsa-key")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("{body}&{sig}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    sim.shutdown().await;
}

#[test]
fn a_scenario_key_needs_exactly_one_of_secret_and_public_key() {
    let ed = TestKey::ed25519();
    let load = |keys: Value| {
        let sc = Scenario::from_json_str(&scenario_with_keys(keys).to_string()).unwrap();
        binance_sim::state::Exchange::from_scenario(&sc, 1_700_000_000_000).map(|_| ())
    };
    assert!(load(json!([{"key": "k", "secret": "s"}])).is_ok());
    assert!(load(json!([{"key": "k", "public_key": ed.public_pem}])).is_ok());
    let cases = [
        (json!([{"key": "k"}]), "needs a secret"),
        (
            json!([{"key": "k", "secret": "s", "public_key": ed.public_pem}]),
            "both secret and public_key",
        ),
        (
            json!([{"key": "k", "public_key": ed.private_pem}]),
            "not a PUBLIC KEY",
        ),
        (
            json!([{"key": "k", "public_key": "ssh-ed25519 AAAA"}]),
            "not a PEM",
        ),
    ];
    for (keys, expected) in cases {
        let err = load(keys.clone()).unwrap_err().to_string();
        assert!(err.contains(expected), "{keys}: {err}");
    }
}
