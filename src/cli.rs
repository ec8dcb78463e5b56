//! The local command line. `sync` builds the same App as the Lambda (same configuration,
//! same adapters) and calls the same handler with the same payload a manual invoke would
//! send, so the CLI and the Lambda share one code path. `status`, `audit` and `migrate`
//! need the table only (no Binance key or secret); `check` tests the whole setup.
//!
//! Exit codes ([`exit`]): 0 success; 1 a failed run, command or `check`; 2 a usage or
//! configuration error (clap's usage errors included); 3 with `sync --detailed-exitcode`,
//! a run that succeeded and found discrepancies; 130 a `sync` stopped by SIGINT, 143 by
//! SIGTERM (128 + the signal): the run is stopped at once and its lease released, so the
//! next run need not wait for the lease to expire (15 minutes). A second signal during the
//! release exits at once.
//!
//! Errors: `error [<errorType>]: <message>` on stderr; with `--json`, one JSON document on
//! stdout instead: `{"error": {"type": "<errorType>", "message": "..."}}`.

pub mod accounts;
pub mod check;
pub mod discrepancies;
pub mod incident;

use crate::config::TableConfig;
use crate::domain::{AccountId, Millis};
use crate::lambda::{wiring, App, InvocationContext};
use crate::store::verdicts::VerdictStore;
use crate::store::Store;
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::process::ExitCode;

/// The CLI's exit codes.
pub mod exit {
    pub const SUCCESS: u8 = 0;
    /// A run, a command or a `check` failed.
    pub const FAILURE: u8 = 1;
    /// The command line or the configuration is wrong: nothing was attempted.
    pub const USAGE: u8 = 2;
    /// `sync --detailed-exitcode`: the run succeeded and found discrepancies.
    pub const DISCREPANCIES: u8 = 3;
}

/// The exit code of an error of this kind: 2 for a usage or configuration error (the
/// command cannot work until the operator fixes it), 1 for everything else.
pub fn exit_code_for(kind: &str) -> u8 {
    match kind {
        "UsageError" | "ConfigError" | "ExchangeConfigError" => exit::USAGE,
        _ => exit::FAILURE,
    }
}

/// The stable JSON shape of an error with `--json`.
pub fn error_json(kind: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"error": {"type": kind, "message": message}})
}

