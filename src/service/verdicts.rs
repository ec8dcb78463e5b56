//! The verdict step, after a run: judge every symbol with the pure rule
//! (`core::verdict`), rewrite the verdicts that changed (each conditional on the version
//! read, with its log record), and write the account's "verified through".
//!
//! It runs after `run_sync` returned (the handler calls it for the Lambda and the CLI
//! alike), from what the run left in the table: the checkpoints, the digest, this run's
//! report. Its reads are bounded by the account's symbols and assets: the sync state,
//! the positions, dust and checkpoints, the `TRUST#` items, and the symbol cache only
//! when a symbol's assets are not known yet. A failure here never fails the run: it is
//! logged and noted in the report; the bot sees the account summary's `run_id` lag.

use crate::core::verdict::{self, Trust, Verdict, VerdictInput};
use crate::core::RulesConfig;
use crate::domain::{AccountId, Asset, Expect, Millis, Symbol};
use crate::report::{Outcome, ReportedVerdict, SyncReport, TrustSummary};
use crate::store::verdicts::{
    verdict_sk, AccountTrust, StoredVerdict, TrustItems, TrustLogEntry, TrustLogKind, VerdictStore,
};
use crate::store::{LoadScope, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};

/// Time kept after the verdict step for the metrics and alerts (ms): the step stops
/// writing this long before the invocation's deadline.
pub const DEADLINE_RESERVE_MS: Millis = 2_000;

