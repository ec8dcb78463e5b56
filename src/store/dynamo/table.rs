//! Create the table from `infra/table.json`: the `Properties` of the CloudFormation
//! `AWS::DynamoDB::Table` resource. The SAM template uses the same properties, so tests
//! and infrastructure share one definition.

use super::sdk_error;
use crate::store::StoreError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TableDefinition {
    pub attribute_definitions: Vec<AttributeDef>,
    pub key_schema: Vec<KeyDef>,
    pub billing_mode: String,
    #[serde(default)]
    pub point_in_time_recovery_specification: Option<PitrSpec>,
    #[serde(default)]
    pub deletion_protection_enabled: Option<bool>,
    #[serde(default)]
    pub time_to_live_specification: Option<TtlSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AttributeDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct KeyDef {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PitrSpec {
    pub point_in_time_recovery_enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TtlSpec {
    pub attribute_name: String,
    pub enabled: bool,
}

/// What was applied. The key schema, attributes and billing mode are always applied (or
/// creation fails); the other settings are reported because some emulators refuse them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableReport {
    pub applied: Vec<String>,
    /// (setting, why it was not applied)
    pub not_applied: Vec<(String, String)>,
}

/// Options a caller may override for a throwaway table.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    /// Overrides `DeletionProtectionEnabled` (tests pass `Some(false)`).
    pub deletion_protection: Option<bool>,
}

/// How long `create_table_from_definition` waits for ACTIVE.
const ACTIVE_POLLS: u32 = 120;
const ACTIVE_POLL_INTERVAL: Duration = Duration::from_millis(500);

pub fn parse_definition(definition_json: &str) -> Result<TableDefinition, StoreError> {
    serde_json::from_str(definition_json)
        .map_err(|e| StoreError::Rejected(format!("table definition: {e}")))
}

/// Create `table_name` from the definition, wait until it is ACTIVE, then apply PITR and
/// TTL. Deletion protection is part of CreateTable (`options` may override it).
pub async fn create_table_from_definition(
    client: &Client,
    table_name: &str,
    definition_json: &str,
    options: TableOptions,
) -> Result<TableReport, StoreError> {
    let def = parse_definition(definition_json)?;
    let mut report = TableReport::default();

    let mut create = client
        .create_table()
        .table_name(table_name)
        .billing_mode(BillingMode::from(def.billing_mode.as_str()));
    for a in &def.attribute_definitions {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(|e| StoreError::Rejected(format!("attribute definition: {e}")))?,
        );
    }
    for k in &def.key_schema {
        create = create.key_schema(
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| StoreError::Rejected(format!("key schema: {e}")))?,
        );
    }
    let deletion_protection = options
        .deletion_protection
        .or(def.deletion_protection_enabled);
    if let Some(dp) = deletion_protection {
        create = create.deletion_protection_enabled(dp);
    }
    create
        .send()
        .await
        .map_err(|e| sdk_error("CreateTable", e))?;
    report.applied.push(format!(
        "KeySchema, AttributeDefinitions, BillingMode {}",
        def.billing_mode
    ));
    if let Some(dp) = deletion_protection {
        report
            .applied
            .push(format!("DeletionProtectionEnabled {dp}"));
    }

    wait_until_active(client, table_name).await?;

    if let Some(pitr) = &def.point_in_time_recovery_specification {
        let spec = PointInTimeRecoverySpecification::builder()
            .point_in_time_recovery_enabled(pitr.point_in_time_recovery_enabled)
            .build()
            .map_err(|e| StoreError::Rejected(format!("PITR specification: {e}")))?;
        let setting = format!(
            "PointInTimeRecoveryEnabled {}",
            pitr.point_in_time_recovery_enabled
        );
        match client
            .update_continuous_backups()
            .table_name(table_name)
            .point_in_time_recovery_specification(spec)
            .send()
            .await
        {
            Ok(_) => report.applied.push(setting),
            Err(e) => report
                .not_applied
                .push((setting, sdk_error("UpdateContinuousBackups", e).to_string())),
        }
    }
    if let Some(ttl) = &def.time_to_live_specification {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(&ttl.attribute_name)
            .enabled(ttl.enabled)
            .build()
            .map_err(|e| StoreError::Rejected(format!("TTL specification: {e}")))?;
        let setting = format!("TimeToLive {} enabled={}", ttl.attribute_name, ttl.enabled);
        match client
            .update_time_to_live()
            .table_name(table_name)
            .time_to_live_specification(spec)
            .send()
            .await
        {
            Ok(_) => report.applied.push(setting),
            Err(e) => report
                .not_applied
                .push((setting, sdk_error("UpdateTimeToLive", e).to_string())),
        }
    }
    Ok(report)
}

/// Poll DescribeTable (bounded) until the table is ACTIVE.
async fn wait_until_active(client: &Client, table_name: &str) -> Result<(), StoreError> {
    let mut last = None;
    for _ in 0..ACTIVE_POLLS {
        let out = client
            .describe_table()
            .table_name(table_name)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeTable", e))?;
        let status = out.table().and_then(|t| t.table_status()).cloned();
        if status == Some(TableStatus::Active) {
            return Ok(());
        }
        last = status;
        tokio::time::sleep(ACTIVE_POLL_INTERVAL).await;
    }
    Err(StoreError::Unavailable(format!(
        "table {table_name} not ACTIVE after {}s (last status {last:?})",
        ACTIVE_POLLS as u64 * ACTIVE_POLL_INTERVAL.as_millis() as u64 / 1000
    )))
}
