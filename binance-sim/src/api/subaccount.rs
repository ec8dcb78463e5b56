//! `GET /sapi/v1/sub-account/transfer/subUserHistory`, weight 1 (IP)
//! (developers.binance.com/docs/sub_account/asset-management/Sub-account-Transfer-History;
//! docs/ledger-endpoints.md §8).
//!
//! - `type` 1 (transfer in) or 2 (transfer out); not sent: 2 only.
//! - Neither time sent: the last 30 days. One bound alone: from it to now,
//!   or everything up to it (undocumented). No window limit is documented
//!   (strict `sub_history_window_30d`: over 30 days is `-1127`).
//! - `limit` default 500, no maximum on the web page (strict
//!   `sub_history_limit_200`: at most 200 rows, the maximum Binance's
//!   generated SDKs state, whatever is asked).
//! - `returnFailHistory` default false: `FAILURE` rows only with `true`.
//! - Newest first (the order is not documented).
//! - A master account: `[]` (strict `master_refuses_sub_history`: `-1002`).

use super::{ApiResult, Call};
use crate::errors::ApiError;
use crate::json::J;
use crate::subaccount::{not_a_sub_account, Direction, Status};

const DAY_MS: i64 = 86_400_000;

pub fn transfer_history(call: &Call) -> ApiResult {
    let asset = call.params.str("asset");
    let direction = match call.params.i64("type")? {
        None | Some(2) => Direction::Out,
        Some(1) => Direction::In,
        Some(_) => return Err(ApiError::invalid_param("type")),
    };
    let with_failures = call.params.bool("returnFailHistory")?.unwrap_or(false);
    let start = call.params.time_ms("startTime")?;
    let end = call.params.time_ms("endTime")?;
    let (start, end) = match (start, end) {
        (None, None) => (call.now - 30 * DAY_MS, call.now),
        (Some(s), None) => (s, call.now),
        (None, Some(e)) => (i64::MIN, e),
        (Some(s), Some(e)) => (s, e),
    };
    let ex = call.exchange();
    if ex.strict.sub_history_window_30d && end.saturating_sub(start) > 30 * DAY_MS {
        return Err(ApiError::bad(-1127, "Lookup interval is too big."));
    }
    let max = if ex.strict.sub_history_limit_200 {
        200
    } else {
        usize::MAX
    };
    // The cap holds for the default too.
    let limit = call.params.limit(500, max)?.min(max);
    if ex.subaccount.is_master {
        if ex.strict.master_refuses_sub_history {
            return Err(not_a_sub_account());
        }
        return Ok(J::Arr(Vec::new()));
    }
    let mut rows: Vec<_> = ex
        .subaccount
        .transfers
        .iter()
        .rev()
        .filter(|t| t.direction == direction && t.time >= start && t.time <= end)
        .filter(|t| with_failures || t.status != Status::Failure)
        .filter(|t| asset.is_none_or(|a| t.asset == a))
        .collect();
    rows.sort_by_key(|t| std::cmp::Reverse(t.time));
    Ok(J::Arr(
        rows.into_iter().take(limit).map(|t| t.to_json()).collect(),
    ))
}
