//! Strict mode: where Binance's docs are silent, play the answer least
//! favourable to a client (FACTS.md §12).
//!
//! Each switch is one field of [`StrictConfig`]. [`StrictConfig::default`]
//! is the favourable behaviour the simulator always had (so existing tests
//! and callers see no change); [`StrictConfig::strict`] turns every switch
//! to its unfavourable side. Switches can be set in [`crate::SimConfig`], in
//! a scenario file (`"strict": {...}`), with the binary's `--strict` flag, or
//! at runtime with `POST /__sim/strict`. See README.md, "Strict mode".
//!
//! All delays are on the simulator's clock (`clock.rs`), never wall-clock:
//! a test moves them along with `POST /__sim/clock {"advance_ms": …}`.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The individual switches. JSON form: the field names below; an object may
/// also carry `"preset": "strict" | "favourable"` as the base that the other
/// fields then override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StrictConfig {
    /// `account.updateTime` never moves after the scenario is loaded.
    /// Binance lists the field but does not say what moves it; a client
    /// that detects change by comparing it must be wrong then.
    /// Favourable: it moves on every balance change, strictly increasing.
    pub freeze_update_time: bool,

    /// A `startTime` window (with or without `endTime`) on `myTrades` /
    /// `allOrders` that holds more than `limit` items returns the **newest**
    /// `limit` of them. The docs say "with `startTime`, the oldest items from
    /// `startTime`" only in the general section; the endpoint pages are
    /// silent. Favourable: the oldest `limit`. Also `GET
    /// /sapi/v1/convert/tradeFlow`: a window with more than `limit` Convert
    /// trades gives the newest `limit` (its page does not say which). Also
    /// `GET /api/v3/myAllocations` with `startTime` and `endTime` ("within
    /// the time range"; `startTime` alone is documented as the oldest).
    pub newest_page_in_window: bool,

    /// `startTime` alone on `myTrades` / `allOrders` covers
    /// `[startTime, startTime + 24 h)`, like the documented maximum window.
    /// The combination is documented, its span is not (FACTS.md §10).
    /// Favourable: `startTime` to now.
    pub start_time_alone_24h: bool,

    /// Fills and orders reach `myTrades` / `allOrders` only this many ms (of
    /// sim clock) after they happened; balances move at once. An order that
    /// changed shows its last state that is at least this old. `openOrders`
    /// and `order` (documented "Memory => Database") stay immediate. The
    /// docs give data sources, not delays. Favourable: 0.
    pub history_lag_ms: i64,

    /// A deposit made with `POST /__sim/deposits` starts pending (status 0,
    /// balance unchanged, `completeTime` 0) and is credited (status 1,
    /// balance moves, `completeTime` set) this many ms later. Statuses are
    /// documented, their timing is not. Favourable: 0 = credited at once.
    pub deposit_credit_delay_ms: i64,

    /// A withdrawal made with `POST /__sim/withdrawals` is debited at once
    /// and then moves through the documented statuses 2 (Awaiting Approval)
    /// → 4 (Processing) → 6 (Completed), each lasting this many ms;
    /// `completeTime` appears at 6. Favourable: 0 = completed (6) at once.
    pub withdrawal_step_ms: i64,

    /// Trade ids and order ids are per-symbol sequences: from the moment the
    /// switch is first used, every symbol's next id is the same number, so
    /// BTCUSDT trade N and ETHUSDT trade N both exist. The docs never say
    /// ids are unique across symbols. Favourable: one global sequence.
    pub colliding_ids: bool,

    /// The withdrawal fee is inside `amount`: the balance pays `amount` and
    /// the recipient gets `amount - transactionFee`. Off: the balance pays
    /// `amount + transactionFee`. The docs do not say which; a client must
    /// be right either way, so tests should run with both. Favourable
    /// (default): off, as the sim always did. `strict()` turns it on.
    pub withdraw_fee_in_amount: bool,

    /// An empty `GET /sapi/v1/asset/transfer` or `/sapi/v1/asset/assetDividend`
    /// answer is `{"total": 0}` with no `rows` field. The docs only show
    /// non-empty examples. Favourable: `"rows": []` is always there.
    pub omit_empty_rows: bool,

    /// The Simple Earn flexible histories refuse (`-1127`) a window over
    /// 30 days, as binance-connector-js's docstring says; the web pages say
    /// "3 months". Favourable: 90 days allowed.
    pub earn_window_30d: bool,

    /// `/fapi/v1/userTrades`, `/fapi/v1/allOrders` and `/fapi/v1/income`
    /// with only one of `startTime` / `endTime` cover 7 days from (or up
    /// to) it, like their documented default window. The docs state the
    /// 7-day maximum for both bounds and the default for neither, not the
    /// span of one bound alone. Favourable: `startTime` to now, or
    /// everything up to `endTime`.
    pub fapi_one_bound_7d: bool,

    /// A master (not a sub-account) account asking `GET
    /// /sapi/v1/sub-account/transfer/subUserHistory` is refused with `-1002`
    /// (HTTP 401). The docs say the endpoint is "For Sub-account" and not
    /// what others get. Favourable: `[]`, an account with no such transfers.
    pub master_refuses_sub_history: bool,

    /// The sub-account transfer history returns at most 200 rows whatever
    /// `limit` asks (Binance's generated SDKs say "Max value: 200"; the web
    /// page gives only "Default 500"). Favourable: `limit` as asked.
    pub sub_history_limit_200: bool,

    /// The sub-account transfer history refuses (`-1127`) a window over 30
    /// days (its documented default span; no maximum is documented).
    /// Favourable: any window.
    pub sub_history_window_30d: bool,
}

