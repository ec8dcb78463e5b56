//! The whole pipe, in process: the Binance simulator, the real Binance adapter, the
//! in-memory store with the DynamoDB store's semantics, and `service::run_sync`.

use binance_account_sync::core::{Mode, RulesConfig};
use binance_account_sync::domain::{
    AccountId, CorrectionKind, OrderStatus, PositionStatus, Record,
};
use binance_account_sync::exchange::binance::{BinanceClient, BinanceConfig};
use binance_account_sync::exchange::credentials::{Credentials, StaticCredentials};
use binance_account_sync::report::Outcome;
use binance_account_sync::service::{run_sync, RunSettings, SyncRequest};
use binance_account_sync::store::memory::MemoryStore;
use binance_sim::{RunningSim, Scenario, SimConfig};
use std::time::Duration;

fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

async fn demo_sim() -> RunningSim {
    let scenario =
        Scenario::from_file(repo("binance-sim/scenarios/demo.json")).expect("demo scenario");
    binance_sim::spawn(SimConfig {
        scenario: Some(scenario),
        strict: binance_sim::StrictConfig::strict(),
        ..SimConfig::default()
    })
    .await
    .expect("sim starts")
}

fn client(sim: &RunningSim) -> BinanceClient<StaticCredentials> {
    client_with_budget(sim, None)
}

/// The demo simulator with `demo-key` registered by its public key instead of a secret.
async fn demo_sim_with_public_key(public_pem: &str) -> RunningSim {
    let mut scenario =
        Scenario::from_file(repo("binance-sim/scenarios/demo.json")).expect("demo scenario");
    for k in &mut scenario.api_keys {
        k.secret = None;
        k.public_key = Some(public_pem.to_owned());
    }
    binance_sim::spawn(SimConfig {
        scenario: Some(scenario),
        strict: binance_sim::StrictConfig::strict(),
        ..SimConfig::default()
    })
    .await
    .expect("sim starts")
}

/// A client whose credentials come from a Secrets Manager-shaped `private_key` secret.
fn client_with_private_key(
    sim: &RunningSim,
    private_pem: &str,
) -> BinanceClient<StaticCredentials> {
    let secret = serde_json::json!({"api_key": "demo-key", "private_key": private_pem});
    let credentials = binance_account_sync::secrets::parse_secret(&secret.to_string())
        .expect("private_key secret parses");
    let config = BinanceConfig {
        base_url: sim.base_url().parse().expect("url"),
        base_backoff: Duration::from_millis(1),
        ..BinanceConfig::default()
    };
    BinanceClient::new(
        config,
        StaticCredentials(credentials),
        reqwest::Client::new(),
    )
    .expect("client")
}

fn client_with_budget(
    sim: &RunningSim,
    weight_budget: Option<u64>,
) -> BinanceClient<StaticCredentials> {
    let config = BinanceConfig {
        base_url: sim.base_url().parse().expect("url"),
        base_backoff: Duration::from_millis(1),
        weight_budget,
        ..BinanceConfig::default()
    };
    BinanceClient::new(
        config,
        StaticCredentials(Credentials::new("demo-key", "demo-secret")),
        reqwest::Client::new(),
    )
    .expect("client")
}

fn seeded_store(account: &AccountId) -> MemoryStore {
    #[derive(serde::Deserialize)]
    struct Seed {
        records: Vec<Record>,
    }
    let text = std::fs::read_to_string(repo("demo/bot-records.json")).expect("seed");
    let seed: Seed = serde_json::from_str(&text).expect("seed parses");
    let store = MemoryStore::new();
    for r in seed.records {
        store.put_bot_record(account, r);
    }
    store
}

fn request(account: &AccountId, mode: Mode, dry_run: bool) -> SyncRequest {
    SyncRequest {
        account: account.clone(),
        mode,
        dry_run,
        lookback_days: None,
        deadline: None,
        invocation_id: None,
    }
}

async fn emergency(
    exchange: &BinanceClient<StaticCredentials>,
    store: &MemoryStore,
    rules: &RulesConfig,
    account: &AccountId,
) -> Result<binance_account_sync::report::SyncReport, binance_account_sync::service::SyncError> {
    run_sync(
        exchange,
        store,
        rules,
        &settings(),
        &request(account, Mode::Emergency, false),
    )
    .await
}

fn settings() -> RunSettings {
    RunSettings {
        min_interval: Duration::ZERO,
        ..RunSettings::default()
    }
}

