//! An approval policy as written in a workflow, and as a run keeps it: its reason, ordered
//! steps with their approvers, whether requesters may approve, and when a held run expires.
//!
//! `approval: "text"` is one step for admins. A run takes a snapshot of its policy when it
//! is requested (templates such as the app id rendered), so later edits never move the
//! goalposts of a run already waiting.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::role::Role;

/// How long a held run waits for decisions unless the policy says otherwise.
pub const DEFAULT_EXPIRY: Duration = Duration::from_secs(7 * 86_400);

/// `approval:` in a workflow: a sentence (one step, any admin), or a policy.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum ApprovalSpec {
    /// What is being approved; any admin decides.
    Text(String),
    Policy(PolicySpec),
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Shown to approvers and in notices.
    pub reason: String,
    /// When the run is held: before it starts (default), or at its first change to Lumos,
    /// after its reads, so approvers see exactly what it will send.
    #[serde(default)]
    pub gate: Gate,
    /// Whether the requester (or the person the run is for) may approve it.
    #[serde(default)]
    pub self_approval: bool,
    /// How long the run waits for decisions, e.g. `3d` (default 7 days); then it ends as
    /// `expired`.
    #[serde(default)]
    pub expires_after: Option<String>,
    /// In order; a run moves to the next step once a step has enough approvals. None: one
    /// step for admins.
    #[serde(default)]
    pub steps: Vec<StepSpec>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    #[default]
    BeforeRun,
    BeforeChanges,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub name: String,
    /// Approvals needed at this step (default 1).
    #[serde(default = "one")]
    pub min: u32,
    pub approvers: Approvers,
}

fn one() -> u32 {
    1
}

/// Who may decide at a step: any of these.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Approvers {
    /// People, by email.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<String>,
    /// Anyone with one of these roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    /// Members of these Lumos groups (names or ids), read from Lumos when someone decides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lumos_groups: Vec<String>,
    /// The AppStore approvers of an app in Lumos: a template giving the app id, or
    /// `{app_id, stage: 1|2}`; read from Lumos when someone decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lumos_app_approvers: Option<Value>,
}

/// A run's policy, fixed when the run was requested.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct RunPolicy {
    pub reason: String,
    pub gate: Gate,
    pub self_approval: bool,
    pub steps: Vec<RunStep>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct RunStep {
    pub name: String,
    pub min: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lumos_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lumos_app: Option<AppApprovers>,
}

/// The approvers of an app's AppStore request flow, at one stage.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct AppApprovers {
    pub app_id: String,
    pub stage: u8,
}

impl RunStep {
    /// Who may decide, in words: for approvers and the run's page.
    pub fn who(&self) -> String {
        let mut parts = Vec::new();
        if !self.people.is_empty() {
            parts.push(self.people.join(", "));
        }
        for r in &self.roles {
            parts.push(format!("any {r}"));
        }
        for g in &self.lumos_groups {
            parts.push(format!("members of the Lumos group '{g}'"));
        }
        if let Some(a) = &self.lumos_app {
            parts.push(format!(
                "the stage-{} AppStore approvers of Lumos app {}",
                a.stage, a.app_id
            ));
        }
        parts.join(" or ")
    }
}

impl ApprovalSpec {
    /// What a form shows before anyone runs the workflow: the reason, when the run is held
    /// and who decides at each step, in words (an app's approvers are those of the app the
    /// run names, known only once it is requested).
    pub fn summary(&self) -> Value {
        let steps: Vec<Value> = match self {
            ApprovalSpec::Text(_) => {
                vec![serde_json::json!({"name": "Approval", "min": 1, "who": "any admin"})]
            }
            ApprovalSpec::Policy(p) if p.steps.is_empty() => {
                vec![serde_json::json!({"name": "Approval", "min": 1, "who": "any admin"})]
            }
            ApprovalSpec::Policy(p) => p
                .steps
                .iter()
                .map(|s| {
                    let a = &s.approvers;
                    let mut who: Vec<String> = Vec::new();
                    if !a.people.is_empty() {
                        who.push(a.people.join(", "));
                    }
                    who.extend(a.roles.iter().map(|r| format!("any {r}")));
                    who.extend(
                        a.lumos_groups
                            .iter()
                            .map(|g| format!("members of the Lumos group '{g}'")),
                    );
                    if a.lumos_app_approvers.is_some() {
                        who.push("the app's AppStore approvers in Lumos".into());
                    }
                    serde_json::json!({"name": s.name, "min": s.min, "who": who.join(" or ")})
                })
                .collect(),
        };
        let gate = match self.gate() {
            Gate::BeforeRun => "before_run",
            Gate::BeforeChanges => "before_changes",
        };
        serde_json::json!({"reason": self.reason(), "gate": gate, "steps": steps})
    }

    /// The reason approvers are shown.
    pub fn reason(&self) -> &str {
        match self {
            ApprovalSpec::Text(t) => t,
            ApprovalSpec::Policy(p) => &p.reason,
        }
    }

    pub fn gate(&self) -> Gate {
        match self {
            ApprovalSpec::Text(_) => Gate::BeforeRun,
            ApprovalSpec::Policy(p) => p.gate,
        }
    }

