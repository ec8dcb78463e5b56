//! Panics become failed runs. The release profile unwinds (`panic = "unwind"`), the
//! handler polls the run under [`CatchPanic`], and a caught panic is reported like any
//! other failed run with the stable errorType `Panic` (metric, SNS alert, the lease
//! released: `handler.rs`).
//!
//! What is reported never carries data: a panic's message is reported only when it is a
//! string literal of the source (`panic!("...")`, `unreachable!()`, an overflow), never
//! when it was formatted at run time (`expect`, `assert_eq!`, `panic!("{x}")`), since a
//! formatted message may hold a value, a key or a secret. The location (file, line,
//! column) always is: it is enough to find the bug. The hook installed by the Lambda and
//! the CLI ([`install_hook`]) logs the same redacted line instead of Rust's default
//! "thread panicked at ...: <message>" on stderr.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The stable errorType (and metric `ErrorType`) of a run that panicked.
pub const PANIC_KIND: &str = "Panic";

thread_local! {
    /// Where the last panic on this thread happened, recorded by the hook and taken by
    /// [`CatchPanic`] on the same thread (a panic unwinds within the poll that raised it).
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A caught panic, as it may be reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanicReport {
    /// `file:line:column`, when the hook saw the panic.
    pub location: Option<String>,
    /// The message, only when it is a string literal of the source.
    pub message: Option<&'static str>,
}

impl PanicReport {
    /// From a panic's payload (and the location the hook recorded on this thread).
    pub fn from_payload(payload: &(dyn Any + Send)) -> Self {
        Self {
            location: LAST_LOCATION.with(|l| l.borrow_mut().take()),
            message: static_message(payload),
        }
    }
}

impl fmt::Display for PanicReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the run panicked at {}",
            self.location.as_deref().unwrap_or("an unknown location")
        )?;
        match self.message {
            Some(m) => write!(f, ": {m}"),
            None => write!(
                f,
                " (message withheld: formatted at run time, it may hold data)"
            ),
        }
    }
}

/// The message when it is a `&'static str` (a literal of the source), never a `String`.
fn static_message(payload: &(dyn Any + Send)) -> Option<&'static str> {
    payload.downcast_ref::<&'static str>().copied()
}

/// Replace Rust's panic hook: record the location for [`CatchPanic`] and log one
/// redacted line (location, literal message only). With `forward`, the previous hook runs
/// too (tests keep the harness's full assertion messages); the Lambda and the CLI pass
/// `false`, so a formatted message never reaches a log.
pub fn install_hook(forward: bool) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
        LAST_LOCATION.with(|l| *l.borrow_mut() = location.clone());
        let message = static_message(info.payload()).unwrap_or("(withheld)");
        tracing::error!(
            error_type = PANIC_KIND,
            location = location.as_deref().unwrap_or("unknown"),
            message,
            "panic"
        );
        if forward {
            previous(info);
        }
    }));
}

/// A future whose panics are caught: `Ok(output)` or `Err(report)`. The inner future is
/// boxed, so this one is `Unpin` and needs no unsafe pinning.
pub struct CatchPanic<F: Future>(Pin<Box<F>>);

impl<F: Future> CatchPanic<F> {
    pub fn new(future: F) -> Self {
        Self(Box::pin(future))
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, PanicReport>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.get_mut().0;
        // AssertUnwindSafe: after a panic the future is never polled again; what it shared
        // (the App's clients and caches) is either lock-free or recovers a poisoned lock.
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(PanicReport::from_payload(payload.as_ref()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_message_is_reported_a_formatted_one_is_withheld() {
        let literal: Box<dyn Any + Send> = Box::new("index out of range");
        let formatted: Box<dyn Any + Send> = Box::new(String::from("key demo-secret"));
        let r = PanicReport::from_payload(literal.as_ref());
        assert_eq!(r.message, Some("index out of range"));
        let r = PanicReport::from_payload(formatted.as_ref());
        assert_eq!(r.message, None);
        assert!(!r.to_string().contains("demo-secret"), "{r}");
        assert!(r.to_string().contains("withheld"), "{r}");
    }
}
