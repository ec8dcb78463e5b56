//! `accounts add|list|disable|enable`: the accounts registry of a fleet deployment
//! (`SYNC_ACCOUNTS=registry`). Needs the table only (`SYNC_TABLE_NAME` and AWS
//! credentials): no Binance key is read, the secret is only named.
//!
//! `add` parses what it is given with the same rules a run reads the item with
//! (`fleet::parse_entry`), so an item `add` wrote always parses; a bad value is a usage
//! error (exit 2) naming the field. `list` prints the items that do not parse beside the
//! others and exits 1 when there is one (the schedule skips such an account). `disable` of
//! an account not in the registry exits 1 (`UnknownAccount`).

use super::Out;
use crate::fleet::{parse_entry, AccountEntry, Field, RawAccount};
use crate::store::registry::Registry;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Add an account to the registry, or replace its item.
    Add {
        /// The account id (its partition in the table).
        account: String,
        /// The Secrets Manager secret (name or ARN) holding its `{"api_key", "api_secret"}` or `{"api_key", "private_key"}`.
        #[arg(long)]
        secret: String,
        /// The markets to read, comma-separated (only `spot` today).
        #[arg(long, default_value = "spot")]
        markets: String,
        /// Symbols always checked, comma-separated (as `SYNC_SYMBOLS`).
        #[arg(long, default_value = "")]
        symbols: String,
        /// The balance tolerance in percent (default: the deployment's `SYNC_TOLERANCE_PCT`).
        /// A negative value reaches the parser (and is refused naming the field) rather
        /// than being read as a flag.
        #[arg(long, allow_hyphen_values = true)]
        tolerance_pct: Option<String>,
        /// Add it disabled (kept, not synced).
        #[arg(long)]
        disabled: bool,
        #[arg(long)]
        json: bool,
    },
    /// List the registry: every account, and the items that do not parse.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stop syncing an account (its records and its item are kept).
    Disable {
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Sync a disabled account again.
    Enable {
        account: String,
        #[arg(long)]
        json: bool,
    },
}

impl AccountsCommand {
    pub fn json(&self) -> bool {
        match self {
            Self::Add { json, .. }
            | Self::List { json }
            | Self::Disable { json, .. }
            | Self::Enable { json, .. } => *json,
        }
    }
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) async fn run<R: Registry>(command: AccountsCommand, registry: &R, out: Out) -> ExitCode {
    let now = crate::service::now_ms();
    match command {
        AccountsCommand::Add {
            account,
            secret,
            markets,
            symbols,
            tolerance_pct,
            disabled,
            json: _,
        } => {
            let raw = RawAccount {
                account,
                secret: Field::Present(secret),
                markets: Field::Present(split(&markets)),
                symbols: Field::Present(split(&symbols)),
                tolerance_pct: tolerance_pct.map_or(Field::Absent, Field::Present),
                enabled: Field::Present(!disabled),
                updated_at: Field::Present(now.to_string()),
            };
            let entry = match parse_entry(raw) {
                Ok(e) => e,
                Err(e) => return out.fail("UsageError", &e.to_string()),
            };
            if let Err(e) = registry.put_account(&entry).await {
                return out.fail(e.kind(), &e.to_string());
            }
            if out.json {
                return out.print_json(&entry);
            }
            println!("Account {} added: {}", entry.account, describe(&entry));
            ExitCode::SUCCESS
        }
        AccountsCommand::List { json: _ } => {
            let listing = match registry.list().await {
                Ok(l) => l,
                Err(e) => return out.fail(e.kind(), &e.to_string()),
            };
            let code = if listing.invalid.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(super::exit::FAILURE)
            };
            if out.json {
                let printed = out.print_json(&listing);
                return if printed == ExitCode::SUCCESS {
                    code
                } else {
                    printed
                };
            }
            println!(
                "{} account(s), {} enabled, {} item(s) that do not parse",
                listing.accounts.len(),
                listing.enabled().count(),
                listing.invalid.len()
            );
            for entry in &listing.accounts {
                println!("  {:<24} {}", entry.account.as_str(), describe(entry));
            }
            for bad in &listing.invalid {
                println!(
                    "  {:<24} INVALID: {} {}",
                    bad.account, bad.field, bad.reason
                );
            }
            code
        }
        AccountsCommand::Disable { account, json: _ } => {
            set_enabled(registry, &account, false, now, out).await
        }
        AccountsCommand::Enable { account, json: _ } => {
            set_enabled(registry, &account, true, now, out).await
        }
    }
}

async fn set_enabled<R: Registry>(
    registry: &R,
    account: &str,
    enabled: bool,
    now: crate::domain::Millis,
    out: Out,
) -> ExitCode {
    let id = match crate::domain::AccountId::parse(account) {
        Ok(id) => id,
        Err(e) => return out.fail("UsageError", &e.to_string()),
    };
    match registry.set_enabled(&id, enabled, now).await {
        Ok(true) => {
            let verb = if enabled { "enabled" } else { "disabled" };
            if out.json {
                return out
                    .print_json(&serde_json::json!({"account": id.as_str(), "enabled": enabled}));
            }
            println!("Account {id} {verb}");
            ExitCode::SUCCESS
        }
        Ok(false) => out.fail(
            "UnknownAccount",
            &format!("account {account:?} is not in the registry"),
        ),
        Err(e) => out.fail(e.kind(), &e.to_string()),
    }
}

fn describe(entry: &AccountEntry) -> String {
    let markets: Vec<&str> = entry.markets.iter().map(|m| m.as_str()).collect();
    let symbols: Vec<&str> = entry.symbols.iter().map(|s| s.as_str()).collect();
    format!(
        "{}; secret {}; markets {}; symbols {}; tolerance {}",
        if entry.enabled { "enabled" } else { "disabled" },
        entry.secret,
        markets.join(","),
        if symbols.is_empty() {
            "-".to_owned()
        } else {
            symbols.join(",")
        },
        entry
            .tolerance_pct
            .map_or("deployment's".to_owned(), |t| format!("{t} %")),
    )
}
