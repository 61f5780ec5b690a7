//! `lumosflow people` and `lumosflow sessions`: who may sign in, with which role, and the
//! console sessions that are live.

use std::io::Write;

use clap::Subcommand;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use engine::{Engine, Person, Role};

use crate::operator::me;

#[derive(Subcommand)]
pub enum PeopleCommand {
    /// Everyone who signed in or owns a key.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One person.
    Show {
        email: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a person's role (viewer, agent, builder or admin); their keys never exceed it.
    SetRole { email: String, role: Role },
    /// Give (yes) or take (no) the auditor grant: reading, checking and exporting the audit
    /// trail without the admin role.
    SetAuditor {
        email: String,
        #[arg(action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new(), value_name = "yes|no")]
        auditor: bool,
    },
    /// Deactivate a person: their sessions end and their keys are revoked at once.
    Deactivate { email: String },
}

#[derive(Subcommand)]
pub enum SessionsCommand {
    /// Live console sessions.
    List {
        #[arg(long)]
        json: bool,
    },
    /// End a console session by its listed id.
    Revoke { id: String },
}

fn time(d: Option<chrono::DateTime<chrono::Utc>>) -> String {
    d.map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn describe(out: &mut impl Write, p: &Person) -> std::io::Result<()> {
    writeln!(
        out,
        "{} — {}",
        p.email,
        p.name.as_deref().unwrap_or("(no name)")
    )?;
    writeln!(
        out,
        "role: {}{}",
        p.role,
        if p.auditor { " (and auditor)" } else { "" }
    )?;
    writeln!(out, "status: {}", p.status.as_str())?;
    writeln!(out, "since: {}", time(Some(p.created_at)))?;
    writeln!(out, "last sign-in: {}", time(p.last_sign_in_at))?;
    writeln!(out, "last key use: {}", time(p.last_key_used_at))
}

pub async fn people(engine: &Engine, cmd: PeopleCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        PeopleCommand::List { json } => {
            let people = engine.people().await?;
            if json {
                serde_json::to_writer_pretty(&mut out, &people)?;
                writeln!(out)?;
                return Ok(());
            }
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED).set_header([
                "email",
                "name",
                "role",
                "auditor",
                "status",
                "last sign-in",
                "last key use",
            ]);
            for p in people {
                table.add_row([
                    p.email,
                    p.name.unwrap_or_default(),
                    p.role,
                    if p.auditor { "yes" } else { "" }.to_owned(),
                    p.status.as_str().to_owned(),
                    time(p.last_sign_in_at),
                    time(p.last_key_used_at),
                ]);
            }
            writeln!(out, "{table}")?;
        }
        PeopleCommand::Show { email, json } => {
            let p = engine.person(&email).await?;
            if json {
                serde_json::to_writer_pretty(&mut out, &p)?;
                writeln!(out)?;
            } else {
                describe(&mut out, &p)?;
            }
        }
        PeopleCommand::SetRole { email, role } => {
            let p = engine.set_person_role(&email, role, &me()).await?;
            writeln!(out, "{} is now {}", p.email, p.role)?;
        }
        PeopleCommand::SetAuditor { email, auditor } => {
            let p = engine.set_person_auditor(&email, auditor, &me()).await?;
            if p.auditor {
                writeln!(
                    out,
                    "{} may now read, check and export the audit trail",
                    p.email
                )?;
            } else {
                writeln!(out, "{} no longer reads the audit trail", p.email)?;
            }
        }
        PeopleCommand::Deactivate { email } => {
            let p = engine.deactivate_person(&email, &me()).await?;
            writeln!(
                out,
                "deactivated {} (their console sessions ended and their keys were revoked)",
                p.email
            )?;
        }
    }
    Ok(())
}

pub async fn sessions(engine: &Engine, cmd: SessionsCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        SessionsCommand::List { json } => {
            let sessions = engine.sessions().await?;
            if json {
                serde_json::to_writer_pretty(&mut out, &sessions)?;
                writeln!(out)?;
                return Ok(());
            }
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED).set_header([
                "id",
                "who",
                "key",
                "since",
                "last seen",
                "expires",
            ]);
            for s in sessions {
                table.add_row([
                    s.id,
                    s.email.unwrap_or_default(),
                    s.key_name.unwrap_or_default(),
                    time(Some(s.created_at)),
                    time(Some(s.last_seen_at)),
                    time(Some(s.expires_at)),
                ]);
            }
            writeln!(out, "{table}")?;
        }
        SessionsCommand::Revoke { id } => {
            engine.revoke_session(&id, &me()).await?;
            writeln!(out, "ended session {id}")?;
        }
    }
    Ok(())
}
