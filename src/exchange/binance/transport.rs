//! One request, done properly: budget check, clock-corrected timestamp, signature, send,
//! and the response classified into success / retry / stop. The retry loop lives here so
//! every endpoint gets the same policy:
//!
//! - 5xx, `-1001`/`-1007`/`-1008`, timeouts, dropped connections, truncated or non-JSON
//!   2xx bodies: retried with jittered exponential backoff (these are idempotent reads).
//! - 429: wait `Retry-After` (when it is within `max_429_wait`) then retry.
//! - 418: the IP is banned; the client stops and refuses every later request.
//! - 451: the caller's location is restricted (`RestrictedLocation`); not retried.
//! - `-1021` (timestamp outside recvWindow): reported to the caller, which re-measures the
//!   server-time offset and retries once (see `clock.rs`).
//! - `-2014`/`-2015`: credentials re-read once (the key may have been rotated), then `Auth`.
//! - Any other `{code,msg}`: `Api`, verbatim.

use super::endpoints::{Endpoint, Pool};
use super::model::{parse_body, ErrorBody, ParseFailure};
use super::signing::{encode_query, signed_query};
use super::BinanceClient;
use crate::exchange::credentials::{CredentialError, CredentialSource, Credentials};
use crate::exchange::ExchangeError;
use serde::de::DeserializeOwned;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

/// Binance codes that mean "transient, try again" on a read.
const RETRYABLE_CODES: [i64; 3] = [-1001, -1007, -1008];
/// The key was refused: re-read the credentials once.
const AUTH_CODES: [i64; 2] = [-2014, -2015];
/// A 418 without `Retry-After`: Binance's shortest ban is 2 minutes.
const BAN_WITHOUT_RETRY_AFTER_S: u64 = 120;
/// Timestamp outside recvWindow / ahead of server time.
pub const CLOCK_CODE: i64 = -1021;

/// How one `execute` ended when it did not produce a value.
#[derive(Debug)]
pub enum Failure {
    /// A final error for the caller.
    Error(ExchangeError),
    /// `-1021`: the caller re-measures the clock and retries once.
    Clock { status: u16, code: i64, msg: String },
}

impl From<ExchangeError> for Failure {
    fn from(e: ExchangeError) -> Self {
        Failure::Error(e)
    }
}

/// What one HTTP exchange turned into.
enum Outcome<T> {
    Done(T),
    /// Worth another attempt after a backoff; `malformed` marks a bad 2xx body.
    Transient {
        detail: String,
        malformed: bool,
    },
    RateLimited {
        retry_after_s: Option<u64>,
    },
    Api {
        status: u16,
        code: i64,
        msg: String,
    },
    Fatal(ExchangeError),
}

pub(super) fn credential_error(e: CredentialError) -> ExchangeError {
    match e {
        CredentialError::Malformed(m) => ExchangeError::Config(format!("credentials: {m}")),
        CredentialError::PrivateKey(e) => ExchangeError::Config(format!("credentials: {e}")),
        CredentialError::Unavailable(m) => ExchangeError::Unavailable {
            attempts: 0,
            detail: format!("credentials: {m}"),
        },
    }
}

impl<C: CredentialSource> BinanceClient<C> {
    /// Current credentials. Not cached here: the source owns caching (Secrets Manager's
    /// TTL), so a rotated key is picked up when the TTL says so; `refresh` forces a read.
    async fn credentials(&self, refresh: bool) -> Result<Credentials, ExchangeError> {
        self.credentials
            .credentials(refresh)
            .await
            .map_err(credential_error)
    }

    /// Refuse when banned or when this request would overrun the budget; otherwise count it.
    fn reserve(&self, ep: &Endpoint) -> Result<(), ExchangeError> {
        let now = (self.config.clock)();
        let mut st = self.state();
        if let Some(until) = st.banned_until.filter(|u| now < *u) {
            return Err(ExchangeError::Banned {
                retry_after_s: u64::try_from((until - now + 999) / 1000).ok(),
            });
        }
        if st.stop_at.is_some_and(|stop| now >= stop) {
            return Err(ExchangeError::DeadlineReached);
        }
        let w = ep.budget_weight();
        // With a shared ledger, the ledger applies the IP's stop (raised to the header)
        // and waits for the next minute when it fits the deadline; here it would end the
        // run at once.
        let ip_stop = self
            .config
            .ip_weight_stop
            .filter(|_| self.config.shared_weight.is_none());
        if let (Some(stop), Some(used), Some(minute)) =
            (ip_stop, st.usage.last_used_weight_1m, st.used_weight_minute)
        {
            // The header counts the IP's weight in the current minute; a new minute starts
            // from zero.
            if ep.pool == Pool::Api && minute == now.div_euclid(60_000) && used + w > stop {
                return Err(ExchangeError::BudgetExhausted { budget: stop, used });
            }
        }
        if let Some(budget) = self.config.weight_budget {
            if ep.pool == Pool::Api && st.usage.weight + w > budget {
                return Err(ExchangeError::BudgetExhausted {
                    budget,
                    used: st.usage.weight,
                });
            }
        }
        st.usage.weight += w;
        st.usage.requests += 1;
        Ok(())
    }

