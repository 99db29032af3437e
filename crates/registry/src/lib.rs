//! beian-registry: the filing registry behind `beian serve`.
//!
//! Domain types ([`domain`]), the filing state machine ([`state`]), filing
//! numbers in the regulator's formats ([`number`]), USCC validation
//! ([`uscc`]), import of published lists ([`import`]), the hash-chained audit
//! log ([`audit`]) and the repository over SQLite/PostgreSQL ([`Store`]).
//! This is the only crate that knows SQL.

pub mod attachments;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod classify;
pub mod domain;
pub mod error;
pub mod import;
pub mod number;
pub mod precheck;
pub mod province;
pub mod register;
pub mod state;
pub mod store;
#[doc(hidden)]
pub mod testing;
pub mod uscc;

pub use domain::*;
pub use error::{RegistryError, Result};
pub use state::Action;
pub use store::log::{LogProof, LogReport};
pub use store::{Backend, Deadline, ImportSummary, NewSession, Store};
