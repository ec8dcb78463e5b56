//! The transaction protocol of the DynamoDB store against scripted responses
//! (aws-smithy-mocks): cancellation reasons become conflicts or "already applied", and
//! the rest of the chunk is retried with a new token.

mod store_support;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_sdk_dynamodb::types::CancellationReason;
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, RuleMode};
use binance_account_sync::domain::{CorrectionKind, Record};
use binance_account_sync::store::dynamo::item::{encode_audit, encode_record};
use binance_account_sync::store::dynamo::DynamoStore;
use binance_account_sync::store::{keys, Store};
use std::sync::{Arc, Mutex};
use store_support as s;

fn client(rules: &[&aws_smithy_mocks::Rule]) -> Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
    for r in rules {
        interceptor = interceptor.with_rule(r);
    }
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("mock-region"))
        .credentials_provider(Credentials::new("mock", "mock", None, None, "test"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    Client::from_conf(config)
}

fn reason(
    code: &str,
    item: Option<binance_account_sync::store::dynamo::item::Item>,
) -> CancellationReason {
    CancellationReason::builder()
        .code(code)
        .set_item(item)
        .build()
}

#[tokio::test]
async fn cancelled_transaction_yields_conflicts_and_retries_the_rest() {
    let acct = s::account();
    let pk = keys::pk(&acct);
    // c0: stale update of a balance the bot has moved on; c1: fine; c2: written by an
    // earlier attempt of this run (its audit record exists).
    let c0 = s::update(
        CorrectionKind::BalanceCorrected,
        Record::Balance(s::balance("USDT", "100", "0", 1)),
        Record::Balance(s::balance("USDT", "120", "0", 2)),
    );
    let c1 = s::insert(
        CorrectionKind::TradeRecovered,
        Record::Trade(s::trade("BTCUSDT", 1, 1)),
    );
    let c2 = s::insert(
        CorrectionKind::DustRecorded,
        Record::Dust(s::dust("PEPE", 1)),
    );
    let mut bot = s::balance("USDT", "99.5", "0.5", 2);
    bot.updated_by = binance_account_sync::domain::Writer::Bot;
    let bot_item = encode_record(&pk, &Record::Balance(bot.clone()))
        .unwrap()
        .item;
    let c2_current = encode_record(&pk, &c2.after).unwrap().item;
    let c2_audit_sk = keys::audit_sk(s::NOW, "run-m", 2);
    let c2_audit = encode_audit(&pk, &c2_audit_sk, "run-m", 2, s::NOW, &c2).unwrap();

    let tokens = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = tokens.clone();
    let first = mock!(Client::transact_write_items)
        .match_requests(move |r| {
            seen.lock()
                .unwrap()
                .push(r.client_request_token().unwrap_or_default().to_owned());
            r.transact_items().len() == 6
        })
        .then_error(move || {
            TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder()
                    .message("Transaction cancelled")
                    .cancellation_reasons(reason("ConditionalCheckFailed", Some(bot_item.clone())))
                    .cancellation_reasons(reason("None", None))
                    .cancellation_reasons(reason("None", None))
                    .cancellation_reasons(reason("None", None))
                    .cancellation_reasons(reason(
                        "ConditionalCheckFailed",
                        Some(c2_current.clone()),
                    ))
                    .cancellation_reasons(reason("ConditionalCheckFailed", Some(c2_audit.clone())))
                    .build(),
            )
        });
    let seen = tokens.clone();
    let retry = mock!(Client::transact_write_items)
        .match_requests(move |r| {
            seen.lock()
                .unwrap()
                .push(r.client_request_token().unwrap_or_default().to_owned());
            let items = r.transact_items();
            items.len() == 2
                && items[0]
                    .put()
                    .and_then(|p| p.item().get("sk"))
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some("TRADE#BTCUSDT#00000000000000000001")
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());

    let store = DynamoStore::new(client(&[&first, &retry]), "mock-table");
    let out = store
        .apply(
            &acct,
            "run-m",
            s::NOW,
            &[c0.clone(), c1.clone(), c2.clone()],
        )
        .await
        .unwrap();

    assert_eq!(out.conflicts.len(), 1, "{out:?}");
    assert_eq!(out.conflicts[0].correction, c0);
    assert_eq!(
        out.conflicts[0].current,
        Some(Record::Balance(bot)),
        "conflict carries the ALL_OLD item"
    );
    assert_eq!(
        out.applied,
        vec![c1, c2],
        "retried pair applied; audited pair counted once"
    );
    assert_eq!((first.num_calls(), retry.num_calls()), (1, 1));
    let tokens = tokens.lock().unwrap();
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1], "a retry is a new request: new token");
    assert!(tokens.iter().all(|t| !t.is_empty() && t.len() <= 36));
}

