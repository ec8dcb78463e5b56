//! The whole sync (simulator → Binance adapter → `run_sync` → store) on the DynamoDB
//! store, against the local emulator: run with `scripts/with-stack.sh cargo test --test
//! sync_dynamo`. Without `AWS_ENDPOINT_URL` every test FAILS (never skips). The scenarios
//! live in `tests/support/scenarios.rs`; `tests/sync_memory.rs` runs the same ones in memory.

mod support;

use support::{dynamo_store, scenarios};

#[tokio::test]
async fn bot_write_racing_the_sync_survives() {
    scenarios::bot_write_racing_the_sync_survives(dynamo_store().await).await;
}

#[tokio::test]
async fn two_syncs_started_at_once_one_runs_one_reports_lease_held() {
    scenarios::two_syncs_started_at_once_one_runs_one_reports_lease_held(dynamo_store().await)
        .await;
}

#[tokio::test]
async fn retried_invocation_writes_nothing_twice() {
    scenarios::retried_invocation_writes_nothing_twice(dynamo_store().await).await;
}

#[tokio::test]
async fn dry_run_reports_the_full_plan_and_changes_nothing() {
    scenarios::dry_run_reports_the_full_plan_and_changes_nothing(dynamo_store().await).await;
}

#[tokio::test]
async fn a_quiet_symbol_read_again_within_a_day_reads_no_order_history() {
    scenarios::a_quiet_symbol_read_again_within_a_day_reads_no_order_history(dynamo_store().await)
        .await;
}

#[tokio::test]
async fn a_symbol_with_a_new_fill_reads_its_order_history_and_only_it() {
    scenarios::a_symbol_with_a_new_fill_reads_its_order_history_and_only_it(dynamo_store().await)
        .await;
}

#[tokio::test]
async fn a_symbol_with_orders_pending_reads_its_order_history() {
    scenarios::a_symbol_with_orders_pending_reads_its_order_history(dynamo_store().await).await;
}

#[tokio::test]
async fn a_symbol_whose_order_history_was_read_a_day_ago_reads_it_again() {
    scenarios::a_symbol_whose_order_history_was_read_a_day_ago_reads_it_again(dynamo_store().await)
        .await;
}

#[tokio::test]
async fn an_order_placed_and_cancelled_with_no_fill_gets_its_record_within_the_bound() {
    scenarios::an_order_placed_and_cancelled_with_no_fill_gets_its_record_within_the_bound(
        dynamo_store().await,
    )
    .await;
}

#[tokio::test]
async fn owner_actions_while_bot_down_are_recovered() {
    scenarios::owner_actions_while_bot_down_are_recovered(dynamo_store().await).await;
}

#[tokio::test]
async fn periodic_run_with_nothing_changed_uses_little_weight() {
    scenarios::periodic_run_with_nothing_changed_uses_little_weight(dynamo_store().await).await;
}

#[tokio::test]
async fn position_closed_while_bot_down_gets_exit_price() {
    scenarios::position_closed_while_bot_down_gets_exit_price(dynamo_store().await).await;
}

#[tokio::test]
async fn a_fee_whose_minute_price_cannot_be_read_waits_then_is_flagged_and_repriced() {
    scenarios::a_fee_whose_minute_price_cannot_be_read_waits_then_is_flagged_and_repriced(
        dynamo_store().await,
    )
    .await;
}

#[tokio::test]
async fn partial_run_at_deadline_resumes_next_run() {
    scenarios::partial_run_at_deadline_resumes_next_run(dynamo_store().await).await;
}

#[tokio::test]
async fn weight_budget_exhaustion_gives_a_partial_report() {
    scenarios::weight_budget_exhaustion_gives_a_partial_report(dynamo_store().await).await;
}

#[tokio::test]
async fn unknown_order_is_not_cancelled() {
    scenarios::unknown_order_is_not_cancelled(dynamo_store().await).await;
}

#[tokio::test]
async fn partial_then_resumed_run_ends_where_one_complete_run_ends() {
    scenarios::partial_then_resumed_run_ends_where_one_complete_run_ends(dynamo_store().await)
        .await;
}

// The account shapes of the bounded-runs issue (tests/support/shapes.rs).

use aws_sdk_dynamodb::types::AttributeValue;
use binance_account_sync::domain::AccountId;
use binance_account_sync::store::dynamo::DynamoStore;
use binance_account_sync::store::keys;
use support::shapes;

