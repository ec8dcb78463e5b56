//! `apply`: each correction and its audit record in one `TransactWriteItems`, up to 50
//! pairs per transaction, with deterministic client request tokens; cancelled
//! transactions are split into conflicts (from ALL_OLD) and pairs to retry.

use super::item::{self, audit_records, decode_record, Item};
use super::{capacity_of, sdk_error, DynamoStore};
use crate::domain::{AccountId, Correction, Expect, Millis};
use crate::store::keys;
use crate::store::{ApplyOutcome, Conflict, StoreError};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// DynamoDB allows 100 actions per transaction: 50 correction + audit pairs.
pub const MAX_PAIRS_PER_TRANSACTION: usize = 50;
/// Attempts per chunk (each attempt retires at least the pairs that failed their
/// condition, so this bounds only transient cancellations such as TransactionConflict).
const MAX_ATTEMPTS: u32 = 8;

/// A deterministic client request token: hex(sha256(parts)) cut to 36 characters (the
/// API's maximum).
pub fn token(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let mut text = hex::encode(h.finalize());
    text.truncate(36);
    text
}

/// Why one action of a cancelled transaction failed.
#[derive(Debug, Clone)]
pub struct Reason {
    pub code: Option<String>,
    pub message: Option<String>,
    pub item: Option<Item>,
}

impl Reason {
    pub fn is_condition_failed(&self) -> bool {
        self.code.as_deref() == Some("ConditionalCheckFailed")
    }
}

pub enum TxResult {
    /// Committed; write capacity consumed.
    Done(f64),
    /// Cancelled; one reason per action, in order.
    Cancelled(Vec<Reason>),
}

