//! Transfers between this sub-account and its master or a sibling, and
//! `GET /sapi/v1/sub-account/transfer/subUserHistory` (docs/ledger-endpoints.md §8).

mod common;

use common::*;
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;
const PATH: &str = "/sapi/v1/sub-account/transfer/subUserHistory";

async fn control_err(c: &Client, path: &str, body: Value) -> (u16, Value) {
    let r = c
        .http
        .post(format!("{}{}", c.base, path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

fn tran_ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["tranId"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn transfers_with_the_master_move_the_named_wallet_exactly_and_are_served_by_type() {
    let (_sim, c) = start("ledger.json", 6000).await;
    align_minute(&c).await;
    let before = c.balance("USDT").await.0;
    assert_eq!(before, "10000.00000000");
    let t_in = c
        .control(
            "/__sim/sub-account/transfers",
            json!({"direction": "in", "asset": "USDT", "amount": "250.5"}),
        )
        .await;
    c.control("/__sim/clock", json!({"advance_ms": 1000})).await;
    let t_out = c
        .control(
            "/__sim/sub-account/transfers",
            json!({"direction": "out", "asset": "USDT", "amount": "100",
                   "counterParty": "subAccount", "counterAccountType": "COIN_FUTURE"}),
        )
        .await;
    // Into this account's USD-M futures wallet: Spot does not move.
    c.control(
        "/__sim/sub-account/transfers",
        json!({"direction": "in", "asset": "USDT", "amount": "7",
               "accountType": "USDT_FUTURE"}),
    )
    .await;
    // A failed one moves nothing.
    c.control(
        "/__sim/sub-account/transfers",
        json!({"direction": "out", "asset": "USDT", "amount": "1", "fail": true}),
    )
    .await;
    assert_eq!(c.balance("USDT").await.0, "10150.50000000");
    // More than Spot holds is refused as Binance refuses a short wallet.
    let (status, body) = control_err(
        &c,
        "/__sim/sub-account/transfers",
        json!({"direction": "out", "asset": "USDT", "amount": "99999"}),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(-4026)));

    // Transfers in, newest first, weight 1 in the SAPI IP pool.
    let r = c.signed("GET", PATH, &[("type", "1")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-sapi-used-ip-weight-1m").as_deref(), Some("1"));
    let v = r.json();
    assert_eq!(v.as_array().unwrap().len(), 2);
    let row = &v[1];
    let mut fields: Vec<String> = row.as_object().unwrap().keys().cloned().collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "asset",
            "counterParty",
            "email",
            "fromAccountType",
            "qty",
            "status",
            "time",
            "toAccountType",
            "tranId",
            "type"
        ]
    );
    assert_eq!(row["tranId"], t_in["tranId"]);
    assert_eq!(
        (
            &row["counterParty"],
            &row["email"],
            &row["type"],
            &row["qty"],
            &row["fromAccountType"],
            &row["toAccountType"],
            &row["status"]
        ),
        (
            &json!("master"),
            &json!("master@test.com"),
            &json!(1),
            &json!("250.5"),
            &json!("SPOT"),
            &json!("SPOT"),
            &json!("SUCCESS")
        )
    );
    assert_eq!(v[0]["toAccountType"], "USDT_FUTURE");

    // No type: transfers out only, and no failure unless asked.
    let v = c.signed("GET", PATH, &[]).await.json();
    assert_eq!(tran_ids(&v), vec![t_out["tranId"].as_u64().unwrap()]);
    assert_eq!(
        (&v[0]["fromAccountType"], &v[0]["toAccountType"]),
        (&json!("SPOT"), &json!("COIN_FUTURE"))
    );
    let v = c
        .signed("GET", PATH, &[("type", "2"), ("returnFailHistory", "true")])
        .await
        .json();
    let statuses: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["FAILURE", "SUCCESS"]);

    // asset filters; limit keeps the newest.
    let v = c
        .signed("GET", PATH, &[("type", "1"), ("asset", "BTC")])
        .await;
    assert_eq!(v.json(), json!([]));
    let v = c
        .signed("GET", PATH, &[("type", "1"), ("limit", "1")])
        .await
        .json();
    assert_eq!(v[0]["toAccountType"], "USDT_FUTURE");
    // Bad values and unread parameters.
    assert_eq!(c.signed("GET", PATH, &[("type", "3")]).await.code(), -1130);
    assert_eq!(
        c.signed("GET", PATH, &[("returnFailHistory", "yes")])
            .await
            .code(),
        -1130
    );
    assert_eq!(c.signed("GET", PATH, &[("size", "10")]).await.code(), -1104);
}

#[tokio::test]
async fn the_history_defaults_to_the_last_30_days_and_strict_mode_caps_window_and_rows() {
    let (_sim, c) = start("ledger.json", 6000).await;
    align_minute(&c).await;
    for _ in 0..201 {
        c.control(
            "/__sim/sub-account/transfers",
            json!({"direction": "in", "asset": "USDT", "amount": "1"}),
        )
        .await;
    }
    let now = c.server_time().await;
    let s60 = (now - 60 * DAY).to_string();
    let e = (now + DAY).to_string();
    let wide = [
        ("type", "1"),
        ("startTime", s60.as_str()),
        ("endTime", e.as_str()),
    ];
    let rows = |v: Value| v.as_array().unwrap().len();
    assert_eq!(rows(c.signed("GET", PATH, &wide).await.json()), 201);
    c.control("/__sim/strict", json!({"sub_history_window_30d": true}))
        .await;
    assert_eq!(c.signed("GET", PATH, &wide).await.code(), -1127);
    c.control(
        "/__sim/strict",
        json!({"sub_history_window_30d": false, "sub_history_limit_200": true}),
    )
    .await;
    // 200 at most: a client asking 500 gets what it would get from 200.
    let r = c
        .signed("GET", PATH, &[("type", "1"), ("limit", "500")])
        .await;
    assert_eq!(rows(r.json()), 200);

    // Neither time: the last 30 days.
    c.control("/__sim/clock", json!({"advance_ms": 31 * DAY}))
        .await;
    assert_eq!(
        c.signed("GET", PATH, &[("type", "1")]).await.json(),
        json!([])
    );
    let old = (now - DAY).to_string();
    let v = c
        .signed("GET", PATH, &[("type", "1"), ("startTime", old.as_str())])
        .await;
    assert_eq!(rows(v.json()), 200, "startTime alone: to now");
}

#[tokio::test]
async fn a_master_account_has_no_history_and_strict_mode_refuses_it_with_minus_1002() {
    let (_sim, c) = start("ledger.json", 6000).await;
    c.control("/__sim/sub-account", json!({"master": true}))
        .await;
    let r = c.signed("GET", PATH, &[("type", "1")]).await;
    assert_eq!((r.status, r.json()), (200, json!([])));
    // A master does not transfer through this history.
    let (status, body) = control_err(
        &c,
        "/__sim/sub-account/transfers",
        json!({"direction": "in", "asset": "USDT", "amount": "1"}),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (401, Some(-1002)));
    c.control("/__sim/strict", json!({"preset": "strict"}))
        .await;
    let r = c.signed("GET", PATH, &[("type", "1")]).await;
    assert_eq!((r.status, r.code()), (401, -1002));
    assert_eq!(
        r.msg(),
        "You are not authorized to execute this request.",
        "the documented message of -1002"
    );
    // Back to a sub-account: served again.
    c.control("/__sim/sub-account", json!({"master": false}))
        .await;
    assert_eq!(c.signed("GET", PATH, &[("type", "1")]).await.status, 200);
}
