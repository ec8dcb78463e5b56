//! Request weights and the per-IP rate limiter (429, then 418 bans).
//!
//! Weights are the documented ones (FACTS.md §2, §5, §7). `/api` weight is
//! counted per client IP in fixed one-minute windows aligned to the server
//! clock's minute (so `POST /__sim/clock {"advance_ms": 60000}` rolls it).
//! `/sapi` endpoints have their own pools and never touch the `/api` count.
//!
//! Ban rule (Binance: "auto-banned for continuing after 429s"): once a
//! client has been answered 429 in a window, it may send
//! [`crate::SimConfig::ban_after_429s`] (default 3) more requests that are also answered
//! 429; the next one is answered 418 and bans the IP for 2 minutes, doubling
//! for each repeat ban up to 3 days. Requests answered 429 still add their
//! weight to the window (the header can read above the limit, as on Binance).

use std::collections::HashMap;
use std::net::IpAddr;

pub const MINUTE_MS: i64 = 60_000;
const FIRST_BAN_MS: i64 = 2 * MINUTE_MS;
const MAX_BAN_MS: i64 = 3 * 86_400_000;

/// Which pool a request counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pool {
    /// The shared `/api` REQUEST_WEIGHT pool of the IP.
    Api,
    /// A `/sapi` endpoint's own IP pool (12,000 per minute per endpoint).
    SapiIp,
    /// The account's SAPI UID pool (180,000 per minute).
    SapiUid,
    /// The USD-M futures host's own IP pool (`/fapi`, 2,400 per minute;
    /// `/api`, `/sapi`, `/fapi` and `/dapi` share no limits).
    Fapi,
    /// The COIN-M futures host's own IP pool (`/dapi`, 2,400 per minute).
    Dapi,
}

/// The documented weight of an endpoint, given its parameters.
/// `None` means the path is not simulated.
pub fn weight(method: &str, path: &str, has: &dyn Fn(&str) -> bool) -> Option<(u64, Pool)> {
    let w = match (method, path) {
        ("GET", "/api/v3/ping") | ("GET", "/api/v3/time") => 1,
        ("GET", "/api/v3/exchangeInfo") => 20,
        ("GET", "/api/v3/account") => 20,
        ("GET", "/api/v3/account/commission") => 20,
        ("GET", "/api/v3/openOrders") => {
            if has("symbol") {
                6
            } else {
                80
            }
        }
        ("GET", "/api/v3/allOrders") => 20,
        ("GET", "/api/v3/order") => 4,
        ("GET", "/api/v3/myTrades") => {
            if has("orderId") {
                5
            } else {
                20
            }
        }
        ("POST", "/api/v3/order") | ("DELETE", "/api/v3/order") => 1,
        // SOR (rest-api.md "SOR", "Query Allocations"): a placement is 1
        // (refunded when it succeeds, as POST /api/v3/order); the test is 1,
        // or 20 with computeCommissionRates.
        ("POST", "/api/v3/sor/order") => 1,
        ("POST", "/api/v3/sor/order/test") => {
            if has("computeCommissionRates") {
                20
            } else {
                1
            }
        }
        ("GET", "/api/v3/myAllocations") => 20,
        ("GET", "/api/v3/ticker/price") => {
            if has("symbol") {
                2
            } else {
                4
            }
        }
        ("GET", "/api/v3/klines") => 2,
        ("GET", "/sapi/v1/capital/deposit/hisrec") => return Some((1, Pool::SapiIp)),
        ("GET", "/sapi/v1/account/apiRestrictions") => return Some((1, Pool::SapiIp)),
        ("GET", "/sapi/v1/capital/withdraw/history") => return Some((18_000, Pool::SapiUid)),
        ("GET", "/sapi/v1/capital/config/getall") => return Some((10, Pool::SapiIp)),
        ("GET", "/sapi/v1/margin/allPairs") => return Some((1, Pool::SapiIp)),
        ("GET", "/sapi/v1/margin/isolated/allPairs") => return Some((10, Pool::SapiIp)),
        // Ledger endpoints (docs/ledger-endpoints.md).
        ("POST", "/sapi/v1/asset/get-funding-asset") => return Some((1, Pool::SapiIp)),
        ("GET", "/sapi/v1/asset/transfer") => return Some((1, Pool::SapiIp)),
        ("GET", "/sapi/v1/convert/tradeFlow") => return Some((3_000, Pool::SapiUid)),
        ("GET", "/sapi/v1/asset/dribblet") => return Some((1, Pool::SapiIp)),
        ("GET", "/sapi/v1/asset/assetDividend") => return Some((10, Pool::SapiIp)),
        ("GET", "/sapi/v1/sub-account/transfer/subUserHistory") => return Some((1, Pool::SapiIp)),
        ("GET", "/sapi/v1/simple-earn/flexible/history/subscriptionRecord")
        | ("GET", "/sapi/v1/simple-earn/flexible/history/redemptionRecord")
        | ("GET", "/sapi/v1/simple-earn/flexible/history/rewardsRecord")
        | ("GET", "/sapi/v1/simple-earn/flexible/position") => return Some((150, Pool::SapiIp)),
        // USD-M futures (docs/futures-endpoints.md; binance-connector-js
        // derivatives-trading-usds-futures JSDoc "Weight(IP)").
        ("GET", "/fapi/v1/exchangeInfo")
        | ("GET", "/fapi/v1/ping")
        | ("GET", "/fapi/v1/time")
        | ("GET", "/fapi/v1/order")
        | ("GET", "/fapi/v1/openOrder")
        | ("GET", "/fapi/v1/leverageBracket") => return Some((1, Pool::Fapi)),
        ("GET", "/fapi/v2/account")
        | ("GET", "/fapi/v3/account")
        | ("GET", "/fapi/v2/balance")
        | ("GET", "/fapi/v3/balance")
        | ("GET", "/fapi/v2/positionRisk")
        | ("GET", "/fapi/v3/positionRisk")
        | ("GET", "/fapi/v1/userTrades")
        | ("GET", "/fapi/v1/allOrders") => return Some((5, Pool::Fapi)),
        ("GET", "/fapi/v1/positionSide/dual") | ("GET", "/fapi/v1/income") => {
            return Some((30, Pool::Fapi))
        }
        ("GET", "/fapi/v1/openOrders") => {
            return Some((if has("symbol") { 1 } else { 40 }, Pool::Fapi))
        }
        ("GET", "/fapi/v1/forceOrders") => {
            return Some((if has("symbol") { 20 } else { 50 }, Pool::Fapi))
        }
        ("GET", "/dapi/v1/exchangeInfo") => return Some((1, Pool::Dapi)),
        _ => return None,
    };
    Some((w, Pool::Api))
}

