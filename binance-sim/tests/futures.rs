//! The USDⓈ-M futures account and its `/fapi` endpoints
//! (docs/futures-endpoints.md): positions in One-way and Hedge Mode,
//! trades, realized P&L, commissions, funding, liquidation, transfers, the
//! income ledger, the windows and limits, and the `/fapi` weight pool.

mod common;

use common::*;
use serde_json::{json, Value};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

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

async fn get(c: &Client, path: &str, params: &[(&str, &str)]) -> Value {
    let r = c.signed("GET", path, params).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.json()
}

async fn fill(c: &Client, body: Value) -> Value {
    c.control("/__sim/futures/fill", body).await
}

async fn wallet(c: &Client) -> String {
    let b = get(c, "/fapi/v3/balance", &[]).await;
    b.as_array()
        .unwrap()
        .iter()
        .find(|r| r["asset"] == "USDT")
        .map(|r| r["balance"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().expect("array")
}

#[tokio::test]
async fn a_short_opened_and_closed_in_one_way_mode_shows_a_negative_position_then_its_trades_and_realized_pnl(
) {
    let (_sim, c) = start("futures.json", 6000).await;
    let open = fill(
        &c,
        json!({"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.010", "price": "50000"}),
    )
    .await;
    assert_eq!(open["order"]["status"], "FILLED");
    assert_eq!(open["order"]["positionSide"], "BOTH");

    // Open: a negative positionAmt on the BOTH side.
    let risk = get(&c, "/fapi/v3/positionRisk", &[]).await;
    assert_eq!(arr(&risk).len(), 1, "{risk}");
    let p = &risk[0];
    assert_eq!(p["symbol"], "BTCUSDT");
    assert_eq!(p["positionSide"], "BOTH");
    assert_eq!(p["positionAmt"], "-0.010");
    assert_eq!(p["entryPrice"], "50000");
    assert_eq!(p["markPrice"], "50000.00000000");
    assert_eq!(p["unRealizedProfit"], "0.00000000");
    assert_eq!(p["notional"], "-500.00000000");
    assert_eq!(p["marginAsset"], "USDT");
    assert_eq!(p["positionInitialMargin"], "25.00000000", "500 / 20x");
    let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "breakEvenPrice",
        "liquidationPrice",
        "isolatedMargin",
        "isolatedWallet",
        "initialMargin",
        "maintMargin",
        "openOrderInitialMargin",
        "adl",
        "bidNotional",
        "askNotional",
        "updateTime",
    ] {
        assert!(keys.contains(&k), "positionRisk v3 lacks {k}: {p}");
    }

    // The mark moves: unrealized P&L follows it, the wallet does not.
    c.control(
        "/__sim/futures/mark-price",
        json!({"symbol": "BTCUSDT", "markPrice": "49000"}),
    )
    .await;
    let p = get(&c, "/fapi/v3/positionRisk", &[("symbol", "BTCUSDT")]).await;
    assert_eq!(p[0]["unRealizedProfit"], "10.00000000");
    assert_eq!(p[0]["notional"], "-490.00000000");
    assert_eq!(wallet(&c).await, "999.75000000", "1000 - 0.25 commission");

    // Close at 48000: realized 0.010 × (50000 − 48000) = 20.
    let close = fill(
        &c,
        json!({"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.010", "price": "48000"}),
    )
    .await;
    assert_eq!(
        get(&c, "/fapi/v3/positionRisk", &[]).await,
        json!([]),
        "no position and no open orders: no row"
    );

    let trades = get(&c, "/fapi/v1/userTrades", &[("symbol", "BTCUSDT")]).await;
    assert_eq!(arr(&trades).len(), 2);
    let (t1, t2) = (&trades[0], &trades[1]);
    assert_eq!(t1["side"], "SELL");
    assert_eq!(t1["buyer"], false);
    assert_eq!(t1["maker"], false);
    assert_eq!(t1["price"], "50000.00");
    assert_eq!(t1["qty"], "0.010");
    assert_eq!(t1["quoteQty"], "500");
    assert_eq!(t1["realizedPnl"], "0.00000000");
    assert_eq!(t1["commission"], "0.25000000");
    assert_eq!(t1["commissionAsset"], "USDT");
    assert_eq!(t1["positionSide"], "BOTH");
    assert_eq!(t2["side"], "BUY");
    assert_eq!(t2["buyer"], true);
    assert_eq!(t2["realizedPnl"], "20.00000000");
    assert_eq!(t2["commission"], "0.24000000");
    assert_eq!(t2["id"], close["trade"]["id"]);
    assert_eq!(t2["orderId"], close["order"]["orderId"]);

    let pnl = get(&c, "/fapi/v1/income", &[("incomeType", "REALIZED_PNL")]).await;
    assert_eq!(arr(&pnl).len(), 1, "the opening fill realized nothing");
    assert_eq!(pnl[0]["income"], "20.00000000");
    assert_eq!(pnl[0]["asset"], "USDT");
    assert_eq!(pnl[0]["symbol"], "BTCUSDT");
    assert_eq!(pnl[0]["info"], "REALIZED_PNL");
    assert_eq!(pnl[0]["tradeId"], t2["id"].to_string());
    let fees = get(&c, "/fapi/v1/income", &[("incomeType", "COMMISSION")]).await;
    let amounts: Vec<&str> = arr(&fees)
        .iter()
        .map(|r| r["income"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["-0.25000000", "-0.24000000"]);
    // The wallet moved by exactly the income rows.
    assert_eq!(wallet(&c).await, "1019.51000000");
    let acct = get(&c, "/fapi/v3/account", &[]).await;
    assert_eq!(acct["totalWalletBalance"], "1019.51000000");
    assert_eq!(acct["positions"], json!([]));
    assert_eq!(acct["assets"][0]["asset"], "USDT");
    assert_eq!(acct["assets"][0]["walletBalance"], "1019.51000000");
}

#[tokio::test]
async fn hedge_mode_keeps_a_long_and_a_short_leg_on_one_symbol() {
    let (_sim, c) = start("futures.json", 6000).await;
    assert_eq!(
        get(&c, "/fapi/v1/positionSide/dual", &[]).await,
        json!({"dualSidePosition": false})
    );
    c.control(
        "/__sim/futures/position-mode",
        json!({"dualSidePosition": true}),
    )
    .await;
    assert_eq!(
        get(&c, "/fapi/v1/positionSide/dual", &[]).await,
        json!({"dualSidePosition": true})
    );
    let (status, e) = control_err(
        &c,
        "/__sim/futures/position-mode",
        json!({"dualSidePosition": true}),
    )
    .await;
    assert_eq!((status, e["code"].as_i64()), (400, Some(-4059)));

    for (side, leg, qty) in [("BUY", "LONG", "0.020"), ("SELL", "SHORT", "0.010")] {
        fill(
            &c,
            json!({"symbol": "BTCUSDT", "side": side, "positionSide": leg, "quantity": qty, "price": "50000"}),
        )
        .await;
    }
    // A leg must be named in Hedge Mode.
    let (_, e) = control_err(
        &c,
        "/__sim/futures/fill",
        json!({"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001"}),
    )
    .await;
    assert_eq!(e["code"], -4061);
    assert_eq!(
        e["msg"],
        "Order's position side does not match user's setting."
    );
    // Selling more than the LONG leg holds cannot flip it.
    let (_, e) = control_err(
        &c,
        "/__sim/futures/fill",
        json!({"symbol": "BTCUSDT", "side": "SELL", "positionSide": "LONG", "quantity": "0.021"}),
    )
    .await;
    assert_eq!(e["code"], -2022);

    // Reduce the LONG leg at 51000: realized 0.005 × 1000 = 5.
    let r = fill(
        &c,
        json!({"symbol": "BTCUSDT", "side": "SELL", "positionSide": "LONG", "quantity": "0.005", "price": "51000"}),
    )
    .await;
    assert_eq!(r["trade"]["realizedPnl"], "5.00000000");
    assert_eq!(r["trade"]["positionSide"], "LONG");

    let risk = get(&c, "/fapi/v3/positionRisk", &[]).await;
    let legs: Vec<(&str, &str, &str)> = arr(&risk)
        .iter()
        .map(|p| {
            (
                p["positionSide"].as_str().unwrap(),
                p["positionAmt"].as_str().unwrap(),
                p["entryPrice"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        legs,
        [("LONG", "0.015", "50000"), ("SHORT", "-0.010", "50000")]
    );
    // v2 lists every contract and leg, flat ones included.
    let v2 = get(&c, "/fapi/v2/positionRisk", &[]).await;
    assert_eq!(arr(&v2).len(), 4, "{v2}");
    assert_eq!(v2[2]["symbol"], "ETHUSDT");
    assert_eq!(v2[2]["positionAmt"], "0.000");
    assert_eq!(v2[0]["leverage"], "20");
    assert_eq!(v2[0]["marginType"], "cross");

    // The mode cannot change while a position is open.
    let (_, e) = control_err(
        &c,
        "/__sim/futures/position-mode",
        json!({"dualSidePosition": false}),
    )
    .await;
    assert_eq!(e["code"], -4068);
    assert_eq!(
        e["msg"],
        "Position side cannot be changed if there exists position."
    );
}

#[tokio::test]
async fn funding_over_several_intervals_is_funding_fee_income_and_not_trades() {
    let (_sim, c) = start("futures.json", 6000).await;
    fill(
        &c,
        json!({"symbol": "ETHUSDT", "side": "SELL", "quantity": "0.100", "price": "3000"}),
    )
    .await;
    let before = wallet(&c).await;
    assert_eq!(before, "999.85000000", "0.1 × 3000 × 0.0005 commission");
    // A short receives a positive rate and pays a negative one.
    c.control("/__sim/futures/funding", json!({"rate": "0.0001"}))
        .await;
    c.control("/__sim/clock", json!({"advance_ms": 8 * HOUR}))
        .await;
    c.control(
        "/__sim/futures/mark-price",
        json!({"symbol": "ETHUSDT", "markPrice": "3100"}),
    )
    .await;
    c.control("/__sim/futures/funding", json!({"rate": "0.0001"}))
        .await;
    c.control("/__sim/clock", json!({"advance_ms": 8 * HOUR}))
        .await;
    let r = c
        .control("/__sim/futures/funding", json!({"rate": "-0.0002"}))
        .await;
    assert_eq!(arr(&r["income"]).len(), 1, "one open position, one row");

    let rows = get(&c, "/fapi/v1/income", &[("incomeType", "FUNDING_FEE")]).await;
    let amounts: Vec<&str> = arr(&rows)
        .iter()
        .map(|r| r["income"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["0.03000000", "0.03100000", "-0.06200000"]);
    for row in arr(&rows) {
        assert_eq!(row["symbol"], "ETHUSDT");
        assert_eq!(row["info"], "FUNDING_FEE");
        assert_eq!(row["tradeId"], "");
        assert_eq!(row["asset"], "USDT");
    }
    let times: Vec<i64> = arr(&rows)
        .iter()
        .map(|r| r["time"].as_i64().unwrap())
        .collect();
    // The sim clock also runs in real time between the two settlements.
    assert!((8 * HOUR..8 * HOUR + 5_000).contains(&(times[1] - times[0])));
    let ids: Vec<u64> = arr(&rows)
        .iter()
        .map(|r| r["tranId"].as_u64().unwrap())
        .collect();
    assert!(ids[0] < ids[1] && ids[1] < ids[2], "{ids:?}");
    // "tranId is unique in the same incomeType": another type may reuse it.
    let fee = get(&c, "/fapi/v1/income", &[("incomeType", "COMMISSION")]).await;
    assert_eq!(fee[0]["tranId"], rows[0]["tranId"]);

    // Funding is no trade and no order.
    let trades = get(&c, "/fapi/v1/userTrades", &[("symbol", "ETHUSDT")]).await;
    assert_eq!(arr(&trades).len(), 1);
    let orders = get(&c, "/fapi/v1/allOrders", &[("symbol", "ETHUSDT")]).await;
    assert_eq!(arr(&orders).len(), 1);
    // 999.85 + 0.03 + 0.031 − 0.062
    assert_eq!(wallet(&c).await, "999.84900000");
}

#[tokio::test]
async fn a_liquidation_closes_the_position_with_an_autoclose_order_and_an_insurance_clear_fee() {
    let (_sim, c) = start("futures.json", 6000).await;
    fill(
        &c,
        json!({"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.100", "price": "50000"}),
    )
    .await;
    // Wallet 1000 − 2.5 commission; cross liquidation where wallet + uPnL
    // = maintenance margin (0.4 %): (5000 − 997.5) / (0.1 − 0.0004).
    let p = get(&c, "/fapi/v3/positionRisk", &[]).await;
    assert_eq!(p[0]["liquidationPrice"], "40185.74297189");
    c.control(
        "/__sim/futures/mark-price",
        json!({"symbol": "BTCUSDT", "markPrice": "40200"}),
    )
    .await;
    let liq = c
        .control("/__sim/futures/liquidate", json!({"symbol": "BTCUSDT"}))
        .await;
    assert!(
        liq["order"]["clientOrderId"]
            .as_str()
            .unwrap()
            .starts_with("autoclose-"),
        "{liq}"
    );
    assert_eq!(get(&c, "/fapi/v3/positionRisk", &[]).await, json!([]));

    let orders = get(&c, "/fapi/v1/allOrders", &[("symbol", "BTCUSDT")]).await;
    let last = arr(&orders).last().unwrap();
    assert_eq!(last["clientOrderId"], liq["order"]["clientOrderId"]);
    assert_eq!(last["type"], "LIMIT");
    assert_eq!(last["timeInForce"], "IOC");
    assert_eq!(last["status"], "FILLED");
    assert_eq!(last["side"], "SELL");
    assert_eq!(last["reduceOnly"], true);
    assert_eq!(last["executedQty"], "0.100");
    assert_eq!(last["avgPrice"], "40200.00000");

    // User's Force Orders lists the liquidation only, not the opening fill.
    let forced = get(&c, "/fapi/v1/forceOrders", &[("symbol", "BTCUSDT")]).await;
    assert_eq!(arr(&forced).len(), 1, "{forced}");
    assert_eq!(forced[0]["orderId"], last["orderId"]);
    assert_eq!(forced[0]["clientOrderId"], last["clientOrderId"]);
    assert_eq!(forced[0]["origType"], "LIMIT");
    let adl = get(&c, "/fapi/v1/forceOrders", &[("autoCloseType", "ADL")]).await;
    assert_eq!(adl, json!([]));
    let r = c
        .signed(
            "GET",
            "/fapi/v1/forceOrders",
            &[("autoCloseType", "MARGIN_CALL")],
        )
        .await;
    assert_eq!(r.code(), -1130, "{}", r.text);

    let trades = get(&c, "/fapi/v1/userTrades", &[("symbol", "BTCUSDT")]).await;
    let t = arr(&trades).last().unwrap();
    assert_eq!(t["realizedPnl"], "-980.00000000", "0.1 × (40200 − 50000)");
    assert_eq!(t["commission"], "2.01000000");
    // The clearance fee (0.1 × 40200 × 1.25 % = 50.25) takes what is left:
    // 1000 − 2.5 − 980 − 2.01.
    let fee = get(&c, "/fapi/v1/income", &[("incomeType", "INSURANCE_CLEAR")]).await;
    assert_eq!(arr(&fee).len(), 1);
    assert_eq!(fee[0]["income"], "-15.49000000");
    assert_eq!(fee[0]["tradeId"], "");
    assert_eq!(wallet(&c).await, "0.00000000");
}

#[tokio::test]
async fn universal_transfers_move_the_futures_wallet_and_write_transfer_income() {
    let (_sim, c) = start("futures.json", 6000).await;
    c.control(
        "/__sim/transfers",
        json!({"type": "MAIN_UMFUTURE", "asset": "USDT", "amount": "100"}),
    )
    .await;
    c.control(
        "/__sim/transfers",
        json!({"type": "UMFUTURE_MAIN", "asset": "USDT", "amount": "40.5"}),
    )
    .await;
    assert_eq!(c.balance("USDT").await.0, "9940.50000000");
    assert_eq!(wallet(&c).await, "1059.50000000");
    let rows = get(&c, "/fapi/v1/income", &[("incomeType", "TRANSFER")]).await;
    let amounts: Vec<&str> = arr(&rows)
        .iter()
        .map(|r| r["income"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["100.00000000", "-40.50000000"]);
    assert_eq!(rows[0]["symbol"], "");
    assert_eq!(rows[0]["info"], "TRANSFER");
    assert_eq!(rows[0]["tradeId"], "");
    // Margin in use cannot leave: 0.4 BTC at 50000 holds 1000 at 20x.
    fill(
        &c,
        json!({"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.400", "price": "50000"}),
    )
    .await;
    let acct = get(&c, "/fapi/v3/account", &[]).await;
    assert_eq!(acct["maxWithdrawAmount"], "49.50000000", "1049.5 − 1000");
    let (status, e) = control_err(
        &c,
        "/__sim/transfers",
        json!({"type": "UMFUTURE_MAIN", "asset": "USDT", "amount": "50"}),
    )
    .await;
    assert_eq!((status, e["code"].as_i64()), (400, Some(-4026)));
}

#[tokio::test]
async fn user_trades_enforce_the_documented_window_combination_and_history_limits() {
    let (_sim, c) = start("futures.json", 6000).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = fill(
            &c,
            json!({"symbol": "ETHUSDT", "side": "BUY", "quantity": "0.010"}),
        )
        .await;
        ids.push(r["trade"]["id"].as_u64().unwrap());
        c.control("/__sim/clock", json!({"advance_ms": 1000})).await;
    }
    let now = c.server_time().await;
    let err = |r: Resp| (r.code(), r.msg());

    let r = c.signed("GET", "/fapi/v1/userTrades", &[]).await;
    assert_eq!(
        err(r),
        (
            -1102,
            "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.".into()
        )
    );
    let (s, e) = ((now - 7 * DAY - 1).to_string(), now.to_string());
    let r = c
        .signed(
            "GET",
            "/fapi/v1/userTrades",
            &[("symbol", "ETHUSDT"), ("startTime", &s), ("endTime", &e)],
        )
        .await;
    assert_eq!(
        err(r),
        (
            -1127,
            "More than 168 hours between startTime and endTime.".into()
        )
    );
    let s7 = (now - 7 * DAY).to_string();
    let r = c
        .signed(
            "GET",
            "/fapi/v1/userTrades",
            &[("symbol", "ETHUSDT"), ("startTime", &s7), ("endTime", &e)],
        )
        .await;
    assert_eq!(arr(&r.json()).len(), 3, "exactly 7 days is allowed");
    let r = c
        .signed(
            "GET",
            "/fapi/v1/userTrades",
            &[("symbol", "ETHUSDT"), ("fromId", "1"), ("startTime", &s7)],
        )
        .await;
    assert_eq!(
        err(r),
        (-1128, "Combination of optional parameters invalid.".into())
    );
    let r = c
        .signed(
            "GET",
            "/fapi/v1/userTrades",
            &[("symbol", "ETHUSDT"), ("startTime", &e), ("endTime", &s7)],
        )
        .await;
    assert_eq!(
        err(r),
        (-1023, "Start time is greater than end time.".into())
    );
    let r = c
        .signed("GET", "/fapi/v1/userTrades", &[("symbol", "XRPUSDT")])
        .await;
    assert_eq!(err(r), (-1121, "Invalid symbol.".into()));
    let r = c
        .signed(
            "GET",
            "/fapi/v1/userTrades",
            &[("symbol", "ETHUSDT"), ("side", "BUY")],
        )
        .await;
    assert_eq!(r.code(), -1104, "{}", r.text);

    // limit: the most recent without a start, the oldest from fromId.
    let recent = get(
        &c,
        "/fapi/v1/userTrades",
        &[("symbol", "ETHUSDT"), ("limit", "2")],
    )
    .await;
    let got: Vec<u64> = arr(&recent)
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(got, ids[1..]);
    let from = ids[0].to_string();
    let paged = get(
        &c,
        "/fapi/v1/userTrades",
        &[("symbol", "ETHUSDT"), ("fromId", &from), ("limit", "2")],
    )
    .await;
    let got: Vec<u64> = arr(&paged)
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(got, ids[..2]);

    // After 8 days the default (last 7 days) is empty; a window finds them.
    c.control("/__sim/clock", json!({"advance_ms": 8 * DAY}))
        .await;
    let none = get(&c, "/fapi/v1/userTrades", &[("symbol", "ETHUSDT")]).await;
    assert_eq!(none, json!([]));
    let old = get(
        &c,
        "/fapi/v1/userTrades",
        &[("symbol", "ETHUSDT"), ("startTime", &s7), ("endTime", &e)],
    )
    .await;
    assert_eq!(arr(&old).len(), 3);
    // Past 6 months nothing is served, not even by fromId.
    c.control("/__sim/clock", json!({"advance_ms": 180 * DAY}))
        .await;
    let gone = get(
        &c,
        "/fapi/v1/userTrades",
        &[("symbol", "ETHUSDT"), ("fromId", &from)],
    )
    .await;
    assert_eq!(gone, json!([]));
    // ... and income keeps three months only.
    let income = get(&c, "/fapi/v1/income", &[("startTime", &s7)]).await;
    assert_eq!(income, json!([]));
}

#[tokio::test]
async fn all_orders_and_income_check_their_windows_types_and_pages() {
    let (_sim, c) = start("futures.json", 6000).await;
    for _ in 0..3 {
        fill(
            &c,
            json!({"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001"}),
        )
        .await;
        c.control("/__sim/clock", json!({"advance_ms": 1000})).await;
    }
    let now = c.server_time().await;
    let (s, e) = ((now - 8 * DAY).to_string(), now.to_string());
    let r = c
        .signed(
            "GET",
            "/fapi/v1/allOrders",
            &[("symbol", "BTCUSDT"), ("startTime", &s), ("endTime", &e)],
        )
        .await;
    assert_eq!(r.code(), -1127, "{}", r.text);
    let r = c
        .signed("GET", "/fapi/v1/income", &[("incomeType", "BOGUS")])
        .await;
    assert_eq!(
        (r.code(), r.msg()),
        (
            -1130,
            "Data sent for parameter 'incomeType' is not valid.".into()
        )
    );
    // Three COMMISSION rows, two per page.
    let p1 = get(&c, "/fapi/v1/income", &[("limit", "2")]).await;
    let p2 = get(&c, "/fapi/v1/income", &[("limit", "2"), ("page", "2")]).await;
    assert_eq!((arr(&p1).len(), arr(&p2).len()), (2, 1));
    assert!(p1[1]["time"].as_i64() < p2[0]["time"].as_i64());
    let r = c
        .signed("GET", "/fapi/v1/order", &[("symbol", "BTCUSDT")])
        .await;
    assert_eq!(
        (r.code(), r.msg()),
        (
            -1102,
            "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!".into()
        )
    );
}

#[tokio::test]
async fn a_canceled_order_without_fills_disappears_after_three_days() {
    let (_sim, c) = start("futures.json", 6000).await;
    let o = c
        .control(
            "/__sim/futures/orders",
            json!({"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.010", "price": "45000", "clientOrderId": "bot-1"}),
        )
        .await;
    let id = o["orderId"].to_string();
    assert_eq!(o["status"], "NEW");
    let open = get(&c, "/fapi/v1/openOrders", &[("symbol", "BTCUSDT")]).await;
    assert_eq!(arr(&open).len(), 1);
    assert_eq!(open[0]["clientOrderId"], "bot-1");
    // A flat leg with an open order has a v3 row, with its order margin.
    let risk = get(&c, "/fapi/v3/positionRisk", &[]).await;
    assert_eq!(risk[0]["positionAmt"], "0.000");
    assert_eq!(risk[0]["openOrderInitialMargin"], "22.50000000");
    let q = get(
        &c,
        "/fapi/v1/openOrder",
        &[("symbol", "BTCUSDT"), ("origClientOrderId", "bot-1")],
    )
    .await;
    assert_eq!(q["orderId"].to_string(), id);
    // No mode change with open orders.
    let (_, e) = control_err(
        &c,
        "/__sim/futures/position-mode",
        json!({"dualSidePosition": true}),
    )
    .await;
    assert_eq!(e["code"], -4067);

    c.control(
        "/__sim/futures/orders/cancel",
        json!({"symbol": "BTCUSDT", "orderId": o["orderId"]}),
    )
    .await;
    let r = c
        .signed(
            "GET",
            "/fapi/v1/openOrder",
            &[("symbol", "BTCUSDT"), ("orderId", &id)],
        )
        .await;
    assert_eq!((r.code(), r.msg()), (-2013, "Order does not exist.".into()));
    let q = get(
        &c,
        "/fapi/v1/order",
        &[("symbol", "BTCUSDT"), ("orderId", &id)],
    )
    .await;
    assert_eq!(q["status"], "CANCELED");
    assert_eq!(q["executedQty"], "0.000");

    c.control("/__sim/clock", json!({"advance_ms": 3 * DAY + 1000}))
        .await;
    let r = c
        .signed(
            "GET",
            "/fapi/v1/order",
            &[("symbol", "BTCUSDT"), ("orderId", &id)],
        )
        .await;
    assert_eq!(r.code(), -2013, "{}", r.text);
    let all = get(
        &c,
        "/fapi/v1/allOrders",
        &[("symbol", "BTCUSDT"), ("orderId", &id)],
    )
    .await;
    assert_eq!(all, json!([]));
}

#[tokio::test]
async fn a_resting_order_filled_as_maker_moves_the_position_at_its_price() {
    let (_sim, c) = start("futures.json", 6000).await;
    let o = c
        .control(
            "/__sim/futures/orders",
            json!({"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.020", "price": "52000"}),
        )
        .await;
    let r = c
        .control(
            "/__sim/futures/orders/fill",
            json!({"symbol": "BTCUSDT", "orderId": o["orderId"], "quantity": "0.005"}),
        )
        .await;
    assert_eq!(r["order"]["status"], "PARTIALLY_FILLED");
    assert_eq!(r["trade"]["maker"], true);
    assert_eq!(
        r["trade"]["commission"], "0.05200000",
        "0.005 × 52000 × 0.0002"
    );
    let p = get(&c, "/fapi/v3/positionRisk", &[]).await;
    assert_eq!(p[0]["positionAmt"], "-0.005");
    assert_eq!(p[0]["entryPrice"], "52000");
}

#[tokio::test]
async fn fapi_requests_cost_their_documented_weight_on_the_futures_pool() {
    let (_sim, c) = start("futures.json", 6000).await;
    align_minute(&c).await;
    let mut expected = 0;
    for (path, params, weight) in [
        ("/fapi/v1/exchangeInfo", vec![], 1u64),
        ("/fapi/v1/time", vec![], 1),
        ("/fapi/v3/account", vec![], 5),
        ("/fapi/v2/account", vec![], 5),
        ("/fapi/v3/balance", vec![], 5),
        ("/fapi/v2/balance", vec![], 5),
        ("/fapi/v3/positionRisk", vec![], 5),
        ("/fapi/v2/positionRisk", vec![], 5),
        ("/fapi/v1/positionSide/dual", vec![], 30),
        ("/fapi/v1/userTrades", vec![("symbol", "BTCUSDT")], 5),
        ("/fapi/v1/allOrders", vec![("symbol", "BTCUSDT")], 5),
        ("/fapi/v1/openOrders", vec![("symbol", "BTCUSDT")], 1),
        ("/fapi/v1/openOrders", vec![], 40),
        ("/fapi/v1/income", vec![], 30),
        ("/fapi/v1/leverageBracket", vec![], 1),
        ("/fapi/v1/forceOrders", vec![("symbol", "BTCUSDT")], 20),
        ("/fapi/v1/forceOrders", vec![], 50),
    ] {
        let r = if path.ends_with("exchangeInfo") || path.ends_with("/time") {
            c.get(path, &params).await
        } else {
            c.signed("GET", path, &params).await
        };
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        expected += weight;
        assert_eq!(r.weight(), expected, "{path}");
    }
    // The /api pool is untouched.
    assert_eq!(c.get("/api/v3/ping", &[]).await.weight(), 1);
    // Signed: without a key it is 401 -2014.
    let r = c.raw("GET", "/fapi/v3/account", "", None).await;
    assert_eq!((r.status, r.code()), (401, -2014));
    // 2,400 per minute: income at 30 fills it up.
    // The keyless request was charged too (weight comes before security).
    let mut n = expected + 5;
    while n + 30 <= 2400 {
        let r = c.signed("GET", "/fapi/v1/income", &[]).await;
        assert_eq!(r.status, 200);
        n += 30;
    }
    let r = c.signed("GET", "/fapi/v1/income", &[]).await;
    assert_eq!((r.status, r.code()), (429, -1003), "{}", r.text);
    assert!(r.msg().contains("2400"), "{}", r.msg());
}

#[tokio::test]
async fn exchange_info_lists_the_configured_perpetuals_with_their_filters() {
    let (_sim, c) = start("futures.json", 6000).await;
    let v = c.get("/fapi/v1/exchangeInfo", &[]).await.json();
    assert_eq!(
        v["assets"],
        json!([{"asset": "USDT", "marginAvailable": true, "autoAssetExchange": "0"}])
    );
    let s = &v["symbols"][0];
    assert_eq!(s["symbol"], "BTCUSDT");
    assert_eq!(s["contractType"], "PERPETUAL");
    assert_eq!(s["status"], "TRADING");
    assert_eq!(s["baseAsset"], "BTC");
    assert_eq!(s["quoteAsset"], "USDT");
    assert_eq!(s["marginAsset"], "USDT");
    assert_eq!(s["pricePrecision"], 2);
    assert_eq!(s["quantityPrecision"], 3);
    let filters: Vec<&str> = arr(&s["filters"])
        .iter()
        .map(|f| f["filterType"].as_str().unwrap())
        .collect();
    assert_eq!(
        filters,
        [
            "PRICE_FILTER",
            "LOT_SIZE",
            "MARKET_LOT_SIZE",
            "MAX_NUM_ORDERS",
            "MAX_NUM_ALGO_ORDERS",
            "MIN_NOTIONAL",
            "PERCENT_PRICE"
        ]
    );
    assert_eq!(s["filters"][1]["stepSize"], "0.001");
    assert_eq!(s["filters"][5]["notional"], "5");
    assert_eq!(arr(&v["symbols"]).len(), 2);
}

#[tokio::test]
async fn exchange_info_is_unchanged_without_a_futures_section() {
    let (_sim, c) = start("minimal.json", 6000).await;
    let mut v = c.get("/fapi/v1/exchangeInfo", &[]).await.json();
    v["serverTime"] = json!(0);
    assert_eq!(
        v,
        json!({
            "timezone": "UTC",
            "serverTime": 0,
            "futuresType": "U_MARGINED",
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300}
            ],
            "exchangeFilters": [],
            "assets": [],
            "symbols": []
        })
    );
    // The futures account is empty too.
    assert_eq!(get(&c, "/fapi/v3/positionRisk", &[]).await, json!([]));
    assert_eq!(get(&c, "/fapi/v3/balance", &[]).await, json!([]));
}

#[tokio::test]
async fn strict_one_bound_windows_cover_seven_days_from_start_time() {
    let (_sim, c) = start("futures.json", 6000).await;
    let t0 = c.server_time().await;
    fill(
        &c,
        json!({"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001"}),
    )
    .await;
    c.control("/__sim/clock", json!({"advance_ms": 8 * DAY}))
        .await;
    fill(
        &c,
        json!({"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001"}),
    )
    .await;
    let start = t0.to_string();
    let q = [("symbol", "BTCUSDT"), ("startTime", start.as_str())];
    assert_eq!(arr(&get(&c, "/fapi/v1/userTrades", &q).await).len(), 2);
    c.control("/__sim/strict", json!({"fapi_one_bound_7d": true}))
        .await;
    assert_eq!(
        arr(&get(&c, "/fapi/v1/userTrades", &q).await).len(),
        1,
        "only [startTime, startTime + 7 days]"
    );
}
