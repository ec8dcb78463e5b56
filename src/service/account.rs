//! The account step: what moved, which symbols to read, and what every unit shares.

use super::{is_stop, Run, SyncError};
use crate::core::scope::{self, Movement, ReadReason, Scope, ScopeInput, DAY_MS};
use crate::core::Mode;
use crate::domain::{
    Asset, AssetDigest, Balance, EmergencyScope, ExchangeOrder, Millis, Records, Symbol,
    SymbolCache, SymbolInfo, SyncState,
};
use crate::exchange::Exchange;
use crate::store::{LoadScope, Store};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// The cached `exchangeInfo` is refreshed after this long.
const SYMBOL_CACHE_TTL_MS: Millis = DAY_MS;

/// What the units of a run share.
pub(crate) struct View {
    pub balances: BTreeMap<Asset, Balance>,
    pub taken_at: Millis,
    pub account_update_time: Millis,
    pub movement: Movement,
    pub symbols: BTreeMap<Symbol, SymbolInfo>,
    pub open_orders: Option<Vec<ExchangeOrder>>,
    /// Positions, dust and checkpoints (kept current as units apply).
    pub records: Records,
    pub scope: Scope,
    pub prices: BTreeMap<Symbol, Decimal>,
    pub emergency: Option<EmergencyScope>,
    /// A closed emergency scope some checkpoints still owe (`scope::rescan_owed`).
    pub owed: Option<EmergencyScope>,
    /// Symbols read to their end this run.
    pub fully_read: BTreeSet<Symbol>,
    /// The digest the run started from (a unit counts its fills against its baselines).
    pub digest: BTreeMap<Asset, AssetDigest>,
    /// The exchange's time of the balances read.
    pub server_time: Millis,
    /// Balance items that did not decode (the balances step reports them).
    pub balances_skipped: Vec<crate::domain::SkippedItem>,
}

