//! `check`: is this setup able to sync? (The origin document's "Debug Commands".) Each
//! check is ok, warn or fail; the command exits 0 unless one fails (warnings do not).
//!
//! 1. `exchange`: Binance answers (`GET /api/v3/time`).
//! 2. `clock`: the offset between this host's clock and the exchange's (the client
//!    corrects for it; a large one is a warning about the host).
//! 3. `key_permissions`: the key can read; trading or withdrawals enabled is a security
//!    finding (fail): the sync only reads.
//! 4. `key_ip_restriction`: no IP restriction is a warning.
//! 5. `table`: the table exists, is ACTIVE and has the keys of `infra/table.json`.
//! 6. `records`: the account's items decode (counts per kind; the ones that do not are
//!    listed by key).
//!
//! Never printed: the key, the secret, a signature, the account's balances.

use super::Out;
use crate::domain::{ApiRestrictions, Millis, Records};
use crate::lambda::{wiring, App};
use crate::store::Store;
use serde::Serialize;
use std::process::ExitCode;

/// The table definition the infrastructure creates.
const TABLE_DEFINITION: &str = include_str!("../../infra/table.json");
/// Above this clock offset (either way) the host's clock is reported: Binance refuses a
/// `timestamp` more than 1 s ahead of its clock when it is not corrected.
const CLOCK_WARN_MS: Millis = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub name: &'static str,
    pub level: Level,
    pub detail: String,
    /// The error kind when the check failed on an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<&'static str>,
    /// Figures (clock offset, record counts, items that do not decode).
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

impl CheckResult {
    fn new(name: &'static str, level: Level, detail: impl Into<String>) -> Self {
        Self {
            name,
            level,
            detail: detail.into(),
            error_type: None,
            data: serde_json::Value::Null,
        }
    }

    fn error(name: &'static str, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            error_type: Some(kind),
            ..Self::new(name, Level::Fail, message)
        }
    }

    fn not_run(name: &'static str, why: &str) -> Self {
        Self::new(name, Level::Fail, format!("not run: {why}"))
    }

    fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

/// The clock check from the measured offset (server minus local).
pub fn clock_check(offset_ms: Millis) -> CheckResult {
    let level = if offset_ms.abs() > CLOCK_WARN_MS {
        Level::Warn
    } else {
        Level::Ok
    };
    let detail = match level {
        Level::Ok => format!("this host's clock is {offset_ms} ms from the exchange's"),
        _ => format!(
            "this host's clock is {offset_ms} ms from the exchange's: the client corrects for it, but fix the host's time sync (NTP)"
        ),
    };
    CheckResult::new("clock", level, detail).with_data(serde_json::json!({"offset_ms": offset_ms}))
}

/// The key's permissions and its IP restriction.
pub fn key_checks(r: &ApiRestrictions) -> [CheckResult; 2] {
    key_checks_for(r, None)
}

/// [`key_checks`] for a deployment with a fixed egress IP (`SYNC_EGRESS_IP`): there the
/// key can and must be restricted to it, so no restriction fails the check.
pub fn key_checks_for(
    r: &ApiRestrictions,
    egress_ip: Option<std::net::IpAddr>,
) -> [CheckResult; 2] {
    let mut problems = Vec::new();
    if !r.enable_reading {
        problems.push("reading is not enabled: the sync cannot read the account");
    }
    if r.enable_spot_and_margin_trading {
        problems.push("spot and margin trading is enabled: the sync only reads, use a read-only key (security finding)");
    }
    if r.enable_withdrawals {
        problems.push("withdrawals are enabled: use a read-only key at once (security finding)");
    }
    let data = serde_json::json!({
        "enable_reading": r.enable_reading,
        "enable_spot_and_margin_trading": r.enable_spot_and_margin_trading,
        "enable_withdrawals": r.enable_withdrawals,
        "ip_restrict": r.ip_restrict,
    });
    let permissions = if problems.is_empty() {
        CheckResult::new(
            "key_permissions",
            Level::Ok,
            "reading only (no trading, no withdrawals)",
        )
    } else {
        CheckResult::new("key_permissions", Level::Fail, problems.join("; "))
    }
    .with_data(data);
    let ip = if r.ip_restrict {
        CheckResult::new("key_ip_restriction", Level::Ok, "restricted to trusted IPs")
    } else if let Some(ip) = egress_ip {
        CheckResult::new(
            "key_ip_restriction",
            Level::Fail,
            format!("the key is not restricted to trusted IPs, and this deployment leaves from the fixed IP {ip} (SYNC_EGRESS_IP): restrict the key to it and the bot's IPs"),
        )
    } else {
        CheckResult::new(
            "key_ip_restriction",
            Level::Warn,
            "the key is not restricted to trusted IPs; restrict it to the bot's and the sync's egress IPs",
        )
    };
    [permissions, ip]
}

