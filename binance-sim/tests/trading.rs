//! Orders, fills, commissions and exact balance moves.

mod common;
use common::*;
use serde_json::{json, Value};

async fn order(c: &Client, params: &[(&str, &str)]) -> Resp {
    c.signed_body("POST", "/api/v3/order", params).await
}

#[tokio::test]
async fn market_buy_moves_balances_exactly_with_commission_in_base() {
    let (sim, c) = start("minimal.json", 6000).await;
    let r = order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.01"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let o = r.json();
    assert_eq!(o["status"], "FILLED");
    assert_eq!(o["executedQty"], "0.01000000");
    assert_eq!(o["cummulativeQuoteQty"], "600.00000000");
    assert_eq!(
        o["fills"][0],
        json!({"price": "60000.00000000", "qty": "0.01000000", "commission": "0.00001000", "commissionAsset": "BTC", "tradeId": o["fills"][0]["tradeId"]})
    );
    assert_eq!(
        c.balance("USDT").await,
        ("9400.00000000".into(), "0.00000000".into())
    );
    assert_eq!(
        c.balance("BTC").await,
        ("0.00999000".into(), "0.00000000".into())
    );
    let t = c
        .signed("GET", "/api/v3/myTrades", &[("symbol", "BTCUSDT")])
        .await
        .json();
    assert_eq!(t[0]["isBuyer"], true);
    assert_eq!(t[0]["isMaker"], false);
    assert_eq!(t[0]["quoteQty"], "600.00000000");
    sim.shutdown().await;
}

#[tokio::test]
async fn market_sell_pays_commission_in_quote() {
    let (sim, c) = start("minimal.json", 6000).await;
    order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.01"),
        ],
    )
    .await;
    let r = order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "SELL"),
            ("type", "MARKET"),
            ("quantity", "0.005"),
        ],
    )
    .await;
    let o = r.json();
    assert_eq!(o["fills"][0]["commission"], "0.30000000");
    assert_eq!(o["fills"][0]["commissionAsset"], "USDT");
    // 9400 + 300 - 0.3
    assert_eq!(c.balance("USDT").await.0, "9699.70000000");
    assert_eq!(c.balance("BTC").await.0, "0.00499000");
    sim.shutdown().await;
}

fn bnb_scenario() -> Value {
    let mut sc: Value = serde_json::from_str(
        &std::fs::read_to_string(crate_dir().join("scenarios/minimal.json")).unwrap(),
    )
    .unwrap();
    sc["fees"] = json!({"maker": "0.001", "taker": "0.001", "pay_fees_in_bnb": true, "bnb_discount": "0.25"});
    sc["symbols"]
        .as_array_mut()
        .unwrap()
        .push(json!({"symbol": "BNBUSDT", "base": "BNB", "quote": "USDT", "price": "600.00"}));
    sc["balances"]
        .as_array_mut()
        .unwrap()
        .push(json!({"asset": "BNB", "free": "1"}));
    sc
}

#[tokio::test]
async fn commission_in_bnb_uses_discount_and_bnb_price() {
    let (sim, c) = start("minimal.json", 6000).await;
    c.control("/__sim/scenario", bnb_scenario()).await;
    let o = order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.01"),
        ],
    )
    .await
    .json();
    // 600 USDT × 0.001 × (1 − 0.25) ÷ 600 = 0.00075 BNB
    assert_eq!(o["fills"][0]["commission"], "0.00075000");
    assert_eq!(o["fills"][0]["commissionAsset"], "BNB");
    assert_eq!(c.balance("BTC").await.0, "0.01000000");
    assert_eq!(c.balance("BNB").await.0, "0.99925000");
    assert_eq!(c.balance("USDT").await.0, "9400.00000000");
    sim.shutdown().await;
}

