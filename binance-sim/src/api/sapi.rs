//! Wallet endpoints (`/sapi/v1`): deposit and withdrawal history, and the
//! API key's restrictions.

use super::{ApiResult, Call};
use crate::errors::ApiError;
use crate::json::J;
use crate::obj;

const DAY_MS: i64 = 86_400_000;

/// Default window: the last 90 days; an explicit window must be < 90 days.
fn window(call: &Call) -> Result<(i64, i64), ApiError> {
    let start = call.params.time_ms("startTime")?;
    let end = call.params.time_ms("endTime")?;
    let end_v = end.unwrap_or(call.now);
    let start_v = start.unwrap_or(end_v - 90 * DAY_MS);
    if start.is_some() && end.is_some() && end_v - start_v > 90 * DAY_MS {
        return Err(ApiError::bad(-1127, "Lookup interval is too big."));
    }
    Ok((start_v, end_v))
}

fn offset_limit(call: &Call) -> Result<(usize, usize), ApiError> {
    let offset = call.params.u64("offset")?.unwrap_or(0) as usize;
    let limit = call.params.limit(1000, 1000)?;
    Ok((offset, limit))
}

/// Newest first, as the wallet endpoints answer.
pub fn deposits(call: &Call) -> ApiResult {
    let (start, end) = window(call)?;
    let (offset, limit) = offset_limit(call)?;
    let coin = call.params.str("coin");
    let status = call.params.i64("status")?;
    let ex = call.exchange();
    let mut items: Vec<_> = ex
        .deposits
        .iter()
        .filter(|d| d.insert_time >= start && d.insert_time <= end)
        .filter(|d| coin.is_none_or(|c| d.coin == c))
        .filter(|d| status.is_none_or(|s| d.status == s))
        .collect();
    items.sort_by_key(|d| std::cmp::Reverse(d.insert_time));
    Ok(J::Arr(
        items
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|d| d.to_json())
            .collect(),
    ))
}

pub fn withdrawals(call: &Call) -> ApiResult {
    let (start, end) = window(call)?;
    let (offset, limit) = offset_limit(call)?;
    let coin = call.params.str("coin");
    let status = call.params.i64("status")?;
    let wid = call.params.str("withdrawOrderId");
    let ex = call.exchange();
    let mut items: Vec<_> = ex
        .withdrawals
        .iter()
        .filter(|w| w.apply_time >= start && w.apply_time <= end)
        .filter(|w| coin.is_none_or(|c| w.coin == c))
        .filter(|w| status.is_none_or(|s| w.status == s))
        .filter(|w| wid.is_none_or(|id| w.withdraw_order_id.as_deref() == Some(id)))
        .collect();
    items.sort_by_key(|w| std::cmp::Reverse(w.apply_time));
    Ok(J::Arr(
        items
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|w| w.to_json())
            .collect(),
    ))
}

pub fn api_restrictions(call: &Call) -> ApiResult {
    let ex = call.exchange();
    let key = call
        .api_key
        .as_deref()
        .and_then(|k| ex.key(k))
        .ok_or_else(ApiError::rejected_key)?;
    let r = &key.restrictions;
    Ok(obj! {
        "ipRestrict": r.ip_restrict,
        "createTime": key.create_time,
        "enableReading": r.enable_reading,
        "enableWithdrawals": r.enable_withdrawals,
        "enableInternalTransfer": r.enable_internal_transfer,
        "enableMargin": r.enable_margin,
        "enableFutures": r.enable_futures,
        "permitsUniversalTransfer": r.permits_universal_transfer,
        "enableVanillaOptions": r.enable_vanilla_options,
        "enableFixApiTrade": r.enable_fix_api_trade,
        "enableFixReadOnly": r.enable_fix_read_only,
        "enableSpotAndMarginTrading": r.enable_spot_and_margin_trading,
        "enablePortfolioMarginTrading": r.enable_portfolio_margin_trading
    })
}
