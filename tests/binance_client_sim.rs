//! The Binance adapter against the project's simulator (`binance-sim`, 127.0.0.1:0).
//!
//! Waits (backoff, Retry-After) go through the client's `sleep` hook; where a test needs
//! time to pass, the hook advances the simulator's clock (and the client's local clock by
//! the same amount) instead of sleeping, so nothing depends on wall-clock timing.

use binance_account_sync::domain::{
    Asset, Fill, FlowKind, FlowLeg, FlowStatus, LegRole, OrderLookup, OrderStatus, Symbol, Wallet,
};
use binance_account_sync::exchange::binance::{BinanceClient, BinanceConfig, ClockFn, SleepFn};
use binance_account_sync::exchange::credentials::{
    CredentialError, CredentialSource, Credentials, StaticCredentials,
};
use binance_account_sync::exchange::{Exchange, ExchangeError, FillsFrom};
use binance_sim::{RunningSim, Scenario, SimConfig};
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "test-key";
const SECRET: &str = "test-secret";
const DAY: i64 = 86_400_000;

fn base_scenario() -> Value {
    json!({
        "api_keys": [{ "key": KEY, "secret": SECRET }],
        "symbols": [{
            "symbol": "BTCUSDT", "base": "BTC", "quote": "USDT", "price": "60000.00",
            "filters": {
                "LOT_SIZE": { "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001" },
                "NOTIONAL": { "minNotional": "5.00" }
            }
        }, {
            "symbol": "ETHUSDT", "base": "ETH", "quote": "USDT", "price": "3000.50"
        }],
        "balances": [{ "asset": "USDT", "free": "10000.00" }, { "asset": "BTC", "free": "0.5" }]
    })
}

/// The simulator in strict mode (Binance's silences answered unfavourably) with `config`'s
/// limits.
async fn start(scenario: Value, config: SimConfig) -> RunningSim {
    let scenario = Scenario::from_json_str(&scenario.to_string()).unwrap();
    binance_sim::spawn(SimConfig {
        scenario: Some(scenario),
        strict: binance_sim::StrictConfig::strict(),
        ..config
    })
    .await
    .unwrap()
}

async fn sim(scenario: Value) -> RunningSim {
    start(scenario, SimConfig::default()).await
}

fn creds() -> StaticCredentials {
    StaticCredentials(Credentials::new(KEY, SECRET))
}

fn config(sim: &RunningSim) -> BinanceConfig {
    BinanceConfig {
        base_url: url::Url::parse(&sim.base_url()).unwrap(),
        base_backoff: Duration::from_millis(1),
        request_timeout: Duration::from_secs(5),
        ..BinanceConfig::default()
    }
}

fn client<C: CredentialSource>(config: BinanceConfig, c: C) -> BinanceClient<C> {
    BinanceClient::new(config, c, reqwest::Client::new()).unwrap()
}

