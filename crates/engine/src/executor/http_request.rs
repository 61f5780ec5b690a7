//! An `http:` request made ready to send, for a step and for a trigger's reply alike:
//! rendered with `{{ secrets.NAME }}` marked so no data can forge one, sent only to a host
//! an admin allows, each secret only where its rule lets it, the secrets filled in last.

use serde_json::Value;
use workflow_lang::definition::HttpSpec;
use workflow_lang::secret_refs::{self, Marks};
use workflow_lang::template::{EvalCtx, Templates};

use super::HttpEnv;

/// A request ready to send; `shown` is its URL with the secrets taken out.
pub(crate) struct Prepared {
    pub method: String,
    pub url: url::Url,
    pub shown: String,
    pub host: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

/// Render `spec` over `ctx` as workflow `workflow` would send it; why not, in words (with
/// no secret in them).
pub(crate) fn prepare(
    spec: &HttpSpec,
    templates: &Templates,
    ctx: &EvalCtx<'_>,
    env: &HttpEnv,
    workflow: &str,
) -> Result<Prepared, String> {
    let redact = &env.redact;
    // A nonce new for this request: only the definition's own `{{ secrets.NAME }}` become
    // places for a secret, never text that data renders into the request.
    let marks = Marks::new(&uuid::Uuid::new_v4().simple().to_string())?;
    let render = |v: &Value| -> Result<Value, String> {
        let mut out = templates
            .eval(&marks.mark(v), ctx)
            .map_err(|m| redact.text(&m))?;
        marks
            .fill(&mut out, &env.secrets)
            .map_err(|e| e.to_string())?;
        Ok(out)
    };
    let as_text = |v: Value| match v {
        Value::String(s) => s,
        other => other.to_string(),
    };
    let method = spec.method();
    let url = as_text(render(&Value::String(spec.url.clone()))?);
    let shown = redact.text(&url);
    let parsed =
        url::Url::parse(&url).map_err(|e| format!("http.url '{shown}' is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("http.url '{shown}' is not http or https"));
    }
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    let with_port = parsed.port().map(|p| format!("{host}:{p}"));
    if !env
        .allowed_hosts
        .iter()
        .any(|a| *a == host || with_port.as_deref() == Some(a.as_str()))
    {
        return Err(format!(
            "{host} is not a host http steps may call; an admin allows hosts with LUMOSFLOW_HTTP_ALLOWED_HOSTS (now: {})",
            if env.allowed_hosts.is_empty() {
                "none".to_owned()
            } else {
                env.allowed_hosts.join(", ")
            }
        ));
    }
    // Each secret this request carries goes only where an admin lets it.
    let spec_value = serde_json::to_value(spec).unwrap_or_default();
    for name in secret_refs::names_in(&spec_value) {
        let Some(rule) = env.rules.get(&name) else {
            return Err(secret_refs::FillError::Unset(name).to_string());
        };
        if let Some(why) = rule.refusal(&name, workflow, parsed.scheme(), &host, parsed.port()) {
            return Err(why);
        }
    }
    let mut headers = Vec::new();
    for (k, v) in spec.headers.iter().flatten() {
        headers.push((k.clone(), as_text(render(v)?)));
    }
    let body = spec.body.as_ref().map(&render).transpose()?;
    Ok(Prepared {
        method,
        url: parsed,
        shown,
        host,
        headers,
        body,
    })
}
