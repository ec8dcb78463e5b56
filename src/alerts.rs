//! SNS alerts: one concise message per run that needs a human.
//!
//! A run alerts when it found discrepancies of severity ≥ Warning that were not alerted
//! within the repeat window, recovered or closed a position, or failed. The de-duplication
//! map (discrepancy key → when it was last alerted) lives in `SyncState.alerted`: a key stays
//! while the discrepancy is unresolved and is dropped once it is gone, so a recurrence
//! alerts again. Planning is pure ([`plan_alert`]); [`SnsPublisher`] sends.

use crate::core::Mode;
use crate::domain::{ApiRestrictions, CorrectionKind, Millis, Severity};
use crate::report::{Outcome, SyncReport};
use aws_sdk_sns::types::MessageAttributeValue;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// At most this many discrepancies are listed in one message.
const MAX_LISTED: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    Info,
    Warning,
    Critical,
}

impl AlertSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

impl From<Severity> for AlertSeverity {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Info => Self::Info,
            Severity::Warning => Self::Warning,
            Severity::Critical => Self::Critical,
        }
    }
}

/// What the alert is about (the `type` message attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertType {
    Failure,
    Discrepancy,
    Position,
    Security,
}

impl AlertType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failure => "failure",
            Self::Discrepancy => "discrepancy",
            Self::Position => "position",
            Self::Security => "security",
        }
    }
}

/// One SNS message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// ASCII, under 100 characters (SNS limits).
    pub subject: String,
    pub message: String,
    pub severity: AlertSeverity,
    pub account: String,
    pub alert_type: AlertType,
}

impl Alert {
    /// The SNS message attributes, all of data type String.
    pub fn attributes(&self) -> [(&'static str, &str); 3] {
        [
            ("severity", self.severity.as_str()),
            ("account", &self.account),
            ("type", self.alert_type.as_str()),
        ]
    }
}

/// SNS subjects: ASCII printable, no line breaks, < 100 characters.
fn subject(text: &str) -> String {
    let mut s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if s.len() > 99 {
        s.truncate(96);
        s.push_str("...");
    }
    s
}

/// Whether a failed run alerts: the same failure (`failure:<errorType>`) is alerted once
/// per repeat window, like a discrepancy, so a Binance outage does not page every 30
/// minutes. Returns whether to send and the map to keep (recorded only once sent). A
/// successful run's `plan_alert` drops the key, so a later recurrence alerts again.
pub fn plan_failure_alert(
    error_kind: &str,
    alerted: &BTreeMap<String, Millis>,
    now: Millis,
    repeat_ms: i64,
) -> (bool, BTreeMap<String, Millis>) {
    let key = format!("failure:{error_kind}");
    let mut next = alerted.clone();
    match alerted.get(&key) {
        Some(&at) if now.saturating_sub(at) < repeat_ms => (false, next),
        _ => {
            next.insert(key, now);
            (true, next)
        }
    }
}

/// Plan the alert of a run that returned a report, and the new de-duplication map.
///
/// - a discrepancy key (severity ≥ Warning) alerts when it is not in `alerted`, or was
///   last alerted `repeat_ms` or more ago; otherwise it is kept with its old time;
/// - keys not reported any more are dropped (resolved), except when the run did not look
///   at everything (partial, lease held, too soon): then absence proves nothing;
/// - a recovered or closed position always alerts (it is a one-off correction).
pub fn plan_alert(
    report: &SyncReport,
    alerted: &BTreeMap<String, Millis>,
    now: Millis,
    repeat_ms: i64,
) -> (Option<Alert>, BTreeMap<String, Millis>) {
    if matches!(report.outcome, Outcome::LeaseHeld | Outcome::TooSoon) {
        return (None, alerted.clone());
    }
    let mut next = if report.outcome == Outcome::Partial {
        alerted.clone()
    } else {
        BTreeMap::new()
    };
    let mut fresh = Vec::new();
    for d in report
        .discrepancies
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
    {
        match alerted.get(&d.key) {
            Some(&at) if now.saturating_sub(at) < repeat_ms => {
                next.insert(d.key.clone(), at);
            }
            _ => {
                next.insert(d.key.clone(), now);
                fresh.push(d);
            }
        }
    }
    let recovered = report.count(CorrectionKind::PositionRecovered);
    let closed = report.count(CorrectionKind::PositionClosed);
    if fresh.is_empty() && recovered == 0 && closed == 0 {
        return (None, next);
    }

    let dry = if report.dry_run {
        " (dry run: nothing written)"
    } else {
        ""
    };
    let mut text = format!(
        "Binance account sync of account {} ({} run {}){dry}.\n",
        report.account,
        report.mode.as_str(),
        report.run_id
    );
    let mut severity = AlertSeverity::Info;
    if !fresh.is_empty() {
        let total = report
            .discrepancies
            .iter()
            .filter(|d| d.severity >= Severity::Warning)
            .count();
        let _ = writeln!(
            text,
            "\n{} new discrepancies ({} unresolved in total):",
            fresh.len(),
            total
        );
        for d in fresh.iter().take(MAX_LISTED) {
            severity = severity.max(d.severity.into());
            let pct = d.diff_pct.map(|p| format!(" ({p}%)")).unwrap_or_default();
            let _ = writeln!(text, "- [{:?}] {}: {}{pct}", d.severity, d.key, d.message);
        }
        if fresh.len() > MAX_LISTED {
            let _ = writeln!(
                text,
                "- ... and {} more (see the run report)",
                fresh.len() - MAX_LISTED
            );
        }
    }
    if recovered > 0 || closed > 0 {
        severity = severity.max(AlertSeverity::Warning);
        let _ = writeln!(
            text,
            "\nPositions: {recovered} recovered from the exchange, {closed} closed."
        );
        for c in report
            .corrections
            .iter()
            .filter(|c| {
                matches!(
                    c.kind,
                    CorrectionKind::PositionRecovered | CorrectionKind::PositionClosed
                )
            })
            .take(MAX_LISTED)
        {
            let _ = writeln!(text, "- {}: {}", c.key, c.reason);
        }
    }
    let _ = writeln!(
        text,
        "\nCorrections: {}. Outcome: {:?}. Runbook: docs/runbook.md",
        report.correction_count(),
        report.outcome
    );
    let alert_type = if fresh.is_empty() {
        AlertType::Position
    } else {
        AlertType::Discrepancy
    };
    let what = match (fresh.len(), recovered + closed) {
        (0, p) => format!("{p} position(s) recovered/closed"),
        (n, 0) => format!("{n} discrepancy(ies)"),
        (n, p) => format!("{n} discrepancy(ies), {p} position(s) recovered/closed"),
    };
    let alert = Alert {
        subject: subject(&format!(
            "[{}] Binance sync {}: {what}{}",
            severity.as_str(),
            report.account,
            if report.dry_run { " (dry run)" } else { "" }
        )),
        message: text,
        severity,
        account: report.account.clone(),
        alert_type,
    };
    (Some(alert), next)
}

/// A failed run always alerts.
pub fn failure_alert(
    account: &str,
    mode: Mode,
    kind: &str,
    message: &str,
    invocation_id: Option<&str>,
) -> Alert {
    let mut text = format!(
        "Binance account sync of account {account} ({} run) failed.\n\n",
        mode.as_str()
    );
    let _ = writeln!(text, "Error type: {kind}");
    let _ = writeln!(text, "Error: {message}");
    if let Some(id) = invocation_id {
        let _ = writeln!(text, "Lambda request id: {id}");
    }
    let _ = writeln!(text, "\nRunbook: docs/runbook.md (SyncFailures)");
    Alert {
        subject: subject(&format!("[critical] Binance sync {account} failed: {kind}")),
        message: text,
        severity: AlertSeverity::Critical,
        account: account.to_owned(),
        alert_type: AlertType::Failure,
    }
}

/// A problem with the API key's permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityFinding {
    /// The key may withdraw funds: a leaked key can empty the account.
    WithdrawalsEnabled,
    /// The key works from any IP address.
    NoIpRestriction,
}

