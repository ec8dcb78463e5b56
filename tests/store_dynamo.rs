//! Integration tests of the DynamoDB store against a real local emulator.
//!
//! Needs AWS_ENDPOINT_URL (plus AWS_REGION and fake credentials); see
//! `scripts/ministack.sh` and `docs/data-model.md#testing`. Without it these tests FAIL:
//! a silently skipped integration test proves nothing.

mod store_support;

use aws_sdk_dynamodb::types::AttributeValue;
use binance_account_sync::store::dynamo::{
    create_table_from_definition, DynamoStore, TableOptions,
};
use binance_account_sync::store::keys;
use binance_account_sync::store::{LoadScope, Store};
use store_support as s;

const TABLE_DEFINITION: &str = include_str!("../infra/table.json");

async fn client() -> aws_sdk_dynamodb::Client {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => {}
        _ => panic!(
            "AWS_ENDPOINT_URL is not set: these integration tests need a local DynamoDB emulator.\n\
             Run: scripts/ministack.sh start && eval \"$(scripts/ministack.sh env)\" && cargo test --test store_dynamo"
        ),
    }
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}

/// A store on a fresh table (unique name: tests run in parallel) created from the same
/// definition as the infrastructure.
async fn fresh_store() -> DynamoStore {
    let client = client().await;
    let table = format!("bas-test-{}", uuid::Uuid::new_v4());
    let report = create_table_from_definition(
        &client,
        &table,
        TABLE_DEFINITION,
        TableOptions {
            deletion_protection: Some(false),
        },
    )
    .await
    .unwrap();
    for (setting, why) in &report.not_applied {
        eprintln!("emulator did not apply {setting}: {why}");
    }
    DynamoStore::new(client, table)
}

#[tokio::test]
async fn table_is_created_from_the_infrastructure_definition() {
    let store = fresh_store().await;
    let out = store
        .client()
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    let table = out.table().unwrap();
    let key: Vec<_> = table
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        key,
        vec![
            ("pk".to_owned(), "HASH".to_owned()),
            ("sk".to_owned(), "RANGE".to_owned())
        ]
    );
    assert_eq!(
        table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str().to_owned()),
        Some("PAY_PER_REQUEST".to_owned())
    );
    let ttl = store
        .client()
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
}

#[tokio::test]
async fn every_kind_round_trips_through_the_store() {
    s::every_kind_round_trips_through_the_store(&fresh_store().await).await;
}

#[tokio::test]
async fn decimals_are_stored_as_exact_numbers() {
    let store = fresh_store().await;
    let acct = s::account();
    let c = s::insert(
        binance_account_sync::domain::CorrectionKind::BalanceCorrected,
        binance_account_sync::domain::Record::Balance(s::balance(
            "BTC",
            "123456789.123456789",
            "0.00000001",
            1,
        )),
    );
    store.apply(&acct, "run-n", s::NOW, &[c]).await.unwrap();
    let item = store
        .client()
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(keys::pk(&acct)))
        .key("sk", AttributeValue::S("BALANCE#BTC".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        item["free"],
        AttributeValue::N("123456789.123456789".into())
    );
    let locked = item["locked"].as_n().unwrap();
    assert_eq!(s::dec(locked), s::dec("0.00000001"), "{locked}");
    assert_eq!(item["version"], AttributeValue::N("1".into()));
    assert_eq!(item["entity"], AttributeValue::S("balance".into()));
}

#[tokio::test]
async fn bot_write_wins_over_stale_correction() {
    s::bot_write_wins_over_stale_correction(&fresh_store().await).await;
}

#[tokio::test]
async fn retried_apply_with_same_run_id_writes_nothing_twice() {
    s::retried_apply_with_same_run_id_writes_nothing_twice(&fresh_store().await).await;
}

#[tokio::test]
async fn insert_trade_twice_is_a_noop_not_a_duplicate() {
    s::insert_trade_twice_is_a_noop_not_a_duplicate(&fresh_store().await).await;
}

