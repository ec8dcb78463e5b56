//! Balance moves without trades: the Funding wallet (and a plain USDⓈ-M
//! futures wallet), universal transfers, Convert, dust to BNB,
//! distributions and Simple Earn flexible. Each is a control action that
//! moves balances exactly and records the row its history endpoint serves
//! (`api/ledger.rs`). The shapes are in `docs/ledger-endpoints.md`.

use crate::errors::ApiError;
use crate::json::J;
use crate::obj;
use crate::state::{fmt8, Exchange};
use rust_decimal::Decimal;
use serde::Deserialize;

/// Which wallet a move uses. JSON: `"spot"` (default) or `"funding"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Wallet {
    #[default]
    Spot,
    Funding,
    /// USDⓈ-M futures (only through universal transfers).
    #[serde(skip)]
    UmFuture,
}

impl Wallet {
    /// The deposit / withdrawal history's `walletType`: 0 Spot, 1 Funding.
    pub fn wallet_type(self) -> i64 {
        match self {
            Wallet::Funding => 1,
            _ => 0,
        }
    }

    pub fn from_wallet_type(t: i64) -> Wallet {
        if t == 1 {
            Wallet::Funding
        } else {
            Wallet::Spot
        }
    }

    /// A universal transfer `type`'s side: `MAIN`, `FUNDING`, `UMFUTURE`.
    fn from_transfer_name(s: &str) -> Option<Wallet> {
        match s {
            "MAIN" => Some(Wallet::Spot),
            "FUNDING" => Some(Wallet::Funding),
            "UMFUTURE" => Some(Wallet::UmFuture),
            _ => None,
        }
    }
}

/// Every universal transfer `type` Binance documents (wallet docs, "User
/// Universal Transfer"; binance-connector-js `UserUniversalTransferTypeEnum`).
pub const TRANSFER_TYPES: &[&str] = &[
    "MAIN_UMFUTURE",
    "MAIN_CMFUTURE",
    "MAIN_MARGIN",
    "UMFUTURE_MAIN",
    "UMFUTURE_MARGIN",
    "CMFUTURE_MAIN",
    "CMFUTURE_MARGIN",
    "MARGIN_MAIN",
    "MARGIN_UMFUTURE",
    "MARGIN_CMFUTURE",
    "ISOLATEDMARGIN_MARGIN",
    "MARGIN_ISOLATEDMARGIN",
    "ISOLATEDMARGIN_ISOLATEDMARGIN",
    "MAIN_FUNDING",
    "FUNDING_MAIN",
    "FUNDING_UMFUTURE",
    "UMFUTURE_FUNDING",
    "MARGIN_FUNDING",
    "FUNDING_MARGIN",
    "FUNDING_CMFUTURE",
    "CMFUTURE_FUNDING",
    "MAIN_OPTION",
    "OPTION_MAIN",
    "UMFUTURE_OPTION",
    "OPTION_UMFUTURE",
    "MARGIN_OPTION",
    "OPTION_MARGIN",
    "FUNDING_OPTION",
    "OPTION_FUNDING",
    "MAIN_PORTFOLIO_MARGIN",
    "PORTFOLIO_MARGIN_MAIN",
];

/// The dust service charge: 2 % of the BNB value, the
/// `dribbletPercentage: "0.02"` of the dust-btc example (the rate itself is
/// not documented).
pub const DUST_CHARGE: Decimal = Decimal::from_parts(2, 0, 0, false, 2);

#[derive(Debug, Clone)]
pub struct Transfer {
    pub tran_id: u64,
    pub kind: String,
    pub asset: String,
    pub amount: Decimal,
    pub timestamp: i64,
}

