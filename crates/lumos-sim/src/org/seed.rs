//! Generating an organization from a seed: the same seed gives the same organization,
//! history included (access requests walked through their approval stages).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use super::*;
use crate::ids::{IdSpace, Kind};
use crate::names;
use crate::time::{Clock, ts};

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

fn token_chars(rng: &mut fastrand::Rng, n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| CHARS[rng.usize(..CHARS.len())] as char)
        .collect()
}

impl Org {
    /// The organization of `seed` at `size`, its history laid out back from `now`.
    pub fn generate(seed: u64, size: &OrgSize, now: i64) -> Org {
        let mut rng = fastrand::Rng::with_seed(seed);
        let ids = IdSpace::new(seed);
        let n_users = size.users.max(2);
        let n_apps = size.apps.clamp(3, u16::MAX as usize);
        let users = gen_users(&mut rng, &ids, n_users, now);
        let apps = gen_apps(&mut rng, &ids, n_apps);
        let groups = gen_groups(&mut rng, &ids, size.groups.max(1), n_users, n_apps);
        let (accounts, user_accounts, accounts_by_app) =
            gen_accounts(&mut rng, n_users, &users, n_apps, size.accounts_per_user);
        let mut org = Org {
            clock: Clock::starting_at(now),
            ids,
            users,
            apps,
            groups,
            accounts,
            user_accounts,
            accounts_by_app,
            orphans: Vec::new(),
            later_accounts_of: HashMap::new(),
            appstore: BTreeMap::new(),
            permissions: Vec::new(),
            access_requests: Vec::new(),
            tasks: Vec::new(),
            pre_approval_rules: Vec::new(),
            access_policies: Vec::new(),
            access_reviews: Vec::new(),
            knowledge: Vec::new(),
            vendor_agreements: Vec::new(),
            inline_webhooks: Vec::new(),
            activity_logs: Vec::new(),
            identity_events: Vec::new(),
            jobs: HashMap::new(),
            roles: HashMap::new(),
            next_job: 0,
            next_review_app: 0,
        };
        org.gen_stray_accounts(&mut rng);
        org.gen_webhooks();
        org.gen_appstore(&mut rng);
        org.gen_access_requests(&mut rng);
        org.gen_governance(&mut rng);
        org.gen_logs(&mut rng);
        org.roles.insert(0, BTreeSet::from(["Admin".to_owned()]));
        org
    }

    /// Accounts Lumos could not link to a person: orphans (an email no user has: a former
    /// contractor, a shared mailbox) and accounts whose email is a user's in another case.
    /// They come after every user's accounts, in no user's list.
    fn gen_stray_accounts(&mut self, rng: &mut fastrand::Rng) {
        const WHO: &[&str] = &[
            "former.contractor",
            "shared-mailbox",
            "it-testing",
            "old.intern",
            "vendor.support",
        ];
        let n_orphans = (self.users.len() / 50).max(3);
        let n_other_case = (self.users.len() / 100).max(2);
        let n_apps = self.apps.len();
        for i in 0..n_orphans + n_other_case {
            let (user, owner) = if i < n_orphans {
                self.orphans.push(format!(
                    "{}{}@{}",
                    WHO[i % WHO.len()],
                    i / WHO.len() + 1,
                    if i % 3 == 0 {
                        "gmail.com"
                    } else {
                        names::EMAIL_DOMAIN
                    }
                ));
                (i as u32, Owner::Orphan)
            } else {
                (rng.usize(..self.users.len()) as u32, Owner::OtherCase)
            };
            let app = rng.usize(..n_apps);
            let idx = self.accounts.len();
            let discovered = rng.u32(86_400..86_400 * 400);
            self.accounts.push(Account {
                user,
                owner,
                app: app as u16,
                status: 3,
                kind: 0,
                source: rng.u8(..names::discovery_sources().len() as u8),
                discovered,
                last_login: if rng.bool() {
                    rng.u32(1..discovered)
                } else {
                    0
                },
            });
            self.accounts_by_app[app].push(idx as u32);
        }
    }

