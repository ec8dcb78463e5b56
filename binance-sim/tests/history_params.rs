//! Documented parameter rules of the history endpoints.

mod common;
use common::*;

#[tokio::test]
async fn my_trades_rejects_from_id_with_start_time() {
    let (sim, c) = start("demo.json", 6000).await;
    let now = c.server_time().await.to_string();
    let r = c
        .signed(
            "GET",
            "/api/v3/myTrades",
            &[("symbol", "BTCUSDT"), ("fromId", "1"), ("startTime", &now)],
        )
        .await;
    assert_eq!((r.status, r.code()), (400, -1128));
    assert_eq!(r.msg(), "Combination of optional parameters invalid.");
    let r = c
        .signed(
            "GET",
            "/api/v3/myTrades",
            &[("symbol", "BTCUSDT"), ("orderId", "1"), ("startTime", &now)],
        )
        .await;
    assert_eq!(r.code(), -1128);
    sim.shutdown().await;
}

#[tokio::test]
async fn windows_longer_than_24_hours_are_minus_1127() {
    let (sim, c) = start("demo.json", 6000).await;
    let now = c.server_time().await;
    let (s, e) = (
        (now - 86_400_001 - 1000).to_string(),
        (now - 1000).to_string(),
    );
    for path in ["/api/v3/myTrades", "/api/v3/allOrders"] {
        let r = c
            .signed(
                "GET",
                path,
                &[("symbol", "ETHUSDT"), ("startTime", &s), ("endTime", &e)],
            )
            .await;
        assert_eq!((r.status, r.code()), (400, -1127), "{path}");
        assert_eq!(r.msg(), "More than 24 hours between startTime and endTime.");
    }
    let s = (now - 86_400_000 - 1000).to_string();
    let r = c
        .signed(
            "GET",
            "/api/v3/myTrades",
            &[("symbol", "ETHUSDT"), ("startTime", &s), ("endTime", &e)],
        )
        .await;
    assert_eq!(r.status, 200, "exactly 24 h is allowed: {}", r.text);
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_symbol_names_the_parameter_and_unknown_symbol_is_invalid() {
    let (sim, c) = start("demo.json", 6000).await;
    for path in ["/api/v3/myTrades", "/api/v3/allOrders", "/api/v3/order"] {
        let r = c.signed("GET", path, &[]).await;
        assert_eq!((r.status, r.code()), (400, -1102), "{path}");
        assert_eq!(
            r.msg(),
            "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
        );
    }
    let r = c
        .signed("GET", "/api/v3/myTrades", &[("symbol", "DOGEUSDT")])
        .await;
    assert_eq!(
        (r.status, r.code(), r.msg().as_str()),
        (400, -1121, "Invalid symbol.")
    );
    let r = c
        .get("/api/v3/exchangeInfo", &[("symbol", "DOGEUSDT")])
        .await;
    assert_eq!(r.code(), -1121);
    let r = c
        .signed("GET", "/api/v3/order", &[("symbol", "BTCUSDT")])
        .await;
    assert_eq!(r.code(), -1102);
    assert_eq!(
        r.msg(),
        "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn order_lookup_by_id_and_client_id_and_mismatch_is_minus_2039() {
    let (sim, c) = start("demo.json", 6000).await;
    let open = c
        .signed("GET", "/api/v3/openOrders", &[("symbol", "ETHUSDT")])
        .await
        .json();
    let o = &open[0];
    let id = o["orderId"].as_u64().unwrap().to_string();
    let cid = o["clientOrderId"].as_str().unwrap();
    assert!(cid.starts_with("bot-"));
    let r = c
        .signed(
            "GET",
            "/api/v3/order",
            &[("symbol", "ETHUSDT"), ("orderId", &id)],
        )
        .await;
    assert_eq!(r.json(), *o);
    let r = c
        .signed(
            "GET",
            "/api/v3/order",
            &[("symbol", "ETHUSDT"), ("origClientOrderId", cid)],
        )
        .await;
    assert_eq!(r.json(), *o);
    let r = c
        .signed(
            "GET",
            "/api/v3/order",
            &[
                ("symbol", "ETHUSDT"),
                ("orderId", &id),
                ("origClientOrderId", "other"),
            ],
        )
        .await;
    assert_eq!((r.status, r.code()), (400, -2039));
    assert_eq!(r.msg(), "Client order ID is not correct for this order ID.");
    let r = c
        .signed(
            "GET",
            "/api/v3/order",
            &[("symbol", "ETHUSDT"), ("orderId", "1")],
        )
        .await;
    assert_eq!(
        (r.code(), r.msg().as_str()),
        (-2013, "Order does not exist.")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn archived_zero_fill_canceled_order_gives_minus_2026_and_leaves_all_orders() {
    let (sim, c) = start("demo.json", 6000).await;
    let r = c
        .signed(
            "GET",
            "/api/v3/order",
            &[
                ("symbol", "BTCUSDT"),
                ("origClientOrderId", "bot-btcusdt-old01"),
            ],
        )
        .await;
    assert_eq!((r.status, r.code()), (400, -2026));
    assert_eq!(r.msg(), "Order was canceled or expired with no executed qty over 90 days ago and has been archived.");
    let all = c
        .signed(
            "GET",
            "/api/v3/allOrders",
            &[("symbol", "BTCUSDT"), ("limit", "1000")],
        )
        .await
        .json();
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["clientOrderId"] != "bot-btcusdt-old01"));
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|o| o["clientOrderId"] == "bot-btcusdt-cxl01"),
        "recent cancel still listed"
    );
    // A recent cancel archives once 90 days pass on the server clock.
    c.control(
        "/__sim/clock",
        serde_json::json!({"advance_ms": 91i64 * 86_400_000}),
    )
    .await;
    let r = c
        .signed(
            "GET",
            "/api/v3/order",
            &[
                ("symbol", "BTCUSDT"),
                ("origClientOrderId", "bot-btcusdt-cxl01"),
            ],
        )
        .await;
    assert_eq!(r.code(), -2026);
    sim.shutdown().await;
}

