//! The scenario file: the whole starting state of the simulated account.
//!
//! Top-level keys are the sim's own (snake_case). Records that mirror a
//! Binance response (orders, trades, deposits, withdrawals, filters) use
//! Binance's own camelCase field names, so a real response can be pasted in.
//!
//! Times: every time field takes either an absolute epoch in ms (a JSON
//! number) or a string relative to the server clock at load time: `"now"`,
//! `"-2d"`, `"-3h15m"`, `"+90s"`, `"-1500ms"`. Relative times keep a demo
//! inside every lookback window whenever it is loaded. See README.md.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use std::path::Path;

/// The minimal scenario shipped in `scenarios/minimal.json`; used when
/// [`crate::SimConfig::scenario`] is `None`.
pub const MINIMAL_JSON: &str = include_str!("../scenarios/minimal.json");

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario file: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid scenario JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid scenario: {0}")]
    Invalid(String),
}

/// A point in time: absolute epoch milliseconds, or an offset from "now".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TimeSpec {
    Absolute(i64),
    /// Offset in ms from the server clock at scenario load time.
    Relative(i64),
}

impl TimeSpec {
    pub fn resolve(self, now_ms: i64) -> i64 {
        match self {
            TimeSpec::Absolute(t) => t,
            TimeSpec::Relative(off) => now_ms + off,
        }
    }

    /// Parses `now`, `-2d`, `+3h15m`, `-1500ms`, `-1d2h3m4s5ms`.
    pub fn parse_relative(s: &str) -> Result<i64, String> {
        let s = s.trim();
        if s == "now" {
            return Ok(0);
        }
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'-') => (-1, &s[1..]),
            Some(b'+') => (1, &s[1..]),
            _ => {
                return Err(format!(
                    "relative time must start with - or + or be \"now\": {s:?}"
                ))
            }
        };
        if rest.is_empty() {
            return Err(format!("empty relative time: {s:?}"));
        }
        let mut total: i64 = 0;
        let mut num = String::new();
        let chars: Vec<char> = rest.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_digit() {
                num.push(c);
                i += 1;
                continue;
            }
            let n: i64 = num
                .parse()
                .map_err(|_| format!("bad number in relative time {s:?}"))?;
            num.clear();
            let unit_ms = if c == 'm' && chars.get(i + 1) == Some(&'s') {
                i += 1;
                1
            } else {
                match c {
                    'd' => 86_400_000,
                    'h' => 3_600_000,
                    'm' => 60_000,
                    's' => 1_000,
                    _ => return Err(format!("unknown unit {c:?} in {s:?}")),
                }
            };
            total += n * unit_ms;
            i += 1;
        }
        if !num.is_empty() {
            return Err(format!("relative time {s:?} lacks a unit (d, h, m, s, ms)"));
        }
        Ok(sign * total)
    }
}