    fn gen_webhooks(&mut self) {
        let hooks = [
            ("PRE_APPROVAL", "Auto-approve low-risk requests"),
            ("PROVISION", "Provision through the HR system"),
            ("DEPROVISION", "Remove access in the ticketing system"),
            ("REQUEST_VALIDATION", "Check training completion"),
        ];
        for (i, (kind, name)) in hooks.iter().enumerate() {
            self.inline_webhooks.push(json!({
                "id": self.ids.id(Kind::Webhook, i), "hook_type": kind, "name": name,
                "description": format!("{name} (simulated)"),
            }));
        }
    }

    fn gen_appstore(&mut self, rng: &mut fastrand::Rng) {
        let n_users = self.users.len();
        for a in 0..self.apps.len() {
            let app = &self.apps[a];
            if app.disconnected || app.status != "APPROVED" || rng.u8(..100) >= 80 {
                continue;
            }
            let mut approvers = vec![rng.usize(..n_users) as u32];
            if rng.bool() {
                approvers.push(rng.usize(..n_users) as u32);
            }
            let approver_groups: Vec<u32> = if rng.u8(..100) < 35 {
                vec![rng.usize(..self.groups.len()) as u32]
            } else {
                vec![]
            };
            let stage2 = rng.u8(..100) < 30;
            let stage2_users: Vec<u32> = if stage2 {
                vec![rng.usize(..n_users) as u32]
            } else {
                vec![]
            };
            let admins = [rng.usize(..n_users) as u32];
            let discoverability = match rng.u8(..100) {
                0..70 => "FULL",
                70..90 => "LIMITED",
                _ => "NONE",
            };
            let allowed = if discoverability == "LIMITED" {
                json!({"type": "SPECIFIED_GROUPS", "groups": [self.group_json(rng.usize(..self.groups.len()))]})
            } else {
                json!({"type": "ALL_GROUPS", "groups": []})
            };
            let tba_len = rng.usize(2..6);
            let start = rng.usize(..names::ACCESS_LENGTHS.len() - tba_len);
            let mut tba: Vec<&str> = names::ACCESS_LENGTHS[start..start + tba_len].to_vec();
            // Half the apps also grant access for good (birthright tools); the others only
            // for a while.
            if a % 2 == 0 && !tba.contains(&"Unlimited") {
                tba.push("Unlimited");
            }
            let manual = rng.u8(..100) < 20;
            // Every way an app offers itself: the whole app (permissions hidden), a
            // permission Lumos picks, or one the requester picks.
            let mode = match rng.u8(..100) {
                0..30 => "DIRECT_TO_USER",
                30..50 => "GROUPS_AND_HIDDEN",
                _ => "GROUPS_AND_VISIBLE",
            };
            let label = self.apps[a].label.clone();
            let settings = json!({
                "custom_request_instructions": format!("Explain what you need {label} for."),
                "redirect_url": null,
                "request_flow": {
                    "discoverability": discoverability,
                    "custom_approval_message": format!("Your {label} access is approved."),
                    "require_manager_approval": rng.u8(..100) < 40,
                    "require_additional_approval": stage2,
                    "allowed_groups": allowed,
                    "approvers": {"groups": approver_groups.iter().map(|&g| self.group_json(g as usize)).collect::<Vec<_>>(),
                                   "users": approvers.iter().map(|&u| self.user_json(u as usize)).collect::<Vec<_>>()},
                    "approvers_stage_2": {"groups": [], "users": stage2_users.iter().map(|&u| self.user_json(u as usize)).collect::<Vec<_>>()},
                    "response_describes_entire_approval_workflow": rng.u8(..100) < 90,
                    "admins": {"groups": [], "users": admins.iter().map(|&u| self.user_json(u as usize)).collect::<Vec<_>>()},
                    "request_validation_inline_webhook": null,
                },
                "provisioning": {
                    "groups_provisioning": mode,
                    "time_based_access": tba,
                    "allow_multiple_permission_selection": self.apps[a].allow_multi,
                    "manual_steps_needed": manual,
                    "custom_provisioning_instructions": if manual { Value::from(format!("Add the user in the {label} admin console.")) } else { Value::Null },
                    "default_time_based_access_option": tba[0],
                    "default_permission": null,
                    "provisioning_webhook": null,
                    "access_removal_inline_webhook": null,
                },
            });
            self.appstore.insert(a as u32, settings);
            let n_perms = rng.usize(2..6);
            let first = rng.usize(..names::PERMISSIONS.len());
            for k in 0..n_perms {
                let label = names::PERMISSIONS[(first + k) % names::PERMISSIONS.len()];
                let idx = self.permissions.len();
                let override_approval = rng.u8(..100) < 30;
                let approval = if override_approval {
                    let u = rng.usize(..n_users);
                    json!({
                        "request_approval_config_override": true,
                        "manager_approval": if rng.bool() { "INITIAL_APPROVAL" } else { "NONE" },
                        "require_additional_approval": false,
                        "custom_approval_message": null,
                        "custom_approval_message_override": false,
                        "approvers": {"groups": [], "users": [self.user_json(u)]},
                        "approvers_stage_2": {"groups": [], "users": []},
                        "request_approval_stages": [{"approvers": [{"type": "USER", "user": self.user_json(u), "group": null}]}],
                        "response_describes_entire_approval_workflow": true,
                    })
                } else {
                    json!({"request_approval_config_override": false})
                };
                let tba_override = rng.u8(..100) < 20;
                self.permissions.push(Permission {
                    id: self.ids.id(Kind::Permission, idx),
                    app: a as u32,
                    label: label.to_owned(),
                    kind: if k == n_perms - 1 && rng.bool() { "NATIVE" } else { "SYNCED" },
                    integration_specific_id: format!("perm-{}", token_chars(rng, 10)),
                    config: json!({
                        // Both GROUPS_* modes need a visible permission: the first one is.
                        "appstore_visibility": if k == 0 || rng.u8(..100) < 80 { "VISIBLE" } else { "HIDDEN" },
                        "allowed_groups_override": false,
                        "allowed_groups": null,
                        "request_approval_config": approval,
                        "request_fulfillment_config": {
                            "manual_steps_needed": null,
                            "manual_instructions": null,
                            "time_based_access": if tba_override { json!(["1 day", "7 days"]) } else { json!([]) },
                            "time_based_access_override": tba_override,
                            "provisioning_group": null,
                            "provisioning_webhook": null,
                        },
                        "access_removal_inline_webhook": null,
                        "request_validation_inline_webhook": null,
                    }),
                    deleted: false,
                });
            }
        }
    }

