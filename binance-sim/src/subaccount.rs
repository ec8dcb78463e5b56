//! Transfers between this account and its master or a sibling sub-account:
//! what `GET /sapi/v1/sub-account/transfer/subUserHistory` serves
//! (`api/subaccount.rs`; docs/ledger-endpoints.md §8). The simulated account
//! is a sub-account unless the control API makes it play a master account
//! (`POST /__sim/sub-account`), which has no such history.
//!
//! Only this account's side is simulated: a transfer in credits the wallet
//! its `toAccountType` names, a transfer out debits the one its
//! `fromAccountType` names; the counter-party's wallets are not kept.

use crate::errors::ApiError;
use crate::json::J;
use crate::ledger::Wallet;
use crate::obj;
use crate::state::Exchange;
use rust_decimal::Decimal;

/// The account types Binance documents for transfers between master and
/// sub-accounts (sub-account "Universal Transfer": `SPOT`, `USDT_FUTURE`,
/// `COIN_FUTURE`, `MARGIN` (cross), `ISOLATED_MARGIN`).
pub const ACCOUNT_TYPES: &[&str] = &[
    "SPOT",
    "USDT_FUTURE",
    "COIN_FUTURE",
    "MARGIN",
    "ISOLATED_MARGIN",
];

/// Which way a row moved, as the history's `type` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `type` 1: into this account.
    In,
    /// `type` 2: out of this account.
    Out,
}

impl Direction {
    pub fn code(self) -> i64 {
        match self {
            Direction::In => 1,
            Direction::Out => 2,
        }
    }
}

/// The documented statuses (`PROCESS` / `SUCCESS` / `FAILURE`). The sim
/// makes transfers that succeed at once or fail at once: when a `PROCESS`
/// transfer's amount moves is not documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Failure,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Success => "SUCCESS",
            Status::Failure => "FAILURE",
        }
    }
}

/// One row of the history, this account's view of it.
#[derive(Debug, Clone)]
pub struct SubTransfer {
    pub tran_id: u64,
    /// `master` or `subAccount`, as the docs' example names them.
    pub counter_party: String,
    pub email: String,
    pub direction: Direction,
    pub asset: String,
    pub qty: Decimal,
    pub from_account_type: String,
    pub to_account_type: String,
    pub status: Status,
    pub time: i64,
}

impl SubTransfer {
    /// In the docs' field order.
    pub fn to_json(&self) -> J {
        obj! {
            "counterParty": &self.counter_party,
            "email": &self.email,
            "type": self.direction.code(),
            "asset": &self.asset,
            "qty": self.qty.normalize().to_string(),
            "fromAccountType": &self.from_account_type,
            "toAccountType": &self.to_account_type,
            "status": self.status.as_str(),
            "tranId": self.tran_id,
            "time": self.time
        }
    }
}

/// The account's place among master and sub-accounts, and its transfers.
#[derive(Debug, Clone, Default)]
pub struct SubAccounts {
    /// Plays a master (not a sub-account) account: the history is not its.
    pub is_master: bool,
    pub transfers: Vec<SubTransfer>,
    next_id: u64,
}

/// What the control action asks for.
#[derive(Debug, Clone)]
pub struct TransferRequest {
    pub direction: Direction,
    /// `master` or `subAccount`.
    pub counter_party: String,
    pub email: Option<String>,
    pub asset: String,
    pub amount: Decimal,
    /// This account's wallet (`SPOT` or `USDT_FUTURE`: the wallets the sim keeps).
    pub account_type: String,
    /// The counter-party's wallet (any documented type; not kept).
    pub counter_account_type: String,
    pub fail: bool,
}

/// The sim's wallet behind this account's side of a transfer.
fn own_wallet(account_type: &str) -> Result<Wallet, ApiError> {
    match account_type {
        "SPOT" => Ok(Wallet::Spot),
        "USDT_FUTURE" => Ok(Wallet::UmFuture),
        _ => Err(ApiError::invalid_param("accountType")),
    }
}

impl Exchange {
    /// A transfer between this (sub-)account and its master or a sibling:
    /// the wallet on this side moves by exactly `amount` (a failed one
    /// moves nothing), and its row is recorded. Refused (`-1002`, the
    /// documented "not authorized") while the account plays a master.
    pub fn sub_account_transfer(
        &mut self,
        req: TransferRequest,
        now: i64,
    ) -> Result<SubTransfer, ApiError> {
        if self.subaccount.is_master {
            return Err(not_a_sub_account());
        }
        if req.amount <= Decimal::ZERO {
            return Err(ApiError::invalid_param("amount"));
        }
        if !["master", "subAccount"].contains(&req.counter_party.as_str()) {
            return Err(ApiError::invalid_param("counterParty"));
        }
        if !ACCOUNT_TYPES.contains(&req.counter_account_type.as_str()) {
            return Err(ApiError::invalid_param("counterAccountType"));
        }
        let wallet = own_wallet(&req.account_type)?;
        if !req.fail {
            match req.direction {
                Direction::In => self.credit(wallet, &req.asset, req.amount, now),
                Direction::Out => self.debit(wallet, &req.asset, req.amount, now)?,
            }
        }
        let (from_account_type, to_account_type) = match req.direction {
            Direction::In => (req.counter_account_type, req.account_type),
            Direction::Out => (req.account_type, req.counter_account_type),
        };
        self.subaccount.next_id += 1;
        let email = req
            .email
            .unwrap_or_else(|| match req.counter_party.as_str() {
                "master" => "master@test.com".to_string(),
                _ => "sub2@test.com".to_string(),
            });
        let row = SubTransfer {
            tran_id: 11_798_835_829 + self.subaccount.next_id,
            counter_party: req.counter_party,
            email,
            direction: req.direction,
            asset: req.asset,
            qty: req.amount,
            from_account_type,
            to_account_type,
            status: if req.fail {
                Status::Failure
            } else {
                Status::Success
            },
            time: now,
        };
        self.subaccount.transfers.push(row.clone());
        Ok(row)
    }
}

/// What a master account is told when it asks for a sub-account's history
/// in strict mode. Undocumented: the sim uses the documented general
/// `-1002 UNAUTHORIZED` (HTTP 401, as Binance sends it).
pub fn not_a_sub_account() -> ApiError {
    ApiError {
        status: axum::http::StatusCode::UNAUTHORIZED,
        code: -1002,
        msg: "You are not authorized to execute this request.".to_string(),
        retry_after: None,
    }
}
