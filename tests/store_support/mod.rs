//! Shared by the store tests: record fixtures, a bot simulator per adapter, and the
//! behaviour scenarios every `Store` adapter must pass (run against the in-memory store
//! and against DynamoDB on a local emulator).
#![allow(dead_code)]

use aws_sdk_dynamodb::types::AttributeValue;
use binance_account_sync::domain::{
    AccountId, Asset, BalanceRecord, Correction, CorrectionKind, CursorRecord, DustRecord, Expect,
    OrderOrigin, OrderRecord, OrderStatus, PositionRecord, PositionStatus, Record, Side, Symbol,
    SyncState, TradeRecord, Writer,
};
use binance_account_sync::store::dynamo::item::{encode_record, Item};
use binance_account_sync::store::dynamo::DynamoStore;
use binance_account_sync::store::keys;
use binance_account_sync::store::memory::MemoryStore;
use binance_account_sync::store::{LeaseOutcome, Store};
use rust_decimal::Decimal;
use std::future::Future;
use std::str::FromStr;

pub const NOW: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn account() -> AccountId {
    AccountId::parse(format!("acct-{}", uuid::Uuid::new_v4())).unwrap()
}

pub fn asset(s: &str) -> Asset {
    Asset::parse(s).unwrap()
}

pub fn symbol(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

pub fn balance(a: &str, free: &str, locked: &str, version: u64) -> BalanceRecord {
    BalanceRecord {
        asset: asset(a),
        free: dec(free),
        locked: dec(locked),
        version,
        updated_at: NOW,
        updated_by: Writer::Sync,
        as_of: None,
    }
}

pub fn position(s: &str, version: u64) -> PositionRecord {
    PositionRecord {
        symbol: symbol(s),
        base: asset("BTC"),
        quote: asset("USDT"),
        side: "long".into(),
        status: PositionStatus::Open,
        quantity: dec("0.00000001"),
        entry_price: dec("123456789.123456789"),
        // An estimate: both entry attributes round-trip.
        entry_partial: true,
        entry_rest_price: Some(dec("65000.00000001")),
        exit_price: None,
        realized_pnl: dec("-12.3400"),
        opened_at: NOW - 1000,
        closed_at: None,
        recovered: true,
        version,
        updated_at: NOW,
        updated_by: Writer::Sync,
    }
}

pub fn closed_position(s: &str, version: u64) -> PositionRecord {
    PositionRecord {
        status: PositionStatus::Closed,
        exit_price: Some(dec("65000.10")),
        closed_at: Some(NOW),
        ..position(s, version)
    }
}

pub fn dust(a: &str, version: u64) -> DustRecord {
    DustRecord {
        asset: asset(a),
        quantity: dec("0.00000100"),
        version,
        updated_at: NOW,
    }
}

pub fn order(s: &str, id: u64, version: u64) -> OrderRecord {
    OrderRecord {
        symbol: symbol(s),
        order_id: id,
        client_order_id: "bot-123".into(),
        side: Side::Buy,
        order_type: "LIMIT".into(),
        price: dec("64999.99000000"),
        orig_qty: dec("0.00100000"),
        executed_qty: dec("0.00050000"),
        avg_price: Some(dec("64999.99")),
        status: OrderStatus::PartiallyFilled,
        origin: OrderOrigin::Bot,
        unknown_runs: 2,
        created_at: NOW - 5000,
        version,
        updated_at: NOW,
        updated_by: Writer::Bot,
    }
}

pub fn trade(s: &str, id: u64, version: u64) -> TradeRecord {
    TradeRecord {
        source: binance_account_sync::domain::FillSource::Trade,
        symbol: symbol(s),
        trade_id: id,
        order_id: 7,
        side: Side::Sell,
        price: dec("65000.01"),
        qty: dec("0.00100000"),
        quote_qty: dec("65.00001"),
        commission: dec("0.00000075"),
        commission_asset: asset("BNB"),
        commission_quote: dec("0.0004875"),
        realized_pnl: Some(dec("1.50")),
        time: NOW - 10,
        is_maker: false,
        recovered: true,
        fee_unpriced: false,
        version,
    }
}

pub fn cursor(s: &str, version: u64) -> CursorRecord {
    CursorRecord {
        last_trade_id: Some(u64::MAX),
        last_alloc_id: Some(u64::MAX - 3),
        covered_through: Some(NOW - 60_000),
        last_fill_at: Some(NOW - 1),
        fee_assets: vec![binance_account_sync::domain::Asset::parse("BNB").unwrap()],
        basis: binance_account_sync::domain::Basis {
            qty: Decimal::from_str("0.00000001").unwrap(),
            avg_cost: Decimal::from_str("65000.123456789012345678").unwrap(),
            realized: Decimal::from_str("-12.5").unwrap(),
            open_since: Some(NOW - 10),
            through: Some(u64::MAX - 1),
            alloc_through: Some(u64::MAX - 2),
            folded_at: Some(NOW - 4),
            sold_qty: Decimal::from_str("1.5").unwrap(),
            sold_value: Decimal::from_str("97500.3").unwrap(),
            sold_realized: Decimal::from_str("3.25").unwrap(),
            last_sell_at: Some(NOW - 5),
        },
        open_orders: 2,
        order_watermark: Some(17),
        failures: 1,
        last_error: Some("ExchangeApiError".into()),
        retry_at: Some(NOW + 1),
        emergency_done: Some(NOW - 3),
        pending: true,
        version,
        updated_at: NOW,
        ..CursorRecord::new(symbol(s))
    }
}

/// One record of every kind, at `version`.
pub fn every_kind(version: u64) -> Vec<Record> {
    vec![
        Record::Balance(balance("USDT", "1000.50", "0.00", version)),
        Record::Position(position("BTCUSDT", version)),
        Record::Position(closed_position("ETHUSDT", version)),
        Record::PositionHistory(closed_position("ETHUSDT", version)),
        Record::Dust(dust("SHIB", version)),
        Record::Order(order("BTCUSDT", 12345, version)),
        Record::Trade(trade("BTCUSDT", 987654321, version)),
        Record::Cursor(cursor("BTCUSDT", version)),
    ]
}

/// A correction creating `record` (which must be at version 1).
pub fn insert(kind: CorrectionKind, record: Record) -> Correction {
    Correction {
        kind,
        expect: Expect::Absent,
        before: None,
        after: record,
        reason: "missing in database".into(),
    }
}

/// A correction replacing `before` with `after` (after.version = before.version + 1).
pub fn update(kind: CorrectionKind, before: Record, after: Record) -> Correction {
    let v = keys::record_version(&before);
    Correction {
        kind,
        expect: Expect::Version(v),
        before: Some(before),
        after,
        reason: "exchange differs".into(),
    }
}

/// What a scenario needs beyond the `Store` port: play the bot, count what is stored.
pub trait Harness: Store {
    /// Write `record` as the bot does: conditional on the version it read, version + 1.
    fn bot_write(&self, account: &AccountId, record: Record)
        -> impl Future<Output = Record> + Send;
    /// (record items, audit items) in the account's partition.
    fn counts(&self, account: &AccountId) -> impl Future<Output = (usize, usize)> + Send;
}

impl Harness for MemoryStore {
    async fn bot_write(&self, account: &AccountId, record: Record) -> Record {
        self.put_bot_record(account, record)
    }
    async fn counts(&self, account: &AccountId) -> (usize, usize) {
        let n = self.records(account).every_record().count();
        (n, self.audit(account).len())
    }
}

pub async fn partition_items(store: &DynamoStore, account: &AccountId) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = store
            .client()
            .query()
            .table_name(store.table())
            .consistent_read(true)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(keys::pk(account)))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return items,
        }
    }
}

