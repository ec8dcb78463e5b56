//! Every endpoint the adapter calls, with its documented request weight, in one table.
//!
//! Weights are what Binance charges against the IP's `REQUEST_WEIGHT` (6,000 / minute for
//! `/api/*`). They are added to `Usage.weight` *before* a request is sent, so the per-run
//! budget is enforced on what we are about to spend, not on what we already spent.
//!
//! `/sapi/*` endpoints are metered by Binance in separate pools (SAPI IP weight / UID
//! weight) that do not share limits with `/api/*` (FACTS.md §4.1). Their weights are listed
//! here for the reader, but they are *not* counted into `Usage.weight` nor the per-run budget:
//! withdraw history alone costs 18,000 UID weight, which would make any `/api` budget useless.
//!
//! | Endpoint                                   | Weight | Pool     | Source            |
//! |--------------------------------------------|-------:|----------|-------------------|
//! | `GET /api/v3/time`                         |      1 | api IP   | FACTS §2          |
//! | `GET /api/v3/exchangeInfo`                 |     20 | api IP   | FACTS §2          |
//! | `GET /api/v3/account`                      |     20 | api IP   | FACTS §5.1        |
//! | `GET /api/v3/openOrders` (no symbol)       |     80 | api IP   | FACTS §5.2        |
//! | `GET /api/v3/order`                        |      4 | api IP   | FACTS §5.3        |
//! | `GET /api/v3/allOrders`                    |     20 | api IP   | FACTS §5.4        |
//! | `GET /api/v3/myTrades` (no orderId)        |     20 | api IP   | FACTS §5.5        |
//! | `GET /api/v3/myAllocations`                |     20 | api IP   | FACTS §5.7        |
//! | `GET /api/v3/ticker/price` (`symbols=`)    |      4 | api IP   | Binance docs      |
//! | `GET /api/v3/klines`                       |      2 | api IP   | Binance docs      |
//! | `GET /sapi/v1/capital/deposit/hisrec`      |      1 | sapi IP  | FACTS §7          |
//! | `GET /sapi/v1/capital/withdraw/history`    |  18000 | sapi UID | FACTS §7          |
//! | `GET /sapi/v1/convert/tradeFlow`           |   3000 | sapi UID | ledger-endpoints §2 |
//! | `GET /sapi/v1/asset/dribblet`              |      1 | sapi IP  | ledger-endpoints §3 |
//! | `GET /sapi/v1/asset/assetDividend`         |     10 | sapi IP  | ledger-endpoints §4 |
//! | `GET /sapi/v1/asset/transfer` (per type)   |      1 | sapi IP  | ledger-endpoints §5 |
//! | `GET /sapi/v1/simple-earn/flexible/history/subscriptionRecord` | 150 | sapi IP | ledger-endpoints §6 |
//! | `GET /sapi/v1/simple-earn/flexible/history/redemptionRecord`   | 150 | sapi IP | ledger-endpoints §6 |
//! | `GET /sapi/v1/simple-earn/flexible/history/rewardsRecord`      | 150 | sapi IP | ledger-endpoints §6 |
//! | `GET /sapi/v1/sub-account/transfer/subUserHistory` (per type) | 1 | sapi IP | ledger-endpoints §8 |
//! | `GET /sapi/v1/account/apiRestrictions`     |      1 | sapi IP  | Binance docs      |

/// Which limiter an endpoint is metered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// `/api/*`: the IP's REQUEST_WEIGHT; counted in `Usage.weight` and the run budget.
    Api,
    /// `/sapi/*`: separate SAPI pools; documented but not counted against the run budget.
    Sapi,
}

/// One endpoint: its path, documented weight, limiter and whether it must be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub path: &'static str,
    pub weight: u64,
    pub pool: Pool,
    pub signed: bool,
}

impl Endpoint {
    /// The weight this request adds to the run's `/api` budget.
    pub fn budget_weight(&self) -> u64 {
        match self.pool {
            Pool::Api => self.weight,
            Pool::Sapi => 0,
        }
    }
}