#[tokio::test]
async fn my_trades_pages_by_from_id_with_limit() {
    let (sim, c) = start("demo.json", 6000).await;
    let all = c
        .signed("GET", "/api/v3/myTrades", &[("symbol", "SOLUSDT")])
        .await
        .json();
    let all = all.as_array().unwrap().clone();
    assert_eq!(all.len(), 32);
    let ids: Vec<u64> = all.iter().map(|t| t["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ascending ids");
    let mut got = Vec::new();
    let mut from = ids[0];
    loop {
        let f = from.to_string();
        let page = c
            .signed(
                "GET",
                "/api/v3/myTrades",
                &[("symbol", "SOLUSDT"), ("fromId", &f), ("limit", "10")],
            )
            .await
            .json();
        let page = page.as_array().unwrap().clone();
        assert!(page.len() <= 10);
        got.extend(page.iter().map(|t| t["id"].as_u64().unwrap()));
        if page.len() < 10 {
            break;
        }
        from = page.last().unwrap()["id"].as_u64().unwrap() + 1;
    }
    assert_eq!(got, ids);
    // Without fromId: the most recent `limit`.
    let recent = c
        .signed(
            "GET",
            "/api/v3/myTrades",
            &[("symbol", "SOLUSDT"), ("limit", "3")],
        )
        .await
        .json();
    let recent: Vec<u64> = recent
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(recent, ids[ids.len() - 3..].to_vec());
    // fromId is ">=".
    let f = ids[5].to_string();
    let p = c
        .signed(
            "GET",
            "/api/v3/myTrades",
            &[("symbol", "SOLUSDT"), ("fromId", &f), ("limit", "1")],
        )
        .await
        .json();
    assert_eq!(p[0]["id"].as_u64().unwrap(), ids[5]);
    sim.shutdown().await;
}

#[tokio::test]
async fn all_orders_pages_by_order_id_with_limit() {
    let (sim, c) = start("demo.json", 6000).await;
    let all = c
        .signed("GET", "/api/v3/allOrders", &[("symbol", "SOLUSDT")])
        .await
        .json();
    let ids: Vec<u64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["orderId"].as_u64().unwrap())
        .collect();
    assert!(ids.len() > 5);
    let from = ids[2].to_string();
    let page = c
        .signed(
            "GET",
            "/api/v3/allOrders",
            &[("symbol", "SOLUSDT"), ("orderId", &from), ("limit", "2")],
        )
        .await
        .json();
    let got: Vec<u64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["orderId"].as_u64().unwrap())
        .collect();
    assert_eq!(got, ids[2..4].to_vec());
    sim.shutdown().await;
}

#[tokio::test]
async fn my_trades_by_order_id_returns_that_orders_partial_fills() {
    let (sim, c) = start("demo.json", 6000).await;
    align_minute(&c).await;
    let all = c
        .signed("GET", "/api/v3/myTrades", &[("symbol", "BTCUSDT")])
        .await
        .json();
    let all = all.as_array().unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for t in all {
        *counts.entry(t["orderId"].as_u64().unwrap()).or_insert(0) += 1;
    }
    let (oid, n) = counts
        .iter()
        .find(|(_, n)| **n > 1)
        .expect("a partially filled order");
    let r = c
        .signed(
            "GET",
            "/api/v3/myTrades",
            &[("symbol", "BTCUSDT"), ("orderId", &oid.to_string())],
        )
        .await;
    assert_eq!(
        r.weight(),
        5 + 20,
        "weight 5 with orderId (after the 20 above)"
    );
    assert_eq!(r.json().as_array().unwrap().len(), *n);
    sim.shutdown().await;
}

