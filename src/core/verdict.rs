//! The trust verdict: may the bot trust its records of one symbol now? Pure.
//!
//! After every run, each symbol the account knows (a checkpoint, a verdict from before, a
//! unit of this run) is judged from what the run knows. A symbol is `trusted` only when no
//! reason below holds; otherwise `untrusted` with every reason that holds, sorted:
//!
//! - `never_read` — no read of the symbol reached the end of its fills yet (no checkpoint,
//!   or one without `covered_through`). A symbol never read is never trusted.
//! - `not_covered` — its `covered_through` is older than `SYNC_UNCOVERED_HOURS` (the
//!   `SymbolsUncovered` alarm's threshold): fills after it may be missing.
//! - `run_failed` — the run failed as a whole, or this symbol's unit failed (this run or an
//!   earlier one whose backoff has not been cleared by a successful read).
//! - `not_read` — the last read stopped before the end of its fills (`pending`) or its
//!   cost basis is being rebuilt; or its base or quote asset moved and no run has read the
//!   fills that explain it yet (the digest's `moved_at` / `unread_since`: a partial run
//!   that did not get to it, or a movement awaiting its second miss).
//! - `unexplained_balance` — its base or quote asset has an unexplained amount
//!   (`balance_unexplained`) that no operator acknowledged (`discrepancies ack`).
//! - `open_discrepancy` — this run reported a discrepancy of severity ≥ warning on the
//!   symbol (or on one of its assets, or on one of its items that does not decode) of a
//!   kind the run cannot correct itself ([`OPEN_KINDS`]: `trade_disagrees`,
//!   `order_unknown`, `order_archived_with_fills`, `fee_unpriced`, `malformed_item`).
//!   The kinds a run corrects
//!   (`balance`, `trades_recovered`, `order_external`, `position_recovered`,
//!   `position_closed`) leave the records right once written.
//!
//! Reason details are stable between runs (a time a fact started, a key, an amount), so
//! a verdict is rewritten only when what it says changes.
//!
//! Unexplained amounts ([`settle_unexplained`]): a `balance_unexplained` report opens an
//! amount on its asset, kept across runs until an operator acknowledges that asset and
//! amount. An acknowledged amount, and any later report of the same asset and amount, is
//! downgraded to `info` (so it neither alerts again nor keeps verdicts untrusted); a
//! different amount opens and alerts as before.
//!
//! The bot's heartbeat ([`heartbeat_stale`]): a bot that writes `BOT#HEARTBEAT` (its
//! `at`, optionally its own `stale_after_ms`, default 10 minutes) is watched: stale when
//! positions or orders are open and its last beat is older than that. A bot that never
//! wrote one is not watched (None), and nothing open is never stale.
//!
//! Verified through ([`verified_through`]): when every symbol is trusted, the oldest
//! `covered_through` among them — every symbol's fills before it are recorded and nothing
//! is known wrong; otherwise the previous value, which does not advance while a symbol is
//! untrusted.

use super::RulesConfig;
use crate::domain::{
    Asset, AssetDigest, BasisState, CursorRecord, Discrepancy, Millis, Severity, Symbol,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

/// The verdict's two values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    Trusted,
    Untrusted,
}

impl Trust {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trusted => "trusted",
            Self::Untrusted => "untrusted",
        }
    }
}

/// Why a symbol is untrusted (the stable `code` of a reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    NeverRead,
    NotCovered,
    RunFailed,
    NotRead,
    UnexplainedBalance,
    OpenDiscrepancy,
}

impl ReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NeverRead => "never_read",
            Self::NotCovered => "not_covered",
            Self::RunFailed => "run_failed",
            Self::NotRead => "not_read",
            Self::UnexplainedBalance => "unexplained_balance",
            Self::OpenDiscrepancy => "open_discrepancy",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::NeverRead,
            Self::NotCovered,
            Self::RunFailed,
            Self::NotRead,
            Self::UnexplainedBalance,
            Self::OpenDiscrepancy,
        ]
        .into_iter()
        .find(|c| c.as_str() == text)
    }
}

/// One reason: its code and a stable, human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reason {
    pub code: ReasonCode,
    pub detail: String,
}

/// The verdict of one symbol. `reasons` is empty exactly when `trust` is `Trusted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub symbol: Symbol,
    pub trust: Trust,
    pub reasons: Vec<Reason>,
}

