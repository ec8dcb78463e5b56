//! The shared weight ledger's rules, pure.
//!
//! Binance limits request weight per IP and per minute (6,000), and every client behind
//! one IP shares it: N accounts synced by N invocations behind one egress IP, and the
//! bot. Each invocation's client only sees its own usage and the last
//! `X-MBX-USED-WEIGHT-1M`; without a shared count, N clients starting in one minute each
//! believe the whole share is theirs. The ledger is that count: one item per minute, to
//! which every client adds a request's weight (an atomic, conditional add) before sending
//! it, so the sum never passes the configured share.
//!
//! - The key: the egress IP when one is configured (a fixed NAT IP: every deployment
//!   behind it shares one ledger), the deployment (its table) otherwise.
//! - The minute: Binance's window is the server's clock minute, so the client's estimate
//!   of the server time picks it. That estimate is off by up to half a round trip (more
//!   under load), either way: a request sent within [`BOUNDARY_MS`] of a minute's end may
//!   be counted by Binance in the next minute, one sent within it of a minute's start in
//!   the previous one. It reserves in both minutes.
//! - The header stays the authority: when `X-MBX-USED-WEIGHT-1M` says more was used in the
//!   minute than the ledger holds (the bot, another deployment), the ledger is raised to
//!   it.
//! - A full minute: wait for the next one only when that wait ends before the run's stop
//!   time; otherwise the run stops (partial), never an error loop.

use crate::domain::Millis;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

pub const MINUTE_MS: Millis = 60_000;
/// A request sent this close to a minute's end (start) reserves in the next (previous)
/// minute too.
pub const BOUNDARY_MS: Millis = 2_000;
/// Without a deadline (the CLI), a run waits for at most this many new minutes.
pub const MAX_WAITS_WITHOUT_DEADLINE: u32 = 3;
/// A minute item outlives its minute by this long (DynamoDB's TTL then removes it).
pub const ITEM_TTL_MS: Millis = 60 * MINUTE_MS;

/// Whose weight a ledger counts.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LedgerKey(String);

impl LedgerKey {
    /// Every deployment behind this fixed egress IP.
    pub fn egress_ip(ip: IpAddr) -> Self {
        Self(format!("ip:{ip}"))
    }
    /// One deployment (its table): without a fixed egress IP, invocations may leave from
    /// several addresses, so the count is conservative.
    pub fn deployment(table: &str) -> Self {
        Self(format!("deployment:{table}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LedgerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}
impl fmt::Display for LedgerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The minute (epoch ms / 60,000) of a time.
pub fn minute_of(at: Millis) -> i64 {
    at.div_euclid(MINUTE_MS)
}

/// The minutes a request sent at `server_now` reserves its weight in.
pub fn minutes_for(server_now: Millis) -> Vec<i64> {
    let minute = minute_of(server_now);
    let start = minute * MINUTE_MS;
    let end = start + MINUTE_MS;
    if end - server_now <= BOUNDARY_MS {
        vec![minute, minute + 1]
    } else if server_now - start < BOUNDARY_MS {
        vec![minute - 1, minute]
    } else {
        vec![minute]
    }
}

/// How long to wait for the next minute after the ledger said the current one is full,
/// or None when the run must stop instead: the wait (plus the boundary) must end before
/// `stop_at`; without a stop time, at most [`MAX_WAITS_WITHOUT_DEADLINE`] waits.
pub fn wait_for_next_minute(
    server_now: Millis,
    stop_at: Option<Millis>,
    waits_so_far: u32,
) -> Option<Duration> {
    // Past the next minute's start boundary, so the request reserves in it alone.
    let next = (minute_of(server_now) + 1) * MINUTE_MS + BOUNDARY_MS;
    let wait = next - server_now;
    let fits = match stop_at {
        Some(stop) => next + BOUNDARY_MS < stop,
        None => waits_so_far < MAX_WAITS_WITHOUT_DEADLINE,
    };
    (fits && wait > 0).then(|| Duration::from_millis(wait.unsigned_abs()))
}

/// What the ledger answered to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Added; the minute now holds `used`.
    Granted { used: u64 },
    /// Refused: the add would pass the share; the minute holds `used`.
    Full { used: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_near_either_end_of_a_minute_reserves_in_the_neighbour_too() {
        let m = 29_000_000;
        // A client clock a little ahead of the server's: the server may still be in m - 1.
        assert_eq!(minutes_for(m * MINUTE_MS), vec![m - 1, m]);
        assert_eq!(minutes_for(m * MINUTE_MS + 1_999), vec![m - 1, m]);
        assert_eq!(minutes_for(m * MINUTE_MS + 2_000), vec![m]);
        assert_eq!(minutes_for(m * MINUTE_MS + 57_999), vec![m]);
        assert_eq!(minutes_for(m * MINUTE_MS + 58_000), vec![m, m + 1]);
        assert_eq!(minutes_for(m * MINUTE_MS + 59_999), vec![m, m + 1]);
    }

    #[test]
    fn a_full_minute_is_waited_out_only_within_the_deadline() {
        let start = 29_000_000 * MINUTE_MS + 30_000;
        // 30 s to the next minute, the run may go on for 5 minutes: wait.
        assert_eq!(
            wait_for_next_minute(start, Some(start + 300_000), 0),
            Some(Duration::from_millis(30_000 + BOUNDARY_MS as u64))
        );
        // The wait ends where the request reserves in the new minute alone.
        let after = start + 30_000 + BOUNDARY_MS;
        assert_eq!(minutes_for(after), vec![minute_of(after)]);
        // The run stops in 20 s: no wait, the run ends partial.
        assert_eq!(wait_for_next_minute(start, Some(start + 20_000), 0), None);
        // Just past the next minute but not past its boundaries: no wait either.
        assert_eq!(wait_for_next_minute(start, Some(start + 33_000), 0), None);
        // No deadline: a few waits, then stop.
        assert!(wait_for_next_minute(start, None, 0).is_some());
        assert!(wait_for_next_minute(start, None, MAX_WAITS_WITHOUT_DEADLINE).is_none());
    }

    #[test]
    fn the_key_names_the_ip_or_the_deployment() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(LedgerKey::egress_ip(ip).as_str(), "ip:203.0.113.7");
        assert_eq!(
            LedgerKey::deployment("bot-records").as_str(),
            "deployment:bot-records"
        );
    }
}
