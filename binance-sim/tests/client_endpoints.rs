//! The endpoints third-party clients call beyond the sync's own:
//! `GET /api/v3/account/commission`, and what ccxt's `load_markets` asks a
//! Spot-only account (all coins, margin pairs, the futures hosts'
//! exchangeInfo).

mod common;
use common::*;
use serde_json::json;

/// The docs' field order, read from the raw text (serde_json's map sorts).
fn in_order(text: &str, fields: &[&str]) -> bool {
    let at: Vec<usize> = fields
        .iter()
        .map(|f| text.find(&format!("\"{f}\":")).unwrap_or(usize::MAX))
        .collect();
    at.windows(2).all(|w| w[0] < w[1]) && !at.contains(&usize::MAX)
}

#[tokio::test]
async fn account_commission_gives_the_scenario_rates_and_the_bnb_discount() {
    let (sim, c) = start("demo.json", 6000).await;
    align_minute(&c).await;
    let r = c
        .signed(
            "GET",
            "/api/v3/account/commission",
            &[("symbol", "BTCUSDT")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.weight(), 20);
    let v = r.json();
    assert!(
        in_order(
            &r.text,
            &[
                "symbol",
                "standardCommission",
                "specialCommission",
                "taxCommission",
                "discount"
            ]
        ),
        "{}",
        r.text
    );
    let rates = |m: &str, t: &str| json!({"maker": m, "taker": t, "buyer": "0.00000000", "seller": "0.00000000"});
    assert_eq!(v["symbol"], "BTCUSDT");
    assert_eq!(v["standardCommission"], rates("0.00100000", "0.00100000"));
    assert_eq!(v["specialCommission"], rates("0.00000000", "0.00000000"));
    assert_eq!(v["taxCommission"], rates("0.00000000", "0.00000000"));
    // demo.json pays fees in BNB with a 25 % discount: commission × 0.75.
    assert_eq!(
        v["discount"],
        json!({"enabledForAccount": true, "enabledForSymbol": true,
               "discountAsset": "BNB", "discount": "0.75000000"})
    );
    // symbol is mandatory; an unknown one is -1121; it is SIGNED.
    let r = c.signed("GET", "/api/v3/account/commission", &[]).await;
    assert_eq!(r.code(), -1102);
    let r = c
        .signed("GET", "/api/v3/account/commission", &[("symbol", "NOPE")])
        .await;
    assert_eq!(r.code(), -1121);
    let r = c
        .get("/api/v3/account/commission", &[("symbol", "BTCUSDT")])
        .await;
    assert_eq!((r.status, r.code()), (401, -2014));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_spot_only_account_has_no_margin_pairs_and_no_futures_contracts() {
    let (sim, c) = start("minimal.json", 6000).await;
    align_minute(&c).await;
    // Cross margin pairs: MARKET_DATA, an API key and no signature; weight 1
    // in its own SAPI IP pool.
    let r = c
        .raw("GET", "/sapi/v1/margin/allPairs", "", Some("test-key"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!([]));
    assert_eq!(r.header("x-sapi-used-ip-weight-1m").as_deref(), Some("1"));
    let r = c.raw("GET", "/sapi/v1/margin/allPairs", "", None).await;
    assert_eq!((r.status, r.code()), (401, -2014));
    // A signed call (as ccxt makes it) is answered too.
    let r = c.signed("GET", "/sapi/v1/margin/allPairs", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Isolated margin pairs: SIGNED, weight 10.
    let r = c
        .signed("GET", "/sapi/v1/margin/isolated/allPairs", &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!([]));
    assert_eq!(r.header("x-sapi-used-ip-weight-1m").as_deref(), Some("10"));
    let r = c
        .raw(
            "GET",
            "/sapi/v1/margin/isolated/allPairs",
            "",
            Some("test-key"),
        )
        .await;
    assert_eq!(r.code(), -1102, "{}", r.text);
    // USD-M and COIN-M exchangeInfo: public, weight 1 on their own hosts'
    // pools, no contracts.
    for (path, futures_type) in [
        ("/fapi/v1/exchangeInfo", Some("U_MARGINED")),
        ("/dapi/v1/exchangeInfo", None),
    ] {
        let r = c.get(path, &[]).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.weight(), 1, "{path}");
        let v = r.json();
        assert_eq!(v["symbols"], json!([]), "{path}");
        assert_eq!(v["timezone"], "UTC");
        assert_eq!(v["rateLimits"][0]["rateLimitType"], "REQUEST_WEIGHT");
        assert_eq!(v["futuresType"].as_str(), futures_type, "{path}");
    }
    // None of it touched the /api weight.
    let r = c.get("/api/v3/ping", &[]).await;
    assert_eq!(r.weight(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn all_coins_lists_every_asset_with_its_balance() {
    let (sim, c) = start("demo.json", 6000).await;
    let r = c.signed("GET", "/sapi/v1/capital/config/getall", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-sapi-used-ip-weight-1m").as_deref(), Some("10"));
    let coins = r.json();
    let usdt = coins
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["coin"] == "USDT")
        .expect("USDT listed");
    assert_eq!(usdt["free"], "23503.31800312");
    assert_eq!(usdt["locked"], "1550.00000000");
    assert_eq!(usdt["networkList"][0]["coin"], "USDT");
    assert_eq!(usdt["networkList"][0]["isDefault"], true);
    for asset in ["BTC", "ETH", "SOL", "BNB"] {
        assert!(
            coins.as_array().unwrap().iter().any(|c| c["coin"] == asset),
            "{asset}"
        );
    }
    sim.shutdown().await;
}
