//! Binance wire types (serde) and their mapping to the exchange-neutral domain types.
//!
//! Parsing is lenient in *form* (ids/times as number or string, money as string or number,
//! unknown fields ignored, unknown enum values kept) but exact in *value* (money is
//! `Decimal`, never `f64`). Anything that cannot be represented is a `Malformed` error
//! whose detail names the field, never the body.

use super::lenient;
use crate::domain::{
    ApiRestrictions, Asset, Balance, ExchangeOrder, Fill, Flow, FlowKind, FlowLeg, FlowStatus,
    LegRole, Millis, OrderStatus, Side, Symbol, SymbolInfo, Wallet,
};
use crate::exchange::{AccountInfo, ExchangeError};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Why a successful (2xx) body could not be used.
#[derive(Debug)]
pub enum ParseFailure {
    /// Not JSON at all / cut short: worth retrying (truncated body, proxy garbage).
    Syntax(String),
    /// Valid JSON of the wrong shape: retrying would give the same answer.
    Shape(String),
}

/// Parse a body without ever echoing it: the detail has only the error class and position.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ParseFailure> {
    serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        let at = format!("line {} column {}", e.line(), e.column());
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                ParseFailure::Syntax(format!("invalid or truncated JSON at {at}"))
            }
            // serde's data errors name the field/type expected; they may quote a value, so
            // only keep the position.
            Category::Data => ParseFailure::Shape(format!("unexpected JSON shape at {at}")),
        }
    })
}

pub fn malformed(endpoint: &str, detail: impl Into<String>) -> ExchangeError {
    ExchangeError::Malformed {
        endpoint: endpoint.to_owned(),
        detail: detail.into(),
    }
}

