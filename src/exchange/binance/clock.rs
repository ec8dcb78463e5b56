//! Server-time offset. Binance rejects a signed request whose `timestamp` is more than
//! 1 s ahead of its clock or more than `recvWindow` behind it (`-1021`). Lambda clocks are
//! usually fine, but a skewed host must not fail the run, so the offset is measured from
//! `GET /api/v3/time` against the *midpoint* of the request (halves the latency error),
//! applied to every `timestamp`, and re-measured once when `-1021` comes back anyway.

use super::endpoints::TIME;
use super::model::WireServerTime;
use super::transport::Failure;
use super::BinanceClient;
use crate::domain::Millis;
use crate::exchange::credentials::CredentialSource;
use crate::exchange::ExchangeError;
use serde::de::DeserializeOwned;

impl<C: CredentialSource> BinanceClient<C> {
    /// The local clock (hookable for tests).
    pub(super) fn local_now(&self) -> Millis {
        (self.config.clock)()
    }

    /// Our best estimate of the server's clock now.
    pub(super) fn server_now(&self) -> Millis {
        self.local_now() + self.state().offset_ms.unwrap_or(0)
    }

    /// The `timestamp` parameter of a signed request.
    pub(super) fn timestamp(&self) -> Millis {
        self.server_now()
    }

    /// Measure `server - local` from `/api/v3/time`.
    pub(super) async fn sync_clock(&self) -> Result<Millis, ExchangeError> {
        let before = self.local_now();
        let t: WireServerTime = match self.execute(&TIME, &[]).await {
            Ok(t) => t,
            Err(Failure::Error(e)) => return Err(e),
            // /time is unsigned; -1021 cannot happen, but keep it an error rather than loop.
            Err(Failure::Clock { status, code, msg }) => {
                return Err(ExchangeError::Api { status, code, msg })
            }
        };
        let after = self.local_now();
        let midpoint = before + (after - before) / 2;
        let offset = t.server_time - midpoint;
        self.state().offset_ms = Some(offset);
        tracing::debug!(offset_ms = offset, "server time offset measured");
        Ok(offset)
    }

    /// Measure the server-time offset now (`GET /api/v3/time`, weight 1) and use it from
    /// here on: the `check` command's "the exchange answers" and clock checks.
    pub async fn measure_clock_offset(&self) -> Result<Millis, ExchangeError> {
        self.sync_clock().await
    }

    /// Run a request; for signed ones make sure the offset is known, and on `-1021`
    /// re-measure it and retry exactly once.
    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        ep: &super::endpoints::Endpoint,
        params: &[(&str, String)],
    ) -> Result<T, ExchangeError> {
        if ep.signed && self.state().offset_ms.is_none() {
            self.sync_clock().await?;
        }
        match self.execute(ep, params).await {
            Ok(v) => Ok(v),
            Err(Failure::Error(e)) => Err(e),
            Err(Failure::Clock { .. }) => {
                tracing::warn!(
                    endpoint = ep.path,
                    "timestamp rejected (-1021); re-measuring server time"
                );
                self.sync_clock().await?;
                self.state().usage.retries += 1;
                match self.execute(ep, params).await {
                    Ok(v) => Ok(v),
                    Err(Failure::Error(e)) => Err(e),
                    Err(Failure::Clock { status, code, msg }) => {
                        Err(ExchangeError::Api { status, code, msg })
                    }
                }
            }
        }
    }
}
