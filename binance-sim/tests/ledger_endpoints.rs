//! The wallet endpoints that explain balance moves without trades, and
//! their control actions (docs/ledger-endpoints.md): Funding wallet,
//! universal transfers, Convert, dust, distributions, Simple Earn.

mod common;

use common::*;
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;

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

async fn state(c: &Client) -> Value {
    c.control_get("/__sim/state").await
}

fn funding_of(st: &Value, asset: &str) -> Option<String> {
    st["funding"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["asset"] == asset)
        .map(|b| b["free"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn funding_deposits_and_withdrawals_move_the_funding_wallet_and_say_wallet_type_1() {
    let (_sim, c) = start("ledger.json", 6000).await;
    align_minute(&c).await;
    c.control(
        "/__sim/deposits",
        json!({"asset": "USDT", "amount": "250", "wallet": "funding"}),
    )
    .await;
    c.control("/__sim/clock", json!({"advance_ms": 5})).await;
    c.control("/__sim/deposits", json!({"asset": "USDT", "amount": "5"}))
        .await;
    // Spot only got the spot deposit.
    assert_eq!(c.balance("USDT").await.0, "10005.00000000");
    assert_eq!(
        funding_of(&state(&c).await, "USDT").as_deref(),
        Some("250.00000000")
    );
    let deps = c
        .signed("GET", "/sapi/v1/capital/deposit/hisrec", &[])
        .await
        .json();
    let types: Vec<i64> = deps
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["walletType"].as_i64().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![0, 1],
        "newest first: the spot one, then the funding one"
    );

    // A funding withdrawal debits Funding, not Spot.
    c.control(
        "/__sim/withdrawals",
        json!({"asset": "USDT", "amount": "100", "fee": "1", "wallet": "funding"}),
    )
    .await;
    assert_eq!(c.balance("USDT").await.0, "10005.00000000");
    assert_eq!(
        funding_of(&state(&c).await, "USDT").as_deref(),
        Some("149.00000000")
    );
    let w = c
        .signed("GET", "/sapi/v1/capital/withdraw/history", &[])
        .await
        .json();
    assert_eq!(w[0]["walletType"], 1);
    // More than the Funding wallet holds.
    let (status, body) = control_err(
        &c,
        "/__sim/withdrawals",
        json!({"asset": "USDT", "amount": "200", "wallet": "funding"}),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(-4026)));

    // The Funding wallet endpoint: a POST, weight 1 in its own IP pool.
    let r = c
        .signed_body("POST", "/sapi/v1/asset/get-funding-asset", &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-sapi-used-ip-weight-1m").as_deref(), Some("1"));
    assert_eq!(
        r.json(),
        json!([{"asset": "USDT", "free": "149", "locked": "0", "freeze": "0",
                "withdrawing": "0", "btcValuation": "0"}])
    );
    let r = c
        .signed(
            "POST",
            "/sapi/v1/asset/get-funding-asset",
            &[("asset", "USDT"), ("needBtcValuation", "true")],
        )
        .await;
    // 149 USDT at 60000 USDT per BTC.
    assert_eq!(r.json()[0]["btcValuation"], "0.00248333");
    let r = c
        .signed(
            "POST",
            "/sapi/v1/asset/get-funding-asset",
            &[("asset", "BTC")],
        )
        .await;
    assert_eq!(r.json(), json!([]));
    let r = c
        .signed("POST", "/sapi/v1/asset/get-funding-asset", &[("foo", "1")])
        .await;
    assert_eq!(r.code(), -1104);
}

#[tokio::test]
async fn universal_transfers_move_exactly_and_page_newest_first() {
    let (_sim, c) = start("ledger.json", 6000).await;
    align_minute(&c).await;
    let t1 = c
        .control(
            "/__sim/transfers",
            json!({"type": "MAIN_FUNDING", "asset": "USDT", "amount": "1000"}),
        )
        .await;
    assert!(t1["tranId"].is_u64());
    c.control("/__sim/clock", json!({"advance_ms": 1000})).await;
    c.control(
        "/__sim/transfers",
        json!({"type": "FUNDING_MAIN", "asset": "USDT", "amount": "400.5"}),
    )
    .await;
    c.control(
        "/__sim/transfers",
        json!({"type": "MAIN_UMFUTURE", "asset": "USDT", "amount": "100"}),
    )
    .await;
    c.control(
        "/__sim/transfers",
        json!({"type": "UMFUTURE_MAIN", "asset": "USDT", "amount": "40"}),
    )
    .await;
    assert_eq!(c.balance("USDT").await.0, "9340.50000000");
    assert_eq!(
        funding_of(&state(&c).await, "USDT").as_deref(),
        Some("599.50000000")
    );
    let (status, body) = control_err(
        &c,
        "/__sim/transfers",
        json!({"type": "UMFUTURE_MAIN", "asset": "USDT", "amount": "61"}),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(-4026)));
    let (status, _) = control_err(
        &c,
        "/__sim/transfers",
        json!({"type": "MAIN_MARGIN", "asset": "USDT", "amount": "1"}),
    )
    .await;
    assert_eq!(status, 400, "margin is not simulated");

    let r = c
        .signed(
            "GET",
            "/sapi/v1/asset/transfer",
            &[("type", "MAIN_FUNDING")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-sapi-used-ip-weight-1m").as_deref(), Some("1"));
    let v = r.json();
    assert_eq!(v["total"], 1);
    let row = &v["rows"][0];
    // The documented fields, compared as a set: serde_json keeps insertion order only when
    // its `preserve_order` feature is on, which a workspace build may turn on.
    let mut fields: Vec<String> = row.as_object().unwrap().keys().cloned().collect();
    fields.sort();
    assert_eq!(
        fields,
        ["amount", "asset", "status", "timestamp", "tranId", "type"]
    );
    assert_eq!(
        (&row["asset"], &row["amount"], &row["type"], &row["status"]),
        (
            &json!("USDT"),
            &json!("1000"),
            &json!("MAIN_FUNDING"),
            &json!("CONFIRMED")
        )
    );
    assert_eq!(row["tranId"], t1["tranId"]);
    // `type` is mandatory and must be a documented value.
    let r = c.signed("GET", "/sapi/v1/asset/transfer", &[]).await;
    assert_eq!(r.code(), -1102);
    let r = c
        .signed("GET", "/sapi/v1/asset/transfer", &[("type", "MAIN_MOON")])
        .await;
    assert_eq!(r.status, 400);
    // Paging: size 1, pages 1 and 2 of MAIN_* rows... one type per query.
    for _ in 0..3 {
        c.control(
            "/__sim/transfers",
            json!({"type": "MAIN_FUNDING", "asset": "USDT", "amount": "1"}),
        )
        .await;
        c.control("/__sim/clock", json!({"advance_ms": 10})).await;
    }
    let p1 = c
        .signed(
            "GET",
            "/sapi/v1/asset/transfer",
            &[("type", "MAIN_FUNDING"), ("size", "2")],
        )
        .await
        .json();
    let p3 = c
        .signed(
            "GET",
            "/sapi/v1/asset/transfer",
            &[("type", "MAIN_FUNDING"), ("size", "2"), ("current", "2")],
        )
        .await
        .json();
    assert_eq!(p1["total"], 4);
    assert_eq!(p1["rows"].as_array().unwrap().len(), 2);
    assert_eq!(p3["rows"].as_array().unwrap().len(), 2);
    assert_eq!(p3["rows"][1]["amount"], "1000", "oldest last");
    // The default window is the last 7 days.
    c.control("/__sim/clock", json!({"advance_ms": 8 * DAY}))
        .await;
    let v = c
        .signed(
            "GET",
            "/sapi/v1/asset/transfer",
            &[("type", "MAIN_FUNDING")],
        )
        .await
        .json();
    assert_eq!(v, json!({"total": 0, "rows": []}));
    let now = c.server_time().await;
    let start = (now - 9 * DAY).to_string();
    let v = c
        .signed(
            "GET",
            "/sapi/v1/asset/transfer",
            &[("type", "MAIN_FUNDING"), ("startTime", &start)],
        )
        .await
        .json();
    assert_eq!(v["total"], 4);
    // Only the last 6 months are ever returned.
    c.control("/__sim/clock", json!({"advance_ms": 180 * DAY}))
        .await;
    let v = c
        .signed(
            "GET",
            "/sapi/v1/asset/transfer",
            &[("type", "MAIN_FUNDING"), ("startTime", &start)],
        )
        .await
        .json();
    assert_eq!(v["total"], 0);
    // Strict: an empty answer has no `rows`.
    c.control("/__sim/strict", json!({"omit_empty_rows": true}))
        .await;
    let v = c
        .signed(
            "GET",
            "/sapi/v1/asset/transfer",
            &[("type", "MAIN_FUNDING")],
        )
        .await
        .json();
    assert_eq!(v, json!({"total": 0}));
}

#[tokio::test]
async fn convert_moves_the_exact_amounts_and_trade_flow_follows_its_rules() {
    let (_sim, c) = start("ledger.json", 6000).await;
    align_minute(&c).await;
    let t0 = c.server_time().await;
    let row = c
        .control(
            "/__sim/converts",
            json!({"fromAsset": "USDT", "fromAmount": "20", "toAsset": "BNB",
                   "toAmount": "0.06154036"}),
        )
        .await;
    assert_eq!(c.balance("USDT").await.0, "9980.00000000");
    assert_eq!(c.balance("BNB").await.0, "0.06154036");
    assert_eq!(row["orderStatus"], "SUCCESS");
    assert_eq!(row["ratio"], "0.00307702");
    assert!(row["orderId"].is_u64());
    assert_eq!(row["quoteId"].as_str().unwrap().len(), 32);
    // From Funding.
    c.control(
        "/__sim/transfers",
        json!({"type": "MAIN_FUNDING", "asset": "USDT", "amount": "50"}),
    )
    .await;
    c.control(
        "/__sim/converts",
        json!({"fromAsset": "USDT", "fromAmount": "50", "toAsset": "ETH",
               "toAmount": "0.0166", "wallet": "funding"}),
    )
    .await;
    let st = state(&c).await;
    assert_eq!(funding_of(&st, "USDT").as_deref(), Some("0.00000000"));
    assert_eq!(funding_of(&st, "ETH").as_deref(), Some("0.01660000"));
    assert_eq!(c.balance("ETH").await.0, "0.01000000", "Spot ETH unchanged");
    let (status, body) = control_err(
        &c,
        "/__sim/converts",
        json!({"fromAsset": "BTC", "fromAmount": "1", "toAsset": "USDT", "toAmount": "60000"}),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(-4026)));

    let now = c.server_time().await;
    let (s, e) = ((t0 - 1000).to_string(), (now + 1).to_string());
    let r = c
        .signed(
            "GET",
            "/sapi/v1/convert/tradeFlow",
            &[("startTime", &s), ("endTime", &e)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.header("x-sapi-used-uid-weight-1m").as_deref(),
        Some("3000")
    );
    let v = r.json();
    assert_eq!(v["limit"], 100);
    assert_eq!(v["moreData"], false);
    assert_eq!(v["startTime"].as_i64(), Some(t0 - 1000));
    let list = v["list"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0], row, "oldest first, the row the control returned");
    assert_eq!(
        list[0].as_object().unwrap().len(),
        10,
        "quoteId orderId orderStatus fromAsset fromAmount toAsset toAmount ratio inverseRatio createTime"
    );
    // limit 1: the oldest, and moreData; strict: the newest.
    let v = c
        .signed(
            "GET",
            "/sapi/v1/convert/tradeFlow",
            &[("startTime", &s), ("endTime", &e), ("limit", "1")],
        )
        .await
        .json();
    assert_eq!(
        (v["moreData"].as_bool(), &v["list"][0]["toAsset"]),
        (Some(true), &json!("BNB"))
    );
    c.control("/__sim/strict", json!({"newest_page_in_window": true}))
        .await;
    let v = c
        .signed(
            "GET",
            "/sapi/v1/convert/tradeFlow",
            &[("startTime", &s), ("endTime", &e), ("limit", "1")],
        )
        .await
        .json();
    assert_eq!(v["list"][0]["toAsset"], "ETH");
    // Both times are mandatory; at most 30 days apart.
    let r = c
        .signed("GET", "/sapi/v1/convert/tradeFlow", &[("startTime", &s)])
        .await;
    assert_eq!(r.code(), -1102);
    let far = (t0 + 31 * DAY).to_string();
    let r = c
        .signed(
            "GET",
            "/sapi/v1/convert/tradeFlow",
            &[("startTime", &s), ("endTime", &far)],
        )
        .await;
    assert_eq!(r.code(), -1127);
    let r = c
        .signed(
            "GET",
            "/sapi/v1/convert/tradeFlow",
            &[("startTime", &s), ("endTime", &e), ("walletType", "SPOT")],
        )
        .await;
    assert_eq!(r.code(), -1104);
}

#[tokio::test]
async fn dust_turns_whole_balances_into_bnb_less_two_percent() {
    let (_sim, c) = start("ledger.json", 6000).await;
    align_minute(&c).await;
    let d = c
        .control("/__sim/dust", json!({"assets": ["ETH", "BTC"]}))
        .await;
    // ETH 0.01 × 3000 / 600 = 0.05 BNB, charge 0.001; BTC 0.0001 × 60000 /
    // 600 = 0.01 BNB, charge 0.0002.
    assert_eq!(d["totalTransferedAmount"], "0.0588");
    assert_eq!(d["totalServiceChargeAmount"], "0.0012");
    assert_eq!(c.balance("BNB").await.0, "0.05880000");
    assert_eq!(c.balance("ETH").await.0, "0.00000000");
    assert_eq!(c.balance("BTC").await.0, "0.00000000");
    let det = d["userAssetDribbletDetails"].as_array().unwrap();
    assert_eq!(det.len(), 2);
    assert_eq!(
        (
            &det[0]["fromAsset"],
            &det[0]["amount"],
            &det[0]["transferedAmount"],
            &det[0]["serviceChargeAmount"],
            &det[0]["targetAsset"]
        ),
        (
            &json!("ETH"),
            &json!("0.01"),
            &json!("0.049"),
            &json!("0.001"),
            &json!("BNB")
        )
    );
    // Nothing left to sweep.
    let (status, _) = control_err(&c, "/__sim/dust", json!({"assets": ["ETH"]})).await;
    assert_eq!(status, 400);

    let r = c.signed("GET", "/sapi/v1/asset/dribblet", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-sapi-used-ip-weight-1m").as_deref(), Some("1"));
    assert_eq!(r.json(), json!({"total": 1, "userAssetDribblets": [d]}));
    let r = c
        .signed(
            "GET",
            "/sapi/v1/asset/dribblet",
            &[("accountType", "MARGIN")],
        )
        .await;
    assert_eq!(r.json(), json!({"total": 0, "userAssetDribblets": []}));
    // Only the last 100 dribblets.
    for i in 0..101 {
        c.control(
            "/__sim/distributions",
            json!({"asset": "ETH", "amount": "0.001"}),
        )
        .await;
        c.control("/__sim/clock", json!({"advance_ms": 1})).await;
        let _ = i;
        c.control("/__sim/dust", json!({"assets": ["ETH"]})).await;
    }
    let v = c.signed("GET", "/sapi/v1/asset/dribblet", &[]).await.json();
    assert_eq!(v["total"], 100);
    let r = c
        .signed("GET", "/sapi/v1/asset/dribblet", &[("limit", "5")])
        .await;
    assert_eq!(r.code(), -1104);
}

#[tokio::test]
async fn distributions_credit_spot_and_asset_dividend_keeps_its_window() {
    let (_sim, c) = start("ledger.json", 6000).await;
    align_minute(&c).await;
    let first = c
        .control(
            "/__sim/distributions",
            json!({"asset": "BNB", "amount": "0.5", "info": "BNB Vault"}),
        )
        .await;
    c.control("/__sim/clock", json!({"advance_ms": 1000})).await;
    c.control(
        "/__sim/distributions",
        json!({"asset": "ETH", "amount": "2"}),
    )
    .await;
    assert_eq!(c.balance("BNB").await.0, "0.50000000");
    assert_eq!(c.balance("ETH").await.0, "2.01000000");
    let r = c.signed("GET", "/sapi/v1/asset/assetDividend", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-sapi-used-ip-weight-1m").as_deref(), Some("10"));
    let v = r.json();
    assert_eq!(v["total"], 2);
    assert_eq!(v["rows"][0]["enInfo"], "ETH distribution", "newest first");
    assert_eq!(v["rows"][0]["amount"], "2.00000000");
    assert_eq!(v["rows"][0]["direction"], 1);
    assert_eq!(v["rows"][1], first);
    let v = c
        .signed(
            "GET",
            "/sapi/v1/asset/assetDividend",
            &[("asset", "BNB"), ("limit", "1")],
        )
        .await
        .json();
    assert_eq!(
        (v["total"].as_i64(), v["rows"].as_array().unwrap().len()),
        (Some(1), 1)
    );
    let v = c
        .signed("GET", "/sapi/v1/asset/assetDividend", &[("limit", "1")])
        .await
        .json();
    assert_eq!(
        (v["total"].as_i64(), v["rows"].as_array().unwrap().len()),
        (Some(2), 1),
        "total counts every matching row"
    );
    let now = c.server_time().await;
    let (s, e) = ((now - 181 * DAY).to_string(), now.to_string());
    let r = c
        .signed(
            "GET",
            "/sapi/v1/asset/assetDividend",
            &[("startTime", &s), ("endTime", &e)],
        )
        .await;
    assert_eq!(r.code(), -1127);
    let r = c
        .signed("GET", "/sapi/v1/asset/assetDividend", &[("current", "1")])
        .await;
    assert_eq!(r.code(), -1104);
}

#[tokio::test]
async fn simple_earn_subscriptions_redemptions_and_rewards() {
    let (_sim, c) = start("ledger.json", 6000).await;
    align_minute(&c).await;
    let sub = c
        .control(
            "/__sim/earn/subscribe",
            json!({"asset": "USDT", "amount": "100"}),
        )
        .await;
    assert_eq!(sub["success"], true);
    c.control(
        "/__sim/transfers",
        json!({"type": "MAIN_FUNDING", "asset": "USDT", "amount": "50"}),
    )
    .await;
    c.control(
        "/__sim/earn/subscribe",
        json!({"asset": "USDT", "amount": "50", "sourceAccount": "FUND"}),
    )
    .await;
    assert_eq!(c.balance("USDT").await.0, "9850.00000000");
    c.control(
        "/__sim/earn/rewards",
        json!({"asset": "USDT", "rewards": "0.25"}),
    )
    .await;
    c.control(
        "/__sim/earn/redeem",
        json!({"asset": "USDT", "amount": "30", "destAccount": "FUND"}),
    )
    .await;
    c.control(
        "/__sim/earn/redeem",
        json!({"asset": "USDT", "amount": "20"}),
    )
    .await;
    assert_eq!(c.balance("USDT").await.0, "9870.00000000");
    assert_eq!(
        funding_of(&state(&c).await, "USDT").as_deref(),
        Some("30.00000000")
    );
    let (status, body) = control_err(
        &c,
        "/__sim/earn/redeem",
        json!({"asset": "USDT", "amount": "100.26"}),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(-4026)));

    let r = c
        .signed(
            "GET",
            "/sapi/v1/simple-earn/flexible/history/subscriptionRecord",
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-sapi-used-ip-weight-1m").as_deref(), Some("150"));
    let v = r.json();
    assert_eq!(v["total"], 2);
    assert_eq!(v["rows"][0]["sourceAccount"], "FUNDING");
    assert_eq!(v["rows"][1]["sourceAccount"], "SPOT");
    assert_eq!(v["rows"][1]["purchaseId"], sub["purchaseId"]);
    assert_eq!(v["rows"][1]["productId"], "USDT001");
    assert_eq!(v["rows"][1]["amount"], "100.00000000");
    let v = c
        .signed(
            "GET",
            "/sapi/v1/simple-earn/flexible/history/redemptionRecord",
            &[("size", "1")],
        )
        .await
        .json();
    assert_eq!(v["total"], 2);
    assert_eq!(v["rows"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            &v["rows"][0]["destAccount"],
            &v["rows"][0]["status"],
            &v["rows"][0]["projectId"]
        ),
        (&json!("SPOT"), &json!("PAID"), &json!("USDT001"))
    );
    // rewardsRecord needs `type`.
    let r = c
        .signed(
            "GET",
            "/sapi/v1/simple-earn/flexible/history/rewardsRecord",
            &[],
        )
        .await;
    assert_eq!(r.code(), -1102);
    let v = c
        .signed(
            "GET",
            "/sapi/v1/simple-earn/flexible/history/rewardsRecord",
            &[("type", "ALL")],
        )
        .await
        .json();
    assert_eq!(v["rows"][0]["rewards"], "0.25000000");
    assert_eq!(v["rows"][0]["type"], "REALTIME");
    let v = c
        .signed("GET", "/sapi/v1/simple-earn/flexible/position", &[])
        .await
        .json();
    assert_eq!(v["rows"][0]["totalAmount"], "100.25000000");
    assert_eq!(v["rows"][0]["cumulativeTotalRewards"], "0.25000000");
    // Windows: 3 months allowed, strict 30 days.
    let now = c.server_time().await;
    let (s, e) = ((now - 60 * DAY).to_string(), now.to_string());
    let path = "/sapi/v1/simple-earn/flexible/history/subscriptionRecord";
    let params = [("startTime", s.as_str()), ("endTime", e.as_str())];
    assert_eq!(c.signed("GET", path, &params).await.status, 200);
    c.control("/__sim/strict", json!({"earn_window_30d": true}))
        .await;
    assert_eq!(c.signed("GET", path, &params).await.code(), -1127);
    let s100 = (now - 100 * DAY).to_string();
    c.control("/__sim/strict", json!({"earn_window_30d": false}))
        .await;
    let r = c
        .signed("GET", path, &[("startTime", &s100), ("endTime", &e)])
        .await;
    assert_eq!(r.code(), -1127);
    // The default window is the last 30 days.
    c.control("/__sim/clock", json!({"advance_ms": 31 * DAY}))
        .await;
    let v = c.signed("GET", path, &[]).await.json();
    assert_eq!(v, json!({"rows": [], "total": 0}));
    let r = c.signed("GET", path, &[("limit", "5")]).await;
    assert_eq!(r.code(), -1104);
}
