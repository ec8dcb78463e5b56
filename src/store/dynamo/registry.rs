//! The accounts registry on DynamoDB: the `REGISTRY` partition, one item per account.
//! Attributes: `account` S, `secret_id` S, `markets` L of S, `symbols` L of S,
//! `tolerance_pct` N (absent: the deployment's), `enabled` BOOL, `updated_at` N.
//! An attribute of the wrong type is reported as such (the field named), never guessed.

use super::{sdk_error, DynamoStore};
use crate::domain::{AccountId, Millis};
use crate::fleet::{AccountEntry, Field, RawAccount};
use crate::store::registry::{
    raw_of, registry_sk, Registry, REGISTRY_ACCOUNT_PREFIX, REGISTRY_ENTITY, REGISTRY_PK,
};
use crate::store::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

fn type_of(v: &AttributeValue) -> &'static str {
    match v {
        AttributeValue::S(_) => "a string",
        AttributeValue::N(_) => "a number",
        AttributeValue::Bool(_) => "a boolean",
        AttributeValue::L(_) => "a list",
        AttributeValue::M(_) => "a map",
        AttributeValue::Ss(_) => "a string set",
        AttributeValue::Ns(_) => "a number set",
        AttributeValue::Null(_) => "null",
        _ => "another type",
    }
}

fn string(item: &Item, name: &str) -> Field<String> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Field::Absent,
        Some(AttributeValue::S(s)) => Field::Present(s.clone()),
        Some(v) => Field::WrongType(format!("{}, expected a string", type_of(v))),
    }
}

fn number(item: &Item, name: &str) -> Field<String> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Field::Absent,
        Some(AttributeValue::N(n)) => Field::Present(n.clone()),
        Some(v) => Field::WrongType(format!("{}, expected a number", type_of(v))),
    }
}

/// A list of strings (also accepted: a string set, as an operator writing the item by
/// hand with the console may choose).
fn strings(item: &Item, name: &str) -> Field<Vec<String>> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Field::Absent,
        Some(AttributeValue::Ss(set)) => Field::Present(set.clone()),
        Some(AttributeValue::L(list)) => {
            let mut out = Vec::with_capacity(list.len());
            for v in list {
                match v {
                    AttributeValue::S(s) => out.push(s.clone()),
                    other => {
                        return Field::WrongType(format!(
                            "a list holding {}, expected strings",
                            type_of(other)
                        ))
                    }
                }
            }
            Field::Present(out)
        }
        Some(v) => Field::WrongType(format!("{}, expected a list of strings", type_of(v))),
    }
}

fn boolean(item: &Item, name: &str) -> Field<bool> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Field::Absent,
        Some(AttributeValue::Bool(b)) => Field::Present(*b),
        Some(v) => Field::WrongType(format!("{}, expected a boolean", type_of(v))),
    }
}

/// The raw form of a registry item (the account id from its sort key).
pub fn decode_raw(item: &Item) -> Option<RawAccount> {
    let sk = match item.get("sk") {
        Some(AttributeValue::S(s)) => s,
        _ => return None,
    };
    let account = sk.strip_prefix(REGISTRY_ACCOUNT_PREFIX)?.to_owned();
    Some(RawAccount {
        account,
        secret: string(item, "secret_id"),
        markets: strings(item, "markets"),
        symbols: strings(item, "symbols"),
        tolerance_pct: number(item, "tolerance_pct"),
        enabled: boolean(item, "enabled"),
        updated_at: number(item, "updated_at"),
    })
}

fn list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().cloned().map(AttributeValue::S).collect())
}

pub fn encode(entry: &AccountEntry) -> Item {
    let raw = raw_of(entry);
    let mut item = Item::new();
    item.insert("pk".into(), AttributeValue::S(REGISTRY_PK.into()));
    item.insert("sk".into(), AttributeValue::S(registry_sk(&raw.account)));
    item.insert("entity".into(), AttributeValue::S(REGISTRY_ENTITY.into()));
    item.insert("account".into(), AttributeValue::S(raw.account.clone()));
    if let Field::Present(s) = raw.secret {
        item.insert("secret_id".into(), AttributeValue::S(s));
    }
    if let Field::Present(m) = raw.markets {
        item.insert("markets".into(), list(&m));
    }
    if let Field::Present(s) = raw.symbols {
        item.insert("symbols".into(), list(&s));
    }
    if let Field::Present(t) = raw.tolerance_pct {
        item.insert("tolerance_pct".into(), AttributeValue::N(t));
    }
    item.insert("enabled".into(), AttributeValue::Bool(entry.enabled));
    item.insert(
        "updated_at".into(),
        AttributeValue::N(entry.updated_at.to_string()),
    );
    item
}

impl Registry for DynamoStore {
    async fn put_account(&self, entry: &AccountEntry) -> Result<(), StoreError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(encode(entry)))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }

    async fn raw_account(&self, account: &AccountId) -> Result<Option<RawAccount>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .consistent_read(true)
            .key("pk", AttributeValue::S(REGISTRY_PK.into()))
            .key("sk", AttributeValue::S(registry_sk(account.as_str())))
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item.as_ref().and_then(decode_raw))
    }

    async fn raw_accounts(&self) -> Result<Vec<RawAccount>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client()
                .query()
                .table_name(self.table())
                .consistent_read(true)
                .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                .expression_attribute_values(":pk", AttributeValue::S(REGISTRY_PK.into()))
                .expression_attribute_values(
                    ":p",
                    AttributeValue::S(REGISTRY_ACCOUNT_PREFIX.into()),
                )
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            out.extend(page.items().iter().filter_map(decode_raw));
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn set_enabled(
        &self,
        account: &AccountId,
        enabled: bool,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", AttributeValue::S(REGISTRY_PK.into()))
            .key("sk", AttributeValue::S(registry_sk(account.as_str())))
            .update_expression("SET #en = :e, #t = :t")
            .expression_attribute_names("#en", "enabled")
            .expression_attribute_names("#t", "updated_at")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":e", AttributeValue::Bool(enabled))
            .expression_attribute_values(":t", AttributeValue::N(now.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }
}

pub(crate) fn is_condition_failure<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    match e {
        aws_sdk_dynamodb::error::SdkError::ServiceError(se) => {
            se.err().code() == Some("ConditionalCheckFailedException")
        }
        _ => false,
    }
}