impl Transfer {
    pub fn to_json(&self) -> J {
        obj! {
            "asset": &self.asset,
            "amount": self.amount.normalize().to_string(),
            "type": &self.kind,
            "status": "CONFIRMED",
            "tranId": self.tran_id,
            "timestamp": self.timestamp
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConvertTrade {
    pub quote_id: String,
    pub order_id: u64,
    pub from_asset: String,
    pub from_amount: Decimal,
    pub to_asset: String,
    pub to_amount: Decimal,
    pub create_time: i64,
}

fn dec(d: Decimal) -> String {
    d.normalize().to_string()
}

impl ConvertTrade {
    pub fn to_json(&self) -> J {
        obj! {
            "quoteId": &self.quote_id,
            "orderId": self.order_id,
            "orderStatus": "SUCCESS",
            "fromAsset": &self.from_asset,
            "fromAmount": dec(self.from_amount),
            "toAsset": &self.to_asset,
            "toAmount": dec(self.to_amount),
            "ratio": dec((self.to_amount / self.from_amount).round_dp(8)),
            "inverseRatio": dec((self.from_amount / self.to_amount).round_dp(8)),
            "createTime": self.create_time
        }
    }
}

#[derive(Debug, Clone)]
pub struct DustDetail {
    pub trans_id: u64,
    pub from_asset: String,
    pub amount: Decimal,
    pub transfered: Decimal,
    pub charge: Decimal,
}

#[derive(Debug, Clone)]
pub struct Dribblet {
    pub trans_id: u64,
    pub operate_time: i64,
    pub details: Vec<DustDetail>,
}

impl Dribblet {
    pub fn to_json(&self) -> J {
        let total_transfered: Decimal = self.details.iter().map(|d| d.transfered).sum();
        let total_charge: Decimal = self.details.iter().map(|d| d.charge).sum();
        let details: Vec<J> = self
            .details
            .iter()
            .map(|d| {
                obj! {
                    "transId": d.trans_id,
                    "serviceChargeAmount": dec(d.charge),
                    "amount": dec(d.amount),
                    "operateTime": self.operate_time,
                    "transferedAmount": dec(d.transfered),
                    "fromAsset": &d.from_asset,
                    "targetAsset": "BNB"
                }
            })
            .collect();
        obj! {
            "operateTime": self.operate_time,
            "totalTransferedAmount": dec(total_transfered),
            "totalServiceChargeAmount": dec(total_charge),
            "transId": self.trans_id,
            "userAssetDribbletDetails": details
        }
    }
}

#[derive(Debug, Clone)]
pub struct Dividend {
    pub id: u64,
    pub tran_id: u64,
    pub asset: String,
    pub amount: Decimal,
    pub div_time: i64,
    pub info: String,
}

impl Dividend {
    pub fn to_json(&self) -> J {
        obj! {
            "id": self.id,
            "amount": fmt8(self.amount),
            "asset": &self.asset,
            "divTime": self.div_time,
            "enInfo": &self.info,
            "tranId": self.tran_id,
            "direction": 1i64
        }
    }
}

/// One Simple Earn flexible event: a subscription, a redemption or a reward.
#[derive(Debug, Clone)]
pub enum EarnEvent {
    Subscription {
        purchase_id: u64,
        asset: String,
        amount: Decimal,
        source: Wallet,
        time: i64,
    },
    Redemption {
        redeem_id: u64,
        asset: String,
        amount: Decimal,
        dest: Wallet,
        time: i64,
    },
    Reward {
        asset: String,
        rewards: Decimal,
        kind: String,
        time: i64,
    },
}

/// The sim's flexible product for an asset: `<ASSET>001`, as in the
/// docs' `USDT001`.
pub fn product_id(asset: &str) -> String {
    format!("{asset}001")
}

fn account_name(w: Wallet) -> &'static str {
    match w {
        Wallet::Funding => "FUNDING",
        _ => "SPOT",
    }
}

impl EarnEvent {
    pub fn time(&self) -> i64 {
        match self {
            EarnEvent::Subscription { time, .. }
            | EarnEvent::Redemption { time, .. }
            | EarnEvent::Reward { time, .. } => *time,
        }
    }

    pub fn asset(&self) -> &str {
        match self {
            EarnEvent::Subscription { asset, .. }
            | EarnEvent::Redemption { asset, .. }
            | EarnEvent::Reward { asset, .. } => asset,
        }
    }

    pub fn to_json(&self) -> J {
        match self {
            EarnEvent::Subscription {
                purchase_id,
                asset,
                amount,
                source,
                time,
            } => obj! {
                "amount": fmt8(*amount),
                "asset": asset,
                "time": *time,
                "purchaseId": *purchase_id,
                "productId": product_id(asset),
                "type": "NORMAL",
                "sourceAccount": account_name(*source),
                "status": "SUCCESS"
            },
            EarnEvent::Redemption {
                redeem_id,
                asset,
                amount,
                dest,
                time,
            } => obj! {
                "amount": fmt8(*amount),
                "asset": asset,
                "time": *time,
                "projectId": product_id(asset),
                "redeemId": *redeem_id,
                "destAccount": account_name(*dest),
                "status": "PAID"
            },
            EarnEvent::Reward {
                asset,
                rewards,
                kind,
                time,
            } => obj! {
                "asset": asset,
                "rewards": fmt8(*rewards),
                "projectId": product_id(asset),
                "type": kind,
                "time": *time
            },
        }
    }
}

/// A flexible position: its amount and the rewards paid into it.
#[derive(Debug, Clone, Default)]
pub struct EarnPosition {
    pub amount: Decimal,
    pub rewards: Decimal,
}

#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Funding wallet balances (free only), in first-seen order.
    pub funding: Vec<(String, Decimal)>,
    pub transfers: Vec<Transfer>,
    pub converts: Vec<ConvertTrade>,
    pub dribblets: Vec<Dribblet>,
    pub dividends: Vec<Dividend>,
    pub earn: Vec<EarnEvent>,
    pub earn_positions: Vec<(String, EarnPosition)>,
    pub next_id: u64,
}

fn entry<'a, T: Default>(v: &'a mut Vec<(String, T)>, asset: &str) -> &'a mut T {
    let idx = match v.iter().position(|(a, _)| a == asset) {
        Some(i) => i,
        None => {
            v.push((asset.to_string(), T::default()));
            v.len() - 1
        }
    };
    &mut v[idx].1
}