pub const SAPI_IP_LIMIT: u64 = 12_000;
pub const SAPI_UID_LIMIT: u64 = 180_000;
/// USD-M and COIN-M futures REQUEST_WEIGHT per minute (their exchangeInfo's
/// `rateLimits`).
pub const FUTURES_WEIGHT_LIMIT: u64 = 2_400;

#[derive(Debug, Default, Clone)]
struct IpState {
    window_start: i64,
    used: u64,
    /// 429 answers given in this window.
    told_429: u32,
    banned_until: Option<i64>,
    bans: u32,
    /// The most `/api` weight this IP used in any one window since the last reset (the
    /// window's count as it stood after each request, 429'd requests included).
    max_used: u64,
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed {
        used: u64,
    },
    TooMany {
        used: u64,
        retry_after_s: u64,
        limit: u64,
    },
    Banned {
        used: u64,
        until_ms: i64,
        retry_after_s: u64,
    },
}

#[derive(Debug)]
pub struct Limiter {
    pub limit: u64,
    pub ban_after_429s: u32,
    ips: HashMap<IpAddr, IpState>,
    /// (window_start, pool key) → used weight for SAPI pools.
    sapi: HashMap<String, (i64, u64)>,
}

fn window_of(now: i64) -> i64 {
    now.div_euclid(MINUTE_MS) * MINUTE_MS
}

fn ceil_s(ms: i64) -> u64 {
    ((ms.max(0) + 999) / 1000) as u64
}

impl Limiter {
    pub fn new(limit: u64, ban_after_429s: u32) -> Self {
        Self {
            limit,
            ban_after_429s,
            ips: HashMap::new(),
            sapi: HashMap::new(),
        }
    }

    fn ip_state(&mut self, ip: IpAddr, now: i64) -> &mut IpState {
        let st = self.ips.entry(ip).or_default();
        let w = window_of(now);
        if st.window_start != w {
            st.window_start = w;
            st.used = 0;
            st.told_429 = 0;
        }
        st
    }

    /// Charges an `/api` request of `weight` to `ip` and decides its fate.
    pub fn charge_api(&mut self, ip: IpAddr, weight: u64, now: i64) -> Verdict {
        let limit = self.limit;
        let ban_after = self.ban_after_429s;
        let st = self.ip_state(ip, now);
        if let Some(until) = st.banned_until {
            if now < until {
                return Verdict::Banned {
                    used: st.used,
                    until_ms: until,
                    retry_after_s: ceil_s(until - now),
                };
            }
            st.banned_until = None;
        }
        let window_end = st.window_start + MINUTE_MS;
        if st.used + weight > limit {
            st.used += weight;
            st.max_used = st.max_used.max(st.used);
            if st.told_429 > ban_after {
                let dur = (FIRST_BAN_MS << st.bans.min(20)).min(MAX_BAN_MS);
                st.bans += 1;
                let until = now + dur;
                st.banned_until = Some(until);
                return Verdict::Banned {
                    used: st.used,
                    until_ms: until,
                    retry_after_s: ceil_s(dur),
                };
            }
            st.told_429 += 1;
            return Verdict::TooMany {
                used: st.used,
                retry_after_s: ceil_s(window_end - now),
                limit,
            };
        }
        st.used += weight;
        st.max_used = st.max_used.max(st.used);
        Verdict::Allowed { used: st.used }
    }

