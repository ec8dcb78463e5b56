//! Typed configuration from environment variables (documented in `docs/configuration.md`).
//!
//! Every variable is parsed once, at cold start, into a type that cannot hold a bad value;
//! a missing or malformed variable fails fast with its NAME (and, except for secrets, the
//! offending value). An empty or whitespace-only value counts as unset, because
//! CloudFormation passes optional parameters as empty strings.

use crate::core::RulesConfig;
use crate::domain::{AccountId, Asset, PositionsOf, Symbol};
use crate::exchange::credentials::Credentials;
use crate::service::RunSettings;
use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Why the configuration was refused. `kind()` is always `ConfigError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is required but not set")]
    Missing { name: &'static str },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("{first} and {second} are mutually exclusive: set only one")]
    Conflict {
        first: &'static str,
        second: &'static str,
    },
}

impl ConfigError {
    pub fn kind(&self) -> &'static str {
        "ConfigError"
    }
    /// The variable at fault.
    pub fn variable(&self) -> &'static str {
        match self {
            Self::Missing { name } | Self::Invalid { name, .. } => name,
            Self::Conflict { first, .. } => first,
        }
    }
}

/// The DynamoDB table name (3..=255 of `[A-Za-z0-9_.-]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName(String);

impl TableName {
    pub fn parse(value: &str) -> Result<Self, String> {
        let ok_len = (3..=255).contains(&value.len());
        let ok_chars = value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if ok_len && ok_chars {
            Ok(Self(value.to_owned()))
        } else {
            Err("a DynamoDB table name is 3 to 255 characters of A-Z a-z 0-9 _ - .".to_owned())
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `SYNC_TABLE_NAME` alone (the `accounts` commands need nothing else).
    pub fn from_env() -> Result<Self, ConfigError> {
        table(&Env(|name: &str| std::env::var(name).ok()))
    }
}

/// An absolute http(s) URL without a trailing slash, e.g. `https://api.binance.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(value: &str) -> Result<Self, String> {
        let url = url::Url::parse(value).map_err(|e| format!("{value:?} is not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{value:?} must use http or https"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{value:?} has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{value:?} must not have a query or fragment"));
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// As a parsed `url::Url` (`http://host:port/`).
    pub fn to_url(&self) -> Result<url::Url, url::ParseError> {
        url::Url::parse(&self.0)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `recvWindow` in milliseconds, 1..=60000 (Binance's limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvWindowMs(u64);

impl RecvWindowMs {
    pub fn new(ms: u64) -> Result<Self, String> {
        if (1..=60_000).contains(&ms) {
            Ok(Self(ms))
        } else {
            Err(format!("{ms} is outside 1..=60000"))
        }
    }
    pub fn get(self) -> u64 {
        self.0
    }
}

/// An SNS topic ARN (`arn:<partition>:sns:<region>:<account>:<name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicArn(String);

impl TopicArn {
    pub fn parse(value: &str) -> Result<Self, String> {
        let parts: Vec<&str> = value.split(':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && !parts[1].is_empty()
            && parts[2] == "sns"
            && !parts[3].is_empty()
            && !parts[5].is_empty();
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(format!(
                "{value:?} is not an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)"
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where the Binance API key comes from.
#[derive(Clone)]
pub enum CredentialConfig {
    /// A Secrets Manager secret (id or ARN) holding `{"api_key", "api_secret"}` (HMAC) or
    /// `{"api_key", "private_key"}` (Ed25519/RSA PEM).
    SecretsManager { secret_id: String },
    /// A fixed key from the environment (CLI, local runs): `BINANCE_API_KEY` with
    /// `BINANCE_API_SECRET` (HMAC) or `BINANCE_PRIVATE_KEY` (Ed25519/RSA PEM, parsed here so
    /// a bad key is a configuration error before any request).
    Static { credentials: Credentials },
}

impl fmt::Debug for CredentialConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SecretsManager { secret_id } => f
                .debug_struct("SecretsManager")
                .field("secret_id", secret_id)
                .finish(),
            Self::Static { .. } => f.write_str("Static { (redacted) }"),
        }
    }
}

/// The Binance client's settings (`BinanceConfig` is built from these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinanceSettings {
    pub base_url: BaseUrl,
    pub recv_window: RecvWindowMs,
    /// Maximum request weight one run may spend.
    pub weight_budget: u64,
    /// Stop when the IP's weight in the current minute (`X-MBX-USED-WEIGHT-1M`) would pass
    /// this: the rest of the IP's limit is left for the bot.
    pub ip_weight_stop: u64,
}

/// Everything the Lambda and the CLI need, parsed.
#[derive(Debug, Clone)]
pub struct Config {
    pub account: AccountId,
    pub table_name: TableName,
    pub binance: BinanceSettings,
    pub credentials: CredentialConfig,
    pub alert_topic_arn: Option<TopicArn>,
    pub rules: RulesConfig,
    pub run: RunSettings,
    /// How long a fetched secret is reused before it is read again.
    pub secret_ttl: Duration,
    pub metrics_namespace: String,
    /// An unresolved discrepancy is alerted again after this long.
    pub alert_repeat: Duration,
    /// How often the API key's restrictions are checked.
    pub security_check_interval: Duration,
    /// The shared weight ledger.
    pub ledger: LedgerSettings,
}

/// What the table-only commands (`status`, `audit`) need: no Binance key, no secret, no
/// topic. The other variables are not read, so a machine with only table access can run
/// them.
#[derive(Debug, Clone)]
pub struct TableConfig {
    pub account: AccountId,
    pub table_name: TableName,
    /// The rules' settings: the schedule (health) and the uncovered-symbol age.
    pub rules: RulesConfig,
}

impl TableConfig {
    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any lookup (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let (account, table_name) = account_and_table(&env)?;
        let rules = rules_config(&env)?;
        Ok(Self {
            account,
            table_name,
            rules,
        })
    }
}

pub const DEFAULT_BASE_URL: &str = "https://api.binance.com";
pub const DEFAULT_NAMESPACE: &str = "BinanceAccountSync";

/// Reads variables through a lookup function; empty values count as unset.
struct Env<F: Fn(&str) -> Option<String>>(F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing { name })
    }

    fn parsed<T>(
        &self,
        name: &'static str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => parse(&v).map_err(|reason| ConfigError::Invalid { name, reason }),
        }
    }

    /// A non-negative decimal percentage, below `below` when given.
    fn percent(
        &self,
        name: &'static str,
        default: Decimal,
        below: Option<Decimal>,
    ) -> Result<Decimal, ConfigError> {
        self.parsed(name, default, |v| {
            let d = Decimal::from_str(v).map_err(|_| format!("{v:?} is not a decimal number"))?;
            match below {
                _ if d.is_sign_negative() && !d.is_zero() => Err(format!("{v} is negative")),
                Some(b) if d >= b => Err(format!("{v} is not below {b}")),
                _ => Ok(d),
            }
        })
    }

    fn int(
        &self,
        name: &'static str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<u64, ConfigError> {
        self.parsed(name, default, |v| {
            let n = v
                .parse::<u64>()
                .map_err(|_| format!("{v:?} is not a whole number"))?;
            if (min..=max).contains(&n) {
                Ok(n)
            } else {
                Err(format!("{n} is outside {min}..={max}"))
            }
        })
    }

    fn list<T>(
        &self,
        name: &'static str,
        default: Vec<T>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Vec<T>, ConfigError> {
        self.parsed(name, default, |v| {
            let items: Vec<T> = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(&parse)
                .collect::<Result<_, _>>()?;
            Ok(items)
        })
    }
}

fn u32_of(name: &'static str, v: u64) -> Result<u32, ConfigError> {
    u32::try_from(v).map_err(|_| ConfigError::Invalid {
        name,
        reason: format!("{v} is too large"),
    })
}

const HOUR: u64 = 3600;

impl Config {
    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any lookup (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let (account, table_name) = account_and_table(&env)?;
        let credentials = credential_config(&env)?;
        let deployment = FleetConfig::parse(&env, table_name, AccountsSource::Environment)?;
        Ok(deployment.into_config(account, credentials))
    }
}

/// Where a deployment's accounts come from (`SYNC_ACCOUNTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountsSource {
    /// One account, `SYNC_ACCOUNT_ID` and its key from this environment (the default).
    Environment,
    /// The accounts registry in the table: every invocation names its account.
    Registry,
}

impl AccountsSource {
    /// `SYNC_ACCOUNTS` from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Env(lookup).parsed("SYNC_ACCOUNTS", Self::Environment, |v| {
            match v.to_ascii_lowercase().as_str() {
                "environment" => Ok(Self::Environment),
                "registry" => Ok(Self::Registry),
                _ => Err(format!("{v:?} is neither \"environment\" nor \"registry\"")),
            }
        })
    }
}

/// The shared weight ledger (`SYNC_WEIGHT_LEDGER`, `SYNC_EGRESS_IP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerSettings {
    /// On by default for a registry deployment (many accounts, one IP), off for one
    /// account configured by environment (its own budget and the header, as before).
    pub enabled: bool,
    /// The fixed egress IP (a NAT gateway's Elastic IP): the ledger is the IP's, shared
    /// by every deployment behind it. Without one, the ledger is the deployment's.
    pub egress_ip: Option<std::net::IpAddr>,
}

