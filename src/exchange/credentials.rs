//! API credentials and where they come from. The secret never appears in `Debug`,
//! logs, reports or error messages.

use super::keys::{KeyKind, PrivateKeyError, SigningKey};
use secrecy::ExposeSecret;
use std::fmt;
use std::future::Future;

/// An API key and what signs for it: its HMAC secret, or the Ed25519/RSA private key whose
/// public half was registered with Binance.
#[derive(Clone)]
pub struct Credentials {
    api_key: String,
    signing_key: SigningKey,
}

impl Credentials {
    /// An HMAC key (`api_secret`).
    pub fn new(api_key: impl Into<String>, api_secret: impl Into<String>) -> Self {
        Self::with_signing_key(api_key, SigningKey::hmac(api_secret))
    }
    /// An Ed25519 or RSA key from its PEM private key (the kind is read from the key).
    pub fn from_private_key_pem(
        api_key: impl Into<String>,
        pem: &str,
    ) -> Result<Self, PrivateKeyError> {
        Ok(Self::with_signing_key(api_key, SigningKey::from_pem(pem)?))
    }
    pub fn with_signing_key(api_key: impl Into<String>, signing_key: SigningKey) -> Self {
        Self {
            api_key: api_key.into(),
            signing_key,
        }
    }
    pub fn api_key(&self) -> &str {
        &self.api_key
    }
    pub fn kind(&self) -> KeyKind {
        self.signing_key.kind()
    }
    /// What signs. Only the signer calls this.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }
    /// The HMAC secret, if this is an HMAC key (tests compare rotated secrets).
    pub fn api_secret(&self) -> Option<&str> {
        match &self.signing_key {
            SigningKey::Hmac(s) => Some(s.expose_secret()),
            _ => None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only a short prefix of the public key, to tell keys apart in logs.
        let prefix: String = self.api_key.chars().take(4).collect();
        f.debug_struct("Credentials")
            .field("api_key", &format_args!("{prefix}…(redacted)"))
            .field("kind", &self.kind())
            .field("signing_key", &format_args!("(redacted)"))
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The secret exists but is not `{"api_key", "api_secret"}` or `{"api_key", "private_key"}`.
    #[error("credentials are malformed: {0}")]
    Malformed(String),
    /// The secret's `private_key` cannot sign (not PEM, encrypted, not Ed25519/RSA, ...).
    #[error("credentials are malformed: {0}")]
    PrivateKey(#[from] PrivateKeyError),
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

/// Fixed credentials (CLI: `BINANCE_API_KEY` with `BINANCE_API_SECRET` or
/// `BINANCE_PRIVATE_KEY`; tests).
#[derive(Debug, Clone)]
pub struct StaticCredentials(pub Credentials);

impl CredentialSource for StaticCredentials {
    async fn credentials(&self, _refresh: bool) -> Result<Credentials, CredentialError> {
        Ok(self.0.clone())
    }
}