/// What the step judges from besides the stored items.
enum RunResult<'a> {
    Report(&'a mut SyncReport),
    Failed { kind: &'a str },
}

/// Judge and write the verdicts after a run that returned a report; fills
/// `report.trust`, and downgrades acknowledged unexplained amounts to `info` (so the
/// alerting that follows does not alert them). A dry run, a held lease or a run too soon
/// judges nothing: the stored verdicts are reported as they are.
pub async fn after_report<S: Store + VerdictStore>(
    store: &S,
    rules: &RulesConfig,
    account: &AccountId,
    report: &mut SyncReport,
    deadline: Option<Millis>,
) {
    let judged = !report.dry_run && matches!(report.outcome, Outcome::Complete | Outcome::Partial);
    let run_id = report.run_id.clone();
    let started_at = report.started_at;
    let result = if judged {
        settle(
            store,
            rules,
            account,
            &run_id,
            started_at,
            deadline,
            RunResult::Report(report),
        )
        .await
    } else {
        read_only(store, account).await
    };
    match result {
        Ok(summary) => report.trust = Some(summary),
        Err(e) => {
            tracing::warn!(error = %e, "trust verdicts not written");
            report.notes.push(format!(
                "Trust verdicts not {} ({e}): the bot sees the previous run's",
                if judged { "written" } else { "read" },
            ));
        }
    }
}

/// After a run that failed as a whole: every symbol is untrusted (`run_failed`), the
/// account's "verified through" does not advance. Best effort (the store may be what
/// failed).
pub async fn after_failure<S: Store + VerdictStore>(
    store: &S,
    rules: &RulesConfig,
    account: &AccountId,
    run_id: &str,
    started_at: Millis,
    kind: &str,
    deadline: Option<Millis>,
) {
    if let Err(e) = settle(
        store,
        rules,
        account,
        run_id,
        started_at,
        deadline,
        RunResult::Failed { kind },
    )
    .await
    {
        tracing::warn!(error = %e, "trust verdicts of the failed run not written");
    }
}

async fn read_only<S: VerdictStore>(
    store: &S,
    account: &AccountId,
) -> Result<TrustSummary, StoreError> {
    let items = store.load_trust(account).await?;
    let verdicts: Vec<ReportedVerdict> = items
        .verdicts
        .values()
        .map(|v| ReportedVerdict {
            symbol: v.symbol.to_string(),
            trust: v.trust,
            reasons: v.reasons.clone(),
            since: v.since,
        })
        .collect();
    Ok(TrustSummary {
        verified_through: items.account.as_ref().and_then(|a| a.verified_through),
        trusted: count(verdicts.iter().map(|v| v.trust), Trust::Trusted),
        untrusted: count(verdicts.iter().map(|v| v.trust), Trust::Untrusted),
        changed: 0,
        bot_heartbeat_stale: None,
        judged: false,
        verdicts,
    })
}

fn count(trusts: impl Iterator<Item = Trust>, which: Trust) -> u32 {
    u32::try_from(trusts.filter(|t| *t == which).count()).unwrap_or(u32::MAX)
}

/// Base and quote of every symbol: from the stored verdicts, else the symbol cache, else
/// a configured quote asset as suffix.
async fn assets_of<S: Store>(
    store: &S,
    rules: &RulesConfig,
    account: &AccountId,
    symbols: &BTreeSet<Symbol>,
    items: &TrustItems,
) -> Result<BTreeMap<Symbol, (Asset, Asset)>, StoreError> {
    let mut out: BTreeMap<Symbol, (Asset, Asset)> = items
        .verdicts
        .values()
        .filter_map(|v| Some((v.symbol.clone(), (v.base.clone()?, v.quote.clone()?))))
        .collect();
    if symbols.iter().all(|s| out.contains_key(s)) {
        return Ok(out);
    }
    let cache = store.symbol_cache(account).await?.unwrap_or_default();
    for s in symbols
        .iter()
        .filter(|s| !out.contains_key(*s))
        .cloned()
        .collect::<Vec<_>>()
    {
        if let Some(info) = cache.symbols.get(&s) {
            out.insert(s, (info.base.clone(), info.quote.clone()));
        } else if let Some(parts) = rules.quote_assets.iter().find_map(|q| {
            let base = s.as_str().strip_suffix(q.as_str())?;
            Some((Asset::parse(base).ok()?, q.clone()))
        }) {
            out.insert(s, parts);
        }
    }
    Ok(out)
}

async fn settle<S: Store + VerdictStore>(
    store: &S,
    rules: &RulesConfig,
    account: &AccountId,
    run_id: &str,
    started_at: Millis,
    deadline: Option<Millis>,
    result: RunResult<'_>,
) -> Result<TrustSummary, StoreError> {
    let out_of_time = || deadline.is_some_and(|d| super::now_ms() + DEADLINE_RESERVE_MS >= d);
    let items = store.load_trust(account).await?;
    let state = store.state(account).await?;
    let (records, _) = store
        .load_scoped(account, &LoadScope::AccountSymbols)
        .await?;
    let now = super::now_ms();

    let mut symbols: BTreeSet<Symbol> = records.cursors.keys().cloned().collect();
    symbols.extend(items.verdicts.keys().cloned());
    let mut failed = BTreeMap::new();
    let open_before = items
        .account
        .as_ref()
        .map(|a| a.unexplained.clone())
        .unwrap_or_default();
    let (settled, run_failure, outcome) = match result {
        RunResult::Report(report) => {
            for f in &report.symbols_failed {
                if let Ok(s) = Symbol::parse(f.symbol.as_str()) {
                    failed.insert(s.clone(), f.kind.clone());
                    symbols.insert(s);
                }
            }
            symbols.extend(
                report
                    .symbols_checked
                    .iter()
                    .filter_map(|s| Symbol::parse(s.as_str()).ok()),
            );
            let settled = verdict::settle_unexplained(
                &open_before,
                &report.discrepancies,
                &items.acks,
                run_id,
                started_at,
            );
            report.discrepancies = settled.discrepancies.clone();
            let outcome = match report.outcome {
                Outcome::Partial => "partial",
                _ => "complete",
            };
            (settled, None, outcome.to_owned())
        }
        RunResult::Failed { kind } => (
            verdict::settle_unexplained(&open_before, &[], &items.acks, run_id, started_at),
            Some(kind),
            format!("failed: {kind}"),
        ),
    };
    for (u, ack) in &settled.acknowledged {
        tracing::info!(asset = %u.asset, amount = %u.amount, acked_by = %ack.acked_by, "unexplained amount acknowledged");
    }
    let assets = assets_of(store, rules, account, &symbols, &items).await?;
    let verdicts = verdict::judge(&VerdictInput {
        now: started_at,
        config: rules,
        symbols: &symbols,
        assets: &assets,
        cursors: &records.cursors,
        digest: &state.digest,
        unexplained: &settled.open,
        discrepancies: &settled.discrepancies,
        failed: &failed,
        run_failure,
    });

    let mut changed = 0u64;
    let mut left = 0u64;
    let mut reported = Vec::new();
    for (symbol, v) in &verdicts {
        let stored = items.verdicts.get(symbol);
        let (base, quote) = assets
            .get(symbol)
            .map_or((None, None), |(b, q)| (Some(b.clone()), Some(q.clone())));
        let kept = match stored {
            Some(old) if !verdict::changed(Some((old.trust, &old.reasons)), v) => old.clone(),
            // Near the deadline the rest waits for the next run (it writes what differs).
            _ if left > 0 || out_of_time() => {
                left += 1;
                match stored {
                    Some(old) => old.clone(),
                    None => continue,
                }
            }
            _ => {
                let next = StoredVerdict {
                    symbol: symbol.clone(),
                    trust: v.trust,
                    reasons: v.reasons.clone(),
                    base,
                    quote,
                    since: started_at,
                    run_id: run_id.to_owned(),
                    version: stored
                        .map(|o| o.version)
                        .or_else(|| items.undecoded_versions.get(&verdict_sk(symbol)).copied())
                        .map_or(1, |v| v.saturating_add(1)),
                    updated_at: now,
                };
                let log = TrustLogEntry {
                    at: now,
                    kind: TrustLogKind::VerdictChanged,
                    actor: run_id.to_owned(),
                    target: verdict_sk(symbol),
                    before: stored.map(json_of),
                    after: json_of(&next),
                };
                let expect = crate::core::expect_of(
                    stored
                        .map(|o| o.version)
                        .or_else(|| items.undecoded_versions.get(&verdict_sk(symbol)).copied()),
                );
                if store.write_verdict(account, &next, expect, &log).await? {
                    changed += 1;
                    next
                } else {
                    // Another writer (a concurrent run cannot hold the lease; an operator's
                    // hand edit): the next run judges again.
                    tracing::warn!(%symbol, "verdict changed since it was read; left as it is");
                    stored.cloned().unwrap_or(next)
                }
            }
        };
        reported.push(ReportedVerdict {
            symbol: kept.symbol.to_string(),
            trust: kept.trust,
            reasons: kept.reasons,
            since: kept.since,
        });
    }

    let previous = items.account.as_ref().and_then(|a| a.verified_through);
    // An item that does not decode is replaced (conditionally), never a wedge.
    let account_version = items.account.as_ref().map(|a| a.version).or_else(|| {
        items
            .undecoded_versions
            .get(crate::store::verdicts::TRUST_ACCOUNT_SK)
            .copied()
    });
    for skipped in &items.skipped {
        tracing::warn!(key = %skipped.key, detail = %skipped.detail, "trust item does not decode: rewritten");
    }
    let verified_through = if run_failure.is_some() {
        previous
    } else {
        verdict::verified_through(&verdicts, &records.cursors, previous)
    };
    let trusted = count(verdicts.values().map(|v: &Verdict| v.trust), Trust::Trusted);
    let untrusted = count(
        verdicts.values().map(|v: &Verdict| v.trust),
        Trust::Untrusted,
    );
    let summary = AccountTrust {
        verified_through,
        trusted,
        untrusted,
        unexplained: settled.open.clone(),
        run_id: run_id.to_owned(),
        outcome,
        version: account_version.map_or(1, |v| v.saturating_add(1)),
        updated_at: now,
    };
    if left == 0 && out_of_time() {
        // No verdict changed, but the summary write too would take the time the metrics
        // and alerts need.
        return Err(StoreError::Unavailable(
            "deadline reached: the trust summary left for the next run".to_owned(),
        ));
    }
    if left > 0 {
        // The stored verdicts and the summary must agree: it is not written either.
        tracing::warn!(left, "deadline: verdicts left for the next run");
        return Err(StoreError::Unavailable(format!(
            "deadline reached: {left} verdict(s) and the trust summary left for the next run"
        )));
    }
    let expect: Expect = crate::core::expect_of(account_version);
    if !store.save_account_trust(account, &summary, expect).await? {
        tracing::warn!("trust summary changed since it was read; left as it is");
    }
    let open_positions = crate::core::scope::open_positions(&records);
    let open_orders: u64 = records
        .cursors
        .values()
        .map(|c| u64::from(c.open_orders))
        .sum();
    let heartbeat = store.bot_heartbeat(account).await?;
    let bot_heartbeat_stale =
        verdict::heartbeat_stale(heartbeat.as_ref(), open_positions, open_orders, now);
    Ok(TrustSummary {
        verified_through,
        trusted,
        untrusted,
        changed,
        bot_heartbeat_stale,
        judged: true,
        verdicts: reported,
    })
}

fn json_of<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}
