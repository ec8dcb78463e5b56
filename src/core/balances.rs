//! Balances per asset.
//!
//! Rules:
//! - The exchange is the truth per asset. `snapshot.balances` holds non-zero balances
//!   only, so an asset in the DB but absent on the exchange has free 0 / locked 0.
//! - The DB is corrected (`BalanceCorrected`) whenever free or locked differs by at least
//!   one unit of the asset's precision: the `quote_precision` of a symbol quoted in it,
//!   else the `base_precision` of a symbol based on it, else 8 decimals.
//! - A difference of totals beyond `tolerance_pct` (relative to the DB total, or to the
//!   exchange total when the DB total is zero) is also a discrepancy `balance:<ASSET>`
//!   with the origin's wording:
//!   `Balance discrepancy detected: DB=$1,250.00 vs Exchange=$1,275.50 (diff: 2.04%)`
//!   (`$`, thousands separators and 2 decimals for USD-like assets; `0.5 BTC` otherwise).
//!   It is a discrepancy (Critical) only when the part no recovered fill, fee or flow of
//!   the ledger explains is itself beyond tolerance; a difference they explain is logged
//!   with that wording (`…: explained`) and is not a discrepancy: the records were behind,
//!   nothing on the account is wrong, and no alert is owed.
//! - Every correction logs `💰 Balance corrected from exchange: $1,275.50` and carries a
//!   `BalanceExplanation`. Its parts are signed contributions to the change
//!   (exchange − DB): the fills this run's units recovered (buy: +qty base, −quote qty; sell: the
//!   reverse), their fees (−commission in its asset), and each kind of flow as the ledger
//!   counts it this run (`ledger.rs`: deposits +, withdrawals −, conversions both ways...);
//!   `unexplained` is the rest.

use super::ledger::FlowMoves;
use super::{expect_of, next_version, Flows, ReconcileInput};
use crate::domain::{
    Asset, BalanceExplanation, BalanceRecord, Correction, CorrectionKind, Discrepancy, Plan,
    Record, Severity, Writer,
};
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::BTreeSet;

/// Assets shown as dollars.
pub const USD_LIKE: [&str; 5] = ["USDT", "USDC", "BUSD", "FDUSD", "USD"];

/// Decimals an asset's amounts are compared at.
pub fn asset_precision(
    asset: &Asset,
    symbols: &std::collections::BTreeMap<crate::domain::Symbol, crate::domain::SymbolInfo>,
) -> u32 {
    symbols
        .values()
        .find(|i| &i.quote == asset)
        .map(|i| i.quote_precision)
        .or_else(|| {
            symbols
                .values()
                .find(|i| &i.base == asset)
                .map(|i| i.base_precision)
        })
        .unwrap_or(8)
}

/// `$1,275.50` for USD-like assets, `0.6 BTC` otherwise.
pub fn format_amount(asset: &Asset, amount: Decimal) -> String {
    if USD_LIKE.contains(&asset.as_str()) {
        let rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        let text = format!("{:.2}", rounded.abs());
        let (int, frac) = text.split_once('.').unwrap_or((text.as_str(), "00"));
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
            "-"
        } else {
            ""
        };
        format!("{sign}${grouped}.{frac}")
    } else {
        format!("{} {asset}", amount.normalize())
    }
}

/// Relative difference in percent: to the DB total, or to the exchange total when the DB
/// total is zero.
pub fn diff_pct(db_total: Decimal, ex_total: Decimal) -> Decimal {
    let diff = (ex_total - db_total).abs();
    let reference = if db_total.is_zero() {
        ex_total.abs()
    } else {
        db_total.abs()
    };
    if reference.is_zero() {
        Decimal::ZERO
    } else {
        diff / reference * Decimal::ONE_HUNDRED
    }
}

