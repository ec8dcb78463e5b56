#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = binance_account_sync_fuzz::binance_error(data);
});
