//! The Secrets Manager source against a local emulator: the real SDK client, the real
//! `GetSecretValue`, by name and by ARN, a rotation, and the secrets it must refuse.
//!
//! Needs AWS_ENDPOINT_URL (plus AWS_REGION and fake credentials):
//! `scripts/with-stack.sh cargo test --test secrets_manager` (ministack) or
//! `STACK_EMULATOR=moto scripts/with-stack.sh cargo test --test secrets_manager`.
//! Without it these tests FAIL: a silently skipped integration test proves nothing.
//! The caching rules themselves (TTL, outages) are in `secrets_cache.rs`.

use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::Client;
use binance_account_sync::exchange::credentials::{CredentialError, CredentialSource};
use binance_account_sync::secrets::{
    FetchError, SecretFetcher, SecretsManagerCredentials, SecretsManagerFetcher,
};
use std::time::Duration;

const V1: &str = r#"{"api_key":"key-1","api_secret":"secret-1"}"#;
const V2: &str = r#"{"api_key":"key-2","api_secret":"secret-2"}"#;

async fn client() -> Client {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => {}
        _ => panic!(
            "AWS_ENDPOINT_URL is not set: these integration tests need a local Secrets Manager \
             emulator.\nRun: scripts/with-stack.sh cargo test --test secrets_manager"
        ),
    }
    let config = aws_config::load_from_env().await;
    Client::new(&config)
}

/// A unique secret name (tests run in parallel, the emulator is shared).
fn name() -> String {
    format!("binance/test-{}", uuid::Uuid::new_v4())
}

/// Creates a string secret; returns its ARN as the service reports it.
async fn create(client: &Client, name: &str, value: &str) -> String {
    let out = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("create the secret");
    out.arn().expect("CreateSecret returns the ARN").to_owned()
}

#[tokio::test]
async fn secret_is_read_by_name_and_by_arn() {
    let client = client().await;
    let name = name();
    let arn = create(&client, &name, V1).await;
    for id in [name.as_str(), arn.as_str()] {
        let source =
            SecretsManagerCredentials::from_client(client.clone(), id, Duration::from_secs(300));
        let c = source.credentials(false).await.expect(id);
        assert_eq!(
            (c.api_key(), c.api_secret()),
            ("key-1", Some("secret-1")),
            "{id}"
        );
    }
}

#[tokio::test]
async fn refresh_reads_the_rotated_value_and_the_cache_keeps_it() {
    let client = client().await;
    let name = name();
    create(&client, &name, V1).await;
    let source =
        SecretsManagerCredentials::from_client(client.clone(), &name, Duration::from_secs(300));
    assert_eq!(source.credentials(false).await.unwrap().api_key(), "key-1");
    client
        .put_secret_value()
        .secret_id(&name)
        .secret_string(V2)
        .send()
        .await
        .expect("rotate");
    // Within the TTL the cached key is used: no call to Secrets Manager per invocation.
    assert_eq!(source.credentials(false).await.unwrap().api_key(), "key-1");
    // The exchange rejected the key: a refresh reads the current version (AWSCURRENT).
    let rotated = source.credentials(true).await.unwrap();
    assert_eq!(
        (rotated.api_key(), rotated.api_secret()),
        ("key-2", Some("secret-2"))
    );
    assert_eq!(source.credentials(false).await.unwrap().api_key(), "key-2");
}

#[tokio::test]
async fn a_missing_secret_is_refused_not_retried_as_an_outage() {
    let client = client().await;
    let missing = name();
    let err = SecretsManagerFetcher::new(client.clone(), &missing)
        .fetch()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::Refused(d) if d.contains(&missing) && d.contains("not found")),
        "{err:?}"
    );
    let source = SecretsManagerCredentials::from_client(client, &missing, Duration::from_secs(1));
    assert!(matches!(
        source.credentials(false).await,
        Err(CredentialError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_binary_secret_is_refused() {
    let client = client().await;
    let name = name();
    client
        .create_secret()
        .name(&name)
        .secret_binary(Blob::new(V1.as_bytes()))
        .send()
        .await
        .expect("create a binary secret");
    let err = SecretsManagerFetcher::new(client, &name)
        .fetch()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::Refused(d) if d.contains("no SecretString")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_secret_scheduled_for_deletion_is_refused() {
    let client = client().await;
    let name = name();
    create(&client, &name, V1).await;
    client
        .delete_secret()
        .secret_id(&name)
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("schedule the deletion");
    // GetSecretValue on a secret marked for deletion: InvalidRequestException.
    let err = SecretsManagerFetcher::new(client, &name)
        .fetch()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::Refused(d) if d.contains(&name)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_malformed_secret_is_rejected_without_echoing_it() {
    let client = client().await;
    let name = name();
    create(
        &client,
        &name,
        r#"{"api_key":"k","api_secret":"hunter2","x":"hunter2"}"#,
    )
    .await;
    let source = SecretsManagerCredentials::from_client(client, &name, Duration::from_secs(300));
    let err = source.credentials(false).await.unwrap_err();
    assert!(matches!(err, CredentialError::Malformed(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
}

/// An Ed25519 key's PEM (multi-line, in JSON) survives the real store and signs as the key
/// it was made from; an RSA one is read as RSA.
#[tokio::test]
async fn private_key_secret_is_read_and_its_kind_detected() {
    use binance_account_sync::exchange::keys::KeyKind;
    use binance_sim::testkeys::TestKey;
    let client = client().await;
    for (key, kind) in [
        (TestKey::ed25519(), KeyKind::Ed25519),
        (TestKey::rsa(), KeyKind::Rsa),
    ] {
        let name = name();
        let value = serde_json::json!({"api_key": "pk-1", "private_key": key.private_pem});
        create(&client, &name, &value.to_string()).await;
        let source =
            SecretsManagerCredentials::from_client(client.clone(), &name, Duration::from_secs(300));
        let c = source.credentials(false).await.expect("private_key secret");
        assert_eq!((c.api_key(), c.kind()), ("pk-1", kind));
        if kind == KeyKind::Ed25519 {
            // Ed25519 is deterministic: the same signature as the key's own.
            assert_eq!(
                c.signing_key().sign(b"timestamp=1"),
                key.sign("timestamp=1")
            );
        }
    }
}
