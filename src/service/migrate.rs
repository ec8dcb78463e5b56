//! Table layout migrations, idempotent and resumable.
//!
//! Layout 1 (before versioning): `CURSOR#` items held only `last_trade_id` and
//! `last_order_id`, and every run read the whole partition. Layout 2: the checkpoint
//! (`CURSOR#`) carries the cost basis, coverage, backoff and emergency progress; the sync
//! state carries the balance digest; `SYNC#SYMBOLS` caches `exchangeInfo`; `SYNC#SCHEMA`
//! records the layout.
//!
//! Moving 1 → 2 rewrites each layout-1 cursor as a checkpoint whose basis is to be rebuilt
//! from the exchange's fills (later units page through them, `core::trades`), each write conditional on
//! the version read, so a migration cut anywhere is finished by the next one; the schema
//! item is written last. Bot items are not touched.

use crate::core::{expect_of, next_version};
use crate::domain::{AccountId, BasisState, Correction, CorrectionKind, Record};
use crate::store::keys::SCHEMA_VERSION;
use crate::store::{LoadScope, Store, StoreError};

/// What a migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Migration {
    pub from: Option<u32>,
    pub to: u32,
    pub checkpoints_rewritten: usize,
}

/// Bring the account's items to the current layout (nothing when already there).
pub async fn ensure<S: Store>(store: &S, account: &AccountId) -> Result<Migration, StoreError> {
    let from = store.schema_version(account).await?;
    if let Some(v) = from.filter(|v| *v > SCHEMA_VERSION) {
        return Err(StoreError::Rejected(format!(
            "the account's items are in table layout {v}, newer than this version's {SCHEMA_VERSION}: deploy the newer sync"
        )));
    }
    if from.is_some_and(|v| v >= SCHEMA_VERSION) {
        return Ok(Migration {
            from,
            to: from.unwrap_or(SCHEMA_VERSION),
            checkpoints_rewritten: 0,
        });
    }
    let (records, _) = store
        .load_scoped(account, &LoadScope::AccountSymbols)
        .await?;
    let now = crate::service::now_ms();
    let rewrites: Vec<Correction> = records
        .cursors
        .values()
        // A layout-1 cursor decodes as a basis to rebuild with nothing rebuilt yet.
        .filter(|c| c.basis_state == BasisState::Rebuilding && c.basis.through.is_none())
        .map(|c| {
            let expect = expect_of(Some(c.version));
            Correction {
                kind: CorrectionKind::CursorAdvanced,
                expect,
                before: Some(Record::Cursor(c.clone())),
                after: Record::Cursor(crate::domain::CursorRecord {
                    version: next_version(expect),
                    updated_at: now,
                    ..c.clone()
                }),
                reason: format!(
                    "Migrated to layout {SCHEMA_VERSION}: checkpoint of {}, cost basis to rebuild from the exchange's fills",
                    c.symbol
                ),
            }
        })
        .collect();
    let run_id = format!("migrate-{SCHEMA_VERSION}");
    let mut rewritten = 0;
    for chunk in rewrites.chunks(50) {
        let outcome = store.apply(account, &run_id, now, chunk).await?;
        rewritten += outcome.applied.len();
    }
    store.set_schema_version(account, SCHEMA_VERSION).await?;
    Ok(Migration {
        from,
        to: SCHEMA_VERSION,
        checkpoints_rewritten: rewritten,
    })
}
