//! `make deploy` (scripts/deploy.sh) deploys one environment of samconfig.toml. No AWS is
//! reachable here, so these tests run the script's dry run (`DEPLOY_DRY_RUN=1`), which
//! prints the `sam deploy` command it would run, and check the arguments it builds.

use std::process::{Command, Output};

const SECRET_ARN: &str =
    "arn:aws:secretsmanager:ap-northeast-1:000000000000:secret:binance/sync-AbCdEf";

fn dry_run(env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/deploy.sh"));
    for v in [
        "DEPLOY_ENV",
        "SYNC_ACCOUNTS",
        "SYNC_ACCOUNT_ID",
        "BINANCE_SECRET_ARN",
        "ALERT_EMAIL",
        "SCHEDULE",
        "TOLERANCE_PCT",
        "STACK_NAME",
        "AWS_REGION",
        "SAMCONFIG",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("DEPLOY_DRY_RUN", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("scripts/deploy.sh runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn each_environment_deploys_its_own_stack_with_its_own_parameters() {
    let prod = dry_run(&[("DEPLOY_ENV", "prod"), ("BINANCE_SECRET_ARN", SECRET_ARN)]);
    assert_eq!(prod.status.code(), Some(0), "{}", stderr(&prod));
    let cmd = stdout(&prod);
    assert!(cmd.starts_with("sam deploy "), "{cmd}");
    assert!(cmd.contains("--config-env prod"), "{cmd}");
    assert!(
        cmd.contains("--stack-name binance-account-sync-prod"),
        "{cmd}"
    );
    assert!(cmd.contains("ScheduleMinutes=30"), "{cmd}");
    assert!(
        cmd.contains(&format!("BinanceSecretArn={SECRET_ARN}")),
        "{cmd}"
    );

    let dev = dry_run(&[("DEPLOY_ENV", "dev"), ("BINANCE_SECRET_ARN", SECRET_ARN)]);
    assert_eq!(dev.status.code(), Some(0), "{}", stderr(&dev));
    let cmd = stdout(&dev);
    assert!(
        cmd.contains("--stack-name binance-account-sync-dev"),
        "{cmd}"
    );
    assert!(cmd.contains("AccountId=dev"), "{cmd}");
    assert!(cmd.contains("SchedulePeriodSeconds=3600"), "{cmd}");

    let default = dry_run(&[("BINANCE_SECRET_ARN", SECRET_ARN)]);
    assert_eq!(default.status.code(), Some(0), "{}", stderr(&default));
    assert!(stdout(&default).contains("--config-env default"));
}

#[test]
fn environment_variables_override_the_file_and_a_schedule_brings_its_period() {
    let out = dry_run(&[
        ("DEPLOY_ENV", "prod"),
        ("BINANCE_SECRET_ARN", SECRET_ARN),
        ("SYNC_ACCOUNT_ID", "desk-2"),
        ("SCHEDULE", "rate(2 hours)"),
        ("STACK_NAME", "sync-desk-2"),
        ("AWS_REGION", "eu-central-1"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cmd = stdout(&out);
    for want in [
        "AccountId=desk-2",
        "SchedulePeriodSeconds=7200",
        "ScheduleMinutes=120",
        "--stack-name sync-desk-2",
        "--region eu-central-1",
    ] {
        assert!(cmd.contains(want), "{want} in {cmd}");
    }
    assert!(!cmd.contains("AccountId=main"), "{cmd}");
}

#[test]
fn a_missing_secret_an_unknown_environment_or_a_mismatched_schedule_is_refused() {
    let out = dry_run(&[("DEPLOY_ENV", "prod")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("BINANCE_SECRET_ARN"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());

    let out = dry_run(&[
        ("DEPLOY_ENV", "staging"),
        ("BINANCE_SECRET_ARN", SECRET_ARN),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no [staging.deploy.parameters]"),
        "{}",
        stderr(&out)
    );

    let dir = std::env::temp_dir().join(format!("bas-samconfig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("samconfig.toml");
    std::fs::write(
        &path,
        "version = 0.1\n[default.deploy.parameters]\nstack_name = \"s\"\nparameter_overrides = [\"AccountId=main\", \"ScheduleExpression=rate(15 minutes)\", \"SchedulePeriodSeconds=1800\", \"ScheduleMinutes=30\"]\n",
    )
    .expect("write samconfig");
    let out = dry_run(&[
        ("SAMCONFIG", path.to_str().expect("utf-8 path")),
        ("BINANCE_SECRET_ARN", SECRET_ARN),
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("needs SchedulePeriodSeconds=900 and ScheduleMinutes=15"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_fleet_deploys_without_an_account_or_a_secret_of_its_own() {
    let out = dry_run(&[("DEPLOY_ENV", "prod"), ("SYNC_ACCOUNTS", "registry")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cmd = stdout(&out);
    assert!(cmd.contains("Accounts=registry"), "{cmd}");
    assert!(
        !cmd.contains("AccountId="),
        "the registry names the accounts: {cmd}"
    );
    assert!(
        !cmd.contains("BinanceSecretArn="),
        "each account names its secret: {cmd}"
    );
    // One account by environment still needs its secret.
    let out = dry_run(&[("DEPLOY_ENV", "prod"), ("SYNC_ACCOUNTS", "environment")]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("BINANCE_SECRET_ARN"),
        "{}",
        stderr(&out)
    );
}
