//! Lambda's errorType is the stable kind(), not the Rust type name.

use binance_account_sync::config::ConfigError;
use binance_account_sync::exchange::ExchangeError;
use binance_account_sync::lambda::panic::PanicReport;
use binance_account_sync::lambda::payload::parse_event;
use binance_account_sync::lambda::HandlerError;
use binance_account_sync::service::SyncError;
use binance_account_sync::store::StoreError;
use lambda_runtime::Diagnostic;

fn diagnostic(e: HandlerError) -> Diagnostic {
    e.into()
}

#[test]
fn error_type_is_the_stable_kind() {
    let cases: Vec<(HandlerError, &str)> = vec![
        (
            parse_event(serde_json::json!({"mode": "x"}))
                .unwrap_err()
                .into(),
            "PayloadError",
        ),
        (
            ConfigError::Missing {
                name: "SYNC_ACCOUNT_ID",
            }
            .into(),
            "ConfigError",
        ),
        (
            SyncError::from(ExchangeError::Banned {
                retry_after_s: Some(60),
            })
            .into(),
            "ExchangeBanned",
        ),
        (
            SyncError::from(ExchangeError::Auth {
                code: -2015,
                msg: "Invalid API-key".into(),
            })
            .into(),
            "ExchangeAuthError",
        ),
        (
            SyncError::from(StoreError::Unavailable("timeout".into())).into(),
            "StoreUnavailable",
        ),
        (
            HandlerError::Init {
                kind: "InitError",
                message: "x".into(),
            },
            "InitError",
        ),
        (
            HandlerError::Panic(PanicReport {
                location: Some("src/core/trades.rs:1:1".into()),
                message: None,
            }),
            "Panic",
        ),
    ];
    for (err, kind) in cases {
        assert_eq!(err.kind(), kind);
        let d = diagnostic(err);
        assert_eq!(d.error_type, kind);
        assert!(!d.error_message.is_empty());
    }
}

#[test]
fn config_error_message_names_the_variable() {
    let d = diagnostic(
        ConfigError::Missing {
            name: "SYNC_TABLE_NAME",
        }
        .into(),
    );
    assert!(d.error_message.contains("SYNC_TABLE_NAME"));
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["errorType"], "ConfigError");
}

#[tokio::test]
async fn bad_payload_is_rejected_before_any_io() {
    use binance_account_sync::config::Config;
    use binance_account_sync::exchange::binance::{BinanceClient, BinanceConfig};
    use binance_account_sync::exchange::credentials::{Credentials, StaticCredentials};
    use binance_account_sync::lambda::{App, InvocationContext};
    use binance_account_sync::store::memory::MemoryStore;
    let vars = [
        ("SYNC_ACCOUNT_ID", "main"),
        ("SYNC_TABLE_NAME", "records"),
        ("BINANCE_SECRET_ID", "s"),
    ];
    let config = Config::from_lookup(|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    // The exchange points at a closed port: reaching it would be an ExchangeUnavailable,
    // not a PayloadError. The payload error must come first.
    let exchange = BinanceClient::new(
        BinanceConfig {
            base_url: "http://127.0.0.1:9".parse().unwrap(),
            max_retries: 0,
            ..BinanceConfig::default()
        },
        StaticCredentials(Credentials::new("k", "s")),
        reqwest::Client::new(),
    )
    .unwrap();
    let app = App::new(config, exchange, MemoryStore::new(), None, "fn");
    let ctx = InvocationContext {
        request_id: "req-1".into(),
        deadline_ms: Some(1_790_000_000_000),
    };
    for payload in [
        serde_json::json!({"mode": "weekly"}),
        serde_json::json!({"mode": "emergency", "lookback_days": 9999}),
        // A single-account deployment syncs its own account only (a fleet's payload sent
        // to the wrong function changes nothing).
        serde_json::json!({"account": "someone-else", "mode": "emergency"}),
        serde_json::json!({"action": "list_accounts"}),
    ] {
        let err = app.handle(payload.clone(), &ctx).await.unwrap_err();
        assert_eq!(err.kind(), "PayloadError", "{payload}: {err}");
    }
    let err = app
        .handle(
            serde_json::json!({"account": "someone-else", "mode": "periodic"}),
            &ctx,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("\"main\""), "{err}");
    // Its own account id is accepted: the run starts (its deadline has passed, so it
    // stops before its first request, partial).
    let report = app
        .handle(
            serde_json::json!({"account": "main", "mode": "periodic"}),
            &ctx,
        )
        .await
        .expect("the deployment's own account is accepted");
    assert_eq!(report.account.as_str(), "main");
}