impl LedgerSettings {
    /// The ledger's key for a deployment writing to `table`.
    pub fn key(&self, table: &TableName) -> crate::fleet::ledger::LedgerKey {
        match self.egress_ip {
            Some(ip) => crate::fleet::ledger::LedgerKey::egress_ip(ip),
            None => crate::fleet::ledger::LedgerKey::deployment(table.as_str()),
        }
    }
}

/// Everything a deployment's accounts share: the whole configuration but the account and
/// its key. A registry deployment parses this from its environment once and builds each
/// account's [`Config`] from it and the account's registry entry.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub table_name: TableName,
    pub binance: BinanceSettings,
    pub alert_topic_arn: Option<TopicArn>,
    pub rules: RulesConfig,
    pub run: RunSettings,
    pub secret_ttl: Duration,
    pub metrics_namespace: String,
    pub alert_repeat: Duration,
    pub security_check_interval: Duration,
    pub ledger: LedgerSettings,
}

impl FleetConfig {
    /// A registry deployment's settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any lookup: `SYNC_ACCOUNT_ID` and the key variables are not read.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let table_name = table(&env)?;
        Self::parse(&env, table_name, AccountsSource::Registry)
    }

    /// One registry account's configuration: its id, its secret, its symbols and its
    /// tolerance (or the deployment's).
    pub fn for_account(&self, entry: &crate::fleet::AccountEntry) -> Config {
        let mut config = self.clone().into_config(
            entry.account.clone(),
            CredentialConfig::SecretsManager {
                secret_id: entry.secret.as_str().to_owned(),
            },
        );
        config.rules.extra_symbols = entry.symbols.clone();
        if let Some(t) = entry.tolerance_pct {
            config.rules.tolerance_pct = t;
        }
        config
    }

    fn into_config(self, account: AccountId, credentials: CredentialConfig) -> Config {
        Config {
            account,
            table_name: self.table_name,
            binance: self.binance,
            credentials,
            alert_topic_arn: self.alert_topic_arn,
            rules: self.rules,
            run: self.run,
            secret_ttl: self.secret_ttl,
            metrics_namespace: self.metrics_namespace,
            alert_repeat: self.alert_repeat,
            security_check_interval: self.security_check_interval,
            ledger: self.ledger,
        }
    }

    fn parse<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        table_name: TableName,
        source: AccountsSource,
    ) -> Result<Self, ConfigError> {
        let base_url = match env.get("BINANCE_BASE_URL") {
            None => BaseUrl::parse(DEFAULT_BASE_URL).map_err(|reason| ConfigError::Invalid {
                name: "BINANCE_BASE_URL",
                reason,
            })?,
            Some(v) => BaseUrl::parse(&v).map_err(|reason| ConfigError::Invalid {
                name: "BINANCE_BASE_URL",
                reason,
            })?,
        };
        let alert_topic_arn = match env.get("SYNC_ALERT_TOPIC_ARN") {
            None => None,
            Some(v) => Some(TopicArn::parse(&v).map_err(|reason| ConfigError::Invalid {
                name: "SYNC_ALERT_TOPIC_ARN",
                reason,
            })?),
        };

        let min_interval = env.int("SYNC_MIN_INTERVAL_SECONDS", 300, 0, 24 * HOUR)?;
        let ip_limit = env.int("SYNC_IP_WEIGHT_LIMIT", 6000, 1, 1_000_000)?;
        let weight_budget = env.int("SYNC_WEIGHT_BUDGET", 3000, 1, 1_000_000)?;
        if weight_budget > ip_limit {
            return Err(ConfigError::Invalid {
                name: "SYNC_WEIGHT_BUDGET",
                reason: format!(
                    "{weight_budget} is above the IP's limit of {ip_limit} weight per minute (SYNC_IP_WEIGHT_LIMIT)"
                ),
            });
        }
        let ip_weight_stop = env.int("SYNC_WEIGHT_STOP_AT", ip_limit * 4 / 5, 1, ip_limit)?;
        let recv_window = RecvWindowMs::new(env.int("BINANCE_RECV_WINDOW_MS", 5000, 1, 60_000)?)
            .map_err(|reason| ConfigError::Invalid {
                name: "BINANCE_RECV_WINDOW_MS",
                reason,
            })?;
        let secret_ttl = env.int("SYNC_SECRET_TTL_SECONDS", 300, 0, 24 * HOUR)?;
        let metrics_namespace = env.parsed(
            "SYNC_METRICS_NAMESPACE",
            DEFAULT_NAMESPACE.to_owned(),
            |v| {
                let ok = v.len() <= 255
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-/#:".contains(c))
                    && !v.starts_with("AWS/");
                if ok {
                    Ok(v.to_owned())
                } else {
                    Err(format!("{v:?} is not a valid CloudWatch namespace"))
                }
            },
        )?;
        let alert_repeat_hours = env.int("SYNC_ALERT_REPEAT_HOURS", 24, 1, 24 * 365)?;
        let security_check_hours = env.int("SYNC_SECURITY_CHECK_HOURS", 24, 1, 24 * 365)?;
        let ledger = LedgerSettings {
            enabled: env.parsed(
                "SYNC_WEIGHT_LEDGER",
                source == AccountsSource::Registry,
                |v| match v.to_ascii_lowercase().as_str() {
                    "on" | "true" => Ok(true),
                    "off" | "false" => Ok(false),
                    _ => Err(format!("{v:?} is neither \"on\" nor \"off\"")),
                },
            )?,
            egress_ip: env.parsed("SYNC_EGRESS_IP", None, |v| {
                v.parse::<std::net::IpAddr>()
                    .map(Some)
                    .map_err(|_| format!("{v:?} is not an IPv4 or IPv6 address"))
            })?,
        };

        let rules = rules_config(env)?;
        let run = RunSettings {
            min_interval: Duration::from_secs(min_interval),
            ..RunSettings::default()
        };

        Ok(Self {
            table_name,
            binance: BinanceSettings {
                base_url,
                recv_window,
                weight_budget,
                ip_weight_stop,
            },
            alert_topic_arn,
            rules,
            run,
            secret_ttl: Duration::from_secs(secret_ttl),
            metrics_namespace,
            alert_repeat: Duration::from_secs(alert_repeat_hours * HOUR),
            security_check_interval: Duration::from_secs(security_check_hours * HOUR),
            ledger,
        })
    }
}

