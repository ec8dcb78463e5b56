//! The demo scenario loads and says what the README promises.

mod common;
use common::*;
use std::collections::BTreeMap;

#[tokio::test]
async fn demo_scenario_has_the_promised_contents() {
    let (sim, c) = start("demo.json", 6000).await;
    let mut fills = BTreeMap::new();
    for s in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] {
        let t = c
            .signed(
                "GET",
                "/api/v3/myTrades",
                &[("symbol", s), ("limit", "1000")],
            )
            .await
            .json();
        let t = t.as_array().unwrap().clone();
        let now = c.server_time().await;
        assert!(
            t.iter()
                .all(|x| now - x["time"].as_i64().unwrap() < 5 * 86_400_000 + 60_000),
            "within ~5 days"
        );
        fills.insert(s, t);
    }
    let total: usize = fills.values().map(Vec::len).sum();
    assert_eq!(total, 60);
    let assets: std::collections::BTreeSet<String> = fills
        .values()
        .flatten()
        .map(|t| t["commissionAsset"].as_str().unwrap().to_string())
        .collect();
    assert!(
        assets.contains("BNB") && assets.contains("USDT"),
        "{assets:?}"
    );
    let open = c.signed("GET", "/api/v3/openOrders", &[]).await.json();
    let cids: Vec<&str> = open
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["clientOrderId"].as_str().unwrap())
        .collect();
    assert_eq!(cids.len(), 2);
    assert!(cids.iter().any(|c| c.starts_with("bot-")));
    assert!(cids.iter().any(|c| c.starts_with("web_")));
    let r = c
        .signed("GET", "/sapi/v1/account/apiRestrictions", &[])
        .await
        .json();
    assert_eq!(r["ipRestrict"], false);
    assert_eq!(r["enableWithdrawals"], true);
    let d = c
        .signed("GET", "/sapi/v1/capital/deposit/hisrec", &[])
        .await
        .json();
    let w = c
        .signed("GET", "/sapi/v1/capital/withdraw/history", &[])
        .await
        .json();
    assert_eq!(
        (d.as_array().unwrap().len(), w.as_array().unwrap().len()),
        (1, 1)
    );
    let info = c
        .get(
            "/api/v3/exchangeInfo",
            &[("symbols", "[\"BTCUSDT\",\"BNBUSDT\"]")],
        )
        .await
        .json();
    assert_eq!(info["symbols"].as_array().unwrap().len(), 2);
    assert_eq!(info["symbols"][0]["filters"][1]["stepSize"], "0.00001000");
    // Balances: ETH locked by the bot order, SOL by the manual one.
    assert_eq!(c.balance("USDT").await.1, "1550.00000000");
    assert_eq!(c.balance("SOL").await.1, "5.00000000");
    let omit = c
        .signed("GET", "/api/v3/account", &[("omitZeroBalances", "true")])
        .await
        .json();
    assert!(omit["balances"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["free"] != "0.00000000" || b["locked"] != "0.00000000"));
    sim.shutdown().await;
}

#[tokio::test]
async fn dust_variant_leaves_sol_below_the_step_size() {
    let (sim, c) = start("demo-dust.json", 6000).await;
    let (free, locked) = c.balance("SOL").await;
    assert_eq!(locked, "0.00000000");
    let free: f64 = free.parse().unwrap();
    assert!(free > 0.0 && free < 0.001, "dust: {free}");
    sim.shutdown().await;
}
