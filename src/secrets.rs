//! The Binance API key from AWS Secrets Manager.
//!
//! The secret holds `{"api_key": "...", "api_secret": "..."}` (an HMAC key) or
//! `{"api_key": "...", "private_key": "-----BEGIN PRIVATE KEY-----\n..."}` (an Ed25519 or
//! RSA key, PKCS#8 or PKCS#1 PEM; `exchange::keys`). It is read once and reused
//! across warm invocations for `SYNC_SECRET_TTL_SECONDS`; `credentials(refresh = true)`
//! reads it again (the key was rotated after a `-2014`/`-2015`). When Secrets Manager cannot
//! be reached and a value is cached, the cached one is used and a warning logged.
//! Nothing here ever logs, formats or returns the secret's content.

use crate::exchange::credentials::{CredentialError, CredentialSource, Credentials};
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use serde_json::Value;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Why a fetch failed (never carries secret content).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Transient: network, timeout, throttling, 5xx. A cached value may be used.
    #[error("secrets manager unreachable: {0}")]
    Unreachable(String),
    /// Permanent: not found, access denied, scheduled for deletion, binary secret.
    #[error("secret cannot be read: {0}")]
    Refused(String),
}

/// Reads the raw secret string. Implemented for Secrets Manager and by tests.
pub trait SecretFetcher: Send + Sync {
    fn fetch(&self) -> impl Future<Output = Result<String, FetchError>> + Send;
}

/// `GetSecretValue` on one secret.
#[derive(Debug, Clone)]
pub struct SecretsManagerFetcher {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl SecretsManagerFetcher {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
        }
    }
}

impl SecretFetcher for SecretsManagerFetcher {
    async fn fetch(&self) -> Result<String, FetchError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| classify(&self.secret_id, e))?;
        out.secret_string.ok_or_else(|| {
            FetchError::Refused(format!(
                "secret {} has no SecretString (binary secrets are not supported)",
                self.secret_id
            ))
        })
    }
}

fn classify<R>(secret_id: &str, err: SdkError<GetSecretValueError, R>) -> FetchError {
    match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.into_err();
            let code = e.code().unwrap_or("unknown").to_owned();
            match e {
                GetSecretValueError::ResourceNotFoundException(_) => FetchError::Refused(format!(
                    "secret {secret_id} not found (ResourceNotFoundException)"
                )),
                GetSecretValueError::InvalidRequestException(_)
                | GetSecretValueError::InvalidParameterException(_)
                | GetSecretValueError::DecryptionFailure(_) => {
                    FetchError::Refused(format!("secret {secret_id} refused ({code})"))
                }
                GetSecretValueError::InternalServiceError(_) => {
                    FetchError::Unreachable(format!("secret {secret_id}: {code}"))
                }
                _ if code.contains("AccessDenied") || code.contains("UnrecognizedClient") => {
                    FetchError::Refused(format!("secret {secret_id} refused ({code})"))
                }
                // Throttling, ServiceUnavailable and unknown codes: transient.
                _ => FetchError::Unreachable(format!("secret {secret_id}: {code}")),
            }
        }
        SdkError::TimeoutError(_) => {
            FetchError::Unreachable(format!("secret {secret_id}: timeout"))
        }
        SdkError::DispatchFailure(_) => {
            FetchError::Unreachable(format!("secret {secret_id}: connection failed"))
        }
        SdkError::ResponseError(_) => {
            FetchError::Unreachable(format!("secret {secret_id}: unreadable response"))
        }
        _ => FetchError::Unreachable(format!("secret {secret_id}: request failed")),
    }
}

/// What the secret must look like, for error messages.
const SHAPES: &str =
    "expected {\"api_key\", \"api_secret\"} (HMAC) or {\"api_key\", \"private_key\"} (Ed25519/RSA PEM)";

/// Parse the secret: `{"api_key", "api_secret"}` is an HMAC key; `{"api_key",
/// "private_key"}` an Ed25519 or RSA key, its kind read from the PEM. The error never
/// quotes the content (serde's messages can, so they are not used).
pub fn parse_secret(raw: &str) -> Result<Credentials, CredentialError> {
    let malformed = |why: String| CredentialError::Malformed(why);
    let value: Value = serde_json::from_str(raw)
        .map_err(|_| malformed(format!("the secret is not JSON ({SHAPES})")))?;
    let Value::Object(map) = value else {
        return Err(malformed(format!(
            "the secret is not a JSON object ({SHAPES})"
        )));
    };
    if let Some(extra) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "api_key" | "api_secret" | "private_key"))
    {
        let name: String = extra.chars().take(32).collect();
        return Err(CredentialError::Malformed(format!(
            "the secret has an unexpected field {name:?} ({SHAPES})"
        )));
    }
    let field = |name: &str| -> Result<String, CredentialError> {
        match map.get(name) {
            None => Err(CredentialError::Malformed(format!(
                "the secret has no {name} field"
            ))),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(Value::String(_)) => Err(CredentialError::Malformed(format!(
                "the secret's {name} is empty"
            ))),
            Some(_) => Err(CredentialError::Malformed(format!(
                "the secret's {name} is not a string"
            ))),
        }
    };
    let api_key = field("api_key")?;
    match (
        map.contains_key("api_secret"),
        map.contains_key("private_key"),
    ) {
        (true, false) => Ok(Credentials::new(api_key, field("api_secret")?)),
        (false, true) => Ok(Credentials::from_private_key_pem(
            api_key,
            &field("private_key")?,
        )?),
        (true, true) => Err(malformed(
            "the secret has both api_secret and private_key; a key is either HMAC \
             (api_secret) or Ed25519/RSA (private_key), keep the one Binance issued"
                .to_owned(),
        )),
        (false, false) => Err(malformed(format!(
            "the secret has neither api_secret nor private_key ({SHAPES})"
        ))),
    }
}