pub const TIME: Endpoint = Endpoint {
    path: "/api/v3/time",
    weight: 1,
    pool: Pool::Api,
    signed: false,
};
pub const EXCHANGE_INFO: Endpoint = Endpoint {
    path: "/api/v3/exchangeInfo",
    weight: 20,
    pool: Pool::Api,
    signed: false,
};
pub const ACCOUNT: Endpoint = Endpoint {
    path: "/api/v3/account",
    weight: 20,
    pool: Pool::Api,
    signed: true,
};
/// Without `symbol` (all symbols in one call): 80. Cheaper than per-symbol (6 each) from 14 symbols.
pub const OPEN_ORDERS_ALL: Endpoint = Endpoint {
    path: "/api/v3/openOrders",
    weight: 80,
    pool: Pool::Api,
    signed: true,
};
pub const ORDER: Endpoint = Endpoint {
    path: "/api/v3/order",
    weight: 4,
    pool: Pool::Api,
    signed: true,
};
pub const ALL_ORDERS: Endpoint = Endpoint {
    path: "/api/v3/allOrders",
    weight: 20,
    pool: Pool::Api,
    signed: true,
};
pub const MY_TRADES: Endpoint = Endpoint {
    path: "/api/v3/myTrades",
    weight: 20,
    pool: Pool::Api,
    signed: true,
};
/// `myTrades` with `orderId`: weight 5 (since 2025-04-07).
pub const MY_TRADES_BY_ORDER: Endpoint = Endpoint {
    path: "/api/v3/myTrades",
    weight: 5,
    pool: Pool::Api,
    signed: true,
};
/// SOR allocations (rest-api.md "Query Allocations (USER_DATA)"): weight 20 whatever the
/// parameters; `symbol` + `fromAllocationId` is a documented combination ("allocations by
/// allocation ID"), `limit` default 500, maximum 1000.
pub const MY_ALLOCATIONS: Endpoint = Endpoint {
    path: "/api/v3/myAllocations",
    weight: 20,
    pool: Pool::Api,
    signed: true,
};
/// With the `symbols=[...]` parameter (2 for a single `symbol`, 4 for a list or none).
pub const TICKER_PRICE: Endpoint = Endpoint {
    path: "/api/v3/ticker/price",
    weight: 4,
    pool: Pool::Api,
    signed: false,
};
pub const KLINES: Endpoint = Endpoint {
    path: "/api/v3/klines",
    weight: 2,
    pool: Pool::Api,
    signed: false,
};
pub const DEPOSIT_HISTORY: Endpoint = Endpoint {
    path: "/sapi/v1/capital/deposit/hisrec",
    weight: 1,
    pool: Pool::Sapi,
    signed: true,
};
pub const WITHDRAW_HISTORY: Endpoint = Endpoint {
    path: "/sapi/v1/capital/withdraw/history",
    weight: 18_000,
    pool: Pool::Sapi,
    signed: true,
};
/// Convert history (`docs/ledger-endpoints.md` §2): 30-day windows, UID pool.
pub const CONVERT_HISTORY: Endpoint = Endpoint {
    path: "/sapi/v1/convert/tradeFlow",
    weight: 3_000,
    pool: Pool::Sapi,
    signed: true,
};
/// Dust-to-BNB log (§3): the last 100 conversions, after 2020-12-01.
pub const DUST_LOG: Endpoint = Endpoint {
    path: "/sapi/v1/asset/dribblet",
    weight: 1,
    pool: Pool::Sapi,
    signed: true,
};
/// Distributions (§4): windows of at most 180 days, `limit` at most 500, no paging.
pub const ASSET_DIVIDEND: Endpoint = Endpoint {
    path: "/sapi/v1/asset/assetDividend",
    weight: 10,
    pool: Pool::Sapi,
    signed: true,
};
/// Universal transfers (§5): one `type` per request, the last 6 months only, paged with
/// `current`/`size`.
pub const TRANSFER_HISTORY: Endpoint = Endpoint {
    path: "/sapi/v1/asset/transfer",
    weight: 1,
    pool: Pool::Sapi,
    signed: true,
};
/// Simple Earn flexible subscriptions (§6): windows of at most 30 days, paged.
pub const EARN_SUBSCRIPTIONS: Endpoint = Endpoint {
    path: "/sapi/v1/simple-earn/flexible/history/subscriptionRecord",
    weight: 150,
    pool: Pool::Sapi,
    signed: true,
};
/// Simple Earn flexible redemptions (§6).
pub const EARN_REDEMPTIONS: Endpoint = Endpoint {
    path: "/sapi/v1/simple-earn/flexible/history/redemptionRecord",
    weight: 150,
    pool: Pool::Sapi,
    signed: true,
};
/// Simple Earn flexible rewards (§6): `type` is mandatory (`ALL` for every kind).
pub const EARN_REWARDS: Endpoint = Endpoint {
    path: "/sapi/v1/simple-earn/flexible/history/rewardsRecord",
    weight: 150,
    pool: Pool::Sapi,
    signed: true,
};
/// Transfers with the master or a sibling sub-account, read with a sub-account's key
/// (§8): one `type` (1 in, 2 out) per request, a JSON array, no paging.
pub const SUB_ACCOUNT_TRANSFERS: Endpoint = Endpoint {
    path: "/sapi/v1/sub-account/transfer/subUserHistory",
    weight: 1,
    pool: Pool::Sapi,
    signed: true,
};
pub const API_RESTRICTIONS: Endpoint = Endpoint {
    path: "/sapi/v1/account/apiRestrictions",
    weight: 1,
    pool: Pool::Sapi,
    signed: true,
};

