//! Whether a run that stopped short changed anything, read from its step records: every
//! door shows the same answer, and the console offers to try again only when it is safe.

use serde::Serialize;
use store::{RunStatus, StepRow, StepStatus};

/// What a failed or canceled run did to Lumos and the world.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Writes {
    pub state: WritesState,
    /// Whether running it again with the same inputs is safe: nothing was changed, and
    /// nothing may have been.
    pub retry_safe: bool,
    /// In words, for people.
    pub said: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WritesState {
    /// Nothing was changed: no change was sent, or each was refused or checked not made.
    Nothing,
    /// Some changes were made before it stopped.
    Made,
    /// A change's answer was lost: it may have been made.
    Unknown,
}

/// Whether a step record's operation may change something: a Lumos write, a web request
/// other than GET or HEAD, another workflow.
pub(crate) fn may_change(op: &str) -> bool {
    lumos_api::Catalog::lumos()
        .get(op)
        .is_some_and(|o| o.is_mutating())
        || op.starts_with("http ") && !op.starts_with("http GET ") && !op.starts_with("http HEAD ")
        || op.starts_with("workflow ")
}

/// For a run that failed or was canceled (not a dry run): what it changed.
pub fn writes_of(status: RunStatus, dry_run: bool, steps: &[StepRow]) -> Option<Writes> {
    if dry_run || !matches!(status, RunStatus::Failed | RunStatus::Canceled) {
        return None;
    }
    let mut made = Vec::new();
    let mut unknown = Vec::new();
    for s in steps {
        let fate = s
            .output
            .as_ref()
            .and_then(|o| o.0.get("change"))
            .and_then(|c| c.as_str());
        let op = s.operation.as_deref().unwrap_or("");
        let writes = may_change(op);
        match (s.status, fate) {
            (_, Some("unknown")) => unknown.push(s.step_id.clone()),
            (StepStatus::Completed, _) if writes => made.push(s.step_id.clone()),
            // A failed web request or sub-run without a fate: unless refused, it may have
            // done something.
            (StepStatus::Failed, None)
                if writes
                    && (op.starts_with("workflow ")
                        || !crate::executor::refused(
                            s.http_status.and_then(|h| u16::try_from(h).ok()),
                        )) =>
            {
                unknown.push(s.step_id.clone())
            }
            _ => {}
        }
    }
    let list = |v: &[String]| {
        let mut v = v.to_vec();
        v.dedup();
        v.iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(if !unknown.is_empty() {
        Writes {
            state: WritesState::Unknown,
            retry_safe: false,
            said: format!(
                "A change may have been made: the answer to step {} was lost. Look in Lumos before trying again.",
                list(&unknown)
            ),
        }
    } else if !made.is_empty() {
        Writes {
            state: WritesState::Made,
            retry_safe: false,
            said: format!(
                "Changes were made before it stopped (step {}): running it again would make them again.",
                list(&made)
            ),
        }
    } else {
        Writes {
            state: WritesState::Nothing,
            retry_safe: true,
            said: "Nothing was changed: it is safe to try again.".into(),
        }
    })
}
