//! The bot contract's example (`examples/bot_startup.py`, boto3) run with
//! `.venv/bin/python` against the DynamoDB emulator after a real sync (the CLI binary
//! against the simulator) wrote the records and the verdicts: it may trade on a trusted
//! symbol with the corrected balance, and must not once the symbol is untrusted. Run with
//! `scripts/with-stack.sh cargo test --test bot_example` (`make setup` first); without
//! `AWS_ENDPOINT_URL` it FAILS (never skips).

mod support;

use binance_account_sync::domain::AccountId;
use binance_account_sync::store::dynamo::DynamoStore;
use std::process::{Command, Output, Stdio};
use support::cli::{
    age_checkpoint, code, explain, full_env, ok_json, seeded_demo_table, stdout_json,
};
use support::{repo, Sim};

/// The example, with the table's variables (the AWS_* emulator variables inherited).
fn bot_startup(store: &DynamoStore, account: &AccountId, symbol: &str) -> Output {
    let python = repo(".venv/bin/python");
    assert!(
        std::path::Path::new(&python).exists(),
        "{python} is missing: run `make setup`"
    );
    Command::new(python)
        .arg(repo("examples/bot_startup.py"))
        .args(["--symbol", symbol])
        .env_remove("SYNC_FUNCTION_NAME")
        .env("SYNC_TABLE_NAME", store.table())
        .env("SYNC_ACCOUNT_ID", account.as_str())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("python runs")
}

#[tokio::test]
async fn the_python_startup_example_trades_only_on_a_trusted_symbol_with_the_corrected_balance() {
    let sim = Sim::demo().await;
    let (store, account) = seeded_demo_table().await;
    let env = full_env(&sim.base_url(), &store, &account);
    let report = ok_json(&["sync", "--emergency", "--json"], &env).await;
    assert_eq!(report["trust"]["untrusted"], 0, "{}", report["trust"]);

    let out = bot_startup(&store, &account, "BTCUSDT");
    assert_eq!(code(&out), Some(0), "{}", explain(&out));
    let doc = stdout_json(&out);
    assert_eq!(doc["may_trade"], true, "{doc}");
    assert_eq!(doc["trust"], "trusted", "{doc}");
    let (usdt_free, _) = sim.balances().await["USDT"];
    assert_eq!(
        doc["current_balance"].as_str().map(support::dec),
        Some(usdt_free),
        "the corrected balance, exact: {doc}"
    );
    assert_eq!(
        doc["balance_corrected_by_sync"], true,
        "the demo's USDT was stale: {doc}"
    );
    assert!(doc["verified_through"].is_string(), "{doc}");

    // BTCUSDT's coverage two days old, a quiet run: untrusted, the bot must not trade.
    age_checkpoint(&store, &account, "BTCUSDT", 48).await;
    let mut quiet = env.clone();
    quiet.push(("SYNC_ROTATION_PER_RUN", "0".into()));
    ok_json(&["sync", "--json"], &quiet).await;
    let out = bot_startup(&store, &account, "BTCUSDT");
    assert_eq!(code(&out), Some(3), "{}", explain(&out));
    let doc = stdout_json(&out);
    assert_eq!(doc["may_trade"], false, "{doc}");
    assert_eq!(doc["trust"], "untrusted", "{doc}");
    assert!(
        doc["reasons"][0]
            .as_str()
            .is_some_and(|r| r.starts_with("not_covered")),
        "{doc}"
    );
    sim.shutdown().await;
}