/// The origin's discrepancy line.
pub fn discrepancy_message(
    asset: &Asset,
    db_total: Decimal,
    ex_total: Decimal,
    pct: Decimal,
) -> String {
    format!(
        "Balance discrepancy detected: DB={} vs Exchange={} (diff: {:.2}%)",
        format_amount(asset, db_total),
        format_amount(asset, ex_total),
        pct.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
    )
}

/// What this run's fills, fees and flows explain of an asset's change.
pub fn explain(
    recovered: &Flows,
    moves: &FlowMoves,
    asset: &Asset,
    db_total: Decimal,
    ex_total: Decimal,
) -> BalanceExplanation {
    let trades = recovered.trades.get(asset).copied().unwrap_or_default();
    let fees = recovered.fees.get(asset).copied().unwrap_or_default();
    // The legs of recovered fills within the clock margin of the account read the records'
    // balance was copied from (`trades.rs`) may be in that balance or not; the read was at
    // one instant, so it holds the earliest of them: of the readings "the first k are in
    // it, the others explain", the one that leaves least unexplained is kept (the first
    // such).
    let mut legs = recovered.uncertain.get(asset).cloned().unwrap_or_default();
    legs.sort_by_key(|(time, _, _)| *time);
    let reading = |counted: &[(crate::domain::Millis, Decimal, bool)]| {
        let part = |fee: bool| -> Decimal {
            counted
                .iter()
                .filter(|(_, _, f)| *f == fee)
                .map(|(_, a, _)| *a)
                .sum()
        };
        let (from_trades, from_fees) = (trades + part(false), fees + part(true));
        let rest = ex_total - db_total - from_trades - from_fees;
        let from_flows = moves.of(moves.best(asset, rest), asset);
        let unexplained = rest - from_flows.values().copied().sum::<Decimal>();
        BalanceExplanation {
            asset: asset.clone(),
            db_total,
            exchange_total: ex_total,
            from_trades,
            from_fees,
            from_flows,
            unexplained,
        }
    };
    let mut best = reading(&legs);
    for held in 1..=legs.len() {
        let next = reading(&legs[held..]);
        if next.unexplained.abs() < best.unexplained.abs() {
            best = next;
        }
    }
    best
}

