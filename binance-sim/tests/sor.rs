//! Smart Order Routing (faqs/sor_faq.md, rest-api.md "SOR" and "Query
//! Allocations"): exchangeInfo's `sors`, SOR orders filled by allocations
//! across the SOR's books, and `GET /api/v3/myAllocations`.
//!
//! `scenarios/sor.json`: one SOR of BTCUSDT (60000), BTCUSDC (59900, the
//! cheapest book) and BTCFDUSD (60100, the dearest); ETHUSDT is in none.

mod common;
use common::*;
use serde_json::{json, Value};

const HOUR: i64 = 3_600_000;

async fn sor_order(c: &Client, params: &[(&str, &str)]) -> Resp {
    c.signed_body("POST", "/api/v3/sor/order", params).await
}

async fn market_buy(c: &Client, qty: &str) -> Value {
    let r = sor_order(
        c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", qty),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

/// `GET /api/v3/order` of one BTCUSDT order: an SOR order is queried as
/// a normal order of the symbol it was sent for.
async fn btcusdt_order(c: &Client, order_id: &str) -> Value {
    c.signed(
        "GET",
        "/api/v3/order",
        &[("symbol", "BTCUSDT"), ("orderId", order_id)],
    )
    .await
    .json()
}

async fn allocations(c: &Client, params: &[(&str, &str)]) -> Resp {
    c.signed("GET", "/api/v3/myAllocations", params).await
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|a| a["allocationId"].as_i64().expect("allocationId"))
        .collect()
}

/// The keys of the top-level object of `text`, in the order they are sent.
fn key_order(text: &str, keys: &[&str]) -> Vec<usize> {
    keys.iter()
        .map(|k| {
            text.find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("{k} missing in {text}"))
        })
        .collect()
}

