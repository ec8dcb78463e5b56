//! The wallet histories that explain balance moves without trades, and the
//! Funding wallet. Shapes, parameters and sources: `docs/ledger-endpoints.md`.

use super::{ApiResult, Call};
use crate::errors::ApiError;
use crate::json::J;
use crate::ledger::product_id;
use crate::obj;
use crate::state::fmt8;
use rust_decimal::Decimal;

const DAY_MS: i64 = 86_400_000;
/// "Only return records after 2020/12/01" (dust log): 2020-12-01T00:00Z.
const DUST_EPOCH_MS: i64 = 1_606_780_800_000;

fn too_big() -> ApiError {
    ApiError::bad(-1127, "Lookup interval is too big.")
}

/// `current` (page from 1, default 1) and `size` (default 10, capped at 100).
fn page(call: &Call) -> Result<(usize, usize), ApiError> {
    let current = match call.params.u64("current")? {
        None => 1,
        Some(0) => return Err(ApiError::invalid_param("current")),
        Some(n) => n as usize,
    };
    let size = match call.params.u64("size")? {
        None => 10,
        Some(0) => return Err(ApiError::invalid_param("size")),
        Some(n) => (n as usize).min(100),
    };
    Ok((current, size))
}

/// Newest-first lists walk the records backwards before a stable sort, so
/// records of the same millisecond also come newest first.
///
/// `{"total": N, "rows": [...]}` (or `rows` first, as the Earn and
/// dividend examples order them). With the strict switch
/// `omit_empty_rows`, an empty answer is `{"total": 0}` alone.
fn rows_total(call: &Call, rows: Vec<J>, total: usize, rows_first: bool) -> J {
    if rows.is_empty() && call.exchange().strict.omit_empty_rows {
        return obj! {"total": total};
    }
    if rows_first {
        obj! {"rows": rows, "total": total}
    } else {
        obj! {"total": total, "rows": rows}
    }
}

/// `POST /sapi/v1/asset/get-funding-asset`, weight 1 (IP): the Funding
/// wallet's non-zero balances (developers.binance.com/docs/wallet/asset/funding-wallet).
/// `btcValuation` at current prices with `needBtcValuation=true`, else "0".
pub fn funding_asset(call: &Call) -> ApiResult {
    let only = call.params.str("asset");
    let need_btc = match call.params.str("needBtcValuation") {
        None => false,
        Some("true") => true,
        Some("false") => false,
        Some(_) => return Err(ApiError::invalid_param("needBtcValuation")),
    };
    let ex = call.exchange();
    let zero = "0".to_string();
    let items = ex
        .ledger
        .funding
        .iter()
        .filter(|(a, b)| !b.is_zero() && only.is_none_or(|o| o == a))
        .map(|(a, b)| {
            let btc = if need_btc {
                ex.value_in(a, *b, "BTC")
                    .map_or(zero.clone(), |v| fmt8(v.round_dp(8)))
            } else {
                zero.clone()
            };
            obj! {
                "asset": a,
                "free": b.normalize().to_string(),
                "locked": zero.clone(),
                "freeze": zero.clone(),
                "withdrawing": zero.clone(),
                "btcValuation": btc
            }
        })
        .collect();
    Ok(J::Arr(items))
}

/// `GET /sapi/v1/asset/transfer`, weight 1 (IP)
/// (developers.binance.com/docs/wallet/endpoints/query-user-universal-transfer):
/// `type` required; last 7 days by default; "within the last 6 months only"
/// (older rows are never returned); `current`/`size` paging; newest first.
pub fn transfers(call: &Call) -> ApiResult {
    let kind = call.params.required("type")?;
    if !crate::ledger::TRANSFER_TYPES.contains(&kind) {
        return Err(ApiError::invalid_param("type"));
    }
    let start = call.params.time_ms("startTime")?;
    let end = call.params.time_ms("endTime")?;
    let (start, end) = match (start, end) {
        (None, None) => (call.now - 7 * DAY_MS, call.now),
        (Some(s), None) => (s, call.now),
        (None, Some(e)) => (e - 7 * DAY_MS, e),
        (Some(s), Some(e)) => (s, e),
    };
    let floor = call.now - 180 * DAY_MS;
    let (current, size) = page(call)?;
    let mut rows: Vec<_> = {
        let ex = call.exchange();
        ex.ledger
            .transfers
            .iter()
            .rev()
            .filter(|t| t.kind == kind && t.timestamp >= start.max(floor) && t.timestamp <= end)
            .cloned()
            .collect()
    };
    rows.sort_by_key(|t| std::cmp::Reverse(t.timestamp));
    let total = rows.len();
    let rows = rows
        .iter()
        .skip((current - 1) * size)
        .take(size)
        .map(|t| t.to_json())
        .collect();
    Ok(rows_total(call, rows, total, false))
}

