//! Cold-start wiring: configuration, AWS SDK clients, the HTTP client, the credential
//! source, the exchange and the store. Built once per container.
//! The CLI builds the same App, so both run the same code path.

use super::handler::{App, HandlerError};
use crate::config::{Config, CredentialConfig};
use crate::exchange::credentials::{Credentials, StaticCredentials};
use crate::secrets::{ConfiguredCredentials, SecretsManagerCredentials};
use aws_config::BehaviorVersion;
use secrecy::ExposeSecret;
use std::time::Duration;

pub type ExchangeImpl = crate::exchange::binance::BinanceClient<ConfiguredCredentials>;
pub type StoreImpl = crate::store::dynamo::DynamoStore;

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
        // Binance never redirects an API call; following one would carry the API key
        // header to wherever it points.
        .redirect(reqwest::redirect::Policy::none())
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
    let mut app = App::new(config, exchange, store, publisher, function_name);
    // The test-only panic payload, only where every AWS call goes to a local emulator. A
    // value that is not UTF-8 counts as not local (empty).
    app.allow_test_panic =
        super::payload::is_local_emulator(std::env::vars_os().filter_map(|(k, v)| {
            Some((k.into_string().ok()?, v.into_string().unwrap_or_default()))
        }));
    Ok(app)
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
    let base_url = config
        .binance
        .base_url
        .to_url()
        .map_err(|e| HandlerError::Init {
            kind: "ConfigError",
            message: format!("BINANCE_BASE_URL: {e}"),
        })?;
    let binance = crate::exchange::binance::BinanceConfig {
        base_url,
        recv_window_ms: config.binance.recv_window.get(),
        weight_budget: Some(config.binance.weight_budget),
        ip_weight_stop: Some(config.binance.ip_weight_stop),
        ..Default::default()
    };
    crate::exchange::binance::BinanceClient::new(binance, credentials, http).map_err(|e| {
        HandlerError::Init {
            kind: e.kind(),
            message: e.to_string(),
        }
    })
}

pub fn build_store(config: &Config, client: aws_sdk_dynamodb::Client) -> StoreImpl {
    crate::store::dynamo::DynamoStore::new(client, config.table_name.as_str())
}