#[tokio::test]
async fn limit_order_rests_locks_quote_then_fills_as_maker_when_price_crosses() {
    let (sim, c) = start("minimal.json", 6000).await;
    let o = order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.01"),
            ("price", "59000"),
        ],
    )
    .await
    .json();
    assert_eq!(o["status"], "NEW");
    assert_eq!(o["fills"], json!([]));
    let id = o["orderId"].as_u64().unwrap();
    assert_eq!(
        c.balance("USDT").await,
        ("9410.00000000".into(), "590.00000000".into())
    );
    c.control(
        "/__sim/prices",
        json!({"symbol": "BTCUSDT", "price": "59500"}),
    )
    .await;
    let open = c
        .signed("GET", "/api/v3/openOrders", &[("symbol", "BTCUSDT")])
        .await
        .json();
    assert_eq!(open.as_array().unwrap().len(), 1);
    let moved = c
        .control(
            "/__sim/prices",
            json!({"symbol": "BTCUSDT", "price": "58900"}),
        )
        .await;
    assert_eq!(
        moved["fills"][0]["price"], "59000.00000000",
        "fills at its own price"
    );
    assert_eq!(moved["fills"][0]["isMaker"], true);
    let q = c
        .signed(
            "GET",
            "/api/v3/order",
            &[("symbol", "BTCUSDT"), ("orderId", &id.to_string())],
        )
        .await
        .json();
    assert_eq!(q["status"], "FILLED");
    assert_eq!(q["cummulativeQuoteQty"], "590.00000000");
    assert_eq!(
        c.balance("USDT").await,
        ("9410.00000000".into(), "0.00000000".into())
    );
    assert_eq!(c.balance("BTC").await.0, "0.00999000");
    sim.shutdown().await;
}

