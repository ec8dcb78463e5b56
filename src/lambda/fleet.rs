//! A registry deployment (`SYNC_ACCOUNTS=registry`): one function, many accounts. Every
//! invocation names its account (`{"account": "<id>", "mode": ...}`); the account's
//! registry item is read (so a disabled or changed account takes effect at once), its
//! App is built on first use and kept while its item is unchanged, and the invocation
//! runs exactly as a single-account invocation does (`App::handle`): same run, metrics
//! (the `Account` dimension), alerts (the `account` attribute), lease.
//!
//! `{"action": "list_accounts"}` answers the enabled accounts, for the Step Functions
//! Map that fans the schedule out (`infra/README.md`); the items that do not parse are
//! listed beside them, logged and counted (`RegistryItemsInvalid`), never fatal to the
//! others.

use super::handler::{App, HandlerError, InvocationContext};
use super::payload::PayloadError;
use crate::config::{Config, FleetConfig};
use crate::domain::AccountId;
use crate::exchange::Exchange;
use crate::fleet::{AccountEntry, InvalidAccount};
use crate::store::registry::{Lookup, Registry};
use crate::store::verdicts::VerdictStore;
use crate::store::{Store, StoreError};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Why a fleet invocation was refused before any run. `kind()` is the Lambda errorType.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("account {0:?} is not in the registry (binance-account-sync accounts add)")]
    UnknownAccount(String),
    #[error("account {0:?} is disabled in the registry (binance-account-sync accounts add to enable it again)")]
    AccountDisabled(String),
    #[error(transparent)]
    Invalid(#[from] InvalidAccount),
    #[error("the accounts registry cannot be read: {0}")]
    Registry(#[from] StoreError),
}

impl FleetError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UnknownAccount(_) => "UnknownAccount",
            Self::AccountDisabled(_) => "AccountDisabled",
            Self::Invalid(e) => e.kind(),
            Self::Registry(e) => e.kind(),
        }
    }
}

/// What a fleet invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetRequest {
    ListAccounts,
    /// A sync of one account; the payload is passed on to its App as it is.
    Sync(AccountId),
}

/// Parse the fleet's part of a payload: `action`, or `account`. Everything else is the
/// single-account payload's (parsed by `App::handle`).
pub fn parse_fleet_request(payload: &Value) -> Result<FleetRequest, PayloadError> {
    let Value::Object(map) = payload else {
        return Err(PayloadError::NotAnObject {
            found: match payload {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            },
        });
    };
    if let Some(action) = map.get("action") {
        return match action.as_str() {
            Some("list_accounts") if map.len() == 1 => Ok(FleetRequest::ListAccounts),
            Some("list_accounts") => Err(PayloadError::UnknownField {
                field: map
                    .keys()
                    .find(|k| *k != "action")
                    .cloned()
                    .unwrap_or_default(),
            }),
            _ => Err(PayloadError::UnknownAction {
                action: action.to_string().chars().take(64).collect(),
            }),
        };
    }
    match map.get("account") {
        None | Some(Value::Null) => Err(PayloadError::MissingAccount),
        Some(Value::String(s)) => {
            AccountId::parse(s.clone())
                .map(FleetRequest::Sync)
                .map_err(|e| PayloadError::BadAccount {
                    reason: e.to_string(),
                })
        }
        Some(_) => Err(PayloadError::WrongType {
            field: "account",
            expected: "a string",
            found: "another type",
        }),
    }
}

type Builder<E, S, X> = fn(Config, &X) -> Result<App<E, S>, HandlerError>;

/// Each account's App, with the entry it was built from.
type Apps<E, S> = Mutex<HashMap<AccountId, (AccountEntry, Arc<App<E, S>>)>>;

/// The accounts of one deployment.
pub struct Fleet<E: Exchange, S: Store, R: Registry, X> {
    pub config: FleetConfig,
    pub registry: R,
    shared: X,
    build: Builder<E, S, X>,
    /// Each account's App, with the entry it was built from (rebuilt when it changes).
    apps: Apps<E, S>,
}

impl<E: Exchange, S: Store + VerdictStore, R: Registry, X> Fleet<E, S, R, X> {
    pub fn new(config: FleetConfig, registry: R, shared: X, build: Builder<E, S, X>) -> Self {
        Self {
            config,
            registry,
            shared,
            build,
            apps: Mutex::new(HashMap::new()),
        }
    }

    pub fn shared_mut(&mut self) -> &mut X {
        &mut self.shared
    }