#[tokio::test]
async fn same_run_sends_the_same_token() {
    let acct = s::account();
    let c = s::insert(
        CorrectionKind::TradeRecovered,
        Record::Trade(s::trade("BTCUSDT", 9, 1)),
    );
    let tokens = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = tokens.clone();
    let ok = mock!(Client::transact_write_items)
        .match_requests(move |r| {
            seen.lock()
                .unwrap()
                .push(r.client_request_token().unwrap_or_default().to_owned());
            true
        })
        .sequence()
        .output(|| TransactWriteItemsOutput::builder().build())
        .times(3)
        .build();
    let store = DynamoStore::new(client(&[&ok]), "mock-table");
    store
        .apply(&acct, "run-1", s::NOW, std::slice::from_ref(&c))
        .await
        .unwrap();
    store
        .apply(&acct, "run-1", s::NOW, std::slice::from_ref(&c))
        .await
        .unwrap();
    store
        .apply(&acct, "run-2", s::NOW, std::slice::from_ref(&c))
        .await
        .unwrap();
    let t = tokens.lock().unwrap();
    assert_eq!(
        t[0], t[1],
        "a retried invocation of the same run is the same request"
    );
    assert_ne!(t[0], t[2], "another run is another request");
}

#[tokio::test]
async fn a_correction_that_skips_a_version_is_refused_before_any_write() {
    let acct = s::account();
    let store = DynamoStore::new(client(&[]), "mock-table");
    let mut c = s::insert(
        CorrectionKind::TradeRecovered,
        Record::Trade(s::trade("BTCUSDT", 9, 3)),
    );
    c.reason = "bad plan".into();
    let err = store.apply(&acct, "run-1", s::NOW, &[c]).await.unwrap_err();
    assert_eq!(err.kind(), "StoreRejected", "{err}");
}

#[tokio::test]
async fn load_follows_every_page_and_sums_capacity() {
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity};
    let acct = s::account();
    let pk = keys::pk(&acct);
    let t1 = Record::Trade(s::trade("BTCUSDT", 1, 1));
    let t2 = Record::Trade(s::trade("BTCUSDT", 2, 1));
    let (i1, i2) = (
        encode_record(&pk, &t1).unwrap().item,
        encode_record(&pk, &t2).unwrap().item,
    );
    let last_key: std::collections::HashMap<_, _> = [
        ("pk".to_owned(), AttributeValue::S(pk.clone())),
        ("sk".to_owned(), i1["sk"].clone()),
    ]
    .into();
    // One single-use rule per expected call (queries run concurrently, in any order).
    let rule = || {
        let (i1, i2, last_key) = (i1.clone(), i2.clone(), last_key.clone());
        mock!(Client::query).then_compute_output(move |q| {
            let prefix = q
                .expression_attribute_values()
                .and_then(|v| v.get(":from"))
                .and_then(|v| v.as_s().ok());
            assert_eq!(q.consistent_read(), Some(true));
            let out = QueryOutput::builder()
                .consumed_capacity(ConsumedCapacity::builder().capacity_units(0.5).build());
            match (prefix.map(String::as_str), q.exclusive_start_key()) {
                (Some("TRADE#"), None) => out
                    .items(i1.clone())
                    .set_last_evaluated_key(Some(last_key.clone()))
                    .build(),
                (Some("TRADE#"), Some(_)) => out.items(i2.clone()).build(),
                _ => out.build(),
            }
        })
    };
    let rules: Vec<_> = (0..10).map(|_| rule()).collect();
    let refs: Vec<_> = rules.iter().collect();
    let store = DynamoStore::new(client(&refs), "mock-table");
    let (records, capacity) = store.load(&acct).await.unwrap();
    assert_eq!(records.trades.len(), 2);
    assert!(
        rules.iter().all(|r| r.num_calls() == 1),
        "8 record prefixes, the sync state + 1 more page of trades"
    );
    assert_eq!(capacity, 5.0);
}