/// `GET /sapi/v1/convert/tradeFlow`, weight 3000 (UID)
/// (developers.binance.com/docs/convert/trade/Get-Convert-Trade-History):
/// `startTime` and `endTime` mandatory, at most 30 days apart; `limit`
/// default 100, max 1000. Oldest first; the oldest `limit` of a fuller
/// window (strict `newest_page_in_window`: the newest), `moreData` then true.
pub fn convert_trade_flow(call: &Call) -> ApiResult {
    let start = call
        .params
        .time_ms("startTime")?
        .ok_or_else(|| ApiError::mandatory("startTime"))?;
    let end = call
        .params
        .time_ms("endTime")?
        .ok_or_else(|| ApiError::mandatory("endTime"))?;
    if end - start > 30 * DAY_MS {
        return Err(too_big());
    }
    let limit = call.params.limit(100, 1000)?;
    let ex = call.exchange();
    let mut rows: Vec<_> = ex
        .ledger
        .converts
        .iter()
        .filter(|c| c.create_time >= start && c.create_time <= end)
        .collect();
    rows.sort_by_key(|c| c.create_time);
    let more = rows.len() > limit;
    if more && ex.strict.newest_page_in_window {
        rows.drain(..rows.len() - limit);
    }
    rows.truncate(limit);
    Ok(obj! {
        "list": rows.iter().map(|c| c.to_json()).collect::<Vec<J>>(),
        "startTime": start,
        "endTime": end,
        "limit": limit,
        "moreData": more
    })
}

/// `GET /sapi/v1/asset/dribblet`, weight 1 (IP)
/// (developers.binance.com/docs/wallet/asset/dust-log): "Only return last
/// 100 records", "Only return records after 2020/12/01". `accountType`
/// SPOT (default) or MARGIN (the sim's margin account has no dust).
/// Newest first.
pub fn dribblet(call: &Call) -> ApiResult {
    let margin = match call.params.str("accountType") {
        None | Some("SPOT") => false,
        Some("MARGIN") => true,
        Some(_) => return Err(ApiError::invalid_param("accountType")),
    };
    let start = call.params.time_ms("startTime")?.unwrap_or(i64::MIN);
    let end = call.params.time_ms("endTime")?.unwrap_or(i64::MAX);
    let ex = call.exchange();
    let mut rows: Vec<_> = if margin {
        Vec::new()
    } else {
        ex.ledger
            .dribblets
            .iter()
            .rev()
            .filter(|d| d.operate_time >= DUST_EPOCH_MS)
            .collect()
    };
    rows.sort_by_key(|d| std::cmp::Reverse(d.operate_time));
    rows.truncate(100);
    let rows: Vec<J> = rows
        .into_iter()
        .filter(|d| d.operate_time >= start && d.operate_time <= end)
        .map(|d| d.to_json())
        .collect();
    Ok(obj! {"total": rows.len(), "userAssetDribblets": rows})
}

/// `GET /sapi/v1/asset/assetDividend`, weight 10 (IP)
/// (developers.binance.com/docs/wallet/asset/assets-divided-record): at
/// most 180 days between `startTime` and `endTime` (default: the 180 days
/// before `endTime`, or now); `limit` default 20, max 500; newest first;
/// `total` counts every matching row.
pub fn asset_dividend(call: &Call) -> ApiResult {
    let asset = call.params.str("asset");
    let start = call.params.time_ms("startTime")?;
    let end = call.params.time_ms("endTime")?;
    let end_v = end.unwrap_or(call.now);
    let start_v = start.unwrap_or(end_v - 180 * DAY_MS);
    if end_v - start_v > 180 * DAY_MS {
        return Err(too_big());
    }
    let limit = call.params.limit(20, 500)?;
    let mut rows: Vec<_> = {
        let ex = call.exchange();
        ex.ledger
            .dividends
            .iter()
            .rev()
            .filter(|d| d.div_time >= start_v && d.div_time <= end_v)
            .filter(|d| asset.is_none_or(|a| d.asset == a))
            .cloned()
            .collect()
    };
    rows.sort_by_key(|d| std::cmp::Reverse(d.div_time));
    let total = rows.len();
    let rows = rows.iter().take(limit).map(|d| d.to_json()).collect();
    Ok(rows_total(call, rows, total, true))
}

/// Which Simple Earn history.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum EarnHistory {
    Subscription,
    Redemption,
    Rewards,
}

