//! Verifying stored trades the sync's reads never compared with the exchange's fills.
//!
//! A fill is compared with its record when a read returns it (`trades.rs`: a record that
//! disagrees is kept and reported as `trade_disagrees`). A forward read that starts at
//! trade id 0 (a symbol's first read) compares every stored trade of the symbol; one that
//! starts past a checkpoint it did not write does not: a checkpoint migrated from the
//! previous layout, or one written before this rule, covers trades no read of this sync
//! returned. Rules:
//! - Such a checkpoint carries the range `[from, below)` of trade ids still to compare
//!   (`CursorRecord::verify`): a migrated or older checkpoint `[0, last_trade_id + 1)`
//!   (the checkpoint as found: later fills are compared by the forward reads); a
//!   checkpoint whose first read started at id 0 none.
//! - Before the forward read (after a basis rebuild and an emergency's re-scan, so that a
//!   run cut after a unit or two still makes progress), one unit at a time: a page of the stored trades
//!   from `from` (ascending, at most [`STORED_PAGE`]). The trades the sync inserted were
//!   copied from the exchange's fills and need no read; for the bot's (`recovered: false`)
//!   one `myTrades` page `fromId` = the first of them. Every bot trade within both pages is
//!   compared: one that disagrees is reported as `trade_disagrees` (and kept), one whose
//!   id the exchange's page skips is reported as `trade_not_on_exchange` (and kept).
//! - The range advances past what both pages covered; it is done (None) once a page of
//!   either ran out (nothing stored or listed beyond it) or it reached `below`. Nothing is
//!   rewritten; a unit cut short compares the page again next time. The findings ride in
//!   the checkpoint until reported (`checkpoint.rs`).

use super::{expect_of, next_version};
use crate::domain::{
    Correction, CorrectionKind, CursorRecord, Discrepancy, Fill, Record, Severity, TradeRecord,
    VerifyRange,
};
use std::collections::BTreeMap;

/// Stored trades a verification unit loads at most.
pub const STORED_PAGE: usize = 1000;

/// The range a checkpoint still has to verify, if any: none before its first fill was read
/// (its forward read starts at id 0 and compares everything); a range not bounded yet
/// ends past the checkpoint (the forward read compares what comes after).
pub fn pending(cursor: &CursorRecord) -> Option<VerifyRange> {
    let last = cursor.last_trade_id?;
    let v = cursor.verify?;
    let below = v.below.unwrap_or(last.saturating_add(1));
    (v.from < below).then_some(VerifyRange {
        from: v.from,
        below: Some(below),
    })
}

/// The range after a forward read of a symbol from `from_id`: none left once a read
/// started at id 0 (it compares everything); a range not bounded yet ends where this read
/// started (it compares what comes after).
pub fn after_forward_read(verify: Option<VerifyRange>, from_id: u64) -> Option<VerifyRange> {
    if from_id == 0 {
        return None;
    }
    verify.and_then(|v| {
        let below = v.below.unwrap_or(from_id);
        (v.from < below).then_some(VerifyRange {
            from: v.from,
            below: Some(below),
        })
    })
}

/// The trade id a verification page asks the exchange from: its first bot-written trade
/// (None: every stored trade of the page is the sync's own copy of a fill).
pub fn exchange_from(stored: &[TradeRecord]) -> Option<u64> {
    stored
        .iter()
        .filter(|t| !t.recovered)
        .map(|t| t.trade_id)
        .min()
}

/// What one verification page found, and the checkpoint after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub discrepancies: Vec<Discrepancy>,
    pub checkpoint: Correction,
}

