//! A symbol's units: one page of fills each (or one page of stored trades while its cost
//! basis is rebuilt), until the symbol is read to its end. Each unit loads only what it
//! needs (its trades in the page's range, its orders from the watermark), plans with
//! `core::plan_symbol` and applies before the next unit starts.

use super::account::View;
use super::apply::apply_plan;
use super::{is_fatal, is_stop, Run, SyncError};
use crate::core::{self, ReconcileInput};
use crate::domain::{
    Asset, BasisState, CursorRecord, ExchangeSnapshot, Fill, Records, Symbol, SymbolHistory,
    TradeRecord,
};
use crate::exchange::{Exchange, ExchangeError, FillsQuery, FILLS_PAGE, KLINES_PAGE, ORDERS_PAGE};
use crate::report::SymbolFailure;
use crate::store::{LoadScope, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};

/// How one unit ended.
enum UnitEnd {
    /// The symbol is read to its end.
    Done,
    /// More pages remain.
    More,
    /// The run stops (deadline, budget): the checkpoint keeps what was applied.
    Stopped,
    /// The read waits before a fill whose fee has no price at its minute yet
    /// (`core::trades`): the symbol is done for this run, not read to its end.
    Waiting,
}

/// Why a unit failed: alone (the symbol backs off) or for the whole run.
enum UnitError {
    Alone { kind: &'static str, detail: String },
    Fatal(SyncError),
}

impl From<StoreError> for UnitError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => UnitError::Fatal(e.into()),
            other => UnitError::Alone {
                kind: other.kind(),
                detail: other.to_string(),
            },
        }
    }
}

impl From<SyncError> for UnitError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Store(s) => s.into(),
            SyncError::Exchange(x) => x.into(),
        }
    }
}

impl From<ExchangeError> for UnitError {
    fn from(e: ExchangeError) -> Self {
        if is_fatal(&e) {
            UnitError::Fatal(e.into())
        } else {
            UnitError::Alone {
                kind: e.kind(),
                detail: e.to_string(),
            }
        }
    }
}

/// Read one symbol to its end (or until the run stops).
pub(crate) async fn read_symbol<E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
    view: &mut View,
    symbol: &Symbol,
) -> Result<(), SyncError> {
    run.report.symbols_checked.push(symbol.to_string());
    loop {
        if !run.may_continue() {
            return Ok(());
        }
        // A basis rebuild first; then, in an emergency, the re-scan the symbol owes (before
        // the forward read, so that fills read forward realize against a complete basis
        // and the position is planned from it); then the forward read from the checkpoint.
        let cursor = view.records.cursors.get(symbol);
        let rebuilding = cursor.is_some_and(|c| c.basis_state == BasisState::Rebuilding);
        let rescan = match (view.working_scope(), cursor) {
            (Some(scope), Some(c)) if !rebuilding => {
                core::scope::rescan_range(c, scope).map(|range| (scope.clone(), range))
            }
            _ => None,
        };
        let forward = !view.fully_read.contains(symbol);
        // Then the stored trades no read compared yet (`core::verify`), before the forward
        // read: a run cut after a unit or two still gets on with them.
        let verify = cursor
            .and_then(core::verify::pending)
            .filter(|_| !rebuilding && rescan.is_none());
        if !rebuilding && rescan.is_none() && !forward && verify.is_none() {
            return Ok(());
        }
        run.units += 1;
        let outcome = match (rescan, verify) {
            // A finished re-scan is not the end of the symbol: the forward read follows.
            (Some((scope, range)), _) => {
                match rescan_unit(run, view, symbol, &scope, range).await {
                    Ok(UnitEnd::Done) => Ok(UnitEnd::More),
                    other => other,
                }
            }
            (None, Some(range)) => verify_unit(run, view, symbol, range).await,
            (None, None) => unit(run, view, symbol).await,
        };
        match outcome {
            Ok(UnitEnd::Done) => {
                view.fully_read.insert(symbol.clone());
            }
            Ok(UnitEnd::More) => {}
            Ok(UnitEnd::Stopped | UnitEnd::Waiting) => return Ok(()),
            Err(UnitError::Fatal(e)) => return Err(e),
            Err(UnitError::Alone { kind, detail }) => {
                tracing::warn!(symbol = %symbol, kind, "{detail}");
                run.report.symbols_failed.push(SymbolFailure {
                    symbol: symbol.to_string(),
                    kind: kind.to_owned(),
                    detail: detail.clone(),
                });
                let failed = core::checkpoint::failed(
                    view.records.cursors.get(symbol),
                    symbol,
                    kind,
                    super::now_ms(),
                );
                let plan = crate::domain::Plan {
                    corrections: vec![failed],
                    ..Default::default()
                };
                let mut records = std::mem::take(&mut view.records);
                let result = apply_plan(run, &plan, &mut records).await;
                view.records = records;
                match result {
                    Ok(_) => {}
                    Err(SyncError::Store(StoreError::Unavailable(m))) => {
                        return Err(StoreError::Unavailable(m).into())
                    }
                    Err(e) => tracing::warn!(error = %e, "could not record the failed unit"),
                }
                return Ok(());
            }
        }
    }
}