/// The key schema a table has: (attribute, key type, attribute type), e.g.
/// `("pk", "HASH", "S")`.
pub type KeySchema = Vec<(String, String, String)>;

/// The key schema `infra/table.json` defines.
pub fn expected_key_schema() -> Result<KeySchema, String> {
    let def = crate::store::dynamo::table::parse_definition(TABLE_DEFINITION)
        .map_err(|e| e.to_string())?;
    def.key_schema
        .iter()
        .map(|k| {
            let ty = def
                .attribute_definitions
                .iter()
                .find(|a| a.attribute_name == k.attribute_name)
                .map(|a| a.attribute_type.clone())
                .ok_or_else(|| format!("{} has no attribute definition", k.attribute_name))?;
            Ok((k.attribute_name.clone(), k.key_type.clone(), ty))
        })
        .collect()
}

/// The table check from what DescribeTable said.
pub fn table_check(table: &str, status: &str, keys: &KeySchema) -> CheckResult {
    let expected = match expected_key_schema() {
        Ok(e) => e,
        Err(e) => return CheckResult::error("table", "ConfigError", e),
    };
    let show = |k: &KeySchema| {
        k.iter()
            .map(|(n, kt, t)| format!("{n} {kt} {t}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let data = serde_json::json!({"table": table, "status": status, "keys": show(keys)});
    if keys != &expected {
        return CheckResult::new(
            "table",
            Level::Fail,
            format!(
                "{table} has the keys [{}], expected [{}] (infra/table.json)",
                show(keys),
                show(&expected)
            ),
        )
        .with_data(data);
    }
    if status != "ACTIVE" {
        return CheckResult::new(
            "table",
            Level::Fail,
            format!("{table} is {status}, not ACTIVE"),
        )
        .with_data(data);
    }
    CheckResult::new(
        "table",
        Level::Ok,
        format!("{table} is ACTIVE with the keys [{}]", show(keys)),
    )
    .with_data(data)
}

/// The records check: counts per kind, and the items that do not decode by key (their
/// decoding error, never their values).
pub fn records_check(records: &Records) -> CheckResult {
    let counts = serde_json::json!({
        "balances": records.balances.len(),
        "positions": records.positions.len(),
        "dust": records.dust.len(),
        "orders": records.orders.len(),
        "trades": records.trades.len(),
        "checkpoints": records.cursors.len(),
    });
    let skipped: Vec<serde_json::Value> = records
        .skipped
        .iter()
        .map(|s| serde_json::json!({"key": s.key, "detail": s.detail}))
        .collect();
    let summary = format!(
        "{} balances, {} positions, {} dust, {} orders, {} trades, {} checkpoints",
        records.balances.len(),
        records.positions.len(),
        records.dust.len(),
        records.orders.len(),
        records.trades.len(),
        records.cursors.len()
    );
    let data = serde_json::json!({"counts": counts, "not_decoded": skipped});
    if records.skipped.is_empty() {
        CheckResult::new(
            "records",
            Level::Ok,
            format!("every item decodes: {summary}"),
        )
        .with_data(data)
    } else {
        let keys: Vec<&str> = records.skipped.iter().map(|s| s.key.as_str()).collect();
        CheckResult::new(
            "records",
            Level::Fail,
            format!(
                "{} item(s) do not decode (the sync skips them): {}; {summary}",
                keys.len(),
                keys.join(", ")
            ),
        )
        .with_data(data)
    }
}

/// Every check, in order. A check that needs an earlier one that failed is reported as
/// failed and not run (no request sent into an exchange that did not answer).
pub async fn checks(app: &App<wiring::ExchangeImpl, wiring::StoreImpl>) -> Vec<CheckResult> {
    use crate::exchange::Exchange;
    let mut out = Vec::new();

    match app.exchange.measure_clock_offset().await {
        Ok(offset) => {
            out.push(CheckResult::new(
                "exchange",
                Level::Ok,
                format!(
                    "{} answered (GET /api/v3/time)",
                    app.config.binance.base_url
                ),
            ));
            out.push(clock_check(offset));
            match app.exchange.api_restrictions().await {
                Ok(r) => out.extend(key_checks_for(&r, app.config.ledger.egress_ip)),
                Err(e) => {
                    out.push(CheckResult::error(
                        "key_permissions",
                        e.kind(),
                        e.to_string(),
                    ));
                    out.push(CheckResult::not_run(
                        "key_ip_restriction",
                        "the key's restrictions could not be read",
                    ));
                }
            }
        }
        Err(e) => {
            out.push(CheckResult::error("exchange", e.kind(), e.to_string()));
            for name in ["clock", "key_permissions", "key_ip_restriction"] {
                out.push(CheckResult::not_run(name, "the exchange did not answer"));
            }
        }
    }

    let table = app.store.table();
    let described = app
        .store
        .client()
        .describe_table()
        .table_name(table)
        .send()
        .await;
    let table_ok = match described {
        Ok(d) => {
            let desc = d.table();
            let status = desc
                .and_then(|t| t.table_status())
                .map_or("UNKNOWN".to_owned(), |s| s.as_str().to_owned());
            let types = desc.map(|t| t.attribute_definitions()).unwrap_or_default();
            let keys: KeySchema = desc
                .map(|t| t.key_schema())
                .unwrap_or_default()
                .iter()
                .map(|k| {
                    let name = k.attribute_name().to_owned();
                    let ty = types
                        .iter()
                        .find(|a| a.attribute_name() == name)
                        .map_or(String::new(), |a| a.attribute_type().as_str().to_owned());
                    (name, k.key_type().as_str().to_owned(), ty)
                })
                .collect();
            let check = table_check(table, &status, &keys);
            let ok = check.level == Level::Ok;
            out.push(check);
            ok
        }
        Err(e) => {
            let not_found = e
                .as_service_error()
                .is_some_and(|se| se.is_resource_not_found_exception());
            out.push(if not_found {
                CheckResult::error(
                    "table",
                    "StoreRejected",
                    format!("table {table} does not exist (SYNC_TABLE_NAME)"),
                )
            } else {
                let err = crate::store::dynamo::sdk_error("DescribeTable", e);
                CheckResult::error("table", err.kind(), err.to_string())
            });
            false
        }
    };

    if table_ok {
        match app.store.load(&app.config.account).await {
            Ok((records, _)) => out.push(records_check(&records)),
            Err(e) => out.push(CheckResult::error("records", e.kind(), e.to_string())),
        }
    } else {
        out.push(CheckResult::not_run("records", "the table check failed"));
    }
    out
}

/// Run the checks, print them, exit 0 (every check ok or warn) or 1 (one failed).
pub(crate) async fn run(app: &App<wiring::ExchangeImpl, wiring::StoreImpl>, out: Out) -> ExitCode {
    let results = checks(app).await;
    let failed = results.iter().filter(|c| c.level == Level::Fail).count();
    let warned = results.iter().filter(|c| c.level == Level::Warn).count();
    if out.json {
        let doc = serde_json::json!({
            "account": app.config.account.as_str(),
            "ok": failed == 0,
            "failed": failed,
            "warnings": warned,
            "checks": results,
        });
        let printed = out.print_json(&doc);
        if printed != ExitCode::SUCCESS {
            return printed;
        }
    } else {
        println!("Account {} — setup check", app.config.account);
        for c in &results {
            let kind = c.error_type.map_or(String::new(), |k| format!("[{k}] "));
            println!(
                "  {:<4}  {:<18} {kind}{}",
                c.level.as_str(),
                c.name,
                c.detail
            );
        }
        println!(
            "{} check(s): {failed} failed, {warned} warning(s)",
            results.len()
        );
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::exit::FAILURE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restrictions(reading: bool, trading: bool, withdrawals: bool, ip: bool) -> ApiRestrictions {
        ApiRestrictions {
            ip_restrict: ip,
            enable_withdrawals: withdrawals,
            enable_reading: reading,
            enable_spot_and_margin_trading: trading,
        }
    }

    #[test]
    fn a_read_only_ip_restricted_key_passes_both_key_checks() {
        let [p, ip] = key_checks(&restrictions(true, false, false, true));
        assert_eq!((p.level, ip.level), (Level::Ok, Level::Ok));
    }

    #[test]
    fn trading_enabled_fails_as_a_security_finding() {
        let [p, _] = key_checks(&restrictions(true, true, false, true));
        assert_eq!(p.level, Level::Fail);
        assert!(p.detail.contains("trading"), "{}", p.detail);
    }

    #[test]
    fn withdrawals_or_no_reading_fail_the_permissions_check() {
        assert_eq!(
            key_checks(&restrictions(true, false, true, true))[0].level,
            Level::Fail
        );
        assert_eq!(
            key_checks(&restrictions(false, false, false, true))[0].level,
            Level::Fail
        );
    }

    #[test]
    fn with_a_fixed_egress_ip_no_ip_restriction_fails() {
        let ip: std::net::IpAddr = "203.0.113.7".parse().unwrap();
        let [_, restricted] = key_checks_for(&restrictions(true, false, false, true), Some(ip));
        assert_eq!(restricted.level, Level::Ok);
        let [_, open] = key_checks_for(&restrictions(true, false, false, false), Some(ip));
        assert_eq!(open.level, Level::Fail);
        assert!(open.detail.contains("203.0.113.7"), "{}", open.detail);
    }

    #[test]
    fn no_ip_restriction_is_a_warning_not_a_failure() {
        let [p, ip] = key_checks(&restrictions(true, false, false, false));
        assert_eq!((p.level, ip.level), (Level::Ok, Level::Warn));
    }

    #[test]
    fn a_clock_more_than_a_second_off_is_a_warning() {
        assert_eq!(clock_check(-800).level, Level::Ok);
        assert_eq!(clock_check(1500).level, Level::Warn);
        assert_eq!(clock_check(-1500).level, Level::Warn);
    }

    #[test]
    fn the_table_check_wants_the_keys_of_the_infrastructure_definition() {
        let good: KeySchema = vec![
            ("pk".into(), "HASH".into(), "S".into()),
            ("sk".into(), "RANGE".into(), "S".into()),
        ];
        assert_eq!(expected_key_schema().unwrap(), good);
        assert_eq!(table_check("t", "ACTIVE", &good).level, Level::Ok);
        assert_eq!(table_check("t", "CREATING", &good).level, Level::Fail);
        let hash_only: KeySchema = vec![("pk".into(), "HASH".into(), "S".into())];
        let c = table_check("t", "ACTIVE", &hash_only);
        assert_eq!(c.level, Level::Fail);
        assert!(
            c.detail.contains("expected [pk HASH S, sk RANGE S]"),
            "{}",
            c.detail
        );
    }

    #[test]
    fn items_that_do_not_decode_fail_the_records_check_by_key() {
        let mut records = Records::default();
        assert_eq!(records_check(&records).level, Level::Ok);
        records.skipped.push(crate::domain::SkippedItem {
            key: "BALANCE#USDT".into(),
            detail: "free is not a number".into(),
        });
        let c = records_check(&records);
        assert_eq!(c.level, Level::Fail);
        assert!(c.detail.contains("BALANCE#USDT"), "{}", c.detail);
        assert_eq!(c.data["not_decoded"][0]["key"], "BALANCE#USDT");
    }
}
