//! The key scheme of the shared table (see `docs/data-model.md`) and the record helpers
//! both adapters share. One partition per account; the sort key names the entity. Both
//! adapters use these functions, so the in-memory store orders and identifies items
//! exactly as DynamoDB does.

use crate::domain::{AccountId, Asset, Millis, Record, Records, Symbol};

pub const ACCOUNT_PREFIX: &str = "ACCOUNT#";
pub const BALANCE_PREFIX: &str = "BALANCE#";
pub const POSITION_PREFIX: &str = "POSITION#";
/// Past round trips (see `position_history_sk`); loaded by full loads only.
pub const POSITION_HISTORY_PREFIX: &str = "POSHIST#";
pub const DUST_PREFIX: &str = "DUST#";
pub const ORDER_PREFIX: &str = "ORDER#";
pub const TRADE_PREFIX: &str = "TRADE#";
pub const CURSOR_PREFIX: &str = "CURSOR#";
/// The ledger of balance moves (see `ledger_sk`); a run loads those of its read window.
pub const LEDGER_PREFIX: &str = "LEDGER#";
pub const SYNC_STATE_SK: &str = "SYNC#STATE";
/// The cached `exchangeInfo` fields (sync-owned, refreshed daily).
pub const SYMBOL_CACHE_SK: &str = "SYNC#SYMBOLS";
/// The table layout's version for the account (see `migrate`).
pub const SCHEMA_SK: &str = "SYNC#SCHEMA";
/// The layout this version writes: 2 = checkpoints with basis, digest in the sync state.
pub const SCHEMA_VERSION: u32 = 2;
pub const RUN_PREFIX: &str = "RUN#";
pub const AUDIT_PREFIX: &str = "AUDIT#";
/// Upper bound of the audit range: `~` sorts after every digit.
pub const AUDIT_END: &str = "AUDIT#~";

/// The prefixes `load` reads (audit and run history are not loaded).
pub const RECORD_PREFIXES: [&str; 8] = [
    BALANCE_PREFIX,
    POSITION_PREFIX,
    POSITION_HISTORY_PREFIX,
    DUST_PREFIX,
    ORDER_PREFIX,
    TRADE_PREFIX,
    CURSOR_PREFIX,
    LEDGER_PREFIX,
];

/// The sort-key ranges of a load scope: `(from, Some(to))` is `BETWEEN from AND to`,
/// `(prefix, None)` is `begins_with(prefix)`. Both adapters read exactly these.
pub fn scope_ranges(scope: &crate::store::LoadScope) -> Vec<(String, Option<String>)> {
    use crate::store::LoadScope;
    match scope {
        LoadScope::Balances => vec![(BALANCE_PREFIX.to_owned(), None)],
        LoadScope::Ledger { from_time } => vec![(
            format!("{LEDGER_PREFIX}{}", millis13(*from_time)),
            Some(format!("{LEDGER_PREFIX}~")),
        )],
        LoadScope::AccountSymbols => vec![
            (POSITION_PREFIX.to_owned(), None),
            (DUST_PREFIX.to_owned(), None),
            (CURSOR_PREFIX.to_owned(), None),
        ],
        LoadScope::Orders {
            symbol,
            from_order_id,
            to_order_id,
        } => vec![(
            order_sk(symbol, *from_order_id),
            Some(match to_order_id {
                Some(to) => order_sk(symbol, *to),
                None => format!("{ORDER_PREFIX}{symbol}#~"),
            }),
        )],
        LoadScope::Trades {
            symbol,
            from_id,
            to_id,
            ..
        } => vec![(
            trade_sk(symbol, *from_id),
            Some(match to_id {
                Some(to) => trade_sk(symbol, *to),
                // The highest trade id's key: the SOR fills after it are not trades.
                None => trade_sk(symbol, u64::MAX),
            }),
        )],
        LoadScope::Allocations { symbol, from_id } => {
            vec![(alloc_sk(symbol, *from_id), Some(alloc_sk(symbol, u64::MAX)))]
        }
    }
}

/// The item limit of a load scope (a page of stored trades for a basis rebuild).
pub fn scope_limit(scope: &crate::store::LoadScope) -> Option<u32> {
    match scope {
        crate::store::LoadScope::Trades { limit, .. } => *limit,
        _ => None,
    }
}

/// The `source` of every audit record the sync writes.
pub const AUDIT_SOURCE: &str = "binance-account-sync";

/// Values of the `entity` attribute.
pub mod entity {
    pub const BALANCE: &str = "balance";
    pub const POSITION: &str = "position";
    pub const POSITION_HISTORY: &str = "position_history";
    pub const DUST: &str = "dust";
    pub const ORDER: &str = "order";
    pub const TRADE: &str = "trade";
    pub const CURSOR: &str = "cursor";
    pub const LEDGER: &str = "ledger";
    pub const SYNC_STATE: &str = "sync_state";
    pub const SYMBOL_CACHE: &str = "symbol_cache";
    pub const SCHEMA: &str = "schema";
    pub const RUN: &str = "run";
    pub const AUDIT: &str = "audit";
}