#[tokio::test]
async fn exchange_info_lists_sors_only_when_configured() {
    let (sim, c) = start("minimal.json", 6000).await;
    let info = c.get("/api/v3/exchangeInfo", &[]).await.json();
    assert!(info.get("sors").is_none(), "no SOR configured: {info}");
    sim.shutdown().await;

    let (sim, c) = start("sor.json", 6000).await;
    let r = c.get("/api/v3/exchangeInfo", &[]).await;
    let info = r.json();
    assert_eq!(
        info["sors"],
        json!([{"baseAsset": "BTC", "symbols": ["BTCUSDT", "BTCUSDC", "BTCFDUSD"]}])
    );
    // The field follows `symbols`, as in the docs' example.
    let at = key_order(&r.text, &["symbols", "sors"]);
    assert!(at[0] < at[1]);

    // The control API replaces the configuration; [] makes SOR unavailable.
    c.control("/__sim/sors", json!([])).await;
    let info = c.get("/api/v3/exchangeInfo", &[]).await.json();
    assert!(info.get("sors").is_none());
    let set = c
        .control(
            "/__sim/sors",
            json!([{"base_asset": "BTC", "symbols": ["BTCUSDT", "BTCUSDC"]}]),
        )
        .await;
    assert_eq!(
        set,
        json!([{"base_asset": "BTC", "symbols": ["BTCUSDT", "BTCUSDC"]}])
    );
    let info = c.get("/api/v3/exchangeInfo", &[]).await.json();
    assert_eq!(
        info["sors"],
        json!([{"baseAsset": "BTC", "symbols": ["BTCUSDT", "BTCUSDC"]}])
    );
    // A symbol of another base asset cannot join a BTC SOR.
    let r = c
        .http
        .post(format!("{}/__sim/sors", c.base))
        .json(&json!([{"base_asset": "BTC", "symbols": ["BTCUSDT", "ETHUSDT"]}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn market_sor_buy_takes_the_best_book_as_one_allocation_and_moves_balances_exactly() {
    let (sim, c) = start("sor.json", 6000).await;
    let r = sor_order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.5"),
            ("newClientOrderId", "sor-buy-1"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let o = r.json();
    let now = o["transactTime"].as_i64().expect("transactTime");
    // BTCUSDC's 59900 is the best ask of the SOR: 0.5 × 59900 = 29950,
    // paid in USDT (the submitted symbol's quote), commission 0.1 % in BTC.
    assert_eq!(
        o,
        json!({
            "symbol": "BTCUSDT",
            "orderId": o["orderId"],
            "orderListId": -1,
            "clientOrderId": "sor-buy-1",
            "transactTime": now,
            "price": "0.00000000",
            "origQty": "0.50000000",
            "executedQty": "0.50000000",
            "origQuoteOrderQty": "0.00000000",
            "cummulativeQuoteQty": "29950.00000000",
            "status": "FILLED",
            "timeInForce": "GTC",
            "type": "MARKET",
            "side": "BUY",
            "workingTime": now,
            "fills": [{
                "matchType": "ONE_PARTY_TRADE_REPORT",
                "price": "59900.00000000",
                "qty": "0.50000000",
                "commission": "0.00050000",
                "commissionAsset": "BTC",
                "tradeId": -1,
                "allocId": 0
            }],
            "workingFloor": "SOR",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "usedSor": true
        })
    );
    // The docs' field order: fills, workingFloor, selfTradePreventionMode, usedSor.
    let at = key_order(
        &r.text,
        &[
            "workingTime",
            "fills",
            "workingFloor",
            "selfTradePreventionMode",
            "usedSor",
        ],
    );
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{}", r.text);
    assert_eq!(
        c.balance("USDT").await,
        ("70050.00000000".into(), "0.00000000".into())
    );
    assert_eq!(
        c.balance("BTC").await,
        ("1.49950000".into(), "0.00000000".into())
    );
    // Never the other books' quote assets.
    assert_eq!(c.balance("USDC").await.0, "0.00000000");
    sim.shutdown().await;
}

#[tokio::test]
async fn limit_sor_sell_takes_the_best_bid_and_pays_the_submitted_quote() {
    let (sim, c) = start("sor.json", 6000).await;
    let r = sor_order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "SELL"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.1"),
            ("price", "59000"),
            ("newOrderRespType", "RESULT"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let o = r.json();
    assert!(o.get("fills").is_none(), "RESULT has no fills: {o}");
    assert_eq!(o["status"], "FILLED");
    assert_eq!(o["workingFloor"], "SOR");
    assert_eq!(o["usedSor"], true);
    // BTCFDUSD's 60100 is the best bid: 6010 USDT less 0.1 % (6.01 USDT).
    assert_eq!(o["cummulativeQuoteQty"], "6010.00000000");
    assert_eq!(
        c.balance("USDT").await,
        ("106003.99000000".into(), "0.00000000".into())
    );
    assert_eq!(
        c.balance("BTC").await,
        ("0.90000000".into(), "0.00000000".into())
    );
    assert_eq!(c.balance("FDUSD").await.0, "0.00000000");
    let a = allocations(&c, &[("symbol", "BTCUSDT")]).await.json();
    assert_eq!(a[0]["commissionAsset"], "USDT");
    assert_eq!(a[0]["isBuyer"], false);
    sim.shutdown().await;
}

#[tokio::test]
async fn my_allocations_lists_an_sor_fill_with_every_field_and_my_trades_does_not() {
    let (sim, c) = start("sor.json", 6000).await;
    let o = market_buy(&c, "0.5").await;
    let order_id = o["orderId"].as_i64().expect("orderId");
    let time = o["transactTime"].as_i64().expect("transactTime");
    let r = allocations(&c, &[("symbol", "BTCUSDT")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!([{
            "symbol": "BTCUSDT",
            "allocationId": 0,
            "allocationType": "SOR",
            "orderId": order_id,
            "orderListId": -1,
            "price": "59900.00000000",
            "qty": "0.50000000",
            "quoteQty": "29950.00000000",
            "commission": "0.00050000",
            "commissionAsset": "BTC",
            "time": time,
            "isBuyer": true,
            "isMaker": false,
            "isAllocator": false
        }])
    );
    let keys = [
        "symbol",
        "allocationId",
        "allocationType",
        "orderId",
        "orderListId",
        "price",
        "qty",
        "quoteQty",
        "commission",
        "commissionAsset",
        "time",
        "isBuyer",
        "isMaker",
        "isAllocator",
    ];
    let at = key_order(&r.text, &keys);
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{}", r.text);
    // An allocation is not a trade.
    let t = c
        .signed("GET", "/api/v3/myTrades", &[("symbol", "BTCUSDT")])
        .await;
    assert_eq!(t.json(), json!([]));
    // Allocations are listed under the submitted symbol only.
    let other = allocations(&c, &[("symbol", "BTCUSDC")]).await;
    assert_eq!(other.json(), json!([]));

    // The order is a normal BTCUSDT order, with usedSor and workingFloor.
    let id = order_id.to_string();
    let q = btcusdt_order(&c, &id).await;
    assert_eq!(q["status"], "FILLED");
    assert_eq!(q["usedSor"], true);
    assert_eq!(q["workingFloor"], "SOR");
    let all = c
        .signed("GET", "/api/v3/allOrders", &[("symbol", "BTCUSDT")])
        .await
        .json();
    assert_eq!(all[0]["orderId"], order_id);
    assert_eq!(all[0]["usedSor"], true);
    sim.shutdown().await;
}

#[tokio::test]
async fn my_allocations_pages_by_limit_from_allocation_id_order_id_and_end_time() {
    let (sim, c) = start("sor.json", 6000).await;
    let mut orders = Vec::new();
    for _ in 0..3 {
        orders.push(market_buy(&c, "0.01").await["orderId"].to_string());
        c.control("/__sim/clock", json!({"advance_ms": 1000})).await;
    }
    let all = allocations(&c, &[("symbol", "BTCUSDT")]).await.json();
    assert_eq!(ids(&all), vec![0, 1, 2], "per-symbol ids from 0");
    // `symbol` alone: "allocations from oldest to newest".
    let first = allocations(&c, &[("symbol", "BTCUSDT"), ("limit", "2")])
        .await
        .json();
    assert_eq!(ids(&first), vec![0, 1]);
    let next = allocations(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("fromAllocationId", "2"),
            ("limit", "2"),
        ],
    )
    .await
    .json();
    assert_eq!(ids(&next), vec![2]);
    let of_order = allocations(&c, &[("symbol", "BTCUSDT"), ("orderId", &orders[1])])
        .await
        .json();
    assert_eq!(ids(&of_order), vec![1]);
    let of_order_from = allocations(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("orderId", &orders[1]),
            ("fromAllocationId", "2"),
        ],
    )
    .await
    .json();
    assert_eq!(ids(&of_order_from), Vec::<i64>::new());
    // `endTime` alone: "newest allocations until endTime".
    let end = all[1]["time"].to_string();
    let newest = allocations(
        &c,
        &[("symbol", "BTCUSDT"), ("endTime", &end), ("limit", "1")],
    )
    .await
    .json();
    assert_eq!(ids(&newest), vec![1]);
    // `startTime` alone: "oldest allocations since startTime".
    let oldest = allocations(
        &c,
        &[("symbol", "BTCUSDT"), ("startTime", &end), ("limit", "1")],
    )
    .await
    .json();
    assert_eq!(ids(&oldest), vec![1]);
    sim.shutdown().await;
}

#[tokio::test]
async fn my_allocations_refuses_a_window_over_24_hours_and_undocumented_combinations() {
    let (sim, c) = start("sor.json", 6000).await;
    market_buy(&c, "0.01").await;
    let now = c.server_time().await;
    let (day_ago, over) = (
        (now - 24 * HOUR).to_string(),
        (now - 24 * HOUR - 1).to_string(),
    );
    let now_s = now.to_string();
    let r = allocations(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("startTime", &over),
            ("endTime", &now_s),
        ],
    )
    .await;
    assert_eq!((r.status, r.code()), (400, -1127));
    assert_eq!(r.msg(), "More than 24 hours between startTime and endTime.");
    // Exactly 24 hours is allowed.
    let r = allocations(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("startTime", &day_ago),
            ("endTime", &now_s),
        ],
    )
    .await;
    assert_eq!(ids(&r.json()), vec![0]);
    // Not in the table of supported combinations.
    let r = allocations(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("startTime", &day_ago),
            ("fromAllocationId", "0"),
        ],
    )
    .await;
    assert_eq!(
        (r.code(), r.msg()),
        (-1128, "Combination of optional parameters invalid.".into())
    );
    let r = allocations(&c, &[]).await;
    assert_eq!(r.code(), -1102);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unread_parameter_is_refused_with_1104_and_nothing_is_placed() {
    let (sim, c) = start("sor.json", 6000).await;
    // "quoteOrderQty is not supported": not a parameter of the endpoint.
    let r = sor_order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.01"),
            ("quoteOrderQty", "600"),
        ],
    )
    .await;
    assert_eq!((r.status, r.code()), (400, -1104), "{}", r.text);
    assert_eq!(
        r.msg(),
        "Not all sent parameters were read; read '6' parameter(s) but was sent '7'."
    );
    assert_eq!(c.balance("USDT").await.0, "100000.00000000");
    let r = allocations(&c, &[("symbol", "BTCUSDT"), ("fromId", "0")]).await;
    assert_eq!(r.code(), -1104);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_symbol_in_no_sor_is_refused() {
    let (sim, c) = start("sor.json", 6000).await;
    let r = sor_order(
        &c,
        &[
            ("symbol", "ETHUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.1"),
        ],
    )
    .await;
    assert_eq!((r.status, r.code()), (400, -1013));
    assert_eq!(r.msg(), "This symbol has no SOR.");
    let r = sor_order(
        &c,
        &[
            ("symbol", "DOGEUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "1"),
        ],
    )
    .await;
    assert_eq!((r.code(), r.msg()), (-1121, "Invalid symbol.".into()));
    // Only LIMIT and MARKET.
    let r = sor_order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "STOP_LOSS"),
            ("quantity", "0.01"),
        ],
    )
    .await;
    assert_eq!(r.code(), -1116);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unmarketable_limit_gtc_rests_on_its_book_and_later_fills_as_a_trade() {
    let (sim, c) = start("sor.json", 6000).await;
    let r = sor_order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.1"),
            ("price", "59000"),
            ("strategyId", "37463720"),
            ("strategyType", "1000000"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let o = r.json();
    assert_eq!(o["status"], "NEW");
    assert_eq!(o["fills"], json!([]));
    assert_eq!(o["workingFloor"], "EXCHANGE", "placed on its own book");
    assert_eq!(o["strategyId"], 37463720);
    assert_eq!(o["strategyType"], 1000000);
    assert_eq!(
        c.balance("USDT").await,
        ("94100.00000000".into(), "5900.00000000".into())
    );
    let open = c
        .signed("GET", "/api/v3/openOrders", &[("symbol", "BTCUSDT")])
        .await
        .json();
    assert_eq!(open[0]["usedSor"], true);
    // The market falls through it: a maker trade on BTCUSDT, no allocation.
    c.control(
        "/__sim/prices",
        json!({"symbol": "BTCUSDT", "price": "58900"}),
    )
    .await;
    let t = c
        .signed("GET", "/api/v3/myTrades", &[("symbol", "BTCUSDT")])
        .await
        .json();
    assert_eq!(t[0]["isMaker"], true);
    assert_eq!(t[0]["price"], "59000.00000000");
    let a = allocations(&c, &[("symbol", "BTCUSDT")]).await.json();
    assert_eq!(a, json!([]));
    let id = o["orderId"].to_string();
    let q = btcusdt_order(&c, &id).await;
    assert_eq!(q["status"], "FILLED");
    assert_eq!(q["workingFloor"], "EXCHANGE");
    assert_eq!(q["strategyId"], 37463720);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unmarketable_limit_ioc_expires_and_gives_back_its_lock() {
    let (sim, c) = start("sor.json", 6000).await;
    let r = sor_order(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "IOC"),
            ("quantity", "0.1"),
            ("price", "59000"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let o = r.json();
    assert_eq!(o["status"], "EXPIRED");
    assert_eq!(o["expiryReason"], "UNFILLED_IOC_QUANTITY_EXPIRED");
    assert_eq!(
        c.balance("USDT").await,
        ("100000.00000000".into(), "0.00000000".into())
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn sor_weights_are_as_documented() {
    let (sim, c) = start("sor.json", 6000).await;
    align_minute(&c).await;
    // A successful placement costs 0, a refused one 1.
    market_buy(&c, "0.01").await;
    let r = allocations(&c, &[("symbol", "BTCUSDT")]).await;
    assert_eq!(r.weight(), 20);
    let r = sor_order(
        &c,
        &[
            ("symbol", "ETHUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.1"),
        ],
    )
    .await;
    assert_eq!(r.weight(), 21);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_test_endpoint_checks_without_placing_and_can_compute_commission_rates() {
    let (sim, c) = start("sor.json", 6000).await;
    align_minute(&c).await;
    let params = [
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "MARKET"),
        ("quantity", "0.01"),
    ];
    let r = c
        .signed_body("POST", "/api/v3/sor/order/test", &params)
        .await;
    assert_eq!((r.status, r.json()), (200, json!({})), "{}", r.text);
    assert_eq!(r.weight(), 1);
    let mut with_rates = params.to_vec();
    with_rates.push(("computeCommissionRates", "true"));
    let r = c
        .signed_body("POST", "/api/v3/sor/order/test", &with_rates)
        .await;
    assert_eq!(r.weight(), 21);
    assert_eq!(
        r.json(),
        json!({
            "standardCommissionForOrder": {"maker": "0.00100000", "taker": "0.00100000"},
            "specialCommissionForOrder": {"maker": "0.00000000", "taker": "0.00000000"},
            "taxCommissionForOrder": {"maker": "0.00000000", "taker": "0.00000000"},
            "discount": {"enabledForAccount": false, "enabledForSymbol": false,
                         "discountAsset": "BNB", "discount": "0.00000000"}
        })
    );
    assert_eq!(c.balance("USDT").await.0, "100000.00000000");
    let a = allocations(&c, &[("symbol", "BTCUSDT")]).await.json();
    assert_eq!(a, json!([]));
    let r = c
        .signed_body(
            "POST",
            "/api/v3/sor/order/test",
            &[
                ("symbol", "ETHUSDT"),
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quantity", "0.1"),
            ],
        )
        .await;
    assert_eq!(r.code(), -1013);
    sim.shutdown().await;
}