    /// How long a held run waits; the text was checked by validation.
    pub fn expires_after(&self) -> Duration {
        match self {
            ApprovalSpec::Policy(PolicySpec {
                expires_after: Some(t),
                ..
            }) => crate::duration::parse_duration(t).unwrap_or(DEFAULT_EXPIRY),
            _ => DEFAULT_EXPIRY,
        }
    }

    /// Problems with the policy's shape, for validation.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let p = match self {
            ApprovalSpec::Text(t) => {
                if t.trim().is_empty() {
                    out.push("approval needs a message saying what is being approved".into());
                }
                return out;
            }
            ApprovalSpec::Policy(p) => p,
        };
        if p.reason.trim().is_empty() {
            out.push("approval.reason must say what is being approved".into());
        }

        if let Some(t) = &p.expires_after {
            match crate::duration::parse_duration(t) {
                Ok(d) if d >= Duration::from_secs(60) => {}
                Ok(_) => out.push("approval.expires_after must be at least 1m".into()),
                Err(e) => out.push(format!("approval.expires_after: {e}")),
            }
        }
        for (i, s) in p.steps.iter().enumerate() {
            let at = format!("approval.steps[{i}] ('{}')", s.name);
            if s.name.trim().is_empty() {
                out.push(format!("approval.steps[{i}] needs a name"));
            }
            if s.min == 0 {
                out.push(format!("{at}: min must be at least 1"));
            }
            let a = &s.approvers;
            if a.people.is_empty()
                && a.roles.is_empty()
                && a.lumos_groups.is_empty()
                && a.lumos_app_approvers.is_none()
            {
                out.push(format!(
                    "{at}: name at least one approver (people, roles, lumos_groups or lumos_app_approvers)"
                ));
            }
            for email in &a.people {
                if !crate::email::is_email(email) {
                    out.push(format!(
                        "{at}: invalid email '{email}': expected name@domain"
                    ));
                }
            }
            match &a.lumos_app_approvers {
                None | Some(Value::String(_)) => {}
                Some(Value::Object(m)) => {
                    if !m.get("app_id").is_some_and(Value::is_string) {
                        out.push(format!("{at}: lumos_app_approvers needs app_id"));
                    }
                    if let Some(stage) = m.get("stage")
                        && !matches!(stage.as_u64(), Some(1 | 2))
                    {
                        out.push(format!("{at}: lumos_app_approvers.stage must be 1 or 2"));
                    }
                    if let Some(k) = m
                        .keys()
                        .find(|k| !["app_id", "stage"].contains(&k.as_str()))
                    {
                        out.push(format!("{at}: lumos_app_approvers has no field '{k}'"));
                    }
                }
                Some(_) => out.push(format!(
                    "{at}: lumos_app_approvers is an app id (a template) or {{app_id, stage}}"
                )),
            }
        }
        out
    }

    /// The templates the policy holds (app ids), for validation of their references.
    pub fn templates(&self) -> Vec<Value> {
        match self {
            ApprovalSpec::Text(_) => Vec::new(),
            ApprovalSpec::Policy(p) => p
                .steps
                .iter()
                .filter_map(|s| s.approvers.lumos_app_approvers.clone())
                .collect(),
        }
    }

    /// The run's snapshot: templates rendered by `render` (app ids from the inputs).
    pub fn for_run(
        &self,
        render: impl Fn(&Value) -> Result<Value, String>,
    ) -> Result<RunPolicy, String> {
        let admins = || RunStep {
            name: "Approval".into(),
            min: 1,
            people: Vec::new(),
            roles: vec![Role::Admin],
            lumos_groups: Vec::new(),
            lumos_app: None,
        };
        let p = match self {
            ApprovalSpec::Text(t) => {
                return Ok(RunPolicy {
                    reason: t.clone(),
                    gate: Gate::BeforeRun,
                    self_approval: false,
                    steps: vec![admins()],
                });
            }
            ApprovalSpec::Policy(p) => p,
        };
        let mut steps = Vec::new();
        for s in &p.steps {
            let lumos_app = match &s.approvers.lumos_app_approvers {
                None => None,
                Some(v) => {
                    let v = render(v)?;
                    let (id, stage) = match &v {
                        Value::Object(m) => (
                            m.get("app_id").cloned().unwrap_or(Value::Null),
                            m.get("stage").and_then(Value::as_u64).unwrap_or(1),
                        ),
                        other => (other.clone(), 1),
                    };
                    let app_id = match id {
                        Value::String(s) if !s.trim().is_empty() => s,
                        Value::Number(n) => n.to_string(),
                        other => {
                            return Err(format!(
                                "approval step '{}': lumos_app_approvers gave {other}, not an app id",
                                s.name
                            ));
                        }
                    };
                    Some(AppApprovers {
                        app_id,
                        stage: stage.clamp(1, 2) as u8,
                    })
                }
            };
            steps.push(RunStep {
                name: s.name.clone(),
                min: s.min.max(1),
                people: s
                    .approvers
                    .people
                    .iter()
                    .map(|e| e.trim().to_lowercase())
                    .collect(),
                roles: s.approvers.roles.clone(),
                lumos_groups: s.approvers.lumos_groups.clone(),
                lumos_app,
            });
        }
        if steps.is_empty() {
            steps.push(admins());
        }
        Ok(RunPolicy {
            reason: p.reason.clone(),
            gate: p.gate,
            self_approval: p.self_approval,
            steps,
        })
    }
}