    /// Give back what `reserve` counted for a request that was not sent.
    fn unreserve(&self, ep: &Endpoint) {
        let mut st = self.state();
        st.usage.weight = st.usage.weight.saturating_sub(ep.budget_weight());
        st.usage.requests = st.usage.requests.saturating_sub(1);
    }

    /// Jittered exponential backoff: base·2^(n-1), capped, times a factor in [0.5, 1.0).
    /// The jitter is hash-based (std's per-process random SipHash keys plus the clock), so
    /// Lambdas retrying together spread out without needing an RNG dependency.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .config
            .base_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(Duration::from_secs(20));
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(attempt);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        h.write_u32(nanos);
        let frac = 0.5 + (h.finish() % 1000) as f64 / 2000.0;
        capped.mul_f64(frac)
    }

    /// Build the wire URL: encoded params (+ recvWindow, timestamp, signature when signed).
    fn url(
        &self,
        ep: &Endpoint,
        params: &[(&str, String)],
        creds: Option<&Credentials>,
    ) -> Result<url::Url, ExchangeError> {
        let mut pairs: Vec<(&str, String)> = params.to_vec();
        let query = match creds {
            Some(c) => {
                pairs.push(("recvWindow", self.config.recv_window_ms.to_string()));
                pairs.push(("timestamp", self.timestamp().to_string()));
                signed_query(c.signing_key(), &encode_query(&pairs))
            }
            None => encode_query(&pairs),
        };
        let mut url = self
            .config
            .base_url
            .join(ep.path.trim_start_matches('/'))
            .map_err(|e| ExchangeError::Config(format!("cannot build URL for {}: {e}", ep.path)))?;
        // Already percent-encoded; `set_query` keeps `%XX` sequences as they are, so the
        // bytes on the wire are exactly the bytes we signed.
        url.set_query(if query.is_empty() { None } else { Some(&query) });
        Ok(url)
    }

    /// Send one request with the full retry policy. `-1021` is handed back to the caller.
    pub(super) async fn execute<T: DeserializeOwned>(
        &self,
        ep: &Endpoint,
        params: &[(&str, String)],
    ) -> Result<T, Failure> {
        let mut transient_failures: u32 = 0;
        let mut rate_waits: u32 = 0;
        let mut refreshed = false;
        // True only for the attempt right after a -2014/-2015: the source is asked for a
        // fresh read once; later attempts use the (now refreshed) cached credentials.
        let mut refresh_next = false;
        loop {
            let creds = if ep.signed {
                Some(self.credentials(std::mem::take(&mut refresh_next)).await?)
            } else {
                None
            };
            self.reserve(ep)?;
            if let Err(e) = self.reserve_shared(ep).await {
                self.unreserve(ep);
                return Err(e.into());
            }
            let url = self.url(ep, params, creds.as_ref())?;
            let outcome = self.send_once::<T>(ep, url, creds.as_ref()).await;
            let (detail, malformed) = match outcome {
                Outcome::Done(v) => return Ok(v),
                Outcome::Fatal(e) => return Err(e.into()),
                Outcome::Api { status, code, msg } if code == CLOCK_CODE => {
                    return Err(Failure::Clock { status, code, msg })
                }
                Outcome::Api { code, msg, .. } if AUTH_CODES.contains(&code) => {
                    if refreshed {
                        return Err(ExchangeError::Auth { code, msg }.into());
                    }
                    // The key may have been rotated since we cached it: re-read once.
                    tracing::warn!(
                        endpoint = ep.path,
                        code,
                        "API key refused; re-reading credentials once"
                    );
                    refreshed = true;
                    refresh_next = true;
                    self.state().usage.retries += 1;
                    continue;
                }
                Outcome::Api { status, code, .. }
                    if RETRYABLE_CODES.contains(&code) || status >= 500 =>
                {
                    (format!("HTTP {status} code {code}"), false)
                }
                Outcome::Api { status, code, msg } => {
                    return Err(ExchangeError::Api { status, code, msg }.into())
                }
                Outcome::RateLimited { retry_after_s } => {
                    let wait = match retry_after_s {
                        Some(s) => Duration::from_secs(s),
                        None => self.backoff(rate_waits + 1),
                    };
                    rate_waits += 1;
                    if wait > self.config.max_429_wait || rate_waits > self.config.max_retries {
                        return Err(ExchangeError::RateLimited { retry_after_s }.into());
                    }
                    tracing::warn!(
                        endpoint = ep.path,
                        wait_ms = wait.as_millis() as u64,
                        "HTTP 429; waiting Retry-After"
                    );
                    self.state().usage.retries += 1;
                    (self.config.sleep)(wait).await;
                    continue;
                }
                Outcome::Transient { detail, malformed } => (detail, malformed),
            };
            transient_failures += 1;
            if transient_failures > self.config.max_retries {
                let attempts = transient_failures;
                return Err(if malformed {
                    ExchangeError::Malformed {
                        endpoint: ep.path.to_owned(),
                        detail,
                    }
                } else {
                    ExchangeError::Unavailable { attempts, detail }
                }
                .into());
            }
            let wait = self.backoff(transient_failures);
            tracing::warn!(endpoint = ep.path, attempt = transient_failures, %detail, wait_ms = wait.as_millis() as u64, "transient failure; retrying");
            self.state().usage.retries += 1;
            (self.config.sleep)(wait).await;
        }
    }

    /// One HTTP round trip, classified. Logs endpoint, status, weight and duration only:
    /// never the URL (it carries the signature), the key, or the body.
    async fn send_once<T: DeserializeOwned>(
        &self,
        ep: &Endpoint,
        url: url::Url,
        creds: Option<&Credentials>,
    ) -> Outcome<T> {
        let started = Instant::now();
        let mut req = self.http.get(url).timeout(self.config.request_timeout);
        if let Some(c) = creds {
            req = req.header("X-MBX-APIKEY", c.api_key());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let detail = transport_detail(&e);
                tracing::warn!(endpoint = ep.path, error = %detail, duration_ms = started.elapsed().as_millis() as u64, "request failed");
                return Outcome::Transient {
                    detail,
                    malformed: false,
                };
            }
        };
        let status = resp.status().as_u16();
        let header_u64 = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let used_1m = header_u64("x-mbx-used-weight-1m");
        let retry_after_s = header_u64("retry-after");
        if let Some(w) = used_1m {
            let minute = (self.config.clock)().div_euclid(60_000);
            {
                let mut st = self.state();
                st.usage.last_used_weight_1m = Some(w);
                st.used_weight_minute = Some(minute);
            }
            if ep.pool == Pool::Api {
                self.observe_used_weight(w).await;
            }
        }
        let body = resp.bytes().await;
        tracing::debug!(
            endpoint = ep.path,
            status,
            weight = ep.weight,
            used_weight_1m = used_1m,
            duration_ms = started.elapsed().as_millis() as u64,
            "binance request"
        );
        let body = match body {
            Ok(b) => b,
            Err(e) => {
                return Outcome::Transient {
                    detail: format!("reading body: {}", transport_detail(&e)),
                    malformed: false,
                }
            }
        };
        match status {
            200..=299 => match parse_body::<T>(&body) {
                Ok(v) => Outcome::Done(v),
                Err(ParseFailure::Syntax(d)) => Outcome::Transient {
                    detail: d,
                    malformed: true,
                },
                Err(ParseFailure::Shape(d)) => Outcome::Fatal(ExchangeError::Malformed {
                    endpoint: ep.path.to_owned(),
                    detail: d,
                }),
            },
            418 => {
                let secs = retry_after_s.unwrap_or(BAN_WITHOUT_RETRY_AFTER_S);
                let until = (self.config.clock)()
                    .saturating_add(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX));
                self.state().banned_until = Some(until);
                self.share_ban(until).await;
                tracing::error!(
                    endpoint = ep.path,
                    retry_after_s,
                    "HTTP 418: IP banned; client stops"
                );
                Outcome::Fatal(ExchangeError::Banned { retry_after_s })
            }
            429 => Outcome::RateLimited { retry_after_s },
            // Whatever the body (Binance's or a CDN's page): the location is refused.
            451 => {
                tracing::error!(
                    endpoint = ep.path,
                    "HTTP 451: Binance refuses requests from this location"
                );
                Outcome::Fatal(ExchangeError::RestrictedLocation {
                    endpoint: ep.path.to_owned(),
                })
            }
            _ => match serde_json::from_slice::<ErrorBody>(&body) {
                Ok(e) => Outcome::Api {
                    status,
                    code: e.code,
                    msg: e.msg,
                },
                Err(_) if status >= 500 => Outcome::Transient {
                    detail: format!("HTTP {status}"),
                    malformed: false,
                },
                // A 4xx without a Binance error body (e.g. a WAF 403 page): code 0 = none given.
                Err(_) => Outcome::Api {
                    status,
                    code: 0,
                    msg: format!("HTTP {status} without a Binance error body"),
                },
            },
        }
    }
}

/// A reqwest error described without its URL (which carries the signature).
fn transport_detail(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "connection dropped while reading the body"
    } else if e.is_request() {
        "request failed (connection dropped?)"
    } else {
        "transport error"
    };
    kind.to_owned()
}