#[tokio::test]
async fn emergency_sync_corrects_the_diverged_demo_account_and_a_second_run_changes_nothing() {
    let sim = demo_sim().await;
    let exchange = client(&sim);
    let account = AccountId::parse("demo").expect("id");
    let store = seeded_store(&account);
    let rules = RulesConfig::default();

    let first = emergency(&exchange, &store, &rules, &account)
        .await
        .expect("first sync");
    println!("{}", binance_account_sync::render::render_report(&first));
    assert_eq!(first.outcome, Outcome::Complete);
    assert!(
        first.count(CorrectionKind::TradeRecovered) >= 40,
        "dozens of missing fills recovered"
    );
    assert!(first.count(CorrectionKind::BalanceCorrected) >= 1);
    assert!(first.count(CorrectionKind::PositionRecovered) >= 1);
    assert!(first.discrepancies.iter().any(|d| d.key == "balance:USDT"));

    let records = store.records(&account);
    let sol_order = records
        .orders
        .values()
        .find(|o| o.order_id == 9731000058)
        .expect("order kept");
    assert_eq!(
        sol_order.status,
        OrderStatus::Filled,
        "order filled while the bot was down"
    );
    assert!(records
        .positions
        .values()
        .any(|p| p.recovered && p.status == PositionStatus::Open));
    assert_eq!(records.trades.len(), 60, "every fill recorded exactly once");

    let second = emergency(&exchange, &store, &rules, &account)
        .await
        .expect("second sync");
    println!("{}", binance_account_sync::render::render_report(&second));
    assert_eq!(
        second.correction_count(),
        0,
        "a second run makes zero corrections: {:?}",
        second.counts
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn emergency_sync_with_an_ed25519_key_and_with_an_rsa_key_corrects_the_demo_account() {
    let rsa = binance_sim::testkeys::TestKey::rsa();
    let rsa_pkcs1 = rsa.rsa_pkcs1_private_pem().expect("PKCS#1 form");
    let ed = binance_sim::testkeys::TestKey::ed25519();
    let cases = [
        ("Ed25519", &ed, ed.private_pem.clone()),
        ("RSA PKCS#8", &rsa, rsa.private_pem.clone()),
        ("RSA PKCS#1", &rsa, rsa_pkcs1),
    ];
    for (name, key, private_pem) in cases {
        let sim = demo_sim_with_public_key(&key.public_pem).await;
        let exchange = client_with_private_key(&sim, &private_pem);
        let account = AccountId::parse("demo").expect("id");
        let store = seeded_store(&account);
        let rules = RulesConfig::default();
        let first = emergency(&exchange, &store, &rules, &account)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(first.outcome, Outcome::Complete, "{name}");
        assert!(
            first.count(CorrectionKind::TradeRecovered) >= 40,
            "{name}: every signed read went through"
        );
        assert_eq!(store.records(&account).trades.len(), 60, "{name}");
        let second = emergency(&exchange, &store, &rules, &account)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(second.correction_count(), 0, "{name}: {:?}", second.counts);
        sim.shutdown().await;
    }
}

/// A Lambda keeps one client across warm invocations: the weight budget must be per run,
/// not per container (a cumulative budget would fail every run after a few dozen).
#[tokio::test]
async fn one_client_serves_many_runs_each_within_its_own_weight_budget() {
    let sim = demo_sim().await;
    // The first emergency run reads each symbol from its first fill; the next ones re-scan
    // the four active symbols by 24-hour windows (about 2,000 weight each): together over
    // the 3,000 budget, so they all complete only if the budget counts from zero each run.
    let exchange = client_with_budget(&sim, Some(3000));
    let account = AccountId::parse("demo").expect("id");
    let store = seeded_store(&account);
    let rules = RulesConfig::default();
    let http = reqwest::Client::new();
    let mut total = 0;
    for run in 0..3 {
        // Runs are 30 minutes apart: the exchange's per-minute IP window has rolled.
        http.post(format!("{}/__sim/reset-weight", sim.base_url()))
            .send()
            .await
            .expect("reset the sim's minute window");
        let report = emergency(&exchange, &store, &rules, &account)
            .await
            .expect("sync");
        assert_eq!(
            report.outcome,
            Outcome::Complete,
            "run {run}: {:?}",
            report.outcome_detail
        );
        assert!(
            report.exchange_usage.weight <= 3000,
            "run {run} used {}",
            report.exchange_usage.weight
        );
        total += report.exchange_usage.weight;
    }
    assert!(
        total > 3000,
        "the three runs together spend more than one budget: {total}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_progress_hook_sees_symbols_done_of_the_scope_and_weight_only_increase() {
    use binance_account_sync::service::progress::{Progress, ProgressHook};
    use std::sync::{Arc, Mutex};
    let sim = demo_sim().await;
    let exchange = client(&sim);
    let account = AccountId::parse("demo").expect("id");
    let store = seeded_store(&account);
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = seen.clone();
    let settings = RunSettings {
        progress: Some(ProgressHook::new(move |p| sink.lock().unwrap().push(p))),
        ..settings()
    };
    let report = run_sync(
        &exchange,
        &store,
        &RulesConfig::default(),
        &settings,
        &request(&account, Mode::Emergency, false),
    )
    .await
    .expect("sync");
    assert_eq!(report.outcome, Outcome::Complete);
    let seen = seen.lock().unwrap().clone();
    let first = seen.first().expect("progress reported");
    let last = seen.last().expect("progress reported");
    assert_eq!(first.symbols_done, 0, "reported once the scope is planned");
    assert!(
        first.symbols_in_scope >= 2,
        "the demo account has several symbols"
    );
    assert_eq!(
        last.symbols_done, last.symbols_in_scope,
        "a complete run read its scope"
    );
    assert_eq!(
        seen.len(),
        last.symbols_in_scope + 1,
        "once per symbol read"
    );
    for pair in seen.windows(2) {
        assert_eq!(pair[1].symbols_done, pair[0].symbols_done + 1);
        assert_eq!(pair[1].symbols_in_scope, pair[0].symbols_in_scope);
        assert!(pair[1].weight_used >= pair[0].weight_used);
    }
    assert!(
        last.weight_used > first.weight_used,
        "reading symbols spends weight"
    );
    assert_eq!(last.weight_used, report.exchange_usage.weight);
}
