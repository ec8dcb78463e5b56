//! The account-wide step after the symbols: the ledger's flows, balances, the digest, and whether
//! the emergency scope is finished.

use super::account::View;
use super::apply::apply_plan;
use super::{is_fatal, Done, Run, SyncError};
use crate::core::scope::{self, DigestInput, DAY_MS};
use crate::core::{self, Mode, ReconcileInput};
use crate::domain::{ExchangeSnapshot, FlowRead, Millis, SyncState};
use crate::exchange::{Exchange, ExchangeError};
use crate::store::{LoadScope, Store};

pub(crate) async fn settle<E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
    view: &mut View,
    state: &SyncState,
) -> Result<Done, SyncError> {
    let mut snapshot = ExchangeSnapshot {
        taken_at: view.taken_at,
        balances_server_time: view.server_time,
        account_update_time: view.account_update_time,
        balances: view.balances.clone(),
        symbols: view.symbols.clone(),
        prices: view.prices.clone(),
        ..ExchangeSnapshot::default()
    };

    // The ledger's flows (deposits, withdrawals, ...), when some asset moved or a flow
    // is still followed: they explain balance changes (`core::ledger::read_from` says
    // from when). The wallet endpoints have their own limits; failing one loses only its
    // kind's explanation this run.
    let lookback = Millis::from(run.rules.periodic_lookback_days) * DAY_MS;
    let since = core::ledger::read_from(state, view.taken_at, lookback);
    let follow = !view.movement.moved.is_empty() || state.ledger_open_since.is_some();
    // A kind not read (its endpoint failed, or the run had to stop first) is owed.
    let mut owed = follow && !run.may_continue();
    // A kind the account cannot read at all (a master account has no sub-account
    // transfers) explains nothing and is owed nothing: noted when first found only.
    let mut unavailable = state.flow_kinds_unavailable.clone();
    if follow && run.may_continue() {
        for kind in run.exchange.flow_kinds() {
            match run.exchange.flows(*kind, since).await {
                Ok(flows) => {
                    unavailable.remove(kind);
                    snapshot.flows.push(FlowRead {
                        kind: *kind,
                        flows,
                        since,
                    })
                }
                Err(e @ ExchangeError::NotAvailable { .. }) => {
                    if unavailable.insert(*kind) {
                        tracing::info!(error = %e, kind = kind.as_str(), "flow history not available to this account");
                        run.report.notes.push(format!(
                            "{} history not available to this account ({e}): none of its flows to explain; not reported again while it stays so",
                            kind.as_str().replace('_', " "),
                        ));
                    }
                }
                Err(e) if is_fatal(&e) => return Err(e.into()),
                Err(e) => {
                    owed = true;
                    tracing::warn!(error = %e, kind = kind.as_str(), "flow history unavailable");
                    run.report.notes.push(format!(
                        "{} history unavailable ({}): its flows explain no movement this run",
                        kind.as_str().replace('_', " "),
                        e.kind()
                    ));
                }
            }
        }
    }
    run.units += 1;

    // The balance records the run started from (`account.rs`), their malformed items
    // reported by this step.
    let mut records = crate::domain::Records {
        balances: view.records.balances.clone(),
        skipped: view.balances_skipped.clone(),
        ..crate::domain::Records::default()
    };
    if !snapshot.flows.is_empty() {
        let (ledger, units) = run
            .store
            .load_scoped(
                &run.request.account,
                &LoadScope::Ledger {
                    from_time: core::ledger::records_from(since),
                },
            )
            .await?;
        run.report.dynamodb_capacity_units += units;
        records.ledger = ledger.ledger;
        records.skipped.extend(ledger.skipped);
    }
    records.state = state.clone();
    let input = ReconcileInput {
        snapshot: &snapshot,
        records: &records,
        config: run.rules,
        mode: run.mode,
        now: super::now_ms(),
    };
    let moves = core::ledger::flow_moves(&input);
    let plan = core::plan_balances_with(&input, &run.recovered, &moves);
    let mut ledger_open_since = state.ledger_open_since;
    if run.limits.out_of_time() {
        run.stop("deadline reached before the balances step");
    } else {
        if !snapshot.flows.is_empty() {
            ledger_open_since = core::ledger::open_since(&input);
        }
        apply_plan(run, &plan, &mut records).await?;
    }
    if owed {
        ledger_open_since = core::ledger::owed(ledger_open_since, since, view.taken_at);
    }

    // The digest: an asset's baseline advances only when what this run read explains it.
    let (digest, reports) = scope::advance_digest(&DigestInput {
        digest: &state.digest,
        balances: &view.balances,
        movement: &run.movement,
        flows: &moves,
        cursors: &view.records.cursors,
        symbols: &view.symbols,
        positions: &view.records.positions,
        open_orders_read: view.open_orders.is_some(),
        run_complete: run.stopped.is_none(),
        now: view.taken_at,
        server_time: view.server_time,
        config: run.rules,
    });
    run.report.discrepancies.extend(reports);
    run.report.symbols_uncovered =
        scope::uncovered(&view.records.cursors, run.rules, super::now_ms())
            .into_iter()
            .map(|(s, _)| s.to_string())
            .collect();

    // The emergency scope is finished once a run read all of it without stopping early
    // (a symbol whose unit failed is reported and backs off; it does not hold it open).
    let emergency = view
        .emergency
        .clone()
        .filter(|_| run.mode == Mode::Emergency && run.stopped.is_some());
    // The findings the checkpoints kept are in this run's report: cleared once its
    // summary is stored (`run_sync`), so a run that fails before that loses none.
    let now = super::now_ms();
    let reported: Vec<_> = view
        .records
        .cursors
        .values()
        .filter(|c| !c.unreported.is_empty())
        .map(|c| core::checkpoint::reported(c, now))
        .collect();
    // Closed over checkpoints that did not complete it, it stays owed by them.
    let closing = view
        .emergency
        .as_ref()
        .filter(|_| run.mode == Mode::Emergency && run.stopped.is_none());
    let rescan_owed = scope::rescan_owed(
        closing,
        view.owed.as_ref(),
        &view.records.cursors,
        &view.symbols,
    );
    Ok(Done {
        digest,
        ledger_open_since,
        flow_kinds_unavailable: unavailable,
        emergency,
        rescan_owed,
        reported,
    })
}
