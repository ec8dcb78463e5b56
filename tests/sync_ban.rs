//! A 418 ban outlives the container that received it: its end is kept in the sync state,
//! so a cold start (a new client, empty memory) sends nothing to Binance until it ends.

mod support;

use binance_account_sync::core::{Mode, RulesConfig};
use binance_account_sync::domain::AccountId;
use binance_account_sync::service::{now_ms, run_sync, SyncError};
use binance_account_sync::store::memory::MemoryStore;
use binance_account_sync::store::Store;
use serde_json::json;
use support::*;

#[tokio::test]
async fn a_418_ban_is_kept_across_cold_starts_and_nothing_is_sent_until_it_ends() {
    let sim = Sim::demo().await;
    let store = memory_store();
    let account = fresh_account();
    seed_demo(&store, &account).await;
    // Another client on the same IP goes over the limit until Binance answers 418.
    sim.control(
        "limits",
        json!({"weight_per_minute": 25, "ban_after_429s": 0}),
    )
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v3/exchangeInfo", sim.base_url());
    let mut status = 0;
    for _ in 0..5 {
        status = http.get(&url).send().await.expect("GET").status().as_u16();
        if status == 418 {
            break;
        }
    }
    assert_eq!(status, 418, "the IP is banned");
    assert_fails_banned(&sim, &store, &account, Mode::Periodic).await;
    let state = store.state(&account).await.expect("state");
    let until = state.banned_until.expect("the ban's end is kept");
    assert!(until > now_ms(), "the ban lasts past now");

    // The exchange would answer again (the limit is back), but the ban has not ended: a
    // new client, as after a cold start, sends nothing and the run fails as banned.
    sim.control(
        "limits",
        json!({"weight_per_minute": 6000, "ban_after_429s": 3}),
    )
    .await;
    let sent = requests_sent(&sim).await;
    assert_fails_banned(&sim, &store, &account, Mode::Emergency).await;
    assert_eq!(requests_sent(&sim).await, sent, "no request during the ban");
    let state = store.state(&account).await.expect("state");
    assert_eq!(state.banned_until, Some(until), "the ban's end is kept");
    assert!(
        state.lease_owner.is_none(),
        "the banned run released its lease"
    );
    sim.shutdown().await;
}

/// Every request the simulator received, on every path.
async fn requests_sent(sim: &Sim) -> u64 {
    let counters = sim.counters().await;
    counters["by_path"]
        .as_object()
        .expect("counters by path")
        .values()
        .map(|p| p["requests"].as_u64().unwrap_or(0))
        .sum()
}

/// A run with a fresh client (a cold start) fails as banned.
async fn assert_fails_banned(sim: &Sim, store: &MemoryStore, account: &AccountId, mode: Mode) {
    let result = run_sync(
        &sim.client(),
        store,
        &RulesConfig::default(),
        &settings(),
        &request(account, mode),
    )
    .await;
    let err = result.expect_err("the banned run fails");
    assert!(
        matches!(&err, SyncError::Exchange(e) if e.kind() == "ExchangeBanned"),
        "{err:?}"
    );
}
