//! The whole sync (simulator → Binance adapter → `run_sync` → store) on the in-memory
//! store. The scenarios live in `tests/support/scenarios.rs`; `tests/sync_dynamo.rs` runs
//! the same ones on DynamoDB.

mod support;

use support::{memory_store, scenarios};

#[tokio::test]
async fn bot_write_racing_the_sync_survives() {
    scenarios::bot_write_racing_the_sync_survives(memory_store()).await;
}

#[tokio::test]
async fn two_syncs_started_at_once_one_runs_one_reports_lease_held() {
    scenarios::two_syncs_started_at_once_one_runs_one_reports_lease_held(memory_store()).await;
}

#[tokio::test]
async fn retried_invocation_writes_nothing_twice() {
    scenarios::retried_invocation_writes_nothing_twice(memory_store()).await;
}

#[tokio::test]
async fn dry_run_reports_the_full_plan_and_changes_nothing() {
    scenarios::dry_run_reports_the_full_plan_and_changes_nothing(memory_store()).await;
}

#[tokio::test]
async fn a_quiet_symbol_read_again_within_a_day_reads_no_order_history() {
    scenarios::a_quiet_symbol_read_again_within_a_day_reads_no_order_history(memory_store()).await;
}

#[tokio::test]
async fn a_symbol_with_a_new_fill_reads_its_order_history_and_only_it() {
    scenarios::a_symbol_with_a_new_fill_reads_its_order_history_and_only_it(memory_store()).await;
}

#[tokio::test]
async fn a_symbol_with_orders_pending_reads_its_order_history() {
    scenarios::a_symbol_with_orders_pending_reads_its_order_history(memory_store()).await;
}

#[tokio::test]
async fn a_symbol_whose_order_history_was_read_a_day_ago_reads_it_again() {
    scenarios::a_symbol_whose_order_history_was_read_a_day_ago_reads_it_again(memory_store()).await;
}

#[tokio::test]
async fn an_order_placed_and_cancelled_with_no_fill_gets_its_record_within_the_bound() {
    scenarios::an_order_placed_and_cancelled_with_no_fill_gets_its_record_within_the_bound(
        memory_store(),
    )
    .await;
}

#[tokio::test]
async fn owner_actions_while_bot_down_are_recovered() {
    scenarios::owner_actions_while_bot_down_are_recovered(memory_store()).await;
}

#[tokio::test]
async fn periodic_run_with_nothing_changed_uses_little_weight() {
    scenarios::periodic_run_with_nothing_changed_uses_little_weight(memory_store()).await;
}

#[tokio::test]
async fn position_closed_while_bot_down_gets_exit_price() {
    scenarios::position_closed_while_bot_down_gets_exit_price(memory_store()).await;
}

#[tokio::test]
async fn a_fee_whose_minute_price_cannot_be_read_waits_then_is_flagged_and_repriced() {
    scenarios::a_fee_whose_minute_price_cannot_be_read_waits_then_is_flagged_and_repriced(
        memory_store(),
    )
    .await;
}

#[tokio::test]
async fn partial_run_at_deadline_resumes_next_run() {
    scenarios::partial_run_at_deadline_resumes_next_run(memory_store()).await;
}

#[tokio::test]
async fn weight_budget_exhaustion_gives_a_partial_report() {
    scenarios::weight_budget_exhaustion_gives_a_partial_report(memory_store()).await;
}

#[tokio::test]
async fn unknown_order_is_not_cancelled() {
    scenarios::unknown_order_is_not_cancelled(memory_store()).await;
}

#[tokio::test]
async fn partial_then_resumed_run_ends_where_one_complete_run_ends() {
    scenarios::partial_then_resumed_run_ends_where_one_complete_run_ends(memory_store()).await;
}

// The account shapes of the bounded-runs issue (tests/support/shapes.rs).

use support::shapes;

#[tokio::test]
async fn delisted_symbol_is_skipped_noted_and_its_records_kept() {
    shapes::delisted_symbol_is_skipped_noted_and_its_records_kept(memory_store()).await;
}

#[tokio::test]
async fn bot_fills_recovered_within_two_periodic_runs_beside_30_quiet_symbols() {
    shapes::bot_fills_recovered_within_two_periodic_runs_beside_30_quiet_symbols(memory_store())
        .await;
}

#[tokio::test]
async fn twelve_thousand_missed_fills_recorded_within_two_runs_none_twice() {
    shapes::twelve_thousand_missed_fills_recorded_within_two_runs_none_twice(memory_store()).await;
}

#[tokio::test]
async fn quiet_run_reads_as_much_at_1000_as_at_20000_recorded_fills() {
    shapes::quiet_run_reads_as_much_at_1000_as_at_many_recorded_fills(
        || Box::pin(async { memory_store() }),
        |s: &binance_account_sync::store::memory::MemoryStore| s.items_read(),
        20_000,
    )
    .await;
}

#[tokio::test]
async fn quiet_symbol_emergency_read_costs_one_request() {
    shapes::quiet_symbol_emergency_read_costs_one_request(memory_store()).await;
}

#[tokio::test]
async fn malformed_bot_item_is_skipped_and_reported() {
    shapes::malformed_bot_item_is_skipped_and_reported(memory_store(), async |s, a, sk| {
        s.put_malformed(a, sk, "free must be N, got S(\"lots\")")
    })
    .await;
}

#[tokio::test]
async fn run_cut_inside_a_symbols_pages_goes_on_from_the_cut() {
    shapes::run_cut_inside_a_symbols_pages_goes_on_from_the_cut(memory_store()).await;
}

#[tokio::test]
async fn interrupted_emergency_is_finished_by_the_next_runs() {
    shapes::interrupted_emergency_is_finished_by_the_next_runs(memory_store()).await;
}

#[tokio::test]
async fn existing_table_migrates_and_its_basis_is_rebuilt() {
    use binance_account_sync::domain::{BasisState, CursorRecord, Record, Symbol};
    shapes::existing_table_migrates_and_its_basis_is_rebuilt(
        memory_store(),
        async |s, a, symbol, last| {
            // What a layout-1 cursor decodes to: trade ids only, the basis to rebuild.
            s.put_bot_record(
                a,
                Record::Cursor(CursorRecord {
                    last_trade_id: Some(last),
                    covered_through: Some(0),
                    basis_state: BasisState::Rebuilding,
                    ..CursorRecord::new(Symbol::parse(symbol).expect("symbol"))
                }),
            );
        },
    )
    .await;
}

#[tokio::test]
async fn emergency_rescan_finds_fills_missing_below_the_checkpoint() {
    shapes::emergency_rescan_finds_fills_missing_below_the_checkpoint(memory_store()).await;
}

#[tokio::test]
async fn one_millisecond_full_of_fills_is_read_order_by_order() {
    shapes::one_millisecond_full_of_fills_is_read_order_by_order(memory_store()).await;
}

#[tokio::test]
async fn a_fill_that_reaches_the_history_late_is_recovered_by_the_next_run() {
    shapes::a_fill_that_reaches_the_history_late_is_recovered_by_the_next_run(memory_store()).await;
}

#[tokio::test]
async fn recovered_entry_price_is_the_average_cost_rounded_to_8_decimals() {
    shapes::recovered_entry_price_is_the_average_cost_rounded_to_8_decimals(memory_store()).await;
}

#[tokio::test]
async fn nothing_is_ever_deleted() {
    scenarios::nothing_is_ever_deleted(memory_store()).await;
}

#[tokio::test]
async fn an_order_placed_and_filled_between_runs_gets_a_record() {
    scenarios::an_order_placed_and_filled_between_runs_gets_a_record(memory_store()).await;
}
