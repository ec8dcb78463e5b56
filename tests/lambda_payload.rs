//! Every fixture under tests/fixtures/events/: `reject_*` must be refused, the rest accepted.

use binance_account_sync::core::Mode;
use binance_account_sync::lambda::payload::{parse_event, Invocation, PayloadError};
use std::path::PathBuf;

fn fixture(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(name: &str) -> Result<Invocation, PayloadError> {
    parse_event(fixture(name))
}

#[test]
fn every_fixture_is_accepted_or_rejected_as_named() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".json") {
            continue;
        }
        seen += 1;
        let result = parse(&name);
        if name.starts_with("reject_") {
            let err = result.expect_err(&name);
            assert_eq!(err.kind(), "PayloadError");
            assert!(!err.to_string().is_empty());
        } else {
            result.unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    assert!(seen >= 15, "only {seen} fixtures");
}

#[test]
fn scheduler_input_is_periodic() {
    assert_eq!(
        parse("scheduler_periodic.json").unwrap(),
        Invocation {
            account: None,
            mode: Mode::Periodic,
            dry_run: false,
            lookback_days: None,
            test_panic: false
        }
    );
}

#[test]
fn eventbridge_scheduled_event_is_periodic() {
    assert_eq!(
        parse("eventbridge_scheduled_event.json").unwrap(),
        Invocation {
            account: None,
            mode: Mode::Periodic,
            dry_run: false,
            lookback_days: None,
            test_panic: false
        }
    );
}

#[test]
fn manual_emergency_invoke() {
    assert_eq!(
        parse("manual_emergency.json").unwrap(),
        Invocation {
            account: None,
            mode: Mode::Emergency,
            dry_run: false,
            lookback_days: Some(30),
            test_panic: false
        }
    );
    assert_eq!(
        parse("manual_periodic_dry_run.json").unwrap(),
        Invocation {
            account: None,
            mode: Mode::Periodic,
            dry_run: true,
            lookback_days: None,
            test_panic: false
        }
    );
    assert_eq!(
        parse("manual_emergency_max_lookback.json")
            .unwrap()
            .lookback_days,
        Some(365)
    );
}

#[test]
fn rejections_are_specific() {
    use PayloadError::*;
    assert!(
        matches!(parse("reject_unknown_mode.json"), Err(UnknownMode { mode }) if mode == "full")
    );
    assert!(matches!(
        parse("reject_mode_wrong_case.json"),
        Err(UnknownMode { .. })
    ));
    assert!(matches!(
        parse("reject_mode_wrong_type.json"),
        Err(WrongType { field: "mode", .. })
    ));
    assert!(matches!(
        parse("reject_dry_run_wrong_type.json"),
        Err(WrongType {
            field: "dry_run",
            ..
        })
    ));
    assert!(
        matches!(parse("reject_unknown_field.json"), Err(UnknownField { field }) if field == "force")
    );
    assert!(
        matches!(parse("reject_negative_lookback.json"), Err(LookbackOutOfRange { value }) if value == "-1")
    );
    assert!(matches!(
        parse("reject_zero_lookback.json"),
        Err(LookbackOutOfRange { .. })
    ));
    assert!(
        matches!(parse("reject_absurd_lookback.json"), Err(LookbackOutOfRange { value }) if value == "100000")
    );
    assert!(matches!(
        parse("reject_fractional_lookback.json"),
        Err(LookbackOutOfRange { .. })
    ));
    assert!(matches!(
        parse("reject_lookback_as_string.json"),
        Err(WrongType {
            field: "lookback_days",
            ..
        })
    ));
    assert!(matches!(
        parse("reject_missing_mode.json"),
        Err(MissingMode)
    ));
    assert!(matches!(
        parse("reject_array.json"),
        Err(NotAnObject { found: "an array" })
    ));
    assert!(matches!(
        parse("reject_string.json"),
        Err(NotAnObject { found: "a string" })
    ));
    assert!(matches!(
        parse("reject_other_eventbridge_event.json"),
        Err(UnsupportedEvent { .. })
    ));
}

#[test]
fn long_caller_input_is_clipped_in_errors() {
    let long = "x".repeat(10_000);
    let err = parse_event(serde_json::json!({ "mode": long })).unwrap_err();
    assert!(err.to_string().len() < 200, "{err}");
}

#[test]
fn test_panic_is_parsed_only_as_a_boolean_beside_a_mode() {
    assert!(parse("local_test_panic.json").unwrap().test_panic);
    assert!(!parse("manual_emergency.json").unwrap().test_panic);
    assert!(matches!(
        parse("reject_test_panic_wrong_type.json"),
        Err(PayloadError::WrongType {
            field: "test_panic",
            ..
        })
    ));
    assert!(matches!(
        parse_event(serde_json::json!({"test_panic": true})),
        Err(PayloadError::MissingMode)
    ));
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn local_emulator_means_every_aws_endpoint_on_loopback() {
    use binance_account_sync::lambda::payload::is_local_emulator;
    for url in [
        "http://127.0.0.1:4566",
        "http://127.0.0.2:4566/",
        "http://[::1]:4566",
        "http://localhost:4566",
    ] {
        assert!(
            is_local_emulator(env(&[("AWS_ENDPOINT_URL", url)])),
            "{url}"
        );
    }
    // Real AWS: no endpoint override at all (what the template deploys).
    assert!(!is_local_emulator(env(&[
        ("AWS_REGION", "eu-west-1"),
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
    ])));
    for url in [
        "https://dynamodb.eu-west-1.amazonaws.com",
        "http://10.0.0.5:4566",
        "http://127.0.0.1.example.com",
        "not a url",
        "",
    ] {
        assert!(
            !is_local_emulator(env(&[("AWS_ENDPOINT_URL", url)])),
            "{url:?}"
        );
    }
    // One service sent elsewhere, or the endpoints ignored: not local.
    assert!(!is_local_emulator(env(&[
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        (
            "AWS_ENDPOINT_URL_SNS",
            "https://sns.eu-west-1.amazonaws.com"
        ),
    ])));
    assert!(!is_local_emulator(env(&[
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
    ])));
    assert!(is_local_emulator(env(&[
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ("AWS_ENDPOINT_URL_DYNAMODB", "http://localhost:8000"),
    ])));
}

#[test]
fn a_fleet_invoke_names_its_account() {
    let inv = parse("fleet_account_periodic.json").unwrap();
    assert_eq!(inv.account.as_ref().map(|a| a.as_str()), Some("alice"));
    assert_eq!(inv.mode, Mode::Periodic);
    assert!(matches!(
        parse("reject_account_with_hash.json"),
        Err(PayloadError::BadAccount { .. })
    ));
}