fn insufficient() -> ApiError {
    ApiError::bad(-4026, "User has insufficient balance")
}

fn positive(amount: Decimal, name: &str) -> Result<(), ApiError> {
    if amount <= Decimal::ZERO {
        return Err(ApiError::invalid_param(name));
    }
    Ok(())
}

impl Ledger {
    /// A fresh id, distinct across the ledger's records.
    fn id(&mut self, base: u64) -> u64 {
        self.next_id += 1;
        base + self.next_id
    }

    pub fn funding(&self, asset: &str) -> Decimal {
        self.funding
            .iter()
            .find(|(a, _)| a == asset)
            .map(|(_, b)| *b)
            .unwrap_or_default()
    }

    pub fn position(&self, asset: &str) -> EarnPosition {
        self.earn_positions
            .iter()
            .find(|(a, _)| a == asset)
            .map(|(_, p)| p.clone())
            .unwrap_or_default()
    }
}

impl Exchange {
    /// The free balance of `asset` in `wallet`.
    pub fn wallet_free(&self, wallet: Wallet, asset: &str) -> Decimal {
        match wallet {
            Wallet::Spot => self.balance(asset).free,
            Wallet::Funding => self.ledger.funding(asset),
            // What can leave the futures wallet: its balance less the
            // margin its positions and open orders use.
            Wallet::UmFuture => self.futures.max_withdraw(asset),
        }
    }

    /// Adds to the free balance of `asset` in `wallet` (a Spot change moves
    /// `account.updateTime`; a futures one writes its `TRANSFER` income row,
    /// the only way money reaches the futures wallet from outside).
    pub fn credit(&mut self, wallet: Wallet, asset: &str, amount: Decimal, now: i64) {
        match wallet {
            Wallet::Spot => {
                self.balance_mut(asset).free += amount;
                self.touch(now);
            }
            Wallet::Funding => *entry(&mut self.ledger.funding, asset) += amount,
            Wallet::UmFuture => {
                // `debit` checked the free amount first, so this cannot fail.
                let _ = self.futures.transfer(asset, amount, now);
            }
        }
    }

    /// Takes from the free balance; `-4026` when it is short.
    pub fn debit(
        &mut self,
        wallet: Wallet,
        asset: &str,
        amount: Decimal,
        now: i64,
    ) -> Result<(), ApiError> {
        if self.wallet_free(wallet, asset) < amount {
            return Err(insufficient());
        }
        self.credit(wallet, asset, -amount, now);
        Ok(())
    }