impl Default for StrictConfig {
    /// The favourable behaviour: what the simulator did before strict mode.
    fn default() -> Self {
        Self::favourable()
    }
}

impl StrictConfig {
    /// Every switch on its favourable side (the default).
    pub fn favourable() -> Self {
        Self {
            freeze_update_time: false,
            newest_page_in_window: false,
            start_time_alone_24h: false,
            history_lag_ms: 0,
            deposit_credit_delay_ms: 0,
            withdrawal_step_ms: 0,
            colliding_ids: false,
            withdraw_fee_in_amount: false,
            omit_empty_rows: false,
            earn_window_30d: false,
            fapi_one_bound_7d: false,
            master_refuses_sub_history: false,
            sub_history_limit_200: false,
            sub_history_window_30d: false,
        }
    }

    /// Every switch on its unfavourable side.
    pub fn strict() -> Self {
        Self {
            freeze_update_time: true,
            newest_page_in_window: true,
            start_time_alone_24h: true,
            history_lag_ms: 3_000,
            deposit_credit_delay_ms: 20 * 60_000,
            withdrawal_step_ms: 10 * 60_000,
            colliding_ids: true,
            withdraw_fee_in_amount: true,
            omit_empty_rows: true,
            earn_window_30d: true,
            fapi_one_bound_7d: true,
            master_refuses_sub_history: true,
            sub_history_limit_200: true,
            sub_history_window_30d: true,
        }
    }

