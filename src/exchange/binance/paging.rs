//! Paging of `myTrades` and `allOrders`, and one page of `myAllocations`.
//!
//! Rules from the docs (FACTS §5.4, §5.5): pages hold at most 1000 rows; `fromId`/`orderId`
//! returns rows with id >= the given id; `fromId` may not be combined with
//! `startTime`/`endTime`; a `startTime..endTime` window may not exceed 24 hours.
//!
//! - By id (the normal, cheap path): ask from the cursor, next cursor = last id + 1, stop
//!   on a short page. Cost: 20 weight per 1000 rows, independent of the time span.
//! - By time (no cursor yet): walk 24-hour windows from `t` to now. As soon as a window
//!   returns rows, switch to id paging from the last id + 1: ids increase with time, so
//!   this reads everything after that row, and an empty month costs one call per
//!   remaining day less than walking every window (cheaper, and no per-day page splitting).
//!
//! When the weight budget stops a walk midway, the rows read so far are returned with
//! `complete: false` instead of an error, so the caller can still use (and checkpoint) them.

use super::endpoints::{
    ALL_ORDERS, MY_ALLOCATIONS, MY_TRADES, MY_TRADES_BY_ORDER, PAGE_LIMIT, TRADE_WINDOW_MS,
};
use super::model::{malformed, WireOrder, WireTrade};
use super::BinanceClient;
use crate::domain::{ExchangeOrder, Fill, Millis, Symbol};
use crate::exchange::credentials::CredentialSource;
use crate::exchange::{ExchangeError, FillsFrom, Paged};

/// Turn "the budget ran out" or "the deadline came" into a partial page; every other
/// error stays an error.
fn partial_or<T>(items: Vec<T>, e: ExchangeError) -> Result<Paged<T>, ExchangeError> {
    match e {
        ExchangeError::DeadlineReached => {
            tracing::info!(
                rows = items.len(),
                "run deadline reached; returning a partial page set"
            );
            Ok(Paged {
                items,
                complete: false,
            })
        }
        ExchangeError::BudgetExhausted { budget, used } => {
            tracing::info!(
                budget,
                used,
                rows = items.len(),
                "weight budget reached; returning a partial page set"
            );
            Ok(Paged {
                items,
                complete: false,
            })
        }
        ExchangeError::SharedWeightExhausted { share, used } => {
            tracing::info!(
                share,
                used,
                rows = items.len(),
                "shared weight used up; returning a partial page set"
            );
            Ok(Paged {
                items,
                complete: false,
            })
        }
        e => Err(e),
    }
}

impl<C: CredentialSource> BinanceClient<C> {
    /// One `myTrades` page (at most 1,000 fills), as asked.
    pub(super) async fn fills_one_page(
        &self,
        symbol: &Symbol,
        query: crate::exchange::FillsQuery,
    ) -> Result<Vec<Fill>, ExchangeError> {
        use crate::exchange::FillsQuery;
        let mut params = vec![("symbol", symbol.as_str().to_owned())];
        match query {
            FillsQuery::FromId(id) => params.push(("fromId", id.to_string())),
            FillsQuery::Window { start, end } => {
                params.push(("startTime", start.to_string()));
                params.push(("endTime", end.to_string()));
            }
            FillsQuery::Order { order_id, from_id } => {
                params.push(("orderId", order_id.to_string()));
                params.push(("fromId", from_id.to_string()));
            }
        }
        params.push(("limit", PAGE_LIMIT.to_string()));
        let endpoint = if matches!(query, FillsQuery::Order { .. }) {
            &MY_TRADES_BY_ORDER
        } else {
            &MY_TRADES
        };
        let rows: Vec<WireTrade> = self.call(endpoint, &params).await?;
        rows.into_iter()
            .map(|r| r.into_domain(MY_TRADES.path))
            .collect()
    }

    /// One `myAllocations` page (SOR fills): `symbol` + `fromAllocationId` (documented:
    /// "allocations by allocation ID"), `limit=1000` (the documented maximum), weight 20,
    /// through the same budget, deadline and retries as every other request. Only ids >=
    /// `from_id` are kept, ascending, whatever order the server sent them in.
    pub(super) async fn allocations_one_page(
        &self,
        symbol: &Symbol,
        from_id: u64,
    ) -> Result<Vec<Fill>, ExchangeError> {
        let params = [
            ("symbol", symbol.as_str().to_owned()),
            ("fromAllocationId", from_id.to_string()),
            ("limit", crate::exchange::ALLOCATIONS_PAGE.to_string()),
        ];
        let rows: Vec<WireTrade> = self.call(&MY_ALLOCATIONS, &params).await?;
        let mut fills = rows
            .into_iter()
            .map(|r| r.into_domain(MY_ALLOCATIONS.path))
            .collect::<Result<Vec<_>, _>>()?;
        fills.retain(|f| f.trade_id >= from_id);
        fills.sort_by_key(|f| f.trade_id);
        Ok(fills)
    }

