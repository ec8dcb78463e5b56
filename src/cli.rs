//! The local command line. `sync` builds the same App as the Lambda (same configuration,
//! same adapters) and calls the same handler with the same payload a manual invoke would
//! send, so the CLI and the Lambda share one code path.
//!
//! Exit codes: 0 success; 1 a failed run or command (`error [<errorType>]: ...` on
//! stderr); 130 a `sync` stopped by SIGINT, 143 by SIGTERM (128 + the signal): the run is
//! stopped at once and its lease released, so the next run need not wait for the lease
//! to expire (15 minutes). A second signal during the release exits at once.

use crate::domain::Millis;
use crate::lambda::{wiring, App, InvocationContext};
use crate::store::Store;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Keep a trading bot's DynamoDB records true to its Binance account.
#[derive(Debug, Parser)]
#[command(name = "binance-account-sync", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one sync and print its report.
    Sync {
        /// Emergency sync: every symbol, the long lookback, ignore the minimum interval.
        #[arg(long)]
        emergency: bool,
        /// Compute and report the full plan; change no record.
        #[arg(long)]
        dry_run: bool,
        /// Lookback in days for symbols with no cursor (overrides the mode's default).
        #[arg(long)]
        lookback_days: Option<u32>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the last sync, its health, open discrepancies and the last error.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// List the corrections written since a time.
    Audit {
        /// Epoch milliseconds, or a duration back from now: `90m`, `24h`, `7d`.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Also list the sync's checkpoint writes (its bookkeeping).
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Bring the account's items to the current table layout (idempotent; a run does it
    /// too, before its first unit).
    Migrate {
        #[arg(long)]
        json: bool,
    },
}

/// A scheduled sync is due every 30 minutes; two missed periods make it unhealthy
/// (the same rule as the "no successful sync" alarm).
const HEALTHY_LAG_MS: Millis = 2 * 30 * 60 * 1000 + 5 * 60 * 1000;

/// Parse `--since`: epoch ms or `<n>m|h|d` back from `now`.
pub fn parse_since(text: &str, now: Millis) -> Result<Millis, String> {
    if let Ok(ms) = text.parse::<Millis>() {
        return Ok(ms);
    }
    let (digits, unit) = text.split_at(text.len().saturating_sub(1));
    let n: Millis = digits.parse().map_err(|_| {
        format!("--since {text:?}: expected epoch ms or a duration like 90m, 24h, 7d")
    })?;
    let unit_ms = match unit {
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("--since {text:?}: the unit must be m, h or d")),
    };
    Ok(now - n * unit_ms)
}

/// The signal that stopped a `sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    Sigint,
    Sigterm,
}

impl Interrupt {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sigint => "SIGINT",
            Self::Sigterm => "SIGTERM",
        }
    }

    /// 128 + the signal number, as a shell reports a process killed by it.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Sigint => 130,
            Self::Sigterm => 143,
        }
    }
}

/// SIGINT and SIGTERM, listened to from creation on (a signal that arrives before the
/// first `next` is not lost).
struct Interrupts {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Interrupts {
    fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn next(&mut self) -> Interrupt {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.int.recv() => Interrupt::Sigint,
                _ = self.term.recv() => Interrupt::Sigterm,
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => Interrupt::Sigint,
                Err(_) => std::future::pending().await,
            }
        }
    }
}

