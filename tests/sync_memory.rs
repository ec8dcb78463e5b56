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
