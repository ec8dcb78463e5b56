//! `discrepancies list` and `discrepancies ack`: the unexplained amounts the sync keeps
//! open (they keep the verdicts of the asset's symbols `untrusted`), and an operator's
//! acknowledgement of one. Table only.
//!
//! An acknowledgement names the asset and the exact signed amount `list` shows; it is an
//! input to the verdict rule (`core::verdict::settle_unexplained`): the next run closes
//! that amount, and a later report of the same asset and amount is `info` (not alerted,
//! no reason to distrust). A different amount still opens and alerts. The ack item
//! (`TRUST#ACK#<ASSET>#<amount>`) and its log record (`TRUSTLOG#…`, kind `acknowledged`)
//! are written in one transaction; an ack is never replaced.

use super::{exit, fmt_time, Out};
use crate::core::verdict::{Ack, UnexplainedAmount};
use crate::domain::{AccountId, Asset};
use crate::store::verdicts::{
    ack_sk, AckOutcome, TrustItems, TrustLogEntry, TrustLogKind, VerdictStore,
};
use crate::store::Store;
use rust_decimal::Decimal;
use std::process::ExitCode;
use std::str::FromStr;

/// What the operator asked to acknowledge, as typed.
#[derive(Debug, Clone)]
pub struct AckArgs {
    pub asset: String,
    pub amount: String,
    pub note: String,
    /// Who acknowledges (default: `$USER`, else `operator`).
    pub by: Option<String>,
}

/// Validate the arguments: a usage error (exit 2) names what is wrong.
pub fn parse_ack(args: &AckArgs, now: crate::domain::Millis) -> Result<Ack, String> {
    let asset = Asset::parse(args.asset.trim().to_uppercase())
        .map_err(|e| format!("--asset {:?}: {e}", args.asset))?;
    let amount = Decimal::from_str(args.amount.trim())
        .map_err(|e| format!("--amount {:?} is not a decimal: {e}", args.amount))?;
    if amount.is_zero() {
        return Err("--amount must not be zero".to_owned());
    }
    let note = args.note.trim();
    if note.is_empty() {
        return Err("--note must say why the amount is known (it is kept in the log)".to_owned());
    }
    let by = args
        .by
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "operator".to_owned());
    Ok(Ack {
        asset,
        amount: amount.normalize(),
        note: note.to_owned(),
        acked_at: now,
        acked_by: by,
    })
}

pub(crate) async fn ack<S: Store + VerdictStore>(
    account: &AccountId,
    store: &S,
    args: &AckArgs,
    out: Out,
) -> ExitCode {
    let now = crate::service::now_ms();
    let ack = match parse_ack(args, now) {
        Ok(a) => a,
        Err(e) => return out.fail("UsageError", &e),
    };
    let items = match store.load_trust(account).await {
        Ok(i) => i,
        Err(e) => return out.fail(e.kind(), &e.to_string()),
    };
    let open = open_amounts(&items);
    if !open
        .iter()
        .any(|u| u.asset == ack.asset && u.amount == ack.amount)
    {
        let listed: Vec<String> = open
            .iter()
            .map(|u| format!("{} {}", u.asset, u.amount.normalize()))
            .collect();
        return out.fail(
            "DiscrepancyNotFound",
            &format!(
                "no open unexplained amount {} {} on account {account} (open: {})",
                ack.asset,
                ack.amount,
                if listed.is_empty() {
                    "none".to_owned()
                } else {
                    listed.join(", ")
                }
            ),
        );
    }
    let log = TrustLogEntry {
        at: now,
        kind: TrustLogKind::Acknowledged,
        actor: format!("operator:{}", ack.acked_by),
        target: ack_sk(&ack.asset, ack.amount),
        before: None,
        after: serde_json::to_value(&ack).unwrap_or_default(),
    };
    let outcome = match store.put_ack(account, &ack, &log).await {
        Ok(o) => o,
        Err(e) => return out.fail(e.kind(), &e.to_string()),
    };
    let written = outcome == AckOutcome::Written;
    if out.json {
        return out.print_json(&serde_json::json!({
            "account": account.as_str(),
            "outcome": if written { "acknowledged" } else { "already_acknowledged" },
            "ack": ack,
        }));
    }
    if written {
        println!(
            "Acknowledged {} {} on account {account} ({}): the next run closes it and judges the verdicts again",
            ack.asset, ack.amount, ack.note
        );
    } else {
        println!(
            "{} {} on account {account} was acknowledged before: nothing written",
            ack.asset, ack.amount
        );
    }
    ExitCode::from(exit::SUCCESS)
}

/// The unexplained amounts the account's trust summary holds open (none before a first run).
fn open_amounts(items: &TrustItems) -> Vec<UnexplainedAmount> {
    items
        .account
        .as_ref()
        .map(|a| a.unexplained.clone())
        .unwrap_or_default()
}

pub(crate) async fn list<S: Store + VerdictStore>(
    account: &AccountId,
    store: &S,
    out: Out,
) -> ExitCode {
    let (items, state) = match tokio::try_join!(store.load_trust(account), store.state(account)) {
        Ok(x) => x,
        Err(e) => return out.fail(e.kind(), &e.to_string()),
    };
    let open = open_amounts(&items);
    if out.json {
        return out.print_json(&serde_json::json!({
            "account": account.as_str(),
            "unexplained": open,
            "acknowledged": items.acks,
            "alerted": state.alerted.keys().collect::<Vec<_>>(),
        }));
    }
    println!(
        "Account {account}: {} unexplained amount(s) open",
        open.len()
    );
    for u in &open {
        println!(
            "  {} {}  seen {}  run {}   (discrepancies ack --asset {} --amount {} --note ...)",
            u.asset,
            u.amount.normalize(),
            fmt_time(Some(u.seen_at)),
            &u.run_id[..u.run_id.len().min(8)],
            u.asset,
            u.amount.normalize()
        );
    }
    println!("  {} acknowledged", items.acks.len());
    for a in &items.acks {
        println!(
            "  {} {}  by {} at {}: {}",
            a.asset,
            a.amount.normalize(),
            a.acked_by,
            fmt_time(Some(a.acked_at)),
            a.note
        );
    }
    println!(
        "  {} discrepancies alerted and unresolved",
        state.alerted.len()
    );
    for key in state.alerted.keys() {
        println!("    {key}");
    }
    ExitCode::from(exit::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(asset: &str, amount: &str, note: &str) -> AckArgs {
        AckArgs {
            asset: asset.into(),
            amount: amount.into(),
            note: note.into(),
            by: Some("ops".into()),
        }
    }

    #[test]
    fn an_ack_needs_an_asset_a_nonzero_decimal_and_a_note() {
        let a = parse_ack(&args("btc", "-0.00100", "staking payout"), 5).expect("valid");
        assert_eq!(a.asset.as_str(), "BTC");
        assert_eq!(a.amount.to_string(), "-0.001", "normalized");
        assert!(parse_ack(&args("BTC", "lots", "x"), 5).is_err());
        assert!(parse_ack(&args("BTC", "0", "x"), 5).is_err());
        assert!(parse_ack(&args("BTC", "0.1", "  "), 5).is_err());
        assert!(parse_ack(&args("B#C", "0.1", "x"), 5).is_err());
    }
}