async fn unit<E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
    view: &mut View,
    symbol: &Symbol,
) -> Result<UnitEnd, UnitError> {
    let cursor = view
        .records
        .cursors
        .get(symbol)
        .cloned()
        .unwrap_or_else(|| CursorRecord::new(symbol.clone()));
    // A basis being rebuilt is read again from its next trade, on the exchange (whose
    // fills are complete; the store may lack one the bot writes later): `core::trades`.
    let rebuilding = cursor.basis_state == BasisState::Rebuilding;
    let from_id = if rebuilding {
        cursor.basis.next_trade_id()
    } else {
        cursor.last_trade_id.map_or(0, |id| id.saturating_add(1))
    };
    let Some(page) = read_page(run, symbol, FillsQuery::FromId(from_id), "reading").await? else {
        return Ok(UnitEnd::Stopped);
    };
    let read_at = super::now_ms();
    let page: Vec<Fill> = page
        .into_iter()
        .filter(|f| f.trade_id >= from_id && &f.symbol == symbol)
        .collect();
    let complete = page.len() < FILLS_PAGE;
    let max_id = page.iter().map(|f| f.trade_id).max();
    // An SOR symbol's allocations, one page with each page of fills (`core::sor`): from the
    // checkpoint, or while the basis is rebuilt from the basis's next allocation.
    let allocations = if view.symbols.get(symbol).is_some_and(|i| i.sor) {
        let from_id = if rebuilding {
            cursor.basis.next_alloc_id()
        } else {
            cursor.last_alloc_id.map_or(0, |id| id.saturating_add(1))
        };
        let read = run.exchange.allocations_page(symbol, from_id).await;
        let Some(fills) = unless_stopped(run, read, "reading the SOR allocations of", symbol)?
        else {
            return Ok(UnitEnd::Stopped);
        };
        Some(crate::domain::AllocationsRead {
            complete: fills.len() < crate::exchange::ALLOCATIONS_PAGE,
            fills: fills
                .into_iter()
                .filter(|f| f.trade_id >= from_id && &f.symbol == symbol)
                .collect(),
            from_id,
        })
    } else {
        None
    };

    // The records this unit needs: the symbol's trades past its basis (within the page's
    // range unless the page is the last), its orders from the watermark.
    let trades_from = cursor.basis.next_trade_id().min(from_id);
    let (trades, units) = run
        .store
        .load_scoped(
            &run.request.account,
            &LoadScope::Trades {
                symbol: symbol.clone(),
                from_id: trades_from,
                to_id: if complete { None } else { max_id },
                limit: None,
            },
        )
        .await?;
    run.report.dynamodb_capacity_units += units;
    // The balance records too: a fill recovered from before the account read a balance
    // record was copied from explains nothing of it (`core::trades`).
    let mut scoped = Records {
        balances: view.records.balances.clone(),
        positions: view.records.positions.clone(),
        dust: view.records.dust.clone(),
        trades: trades.trades,
        skipped: trades.skipped,
        ..Records::default()
    };
    // The SOR fills past the basis (the replay's) and those of the page.
    if let Some(read) = &allocations {
        let (stored, units) = run
            .store
            .load_scoped(
                &run.request.account,
                &LoadScope::Allocations {
                    symbol: symbol.clone(),
                    from_id: cursor.basis.next_alloc_id().min(read.from_id),
                },
            )
            .await?;
        run.report.dynamodb_capacity_units += units;
        scoped.allocations = stored.allocations;
        scoped.skipped.extend(stored.skipped);
    }
    // The baselines of the assets the page's fills move (their legs count only after them).
    let assets: BTreeSet<&Asset> = view
        .symbols
        .get(symbol)
        .into_iter()
        .flat_map(|i| [&i.base, &i.quote])
        .chain(page.iter().map(|f| &f.commission_asset))
        .collect();
    scoped.state.digest = assets
        .into_iter()
        .filter_map(|a| view.digest.get(a).map(|d| (a.clone(), d.clone())))
        .collect();
    if let Some(c) = view.records.cursors.get(symbol) {
        scoped.cursors.insert(symbol.clone(), c.clone());
    }
    // The checkpoints of the base's other symbols: each sizes its own position by its own
    // fills, and this symbol's position is what they leave (`core::positions`).
    if let Some(base) = view.symbols.get(symbol).map(|i| &i.base) {
        for (other, c) in &view.records.cursors {
            if view.symbols.get(other).is_some_and(|i| &i.base == base) {
                scoped.cursors.insert(other.clone(), c.clone());
            }
        }
    }
    // A rebuild's page is not the symbol's read (`core::trades`): the forward read after it
    // loads the orders and ends the symbol.
    let mut lookups = BTreeMap::new();
    let mut order_page = None;
    if complete && !rebuilding {
        // One page of the order history from the order checkpoint, when it can have
        // changed or is owed (`core::order_history`): every order placed since, open or
        // finished, gets a record (`core::orders`).
        let reason = core::order_history::read_reason(
            &cursor,
            symbol,
            &page,
            view.open_orders.as_deref(),
            read_at,
        );
        let history = match reason {
            None => None,
            Some(reason) => {
                tracing::debug!(symbol = %symbol, ?reason, "reading the order history");
                let from_order_id = cursor.orders_through.map_or(0, |id| id.saturating_add(1));
                let read = run.exchange.orders_page(symbol, from_order_id).await;
                let Some(orders) = unless_stopped(run, read, "reading the orders of", symbol)?
                else {
                    return Ok(UnitEnd::Stopped);
                };
                Some(crate::domain::OrderPage {
                    from_order_id,
                    complete: orders.len() < ORDERS_PAGE,
                    orders: orders
                        .into_iter()
                        .filter(|o| &o.symbol == symbol && o.order_id >= from_order_id)
                        .collect(),
                })
            }
        };
        // The records from the watermark (the orders that may still change), and those of
        // the history page's orders below it: bounded by the page.
        let watermark = cursor.order_watermark.unwrap_or(0);
        let mut scopes = vec![LoadScope::Orders {
            symbol: symbol.clone(),
            from_order_id: watermark,
            to_order_id: None,
        }];
        if let Some((first, last)) = history
            .as_ref()
            .and_then(|h| h.orders.first().zip(h.orders.last()))
        {
            if first.order_id < watermark {
                scopes.push(LoadScope::Orders {
                    symbol: symbol.clone(),
                    from_order_id: first.order_id,
                    to_order_id: Some(last.order_id.min(watermark - 1)),
                });
            }
        }
        for scope in &scopes {
            let (orders, units) = run.store.load_scoped(&run.request.account, scope).await?;
            run.report.dynamodb_capacity_units += units;
            scoped.orders.extend(orders.orders);
            scoped.skipped.extend(orders.skipped);
        }
        for (s, order_id) in core::scope::orders_to_query(
            &scoped.orders,
            view.open_orders.as_deref(),
            history.as_ref(),
            run.rules,
            read_at,
        ) {
            // A stop before every order is looked up leaves the page unapplied (the
            // checkpoint stays, the next run reads it again): applied, it would mark the
            // symbol read with an order left as the records had it.
            let read = run.exchange.order(&s, order_id).await;
            let Some(lookup) = unless_stopped(run, read, "looking up orders of", symbol)? else {
                return Ok(UnitEnd::Stopped);
            };
            lookups.insert((s, order_id), lookup);
        }
        order_page = history;
    }

    let mut snapshot = ExchangeSnapshot {
        taken_at: view.taken_at,
        account_update_time: view.account_update_time,
        balances: view.balances.clone(),
        open_orders: view
            .open_orders
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|o| &o.symbol == symbol)
            .cloned()
            .collect(),
        open_orders_read: view.open_orders.is_some(),
        symbols: view.symbols.clone(),
        prices: view.prices.clone(),
        prices_partial: true,
        emergency_requested_at: view.working_scope().map(|e| e.requested_at),
        emergency_lookback_start: view.working_scope().map(|e| e.lookback_start),
        order_lookups: lookups,
        order_pages: order_page
            .map(|p| BTreeMap::from([(symbol.clone(), p)]))
            .unwrap_or_default(),
        ..ExchangeSnapshot::default()
    };
    snapshot.history.insert(
        symbol.clone(),
        SymbolHistory {
            fills: page,
            from_id: Some(from_id),
            complete,
            read_at,
            allocations,
        },
    );
    if !resolve_fill_orders(run, symbol, &mut snapshot, &mut scoped).await? {
        return Ok(UnitEnd::Stopped);
    }
    if price_fees(run, symbol, &mut snapshot, &mut scoped).await? == Priced::Stopped {
        return Ok(UnitEnd::Stopped);
    }
    // What was read is applied even at the deadline: the margin is there for it.
    let plan_unit = |snapshot: &ExchangeSnapshot| {
        core::plan_symbol(
            &ReconcileInput {
                snapshot,
                records: &scoped,
                config: run.rules,
                mode: run.mode,
                now: super::now_ms(),
            },
            symbol,
        )
    };
    let mut planned = plan_unit(&snapshot);
    if let Some(wanted) = planned.needs_price.clone() {
        // The position rules need the symbol's current price (one request), read only now
        // so that a read which finds nothing new costs no price. A stop before it leaves
        // the page unapplied: the next run reads it again.
        if run.stopped.is_some() || run.limits.out_of_time() {
            run.stop(format!("deadline reached while pricing {symbol}"));
            return Ok(UnitEnd::Stopped);
        }
        match run.exchange.prices(std::slice::from_ref(&wanted)).await {
            Ok(p) => {
                view.prices.extend(p.clone());
                snapshot.prices.extend(p);
            }
            Err(e) if is_stop(&e) => {
                run.stop(format!("{e} (while pricing {symbol})"));
                return Ok(UnitEnd::Stopped);
            }
            Err(e) if is_fatal(&e) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "price unavailable; the position is not checked");
                run.report.notes.push(format!(
                    "Current price of {symbol} unavailable ({}): its holding is checked without it",
                    e.kind()
                ));
            }
        }
        snapshot.prices_partial = false;
        planned = plan_unit(&snapshot);
    }
    let mut plan = planned.plan;
    for skipped in &scoped.skipped {
        plan.discrepancies.push(core::malformed_item(skipped));
    }
    apply_plan(run, &plan, &mut view.records).await?;
    run.movement.merge(&planned.movement);
    run.recovered.merge(&planned.recovered);
    if planned.checkpoint.fee_wait.is_some() {
        return Ok(UnitEnd::Waiting);
    }
    Ok(if complete && !rebuilding {
        UnitEnd::Done
    } else {
        UnitEnd::More
    })
}