impl Harness for DynamoStore {
    async fn bot_write(&self, account: &AccountId, mut record: Record) -> Record {
        let pk = keys::pk(account);
        let sk = keys::record_sk(&record);
        let current = self
            .client()
            .get_item()
            .table_name(self.table())
            .consistent_read(true)
            .key("pk", AttributeValue::S(pk.clone()))
            .key("sk", AttributeValue::S(sk))
            .send()
            .await
            .unwrap()
            .item
            .and_then(|it| {
                it.get("version")
                    .and_then(|v| v.as_n().ok())
                    .map(|n| n.parse::<u64>().unwrap())
            });
        keys::set_record_version(&mut record, current.map_or(1, |v| v + 1));
        let item = encode_record(&pk, &record).unwrap().item;
        let put = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item));
        let put = match current {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
        };
        put.send().await.unwrap();
        record
    }
    async fn counts(&self, account: &AccountId) -> (usize, usize) {
        let items = partition_items(self, account).await;
        let entity = |it: &Item| {
            it.get("entity")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let audits = items.iter().filter(|it| entity(it) == "audit").count();
        let records = items
            .iter()
            .filter(|it| {
                [
                    "balance",
                    "position",
                    "position_history",
                    "dust",
                    "order",
                    "trade",
                    "cursor",
                ]
                .contains(&entity(it).as_str())
            })
            .count();
        (records, audits)
    }
}