/// An unexplained amount of one asset, open until acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnexplainedAmount {
    pub asset: Asset,
    /// Signed: what the balance moved by beyond every fill and transfer read.
    pub amount: Decimal,
    /// When the run that reported it started.
    pub seen_at: Millis,
    pub run_id: String,
}

/// An operator's acknowledgement of an asset's unexplained amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub asset: Asset,
    pub amount: Decimal,
    pub note: String,
    pub acked_at: Millis,
    pub acked_by: String,
}

impl Ack {
    fn covers(&self, asset: &Asset, amount: Decimal) -> bool {
        &self.asset == asset && self.amount == amount
    }
}

/// Discrepancy kinds a run cannot correct: the records stay wrong (or unread) until the
/// bot or an operator acts, or a later run finds the answer.
pub const OPEN_KINDS: [&str; 5] = [
    "trade_disagrees",
    "order_unknown",
    "order_archived_with_fills",
    "fee_unpriced",
    "malformed_item",
];

/// What the verdicts are judged from.
#[derive(Debug, Clone)]
pub struct VerdictInput<'a> {
    pub now: Millis,
    pub config: &'a RulesConfig,
    /// The symbols to judge (checkpoints, earlier verdicts, this run's units).
    pub symbols: &'a BTreeSet<Symbol>,
    /// Base and quote of the symbols whose assets are known.
    pub assets: &'a BTreeMap<Symbol, (Asset, Asset)>,
    /// The checkpoints after the run.
    pub cursors: &'a BTreeMap<Symbol, CursorRecord>,
    /// The balance digest after the run.
    pub digest: &'a BTreeMap<Asset, AssetDigest>,
    /// Unexplained amounts still open (after [`settle_unexplained`]).
    pub unexplained: &'a [UnexplainedAmount],
    /// This run's discrepancies (after [`settle_unexplained`]).
    pub discrepancies: &'a [Discrepancy],
    /// Symbols whose unit failed this run, with the error kind.
    pub failed: &'a BTreeMap<Symbol, String>,
    /// The run failed as a whole: its error kind.
    pub run_failure: Option<&'a str>,
}

/// The verdict of every symbol of `input.symbols`.
pub fn judge(input: &VerdictInput<'_>) -> BTreeMap<Symbol, Verdict> {
    input
        .symbols
        .iter()
        .map(|s| (s.clone(), judge_one(input, s)))
        .collect()
}

fn judge_one(input: &VerdictInput<'_>, symbol: &Symbol) -> Verdict {
    let mut reasons: BTreeSet<Reason> = BTreeSet::new();
    let mut add = |code, detail: String| {
        reasons.insert(Reason { code, detail });
    };
    if let Some(kind) = input.run_failure {
        add(ReasonCode::RunFailed, format!("the run failed: {kind}"));
    }
    let cursor = input.cursors.get(symbol);
    match cursor.and_then(|c| c.covered_through) {
        None => add(
            ReasonCode::NeverRead,
            "no read has reached the end of its fills yet".to_owned(),
        ),
        Some(at) => {
            let limit = Millis::from(input.config.uncovered_alarm_hours) * 3_600_000;
            if input.now - at > limit {
                add(
                    ReasonCode::NotCovered,
                    format!(
                        "fills are read only through {at} (over {} h ago)",
                        input.config.uncovered_alarm_hours
                    ),
                );
            }
        }
    }
    if let Some(kind) = input.failed.get(symbol) {
        add(ReasonCode::RunFailed, format!("its unit failed: {kind}"));
    } else if let Some(c) = cursor.filter(|c| c.failures > 0) {
        add(
            ReasonCode::RunFailed,
            format!(
                "its unit failed: {}",
                c.last_error.as_deref().unwrap_or("unknown error")
            ),
        );
    }
    if let Some(c) = cursor {
        if c.pending {
            add(
                ReasonCode::NotRead,
                "its last read stopped before the end of its fills".to_owned(),
            );
        }
        if c.basis_state == BasisState::Rebuilding {
            add(
                ReasonCode::NotRead,
                "its cost basis is being rebuilt".to_owned(),
            );
        }
    }
    let assets: Vec<&Asset> = input
        .assets
        .get(symbol)
        .map(|(b, q)| vec![b, q])
        .unwrap_or_default();
    for asset in &assets {
        if let Some(d) = input.digest.get(*asset) {
            if let Some(at) = d.moved_at.or(d.unread_since) {
                add(
                    ReasonCode::NotRead,
                    format!("{asset} moved at {at} and the fills that explain it are not read yet"),
                );
            }
        }
        for u in input.unexplained.iter().filter(|u| &&u.asset == asset) {
            add(
                ReasonCode::UnexplainedBalance,
                format!(
                    "{asset} moved by {} unexplained (seen at {}), not acknowledged",
                    u.amount.normalize(),
                    u.seen_at
                ),
            );
        }
    }
    for d in input.discrepancies {
        if d.severity < Severity::Warning || !OPEN_KINDS.contains(&d.kind.as_str()) {
            continue;
        }
        let (d_symbol, d_asset) = match (&d.symbol, &d.asset) {
            (None, None) => malformed_target(&d.key),
            (s, a) => (s.clone(), a.clone()),
        };
        let concerns = d_symbol.as_ref() == Some(symbol)
            || (d_symbol.is_none() && d_asset.as_ref().is_some_and(|a| assets.contains(&a)));
        if concerns {
            add(ReasonCode::OpenDiscrepancy, d.key.clone());
        }
    }
    let reasons: Vec<Reason> = reasons.into_iter().collect();
    Verdict {
        symbol: symbol.clone(),
        trust: if reasons.is_empty() {
            Trust::Trusted
        } else {
            Trust::Untrusted
        },
        reasons,
    }
}