/// One verification page: `stored` (ascending, from `range.from`, below `range.below`,
/// `stored_full` when the page held [`STORED_PAGE`] trades) and the exchange's `fills` from
/// [`exchange_from`] (`fills_full` when the exchange's page was full; empty when not read).
pub fn verified(
    cursor: &CursorRecord,
    range: VerifyRange,
    stored: &[TradeRecord],
    stored_full: bool,
    fills: &[Fill],
    fills_full: bool,
    now: i64,
) -> Verified {
    let read_exchange = exchange_from(stored).is_some();
    let last_stored = stored.iter().map(|t| t.trade_id).max();
    let last_fill = fills.iter().map(|f| f.trade_id).max();
    // The highest id both pages cover; None: beyond the last (done).
    let mut covered: Option<u64> = None;
    if stored_full {
        covered = last_stored;
    }
    if read_exchange && fills_full {
        covered = match (covered, last_fill) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let by_id: BTreeMap<u64, &Fill> = fills
        .iter()
        .filter(|f| f.symbol == cursor.symbol)
        .map(|f| (f.trade_id, f))
        .collect();
    let mut discrepancies = Vec::new();
    if read_exchange {
        for t in stored
            .iter()
            .filter(|t| !t.recovered && covered.is_none_or(|c| t.trade_id <= c))
        {
            match by_id.get(&t.trade_id) {
                Some(fill) => {
                    discrepancies.extend(super::trades::disagreement(&cursor.symbol, t, fill))
                }
                None => discrepancies.push(not_on_exchange(t)),
            }
        }
    }
    let next = covered.and_then(|c| {
        let from = c.saturating_add(1);
        range.below.is_none_or(|b| from < b).then_some(VerifyRange {
            from,
            below: range.below,
        })
    });
    let expect = expect_of(Some(cursor.version));
    let after = CursorRecord {
        verify: next,
        unreported: super::checkpoint::with_findings(&cursor.unreported, &discrepancies),
        version: next_version(expect),
        updated_at: now,
        ..cursor.clone()
    };
    let through = covered.map_or_else(|| "the end".to_owned(), |c| c.to_string());
    Verified {
        discrepancies,
        checkpoint: Correction {
            kind: CorrectionKind::CursorAdvanced,
            expect,
            before: Some(Record::Cursor(cursor.clone())),
            after: Record::Cursor(after),
            reason: format!(
                "Stored trades of {} compared with the exchange's fills through {through}",
                cursor.symbol
            ),
        },
    }
}

fn not_on_exchange(t: &TradeRecord) -> Discrepancy {
    Discrepancy {
        key: format!("trade_not_on_exchange:{}:{}", t.symbol, t.trade_id),
        kind: "trade_not_on_exchange".to_owned(),
        severity: Severity::Warning,
        symbol: Some(t.symbol.clone()),
        asset: None,
        message: format!(
            "Recorded trade {} of {} is not among the exchange's fills: kept as recorded",
            t.trade_id, t.symbol
        ),
        before: None,
        after: None,
        diff_pct: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;

    use crate::domain::Side;
    use rust_decimal::Decimal;

    /// A range verified to its end is not pending: no run reads the symbol for it again.
    #[test]
    fn a_range_verified_to_its_end_is_not_pending() {
        let mut cursor = CursorRecord::new(sym("BTCUSDT"));
        cursor.last_trade_id = Some(50);
        cursor.verify = Some(VerifyRange {
            from: 20,
            below: Some(20),
        });
        assert_eq!(pending(&cursor), None);
        cursor.verify = Some(VerifyRange {
            from: 19,
            below: Some(20),
        });
        assert_eq!(
            pending(&cursor),
            Some(VerifyRange {
                from: 19,
                below: Some(20)
            })
        );
        // Unbounded: up to the checkpoint's last trade.
        cursor.verify = Some(VerifyRange {
            from: 51,
            below: None,
        });
        assert_eq!(pending(&cursor), None);
        // A forward read from where the range starts leaves nothing below it to verify.
        let open = Some(VerifyRange {
            from: 20,
            below: None,
        });
        assert_eq!(after_forward_read(open, 20), None);
        assert_eq!(
            after_forward_read(open, 21),
            Some(VerifyRange {
                from: 20,
                below: Some(21)
            })
        );
    }

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn stored(ids: &[(u64, bool)]) -> Vec<TradeRecord> {
        ids.iter()
            .map(|(id, recovered)| TradeRecord {
                recovered: *recovered,
                ..trade(
                    "BTCUSDT",
                    *id,
                    Side::Buy,
                    d("50000"),
                    d("0.1"),
                    Decimal::ZERO,
                    "USDT",
                    Decimal::ZERO,
                )
            })
            .collect()
    }

    fn exchange_fill(id: u64) -> Fill {
        fill(
            "BTCUSDT",
            id,
            id,
            Side::Buy,
            d("50000"),
            d("0.1"),
            Decimal::ZERO,
            "USDT",
            id as i64,
        )
    }

    fn cursor() -> CursorRecord {
        CursorRecord {
            last_trade_id: Some(500),
            version: 3,
            ..CursorRecord::new(sym("BTCUSDT"))
        }
    }

    fn after(v: &Verified) -> Option<VerifyRange> {
        match &v.checkpoint.after {
            Record::Cursor(c) => c.verify,
            other => panic!("a checkpoint, got {other:?}"),
        }
    }

    const RANGE: VerifyRange = VerifyRange {
        from: 0,
        below: Some(501),
    };

    #[test]
    fn a_bot_trade_below_the_checkpoint_that_disagrees_is_reported_and_kept() {
        let mut page = stored(&[(7, false), (8, true), (9, false)]);
        page[0].qty = d("0.2");
        let fills = vec![exchange_fill(7), exchange_fill(8), exchange_fill(9)];
        let v = verified(&cursor(), RANGE, &page, false, &fills, false, 1);
        let keys: Vec<&str> = v.discrepancies.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, vec!["trade_disagrees:BTCUSDT:7"]);
        assert_eq!(after(&v), None, "both pages ran out: verified");
        assert_eq!(v.checkpoint.expect, crate::domain::Expect::Version(3));
        // The finding rides in the checkpoint until a run reports it; the write is a new
        // version, stamped with the unit's time.
        let Record::Cursor(c) = &v.checkpoint.after else {
            panic!("a checkpoint")
        };
        let kept: Vec<&str> = c.unreported.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(kept, vec!["trade_disagrees:BTCUSDT:7"]);
        assert_eq!((c.version, c.updated_at), (4, 1));
    }

    #[test]
    fn a_bot_trade_the_exchange_does_not_list_is_reported() {
        let page = stored(&[(7, false), (9, false)]);
        let fills = vec![exchange_fill(7), exchange_fill(8)];
        let v = verified(&cursor(), RANGE, &page, false, &fills, false, 1);
        let keys: Vec<&str> = v.discrepancies.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, vec!["trade_not_on_exchange:BTCUSDT:9"]);
    }

    #[test]
    fn the_sync_s_own_trades_need_no_exchange_read() {
        assert_eq!(exchange_from(&stored(&[(3, true), (4, true)])), None);
        assert_eq!(exchange_from(&stored(&[(3, true), (4, false)])), Some(4));
        let v = verified(&cursor(), RANGE, &stored(&[(3, true)]), true, &[], false, 1);
        assert!(v.discrepancies.is_empty());
        assert_eq!(
            after(&v),
            Some(VerifyRange {
                from: 4,
                below: Some(501)
            }),
            "a full page of stored trades: the next unit goes on after it"
        );
    }

    #[test]
    fn a_full_exchange_page_bounds_what_is_compared() {
        // Bot trades 10 and 2,000; the exchange's full page reaches 1,009 only.
        let page = stored(&[(10, false), (2_000, false)]);
        let fills: Vec<Fill> = (10..1_010).map(exchange_fill).collect();
        let range = VerifyRange {
            from: 0,
            below: Some(5_000),
        };
        let v = verified(&cursor(), range, &page, false, &fills, true, 1);
        assert!(
            v.discrepancies.is_empty(),
            "2,000 is beyond the page: not yet compared, not missing: {:?}",
            v.discrepancies
        );
        assert_eq!(
            after(&v),
            Some(VerifyRange {
                from: 1_010,
                below: Some(5_000)
            })
        );
    }

    #[test]
    fn a_range_reaching_its_bound_is_done() {
        let range = VerifyRange {
            from: 0,
            below: Some(4),
        };
        let v = verified(&cursor(), range, &stored(&[(3, true)]), true, &[], false, 1);
        assert_eq!(after(&v), None);
    }

    #[test]
    fn a_first_read_from_id_zero_leaves_nothing_to_verify() {
        let unbounded = Some(VerifyRange {
            from: 0,
            below: None,
        });
        assert_eq!(after_forward_read(unbounded, 0), None);
        assert_eq!(
            after_forward_read(unbounded, 601),
            Some(VerifyRange {
                from: 0,
                below: Some(601)
            }),
            "a migrated checkpoint's range ends where the sync's first read started"
        );
        assert_eq!(after_forward_read(None, 601), None);
    }

    #[test]
    fn a_range_not_bounded_yet_ends_past_the_checkpoint() {
        let migrated = CursorRecord {
            verify: Some(VerifyRange {
                from: 0,
                below: None,
            }),
            ..cursor()
        };
        assert_eq!(
            pending(&migrated),
            Some(VerifyRange {
                from: 0,
                below: Some(501)
            })
        );
        let never_read = CursorRecord {
            last_trade_id: None,
            ..migrated
        };
        assert_eq!(
            pending(&never_read),
            None,
            "its first read compares everything"
        );
    }
}