// ---------------------------------------------------------------- scenarios

pub async fn every_kind_round_trips_through_the_store<S: Harness>(store: &S) {
    let acct = account();
    let records = every_kind(1);
    let corrections: Vec<_> = records
        .iter()
        .cloned()
        .map(|r| insert(CorrectionKind::OrderRecorded, r))
        .collect();
    let out = store
        .apply(&acct, "run-rt", NOW, &corrections)
        .await
        .unwrap();
    assert_eq!(out.applied.len(), records.len(), "{out:?}");
    assert!(out.conflicts.is_empty());
    let (loaded, _) = store.load(&acct).await.unwrap();
    let got: Vec<Record> = loaded.every_record().collect();
    for r in &records {
        assert!(got.contains(r), "{r:?} not loaded back; got {got:?}");
    }
    assert_eq!(got.len(), records.len());
}

pub async fn bot_write_wins_over_stale_correction<S: Harness>(store: &S) {
    let acct = account();
    let v1 = store
        .bot_write(&acct, Record::Balance(balance("USDT", "100", "0", 0)))
        .await;
    let (loaded, _) = store.load(&acct).await.unwrap();
    let read = Record::Balance(loaded.balances[&asset("USDT")].clone());
    assert_eq!(read, v1);
    // The bot writes between the sync's read and its write.
    let mut bot = balance("USDT", "90.5", "9.5", 0);
    bot.updated_by = Writer::Bot;
    let bot_now = store.bot_write(&acct, Record::Balance(bot)).await;
    assert_eq!(keys::record_version(&bot_now), 2);
    // The sync's correction was planned from version 1.
    let stale = update(
        CorrectionKind::BalanceCorrected,
        read,
        Record::Balance(balance("USDT", "250", "0", 2)),
    );
    let out = store
        .apply(&acct, "run-stale", NOW, std::slice::from_ref(&stale))
        .await
        .unwrap();
    assert!(out.applied.is_empty(), "{out:?}");
    assert_eq!(out.conflicts.len(), 1);
    assert_eq!(out.conflicts[0].correction, stale);
    assert_eq!(
        out.conflicts[0].current.as_ref(),
        Some(&bot_now),
        "the conflict carries the bot's item"
    );
    let (after, _) = store.load(&acct).await.unwrap();
    assert_eq!(
        Record::Balance(after.balances[&asset("USDT")].clone()),
        bot_now,
        "bot's data intact"
    );
    assert_eq!(
        store.counts(&acct).await,
        (1, 0),
        "no audit record for a refused correction"
    );
}

pub async fn retried_apply_with_same_run_id_writes_nothing_twice<S: Harness>(store: &S) {
    let acct = account();
    let before = store
        .bot_write(&acct, Record::Balance(balance("BTC", "1", "0", 0)))
        .await;
    let corrections = vec![
        update(
            CorrectionKind::BalanceCorrected,
            before,
            Record::Balance(balance("BTC", "1.00000001", "0", 2)),
        ),
        insert(
            CorrectionKind::TradeRecovered,
            Record::Trade(trade("BTCUSDT", 1, 1)),
        ),
        insert(
            CorrectionKind::PositionRecovered,
            Record::Position(position("BTCUSDT", 1)),
        ),
    ];
    let first = store
        .apply(&acct, "run-retry", NOW, &corrections)
        .await
        .unwrap();
    assert_eq!(first.applied.len(), 3, "{first:?}");
    let second = store
        .apply(&acct, "run-retry", NOW, &corrections)
        .await
        .unwrap();
    assert_eq!(
        second.applied, corrections,
        "a retry of the same run reports them applied: {second:?}"
    );
    assert!(second.conflicts.is_empty());
    assert_eq!(
        store.counts(&acct).await,
        (3, 3),
        "one item and one audit record each"
    );
    let audit = store.audit_since(&acct, 0).await.unwrap();
    assert_eq!(audit.len(), 3);
    let (loaded, _) = store.load(&acct).await.unwrap();
    assert_eq!(loaded.balances[&asset("BTC")].version, 2);
}

