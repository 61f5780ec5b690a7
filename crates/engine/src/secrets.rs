//! Named secrets for `http:` steps: set by admins (`lumosflow secrets set NAME`, the value
//! from standard input), stored sealed, listed by name only, and written in a step as
//! `{{ secrets.NAME }}`. They are put into a request at the last moment — templates never
//! see them, so no expression can copy one into an output — and taken out of everything a
//! run records (the step's request, its answer, its errors).

use std::collections::HashMap;

use store::SecretInfo;
use zeroize::Zeroizing;

use crate::actor::Actor;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use workflow_lang::Role;
pub use workflow_lang::secret_refs::SecretRule;
use workflow_lang::secret_refs::names_in;

/// A host as `--hosts` takes it: a DNS name or an address, optionally `:port`.
fn is_host(h: &str) -> bool {
    !h.contains('*')
        && url::Url::parse(&format!("https://{h}/"))
            .is_ok_and(|u| u.host_str().is_some() && u.path() == "/" && u.username().is_empty())
        && !h.contains(['/', '@', '?', '#'])
}

/// Where a stored secret may go.
pub(crate) fn rule_of(info: &SecretInfo) -> SecretRule {
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    };
    SecretRule {
        hosts: list(&info.hosts),
        allow_http: info.allow_http,
        workflows: info.workflows.as_deref().map(list),
    }
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(EngineError::Inputs(vec![format!(
            "'{name}' is not a secret name (letters, digits and '_', not starting with a digit, at most 64)"
        )]))
    }
}

impl Engine {
    /// Set (or replace) a secret and where it may go; its value is never shown again.
    pub async fn set_secret(
        &self,
        name: &str,
        value: &str,
        rule: &SecretRule,
        by: &Actor,
    ) -> Result<()> {
        crate::access::need(by, Role::Admin, "setting secrets")?;
        check_name(name)?;
        let value = value.trim_end_matches(['\r', '\n']);
        let mut problems = Vec::new();
        if value.is_empty() || value.len() > 8192 {
            problems.push("a secret's value is 1 to 8192 bytes".to_owned());
        }
        if rule.hosts.is_empty() {
            problems.push(format!(
                "name the hosts secret '{name}' may be sent to (--hosts jira.example.com,…)"
            ));
        }
        for h in &rule.hosts {
            if !is_host(h) {
                problems.push(format!(
                    "'{h}' is not a host (a name or address, optionally :port; no scheme, path or wildcard)"
                ));
            }
        }
        for w in rule.workflows.iter().flatten() {
            if !workflow_lang::ids::is_workflow_id(w) {
                problems.push(format!("'{w}' is not a workflow id"));
            }
        }
        if !problems.is_empty() {
            return Err(EngineError::Inputs(problems));
        }
        let mut hosts: Vec<String> = Vec::new();
        for h in rule.hosts.iter().map(|h| h.to_ascii_lowercase()) {
            if !hosts.contains(&h) {
                hosts.push(h);
            }
        }
        let workflows = rule.workflows.as_ref().map(|w| w.join(","));
        let scope = store::SecretScope {
            hosts: &hosts.join(","),
            allow_http: rule.allow_http,
            workflows: workflows.as_deref(),
        };
        self.store.set_secret(name, value, scope, &by.label).await?;
        self.audit(
            by,
            "secret.set",
            name,
            Some(serde_json::json!({"hosts": hosts, "allow_http": rule.allow_http, "workflows": rule.workflows})),
        )
        .await;
        Ok(())
    }

    pub async fn secrets(&self, by: &Actor) -> Result<Vec<SecretInfo>> {
        crate::access::need(by, Role::Admin, "listing secrets")?;
        // The Slack app's are kept apart: `lumosflow slack status` tells of them.
        let mut all = self.store.secrets().await?;
        all.retain(|s| !store::is_slack_secret(&s.name));
        Ok(all)
    }

    pub async fn remove_secret(&self, name: &str, by: &Actor) -> Result<()> {
        crate::access::need(by, Role::Admin, "removing secrets")?;
        check_name(name)?;
        if !self.store.remove_secret(name).await? {
            return Err(EngineError::NotFound(format!("no secret named '{name}'")));
        }
        self.audit(by, "secret.remove", name, None).await;
        Ok(())
    }

    /// The values of the secrets a workflow's `http:` steps name (those that are set), and
    /// where each may go.
    pub(crate) async fn secrets_for(
        &self,
        wf: &workflow_lang::workflow::Workflow,
    ) -> Result<HashMap<String, (Zeroizing<String>, SecretRule)>> {
        let mut out = HashMap::new();
        for step in &wf.def.steps {
            let Some(h) = &step.http else { continue };
            let spec = serde_json::to_value(&h.value).unwrap_or_default();
            for name in names_in(&spec) {
                if out.contains_key(&name) {
                    continue;
                }
                if let Some((v, info)) = self.store.secret(&name).await? {
                    out.insert(name, (v, rule_of(&info)));
                }
            }
        }
        Ok(out)
    }
}