/// The table alone (`SYNC_TABLE_NAME`).
fn table<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<TableName, ConfigError> {
    let v = env.required("SYNC_TABLE_NAME")?;
    TableName::parse(&v).map_err(|reason| ConfigError::Invalid {
        name: "SYNC_TABLE_NAME",
        reason,
    })
}

/// The account and its table: what every command needs.
fn account_and_table<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<(AccountId, TableName), ConfigError> {
    let account = {
        let v = env.required("SYNC_ACCOUNT_ID")?;
        AccountId::parse(v).map_err(|e| ConfigError::Invalid {
            name: "SYNC_ACCOUNT_ID",
            reason: e.to_string(),
        })?
    };
    let table_name = {
        let v = env.required("SYNC_TABLE_NAME")?;
        TableName::parse(&v).map_err(|reason| ConfigError::Invalid {
            name: "SYNC_TABLE_NAME",
            reason,
        })?
    };
    Ok((account, table_name))
}

/// The rules' settings (the part of the configuration `status` and `audit` need too).
fn rules_config<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<RulesConfig, ConfigError> {
    let defaults = RulesConfig::default();
    let quote_assets = env.list("SYNC_QUOTE_ASSETS", defaults.quote_assets.clone(), |s| {
        Asset::parse(s.to_ascii_uppercase()).map_err(|e| e.to_string())
    })?;
    if quote_assets.is_empty() {
        return Err(ConfigError::Invalid {
            name: "SYNC_QUOTE_ASSETS",
            reason: "lists no asset".to_owned(),
        });
    }
    let tolerance_pct = env.percent("SYNC_TOLERANCE_PCT", defaults.tolerance_pct, None)?;
    // Below 100: a band of 100 % would make every dust holding a position at any size.
    let dust_band_pct = env.percent(
        "SYNC_DUST_BAND_PCT",
        defaults.dust_band_pct,
        Some(Decimal::ONE_HUNDRED),
    )?;
    let bot_order_prefixes = env.list(
        "SYNC_BOT_ORDER_PREFIXES",
        defaults.bot_order_prefixes.clone(),
        |s| Ok(s.to_owned()),
    )?;
    let positions_of = env.parsed("SYNC_POSITIONS", defaults.positions_of, |v| {
        PositionsOf::parse(&v.to_ascii_lowercase())
            .ok_or_else(|| format!("{v:?} is neither \"account\" nor \"bot\""))
    })?;
    if positions_of == PositionsOf::Bot && bot_order_prefixes.is_empty() {
        return Err(ConfigError::Invalid {
            name: "SYNC_POSITIONS",
            reason: "\"bot\" needs the bot's client order id prefixes (SYNC_BOT_ORDER_PREFIXES lists none)"
                .to_owned(),
        });
    }
    let unknown_order_runs = u32_of(
        "SYNC_UNKNOWN_ORDER_RUNS",
        env.int("SYNC_UNKNOWN_ORDER_RUNS", 3, 1, 1000)?,
    )?;
    let periodic_lookback_days = u32_of(
        "SYNC_PERIODIC_LOOKBACK_DAYS",
        env.int("SYNC_PERIODIC_LOOKBACK_DAYS", 7, 1, 365)?,
    )?;
    let emergency_lookback_days = u32_of(
        "SYNC_EMERGENCY_LOOKBACK_DAYS",
        env.int("SYNC_EMERGENCY_LOOKBACK_DAYS", 30, 1, 365)?,
    )?;
    let extra_symbols = env.list("SYNC_SYMBOLS", Vec::new(), |s| {
        Symbol::parse(s.to_ascii_uppercase()).map_err(|e| e.to_string())
    })?;

    let history_lag_s = env.int("SYNC_HISTORY_LAG_SECONDS", 60, 0, 3600)?;
    let schedule_minutes = u32_of(
        "SYNC_SCHEDULE_MINUTES",
        env.int("SYNC_SCHEDULE_MINUTES", 30, 1, 1440)?,
    )?;
    let rotation_per_run = match env.get("SYNC_ROTATION_PER_RUN") {
        None => None,
        Some(_) => Some(u32_of(
            "SYNC_ROTATION_PER_RUN",
            env.int("SYNC_ROTATION_PER_RUN", 0, 0, 100_000)?,
        )?),
    };
    let uncovered_alarm_hours = u32_of(
        "SYNC_UNCOVERED_HOURS",
        env.int("SYNC_UNCOVERED_HOURS", 26, 1, 24 * 365)?,
    )?;
    let rules = RulesConfig {
        quote_assets,
        tolerance_pct,
        bot_order_prefixes,
        unknown_order_runs,
        periodic_lookback_days,
        emergency_lookback_days,
        extra_symbols,
        history_lag_ms: (history_lag_s * 1000) as i64,
        schedule_minutes,
        rotation_per_run,
        uncovered_alarm_hours,
        dust_band_pct,
        positions_of,
        ..RulesConfig::default()
    };
    Ok(rules)
}

