//! Strict mode: each switch plays an answer the Binance docs allow but do
//! not promise (FACTS.md §12). Every test runs one client that relies on the
//! favourable answer, once with the switch off (the client is right) and
//! once with it on (the client is wrong), so each switch is shown to matter.
//! Time only moves through the sim clock (`POST /__sim/clock`), never sleeps.

mod common;
use binance_sim::{RunningSim, SimConfig, StrictConfig};
use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;

const HOUR_MS: i64 = 3_600_000;

async fn start_with(scenario_name: &str, strict: StrictConfig) -> (RunningSim, Client) {
    start_config(
        scenario_name,
        SimConfig {
            strict,
            ..SimConfig::default()
        },
    )
    .await
}

/// The favourable run and the strict run of one switch.
fn both(strict: StrictConfig) -> [(bool, StrictConfig); 2] {
    [(false, StrictConfig::default()), (true, strict)]
}

async fn advance(c: &Client, ms: i64) {
    c.control("/__sim/clock", json!({ "advance_ms": ms })).await;
}

/// A manual MARKET trade by the owner: one order and one fill.
async fn manual_buy(c: &Client, symbol: &str, quantity: &str) -> Value {
    c.control(
        "/__sim/trades",
        json!({"symbol": symbol, "side": "BUY", "quantity": quantity}),
    )
    .await
}

async fn list(c: &Client, path: &str, params: &[(&str, &str)]) -> Vec<Value> {
    let r = c.signed("GET", path, params).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.json().as_array().expect("array").clone()
}

fn ids(items: &[Value], field: &str) -> Vec<u64> {
    items
        .iter()
        .map(|v| v[field].as_u64().expect("id"))
        .collect()
}

// ---- freeze_update_time ----------------------------------------------------

/// A client that detects a balance change by comparing `account.updateTime`.
async fn update_time_says_changed(c: &Client) -> bool {
    let before = c.signed("GET", "/api/v3/account", &[]).await.json()["updateTime"].clone();
    manual_buy(c, "BTCUSDT", "0.001").await;
    let after = c.signed("GET", "/api/v3/account", &[]).await.json()["updateTime"].clone();
    before != after
}

#[tokio::test]
async fn frozen_update_time_hides_a_fill_from_a_client_comparing_update_time() {
    for (strict, cfg) in both(StrictConfig {
        freeze_update_time: true,
        ..StrictConfig::default()
    }) {
        let (sim, c) = start_with("minimal.json", cfg).await;
        let usdt_before = c.balance("USDT").await.0;
        let seen = update_time_says_changed(&c).await;
        assert_ne!(
            c.balance("USDT").await.0,
            usdt_before,
            "the fill moved USDT"
        );
        assert_eq!(seen, !strict, "strict={strict}: change seen by updateTime");
        sim.shutdown().await;
    }
}

// ---- newest_page_in_window ---------------------------------------------------

/// A client that pages a time window assuming each full page is the oldest
/// `limit` items, continuing from the last item's time + 1.
async fn page_window_oldest_first(c: &Client, path: &str, start: i64, end: i64) -> Vec<u64> {
    let id_field = if path.ends_with("myTrades") {
        "id"
    } else {
        "orderId"
    };
    let (mut from, end_s) = (start, end.to_string());
    let mut got = Vec::new();
    loop {
        let from_s = from.to_string();
        let page = list(
            c,
            path,
            &[
                ("symbol", "BTCUSDT"),
                ("startTime", &from_s),
                ("endTime", &end_s),
                ("limit", "2"),
            ],
        )
        .await;
        got.extend(ids(&page, id_field));
        if page.len() < 2 {
            return got;
        }
        from = page.last().unwrap()["time"].as_i64().unwrap() + 1;
    }
}

