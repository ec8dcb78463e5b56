//! A panic is a failed run, not a crash: the handler returns errorType `Panic` with a
//! message that never carries data, the failure alert goes out, and the lease the run
//! had taken is released, so the next run goes ahead at once (not 15 minutes later). The
//! test-only `"test_panic": true` payload is refused unless the function runs against a
//! local emulator. In memory, with the simulator; `make e2e` proves the same on the built
//! function in the emulator.

mod support;

use aws_sdk_sns::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use binance_account_sync::alerts::SnsPublisher;
use binance_account_sync::lambda::{App, HandlerError, PayloadError};
use binance_account_sync::report::Outcome;
use binance_account_sync::store::memory::MemoryStore;
use binance_account_sync::store::Store;
use lambda_runtime::Diagnostic;
use serde_json::json;
use std::sync::Once;
use support::lambda::{config, ctx};
use support::wrappers::{PanicOnFirstApply, PANIC_SECRET};
use support::Sim;

const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:binance-account-sync-alerts";

/// The production hook (it records where a panic happened), forwarding to the harness's
/// own so a failing assertion here still prints its message.
fn hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| binance_account_sync::lambda::panic::install_hook(true));
}

fn sns(rules: &[&Rule]) -> aws_sdk_sns::Client {
    let mut interceptor =
        aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
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
    aws_sdk_sns::Client::from_conf(conf)
}

#[tokio::test]
async fn a_panic_mid_run_is_a_failed_run_with_its_alert_and_the_lease_released() {
    hook();
    let sim = Sim::demo().await;
    let memory = MemoryStore::new();
    let store = PanicOnFirstApply::new(&memory);
    // The failure alert: critical, subject naming the errorType, the location in the
    // message and never the secret the panic's message held.
    let panic_alert = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|r| {
            r.subject().is_some_and(|s| s.contains("failed: Panic"))
                && r.message().is_some_and(|m| {
                    m.contains("Error type: Panic")
                        && m.contains("tests/support/wrappers.rs")
                        && !m.contains(PANIC_SECRET)
                })
        })
        .then_output(|| PublishOutput::builder().message_id("panic-1").build());
    let other_alerts = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|r| !r.subject().is_some_and(|s| s.contains("Panic")))
        .then_output(|| PublishOutput::builder().message_id("other").build());
    let publisher = SnsPublisher::new(sns(&[&panic_alert, &other_alerts]), TOPIC);
    let mut app = App::new(config(), sim.client(), store, Some(publisher), "fn");
    app.emit_metrics = false;
    let account = app.config.account.clone();

    let err = app
        .handle(json!({"mode": "emergency"}), &ctx("req-panics"))
        .await
        .expect_err("the run panicked");
    assert_eq!(err.kind(), "Panic");
    assert!(matches!(err, HandlerError::Panic(_)));
    let d: Diagnostic = err.into();
    assert_eq!(d.error_type, "Panic");
    assert!(
        d.error_message.contains("tests/support/wrappers.rs"),
        "the location is reported: {}",
        d.error_message
    );
    assert!(
        !d.error_message.contains(PANIC_SECRET),
        "{}",
        d.error_message
    );
    assert_eq!(panic_alert.num_calls(), 1, "one failure alert");

    let state = memory.state(&account).await.expect("state");
    assert_eq!(state.lease_owner, None, "the lease is released");
    assert_eq!(state.last_outcome.as_deref(), Some("failed: Panic"));
    let last_error = state.last_error.expect("the failure is recorded");
    assert!(last_error.starts_with("Panic: "), "{last_error}");
    assert!(!last_error.contains(PANIC_SECRET), "{last_error}");

    // The next invocation of the same container runs at once: no lease to wait out.
    let report = app
        .handle(json!({"mode": "emergency"}), &ctx("req-next"))
        .await
        .expect("the next run");
    assert_eq!(report.outcome, Outcome::Complete);
    assert!(report.correction_count() > 0);
    sim.shutdown().await;
}

/// An App whose exchange is a closed port: any I/O would be an ExchangeUnavailable.
fn app_without_io(allow_test_panic: bool) -> App<support::Client, MemoryStore> {
    use binance_account_sync::exchange::binance::{BinanceClient, BinanceConfig};
    use binance_account_sync::exchange::credentials::{Credentials as Keys, StaticCredentials};
    let exchange = BinanceClient::new(
        BinanceConfig {
            base_url: "http://127.0.0.1:9".parse().expect("url"),
            max_retries: 0,
            ..BinanceConfig::default()
        },
        StaticCredentials(Keys::new("k", "s")),
        reqwest::Client::new(),
    )
    .expect("client");
    let mut app = App::new(config(), exchange, MemoryStore::new(), None, "fn");
    app.emit_metrics = false;
    app.allow_test_panic = allow_test_panic;
    app
}

#[tokio::test]
async fn test_panic_payload_is_refused_outside_a_local_emulator() {
    let app = app_without_io(false);
    let err = app
        .handle(
            json!({"mode": "emergency", "test_panic": true}),
            &ctx("req-1"),
        )
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), "PayloadError");
    assert!(matches!(
        err,
        HandlerError::Payload(PayloadError::TestPanicRefused)
    ));
    assert!(err.to_string().contains("AWS_ENDPOINT_URL"), "{err}");
    // Refused before any I/O: nothing was written, not even the sync state.
    let (records, _) = app.store.load(&app.config.account).await.expect("load");
    assert!(records.cursors.is_empty() && records.balances.is_empty());
    let state = app.store.state(&app.config.account).await.expect("state");
    assert_eq!(state.last_attempt_at, None);
}

#[tokio::test]
async fn test_panic_payload_on_a_local_emulator_is_a_failed_run_with_error_type_panic() {
    hook();
    let app = app_without_io(true);
    let err = app
        .handle(
            json!({"mode": "periodic", "test_panic": true}),
            &ctx("req-2"),
        )
        .await
        .expect_err("panics");
    assert_eq!(err.kind(), "Panic");
    assert!(
        err.to_string()
            .contains("test_panic requested by the payload"),
        "a literal message is reported: {err}"
    );
    assert!(err.to_string().contains("src/lambda/handler.rs"), "{err}");
}