impl<'de> Deserialize<'de> for TimeSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(TimeSpec::Absolute(n)),
            Raw::S(s) => TimeSpec::parse_relative(&s)
                .map(TimeSpec::Relative)
                .map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub clock: ClockSpec,
    #[serde(default)]
    pub account: AccountSpec,
    #[serde(default)]
    pub api_keys: Vec<ApiKeySpec>,
    #[serde(default)]
    pub fees: FeeSpec,
    #[serde(default)]
    pub symbols: Vec<SymbolSpec>,
    #[serde(default)]
    pub balances: Vec<BalanceSpec>,
    #[serde(default)]
    pub orders: Vec<OrderSpec>,
    #[serde(default)]
    pub trades: Vec<TradeSpec>,
    #[serde(default)]
    pub deposits: Vec<DepositSpec>,
    #[serde(default)]
    pub withdrawals: Vec<WithdrawalSpec>,
    /// Smart Order Routing configurations (`sor.rs`): each is a base asset
    /// and the symbols whose books an SOR order may take from. Without any,
    /// exchangeInfo has no `sors` field and `POST /api/v3/sor/order` is
    /// refused, as on an exchange where "SOR is not available".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sors: Vec<SorSpec>,
    /// USDⓈ-M futures (`futures.rs`): contracts, the futures wallet, the
    /// position mode and the fee rates. Without it the futures exchange
    /// lists no contracts and the futures wallet is empty, as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub futures: Option<FuturesSpec>,
    /// Strict-mode switches (see `strict.rs`); when present they replace
    /// the configured ones at load. Missing switches are favourable unless
    /// `"preset": "strict"` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<crate::strict::StrictConfig>,
    /// Free-form note shown nowhere; lets a scenario describe itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Scenario {
    pub fn from_json_str(s: &str) -> Result<Self, ScenarioError> {
        Ok(serde_json::from_str(s)?)
    }

    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path)?;
        Self::from_json_str(&text)
    }

    /// The scenario in `scenarios/minimal.json` (compiled in).
    pub fn minimal() -> Result<Self, ScenarioError> {
        Self::from_json_str(MINIMAL_JSON)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSpec {
    /// Server time at load, epoch ms. Default: real time.
    #[serde(default)]
    pub start_ms: Option<i64>,
    /// Server time = real time + skew_ms (ignored when start_ms is set).
    #[serde(default)]
    pub skew_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccountSpec {
    #[serde(default = "default_uid")]
    pub uid: u64,
    #[serde(default = "yes")]
    pub can_trade: bool,
    #[serde(default = "yes")]
    pub can_withdraw: bool,
    #[serde(default = "yes")]
    pub can_deposit: bool,
    /// Default: time of the latest balance-changing record, else load time.
    #[serde(default)]
    pub update_time: Option<TimeSpec>,
}

impl Default for AccountSpec {
    fn default() -> Self {
        Self {
            uid: default_uid(),
            can_trade: true,
            can_withdraw: true,
            can_deposit: true,
            update_time: None,
        }
    }
}

fn default_uid() -> u64 {
    354_937_868
}
fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySpec {
    pub key: String,
    /// An HMAC key's secret. Exactly one of `secret` and `public_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// An Ed25519 or RSA key's public key, as uploaded to Binance: a
    /// `-----BEGIN PUBLIC KEY-----` PEM (the kind is read from the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    #[serde(default)]
    pub restrictions: KeyRestrictions,
    /// The key's IP restriction ("Restrict access to trusted IPs only"): a
    /// SIGNED request from an address not in `ips` is 401 `-2015`, and
    /// `apiRestrictions` reports `ipRestrict: true`. Needs at least one
    /// address in `ips`.
    #[serde(default)]
    pub ip_restrict: bool,
    /// The trusted addresses (IPv4 or IPv6, exact match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
}

/// Mirrors `GET /sapi/v1/account/apiRestrictions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyRestrictions {
    #[serde(default)]
    pub ip_restrict: bool,
    #[serde(default)]
    pub create_time: Option<TimeSpec>,
    #[serde(default = "yes")]
    pub enable_reading: bool,
    #[serde(default)]
    pub enable_withdrawals: bool,
    #[serde(default)]
    pub enable_internal_transfer: bool,
    #[serde(default)]
    pub enable_margin: bool,
    #[serde(default)]
    pub enable_futures: bool,
    #[serde(default)]
    pub permits_universal_transfer: bool,
    #[serde(default)]
    pub enable_vanilla_options: bool,
    #[serde(default)]
    pub enable_fix_api_trade: bool,
    #[serde(default)]
    pub enable_fix_read_only: bool,
    #[serde(default = "yes")]
    pub enable_spot_and_margin_trading: bool,
    #[serde(default)]
    pub enable_portfolio_margin_trading: bool,
}

impl Default for KeyRestrictions {
    fn default() -> Self {
        Self {
            ip_restrict: false,
            create_time: None,
            enable_reading: true,
            enable_withdrawals: false,
            enable_internal_transfer: false,
            enable_margin: false,
            enable_futures: false,
            permits_universal_transfer: false,
            enable_vanilla_options: false,
            enable_fix_api_trade: false,
            enable_fix_read_only: false,
            enable_spot_and_margin_trading: true,
            enable_portfolio_margin_trading: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeSpec {
    /// Maker rate as a fraction (0.001 = 0.1 %).
    pub maker: Decimal,
    pub taker: Decimal,
    /// Pay commissions in BNB (needs a BNB<quote> symbol and enough BNB).
    #[serde(default)]
    pub pay_fees_in_bnb: bool,
    /// Discount when paying in BNB, as a fraction (0.25 = 25 %).
    #[serde(default)]
    pub bnb_discount: Decimal,
}

impl Default for FeeSpec {
    fn default() -> Self {
        Self {
            maker: Decimal::new(1, 3),
            taker: Decimal::new(1, 3),
            pay_fees_in_bnb: false,
            bnb_discount: Decimal::ZERO,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolSpec {
    pub symbol: String,
    pub base: String,
    pub quote: String,
    /// Current (last traded) price.
    pub price: Decimal,
    #[serde(default = "eight")]
    pub base_precision: u32,
    #[serde(default = "eight")]
    pub quote_precision: u32,
    #[serde(default = "trading")]
    pub status: String,
    #[serde(default)]
    pub filters: FilterSpec,
    /// Extra price points for klines (trade prices are added automatically).
    #[serde(default)]
    pub price_history: Vec<PricePoint>,
}

fn eight() -> u32 {
    8
}
fn trading() -> String {
    "TRADING".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricePoint {
    pub time: TimeSpec,
    pub price: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    #[serde(rename = "PRICE_FILTER", default)]
    pub price_filter: Option<PriceFilter>,
    #[serde(rename = "LOT_SIZE", default)]
    pub lot_size: Option<LotSize>,
    #[serde(rename = "NOTIONAL", default)]
    pub notional: Option<Notional>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceFilter {
    pub min_price: Decimal,
    pub max_price: Decimal,
    pub tick_size: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LotSize {
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    pub step_size: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Notional {
    pub min_notional: Decimal,
    #[serde(default = "yes")]
    pub apply_min_to_market: bool,
    #[serde(default = "big")]
    pub max_notional: Decimal,
    #[serde(default)]
    pub apply_max_to_market: bool,
    #[serde(default = "five")]
    pub avg_price_mins: u32,
}

fn big() -> Decimal {
    Decimal::new(9_000_000, 0)
}
fn five() -> u32 {
    5
}

/// One SOR configuration, as exchangeInfo's `sors[]` shows it
/// (`{"baseAsset", "symbols"}`), in the scenario's snake_case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SorSpec {
    pub base_asset: String,
    pub symbols: Vec<String>,
}

/// The scenario's `futures` section (snake_case, as the sim's own keys).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FuturesSpec {
    #[serde(default)]
    pub symbols: Vec<FuturesSymbolSpec>,
    /// Futures wallet balances (`walletBalance`) per margin asset.
    #[serde(default)]
    pub wallet: Vec<FuturesBalanceSpec>,
    /// Hedge Mode (`dualSidePosition: true`); default One-way Mode.
    #[serde(default)]
    pub dual_side_position: bool,
    /// Commission rates as fractions; default 0.0002 maker, 0.0005 taker
    /// (the USDⓈ-M regular-user rates [inference: a fee schedule, not the
    /// API docs]).
    #[serde(default = "futures_maker")]
    pub maker: Decimal,
    #[serde(default = "futures_taker")]
    pub taker: Decimal,
}

fn futures_maker() -> Decimal {
    Decimal::new(2, 4)
}
fn futures_taker() -> Decimal {
    Decimal::new(5, 4)
}

/// One perpetual contract.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FuturesSymbolSpec {
    pub symbol: String,
    pub base: String,
    pub quote: String,
    /// Default: the quote asset.
    #[serde(default)]
    pub margin_asset: Option<String>,
    pub mark_price: Decimal,
    #[serde(default = "trading")]
    pub status: String,
    #[serde(default = "two")]
    pub price_precision: u32,
    #[serde(default = "three")]
    pub quantity_precision: u32,
    /// Default: one unit of `price_precision`.
    #[serde(default)]
    pub tick_size: Option<Decimal>,
    /// Default: one unit of `quantity_precision`.
    #[serde(default)]
    pub step_size: Option<Decimal>,
    /// Default: `step_size`.
    #[serde(default)]
    pub min_qty: Option<Decimal>,
    #[serde(default = "thousand")]
    pub max_qty: Decimal,
    #[serde(default = "five_dec")]
    pub min_notional: Decimal,
    #[serde(default = "twenty")]
    pub leverage: u32,
    /// Maintenance margin rate of the first bracket (0.004 = 0.4 %).
    #[serde(default = "maint_rate")]
    pub maint_margin_rate: Decimal,
    /// exchangeInfo `liquidationFee`: the liquidation clearance fee rate.
    #[serde(default = "liquidation_fee")]
    pub liquidation_fee: Decimal,
    #[serde(default)]
    pub onboard_date: Option<TimeSpec>,
}

fn two() -> u32 {
    2
}
fn three() -> u32 {
    3
}
fn twenty() -> u32 {
    20
}
fn thousand() -> Decimal {
    Decimal::new(1000, 0)
}
fn five_dec() -> Decimal {
    Decimal::new(5, 0)
}
fn maint_rate() -> Decimal {
    Decimal::new(4, 3)
}
fn liquidation_fee() -> Decimal {
    Decimal::new(125, 4)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FuturesBalanceSpec {
    pub asset: String,
    pub balance: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceSpec {
    pub asset: String,
    pub free: Decimal,
    /// Default: what the scenario's open orders lock.
    #[serde(default)]
    pub locked: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderSpec {
    pub symbol: String,
    pub order_id: u64,
    #[serde(default)]
    pub client_order_id: Option<String>,
    pub side: String,
    #[serde(rename = "type")]
    pub order_type: String,
    #[serde(default)]
    pub time_in_force: Option<String>,
    #[serde(default)]
    pub price: Decimal,
    pub orig_qty: Decimal,
    #[serde(default)]
    pub executed_qty: Decimal,
    #[serde(default)]
    pub cummulative_quote_qty: Decimal,
    pub status: String,
    pub time: TimeSpec,
    #[serde(default)]
    pub update_time: Option<TimeSpec>,
    /// Default `NONE`, as the docs' examples of resting orders show.
    #[serde(default)]
    pub self_trade_prevention_mode: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TradeSpec {
    pub symbol: String,
    pub id: u64,
    pub order_id: u64,
    pub price: Decimal,
    pub qty: Decimal,
    /// Default: price × qty.
    #[serde(default)]
    pub quote_qty: Option<Decimal>,
    pub commission: Decimal,
    pub commission_asset: String,
    pub time: TimeSpec,
    pub is_buyer: bool,
    pub is_maker: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DepositSpec {
    #[serde(default)]
    pub id: Option<String>,
    pub coin: String,
    pub amount: Decimal,
    #[serde(default)]
    pub network: Option<String>,
    #[serde(default = "one")]
    pub status: i64,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub tx_id: Option<String>,
    pub insert_time: TimeSpec,
    #[serde(default)]
    pub complete_time: Option<TimeSpec>,
}

fn one() -> i64 {
    1
}
fn six() -> i64 {
    6
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WithdrawalSpec {
    #[serde(default)]
    pub id: Option<String>,
    pub coin: String,
    pub amount: Decimal,
    #[serde(default)]
    pub transaction_fee: Decimal,
    #[serde(default)]
    pub network: Option<String>,
    #[serde(default = "six")]
    pub status: i64,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub tx_id: Option<String>,
    #[serde(default)]
    pub withdraw_order_id: Option<String>,
    pub apply_time: TimeSpec,
    #[serde(default)]
    pub complete_time: Option<TimeSpec>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_parse() {
        assert_eq!(TimeSpec::parse_relative("now"), Ok(0));
        assert_eq!(TimeSpec::parse_relative("-2d"), Ok(-172_800_000));
        assert_eq!(TimeSpec::parse_relative("+3h15m"), Ok(11_700_000));
        assert_eq!(TimeSpec::parse_relative("-1500ms"), Ok(-1500));
        assert!(TimeSpec::parse_relative("2d").is_err());
        assert!(TimeSpec::parse_relative("-2").is_err());
    }
}