#[tokio::test]
async fn newest_page_in_window_makes_an_oldest_first_pager_miss_the_oldest_items() {
    for (strict, cfg) in both(StrictConfig {
        newest_page_in_window: true,
        ..StrictConfig::default()
    }) {
        let (sim, c) = start_with("minimal.json", cfg).await;
        let t0 = c.server_time().await;
        let mut trade_ids = Vec::new();
        let mut order_ids = Vec::new();
        for _ in 0..5 {
            advance(&c, 1000).await;
            let o = manual_buy(&c, "BTCUSDT", "0.001").await;
            order_ids.push(o["orderId"].as_u64().unwrap());
            trade_ids.push(o["fills"][0]["tradeId"].as_u64().unwrap());
        }
        let end = t0 + HOUR_MS;
        let trades = page_window_oldest_first(&c, "/api/v3/myTrades", t0, end).await;
        let orders = page_window_oldest_first(&c, "/api/v3/allOrders", t0, end).await;
        if strict {
            // The first page was the newest two; the pager then stopped.
            assert_eq!(trades, trade_ids[3..].to_vec());
            assert_eq!(orders, order_ids[3..].to_vec());
        } else {
            assert_eq!(trades, trade_ids);
            assert_eq!(orders, order_ids);
        }
        sim.shutdown().await;
    }
}

// ---- start_time_alone_24h ----------------------------------------------------

#[tokio::test]
async fn start_time_alone_covering_24_hours_hides_later_fills_from_a_client_reading_to_now() {
    for (strict, cfg) in both(StrictConfig {
        start_time_alone_24h: true,
        ..StrictConfig::default()
    }) {
        let (sim, c) = start_with("minimal.json", cfg).await;
        let t0 = c.server_time().await.to_string();
        let first = manual_buy(&c, "BTCUSDT", "0.001").await;
        advance(&c, 25 * HOUR_MS).await;
        let second = manual_buy(&c, "BTCUSDT", "0.001").await;
        // The client believes `startTime` alone means "from then to now".
        let q = [("symbol", "BTCUSDT"), ("startTime", t0.as_str())];
        let trades = ids(&list(&c, "/api/v3/myTrades", &q).await, "id");
        let orders = ids(&list(&c, "/api/v3/allOrders", &q).await, "orderId");
        let t1 = first["fills"][0]["tradeId"].as_u64().unwrap();
        let t2 = second["fills"][0]["tradeId"].as_u64().unwrap();
        let (o1, o2) = (
            first["orderId"].as_u64().unwrap(),
            second["orderId"].as_u64().unwrap(),
        );
        if strict {
            assert_eq!((trades, orders), (vec![t1], vec![o1]));
        } else {
            assert_eq!((trades, orders), (vec![t1, t2], vec![o1, o2]));
        }
        sim.shutdown().await;
    }
}

// ---- history_lag_ms ----------------------------------------------------------

/// 60 s of sim clock: far longer than the real time a test step takes, so
/// the lag cannot run out by itself while the test runs.
const LAG_MS: i64 = 60_000;

