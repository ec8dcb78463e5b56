//! The Secrets Manager credential source: caching, TTL, refresh, outages, malformed secrets.

use binance_account_sync::exchange::credentials::{CredentialError, CredentialSource, Credentials};
use binance_account_sync::exchange::keys::{KeyKind, PrivateKeyError};
use binance_account_sync::secrets::{
    parse_secret, Clock, FetchError, SecretFetcher, SecretsManagerCredentials,
};
use binance_sim::testkeys::TestKey;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const V1: &str = r#"{"api_key":"key-1","api_secret":"secret-1"}"#;
const V2: &str = r#"{"api_key":"key-2","api_secret":"secret-2"}"#;

/// Answers from a script; the last answer repeats.
#[derive(Clone)]
struct Script {
    answers: Arc<Mutex<VecDeque<Result<String, FetchError>>>>,
    calls: Arc<AtomicUsize>,
}

impl Script {
    fn new(answers: Vec<Result<&str, FetchError>>) -> Self {
        Self {
            answers: Arc::new(Mutex::new(
                answers.into_iter().map(|a| a.map(str::to_owned)).collect(),
            )),
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl SecretFetcher for Script {
    async fn fetch(&self) -> Result<String, FetchError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut q = self.answers.lock().unwrap();
        if q.len() > 1 {
            q.pop_front().unwrap()
        } else {
            q.front().cloned().unwrap()
        }
    }
}

/// A clock moved by hand.
fn manual_clock() -> (Clock, Arc<AtomicU64>) {
    let base = Instant::now();
    let offset = Arc::new(AtomicU64::new(0));
    let o = offset.clone();
    (
        Arc::new(move || base + Duration::from_secs(o.load(Ordering::SeqCst))),
        offset,
    )
}

fn source(script: &Script, ttl_s: u64) -> (SecretsManagerCredentials<Script>, Arc<AtomicU64>) {
    let (clock, offset) = manual_clock();
    (
        SecretsManagerCredentials::with_clock(script.clone(), Duration::from_secs(ttl_s), clock),
        offset,
    )
}

fn unreachable() -> FetchError {
    FetchError::Unreachable("secret binance/api: ServiceUnavailable".into())
}

#[tokio::test]
async fn secret_is_cached_across_invocations_within_ttl() {
    let script = Script::new(vec![Ok(V1), Ok(V2)]);
    let (src, clock) = source(&script, 300);
    assert_eq!(src.credentials(false).await.unwrap().api_key(), "key-1");
    clock.store(299, Ordering::SeqCst);
    assert_eq!(src.credentials(false).await.unwrap().api_key(), "key-1");
    assert_eq!(script.calls(), 1);
}

#[tokio::test]
async fn secret_refetched_after_ttl() {
    let script = Script::new(vec![Ok(V1), Ok(V2)]);
    let (src, clock) = source(&script, 300);
    assert_eq!(src.credentials(false).await.unwrap().api_key(), "key-1");
    clock.store(300, Ordering::SeqCst);
    assert_eq!(src.credentials(false).await.unwrap().api_key(), "key-2");
    assert_eq!(script.calls(), 2);
}

#[tokio::test]
async fn refresh_after_rejected_key_reads_rotated_secret() {
    let script = Script::new(vec![Ok(V1), Ok(V2)]);
    let (src, _clock) = source(&script, 300);
    assert_eq!(src.credentials(false).await.unwrap().api_key(), "key-1");
    // The exchange said -2015: the client asks once for a fresh read, within the TTL.
    let rotated = src.credentials(true).await.unwrap();
    assert_eq!(rotated.api_key(), "key-2");
    assert_eq!(rotated.api_secret(), Some("secret-2"));
    assert_eq!(script.calls(), 2);
    // The rotated value is cached from then on.
    assert_eq!(src.credentials(false).await.unwrap().api_key(), "key-2");
    assert_eq!(script.calls(), 2);
}

#[tokio::test]
async fn outage_uses_cached_secret() {
    let script = Script::new(vec![Ok(V1), Err(unreachable())]);
    let (src, clock) = source(&script, 300);
    src.credentials(false).await.unwrap();
    clock.store(10_000, Ordering::SeqCst);
    assert_eq!(src.credentials(false).await.unwrap().api_key(), "key-1");
    assert_eq!(src.credentials(true).await.unwrap().api_key(), "key-1");
    assert_eq!(script.calls(), 3);
}

#[tokio::test]
async fn outage_without_cache_is_a_clear_error() {
    let script = Script::new(vec![Err(unreachable())]);
    let (src, _clock) = source(&script, 300);
    let err = src.credentials(false).await.unwrap_err();
    assert!(matches!(err, CredentialError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("binance/api"), "{err}");
}

#[tokio::test]
async fn malformed_secret_is_rejected_without_echoing_it() {
    let cases = [
        "hunter2-not-json",
        r#"["hunter2"]"#,
        r#"{"api_key":"hunter2"}"#,
        r#"{"api_secret":"hunter2"}"#,
        r#"{"api_key":"","api_secret":"hunter2"}"#,
        r#"{"api_key":"k","api_secret":42}"#,
        r#"{"api_key":"k","api_secret":"hunter2","note":"hunter2"}"#,
        r#"{"api_key":"k","api_secret":"hunter2""#,
        r#"{"api_key":"k","private_key":""}"#,
        r#"{"api_key":"k","private_key":42}"#,
        r#"{"api_key":"k"}"#,
        r#"{"private_key":"hunter2"}"#,
    ];
    for raw in cases {
        let script = Script::new(vec![Ok(raw)]);
        let (src, _clock) = source(&script, 300);
        let err = src.credentials(false).await.unwrap_err();
        assert!(
            matches!(err, CredentialError::Malformed(_)),
            "{raw}: {err:?}"
        );
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("hunter2"), "{raw}: {shown}");
        assert!(!shown.contains("42"), "{raw}: {shown}");
    }
}

#[tokio::test]
async fn refused_secret_is_unavailable_even_with_a_cache() {
    let script = Script::new(vec![
        Ok(V1),
        Err(FetchError::Refused("secret binance/api not found".into())),
    ]);
    let (src, _clock) = source(&script, 300);
    src.credentials(false).await.unwrap();
    assert!(matches!(
        src.credentials(true).await,
        Err(CredentialError::Unavailable(_))
    ));
}

#[test]
fn credentials_debug_is_redacted() {
    let c = parse_secret(r#"{"api_key":"ABCDEFGHIJ","api_secret":"topsecret-value"}"#).unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("topsecret-value"), "{shown}");
    assert!(!shown.contains("ABCDEFGHIJ"), "{shown}");
    let direct = Credentials::new("ABCDEFGHIJ", "topsecret-value");
    assert!(!format!("{direct:?}").contains("topsecret-value"));
    let script = Script::new(vec![Ok(V1)]);
    let (src, _) = source(&script, 300);
    assert!(!format!("{src:?}").contains("secret-1"));
}

/// The secret JSON for a PEM, as `aws secretsmanager create-secret --secret-string` holds it.
fn pem_secret(api_key: &str, pem: &str) -> String {
    serde_json::json!({"api_key": api_key, "private_key": pem}).to_string()
}

#[test]
fn secret_shape_picks_the_key_type_hmac_ed25519_or_rsa() {
    let hmac = parse_secret(V1).unwrap();
    assert_eq!((hmac.api_key(), hmac.kind()), ("key-1", KeyKind::Hmac));
    assert_eq!(hmac.api_secret(), Some("secret-1"));

    let ed = TestKey::ed25519();
    let c = parse_secret(&pem_secret("ed-key", &ed.private_pem)).unwrap();
    assert_eq!((c.api_key(), c.kind()), ("ed-key", KeyKind::Ed25519));
    assert_eq!(c.api_secret(), None);

    let rsa = TestKey::rsa();
    for pem in [
        rsa.private_pem.clone(),
        rsa.rsa_pkcs1_private_pem().unwrap(),
    ] {
        let c = parse_secret(&pem_secret("rsa-key", &pem)).unwrap();
        assert_eq!((c.api_key(), c.kind()), ("rsa-key", KeyKind::Rsa));
    }
}

#[test]
fn secret_with_both_api_secret_and_private_key_is_refused() {
    let ed = TestKey::ed25519();
    let raw =
        serde_json::json!({"api_key": "k", "api_secret": "hunter2", "private_key": ed.private_pem})
            .to_string();
    let err = parse_secret(&raw).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(matches!(err, CredentialError::Malformed(_)), "{shown}");
    assert!(shown.contains("both api_secret and private_key"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn unusable_private_key_is_a_typed_error_that_never_quotes_the_key() {
    let ed = TestKey::ed25519();
    let body: String = ed.private_pem.lines().nth(1).unwrap().to_owned();
    let cases = [
        (body.clone(), PrivateKeyError::NotPem),
        (
            ed.private_pem
                .replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"),
            PrivateKeyError::Encrypted,
        ),
        (
            ed.public_pem.clone(),
            PrivateKeyError::NotAPrivateKey("a PUBLIC KEY"),
        ),
        (
            ed.private_pem.replacen('\n', "\n%%", 1),
            PrivateKeyError::Unreadable,
        ),
    ];
    for (pem, expected) in cases {
        let err = parse_secret(&pem_secret("k", &pem)).unwrap_err();
        let shown = format!("{err} {err:?}");
        match &err {
            CredentialError::PrivateKey(e) => assert_eq!(e, &expected, "{shown}"),
            other => panic!("expected a PrivateKey error, got {other:?}"),
        }
        assert!(shown.contains("private_key"), "{shown}");
        assert!(!shown.contains(&body[..20]), "{shown} quotes the key");
    }
}

#[tokio::test]
async fn private_key_secret_is_cached_and_rotates_like_an_hmac_one() {
    let (a, b) = (TestKey::ed25519(), TestKey::rsa());
    let (first, second) = (
        pem_secret("ed-key", &a.private_pem),
        pem_secret("rsa-key", &b.private_pem),
    );
    let script = Script::new(vec![Ok(first.as_str()), Ok(second.as_str())]);
    let (src, _clock) = source(&script, 300);
    assert_eq!(
        src.credentials(false).await.unwrap().kind(),
        KeyKind::Ed25519
    );
    assert_eq!(
        src.credentials(false).await.unwrap().kind(),
        KeyKind::Ed25519
    );
    assert_eq!(script.calls(), 1, "parsed once, served from the cache");
    let rotated = src.credentials(true).await.unwrap();
    assert_eq!(
        (rotated.api_key(), rotated.kind()),
        ("rsa-key", KeyKind::Rsa)
    );
}

#[test]
fn private_key_credentials_debug_is_redacted() {
    let ed = TestKey::ed25519();
    let c = parse_secret(&pem_secret("ABCDEFGHIJ", &ed.private_pem)).unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("ABCDEFGHIJ"), "{shown}");
    for line in ed.private_pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!shown.contains(line), "{shown}");
    }
    assert!(shown.contains("Ed25519"), "{shown}");
    assert!(shown.contains("(redacted)"), "{shown}");
}