/// The symbol or asset an undecodable item's key names (`malformed_item:<pk>|<sk>`):
/// `TRADE#BTCUSDT#…`, `ORDER#…`, `POSITION#BTCUSDT`, `CURSOR#…` name a symbol;
/// `BALANCE#BTC`, `DUST#BTC` an asset.
pub fn malformed_target(key: &str) -> (Option<Symbol>, Option<Asset>) {
    let Some(sk) = key.rsplit('|').next() else {
        return (None, None);
    };
    let mut parts = sk.split('#');
    let (Some(prefix), Some(id)) = (parts.next(), parts.next()) else {
        return (None, None);
    };
    match prefix {
        "TRADE" | "ORDER" | "POSITION" | "CURSOR" => (Symbol::parse(id).ok(), None),
        "BALANCE" | "DUST" => (None, Asset::parse(id).ok()),
        _ => (None, None),
    }
}

/// The amount a `balance_unexplained` discrepancy reports: the signed decimal its message
/// states (`"<ASSET> moved by <amount> that no fill or transfer read explains"`, written
/// by `scope::advance_digest`), else `after − before`.
pub fn unexplained_amount(d: &Discrepancy) -> Option<Decimal> {
    let stated = d
        .message
        .split_once(" moved by ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|text| Decimal::from_str(text).ok());
    stated.or_else(|| {
        let before = Decimal::from_str(d.before.as_deref()?).ok()?;
        let after = Decimal::from_str(d.after.as_deref()?).ok()?;
        Some(after - before)
    })
}

/// What [`settle_unexplained`] decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// Amounts still open after the run.
    pub open: Vec<UnexplainedAmount>,
    /// Amounts an acknowledgement closed this run (open before, or reported and covered).
    pub acknowledged: Vec<(UnexplainedAmount, Ack)>,
    /// The run's discrepancies, the acknowledged ones downgraded to `info`.
    pub discrepancies: Vec<Discrepancy>,
}

/// Open, close and acknowledge unexplained amounts (see the module's rules).
pub fn settle_unexplained(
    open_before: &[UnexplainedAmount],
    reported: &[Discrepancy],
    acks: &[Ack],
    run_id: &str,
    now: Millis,
) -> Settled {
    let mut out = Settled::default();
    let ack_for = |asset: &Asset, amount: Decimal| acks.iter().find(|a| a.covers(asset, amount));
    for u in open_before {
        match ack_for(&u.asset, u.amount) {
            Some(ack) => out.acknowledged.push((u.clone(), ack.clone())),
            None => out.open.push(u.clone()),
        }
    }
    for d in reported {
        let mut d = d.clone();
        if d.kind == "balance_unexplained" {
            if let (Some(asset), Some(amount)) = (d.asset.clone(), unexplained_amount(&d)) {
                let seen = UnexplainedAmount {
                    asset: asset.clone(),
                    amount,
                    seen_at: now,
                    run_id: run_id.to_owned(),
                };
                match ack_for(&asset, amount) {
                    Some(ack) => {
                        d.severity = Severity::Info;
                        d.message = format!(
                            "{} (acknowledged by {} at {}: {})",
                            d.message, ack.acked_by, ack.acked_at, ack.note
                        );
                        out.acknowledged.push((seen, ack.clone()));
                    }
                    None => {
                        let known = out
                            .open
                            .iter()
                            .any(|o| o.asset == asset && o.amount == amount);
                        if !known {
                            out.open.push(seen);
                        }
                    }
                }
            }
        }
        out.discrepancies.push(d);
    }
    out
}