/// `GET /sapi/v1/simple-earn/flexible/history/{subscriptionRecord,
/// redemptionRecord,rewardsRecord}`, weight 150 (IP)
/// (developers.binance.com/docs/simple_earn/flexible-locked/history/…):
/// neither time: the last 30 days; `startTime` alone: 30 days from it;
/// `endTime` alone: the 30 days before it; both: at most 3 months apart
/// (strict `earn_window_30d`: 30 days, as the SDK's docstring says).
/// `current`/`size` paging, newest first.
pub fn earn_history(call: &Call, which: EarnHistory) -> ApiResult {
    let product = call.params.str("productId");
    let asset = call.params.str("asset");
    let id = match which {
        EarnHistory::Subscription => call.params.str("purchaseId"),
        EarnHistory::Redemption => call.params.str("redeemId"),
        EarnHistory::Rewards => None,
    };
    let reward_type = if which == EarnHistory::Rewards {
        let t = call.params.required("type")?;
        if !["BONUS", "REALTIME", "REWARDS", "ALL"].contains(&t) {
            return Err(ApiError::invalid_param("type"));
        }
        Some(t)
    } else {
        None
    };
    let start = call.params.time_ms("startTime")?;
    let end = call.params.time_ms("endTime")?;
    let month = 30 * DAY_MS;
    let (start, end) = match (start, end) {
        (None, None) => (call.now - month, call.now),
        (Some(s), None) => (s, s + month),
        (None, Some(e)) => (e - month, e),
        (Some(s), Some(e)) => (s, e),
    };
    let (current, size) = page(call)?;
    let ex = call.exchange();
    let max = if ex.strict.earn_window_30d {
        month
    } else {
        90 * DAY_MS
    };
    if end - start > max {
        return Err(too_big());
    }
    use crate::ledger::EarnEvent as E;
    let mut rows: Vec<_> = ex
        .ledger
        .earn
        .iter()
        .rev()
        .filter(|e| match (which, e) {
            (EarnHistory::Subscription, E::Subscription { purchase_id, .. }) => {
                id.is_none_or(|i| i == purchase_id.to_string())
            }
            (EarnHistory::Redemption, E::Redemption { redeem_id, .. }) => {
                id.is_none_or(|i| i == redeem_id.to_string())
            }
            (EarnHistory::Rewards, E::Reward { kind, .. }) => {
                reward_type.is_none_or(|t| t == "ALL" || t == kind)
            }
            _ => false,
        })
        .filter(|e| e.time() >= start && e.time() <= end)
        .filter(|e| asset.is_none_or(|a| e.asset() == a))
        .filter(|e| product.is_none_or(|p| product_id(e.asset()) == p))
        .collect();
    rows.sort_by_key(|e| std::cmp::Reverse(e.time()));
    let total = rows.len();
    let rows: Vec<J> = rows
        .iter()
        .skip((current - 1) * size)
        .take(size)
        .map(|e| e.to_json())
        .collect();
    Ok(obj! {"rows": rows, "total": total})
}

/// `GET /sapi/v1/simple-earn/flexible/position`, weight 150 (IP)
/// (developers.binance.com/docs/simple_earn/flexible-locked/account): one
/// row per held position; the sim's rates are 0.
pub fn earn_position(call: &Call) -> ApiResult {
    let asset = call.params.str("asset");
    let product = call.params.str("productId");
    let (current, size) = page(call)?;
    let ex = call.exchange();
    let rows: Vec<_> = ex
        .ledger
        .earn_positions
        .iter()
        .filter(|(a, p)| !p.amount.is_zero() && asset.is_none_or(|x| x == a))
        .filter(|(a, _)| product.is_none_or(|p| product_id(a) == p))
        .collect();
    let total = rows.len();
    let zero = fmt8(Decimal::ZERO);
    let rows: Vec<J> = rows
        .iter()
        .skip((current - 1) * size)
        .take(size)
        .map(|(a, p)| {
            obj! {
                "totalAmount": fmt8(p.amount),
                "tierAnnualPercentageRate": J::Obj(vec![]),
                "latestAnnualPercentageRate": zero.clone(),
                "yesterdayAirdropPercentageRate": zero.clone(),
                "asset": a,
                "airDropAsset": a,
                "canRedeem": true,
                "collateralAmount": zero.clone(),
                "productId": product_id(a),
                "yesterdayRealTimeRewards": zero.clone(),
                "cumulativeBonusRewards": zero.clone(),
                "cumulativeRealTimeRewards": fmt8(p.rewards),
                "cumulativeTotalRewards": fmt8(p.rewards),
                "autoSubscribe": true
            }
        })
        .collect();
    Ok(obj! {"rows": rows, "total": total})
}
