//! The Lambda handler driven in process (`App::handle`), for the tests that invoke it
//! without the runtime: the smallest valid configuration and an invocation context.

use binance_account_sync::config::Config;
use binance_account_sync::lambda::InvocationContext;
use std::time::Duration;

/// The three variables the function requires, and no minimum interval between runs (a
/// test invokes it several times in a row).
pub fn config() -> Config {
    let vars = [
        ("SYNC_ACCOUNT_ID", "main"),
        ("SYNC_TABLE_NAME", "records"),
        ("BINANCE_SECRET_ID", "s"),
    ];
    let mut config = Config::from_lookup(|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .expect("config");
    config.run.min_interval = Duration::ZERO;
    config
}

/// An invocation with this request id and no deadline.
pub fn ctx(request_id: &str) -> InvocationContext {
    InvocationContext {
        request_id: request_id.into(),
        deadline_ms: None,
    }
}
