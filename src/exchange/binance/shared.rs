//! The shared weight ledger in the client (rules: `crate::fleet::ledger`). Before every
//! `/api` request the client reserves its weight in the ledger every invocation of the
//! deployment (or of the egress IP) writes; after every answer it raises the ledger to
//! `X-MBX-USED-WEIGHT-1M` when the header says more; a 418's end goes into the ledger,
//! and the ledger's ban is read once a minute (and whenever a minute is full), so every
//! invocation honours a ban another one was answered.

use super::endpoints::{Endpoint, Pool};
use super::BinanceClient;
use crate::domain::Millis;
use crate::exchange::credentials::CredentialSource;
use crate::exchange::ExchangeError;
use crate::fleet::ledger::{minute_of, minutes_for, wait_for_next_minute, LedgerKey, Reservation};
use crate::store::weight::WeightLedger;
use std::fmt;
use std::sync::Arc;

/// The ledger a client shares, its key and the share of the IP's limit it may fill.
#[derive(Clone)]
pub struct SharedWeight {
    pub ledger: Arc<dyn WeightLedger>,
    pub key: LedgerKey,
    /// The sum of every invocation's weight in a minute never passes this.
    pub share: u64,
}

impl fmt::Debug for SharedWeight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedWeight")
            .field("key", &self.key)
            .field("share", &self.share)
            .finish_non_exhaustive()
    }
}

fn ledger_error(e: crate::store::StoreError) -> ExchangeError {
    ExchangeError::Unavailable {
        attempts: 0,
        detail: format!("weight ledger: {e}"),
    }
}

impl<C: CredentialSource> BinanceClient<C> {
    /// Reserve `ep`'s weight in the shared ledger, waiting for the next minute when this
    /// one is full and the wait ends before the run's stop time; otherwise the request is
    /// refused with `SharedWeightExhausted` (the run stops, partial).
    pub(super) async fn reserve_shared(&self, ep: &Endpoint) -> Result<(), ExchangeError> {
        let Some(shared) = self.config.shared_weight.clone() else {
            return Ok(());
        };
        if ep.pool != Pool::Api {
            return Ok(());
        }
        let weight = ep.budget_weight();
        loop {
            let now = self.server_now();
            let minute = minute_of(now);
            let ban_checked = self.state().ledger_ban_checked == Some(minute);
            if !ban_checked {
                self.honour_shared_ban(&shared).await?;
                self.state().ledger_ban_checked = Some(minute);
            }
            let mut full = None;
            for m in minutes_for(now) {
                match shared
                    .ledger
                    .reserve(&shared.key, m, weight, shared.share)
                    .await
                    .map_err(ledger_error)?
                {
                    Reservation::Granted { used } => {
                        self.state().ledger_used.insert(m, used);
                    }
                    Reservation::Full { used } => {
                        full = Some(used);
                        break;
                    }
                }
            }
            let Some(used) = full else {
                return Ok(());
            };
            // A full minute may be a ban another invocation recorded.
            self.honour_shared_ban(&shared).await?;
            let (stop_at, waits) = {
                let st = self.state();
                (st.stop_at, st.ledger_waits)
            };
            // `stop_at` is on the local clock; compare local times.
            let offset = now - (self.config.clock)();
            match wait_for_next_minute(now, stop_at.map(|s| s + offset), waits) {
                Some(wait) => {
                    tracing::info!(
                        ledger = %shared.key,
                        used,
                        share = shared.share,
                        wait_ms = wait.as_millis() as u64,
                        "shared weight of this minute used up; waiting for the next minute"
                    );
                    self.state().ledger_waits += 1;
                    (self.config.sleep)(wait).await;
                }
                None => {
                    tracing::info!(ledger = %shared.key, used, share = shared.share, "shared weight used up; the run stops");
                    return Err(ExchangeError::SharedWeightExhausted {
                        share: shared.share,
                        used,
                    });
                }
            }
        }
    }

    /// Refuse the request when the ledger holds a ban that has not ended.
    async fn honour_shared_ban(&self, shared: &SharedWeight) -> Result<(), ExchangeError> {
        let until = shared
            .ledger
            .banned_until(&shared.key)
            .await
            .map_err(ledger_error)?;
        let now = (self.config.clock)();
        if let Some(until) = until.filter(|u| *u > now) {
            let mut st = self.state();
            if st.banned_until.is_none_or(|u| u < until) {
                st.banned_until = Some(until);
            }
            return Err(ExchangeError::Banned {
                retry_after_s: u64::try_from((until - now + 999) / 1000).ok(),
            });
        }
        Ok(())
    }

    /// `X-MBX-USED-WEIGHT-1M` is the authority: raise the ledger's minute to it when it
    /// says more than the ledger was last known to hold.
    pub(super) async fn observe_used_weight(&self, used: u64) {
        let Some(shared) = self.config.shared_weight.as_ref() else {
            return;
        };
        let minute = minute_of(self.server_now());
        let known = self.state().ledger_used.get(&minute).copied().unwrap_or(0);
        if used <= known {
            return;
        }
        match shared.ledger.raise(&shared.key, minute, used).await {
            Ok(()) => {
                let mut st = self.state();
                st.ledger_used.insert(minute, used);
                // Only the current minute and the next are ever looked at.
                st.ledger_used.retain(|m, _| *m >= minute);
            }
            Err(e) => tracing::warn!(error = %e, "weight ledger not raised to the header"),
        }
    }

    /// A 418: every invocation must stop until `until`; the current minute is full.
    pub(super) async fn share_ban(&self, until: Millis) {
        let Some(shared) = self.config.shared_weight.as_ref() else {
            return;
        };
        if let Err(e) = shared.ledger.record_ban(&shared.key, until).await {
            tracing::warn!(error = %e, "ban not recorded in the weight ledger");
        }
        let minute = minute_of(self.server_now());
        if let Err(e) = shared.ledger.raise(&shared.key, minute, shared.share).await {
            tracing::warn!(error = %e, "weight ledger not filled after a ban");
        }
    }
}
