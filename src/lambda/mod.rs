//! The AWS Lambda entry point: payloads, the handler and its cold-start wiring.

pub mod fleet;
pub mod handler;
pub mod panic;
pub mod payload;
pub mod wiring;

pub use handler::{run_lambda, App, HandlerError, InvocationContext};
pub use payload::{parse_event, Invocation, PayloadError};