/// One page of a checkpoint's verification (`core::verify`): its stored trades from the
/// range's start, and, when the bot wrote some of them, the exchange's fills from the
/// first of those; disagreements reported, the range advanced.
async fn verify_unit<E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
    view: &mut View,
    symbol: &Symbol,
    range: crate::domain::VerifyRange,
) -> Result<UnitEnd, UnitError> {
    let Some(cursor) = view.records.cursors.get(symbol).cloned() else {
        return Ok(UnitEnd::Done);
    };
    let (loaded, units) = run
        .store
        .load_scoped(
            &run.request.account,
            &LoadScope::Trades {
                symbol: symbol.clone(),
                from_id: range.from,
                to_id: range.below.map(|b| b.saturating_sub(1)),
                limit: Some(core::verify::STORED_PAGE as u32),
            },
        )
        .await?;
    run.report.dynamodb_capacity_units += units;
    let stored: Vec<TradeRecord> = loaded.trades.into_values().collect();
    let stored_full = stored.len() + loaded.skipped.len() >= core::verify::STORED_PAGE;
    let fills = match core::verify::exchange_from(&stored) {
        Some(from_id) => {
            let q = FillsQuery::FromId(from_id);
            let Some(page) = read_page(run, symbol, q, "verifying the stored trades of").await?
            else {
                return Ok(UnitEnd::Stopped);
            };
            page
        }
        None => Vec::new(),
    };
    let fills_full = fills.len() >= FILLS_PAGE;
    let verified = core::verify::verified(
        &cursor,
        range,
        &stored,
        stored_full,
        &fills,
        fills_full,
        super::now_ms(),
    );
    let mut plan = crate::domain::Plan {
        corrections: vec![verified.checkpoint],
        discrepancies: verified.discrepancies,
        ..Default::default()
    };
    for skipped in &loaded.skipped {
        plan.discrepancies.push(core::malformed_item(skipped));
    }
    apply_plan(run, &plan, &mut view.records).await?;
    // Verified or not, the forward read follows (the loop asks again).
    Ok(UnitEnd::More)
}