/// Page size of `myTrades` and `allOrders` (the documented maximum).
pub const PAGE_LIMIT: usize = 1000;
/// `myTrades` / `allOrders`: `endTime - startTime` may not exceed 24 hours.
pub const TRADE_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// Deposit / withdraw history: windows must be shorter than 90 days.
pub const WALLET_WINDOW_MS: i64 = 90 * 24 * 60 * 60 * 1000 - 1;
/// Deposit / withdraw history page size (documented maximum; paged with `offset`).
pub const WALLET_PAGE_LIMIT: usize = 1000;

/// Convert history: "The max interval between startTime and endTime is 30 days."
pub const CONVERT_WINDOW_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Convert history page size (documented maximum).
pub const CONVERT_PAGE_LIMIT: usize = 1000;
/// Distributions: "There cannot be more than 180 days between startTime and endTime."
pub const DIVIDEND_WINDOW_MS: i64 = 180 * 24 * 60 * 60 * 1000;
/// Distributions page size (documented maximum).
pub const DIVIDEND_PAGE_LIMIT: usize = 500;
/// Universal transfers: "Support query within the last 6 months only" (taken as 180 days).
pub const TRANSFER_HISTORY_MS: i64 = 180 * 24 * 60 * 60 * 1000;
/// Universal transfers: no window limit is documented; 30 days keeps each request small.
pub const TRANSFER_WINDOW_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Simple Earn histories: the web page says 3 months between `startTime` and `endTime`,
/// the SDK's docstring 30 days; the shorter is always accepted.
pub const EARN_WINDOW_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Sub-account transfers: only the default span is documented ("the recent 30-day data"
/// when no time is sent); no maximum window is, so no window is longer than that.
pub const SUB_TRANSFER_WINDOW_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Sub-account transfers: the web page gives `limit` "Default 500" and no maximum;
/// Binance's generated SDKs say "Max value: 200". 200 is within both, and a full page
/// splits its window, so a server capping at 200 loses no row.
pub const SUB_TRANSFER_PAGE_LIMIT: usize = 200;
/// `size` of the `current`/`size`-paged histories (documented maximum).
pub const ROWS_PAGE_SIZE: usize = 100;
/// The universal transfer types that debit or credit Spot (`MAIN`), each read on its own
/// (`type` is mandatory). Transfers between two other wallets move no Spot balance.
pub const SPOT_TRANSFER_TYPES: [&str; 12] = [
    "MAIN_UMFUTURE",
    "UMFUTURE_MAIN",
    "MAIN_CMFUTURE",
    "CMFUTURE_MAIN",
    "MAIN_MARGIN",
    "MARGIN_MAIN",
    "MAIN_FUNDING",
    "FUNDING_MAIN",
    "MAIN_OPTION",
    "OPTION_MAIN",
    "MAIN_PORTFOLIO_MARGIN",
    "PORTFOLIO_MARGIN_MAIN",
];