    /// `base` with the switches named in `v` replaced. `v` is a JSON object
    /// of switch names; `"preset": "strict" | "favourable"` replaces `base`
    /// first. Unknown names and wrong types are errors.
    pub fn apply_json(base: &StrictConfig, v: &Value) -> Result<StrictConfig, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| "strict switches must be a JSON object".to_string())?;
        let mut out = match obj.get("preset") {
            None => base.clone(),
            Some(Value::String(p)) if p == "strict" => Self::strict(),
            Some(Value::String(p)) if p == "favourable" => Self::favourable(),
            Some(p) => {
                return Err(format!(
                    "unknown preset {p}: use \"strict\" or \"favourable\""
                ))
            }
        };
        for (k, val) in obj {
            let bool_of = || {
                val.as_bool()
                    .ok_or_else(|| format!("strict switch {k} must be true or false"))
            };
            let ms_of = || {
                val.as_i64()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| format!("strict switch {k} must be a number of ms >= 0"))
            };
            match k.as_str() {
                "preset" => {}
                "freeze_update_time" => out.freeze_update_time = bool_of()?,
                "newest_page_in_window" => out.newest_page_in_window = bool_of()?,
                "start_time_alone_24h" => out.start_time_alone_24h = bool_of()?,
                "history_lag_ms" => out.history_lag_ms = ms_of()?,
                "deposit_credit_delay_ms" => out.deposit_credit_delay_ms = ms_of()?,
                "withdrawal_step_ms" => out.withdrawal_step_ms = ms_of()?,
                "colliding_ids" => out.colliding_ids = bool_of()?,
                "withdraw_fee_in_amount" => out.withdraw_fee_in_amount = bool_of()?,
                "omit_empty_rows" => out.omit_empty_rows = bool_of()?,
                "earn_window_30d" => out.earn_window_30d = bool_of()?,
                "fapi_one_bound_7d" => out.fapi_one_bound_7d = bool_of()?,
                "master_refuses_sub_history" => out.master_refuses_sub_history = bool_of()?,
                "sub_history_limit_200" => out.sub_history_limit_200 = bool_of()?,
                "sub_history_window_30d" => out.sub_history_window_30d = bool_of()?,
                // Documented behaviour, no longer a switch: always on.
                "reject_unknown_params" => {
                    return Err(format!(
                        "strict switch {k} is gone: -1104 for unread parameters is documented, so it is always on"
                    ))
                }
                other => return Err(format!("unknown strict switch {other:?}")),
            }
        }
        Ok(out)
    }
}

/// In a scenario file, missing switches are favourable unless `preset` says
/// otherwise.
impl<'de> Deserialize<'de> for StrictConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::Object(Map::deserialize(d)?);
        StrictConfig::apply_json(&StrictConfig::favourable(), &v).map_err(serde::de::Error::custom)
    }
}

