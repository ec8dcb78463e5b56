//! API credentials and where they come from. The secret never appears in `Debug`,
//! logs, reports or error messages.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::future::Future;

/// An API key and its secret.
#[derive(Clone)]
pub struct Credentials {
    api_key: String,
    api_secret: SecretString,
}

impl Credentials {
    pub fn new(api_key: impl Into<String>, api_secret: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            api_secret: SecretString::from(api_secret.into()),
        }
    }
    pub fn api_key(&self) -> &str {
        &self.api_key
    }
    /// The signing secret. Only the signer calls this.
    pub fn api_secret(&self) -> &str {
        self.api_secret.expose_secret()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only a short prefix of the public key, to tell keys apart in logs.
        let prefix: String = self.api_key.chars().take(4).collect();
        f.debug_struct("Credentials")
            .field("api_key", &format_args!("{prefix}…(redacted)"))
            .field("api_secret", &format_args!("(redacted)"))
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The secret exists but is not `{"api_key": "...", "api_secret": "..."}`.
    #[error("credentials are malformed: {0}")]
    Malformed(String),
    /// The secret store could not be reached and nothing is cached.
    #[error("credentials unavailable: {0}")]
    Unavailable(String),
}

/// Where the client gets its credentials. `refresh = true` asks for a fresh read (the key
/// may have been rotated after a `-2014`/`-2015`); a source returns the latest credentials
/// it knows, so after a refresh later calls return the refreshed ones. Caching (and its
/// TTL) is the source's business: the client asks on every request.
pub trait CredentialSource: Send + Sync {
    fn credentials(
        &self,
        refresh: bool,
    ) -> impl Future<Output = Result<Credentials, CredentialError>> + Send;
}

/// Fixed credentials (CLI: `BINANCE_API_KEY` / `BINANCE_API_SECRET`; tests).
#[derive(Debug, Clone)]
pub struct StaticCredentials(pub Credentials);

impl CredentialSource for StaticCredentials {
    async fn credentials(&self, _refresh: bool) -> Result<Credentials, CredentialError> {
        Ok(self.0.clone())
    }
}