fn credential_config<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<CredentialConfig, ConfigError> {
    let secret_id = env.get("BINANCE_SECRET_ID");
    let key = env.get("BINANCE_API_KEY");
    let secret = env.get("BINANCE_API_SECRET");
    let private_key = env.get("BINANCE_PRIVATE_KEY");
    if secret.is_some() && private_key.is_some() {
        return Err(ConfigError::Conflict {
            first: "BINANCE_API_SECRET",
            second: "BINANCE_PRIVATE_KEY",
        });
    }
    if secret_id.is_some() && private_key.is_some() {
        return Err(ConfigError::Conflict {
            first: "BINANCE_SECRET_ID",
            second: "BINANCE_PRIVATE_KEY",
        });
    }
    if let (None, Some(api_key), Some(pem)) = (&secret_id, &key, &private_key) {
        return Credentials::from_private_key_pem(api_key.as_str(), pem)
            .map(|credentials| CredentialConfig::Static { credentials })
            // The error names what is wrong with the key, never its content.
            .map_err(|e| ConfigError::Invalid {
                name: "BINANCE_PRIVATE_KEY",
                reason: e.to_string(),
            });
    }
    let secret = secret.or(private_key);
    match (secret_id, key, secret) {
        (Some(_), Some(_), _) => Err(ConfigError::Conflict {
            first: "BINANCE_SECRET_ID",
            second: "BINANCE_API_KEY",
        }),
        (Some(_), None, Some(_)) => Err(ConfigError::Conflict {
            first: "BINANCE_SECRET_ID",
            second: "BINANCE_API_SECRET",
        }),
        (Some(secret_id), None, None) => Ok(CredentialConfig::SecretsManager { secret_id }),
        (None, Some(api_key), Some(api_secret)) => Ok(CredentialConfig::Static {
            credentials: Credentials::new(api_key, api_secret),
        }),
        (None, Some(_), None) => Err(ConfigError::Missing {
            name: "BINANCE_API_SECRET",
        }),
        (None, None, Some(_)) => Err(ConfigError::Missing {
            name: "BINANCE_API_KEY",
        }),
        // Lambda uses Secrets Manager; name that variable.
        (None, None, None) => Err(ConfigError::Missing {
            name: "BINANCE_SECRET_ID",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = [
            ("SYNC_ACCOUNT_ID", "main"),
            ("SYNC_TABLE_NAME", "bot-records"),
            ("BINANCE_SECRET_ID", "binance/api"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in vars {
            map.insert(k.to_string(), v.to_string());
        }
        Config::from_lookup(move |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_the_documentation() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.account.as_str(), "main");
        assert_eq!(c.table_name.as_str(), "bot-records");
        assert_eq!(c.binance.base_url.as_str(), "https://api.binance.com");
        assert_eq!(c.binance.recv_window.get(), 5000);
        assert_eq!(c.binance.weight_budget, 3000);
        assert_eq!(c.rules, RulesConfig::default());
        assert_eq!(c.run.min_interval, Duration::from_secs(300));
        assert_eq!(c.secret_ttl, Duration::from_secs(300));
        assert_eq!(c.metrics_namespace, "BinanceAccountSync");
        assert_eq!(c.alert_repeat, Duration::from_secs(24 * 3600));
        assert_eq!(c.security_check_interval, Duration::from_secs(24 * 3600));
        assert!(c.alert_topic_arn.is_none());
        assert!(
            matches!(c.credentials, CredentialConfig::SecretsManager { ref secret_id } if secret_id == "binance/api")
        );
    }

    #[test]
    fn missing_required_variables_are_named() {
        let map: HashMap<&str, &str> = HashMap::new();
        let e = Config::from_lookup(|k| map.get(k).map(|v| v.to_string())).unwrap_err();
        assert_eq!(
            e,
            ConfigError::Missing {
                name: "SYNC_ACCOUNT_ID"
            }
        );
        let e = cfg(&[("SYNC_TABLE_NAME", "  ")]).unwrap_err();
        assert_eq!(
            e,
            ConfigError::Missing {
                name: "SYNC_TABLE_NAME"
            }
        );
        let e = cfg(&[("BINANCE_SECRET_ID", "")]).unwrap_err();
        assert_eq!(
            e,
            ConfigError::Missing {
                name: "BINANCE_SECRET_ID"
            }
        );
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (name, value) in [
            ("BINANCE_BASE_URL", "ftp://x"),
            ("BINANCE_BASE_URL", "not a url"),
            ("BINANCE_RECV_WINDOW_MS", "0"),
            ("BINANCE_RECV_WINDOW_MS", "60001"),
            ("SYNC_TOLERANCE_PCT", "-1"),
            ("SYNC_TOLERANCE_PCT", "abc"),
            ("SYNC_UNKNOWN_ORDER_RUNS", "0"),
            ("SYNC_PERIODIC_LOOKBACK_DAYS", "400"),
            ("SYNC_WEIGHT_BUDGET", "-5"),
            ("SYNC_ALERT_TOPIC_ARN", "my-topic"),
            ("SYNC_SYMBOLS", "BTC USDT"),
            ("SYNC_TABLE_NAME", "a b"),
            ("SYNC_METRICS_NAMESPACE", "AWS/Lambda"),
            ("SYNC_WEIGHT_STOP_AT", "7000"),
            ("SYNC_SCHEDULE_MINUTES", "0"),
            ("SYNC_UNCOVERED_HOURS", "0"),
            ("SYNC_DUST_BAND_PCT", "100"),
            ("SYNC_DUST_BAND_PCT", "-1"),
            ("SYNC_DUST_BAND_PCT", "ten"),
        ] {
            let e = cfg(&[(name, value)]).unwrap_err();
            assert_eq!(e.variable(), name, "{name}={value}: {e}");
            assert!(e.to_string().contains(name), "{e}");
        }
    }

    #[test]
    fn a_budget_above_the_ip_limit_is_refused() {
        let e = cfg(&[("SYNC_WEIGHT_BUDGET", "6001")]).unwrap_err();
        assert_eq!(e.variable(), "SYNC_WEIGHT_BUDGET");
        assert!(e.to_string().contains("6000"), "{e}");
        let e = cfg(&[
            ("SYNC_IP_WEIGHT_LIMIT", "1200"),
            ("SYNC_WEIGHT_BUDGET", "3000"),
        ])
        .unwrap_err();
        assert_eq!(e.variable(), "SYNC_WEIGHT_BUDGET");
        let c = cfg(&[]).unwrap();
        assert_eq!(
            (c.binance.weight_budget, c.binance.ip_weight_stop),
            (3000, 4800),
            "stop at 4,800 of the IP's 6,000: the rest is the bot's"
        );
    }

    #[test]
    fn lists_and_overrides_parse() {
        let c = cfg(&[
            ("SYNC_QUOTE_ASSETS", "usdt, FDUSD"),
            ("SYNC_SYMBOLS", "btcusdt,ETHUSDT,"),
            ("SYNC_TOLERANCE_PCT", "0.5"),
            ("SYNC_DUST_BAND_PCT", "25"),
            ("SYNC_BOT_ORDER_PREFIXES", "bot-,grid-"),
            ("BINANCE_BASE_URL", "http://127.0.0.1:8080/"),
            (
                "SYNC_ALERT_TOPIC_ARN",
                "arn:aws:sns:eu-west-1:123456789012:alerts",
            ),
        ])
        .unwrap();
        let quotes: Vec<&str> = c.rules.quote_assets.iter().map(|a| a.as_str()).collect();
        assert_eq!(quotes, ["USDT", "FDUSD"]);
        let syms: Vec<&str> = c.rules.extra_symbols.iter().map(|a| a.as_str()).collect();
        assert_eq!(syms, ["BTCUSDT", "ETHUSDT"]);
        assert_eq!(c.rules.tolerance_pct, Decimal::new(5, 1));
        assert_eq!(c.rules.dust_band_pct, Decimal::new(25, 0));
        assert_eq!(c.rules.bot_order_prefixes, ["bot-", "grid-"]);
        assert_eq!(c.binance.base_url.as_str(), "http://127.0.0.1:8080");
        assert!(c.alert_topic_arn.is_some());
    }

    #[test]
    fn bot_only_positions_are_chosen_by_name_and_need_the_bots_prefixes() {
        assert_eq!(cfg(&[]).unwrap().rules.positions_of, PositionsOf::Account);
        let c = cfg(&[("SYNC_POSITIONS", " Bot ")]).unwrap();
        assert_eq!(c.rules.positions_of, PositionsOf::Bot);
        let e = cfg(&[("SYNC_POSITIONS", "mine")]).unwrap_err();
        assert_eq!(e.variable(), "SYNC_POSITIONS");
        assert!(e.to_string().contains("\"mine\""), "{e}");
        // Without prefixes no fill is the bot's: every position would be empty.
        let e = cfg(&[
            ("SYNC_POSITIONS", "bot"),
            ("SYNC_BOT_ORDER_PREFIXES", " , "),
        ])
        .unwrap_err();
        assert_eq!(e.variable(), "SYNC_POSITIONS");
    }

    #[test]
    fn static_credentials_for_the_cli_and_their_debug_is_redacted() {
        let c = cfg(&[
            ("BINANCE_SECRET_ID", ""),
            ("BINANCE_API_KEY", "k"),
            ("BINANCE_API_SECRET", "s3cr3t-value"),
        ])
        .unwrap();
        assert!(matches!(c.credentials, CredentialConfig::Static { .. }));
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
        let e = cfg(&[("BINANCE_SECRET_ID", ""), ("BINANCE_API_KEY", "k")]).unwrap_err();
        assert_eq!(
            e,
            ConfigError::Missing {
                name: "BINANCE_API_SECRET"
            }
        );
        let e = cfg(&[
            ("BINANCE_API_KEY", "k"),
            ("BINANCE_API_SECRET", "s3cr3t-value"),
        ])
        .unwrap_err();
        assert!(matches!(e, ConfigError::Conflict { .. }));
        assert!(!e.to_string().contains("s3cr3t-value"));
    }

    #[test]
    fn cli_private_key_is_parsed_at_configuration_and_refused_by_name() {
        let key = binance_sim::testkeys::TestKey::ed25519();
        let c = cfg(&[
            ("BINANCE_SECRET_ID", ""),
            ("BINANCE_API_KEY", "k"),
            ("BINANCE_PRIVATE_KEY", &key.private_pem),
        ])
        .unwrap();
        match &c.credentials {
            CredentialConfig::Static { credentials } => {
                assert_eq!(credentials.kind(), crate::exchange::keys::KeyKind::Ed25519)
            }
            other => panic!("expected Static, got {other:?}"),
        }
        let body = key.private_pem.lines().nth(1).unwrap().to_owned();
        assert!(!format!("{c:?}").contains(&body));
        let e = cfg(&[
            ("BINANCE_SECRET_ID", ""),
            ("BINANCE_API_KEY", "k"),
            ("BINANCE_PRIVATE_KEY", &key.public_pem),
        ])
        .unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::Invalid {
                    name: "BINANCE_PRIVATE_KEY",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("PUBLIC KEY"), "{e}");
        let e = cfg(&[
            ("BINANCE_SECRET_ID", ""),
            ("BINANCE_API_KEY", "k"),
            ("BINANCE_API_SECRET", "s"),
            ("BINANCE_PRIVATE_KEY", &key.private_pem),
        ])
        .unwrap_err();
        assert_eq!(
            e,
            ConfigError::Conflict {
                first: "BINANCE_API_SECRET",
                second: "BINANCE_PRIVATE_KEY"
            }
        );
        let e = cfg(&[
            ("BINANCE_SECRET_ID", ""),
            ("BINANCE_PRIVATE_KEY", &key.private_pem),
        ])
        .unwrap_err();
        assert_eq!(
            e,
            ConfigError::Missing {
                name: "BINANCE_API_KEY"
            }
        );
    }

    #[test]
    fn the_table_commands_need_no_binance_key_secret_or_topic() {
        let map: HashMap<&str, &str> = [
            ("SYNC_ACCOUNT_ID", "main"),
            ("SYNC_TABLE_NAME", "bot-records"),
            ("SYNC_SCHEDULE_MINUTES", "15"),
        ]
        .into_iter()
        .collect();
        let c = TableConfig::from_lookup(|k| map.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.account.as_str(), "main");
        assert_eq!(c.table_name.as_str(), "bot-records");
        assert_eq!(c.rules.schedule_minutes, 15);
        // The full configuration refuses the same environment: it needs the key.
        let full = Config::from_lookup(|k| map.get(k).map(|v| v.to_string()));
        assert_eq!(full.unwrap_err().variable(), "BINANCE_SECRET_ID");
    }

    #[test]
    fn the_table_commands_still_refuse_a_malformed_variable() {
        let map: HashMap<&str, &str> = [
            ("SYNC_ACCOUNT_ID", "main"),
            ("SYNC_TABLE_NAME", "bot-records"),
            ("SYNC_SCHEDULE_MINUTES", "often"),
        ]
        .into_iter()
        .collect();
        let err = TableConfig::from_lookup(|k| map.get(k).map(|v| v.to_string())).unwrap_err();
        assert_eq!(err.variable(), "SYNC_SCHEDULE_MINUTES");
    }
    #[test]
    fn a_registry_deployment_needs_no_account_or_key_of_its_own() {
        let map: HashMap<&str, &str> = [
            ("SYNC_ACCOUNTS", "registry"),
            ("SYNC_TABLE_NAME", "bot-records"),
            ("SYNC_TOLERANCE_PCT", "2"),
            ("SYNC_SYMBOLS", "BNBUSDT"),
        ]
        .into_iter()
        .collect();
        let lookup = |k: &str| map.get(k).map(|v| v.to_string());
        assert_eq!(
            AccountsSource::from_lookup(lookup),
            Ok(AccountsSource::Registry)
        );
        let fleet = FleetConfig::from_lookup(lookup).unwrap();
        assert!(fleet.ledger.enabled, "a fleet shares one ledger by default");
        assert_eq!(
            fleet.ledger.key(&fleet.table_name).as_str(),
            "deployment:bot-records"
        );
        let entry = crate::fleet::parse_entry(crate::fleet::RawAccount {
            account: "alice".into(),
            secret: crate::fleet::Field::Present("binance/alice".into()),
            symbols: crate::fleet::Field::Present(vec!["ethusdt".into()]),
            tolerance_pct: crate::fleet::Field::Present("0.25".into()),
            ..Default::default()
        })
        .unwrap();
        let c = fleet.for_account(&entry);
        assert_eq!(c.account.as_str(), "alice");
        assert!(
            matches!(c.credentials, CredentialConfig::SecretsManager { ref secret_id } if secret_id == "binance/alice")
        );
        let syms: Vec<&str> = c.rules.extra_symbols.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            syms,
            ["ETHUSDT"],
            "the account's symbols, not the deployment's"
        );
        assert_eq!(c.rules.tolerance_pct, Decimal::new(25, 2));
        // Without its own tolerance, the deployment's.
        let plain = crate::fleet::parse_entry(crate::fleet::RawAccount {
            account: "bob".into(),
            secret: crate::fleet::Field::Present("binance/bob".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            fleet.for_account(&plain).rules.tolerance_pct,
            Decimal::from(2)
        );
    }

    #[test]
    fn a_single_account_deployment_keeps_its_own_budget_unless_the_ledger_is_on() {
        let c = cfg(&[]).unwrap();
        assert!(!c.ledger.enabled);
        let c = cfg(&[
            ("SYNC_WEIGHT_LEDGER", "on"),
            ("SYNC_EGRESS_IP", "203.0.113.9"),
        ])
        .unwrap();
        assert!(c.ledger.enabled);
        assert_eq!(c.ledger.key(&c.table_name).as_str(), "ip:203.0.113.9");
        for (name, value) in [
            ("SYNC_WEIGHT_LEDGER", "maybe"),
            ("SYNC_EGRESS_IP", "my-nat"),
        ] {
            assert_eq!(cfg(&[(name, value)]).unwrap_err().variable(), name);
        }
        let bad = |k: &str| (k == "SYNC_ACCOUNTS").then(|| "both".to_owned());
        assert_eq!(
            AccountsSource::from_lookup(bad).unwrap_err().variable(),
            "SYNC_ACCOUNTS"
        );
    }
}
