//! A direct call of any Lumos operation, outside a workflow: `lumosflow api call` and
//! `POST /api/v1/lumos/call` both come here, so the same role rule and the same audit event
//! hold whichever door it came by.

use lumos_api::{CallOptions, Response};
use serde_json::{Map, Value, json};

use crate::actor::Actor;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::run_types::Origin;
use workflow_lang::Role;

/// What to call.
pub struct DirectCall<'a> {
    pub connection: &'a str,
    /// An operation id or alias of the catalog.
    pub operation: &'a str,
    pub params: &'a Map<String, Value>,
    pub body: Option<&'a Value>,
    pub options: CallOptions,
    pub origin: Origin,
}

impl Engine {
    /// Call a Lumos operation as `by` (admins only: it is every power the token has). The
    /// outer error is lumosflow's refusal (role, connection); the inner result is Lumos's
    /// answer. A call that changes Lumos is in the audit trail whatever Lumos answered.
    pub async fn call_lumos(
        &self,
        by: &Actor,
        call: DirectCall<'_>,
    ) -> Result<std::result::Result<Response, lumos_api::Error>> {
        crate::access::need(by, Role::Admin, "calling Lumos directly")?;
        if !by.scope.is_open() {
            return Err(EngineError::Forbidden(format!(
                "{} acts through a key that may do less than its role: it runs workflows, it does not call Lumos directly",
                by.label
            )));
        }
        self.check_connection_use(call.connection, by).await?;
        let client = self.client(call.connection).await?;
        let op = client.operation(call.operation).ok();
        let result = client
            .call_with(call.operation, call.params, call.body, call.options)
            .await;
        if let Some(op) = op.filter(|op| op.is_mutating())
            && !result
                .as_ref()
                .is_err_and(lumos_api::Error::is_invalid_input)
        {
            let status = match &result {
                Ok(r) => Some(r.status),
                Err(e) => e.status(),
            };
            let details = json!({"params": call.params, "method": op.method, "path": op.path,
                "status": status, "origin": call.origin, "connection": call.connection,
                "outcome": if result.is_ok() { "completed" } else { "failed" }});
            self.audit(by, "lumos.call", op.name(), Some(details)).await;
        }
        Ok(result)
    }
}
