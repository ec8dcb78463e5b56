//! Cold-start wiring: configuration, AWS SDK clients, the HTTP client, the credential
//! source, the exchange and the store. Built once per container.
//!
//! MERGE NOTE: the Binance adapter (`exchange::binance::BinanceClient`) and the DynamoDB
//! adapter (`store::dynamo::DynamoStore`) are written on other branches. Until they are
//! merged, [`ExchangeImpl`]/[`StoreImpl`] are the `pending` stand-ins below, which fail
//! every call with a clear error. On merge, replace the two type aliases and the bodies of
//! [`build_exchange`] and [`build_store`] with the commented lines, and delete `pending`.

use super::handler::{App, HandlerError};
use crate::config::{Config, CredentialConfig};
use crate::exchange::credentials::{Credentials, StaticCredentials};
use crate::secrets::{ConfiguredCredentials, SecretsManagerCredentials};
use aws_config::BehaviorVersion;
use secrecy::ExposeSecret;
use std::time::Duration;

// pub type ExchangeImpl = crate::exchange::binance::BinanceClient<ConfiguredCredentials>;
pub type ExchangeImpl = pending::PendingExchange;
// pub type StoreImpl = crate::store::dynamo::DynamoStore;
pub type StoreImpl = pending::PendingStore;

/// Build the App from the process environment. `AWS_ENDPOINT_URL` (emulator) is honoured
/// by aws-config itself.
pub async fn init() -> Result<App<ExchangeImpl, StoreImpl>, HandlerError> {
    let config = Config::from_env()?;
    let aws = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let credentials = build_credentials(&config, aws_sdk_secretsmanager::Client::new(&aws));
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("binance-account-sync/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| HandlerError::Init {
            kind: "InitError",
            message: format!("HTTP client: {e}"),
        })?;
    let exchange = build_exchange(&config, credentials, http)?;
    let store = build_store(&config, aws_sdk_dynamodb::Client::new(&aws));
    let publisher = config
        .alert_topic_arn
        .as_ref()
        .map(|arn| crate::alerts::SnsPublisher::new(aws_sdk_sns::Client::new(&aws), arn.as_str()));
    let function_name =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "binance-account-sync".into());
    Ok(App::new(config, exchange, store, publisher, function_name))
}

/// Secrets Manager in Lambda, fixed values for the CLI.
pub fn build_credentials(
    config: &Config,
    client: aws_sdk_secretsmanager::Client,
) -> ConfiguredCredentials {
    match &config.credentials {
        CredentialConfig::SecretsManager { secret_id } => ConfiguredCredentials::SecretsManager(
            SecretsManagerCredentials::from_client(client, secret_id.clone(), config.secret_ttl),
        ),
        CredentialConfig::Static {
            api_key,
            api_secret,
        } => ConfiguredCredentials::Static(StaticCredentials(Credentials::new(
            api_key.clone(),
            api_secret.expose_secret().to_owned(),
        ))),
    }
}

pub fn build_exchange(
    config: &Config,
    credentials: ConfiguredCredentials,
    http: reqwest::Client,
) -> Result<ExchangeImpl, HandlerError> {
    // let base_url = config.binance.base_url.to_url().map_err(|e| HandlerError::Init {
    //     kind: "ConfigError",
    //     message: format!("BINANCE_BASE_URL: {e}"),
    // })?;
    // let binance = crate::exchange::binance::BinanceConfig {
    //     base_url,
    //     recv_window_ms: config.binance.recv_window.get(),
    //     weight_budget: Some(config.binance.weight_budget),
    //     ..Default::default()
    // };
    // crate::exchange::binance::BinanceClient::new(binance, credentials, http)
    //     .map_err(|e| HandlerError::Init { kind: e.kind(), message: e.to_string() })
    let _ = (credentials, http);
    Ok(pending::PendingExchange {
        base_url: config.binance.base_url.to_string(),
    })
}

