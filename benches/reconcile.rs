//! `make bench`: how long the pure core takes on a large account, and how much memory
//! the plan holds. Speed targets live here, never in timed tests.
//!
//! Targets (2-core machine, release build): a first reconcile of 50 symbols × 2,000 new
//! fills (100,000 corrections) under 2 s; a second (converged) reconcile under 500 ms.
//! Measured 2026-11-24: 840 ms and 176 ms. A Lambda run never sees that many fills: the
//! weight budget stops reading long before.

use binance_account_sync::core::{reconcile, Mode, ReconcileInput, RulesConfig};
use binance_account_sync::domain::*;
use rust_decimal::Decimal;
use std::time::Instant;

fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

fn snapshot(symbols: usize, fills_per_symbol: u64) -> ExchangeSnapshot {
    let mut snap = ExchangeSnapshot {
        taken_at: 1_700_000_000_000,
        ..Default::default()
    };
    let usdt = Asset::parse("USDT").expect("asset");
    snap.balances.insert(
        usdt.clone(),
        Balance {
            asset: usdt.clone(),
            free: d("100000"),
            locked: Decimal::ZERO,
        },
    );
    for i in 0..symbols {
        let base = Asset::parse(format!("C{i}")).expect("asset");
        let symbol = Symbol::parse(format!("C{i}USDT")).expect("symbol");
        snap.symbols.insert(
            symbol.clone(),
            SymbolInfo {
                sor: false,
                symbol: symbol.clone(),
                base: base.clone(),
                quote: usdt.clone(),
                min_qty: d("0.001"),
                step_size: d("0.001"),
                min_notional: d("5"),
                base_precision: 8,
                quote_precision: 8,
            },
        );
        snap.prices.insert(symbol.clone(), d("10.5"));
        let fills: Vec<Fill> = (1..=fills_per_symbol)
            .map(|id| Fill {
                symbol: symbol.clone(),
                trade_id: id,
                order_id: id / 3 + 1,
                side: if id % 3 == 0 { Side::Sell } else { Side::Buy },
                price: d("10.5") + Decimal::new(id as i64 % 100, 2),
                qty: d("1.5"),
                quote_qty: d("15.75"),
                commission: d("0.0015"),
                commission_asset: base.clone(),
                time: 1_700_000_000_000 + id as i64 * 1000,
                is_maker: id % 2 == 0,
            })
            .collect();
        let held = Decimal::from(fills_per_symbol) * d("1.5") / Decimal::from(3);
        snap.balances.insert(
            base.clone(),
            Balance {
                asset: base,
                free: held,
                locked: Decimal::ZERO,
            },
        );
        snap.history.insert(
            symbol,
            SymbolHistory {
                allocations: None,
                read_at: 0,
                fills,
                from_id: Some(0),
                complete: true,
            },
        );
    }
    snap
}

/// Apply a plan's records to the records (what the store would do).
fn apply(records: &mut Records, plan: &Plan) {
    for c in &plan.corrections {
        binance_account_sync::store::keys::insert_record(records, c.after.clone());
    }
}

fn time<F: FnMut() -> Plan>(label: &str, runs: usize, mut f: F) -> Plan {
    let mut times = Vec::new();
    let mut plan = Plan::default();
    for _ in 0..runs {
        let t = Instant::now();
        plan = f();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "{label:<44} median {:>8.2} ms  min {:>8.2} ms  ({} corrections)",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        plan.corrections.len()
    );
    plan
}

fn main() {
    let config = RulesConfig::default();
    let snap = snapshot(50, 2_000);
    let mut records = Records::default();
    let input = |records: &Records| {
        reconcile(&ReconcileInput {
            snapshot: &snap,
            records: &records.clone(),
            config: &config,
            mode: Mode::Emergency,
            now: 1_800_000_000_000,
        })
    };
    let plan = time("first reconcile, 50 symbols x 2000 new fills", 5, || {
        input(&records)
    });
    apply(&mut records, &plan);
    let second = time("second reconcile (converged)", 5, || input(&records));
    println!(
        "plan JSON size of the first run: {} KiB",
        serde_json::to_vec(&plan)
            .map(|v| v.len() / 1024)
            .unwrap_or(0)
    );
    assert!(
        second.corrections.is_empty(),
        "a converged account must need no corrections"
    );
}
