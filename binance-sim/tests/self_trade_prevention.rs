//! Self-trade prevention (stp_faq.md): an order that would match the same
//! account's resting order is handled by the taker's
//! `selfTradePreventionMode`, default `EXPIRE_MAKER` (the symbol's
//! `defaultSelfTradePreventionMode`). The sim has no other participants, so
//! the account's own order is met first when its price is at least as good
//! as the market's: here a resting SELL at the current price.

mod common;
use common::*;
use serde_json::{json, Value};

/// minimal.json (BTCUSDT at 60000) plus the account's own resting LIMIT
/// SELL of 0.01 BTC at 60000, order 500.
async fn with_resting_sell(c: &Client) {
    let text = std::fs::read_to_string(crate_dir().join("scenarios/minimal.json")).unwrap();
    let mut sc: Value = serde_json::from_str(&text).unwrap();
    sc["balances"] = json!([{"asset": "USDT", "free": "10000"}, {"asset": "BTC", "free": "0"}]);
    sc["orders"] = json!([{
        "symbol": "BTCUSDT", "orderId": 500, "clientOrderId": "resting-sell", "side": "SELL",
        "type": "LIMIT", "timeInForce": "GTC", "price": "60000", "origQty": "0.01",
        "status": "NEW", "time": "-1m"
    }]);
    c.control("/__sim/scenario", sc).await;
}

async fn buy(c: &Client, extra: &[(&str, &str)]) -> Resp {
    let mut p = vec![
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "0.002"),
        ("price", "60000"),
    ];
    p.extend_from_slice(extra);
    c.signed_body("POST", "/api/v3/order", &p).await
}

async fn order(c: &Client, id: &str) -> Value {
    c.signed(
        "GET",
        "/api/v3/order",
        &[("symbol", "BTCUSDT"), ("orderId", id)],
    )
    .await
    .json()
}

#[tokio::test]
async fn exchange_info_offers_the_stp_modes_with_expire_maker_by_default() {
    let (sim, c) = start("minimal.json", 6000).await;
    let v = c.get("/api/v3/exchangeInfo", &[]).await.json();
    let s = &v["symbols"][0];
    assert_eq!(s["defaultSelfTradePreventionMode"], "EXPIRE_MAKER");
    assert_eq!(
        s["allowedSelfTradePreventionModes"],
        json!(["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"])
    );
    // A mode the symbol does not allow is refused as documented.
    let r = buy(&c, &[("selfTradePreventionMode", "DECREMENT")]).await;
    assert_eq!(
        (r.code(), r.msg().as_str()),
        (
            -1013,
            "This symbol does not allow the specified self-trade prevention mode."
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn by_default_the_resting_order_expires_in_match_and_the_new_one_trades_on() {
    let (sim, c) = start("minimal.json", 6000).await;
    with_resting_sell(&c).await;
    assert_eq!(c.balance("BTC").await.1, "0.01000000");
    let r = buy(&c, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let taker = r.json();
    assert_eq!(taker["selfTradePreventionMode"], "EXPIRE_MAKER");
    assert_eq!(
        taker["preventedMatches"],
        json!([{"preventedMatchId": 0, "makerOrderId": 500, "price": "60000.00000000",
                "makerPreventedQuantity": "0.01000000"}])
    );
    // The taker then fills against the market.
    assert_eq!(taker["status"], "FILLED");
    assert!(taker.get("preventedQuantity").is_none(), "{taker}");
    let maker = order(&c, "500").await;
    assert_eq!(maker["status"], "EXPIRED_IN_MATCH");
    assert_eq!(maker["preventedMatchId"], 0);
    assert_eq!(maker["preventedQuantity"], "0.01000000");
    assert_eq!(maker["selfTradePreventionMode"], "NONE");
    // The expired order's BTC is no longer locked.
    assert_eq!(c.balance("BTC").await.1, "0.00000000");
    sim.shutdown().await;
}

#[tokio::test]
async fn expire_taker_expires_the_new_order_and_leaves_the_resting_one() {
    let (sim, c) = start("minimal.json", 6000).await;
    with_resting_sell(&c).await;
    let r = buy(&c, &[("selfTradePreventionMode", "EXPIRE_TAKER")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let taker = r.json();
    assert_eq!(taker["status"], "EXPIRED_IN_MATCH");
    assert_eq!(taker["executedQty"], "0.00000000");
    assert_eq!(taker["fills"], json!([]));
    assert_eq!(taker["preventedMatchId"], 0);
    assert_eq!(taker["preventedQuantity"], "0.00200000");
    assert_eq!(
        taker["preventedMatches"][0]["takerPreventedQuantity"],
        "0.00200000"
    );
    assert_eq!(order(&c, "500").await["status"], "NEW");
    // Nothing of the taker's 120 USDT stays locked.
    assert_eq!(
        c.balance("USDT").await,
        ("10000.00000000".into(), "0.00000000".into())
    );
    let id = taker["orderId"].to_string();
    assert_eq!(order(&c, &id).await["status"], "EXPIRED_IN_MATCH");
    sim.shutdown().await;
}

#[tokio::test]
async fn expire_both_expires_both_and_none_lets_the_account_trade_with_itself() {
    let (sim, c) = start("minimal.json", 6000).await;
    with_resting_sell(&c).await;
    let taker = buy(&c, &[("selfTradePreventionMode", "EXPIRE_BOTH")])
        .await
        .json();
    assert_eq!(taker["status"], "EXPIRED_IN_MATCH");
    assert_eq!(order(&c, "500").await["status"], "EXPIRED_IN_MATCH");

    with_resting_sell(&c).await;
    let r = buy(&c, &[("selfTradePreventionMode", "NONE")]).await;
    let taker = r.json();
    assert_eq!(taker["status"], "FILLED", "{}", r.text);
    assert!(taker.get("preventedMatches").is_none());
    let maker = order(&c, "500").await;
    assert_eq!(maker["status"], "PARTIALLY_FILLED");
    assert_eq!(maker["executedQty"], "0.00200000");
    sim.shutdown().await;
}