/// The parameters each endpoint reads (its documented parameters): any other
/// one is `-1104` (`api::check_all_read`, in every mode). SIGNED endpoints
/// also read `timestamp`, `recvWindow` and `signature`. `None`: not an
/// endpoint we serve.
pub fn read_params(method: &str, path: &str) -> Option<&'static [&'static str]> {
    Some(match (method, path) {
        ("GET", "/api/v3/ping") | ("GET", "/api/v3/time") => &[],
        ("GET", "/api/v3/exchangeInfo") => &[
            "symbol",
            "symbols",
            "permissions",
            "showPermissionSets",
            "symbolStatus",
        ],
        ("GET", "/api/v3/ticker/price") => &["symbol", "symbols", "symbolStatus"],
        ("GET", "/api/v3/klines") => &[
            "symbol",
            "interval",
            "startTime",
            "endTime",
            "timeZone",
            "limit",
        ],
        ("GET", "/api/v3/account") => &["omitZeroBalances"],
        ("GET", "/api/v3/account/commission") => &["symbol"],
        ("GET", "/api/v3/openOrders") => &["symbol"],
        ("GET", "/api/v3/allOrders") => &["symbol", "orderId", "startTime", "endTime", "limit"],
        ("GET", "/api/v3/order") => &["symbol", "orderId", "origClientOrderId"],
        ("GET", "/api/v3/myTrades") => &[
            "symbol",
            "orderId",
            "startTime",
            "endTime",
            "fromId",
            "limit",
        ],
        ("POST", "/api/v3/order") => &[
            "symbol",
            "side",
            "type",
            "timeInForce",
            "quantity",
            "quoteOrderQty",
            "price",
            "newClientOrderId",
            "strategyId",
            "strategyType",
            "stopPrice",
            "trailingDelta",
            "icebergQty",
            "newOrderRespType",
            "selfTradePreventionMode",
            "pegPriceType",
            "pegOffsetValue",
            "pegOffsetType",
        ],
        ("POST", "/api/v3/sor/order") => SOR_ORDER_PARAMS,
        ("POST", "/api/v3/sor/order/test") => SOR_ORDER_TEST_PARAMS,
        ("GET", "/api/v3/myAllocations") => &[
            "symbol",
            "startTime",
            "endTime",
            "fromAllocationId",
            "limit",
            "orderId",
        ],
        ("DELETE", "/api/v3/order") => &[
            "symbol",
            "orderId",
            "origClientOrderId",
            "newClientOrderId",
            "cancelRestrictions",
        ],
        ("GET", "/sapi/v1/capital/deposit/hisrec") => &[
            "includeSource",
            "coin",
            "status",
            "startTime",
            "endTime",
            "offset",
            "limit",
            "txId",
        ],
        ("GET", "/sapi/v1/capital/withdraw/history") => &[
            "coin",
            "withdrawOrderId",
            "status",
            "offset",
            "limit",
            "idList",
            "startTime",
            "endTime",
        ],
        ("GET", "/sapi/v1/account/apiRestrictions") => &[],
        ("GET", "/sapi/v1/capital/config/getall") => &[],
        ("GET", "/sapi/v1/margin/allPairs") => &["symbol"],
        ("GET", "/sapi/v1/margin/isolated/allPairs") => &["symbol"],
        ("POST", "/sapi/v1/asset/get-funding-asset") => &["asset", "needBtcValuation"],
        ("GET", "/sapi/v1/sub-account/transfer/subUserHistory") => &[
            "asset",
            "type",
            "startTime",
            "endTime",
            "limit",
            "returnFailHistory",
        ],
        ("GET", "/sapi/v1/asset/transfer") => &[
            "type",
            "startTime",
            "endTime",
            "current",
            "size",
            "fromSymbol",
            "toSymbol",
        ],
        ("GET", "/sapi/v1/convert/tradeFlow") => &["startTime", "endTime", "limit"],
        ("GET", "/sapi/v1/asset/dribblet") => &["accountType", "startTime", "endTime"],
        ("GET", "/sapi/v1/asset/assetDividend") => &["asset", "startTime", "endTime", "limit"],
        ("GET", "/sapi/v1/simple-earn/flexible/history/subscriptionRecord") => &[
            "productId",
            "purchaseId",
            "asset",
            "startTime",
            "endTime",
            "current",
            "size",
        ],
        ("GET", "/sapi/v1/simple-earn/flexible/history/redemptionRecord") => &[
            "productId",
            "redeemId",
            "asset",
            "startTime",
            "endTime",
            "current",
            "size",
        ],
        ("GET", "/sapi/v1/simple-earn/flexible/history/rewardsRecord") => &[
            "productId",
            "asset",
            "startTime",
            "endTime",
            "type",
            "current",
            "size",
        ],
        ("GET", "/sapi/v1/simple-earn/flexible/position") => {
            &["asset", "productId", "current", "size"]
        }
        ("GET", "/fapi/v1/exchangeInfo") | ("GET", "/dapi/v1/exchangeInfo") => &[],
        ("GET", "/fapi/v1/ping") | ("GET", "/fapi/v1/time") => &[],
        ("GET", "/fapi/v2/account")
        | ("GET", "/fapi/v3/account")
        | ("GET", "/fapi/v2/balance")
        | ("GET", "/fapi/v3/balance")
        | ("GET", "/fapi/v1/positionSide/dual") => &[],
        ("GET", "/fapi/v2/positionRisk")
        | ("GET", "/fapi/v3/positionRisk")
        | ("GET", "/fapi/v1/openOrders")
        | ("GET", "/fapi/v1/leverageBracket") => &["symbol"],
        ("GET", "/fapi/v1/userTrades") => &[
            "symbol",
            "orderId",
            "startTime",
            "endTime",
            "fromId",
            "limit",
        ],
        ("GET", "/fapi/v1/allOrders") => &["symbol", "orderId", "startTime", "endTime", "limit"],
        ("GET", "/fapi/v1/forceOrders") => {
            &["symbol", "autoCloseType", "startTime", "endTime", "limit"]
        }
        ("GET", "/fapi/v1/order") | ("GET", "/fapi/v1/openOrder") => {
            &["symbol", "orderId", "origClientOrderId"]
        }
        ("GET", "/fapi/v1/income") => &[
            "symbol",
            "incomeType",
            "startTime",
            "endTime",
            "page",
            "limit",
        ],
        _ => return None,
    })
}

