//! Progress of a run, for a person watching a long one (the CLI's `sync` on a terminal).
//! The service calls the hook once the scope is planned and after each symbol it read;
//! the Lambda handler sets none, so nothing changes there.

use std::fmt;
use std::sync::Arc;

/// How far a run is: symbols read of the scope, and the request weight spent so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Symbols of the scope read so far (a failed symbol counts: its turn is over).
    pub symbols_done: usize,
    /// Symbols the run's scope plans to read.
    pub symbols_in_scope: usize,
    /// The exchange's request weight this run has used (`Exchange::usage`).
    pub weight_used: u64,
}

/// The callback in `RunSettings::progress`. Cheap to clone (shared); compared by identity
/// so `RunSettings` stays comparable.
#[derive(Clone)]
pub struct ProgressHook(Arc<dyn Fn(Progress) + Send + Sync>);

impl ProgressHook {
    pub fn new(f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    pub fn report(&self, progress: Progress) {
        (self.0)(progress)
    }
}

impl fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressHook(..)")
    }
}

impl PartialEq for ProgressHook {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ProgressHook {}

/// The line the CLI prints (on a terminal only): `synced 3/12 symbols, weight 240`.
pub fn progress_line(p: &Progress) -> String {
    format!(
        "synced {}/{} symbols, weight {}",
        p.symbols_done, p.symbols_in_scope, p.weight_used
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_line_says_symbols_done_of_the_scope_and_weight() {
        let p = Progress {
            symbols_done: 3,
            symbols_in_scope: 12,
            weight_used: 240,
        };
        assert_eq!(progress_line(&p), "synced 3/12 symbols, weight 240");
    }

    #[test]
    fn hooks_compare_by_identity() {
        let a = ProgressHook::new(|_| {});
        let b = ProgressHook::new(|_| {});
        assert_eq!(a, a.clone());
        assert_ne!(a, b);
    }
}
