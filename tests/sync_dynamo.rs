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