#[tokio::test]
async fn lease_is_exclusive_until_expiry() {
    s::lease_is_exclusive_until_expiry(&fresh_store().await).await;
}

#[tokio::test]
async fn every_correction_has_exactly_one_audit_record() {
    s::every_correction_has_exactly_one_audit_record(&fresh_store().await).await;
}

#[tokio::test]
async fn closing_a_position_and_zeroing_a_balance_keep_every_item() {
    s::closing_a_position_and_zeroing_a_balance_keep_every_item(&fresh_store().await).await;
}

#[tokio::test]
async fn a_120_correction_apply_spans_several_transactions() {
    s::many_corrections_span_several_transactions(&fresh_store().await, 120).await;
}

#[tokio::test]
async fn bot_attributes_unknown_to_the_sync_survive_a_correction() {
    let store = fresh_store().await;
    let acct = s::account();
    let before = binance_account_sync::domain::Record::Balance(s::balance("ETH", "2", "0", 1));
    store
        .apply(
            &acct,
            "run-x",
            s::NOW,
            &[s::insert(
                binance_account_sync::domain::CorrectionKind::BalanceCorrected,
                before.clone(),
            )],
        )
        .await
        .unwrap();
    // The bot keeps an attribute of its own on the item.
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(keys::pk(&acct)))
        .key("sk", AttributeValue::S("BALANCE#ETH".into()))
        .update_expression("SET strategy = :s")
        .expression_attribute_values(":s", AttributeValue::S("grid-7".into()))
        .send()
        .await
        .unwrap();
    let after = binance_account_sync::domain::Record::Balance(s::balance("ETH", "2.5", "0", 2));
    let out = store
        .apply(
            &acct,
            "run-y",
            s::NOW + 1,
            &[s::update(
                binance_account_sync::domain::CorrectionKind::BalanceCorrected,
                before,
                after.clone(),
            )],
        )
        .await
        .unwrap();
    assert_eq!(out.applied.len(), 1, "{out:?}");
    let items = s::partition_items(&store, &acct).await;
    let item = items
        .iter()
        .find(|it| it["sk"] == AttributeValue::S("BALANCE#ETH".into()))
        .unwrap();
    assert_eq!(item["strategy"], AttributeValue::S("grid-7".into()));
    assert_eq!(s::dec(item["free"].as_n().unwrap()), s::dec("2.5"));
}

/// A correction of a trade (`TradeFeePriced`, `TradePnlSet`) sets only the attributes the
/// sync derives and owns: the exchange's fields of the fill are never rewritten (here one
/// the item holds differently from the sync's copy survives), and `fee_unpriced` is
/// removed once the fee is priced.
#[tokio::test]
async fn a_trade_correction_rewrites_only_the_attributes_the_sync_owns() {
    use binance_account_sync::domain::{CorrectionKind, Record, TradeRecord};
    let store = fresh_store().await;
    let acct = s::account();
    let unpriced = TradeRecord {
        commission_quote: s::dec("0"),
        fee_unpriced: true,
        ..s::trade("BTCUSDT", 5, 1)
    };
    let before = Record::Trade(unpriced.clone());
    let out = store
        .apply(
            &acct,
            "run-x",
            s::NOW,
            &[s::insert(CorrectionKind::TradeRecovered, before.clone())],
        )
        .await
        .unwrap();
    assert_eq!(out.applied.len(), 1, "{out:?}");
    let sk = "TRADE#BTCUSDT#00000000000000000005";
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(keys::pk(&acct)))
        .key("sk", AttributeValue::S(sk.into()))
        .update_expression("SET qty = :q")
        .expression_attribute_values(":q", AttributeValue::N("0.002".into()))
        .send()
        .await
        .unwrap();
    let after = Record::Trade(TradeRecord {
        commission_quote: s::dec("0.000225"),
        fee_unpriced: false,
        version: 2,
        ..unpriced
    });
    let out = store
        .apply(
            &acct,
            "run-y",
            s::NOW + 1,
            &[s::update(CorrectionKind::TradeFeePriced, before, after)],
        )
        .await
        .unwrap();
    assert_eq!(out.applied.len(), 1, "{out:?}");
    let items = s::partition_items(&store, &acct).await;
    let item = items
        .iter()
        .find(|it| it["sk"] == AttributeValue::S(sk.into()))
        .unwrap();
    assert_eq!(s::dec(item["qty"].as_n().unwrap()), s::dec("0.002"));
    assert_eq!(
        s::dec(item["commission_quote"].as_n().unwrap()),
        s::dec("0.000225")
    );
    assert_eq!(item["version"], AttributeValue::N("2".into()));
    assert!(!item.contains_key("fee_unpriced"), "{item:?}");
}