/// The account's "verified through" after judging: the oldest `covered_through` of the
/// symbols when every one is trusted, else `previous` (it does not advance). None while
/// there is no symbol.
pub fn verified_through(
    verdicts: &BTreeMap<Symbol, Verdict>,
    cursors: &BTreeMap<Symbol, CursorRecord>,
    previous: Option<Millis>,
) -> Option<Millis> {
    if verdicts.is_empty() {
        return previous;
    }
    if verdicts.values().any(|v| v.trust == Trust::Untrusted) {
        return previous;
    }
    verdicts
        .keys()
        .map(|s| cursors.get(s).and_then(|c| c.covered_through))
        .collect::<Option<Vec<_>>>()
        .and_then(|times| times.into_iter().min())
        .or(previous)
}

/// The bot's last heartbeat (`BOT#HEARTBEAT`, written by the bot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub at: Millis,
    /// How old a beat may be before it is stale (the bot's own setting).
    pub stale_after_ms: Millis,
}

/// A heartbeat's staleness when the bot does not say: 10 minutes.
pub const DEFAULT_HEARTBEAT_STALE_MS: Millis = 10 * 60_000;

/// Whether the bot's heartbeat is stale while it has something open (the
/// `BotHeartbeatStale` metric and alarm). None: the bot writes no heartbeat.
pub fn heartbeat_stale(
    heartbeat: Option<&Heartbeat>,
    open_positions: usize,
    open_orders: u64,
    now: Millis,
) -> Option<bool> {
    let beat = heartbeat?;
    let open = open_positions > 0 || open_orders > 0;
    Some(open && now - beat.at > beat.stale_after_ms)
}

