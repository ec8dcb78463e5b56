//! Cold-start wiring: configuration, AWS SDK clients, the HTTP client, the credential
//! source, the exchange and the store. Built once per container.
//! The CLI builds the same App, so both run the same code path.

use super::handler::{App, HandlerError};
use crate::config::{Config, CredentialConfig, FleetConfig};
use crate::exchange::credentials::StaticCredentials;
use crate::secrets::{ConfiguredCredentials, SecretsManagerCredentials};
use crate::store::weight::WeightLedger;
use aws_config::BehaviorVersion;
use std::sync::Arc;
use std::time::Duration;

pub type ExchangeImpl = crate::exchange::binance::BinanceClient<ConfiguredCredentials>;
pub type StoreImpl = crate::store::dynamo::DynamoStore;

/// Build the App from the process environment. `AWS_ENDPOINT_URL` (emulator) is honoured
/// by aws-config itself.
pub async fn init() -> Result<App<ExchangeImpl, StoreImpl>, HandlerError> {
    // A registry deployment has no account of its own: `run_lambda` builds its Fleet
    // instead; here, a mistyped SYNC_ACCOUNTS is a configuration error, not ignored.
    if crate::config::AccountsSource::from_env()? == crate::config::AccountsSource::Registry {
        return Err(HandlerError::Init {
            kind: "ConfigError",
            message: "SYNC_ACCOUNTS=registry: this command needs an account of its own (SYNC_ACCOUNTS=environment)".into(),
        });
    }
    let config = Config::from_env()?;
    let aws = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let credentials = build_credentials(&config, aws_sdk_secretsmanager::Client::new(&aws));
    let http = http_client()?;
    let store = build_store(&config, aws_sdk_dynamodb::Client::new(&aws));
    let ledger: Arc<dyn WeightLedger> = Arc::new(store.clone());
    let exchange = build_exchange(&config, credentials, http, Some(ledger))?;
    let publisher = config
        .alert_topic_arn
        .as_ref()
        .map(|arn| crate::alerts::SnsPublisher::new(aws_sdk_sns::Client::new(&aws), arn.as_str()));
    let mut app = App::new(config, exchange, store, publisher, function_name());
    app.allow_test_panic = local_emulator();
    Ok(app)
}

/// `AWS_LAMBDA_FUNCTION_NAME` (the cold-start metric's dimension).
pub fn function_name() -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "binance-account-sync".into())
}

/// The test-only panic payload, only where every AWS call goes to a local emulator. A
/// value that is not UTF-8 counts as not local (empty).
fn local_emulator() -> bool {
    super::payload::is_local_emulator(
        std::env::vars_os().filter_map(|(k, v)| {
            Some((k.into_string().ok()?, v.into_string().unwrap_or_default()))
        }),
    )
}

/// The one HTTP client of a container.
pub fn http_client() -> Result<reqwest::Client, HandlerError> {
    reqwest::Client::builder()
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
        })
}

/// The AWS clients and caches every account of a fleet shares: built once per container.
pub struct Shared {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub sns: aws_sdk_sns::Client,
    pub http: reqwest::Client,
    /// One credential cache per secret.
    pub secret_cache: crate::secrets::SecretsCache,
    pub ledger: Arc<dyn WeightLedger>,
    pub allow_test_panic: bool,
    pub function_name: String,
}

/// A registry deployment from the process environment (`SYNC_ACCOUNTS=registry`).
pub async fn init_fleet() -> Result<FleetImpl, HandlerError> {
    let config = FleetConfig::from_env()?;
    let aws = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let mut fleet = fleet_from(config, &aws)?;
    fleet.shared_mut().allow_test_panic = local_emulator();
    fleet.shared_mut().function_name = function_name();
    Ok(fleet)
}

/// The production fleet: the registry and the ledger in the table, each account's App
/// built from the shared clients on first use.
pub type FleetImpl = super::fleet::Fleet<ExchangeImpl, StoreImpl, StoreImpl, Shared>;

/// A fleet from its configuration and an AWS configuration (tests pass the emulator's).
pub fn fleet_from(
    config: FleetConfig,
    aws: &aws_config::SdkConfig,
) -> Result<FleetImpl, HandlerError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(aws);
    let registry =
        crate::store::dynamo::DynamoStore::new(dynamodb.clone(), config.table_name.as_str());
    let shared = Shared {
        dynamodb,
        secrets: aws_sdk_secretsmanager::Client::new(aws),
        sns: aws_sdk_sns::Client::new(aws),
        http: http_client()?,
        secret_cache: crate::secrets::SecretsCache::default(),
        ledger: Arc::new(registry.clone()),
        allow_test_panic: false,
        function_name: "binance-account-sync".into(),
    };
    Ok(super::fleet::Fleet::new(
        config,
        registry,
        shared,
        build_account_app,
    ))
}

/// One registry account's App: its own Binance client (its key, its clock offset, its
/// ban) over the shared HTTP client, credential cache and ledger.
pub fn build_account_app(
    config: Config,
    shared: &Shared,
) -> Result<App<ExchangeImpl, StoreImpl>, HandlerError> {
    let credentials = match &config.credentials {
        CredentialConfig::SecretsManager { secret_id } => ConfiguredCredentials::Shared(
            shared
                .secret_cache
                .get(&shared.secrets, secret_id, config.secret_ttl),
        ),
        CredentialConfig::Static { .. } => build_credentials(&config, shared.secrets.clone()),
    };
    let exchange = build_exchange(
        &config,
        credentials,
        shared.http.clone(),
        Some(shared.ledger.clone()),
    )?;
    let store = build_store(&config, shared.dynamodb.clone());
    let publisher = config
        .alert_topic_arn
        .as_ref()
        .map(|arn| crate::alerts::SnsPublisher::new(shared.sns.clone(), arn.as_str()));
    let mut app = App::new(
        config,
        exchange,
        store,
        publisher,
        shared.function_name.clone(),
    );
    app.allow_test_panic = shared.allow_test_panic;
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
        CredentialConfig::Static { credentials } => {
            ConfiguredCredentials::Static(StaticCredentials(credentials.clone()))
        }
    }
}

/// The Binance client of one account. With the ledger on (`SYNC_WEIGHT_LEDGER`), its
/// weight is reserved in `ledger` under the deployment's (or the egress IP's) key, and
/// `SYNC_WEIGHT_STOP_AT` is the share every invocation together stays within.
pub fn build_exchange(
    config: &Config,
    credentials: ConfiguredCredentials,
    http: reqwest::Client,
    ledger: Option<Arc<dyn WeightLedger>>,
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
        shared_weight: ledger.filter(|_| config.ledger.enabled).map(|ledger| {
            crate::exchange::binance::SharedWeight {
                ledger,
                key: config.ledger.key(&config.table_name),
                share: config.binance.ip_weight_stop,
            }
        }),
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