/// Write an item the way a bot with its own idea of the schema might: raw attributes.
async fn put_raw(
    store: &DynamoStore,
    account: &AccountId,
    sk: &str,
    attrs: &[(&str, AttributeValue)],
) {
    let mut put = store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S(keys::pk(account)))
        .item("sk", AttributeValue::S(sk.to_owned()));
    for (name, value) in attrs {
        put = put.item(*name, value.clone());
    }
    put.send().await.expect("raw put");
}

#[tokio::test]
async fn delisted_symbol_is_skipped_noted_and_its_records_kept() {
    shapes::delisted_symbol_is_skipped_noted_and_its_records_kept(dynamo_store().await).await;
}

#[tokio::test]
async fn bot_fills_recovered_within_two_periodic_runs_beside_30_quiet_symbols() {
    shapes::bot_fills_recovered_within_two_periodic_runs_beside_30_quiet_symbols(
        dynamo_store().await,
    )
    .await;
}

#[tokio::test]
async fn twelve_thousand_missed_fills_recorded_within_two_runs_none_twice() {
    shapes::twelve_thousand_missed_fills_recorded_within_two_runs_none_twice(dynamo_store().await)
        .await;
}

#[tokio::test]
async fn quiet_run_reads_as_much_at_1000_as_at_20000_recorded_fills() {
    shapes::quiet_run_reads_as_much_at_1000_as_at_many_recorded_fills(
        || Box::pin(dynamo_store()),
        DynamoStore::query_requests,
        20_000,
    )
    .await;
}

#[tokio::test]
async fn quiet_symbol_emergency_read_costs_one_request() {
    shapes::quiet_symbol_emergency_read_costs_one_request(dynamo_store().await).await;
}

#[tokio::test]
async fn malformed_bot_item_is_skipped_and_reported() {
    shapes::malformed_bot_item_is_skipped_and_reported(dynamo_store().await, async |s, a, sk| {
        put_raw(
            s,
            a,
            sk,
            &[
                ("version", AttributeValue::N("1".into())),
                ("free", AttributeValue::S("lots".into())),
            ],
        )
        .await
    })
    .await;
}

#[tokio::test]
async fn run_cut_inside_a_symbols_pages_goes_on_from_the_cut() {
    shapes::run_cut_inside_a_symbols_pages_goes_on_from_the_cut(dynamo_store().await).await;
}

#[tokio::test]
async fn interrupted_emergency_is_finished_by_the_next_runs() {
    shapes::interrupted_emergency_is_finished_by_the_next_runs(dynamo_store().await).await;
}

#[tokio::test]
async fn existing_table_migrates_and_its_basis_is_rebuilt() {
    shapes::existing_table_migrates_and_its_basis_is_rebuilt(
        dynamo_store().await,
        async |s, a, symbol, last| {
            // A cursor as layout 1 wrote it: trade and order ids, no `schema`.
            put_raw(
                s,
                a,
                &format!("CURSOR#{symbol}"),
                &[
                    ("entity", AttributeValue::S("cursor".into())),
                    ("version", AttributeValue::N("3".into())),
                    ("symbol", AttributeValue::S(symbol.into())),
                    ("last_trade_id", AttributeValue::N(last.to_string())),
                    ("updated_at", AttributeValue::N("1700000000000".into())),
                ],
            )
            .await
        },
    )
    .await;
}

#[tokio::test]
async fn emergency_rescan_finds_fills_missing_below_the_checkpoint() {
    shapes::emergency_rescan_finds_fills_missing_below_the_checkpoint(dynamo_store().await).await;
}

#[tokio::test]
async fn one_millisecond_full_of_fills_is_read_order_by_order() {
    shapes::one_millisecond_full_of_fills_is_read_order_by_order(dynamo_store().await).await;
}

#[tokio::test]
async fn a_fill_that_reaches_the_history_late_is_recovered_by_the_next_run() {
    shapes::a_fill_that_reaches_the_history_late_is_recovered_by_the_next_run(dynamo_store().await)
        .await;
}

#[tokio::test]
async fn recovered_entry_price_is_the_average_cost_rounded_to_8_decimals() {
    shapes::recovered_entry_price_is_the_average_cost_rounded_to_8_decimals(dynamo_store().await)
        .await;
}

#[tokio::test]
async fn nothing_is_ever_deleted() {
    scenarios::nothing_is_ever_deleted(dynamo_store().await).await;
}

#[tokio::test]
async fn an_order_placed_and_filled_between_runs_gets_a_record() {
    scenarios::an_order_placed_and_filled_between_runs_gets_a_record(dynamo_store().await).await;
}