impl SecurityFinding {
    pub fn describe(self) -> &'static str {
        match self {
            Self::WithdrawalsEnabled => {
                "the API key has withdrawals enabled: a leaked key can move funds out; disable \"Enable Withdrawals\""
            }
            Self::NoIpRestriction => {
                "the API key is not restricted to trusted IP addresses; restrict it to the bot's and the sync's egress IPs"
            }
        }
    }
}

/// What is wrong with the key's permissions (empty when nothing).
pub fn security_findings(r: &ApiRestrictions) -> Vec<SecurityFinding> {
    let mut out = Vec::new();
    if r.enable_withdrawals {
        out.push(SecurityFinding::WithdrawalsEnabled);
    }
    if !r.ip_restrict {
        out.push(SecurityFinding::NoIpRestriction);
    }
    out
}

/// The alert for security findings, if any.
pub fn security_alert(account: &str, findings: &[SecurityFinding]) -> Option<Alert> {
    if findings.is_empty() {
        return None;
    }
    let severity = if findings.contains(&SecurityFinding::WithdrawalsEnabled) {
        AlertSeverity::Critical
    } else {
        AlertSeverity::Warning
    };
    let mut text = format!(
        "The Binance API key used for account {account} is riskier than it needs to be:\n\n"
    );
    for f in findings {
        let _ = writeln!(text, "- {}", f.describe());
    }
    let _ = writeln!(
        text,
        "\nThe sync only reads; the bot only trades. Runbook: docs/runbook.md (Security)"
    );
    Some(Alert {
        subject: subject(&format!(
            "[{}] Binance API key of {account}: security risk",
            severity.as_str()
        )),
        message: text,
        severity,
        account: account.to_owned(),
        alert_type: AlertType::Security,
    })
}

/// Whether the key's restrictions should be checked now.
pub fn security_check_due(last_check: Option<Millis>, now: Millis, hours: u64) -> bool {
    let interval = i64::try_from(hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX);
    match last_check {
        None => true,
        Some(at) => now.saturating_sub(at) >= interval,
    }
}

/// Why an alert was not sent.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("could not build the SNS message: {0}")]
    Build(String),
    #[error("SNS publish to {topic} failed: {detail}")]
    Publish { topic: String, detail: String },
}

impl AlertError {
    pub fn kind(&self) -> &'static str {
        "AlertPublishFailed"
    }
}

/// Publishes alerts to one SNS topic.
#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsPublisher {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// Publish; returns the SNS message id.
    pub async fn publish(&self, alert: &Alert) -> Result<String, AlertError> {
        let mut req = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&alert.subject)
            .message(&alert.message);
        for (name, value) in alert.attributes() {
            let attr = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| AlertError::Build(e.to_string()))?;
            req = req.message_attributes(name, attr);
        }
        let out = req.send().await.map_err(|e| {
            use aws_sdk_sns::error::ProvideErrorMetadata;
            let detail = match e.code() {
                Some(code) => format!("{code}: {}", e.message().unwrap_or("")),
                None => format!("{e}"),
            };
            AlertError::Publish {
                topic: self.topic_arn.clone(),
                detail,
            }
        })?;
        Ok(out.message_id.unwrap_or_default())
    }
}