/// A monotonic clock (tests move it forward).
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

struct Cached {
    credentials: Credentials,
    fetched_at: Instant,
}

/// Credentials from Secrets Manager, cached with a TTL.
pub struct SecretsManagerCredentials<F: SecretFetcher = SecretsManagerFetcher> {
    fetcher: F,
    ttl: Duration,
    clock: Clock,
    cache: Mutex<Option<Cached>>,
}

impl<F: SecretFetcher> fmt::Debug for SecretsManagerCredentials<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsManagerCredentials")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SecretsManagerCredentials<SecretsManagerFetcher> {
    /// The production source: `GetSecretValue(secret_id)`, cached for `ttl`.
    pub fn from_client(
        client: aws_sdk_secretsmanager::Client,
        secret_id: impl Into<String>,
        ttl: Duration,
    ) -> Self {
        Self::new(SecretsManagerFetcher::new(client, secret_id), ttl)
    }
}

impl<F: SecretFetcher> SecretsManagerCredentials<F> {
    pub fn new(fetcher: F, ttl: Duration) -> Self {
        Self::with_clock(fetcher, ttl, Arc::new(Instant::now))
    }

    pub fn with_clock(fetcher: F, ttl: Duration, clock: Clock) -> Self {
        Self {
            fetcher,
            ttl,
            clock,
            cache: Mutex::new(None),
        }
    }

    async fn get(&self, refresh: bool) -> Result<Credentials, CredentialError> {
        // One fetch at a time: concurrent callers wait and then see the fresh value.
        let mut cache = self.cache.lock().await;
        let now = (self.clock)();
        if !refresh {
            if let Some(c) = cache.as_ref() {
                if now.saturating_duration_since(c.fetched_at) < self.ttl {
                    return Ok(c.credentials.clone());
                }
            }
        }
        match self.fetcher.fetch().await {
            Ok(raw) => {
                let credentials = parse_secret(&raw)?;
                *cache = Some(Cached {
                    credentials: credentials.clone(),
                    fetched_at: now,
                });
                Ok(credentials)
            }
            Err(FetchError::Unreachable(detail)) => match cache.as_ref() {
                Some(c) => {
                    tracing::warn!(
                        error = %detail,
                        refresh,
                        "secrets manager unreachable; using the cached API key"
                    );
                    Ok(c.credentials.clone())
                }
                None => Err(CredentialError::Unavailable(detail)),
            },
            Err(FetchError::Refused(detail)) => Err(CredentialError::Unavailable(detail)),
        }
    }
}

impl<F: SecretFetcher> CredentialSource for SecretsManagerCredentials<F> {
    fn credentials(
        &self,
        refresh: bool,
    ) -> impl Future<Output = Result<Credentials, CredentialError>> + Send {
        self.get(refresh)
    }
}

/// The credential source chosen by configuration: Secrets Manager (Lambda) or fixed
/// environment values (CLI).
#[derive(Debug)]
pub enum ConfiguredCredentials {
    SecretsManager(SecretsManagerCredentials),
    /// A fleet's account: the cache is the secret's, shared by every account (and every
    /// rebuilt client) naming the same secret, so a warm container reads each secret once
    /// per TTL.
    Shared(Arc<SecretsManagerCredentials>),
    Static(crate::exchange::credentials::StaticCredentials),
}

impl CredentialSource for ConfiguredCredentials {
    async fn credentials(&self, refresh: bool) -> Result<Credentials, CredentialError> {
        match self {
            Self::SecretsManager(s) => s.get(refresh).await,
            Self::Shared(s) => s.get(refresh).await,
            Self::Static(s) => s.credentials(refresh).await,
        }
    }
}

/// The fleet's credential caches, one per secret (not per account).
#[derive(Debug, Default)]
pub struct SecretsCache {
    by_secret: std::sync::Mutex<std::collections::HashMap<String, Arc<SecretsManagerCredentials>>>,
}

impl SecretsCache {
    /// The cache of `secret_id`, created on first use.
    pub fn get(
        &self,
        client: &aws_sdk_secretsmanager::Client,
        secret_id: &str,
        ttl: Duration,
    ) -> Arc<SecretsManagerCredentials> {
        let mut map = self
            .by_secret
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(secret_id.to_owned())
            .or_insert_with(|| {
                Arc::new(SecretsManagerCredentials::from_client(
                    client.clone(),
                    secret_id,
                    ttl,
                ))
            })
            .clone()
    }

    /// Secrets cached so far.
    pub fn len(&self) -> usize {
        self.by_secret
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
