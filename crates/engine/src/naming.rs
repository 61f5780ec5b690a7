//! What people call an object Lumos answered: an app's label, a permission's, a person's
//! name, else an email. Approvals, pickers and Slack name things the same way.

use serde_json::{Map, Value};

/// What people call an object Lumos answered: an app's label, a permission's, a person's
/// name, else an email.
pub(crate) fn name_of(m: &Map<String, Value>) -> Option<String> {
    let text = |k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    for k in ["user_friendly_label", "app_name", "label", "name"] {
        if let Some(n) = text(k) {
            return Some(n.to_owned());
        }
    }
    let person = [text("given_name"), text("family_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !person.is_empty() {
        return Some(person);
    }
    text("email").map(str::to_owned)
}