pub async fn insert_trade_twice_is_a_noop_not_a_duplicate<S: Harness>(store: &S) {
    let acct = account();
    let t = insert(
        CorrectionKind::TradeRecovered,
        Record::Trade(trade("ETHUSDT", 42, 1)),
    );
    let a = store
        .apply(&acct, "run-a", NOW, std::slice::from_ref(&t))
        .await
        .unwrap();
    assert_eq!(a.applied.len(), 1);
    // A later run that planned the same insert from a stale read.
    let b = store
        .apply(&acct, "run-b", NOW + 1, std::slice::from_ref(&t))
        .await
        .unwrap();
    assert!(b.applied.is_empty(), "{b:?}");
    assert_eq!(b.conflicts.len(), 1);
    assert_eq!(b.conflicts[0].current.as_ref(), Some(&t.after));
    assert_eq!(store.counts(&acct).await, (1, 1));
}

pub async fn lease_is_exclusive_until_expiry<S: Harness>(store: &S) {
    let acct = account();
    let lease_ms = 60_000;
    assert_eq!(
        store
            .acquire_lease(&acct, "run-1", NOW, NOW + lease_ms)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
    assert_eq!(
        store
            .acquire_lease(&acct, "run-2", NOW + 1, NOW + 1 + lease_ms)
            .await
            .unwrap(),
        LeaseOutcome::Held {
            owner: "run-1".into(),
            expires_at: NOW + lease_ms
        }
    );
    // The holder may renew.
    assert_eq!(
        store
            .acquire_lease(&acct, "run-1", NOW + 2, NOW + lease_ms)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
    // At the expiry instant it is still held; after it, it is taken over.
    assert!(matches!(
        store
            .acquire_lease(&acct, "run-2", NOW + lease_ms, NOW + 2 * lease_ms)
            .await
            .unwrap(),
        LeaseOutcome::Held { .. }
    ));
    assert_eq!(
        store
            .acquire_lease(&acct, "run-2", NOW + lease_ms + 1, NOW + 2 * lease_ms)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
    // The old owner can no longer finish; the new one can, which releases the lease.
    let state = SyncState {
        last_run_id: Some("run-2".into()),
        last_success_at: Some(NOW + lease_ms + 5),
        last_attempt_at: Some(NOW + lease_ms + 1),
        digest: [(
            binance_account_sync::domain::Asset::parse("BTC").unwrap(),
            binance_account_sync::domain::AssetDigest {
                free: Decimal::from_str("0.12345678").unwrap(),
                locked: Decimal::from_str("1.5").unwrap(),
                explained: Decimal::from_str("-0.001").unwrap(),
                misses: 1,
                since: NOW - 7,
                moved_at: Some(NOW + 3),
                unread_since: Some(NOW + 2),
                uncertain: Decimal::from_str("-0.00042").unwrap(),
            },
        )]
        .into_iter()
        .collect(),
        emergency: Some(binance_account_sync::domain::EmergencyScope {
            requested_at: NOW - 7,
            lookback_start: NOW - 30 * 86_400_000,
            opened_by: Some("run-that-opened-it".into()),
        }),
        rescan_owed: Some(binance_account_sync::domain::EmergencyScope {
            requested_at: NOW - 90_000,
            lookback_start: NOW - 7 * 86_400_000,
            opened_by: None,
        }),
        banned_until: Some(NOW + 120_000),
        last_outcome: Some("partial: deadline reached".into()),
        alerted: [("balance:USDT".to_string(), NOW)].into_iter().collect(),
        flow_kinds_unavailable: [binance_account_sync::domain::FlowKind::SubAccountTransfer]
            .into_iter()
            .collect(),
        ..SyncState::default()
    };
    let summary = serde_json::json!({"run_id": "run-2", "corrections": 0});
    assert!(store
        .finish_run(&acct, "run-1", &state, &summary)
        .await
        .is_err());
    store
        .finish_run(&acct, "run-2", &state, &summary)
        .await
        .unwrap();
    let (loaded, _) = store.load(&acct).await.unwrap();
    assert_eq!(loaded.state.lease_owner, None);
    assert_eq!(loaded.state.last_run_id.as_deref(), Some("run-2"));
    assert!(
        loaded.state.alerted.is_empty(),
        "finish_run never writes the alert state: only save_alert_state owns it"
    );
    assert_eq!(
        loaded.state.digest, state.digest,
        "the digest round-trips exactly"
    );
    assert_eq!(loaded.state.emergency, state.emergency);
    assert_eq!(loaded.state.rescan_owed, state.rescan_owed);
    assert_eq!(loaded.state.banned_until, state.banned_until);
    assert_eq!(loaded.state.last_outcome, state.last_outcome);
    assert_eq!(
        loaded.state.flow_kinds_unavailable, state.flow_kinds_unavailable,
        "the unavailable flow kinds round-trip"
    );
    assert!(
        loaded.state.version >= 4,
        "every lease write increments the version: {:?}",
        loaded.state
    );
    assert_eq!(
        store
            .acquire_lease(&acct, "run-3", NOW + lease_ms + 10, NOW + 3 * lease_ms)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
}

pub async fn every_correction_has_exactly_one_audit_record<S: Harness>(store: &S) {
    let acct = account();
    let before = store
        .bot_write(&acct, Record::Order(order("BTCUSDT", 5, 0)))
        .await;
    let mut filled = order("BTCUSDT", 5, 2);
    filled.status = OrderStatus::Filled;
    filled.executed_qty = dec("0.001");
    filled.updated_by = Writer::Sync;
    let corrections = vec![
        update(CorrectionKind::OrderUpdated, before, Record::Order(filled)),
        insert(
            CorrectionKind::CursorAdvanced,
            Record::Cursor(cursor("BTCUSDT", 1)),
        ),
        insert(CorrectionKind::DustRecorded, Record::Dust(dust("PEPE", 1))),
    ];
    let out = store
        .apply(&acct, "run-audit", NOW, &corrections)
        .await
        .unwrap();
    assert_eq!(out.applied.len(), 3);
    let audit = store.audit_since(&acct, NOW).await.unwrap();
    assert_eq!(audit.len(), 3);
    for (entry, c) in audit.iter().zip(&corrections) {
        assert_eq!(
            &entry.correction, c,
            "audit records the correction with before/after and reason"
        );
        assert_eq!(entry.run_id, "run-audit");
        assert_eq!(entry.at, NOW);
        assert_eq!(entry.source, "binance-account-sync");
    }
    assert!(
        store.audit_since(&acct, NOW + 1).await.unwrap().is_empty(),
        "audit since is a time range"
    );
}

/// Store level: a closing and a zeroing correction are updates of the items, never
/// removals. The whole-sync guarantee ("nothing is ever deleted", every item listed raw)
/// is `tests/support/scenarios.rs` `nothing_is_ever_deleted`.
pub async fn closing_a_position_and_zeroing_a_balance_keep_every_item<S: Harness>(store: &S) {
    let acct = account();
    let mut written = Vec::new();
    for r in every_kind(0) {
        written.push(store.bot_write(&acct, r).await);
    }
    // Close the position, zero the balance: updates, never deletes.
    let pos = written
        .iter()
        .find(|r| matches!(r, Record::Position(_)))
        .cloned()
        .unwrap();
    let bal = written
        .iter()
        .find(|r| matches!(r, Record::Balance(_)))
        .cloned()
        .unwrap();
    let corrections = vec![
        update(
            CorrectionKind::PositionClosed,
            pos,
            Record::Position(closed_position("BTCUSDT", 2)),
        ),
        update(
            CorrectionKind::BalanceCorrected,
            bal,
            Record::Balance(balance("USDT", "0", "0", 2)),
        ),
    ];
    let out = store
        .apply(&acct, "run-del", NOW, &corrections)
        .await
        .unwrap();
    assert_eq!(out.applied.len(), 2, "{out:?}");
    let (records, audits) = store.counts(&acct).await;
    assert_eq!(records, written.len());
    assert_eq!(audits, 2);
    let (loaded, _) = store.load(&acct).await.unwrap();
    assert_eq!(loaded.balances[&asset("USDT")].free, Decimal::ZERO);
    assert_eq!(
        loaded.positions[&symbol("BTCUSDT")].status,
        PositionStatus::Closed
    );
    assert_eq!(
        loaded.positions[&symbol("BTCUSDT")].exit_price,
        Some(dec("65000.1"))
    );
}

pub async fn many_corrections_span_several_transactions<S: Harness>(store: &S, n: usize) {
    let acct = account();
    let corrections: Vec<_> = (0..n as u64)
        .map(|i| {
            insert(
                CorrectionKind::TradeRecovered,
                Record::Trade(trade("BTCUSDT", i, 1)),
            )
        })
        .collect();
    // One already exists (written by the bot): a conflict in the middle of a chunk.
    let mut bot_trade = trade("BTCUSDT", 77, 0);
    bot_trade.recovered = false;
    let bot = store.bot_write(&acct, Record::Trade(bot_trade)).await;
    let out = store
        .apply(&acct, "run-many", NOW, &corrections)
        .await
        .unwrap();
    assert_eq!(out.applied.len(), n - 1, "conflicts: {:?}", out.conflicts);
    assert_eq!(out.conflicts.len(), 1);
    assert_eq!(out.conflicts[0].current.as_ref(), Some(&bot));
    assert_eq!(store.counts(&acct).await, (n, n - 1));
    let (loaded, _) = store.load(&acct).await.unwrap();
    assert_eq!(loaded.trades.len(), n);
    assert_eq!(store.audit_since(&acct, 0).await.unwrap().len(), n - 1);
}

pub async fn retry_finds_its_audit_record_even_when_the_request_differs<S: Harness>(store: &S) {
    let acct = account();
    let before = store
        .bot_write(&acct, Record::Balance(balance("SOL", "3", "0", 0)))
        .await;
    let c0 = update(
        CorrectionKind::BalanceCorrected,
        before,
        Record::Balance(balance("SOL", "3.25", "0", 2)),
    );
    let c1 = insert(
        CorrectionKind::TradeRecovered,
        Record::Trade(trade("SOLUSDT", 3, 1)),
    );
    let first = store
        .apply(&acct, "run-r", NOW, &[c0.clone(), c1])
        .await
        .unwrap();
    assert_eq!(first.applied.len(), 2);
    // The retried invocation planned only the first correction: another request (another
    // client token), same audit key for seq 0.
    let again = store
        .apply(&acct, "run-r", NOW, std::slice::from_ref(&c0))
        .await
        .unwrap();
    assert_eq!(again.applied, vec![c0], "{again:?}");
    assert!(again.conflicts.is_empty());
    assert_eq!(store.counts(&acct).await, (2, 2));
}

/// The alert de-duplication map survives a run's `finish_run` (which carries a stale
/// copy) and a cold start: it lives in the sync-state item, written only by
/// `save_alert_state`.
pub async fn alert_state_survives_runs_and_is_owned_by_save_alert_state<S: Store>(store: &S) {
    let acct = account();
    let alerted: std::collections::BTreeMap<String, binance_account_sync::domain::Millis> =
        [("balance:USDT".to_string(), NOW)].into_iter().collect();
    store
        .save_alert_state(&acct, &alerted, Some(NOW - 5))
        .await
        .unwrap();
    assert_eq!(
        store
            .acquire_lease(&acct, "run-a", NOW, NOW + 60_000)
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );
    // The run loaded the state before the alert was saved: its copy has no alerts.
    let stale = SyncState {
        last_run_id: Some("run-a".into()),
        last_attempt_at: Some(NOW),
        last_success_at: Some(NOW + 1),
        ..SyncState::default()
    };
    store
        .finish_run(
            &acct,
            "run-a",
            &stale,
            &serde_json::json!({"run_id": "run-a"}),
        )
        .await
        .unwrap();
    let state = store.state(&acct).await.unwrap();
    assert_eq!(state.alerted, alerted);
    assert_eq!(state.last_security_check_at, Some(NOW - 5));
    assert_eq!(state.last_success_at, Some(NOW + 1));
}