    /// A universal transfer of `kind` (e.g. `MAIN_FUNDING`): debits the
    /// first wallet, credits the second, records a CONFIRMED row. Only the
    /// Spot (`MAIN`), Funding and USDⓈ-M futures sides are simulated.
    pub fn universal_transfer(
        &mut self,
        kind: &str,
        asset: &str,
        amount: Decimal,
        now: i64,
    ) -> Result<u64, ApiError> {
        positive(amount, "amount")?;
        let (from, to) = kind
            .split_once('_')
            .and_then(|(f, t)| {
                Some((
                    Wallet::from_transfer_name(f)?,
                    Wallet::from_transfer_name(t)?,
                ))
            })
            .filter(|_| TRANSFER_TYPES.contains(&kind))
            .ok_or_else(|| ApiError::invalid_param("type"))?;
        self.debit(from, asset, amount, now)?;
        self.credit(to, asset, amount, now);
        let tran_id = self.ledger.id(11_415_955_596);
        self.ledger.transfers.push(Transfer {
            tran_id,
            kind: kind.to_string(),
            asset: asset.to_string(),
            amount,
            timestamp: now,
        });
        Ok(tran_id)
    }

    /// A Convert trade: exactly `from_amount` leaves `wallet`, exactly
    /// `to_amount` arrives in it.
    pub fn convert(
        &mut self,
        from_asset: &str,
        from_amount: Decimal,
        to_asset: &str,
        to_amount: Decimal,
        wallet: Wallet,
        now: i64,
    ) -> Result<ConvertTrade, ApiError> {
        positive(from_amount, "fromAmount")?;
        positive(to_amount, "toAmount")?;
        if from_asset == to_asset {
            return Err(ApiError::invalid_param("toAsset"));
        }
        self.debit(wallet, from_asset, from_amount, now)?;
        self.credit(wallet, to_asset, to_amount, now);
        let n = self.ledger.id(0);
        let trade = ConvertTrade {
            quote_id: format!("{:032x}", 0xf3b9_1c52_5b26_44c7_u128 << 64 | n as u128),
            order_id: 940_708_407_462_087_195 + n,
            from_asset: from_asset.to_string(),
            from_amount,
            to_asset: to_asset.to_string(),
            to_amount,
            create_time: now,
        };
        self.ledger.converts.push(trade.clone());
        Ok(trade)
    }

    /// The value of `amount` of `asset` in `target` at current prices: a
    /// direct pair, an inverse pair, or through USDT or BTC.
    pub fn value_in(&self, asset: &str, amount: Decimal, target: &str) -> Option<Decimal> {
        let rate = |a: &str, b: &str| -> Option<Decimal> {
            if a == b {
                return Some(Decimal::ONE);
            }
            if let Some(s) = self.symbol(&format!("{a}{b}")) {
                return Some(s.price);
            }
            self.symbol(&format!("{b}{a}"))
                .filter(|s| !s.price.is_zero())
                .map(|s| Decimal::ONE / s.price)
        };
        if let Some(r) = rate(asset, target) {
            return Some(amount * r);
        }
        for via in ["USDT", "BTC"] {
            if let (Some(r1), Some(r2)) = (rate(asset, via), rate(via, target)) {
                return Some(amount * r1 * r2);
            }
        }
        None
    }

