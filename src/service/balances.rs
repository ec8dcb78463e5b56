//! The account-wide step after the symbols: transfers, balances, the digest, and whether
//! the emergency scope is finished.

use super::account::View;
use super::apply::apply_plan;
use super::{is_fatal, Done, Run, SyncError};
use crate::core::scope::{self, DigestInput, DAY_MS};
use crate::core::{self, Mode, ReconcileInput};
use crate::domain::{Asset, ExchangeSnapshot, Millis, SyncState};
use crate::exchange::Exchange;
use crate::store::{LoadScope, Store};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

pub(crate) async fn settle<E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
    view: &mut View,
    state: &SyncState,
) -> Result<Done, SyncError> {
    let mut snapshot = ExchangeSnapshot {
        taken_at: view.taken_at,
        account_update_time: view.account_update_time,
        balances: view.balances.clone(),
        symbols: view.symbols.clone(),
        prices: view.prices.clone(),
        ..ExchangeSnapshot::default()
    };

    // Deposits and withdrawals, only when some asset moved: they explain balance changes.
    // The wallet endpoints have their own limits; failing them loses only the explanation.
    let mut transfers: BTreeMap<Asset, Decimal> = BTreeMap::new();
    let mut transfers_fee_inside: BTreeMap<Asset, Decimal> = BTreeMap::new();
    if !view.movement.moved.is_empty() && run.may_continue() {
        let lookback = Millis::from(run.rules.periodic_lookback_days) * DAY_MS;
        let since = state.last_success_at.unwrap_or(view.taken_at - lookback);
        match run.exchange.deposits(since).await {
            Ok(d) => snapshot.deposits = d,
            Err(e) if is_fatal(&e) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "deposit history unavailable");
                run.report.notes.push(format!(
                    "Deposit history unavailable ({}): deposits explain no movement this run",
                    e.kind()
                ));
            }
        }
        match run.exchange.withdrawals(since).await {
            Ok(w) => snapshot.withdrawals = w,
            Err(e) if is_fatal(&e) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "withdrawal history unavailable");
                run.report.notes.push(format!(
                    "Withdrawal history unavailable ({}): withdrawals explain no movement this run",
                    e.kind()
                ));
            }
        }
        for d in snapshot.deposits.iter().filter(|d| d.credited) {
            *transfers.entry(d.asset.clone()).or_default() += d.amount;
            *transfers_fee_inside.entry(d.asset.clone()).or_default() += d.amount;
        }
        for w in snapshot.withdrawals.iter().filter(|w| w.completed) {
            *transfers.entry(w.asset.clone()).or_default() -= w.amount + w.fee;
            *transfers_fee_inside.entry(w.asset.clone()).or_default() -= w.amount;
        }
    }
    run.units += 1;

    let (mut records, units) = run
        .store
        .load_scoped(&run.request.account, &LoadScope::Balances)
        .await?;
    run.report.dynamodb_capacity_units += units;
    records.state = state.clone();
    let plan = core::plan_balances(
        &ReconcileInput {
            snapshot: &snapshot,
            records: &records,
            config: run.rules,
            mode: run.mode,
            now: super::now_ms(),
        },
        &run.recovered,
    );
    if run.limits.out_of_time() {
        run.stop("deadline reached before the balances step");
    } else {
        apply_plan(run, &plan, &mut records).await?;
    }

    // The digest: an asset's baseline advances only when what this run read explains it.
    let (digest, reports) = scope::advance_digest(&DigestInput {
        digest: &state.digest,
        balances: &view.balances,
        movement: &run.movement,
        transfers: &transfers,
        transfers_fee_inside: &transfers_fee_inside,
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
        emergency,
        rescan_owed,
        reported,
    })
}