/// Parse the command line. `--help` and `--version` print and exit 0; a usage error exits
/// 2, as JSON on stdout when `--json` is among the arguments.
pub fn parse_or_exit() -> Cli {
    use clap::error::ErrorKind;
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) if std::env::args().skip(1).any(|a| a == "--json") => {
            let message = e.render().to_string();
            let first = message
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ");
            println!("{}", error_json("UsageError", first));
            std::process::exit(i32::from(exit::USAGE))
        }
        // clap prints the usage and exits 2.
        Err(e) => e.exit(),
    }
}

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
        /// Exit 3 (instead of 0) when the run succeeded and found discrepancies or wrote
        /// (in a dry run: planned) corrections.
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Show the last sync, its health, open discrepancies and the last error. Needs the
    /// table only.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// List the corrections written since a time. Needs the table only.
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
    /// The accounts registry of a fleet deployment (`SYNC_ACCOUNTS=registry`). Needs the
    /// table only.
    Accounts {
        #[command(subcommand)]
        command: accounts::AccountsCommand,
    },
    /// Check the setup: the exchange answers, the key's permissions and IP restriction,
    /// the clock offset, the table and its keys, the records decode. Exit 0 when every
    /// check is ok or a warning, 1 when one fails.
    Check {
        #[arg(long)]
        json: bool,
    },
    /// The unexplained amounts kept open (they keep verdicts untrusted) and their
    /// acknowledgements. Needs the table only.
    Discrepancies {
        #[command(subcommand)]
        action: DiscrepanciesAction,
    },
    /// The "while you were down" timeline since a time: fills, order status changes and
    /// balance moves the records lacked, corrections, runs, discrepancies at the first run
    /// that saw them, verdict changes. Needs the table only.
    Incident {
        /// Epoch milliseconds, or a duration back from now: `90m`, `24h`, `7d`.
        #[arg(long)]
        since: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DiscrepanciesAction {
    /// List the open unexplained amounts, the acknowledged ones and the alerted keys.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge a known unexplained amount: it no longer alerts nor keeps the
    /// verdicts of its asset's symbols untrusted (from the next run). A different
    /// amount still alerts.
    Ack {
        /// The asset, e.g. BTC.
        #[arg(long)]
        asset: String,
        /// The exact signed amount `discrepancies list` shows, e.g. -0.001.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Why the amount is known (kept in the trust log).
        #[arg(long)]
        note: String,
        /// Who acknowledges (default: $USER).
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    fn json(&self) -> bool {
        match self {
            Self::Sync { json, .. }
            | Self::Status { json }
            | Self::Audit { json, .. }
            | Self::Migrate { json }
            | Self::Check { json }
            | Self::Incident { json, .. }
            | Self::Discrepancies {
                action: DiscrepanciesAction::List { json } | DiscrepanciesAction::Ack { json, .. },
            } => *json,
            Self::Accounts { command } => command.json(),
        }
    }
}

/// How old the last success may be before the sync counts as stale: two missed periods
/// of the schedule (`SYNC_SCHEDULE_MINUTES`) and 5 minutes of slack, the same rule as the
/// "no successful sync" alarm.
pub fn healthy_lag_ms(schedule_minutes: u32) -> Millis {
    (2 * Millis::from(schedule_minutes) + 5) * 60_000
}

/// The sync's health from its last success, its last error and the schedule.
pub fn health(lag_ms: Option<Millis>, failing: bool, schedule_minutes: u32) -> &'static str {
    match (lag_ms, failing) {
        (None, _) => "never synced",
        (Some(_), true) => "failing",
        (Some(l), false) if l > healthy_lag_ms(schedule_minutes) => "stale",
        _ => "healthy",
    }
}

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
    let json = cli.command.json();
    let out = Out { json };
    match cli.command {
        Command::Sync {
            emergency,
            dry_run,
            lookback_days,
            json: _,
            detailed_exitcode,
        } => {
            let mut app = match full_app().await {
                Ok(app) => app,
                Err((kind, message)) => return out.fail(kind, &message),
            };
            // Progress for a person watching a long run; nothing when stderr is a pipe or
            // a file, so scripts and --json output stay clean.
            if std::io::stderr().is_terminal() {
                app.config.run.progress = Some(crate::service::progress::ProgressHook::new(|p| {
                    eprintln!("{}", crate::service::progress::progress_line(&p));
                }));
            }
            sync(
                &app,
                out,
                emergency,
                dry_run,
                lookback_days,
                detailed_exitcode,
            )
            .await
        }
        Command::Check { json: _ } => {
            let app = match full_app().await {
                Ok(app) => app,
                Err((kind, message)) => return out.fail(kind, &message),
            };
            check::run(&app, out).await
        }
        Command::Status { json: _ } => match table_store().await {
            Ok((config, store)) => status(&config, &store, out).await,
            Err(e) => out.fail(e.kind(), &e.to_string()),
        },
        Command::Audit {
            since,
            all,
            json: _,
        } => match table_store().await {
            Ok((config, store)) => audit(&config.account, &store, &since, all, out).await,
            Err(e) => out.fail(e.kind(), &e.to_string()),
        },
        Command::Discrepancies { action } => match table_store().await {
            Ok((config, store)) => match action {
                DiscrepanciesAction::List { json: _ } => {
                    discrepancies::list(&config.account, &store, out).await
                }
                DiscrepanciesAction::Ack {
                    asset,
                    amount,
                    note,
                    by,
                    json: _,
                } => {
                    let args = discrepancies::AckArgs {
                        asset,
                        amount,
                        note,
                        by,
                    };
                    discrepancies::ack(&config.account, &store, &args, out).await
                }
            },
            Err(e) => out.fail(e.kind(), &e.to_string()),
        },
        Command::Incident { since, json: _ } => match table_store().await {
            Ok((config, store)) => incident::run(&config.account, &store, &since, out).await,
            Err(e) => out.fail(e.kind(), &e.to_string()),
        },
        Command::Migrate { json: _ } => match table_store().await {
            Ok((config, store)) => migrate(&config.account, &store, out).await,
            Err(e) => out.fail(e.kind(), &e.to_string()),
        },
        Command::Accounts { command } => match registry_store().await {
            Ok(store) => accounts::run(command, &store, out).await,
            Err(e) => out.fail(e.kind(), &e.to_string()),
        },
    }
}