    fn gen_access_requests(&mut self, rng: &mut fastrand::Rng) {
        let store_apps: Vec<u32> = self.appstore.keys().copied().collect();
        if store_apps.is_empty() {
            return;
        }
        let count = (self.users.len() / 10).clamp(5, 400);
        for i in 0..count {
            let app = *pick(rng, &store_apps);
            let target = rng.usize(..self.users.len()) as u32;
            let requester = if rng.u8(..100) < 85 {
                target
            } else {
                rng.usize(..self.users.len()) as u32
            };
            let perms: Vec<usize> = self.live_permissions_of(app).into_iter().take(1).collect();
            // Over the last 90 days, so "pending for more than a week" and "expiring this
            // week" both have answers.
            let at = self.clock.start - 86_400 * 90 + (i as i64) * 86_400 * 90 / count as i64;
            let lengths = self.durations(app, perms.first().copied());
            let limited: Vec<&String> = lengths.iter().filter(|l| *l != "Unlimited").collect();
            let expiration = if limited.is_empty() || (lengths.len() > limited.len() && rng.bool())
            {
                None
            } else {
                names::length_seconds(pick(rng, &limited).as_str())
            };
            // Walk some requests forward so every status and task state shows up. Of those
            // left at their first stage, one in four is not even routed yet (plain PENDING,
            // its validation webhook never answered).
            let roll = rng.u8(..100);
            let req = crate::lifecycle::receive(
                self,
                app,
                requester,
                target,
                perms,
                expiration,
                Some("Needed for my project".into()),
                at,
            );
            if !((45..70).contains(&roll) && i % 4 == 3) {
                crate::lifecycle::route(self, req, at);
            }
            let steps = if roll < 45 {
                9
            } else if roll < 70 {
                0
            } else {
                rng.usize(1..3)
            };
            for _ in 0..steps {
                let Some(task) = crate::lifecycle::open_task(self, req) else {
                    break;
                };
                let actor = 0;
                let _ = if rng.u8(..100) < 85 {
                    crate::lifecycle::complete_task(self, task, actor, at + 3600)
                } else {
                    crate::lifecycle::dismiss_task(self, task, actor, at + 3600)
                };
            }
            if roll >= 95 {
                let _ =
                    crate::lifecycle::cancel(self, req, Some("No longer needed".into()), at + 7200);
            }
        }
        // Access granted for a while and already over has ended, as Lumos marks it.
        let now = self.clock.start;
        for r in &mut self.access_requests {
            if r.expires_at.is_some_and(|t| t <= now)
                && matches!(r.status, "COMPLETED" | "PROVISIONED" | "APPROVED")
            {
                r.status = "TIME_BASED_EXPIRED";
            }
        }
    }