/// One window of an emergency re-scan: the fills of `[from, from + 24 h)` (split while a
/// page comes back full; a 1 ms span still full is read order by order), the missing ones
/// inserted, the re-scan progress checkpointed.
async fn rescan_unit<E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
    view: &mut View,
    symbol: &Symbol,
    scope: &crate::domain::EmergencyScope,
    (from, to): (crate::domain::Millis, crate::domain::Millis),
) -> Result<UnitEnd, UnitError> {
    let Some(cursor) = view.records.cursors.get(symbol).cloned() else {
        return Ok(UnitEnd::Done);
    };
    let mut end = (from + core::scope::DAY_MS).min(to);
    let page = loop {
        // endTime is inclusive: the window [from, end) is startTime=from, endTime=end-1.
        let query = FillsQuery::Window {
            start: from,
            end: end - 1,
        };
        let Some(page) = read_page(run, symbol, query, "re-scanning").await? else {
            return Ok(UnitEnd::Stopped);
        };
        if page.len() < FILLS_PAGE {
            break page;
        }
        if end - from > 1 {
            // Which 1,000 of a busy window come back is not documented; whichever they
            // are, the window is split before the median time of the page (at least in
            // half), so a burst of fills is reached in a few reads, not one per halving.
            let mut times: Vec<_> = page.iter().map(|f| f.time).collect();
            times.sort_unstable();
            let median = times[times.len() / 2];
            let split = if median > from { median } else { from + 1 };
            end = split.min(from + (end - from) / 2).max(from + 1);
            continue;
        }
        // A full page within one millisecond: every order of it, page by page.
        let mut all: BTreeMap<u64, Fill> = page.iter().map(|f| (f.trade_id, f.clone())).collect();
        let orders: std::collections::BTreeSet<u64> = page.iter().map(|f| f.order_id).collect();
        for order_id in orders {
            let mut from_id = 0;
            loop {
                let q = FillsQuery::Order { order_id, from_id };
                let Some(part) = read_page(run, symbol, q, "re-scanning").await? else {
                    return Ok(UnitEnd::Stopped);
                };
                let full = part.len() >= FILLS_PAGE;
                let next = part.iter().map(|f| f.trade_id).max();
                all.extend(part.into_iter().map(|f| (f.trade_id, f)));
                match next {
                    Some(n) if full => from_id = n.saturating_add(1),
                    _ => break,
                }
            }
        }
        break all
            .into_values()
            .filter(|f| f.time >= from && f.time < end)
            .collect();
    };
    let read_at = super::now_ms();
    let page: Vec<Fill> = page.into_iter().filter(|f| &f.symbol == symbol).collect();
    let newest = page.iter().map(|f| f.time).max();
    let mut scoped = Records {
        balances: view.records.balances.clone(),
        ..Records::default()
    };
    scoped.cursors.insert(symbol.clone(), cursor.clone());
    if let (Some(lo), Some(hi)) = (
        page.iter().map(|f| f.trade_id).min(),
        page.iter().map(|f| f.trade_id).max(),
    ) {
        let (trades, units) = run
            .store
            .load_scoped(
                &run.request.account,
                &LoadScope::Trades {
                    symbol: symbol.clone(),
                    from_id: lo,
                    to_id: Some(hi),
                    limit: None,
                },
            )
            .await?;
        run.report.dynamodb_capacity_units += units;
        scoped.trades = trades.trades;
        scoped.skipped = trades.skipped;
    }
    let mut snapshot = ExchangeSnapshot {
        balances: view.balances.clone(),
        symbols: view.symbols.clone(),
        prices: view.prices.clone(),
        ..ExchangeSnapshot::default()
    };
    snapshot.history.insert(
        symbol.clone(),
        SymbolHistory {
            fills: page,
            from_id: None,
            complete: false,
            read_at,
            // A re-scan by time reads trades only: allocations are read forward by id.
            allocations: None,
        },
    );
    if price_fees(run, symbol, &mut snapshot, &mut scoped).await? == Priced::Stopped {
        return Ok(UnitEnd::Stopped);
    }
    let now = super::now_ms();
    let planned = core::plan_symbol(
        &ReconcileInput {
            snapshot: &snapshot,
            records: &scoped,
            config: run.rules,
            mode: run.mode,
            now,
        },
        symbol,
    );
    let mut plan = planned.plan;
    plan.corrections
        .retain(|c| c.kind != crate::domain::CorrectionKind::CursorAdvanced);
    plan.corrections.push(core::checkpoint::rescanned(
        &cursor,
        &planned.checkpoint,
        scope,
        end,
        to,
        newest,
        now,
    ));
    for skipped in &scoped.skipped {
        plan.discrepancies.push(core::malformed_item(skipped));
    }
    apply_plan(run, &plan, &mut view.records).await?;
    run.recovered.merge(&planned.recovered);
    Ok(if end >= to {
        UnitEnd::Done
    } else {
        UnitEnd::More
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Priced {
    All,
    Stopped,
}

/// Price at their minute the fees paid in a third asset (BNB) of the page's fills about to
/// be inserted and of the trades the checkpoint lists as inserted unpriced; load the
/// listed trades whose price came, so that the core re-prices them. Never at the current
/// price: a fee with no price at its minute makes the read wait (`core::trades`).
async fn price_fees<E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
    symbol: &Symbol,
    snapshot: &mut ExchangeSnapshot,
    scoped: &mut Records,
) -> Result<Priced, UnitError> {
    let needs = core::fee_price_needs(snapshot, scoped);
    // Fees are priced at the fill's minute, up to 1,000 minutes a request. A stop before
    // every fee of the page is priced leaves the page unapplied (the checkpoint stays; the
    // next run reads it again), so no fee is valued at a later price because the run ran
    // out of time.
    let wanted: BTreeSet<&(Symbol, crate::domain::Millis)> = needs.iter().collect();
    for (fee_symbol, from, to) in core::fee_price_requests(&needs, KLINES_PAGE) {
        if run.stopped.is_some() || run.limits.out_of_time() {
            run.stop(format!("deadline reached while pricing fees of {symbol}"));
            return Ok(Priced::Stopped);
        }
        match run.exchange.minute_closes(&fee_symbol, from, to).await {
            Ok(closes) => {
                // A wanted minute the answer has no candle for has no price at all (no
                // such market, or none at that minute): the core does not wait for it.
                for key in wanted
                    .iter()
                    .filter(|(s, m)| s == &fee_symbol && (from..=to).contains(m))
                {
                    match closes.get(&key.1) {
                        Some(price) => {
                            snapshot.fee_prices.insert((*key).clone(), *price);
                        }
                        None => {
                            snapshot.fee_prices_absent.insert((*key).clone());
                        }
                    }
                }
            }
            Err(e) if is_stop(&e) => {
                run.stop(format!("{e} (while pricing fees of {symbol})"));
                return Ok(Priced::Stopped);
            }
            Err(e) if is_fatal(&e) => return Err(e.into()),
            // Any other failure (the fee symbol unknown, the endpoint failing) leaves those
            // minutes unpriced: the fills wait a few runs and are then inserted with their
            // fee flagged, re-priced when a later run gets the price. Failing the unit
            // instead would hold the symbol's fills back for as long as the klines fail.
            Err(e) => {
                tracing::warn!(symbol = %symbol, fee_symbol = %fee_symbol, error = %e, "fee prices unavailable");
                run.report.notes.push(format!(
                    "Fee prices of {fee_symbol} unavailable ({}): the fees of {symbol} they price wait",
                    e.kind()
                ));
            }
        }
    }
    // The listed unpriced trades whose price came: loaded by key (each a one-item range),
    // only those, so that a run's reads stay bounded by the list and the page.
    let listed: Vec<u64> = scoped
        .cursors
        .get(symbol)
        .map(|c| c.fee_unpriced.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|u| {
            snapshot.symbols.get(symbol).is_some_and(|info| {
                Symbol::parse(format!("{}{}", u.asset, info.quote)).is_ok_and(|fee_symbol| {
                    snapshot
                        .fee_prices
                        .contains_key(&(fee_symbol, core::minute_start(u.time)))
                })
            })
        })
        .map(|u| u.trade_id)
        .filter(|id| !scoped.trades.contains_key(&(symbol.clone(), *id)))
        .collect();
    for trade_id in listed {
        let (loaded, units) = run
            .store
            .load_scoped(
                &run.request.account,
                &LoadScope::Trades {
                    symbol: symbol.clone(),
                    from_id: trade_id,
                    to_id: Some(trade_id),
                    limit: Some(1),
                },
            )
            .await?;
        run.report.dynamodb_capacity_units += units;
        scoped.trades.extend(loaded.trades);
        scoped.skipped.extend(loaded.skipped);
    }
    Ok(Priced::All)
}

/// Bot-only positions (`core::attribution`): the orders of the unit's fills (the page's
/// and the stored trades past the basis) whose origin the run does not know, from the
/// store by id, then from the exchange (at most `MAX_FILL_ORDER_LOOKUPS` a unit; the basis
/// waits before the rest). False when the run must stop: the page is then not applied.
async fn resolve_fill_orders<E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
    symbol: &Symbol,
    snapshot: &mut ExchangeSnapshot,
    scoped: &mut Records,
) -> Result<bool, UnitError> {
    let unknown = |snapshot: &ExchangeSnapshot, scoped: &Records| {
        let next = scoped
            .cursors
            .get(symbol)
            .map_or(0, |c| c.basis.next_trade_id());
        let page = snapshot.history.get(symbol).into_iter().flat_map(|h| {
            h.fills
                .iter()
                .chain(h.allocations.iter().flat_map(|a| a.fills.iter()))
                .map(|f| f.order_id)
        });
        // The stored fills past the basis, trades and SOR fills (loaded from the basis).
        let stored = scoped
            .trades
            .range((symbol.clone(), next)..)
            .take_while(|((s, _), _)| s == symbol)
            .chain(scoped.allocations.iter())
            .map(|(_, t)| t.order_id);
        let input = ReconcileInput {
            snapshot,
            records: scoped,
            config: run.rules,
            mode: run.mode,
            now: super::now_ms(),
        };
        core::attribution::unknown_orders(&input, symbol, page.chain(stored))
    };
    for order_id in unknown(snapshot, scoped) {
        let scope = LoadScope::Orders {
            symbol: symbol.clone(),
            from_order_id: order_id,
            to_order_id: Some(order_id),
        };
        let (orders, units) = run.store.load_scoped(&run.request.account, &scope).await?;
        run.report.dynamodb_capacity_units += units;
        scoped.orders.extend(orders.orders);
        scoped.skipped.extend(orders.skipped);
    }
    let lookups: Vec<u64> = unknown(snapshot, scoped)
        .into_iter()
        .take(core::attribution::MAX_FILL_ORDER_LOOKUPS)
        .collect();
    for order_id in lookups {
        let read = run.exchange.order(symbol, order_id).await;
        let Some(lookup) = unless_stopped(run, read, "looking up the fills' orders of", symbol)?
        else {
            return Ok(false);
        };
        snapshot
            .fill_orders
            .insert((symbol.clone(), order_id), lookup);
    }
    Ok(true)
}

/// One page of fills; None when the run must stop (deadline, budget), noted with `doing`.
async fn read_page<E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
    symbol: &Symbol,
    query: FillsQuery,
    doing: &str,
) -> Result<Option<Vec<Fill>>, UnitError> {
    let read = run.exchange.fills_page(symbol, query).await;
    unless_stopped(run, read, doing, symbol)
}

/// An exchange read's answer; None when the run must stop (deadline, budget: noted with
/// `doing`), a unit error for any other failure.
fn unless_stopped<T, E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
    read: Result<T, ExchangeError>,
    doing: &str,
    symbol: &Symbol,
) -> Result<Option<T>, UnitError> {
    match read {
        Ok(answer) => Ok(Some(answer)),
        Err(e) if is_stop(&e) => {
            run.stop(format!("{e} (while {doing} {symbol})"));
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}