/// Millisecond timestamps as 13 digits so that they sort as text (negative clamps to 0).
pub fn millis13(at: Millis) -> String {
    format!("{:013}", at.max(0))
}

pub fn pk(account: &AccountId) -> String {
    format!("{ACCOUNT_PREFIX}{account}")
}

pub fn balance_sk(asset: &Asset) -> String {
    format!("{BALANCE_PREFIX}{asset}")
}

pub fn position_sk(symbol: &Symbol) -> String {
    format!("{POSITION_PREFIX}{symbol}")
}

/// A past round trip: its symbol, opening and closing times, so each round trip has a key
/// of its own (two round trips can open at the same time when the first left dust, which
/// keeps the cost basis's `open_since`; they cannot also close at the same time).
pub fn position_history_sk(symbol: &Symbol, opened_at: Millis, closed_at: Millis) -> String {
    format!("{POSITION_HISTORY_PREFIX}{symbol}#{opened_at:020}#{closed_at:020}")
}

pub fn dust_sk(asset: &Asset) -> String {
    format!("{DUST_PREFIX}{asset}")
}

pub fn order_sk(symbol: &Symbol, order_id: u64) -> String {
    format!("{ORDER_PREFIX}{symbol}#{order_id:020}")
}

pub fn trade_sk(symbol: &Symbol, trade_id: u64) -> String {
    format!("{TRADE_PREFIX}{symbol}#{trade_id:020}")
}

/// An SOR fill: its allocation id in a key space of its own beside the symbol's trades
/// (`SOR#` sorts after every digit, so a range of trade ids never holds one).
pub fn alloc_sk(symbol: &Symbol, alloc_id: u64) -> String {
    format!("{TRADE_PREFIX}{symbol}#{ALLOC_INFIX}{alloc_id:020}")
}

const ALLOC_INFIX: &str = "SOR#";

/// Whether a `TRADE#` sort key is an SOR fill's.
pub fn is_alloc_sk(sk: &str) -> bool {
    sk.strip_prefix(TRADE_PREFIX)
        .and_then(|rest| rest.split_once('#'))
        .is_some_and(|(_, id)| id.starts_with(ALLOC_INFIX))
}

/// The sort key of a fill record, by its id sequence.
pub fn fill_sk(trade: &crate::domain::TradeRecord) -> String {
    match trade.source {
        crate::domain::FillSource::Trade => trade_sk(&trade.symbol, trade.trade_id),
        crate::domain::FillSource::Sor => alloc_sk(&trade.symbol, trade.trade_id),
    }
}

pub fn cursor_sk(symbol: &Symbol) -> String {
    format!("{CURSOR_PREFIX}{symbol}")
}

/// A flow of the ledger: its creation time first, so that a run loads the flows of its
/// read window with one range, then its kind and the exchange's id (unique within it).
pub fn ledger_sk(time: Millis, kind: crate::domain::FlowKind, id: &str) -> String {
    format!("{LEDGER_PREFIX}{}#{kind}#{id}", millis13(time))
}