/// Whether a stored verdict (trust and reasons) says something else than `next`: only
/// then is it written.
pub fn changed(stored: Option<(Trust, &[Reason])>, next: &Verdict) -> bool {
    match stored {
        None => true,
        Some((trust, reasons)) => trust != next.trust || reasons != next.reasons.as_slice(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::scope::{advance_digest, DigestInput};
    use crate::core::testkit::*;
    use crate::core::Flows;
    use crate::domain::Balance;
    use rust_decimal_macros::dec;

    const NOW: Millis = 100 * 86_400_000;

    fn cursor(s: &str, covered: Option<Millis>) -> CursorRecord {
        CursorRecord {
            covered_through: covered,
            version: 1,
            ..CursorRecord::new(sym(s))
        }
    }

    fn discrepancy(
        key: &str,
        kind: &str,
        symbol: Option<&str>,
        asset_: Option<&str>,
    ) -> Discrepancy {
        Discrepancy {
            key: key.to_owned(),
            kind: kind.to_owned(),
            severity: Severity::Warning,
            symbol: symbol.map(sym),
            asset: asset_.map(asset),
            before: None,
            after: None,
            diff_pct: None,
            message: String::new(),
        }
    }

    /// One symbol, BTCUSDT, read to its end an hour ago, nothing else known: trusted.
    struct World {
        config: RulesConfig,
        symbols: BTreeSet<Symbol>,
        assets: BTreeMap<Symbol, (Asset, Asset)>,
        cursors: BTreeMap<Symbol, CursorRecord>,
        digest: BTreeMap<Asset, AssetDigest>,
        unexplained: Vec<UnexplainedAmount>,
        discrepancies: Vec<Discrepancy>,
        failed: BTreeMap<Symbol, String>,
        run_failure: Option<String>,
    }

    impl World {
        fn new() -> Self {
            Self {
                config: RulesConfig::default(),
                symbols: [sym("BTCUSDT")].into(),
                assets: [(sym("BTCUSDT"), (asset("BTC"), asset("USDT")))].into(),
                cursors: [(sym("BTCUSDT"), cursor("BTCUSDT", Some(NOW - 3_600_000)))].into(),
                digest: BTreeMap::new(),
                unexplained: Vec::new(),
                discrepancies: Vec::new(),
                failed: BTreeMap::new(),
                run_failure: None,
            }
        }

        fn verdict(&self) -> Verdict {
            let input = VerdictInput {
                now: NOW,
                config: &self.config,
                symbols: &self.symbols,
                assets: &self.assets,
                cursors: &self.cursors,
                digest: &self.digest,
                unexplained: &self.unexplained,
                discrepancies: &self.discrepancies,
                failed: &self.failed,
                run_failure: self.run_failure.as_deref(),
            };
            judge(&input).remove(&sym("BTCUSDT")).expect("judged")
        }

        fn codes(&self) -> Vec<ReasonCode> {
            self.verdict().reasons.iter().map(|r| r.code).collect()
        }
    }

    #[test]
    fn a_symbol_read_to_its_end_recently_with_nothing_open_is_trusted() {
        let v = World::new().verdict();
        assert_eq!(v.trust, Trust::Trusted);
        assert!(v.reasons.is_empty());
    }

    #[test]
    fn a_symbol_never_read_is_never_trusted() {
        let mut w = World::new();
        w.cursors.clear();
        assert_eq!(w.verdict().trust, Trust::Untrusted);
        assert_eq!(w.codes(), vec![ReasonCode::NeverRead]);
        // A checkpoint without coverage (its read never reached the end) is no better.
        w.cursors.insert(sym("BTCUSDT"), cursor("BTCUSDT", None));
        assert_eq!(w.codes(), vec![ReasonCode::NeverRead]);
    }

    #[test]
    fn a_symbol_not_covered_for_longer_than_the_uncovered_hours_is_untrusted() {
        let mut w = World::new();
        let hours = Millis::from(w.config.uncovered_alarm_hours);
        w.cursors.insert(
            sym("BTCUSDT"),
            cursor("BTCUSDT", Some(NOW - hours * 3_600_000)),
        );
        assert_eq!(w.verdict().trust, Trust::Trusted, "exactly at the limit");
        w.cursors.insert(
            sym("BTCUSDT"),
            cursor("BTCUSDT", Some(NOW - hours * 3_600_000 - 1)),
        );
        assert_eq!(w.codes(), vec![ReasonCode::NotCovered]);
    }

    #[test]
    fn an_unacknowledged_unexplained_amount_on_its_base_or_quote_untrusts_it() {
        for a in ["BTC", "USDT"] {
            let mut w = World::new();
            w.unexplained.push(UnexplainedAmount {
                asset: asset(a),
                amount: dec!(-0.001),
                seen_at: NOW - 1,
                run_id: "r".into(),
            });
            assert_eq!(w.codes(), vec![ReasonCode::UnexplainedBalance], "{a}");
        }
        let mut w = World::new();
        w.unexplained.push(UnexplainedAmount {
            asset: asset("ETH"),
            amount: dec!(1),
            seen_at: NOW - 1,
            run_id: "r".into(),
        });
        assert_eq!(w.verdict().trust, Trust::Trusted, "another asset's amount");
    }

    #[test]
    fn an_open_discrepancy_on_the_symbol_its_assets_or_its_items_untrusts_it() {
        let cases = [
            discrepancy(
                "trade_disagrees:BTCUSDT:7",
                "trade_disagrees",
                Some("BTCUSDT"),
                None,
            ),
            discrepancy(
                "order_unknown:BTCUSDT:9",
                "order_unknown",
                Some("BTCUSDT"),
                None,
            ),
            discrepancy(
                "malformed_item:ACCOUNT#a|TRADE#BTCUSDT#00000000000000000007",
                "malformed_item",
                None,
                None,
            ),
            discrepancy(
                "malformed_item:ACCOUNT#a|BALANCE#BTC",
                "malformed_item",
                None,
                None,
            ),
        ];
        for d in cases {
            let mut w = World::new();
            w.discrepancies.push(d.clone());
            assert_eq!(w.codes(), vec![ReasonCode::OpenDiscrepancy], "{}", d.key);
            assert_eq!(w.verdict().reasons[0].detail, d.key);
        }
        // Corrected kinds, info severity and other symbols leave it trusted.
        let mut info = discrepancy(
            "trade_disagrees:BTCUSDT:7",
            "trade_disagrees",
            Some("BTCUSDT"),
            None,
        );
        info.severity = Severity::Info;
        for d in [
            discrepancy("balance:BTC", "balance", None, Some("BTC")),
            discrepancy(
                "trades_recovered:BTCUSDT",
                "trades_recovered",
                Some("BTCUSDT"),
                None,
            ),
            discrepancy(
                "trade_disagrees:ETHUSDT:7",
                "trade_disagrees",
                Some("ETHUSDT"),
                None,
            ),
            info,
        ] {
            let mut w = World::new();
            w.discrepancies.push(d.clone());
            assert_eq!(w.verdict().trust, Trust::Trusted, "{}", d.key);
        }
    }

    #[test]
    fn a_failed_run_or_a_failed_unit_untrusts_it() {
        let mut w = World::new();
        w.run_failure = Some("ExchangeUnavailable".into());
        assert_eq!(w.codes(), vec![ReasonCode::RunFailed]);

        let mut w = World::new();
        w.failed.insert(sym("BTCUSDT"), "ExchangeApiError".into());
        assert_eq!(w.codes(), vec![ReasonCode::RunFailed]);

        // A unit that failed in an earlier run and backs off.
        let mut w = World::new();
        let c = w.cursors.get_mut(&sym("BTCUSDT")).expect("cursor");
        c.failures = 2;
        c.last_error = Some("StoreRejected".into());
        assert_eq!(w.codes(), vec![ReasonCode::RunFailed]);
        assert!(w.verdict().reasons[0].detail.contains("StoreRejected"));
    }

    #[test]
    fn a_partial_read_or_an_unread_movement_of_its_assets_untrusts_it() {
        let mut w = World::new();
        w.cursors.get_mut(&sym("BTCUSDT")).expect("cursor").pending = true;
        assert_eq!(w.codes(), vec![ReasonCode::NotRead]);

        let mut w = World::new();
        w.cursors
            .get_mut(&sym("BTCUSDT"))
            .expect("cursor")
            .basis_state = BasisState::Rebuilding;
        assert_eq!(w.codes(), vec![ReasonCode::NotRead]);

        // The base moved and a partial run did not read what explains it.
        let mut w = World::new();
        w.digest.insert(
            asset("BTC"),
            AssetDigest {
                free: dec!(1),
                moved_at: Some(NOW - 5),
                ..AssetDigest::default()
            },
        );
        assert_eq!(w.codes(), vec![ReasonCode::NotRead]);
        // A baseline at rest is no reason.
        w.digest.get_mut(&asset("BTC")).expect("digest").moved_at = None;
        assert_eq!(w.verdict().trust, Trust::Trusted);
    }

    #[test]
    fn reasons_are_stable_between_runs_so_an_unchanged_verdict_is_not_rewritten() {
        let mut w = World::new();
        let hours = Millis::from(w.config.uncovered_alarm_hours);
        w.cursors.insert(
            sym("BTCUSDT"),
            cursor("BTCUSDT", Some(NOW - hours * 3_600_000 - 1)),
        );
        let first = w.verdict();
        let stored = (first.trust, first.reasons.as_slice());
        // An hour later, still uncovered: the same words.
        let later = judge(&VerdictInput {
            now: NOW + 3_600_000,
            config: &w.config,
            symbols: &w.symbols,
            assets: &w.assets,
            cursors: &w.cursors,
            digest: &w.digest,
            unexplained: &w.unexplained,
            discrepancies: &w.discrepancies,
            failed: &w.failed,
            run_failure: None,
        })
        .remove(&sym("BTCUSDT"))
        .expect("judged");
        assert!(!changed(Some(stored), &later));
        assert!(changed(Some(stored), &World::new().verdict()));
        assert!(changed(None, &later));
    }

    fn unexplained_report(asset_: &str, before: Decimal, after: Decimal) -> Discrepancy {
        // The real report, from the digest's escape after its misses.
        let config = RulesConfig {
            unexplained_runs: 1,
            ..RulesConfig::default()
        };
        let digest: BTreeMap<_, _> = [(
            asset(asset_),
            AssetDigest {
                free: before,
                ..AssetDigest::default()
            },
        )]
        .into();
        let balances: BTreeMap<_, _> = [(
            asset(asset_),
            Balance {
                asset: asset(asset_),
                free: after,
                locked: Decimal::ZERO,
            },
        )]
        .into();
        let (flows, empty_c, empty_s, empty_p) = (
            Flows::default(),
            BTreeMap::new(),
            BTreeMap::new(),
            BTreeMap::new(),
        );
        let (_, reports) = advance_digest(&DigestInput {
            digest: &digest,
            balances: &balances,
            movement: &flows,
            flows: &crate::core::ledger::FlowMoves::default(),
            cursors: &empty_c,
            symbols: &empty_s,
            positions: &empty_p,
            open_orders_read: true,
            run_complete: true,
            now: NOW,
            server_time: NOW,
            config: &config,
        });
        reports.into_iter().next().expect("reported")
    }

    fn ack(a: &str, amount: Decimal) -> Ack {
        Ack {
            asset: asset(a),
            amount,
            note: "known staking payout".into(),
            acked_at: NOW - 10,
            acked_by: "ops".into(),
        }
    }

    #[test]
    fn the_unexplained_amount_is_read_from_the_digests_report() {
        let d = unexplained_report("BTC", dec!(1), dec!(0.999));
        assert_eq!(d.kind, "balance_unexplained");
        assert_eq!(unexplained_amount(&d), Some(dec!(-0.001)));
    }

    #[test]
    fn an_unexplained_amount_stays_open_until_acknowledged() {
        let d = unexplained_report("BTC", dec!(1), dec!(0.999));
        let first = settle_unexplained(&[], std::slice::from_ref(&d), &[], "run-1", NOW);
        assert_eq!(first.open.len(), 1);
        assert_eq!(first.open[0].amount, dec!(-0.001));
        assert_eq!(first.discrepancies[0].severity, Severity::Warning, "alerts");
        // Next run: not reported again (the baseline advanced), still open.
        let second = settle_unexplained(&first.open, &[], &[], "run-2", NOW + 1);
        assert_eq!(second.open, first.open);
        // A different amount's acknowledgement does not close it.
        let wrong = settle_unexplained(&second.open, &[], &[ack("BTC", dec!(0.001))], "r", NOW);
        assert_eq!(wrong.open.len(), 1, "the sign counts");
        // The operator acknowledges it: closed.
        let third = settle_unexplained(&second.open, &[], &[ack("BTC", dec!(-0.001))], "r", NOW);
        assert!(third.open.is_empty());
        assert_eq!(third.acknowledged.len(), 1);
    }

    #[test]
    fn an_acknowledged_amount_does_not_alert_again_but_a_different_one_does() {
        let acks = [ack("BTC", dec!(-0.001))];
        let same = unexplained_report("BTC", dec!(1), dec!(0.999));
        let s = settle_unexplained(&[], &[same], &acks, "r", NOW);
        assert!(s.open.is_empty());
        assert_eq!(s.discrepancies[0].severity, Severity::Info, "not alerted");
        assert!(s.discrepancies[0].message.contains("known staking payout"));
        let other = unexplained_report("BTC", dec!(1), dec!(0.998));
        let s = settle_unexplained(&[], &[other], &acks, "r", NOW);
        assert_eq!(s.open.len(), 1);
        assert_eq!(s.discrepancies[0].severity, Severity::Warning, "alerts");
    }

    #[test]
    fn the_heartbeat_is_stale_only_when_old_while_positions_or_orders_are_open() {
        let beat = Heartbeat {
            at: NOW - 60_000,
            stale_after_ms: 30_000,
        };
        assert_eq!(heartbeat_stale(None, 1, 1, NOW), None, "not watched");
        assert_eq!(
            heartbeat_stale(Some(&beat), 1, 0, NOW),
            Some(true),
            "a position open"
        );
        assert_eq!(
            heartbeat_stale(Some(&beat), 0, 2, NOW),
            Some(true),
            "orders open"
        );
        assert_eq!(
            heartbeat_stale(Some(&beat), 0, 0, NOW),
            Some(false),
            "nothing open"
        );
        let fresh = Heartbeat {
            at: NOW - 30_000,
            ..beat
        };
        assert_eq!(
            heartbeat_stale(Some(&fresh), 1, 1, NOW),
            Some(false),
            "at the limit"
        );
    }

    #[test]
    fn verified_through_is_the_oldest_coverage_when_all_are_trusted_and_holds_otherwise() {
        let cursors: BTreeMap<_, _> = [
            (sym("AAAUSDT"), cursor("AAAUSDT", Some(500))),
            (sym("BBBUSDT"), cursor("BBBUSDT", Some(300))),
        ]
        .into();
        let v = |s: &str, trust| Verdict {
            symbol: sym(s),
            trust,
            reasons: Vec::new(),
        };
        let all: BTreeMap<_, _> = [
            (sym("AAAUSDT"), v("AAAUSDT", Trust::Trusted)),
            (sym("BBBUSDT"), v("BBBUSDT", Trust::Trusted)),
        ]
        .into();
        assert_eq!(verified_through(&all, &cursors, Some(100)), Some(300));
        let mut one = all.clone();
        one.insert(sym("BBBUSDT"), v("BBBUSDT", Trust::Untrusted));
        assert_eq!(verified_through(&one, &cursors, Some(100)), Some(100));
        assert_eq!(verified_through(&one, &cursors, None), None);
    }

    /// The bot reads a verdict's `trust` and reason codes as stored: the same words as the
    /// JSON output, and a stored code reads back as itself.
    #[test]
    fn trust_and_reason_codes_are_stored_in_their_json_words_and_read_back() {
        for t in [Trust::Trusted, Trust::Untrusted] {
            assert_eq!(serde_json::to_value(t).expect("json"), t.as_str());
        }
        for c in [
            ReasonCode::NeverRead,
            ReasonCode::NotCovered,
            ReasonCode::RunFailed,
            ReasonCode::NotRead,
            ReasonCode::UnexplainedBalance,
            ReasonCode::OpenDiscrepancy,
        ] {
            assert_eq!(serde_json::to_value(c).expect("json"), c.as_str());
            assert_eq!(ReasonCode::parse(c.as_str()), Some(c));
        }
        assert_eq!(ReasonCode::parse("trusted"), None);
    }

    #[test]
    fn an_open_discrepancy_of_another_asset_leaves_it_trusted() {
        for d in [
            discrepancy(
                "malformed_item:ACCOUNT#a|BALANCE#ETH",
                "malformed_item",
                None,
                None,
            ),
            discrepancy(
                "trade_disagrees:ETHUSDT:7",
                "trade_disagrees",
                Some("ETHUSDT"),
                Some("USDT"),
            ),
        ] {
            let mut w = World::new();
            w.discrepancies.push(d.clone());
            assert_eq!(w.verdict().trust, Trust::Trusted, "{}", d.key);
        }
    }

    #[test]
    fn the_amount_of_a_report_that_does_not_state_it_is_after_less_before() {
        let mut d = discrepancy(
            "balance_unexplained:BTC",
            "balance_unexplained",
            None,
            Some("BTC"),
        );
        d.before = Some("1".into());
        d.after = Some("0.999".into());
        assert_eq!(unexplained_amount(&d), Some(dec!(-0.001)));
    }

    #[test]
    fn a_reported_amount_already_open_is_not_opened_twice_but_another_amount_or_asset_is() {
        let open = [UnexplainedAmount {
            asset: asset("BTC"),
            amount: dec!(-0.001),
            seen_at: NOW - 10,
            run_id: "run-1".into(),
        }];
        let reported = [
            unexplained_report("BTC", dec!(1), dec!(0.999)),
            unexplained_report("BTC", dec!(1), dec!(0.998)),
            unexplained_report("ETH", dec!(1), dec!(0.999)),
        ];
        let s = settle_unexplained(&open, &reported, &[], "run-2", NOW);
        let amounts: Vec<_> = s
            .open
            .iter()
            .map(|u| (u.asset.to_string(), u.amount, u.run_id.as_str()))
            .collect();
        assert_eq!(
            amounts,
            vec![
                ("BTC".to_owned(), dec!(-0.001), "run-1"),
                ("BTC".to_owned(), dec!(-0.002), "run-2"),
                ("ETH".to_owned(), dec!(-0.001), "run-2"),
            ]
        );
    }

    #[test]
    fn a_bot_that_does_not_say_is_stale_once_its_beat_is_ten_minutes_old() {
        let beat = |age| Heartbeat {
            at: NOW - age,
            stale_after_ms: DEFAULT_HEARTBEAT_STALE_MS,
        };
        assert_eq!(
            heartbeat_stale(Some(&beat(9 * 60_000)), 1, 0, NOW),
            Some(false)
        );
        assert_eq!(
            heartbeat_stale(Some(&beat(10 * 60_000 + 1)), 1, 0, NOW),
            Some(true)
        );
    }

    #[test]
    fn a_verdict_whose_reasons_changed_is_rewritten_though_still_untrusted() {
        let mut w = World::new();
        w.cursors.get_mut(&sym("BTCUSDT")).expect("cursor").pending = true;
        let stored = w.verdict();
        let mut w = World::new();
        w.run_failure = Some("ExchangeUnavailable".into());
        let next = w.verdict();
        assert_eq!(
            (stored.trust, next.trust),
            (Trust::Untrusted, Trust::Untrusted)
        );
        assert!(changed(Some((stored.trust, &stored.reasons)), &next));
    }
}
