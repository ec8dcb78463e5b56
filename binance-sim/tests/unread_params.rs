//! `-1104 UNREAD_PARAMETERS` (errors.md) in every mode: a parameter the
//! endpoint does not read is refused, and a GET's parameters are read from
//! the query string only ("For GET endpoints, parameters must be sent as a
//! query string", rest-api.md).

mod common;
use common::*;

#[tokio::test]
async fn a_parameter_the_endpoint_does_not_read_is_refused_with_1104() {
    let (sim, c) = start("minimal.json", 6000).await;
    // A misspelt `fromId`: counted as sent, not read. Signed endpoints read
    // timestamp and signature too, so 3 of 4 names are read.
    let r = c
        .signed(
            "GET",
            "/api/v3/myTrades",
            &[("symbol", "BTCUSDT"), ("fromid", "1")],
        )
        .await;
    assert_eq!((r.status, r.code()), (400, -1104), "{}", r.text);
    assert_eq!(
        r.msg(),
        "Not all sent parameters were read; read '3' parameter(s) but was sent '4'."
    );
    // Unsigned endpoints too.
    let r = c.get("/api/v3/ping", &[("foo", "1")]).await;
    assert_eq!((r.status, r.code()), (400, -1104), "{}", r.text);
    assert_eq!(
        r.msg(),
        "Not all sent parameters were read; read '0' parameter(s) but was sent '1'."
    );
    // And in a POST body: nothing is placed.
    let r = c
        .signed_body(
            "POST",
            "/api/v3/order",
            &[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quantity", "0.001"),
                ("reduceOnly", "true"),
            ],
        )
        .await;
    assert_eq!(r.code(), -1104, "{}", r.text);
    assert_eq!(c.control_get("/__sim/state").await["trades"], 0);
    // Every documented parameter is read: no error.
    let r = c
        .signed(
            "GET",
            "/api/v3/myTrades",
            &[("symbol", "BTCUSDT"), ("fromId", "1"), ("limit", "5")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_get_body_is_never_read() {
    let (sim, c) = start("minimal.json", 6000).await;
    // Everything, signature included, in the body of a GET: as if nothing
    // was sent, so the mandatory timestamp is missing.
    let ts = c.server_time().await.to_string();
    let body = encode(&[("timestamp", &ts)]);
    let sig = sign(&c.secret, &body);
    let r = c
        .http
        .get(format!("{}/api/v3/account", c.base))
        .header("X-MBX-APIKEY", &c.key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("{body}&signature={sig}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], -1102, "{v}");
    assert_eq!(
        v["msg"],
        "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
    );
    // A signed GET with a stray body parameter: the body is ignored, so the
    // query's signature still verifies and nothing is unread.
    let q = encode(&[("timestamp", &ts)]);
    let sig = sign(&c.secret, &q);
    let r = c
        .http
        .get(format!("{}/api/v3/account?{q}&signature={sig}", c.base))
        .header("X-MBX-APIKEY", &c.key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("omitZeroBalances=maybe")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    sim.shutdown().await;
}