    fn gen_governance(&mut self, rng: &mut fastrand::Rng) {
        let store_apps: Vec<u32> = self.appstore.keys().copied().collect();
        for (i, &app) in store_apps.iter().take(6).enumerate() {
            let a = &self.apps[app as usize];
            let perms: Vec<Value> = self
                .live_permissions_of(app)
                .into_iter()
                .take(1)
                .map(|p| self.permission_base_json(p))
                .collect();
            self.pre_approval_rules.push(Some(json!({
                "id": self.ids.id(Kind::PreApprovalRule, i),
                "justification": format!("{} members are pre-approved", names::DEPARTMENTS[i % names::DEPARTMENTS.len()]),
                "time_based_access": ["30 days"],
                "app_id": a.id, "app_class_id": a.class_id, "app_instance_id": a.instance_id,
                "preapproved_groups": [self.group_json(i % self.groups.len())],
                "preapproved_users_by_attribute": [{"attribute": "department", "value": names::DEPARTMENTS[i % names::DEPARTMENTS.len()]}],
                "preapproved_permissions": perms,
                "preapproval_webhooks": [],
            })));
        }
        for i in 0..4 {
            let app = &self.apps[i % self.apps.len()];
            self.access_policies.push(Some(json!({
                "id": self.ids.id(Kind::AccessPolicy, i),
                "name": format!("{} birthright", names::DEPARTMENTS[i]),
                "business_justification": "Everyone in the department needs this on day one",
                "status": if i == 3 { "DRAFT" } else { "PUBLISHED" },
                "is_enabled": i != 3,
                "apps": [{"id": app.id, "is_preapproved": true, "permissions": []}],
                "access_condition": {"attribute": "department", "equals": names::DEPARTMENTS[i]},
                "is_everyone_condition": false,
            })));
        }
        for i in 0..3 {
            let apps: Vec<Value> = (0..2)
                .map(|k| self.review_app_json((i * 2 + k) % self.apps.len(), "IN_PROGRESS"))
                .collect();
            self.access_reviews.push(Some(json!({
                "id": self.ids.id(Kind::AccessReview, i),
                "name": format!("Q{} {} access review", i + 1, 2026),
                "status": (["IN_PROGRESS", "COMPLETED", "IN_PREPARATION"][i]),
                "creation_path": "UI",
                "owner_id": self.users[0].id,
                "created_by_id": self.users[0].id,
                "deadline_at": ts(self.clock.start + 86_400 * 30 * (i as i64 + 1)),
                "started_at": ts(self.clock.start - 86_400 * 10),
                "completed_at": if i == 1 { Value::from(ts(self.clock.start - 86_400)) } else { Value::Null },
                "target_launch_date": null,
                "recurrence_config": null,
                "recurrence_days_frequency": 90,
                "created_at": ts(self.clock.start - 86_400 * 20),
                "updated_at": ts(self.clock.start - 86_400 * 2),
                "apps": apps,
            })));
        }
        let topics = [
            ("How to request GitHub access", "APPSTORE"),
            ("VPN troubleshooting", "GLOBAL"),
            ("Access review guidelines", "ACCESS_REVIEWS"),
            ("Laptop refresh policy", "GLOBAL"),
            ("Salesforce license tiers", "APPSTORE"),
            ("Onboarding checklist", "GLOBAL"),
        ];
        for (i, (title, scope)) in topics.iter().enumerate() {
            self.knowledge.push(Some(json!({
                "id": self.ids.id(Kind::Knowledge, i),
                "title": title,
                "content": format!("{title}: steps and contacts for the service desk."),
                "file_url": null,
                "generic_tags": ["it", "how-to"],
                "application_tags": [],
                "product_scopes": [scope],
                "created_at": ts(self.clock.start - 86_400 * (30 + i as i64)),
                "updated_at": ts(self.clock.start - 86_400 * (i as i64)),
            })));
        }
        for i in 0..self.apps.len().min(12) {
            let app = &self.apps[i];
            let owner = rng.usize(..self.users.len());
            let monthly = 100.0 * f64::from(rng.u32(5..200));
            self.vendor_agreements.push(json!({
                "id": self.ids.id(Kind::VendorAgreement, i),
                "vendor": {"name": app.label},
                "label": format!("{} subscription", app.label),
                "start_date": "2026-01-01",
                "end_date": "2026-12-31",
                "opt_out_date": "2026-11-30",
                "renewal_stage": (["UPCOMING", "IN_NEGOTIATION", "RENEWED"][i % 3]),
                "pricing_model": "PER_SEAT",
                "contract_length_months": 12,
                "projected_annualized_cost": {"currency": "USD", "value": monthly * 12.0},
                "renewal_owners": [self.user_json(owner)],
                "total_contract_cost": {"currency": "USD", "value": monthly * 12.0},
                "line_items": [{"name": "Seats", "type": "SUBSCRIPTION", "quantity": rng.u32(10..500),
                                "unit_cost": {"per_month": {"currency": "USD", "value": 12.5}},
                                "start_date": "2026-01-01", "end_date": "2026-12-31"}],
                "custom_attributes": {"Cost center": {"type": "TEXT", "value": names::DEPARTMENTS[i % names::DEPARTMENTS.len()]}},
            }));
        }
    }

