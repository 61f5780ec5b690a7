//! lumosflow's workflow language: the definition format (YAML with positions), its
//! validation (every problem with its line), templates and filters, and the plan a valid
//! definition becomes. Pure: no I/O and nothing of runs, stores or doors; the engine runs
//! what this crate describes.

pub mod changes;
pub mod dates;
pub mod definition;
pub mod dry_run;
pub mod duration;
pub mod email;
mod filter_work;
pub mod ids;
pub mod inputs;
mod json_view;
pub mod plan;
pub mod policy;
pub mod role;
mod salvage;
pub mod secret_refs;
mod set_filters;
pub mod size;
mod strict_filters;
pub mod template;
pub mod validate;
pub mod workflow;

pub use role::Role;
pub use workflow::Workflow;
