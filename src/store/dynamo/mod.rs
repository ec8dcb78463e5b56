//! DynamoDB adapter of the [`Store`] port. One table shared with the trading bot; see
//! `docs/data-model.md` for the items and the write contract.
//!
//! The client is built by the caller (from `aws_config`, which honours `AWS_ENDPOINT_URL`);
//! nothing here names an endpoint, region, account or ARN.

pub mod item;
pub mod registry;
pub mod table;
mod tx;
pub mod verdicts;
pub mod weight;

use crate::domain::{
    AccountId, Correction, EmergencyScope, Millis, Record, Records, SkippedItem, SymbolCache,
    SyncState,
};
use crate::store::keys::{self, entity};
use crate::store::{ApplyOutcome, AuditEntry, LeaseOutcome, LoadScope, Store, StoreError};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, Put, ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use item::{decode_audit, decode_record, decode_state, Item};
use std::collections::HashMap;

pub use table::{create_table_from_definition, TableOptions, TableReport};

/// The DynamoDB store: one table, one partition per account.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Query requests sent (the bench's store request count).
    requests: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Decode items, skipping (and listing) the ones that do not decode.
fn decode_items(items: &[Item], records: &mut Records) {
    for it in items {
        match decode_record(it) {
            Ok(Some(record)) => keys::insert_record(records, record),
            Ok(None) => {}
            Err(e) => {
                let r = item::ItemReader::new(it);
                records.skipped.push(SkippedItem {
                    key: r.key.clone(),
                    detail: e.to_string(),
                });
            }
        }
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            requests: Default::default(),
        }
    }

    /// Query requests sent so far by this store (and its clones).
    pub fn query_requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Write a record the way the bot does (the contract in `docs/data-model.md`): read
    /// the current version, put the record at version + 1, conditional on that version
    /// (or on absence). Used by the demo's seeding and by tests that race a bot writer
    /// against the sync; the sync itself never calls it. Returns the record as written.
    pub async fn put_bot_record(
        &self,
        account: &AccountId,
        mut record: Record,
    ) -> Result<Record, StoreError> {
        let pk = keys::pk(account);
        let sk = keys::record_sk(&record);
        let current = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.clone()))
            .key("sk", AttributeValue::S(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        let read_version = match current.item() {
            Some(item) => Some(item::ItemReader::new(item).int::<u64>("version")?),
            None => None,
        };
        keys::set_record_version(&mut record, read_version.map_or(1, |v| v + 1));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item::encode_record(&pk, &record)?.item));
        let put = match read_version {
            Some(v) => put
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
            None => put.condition_expression("attribute_not_exists(pk)"),
        };
        put.send().await.map_err(|e| sdk_error("PutItem", e))?;
        Ok(record)
    }

    /// Every item of the partition whose sort key is in [from, to] (or begins with `from`
    /// when `to` is None), consistent read, all pages. Returns the items and the read
    /// capacity consumed.
    async fn query(
        &self,
        pk: &str,
        from: &str,
        to: Option<&str>,
    ) -> Result<(Vec<Item>, f64), StoreError> {
        self.query_limited(pk, from, to, None).await
    }

    /// `query`, stopping once `limit` items are read.
    async fn query_limited(
        &self,
        pk: &str,
        from: &str,
        to: Option<&str>,
        limit: Option<u32>,
    ) -> Result<(Vec<Item>, f64), StoreError> {
        let mut items = Vec::new();
        let mut capacity = 0.0;
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                .expression_attribute_values(":from", AttributeValue::S(from.to_owned()))
                .set_limit(limit.map(|l| (l as usize).saturating_sub(items.len()).max(1) as i32))
                .set_exclusive_start_key(start.take());
            q = match to {
                None => q.key_condition_expression("pk = :pk AND begins_with(sk, :from)"),
                Some(to) => q
                    .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                    .expression_attribute_values(":to", AttributeValue::S(to.to_owned())),
            };
            let out = q.send().await.map_err(|e| sdk_error("Query", e))?;
            capacity += capacity_of(out.consumed_capacity());
            self.requests
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            items.extend(out.items.unwrap_or_default());
            if limit.is_some_and(|l| items.len() >= l as usize) {
                break;
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok((items, capacity))
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item)
    }
}

