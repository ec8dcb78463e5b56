//! The trust port (`VerdictStore`) on both adapters: conditional verdict writes, a retried
//! write counted once, acknowledgements never replaced, the log and run ranges by time.
//! The DynamoDB half runs under `scripts/with-stack.sh cargo test --test store_verdicts`
//! and FAILS (never skips) without `AWS_ENDPOINT_URL`.

mod support;

use binance_account_sync::core::verdict::{Ack, Reason, ReasonCode, Trust};
use binance_account_sync::domain::{AccountId, Asset, Expect, Symbol};
use binance_account_sync::store::verdicts::{
    verdict_sk, AckOutcome, StoredVerdict, TrustLogEntry, TrustLogKind, VerdictStore,
};
use rust_decimal_macros::dec;
use support::{dynamo_store, fresh_account, memory_store};

fn verdict(version: u64, trust: Trust, at: i64) -> StoredVerdict {
    StoredVerdict {
        symbol: Symbol::parse("BTCUSDT").unwrap(),
        trust,
        reasons: match trust {
            Trust::Trusted => vec![],
            Trust::Untrusted => vec![Reason {
                code: ReasonCode::NotCovered,
                detail: "fills are read only through 5".into(),
            }],
        },
        base: Some(Asset::parse("BTC").unwrap()),
        quote: Some(Asset::parse("USDT").unwrap()),
        since: at,
        run_id: format!("run-{version}"),
        version,
        updated_at: at,
    }
}

fn log_of(v: &StoredVerdict) -> TrustLogEntry {
    TrustLogEntry {
        at: v.updated_at,
        kind: TrustLogKind::VerdictChanged,
        actor: v.run_id.clone(),
        target: verdict_sk(&v.symbol),
        before: None,
        after: serde_json::to_value(v).unwrap(),
    }
}

async fn the_port_keeps_its_conditions<S: VerdictStore>(store: &S, account: &AccountId) {
    let v1 = verdict(1, Trust::Trusted, 1_000);
    assert!(store
        .write_verdict(account, &v1, Expect::Absent, &log_of(&v1))
        .await
        .unwrap());
    // A retry of the same write (same log record) counts as written, once.
    assert!(store
        .write_verdict(account, &v1, Expect::Absent, &log_of(&v1))
        .await
        .unwrap());
    // Another writer's stale expectation loses.
    let other = verdict(1, Trust::Untrusted, 1_500);
    assert!(!store
        .write_verdict(account, &other, Expect::Absent, &log_of(&other))
        .await
        .unwrap());
    let v2 = verdict(2, Trust::Untrusted, 2_000);
    assert!(store
        .write_verdict(account, &v2, Expect::Version(1), &log_of(&v2))
        .await
        .unwrap());
    let stale = verdict(2, Trust::Trusted, 2_500);
    assert!(!store
        .write_verdict(account, &stale, Expect::Version(1), &log_of(&stale))
        .await
        .unwrap());
    let items = store.load_trust(account).await.unwrap();
    assert_eq!(
        items.verdicts.values().next(),
        Some(&v2),
        "decodes as written"
    );

    let log = store.trust_log_since(account, 0).await.unwrap();
    assert_eq!(log.len(), 2, "one record per write: {log:#?}");
    assert_eq!(
        store.trust_log_since(account, 1_001).await.unwrap().len(),
        1
    );

    let ack = Ack {
        asset: Asset::parse("BTC").unwrap(),
        amount: dec!(-0.0010),
        note: "known".into(),
        acked_at: 3_000,
        acked_by: "ops".into(),
    };
    let ack_log = TrustLogEntry {
        at: 3_000,
        kind: TrustLogKind::Acknowledged,
        actor: "operator:ops".into(),
        target: "TRUST#ACK#BTC#-0.001".into(),
        before: None,
        after: serde_json::to_value(&ack).unwrap(),
    };
    assert_eq!(
        store.put_ack(account, &ack, &ack_log).await.unwrap(),
        AckOutcome::Written
    );
    let later = TrustLogEntry {
        at: 4_000,
        ..ack_log.clone()
    };
    let again = Ack {
        acked_at: 4_000,
        note: "again".into(),
        ..ack.clone()
    };
    assert_eq!(
        store.put_ack(account, &again, &later).await.unwrap(),
        AckOutcome::AlreadyAcknowledged,
        "never replaced"
    );
    let items = store.load_trust(account).await.unwrap();
    assert_eq!(items.acks.len(), 1);
    assert_eq!(items.acks[0].note, "known");
    assert_eq!(items.acks[0].amount, dec!(-0.001));
    assert_eq!(store.trust_log_since(account, 0).await.unwrap().len(), 3);
    assert_eq!(store.bot_heartbeat(account).await.unwrap(), None);
}

#[tokio::test]
async fn the_trust_port_keeps_its_conditions_in_memory() {
    the_port_keeps_its_conditions(&memory_store(), &fresh_account()).await;
}

#[tokio::test]
async fn the_trust_port_keeps_its_conditions_on_dynamodb() {
    the_port_keeps_its_conditions(&dynamo_store().await, &fresh_account()).await;
}
