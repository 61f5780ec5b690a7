//! People: who signs in, owns keys, asks for runs. Admins list them, change their role and
//! deactivate them (which ends their sessions and revokes their keys at once); SSO sign-ins
//! create and refresh them.

use store::Person;

use crate::actor::Actor;
use crate::engine::Engine;
use crate::error::{PersonError, Result};
use workflow_lang::Role;

/// An email as people type them: something@domain, no spaces, at most 254 characters.
pub fn check_email(email: &str) -> std::result::Result<(), PersonError> {
    if workflow_lang::email::is_email(email) {
        Ok(())
    } else {
        Err(PersonError::Email(email.to_owned()))
    }
}

/// The role a person record holds (an unreadable one reads as the least).
pub fn role_of(p: &Person) -> Role {
    p.role.parse().unwrap_or(Role::Viewer)
}

impl Engine {
    pub async fn people(&self) -> Result<Vec<Person>> {
        Ok(self.store.people().await?)
    }

    pub async fn person(&self, email: &str) -> Result<Person> {
        check_email(email)?;
        Ok(self
            .store
            .person_by_email(email)
            .await?
            .ok_or_else(|| PersonError::Unknown(email.to_owned()))?)
    }

    pub async fn set_person_role(&self, email: &str, role: Role, by: &Actor) -> Result<Person> {
        check_email(email)?;
        if !self.store.set_person_role(email, role.as_str()).await? {
            return Err(PersonError::Unknown(email.to_owned()).into());
        }
        self.audit(
            by,
            "person.role",
            email,
            Some(serde_json::json!({"role": role})),
        )
        .await;
        self.person(email).await
    }

    /// Give or take the auditor grant: reading, checking and exporting the audit trail
    /// without the admin role.
    pub async fn set_person_auditor(
        &self,
        email: &str,
        auditor: bool,
        by: &Actor,
    ) -> Result<Person> {
        crate::access::need(by, Role::Admin, "giving the auditor grant")?;
        check_email(email)?;
        if !self.store.set_person_auditor(email, auditor).await? {
            return Err(PersonError::Unknown(email.to_owned()).into());
        }
        self.audit(
            by,
            "person.auditor",
            email,
            Some(serde_json::json!({"auditor": auditor})),
        )
        .await;
        self.person(email).await
    }

    /// Deactivate: their sessions end and their keys are revoked in the same transaction.
    pub async fn deactivate_person(&self, email: &str, by: &Actor) -> Result<Person> {
        check_email(email)?;
        let Some(keys) = self.store.deactivate_person(email).await? else {
            return Err(PersonError::Unknown(email.to_owned()).into());
        };
        self.audit(
            by,
            "person.deactivate",
            email,
            Some(serde_json::json!({"keys_revoked": keys})),
        )
        .await;
        self.person(email).await
    }

    /// The owner of a new key: found, or created with the key's role. A key never has more
    /// than its owner's role.
    pub(crate) async fn key_owner(&self, email: &str, key_role: Role) -> Result<Person> {
        check_email(email)?;
        let person = self
            .store
            .ensure_person(&crate::ids::new_run_id(), email, key_role.as_str())
            .await?;
        if person.status != store::PersonStatus::Active {
            return Err(PersonError::Deactivated(person.email).into());
        }
        let has = role_of(&person);
        if key_role > has {
            return Err(PersonError::AboveOwner {
                email: person.email,
                has,
                asked: key_role,
            }
            .into());
        }
        Ok(person)
    }
}