#[tokio::test]
async fn marketable_limit_fills_at_once_at_the_current_price_and_releases_the_rest() {
    let (sim, c) = start("minimal.json", 6000).await;
    let o = order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.01"),
            ("price", "61000"),
        ],
    )
    .await
    .json();
    assert_eq!(o["status"], "FILLED");
    assert_eq!(o["fills"][0]["price"], "60000.00000000");
    assert_eq!(
        c.balance("USDT").await,
        ("9400.00000000".into(), "0.00000000".into())
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn cancel_unlocks_exactly_and_answers_the_cancel_shape() {
    let (sim, c) = start("minimal.json", 6000).await;
    let o = order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.01"),
            ("price", "50000"),
            ("newClientOrderId", "bot-1"),
        ],
    )
    .await
    .json();
    assert_eq!(
        c.balance("USDT").await,
        ("9500.00000000".into(), "500.00000000".into())
    );
    let r = c
        .signed_body(
            "DELETE",
            "/api/v3/order",
            &[("symbol", "BTCUSDT"), ("origClientOrderId", "bot-1")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let x = r.json();
    assert_eq!(x["status"], "CANCELED");
    assert_eq!(x["origClientOrderId"], "bot-1");
    assert_eq!(x["orderId"], o["orderId"]);
    assert_eq!(
        c.balance("USDT").await,
        ("10000.00000000".into(), "0.00000000".into())
    );
    let r = c
        .signed_body(
            "DELETE",
            "/api/v3/order",
            &[("symbol", "BTCUSDT"), ("origClientOrderId", "bot-1")],
        )
        .await;
    assert_eq!((r.code(), r.msg().as_str()), (-2011, "Unknown order sent."));
    sim.shutdown().await;
}

#[tokio::test]
async fn owner_partial_fills_and_cancel_through_the_control_api() {
    let (sim, c) = start("minimal.json", 6000).await;
    let o = c.control("/__sim/orders", json!({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "55000", "clientOrderId": "web_abc"})).await;
    let id = o["orderId"].as_u64().unwrap();
    let f = c
        .control(
            "/__sim/orders/fill",
            json!({"symbol": "BTCUSDT", "orderId": id, "quantity": "0.004"}),
        )
        .await;
    assert_eq!(f["order"]["status"], "PARTIALLY_FILLED");
    assert_eq!(f["trade"]["qty"], "0.00400000");
    // Locked: 550 − 220 = 330.
    assert_eq!(
        c.balance("USDT").await,
        ("9450.00000000".into(), "330.00000000".into())
    );
    let x = c
        .control(
            "/__sim/orders/cancel",
            json!({"symbol": "BTCUSDT", "orderId": id}),
        )
        .await;
    assert_eq!(x["status"], "CANCELED");
    assert_eq!(x["executedQty"], "0.00400000");
    assert_eq!(
        c.balance("USDT").await,
        ("9780.00000000".into(), "0.00000000".into())
    );
    assert_eq!(c.balance("BTC").await.0, "0.00399600");
    // A manual market trade by the owner.
    let t = c
        .control(
            "/__sim/trades",
            json!({"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.003"}),
        )
        .await;
    assert_eq!(t["status"], "FILLED");
    assert!(t["clientOrderId"].as_str().unwrap().starts_with("web_"));
    sim.shutdown().await;
}

#[tokio::test]
async fn account_update_time_changes_exactly_when_balances_change() {
    let (sim, c) = start("minimal.json", 6000).await;
    let t0 = c.signed("GET", "/api/v3/account", &[]).await.json()["updateTime"].clone();
    c.get("/api/v3/ticker/price", &[]).await;
    c.signed("GET", "/api/v3/openOrders", &[]).await;
    let t1 = c.signed("GET", "/api/v3/account", &[]).await.json()["updateTime"].clone();
    assert_eq!(t0, t1, "reads do not change updateTime");
    c.control("/__sim/deposits", json!({"asset": "USDT", "amount": "100"}))
        .await;
    let t2 = c.signed("GET", "/api/v3/account", &[]).await.json()["updateTime"].clone();
    assert!(t2.as_i64() > t1.as_i64());
    c.control(
        "/__sim/withdrawals",
        json!({"asset": "USDT", "amount": "50", "fee": "1"}),
    )
    .await;
    let acct = c.signed("GET", "/api/v3/account", &[]).await.json();
    assert!(acct["updateTime"].as_i64() > t2.as_i64());
    assert_eq!(c.balance("USDT").await.0, "10049.00000000");
    let d = c
        .signed("GET", "/sapi/v1/capital/deposit/hisrec", &[])
        .await
        .json();
    assert_eq!(d[0]["amount"], "100");
    let w = c
        .signed("GET", "/sapi/v1/capital/withdraw/history", &[])
        .await
        .json();
    assert_eq!(w[0]["amount"], "50.00000000");
    assert_eq!(w[0]["transactionFee"], "1");
    sim.shutdown().await;
}

#[tokio::test]
async fn filters_and_funds_are_checked_with_binance_errors() {
    let (sim, c) = start("minimal.json", 6000).await;
    let r = order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.000015"),
        ],
    )
    .await;
    assert_eq!(
        (r.code(), r.msg().as_str()),
        (-1013, "Filter failure: LOT_SIZE")
    );
    let r = order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.00005"),
        ],
    )
    .await;
    assert_eq!(
        (r.code(), r.msg().as_str()),
        (-1013, "Filter failure: NOTIONAL")
    );
    let r = order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.01"),
            ("price", "50000.001"),
        ],
    )
    .await;
    assert_eq!(
        (r.code(), r.msg().as_str()),
        (-1013, "Filter failure: PRICE_FILTER")
    );
    let r = order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "1"),
        ],
    )
    .await;
    assert_eq!(
        (r.code(), r.msg().as_str()),
        (
            -2010,
            "Account has insufficient balance for requested action."
        )
    );
    let r = order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("quantity", "0.01"),
            ("price", "50000"),
        ],
    )
    .await;
    assert_eq!(
        (r.code(), r.msg().as_str()),
        (
            -1102,
            "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn klines_close_reflects_recorded_prices_per_minute() {
    let (sim, c) = start("minimal.json", 6000).await;
    align_minute(&c).await;
    c.control(
        "/__sim/prices",
        json!({"symbol": "BTCUSDT", "price": "61000"}),
    )
    .await;
    c.control(
        "/__sim/prices",
        json!({"symbol": "BTCUSDT", "price": "60500"}),
    )
    .await;
    c.control("/__sim/clock", json!({"advance_ms": 60_000}))
        .await;
    c.control(
        "/__sim/prices",
        json!({"symbol": "BTCUSDT", "price": "62000"}),
    )
    .await;
    let k = c
        .get(
            "/api/v3/klines",
            &[("symbol", "BTCUSDT"), ("interval", "1m"), ("limit", "2")],
        )
        .await
        .json();
    let k = k.as_array().unwrap();
    assert_eq!(k.len(), 2);
    assert_eq!(k[0][4], "60500.00000000", "close of the previous minute");
    assert_eq!(k[0][2], "61000.00000000", "high");
    assert_eq!(k[1][4], "62000.00000000");
    assert_eq!(
        k[1][0].as_i64().unwrap() - k[0][0].as_i64().unwrap(),
        60_000
    );
    let r = c
        .get(
            "/api/v3/klines",
            &[("symbol", "BTCUSDT"), ("interval", "7m")],
        )
        .await;
    assert_eq!((r.code(), r.msg().as_str()), (-1120, "Invalid interval."));
    let p = c
        .get("/api/v3/ticker/price", &[("symbol", "BTCUSDT")])
        .await
        .json();
    assert_eq!(p, json!({"symbol": "BTCUSDT", "price": "62000.00000000"}));
    sim.shutdown().await;
}
