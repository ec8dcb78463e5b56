//! The fleet: many accounts on one deployment.
//!
//! - this file: one account's registry entry, parsed (never validated twice): the
//!   [`AccountEntry`] a run is built from, and the [`InvalidAccount`] error naming the
//!   account and the field when an item in the table is wrong. A bad item never stops the
//!   other accounts: listing the registry returns the good entries and the bad ones side by
//!   side.
//! - [`ledger`]: the shared weight ledger's rules (which minute items a request reserves,
//!   the key of the IP or the deployment), pure.
//!
//! The items themselves are read and written through the [`crate::store::registry::Registry`]
//! and [`crate::store::weight::WeightLedger`] ports.

pub mod ledger;

use crate::domain::{AccountId, Millis, Symbol};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A market of an account the sync reads. Only `spot` exists today; a later market
/// (`usdm`) is a new variant, and an item naming a market this version does not know is
/// refused with the account and the field named, not silently ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Market {
    Spot,
}

impl Market {
    pub const ALL: [Market; 1] = [Market::Spot];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spot => "spot",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "spot" => Ok(Self::Spot),
            other => Err(format!(
                "unknown market {other:?} (known: {})",
                Self::ALL.map(Market::as_str).join(", ")
            )),
        }
    }
}

/// A Secrets Manager secret: a name (`binance/sync-main`) or an ARN. 1..=2048 characters
/// of the set Secrets Manager allows in names and ARNs. Only the reference is stored in
/// the registry, never the key itself.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecretRef(String);

impl SecretRef {
    pub fn parse(value: impl Into<String>) -> Result<Self, String> {
        let value = value.into();
        let ok_len = (1..=2048).contains(&value.len());
        let ok_chars = value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-:".contains(c));
        if ok_len && ok_chars {
            Ok(Self(value))
        } else {
            Err(
                "a secret name or ARN is 1 to 2048 characters of A-Z a-z 0-9 / _ + = . @ - :"
                    .to_owned(),
            )
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SecretRef {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(value)
    }
}
impl From<SecretRef> for String {
    fn from(value: SecretRef) -> String {
        value.0
    }
}
impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A reference, not a secret: printing it helps the operator find it.
        write!(f, "{:?}", self.0)
    }
}
impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One account of the registry, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountEntry {
    pub account: AccountId,
    /// Where its Binance API key is (`{"api_key", "api_secret"}` or `{"api_key", "private_key"}`).
    pub secret: SecretRef,
    /// The markets read; never empty, no duplicates.
    pub markets: Vec<Market>,
    /// Symbols always checked for this account (the environment's `SYNC_SYMBOLS`).
    pub symbols: Vec<Symbol>,
    /// The balance tolerance for this account; None = the deployment's `SYNC_TOLERANCE_PCT`.
    pub tolerance_pct: Option<Decimal>,
    /// A disabled account is kept (its records, its history) but never synced.
    pub enabled: bool,
    pub updated_at: Millis,
}

/// An item as it was read, before parsing: each field as text (or the reason it was not
/// even text, e.g. a number where a string belongs). The adapters produce this; only
/// [`parse_entry`] turns it into an [`AccountEntry`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawAccount {
    /// The account id from the item's key.
    pub account: String,
    pub secret: Field<String>,
    pub markets: Field<Vec<String>>,
    pub symbols: Field<Vec<String>>,
    pub tolerance_pct: Field<String>,
    pub enabled: Field<bool>,
    pub updated_at: Field<String>,
}

/// One attribute of a raw item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Field<T> {
    #[default]
    Absent,
    Present(T),
    /// Present with the wrong DynamoDB type (described).
    WrongType(String),
}

impl<T> Field<T> {
    fn take(self, field: &'static str, account: &str) -> Result<Option<T>, InvalidAccount> {
        match self {
            Field::Absent => Ok(None),
            Field::Present(v) => Ok(Some(v)),
            Field::WrongType(found) => Err(InvalidAccount::new(
                account,
                field,
                format!("has the wrong type ({found})"),
            )),
        }
    }
}