    /// The most `/api` weight any one IP used in any one minute window since the last
    /// reset: what a test of a shared weight budget asserts on (the sim's own count, not
    /// the client's).
    pub fn max_minute_weight(&self) -> u64 {
        self.ips.values().map(|s| s.max_used).max().unwrap_or(0)
    }

    /// Gives weight back (successful order placement/cancel costs 0 since
    /// 2026-04-02, FACTS.md §4.1).
    pub fn refund(&mut self, ip: IpAddr, weight: u64, now: i64) {
        let st = self.ip_state(ip, now);
        st.used = st.used.saturating_sub(weight);
    }

    /// The weight `ip` has used in the current window.
    pub fn used(&mut self, ip: IpAddr, now: i64) -> u64 {
        self.ip_state(ip, now).used
    }

    /// Total `/api` weight of every IP in the current window.
    pub fn used_total(&mut self, now: i64) -> u64 {
        let w = window_of(now);
        self.ips
            .values()
            .filter(|s| s.window_start == w)
            .map(|s| s.used)
            .sum()
    }

    /// Charges a SAPI pool; returns (used, allowed).
    pub fn charge_sapi(&mut self, key: &str, weight: u64, limit: u64, now: i64) -> (u64, bool) {
        let w = window_of(now);
        let e = self.sapi.entry(key.to_string()).or_insert((w, 0));
        if e.0 != w {
            *e = (w, 0);
        }
        if e.1 + weight > limit {
            return (e.1, false);
        }
        e.1 += weight;
        (e.1, true)
    }

    /// Forgets all used weight, 429 counts and bans (tests' "new minute").
    pub fn reset(&mut self) {
        self.ips.clear();
        self.sapi.clear();
    }

    pub fn seconds_to_window_end(now: i64) -> u64 {
        ceil_s(window_of(now) + MINUTE_MS - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn first_429_then_n_more_then_418() {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut l = Limiter::new(10, 2);
        let now = 60_000 * 1000 + 5_000;
        assert_eq!(l.charge_api(ip, 10, now), Verdict::Allowed { used: 10 });
        for _ in 0..3 {
            assert!(matches!(
                l.charge_api(ip, 1, now),
                Verdict::TooMany {
                    retry_after_s: 55,
                    ..
                }
            ));
        }
        assert!(matches!(
            l.charge_api(ip, 1, now),
            Verdict::Banned {
                retry_after_s: 120,
                ..
            }
        ));
        // The ban outlives the window.
        assert!(matches!(
            l.charge_api(ip, 1, now + 60_000),
            Verdict::Banned { .. }
        ));
        assert!(matches!(
            l.charge_api(ip, 1, now + 120_000),
            Verdict::Allowed { used: 1 }
        ));
    }

    #[test]
    fn the_largest_minute_is_remembered_across_windows() {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut l = Limiter::new(100, 3);
        let now = 60_000 * 1000;
        l.charge_api(ip, 30, now);
        l.charge_api(ip, 40, now + 1);
        l.charge_api(ip, 10, now + 60_000);
        assert_eq!(l.used(ip, now + 60_000), 10);
        assert_eq!(l.max_minute_weight(), 70);
        // A 429'd request still counts.
        l.charge_api(ip, 95, now + 60_001);
        assert_eq!(l.max_minute_weight(), 105);
        l.reset();
        assert_eq!(l.max_minute_weight(), 0);
    }

    #[test]
    fn repeat_bans_double_in_length() {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut l = Limiter::new(1, 0);
        let mut now = 60_000 * 1000;
        for expected in [120, 240, 480] {
            assert!(matches!(l.charge_api(ip, 1, now), Verdict::Allowed { .. }));
            assert!(matches!(l.charge_api(ip, 1, now), Verdict::TooMany { .. }));
            match l.charge_api(ip, 1, now) {
                Verdict::Banned { retry_after_s, .. } => assert_eq!(retry_after_s, expected),
                v => panic!("expected a ban, got {v:?}"),
            }
            now += expected as i64 * 1000 + 60_000;
        }
    }
}
