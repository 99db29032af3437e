//! One module per subcommand. Each owns its clap `Args` and `run`.

pub mod assess;
pub mod audit;
pub mod bank;
pub mod classify;
pub mod deadline;
pub mod judge;
pub mod kb;
pub mod label;
pub mod lexicon;
pub mod log;
pub mod registry;
pub mod scan;
pub mod serve;