    fn gen_logs(&mut self, rng: &mut fastrand::Rng) {
        let n = (self.users.len() * 2).clamp(50, 2000);
        let kinds = [
            ("USER_LOGIN", "User logged in"),
            ("ACCESS_REQUEST_CREATED", "Access request created"),
            ("APP_SETTINGS_UPDATED", "App settings updated"),
            ("ACCOUNT_DEPROVISIONED", "Account deprovisioned"),
        ];
        for i in 0..n {
            let u = rng.usize(..self.users.len());
            let (kind, friendly) = *pick(rng, &kinds);
            self.activity_logs.push(json!({
                "event_hash": format!("{:016x}", rng.u64(..)),
                "event_type": kind,
                "event_type_user_friendly": friendly,
                "outcome": if rng.u8(..100) < 95 { "SUCCESS" } else { "FAILURE" },
                "targets": [{"type": "user", "id": self.users[u].id}],
                "actor": {"type": "user", "id": self.users[u].id, "email": self.users[u].email},
                "event_began_at": ts(self.clock.start - 86_400 * 60 + (i as i64) * 86_400 * 60 / n as i64),
                "event_metadata": {"ip": format!("10.0.{}.{}", rng.u8(..255), rng.u8(1..255))},
            }));
        }
        let m = self.users.len().clamp(20, 1000);
        let fields = [
            ("title", "Engineer", "Senior Engineer"),
            ("team", "Platform", "Security"),
            ("manager", "Ann Smith", "Ben Chen"),
        ];
        for i in 0..m {
            let u = rng.usize(..self.users.len());
            let (field, old, new) = *pick(rng, &fields);
            self.identity_events.push(json!({
                "id": self.ids.id(Kind::IdentityEvent, i),
                "user_id": self.users[u].id,
                "detected_time": ts(self.clock.start - 86_400 * 90 + (i as i64) * 86_400 * 90 / m as i64),
                "changed_field": field,
                "old_field_value": old,
                "new_field_value": new,
            }));
        }
    }
}