impl Store for DynamoStore {
    async fn load(&self, account: &AccountId) -> Result<(Records, f64), StoreError> {
        let pk = keys::pk(account);
        // One query per record prefix (run and audit history are never read here), in
        // parallel; plus the sync state.
        let [b, p, h, d, o, t, c, l] = keys::RECORD_PREFIXES;
        let (rb, rp, rh, rd, ro, rt, rc, rl, rs) = tokio::try_join!(
            self.query(&pk, b, None),
            self.query(&pk, p, None),
            self.query(&pk, h, None),
            self.query(&pk, d, None),
            self.query(&pk, o, None),
            self.query(&pk, t, None),
            self.query(&pk, c, None),
            self.query(&pk, l, None),
            self.query(&pk, keys::SYNC_STATE_SK, None),
        )?;
        let mut records = Records::default();
        let mut capacity = 0.0;
        for (items, cap) in [rb, rp, rh, rd, ro, rt, rc, rl] {
            capacity += cap;
            decode_items(&items, &mut records);
        }
        capacity += rs.1;
        for it in &rs.0 {
            if it.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str)
                == Some(keys::SYNC_STATE_SK)
            {
                records.state = decode_state(it)?;
            }
        }
        Ok((records, capacity))
    }

    async fn load_scoped(
        &self,
        account: &AccountId,
        scope: &LoadScope,
    ) -> Result<(Records, f64), StoreError> {
        let pk = keys::pk(account);
        let limit = keys::scope_limit(scope);
        let mut records = Records::default();
        let mut capacity = 0.0;
        for (from, to) in keys::scope_ranges(scope) {
            let (items, cap) = self.query_limited(&pk, &from, to.as_deref(), limit).await?;
            capacity += cap;
            decode_items(&items, &mut records);
        }
        Ok((records, capacity))
    }

    async fn symbol_cache(&self, account: &AccountId) -> Result<Option<SymbolCache>, StoreError> {
        let item = self.get(&keys::pk(account), keys::SYMBOL_CACHE_SK).await?;
        // A cache that does not decode is refreshed, never fatal.
        Ok(item.and_then(|it| item::decode_symbol_cache(&it).ok()))
    }

    async fn save_symbol_cache(
        &self,
        account: &AccountId,
        cache: &SymbolCache,
    ) -> Result<(), StoreError> {
        self.put(item::encode_symbol_cache(&keys::pk(account), cache)?)
            .await
    }

    async fn save_progress(
        &self,
        account: &AccountId,
        owner: &str,
        emergency: Option<&EmergencyScope>,
        banned_until: Option<Millis>,
    ) -> Result<(), StoreError> {
        let mut sets = vec!["#version = #version + :one".to_owned()];
        let mut removes = Vec::new();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(keys::pk(account)))
            .key("sk", AttributeValue::S(keys::SYNC_STATE_SK.to_owned()))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "lease_owner")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#ereq", "emergency_requested_at")
            .expression_attribute_names("#estart", "emergency_lookback_start")
            .expression_attribute_names("#eby", "emergency_opened_by")
            .expression_attribute_names("#ban", "banned_until")
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        match emergency {
            Some(e) => {
                sets.push("#ereq = :ereq".into());
                sets.push("#estart = :estart".into());
                update = update
                    .expression_attribute_values(
                        ":ereq",
                        AttributeValue::N(e.requested_at.to_string()),
                    )
                    .expression_attribute_values(
                        ":estart",
                        AttributeValue::N(e.lookback_start.to_string()),
                    );
                match &e.opened_by {
                    Some(run) => {
                        sets.push("#eby = :eby".into());
                        update = update
                            .expression_attribute_values(":eby", AttributeValue::S(run.clone()));
                    }
                    None => removes.push("#eby".to_owned()),
                }
            }
            None => removes.extend(["#ereq".to_owned(), "#estart".to_owned(), "#eby".to_owned()]),
        }
        match banned_until {
            Some(at) => {
                sets.push("#ban = :ban".into());
                update =
                    update.expression_attribute_values(":ban", AttributeValue::N(at.to_string()));
            }
            None => removes.push("#ban".into()),
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        update
            .update_expression(expression)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem", e))?;
        Ok(())
    }

    async fn schema_version(&self, account: &AccountId) -> Result<Option<u32>, StoreError> {
        match self.get(&keys::pk(account), keys::SCHEMA_SK).await? {
            Some(it) => Ok(Some(item::ItemReader::new(&it).int("schema_version")?)),
            None => Ok(None),
        }
    }

    async fn set_schema_version(
        &self,
        account: &AccountId,
        version: u32,
    ) -> Result<(), StoreError> {
        let item = item::ItemBuilder::new()
            .s("pk", keys::pk(account))
            .s("sk", keys::SCHEMA_SK)
            .s("entity", entity::SCHEMA)
            .int("schema_version", version)
            .item;
        self.put(item).await
    }

    async fn acquire_lease(
        &self,
        account: &AccountId,
        owner: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<LeaseOutcome, StoreError> {
        let pk = keys::pk(account);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.clone()))
            .key("sk", AttributeValue::S(keys::SYNC_STATE_SK.to_owned()))
            .update_expression("SET #owner = :owner, #exp = :exp, #attempt = :now, #entity = :entity ADD #version :one")
            .condition_expression("attribute_not_exists(#owner) OR #exp < :now OR #owner = :owner")
            .expression_attribute_names("#owner", "lease_owner")
            .expression_attribute_names("#exp", "lease_expires_at")
            .expression_attribute_names("#attempt", "last_attempt_at")
            .expression_attribute_names("#entity", "entity")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .expression_attribute_values(":exp", AttributeValue::N(expires_at.to_string()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":entity", AttributeValue::S(entity::SYNC_STATE.to_owned()))
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(LeaseOutcome::Acquired),
            Err(SdkError::ServiceError(se))
                if matches!(
                    se.err(),
                    UpdateItemError::ConditionalCheckFailedException(_)
                ) =>
            {
                let old = match se.err() {
                    UpdateItemError::ConditionalCheckFailedException(e) => e.item.clone(),
                    _ => None,
                };
                // Emulators may not return ALL_OLD: read the holder.
                let old = match old {
                    Some(item) => Some(item),
                    None => self.get(&pk, keys::SYNC_STATE_SK).await?,
                };
                let state = old
                    .as_ref()
                    .map(decode_state)
                    .transpose()?
                    .unwrap_or_default();
                match (state.lease_owner, state.lease_expires_at) {
                    (Some(owner), Some(expires_at)) => Ok(LeaseOutcome::Held { owner, expires_at }),
                    _ => Err(StoreError::Unavailable(
                        "lease condition failed but the lease is free now (released meanwhile); try again".to_owned(),
                    )),
                }
            }
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    async fn finish_run(
        &self,
        account: &AccountId,
        owner: &str,
        state: &SyncState,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let pk = keys::pk(account);
        let (run_id, started_at) = keys::run_identity(state, summary)?;

        let outcome = item::encode_state_outcome(state);
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut sets = Vec::new();
        let mut attrs: Vec<_> = outcome.item.into_iter().collect();
        attrs.sort_by(|a, b| a.0.cmp(&b.0));
        for (i, (name, value)) in attrs.into_iter().enumerate() {
            names.insert(format!("#s{i}"), name);
            values.insert(format!(":s{i}"), value);
            sets.push(format!("#s{i} = :s{i}"));
        }
        let mut removes = vec!["#owner".to_owned(), "#exp".to_owned()];
        for (i, name) in outcome.absent.iter().enumerate() {
            names.insert(format!("#r{i}"), (*name).to_owned());
            removes.push(format!("#r{i}"));
        }
        names.insert("#owner".into(), "lease_owner".into());
        names.insert("#exp".into(), "lease_expires_at".into());
        names.insert("#version".into(), "version".into());
        values.insert(":owner".into(), AttributeValue::S(owner.to_owned()));
        values.insert(":one".into(), AttributeValue::N("1".into()));
        let expression = format!(
            "SET {} REMOVE {} ADD #version :one",
            sets.join(", "),
            removes.join(", ")
        );
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.clone()))
            .key("sk", AttributeValue::S(keys::SYNC_STATE_SK.to_owned()))
            .update_expression(expression)
            .condition_expression("#owner = :owner")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::Rejected(format!("finish_run update: {e}")))?;
        let run_item = item::encode_run(&pk, started_at, &run_id, summary)?;
        let run_sk = keys::run_sk(started_at, &run_id);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(run_item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Rejected(format!("finish_run put: {e}")))?;

        let token = tx::token(&[
            "finish_run",
            &pk,
            owner,
            &run_sk,
            &serde_json::to_string(state).unwrap_or_default(),
        ]);
        let reasons = tx::transact(
            &self.client,
            vec![
                TransactWriteItem::builder().update(update).build(),
                TransactWriteItem::builder().put(put).build(),
            ],
            &token,
        )
        .await?;
        match reasons {
            tx::TxResult::Done(_) => Ok(()),
            tx::TxResult::Cancelled(reasons) => {
                let lease_lost = reasons.first().is_some_and(|r| r.is_condition_failed());
                let run_exists = reasons.get(1).is_some_and(|r| r.is_condition_failed());
                if lease_lost && run_exists {
                    // A replay of a finish that already happened: the RUN item is there and
                    // the lease was released by it.
                    let current = self.get(&pk, &run_sk).await?;
                    if current.is_some() {
                        return Ok(());
                    }
                }
                if lease_lost {
                    let current = self.get(&pk, keys::SYNC_STATE_SK).await?;
                    let holder = current
                        .as_ref()
                        .map(decode_state)
                        .transpose()?
                        .and_then(|s| s.lease_owner);
                    return Err(StoreError::Rejected(format!(
                        "finish_run: lease of {owner} is no longer held (holder now: {holder:?}); outcome not recorded"
                    )));
                }
                Err(StoreError::Rejected(format!(
                    "finish_run: run item {run_sk} already exists or the transaction was refused: {reasons:?}"
                )))
            }
        }
    }

    async fn apply(
        &self,
        account: &AccountId,
        run_id: &str,
        now: Millis,
        corrections: &[Correction],
    ) -> Result<ApplyOutcome, StoreError> {
        tx::apply(self, account, run_id, now, corrections).await
    }

    async fn state(&self, account: &AccountId) -> Result<SyncState, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(keys::pk(account)))
            .key("sk", AttributeValue::S(keys::SYNC_STATE_SK.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        match out.item() {
            Some(item) => decode_state(item),
            None => Ok(SyncState::default()),
        }
    }

    async fn save_alert_state(
        &self,
        account: &AccountId,
        alerted: &std::collections::BTreeMap<String, Millis>,
        last_security_check_at: Option<Millis>,
    ) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(keys::pk(account)))
            .key("sk", AttributeValue::S(keys::SYNC_STATE_SK.to_owned()))
            .expression_attribute_names("#alerted", "alerted")
            .expression_attribute_names("#entity", "entity")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":alerted", item::encode_alerted(alerted))
            .expression_attribute_values(
                ":entity",
                AttributeValue::S(entity::SYNC_STATE.to_owned()),
            )
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        let expression = match last_security_check_at {
            Some(at) => {
                update = update
                    .expression_attribute_names("#sec", "last_security_check_at")
                    .expression_attribute_values(":sec", AttributeValue::N(at.to_string()));
                "SET #alerted = :alerted, #entity = :entity, #sec = :sec ADD #version :one"
            }
            None => "SET #alerted = :alerted, #entity = :entity ADD #version :one",
        };
        update
            .update_expression(expression)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem", e))?;
        Ok(())
    }

    async fn audit_since(
        &self,
        account: &AccountId,
        since: Millis,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let pk = keys::pk(account);
        let (items, _) = self
            .query(&pk, &keys::audit_from(since), Some(keys::AUDIT_END))
            .await?;
        items.iter().map(decode_audit).collect()
    }
}

pub(crate) fn capacity_of(c: Option<&ConsumedCapacity>) -> f64 {
    c.and_then(|c| c.capacity_units()).unwrap_or(0.0)
}

/// Map an SDK error: throttling, server and transport failures are `Unavailable` (worth
/// retrying later); everything else the service refused is `Rejected`.
pub(crate) fn sdk_error<E, R>(op: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let transient = match &err {
        SdkError::ServiceError(se) => matches!(
            se.err().code(),
            Some(
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "TransactionInProgressException"
            )
        ),
        _ => true,
    };
    // A service error is its code and message (the full context would dump the raw HTTP
    // response into logs and reports); a transport error keeps its cause chain.
    let text = match &err {
        SdkError::ServiceError(se) => format!(
            "{op}: {} {}",
            se.err().code().unwrap_or("UnknownError"),
            se.err().message().unwrap_or_default()
        ),
        _ => {
            let mut text = format!("{op}: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    };
    if transient {
        StoreError::Unavailable(text)
    } else {
        StoreError::Rejected(text)
    }
}