/// The run a `finish_run` records: its id and start time, from the state (or, for a
/// failed run's minimal summary, from the summary).
pub fn run_identity(
    state: &crate::domain::SyncState,
    summary: &serde_json::Value,
) -> Result<(String, Millis), crate::store::StoreError> {
    let run_id = state
        .last_run_id
        .clone()
        .or_else(|| {
            summary
                .get("run_id")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
        .ok_or_else(|| {
            crate::store::StoreError::Rejected(
                "finish_run: no run id in state.last_run_id or summary.run_id".into(),
            )
        })?;
    let started_at = state
        .last_attempt_at
        .or_else(|| summary.get("started_at").and_then(|v| v.as_i64()))
        .ok_or_else(|| {
            crate::store::StoreError::Rejected(
                "finish_run: no start time in state.last_attempt_at or summary.started_at".into(),
            )
        })?;
    Ok((run_id, started_at))
}

pub fn run_sk(started_at: Millis, run_id: &str) -> String {
    format!("{RUN_PREFIX}{}#{run_id}", millis13(started_at))
}

/// The audit record of the `seq`-th correction of an `apply` call. Deterministic in
/// (at, run id, seq): a retried apply of the same run finds its earlier audit record.
pub fn audit_sk(at: Millis, run_id: &str, seq: usize) -> String {
    format!("{AUDIT_PREFIX}{}#{run_id}#{seq:04}", millis13(at))
}

/// Lower bound of the audit range for "audit since `since`".
pub fn audit_from(since: Millis) -> String {
    format!("{AUDIT_PREFIX}{}", millis13(since))
}

/// The sort key of a record.
pub fn record_sk(record: &Record) -> String {
    match record {
        Record::Balance(r) => balance_sk(&r.asset),
        Record::Position(r) => position_sk(&r.symbol),
        Record::PositionHistory(r) => {
            position_history_sk(&r.symbol, r.opened_at, r.closed_at.unwrap_or(0))
        }
        Record::Dust(r) => dust_sk(&r.asset),
        Record::Order(r) => order_sk(&r.symbol, r.order_id),
        Record::Trade(r) => fill_sk(r),
        Record::Cursor(r) => cursor_sk(&r.symbol),
        Record::Ledger(r) => ledger_sk(r.time, r.kind, &r.id),
    }
}

/// The `entity` attribute of a record.
pub fn record_entity(record: &Record) -> &'static str {
    match record {
        Record::Balance(_) => entity::BALANCE,
        Record::Position(_) => entity::POSITION,
        Record::PositionHistory(_) => entity::POSITION_HISTORY,
        Record::Dust(_) => entity::DUST,
        Record::Order(_) => entity::ORDER,
        Record::Trade(_) => entity::TRADE,
        Record::Cursor(_) => entity::CURSOR,
        Record::Ledger(_) => entity::LEDGER,
    }
}

pub fn record_version(record: &Record) -> u64 {
    match record {
        Record::Balance(r) => r.version,
        Record::Position(r) | Record::PositionHistory(r) => r.version,
        Record::Dust(r) => r.version,
        Record::Order(r) => r.version,
        Record::Trade(r) => r.version,
        Record::Cursor(r) => r.version,
        Record::Ledger(r) => r.version,
    }
}

pub fn set_record_version(record: &mut Record, version: u64) {
    match record {
        Record::Balance(r) => r.version = version,
        Record::Position(r) | Record::PositionHistory(r) => r.version = version,
        Record::Dust(r) => r.version = version,
        Record::Order(r) => r.version = version,
        Record::Trade(r) => r.version = version,
        Record::Cursor(r) => r.version = version,
        Record::Ledger(r) => r.version = version,
    }
}

/// Put a record into its map of `Records`.
pub fn insert_record(records: &mut Records, record: Record) {
    match record {
        Record::Balance(r) => {
            records.balances.insert(r.asset.clone(), r);
        }
        Record::Position(r) => {
            records.positions.insert(r.symbol.clone(), r);
        }
        Record::PositionHistory(r) => {
            records
                .position_history
                .insert(crate::domain::history_key(&r), r);
        }
        Record::Dust(r) => {
            records.dust.insert(r.asset.clone(), r);
        }
        Record::Order(r) => {
            records.orders.insert((r.symbol.clone(), r.order_id), r);
        }
        Record::Trade(r) => {
            let map = match r.source {
                crate::domain::FillSource::Trade => &mut records.trades,
                crate::domain::FillSource::Sor => &mut records.allocations,
            };
            map.insert((r.symbol.clone(), r.trade_id), r);
        }
        Record::Cursor(r) => {
            records.cursors.insert(r.symbol.clone(), r);
        }
        Record::Ledger(r) => {
            records.ledger.insert(r.key(), r);
        }
    }
}

/// The rule both adapters enforce before writing anything: a correction's record carries
/// the version it read plus one (1 for a new item), and an apply has at most 10 000
/// corrections (the audit key's 4-digit sequence).
pub fn check_corrections(
    corrections: &[crate::domain::Correction],
) -> Result<(), crate::store::StoreError> {
    use crate::domain::Expect;
    use crate::store::StoreError;
    if corrections.len() > MAX_CORRECTIONS_PER_APPLY {
        return Err(StoreError::Rejected(format!(
            "{} corrections in one apply; at most {MAX_CORRECTIONS_PER_APPLY} (4-digit audit sequence)",
            corrections.len()
        )));
    }
    for c in corrections {
        let expected = match c.expect {
            Expect::Absent => 1,
            Expect::Version(v) => v.saturating_add(1),
        };
        let got = record_version(&c.after);
        if got != expected {
            return Err(StoreError::Rejected(format!(
                "correction of {} writes version {got} but expects {:?}: a write must increment the version it read",
                record_sk(&c.after),
                c.expect
            )));
        }
    }
    Ok(())
}

/// At most this many corrections per `apply` call.
pub const MAX_CORRECTIONS_PER_APPLY: usize = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_zero_padded_so_text_order_is_numeric_order() {
        let s = Symbol::parse("BTCUSDT").unwrap();
        assert_eq!(order_sk(&s, 42), "ORDER#BTCUSDT#00000000000000000042");
        assert!(trade_sk(&s, 9) < trade_sk(&s, 10));
        assert_eq!(trade_sk(&s, u64::MAX).len(), "TRADE#BTCUSDT#".len() + 20);
    }

    #[test]
    fn audit_keys_sort_by_time_and_fall_inside_the_audit_range() {
        let a = audit_sk(1_700_000_000_000, "run-1", 3);
        assert_eq!(a, "AUDIT#1700000000000#run-1#0003");
        assert!(audit_from(1_700_000_000_000).as_str() <= a.as_str());
        assert!(a.as_str() < AUDIT_END);
        assert!(audit_sk(999, "r", 0) < audit_sk(1000, "r", 0));
    }
}
