//! The server clock: real time plus a skew that tests control.
//!
//! Everything time-dependent (timestamps in responses, the recvWindow check,
//! the rate-limit minute window, bans, archiving) reads this clock, so a test
//! can move time forward with `POST /__sim/clock {"advance_ms": …}` instead
//! of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Default)]
pub struct Clock {
    skew_ms: AtomicI64,
}

/// Real wall-clock time in epoch milliseconds.
pub fn real_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        real_now_ms() + self.skew_ms.load(Ordering::SeqCst)
    }

    pub fn skew_ms(&self) -> i64 {
        self.skew_ms.load(Ordering::SeqCst)
    }

    pub fn set_skew_ms(&self, skew: i64) {
        self.skew_ms.store(skew, Ordering::SeqCst);
    }

    pub fn advance_ms(&self, ms: i64) {
        self.skew_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

/// Formats epoch ms as `YYYY-MM-DD HH:MM:SS` (UTC), the form Binance uses for
/// withdrawal `applyTime` / `completeTime`.
pub fn format_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        y,
        m,
        d,
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_binance_withdraw_history() {
        // 2019-10-12 11:12:02 UTC
        assert_eq!(format_utc(1_570_878_722_000), "2019-10-12 11:12:02");
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
    }

    #[test]
    fn advance_moves_now() {
        let c = Clock::default();
        c.advance_ms(3_600_000);
        assert!(c.now_ms() - real_now_ms() >= 3_599_000);
    }
}
