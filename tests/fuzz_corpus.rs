//! Replays every fuzz target's committed corpus (`fuzz/corpus/<target>/`) and every input
//! that ever crashed it (`fuzz/artifacts/<target>/`) through the same "check one input"
//! function the fuzz target runs (`fuzz/src/lib.rs`), as a plain test: building libFuzzer
//! takes minutes, replaying takes a second. No input may panic; every rejection must be a
//! typed error (the check asserts both).

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod checks;

use checks::{Outcome, TARGETS};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Inputs that still panic, `(target, file name)`, each with the panic it shows. They are
/// product bugs reported for the rewrite of `src/`; the test expects them to panic, and
/// fails once one no longer does (then remove it from this list).
const KNOWN_FAILING: &[(&str, &str)] = &[
    // "attempt to multiply with overflow" in `lenient::utc_datetime_ms` /
    // `days_from_civil` (src/exchange/binance/lenient.rs:181 and :192): a
    // "YYYY-MM-DD HH:MM:SS" time with a 10+ digit year, or a negative minute (only upper
    // bounds are checked), overflows the epoch-ms arithmetic (debug builds panic, release
    // builds wrap to a wrong time). Reached through withdraw history's `applyTime` and
    // deposit history's `insertTime` (`lenient::time`), even in a body cut short after
    // that field. Found by the fuzzer (`-fuzzed` and minimised ones) and written by hand.
    ("binance_withdrawals", "crash-apply-time-year-overflow"),
    (
        "binance_withdrawals",
        "crash-apply-time-year-overflow-wellformed",
    ),
    ("binance_withdrawals", "crash-apply-time-era-overflow"),
    ("binance_withdrawals", "crash-apply-time-negative-minutes"),
    ("binance_deposits", "crash-insert-time-year-overflow"),
    ("binance_deposits", "crash-insert-time-year-overflow-fuzzed"),
    ("binance_deposits", "crash-insert-time-era-overflow-fuzzed"),
    // "Addition overflowed" (rust_decimal) from `Balance::total` at
    // src/domain/exchange.rs:117: the parser accepts free = Decimal::MAX, locked = 1.
    ("binance_account", "crash-total-overflow"),
    ("binance_account", "crash-total-overflow-fuzzed"),
    // "Division overflowed" (rust_decimal) from `ExchangeOrder::avg_price` at
    // src/domain/exchange.rs:162: cummulativeQuoteQty = Decimal::MAX, executedQty = 0.1.
    // Written by hand (the fuzzer did not reach it in 300 s).
    ("binance_order", "crash-avg-price-overflow"),
    ("binance_order_list", "crash-avg-price-overflow"),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| {
            e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.is_file())
        .filter(|p| p.file_name().is_some_and(|n| n != ".gitkeep"))
        .collect();
    out.sort();
    out
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(not a string)".to_owned())
}

fn replay(target: &str) {
    let (_, check) = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("{target} is not in fuzz/src/lib.rs TARGETS"));
    let corpus = files(&fuzz_dir().join("corpus").join(target));
    assert!(!corpus.is_empty(), "fuzz/corpus/{target} is empty");
    let artifacts = files(&fuzz_dir().join("artifacts").join(target));
    let (mut accepted, mut rejected, mut skipped) = (0, 0, 0);
    let mut failures = Vec::new();
    for path in corpus.iter().chain(&artifacts) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let known = KNOWN_FAILING.contains(&(target, name));
        match (catch_unwind(AssertUnwindSafe(|| check(&data))), known) {
            (Ok(Outcome::Accepted), false) => accepted += 1,
            (Ok(Outcome::Rejected { .. }), false) => rejected += 1,
            (Ok(Outcome::Skipped), false) => skipped += 1,
            (Err(_), true) => {}
            (Ok(_), true) => failures.push(format!(
                "{name}: listed in KNOWN_FAILING but no longer panics: remove it"
            )),
            (Err(p), false) => failures.push(format!("{name}: panicked: {}", panic_message(&*p))),
        }
    }
    println!(
        "{target}: {} inputs ({} regression), {accepted} accepted, {rejected} rejected, {skipped} skipped",
        corpus.len() + artifacts.len(),
        artifacts.len()
    );
    assert!(
        failures.is_empty(),
        "{target}:\n  {}",
        failures.join("\n  ")
    );
}

macro_rules! replay_tests {
    ($($target:ident),* $(,)?) => {
        $(
            #[test]
            fn $target() {
                replay(stringify!($target));
            }
        )*

        /// Every target has a replay test, a fuzz target and a corpus.
        #[test]
        fn every_target_is_replayed() {
            let mut tested = vec![$(stringify!($target)),*];
            let mut listed: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
            let mut binaries: Vec<String> = files(&fuzz_dir().join("fuzz_targets"))
                .iter()
                .filter_map(|p| p.file_stem()?.to_str().map(str::to_owned))
                .collect();
            tested.sort_unstable();
            listed.sort_unstable();
            binaries.sort_unstable();
            assert_eq!(tested, listed, "replay tests vs fuzz/src/lib.rs TARGETS");
            assert_eq!(listed, binaries, "TARGETS vs fuzz/fuzz_targets/");
            for (target, name) in KNOWN_FAILING {
                assert!(listed.contains(target), "KNOWN_FAILING names {target}");
                let path = fuzz_dir().join("artifacts").join(target).join(name);
                assert!(path.is_file(), "KNOWN_FAILING names {}", path.display());
            }
        }
    };
}

replay_tests!(
    payload,
    secret,
    binance_account,
    binance_order,
    binance_order_list,
    binance_my_trades,
    binance_exchange_info,
    binance_ticker_price,
    binance_klines,
    binance_deposits,
    binance_withdrawals,
    binance_api_restrictions,
    binance_server_time,
    binance_error,
    store_record,
    store_state,
    store_audit,
);