fn gen_users(rng: &mut fastrand::Rng, ids: &IdSpace, n: usize, now: i64) -> Vec<User> {
    let mut seen: HashMap<String, u32> = HashMap::with_capacity(n);
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        let given = *pick(rng, names::GIVEN);
        let family = *pick(rng, names::FAMILY);
        let base = format!(
            "{}.{}",
            given.to_ascii_lowercase(),
            family.to_ascii_lowercase()
        );
        let count = seen.entry(base.clone()).or_insert(0);
        *count += 1;
        let email = if *count == 1 {
            format!("{base}@{}", names::EMAIL_DOMAIN)
        } else {
            format!("{base}{}@{}", count, names::EMAIL_DOMAIN)
        };
        let status = if i < 2 {
            "ACTIVE"
        } else {
            match rng.u8(..100) {
                0..85 => "ACTIVE",
                85..91 => "INACTIVE",
                91..96 => "SUSPENDED",
                _ => "STAGED",
            }
        };
        let search = format!("{} {} {}", given, family, email).to_lowercase();
        users.push(User {
            id: ids.id(Kind::User, i),
            email,
            given: given.to_owned(),
            family: family.to_owned(),
            status,
            manager: if i == 0 {
                None
            } else {
                Some(((i - 1) / 8) as u32)
            },
            department: names::DEPARTMENTS[rng.usize(..names::DEPARTMENTS.len())],
            started: now - 86_400 * i64::from(rng.u32(30..2500)),
            search,
        });
    }
    users
}

fn gen_apps(rng: &mut fastrand::Rng, ids: &IdSpace, n: usize) -> Vec<App> {
    const REGIONS: &[&str] = &["EMEA", "NA", "APAC", "Sandbox", "Staging", "Legacy"];
    let mut apps = Vec::with_capacity(n);
    for i in 0..n {
        let (label, class_id, category) = names::APPS[i % names::APPS.len()];
        let round = i / names::APPS.len();
        let label = if round == 0 {
            label.to_owned()
        } else {
            format!(
                "{label} ({}{})",
                REGIONS[(round - 1) % REGIONS.len()],
                if round > REGIONS.len() {
                    format!(" {round}")
                } else {
                    String::new()
                }
            )
        };
        let okta = i > 0 && rng.u8(..100) < 60;
        let sources = if i < 3 {
            vec!["LUMOS_INTEGRATION"]
        } else if okta {
            vec!["OKTA"]
        } else {
            let mut s = vec![pick(rng, names::discovery_sources()).as_str()];
            if rng.bool() {
                s.push("LUMOS_INTEGRATION");
                s.dedup();
            }
            s
        };
        let status = if i < 10 {
            "APPROVED"
        } else {
            match rng.u8(..100) {
                0..80 => "APPROVED",
                80..86 => "IN_REVIEW",
                86..91 => "NEEDS_REVIEW",
                91..95 => "DISCOVERED",
                95..98 => "DEPRECATED",
                _ => "BLOCKLISTED",
            }
        };
        let disconnected = i >= 10 && rng.u8(..100) < 4;
        let connection_source = if i >= 3 && rng.u8(..100) < 20 {
            "API"
        } else {
            "UI"
        };
        apps.push(App {
            id: ids.id(Kind::App, i),
            class_id: class_id.to_owned(),
            instance_id: if okta {
                format!("0oa{}", token_chars(rng, 17))
            } else {
                format!(
                    "{}-{}",
                    class_id.split('.').next().unwrap_or("app"),
                    round + 1
                )
            },
            label,
            status,
            sources,
            category: Some(category.to_owned()),
            website: Some(format!("https://{class_id}")),
            logo: Some(format!("https://logos.example-corp.com/{class_id}.png")),
            description: Some(format!("{category} tool used across the company.")),
            request_instructions: if rng.bool() {
                Some("Request the least access you need.".into())
            } else {
                None
            },
            disconnected,
            connection_source,
            sync_status: if disconnected {
                None
            } else if rng.u8(..100) < 93 {
                Some("SUCCESS")
            } else {
                Some("FAILED")
            },
            sync_started: None,
            allow_multi: rng.bool(),
        });
    }
    apps
}

