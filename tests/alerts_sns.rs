//! The SNS publisher against the real SDK client with aws-smithy-mocks.

use aws_sdk_sns::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_sdk_sns::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use binance_account_sync::alerts::{failure_alert, SnsPublisher};
use binance_account_sync::core::Mode;

const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:binance-account-sync-alerts";

fn client(rules: &[&Rule]) -> Client {
    let mut interceptor =
        aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
    for r in rules {
        interceptor = interceptor.with_rule(r);
    }
    let conf = aws_sdk_sns::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "test", None, None, "test"))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(interceptor)
        .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

#[tokio::test]
async fn publish_sends_message_attributes() {
    let rule = mock!(Client::publish)
        .match_requests(|r| {
            let attrs = r.message_attributes().cloned().unwrap_or_default();
            let get = |k: &str| {
                attrs.get(k).map(|v| {
                    (
                        v.data_type().to_owned(),
                        v.string_value().map(str::to_owned),
                    )
                })
            };
            r.topic_arn() == Some(TOPIC)
                && r.subject()
                    .is_some_and(|s| s.contains("ExchangeBanned") && s.len() < 100)
                && r.message().is_some_and(|m| m.contains("IP banned"))
                && get("severity") == Some(("String".into(), Some("critical".into())))
                && get("account") == Some(("String".into(), Some("main".into())))
                && get("type") == Some(("String".into(), Some("failure".into())))
        })
        .then_output(|| PublishOutput::builder().message_id("msg-1").build());
    let publisher = SnsPublisher::new(client(&[&rule]), TOPIC);
    let alert = failure_alert(
        "main",
        Mode::Periodic,
        "ExchangeBanned",
        "IP banned by the exchange",
        None,
    );
    let id = publisher.publish(&alert).await.unwrap();
    assert_eq!(id, "msg-1");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn publish_failure_is_a_typed_error() {
    let rule = mock!(Client::publish)
        .sequence()
        .http_status(403, Some(r#"<ErrorResponse><Error><Code>AuthorizationError</Code><Message>denied</Message></Error></ErrorResponse>"#.to_owned()))
        .build();
    let publisher = SnsPublisher::new(client(&[&rule]), TOPIC);
    let alert = failure_alert("main", Mode::Periodic, "StoreUnavailable", "x", None);
    let err = publisher.publish(&alert).await.unwrap_err();
    assert_eq!(err.kind(), "AlertPublishFailed");
    assert!(err.to_string().contains(TOPIC));
}