    /// One invocation: the list of accounts, or one account's sync report. Its log lines
    /// carry the Powertools keys; the container's first invocation, a listing or a sync,
    /// emits the `ColdStart` metric (here, so the account's App does not again).
    pub async fn handle(
        &self,
        payload: Value,
        ctx: &InvocationContext,
    ) -> Result<Value, HandlerError> {
        let function_name = super::wiring::function_name();
        let service = crate::telemetry::service_name();
        if crate::telemetry::COLD_START.take_metric(&ctx.request_id) {
            crate::metrics::emit(&crate::metrics::emf_cold_start(
                &self.config.metrics_namespace,
                &service,
                &function_name,
                crate::service::now_ms(),
            ));
        }
        let span = crate::telemetry::invocation_span(
            &ctx.request_id,
            &function_name,
            crate::telemetry::current_trace_header().as_deref(),
        );
        tracing::Instrument::instrument(self.handle_invocation(payload, ctx), span).await
    }

    async fn handle_invocation(
        &self,
        payload: Value,
        ctx: &InvocationContext,
    ) -> Result<Value, HandlerError> {
        let request = match parse_fleet_request(&payload) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error_type = e.kind(), error = %e, "rejected payload");
                return Err(e.into());
            }
        };
        match request {
            FleetRequest::ListAccounts => self.list_accounts().await,
            FleetRequest::Sync(account) => {
                let app = self.app_for(&account).await?;
                let report = app.handle(payload, ctx).await?;
                serde_json::to_value(&report).map_err(|e| HandlerError::Init {
                    kind: "SerializationError",
                    message: e.to_string(),
                })
            }
        }
    }

    /// The enabled accounts, as the Map's items: `{"accounts": [{"account": ..}], "invalid": [..]}`.
    async fn list_accounts(&self) -> Result<Value, HandlerError> {
        let listing = self.registry.list().await.map_err(FleetError::from)?;
        for bad in &listing.invalid {
            tracing::error!(error_type = bad.kind(), account = %bad.account, field = bad.field, error = %bad, "registry item skipped");
        }
        let accounts: Vec<Value> = listing
            .enabled()
            .map(|a| json!({"account": a.account.as_str()}))
            .collect();
        let disabled = listing.accounts.len() - accounts.len();
        crate::metrics::emit(&crate::metrics::emf_registry(
            &self.config.metrics_namespace,
            accounts.len() as u64,
            listing.invalid.len() as u64,
            crate::service::now_ms(),
        ));
        tracing::info!(
            enabled = accounts.len(),
            disabled,
            invalid = listing.invalid.len(),
            "accounts listed"
        );
        Ok(json!({
            "accounts": accounts,
            "disabled": disabled,
            "invalid": listing.invalid,
        }))
    }

    /// The account's App, built from its current registry item.
    pub async fn app_for(&self, account: &AccountId) -> Result<Arc<App<E, S>>, HandlerError> {
        let entry = match self
            .registry
            .lookup(account)
            .await
            .map_err(FleetError::from)?
        {
            Lookup::Found(entry) => entry,
            Lookup::Missing => {
                return Err(FleetError::UnknownAccount(account.as_str().to_owned()).into())
            }
            Lookup::Invalid(e) => return Err(FleetError::Invalid(e).into()),
        };
        if !entry.enabled {
            return Err(FleetError::AccountDisabled(account.as_str().to_owned()).into());
        }
        let mut apps = self
            .apps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((built_from, app)) = apps.get(account) {
            if same_settings(built_from, &entry) {
                return Ok(app.clone());
            }
        }
        let app = Arc::new((self.build)(self.config.for_account(&entry), &self.shared)?);
        apps.insert(account.clone(), (entry, app.clone()));
        Ok(app)
    }
}

/// Whether an App built from `a` serves `b` (the update time alone does not matter).
fn same_settings(a: &AccountEntry, b: &AccountEntry) -> bool {
    a.secret == b.secret
        && a.markets == b.markets
        && a.symbols == b.symbols
        && a.tolerance_pct == b.tolerance_pct
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fleet_payload_names_its_account_or_asks_for_the_list() {
        assert_eq!(
            parse_fleet_request(&json!({"action": "list_accounts"})),
            Ok(FleetRequest::ListAccounts)
        );
        assert_eq!(
            parse_fleet_request(&json!({"account": "alice", "mode": "periodic"})),
            Ok(FleetRequest::Sync(AccountId::parse("alice").unwrap()))
        );
        assert_eq!(
            parse_fleet_request(&json!({"mode": "periodic"})),
            Err(PayloadError::MissingAccount)
        );
        assert!(matches!(
            parse_fleet_request(&json!({"account": "a b"})),
            Err(PayloadError::BadAccount { .. })
        ));
        assert!(matches!(
            parse_fleet_request(&json!({"action": "delete_everything"})),
            Err(PayloadError::UnknownAction { .. })
        ));
        assert!(matches!(
            parse_fleet_request(&json!({"action": "list_accounts", "mode": "periodic"})),
            Err(PayloadError::UnknownField { .. })
        ));
    }
}
