//! Wallet endpoints (`/sapi/v1`): deposit and withdrawal history, and the
//! API key's restrictions.

use super::{ApiResult, Call};
use crate::errors::ApiError;
use crate::json::J;
use crate::obj;
use crate::state::fmt8;
use rust_decimal::Decimal;

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
        "ipRestrict": key.ip_restrict(),
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

/// `GET /sapi/v1/capital/config/getall` (wallet docs, "All Coins'
/// Information"): one entry per asset the account holds or a symbol trades,
/// with its balance and one network named after the coin (as the sim's
/// deposits and withdrawals use). Withdrawal fees and limits are the sim's
/// own: 0 fee, no minimum [the sim has no network data].
pub fn all_coins(call: &Call) -> ApiResult {
    let ex = call.exchange();
    let mut coins: Vec<String> = ex.balances.iter().map(|(a, _)| a.clone()).collect();
    for s in &ex.symbols {
        for a in [&s.base, &s.quote] {
            if !coins.contains(a) {
                coins.push(a.clone());
            }
        }
    }
    let zero = fmt8(Decimal::ZERO);
    let items = coins
        .iter()
        .map(|coin| {
            let b = ex.balance(coin);
            let network = obj! {
                "network": coin,
                "coin": coin,
                "withdrawIntegerMultiple": "0.00000001",
                "isDefault": true,
                "depositEnable": ex.can_deposit,
                "withdrawEnable": ex.can_withdraw,
                "depositDesc": "",
                "withdrawDesc": "",
                "specialTips": "",
                "specialWithdrawTips": "",
                "name": coin,
                "resetAddressStatus": false,
                "addressRegex": "^(0x)[0-9A-Fa-f]{40}$",
                "memoRegex": "",
                "withdrawFee": "0",
                "withdrawMin": "0",
                "withdrawMax": "9999999999",
                "withdrawInternalMin": "0",
                "depositDust": "0",
                "minConfirm": 1,
                "unLockConfirm": 0,
                "sameAddress": false,
                "withdrawTag": false,
                "estimatedArrivalTime": 1,
                "busy": false,
                "contractAddressUrl": "",
                "contractAddress": ""
            };
            obj! {
                "coin": coin,
                "depositAllEnable": ex.can_deposit,
                "withdrawAllEnable": ex.can_withdraw,
                "name": coin,
                "free": fmt8(b.free),
                "locked": fmt8(b.locked),
                "freeze": zero.clone(),
                "withdrawing": zero.clone(),
                "ipoing": zero.clone(),
                "ipoable": zero.clone(),
                "storage": zero.clone(),
                "isLegalMoney": false,
                "trading": true,
                "networkList": vec![network]
            }
        })
        .collect();
    Ok(J::Arr(items))
}

/// `GET /sapi/v1/margin/allPairs` and `/sapi/v1/margin/isolated/allPairs`:
/// a Spot-only exchange has no margin pairs (every symbol's exchangeInfo says
/// `isMarginTradingAllowed: false`), so the list is empty; a `symbol` the
/// exchange does not list is `-1121`.
pub fn margin_pairs(call: &Call) -> ApiResult {
    if let Some(s) = call.params.str("symbol") {
        call.exchange().symbol(s).ok_or_else(ApiError::bad_symbol)?;
    }
    Ok(J::Arr(Vec::new()))
}