pub async fn run(cli: Cli) -> ExitCode {
    crate::telemetry::init_cli();
    crate::lambda::panic::install_hook(false);
    let mut app = match wiring::init().await {
        Ok(app) => app,
        Err(e) => return fail(e.kind(), &e.to_string()),
    };
    app.emit_metrics = false;
    match cli.command {
        Command::Sync {
            emergency,
            dry_run,
            lookback_days,
            json,
        } => {
            let mut payload = serde_json::json!({
                "mode": if emergency { "emergency" } else { "periodic" },
                "dry_run": dry_run,
            });
            if let Some(days) = lookback_days {
                payload["lookback_days"] = days.into();
            }
            let ctx = InvocationContext {
                request_id: format!("cli-{}", uuid::Uuid::new_v4()),
                deadline_ms: None,
            };
            let mut signals = match Interrupts::listen() {
                Ok(s) => s,
                Err(e) => {
                    return fail(
                        "SignalError",
                        &format!("cannot listen for SIGINT/SIGTERM: {e}"),
                    )
                }
            };
            let started_at = crate::service::now_ms();
            let result = {
                let run = app.handle(payload, &ctx);
                tokio::pin!(run);
                tokio::select! {
                    result = &mut run => Ok(result),
                    signal = signals.next() => Err(signal),
                }
                // The run's future is dropped here: it stops at the await it was in. Every
                // unit writes its checkpoint last, so a run cut anywhere loses nothing.
            };
            match result {
                Ok(Ok(report)) if json => print_json(&report),
                Ok(Ok(report)) => {
                    print!("{}", crate::render::render_report(&report));
                    ExitCode::SUCCESS
                }
                Ok(Err(e)) => fail(e.kind(), &e.to_string()),
                Err(signal) => interrupted(&app, &mut signals, &ctx, started_at, signal).await,
            }
        }
        Command::Status { json } => status(&app, json).await,
        Command::Audit { since, all, json } => audit(&app, &since, all, json).await,
        Command::Migrate { json } => {
            match crate::service::migrate::ensure(&app.store, &app.config.account).await {
                Ok(m) if json => print_json(&m),
                Ok(m) => {
                    println!(
                        "Account {}: layout {} -> {} ({} checkpoint(s) rewritten)",
                        app.config.account,
                        m.from
                            .map_or("1 (unversioned)".to_owned(), |v| v.to_string()),
                        m.to,
                        m.checkpoints_rewritten
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e.kind(), &e.to_string()),
            }
        }
    }
}

/// After SIGINT/SIGTERM stopped a `sync`: release the run's lease (if it had taken it)
/// and exit with 128 + the signal. A second signal exits at once, the lease left to
/// expire.
async fn interrupted<E, S>(
    app: &App<E, S>,
    signals: &mut Interrupts,
    ctx: &InvocationContext,
    started_at: Millis,
    signal: Interrupt,
) -> ExitCode
where
    E: crate::exchange::Exchange,
    S: Store,
{
    let outcome = format!("interrupted: {}", signal.name());
    let released = tokio::select! {
        released = app.release_abandoned_lease(&ctx.request_id, started_at, outcome, None) => released,
        again = signals.next() => {
            eprintln!(
                "error [Interrupted]: {} during the release; the lease expires by itself",
                again.name()
            );
            return ExitCode::from(signal.exit_code());
        }
    };
    let lease = if released {
        "its lease released"
    } else {
        "no lease of it to release"
    };
    eprintln!(
        "error [Interrupted]: {} received; the run was stopped, {lease}",
        signal.name()
    );
    ExitCode::from(signal.exit_code())
}

async fn status<E, S: Store>(app: &App<E, S>, json: bool) -> ExitCode
where
    E: crate::exchange::Exchange,
{
    let state = match app.store.state(&app.config.account).await {
        Ok(s) => s,
        Err(e) => return fail(e.kind(), &e.to_string()),
    };
    let symbols = match app
        .store
        .load_scoped(
            &app.config.account,
            &crate::store::LoadScope::AccountSymbols,
        )
        .await
    {
        Ok((r, _)) => r,
        Err(e) => return fail(e.kind(), &e.to_string()),
    };
    let now = crate::service::now_ms();
    let uncovered: Vec<serde_json::Value> =
        crate::core::scope::uncovered(&symbols.cursors, &app.config.rules, now)
            .into_iter()
            .map(|(s, hours)| serde_json::json!({"symbol": s.as_str(), "hours": hours}))
            .collect();
    let failing: Vec<serde_json::Value> = symbols
        .cursors
        .values()
        .filter(|c| c.failures > 0)
        .map(|c| {
            serde_json::json!({"symbol": c.symbol.as_str(), "failures": c.failures,
                "last_error": c.last_error, "retry_at": c.retry_at})
        })
        .collect();
    let lag = state.last_success_at.map(|t| now - t);
    let health = match (lag, &state.last_error) {
        (None, _) => "never synced",
        (Some(_), Some(_)) => "failing",
        (Some(l), None) if l > HEALTHY_LAG_MS => "stale",
        _ => "healthy",
    };
    let view = serde_json::json!({
        "account": app.config.account.as_str(),
        "health": health,
        "last_sync": state.last_attempt_at,
        "last_success": state.last_success_at,
        "lag_ms": lag,
        "last_run_id": state.last_run_id,
        "last_error": state.last_error,
        "running": state.lease_owner.as_ref().map(|o| serde_json::json!({"run_id": o, "lease_expires_at": state.lease_expires_at})),
        "open_discrepancies": state.alerted.keys().collect::<Vec<_>>(),
        "last_security_check": state.last_security_check_at,
        "last_outcome": state.last_outcome,
        "emergency_pending": state.emergency.as_ref().map(|e| e.requested_at),
        "symbols": symbols.cursors.len(),
        "symbols_uncovered": uncovered,
        "symbols_failing": failing,
        "items_skipped": symbols.skipped.len(),
    });
    if json {
        return print_json(&view);
    }
    println!("Account {} — sync health: {health}", app.config.account);
    println!("  last sync:          {}", fmt_time(state.last_attempt_at));
    println!("  last success:       {}", fmt_time(state.last_success_at));
    if let Some(l) = lag {
        println!("  lag:                {} min", l / 60_000);
    }
    println!(
        "  last error:         {}",
        state.last_error.as_deref().unwrap_or("none")
    );
    if let Some(owner) = &state.lease_owner {
        println!(
            "  running now:        {owner} (lease until {})",
            fmt_time(state.lease_expires_at)
        );
    }
    println!(
        "  last outcome:       {}",
        state.last_outcome.as_deref().unwrap_or("none")
    );
    if let Some(e) = &state.emergency {
        println!(
            "  emergency pending:  requested {}",
            fmt_time(Some(e.requested_at))
        );
    }
    println!("  open discrepancies: {}", state.alerted.len());
    for key in state.alerted.keys() {
        println!("    {key}");
    }
    println!(
        "  symbols:            {} checkpointed, {} uncovered for over {} h, {} failing",
        symbols.cursors.len(),
        uncovered.len(),
        app.config.rules.uncovered_alarm_hours,
        failing.len()
    );
    for u in uncovered.iter().chain(failing.iter()) {
        println!("    {u}");
    }
    ExitCode::SUCCESS
}

async fn audit<E, S: Store>(app: &App<E, S>, since: &str, all: bool, json: bool) -> ExitCode
where
    E: crate::exchange::Exchange,
{
    let since = match parse_since(since, crate::service::now_ms()) {
        Ok(t) => t,
        Err(e) => return fail("UsageError", &e),
    };
    let entries: Vec<_> = match app.store.audit_since(&app.config.account, since).await {
        Ok(e) => e
            .into_iter()
            .filter(|e| all || e.correction.kind != crate::domain::CorrectionKind::CursorAdvanced)
            .collect(),
        Err(e) => return fail(e.kind(), &e.to_string()),
    };
    if json {
        return print_json(&entries);
    }
    println!(
        "{} corrections since {}",
        entries.len(),
        fmt_time(Some(since))
    );
    for e in &entries {
        println!(
            "  {}  run {}  {:<18} {}  {}",
            fmt_time(Some(e.at)),
            &e.run_id[..e.run_id.len().min(8)],
            e.correction.kind.as_str(),
            crate::report::record_key(&e.correction.after),
            e.correction.reason
        );
    }
    ExitCode::SUCCESS
}

/// Epoch ms as an RFC 3339 UTC time (no date library needed for a display).
fn fmt_time(t: Option<Millis>) -> String {
    let Some(ms) = t else {
        return "never".to_owned();
    };
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn print_json<T: serde::Serialize>(value: &T) -> ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => fail("SerializationError", &e.to_string()),
    }
}

fn fail(kind: &str, message: &str) -> ExitCode {
    eprintln!("error [{kind}]: {message}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_epoch_ms_and_relative_durations() {
        let now = 10 * 86_400_000;
        assert_eq!(parse_since("1700000000000", now), Ok(1_700_000_000_000));
        assert_eq!(parse_since("90m", now), Ok(now - 90 * 60_000));
        assert_eq!(parse_since("7d", now), Ok(now - 7 * 86_400_000));
        assert!(parse_since("yesterday", now).is_err());
        assert!(parse_since("5w", now).is_err());
    }

    #[test]
    fn times_render_as_utc_rfc3339() {
        assert_eq!(fmt_time(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_time(Some(1_763_900_000_000)), "2025-11-23T12:13:20Z");
        assert_eq!(fmt_time(None), "never");
    }
}
