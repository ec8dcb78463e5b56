//! The trust commands by the real CLI binary against the simulator and the DynamoDB
//! emulator: `status` with the verdicts beside the uncovered symbols, `discrepancies
//! list|ack`, `incident --since`. Run with
//! `scripts/with-stack.sh cargo test --test cli_verdicts`; without `AWS_ENDPOINT_URL`
//! the tests FAIL (never skip).
//!
//! Exit codes as every command: 0 success, 1 a failed command (an ack of an amount that
//! is not open), 2 a usage error (a bad amount, a bad `--since`).

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use binance_account_sync::store::keys;
use serde_json::Value;
use support::cli::{
    age_checkpoint, cli, code, explain, full_env, ok_json, seeded_demo_table, stdout_json,
    table_env,
};
use support::shapes::{fills, scenario, symbol};
use support::{dynamo_store, fresh_account, Sim};

#[tokio::test]
async fn status_shows_the_verdicts_beside_the_uncovered_symbols() {
    let sim = Sim::demo().await;
    let (store, account) = seeded_demo_table().await;
    let env = full_env(&sim.base_url(), &store, &account);
    let report = ok_json(&["sync", "--emergency", "--json"], &env).await;
    assert_eq!(report["trust"]["untrusted"], 0, "{}", report["trust"]);

    let status = ok_json(&["status", "--json"], &table_env(&store, &account)).await;
    assert_eq!(status["trust"]["trusted"], 4, "{}", status["trust"]);
    assert!(status["trust"]["verified_through"].is_i64(), "{status}");

    // Two days pass for BTCUSDT's checkpoint (its coverage set back), nothing moves: a
    // quiet run judges it not covered, and status shows the verdict beside it.
    age_checkpoint(&store, &account, "BTCUSDT", 48).await;
    // The bot last beat 20 minutes ago (its own limit: 10), with orders or positions open.
    let beat = binance_account_sync::service::now_ms() - 20 * 60_000;
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S(keys::pk(&account)))
        .item("sk", AttributeValue::S("BOT#HEARTBEAT".into()))
        .item("entity", AttributeValue::S("bot_heartbeat".into()))
        .item("at", AttributeValue::N(beat.to_string()))
        .item("stale_after_ms", AttributeValue::N("600000".into()))
        .send()
        .await
        .expect("the bot's heartbeat");
    let mut quiet = env.clone();
    quiet.push(("SYNC_ROTATION_PER_RUN", "0".into()));
    let report = ok_json(&["sync", "--json"], &quiet).await;
    assert_eq!(report["trust"]["untrusted"], 1, "{}", report["trust"]);
    assert_eq!(
        report["trust"]["bot_heartbeat_stale"], true,
        "{}",
        report["trust"]
    );

    let status = ok_json(&["status", "--json"], &table_env(&store, &account)).await;
    let uncovered = status["symbols_uncovered"].as_array().expect("list");
    let btc = uncovered
        .iter()
        .find(|u| u["symbol"] == "BTCUSDT")
        .unwrap_or_else(|| panic!("BTCUSDT uncovered: {status}"));
    assert_eq!(btc["verdict"]["trust"], "untrusted", "{btc}");
    assert_eq!(btc["verdict"]["reasons"][0]["code"], "not_covered", "{btc}");
    let untrusted = status["trust"]["untrusted"].as_array().expect("untrusted");
    assert_eq!(untrusted.len(), 1, "{status}");
    assert_eq!(untrusted[0]["symbol"], "BTCUSDT");

    let text = cli(&["status"], &table_env(&store, &account)).await;
    assert_eq!(code(&text), Some(0), "{}", explain(&text));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("BTCUSDT untrusted since") && text.contains("not_covered"),
        "{text}"
    );
    sim.shutdown().await;
}

/// BTCUSDT alone, BTC held.
fn btc_account(btc: &str) -> Value {
    scenario(
        vec![symbol("BTC", "USDT", "100")],
        vec![("USDT", "1000"), ("BTC", btc)],
        fills("BTCUSDT", 1, 2, "100", "0.01"),
    )
}