/// Why a registry item was refused: the account and the field named, so the operator
/// knows which item to fix. Its `kind()` is `RegistryItemInvalid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("registry item of account {account:?}: {field} {reason}")]
pub struct InvalidAccount {
    pub account: String,
    pub field: &'static str,
    pub reason: String,
}

impl InvalidAccount {
    pub fn new(account: &str, field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            account: account.chars().take(128).collect(),
            field,
            reason: reason.into(),
        }
    }
    pub fn kind(&self) -> &'static str {
        "RegistryItemInvalid"
    }
}

/// Parse a raw item. Every field is checked with the same types the environment
/// configuration uses (`AccountId`, `Symbol`, a non-negative decimal tolerance).
pub fn parse_entry(raw: RawAccount) -> Result<AccountEntry, InvalidAccount> {
    let name = raw.account.clone();
    let bad = |field: &'static str, reason: String| InvalidAccount::new(&name, field, reason);
    let account =
        AccountId::parse(raw.account.clone()).map_err(|e| bad("account", e.to_string()))?;
    let secret = match raw.secret.take("secret_id", &name)? {
        None => return Err(bad("secret_id", "is required but missing".to_owned())),
        Some(s) => SecretRef::parse(s).map_err(|e| bad("secret_id", e))?,
    };
    let markets = parse_markets(raw.markets.take("markets", &name)?.unwrap_or_default())
        .map_err(|e| bad("markets", e))?;
    let symbols = match raw.symbols.take("symbols", &name)? {
        None => Vec::new(),
        Some(list) => parse_symbols(&list).map_err(|e| bad("symbols", e))?,
    };
    let tolerance_pct = match raw.tolerance_pct.take("tolerance_pct", &name)? {
        None => None,
        Some(t) => Some(parse_tolerance(&t).map_err(|e| bad("tolerance_pct", e))?),
    };
    let enabled = raw.enabled.take("enabled", &name)?.unwrap_or(true);
    let updated_at = match raw.updated_at.take("updated_at", &name)? {
        None => 0,
        Some(t) => t
            .parse::<Millis>()
            .map_err(|_| bad("updated_at", format!("{t:?} is not epoch milliseconds")))?,
    };
    Ok(AccountEntry {
        account,
        secret,
        markets,
        symbols,
        tolerance_pct,
        enabled,
        updated_at,
    })
}

/// The markets of an entry: at least one, each known, none twice. An item written before
/// markets existed (no attribute) reads as `spot`.
pub fn parse_markets(list: Vec<String>) -> Result<Vec<Market>, String> {
    if list.is_empty() {
        return Ok(vec![Market::Spot]);
    }
    let mut out = Vec::with_capacity(list.len());
    for m in &list {
        let market = Market::parse(m)?;
        if out.contains(&market) {
            return Err(format!("lists {} twice", market.as_str()));
        }
        out.push(market);
    }
    Ok(out)
}

/// Symbols as the environment's `SYNC_SYMBOLS` takes them (upper-cased).
pub fn parse_symbols(list: &[String]) -> Result<Vec<Symbol>, String> {
    list.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| Symbol::parse(s.to_ascii_uppercase()).map_err(|e| e.to_string()))
        .collect()
}

/// A tolerance in percent, as `SYNC_TOLERANCE_PCT`: a decimal, not negative.
pub fn parse_tolerance(value: &str) -> Result<Decimal, String> {
    let d = Decimal::from_str(value.trim())
        .map_err(|_| format!("{value:?} is not a decimal number"))?;
    if d.is_sign_negative() && !d.is_zero() {
        Err(format!("{value} is negative"))
    } else {
        Ok(d)
    }
}

/// What listing the registry found: the entries that parse, and the items that do not
/// (each named), so one bad item never hides the others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Listing {
    pub accounts: Vec<AccountEntry>,
    pub invalid: Vec<InvalidAccount>,
}

impl Listing {
    pub fn from_raw(raw: impl IntoIterator<Item = RawAccount>) -> Self {
        let mut listing = Self::default();
        for item in raw {
            match parse_entry(item) {
                Ok(entry) => listing.accounts.push(entry),
                Err(e) => listing.invalid.push(e),
            }
        }
        listing.accounts.sort_by(|a, b| a.account.cmp(&b.account));
        listing
    }