async fn control(sim: &RunningSim, method: reqwest::Method, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .request(method, format!("{}/__sim{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "control {path}: {}", r.status());
    r.json().await.unwrap()
}

async fn post(sim: &RunningSim, path: &str, body: Value) -> Value {
    control(sim, reqwest::Method::POST, path, body).await
}

async fn counters(sim: &RunningSim) -> Value {
    reqwest::get(format!("{}/__sim/counters", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn requests_to(sim: &RunningSim, path: &str) -> u64 {
    counters(sim).await["by_path"][path]["requests"]
        .as_u64()
        .unwrap_or(0)
}

async fn total_requests(sim: &RunningSim) -> u64 {
    let c = counters(sim).await;
    c["by_path"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v["requests"].as_u64().unwrap())
        .sum()
}

/// Injects a fault by its documented name (`http_500`). The sim at the time of writing
/// spells the digit kinds `http500`/`http503` (serde snake_case does not split digits), so
/// fall back to that spelling if the documented one is refused.
async fn fault(sim: &RunningSim, path: &str, kind: &str, count: u64) {
    let url = format!("{}/__sim/faults", sim.base_url());
    for name in [kind.to_owned(), kind.replace("http_", "http")] {
        let r = reqwest::Client::new()
            .post(&url)
            .json(&json!({"path": path, "kind": name, "count": count}))
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            return;
        }
    }
    panic!("the sim refused fault kind {kind}");
}

/// Moves the sim's clock to just after a minute boundary, so the weight window the test
/// fills cannot roll over by itself while the test runs.
async fn align_to_weight_window_start(sim: &RunningSim) {
    let now = post(sim, "/clock", json!({"advance_ms": 0})).await["server_time"]
        .as_i64()
        .unwrap();
    let to_next = 60_000 - now.rem_euclid(60_000);
    post(sim, "/clock", json!({"advance_ms": to_next + 10})).await;
}

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

/// Virtual time: the client's clock is real time + `shift`; its sleeps record the wait,
/// advance the simulator's clock and `shift` by it, and return at once.
struct VirtualTime {
    shift: Arc<AtomicI64>,
    waits: Arc<Mutex<Vec<Duration>>>,
}

impl VirtualTime {
    fn install(sim: &RunningSim, cfg: &mut BinanceConfig, advance_sim: bool) -> VirtualTime {
        let shift = Arc::new(AtomicI64::new(0));
        let waits = Arc::new(Mutex::new(Vec::new()));
        let real = binance_account_sync::exchange::binance::system_clock();
        let s2 = shift.clone();
        let clock: ClockFn = Arc::new(move || real() + s2.load(Ordering::SeqCst));
        let (s3, w3, url) = (
            shift.clone(),
            waits.clone(),
            format!("{}/__sim/clock", sim.base_url()),
        );
        let sleep: SleepFn = Arc::new(move |d: Duration| {
            let (s3, w3, url) = (s3.clone(), w3.clone(), url.clone());
            Box::pin(async move {
                w3.lock().unwrap().push(d);
                if advance_sim {
                    let ms = d.as_millis() as i64;
                    let r = reqwest::Client::new()
                        .post(&url)
                        .json(&json!({"advance_ms": ms}))
                        .send()
                        .await;
                    assert!(r.unwrap().status().is_success());
                    s3.fetch_add(ms, Ordering::SeqCst);
                }
            })
        });
        cfg.clock = clock;
        cfg.sleep = sleep;
        VirtualTime { shift, waits }
    }
    fn waits(&self) -> Vec<Duration> {
        self.waits.lock().unwrap().clone()
    }
}

// ---- clock ------------------------------------------------------------------------------

async fn skew_is_recovered(skew_ms: i64) {
    let sim = sim(base_scenario()).await;
    let mut cfg = config(&sim);
    cfg.recv_window_ms = 1000;
    let c = client(cfg, creds());
    c.account().await.unwrap();
    assert_eq!(requests_to(&sim, "/api/v3/time").await, 1);
    let offset_before = c.clock_offset_ms().unwrap();

    post(&sim, "/clock", json!({"skew_ms": skew_ms})).await;
    let a = c.account().await.unwrap();
    assert!(!a.balances.is_empty());
    // -1021 once, then one re-measure and one retry.
    assert_eq!(requests_to(&sim, "/api/v3/time").await, 2);
    assert_eq!(requests_to(&sim, "/api/v3/account").await, 3);
    let moved = c.clock_offset_ms().unwrap() - offset_before;
    assert!(
        (moved - skew_ms).abs() < 1000,
        "offset moved by {moved}, skew {skew_ms}"
    );
    assert_eq!(c.usage().retries, 1);
}

#[tokio::test]
async fn clock_skew_plus_5s_is_recovered_by_remeasuring_once() {
    skew_is_recovered(5_000).await;
}

#[tokio::test]
async fn clock_skew_minus_70s_is_recovered_by_remeasuring_once() {
    skew_is_recovered(-70_000).await;
}

// ---- rate limits ------------------------------------------------------------------------

#[tokio::test]
async fn http_429_waits_retry_after_then_succeeds() {
    let sim = start(
        base_scenario(),
        SimConfig {
            weight_limit_per_minute: 30,
            ..SimConfig::default()
        },
    )
    .await;
    align_to_weight_window_start(&sim).await;
    let mut cfg = config(&sim);
    // The sim's Retry-After is the time to its minute window's end (up to 60 s); waits are virtual.
    cfg.max_429_wait = Duration::from_secs(60);
    let vt = VirtualTime::install(&sim, &mut cfg, true);
    let c = client(cfg, creds());
    c.account().await.unwrap(); // time 1 + account 20 = 21 of 30
    c.account().await.unwrap(); // +20 > 30 → 429; wait Retry-After (window rolls); retry
    let waits = vt.waits();
    assert_eq!(waits.len(), 1, "one Retry-After wait: {waits:?}");
    assert!(
        waits[0] >= Duration::from_secs(1) && waits[0] <= Duration::from_secs(60),
        "{waits:?}"
    );
    assert_eq!(waits[0].subsec_nanos(), 0, "Retry-After is whole seconds");
    assert_eq!(requests_to(&sim, "/api/v3/account").await, 3);
    let u = c.usage();
    assert_eq!(u.retries, 1);
    assert_eq!(u.weight, 61);
    assert!(vt.shift.load(Ordering::SeqCst) > 0);
    assert!(u.last_used_weight_1m.is_some());
}

#[tokio::test]
async fn http_429_with_retry_after_beyond_max_wait_is_rate_limited() {
    let sim = start(
        base_scenario(),
        SimConfig {
            weight_limit_per_minute: 30,
            ..SimConfig::default()
        },
    )
    .await;
    align_to_weight_window_start(&sim).await;
    let mut cfg = config(&sim);
    cfg.max_429_wait = Duration::from_millis(500);
    let vt = VirtualTime::install(&sim, &mut cfg, false);
    let c = client(cfg, creds());
    c.account().await.unwrap();
    match c.account().await {
        Err(ExchangeError::RateLimited {
            retry_after_s: Some(s),
        }) => assert!(s >= 1),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(vt.waits().is_empty());
}

#[tokio::test]
async fn http_418_stops_the_client_and_no_further_request_is_sent() {
    let sim = start(
        base_scenario(),
        SimConfig {
            weight_limit_per_minute: 30,
            ban_after_429s: 0,
            ..SimConfig::default()
        },
    )
    .await;
    align_to_weight_window_start(&sim).await;
    let mut cfg = config(&sim);
    cfg.max_429_wait = Duration::from_secs(60);
    // Waits return at once without moving time: the retry lands in the same window.
    let _vt = VirtualTime::install(&sim, &mut cfg, false);
    let c = client(cfg, creds());
    c.account().await.unwrap();
    match c.account().await {
        Err(ExchangeError::Banned { retry_after_s }) => assert!(retry_after_s.unwrap_or(0) >= 60),
        other => panic!("expected Banned, got {other:?}"),
    }
    let sent = total_requests(&sim).await;
    for _ in 0..3 {
        assert!(matches!(
            c.open_orders().await,
            Err(ExchangeError::Banned { .. })
        ));
        assert!(matches!(
            c.symbols(&[]).await,
            Err(ExchangeError::Banned { .. })
        ));
    }
    assert_eq!(
        total_requests(&sim).await,
        sent,
        "a banned client sends nothing"
    );
}

// ---- retries ----------------------------------------------------------------------------

#[tokio::test]
async fn injected_500_and_503_are_retried_then_succeed() {
    let sim = sim(base_scenario()).await;
    let c = client(config(&sim), creds());
    fault(&sim, "/api/v3/account", "http_500", 2).await;
    fault(&sim, "/api/v3/account", "http_503", 1).await;
    let a = c.account().await.unwrap();
    assert_eq!(a.balances.len(), 2);
    assert_eq!(requests_to(&sim, "/api/v3/account").await, 4);
    assert_eq!(c.usage().retries, 3);
}

#[tokio::test]
async fn truncated_and_malformed_json_and_dropped_connection_are_retried() {
    let sim = sim(base_scenario()).await;
    let c = client(config(&sim), creds());
    fault(&sim, "/api/v3/exchangeInfo", "truncated_json", 1).await;
    fault(&sim, "/api/v3/exchangeInfo", "malformed_json", 1).await;
    fault(&sim, "/api/v3/exchangeInfo", "drop_connection", 1).await;
    let s = c.symbols(&[sym("BTCUSDT")]).await.unwrap();
    assert_eq!(s[&sym("BTCUSDT")].min_notional, dec!(5));
    assert_eq!(requests_to(&sim, "/api/v3/exchangeInfo").await, 4);
    assert_eq!(c.usage().retries, 3);
}

#[tokio::test]
async fn persistent_5xx_becomes_unavailable_after_max_retries() {
    let sim = sim(base_scenario()).await;
    let mut cfg = config(&sim);
    cfg.max_retries = 2;
    let c = client(cfg, creds());
    fault(&sim, "/api/v3/ticker/price", "http_500", 50).await;
    match c.prices(&[sym("BTCUSDT")]).await {
        Err(ExchangeError::Unavailable { attempts, .. }) => assert_eq!(attempts, 3),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(requests_to(&sim, "/api/v3/ticker/price").await, 3);
}

#[tokio::test]
async fn bad_symbol_1121_is_surfaced_as_api_error_with_code_and_msg_and_not_retried() {
    let sim = sim(base_scenario()).await;
    let c = client(config(&sim), creds());
    match c.order(&sym("NOPEUSDT"), 1).await {
        Err(ExchangeError::Api { status, code, msg }) => {
            assert_eq!(
                (status, code, msg.as_str()),
                (400, -1121, "Invalid symbol.")
            );
        }
        other => panic!("expected Api -1121, got {other:?}"),
    }
    assert_eq!(requests_to(&sim, "/api/v3/order").await, 1);
    assert_eq!(c.usage().retries, 0);
}

/// The sim cannot be made to answer -1102 to a well-formed client request, so a one-shot
/// canned HTTP server answers it (the behaviour under test is the client's, not the sim's).
#[tokio::test]
async fn mandatory_param_1102_is_surfaced_as_api_error_and_not_retried() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicU32::new(0));
    let h2 = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            h2.fetch_add(1, Ordering::SeqCst);
            let mut buf = vec![0u8; 8192];
            let _ = sock.read(&mut buf).await;
            let body = r#"{"code":-1102,"msg":"Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."}"#;
            let resp = format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    let cfg = BinanceConfig {
        base_url: url::Url::parse(&format!("http://{addr}")).unwrap(),
        base_backoff: Duration::from_millis(1),
        ..BinanceConfig::default()
    };
    let c = client(cfg, creds());
    match c.prices(&[sym("BTCUSDT")]).await {
        Err(ExchangeError::Api { status, code, msg }) => {
            assert_eq!((status, code), (400, -1102));
            assert_eq!(
                msg,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
            );
        }
        other => panic!("expected Api -1102, got {other:?}"),
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

// ---- symbols, prices, wallet ------------------------------------------------------------

#[tokio::test]
async fn symbols_drop_unknown_ones_and_are_cached() {
    let sim = sim(base_scenario()).await;
    let c = client(config(&sim), creds());
    let got = c
        .symbols(&[sym("BTCUSDT"), sym("NOPEUSDT"), sym("ETHUSDT")])
        .await
        .unwrap();
    assert_eq!(
        got.keys().cloned().collect::<Vec<_>>(),
        vec![sym("BTCUSDT"), sym("ETHUSDT")]
    );
    let btc = &got[&sym("BTCUSDT")];
    assert_eq!(
        (btc.min_qty, btc.step_size, btc.min_notional),
        (dec!(0.00001), dec!(0.00001), dec!(5))
    );
    let calls = requests_to(&sim, "/api/v3/exchangeInfo").await;
    // one list call (-1121) + one per symbol
    assert_eq!(calls, 4);
    let lone = c.symbols(&[sym("ZZZUSDT")]).await.unwrap();
    assert!(lone.is_empty());
    assert_eq!(
        requests_to(&sim, "/api/v3/exchangeInfo").await,
        calls + 1,
        "one call for a lone unknown symbol"
    );
    let calls = calls + 1;
    let again = c
        .symbols(&[sym("BTCUSDT"), sym("NOPEUSDT"), sym("ZZZUSDT")])
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        requests_to(&sim, "/api/v3/exchangeInfo").await,
        calls,
        "served from the cache"
    );
}

#[tokio::test]
async fn every_read_endpoint_works_against_the_sim() {
    let mut scn = base_scenario();
    scn["deposits"] = json!([{ "coin": "USDT", "amount": "100.5", "insertTime": "-2d" },
                             { "coin": "BTC", "amount": "0.1", "insertTime": "-200d" }]);
    scn["withdrawals"] =
        json!([{ "coin": "USDT", "amount": "10", "transactionFee": "1", "applyTime": "-1d" }]);
    let sim = sim(scn).await;
    let c = client(config(&sim), creds());
    let now = binance_account_sync::exchange::binance::system_clock()();

    let prices = c.prices(&[sym("BTCUSDT"), sym("ETHUSDT")]).await.unwrap();
    assert_eq!(prices[&sym("ETHUSDT")], dec!(3000.5));
    let prices = c.prices(&[sym("BTCUSDT"), sym("NOPEUSDT")]).await.unwrap();
    assert_eq!(prices.len(), 1);
    let minute = binance_account_sync::domain::minute_start(now - 1000);
    let closes = c
        .minute_closes(&sym("BTCUSDT"), minute - 120_000, minute)
        .await
        .unwrap();
    assert_eq!(closes.get(&minute), Some(&dec!(60000)));
    assert!(closes
        .keys()
        .all(|m| (minute - 120_000..=minute).contains(m)));
    assert!(c
        .minute_closes(&sym("NOPEUSDT"), minute, minute)
        .await
        .unwrap()
        .is_empty());

    let since = now - 300 * DAY;
    let deps = c.flows(FlowKind::Deposit, since).await.unwrap();
    assert_eq!(deps.len(), 2);
    assert!(deps.iter().all(|d| d.status == FlowStatus::Done));
    let recent = c.flows(FlowKind::Deposit, now - 10 * DAY).await.unwrap();
    assert_eq!(recent.len(), 1);
    let spot = |amount, role| FlowLeg {
        asset: Asset::parse("USDT").unwrap(),
        wallet: Wallet::Spot,
        amount,
        role,
    };
    assert_eq!(recent[0].legs, vec![spot(dec!(100.5), LegRole::Principal)]);
    let wds = c.flows(FlowKind::Withdrawal, now - 10 * DAY).await.unwrap();
    assert_eq!(wds.len(), 1);
    assert_eq!(
        (&wds[0].legs, wds[0].status),
        (
            &vec![
                spot(dec!(-10), LegRole::Principal),
                spot(dec!(-1), LegRole::Fee)
            ],
            FlowStatus::Done
        )
    );
    assert!((wds[0].time - (now - DAY)).abs() < 5_000);

    let r = c.api_restrictions().await.unwrap();
    assert!(r.enable_reading);
    assert!(c.open_orders().await.unwrap().is_empty());
    // SAPI weights live in their own pools and are not in the /api budget.
    let u = c.usage();
    // Prices (4, 4 and the all-symbols fallback 4), two klines (2 each, the unknown
    // symbol's `-1121` counted too), the server time (1), open orders (80).
    assert_eq!(u.weight, 4 + 4 + 4 + 2 + 2 + 1 + 80);
}

// ---- orders -----------------------------------------------------------------------------

#[tokio::test]
async fn order_lookup_found_not_found_2013_and_archived_2026() {
    let mut scn = base_scenario();
    scn["orders"] = json!([
        { "symbol": "BTCUSDT", "orderId": 7, "side": "BUY", "type": "LIMIT", "price": "50000",
          "origQty": "0.01", "status": "NEW", "time": "-1h" },
        { "symbol": "BTCUSDT", "orderId": 8, "side": "SELL", "type": "LIMIT", "price": "70000",
          "origQty": "0.01", "status": "CANCELED", "time": "-100d" }
    ]);
    let sim = sim(scn).await;
    let c = client(config(&sim), creds());
    match c.order(&sym("BTCUSDT"), 7).await.unwrap() {
        OrderLookup::Found(o) => {
            assert_eq!(
                (o.order_id, o.status, o.price),
                (7, OrderStatus::New, dec!(50000))
            );
        }
        other => panic!("expected Found, got {other:?}"),
    }
    assert_eq!(
        c.order(&sym("BTCUSDT"), 999).await.unwrap(),
        OrderLookup::NotFound
    );
    assert_eq!(
        c.order(&sym("BTCUSDT"), 8).await.unwrap(),
        OrderLookup::Archived
    );
    let open = c.open_orders().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].order_id, 7);
}

fn many_orders(n: u64) -> Value {
    let orders: Vec<Value> = (1..=n)
        .map(|i| {
            json!({ "symbol": "BTCUSDT", "orderId": i, "side": "BUY", "type": "LIMIT", "price": "100",
                    "origQty": "0.001", "executedQty": "0.001", "cummulativeQuoteQty": "0.1",
                    "status": "FILLED", "time": format!("-{}s", n - i + 10) })
        })
        .collect();
    Value::Array(orders)
}

fn many_trades(n: u64, span_ms: i64) -> Value {
    let trades: Vec<Value> = (1..=n)
        .map(|i| {
            let age = span_ms - (span_ms * i as i64) / (n as i64 + 1) + 60_000;
            json!({ "symbol": "BTCUSDT", "id": i, "orderId": i, "price": "60000.5", "qty": "0.0001",
                    "commission": "0.0000001", "commissionAsset": "BTC", "time": format!("-{age}ms"),
                    "isBuyer": i % 2 == 0, "isMaker": i % 3 == 0 })
        })
        .collect();
    Value::Array(trades)
}

#[tokio::test]
async fn paging_reads_more_than_1000_orders_by_order_id() {
    let mut scn = base_scenario();
    scn["orders"] = many_orders(2300);
    let sim = sim(scn).await;
    let c = client(config(&sim), creds());
    let p = c.orders_from(&sym("BTCUSDT"), 1).await.unwrap();
    assert!(p.complete);
    assert_eq!(p.items.len(), 2300);
    assert!(p
        .items
        .windows(2)
        .all(|w| w[0].order_id + 1 == w[1].order_id));
    assert_eq!(requests_to(&sim, "/api/v3/allOrders").await, 3);
    let tail = c.orders_from(&sym("BTCUSDT"), 2001).await.unwrap();
    assert_eq!(tail.items.len(), 300);
    assert_eq!(tail.items[0].order_id, 2001);
}

#[tokio::test]
async fn paging_reads_more_than_1000_fills_by_from_id() {
    let mut scn = base_scenario();
    scn["trades"] = many_trades(2500, 2 * DAY);
    let sim = sim(scn).await;
    let c = client(config(&sim), creds());
    let p = c
        .fills(&sym("BTCUSDT"), FillsFrom::TradeId(1))
        .await
        .unwrap();
    assert!(p.complete);
    assert_eq!(p.items.len(), 2500);
    assert!(p
        .items
        .windows(2)
        .all(|w| w[0].trade_id + 1 == w[1].trade_id));
    assert_eq!(p.items[0].price, dec!(60000.5));
    assert_eq!(requests_to(&sim, "/api/v3/myTrades").await, 3);
    let tail = c
        .fills(&sym("BTCUSDT"), FillsFrom::TradeId(2401))
        .await
        .unwrap();
    assert_eq!(tail.items.len(), 100);
}

#[tokio::test]
async fn fills_by_time_walk_24h_windows_then_switch_to_from_id() {
    let mut scn = base_scenario();
    // 1500 fills spread over the last 2 days; the walk starts 5 days ago.
    scn["trades"] = many_trades(1500, 2 * DAY);
    let sim = sim(scn).await;
    let c = client(config(&sim), creds());
    let now = binance_account_sync::exchange::binance::system_clock()();
    let p = c
        .fills(&sym("BTCUSDT"), FillsFrom::Time(now - 5 * DAY))
        .await
        .unwrap();
    assert!(p.complete);
    assert_eq!(p.items.len(), 1500);
    assert!(p
        .items
        .windows(2)
        .all(|w| w[0].trade_id + 1 == w[1].trade_id));
    // ~3 empty windows + 1 window with rows + fromId pages: far fewer than walking every window.
    let calls = requests_to(&sim, "/api/v3/myTrades").await;
    assert!((4..=7).contains(&calls), "myTrades calls: {calls}");
    // Nothing in range: every window walked, empty and complete.
    let none = c
        .fills(&sym("ETHUSDT"), FillsFrom::Time(now - 3 * DAY))
        .await
        .unwrap();
    assert!(none.complete && none.items.is_empty());
}

#[tokio::test]
async fn budget_exhaustion_returns_partial_paging() {
    let mut scn = base_scenario();
    scn["trades"] = many_trades(2500, DAY);
    scn["orders"] = many_orders(1500);
    let sim = sim(scn).await;
    let mut cfg = config(&sim);
    cfg.weight_budget = Some(1 + 20 * 2); // time + two pages
    let c = client(cfg, creds());
    let p = c
        .fills(&sym("BTCUSDT"), FillsFrom::TradeId(1))
        .await
        .unwrap();
    assert!(!p.complete);
    assert_eq!(p.items.len(), 2000);
    assert_eq!(requests_to(&sim, "/api/v3/myTrades").await, 2);
    let u = c.usage();
    assert_eq!(u.weight, 41);
    // Nothing left at all: an empty, incomplete page set (not an error).
    let o = c.orders_from(&sym("BTCUSDT"), 1).await.unwrap();
    assert!(!o.complete && o.items.is_empty());
    // Non-paged reads report the budget as an error.
    match c.account().await {
        Err(ExchangeError::BudgetExhausted { budget, used }) => {
            assert_eq!((budget, used), (41, 41))
        }
        other => panic!("expected BudgetExhausted, got {other:?}"),
    }
    assert_eq!(requests_to(&sim, "/api/v3/account").await, 0);
}

// ---- credentials --------------------------------------------------------------------------

/// Returns a stale key first and the rotated one when asked to refresh. When
/// `fault_after_refresh` holds a sim URL, a refresh also injects one HTTP 500 on
/// `/api/v3/account`, so the first attempt with the new key fails transiently.
/// Like every real source, it remembers what a refresh read: later calls return it.
struct RotatingCredentials {
    refreshes: AtomicU32,
    rotated: std::sync::atomic::AtomicBool,
    good_after_refresh: bool,
    fault_after_refresh: Option<String>,
}

impl RotatingCredentials {
    fn new(good_after_refresh: bool) -> Self {
        Self {
            refreshes: AtomicU32::new(0),
            rotated: std::sync::atomic::AtomicBool::new(false),
            good_after_refresh,
            fault_after_refresh: None,
        }
    }
}

impl CredentialSource for RotatingCredentials {
    async fn credentials(&self, refresh: bool) -> Result<Credentials, CredentialError> {
        if refresh {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            if let Some(base) = &self.fault_after_refresh {
                let body = json!({"path": "/api/v3/account", "kind": "http_500", "count": 1});
                let r = reqwest::Client::new()
                    .post(format!("{base}/__sim/faults"))
                    .json(&body)
                    .send()
                    .await;
                assert!(r.unwrap().status().is_success());
            }
        }
        if refresh && self.good_after_refresh {
            self.rotated.store(true, Ordering::SeqCst);
        }
        if self.rotated.load(Ordering::SeqCst) {
            Ok(Credentials::new(KEY, SECRET))
        } else {
            Ok(Credentials::new("stale-key", "stale-secret"))
        }
    }
}

#[tokio::test]
async fn rotated_key_is_picked_up_after_2015_and_the_request_retried_once() {
    let sim = sim(base_scenario()).await;
    let source = RotatingCredentials::new(true);
    let c = client(config(&sim), source);
    let a = c.account().await.unwrap();
    assert_eq!(a.balances.len(), 2);
    let by_key = counters(&sim).await["by_key"].clone();
    assert_eq!(by_key["stale-key"]["requests"], 1);
    assert_eq!(by_key[KEY]["requests"], 1);
    // The refreshed key is kept for later requests.
    c.open_orders().await.unwrap();
    assert_eq!(counters(&sim).await["by_key"]["stale-key"]["requests"], 1);
    assert_eq!(source_refreshes(&c), 1);
}

#[tokio::test]
async fn a_transient_failure_right_after_a_key_refresh_does_not_refresh_again() {
    let sim = sim(base_scenario()).await;
    let mut source = RotatingCredentials::new(true);
    source.fault_after_refresh = Some(sim.base_url());
    let c = client(config(&sim), source);
    c.account().await.unwrap();
    // stale (-2015), refreshed key (500), refreshed key again (ok)
    assert_eq!(requests_to(&sim, "/api/v3/account").await, 3);
    assert_eq!(source_refreshes(&c), 1);
}

fn source_refreshes(c: &BinanceClient<RotatingCredentials>) -> u32 {
    c.credential_source().refreshes.load(Ordering::SeqCst)
}

#[tokio::test]
async fn key_still_refused_after_refresh_is_auth_error() {
    let sim = sim(base_scenario()).await;
    let source = RotatingCredentials::new(false);
    let c = client(config(&sim), source);
    match c.account().await {
        Err(ExchangeError::Auth { code, .. }) => assert_eq!(code, -2015),
        other => panic!("expected Auth, got {other:?}"),
    }
    assert_eq!(counters(&sim).await["by_key"]["stale-key"]["requests"], 2);
}

#[tokio::test]
async fn bad_recv_window_is_a_config_error() {
    let mut cfg = BinanceConfig {
        recv_window_ms: 0,
        ..BinanceConfig::default()
    };
    assert!(matches!(
        BinanceClient::new(cfg.clone(), creds(), reqwest::Client::new()),
        Err(ExchangeError::Config(_))
    ));
    cfg.recv_window_ms = 60_001;
    assert!(matches!(
        BinanceClient::new(cfg, creds(), reqwest::Client::new()),
        Err(ExchangeError::Config(_))
    ));
}

#[tokio::test]
async fn persistent_truncated_json_is_malformed_after_max_retries_without_echoing_the_body() {
    let sim = sim(base_scenario()).await;
    let mut cfg = config(&sim);
    cfg.max_retries = 1;
    let c = client(cfg, creds());
    fault(&sim, "/api/v3/account", "truncated_json", 10).await;
    match c.account().await {
        Err(ExchangeError::Malformed { endpoint, detail }) => {
            assert_eq!(endpoint, "/api/v3/account");
            assert!(
                !detail.contains("USDT") && !detail.contains("balances"),
                "{detail}"
            );
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    assert_eq!(requests_to(&sim, "/api/v3/account").await, 2);
}

#[tokio::test]
async fn non_ascii_symbol_is_signed_and_read_end_to_end() {
    let mut scn = base_scenario();
    scn["symbols"].as_array_mut().unwrap().push(json!({
        "symbol": "币安人生USDT", "base": "币安人生", "quote": "USDT", "price": "0.125"
    }));
    scn["trades"] = json!([{ "symbol": "币安人生USDT", "id": 5, "orderId": 9, "price": "0.125", "qty": "80",
        "commission": "0.08", "commissionAsset": "币安人生", "time": "-1h", "isBuyer": true, "isMaker": false }]);
    scn["orders"] = json!([{ "symbol": "币安人生USDT", "orderId": 9, "side": "BUY", "type": "LIMIT",
        "price": "0.125", "origQty": "80", "executedQty": "80", "cummulativeQuoteQty": "10",
        "status": "FILLED", "time": "-1h" }]);
    let sim = sim(scn).await;
    let c = client(config(&sim), creds());
    let s = sym("币安人生USDT");
    let fills = c.fills(&s, FillsFrom::TradeId(1)).await.unwrap();
    assert_eq!(fills.items.len(), 1);
    assert_eq!(fills.items[0].quote_qty, dec!(10));
    assert_eq!(fills.items[0].commission_asset.as_str(), "币安人生");
    match c.order(&s, 9).await.unwrap() {
        OrderLookup::Found(o) => assert_eq!(o.avg_price(), Some(dec!(0.125))),
        other => panic!("expected Found, got {other:?}"),
    }
    let info = c.symbols(&[s.clone(), sym("BTCUSDT")]).await.unwrap();
    assert_eq!(info[&s].base.as_str(), "币安人生");
    assert_eq!(
        c.prices(std::slice::from_ref(&s)).await.unwrap()[&s],
        dec!(0.125)
    );
}

/// A `MakeWriter` that appends everything to a shared buffer.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn logs_never_carry_the_secret_key_signature_or_payload() {
    let buf = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "binance_account_sync=trace",
        ))
        .with_writer(buf.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sim = sim(base_scenario()).await;
    let source = RotatingCredentials::new(true);
    let c = client(config(&sim), source);
    fault(&sim, "/api/v3/account", "http_500", 1).await;
    fault(&sim, "/api/v3/openOrders", "truncated_json", 1).await;
    c.account().await.unwrap();
    c.open_orders().await.unwrap();
    let _ = c.order(&sym("NOPEUSDT"), 1).await;
    post(&sim, "/clock", json!({"skew_ms": -70_000})).await;
    c.account().await.unwrap();

    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("/api/v3/account"),
        "endpoints are logged: {text}"
    );
    for forbidden in [
        SECRET,
        "stale-secret",
        KEY,
        "stale-key",
        "signature",
        "10000.00",
        "balances",
    ] {
        assert!(
            !text.contains(forbidden),
            "log contains {forbidden:?}:\n{text}"
        );
    }
}

/// The client leaves the rest of the IP's minute weight to the bot: it stops before a
/// request that would take `X-MBX-USED-WEIGHT-1M` past its stop, without sending it.
#[tokio::test]
async fn stops_before_the_ips_minute_weight_passes_its_share() {
    let sim = sim(base_scenario()).await;
    let c = client(
        BinanceConfig {
            ip_weight_stop: Some(50),
            ..config(&sim)
        },
        creds(),
    );
    c.begin_run(None);
    c.account().await.expect("time + account: 21");
    c.account().await.expect("41 of 50");
    let sent = requests_to(&sim, "/api/v3/account").await;
    match c.account().await {
        Err(ExchangeError::BudgetExhausted { budget, used }) => {
            assert_eq!((budget, used), (50, 41));
        }
        other => panic!("expected a stop at the IP share, got {other:?}"),
    }
    assert_eq!(
        requests_to(&sim, "/api/v3/account").await,
        sent,
        "the request that would pass the share is never sent"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn ed25519_and_rsa_keys_read_the_account_and_a_mismatched_key_is_refused_with_minus_1022() {
    use binance_sim::testkeys::TestKey;
    let (ed, rsa, stranger) = (TestKey::ed25519(), TestKey::rsa(), TestKey::ed25519());
    let mut scenario = base_scenario();
    scenario["api_keys"] = json!([
        { "key": "ed-key", "public_key": ed.public_pem },
        { "key": "rsa-key", "public_key": rsa.public_pem },
    ]);
    let sim = sim(scenario).await;
    let with = |key: &str, pem: &str| {
        let credentials = Credentials::from_private_key_pem(key, pem).unwrap();
        client(config(&sim), StaticCredentials(credentials))
    };
    for (key, pem) in [("ed-key", &ed.private_pem), ("rsa-key", &rsa.private_pem)] {
        let account = with(key, pem).account().await.unwrap();
        assert!(
            account.balances.iter().any(|b| b.asset.as_str() == "USDT"),
            "{key}: {account:?}"
        );
    }
    let err = with("ed-key", &stranger.private_pem)
        .account()
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("-1022"), "{shown}");
    assert!(
        !shown.contains("signature="),
        "the error never carries the signed URL: {shown}"
    );
    sim.shutdown().await;
}

/// 230 transfers in from the master in one minute, a server that answers 200 rows at
/// most (strict): full pages split their window, every transfer is read once, both
/// directions and failures included; a master account's key is `NotAvailable`, not a
/// failure.
#[tokio::test]
async fn sub_account_transfers_are_read_whole_past_the_page_cap_and_a_master_is_not_available() {
    let sim = sim(base_scenario()).await;
    for _ in 0..230 {
        post(
            &sim,
            "/sub-account/transfers",
            json!({"direction": "in", "asset": "USDT", "amount": "1"}),
        )
        .await;
    }
    post(
        &sim,
        "/sub-account/transfers",
        json!({"direction": "out", "asset": "USDT", "amount": "30"}),
    )
    .await;
    post(
        &sim,
        "/sub-account/transfers",
        json!({"direction": "out", "asset": "USDT", "amount": "5", "fail": true}),
    )
    .await;
    let c = client(config(&sim), creds());
    let now = binance_account_sync::exchange::binance::system_clock()();
    let flows = c
        .flows(FlowKind::SubAccountTransfer, now - 40 * DAY)
        .await
        .unwrap();
    assert_eq!(flows.len(), 232, "every row once");
    let ins = flows.iter().filter(|f| f.id.starts_with("IN:")).count();
    assert_eq!(ins, 230);
    let failed: Vec<_> = flows
        .iter()
        .filter(|f| f.status == FlowStatus::Failed)
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "returnFailHistory=true: the failure is seen final"
    );
    assert!(
        flows.windows(2).all(|w| w[0].time <= w[1].time),
        "oldest first"
    );
    let total: rust_decimal::Decimal = flows
        .iter()
        .filter(|f| f.status == FlowStatus::Done)
        .map(|f| f.legs[0].amount)
        .sum();
    assert_eq!(total, dec!(200));

    post(&sim, "/sub-account", json!({"master": true})).await;
    match c.flows(FlowKind::SubAccountTransfer, now - DAY).await {
        Err(ExchangeError::NotAvailable { code, .. }) => assert_eq!(code, -1002),
        other => panic!("expected NotAvailable, got {other:?}"),
    }
}

// ---- Smart Order Routing ------------------------------------------------------------------

/// `base_scenario` with BTCUSDC (cheaper than BTCUSDT) and USDC, and no SOR yet: the test
/// configures it through the control API.
fn sor_scenario() -> Value {
    let mut scn = base_scenario();
    scn["symbols"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "symbol": "BTCUSDC", "base": "BTC", "quote": "USDC", "price": "59900.00" }));
    scn
}