#[tokio::test]
async fn history_lag_makes_a_time_cursor_client_miss_a_fresh_fill_for_good() {
    for (strict, cfg) in both(StrictConfig {
        history_lag_ms: LAG_MS,
        ..StrictConfig::default()
    }) {
        let (sim, c) = start_with("minimal.json", cfg).await;
        let cursor = c.server_time().await;
        let o = manual_buy(&c, "BTCUSDT", "0.001").await;
        let trade_id = o["fills"][0]["tradeId"].as_u64().unwrap();
        // Balances move at once in both modes.
        assert_eq!(c.balance("BTC").await.0, "0.00099900");
        // Run 1: read [cursor, now], then move the cursor past now.
        let now = c.server_time().await;
        let (s, e) = (cursor.to_string(), now.to_string());
        let q = [("symbol", "BTCUSDT"), ("startTime", &s), ("endTime", &e)];
        let mut seen = ids(&list(&c, "/api/v3/myTrades", &q).await, "id");
        let orders_run1 = list(&c, "/api/v3/allOrders", &q).await;
        let cursor = now + 1;
        // Run 2, later: [cursor, now].
        advance(&c, 2 * LAG_MS).await;
        let (s, e) = (cursor.to_string(), c.server_time().await.to_string());
        let q = [("symbol", "BTCUSDT"), ("startTime", &s), ("endTime", &e)];
        seen.extend(ids(&list(&c, "/api/v3/myTrades", &q).await, "id"));
        // The fill has reached the history by now in both modes.
        let all = list(&c, "/api/v3/myTrades", &[("symbol", "BTCUSDT")]).await;
        assert_eq!(ids(&all, "id"), vec![trade_id]);
        if strict {
            assert!(
                seen.is_empty(),
                "the cursor passed the fill before it showed"
            );
            assert!(orders_run1.is_empty(), "allOrders lags too");
        } else {
            assert_eq!(seen, vec![trade_id]);
            assert_eq!(orders_run1.len(), 1);
        }
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn history_lag_shows_a_stale_order_state_in_all_orders_while_order_is_current() {
    for (strict, cfg) in both(StrictConfig {
        history_lag_ms: LAG_MS,
        ..StrictConfig::default()
    }) {
        let (sim, c) = start_with("minimal.json", cfg).await;
        let o = c
            .control(
                "/__sim/orders",
                json!({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "50000"}),
            )
            .await;
        let id = o["orderId"].as_u64().unwrap().to_string();
        // openOrders and order (Memory => Database) see it at once.
        let open = list(&c, "/api/v3/openOrders", &[("symbol", "BTCUSDT")]).await;
        assert_eq!(ids(&open, "orderId"), vec![id.parse::<u64>().unwrap()]);
        let q = [("symbol", "BTCUSDT"), ("orderId", id.as_str())];
        assert_eq!(c.signed("GET", "/api/v3/order", &q).await.status, 200);
        advance(&c, 2 * LAG_MS).await;
        c.control(
            "/__sim/orders/fill",
            json!({"symbol": "BTCUSDT", "orderId": id.parse::<u64>().unwrap()}),
        )
        .await;
        // A client that takes allOrders' status right after the fill.
        let hist = list(&c, "/api/v3/allOrders", &[("symbol", "BTCUSDT")]).await;
        let current = c.signed("GET", "/api/v3/order", &q).await.json();
        assert_eq!(current["status"], "FILLED");
        let expected = if strict { "NEW" } else { "FILLED" };
        assert_eq!(hist[0]["status"], expected, "strict={strict}");
        advance(&c, 2 * LAG_MS).await;
        let hist = list(&c, "/api/v3/allOrders", &[("symbol", "BTCUSDT")]).await;
        assert_eq!(hist[0]["status"], "FILLED", "caught up after the lag");
        sim.shutdown().await;
    }
}

// ---- deposit lifecycle -------------------------------------------------------

/// A client that sums credited (status 1) deposits from a time cursor.
struct DepositCounter {
    cursor: i64,
    credited: f64,
}

impl DepositCounter {
    async fn run(&mut self, c: &Client) {
        let now = c.server_time().await;
        let (s, e) = (self.cursor.to_string(), now.to_string());
        let deps = list(
            c,
            "/sapi/v1/capital/deposit/hisrec",
            &[("startTime", &s), ("endTime", &e)],
        )
        .await;
        for d in deps.iter().filter(|d| d["status"] == 1) {
            self.credited += d["amount"].as_str().unwrap().parse::<f64>().unwrap();
        }
        self.cursor = now + 1;
    }
}

#[tokio::test]
async fn pending_deposit_is_credited_later_so_a_credited_only_cursor_client_never_counts_it() {
    for (strict, cfg) in both(StrictConfig {
        deposit_credit_delay_ms: 20 * 60_000,
        ..StrictConfig::default()
    }) {
        let (sim, c) = start_with("minimal.json", cfg).await;
        let mut client = DepositCounter {
            cursor: c.server_time().await,
            credited: 0.0,
        };
        let d = c
            .control("/__sim/deposits", json!({"asset": "USDT", "amount": "500"}))
            .await;
        assert_eq!(d["status"], if strict { 0 } else { 1 });
        let usdt_now = c.balance("USDT").await.0;
        client.run(&c).await;
        advance(&c, 30 * 60_000).await;
        client.run(&c).await;
        // The money arrived in both modes, and the record says so by now.
        assert_eq!(c.balance("USDT").await.0, "10500.00000000");
        let all = list(&c, "/sapi/v1/capital/deposit/hisrec", &[]).await;
        assert_eq!(all[0]["status"], 1);
        assert_eq!(all[0]["completeTime"].as_i64().unwrap(), {
            let ins = all[0]["insertTime"].as_i64().unwrap();
            if strict {
                ins + 20 * 60_000
            } else {
                ins
            }
        });
        if strict {
            assert_eq!(usdt_now, "10000.00000000", "not credited while pending");
            assert_eq!(client.credited, 0.0, "seen pending, then behind the cursor");
        } else {
            assert_eq!(usdt_now, "10500.00000000");
            assert_eq!(client.credited, 500.0);
        }
        sim.shutdown().await;
    }
}

// ---- withdrawal lifecycle ----------------------------------------------------

#[tokio::test]
async fn processing_withdrawal_is_already_debited_so_a_completed_only_client_is_off() {
    for (strict, cfg) in both(StrictConfig {
        withdrawal_step_ms: 10 * 60_000,
        ..StrictConfig::default()
    }) {
        let (sim, c) = start_with("minimal.json", cfg).await;
        let w = c
            .control(
                "/__sim/withdrawals",
                json!({"asset": "USDT", "amount": "100", "fee": "1"}),
            )
            .await;
        assert_eq!(w["status"], if strict { 2 } else { 6 });
        // The client's balance: start minus the completed withdrawals.
        let hist = list(&c, "/sapi/v1/capital/withdraw/history", &[]).await;
        let completed: f64 = hist
            .iter()
            .filter(|w| w["status"] == 6)
            .map(|w| {
                w["amount"].as_str().unwrap().parse::<f64>().unwrap()
                    + w["transactionFee"]
                        .as_str()
                        .unwrap()
                        .parse::<f64>()
                        .unwrap()
            })
            .sum();
        let actual: f64 = c.balance("USDT").await.0.parse().unwrap();
        assert_eq!(actual, 9899.0, "debited at once in both modes");
        assert_eq!(10_000.0 - completed == actual, !strict, "strict={strict}");
        if strict {
            // Awaiting Approval → Processing → Completed on the sim clock.
            assert!(hist[0].get("completeTime").is_none());
            let mut statuses = vec![hist[0]["status"].as_i64().unwrap()];
            for _ in 0..2 {
                advance(&c, 10 * 60_000).await;
                let h = list(&c, "/sapi/v1/capital/withdraw/history", &[]).await;
                statuses.push(h[0]["status"].as_i64().unwrap());
            }
            assert_eq!(statuses, vec![2, 4, 6]);
            let h = list(&c, "/sapi/v1/capital/withdraw/history", &[]).await;
            assert!(h[0]["completeTime"].is_string());
            assert_eq!(c.balance("USDT").await.0, "9899.00000000", "debited once");
        }
        sim.shutdown().await;
    }
}

// ---- withdraw_fee_in_amount --------------------------------------------------

#[tokio::test]
async fn withdrawal_fee_inside_or_outside_amount_breaks_a_client_that_assumes_either() {
    for inside in [false, true] {
        let (sim, c) = start_with(
            "minimal.json",
            StrictConfig {
                withdraw_fee_in_amount: inside,
                ..StrictConfig::default()
            },
        )
        .await;
        c.control(
            "/__sim/withdrawals",
            json!({"asset": "USDT", "amount": "100", "fee": "1"}),
        )
        .await;
        let w = &list(&c, "/sapi/v1/capital/withdraw/history", &[]).await[0];
        // The record is the same either way.
        assert_eq!(
            (w["amount"].as_str(), w["transactionFee"].as_str()),
            (Some("100.00000000"), Some("1"))
        );
        let debit = 10_000.0 - c.balance("USDT").await.0.parse::<f64>().unwrap();
        let adds_fee = 100.0 + 1.0; // client A: fee outside amount
        let fee_inside = 100.0; // client B: fee inside amount
        assert_eq!(debit == adds_fee, !inside, "fee inside={inside}");
        assert_eq!(debit == fee_inside, inside, "fee inside={inside}");
        sim.shutdown().await;
    }
}

// ---- colliding_ids -----------------------------------------------------------

#[tokio::test]
async fn colliding_ids_break_a_client_that_keys_trades_and_orders_by_id_alone() {
    for (strict, cfg) in both(StrictConfig {
        colliding_ids: true,
        ..StrictConfig::default()
    }) {
        let (sim, c) = start_with("demo.json", cfg).await;
        let btc = manual_buy(&c, "BTCUSDT", "0.0001").await;
        let eth = manual_buy(&c, "ETHUSDT", "0.01").await;
        let (bt, et) = (&btc["fills"][0]["tradeId"], &eth["fills"][0]["tradeId"]);
        assert_eq!(bt == et, strict, "trade ids: {bt} {et}");
        assert_eq!(btc["orderId"] == eth["orderId"], strict);
        // The client: every fill and order of both symbols, keyed by id.
        let mut trades_by_id = HashMap::new();
        let mut orders_by_id = HashMap::new();
        let mut n_trades = 0;
        let mut n_orders = 0;
        for symbol in ["BTCUSDT", "ETHUSDT"] {
            let q = [("symbol", symbol), ("limit", "1000")];
            for t in list(&c, "/api/v3/myTrades", &q).await {
                n_trades += 1;
                trades_by_id.insert(t["id"].as_u64().unwrap(), t);
            }
            for o in list(&c, "/api/v3/allOrders", &q).await {
                n_orders += 1;
                orders_by_id.insert(o["orderId"].as_u64().unwrap(), o);
            }
        }
        let lost = (n_trades - trades_by_id.len(), n_orders - orders_by_id.len());
        assert_eq!(lost, if strict { (1, 1) } else { (0, 0) });
        // Keyed by (symbol, id) the lookups stay right.
        let id = eth["orderId"].as_u64().unwrap().to_string();
        let o = c
            .signed(
                "GET",
                "/api/v3/order",
                &[("symbol", "ETHUSDT"), ("orderId", &id)],
            )
            .await
            .json();
        assert_eq!(
            (o["symbol"].as_str(), o["status"].as_str()),
            (Some("ETHUSDT"), Some("FILLED"))
        );
        sim.shutdown().await;
    }
}

// ---- documented parameters -------------------------------------------------

#[tokio::test]
async fn strict_mode_accepts_every_documented_parameter_of_the_endpoints_a_sync_uses() {
    let (sim, c) = start_with("minimal.json", StrictConfig::strict()).await;
    let now = c.server_time().await.to_string();
    let ok = |r: Resp| assert_eq!(r.status, 200, "{}", r.text);
    ok(c.signed(
        "GET",
        "/api/v3/account",
        &[("omitZeroBalances", "true"), ("recvWindow", "10000")],
    )
    .await);
    let order = c
        .signed_body(
            "POST",
            "/api/v3/order",
            &[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "LIMIT"),
                ("timeInForce", "GTC"),
                ("quantity", "0.001"),
                ("price", "50000"),
                ("newClientOrderId", "x-HNA2TXFJabc"),
                ("newOrderRespType", "RESULT"),
                ("recvWindow", "10000"),
            ],
        )
        .await;
    assert_eq!(order.status, 200, "{}", order.text);
    let id = order.json()["orderId"].as_u64().unwrap().to_string();
    ok(c.signed(
        "GET",
        "/api/v3/order",
        &[("symbol", "BTCUSDT"), ("orderId", &id)],
    )
    .await);
    ok(
        c.signed("GET", "/api/v3/openOrders", &[("symbol", "BTCUSDT")])
            .await,
    );
    ok(c.signed(
        "GET",
        "/api/v3/allOrders",
        &[("symbol", "BTCUSDT"), ("orderId", &id), ("limit", "1000")],
    )
    .await);
    ok(c.signed(
        "GET",
        "/api/v3/myTrades",
        &[
            ("symbol", "BTCUSDT"),
            ("startTime", &now),
            ("limit", "1000"),
        ],
    )
    .await);
    ok(c.signed(
        "DELETE",
        "/api/v3/order",
        &[
            ("symbol", "BTCUSDT"),
            ("orderId", &id),
            ("newClientOrderId", "c1"),
        ],
    )
    .await);
    ok(c.signed(
        "GET",
        "/sapi/v1/capital/deposit/hisrec",
        &[
            ("coin", "USDT"),
            ("status", "1"),
            ("offset", "0"),
            ("limit", "1000"),
        ],
    )
    .await);
    ok(c.signed(
        "GET",
        "/sapi/v1/capital/withdraw/history",
        &[("coin", "USDT"), ("offset", "0"), ("limit", "1000")],
    )
    .await);
    ok(c.get("/api/v3/exchangeInfo", &[("symbol", "BTCUSDT")])
        .await);
    ok(c.get("/api/v3/ticker/price", &[("symbol", "BTCUSDT")])
        .await);
    ok(c.get(
        "/api/v3/klines",
        &[("symbol", "BTCUSDT"), ("interval", "1h"), ("limit", "5")],
    )
    .await);
    sim.shutdown().await;
}

// ---- how to set the switches -------------------------------------------------

#[tokio::test]
async fn strict_switches_are_set_at_runtime_through_the_control_api() {
    let (sim, c) = start("minimal.json", 6000).await;
    let favourable = serde_json::to_value(StrictConfig::default()).unwrap();
    let strict = serde_json::to_value(StrictConfig::strict()).unwrap();
    assert_eq!(c.control_get("/__sim/strict").await, favourable);
    assert_eq!(
        c.control("/__sim/strict", json!({"preset": "strict"}))
            .await,
        strict
    );
    // Named switches change; the others keep their value.
    let v = c
        .control("/__sim/strict", json!({"withdraw_fee_in_amount": false}))
        .await;
    assert_eq!(v["withdraw_fee_in_amount"], false);
    assert_eq!(v["colliding_ids"], true);
    assert_eq!(c.control_get("/__sim/strict").await, v);
    // Unknown switches are refused.
    let r = c
        .http
        .post(format!("{}/__sim/strict", c.base))
        .json(&json!({"freeze": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("freeze"), "{body}");
    // Loading a scenario keeps the switches unless it sets its own.
    let text = std::fs::read_to_string(crate_dir().join("scenarios/minimal.json")).unwrap();
    let mut sc: Value = serde_json::from_str(&text).unwrap();
    c.control("/__sim/scenario", sc.clone()).await;
    assert_eq!(c.control_get("/__sim/strict").await, v);
    sc["strict"] = json!({"colliding_ids": true});
    c.control("/__sim/scenario", sc).await;
    let got = c.control_get("/__sim/strict").await;
    assert_eq!(
        got,
        serde_json::to_value(StrictConfig {
            colliding_ids: true,
            ..StrictConfig::default()
        })
        .unwrap()
    );
    // A switch set at runtime takes effect at once.
    c.control("/__sim/strict", json!({"freeze_update_time": true}))
        .await;
    assert!(!update_time_says_changed(&c).await);
    sim.shutdown().await;
}

#[tokio::test]
async fn binary_strict_flag_turns_every_switch_on() {
    let (mut child, url) = spawn_binary(&["--port", "0", "--strict"]);
    let got: Value = reqwest::get(format!("{url}/__sim/strict"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(got, serde_json::to_value(StrictConfig::strict()).unwrap());
}
