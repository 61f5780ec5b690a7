//! Deciding on held runs: who may decide at the step a run waits at (people, roles, Lumos
//! group members, an app's AppStore approvers, read from Lumos at decision time through the
//! run's connection), who may not (the requester and the person it is for, unless the policy
//! allows self-approval), and recording each decision.

use std::collections::HashSet;

use futures_util::TryStreamExt;
use serde::Serialize;
use serde_json::{Map, Value, json};
use store::{Decided, Decision, NewDecision, Run, RunStatus};

use crate::actor::Actor;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use workflow_lang::Role;
use workflow_lang::policy::{RunPolicy, RunStep};

/// A held run as approvers see it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ApprovalView {
    /// The policy's reason for the gate.
    pub reason: String,
    /// Why the requester asked: the run's `reason` (or `justification`,
    /// `business_justification`) input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester_reason: Option<String>,
    /// The requester's name, when lumosflow knows them as a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_by_name: Option<String>,
    /// For a run held before it ran (nothing read yet): the names of the apps and people
    /// its inputs give by id (`app_id`, `app`, `user_id`), read from Lumos now.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub input_names: std::collections::BTreeMap<String, String>,
    /// The step the run waits at (0 is the first), while it waits.
    pub step: Option<usize>,
    pub steps: Vec<StepView>,
    pub self_approval: bool,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub decisions: Vec<Decision>,
    /// For a run held before its first change: the step it stopped before, the calls it
    /// will make once approved (method, path, body), when the reads behind them were made,
    /// each call in words (`summary`) and the names of the ids they send (`names`, from
    /// what the run read).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Value>")]
    pub changes: Option<Value>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StepView {
    pub name: String,
    pub min: u32,
    /// Who may decide, in words.
    pub who: String,
}

/// What a decision did, for the caller to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// More approvals are needed at this step.
    Counted {
        step: String,
        approvals: u32,
        min: u32,
    },
    /// The run moved on to the next step.
    NextStep(String),
    /// Every step approved: the run goes on.
    Opened,
    Denied,
}

impl Engine {
    /// The policy a held run was requested under (older runs: one step for admins).
    pub(crate) fn policy_of(run: &Run) -> RunPolicy {
        run.approval
            .as_ref()
            .and_then(|j| serde_json::from_value(j.0.clone()).ok())
            .unwrap_or_else(|| RunPolicy {
                reason: String::new(),
                gate: workflow_lang::policy::Gate::BeforeRun,
                self_approval: false,
                steps: vec![RunStep {
                    name: "Approval".into(),
                    min: 1,
                    people: Vec::new(),
                    roles: vec![Role::Admin],
                    lumos_groups: Vec::new(),
                    lumos_app: None,
                }],
            })
    }