/// `POST /api/v3/sor/order` (a TRADE request the client never sends), signed as Binance
/// wants a form body signed: the HMAC of the body as sent.
async fn sor_order(sim: &RunningSim, params: &[(&str, &str)]) -> Value {
    use binance_account_sync::exchange::binance::signing::{encode_query, sign};
    let time: Value = reqwest::get(format!("{}/api/v3/time", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ts = time["serverTime"].as_i64().unwrap().to_string();
    let mut all = params.to_vec();
    all.push(("timestamp", &ts));
    let body = encode_query(&all);
    let signature = sign(Credentials::new(KEY, SECRET).signing_key(), "", &body);
    let r = reqwest::Client::new()
        .post(format!("{}/api/v3/sor/order", sim.base_url()))
        .header("X-MBX-APIKEY", KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("{body}&signature={signature}"))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "sor/order: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

/// The fill an SOR order's FULL response says its one allocation is.
fn allocated_fill(order: &Value, side: binance_account_sync::domain::Side) -> Fill {
    let fills = order["fills"].as_array().unwrap();
    assert_eq!(fills.len(), 1, "{order}");
    let f = &fills[0];
    assert_eq!(f["matchType"], "ONE_PARTY_TRADE_REPORT");
    let d = |v: &Value| {
        v.as_str()
            .unwrap()
            .parse::<rust_decimal::Decimal>()
            .unwrap()
    };
    Fill {
        symbol: sym(order["symbol"].as_str().unwrap()),
        trade_id: f["allocId"].as_u64().unwrap(),
        order_id: order["orderId"].as_u64().unwrap(),
        side,
        price: d(&f["price"]),
        qty: d(&f["qty"]),
        quote_qty: d(&order["cummulativeQuoteQty"]),
        commission: d(&f["commission"]),
        commission_asset: Asset::parse(f["commissionAsset"].as_str().unwrap()).unwrap(),
        time: order["transactTime"].as_i64().unwrap(),
        is_maker: false,
    }
}

#[tokio::test]
async fn sor_order_is_read_back_as_allocations_at_20_weight_a_page_and_its_symbols_are_sor() {
    use binance_account_sync::domain::Side;
    let sim = sim(sor_scenario()).await;
    post(
        &sim,
        "/sors",
        json!([{"base_asset": "BTC", "symbols": ["BTCUSDT", "BTCUSDC"]}]),
    )
    .await;
    let market = |side| {
        [
            ("symbol", "BTCUSDT"),
            ("side", side),
            ("type", "MARKET"),
            ("quantity", "0.01"),
        ]
    };
    let buy = sor_order(&sim, &market("BUY")).await;
    let sell = sor_order(&sim, &market("SELL")).await;
    assert_eq!(
        (buy["usedSor"].clone(), sell["usedSor"].clone()),
        (json!(true), json!(true))
    );
    let bought = allocated_fill(&buy, Side::Buy);
    let sold = allocated_fill(&sell, Side::Sell);
    // The BUY took the cheaper BTCUSDC book, the SELL the dearer BTCUSDT one: both are
    // allocations of BTCUSDT, the symbol the orders were sent to.
    assert_eq!((bought.price, sold.price), (dec!(59900), dec!(60000)));
    assert_eq!((bought.trade_id, sold.trade_id), (0, 1));
    // myAllocations is a Database read (strict mode lags it by 3 s): let that pass.
    post(&sim, "/clock", json!({"advance_ms": 5_000})).await;

    let c = client(config(&sim), creds());
    let btcusdt = sym("BTCUSDT");
    let first = c.allocations_page(&btcusdt, 0).await.unwrap();
    assert_eq!(first, vec![bought.clone(), sold.clone()]);
    // Every page after the first costs exactly its documented weight, 20.
    let before = c.usage();
    assert_eq!(
        c.allocations_page(&btcusdt, 1).await.unwrap(),
        vec![sold.clone()]
    );
    assert!(c.allocations_page(&btcusdt, 2).await.unwrap().is_empty());
    let after = c.usage();
    assert_eq!(
        (
            after.weight - before.weight,
            after.requests - before.requests
        ),
        (40, 2)
    );
    let counted = &counters(&sim).await["by_path"]["/api/v3/myAllocations"];
    assert_eq!(
        (counted["requests"].as_u64(), counted["weight"].as_u64()),
        (Some(3), Some(60))
    );
    // myTrades never shows them.
    let trades = c.fills(&btcusdt, FillsFrom::TradeId(0)).await.unwrap();
    assert!(trades.items.is_empty() && trades.complete);
    // BTCUSDC's own allocations: none (SOR took from its book for a BTCUSDT order).
    assert!(c
        .allocations_page(&sym("BTCUSDC"), 0)
        .await
        .unwrap()
        .is_empty());

    // An unknown symbol is Binance's -1121, surfaced as with every read, not retried.
    let sent = requests_to(&sim, "/api/v3/myAllocations").await;
    match c.allocations_page(&sym("NOPEUSDT"), 0).await {
        Err(ExchangeError::Api { code: -1121, .. }) => {}
        other => panic!("expected Api -1121, got {other:?}"),
    }
    assert_eq!(requests_to(&sim, "/api/v3/myAllocations").await, sent + 1);

    // A malformed body past the retries is Malformed, naming the endpoint.
    let mut cfg = config(&sim);
    cfg.max_retries = 1;
    let retrying = client(cfg, creds());
    fault(&sim, "/api/v3/myAllocations", "malformed_json", 2).await;
    match retrying.allocations_page(&btcusdt, 0).await {
        Err(ExchangeError::Malformed { endpoint, .. }) => {
            assert_eq!(endpoint, "/api/v3/myAllocations")
        }
        other => panic!("expected Malformed, got {other:?}"),
    }

    // The run's weight budget stops a page like any other request: the time (1) and one
    // page fit, the next page is refused before it is sent.
    let mut cfg = config(&sim);
    cfg.weight_budget = Some(1 + 20);
    let budgeted = client(cfg, creds());
    assert_eq!(
        budgeted.allocations_page(&btcusdt, 0).await.unwrap().len(),
        2
    );
    let sent = requests_to(&sim, "/api/v3/myAllocations").await;
    match budgeted.allocations_page(&btcusdt, 0).await {
        Err(ExchangeError::BudgetExhausted {
            budget: 21,
            used: 21,
        }) => {}
        other => panic!("expected BudgetExhausted, got {other:?}"),
    }
    assert_eq!(requests_to(&sim, "/api/v3/myAllocations").await, sent);

    // exchangeInfo's sors marks the configuration's symbols, on the all-symbols read and
    // on a list read alike; ETHUSDT is in no SOR.
    let all = client(config(&sim), creds()).symbols(&[]).await.unwrap();
    let marked: Vec<&str> = all
        .values()
        .filter(|i| i.sor)
        .map(|i| i.symbol.as_str())
        .collect();
    assert_eq!(marked, ["BTCUSDC", "BTCUSDT"]);
    assert!(!all[&sym("ETHUSDT")].sor);
    let some = client(config(&sim), creds())
        .symbols(&[sym("BTCUSDC"), sym("ETHUSDT")])
        .await
        .unwrap();
    assert_eq!(
        some.values()
            .map(|i| (i.symbol.as_str(), i.sor))
            .collect::<Vec<_>>(),
        [("BTCUSDC", true), ("ETHUSDT", false)]
    );
}