/// `POST /api/v3/sor/order/test`'s parameters: the order's (below), then
/// `computeCommissionRates`. One list, so the order and its test cannot
/// drift apart.
const SOR_ORDER_TEST_PARAMS: &[&str] = &[
    "symbol",
    "side",
    "type",
    "timeInForce",
    "quantity",
    "price",
    "newClientOrderId",
    "strategyId",
    "strategyType",
    "icebergQty",
    "newOrderRespType",
    "selfTradePreventionMode",
    "computeCommissionRates",
];

/// `POST /api/v3/sor/order`'s parameters (rest-api.md, New order using
/// SOR): the test endpoint's but its last, `computeCommissionRates`. No
/// `quoteOrderQty` ("is not supported"), no stop, trailing or peg
/// parameters.
const SOR_ORDER_PARAMS: &[&str] = match SOR_ORDER_TEST_PARAMS.split_last() {
    Some((_, order)) => order,
    None => &[],
};

/// Parameters every SIGNED endpoint reads.
pub const SIGNED_PARAMS: &[&str] = &["timestamp", "recvWindow", "signature"];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_sor_test_endpoint_reads_the_order_parameters_and_compute_commission_rates() {
        assert_eq!(SOR_ORDER_PARAMS.len(), 12);
        assert!(!SOR_ORDER_PARAMS.contains(&"computeCommissionRates"));
        assert_eq!(
            [SOR_ORDER_PARAMS, &["computeCommissionRates"]].concat(),
            SOR_ORDER_TEST_PARAMS
        );
    }

    #[test]
    fn default_is_favourable_and_strict_flips_every_switch() {
        let f = StrictConfig::default();
        let s = StrictConfig::strict();
        assert_eq!(f, StrictConfig::favourable());
        let (fv, sv) = (
            serde_json::to_value(&f).unwrap(),
            serde_json::to_value(&s).unwrap(),
        );
        for (k, v) in fv.as_object().unwrap() {
            assert_ne!(*v, sv[k], "switch {k} is the same in both presets");
        }
    }

    #[test]
    fn json_applies_over_a_base_and_rejects_unknown_switches() {
        let c = StrictConfig::apply_json(
            &StrictConfig::favourable(),
            &json!({"preset": "strict", "withdraw_fee_in_amount": false}),
        )
        .unwrap();
        assert_eq!(
            c,
            StrictConfig {
                withdraw_fee_in_amount: false,
                ..StrictConfig::strict()
            }
        );
        let c = StrictConfig::apply_json(&c, &json!({"history_lag_ms": 0})).unwrap();
        assert_eq!(c.history_lag_ms, 0);
        assert!(c.freeze_update_time, "the base is kept");
        assert!(StrictConfig::apply_json(&c, &json!({"freeze": true})).is_err());
        assert!(StrictConfig::apply_json(&c, &json!({"history_lag_ms": -1})).is_err());
        assert!(StrictConfig::apply_json(&c, &json!({"colliding_ids": 1})).is_err());
        let round: StrictConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(round, c);
    }
}