    /// Dust to BNB: the whole free Spot balance of each asset becomes BNB at
    /// current prices, less [`DUST_CHARGE`]; one dribblet with a detail per
    /// asset.
    pub fn dust(&mut self, assets: &[String], now: i64) -> Result<Dribblet, ApiError> {
        if assets.is_empty() {
            return Err(ApiError::mandatory("asset"));
        }
        let mut details = Vec::new();
        for asset in assets {
            if asset == "BNB" || assets.iter().filter(|a| *a == asset).count() > 1 {
                return Err(ApiError::invalid_param("asset"));
            }
            let amount = self.balance(asset).free;
            if amount <= Decimal::ZERO {
                return Err(ApiError::invalid_param("asset"));
            }
            let value = self
                .value_in(asset, amount, "BNB")
                .ok_or_else(|| ApiError::invalid_param("asset"))?
                .round_dp(8);
            let charge = (value * DUST_CHARGE).round_dp(8);
            details.push(DustDetail {
                trans_id: 0,
                from_asset: asset.clone(),
                amount,
                transfered: value - charge,
                charge,
            });
        }
        for d in &mut details {
            self.balance_mut(&d.from_asset).free -= d.amount;
            self.balance_mut("BNB").free += d.transfered;
            d.trans_id = self.ledger.id(4_359_321);
        }
        self.touch(now);
        let dribblet = Dribblet {
            trans_id: self.ledger.id(45_178_372_831),
            operate_time: now,
            details,
        };
        self.ledger.dribblets.push(dribblet.clone());
        Ok(dribblet)
    }

    /// A distribution (airdrop, rebate, …) credited to Spot.
    pub fn distribute(
        &mut self,
        asset: &str,
        amount: Decimal,
        info: Option<String>,
        now: i64,
    ) -> Result<Dividend, ApiError> {
        positive(amount, "amount")?;
        self.credit(Wallet::Spot, asset, amount, now);
        let id = self.ledger.id(1_637_366_104);
        let d = Dividend {
            id,
            tran_id: self.ledger.id(2_968_885_920),
            asset: asset.to_string(),
            amount,
            div_time: now,
            info: info.unwrap_or_else(|| format!("{asset} distribution")),
        };
        self.ledger.dividends.push(d.clone());
        Ok(d)
    }

    /// Subscribes `amount` of `asset` to its flexible product from `source`.
    pub fn earn_subscribe(
        &mut self,
        asset: &str,
        amount: Decimal,
        source: Wallet,
        now: i64,
    ) -> Result<u64, ApiError> {
        positive(amount, "amount")?;
        self.debit(source, asset, amount, now)?;
        entry(&mut self.ledger.earn_positions, asset).amount += amount;
        let purchase_id = self.ledger.id(26_055);
        self.ledger.earn.push(EarnEvent::Subscription {
            purchase_id,
            asset: asset.to_string(),
            amount,
            source,
            time: now,
        });
        Ok(purchase_id)
    }

    /// Redeems `amount` (or all, if `None`) of the position to `dest`.
    pub fn earn_redeem(
        &mut self,
        asset: &str,
        amount: Option<Decimal>,
        dest: Wallet,
        now: i64,
    ) -> Result<(u64, Decimal), ApiError> {
        let held = self.ledger.position(asset).amount;
        let amount = amount.unwrap_or(held);
        positive(amount, "amount")?;
        if amount > held {
            return Err(insufficient());
        }
        entry(&mut self.ledger.earn_positions, asset).amount -= amount;
        self.credit(dest, asset, amount, now);
        let redeem_id = self.ledger.id(40_607);
        self.ledger.earn.push(EarnEvent::Redemption {
            redeem_id,
            asset: asset.to_string(),
            amount,
            dest,
            time: now,
        });
        Ok((redeem_id, amount))
    }

    /// Pays a reward: real-time (and historical) rewards into the position, bonus tiered
    /// APR rewards to Spot (Binance's Simple Earn pages: "distributions … in your spot
    /// wallet"; the API docs do not say).
    pub fn earn_reward(
        &mut self,
        asset: &str,
        rewards: Decimal,
        kind: &str,
        now: i64,
    ) -> Result<(), ApiError> {
        positive(rewards, "rewards")?;
        if !["BONUS", "REALTIME", "REWARDS"].contains(&kind) {
            return Err(ApiError::invalid_param("type"));
        }
        if kind == "BONUS" {
            self.credit(Wallet::Spot, asset, rewards, now);
            entry(&mut self.ledger.earn_positions, asset).rewards += rewards;
        } else {
            let p = entry(&mut self.ledger.earn_positions, asset);
            p.amount += rewards;
            p.rewards += rewards;
        }
        self.ledger.earn.push(EarnEvent::Reward {
            asset: asset.to_string(),
            rewards,
            kind: kind.to_string(),
            time: now,
        });
        Ok(())
    }
}