/// The exchange's open orders; None when the run had to stop (deadline, budget, ban).
async fn read_open_orders<E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
) -> Result<Option<Vec<ExchangeOrder>>, SyncError> {
    match run.exchange.open_orders().await {
        Ok(open) => Ok(Some(open)),
        Err(e) if is_stop(&e) => {
            run.stop(e.to_string());
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The run's reading list from what the view holds (`scope::plan_scope`).
fn plan(view: &View, mode: Mode, rules: &crate::core::RulesConfig, now: Millis) -> Scope {
    scope::plan_scope(&ScopeInput {
        mode,
        now,
        config: rules,
        cursors: &view.records.cursors,
        positions: &view.records.positions,
        symbols: &view.symbols,
        balances: &view.balances,
        movement: &view.movement,
        open_orders: view.open_orders.as_deref(),
        emergency: view.emergency.as_ref(),
        owed: view.owed.as_ref(),
    })
}

impl View {
    /// The emergency scope a symbol's units work on: the open one, else the closed one
    /// some checkpoints still owe (a checkpoint that completed it owes no re-scan; a new
    /// one completes it with its first read).
    pub fn working_scope(&self) -> Option<&EmergencyScope> {
        self.emergency.as_ref().or(self.owed.as_ref())
    }
}

pub(crate) async fn read<E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
    state: &SyncState,
) -> Result<View, SyncError> {
    let account = run.exchange.account().await?;
    run.units += 1;
    let taken_at = super::now_ms();
    let balances: BTreeMap<Asset, Balance> = account
        .balances
        .iter()
        .map(|b| (b.asset.clone(), b.clone()))
        .collect();

    // An emergency request opens a scope (persisted: the runs after an interrupted one
    // finish it); a periodic run finishes an open scope before periodic work.
    let lookback_days = run
        .request
        .lookback_days
        .unwrap_or(run.rules.emergency_lookback_days);
    let emergency = match (run.request.mode, &state.emergency) {
        // Lambda's retry of an invocation that opened a scope and then failed or died:
        // the same scope, or the retry would re-scan what the first attempt read.
        (Mode::Emergency, Some(open)) if open.opened_by.as_deref() == Some(run.run_id.as_str()) => {
            run.report.notes.push(format!(
                "Resuming the emergency sync this invocation opened at {}",
                open.requested_at
            ));
            Some(open.clone())
        }
        (Mode::Emergency, _) => Some(EmergencyScope {
            requested_at: run.report.started_at,
            lookback_start: run.report.started_at - Millis::from(lookback_days) * DAY_MS,
            opened_by: Some(run.run_id.clone()),
        }),
        (Mode::Periodic, Some(open)) => {
            run.report.notes.push(format!(
                "Finishing the emergency sync requested at {} before periodic work",
                open.requested_at
            ));
            Some(open.clone())
        }
        (Mode::Periodic, None) => None,
    };
    if emergency.is_some() {
        run.mode = Mode::Emergency;
        if !run.request.dry_run && run.request.mode == Mode::Emergency {
            run.store
                .save_progress(
                    &run.request.account,
                    &run.run_id,
                    emergency.as_ref(),
                    state.banned_until,
                )
                .await?;
        }
    }

    let movement = scope::movement(&state.digest, &balances);
    let mut view = View {
        balances,
        taken_at,
        account_update_time: account.update_time,
        movement,
        symbols: BTreeMap::new(),
        open_orders: None,
        records: Records::default(),
        scope: Scope::default(),
        prices: BTreeMap::new(),
        emergency,
        owed: state.rescan_owed.clone(),
        fully_read: BTreeSet::new(),
        digest: state.digest.clone(),
        server_time: account.server_time,
        balances_skipped: Vec::new(),
    };
    // The balance records as the run starts: the units tell by them which recovered fills
    // those records hold already (`core::trades`), and the balances step compares them
    // with the exchange (its conditional writes lose to a bot write made meanwhile).
    let (balances, units) = run
        .store
        .load_scoped(&run.request.account, &LoadScope::Balances)
        .await?;
    run.report.dynamodb_capacity_units += units;
    view.records.balances = balances.balances;
    view.balances_skipped = balances.skipped;
    // Nothing moved and no rotation: the run is the account read and the balances step.
    let rotates = run.rules.rotation_per_run != Some(0);
    if run.mode == Mode::Periodic && view.movement.is_quiet() && !rotates && view.owed.is_none() {
        return Ok(view);
    }

    view.symbols = symbol_cache(run, taken_at).await?;
    if view.movement.locked_moved || run.mode == Mode::Emergency || state.digest.is_empty() {
        view.open_orders = read_open_orders(run).await?;
    }
    let (records, units) = run
        .store
        .load_scoped(&run.request.account, &LoadScope::AccountSymbols)
        .await?;
    run.report.dynamodb_capacity_units += units;
    view.records = crate::domain::Records {
        balances: std::mem::take(&mut view.records.balances),
        ..records
    };
    // Findings of units whose run did not report them (it failed or died after): now.
    for cursor in view.records.cursors.values() {
        for d in &cursor.unreported {
            if !run.report.discrepancies.iter().any(|x| x.key == d.key) {
                run.report.discrepancies.push(d.clone());
            }
        }
    }

    view.scope = plan(&view, run.mode, run.rules, taken_at);
    // A periodic run finishing an emergency some symbols still owe reads them as the
    // emergency would: with the open orders (the only way to find an order opened and
    // not yet in the records), then plans again with them.
    let owed_reads = view.owed.as_ref().is_some_and(|owed| {
        view.scope.reads.iter().any(|(s, _)| {
            view.records
                .cursors
                .get(s)
                .is_some_and(|c| scope::owes(c, owed))
        })
    });
    if view.open_orders.is_none() && owed_reads && run.may_continue() {
        view.open_orders = read_open_orders(run).await?;
        if view.open_orders.is_some() {
            view.scope = plan(&view, run.mode, run.rules, taken_at);
        }
    }

    let broken: Vec<String> = view
        .records
        .skipped
        .iter()
        .filter_map(|k| k.key.split_once("|CURSOR#").map(|(_, s)| s.to_owned()))
        .collect();
    view.scope
        .reads
        .retain(|(s, _)| !broken.iter().any(|b| b == s.as_str()));
    for symbol in &view.scope.unknown {
        run.report.symbols_unknown.push(symbol.to_string());
        run.report.notes.push(format!(
            "Symbol {symbol} unknown on exchange: skipped, its records kept"
        ));
    }
    // Items of the account-wide records that do not decode: reported, never fatal. A
    // checkpoint that does not decode is the sync's own item corrupted: its symbol is not
    // read (reading it from scratch every run would never end), and it is reported.
    for skipped in &view.records.skipped {
        run.report
            .discrepancies
            .push(crate::core::malformed_item(skipped));
    }

    // Current prices (one request) of the symbols whose holding this run likely
    // classifies afresh (its base moved, or it is read for the first time, or further) and
    // of their fee symbols. A read for another reason (rotation, a moved quote) mostly
    // finds nothing: its unit asks for its price only if a rule needs it.
    let likely: Vec<&Symbol> = view
        .scope
        .reads
        .iter()
        .filter(|(_, r)| {
            matches!(
                r,
                ReadReason::InProgress
                    | ReadReason::Emergency
                    | ReadReason::NeverRead
                    | ReadReason::BaseMoved
            )
        })
        .map(|(s, _)| s)
        .collect();
    let mut wanted: BTreeSet<Symbol> = likely.iter().map(|s| (*s).clone()).collect();
    for symbol in likely {
        let Some(info) = view.symbols.get(symbol) else {
            continue;
        };
        let fee_assets = view
            .records
            .cursors
            .get(symbol)
            .map(|c| c.fee_assets.clone())
            .unwrap_or_default();
        for fee in fee_assets {
            if let Some(s) = run.exchange.pair_symbol(&fee, &info.quote) {
                if view.symbols.contains_key(&s) {
                    wanted.insert(s);
                }
            }
        }
    }
    if !wanted.is_empty() && run.may_continue() {
        let list: Vec<Symbol> = wanted.into_iter().collect();
        match run.exchange.prices(&list).await {
            Ok(p) => view.prices = p,
            Err(e) if is_stop(&e) => run.stop(e.to_string()),
            Err(e) if super::is_fatal(&e) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "prices unavailable; holdings they would classify are not checked");
                run.report.notes.push(format!(
                    "Current prices unavailable ({}): holdings they would classify are not checked",
                    e.kind()
                ));
            }
        }
    }
    Ok(view)
}