pub(crate) fn plan_balances(
    input: &ReconcileInput<'_>,
    recovered: &Flows,
    moves: &FlowMoves,
    plan: &mut Plan,
) {
    let snapshot = input.snapshot;
    let db = &input.records.balances;
    let assets: BTreeSet<&Asset> = snapshot.balances.keys().chain(db.keys()).collect();
    for asset in assets {
        let (ex_free, ex_locked) = snapshot
            .balances
            .get(asset)
            .map_or((Decimal::ZERO, Decimal::ZERO), |b| (b.free, b.locked));
        let current = db.get(asset);
        let (db_free, db_locked) =
            current.map_or((Decimal::ZERO, Decimal::ZERO), |b| (b.free, b.locked));
        let unit = Decimal::new(1, asset_precision(asset, &snapshot.symbols));
        let differs = (ex_free - db_free).abs() >= unit || (ex_locked - db_locked).abs() >= unit;
        if !differs && current.is_some() {
            continue;
        }
        if !differs && ex_free.is_zero() && ex_locked.is_zero() {
            continue; // absent in the DB and zero: nothing to record
        }
        let (db_total, ex_total) = (db_free + db_locked, ex_free + ex_locked);
        let pct = diff_pct(db_total, ex_total);
        let explanation = explain(recovered, moves, asset, db_total, ex_total);
        if pct > input.config.tolerance_pct {
            let message = discrepancy_message(asset, db_total, ex_total, pct);
            let unexplained_pct = diff_pct(db_total, db_total + explanation.unexplained);
            if unexplained_pct > input.config.tolerance_pct {
                plan.discrepancies.push(Discrepancy {
                    key: format!("balance:{asset}"),
                    kind: "balance".to_owned(),
                    severity: Severity::Critical,
                    symbol: None,
                    asset: Some(asset.clone()),
                    before: Some(db_total.normalize().to_string()),
                    after: Some(ex_total.normalize().to_string()),
                    diff_pct: Some(
                        pct.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
                    ),
                    message,
                });
            } else {
                // Explained within tolerance: the records were behind, nothing is wrong
                // on the account. Logged with the origin's wording, not a discrepancy.
                plan.notes.push(format!("{message}: explained"));
            }
        }
        let note = format!(
            "💰 Balance corrected from exchange: {}",
            format_amount(asset, ex_total)
        );
        plan.notes.push(note.clone());
        let expect = expect_of(current.map(|b| b.version));
        plan.corrections.push(Correction {
            kind: CorrectionKind::BalanceCorrected,
            expect,
            before: current.cloned().map(Record::Balance),
            after: Record::Balance(BalanceRecord {
                asset: asset.clone(),
                free: ex_free,
                locked: ex_locked,
                version: next_version(expect),
                updated_at: input.now,
                updated_by: Writer::Sync,
                // The exchange's clock of the read: fill times are the exchange's.
                as_of: Some(match snapshot.balances_server_time {
                    0 => snapshot.taken_at,
                    t => t,
                }),
            }),
            reason: format!(
                "{note} (free {} -> {}, locked {} -> {})",
                db_free.normalize(),
                ex_free.normalize(),
                db_locked.normalize(),
                ex_locked.normalize()
            ),
        });
        plan.explanations.push(explanation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reconcile;
    use crate::core::testkit::*;
    use crate::domain::{Expect, Flow, FlowKind, FlowStatus, Side, Wallet};
    use rust_decimal_macros::dec;

    #[test]
    fn discrepancy_message_matches_origin_wording() {
        let mut w = World::new();
        w.db_bal("USDT", dec!(1250), dec!(0));
        w.ex_bal("USDT", dec!(1275.50), dec!(0));
        let plan = reconcile(&w.input());
        assert_eq!(plan.discrepancies.len(), 1);
        let d = &plan.discrepancies[0];
        assert_eq!(d.key, "balance:USDT");
        assert_eq!(
            d.message,
            "Balance discrepancy detected: DB=$1,250.00 vs Exchange=$1,275.50 (diff: 2.04%)"
        );
        assert_eq!(d.diff_pct, Some(dec!(2.04)));
        assert!(plan
            .notes
            .contains(&"💰 Balance corrected from exchange: $1,275.50".to_owned()));
        let c = &of_kind(&plan, CorrectionKind::BalanceCorrected)[0];
        assert_eq!(c.expect, Expect::Version(5));
        let Record::Balance(b) = &c.after else {
            panic!()
        };
        assert_eq!(
            (b.free, b.locked, b.version, b.updated_by, b.updated_at),
            (dec!(1275.50), dec!(0), 6, Writer::Sync, w.now)
        );
    }

    #[test]
    fn non_usd_asset_message_uses_asset_units() {
        assert_eq!(
            discrepancy_message(
                &asset("BTC"),
                dec!(0.5),
                dec!(0.6),
                diff_pct(dec!(0.5), dec!(0.6))
            ),
            "Balance discrepancy detected: DB=0.5 BTC vs Exchange=0.6 BTC (diff: 20.00%)"
        );
        assert_eq!(
            format_amount(&asset("USDC"), dec!(1234567.005)),
            "$1,234,567.01"
        );
        assert_eq!(format_amount(&asset("USD"), dec!(0)), "$0.00");
        assert_eq!(format_amount(&asset("FDUSD"), dec!(999.9)), "$999.90");
    }

    #[test]
    fn within_tolerance_corrected_without_discrepancy() {
        let mut w = World::new();
        w.db_bal("USDT", dec!(1000), dec!(0));
        w.ex_bal("USDT", dec!(995), dec!(5.5)); // total 1000.5: 0.05%
        let plan = reconcile(&w.input());
        assert!(plan.discrepancies.is_empty());
        assert_eq!(of_kind(&plan, CorrectionKind::BalanceCorrected).len(), 1);
        assert_eq!(plan.explanations.len(), 1);
    }

    #[test]
    fn difference_below_precision_is_not_corrected() {
        let mut w = World::new();
        w.db_bal("USDT", dec!(1000.000000001), dec!(0));
        w.ex_bal("USDT", dec!(1000), dec!(0));
        assert!(bot_visible(&reconcile(&w.input())).is_empty());
    }

    #[test]
    fn asset_gone_from_exchange_is_corrected_to_zero_and_new_asset_inserted() {
        let mut w = World::new();
        w.db_bal("ETH", dec!(0.5), dec!(0));
        w.ex_bal("USDT", dec!(10), dec!(0));
        let plan = reconcile(&w.input());
        let bals: Vec<_> = of_kind(&plan, CorrectionKind::BalanceCorrected)
            .into_iter()
            .map(|c| match &c.after {
                Record::Balance(b) => (b.asset.to_string(), b.free, c.expect),
                _ => panic!(),
            })
            .collect();
        assert_eq!(
            bals,
            vec![
                ("ETH".into(), dec!(0), Expect::Version(5)),
                ("USDT".into(), dec!(10), Expect::Absent)
            ]
        );
        let d = plan
            .discrepancies
            .iter()
            .find(|d| d.key == "balance:ETH")
            .expect("eth");
        assert_eq!(
            d.message,
            "Balance discrepancy detected: DB=0.5 ETH vs Exchange=0 ETH (diff: 100.00%)"
        );
    }

    #[test]
    fn deposit_explains_balance_increase() {
        let mut w = World::new();
        w.recs.state.last_success_at = Some(500);
        w.db_bal("USDT", dec!(1000), dec!(0));
        w.ex_bal("USDT", dec!(1500), dec!(0));
        w.ex_flow(deposit("d1", "USDT", dec!(500), true, 600));
        w.ex_flow(deposit("old", "USDT", dec!(77), true, 400));
        w.ex_flow(deposit("pending", "USDT", dec!(9), false, 700));
        let plan = reconcile(&w.input());
        let e = &plan.explanations[0];
        assert_eq!(
            (e.flow(FlowKind::Deposit), e.unexplained),
            (dec!(500), dec!(0))
        );
        assert!(plan.discrepancies.is_empty(), "{:?}", plan.discrepancies);
        assert!(plan.notes.contains(
            &"Balance discrepancy detected: DB=$1,000.00 vs Exchange=$1,500.00 (diff: 50.00%): explained"
                .to_owned()
        ));
    }

    #[test]
    fn withdrawal_explains_balance_decrease() {
        let mut w = World::new();
        w.db_bal("BTC", dec!(1), dec!(0));
        w.ex_bal("BTC", dec!(0.6995), dec!(0));
        w.ex_flow(withdrawal("w1", "BTC", dec!(0.3), dec!(0.0005), true, 600));
        let plan = reconcile(&w.input());
        let e = plan
            .explanations
            .iter()
            .find(|e| e.asset == asset("BTC"))
            .expect("btc");
        assert_eq!(
            (e.flow(FlowKind::Withdrawal), e.unexplained),
            (dec!(-0.3005), dec!(0))
        );
    }

    #[test]
    fn recovered_fills_and_fees_explain_balance_change_and_unexplained_is_critical() {
        let mut w = World::new();
        w.db_bal("USDT", dec!(1000), dec!(0));
        w.ex_bal("USDT", dec!(499), dec!(0));
        w.db_bal("BTC", dec!(0), dec!(0));
        w.ex_bal("BTC", dec!(0.01), dec!(0));
        w.snap_fills(
            "BTCUSDT",
            vec![fill(
                "BTCUSDT",
                1,
                1,
                Side::Buy,
                dec!(50000),
                dec!(0.01),
                dec!(1),
                "USDT",
                600,
            )],
        );
        let plan = reconcile(&w.input());
        let usdt = plan
            .explanations
            .iter()
            .find(|e| e.asset == asset("USDT"))
            .expect("usdt");
        assert_eq!(
            (usdt.from_trades, usdt.from_fees, usdt.unexplained),
            (dec!(-500), dec!(-1), dec!(0))
        );
        let btc = plan
            .explanations
            .iter()
            .find(|e| e.asset == asset("BTC"))
            .expect("btc");
        assert_eq!((btc.from_trades, btc.unexplained), (dec!(0.01), dec!(0)));
        // Nothing explains a loss of 100 USDT.
        w.snap.history.clear();
        w.ex_bal("USDT", dec!(900), dec!(0));
        let plan = reconcile(&w.input());
        let d = plan
            .discrepancies
            .iter()
            .find(|d| d.key == "balance:USDT")
            .expect("usdt");
        assert_eq!(d.severity, Severity::Critical);
    }

    #[test]
    fn an_asset_is_compared_at_the_precision_of_its_quote_symbols_then_of_its_base_ones() {
        let mut info = symbol_info("BTC", "USDT", dec!(0.0001), dec!(5));
        info.base_precision = 5;
        info.quote_precision = 2;
        let symbols: std::collections::BTreeMap<_, _> = [(info.symbol.clone(), info)].into();
        assert_eq!(asset_precision(&asset("USDT"), &symbols), 2, "quoted in it");
        assert_eq!(asset_precision(&asset("BTC"), &symbols), 5, "based on it");
        assert_eq!(asset_precision(&asset("ETH"), &symbols), 8, "neither");
    }

    #[test]
    fn a_negative_dollar_amount_carries_its_sign_and_one_rounding_to_zero_does_not() {
        assert_eq!(format_amount(&asset("USDT"), dec!(-1234.5)), "-$1,234.50");
        assert_eq!(format_amount(&asset("USDT"), dec!(-0.004)), "$0.00");
    }

    #[test]
    fn a_deposit_at_the_last_success_itself_is_not_counted_again() {
        let mut w = World::new();
        w.recs.state.last_success_at = Some(500);
        w.db_bal("USDT", dec!(1000), dec!(0));
        w.ex_bal("USDT", dec!(1500), dec!(0));
        w.ex_flow(deposit("d1", "USDT", dec!(500), true, 500));
        let plan = reconcile(&w.input());
        let e = &plan.explanations[0];
        assert_eq!(
            (e.flow(FlowKind::Deposit), e.unexplained),
            (dec!(0), dec!(500))
        );
    }

    fn deposit(id: &str, a: &str, amount: Decimal, credited: bool, time: i64) -> Flow {
        let status = if credited {
            FlowStatus::Done
        } else {
            FlowStatus::Pending
        };
        deposit_flow(id, a, amount, Wallet::Spot, status, time)
    }

    fn withdrawal(
        id: &str,
        a: &str,
        amount: Decimal,
        fee: Decimal,
        completed: bool,
        time: i64,
    ) -> Flow {
        let status = if completed {
            FlowStatus::Done
        } else {
            FlowStatus::Pending
        };
        withdrawal_flow(id, a, amount, fee, status, time)
    }

    fn btc_explanation(w: &World) -> BalanceExplanation {
        reconcile(&w.input())
            .explanations
            .into_iter()
            .find(|e| e.asset == asset("BTC"))
            .expect("btc")
    }

    #[test]
    fn only_completed_withdrawals_of_the_asset_explain_its_change() {
        let mut w = World::new();
        w.db_bal("BTC", dec!(1), dec!(0));
        w.ex_bal("BTC", dec!(0.7), dec!(0));
        for f in [
            withdrawal("w1", "BTC", dec!(0.3), dec!(0), true, 600),
            withdrawal("pending", "BTC", dec!(0.1), dec!(0), false, 600),
            withdrawal("eth", "ETH", dec!(2), dec!(0), true, 600),
        ] {
            w.ex_flow(f);
        }
        let e = btc_explanation(&w);
        assert_eq!(
            (e.flow(FlowKind::Withdrawal), e.unexplained),
            (dec!(-0.3), dec!(0))
        );
    }

    /// `applyTime` has second precision: a withdrawal in the last success's second counts,
    /// one in the second before does not.
    #[test]
    fn withdrawals_count_from_the_second_of_the_last_success() {
        let mut w = World::new();
        w.recs.state.last_success_at = Some(1_500);
        w.db_bal("BTC", dec!(1), dec!(0));
        w.ex_bal("BTC", dec!(0.7), dec!(0));
        for f in [
            withdrawal("same_second", "BTC", dec!(0.3), dec!(0), true, 1_000),
            withdrawal("before", "BTC", dec!(0.05), dec!(0), true, 999),
        ] {
            w.ex_flow(f);
        }
        let e = btc_explanation(&w);
        assert_eq!(
            (e.flow(FlowKind::Withdrawal), e.unexplained),
            (dec!(-0.3), dec!(0))
        );
    }

    #[test]
    fn a_withdrawal_whose_fee_was_inside_its_amount_is_read_so() {
        let mut w = World::new();
        w.db_bal("BTC", dec!(1), dec!(0));
        w.ex_bal("BTC", dec!(0.7), dec!(0));
        w.ex_flow(withdrawal("w1", "BTC", dec!(0.3), dec!(0.0005), true, 600));
        let e = btc_explanation(&w);
        assert_eq!(
            (e.flow(FlowKind::Withdrawal), e.unexplained),
            (dec!(-0.3), dec!(0))
        );
    }

    #[test]
    fn a_withdrawal_neither_reading_explains_better_is_read_with_its_fee_outside() {
        let mut w = World::new();
        w.db_bal("BTC", dec!(1), dec!(0));
        // Halfway between 1 − 0.3 and 1 − 0.3004.
        w.ex_bal("BTC", dec!(0.6998), dec!(0));
        w.ex_flow(withdrawal("w1", "BTC", dec!(0.3), dec!(0.0004), true, 600));
        let e = btc_explanation(&w);
        assert_eq!(
            (e.flow(FlowKind::Withdrawal), e.unexplained),
            (dec!(-0.3004), dec!(0.0002))
        );
    }

    #[test]
    fn a_locked_amount_released_to_free_is_corrected_without_a_discrepancy() {
        let mut w = World::new();
        w.db_bal("USDT", dec!(900), dec!(100));
        w.ex_bal("USDT", dec!(1000), dec!(0));
        let plan = reconcile(&w.input());
        assert!(plan.discrepancies.is_empty());
        assert_eq!(of_kind(&plan, CorrectionKind::BalanceCorrected).len(), 1);
    }

    #[test]
    fn a_difference_of_exactly_the_tolerance_is_no_discrepancy() {
        let mut w = World::new();
        w.db_bal("USDT", dec!(1000), dec!(0));
        w.ex_bal("USDT", dec!(1010), dec!(0)); // 1.00 %
        let plan = reconcile(&w.input());
        assert!(plan.discrepancies.is_empty());
        assert_eq!(of_kind(&plan, CorrectionKind::BalanceCorrected).len(), 1);
    }

    #[test]
    fn a_difference_explained_but_for_exactly_the_tolerance_is_no_discrepancy() {
        let mut w = World::new();
        w.recs.state.last_success_at = Some(500);
        w.db_bal("USDT", dec!(1000), dec!(0));
        w.ex_bal("USDT", dec!(1510), dec!(0));
        w.ex_flow(deposit("d1", "USDT", dec!(500), true, 600));
        let plan = reconcile(&w.input());
        assert_eq!(plan.explanations[0].unexplained, dec!(10)); // 1.00 % of 1000
        assert!(plan.discrepancies.is_empty(), "{:?}", plan.discrepancies);
    }
}
