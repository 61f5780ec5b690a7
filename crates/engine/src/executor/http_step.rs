//! `http:` steps: a request to a web service an admin allows, secrets put in after the
//! templates render and taken out of everything kept.

use serde_json::{Value, json};
use store::StepStatus;
use workflow_lang::template::EvalCtx;

use super::http_request::{Prepared, prepare};
use super::record::{StepKind, StepRecord};
use super::{Executor, RunError, short};

/// Largest answer an `http:` step keeps.
const HTTP_ANSWER_MAX: usize = 1 << 20;

impl Executor<'_> {
    /// An `http:` step: rendered, secrets put in at the last moment, sent to an allowed host
    /// (described instead in a dry run when it may change something), its answer kept with
    /// the secrets taken out.
    pub(super) async fn http_step(
        &self,
        id: &str,
        spec: &workflow_lang::definition::HttpSpec,
        ctx: &EvalCtx<'_>,
        rec: &mut StepRecord,
    ) -> Result<Value, RunError> {
        let fail = RunError::at(id);
        let Some(env) = self.http else {
            return Err(fail(
                "http steps run only in recorded runs (install the workflow and run it)".into(),
            ));
        };
        let redact = &env.redact;
        let Prepared {
            method,
            url: parsed,
            shown,
            host,
            headers,
            body,
        } = prepare(spec, self.templates, ctx, env, self.workflow.id()).map_err(fail)?;
        rec.operation = Some(format!("http {method} {host}"));
        rec.kind = StepKind::Http;
        rec.method = Some(method.clone());
        rec.path = Some(redact.text(parsed.path()));
        rec.params = Some(json!({
            "url": shown,
            "headers": headers.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        }));
        if self.options.dry_run && spec.mutates() {
            rec.status = StepStatus::DryRun;
            return Ok(json!({
                "dry_run": true, "method": method, "url": shown,
                "body": body.as_ref().map(|b| redact.value(b)),
            }));
        }
        if self.options.cancel.is_cancelled() {
            return Err(RunError::Canceled);
        }
        let verb = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| fail(format!("'{method}' is not an HTTP method")))?;
        // The same fence as Lumos calls: a process that lost the run sends nothing more.
        if let Some(fence) = &self.options.fence {
            fence
                .check()
                .map_err(|reason| fail(format!("not sent: {reason}")))?;
        }
        rec.changed = spec.mutates();
        if rec.changed {
            rec.sent = body.as_ref().map(|b| redact.value(b));
        }
        let mut req = env.client.request(verb, parsed);
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = tokio::select! {
            biased;
            () = self.options.cancel.cancelled() => return Err(RunError::Canceled),
            r = req.send() => r.map_err(|e| fail(redact.text(&format!("{method} {host}: {e}"))))?,
        };
        let status = resp.status().as_u16();
        rec.http_status = Some(status);
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| fail(redact.text(&format!("{method} {host}: reading the answer: {e}"))))?;
        if bytes.len() > HTTP_ANSWER_MAX {
            return Err(fail(format!(
                "{method} {host} answered {} bytes; http steps keep answers up to 1 MiB",
                bytes.len()
            )));
        }
        let answer = serde_json::from_slice::<Value>(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        let answer = redact.value(&answer);
        let ok = match &spec.expect {
            Some(list) => list.contains(&status),
            None => (200..300).contains(&status),
        };
        if !ok {
            return Err(fail(format!(
                "{method} {host} answered HTTP {status}: {}",
                short(&answer)
            )));
        }
        Ok(json!({"status": status, "body": answer}))
    }
}