/// The full App (Binance key, table, topic): `sync` and `check`.
async fn full_app() -> Result<App<wiring::ExchangeImpl, wiring::StoreImpl>, (&'static str, String)>
{
    let mut app = wiring::init()
        .await
        .map_err(|e| (e.kind(), e.to_string()))?;
    app.emit_metrics = false;
    Ok(app)
}

/// The table alone (`status`, `audit`, `migrate`): no Binance key or secret is read, no
/// Secrets Manager or SNS client is built.
async fn table_store() -> Result<(TableConfig, wiring::StoreImpl), crate::config::ConfigError> {
    let config = TableConfig::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = crate::store::dynamo::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        config.table_name.as_str(),
    );
    Ok((config, store))
}

/// The registry's table (`SYNC_TABLE_NAME` alone: `accounts`).
async fn registry_store() -> Result<wiring::StoreImpl, crate::config::ConfigError> {
    let table = crate::config::TableName::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Ok(crate::store::dynamo::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        table.as_str(),
    ))
}

/// Did a successful run find something (`--detailed-exitcode`)?
pub fn found_discrepancies(report: &crate::report::SyncReport) -> bool {
    !report.discrepancies.is_empty() || report.correction_count() > 0
}

async fn sync<E, S>(
    app: &App<E, S>,
    out: Out,
    emergency: bool,
    dry_run: bool,
    lookback_days: Option<u32>,
    detailed_exitcode: bool,
) -> ExitCode
where
    E: crate::exchange::Exchange,
    S: Store + VerdictStore,
{
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
            return out.fail(
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
    let report = match result {
        Ok(Ok(report)) => report,
        Ok(Err(e)) => return out.fail(e.kind(), &e.to_string()),
        Err(signal) => return interrupted(app, out, &mut signals, &ctx, started_at, signal).await,
    };
    let printed = if out.json {
        out.print_json(&report)
    } else {
        print!("{}", crate::render::render_report(&report));
        ExitCode::SUCCESS
    };
    if printed != ExitCode::SUCCESS {
        return printed;
    }
    if detailed_exitcode && found_discrepancies(&report) {
        ExitCode::from(exit::DISCREPANCIES)
    } else {
        ExitCode::SUCCESS
    }
}

async fn migrate<S: Store>(account: &AccountId, store: &S, out: Out) -> ExitCode {
    match crate::service::migrate::ensure(store, account).await {
        Ok(m) if out.json => out.print_json(&m),
        Ok(m) => {
            println!(
                "Account {}: layout {} -> {} ({} checkpoint(s) rewritten)",
                account,
                m.from
                    .map_or("1 (unversioned)".to_owned(), |v| v.to_string()),
                m.to,
                m.checkpoints_rewritten
            );
            ExitCode::SUCCESS
        }
        Err(e) => out.fail(e.kind(), &e.to_string()),
    }
}

/// After SIGINT/SIGTERM stopped a `sync`: release the run's lease (if it had taken it)
/// and exit with 128 + the signal. A second signal exits at once, the lease left to
/// expire.
async fn interrupted<E, S>(
    app: &App<E, S>,
    out: Out,
    signals: &mut Interrupts,
    ctx: &InvocationContext,
    started_at: Millis,
    signal: Interrupt,
) -> ExitCode
where
    E: crate::exchange::Exchange,
    S: Store + VerdictStore,
{
    let outcome = format!("interrupted: {}", signal.name());
    let released = tokio::select! {
        released = app.release_abandoned_lease(&ctx.request_id, started_at, outcome, None) => released,
        again = signals.next() => {
            out.report(
                "Interrupted",
                &format!("{} during the release; the lease expires by itself", again.name()),
            );
            return ExitCode::from(signal.exit_code());
        }
    };
    let lease = if released {
        "its lease released"
    } else {
        "no lease of it to release"
    };
    out.report(
        "Interrupted",
        &format!("{} received; the run was stopped, {lease}", signal.name()),
    );
    ExitCode::from(signal.exit_code())
}

async fn status<S: Store + VerdictStore>(config: &TableConfig, store: &S, out: Out) -> ExitCode {
    let account = &config.account;
    let state = match store.state(account).await {
        Ok(s) => s,
        Err(e) => return out.fail(e.kind(), &e.to_string()),
    };
    let symbols = match store
        .load_scoped(account, &crate::store::LoadScope::AccountSymbols)
        .await
    {
        Ok((r, _)) => r,
        Err(e) => return out.fail(e.kind(), &e.to_string()),
    };
    let now = crate::service::now_ms();
    let uncovered: Vec<serde_json::Value> =
        crate::core::scope::uncovered(&symbols.cursors, &config.rules, now)
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
    let trust = match store.load_trust(account).await {
        Ok(t) => t,
        Err(e) => return out.fail(e.kind(), &e.to_string()),
    };
    let verdict_of = |symbol: &str| {
        trust
            .verdicts
            .values()
            .find(|v| v.symbol.as_str() == symbol)
            .map(|v| serde_json::json!({"trust": v.trust, "reasons": v.reasons, "since": v.since}))
    };
    // Beside each uncovered symbol, its verdict; then every untrusted symbol.
    let uncovered: Vec<serde_json::Value> = uncovered
        .into_iter()
        .map(|mut u| {
            let v = u["symbol"].as_str().and_then(verdict_of);
            u["verdict"] = v.unwrap_or(serde_json::Value::Null);
            u
        })
        .collect();
    let untrusted: Vec<serde_json::Value> = trust
        .verdicts
        .values()
        .filter(|v| v.trust == crate::core::verdict::Trust::Untrusted)
        .map(|v| serde_json::json!({"symbol": v.symbol.as_str(), "reasons": v.reasons, "since": v.since}))
        .collect();
    let trust_view = serde_json::json!({
        "verified_through": trust.account.as_ref().and_then(|a| a.verified_through),
        "judged_by_run": trust.account.as_ref().map(|a| a.run_id.clone()),
        "judged_at": trust.account.as_ref().map(|a| a.updated_at),
        "trusted": trust.verdicts.len() - untrusted.len(),
        "untrusted": untrusted,
        "unexplained_open": trust.account.as_ref().map(|a| a.unexplained.clone()).unwrap_or_default(),
        "acknowledged": trust.acks.len(),
        "items_skipped": trust.skipped.len(),
    });
    let lag = state.last_success_at.map(|t| now - t);
    let schedule_minutes = config.rules.schedule_minutes;
    let health = health(lag, state.last_error.is_some(), schedule_minutes);
    let view = serde_json::json!({
        "account": account.as_str(),
        "health": health,
        "schedule_minutes": schedule_minutes,
        "stale_after_ms": healthy_lag_ms(schedule_minutes),
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
        "trust": trust_view,
    });
    if out.json {
        return out.print_json(&view);
    }
    println!("Account {account} — sync health: {health} (schedule every {schedule_minutes} min)");
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
        config.rules.uncovered_alarm_hours,
        failing.len()
    );
    for u in uncovered.iter().chain(failing.iter()) {
        println!("    {u}");
    }
    println!(
        "  trust:              {} trusted, {} untrusted; verified through {}",
        trust_view["trusted"],
        untrusted.len(),
        fmt_time(trust_view["verified_through"].as_i64())
    );
    for v in &untrusted {
        let reasons = reason_lines(&v["reasons"]);
        println!(
            "    {} untrusted since {}: {}",
            v["symbol"].as_str().unwrap_or("?"),
            fmt_time(v["since"].as_i64()),
            reasons.join("; ")
        );
    }
    if let Some(a) = &trust.account {
        for u in &a.unexplained {
            println!(
                "    unexplained {} {} since {} (not acknowledged)",
                u.asset,
                u.amount.normalize(),
                fmt_time(Some(u.seen_at))
            );
        }
    }
    ExitCode::SUCCESS
}