#[tokio::test]
async fn malformed_item_is_skipped_and_listed_with_its_key_never_fatal() {
    let store = fresh_store().await;
    let acct = s::account();
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S(keys::pk(&acct)))
        .item("sk", AttributeValue::S("BALANCE#DOGE".into()))
        .item("entity", AttributeValue::S("balance".into()))
        .item("version", AttributeValue::N("1".into()))
        .item("asset", AttributeValue::S("DOGE".into()))
        .item("free", AttributeValue::S("lots".into()))
        .send()
        .await
        .unwrap();
    store
        .put_bot_record(&acct, s::every_kind(1).remove(0))
        .await
        .unwrap();
    for (records, _) in [
        store.load(&acct).await.expect("load goes on"),
        store
            .load_scoped(&acct, &LoadScope::Balances)
            .await
            .expect("a scoped load goes on"),
    ] {
        assert_eq!(records.skipped.len(), 1, "{:?}", records.skipped);
        let skipped = &records.skipped[0];
        assert!(skipped.key.contains("BALANCE#DOGE"), "{}", skipped.key);
        assert!(skipped.detail.contains("free"), "{}", skipped.detail);
        assert_eq!(records.balances.len(), 1, "the good item is still read");
    }
}

#[tokio::test]
async fn run_summary_is_stored_with_a_ttl() {
    let store = fresh_store().await;
    let acct = s::account();
    assert_eq!(
        store
            .acquire_lease(&acct, "run-s", s::NOW, s::NOW + 1000)
            .await
            .unwrap(),
        binance_account_sync::store::LeaseOutcome::Acquired
    );
    let state = binance_account_sync::domain::SyncState {
        last_run_id: Some("run-s".into()),
        last_attempt_at: Some(s::NOW),
        last_error: None,
        ..Default::default()
    };
    store
        .finish_run(&acct, "run-s", &state, &serde_json::json!({"ok": true}))
        .await
        .unwrap();
    let items = s::partition_items(&store, &acct).await;
    let run = items
        .iter()
        .find(|it| it["sk"] == AttributeValue::S(keys::run_sk(s::NOW, "run-s")))
        .unwrap();
    assert_eq!(run["summary"], AttributeValue::S("{\"ok\":true}".into()));
    assert_eq!(
        run["expires_at"],
        AttributeValue::N((s::NOW / 1000 + 90 * 86_400).to_string())
    );
    // Finishing again (a retried invocation) is harmless.
    store
        .finish_run(&acct, "run-s", &state, &serde_json::json!({"ok": true}))
        .await
        .unwrap();
}

#[tokio::test]
async fn retry_finds_its_audit_record_even_when_the_request_differs() {
    s::retry_finds_its_audit_record_even_when_the_request_differs(&fresh_store().await).await;
}

#[tokio::test]
async fn alert_state_survives_runs_and_is_owned_by_save_alert_state() {
    s::alert_state_survives_runs_and_is_owned_by_save_alert_state(&fresh_store().await).await;
}
