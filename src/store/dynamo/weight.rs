//! The shared weight ledger on DynamoDB. A reservation is one `UpdateItem`:
//! `ADD used :w` on the minute's item, conditional on `used <= share - w` (or no item
//! yet), so two invocations adding at once can never pass the share together: DynamoDB
//! applies a conditional write atomically per item. A refusal returns the item
//! (`ReturnValuesOnConditionCheckFailure = ALL_OLD`): how much the minute holds.

use super::registry::is_condition_failure;
use super::{sdk_error, DynamoStore};
use crate::domain::Millis;
use crate::fleet::ledger::{LedgerKey, Reservation, ITEM_TTL_MS, MINUTE_MS};
use crate::store::weight::{minute_sk, weight_pk, LedgerFuture, WeightLedger, BAN_SK};
use crate::store::StoreError;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn int_of(item: Option<&HashMap<String, AttributeValue>>, name: &str) -> Option<i64> {
    match item?.get(name)? {
        AttributeValue::N(v) => v.parse().ok(),
        _ => None,
    }
}

/// The weight a minute's item holds (None: no item, or not a count).
fn used_of(item: Option<&HashMap<String, AttributeValue>>) -> Option<u64> {
    int_of(item, "used").and_then(|u| u64::try_from(u).ok())
}

/// The minute's item expires an hour after its minute (the table's TTL, `expires_at` in
/// seconds).
fn expires_at_s(minute: i64) -> i64 {
    ((minute + 1) * MINUTE_MS + ITEM_TTL_MS) / 1000
}

impl DynamoStore {
    /// An update of the minute's item, its names (`#u` used, `#x` expires_at, `#e` entity)
    /// and its bookkeeping values (`:x`, `:e`) bound: `reserve` and `raise` differ only in
    /// how they change `used`, and must keep the item's TTL and entity the same.
    fn minute_update(&self, pk: String, minute: i64) -> UpdateItemFluentBuilder {
        self.client()
            .update_item()
            .table_name(self.table())
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(minute_sk(minute)))
            .expression_attribute_names("#u", "used")
            .expression_attribute_names("#x", "expires_at")
            .expression_attribute_names("#e", "entity")
            .expression_attribute_values(":x", n(expires_at_s(minute)))
            .expression_attribute_values(":e", AttributeValue::S("weight_minute".into()))
    }

    /// A ledger item (a minute's, or the ban's), read consistently: every invocation must
    /// see what the others wrote last.
    async fn ledger_item(
        &self,
        pk: String,
        sk: String,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .consistent_read(true)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk))
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item)
    }
}

impl WeightLedger for DynamoStore {
    fn reserve(
        &self,
        key: &LedgerKey,
        minute: i64,
        weight: u64,
        share: u64,
    ) -> LedgerFuture<'_, Reservation> {
        let pk = weight_pk(key);
        Box::pin(async move {
            if weight > share {
                return Ok(Reservation::Full { used: 0 });
            }
            let result = self
                .minute_update(pk, minute)
                .update_expression("ADD #u :w SET #x = :x, #e = :e")
                .condition_expression("attribute_not_exists(#u) OR #u <= :room")
                .expression_attribute_values(":w", n(weight))
                .expression_attribute_values(":room", n(share - weight))
                .return_values(ReturnValue::UpdatedNew)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            match result {
                Ok(out) => Ok(Reservation::Granted {
                    used: used_of(out.attributes.as_ref()).unwrap_or(weight),
                }),
                Err(SdkError::ServiceError(se))
                    if se.err().is_conditional_check_failed_exception() =>
                {
                    let used = match se.err() {
                        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => {
                            used_of(c.item.as_ref())
                        }
                        _ => None,
                    };
                    Ok(Reservation::Full {
                        used: used.unwrap_or(share),
                    })
                }
                Err(e) => Err(sdk_error("UpdateItem", e)),
            }
        })
    }

    fn raise(&self, key: &LedgerKey, minute: i64, used: u64) -> LedgerFuture<'_, ()> {
        let pk = weight_pk(key);
        Box::pin(async move {
            let result = self
                .minute_update(pk, minute)
                .update_expression("SET #u = :u, #x = :x, #e = :e")
                .condition_expression("attribute_not_exists(#u) OR #u < :u")
                .expression_attribute_values(":u", n(used))
                .send()
                .await;
            match result {
                // Already at least that high: nothing to raise.
                Ok(_) => Ok(()),
                Err(e) if is_condition_failure(&e) => Ok(()),
                Err(e) => Err(sdk_error("UpdateItem", e)),
            }
        })
    }

    fn banned_until(&self, key: &LedgerKey) -> LedgerFuture<'_, Option<Millis>> {
        let pk = weight_pk(key);
        Box::pin(async move {
            let item = self.ledger_item(pk, BAN_SK.into()).await?;
            Ok(int_of(item.as_ref(), "banned_until"))
        })
    }

    fn record_ban(&self, key: &LedgerKey, until: Millis) -> LedgerFuture<'_, ()> {
        let pk = weight_pk(key);
        Box::pin(async move {
            let result = self
                .client()
                .update_item()
                .table_name(self.table())
                .key("pk", AttributeValue::S(pk))
                .key("sk", AttributeValue::S(BAN_SK.into()))
                .update_expression("SET #b = :u, #x = :x, #e = :e")
                .condition_expression("attribute_not_exists(#b) OR #b < :u")
                .expression_attribute_names("#b", "banned_until")
                .expression_attribute_names("#x", "expires_at")
                .expression_attribute_names("#e", "entity")
                .expression_attribute_values(":u", n(until))
                .expression_attribute_values(":x", n((until + ITEM_TTL_MS) / 1000))
                .expression_attribute_values(":e", AttributeValue::S("weight_ban".into()))
                .send()
                .await;
            match result {
                Ok(_) => Ok(()),
                Err(e) if is_condition_failure(&e) => Ok(()),
                Err(e) => Err(sdk_error("UpdateItem", e)),
            }
        })
    }

    fn used(&self, key: &LedgerKey, minute: i64) -> LedgerFuture<'_, u64> {
        let pk = weight_pk(key);
        Box::pin(async move {
            let item = self.ledger_item(pk, minute_sk(minute)).await?;
            Ok(used_of(item.as_ref()).unwrap_or(0))
        })
    }
}