/// The symbols of the exchange the account can trade against its quote assets, from the
/// table's cache (refreshed daily with one `exchangeInfo` read).
async fn symbol_cache<E: Exchange, S: Store>(
    run: &mut Run<'_, E, S>,
    now: Millis,
) -> Result<BTreeMap<Symbol, SymbolInfo>, SyncError> {
    let cached = run.store.symbol_cache(&run.request.account).await?;
    if let Some(c) = &cached {
        if now - c.fetched_at < SYMBOL_CACHE_TTL_MS {
            return Ok(c.symbols.clone());
        }
    }
    match run.exchange.symbols(&[]).await {
        Ok(all) => {
            let quotes = &run.rules.quote_assets;
            let symbols: BTreeMap<Symbol, SymbolInfo> = all
                .into_iter()
                .filter(|(s, i)| quotes.contains(&i.quote) || run.rules.extra_symbols.contains(s))
                .collect();
            let cache = SymbolCache {
                fetched_at: now,
                symbols,
            };
            if !run.request.dry_run {
                match run
                    .store
                    .save_symbol_cache(&run.request.account, &cache)
                    .await
                {
                    Ok(()) => {}
                    Err(crate::store::StoreError::Unavailable(m)) => {
                        return Err(crate::store::StoreError::Unavailable(m).into())
                    }
                    // Too large for one item, say: the run goes on with it in memory.
                    Err(e) => tracing::warn!(error = %e, "symbol cache not saved"),
                }
            }
            Ok(cache.symbols)
        }
        Err(e) if super::is_fatal(&e) => Err(e.into()),
        Err(e) => match cached {
            // A stale cache beats no cache: symbol rules change rarely.
            Some(c) => {
                tracing::warn!(error = %e, "exchangeInfo unavailable; using the cached symbols");
                run.report.notes.push(format!(
                    "exchangeInfo unavailable ({}): the cached symbols were used",
                    e.kind()
                ));
                Ok(c.symbols)
            }
            None => Err(e.into()),
        },
    }
}