pub fn build_store(config: &Config, client: aws_sdk_dynamodb::Client) -> StoreImpl {
    // crate::store::dynamo::DynamoStore::new(client, config.table_name.as_str())
    let _ = client;
    pending::PendingStore {
        table: config.table_name.as_str().to_owned(),
    }
}

/// Stand-ins until the adapters are merged: every call fails with a clear error.
pub mod pending {
    use crate::domain::*;
    use crate::exchange::{AccountInfo, Exchange, ExchangeError, FillsFrom, Paged, Usage};
    use crate::store::{ApplyOutcome, AuditEntry, LeaseOutcome, Store, StoreError};
    use rust_decimal::Decimal;
    use std::collections::BTreeMap;

    #[derive(Debug)]
    pub struct PendingExchange {
        pub base_url: String,
    }

    fn ex<T>() -> Result<T, ExchangeError> {
        Err(ExchangeError::Config(
            "the Binance client is not wired in this build".into(),
        ))
    }

    impl Exchange for PendingExchange {
        fn name(&self) -> &'static str {
            "binance"
        }
        async fn symbols(
            &self,
            _: &[Symbol],
        ) -> Result<BTreeMap<Symbol, SymbolInfo>, ExchangeError> {
            ex()
        }
        async fn account(&self) -> Result<AccountInfo, ExchangeError> {
            ex()
        }
        async fn open_orders(&self) -> Result<Vec<ExchangeOrder>, ExchangeError> {
            ex()
        }
        async fn order(&self, _: &Symbol, _: u64) -> Result<OrderLookup, ExchangeError> {
            ex()
        }
        async fn fills(&self, _: &Symbol, _: FillsFrom) -> Result<Paged<Fill>, ExchangeError> {
            ex()
        }
        async fn orders_from(
            &self,
            _: &Symbol,
            _: u64,
        ) -> Result<Paged<ExchangeOrder>, ExchangeError> {
            ex()
        }
        async fn prices(&self, _: &[Symbol]) -> Result<BTreeMap<Symbol, Decimal>, ExchangeError> {
            ex()
        }
        async fn price_at(&self, _: &Symbol, _: Millis) -> Result<Option<Decimal>, ExchangeError> {
            ex()
        }
        async fn deposits(&self, _: Millis) -> Result<Vec<Deposit>, ExchangeError> {
            ex()
        }
        async fn withdrawals(&self, _: Millis) -> Result<Vec<Withdrawal>, ExchangeError> {
            ex()
        }
        async fn api_restrictions(&self) -> Result<ApiRestrictions, ExchangeError> {
            ex()
        }
        fn usage(&self) -> Usage {
            Usage::default()
        }
    }

    #[derive(Debug)]
    pub struct PendingStore {
        pub table: String,
    }

    fn st<T>() -> Result<T, StoreError> {
        Err(StoreError::Unavailable(
            "the DynamoDB store is not wired in this build".into(),
        ))
    }

    impl Store for PendingStore {
        async fn load(&self, _: &AccountId) -> Result<(Records, f64), StoreError> {
            st()
        }
        async fn acquire_lease(
            &self,
            _: &AccountId,
            _: &str,
            _: Millis,
            _: Millis,
        ) -> Result<LeaseOutcome, StoreError> {
            st()
        }
        async fn finish_run(
            &self,
            _: &AccountId,
            _: &str,
            _: &SyncState,
            _: &serde_json::Value,
        ) -> Result<(), StoreError> {
            st()
        }
        async fn apply(
            &self,
            _: &AccountId,
            _: &str,
            _: Millis,
            _: &[Correction],
        ) -> Result<ApplyOutcome, StoreError> {
            st()
        }
        async fn audit_since(
            &self,
            _: &AccountId,
            _: Millis,
        ) -> Result<Vec<AuditEntry>, StoreError> {
            st()
        }
    }
}