#[tokio::test]
async fn responses_have_the_official_field_names() {
    let (sim, c) = start("demo.json", 6000).await;
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let official = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(shared_binance_dir().join(name)).unwrap())
            .unwrap()
    };
    let acct = c.signed("GET", "/api/v3/account", &[]).await.json();
    assert_eq!(keys(&acct), keys(&official("account.json")));
    let t = c
        .signed(
            "GET",
            "/api/v3/myTrades",
            &[("symbol", "BTCUSDT"), ("limit", "1")],
        )
        .await
        .json();
    assert_eq!(keys(&t[0]), keys(&official("myTrades.json")[0]));
    let o = c.signed("GET", "/api/v3/openOrders", &[]).await.json();
    assert_eq!(keys(&o[0]), keys(&official("openOrders.json")[0]));
    let a = c
        .signed("GET", "/api/v3/allOrders", &[("symbol", "ETHUSDT")])
        .await
        .json();
    assert_eq!(keys(&a[0]), keys(&official("allOrders.json")[0]));
    let d = c
        .signed("GET", "/sapi/v1/capital/deposit/hisrec", &[])
        .await
        .json();
    assert_eq!(keys(&d[0]), keys(&official("deposit-hisrec.json")[0]));
    let w = c
        .signed("GET", "/sapi/v1/capital/withdraw/history", &[])
        .await
        .json();
    assert_eq!(keys(&w[0]), keys(&official("withdraw-history.json")[0]));
    assert!(
        w[0]["applyTime"].as_str().unwrap().len() == 19,
        "UTC string time"
    );
    let t = c.get("/api/v3/time", &[]).await.json();
    assert_eq!(keys(&t), keys(&official("time.json")));
    let info = c
        .get("/api/v3/exchangeInfo", &[("symbol", "BTCUSDT")])
        .await
        .json();
    let excerpt = official("exchangeInfo-excerpt.json");
    assert_eq!(keys(&info["symbols"][0]), keys(&excerpt["symbols"][0]));
    let mut top = keys(&excerpt);
    top.retain(|k| k != "sors"); // optional, only for SOR symbols
    assert_eq!(keys(&info), top);
    let lot = &info["symbols"][0]["filters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["filterType"] == "LOT_SIZE")
        .unwrap()
        .clone();
    let official_lot = excerpt["symbols"][0]["filters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["filterType"] == "LOT_SIZE")
        .unwrap()
        .clone();
    assert_eq!(keys(lot), keys(&official_lot));
    let order = c
        .signed(
            "GET",
            "/api/v3/order",
            &[
                ("symbol", "ETHUSDT"),
                ("origClientOrderId", "bot-ethusdt-dca-0042"),
            ],
        )
        .await
        .json();
    assert_eq!(keys(&order), keys(&official("order.json")));
    sim.shutdown().await;
}

/// Keys of the outermost object (first object of an array) in text order.
fn top_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let (mut depth, mut in_str, mut esc) = (0, false, false);
    let mut cur = String::new();
    let target = if text.trim_start().starts_with('[') {
        2
    } else {
        1
    };
    let chars: Vec<char> = text.chars().collect();
    for (i, &ch) in chars.iter().enumerate() {
        if in_str {
            if esc {
                esc = false;
            } else if ch == '\\' {
                esc = true;
            } else if ch == '"' {
                in_str = false;
                let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                if depth == target && next == Some(&':') {
                    keys.push(cur.clone());
                }
            } else {
                cur.push(ch);
            }
            continue;
        }
        match ch {
            '"' => {
                in_str = true;
                cur.clear();
            }
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth -= 1;
                if depth < target && !keys.is_empty() {
                    return keys;
                }
            }
            _ => {}
        }
    }
    keys
}

#[tokio::test]
async fn responses_keep_the_official_field_order() {
    let (sim, c) = start("demo.json", 6000).await;
    let official = |name: &str| std::fs::read_to_string(shared_binance_dir().join(name)).unwrap();
    let order = c
        .signed(
            "GET",
            "/api/v3/order",
            &[
                ("symbol", "ETHUSDT"),
                ("origClientOrderId", "bot-ethusdt-dca-0042"),
            ],
        )
        .await;
    assert_eq!(top_keys(&order.text), top_keys(&official("order.json")));
    let acct = c.signed("GET", "/api/v3/account", &[]).await;
    assert_eq!(top_keys(&acct.text), top_keys(&official("account.json")));
    let t = c
        .signed(
            "GET",
            "/api/v3/myTrades",
            &[("symbol", "BTCUSDT"), ("limit", "1")],
        )
        .await;
    assert_eq!(top_keys(&t.text), top_keys(&official("myTrades.json")));
    let d = c
        .signed("GET", "/sapi/v1/capital/deposit/hisrec", &[])
        .await;
    assert_eq!(
        top_keys(&d.text),
        top_keys(&official("deposit-hisrec.json"))
    );
    let w = c
        .signed("GET", "/sapi/v1/capital/withdraw/history", &[])
        .await;
    assert_eq!(
        top_keys(&w.text),
        top_keys(&official("withdraw-history.json"))
    );
    assert_eq!(top_keys(&order.text)[0], "symbol");
    sim.shutdown().await;
}
