//! The Secrets Manager credential source: caching, TTL, refresh, outages, malformed secrets.

use binance_account_sync::exchange::credentials::{CredentialError, CredentialSource, Credentials};
use binance_account_sync::secrets::{
    parse_secret, Clock, FetchError, SecretFetcher, SecretsManagerCredentials,
};
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
    assert_eq!(rotated.api_secret(), "secret-2");
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