    /// The approval part of a run's detail, for gated runs.
    pub async fn approval_view(&self, run: &Run) -> Result<Option<ApprovalView>> {
        if run.approval.is_none() && run.approval_step.is_none() {
            return Ok(None);
        }
        let policy = Self::policy_of(run);
        Ok(Some(ApprovalView {
            reason: policy.reason.clone(),
            step: (run.status == RunStatus::PendingApproval)
                .then(|| run.approval_step.unwrap_or(0).max(0) as usize),
            steps: policy
                .steps
                .iter()
                .map(|s| StepView {
                    name: s.name.clone(),
                    min: s.min,
                    who: s.who(),
                })
                .collect(),
            self_approval: policy.self_approval,
            expires_at: run.approval_expires_at,
            decisions: self.store.decisions(&run.id).await?,
            changes: run.resume.as_ref().map(|r| {
                let names = super::words::names(&r.0["preview"], &r.0["steps"]);
                let summary = super::words::describe(&r.0["preview"], &names);
                json!({"before_step": r.0["step"], "calls": r.0["preview"], "reads_taken_at": r.0["taken_at"],
                       "summary": summary, "names": names})
            }),
            requester_reason: super::words::requester_reason(&run.inputs.0),
            input_names: if run.resume.is_none() && run.status == RunStatus::PendingApproval {
                self.input_names(run).await
            } else {
                Default::default()
            },
            requested_by_name: match run.requested_by.as_deref() {
                Some(by) if by.contains('@') => self
                    .store
                    .person_by_email(by)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|p| p.name),
                _ => None,
            },
        }))
    }

    /// The names of the apps and people a held run's inputs give by id, asked of Lumos
    /// through the run's connection (one that cannot be read keeps its id).
    async fn input_names(&self, run: &Run) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        let Ok(client) = self
            .client(run.connection.as_deref().unwrap_or("default"))
            .await
        else {
            return out;
        };
        // An id given alone, or in a list of ids or of objects with an `id` (`apps: [{id}]`).
        let mut wanted: Vec<(&'static str, &'static str, String)> = Vec::new();
        for (k, v) in run.inputs.0.as_object().into_iter().flatten() {
            let (op, param) = match k.as_str() {
                "app_id" | "app" | "app_ids" | "apps" => ("getApp", "app_id"),
                "user_id" | "target_user_id" | "user_ids" | "users" => ("getUser", "user_id"),
                _ => continue,
            };
            let ids: Vec<&Value> = match v {
                Value::Array(a) => a.iter().take(20).collect(),
                one => vec![one],
            };
            for x in ids {
                let id = x.as_str().or_else(|| x["id"].as_str());
                if let Some(id) = id.filter(|s| uuid::Uuid::try_parse(s).is_ok()) {
                    wanted.push((op, param, id.to_owned()));
                }
            }
        }
        for (op, param, id) in wanted {
            // Asked of Lumos once in a while, not on every look at the inbox.
            if let Some(name) = self.input_names.get(&id) {
                out.insert(id, name);
                continue;
            }
            let mut params = Map::new();
            params.insert(param.into(), Value::from(id.as_str()));
            if let Ok(Value::Object(found)) = client.call(op, &params, None).await
                && let Some(name) = crate::naming::name_of(&found)
            {
                self.input_names.keep(id.clone(), name.clone());
                out.insert(id, name);
            }
        }
        out
    }

    /// Why `by` may not decide on `run` at `step`, given the run's decisions so far, if they
    /// may not.
    async fn refusal(
        &self,
        run: &Run,
        policy: &RunPolicy,
        step: &RunStep,
        decisions: &[Decision],
        by: &Actor,
    ) -> Result<Option<String>> {
        let email = by.email();
        // Who the decider is, under every name: a key made by a person counts as them.
        let names = by.names();
        let is_them = |who: &str| names.iter().any(|n| n.eq_ignore_ascii_case(who));
        // Separation of duties: whoever approved one step of a run does not approve another.
        let index = run.approval_step.unwrap_or(0).max(0);
        if let Some(earlier) = decisions.iter().find(|d| {
            d.step < index && d.approved && (is_them(&d.by_key) || is_them(&d.decided_by))
        }) {
            let name = policy
                .steps
                .get(earlier.step.max(0) as usize)
                .map_or("an earlier step", |s| s.name.as_str());
            return Ok(Some(format!(
                "{} approved step '{name}' of run '{}' already; each step needs another person",
                by.label, run.id
            )));
        }
        if !policy.self_approval {
            let same = |who: &Option<String>| who.as_deref().is_some_and(is_them);
            // The requester as the run recorded them: a key they made is them too.
            let requester = Self::requester_of(run).actor;
            let by_requester =
                same(&run.requested_by) || requester.names().iter().any(|n| is_them(n));
            if by_requester {
                return Ok(Some(format!(
                    "{} requested run '{}' and cannot decide on it; another approver must",
                    by.label, run.id
                )));
            }
            if same(&run.requested_for) {
                return Ok(Some(format!(
                    "run '{}' is for {}, who cannot decide on it; another approver must",
                    run.id, by.label
                )));
            }
        }
        if step.roles.iter().any(|r| by.role >= *r) {
            return Ok(None);
        }
        if let Some(e) = &email {
            if step.people.iter().any(|p| p == e) {
                return Ok(None);
            }
            if (!step.lumos_groups.is_empty() || step.lumos_app.is_some())
                && self.lumos_approvers(run, step).await?.contains(e)
            {
                return Ok(None);
            }
        }
        Ok(Some(format!(
            "{} may not decide at step '{}' of run '{}': it needs {}",
            by.label,
            step.name,
            run.id,
            step.who()
        )))
    }

    /// The emails of the Lumos users who approve at `step`: members of its groups and the
    /// app's AppStore approvers (users, and members of approver groups), read now.
    async fn lumos_approvers(&self, run: &Run, step: &RunStep) -> Result<HashSet<String>> {
        let connection = run
            .connection
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let client = self.client(&connection).await?;
        let lumos = |e: lumos_api::Error| {
            EngineError::Conflict(format!("cannot read the approvers from Lumos: {e}"))
        };
        let mut emails = HashSet::new();
        let mut group_ids: Vec<String> = Vec::new();
        for g in &step.lumos_groups {
            let mut params = Map::new();
            params.insert("name".into(), json!(g));
            params.insert("exact_match".into(), json!(true));
            let found: Vec<Value> = client
                .paginate("getGroups", &params)
                .try_collect()
                .await
                .map_err(lumos)?;
            let ids: Vec<String> = found
                .iter()
                .filter_map(|x| x["id"].as_str().map(str::to_owned))
                .collect();
            if ids.is_empty() {
                // Not a name: perhaps the group's id.
                group_ids.push(g.clone());
            }
            group_ids.extend(ids);
        }
        if let Some(app) = &step.lumos_app {
            let mut params = Map::new();
            params.insert("app_id".into(), json!(app.app_id));
            let settings = client
                .call("getAppStoreAppSettings", &params, None)
                .await
                .map_err(lumos)?;
            let key = if app.stage == 2 {
                "approvers_stage_2"
            } else {
                "approvers"
            };
            let approvers = &settings["request_flow"][key];
            for u in approvers["users"].as_array().into_iter().flatten() {
                if let Some(e) = u["email"].as_str() {
                    emails.insert(e.to_lowercase());
                }
            }
            for g in approvers["groups"].as_array().into_iter().flatten() {
                if let Some(id) = g["id"].as_str() {
                    group_ids.push(id.to_owned());
                }
            }
        }
        for id in group_ids {
            let mut params = Map::new();
            params.insert("group_id".into(), json!(id));
            let members: Vec<Value> = match client
                .paginate("getGroupMembership", &params)
                .try_collect()
                .await
            {
                Ok(m) => m,
                // A name that matched nothing and is no group id either.
                Err(lumos_api::Error::NotFound { .. }) => continue,
                Err(e) => return Err(lumos(e)),
            };
            for m in members {
                if let Some(e) = m["email"].as_str() {
                    emails.insert(e.to_lowercase());
                }
            }
        }
        Ok(emails)
    }

    /// Approve or deny a held run at the step it waits at. A denial needs a comment.
    pub(crate) async fn record_decision(
        &self,
        run: &Run,
        by: &Actor,
        approved: bool,
        comment: Option<&str>,
        then: store::AfterApproval<'_>,
    ) -> Result<Outcome> {
        let not_pending = |status| EngineError::NotPending {
            id: run.id.clone(),
            status,
        };
        if run.status != RunStatus::PendingApproval {
            return Err(not_pending(run.status));
        }
        if run
            .approval_expires_at
            .is_some_and(|t| t <= chrono::Utc::now())
        {
            let _ = self.store.expire_approvals(chrono::Utc::now()).await;
            return Err(not_pending(RunStatus::Expired));
        }
        let policy = Self::policy_of(run);
        let index = run.approval_step.unwrap_or(0).max(0) as usize;
        let Some(step) = policy.steps.get(index) else {
            return Err(EngineError::Conflict(format!(
                "run '{}' waits at approval step {index}, which its policy does not have",
                run.id
            )));
        };
        let decisions = self.store.decisions(&run.id).await?;
        if let Some(why) = self.refusal(run, &policy, step, &decisions, by).await? {
            return Err(EngineError::Forbidden(why));
        }
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        if !approved && comment.is_none() {
            return Err(EngineError::Inputs(vec![
                "a denial needs a comment saying why".into(),
            ]));
        }
        let decided = self
            .store
            .decide(
                &NewDecision {
                    run_id: &run.id,
                    step: index as i32,
                    last: index + 1 == policy.steps.len(),
                    min: step.min,
                    by: &by.label,
                    person: &by.person_key(),
                    approved,
                    comment,
                },
                then,
            )
            .await?;
        let details = json!({"step": step.name, "comment": comment});
        let outcome = match decided {
            Decided::AlreadyDecided => {
                return Err(EngineError::Conflict(format!(
                    "{} already decided at step '{}' of run '{}'",
                    by.label, step.name, run.id
                )));
            }
            Decided::NotWaiting => {
                let now = self
                    .existing(&run.id)
                    .await
                    .map_or(run.status, |r| r.status);
                return Err(not_pending(now));
            }
            Decided::Denied => Outcome::Denied,
            Decided::Counted { approvals } => Outcome::Counted {
                step: step.name.clone(),
                approvals,
                min: step.min,
            },
            Decided::NextStep(i) => Outcome::NextStep(
                policy
                    .steps
                    .get(i as usize)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
            ),
            Decided::Opened => Outcome::Opened,
        };
        let action = if approved { "run.approve" } else { "run.deny" };
        self.audit(by, action, &run.id, Some(details)).await;
        let decision = match &outcome {
            Outcome::Denied => format!("denied by {}", by.label),
            Outcome::Opened => format!("approved by {}; the run goes on", by.label),
            Outcome::NextStep(next) => format!("approved by {}; now waiting at '{next}'", by.label),
            Outcome::Counted { approvals, min, .. } => {
                format!("approved by {} ({approvals} of {min})", by.label)
            }
        };
        if let Ok(now) = self.existing(&run.id).await {
            let next = Self::policy_of(&now)
                .steps
                .get(now.approval_step.unwrap_or(0).max(0) as usize)
                .filter(|_| now.status == RunStatus::PendingApproval)
                .map(|s| (s.name.clone(), s.who()));
            let details = json!({
                "decision": decision,
                "by": by.label,
                "comment": comment,
                "reason": policy.reason,
                "step": next.as_ref().map(|n| n.0.clone()),
                "who": next.map(|n| n.1),
            });
            self.notify("approval.decided", &now, details.clone()).await;
            // The Slack notices of the run say it too, in place, wherever it was decided.
            let line = match &outcome {
                Outcome::Denied => format!(
                    ":no_entry: Denied by {}{}",
                    by.label,
                    comment.map(|c| format!(": {c}")).unwrap_or_default()
                ),
                Outcome::Opened => format!(
                    ":white_check_mark: Approved by {}; the run goes on",
                    by.label
                ),
                Outcome::NextStep(next) => format!(
                    ":ballot_box_with_check: Approved by {}; now waiting at step '{next}'",
                    by.label
                ),
                Outcome::Counted {
                    step,
                    approvals,
                    min,
                } => format!(
                    ":ballot_box_with_check: Approved by {} ({approvals} of {min} at step '{step}')",
                    by.label
                ),
            };
            self.queue_slack_updates(&now, &details, &crate::slack::messages::escape(&line))
                .await;
        }
        Ok(outcome)
    }

    /// Why `by` may not decide on held run `run_id` now, if they may not: for a door that
    /// asks before it collects a denial's comment. The decision itself checks again.
    pub async fn decision_refusal(&self, run_id: &str, by: &Actor) -> Result<Option<String>> {
        let run = self.existing(run_id).await?;
        if run.status != RunStatus::PendingApproval {
            return Ok(Some(
                EngineError::NotPending {
                    id: run.id.clone(),
                    status: run.status,
                }
                .to_string(),
            ));
        }
        let policy = Self::policy_of(&run);
        let index = run.approval_step.unwrap_or(0).max(0) as usize;
        let Some(step) = policy.steps.get(index) else {
            return Ok(Some(format!(
                "run '{}' waits at approval step {index}, which its policy does not have",
                run.id
            )));
        };
        let decisions = self.store.decisions(&run.id).await?;
        let me = by.person_key();
        if decisions
            .iter()
            .any(|d| d.step == index as i32 && d.by_key.eq_ignore_ascii_case(&me))
        {
            return Ok(Some(format!(
                "{} already decided at step '{}' of run '{}'",
                by.label, step.name, run.id
            )));
        }
        self.refusal(&run, &policy, step, &decisions, by).await
    }

    /// Whether `by` may decide held `run` at its current step now (and has not yet).
    pub(crate) async fn may_decide_now(&self, run: &Run, by: &Actor) -> Result<bool> {
        let policy = Self::policy_of(run);
        let index = run.approval_step.unwrap_or(0).max(0) as usize;
        let Some(step) = policy.steps.get(index) else {
            return Ok(false);
        };
        let decisions = self.store.decisions(&run.id).await?;
        let me = by.person_key();
        let decided = decisions
            .iter()
            .any(|d| d.step == index as i32 && d.by_key.eq_ignore_ascii_case(&me));
        // A Lumos that cannot be read hides the run; deciding says why.
        Ok(!decided
            && matches!(
                self.refusal(run, &policy, step, &decisions, by).await,
                Ok(None)
            ))
    }

    /// Held runs the actor may decide on now (at most `limit` looked at, newest first).
    pub async fn decidable_by(&self, by: &Actor, limit: i64) -> Result<Vec<Run>> {
        let held = self
            .store
            .runs(&store::RunFilter {
                status: Some(RunStatus::PendingApproval),
                limit,
                ..Default::default()
            })
            .await?;
        let mut mine = Vec::new();
        for run in held {
            if self.may_decide_now(&run, by).await? {
                mine.push(run);
            }
        }
        Ok(mine)
    }

    /// End held runs whose approval expired; how many.
    pub async fn expire_approvals(&self) -> Result<usize> {
        let ids = self.store.expire_approvals(chrono::Utc::now()).await?;
        for id in &ids {
            self.audit(&Actor::system("lumosflow"), "run.expire", id, None)
                .await;
        }
        Ok(ids.len())
    }
}
