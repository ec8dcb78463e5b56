//! DynamoDB adapter of the [`VerdictStore`] port: the `TRUST#` items and the `TRUSTLOG#`
//! records (`docs/data-model.md`). Every write is conditional; a verdict or an
//! acknowledgement and its log record go in one transaction.

use super::item::{decimal_n, Item, ItemBuilder, ItemReader};
use super::tx::{self, TxResult};
use super::{sdk_error, DynamoStore};
use crate::core::verdict::{
    Ack, Heartbeat, Reason, ReasonCode, Trust, UnexplainedAmount, DEFAULT_HEARTBEAT_STALE_MS,
};
use crate::domain::{AccountId, Expect, Millis, SkippedItem};
use crate::store::keys;
use crate::store::verdicts::{
    ack_sk, entity, trust_log_from, trust_log_sk, verdict_sk, AccountTrust, AckOutcome,
    StoredVerdict, TrustItems, TrustLogEntry, TrustLogKind, VerdictStore, ACK_PREFIX,
    BOT_HEARTBEAT_SK, TRUST_ACCOUNT_SK, TRUST_LOG_END, TRUST_PREFIX, VERDICT_PREFIX,
};
use crate::store::StoreError;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use std::collections::HashMap;

fn json_text(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

fn encode_verdict(pk: &str, v: &StoredVerdict) -> Item {
    let reasons = v
        .reasons
        .iter()
        .map(|r| {
            AttributeValue::M(HashMap::from([
                (
                    "code".to_owned(),
                    AttributeValue::S(r.code.as_str().to_owned()),
                ),
                ("detail".to_owned(), AttributeValue::S(r.detail.clone())),
            ]))
        })
        .collect();
    ItemBuilder::new()
        .s("pk", pk)
        .s("sk", verdict_sk(&v.symbol))
        .s("entity", entity::VERDICT)
        .int("version", v.version)
        .s("symbol", v.symbol.as_str())
        .s("trust", v.trust.as_str())
        .with("reasons", AttributeValue::L(reasons))
        .opt_s("base", v.base.as_ref().map(|a| a.as_str()))
        .opt_s("quote", v.quote.as_ref().map(|a| a.as_str()))
        .int("since", v.since)
        .s("run_id", v.run_id.as_str())
        .int("updated_at", v.updated_at)
        .item
}

/// The optional list-of-maps attribute `name`, each map decoded by `each`: absent is empty,
/// anything but a list of maps is malformed.
fn list_of_maps<T>(
    r: &ItemReader<'_>,
    item: &Item,
    name: &str,
    each: impl Fn(&HashMap<String, AttributeValue>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    match item.get(name) {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| {
                let m = v
                    .as_m()
                    .map_err(|_| r.malformed(format!("{name} must be a list of maps")))?;
                each(m)
            })
            .collect(),
        None => Ok(Vec::new()),
        Some(_) => Err(r.malformed(format!("{name} must be L"))),
    }
}

fn decode_verdict(r: &ItemReader<'_>, item: &Item) -> Result<StoredVerdict, StoreError> {
    let trust = match r.s("trust")? {
        "trusted" => Trust::Trusted,
        "untrusted" => Trust::Untrusted,
        other => return Err(r.malformed(format!("trust = {other:?}"))),
    };
    let reasons = list_of_maps(r, item, "reasons", |m| {
        let text = |k: &str| {
            m.get(k)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .ok_or_else(|| r.malformed(format!("reasons[].{k} must be S")))
        };
        let code = text("code")?;
        Ok(Reason {
            code: ReasonCode::parse(&code)
                .ok_or_else(|| r.malformed(format!("reason code {code:?}")))?,
            detail: text("detail")?,
        })
    })?;
    Ok(StoredVerdict {
        symbol: r.symbol("symbol")?,
        trust,
        reasons,
        base: r.opt_s("base")?.map(|_| r.asset("base")).transpose()?,
        quote: r.opt_s("quote")?.map(|_| r.asset("quote")).transpose()?,
        since: r.int("since")?,
        run_id: r.s("run_id")?.to_owned(),
        version: r.int("version")?,
        updated_at: r.int("updated_at")?,
    })
}

fn encode_account(pk: &str, t: &AccountTrust) -> Item {
    let open = t
        .unexplained
        .iter()
        .map(|u| {
            AttributeValue::M(HashMap::from([
                ("asset".to_owned(), AttributeValue::S(u.asset.to_string())),
                ("amount".to_owned(), decimal_n(u.amount)),
                (
                    "seen_at".to_owned(),
                    AttributeValue::N(u.seen_at.to_string()),
                ),
                ("run_id".to_owned(), AttributeValue::S(u.run_id.clone())),
            ]))
        })
        .collect();
    ItemBuilder::new()
        .s("pk", pk)
        .s("sk", TRUST_ACCOUNT_SK)
        .s("entity", entity::TRUST_ACCOUNT)
        .int("version", t.version)
        .opt_int("verified_through", t.verified_through)
        .int("trusted", t.trusted)
        .int("untrusted", t.untrusted)
        .with("unexplained", AttributeValue::L(open))
        .s("run_id", t.run_id.as_str())
        .s("outcome", t.outcome.as_str())
        .int("updated_at", t.updated_at)
        .item
}

fn decode_account(r: &ItemReader<'_>, item: &Item) -> Result<AccountTrust, StoreError> {
    let unexplained = list_of_maps(r, item, "unexplained", |m| {
        let inner = ItemReader::new(m);
        Ok(UnexplainedAmount {
            asset: inner
                .asset("asset")
                .map_err(|e| r.malformed(e.to_string()))?,
            amount: inner
                .dec("amount")
                .map_err(|e| r.malformed(e.to_string()))?,
            seen_at: inner
                .int("seen_at")
                .map_err(|e| r.malformed(e.to_string()))?,
            run_id: inner
                .s("run_id")
                .map_err(|e| r.malformed(e.to_string()))?
                .to_owned(),
        })
    })?;
    Ok(AccountTrust {
        verified_through: r.opt_int("verified_through")?,
        trusted: r.int("trusted")?,
        untrusted: r.int("untrusted")?,
        unexplained,
        run_id: r.s("run_id")?.to_owned(),
        outcome: r.s("outcome")?.to_owned(),
        version: r.int("version")?,
        updated_at: r.int("updated_at")?,
    })
}

fn encode_ack(pk: &str, a: &Ack) -> Item {
    ItemBuilder::new()
        .s("pk", pk)
        .s("sk", ack_sk(&a.asset, a.amount))
        .s("entity", entity::ACK)
        .int("version", 1u8)
        .s("asset", a.asset.as_str())
        .dec("amount", a.amount)
        .s("note", a.note.as_str())
        .int("acked_at", a.acked_at)
        .s("acked_by", a.acked_by.as_str())
        .item
}

fn decode_ack(r: &ItemReader<'_>) -> Result<Ack, StoreError> {
    Ok(Ack {
        asset: r.asset("asset")?,
        amount: r.dec("amount")?,
        note: r.s("note")?.to_owned(),
        acked_at: r.int("acked_at")?,
        acked_by: r.s("acked_by")?.to_owned(),
    })
}

fn encode_log(pk: &str, e: &TrustLogEntry) -> Item {
    let mut b = ItemBuilder::new()
        .s("pk", pk)
        .s("sk", trust_log_sk(e))
        .s("entity", entity::TRUST_LOG)
        .int("version", 1u8)
        .int("at", e.at)
        .s("kind", e.kind.as_str())
        .s("actor", e.actor.as_str())
        .s("target", e.target.as_str())
        .s("after", json_text(&e.after));
    if let Some(before) = &e.before {
        b = b.s("before", json_text(before));
    }
    b.item
}

fn decode_log(item: &Item) -> Result<TrustLogEntry, StoreError> {
    let r = ItemReader::new(item);
    let kind = match r.s("kind")? {
        "verdict_changed" => TrustLogKind::VerdictChanged,
        "acknowledged" => TrustLogKind::Acknowledged,
        other => return Err(r.malformed(format!("kind = {other:?}"))),
    };
    Ok(TrustLogEntry {
        at: r.int("at")?,
        kind,
        actor: r.s("actor")?.to_owned(),
        target: r.s("target")?.to_owned(),
        before: r.json("before")?,
        after: r
            .json("after")?
            .ok_or_else(|| r.malformed("after is missing"))?,
    })
}

fn conditional_put(table: &str, item: Item, expect: Expect) -> Result<Put, StoreError> {
    let put = Put::builder().table_name(table).set_item(Some(item));
    let put = match expect {
        Expect::Absent => put.condition_expression("attribute_not_exists(pk)"),
        Expect::Version(v) => put
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
    };
    put.build()
        .map_err(|e| StoreError::Rejected(format!("trust put: {e}")))
}

impl DynamoStore {
    /// One item and its log record, conditional on `expect`; `Ok(false)` when the item's
    /// condition failed. A retried request whose log record exists counts as written.
    async fn put_with_log(
        &self,
        item: Item,
        expect: Expect,
        log: Item,
        token_parts: &[&str],
    ) -> Result<bool, StoreError> {
        let write = conditional_put(self.table(), item, expect)?;
        let log = conditional_put(self.table(), log, Expect::Absent)?;
        let result = tx::transact(
            self.client(),
            vec![
                TransactWriteItem::builder().put(write).build(),
                TransactWriteItem::builder().put(log).build(),
            ],
            &tx::token(token_parts),
        )
        .await?;
        match result {
            TxResult::Done(_) => Ok(true),
            TxResult::Cancelled(reasons) => {
                let item_failed = reasons.first().is_some_and(|r| r.is_condition_failed());
                let log_exists = reasons.get(1).is_some_and(|r| r.is_condition_failed());
                match (item_failed, log_exists) {
                    (true, true) => Ok(true), // an earlier attempt wrote both
                    (true, false) => Ok(false),
                    _ => Err(StoreError::Rejected(format!(
                        "trust write cancelled: {reasons:?}"
                    ))),
                }
            }
        }
    }
}

impl VerdictStore for DynamoStore {
    async fn bot_heartbeat(&self, account: &AccountId) -> Result<Option<Heartbeat>, StoreError> {
        let Some(item) = self.get(&keys::pk(account), BOT_HEARTBEAT_SK).await? else {
            return Ok(None);
        };
        let r = ItemReader::new(&item);
        let decoded = (|| -> Result<Heartbeat, StoreError> {
            Ok(Heartbeat {
                at: r.int("at")?,
                stale_after_ms: r
                    .opt_int("stale_after_ms")?
                    .unwrap_or(DEFAULT_HEARTBEAT_STALE_MS),
            })
        })();
        match decoded {
            Ok(h) => Ok(Some(h)),
            Err(e) => {
                tracing::warn!(error = %e, "the bot's heartbeat does not decode: not watched");
                Ok(None)
            }
        }
    }

    async fn load_trust(&self, account: &AccountId) -> Result<TrustItems, StoreError> {
        let pk = keys::pk(account);
        let (items, _) = self.query(&pk, TRUST_PREFIX, None).await?;
        let mut out = TrustItems::default();
        for item in &items {
            let r = ItemReader::new(item);
            let sk = r.s("sk")?;
            let decoded = if sk.starts_with(VERDICT_PREFIX) {
                decode_verdict(&r, item).map(|v| {
                    out.verdicts.insert(v.symbol.clone(), v);
                })
            } else if sk == TRUST_ACCOUNT_SK {
                decode_account(&r, item).map(|a| out.account = Some(a))
            } else if sk.starts_with(ACK_PREFIX) {
                decode_ack(&r).map(|a| out.acks.push(a))
            } else {
                Ok(())
            };
            if let Err(e) = decoded {
                if let Ok(v) = r.int::<u64>("version") {
                    out.undecoded_versions.insert(sk.to_owned(), v);
                }
                out.skipped.push(SkippedItem {
                    key: r.key.clone(),
                    detail: e.to_string(),
                });
            }
        }
        Ok(out)
    }

    async fn write_verdict(
        &self,
        account: &AccountId,
        verdict: &StoredVerdict,
        expect: Expect,
        log: &TrustLogEntry,
    ) -> Result<bool, StoreError> {
        let pk = keys::pk(account);
        let sk = verdict_sk(&verdict.symbol);
        let version = verdict.version.to_string();
        let at = verdict.updated_at.to_string();
        self.put_with_log(
            encode_verdict(&pk, verdict),
            expect,
            encode_log(&pk, log),
            &["verdict", &pk, &sk, &version, &at],
        )
        .await
    }

    async fn save_account_trust(
        &self,
        account: &AccountId,
        trust: &AccountTrust,
        expect: Expect,
    ) -> Result<bool, StoreError> {
        let put = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(encode_account(&keys::pk(account), trust)));
        let put = match expect {
            Expect::Absent => put.condition_expression("attribute_not_exists(pk)"),
            Expect::Version(v) => put
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
        };
        let result = put.send().await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(se))
                if matches!(se.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error("PutItem", e)),
        }
    }

    async fn put_ack(
        &self,
        account: &AccountId,
        ack: &Ack,
        log: &TrustLogEntry,
    ) -> Result<AckOutcome, StoreError> {
        let pk = keys::pk(account);
        let sk = ack_sk(&ack.asset, ack.amount);
        let at = ack.acked_at.to_string();
        let written = self
            .put_with_log(
                encode_ack(&pk, ack),
                Expect::Absent,
                encode_log(&pk, log),
                &["ack", &pk, &sk, &at],
            )
            .await?;
        Ok(if written {
            AckOutcome::Written
        } else {
            AckOutcome::AlreadyAcknowledged
        })
    }

    async fn trust_log_since(
        &self,
        account: &AccountId,
        since: Millis,
    ) -> Result<Vec<TrustLogEntry>, StoreError> {
        let pk = keys::pk(account);
        let (items, _) = self
            .query(&pk, &trust_log_from(since), Some(TRUST_LOG_END))
            .await?;
        items.iter().map(decode_log).collect()
    }

    async fn runs_since(
        &self,
        account: &AccountId,
        since: Millis,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let pk = keys::pk(account);
        let from = keys::run_sk(since, "");
        let (items, _) = self
            .query(&pk, &from, Some(&format!("{}~", keys::RUN_PREFIX)))
            .await?;
        items
            .iter()
            .map(|item| {
                let r = ItemReader::new(item);
                let summary: serde_json::Value = r.json("summary")?.unwrap_or_default();
                Ok(crate::store::memory_verdicts::with_started_at(
                    summary,
                    r.s("sk")?,
                ))
            })
            .collect()
    }
}
