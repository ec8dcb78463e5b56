//! The vocabulary shared by every layer: identifiers, the exchange's view, the
//! database's view, and the plan that turns one into the other. No I/O here.

pub mod exchange;
pub mod ids;
pub mod ledger;
pub mod plan;
pub mod records;

pub use exchange::*;
pub use ids::*;
pub use ledger::*;
pub use plan::*;
pub use records::*;
