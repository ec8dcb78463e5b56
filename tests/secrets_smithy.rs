//! The Secrets Manager fetcher against the real SDK client with aws-smithy-mocks rules.

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials as AwsCredentials, Region};
use aws_sdk_secretsmanager::operation::get_secret_value::{
    GetSecretValueError, GetSecretValueOutput,
};
use aws_sdk_secretsmanager::types::error::ResourceNotFoundException;
use aws_sdk_secretsmanager::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use binance_account_sync::exchange::credentials::{CredentialError, CredentialSource};
use binance_account_sync::secrets::{
    FetchError, SecretFetcher, SecretsManagerCredentials, SecretsManagerFetcher,
};
use std::time::Duration;

fn client(rules: &[&Rule]) -> Client {
    let mut interceptor =
        aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
    for r in rules {
        interceptor = interceptor.with_rule(r);
    }
    let conf = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(AwsCredentials::new("AKIDTEST", "test", None, None, "test"))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(interceptor)
        .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

fn ok(value: &'static str) -> Rule {
    mock!(Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("binance/api"))
        .then_output(move || GetSecretValueOutput::builder().secret_string(value).build())
}

fn unavailable() -> Rule {
    mock!(Client::get_secret_value)
        .sequence()
        .http_status(
            503,
            Some(r#"{"__type":"ServiceUnavailable","message":"down"}"#.to_owned()),
        )
        .build()
}

const V1: &str = r#"{"api_key":"key-1","api_secret":"secret-1"}"#;
const V2: &str = r#"{"api_key":"key-2","api_secret":"secret-2"}"#;

#[tokio::test]
async fn get_secret_value_ok_and_rotated() {
    let first = ok(V1);
    let rotated = ok(V2);
    let src = SecretsManagerCredentials::from_client(
        client(&[&first, &rotated]),
        "binance/api",
        Duration::from_secs(300),
    );
    assert_eq!(src.credentials(false).await.unwrap().api_key(), "key-1");
    assert_eq!(src.credentials(false).await.unwrap().api_key(), "key-1");
    assert_eq!(src.credentials(true).await.unwrap().api_key(), "key-2");
    assert_eq!(first.num_calls(), 1);
    assert_eq!(rotated.num_calls(), 1);
}

#[tokio::test]
async fn resource_not_found_is_refused() {
    let rule = mock!(Client::get_secret_value).then_error(|| {
        GetSecretValueError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Secrets Manager can't find the specified secret.")
                .build(),
        )
    });
    let fetcher = SecretsManagerFetcher::new(client(&[&rule]), "binance/api");
    let err = fetcher.fetch().await.unwrap_err();
    assert!(
        matches!(err, FetchError::Refused(ref m) if m.contains("not found")),
        "{err:?}"
    );
}

#[tokio::test]
async fn service_unavailable_falls_back_to_the_cache() {
    let first = ok(V1);
    let down = unavailable();
    let src = SecretsManagerCredentials::from_client(
        client(&[&first, &down]),
        "binance/api",
        Duration::from_secs(300),
    );
    assert_eq!(src.credentials(false).await.unwrap().api_key(), "key-1");
    assert_eq!(src.credentials(true).await.unwrap().api_key(), "key-1");
    assert_eq!(down.num_calls(), 1);
}

#[tokio::test]
async fn service_unavailable_without_cache_is_unavailable() {
    let down = unavailable();
    let src = SecretsManagerCredentials::from_client(
        client(&[&down]),
        "binance/api",
        Duration::from_secs(300),
    );
    let err = src.credentials(false).await.unwrap_err();
    assert!(matches!(err, CredentialError::Unavailable(_)), "{err:?}");
}