#[tokio::test]
async fn discrepancies_ack_closes_a_known_unexplained_amount_with_exit_codes_0_1_2() {
    let sim = Sim::with_scenario(btc_account("1")).await;
    let store = dynamo_store().await;
    let account = fresh_account();
    let env = full_env(&sim.base_url(), &store, &account);
    let table = table_env(&store, &account);
    ok_json(&["sync", "--emergency", "--json"], &env).await;
    // 0.001 BTC leaves with no fill or transfer to explain it.
    sim.control("scenario", btc_account("0.999")).await;
    let mut found = false;
    for _ in 0..4 {
        let r = ok_json(&["sync", "--json"], &env).await;
        if r["discrepancies"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["kind"] == "balance_unexplained"))
        {
            found = true;
            break;
        }
    }
    assert!(found, "the digest reports the unexplained amount");
    let list = ok_json(&["discrepancies", "list", "--json"], &table).await;
    assert_eq!(list["unexplained"][0]["asset"], "BTC", "{list}");
    let status = ok_json(&["status", "--json"], &table).await;
    assert_eq!(
        status["trust"]["untrusted"][0]["reasons"][0]["code"], "unexplained_balance",
        "{status}"
    );

    // A usage error: the amount is not a decimal.
    let out = cli(
        &[
            "discrepancies",
            "ack",
            "--asset",
            "BTC",
            "--amount",
            "lots",
            "--note",
            "x",
            "--json",
        ],
        &table,
    )
    .await;
    assert_eq!(code(&out), Some(2), "{}", explain(&out));
    assert_eq!(stdout_json(&out)["error"]["type"], "UsageError");
    // An amount that is not open (the sign counts): a failed command, nothing written.
    let out = cli(
        &[
            "discrepancies",
            "ack",
            "--asset",
            "BTC",
            "--amount",
            "0.001",
            "--note",
            "x",
        ],
        &table,
    )
    .await;
    assert_eq!(code(&out), Some(1), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("DiscrepancyNotFound"),
        "{}",
        explain(&out)
    );
    // The real one.
    let ack = [
        "discrepancies",
        "ack",
        "--asset",
        "BTC",
        "--amount",
        "-0.001",
        "--note",
        "moved to savings by hand",
        "--by",
        "ops",
        "--json",
    ];
    let done = ok_json(&ack, &table).await;
    assert_eq!(done["outcome"], "acknowledged", "{done}");
    let again = ok_json(&ack, &table).await;
    assert_eq!(again["outcome"], "already_acknowledged", "{again}");

    // The next run closes it: trusted again, nothing open.
    let r = ok_json(&["sync", "--json"], &env).await;
    assert_eq!(r["trust"]["untrusted"], 0, "{}", r["trust"]);
    let list = ok_json(&["discrepancies", "list", "--json"], &table).await;
    assert_eq!(list["unexplained"], serde_json::json!([]), "{list}");
    assert_eq!(list["acknowledged"][0]["acked_by"], "ops", "{list}");

    // The timeline shows the discrepancy at its first run, the ack and the verdicts.
    let incident = ok_json(&["incident", "--since", "1h", "--json"], &table).await;
    let events = incident["events"].as_array().expect("events");
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"discrepancy"), "{kinds:?}");
    assert!(kinds.contains(&"acknowledged"), "{kinds:?}");
    assert!(kinds.contains(&"verdict"), "{kinds:?}");
    let first = events
        .iter()
        .find(|e| e["key"] == "balance_unexplained:BTC")
        .expect("the discrepancy");
    assert!(first["run_id"].is_string(), "{first}");
    let times: Vec<i64> = events.iter().filter_map(|e| e["at"].as_i64()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "in time order: {times:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn incident_lists_the_fills_the_records_lacked_at_their_exchange_time() {
    let sim = Sim::demo().await;
    let (store, account) = seeded_demo_table().await;
    let env = full_env(&sim.base_url(), &store, &account);
    ok_json(&["sync", "--emergency", "--json"], &env).await;
    let table = table_env(&store, &account);

    let incident = ok_json(&["incident", "--since", "1h", "--json"], &table).await;
    let events = incident["events"].as_array().expect("events");
    let fills: Vec<&Value> = events.iter().filter(|e| e["kind"] == "fill").collect();
    assert!(!fills.is_empty(), "the demo's missing fills: {incident}");
    for f in &fills {
        assert_eq!(f["source"], "exchange");
        assert!(
            f["at"].as_i64() < f["corrected_at"].as_i64(),
            "a fill happened before it was recovered: {f}"
        );
    }
    assert!(events.iter().any(|e| e["kind"] == "run"), "{incident}");

    let text = cli(&["incident", "--since", "1h"], &table).await;
    assert_eq!(code(&text), Some(0), "{}", explain(&text));
    assert!(String::from_utf8_lossy(&text.stdout).contains("exchange fill"));

    let bad = cli(&["incident", "--since", "yesterday", "--json"], &table).await;
    assert_eq!(code(&bad), Some(2), "{}", explain(&bad));
    assert_eq!(stdout_json(&bad)["error"]["type"], "UsageError");
    let missing = cli(&["incident", "--json"], &table).await;
    assert_eq!(
        code(&missing),
        Some(2),
        "--since is required: {}",
        explain(&missing)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn trust_items_that_do_not_decode_are_rewritten_not_a_wedge() {
    let sim = Sim::with_scenario(btc_account("1")).await;
    let store = dynamo_store().await;
    let account = fresh_account();
    let env = full_env(&sim.base_url(), &store, &account);
    // A hand edit gone wrong on both sync-owned trust items.
    for (sk, trust) in [("TRUST#VERDICT#BTCUSDT", "maybe"), ("TRUST#ACCOUNT", "x")] {
        store
            .client()
            .put_item()
            .table_name(store.table())
            .item("pk", AttributeValue::S(keys::pk(&account)))
            .item("sk", AttributeValue::S(sk.into()))
            .item("trust", AttributeValue::S(trust.into()))
            .item("version", AttributeValue::N("5".into()))
            .send()
            .await
            .expect("a malformed item");
    }
    let report = ok_json(&["sync", "--emergency", "--json"], &env).await;
    assert_eq!(report["trust"]["judged"], true, "{}", report["trust"]);
    assert_eq!(report["trust"]["changed"], 1, "{}", report["trust"]);
    let status = ok_json(&["status", "--json"], &table_env(&store, &account)).await;
    assert_eq!(status["trust"]["items_skipped"], 0, "decodes now: {status}");
    assert_eq!(
        status["trust"]["judged_by_run"], report["run_id"],
        "{status}"
    );
    sim.shutdown().await;
}