    async fn trades_page(
        &self,
        symbol: &Symbol,
        range: TradeQuery,
    ) -> Result<Vec<Fill>, ExchangeError> {
        let mut params = vec![("symbol", symbol.as_str().to_owned())];
        match range {
            TradeQuery::FromId(id) => params.push(("fromId", id.to_string())),
            TradeQuery::Window(start, end) => {
                params.push(("startTime", start.to_string()));
                params.push(("endTime", end.to_string()));
            }
        }
        params.push(("limit", PAGE_LIMIT.to_string()));
        let rows: Vec<WireTrade> = self.call(&MY_TRADES, &params).await?;
        rows.into_iter()
            .map(|r| r.into_domain(MY_TRADES.path))
            .collect()
    }

    /// Id paging from `from_id`, appending to `items`.
    async fn trades_from_id(
        &self,
        symbol: &Symbol,
        mut from_id: u64,
        mut items: Vec<Fill>,
    ) -> Result<Paged<Fill>, ExchangeError> {
        loop {
            let page = match self.trades_page(symbol, TradeQuery::FromId(from_id)).await {
                Ok(p) => p,
                Err(e) => return partial_or(items, e),
            };
            let full = page.len() >= PAGE_LIMIT;
            let last = page.iter().map(|f| f.trade_id).max();
            items.extend(page.into_iter().filter(|f| f.trade_id >= from_id));
            match last {
                Some(last) if full => {
                    if last < from_id {
                        return Err(malformed(MY_TRADES.path, "fromId paging did not advance"));
                    }
                    from_id = last + 1;
                }
                _ => {
                    return Ok(Paged {
                        items,
                        complete: true,
                    })
                }
            }
        }
    }

    pub(super) async fn fills_paged(
        &self,
        symbol: &Symbol,
        from: FillsFrom,
    ) -> Result<Paged<Fill>, ExchangeError> {
        match from {
            FillsFrom::TradeId(id) => self.trades_from_id(symbol, id, Vec::new()).await,
            FillsFrom::Time(t) => self.trades_from_time(symbol, t).await,
        }
    }

    async fn trades_from_time(
        &self,
        symbol: &Symbol,
        since: Millis,
    ) -> Result<Paged<Fill>, ExchangeError> {
        // The signed calls below measure the clock if needed; make sure "now" uses it.
        if self.clock_offset_ms().is_none() {
            self.sync_clock().await?;
        }
        let now = self.server_now();
        let mut start = since;
        while start <= now {
            // endTime is inclusive: end - start < 24 h keeps the window within the limit.
            let end = (start + TRADE_WINDOW_MS - 1).min(now);
            let page = match self
                .trades_page(symbol, TradeQuery::Window(start, end))
                .await
            {
                Ok(p) => p,
                Err(e) => return partial_or(Vec::new(), e),
            };
            if let Some(last) = page.iter().map(|f| f.trade_id).max() {
                // The rest of this window and every later window: continue by id.
                let items: Vec<Fill> = page.into_iter().filter(|f| f.time >= since).collect();
                return self.trades_from_id(symbol, last + 1, items).await;
            }
            start = end + 1;
        }
        Ok(Paged {
            items: Vec::new(),
            complete: true,
        })
    }

    /// One `allOrders` page from `from_order_id` (every order as returned, ascending).
    pub(super) async fn orders_one_page(
        &self,
        symbol: &Symbol,
        from_order_id: u64,
    ) -> Result<Vec<ExchangeOrder>, ExchangeError> {
        let params = [
            ("symbol", symbol.as_str().to_owned()),
            ("orderId", from_order_id.to_string()),
            ("limit", PAGE_LIMIT.to_string()),
        ];
        let rows: Vec<WireOrder> = self.call(&ALL_ORDERS, &params).await?;
        rows.into_iter()
            .map(|r| r.into_domain(ALL_ORDERS.path))
            .collect()
    }

    pub(super) async fn orders_paged(
        &self,
        symbol: &Symbol,
        from_order_id: u64,
    ) -> Result<Paged<ExchangeOrder>, ExchangeError> {
        let mut items: Vec<ExchangeOrder> = Vec::new();
        let mut from = from_order_id;
        loop {
            let rows = match self.orders_one_page(symbol, from).await {
                Ok(r) => r,
                Err(e) => return partial_or(items, e),
            };
            let full = rows.len() >= PAGE_LIMIT;
            let mut last = None;
            for o in rows {
                last = last.max(Some(o.order_id));
                if o.order_id >= from {
                    items.push(o);
                }
            }
            match last {
                Some(last) if full => {
                    if last < from {
                        return Err(malformed(ALL_ORDERS.path, "orderId paging did not advance"));
                    }
                    from = last + 1;
                }
                _ => {
                    return Ok(Paged {
                        items,
                        complete: true,
                    })
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum TradeQuery {
    FromId(u64),
    Window(Millis, Millis),
}