async fn audit<S: Store>(
    account: &AccountId,
    store: &S,
    since: &str,
    all: bool,
    out: Out,
) -> ExitCode {
    let since = match parse_since(since, crate::service::now_ms()) {
        Ok(t) => t,
        Err(e) => return out.fail("UsageError", &e),
    };
    let entries: Vec<_> = match store.audit_since(account, since).await {
        Ok(e) => e
            .into_iter()
            .filter(|e| all || e.correction.kind != crate::domain::CorrectionKind::CursorAdvanced)
            .collect(),
        Err(e) => return out.fail(e.kind(), &e.to_string()),
    };
    if out.json {
        return out.print_json(&entries);
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
/// A verdict's reasons (JSON, as stored and reported) as `code: detail` lines.
fn reason_lines(reasons: &serde_json::Value) -> Vec<String> {
    reasons
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{}: {}",
                r["code"].as_str().unwrap_or("?"),
                r["detail"].as_str().unwrap_or("")
            )
        })
        .collect()
}

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

/// Where results and errors go: text, or JSON on stdout (`--json`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Out {
    pub json: bool,
}

impl Out {
    fn print_json<T: serde::Serialize>(self, value: &T) -> ExitCode {
        match serde_json::to_string_pretty(value) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => self.fail("SerializationError", &e.to_string()),
        }
    }

    /// Report an error of a stable kind and return its exit code (1, or 2 for a usage or
    /// configuration error).
    fn fail(self, kind: &str, message: &str) -> ExitCode {
        self.report(kind, message);
        ExitCode::from(exit_code_for(kind))
    }

    /// Print an error: `error [<kind>]: <message>` on stderr, or its JSON on stdout.
    fn report(self, kind: &str, message: &str) {
        if self.json {
            println!("{}", error_json(kind, message));
        } else {
            eprintln!("error [{kind}]: {message}");
        }
    }
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
    fn health_is_judged_against_the_configured_schedule() {
        let min = 60_000;
        // Every 30 minutes: stale after 65 minutes.
        assert_eq!(health(Some(64 * min), false, 30), "healthy");
        assert_eq!(health(Some(66 * min), false, 30), "stale");
        // Every 5 minutes: 20 minutes without a success is stale.
        assert_eq!(health(Some(20 * min), false, 5), "stale");
        // Every 4 hours: 3 hours is fine.
        assert_eq!(health(Some(180 * min), false, 240), "healthy");
        assert_eq!(health(Some(min), true, 30), "failing");
        assert_eq!(health(None, false, 30), "never synced");
    }

    #[test]
    fn usage_and_configuration_errors_exit_2_other_failures_1() {
        assert_eq!(exit_code_for("UsageError"), 2);
        assert_eq!(exit_code_for("ConfigError"), 2);
        assert_eq!(exit_code_for("ExchangeUnavailable"), 1);
        assert_eq!(exit_code_for("StoreUnavailable"), 1);
        assert_eq!(exit_code_for("ExchangeRestrictedLocation"), 1);
    }

    #[test]
    fn times_render_as_utc_rfc3339() {
        assert_eq!(fmt_time(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_time(Some(1_763_900_000_000)), "2025-11-23T12:13:20Z");
        assert_eq!(fmt_time(None), "never");
    }
}
