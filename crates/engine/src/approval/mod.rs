//! Approvals: the policy a workflow declares (ordered steps, who approves, self-approval,
//! expiry), its snapshot on each held run, and the decisions that move a run on.

pub mod decide;
pub mod words;
pub use workflow_lang::policy;

pub use decide::{ApprovalView, Outcome, StepView};
pub use policy::{ApprovalSpec, Gate, RunPolicy};
