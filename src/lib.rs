//! # binance-account-sync
//!
//! Keeps a trading bot's DynamoDB records true to its Binance account. One run:
//!
//! ```text
//!  exchange adapter ──► ExchangeSnapshot ─┐
//!                                          ├─► core::reconcile() ─► Plan ─► store.apply() ─► SyncReport
//!  store adapter ─────► Records ──────────┘      (pure)                  (conditional writes)   metrics, alerts
//! ```
//!
//! Layout (one concept per file):
//! - [`domain`]   the shared vocabulary: ids, the exchange's view, records, the plan.
//! - [`core`]     the pure rules: no I/O, no async, no AWS types. Every rule lives here.
//! - [`exchange`] the exchange port (`Exchange`, the origin's `ExchangeInterface`) and the
//!   Binance adapter (signed client, paging, weight, retries).
//! - [`store`]    the store port (`Store`) and its DynamoDB and in-memory adapters.
//! - [`service`]  the imperative shell: one function, [`service::run_sync`], used by both
//!   the Lambda handler and the CLI.
//! - [`report`]   the `SyncReport` every run returns; [`render`] shows it to a person.
//! - [`lambda`]   the Lambda handler: payloads, the app built once per cold start.
//! - [`fleet`]    many accounts on one deployment: registry entries (parsed) and the
//!   shared weight ledger's rules; the ports are `store::registry` and `store::weight`,
//!   the Lambda's dispatch `lambda::fleet`.
//! - [`config`]   typed configuration from environment variables.
//! - [`secrets`]  the Secrets Manager credential source (cached, rotation-aware).
//! - [`metrics`]  CloudWatch Embedded Metric Format documents on stdout.
//! - [`alerts`]   SNS alerts: what to alert, de-duplication, the API-key security check.
//! - [`telemetry`] structured logs.
//! - [`trust_metrics`] the trust verdicts' EMF document (`SymbolsUntrusted`,
//!   `BotHeartbeatStale`).

pub mod alerts;
pub mod cli;
pub mod config;
pub mod core;
pub mod domain;
pub mod exchange;
pub mod fleet;
pub mod lambda;
pub mod metrics;
pub mod render;
pub mod report;
pub mod secrets;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod trust_metrics;