/// `{"code": -1121, "msg": "Invalid symbol."}`
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    #[serde(deserialize_with = "lenient::int")]
    pub code: i64,
    #[serde(default)]
    pub msg: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireServerTime {
    #[serde(deserialize_with = "lenient::int")]
    pub server_time: Millis,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireAccount {
    #[serde(deserialize_with = "lenient::int")]
    pub update_time: Millis,
    pub balances: Vec<WireBalance>,
}

#[derive(Debug, Deserialize)]
pub struct WireBalance {
    pub asset: String,
    #[serde(deserialize_with = "lenient::decimal")]
    pub free: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub locked: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireOrder {
    pub symbol: String,
    #[serde(deserialize_with = "lenient::id")]
    pub order_id: u64,
    #[serde(default)]
    pub client_order_id: String,
    #[serde(deserialize_with = "lenient::decimal")]
    pub price: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub orig_qty: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub executed_qty: Decimal,
    /// (sic) Binance's spelling. Negative = not available for some historical orders.
    #[serde(rename = "cummulativeQuoteQty", deserialize_with = "lenient::decimal")]
    pub cumulative_quote_qty: Decimal,
    pub status: String,
    #[serde(rename = "type")]
    pub order_type: String,
    pub side: String,
    #[serde(deserialize_with = "lenient::int")]
    pub time: Millis,
    #[serde(deserialize_with = "lenient::int")]
    pub update_time: Millis,
}

/// One fill: a row of `GET /api/v3/myTrades`, or of `GET /api/v3/myAllocations`
/// (rest-api.md "Query Allocations (USER_DATA)": what Smart Order Routing transferred to
/// the account for one fill of an SOR order), whose id is its `allocationId` (a sequence
/// of its own, never compared with trade ids) and whose other fields are a trade's
/// (`allocationType`, `orderListId` and `isAllocator` are not needed).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireTrade {
    pub symbol: String,
    #[serde(alias = "allocationId", deserialize_with = "lenient::id")]
    pub id: u64,
    #[serde(deserialize_with = "lenient::id")]
    pub order_id: u64,
    #[serde(deserialize_with = "lenient::decimal")]
    pub price: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub qty: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub quote_qty: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub commission: Decimal,
    pub commission_asset: String,
    #[serde(deserialize_with = "lenient::int")]
    pub time: Millis,
    pub is_buyer: bool,
    pub is_maker: bool,
}

#[derive(Debug, Deserialize)]
pub struct WireExchangeInfo {
    #[serde(default)]
    pub symbols: Vec<WireSymbol>,
    /// Smart Order Routing configurations; "omitted in responses if SOR is not available"
    /// (faqs/sor_faq.md). Null is taken as absent.
    #[serde(default)]
    pub sors: Option<Vec<WireSor>>,
}

/// One `sors[]` entry: `{"baseAsset": "BTC", "symbols": ["BTCUSDT", "BTCUSDC"]}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireSor {
    #[serde(default)]
    pub base_asset: Option<String>,
    #[serde(default)]
    pub symbols: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireSymbol {
    pub symbol: String,
    pub base_asset: String,
    pub quote_asset: String,
    pub base_asset_precision: u32,
    /// Preferred; `quotePrecision` is the deprecated twin kept as a fallback.
    #[serde(default)]
    pub quote_asset_precision: Option<u32>,
    #[serde(default)]
    pub quote_precision: Option<u32>,
    #[serde(default)]
    pub filters: Vec<WireFilter>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireFilter {
    pub filter_type: String,
    #[serde(default, deserialize_with = "lenient::opt_decimal")]
    pub min_qty: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::opt_decimal")]
    pub step_size: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::opt_decimal")]
    pub min_notional: Option<Decimal>,
}

#[derive(Debug, Deserialize)]
pub struct WireTicker {
    pub symbol: String,
    #[serde(deserialize_with = "lenient::decimal")]
    pub price: Decimal,
}

/// A kline row: `[openTime, open, high, low, close, volume, closeTime, ...]`.
#[derive(Debug, Deserialize)]
pub struct WireKline(pub Vec<serde_json::Value>);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireDeposit {
    #[serde(deserialize_with = "lenient::text_id")]
    pub id: String,
    #[serde(deserialize_with = "lenient::decimal")]
    pub amount: Decimal,
    pub coin: String,
    #[serde(deserialize_with = "lenient::int")]
    pub status: i64,
    #[serde(deserialize_with = "lenient::time")]
    pub insert_time: Millis,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    pub complete_time: Option<Millis>,
    /// 0 Spot, 1 Funding (absent on old records: Spot).
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub wallet_type: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireWithdrawal {
    #[serde(deserialize_with = "lenient::text_id")]
    pub id: String,
    #[serde(deserialize_with = "lenient::decimal")]
    pub amount: Decimal,
    #[serde(default, deserialize_with = "lenient::opt_decimal")]
    pub transaction_fee: Option<Decimal>,
    pub coin: String,
    #[serde(deserialize_with = "lenient::int")]
    pub status: i64,
    /// UTC `"YYYY-MM-DD HH:MM:SS"` on the live API.
    #[serde(deserialize_with = "lenient::time")]
    pub apply_time: Millis,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    pub complete_time: Option<Millis>,
    /// 0 Spot, 1 Funding (absent: Spot).
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub wallet_type: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireApiRestrictions {
    #[serde(default)]
    pub ip_restrict: bool,
    #[serde(default)]
    pub enable_withdrawals: bool,
    #[serde(default)]
    pub enable_reading: bool,
    #[serde(default)]
    pub enable_spot_and_margin_trading: bool,
}

// ---- mapping to the domain ------------------------------------------------------------

fn symbol(endpoint: &str, s: String) -> Result<Symbol, ExchangeError> {
    Symbol::parse(s).map_err(|e| malformed(endpoint, format!("bad symbol: {e}")))
}

fn asset(endpoint: &str, s: String) -> Result<Asset, ExchangeError> {
    Asset::parse(s).map_err(|e| malformed(endpoint, format!("bad asset: {e}")))
}

fn side(endpoint: &str, s: &str) -> Result<Side, ExchangeError> {
    match s {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        _ => Err(malformed(endpoint, "order side is neither BUY nor SELL")),
    }
}

impl WireAccount {
    /// Zero balances are dropped even if the server ignored `omitZeroBalances`.
    pub fn into_domain(self, endpoint: &str) -> Result<AccountInfo, ExchangeError> {
        let mut balances = Vec::with_capacity(self.balances.len());
        for b in self.balances {
            if b.free.is_zero() && b.locked.is_zero() {
                continue;
            }
            if b.free.checked_add(b.locked).is_none() {
                return Err(malformed(
                    endpoint,
                    format!("balance of {} out of range", b.asset),
                ));
            }
            balances.push(Balance {
                asset: asset(endpoint, b.asset)?,
                free: b.free,
                locked: b.locked,
            });
        }
        Ok(AccountInfo {
            update_time: self.update_time,
            // Set by the client, which knows when it sent the request.
            server_time: 0,
            balances,
        })
    }
}

impl WireOrder {
    pub fn into_domain(self, endpoint: &str) -> Result<ExchangeOrder, ExchangeError> {
        Ok(ExchangeOrder {
            symbol: symbol(endpoint, self.symbol)?,
            order_id: self.order_id,
            client_order_id: self.client_order_id,
            side: side(endpoint, &self.side)?,
            order_type: self.order_type,
            price: self.price,
            orig_qty: self.orig_qty,
            executed_qty: self.executed_qty,
            cumulative_quote_qty: self.cumulative_quote_qty,
            status: OrderStatus::from(self.status),
            time: self.time,
            update_time: self.update_time,
        })
    }
}

impl WireTrade {
    pub fn into_domain(self, endpoint: &str) -> Result<Fill, ExchangeError> {
        Ok(Fill {
            symbol: symbol(endpoint, self.symbol)?,
            trade_id: self.id,
            order_id: self.order_id,
            side: if self.is_buyer { Side::Buy } else { Side::Sell },
            price: self.price,
            qty: self.qty,
            quote_qty: self.quote_qty,
            commission: self.commission,
            commission_asset: asset(endpoint, self.commission_asset)?,
            time: self.time,
            is_maker: self.is_maker,
        })
    }
}

impl WireExchangeInfo {
    /// Every listed symbol's rules, `sor` set for each symbol some `sors[]` entry lists
    /// (a symbol listed there but not in `symbols` is not added: its rules are unknown).
    pub fn into_domain(self, endpoint: &str) -> Result<Vec<SymbolInfo>, ExchangeError> {
        let routed: std::collections::BTreeSet<String> = self
            .sors
            .into_iter()
            .flatten()
            .flat_map(|s| s.symbols)
            .collect();
        self.symbols
            .into_iter()
            .map(|s| {
                let sor = routed.contains(&s.symbol);
                let mut info = s.into_domain(endpoint)?;
                info.sor = sor;
                Ok(info)
            })
            .collect()
    }
}

impl WireSymbol {
    /// `sor` is false here: only the response's `sors` says otherwise
    /// ([`WireExchangeInfo::into_domain`]).
    ///
    /// LOT_SIZE gives minQty/stepSize (zero if absent: no rule); NOTIONAL, else the older
    /// MIN_NOTIONAL, gives minNotional (zero when the symbol has neither).
    pub fn into_domain(self, endpoint: &str) -> Result<SymbolInfo, ExchangeError> {
        let find = |t: &str| self.filters.iter().find(|f| f.filter_type == t);
        let lot = find("LOT_SIZE");
        let min_notional = find("NOTIONAL")
            .and_then(|f| f.min_notional)
            .or_else(|| find("MIN_NOTIONAL").and_then(|f| f.min_notional))
            .unwrap_or(Decimal::ZERO);
        let quote_precision = self
            .quote_asset_precision
            .or(self.quote_precision)
            .ok_or_else(|| malformed(endpoint, "symbol without quoteAssetPrecision"))?;
        Ok(SymbolInfo {
            min_qty: lot.and_then(|f| f.min_qty).unwrap_or(Decimal::ZERO),
            step_size: lot.and_then(|f| f.step_size).unwrap_or(Decimal::ZERO),
            min_notional,
            base_precision: self.base_asset_precision,
            quote_precision,
            symbol: symbol(endpoint, self.symbol)?,
            base: asset(endpoint, self.base_asset)?,
            quote: asset(endpoint, self.quote_asset)?,
            sor: false,
        })
    }
}

impl WireTicker {
    pub fn into_domain(self, endpoint: &str) -> Result<(Symbol, Decimal), ExchangeError> {
        Ok((symbol(endpoint, self.symbol)?, self.price))
    }
}

impl WireKline {
    /// `(open_time, close_time, close)` of the candle.
    pub fn parts(&self, endpoint: &str) -> Result<(Millis, Millis, Decimal), ExchangeError> {
        use serde::de::IntoDeserializer;
        let field = |i: usize| {
            self.0
                .get(i)
                .cloned()
                .ok_or_else(|| malformed(endpoint, format!("kline without field {i}")))
        };
        let as_int = |v: serde_json::Value| {
            lenient::int(v.into_deserializer())
                .map_err(|_| malformed(endpoint, "kline time is not an integer"))
        };
        let open_time = as_int(field(0)?)?;
        let close_time = as_int(field(6)?)?;
        let close = lenient::decimal(field(4)?.into_deserializer())
            .map_err(|_| malformed(endpoint, "kline close is not a decimal"))?;
        Ok((open_time, close_time, close))
    }
}

/// `GET /sapi/v1/convert/tradeFlow` (`docs/ledger-endpoints.md` §2).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireConvertPage {
    #[serde(default)]
    pub list: Vec<WireConvert>,
    #[serde(default)]
    pub more_data: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireConvert {
    /// Above 2^53: read as text, never through a float.
    #[serde(deserialize_with = "lenient::text_id")]
    pub order_id: String,
    pub order_status: String,
    pub from_asset: String,
    #[serde(deserialize_with = "lenient::decimal")]
    pub from_amount: Decimal,
    pub to_asset: String,
    #[serde(deserialize_with = "lenient::decimal")]
    pub to_amount: Decimal,
    #[serde(deserialize_with = "lenient::time")]
    pub create_time: Millis,
}

impl WireConvert {
    /// `SUCCESS` moved the balances, `FAIL` did not, anything else (`PROCESS`,
    /// `ACCEPT_SUCCESS`) is followed as pending. History says no wallet: Spot, the quote
    /// endpoint's default, is assumed (a Funding convert shows as unexplained, never
    /// hidden).
    pub fn into_domain(self, endpoint: &str) -> Result<Flow, ExchangeError> {
        let status = match self.order_status.as_str() {
            "SUCCESS" => FlowStatus::Done,
            "FAIL" => FlowStatus::Failed,
            _ => FlowStatus::Pending,
        };
        let spot = |asset, amount| FlowLeg {
            asset,
            wallet: Wallet::Spot,
            amount,
            role: LegRole::Principal,
        };
        Ok(Flow {
            kind: FlowKind::Convert,
            id: self.order_id,
            time: self.create_time,
            status,
            exchange_status: self.order_status,
            completed_at: None,
            legs: vec![
                spot(asset(endpoint, self.from_asset)?, -self.from_amount),
                spot(asset(endpoint, self.to_asset)?, self.to_amount),
            ],
            whole_seconds: false,
        })
    }
}

/// `GET /sapi/v1/asset/dribblet` (§3).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireDustLog {
    #[serde(default)]
    pub user_asset_dribblets: Vec<WireDribblet>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireDribblet {
    #[serde(deserialize_with = "lenient::text_id")]
    pub trans_id: String,
    #[serde(deserialize_with = "lenient::time")]
    pub operate_time: Millis,
    #[serde(default)]
    pub user_asset_dribblet_details: Vec<WireDribbletDetail>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireDribbletDetail {
    #[serde(deserialize_with = "lenient::decimal")]
    pub amount: Decimal,
    pub from_asset: String,
    #[serde(deserialize_with = "lenient::decimal")]
    pub transfered_amount: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub service_charge_amount: Decimal,
    /// BNB (absent in older examples).
    #[serde(default)]
    pub target_asset: Option<String>,
}

impl WireDribblet {
    /// One conversion: each source asset taken whole, BNB credited. Whether
    /// `transferedAmount` is before or after the service charge is not documented: the
    /// charge is a fee leg, which the bridge reads both ways.
    pub fn into_domain(self, endpoint: &str) -> Result<Flow, ExchangeError> {
        let mut legs = Vec::new();
        for d in self.user_asset_dribblet_details {
            let target = asset(endpoint, d.target_asset.unwrap_or_else(|| "BNB".to_owned()))?;
            legs.push(FlowLeg {
                asset: asset(endpoint, d.from_asset)?,
                wallet: Wallet::Spot,
                amount: -d.amount,
                role: LegRole::Principal,
            });
            legs.push(FlowLeg {
                asset: target.clone(),
                wallet: Wallet::Spot,
                amount: d.transfered_amount,
                role: LegRole::Principal,
            });
            if !d.service_charge_amount.is_zero() {
                legs.push(FlowLeg {
                    asset: target,
                    wallet: Wallet::Spot,
                    amount: -d.service_charge_amount,
                    role: LegRole::Fee,
                });
            }
        }
        Ok(Flow {
            kind: FlowKind::DustConversion,
            id: self.trans_id,
            time: self.operate_time,
            status: FlowStatus::Done,
            exchange_status: "done".to_owned(),
            completed_at: None,
            legs,
            whole_seconds: false,
        })
    }
}

/// `GET /sapi/v1/asset/assetDividend` (§4).
#[derive(Debug, Deserialize)]
pub struct WireDividendPage {
    #[serde(default)]
    pub rows: Vec<WireDividend>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireDividend {
    /// The row's own id (`tranId` repeats across a batch).
    #[serde(deserialize_with = "lenient::text_id")]
    pub id: String,
    #[serde(deserialize_with = "lenient::decimal")]
    pub amount: Decimal,
    pub asset: String,
    #[serde(deserialize_with = "lenient::time")]
    pub div_time: Millis,
    /// 1 credited, −1 debited (absent: credited).
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub direction: Option<i64>,
}

impl WireDividend {
    pub fn into_domain(self, endpoint: &str) -> Result<Flow, ExchangeError> {
        let sign = if self.direction == Some(-1) {
            Decimal::NEGATIVE_ONE
        } else {
            Decimal::ONE
        };
        Ok(Flow {
            kind: FlowKind::Distribution,
            id: self.id,
            time: self.div_time,
            status: FlowStatus::Done,
            exchange_status: "done".to_owned(),
            completed_at: None,
            legs: vec![FlowLeg {
                asset: asset(endpoint, self.asset)?,
                wallet: Wallet::Spot,
                amount: sign * self.amount,
                role: LegRole::Principal,
            }],
            whole_seconds: false,
        })
    }
}

/// A `{"rows": [...], "total": N}` page (universal transfers, Simple Earn histories);
/// an empty answer may omit `rows`.
#[derive(Debug, Deserialize)]
pub struct WireRowsPage<T> {
    #[serde(default = "Vec::new")]
    pub rows: Vec<T>,
    #[serde(default)]
    pub total: Option<u64>,
}

/// `GET /sapi/v1/asset/transfer` (§5).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireTransfer {
    pub asset: String,
    #[serde(deserialize_with = "lenient::decimal")]
    pub amount: Decimal,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    #[serde(deserialize_with = "lenient::text_id")]
    pub tran_id: String,
    #[serde(deserialize_with = "lenient::time")]
    pub timestamp: Millis,
}

/// The wallets a universal transfer `type` names, `FROM_TO` (`MAIN` is Spot).
/// Wallet names hold `_` themselves (`PORTFOLIO_MARGIN`), so the split is tried at
/// every `_` until both halves are wallet names.
pub fn transfer_wallets(kind: &str) -> Option<(Wallet, Wallet)> {
    fn wallet(name: &str) -> Option<Wallet> {
        Some(match name {
            "MAIN" => Wallet::Spot,
            "FUNDING" => Wallet::Funding,
            "UMFUTURE" => Wallet::UsdmFutures,
            "CMFUTURE" | "MARGIN" | "ISOLATEDMARGIN" | "OPTION" | "PORTFOLIO_MARGIN" => {
                Wallet::Other
            }
            _ => return None,
        })
    }
    kind.match_indices('_')
        .find_map(|(i, _)| Some((wallet(&kind[..i])?, wallet(&kind[i + 1..])?)))
}

impl WireTransfer {
    /// `CONFIRMED` moved the amount, `FAILED` did not, anything else (`PENDING`) is
    /// followed. A `tranId` is documented per transfer but not said to be unique across
    /// types, so the id carries the type.
    pub fn into_domain(self, endpoint: &str) -> Result<Flow, ExchangeError> {
        let (from, to) = transfer_wallets(&self.kind)
            .ok_or_else(|| malformed(endpoint, format!("unknown transfer type {}", self.kind)))?;
        let status = match self.status.as_str() {
            "CONFIRMED" => FlowStatus::Done,
            "FAILED" => FlowStatus::Failed,
            _ => FlowStatus::Pending,
        };
        let coin = asset(endpoint, self.asset)?;
        Ok(Flow {
            kind: FlowKind::Transfer,
            id: format!("{}:{}", self.kind, self.tran_id),
            time: self.timestamp,
            status,
            exchange_status: self.status,
            completed_at: None,
            legs: vec![
                principal(coin.clone(), from, -self.amount),
                principal(coin, to, self.amount),
            ],
            whole_seconds: false,
        })
    }
}

/// `GET /sapi/v1/sub-account/transfer/subUserHistory` (§8): this account's side of a
/// transfer with its master (`counterParty` "master") or a sibling ("subAccount").
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireSubAccountTransfer {
    /// 1 transfer in, 2 transfer out.
    #[serde(rename = "type")]
    pub direction: i64,
    pub asset: String,
    #[serde(deserialize_with = "lenient::decimal")]
    pub qty: Decimal,
    pub from_account_type: String,
    pub to_account_type: String,
    pub status: String,
    #[serde(deserialize_with = "lenient::text_id")]
    pub tran_id: String,
    #[serde(deserialize_with = "lenient::time")]
    pub time: Millis,
}

/// The wallet a master/sub-account transfer's account type names (the sub-account
/// universal transfer's `SPOT`, `USDT_FUTURE`, `COIN_FUTURE`, `MARGIN`,
/// `ISOLATED_MARGIN`). Any other (undocumented) name is a wallet the sync does not
/// follow: it explains nothing in Spot rather than being guessed to.
fn account_type_wallet(account_type: &str) -> Wallet {
    match account_type {
        "SPOT" => Wallet::Spot,
        "USDT_FUTURE" => Wallet::UsdmFutures,
        _ => Wallet::Other,
    }
}

impl WireSubAccountTransfer {
    /// Only this account's side is a leg: a transfer in credits the wallet `toAccountType`
    /// names, a transfer out debits the one `fromAccountType` names (the counter-party's
    /// wallet is not this account's). `SUCCESS` moved the amount, `FAILURE` did not,
    /// `PROCESS` (and anything undocumented) is followed. The id carries the direction as
    /// the universal transfers' carries the type: `tranId` is not said to be unique across
    /// the two.
    pub fn into_domain(self, endpoint: &str) -> Result<Flow, ExchangeError> {
        let (tag, sign, account_type) = match self.direction {
            1 => ("IN", Decimal::ONE, &self.to_account_type),
            2 => ("OUT", Decimal::NEGATIVE_ONE, &self.from_account_type),
            other => {
                return Err(malformed(
                    endpoint,
                    format!("unknown transfer type {other}"),
                ))
            }
        };
        let wallet = account_type_wallet(account_type);
        let status = match self.status.as_str() {
            "SUCCESS" => FlowStatus::Done,
            "FAILURE" => FlowStatus::Failed,
            _ => FlowStatus::Pending,
        };
        Ok(Flow {
            kind: FlowKind::SubAccountTransfer,
            id: format!("{tag}:{}", self.tran_id),
            time: self.time,
            status,
            exchange_status: self.status,
            completed_at: None,
            legs: vec![principal(
                asset(endpoint, self.asset)?,
                wallet,
                sign * self.qty,
            )],
            whole_seconds: false,
        })
    }
}

fn principal(asset: Asset, wallet: Wallet, amount: Decimal) -> FlowLeg {
    FlowLeg {
        asset,
        wallet,
        amount,
        role: LegRole::Principal,
    }
}

/// The Earn position's move as live accounts have been seen to list it in Spot, as an
/// `LD<asset>` balance (docs/ledger-endpoints.md §6: never documented, so never assumed
/// either way): a `Mirror` leg the bridge counts only where it explains that balance.
fn earn_mirror(coin: &Asset, amount: Decimal) -> Option<FlowLeg> {
    Some(FlowLeg {
        asset: Asset::parse(format!("LD{coin}")).ok()?,
        wallet: Wallet::Spot,
        amount,
        role: LegRole::Mirror,
    })
}

/// `GET /sapi/v1/simple-earn/flexible/history/subscriptionRecord` (§6).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEarnSubscription {
    #[serde(deserialize_with = "lenient::decimal")]
    pub amount: Decimal,
    pub asset: String,
    #[serde(deserialize_with = "lenient::time")]
    pub time: Millis,
    #[serde(deserialize_with = "lenient::text_id")]
    pub purchase_id: String,
    #[serde(default)]
    pub source_account: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_decimal")]
    pub amt_from_spot: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::opt_decimal")]
    pub amt_from_funding: Option<Decimal>,
    #[serde(default)]
    pub status: Option<String>,
}

/// `PURCHASING`/`CREATED` are followed, `SUCCESS`/`PAID` moved the amount, `FAILED` did
/// not. A record with no status (older examples) is taken as done.
fn earn_status(status: Option<&str>) -> FlowStatus {
    match status {
        None | Some("SUCCESS") | Some("PAID") => FlowStatus::Done,
        Some("FAILED") => FlowStatus::Failed,
        Some(_) => FlowStatus::Pending,
    }
}

impl WireEarnSubscription {
    /// The amount leaves Spot (the documented default), Funding, or both
    /// (`SPOTANDFUNDING`: `amtFromSpot` + `amtFromFunding`), and enters the Earn position.
    pub fn into_domain(self, endpoint: &str) -> Result<Flow, ExchangeError> {
        let coin = asset(endpoint, self.asset)?;
        let mut legs = match self.source_account.as_deref() {
            Some("FUNDING") | Some("FUND") => {
                vec![principal(coin.clone(), Wallet::Funding, -self.amount)]
            }
            // The split, where the row gives it ("Display if sourceAccount is
            // SPOTANDFUNDING"; the docs' own example shows it beside SPOT too): trusted
            // whenever present, the missing part being the rest of the amount.
            _ if self.amt_from_spot.is_some() || self.amt_from_funding.is_some() => {
                let (spot, funding) = match (self.amt_from_spot, self.amt_from_funding) {
                    (Some(s), Some(f)) => (s, f),
                    (Some(s), None) => (s, self.amount - s),
                    (None, Some(f)) => (self.amount - f, f),
                    (None, None) => (self.amount, Decimal::ZERO),
                };
                vec![
                    principal(coin.clone(), Wallet::Spot, -spot),
                    principal(coin.clone(), Wallet::Funding, -funding),
                ]
            }
            Some("SPOTANDFUNDING") | Some("ALL") => {
                vec![principal(coin.clone(), Wallet::Spot, -self.amount)]
            }
            _ => vec![principal(coin.clone(), Wallet::Spot, -self.amount)],
        };
        legs.extend(earn_mirror(&coin, self.amount));
        legs.push(principal(coin, Wallet::Earn, self.amount));
        let status = earn_status(self.status.as_deref());
        Ok(Flow {
            kind: FlowKind::EarnSubscription,
            id: self.purchase_id,
            time: self.time,
            status,
            exchange_status: self.status.unwrap_or_else(|| "SUCCESS".to_owned()),
            completed_at: None,
            legs,
            whole_seconds: false,
        })
    }
}

/// `GET /sapi/v1/simple-earn/flexible/history/redemptionRecord` (§6).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEarnRedemption {
    #[serde(deserialize_with = "lenient::decimal")]
    pub amount: Decimal,
    pub asset: String,
    #[serde(deserialize_with = "lenient::time")]
    pub time: Millis,
    #[serde(deserialize_with = "lenient::text_id")]
    pub redeem_id: String,
    #[serde(default)]
    pub dest_account: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

impl WireEarnRedemption {
    /// The amount leaves the Earn position for Spot (the documented default) or Funding.
    pub fn into_domain(self, endpoint: &str) -> Result<Flow, ExchangeError> {
        let coin = asset(endpoint, self.asset)?;
        let dest = match self.dest_account.as_deref() {
            Some("FUNDING") | Some("FUND") => Wallet::Funding,
            _ => Wallet::Spot,
        };
        let status = earn_status(self.status.as_deref());
        Ok(Flow {
            kind: FlowKind::EarnRedemption,
            id: self.redeem_id,
            time: self.time,
            status,
            exchange_status: self.status.unwrap_or_else(|| "PAID".to_owned()),
            completed_at: None,
            legs: earn_mirror(&coin, -self.amount)
                .into_iter()
                .chain([
                    principal(coin.clone(), Wallet::Earn, -self.amount),
                    principal(coin, dest, self.amount),
                ])
                .collect(),
            whole_seconds: false,
        })
    }
}

/// `GET /sapi/v1/simple-earn/flexible/history/rewardsRecord` (§6).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEarnReward {
    pub asset: String,
    #[serde(deserialize_with = "lenient::decimal")]
    pub rewards: Decimal,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "lenient::time")]
    pub time: Millis,
}

impl WireEarnReward {
    /// A reward row has no id of its own: its type, product, asset and time name it
    /// (one reward of a type per product and asset at a time). Where it is paid is on
    /// Binance's Simple Earn pages, not the API docs (docs/ledger-endpoints.md §6):
    /// real-time APR rewards accrue in the Earn wallet every minute, bonus tiered APR
    /// rewards are distributed to the Spot wallet daily. `REWARDS` (historical) names
    /// neither: taken as the position's.
    pub fn into_domain(self, endpoint: &str) -> Result<Flow, ExchangeError> {
        let product = self.project_id.as_deref().unwrap_or("-");
        let id = format!("{}:{product}:{}:{}", self.kind, self.asset, self.time);
        let coin = asset(endpoint, self.asset)?;
        let legs = if self.kind == "BONUS" {
            vec![principal(coin, Wallet::Spot, self.rewards)]
        } else {
            earn_mirror(&coin, self.rewards)
                .into_iter()
                .chain([principal(coin, Wallet::Earn, self.rewards)])
                .collect()
        };
        Ok(Flow {
            kind: FlowKind::EarnReward,
            id,
            time: self.time,
            status: FlowStatus::Done,
            exchange_status: self.kind,
            completed_at: None,
            legs,
            whole_seconds: false,
        })
    }
}

/// The wallet of a `walletType` (0 Spot, 1 Funding; absent on old records: Spot).
fn wallet_of(wallet_type: Option<i64>) -> Wallet {
    match wallet_type {
        None | Some(0) => Wallet::Spot,
        Some(1) => Wallet::Funding,
        Some(_) => Wallet::Other,
    }
}

impl WireDeposit {
    /// Statuses (FACTS §7): 0 pending, 8 waiting user confirm: pending; 1 success, 6
    /// credited but cannot withdraw: the amount is in the wallet; 2 rejected, 7 wrong
    /// deposit: never credited. An unknown status is followed as pending.
    pub fn into_domain(self, endpoint: &str) -> Result<Flow, ExchangeError> {
        let status = match self.status {
            1 | 6 => FlowStatus::Done,
            2 | 7 => FlowStatus::Failed,
            _ => FlowStatus::Pending,
        };
        Ok(Flow {
            kind: FlowKind::Deposit,
            id: self.id,
            time: self.insert_time,
            status,
            exchange_status: self.status.to_string(),
            completed_at: self.complete_time.filter(|_| status == FlowStatus::Done),
            legs: vec![FlowLeg {
                asset: asset(endpoint, self.coin)?,
                wallet: wallet_of(self.wallet_type),
                amount: self.amount,
                role: LegRole::Principal,
            }],
            whole_seconds: false,
        })
    }
}

impl WireWithdrawal {
    /// Statuses (FACTS §7): 0 email sent, 2 awaiting approval, 4 processing: pending
    /// (whether the amount has left the wallet yet is not documented); 6 completed; 1
    /// cancelled, 3 rejected, 5 failure: the amount stays (or comes back). The fee is a
    /// leg of its own: the docs do not say whether `amount` includes it.
    pub fn into_domain(self, endpoint: &str) -> Result<Flow, ExchangeError> {
        let status = match self.status {
            6 => FlowStatus::Done,
            1 | 3 | 5 => FlowStatus::Failed,
            _ => FlowStatus::Pending,
        };
        let coin = asset(endpoint, self.coin)?;
        let wallet = wallet_of(self.wallet_type);
        let mut legs = vec![FlowLeg {
            asset: coin.clone(),
            wallet,
            amount: -self.amount,
            role: LegRole::Principal,
        }];
        if let Some(fee) = self.transaction_fee.filter(|f| !f.is_zero()) {
            legs.push(FlowLeg {
                asset: coin,
                wallet,
                amount: -fee,
                role: LegRole::Fee,
            });
        }
        Ok(Flow {
            kind: FlowKind::Withdrawal,
            id: self.id,
            time: self.apply_time,
            status,
            exchange_status: self.status.to_string(),
            completed_at: self.complete_time.filter(|_| status == FlowStatus::Done),
            legs,
            // `applyTime` and `completeTime` are "YYYY-MM-DD HH:MM:SS" strings.
            whole_seconds: true,
        })
    }
}

impl From<WireApiRestrictions> for ApiRestrictions {
    fn from(w: WireApiRestrictions) -> Self {
        ApiRestrictions {
            ip_restrict: w.ip_restrict,
            enable_withdrawals: w.enable_withdrawals,
            enable_reading: w.enable_reading,
            enable_spot_and_margin_trading: w.enable_spot_and_margin_trading,
        }
    }
}