    /// The accounts a scheduled fan-out syncs.
    pub fn enabled(&self) -> impl Iterator<Item = &AccountEntry> {
        self.accounts.iter().filter(|a| a.enabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(account: &str) -> RawAccount {
        RawAccount {
            account: account.to_owned(),
            secret: Field::Present("binance/main".to_owned()),
            ..RawAccount::default()
        }
    }

    #[test]
    fn a_minimal_item_is_an_enabled_spot_account_with_the_deployment_tolerance() {
        let e = parse_entry(raw("main")).unwrap();
        assert_eq!(e.account.as_str(), "main");
        assert_eq!(e.secret.as_str(), "binance/main");
        assert_eq!(e.markets, vec![Market::Spot]);
        assert!(e.symbols.is_empty());
        assert_eq!(e.tolerance_pct, None);
        assert!(e.enabled);
    }

    #[test]
    fn every_bad_field_is_refused_naming_the_account_and_the_field() {
        let cases: Vec<(RawAccount, &str)> = vec![
            (
                RawAccount {
                    secret: Field::Absent,
                    ..raw("a1")
                },
                "secret_id",
            ),
            (
                RawAccount {
                    secret: Field::Present("has space".into()),
                    ..raw("a1")
                },
                "secret_id",
            ),
            (
                RawAccount {
                    secret: Field::WrongType("a number".into()),
                    ..raw("a1")
                },
                "secret_id",
            ),
            (
                RawAccount {
                    markets: Field::Present(vec!["usdm".into()]),
                    ..raw("a1")
                },
                "markets",
            ),
            (
                RawAccount {
                    markets: Field::Present(vec!["spot".into(), "SPOT".into()]),
                    ..raw("a1")
                },
                "markets",
            ),
            (
                RawAccount {
                    symbols: Field::Present(vec!["BTC USDT".into()]),
                    ..raw("a1")
                },
                "symbols",
            ),
            (
                RawAccount {
                    tolerance_pct: Field::Present("-1".into()),
                    ..raw("a1")
                },
                "tolerance_pct",
            ),
            (
                RawAccount {
                    tolerance_pct: Field::Present("lots".into()),
                    ..raw("a1")
                },
                "tolerance_pct",
            ),
            (
                RawAccount {
                    enabled: Field::WrongType("a string".into()),
                    ..raw("a1")
                },
                "enabled",
            ),
            (raw("has#hash"), "account"),
        ];
        for (item, field) in cases {
            let e = parse_entry(item.clone()).unwrap_err();
            assert_eq!(e.field, field, "{item:?}: {e}");
            assert!(e.to_string().contains(&item.account), "{e}");
            assert_eq!(e.kind(), "RegistryItemInvalid");
        }
    }

    #[test]
    fn a_bad_item_is_listed_beside_the_good_ones_not_instead_of_them() {
        let listing = Listing::from_raw([
            raw("b"),
            RawAccount {
                markets: Field::Present(vec!["futures".into()]),
                ..raw("bad")
            },
            RawAccount {
                enabled: Field::Present(false),
                ..raw("a")
            },
        ]);
        let names: Vec<&str> = listing
            .accounts
            .iter()
            .map(|a| a.account.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(listing.invalid.len(), 1);
        assert_eq!(listing.invalid[0].account, "bad");
        let enabled: Vec<&str> = listing.enabled().map(|a| a.account.as_str()).collect();
        assert_eq!(enabled, ["b"]);
    }

    #[test]
    fn symbols_and_tolerance_parse_as_the_environment_does() {
        let e = parse_entry(RawAccount {
            symbols: Field::Present(vec!["btcusdt".into(), " ETHUSDT ".into(), "".into()]),
            tolerance_pct: Field::Present("0.5".into()),
            ..raw("main")
        })
        .unwrap();
        let s: Vec<&str> = e.symbols.iter().map(|s| s.as_str()).collect();
        assert_eq!(s, ["BTCUSDT", "ETHUSDT"]);
        assert_eq!(e.tolerance_pct, Some(Decimal::new(5, 1)));
    }
}
