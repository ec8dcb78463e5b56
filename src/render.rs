//! Human-readable rendering of a `SyncReport` for the CLI. `--json` bypasses this.

use crate::report::{Outcome, SyncReport};
use std::fmt::Write;

/// Render the report as a few readable sections.
pub fn render_report(r: &SyncReport) -> String {
    let mut out = String::new();
    let outcome = match r.outcome {
        Outcome::Complete => "complete",
        Outcome::Partial => "PARTIAL",
        Outcome::LeaseHeld => "skipped: lease held by another run",
        Outcome::TooSoon => "skipped: too soon after the last success",
    };
    let _ = writeln!(
        out,
        "Sync {} of account {} on {} ({} mode{}) — {}",
        r.run_id,
        r.account,
        r.exchange,
        r.mode.as_str(),
        if r.dry_run {
            ", DRY RUN: nothing written"
        } else {
            ""
        },
        outcome
    );
    if let Some(detail) = &r.outcome_detail {
        let _ = writeln!(out, "  {detail}");
    }

    let _ = writeln!(
        out,
        "\nWhat was wrong ({} discrepancies):",
        r.discrepancies.len()
    );
    if r.discrepancies.is_empty() {
        let _ = writeln!(out, "  nothing beyond tolerance");
    }
    for d in &r.discrepancies {
        let _ = writeln!(out, "  [{:?}] {}", d.severity, d.message);
    }
    for e in &r.explanations {
        let flows: String = e
            .from_flows
            .iter()
            .map(|(kind, amount)| {
                format!(
                    ", {} {}",
                    kind.as_str().replace('_', " "),
                    amount.normalize()
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "  {}: DB {} -> exchange {}; explained by trades {}, fees {}{flows}; unexplained {}",
            e.asset,
            e.db_total.normalize(),
            e.exchange_total.normalize(),
            e.from_trades.normalize(),
            e.from_fees.normalize(),
            e.unexplained.normalize()
        );
    }

    let verb = if r.dry_run {
        "would be corrected"
    } else {
        "was corrected"
    };
    let _ = writeln!(out, "\nWhat {verb} ({} corrections):", r.correction_count());
    if r.counts.is_empty() {
        let _ = writeln!(out, "  nothing: the records agree with the exchange");
    }
    for (kind, n) in &r.counts {
        let kind = kind.as_str();
        let _ = writeln!(out, "  {kind:<20} {n}");
    }
    if !r.notes.is_empty() {
        let _ = writeln!(out, "\nLog:");
        render_notes(&mut out, &r.notes);
    }
    if !r.conflicts.is_empty() {
        let _ = writeln!(
            out,
            "\nWrite conflicts (a newer bot write won): {}",
            r.conflicts.len()
        );
        for c in &r.conflicts {
            let _ = writeln!(out, "  {} ({:?})", c.key, c.resolution);
        }
    }
    if let Some(t) = &r.trust {
        let _ = writeln!(
            out,
            "\nTrust{}: {} trusted, {} untrusted, {} changed; verified through {}",
            if t.judged {
                ""
            } else {
                " (as stored: not judged by this run)"
            },
            t.trusted,
            t.untrusted,
            t.changed,
            t.verified_through
                .map_or("never".to_owned(), |v| v.to_string())
        );
        for v in t
            .verdicts
            .iter()
            .filter(|v| v.trust == crate::core::verdict::Trust::Untrusted)
        {
            let reasons: Vec<String> = v
                .reasons
                .iter()
                .map(|r| format!("{}: {}", r.code.as_str(), r.detail))
                .collect();
            let _ = writeln!(out, "  {} untrusted: {}", v.symbol, reasons.join("; "));
        }
        if t.bot_heartbeat_stale == Some(true) {
            let _ = writeln!(
                out,
                "  the bot's heartbeat is stale while positions or orders are open"
            );
        }
    }
    let _ = writeln!(
        out,
        "\nBinance: {} requests, weight {} (retries {}); DynamoDB: {:.1} capacity units; {} symbols checked; took {} ms",
        r.exchange_usage.requests,
        r.exchange_usage.weight,
        r.exchange_usage.retries,
        r.dynamodb_capacity_units,
        r.symbols_checked.len(),
        r.duration_ms
    );
    out
}

/// Notes of one kind beyond this many are summarised (a recovery can find thousands of
/// fills); `--json` always has them all.
const NOTES_PER_KIND: usize = 5;

fn render_notes(out: &mut String, notes: &[String]) {
    // A note's kind is its text up to the first ':' ("Missing trade recovered").
    let kind = |n: &str| n.split(':').next().unwrap_or_default().to_owned();
    let mut i = 0;
    while i < notes.len() {
        let k = kind(&notes[i]);
        let run = notes[i..].iter().take_while(|n| kind(n) == k).count();
        for n in &notes[i..i + run.min(NOTES_PER_KIND)] {
            let _ = writeln!(out, "  {n}");
        }
        if run > NOTES_PER_KIND {
            let _ = writeln!(out, "  … and {} more: {k}", run - NOTES_PER_KIND);
        }
        i += run;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_of_one_kind_of_note_are_summarised() {
        let mut notes: Vec<String> = (0..12)
            .map(|i| format!("Missing trade recovered: T{i}"))
            .collect();
        notes.push("Position closed on exchange: BTCUSDT long 1".to_owned());
        let mut out = String::new();
        render_notes(&mut out, &notes);
        assert!(out.contains("T4\n"));
        assert!(!out.contains("T5\n"));
        assert!(out.contains("… and 7 more: Missing trade recovered"));
        assert!(out.contains("Position closed on exchange: BTCUSDT long 1"));
    }
}
