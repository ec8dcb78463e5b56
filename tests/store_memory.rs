//! The in-memory store passes the same behaviour scenarios as the DynamoDB store.

mod store_support;

use binance_account_sync::store::memory::MemoryStore;
use store_support as s;

#[tokio::test]
async fn every_kind_round_trips_through_the_store() {
    s::every_kind_round_trips_through_the_store(&MemoryStore::new()).await;
}

#[tokio::test]
async fn bot_write_wins_over_stale_correction() {
    s::bot_write_wins_over_stale_correction(&MemoryStore::new()).await;
}

#[tokio::test]
async fn retried_apply_with_same_run_id_writes_nothing_twice() {
    s::retried_apply_with_same_run_id_writes_nothing_twice(&MemoryStore::new()).await;
}

#[tokio::test]
async fn insert_trade_twice_is_a_noop_not_a_duplicate() {
    s::insert_trade_twice_is_a_noop_not_a_duplicate(&MemoryStore::new()).await;
}

#[tokio::test]
async fn lease_is_exclusive_until_expiry() {
    s::lease_is_exclusive_until_expiry(&MemoryStore::new()).await;
}

#[tokio::test]
async fn every_correction_has_exactly_one_audit_record() {
    s::every_correction_has_exactly_one_audit_record(&MemoryStore::new()).await;
}

#[tokio::test]
async fn closing_a_position_and_zeroing_a_balance_keep_every_item() {
    s::closing_a_position_and_zeroing_a_balance_keep_every_item(&MemoryStore::new()).await;
}

#[tokio::test]
async fn many_corrections_are_applied_with_their_conflicts() {
    s::many_corrections_span_several_transactions(&MemoryStore::new(), 120).await;
}

#[tokio::test]
async fn bot_writes_increment_the_version() {
    let store = MemoryStore::new();
    let acct = s::account();
    let r = binance_account_sync::domain::Record::Dust(s::dust("XRP", 42));
    assert_eq!(
        binance_account_sync::store::keys::record_version(&store.put_bot_record(&acct, r.clone())),
        1
    );
    assert_eq!(
        binance_account_sync::store::keys::record_version(&store.put_bot_record(&acct, r)),
        2
    );
}

#[tokio::test]
async fn retry_finds_its_audit_record_even_when_the_request_differs() {
    s::retry_finds_its_audit_record_even_when_the_request_differs(&MemoryStore::new()).await;
}

#[tokio::test]
async fn alert_state_survives_runs_and_is_owned_by_save_alert_state() {
    s::alert_state_survives_runs_and_is_owned_by_save_alert_state(&MemoryStore::new()).await;
}