fn gen_groups(
    rng: &mut fastrand::Rng,
    ids: &IdSpace,
    n: usize,
    n_users: usize,
    n_apps: usize,
) -> Vec<Group> {
    const SUFFIX: &[&str] = &[
        "Team",
        "Admins",
        "Contractors",
        "Leads",
        "All",
        "EMEA",
        "NA",
        "APAC",
        "On-call",
        "Interns",
    ];
    let mut groups = Vec::with_capacity(n);
    for i in 0..n {
        let roll = rng.u8(..100);
        let app = if roll < 50 {
            0
        } else if roll < 70 {
            1
        } else {
            rng.usize(..n_apps)
        };
        let dept = names::DEPARTMENTS[i % names::DEPARTMENTS.len()];
        let suffix = SUFFIX[(i / names::DEPARTMENTS.len()) % SUFFIX.len()];
        let round = i / (names::DEPARTMENTS.len() * SUFFIX.len());
        // A real directory's mess: three near-duplicates of one team, made by different
        // people in different places.
        let name = match (i, n >= 12) {
            (9, true) => "Eng-Platform".to_owned(),
            (10, true) => "eng platform".to_owned(),
            (11, true) => "Engineering Platform".to_owned(),
            _ if round == 0 => format!("{dept} {suffix}"),
            _ => format!("{dept} {suffix} {round}"),
        };
        let isid = if app == 0 {
            format!("00g{}", token_chars(rng, 17))
        } else {
            format!("grp-{}", token_chars(rng, 10))
        };
        // Some groups of other apps are Okta groups pushed there: synced from Okta.
        let source = if app != 0 && rng.u8(..100) < 15 {
            0
        } else {
            app
        };
        // One group in twenty is empty (a team that was reorganised away).
        let empty = i % 20 == 13;
        groups.push(Group {
            id: ids.id(Kind::Group, i),
            app: app as u32,
            source: source as u32,
            integration_specific_id: isid,
            description: format!(
                "{name} ({})",
                if app == 0 {
                    "synced from Okta"
                } else {
                    "synced from an app"
                }
            ),
            name,
            lifecycle: if rng.u8(..100) < 90 {
                "SYNCED"
            } else {
                "NATIVE"
            },
            member_start: rng.usize(..n_users) as u32,
            member_count: if empty {
                0
            } else {
                rng.usize(3..60).min(n_users) as u32
            },
        });
    }
    groups
}

fn gen_accounts(
    rng: &mut fastrand::Rng,
    n_users: usize,
    users: &[User],
    n_apps: usize,
    per_user: usize,
) -> (Vec<Account>, Vec<u32>, Vec<Vec<u32>>) {
    let per_user = per_user.min(n_apps);
    let mut accounts = Vec::with_capacity(n_users * per_user);
    let mut starts = Vec::with_capacity(n_users + 1);
    let mut by_app: Vec<Vec<u32>> = vec![Vec::new(); n_apps];
    for (u, user) in users.iter().enumerate() {
        starts.push(accounts.len() as u32);
        let start = rng.usize(..n_apps);
        // A stride coprime with the app count visits every app before repeating.
        let stride = [1, 3, 7, 11]
            .into_iter()
            .find(|s| gcd(*s, n_apps) == 1)
            .unwrap_or(1);
        let mut chosen = Vec::with_capacity(per_user);
        let mut k = 0;
        while chosen.len() < per_user {
            let app = (start + k * stride) % n_apps;
            k += 1;
            if !chosen.contains(&app) {
                chosen.push(app);
            } else if k > n_apps * 3 {
                break;
            }
        }
        for app in chosen {
            let idx = accounts.len();
            let status = if idx < names::account_statuses().len() {
                idx as u8
            } else if user.status == "INACTIVE" || user.status == "SUSPENDED" {
                // People who left: most accounts suspended or removed, but one in four still
                // active (what a leaver review is for).
                match rng.u8(..100) {
                    0..25 => 3,
                    25..60 => 6,
                    _ => 5,
                }
            } else {
                match rng.u8(..100) {
                    0..72 => 3,
                    72..78 => 0,
                    78..82 => 2,
                    82..86 => 5,
                    86..89 => 6,
                    89..91 => 1,
                    91..93 => 4,
                    93..95 => 7,
                    95..97 => 8,
                    97..99 => 9,
                    _ => 10,
                }
            };
            let kind = match rng.u8(..100) {
                0..94 => 0,
                94..97 => 1,
                _ => 2,
            };
            let discovered = rng.u32(0..86_400 * 900);
            accounts.push(Account {
                user: u as u32,
                owner: Owner::User,
                app: app as u16,
                status,
                kind,
                source: rng.u8(..names::discovery_sources().len() as u8),
                discovered,
                last_login: if rng.u8(..100) < 80 {
                    rng.u32(1..86_400 * 60).min(discovered.max(1))
                } else {
                    0
                },
            });
            by_app[app].push(idx as u32);
        }
    }
    starts.push(accounts.len() as u32);
    (accounts, starts, by_app)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}
