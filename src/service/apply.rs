//! Applying one unit's plan: conditional writes with their audit records (the store
//! splits them into transactions of at most 100 actions, the checkpoint in the last),
//! conflicts resolved and reported, the report and the run's view kept current.

use super::{Run, SyncError};
use crate::domain::{Correction, Plan, Record, Records};
use crate::exchange::Exchange;
use crate::report::ReportedConflict;
use crate::store::Store;

/// Apply `plan` (or, in a dry run, only report it). Returns the corrections written.
/// The applied records replace their old versions in `records`, so the next unit plans
/// from what is stored.
pub(crate) async fn apply_plan<E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
    plan: &Plan,
    records: &mut Records,
) -> Result<Vec<Correction>, SyncError> {
    run.report
        .discrepancies
        .extend(plan.discrepancies.iter().cloned());
    run.report
        .explanations
        .extend(plan.explanations.iter().cloned());
    for note in &plan.notes {
        tracing::info!(account = %run.request.account, "{note}");
    }
    run.report.notes.extend(plan.notes.iter().cloned());
    if plan.corrections.is_empty() {
        return Ok(Vec::new());
    }
    let applied = if run.request.dry_run {
        plan.corrections.clone()
    } else {
        let unit_id = run.unit_id();
        let outcome = run
            .store
            .apply(
                &run.request.account,
                &unit_id,
                super::now_ms(),
                &plan.corrections,
            )
            .await?;
        run.report.dynamodb_capacity_units += outcome.capacity_units;
        for conflict in &outcome.conflicts {
            let resolution = crate::core::conflict::resolve_conflict(
                &conflict.correction,
                conflict.current.clone(),
            );
            run.report.conflicts.push(ReportedConflict {
                key: crate::report::record_key(&conflict.correction.after),
                resolution,
            });
            // The newer item is what the next unit must plan from.
            if let Some(current) = &conflict.current {
                keep(records, current.clone());
            }
        }
        outcome.applied
    };
    run.report.record_corrections(&applied);
    for c in &applied {
        keep(records, c.after.clone());
    }
    Ok(applied)
}

/// Keep the run's view of the account-wide records current (trades and orders are loaded
/// per unit and not kept).
fn keep(records: &mut Records, record: Record) {
    match record {
        Record::Trade(_) | Record::Order(_) => {}
        other => crate::store::keys::insert_record(records, other),
    }
}