pub async fn transact(
    client: &Client,
    items: Vec<TransactWriteItem>,
    token: &str,
) -> Result<TxResult, StoreError> {
    let result = client
        .transact_write_items()
        .set_transact_items(Some(items))
        .client_request_token(token)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await;
    match result {
        Ok(out) => Ok(TxResult::Done(
            out.consumed_capacity()
                .iter()
                .map(|c| capacity_of(Some(c)))
                .sum(),
        )),
        Err(SdkError::ServiceError(se))
            if matches!(
                se.err(),
                TransactWriteItemsError::TransactionCanceledException(_)
            ) =>
        {
            let reasons = match se.err() {
                TransactWriteItemsError::TransactionCanceledException(e) => e
                    .cancellation_reasons()
                    .iter()
                    .map(|r| Reason {
                        code: r.code().map(str::to_owned),
                        message: r.message().map(str::to_owned),
                        item: r.item().cloned(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Ok(TxResult::Cancelled(reasons))
        }
        Err(e) => Err(sdk_error("TransactWriteItems", e)),
    }
}

/// One correction ready to write.
struct Pair<'a> {
    seq: usize,
    correction: &'a Correction,
    target_sk: String,
    audit_sk: String,
    write: TransactWriteItem,
    audit: TransactWriteItem,
    fingerprint: String,
}

fn rejected(what: impl std::fmt::Display) -> StoreError {
    StoreError::Rejected(what.to_string())
}

fn build_pair<'a>(
    store: &DynamoStore,
    pk: &str,
    run_id: &str,
    now: Millis,
    seq: usize,
    c: &'a Correction,
) -> Result<Pair<'a>, StoreError> {
    let target_sk = keys::record_sk(&c.after);
    let encoded = item::encode_record(pk, &c.after)?;
    let write = match c.expect {
        Expect::Absent => Put::builder()
            .table_name(store.table())
            .set_item(Some(encoded.item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build())
            .map_err(rejected)?,
        Expect::Version(v) => {
            // An update, not a put: attributes the bot keeps on the item that the sync does
            // not know survive the correction.
            // A trade's update sets only the attributes the sync derives and owns: the
            // exchange's fields of a fill (and the bot's own attributes) are never rewritten.
            let owned = |name: &str| match &c.after {
                crate::domain::Record::Trade(_) => item::TRADE_SYNC_OWNED.contains(&name),
                _ => true,
            };
            let mut attrs: Vec<_> = encoded
                .item
                .into_iter()
                .filter(|(k, _)| k != "pk" && k != "sk" && owned(k))
                .collect();
            let absent: Vec<&str> = encoded.absent.into_iter().filter(|k| owned(k)).collect();
            attrs.sort_by(|a, b| a.0.cmp(&b.0));
            let mut names = HashMap::new();
            let mut values = HashMap::new();
            let mut sets = Vec::new();
            for (i, (name, value)) in attrs.into_iter().enumerate() {
                names.insert(format!("#a{i}"), name);
                values.insert(format!(":a{i}"), value);
                sets.push(format!("#a{i} = :a{i}"));
            }
            let mut expression = format!("SET {}", sets.join(", "));
            if !absent.is_empty() {
                let mut removes = Vec::new();
                for (i, name) in absent.iter().enumerate() {
                    names.insert(format!("#r{i}"), (*name).to_owned());
                    removes.push(format!("#r{i}"));
                }
                expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
            }
            names.insert("#expected_version".to_owned(), "version".to_owned());
            values.insert(
                ":expected_version".to_owned(),
                AttributeValue::N(v.to_string()),
            );
            Update::builder()
                .table_name(store.table())
                .key("pk", AttributeValue::S(pk.to_owned()))
                .key("sk", AttributeValue::S(target_sk.clone()))
                .update_expression(expression)
                .condition_expression("#expected_version = :expected_version")
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .map(|u| TransactWriteItem::builder().update(u).build())
                .map_err(rejected)?
        }
    };
    let audit_sk = keys::audit_sk(now, run_id, seq);
    let audit_item = item::encode_audit(pk, &audit_sk, run_id, seq, now, c)?;
    let audit = Put::builder()
        .table_name(store.table())
        .set_item(Some(audit_item))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map(|p| TransactWriteItem::builder().put(p).build())
        .map_err(rejected)?;
    let fingerprint = serde_json::to_string(c).map_err(rejected)?;
    Ok(Pair {
        seq,
        correction: c,
        target_sk,
        audit_sk,
        write,
        audit,
        fingerprint,
    })
}

/// Split into transactions of at most 50 pairs, never two writes of one item in one
/// transaction (DynamoDB refuses that); order is kept.
fn chunks<'p, 'a>(pairs: &'p [Pair<'a>]) -> Vec<Vec<&'p Pair<'a>>> {
    let mut out: Vec<Vec<&Pair>> = Vec::new();
    let mut current: Vec<&Pair> = Vec::new();
    let mut keys_in_current = HashSet::new();
    for p in pairs {
        if current.len() == MAX_PAIRS_PER_TRANSACTION || keys_in_current.contains(&p.target_sk) {
            out.push(std::mem::take(&mut current));
            keys_in_current.clear();
        }
        keys_in_current.insert(p.target_sk.clone());
        current.push(p);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

pub async fn apply(
    store: &DynamoStore,
    account: &AccountId,
    run_id: &str,
    now: Millis,
    corrections: &[Correction],
) -> Result<ApplyOutcome, StoreError> {
    keys::check_corrections(corrections)?;
    let pk = keys::pk(account);
    let pairs = corrections
        .iter()
        .enumerate()
        .map(|(seq, c)| build_pair(store, &pk, run_id, now, seq, c))
        .collect::<Result<Vec<_>, _>>()?;

    let mut outcome = ApplyOutcome::default();
    // (seq, correction) and (seq, conflict): reported in the order of the input.
    let mut applied: Vec<(usize, Correction)> = Vec::new();
    let mut conflicts: Vec<(usize, Conflict)> = Vec::new();
    let now_text = now.to_string();
    for (chunk_index, chunk) in chunks(&pairs).into_iter().enumerate() {
        let chunk_text = chunk_index.to_string();
        let mut pending = chunk;
        let mut attempt: u32 = 0;
        while !pending.is_empty() {
            if attempt >= MAX_ATTEMPTS {
                return Err(StoreError::Unavailable(format!(
                    "transaction {chunk_index} of run {run_id} still cancelled after {MAX_ATTEMPTS} attempts"
                )));
            }
            let attempt_text = attempt.to_string();
            let mut parts: Vec<&str> =
                vec!["apply", &pk, run_id, &now_text, &chunk_text, &attempt_text];
            parts.extend(pending.iter().map(|p| p.fingerprint.as_str()));
            let token = token(&parts);
            let actions = pending
                .iter()
                .flat_map(|p| [p.write.clone(), p.audit.clone()])
                .collect();
            let reasons = match transact(store.client(), actions, &token).await? {
                TxResult::Done(capacity) => {
                    outcome.capacity_units += capacity;
                    applied.extend(pending.iter().map(|p| (p.seq, p.correction.clone())));
                    break;
                }
                TxResult::Cancelled(reasons) => reasons,
            };
            if reasons.len() != 2 * pending.len() {
                return Err(StoreError::Unavailable(format!(
                    "transaction cancelled with {} reasons for {} actions: {reasons:?}",
                    reasons.len(),
                    2 * pending.len()
                )));
            }
            let mut retry = Vec::new();
            let mut settled_any = false;
            for (i, p) in pending.iter().enumerate() {
                let (on_write, on_audit) = (&reasons[2 * i], &reasons[2 * i + 1]);
                if on_audit.is_condition_failed() {
                    // The audit key is deterministic in (now, run id, seq): an earlier
                    // attempt of this run wrote this correction already.
                    let old = match &on_audit.item {
                        Some(it) => Some(it.clone()),
                        None => store.get(&pk, &p.audit_sk).await?,
                    };
                    if old
                        .as_ref()
                        .is_some_and(|it| audit_records(it, p.correction))
                    {
                        applied.push((p.seq, p.correction.clone()));
                        settled_any = true;
                        continue;
                    }
                    return Err(rejected(format!(
                        "audit key {} already records a different correction (run id reused with the same time?)",
                        p.audit_sk
                    )));
                }
                if on_write.is_condition_failed() {
                    let old = match &on_write.item {
                        Some(it) => Some(it.clone()),
                        None => store.get(&pk, &p.target_sk).await?,
                    };
                    // An item there that does not decode is still the newer write: the
                    // correction is a (deferred) conflict, never a failure of the unit.
                    let current = old.and_then(|it| decode_record(&it).ok().flatten());
                    conflicts.push((
                        p.seq,
                        Conflict {
                            correction: p.correction.clone(),
                            current,
                        },
                    ));
                    settled_any = true;
                    continue;
                }
                for r in [on_write, on_audit] {
                    match r.code.as_deref() {
                        None
                        | Some("None")
                        | Some("TransactionConflict")
                        | Some("ThrottlingError")
                        | Some("ProvisionedThroughputExceeded") => {}
                        Some(code) => {
                            return Err(rejected(format!(
                                "write of {} refused: {code}: {}",
                                p.target_sk,
                                r.message.as_deref().unwrap_or("")
                            )))
                        }
                    }
                }
                retry.push(*p);
            }
            if !settled_any && !retry.is_empty() {
                // Only transient reasons (a concurrent transaction on the same items,
                // throttling): back off before the next attempt.
                let wait = Duration::from_millis(50u64.saturating_mul(1u64 << attempt.min(5)));
                tokio::time::sleep(wait).await;
            }
            pending = retry;
            attempt += 1;
        }
    }
    applied.sort_by_key(|(seq, _)| *seq);
    conflicts.sort_by_key(|(seq, _)| *seq);
    outcome.applied = applied.into_iter().map(|(_, c)| c).collect();
    outcome.conflicts = conflicts.into_iter().map(|(_, c)| c).collect();
    Ok(outcome)
}
