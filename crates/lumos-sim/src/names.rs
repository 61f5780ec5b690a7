//! Vocabulary for the synthetic organization.

pub const GIVEN: &[&str] = &[
    "Ann", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hiro", "Isabel", "Jamal", "Kara",
    "Liam", "Maya", "Noah", "Olivia", "Priya", "Quinn", "Rosa", "Samuel", "Tara", "Umar", "Vera",
    "Wei", "Ximena", "Yusuf", "Zoe", "Aisha", "Bruno", "Carmen", "Dmitri", "Emma", "Felix",
    "Gabriel", "Hannah", "Ivan", "Julia", "Kenji", "Lucia", "Mateo", "Nadia", "Oscar", "Paula",
    "Rahul", "Sofia", "Tomas", "Uma", "Victor", "Wanda", "Yara", "Zane",
];

pub const FAMILY: &[&str] = &[
    "Smith",
    "Garcia",
    "Chen",
    "Okafor",
    "Muller",
    "Rossi",
    "Kowalski",
    "Nguyen",
    "Patel",
    "Silva",
    "Johansson",
    "Kim",
    "Dubois",
    "Haddad",
    "Ivanova",
    "Tanaka",
    "Lopez",
    "Brown",
    "Novak",
    "Fischer",
    "Costa",
    "Jensen",
    "Sato",
    "Moreau",
    "Khan",
    "Rahman",
    "Walsh",
    "Becker",
    "Ortiz",
    "Yilmaz",
    "Hughes",
    "Lindqvist",
    "Mendes",
    "Abbott",
    "Park",
    "Reyes",
    "Schmidt",
    "Torres",
    "Volkov",
    "Wright",
];

pub const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "People",
    "IT",
    "Security",
    "Support",
    "Legal",
    "Product",
    "Design",
    "Operations",
];

pub const EMAIL_DOMAIN: &str = "example-corp.com";

/// Well-known SaaS apps: label, class id, category.
pub const APPS: &[(&str, &str, &str)] = &[
    ("Okta", "okta.com", "Identity"),
    ("Google Workspace", "workspace.google.com", "Productivity"),
    ("Microsoft Entra ID", "entra.microsoft.com", "Identity"),
    ("GitHub", "github.com", "Engineering"),
    ("Slack", "slack.com", "Communication"),
    ("Salesforce", "salesforce.com", "Sales"),
    ("Zoom", "zoom.us", "Communication"),
    ("Jira", "atlassian.net", "Engineering"),
    ("Confluence", "confluence.atlassian.net", "Productivity"),
    ("Notion", "notion.so", "Productivity"),
    ("Figma", "figma.com", "Design"),
    ("AWS", "aws.amazon.com", "Engineering"),
    ("Google Cloud", "cloud.google.com", "Engineering"),
    ("Datadog", "datadoghq.com", "Engineering"),
    ("PagerDuty", "pagerduty.com", "Engineering"),
    ("Zendesk", "zendesk.com", "Support"),
    ("HubSpot", "hubspot.com", "Marketing"),
    ("Workday", "workday.com", "HR"),
    ("BambooHR", "bamboohr.com", "HR"),
    ("NetSuite", "netsuite.com", "Finance"),
    ("Expensify", "expensify.com", "Finance"),
    ("DocuSign", "docusign.com", "Legal"),
    ("Dropbox", "dropbox.com", "Productivity"),
    ("Box", "box.com", "Productivity"),
    ("Asana", "asana.com", "Productivity"),
    ("Linear", "linear.app", "Engineering"),
    ("1Password", "1password.com", "Security"),
    ("CrowdStrike", "crowdstrike.com", "Security"),
    ("Snowflake", "snowflake.com", "Data"),
    ("Tableau", "tableau.com", "Data"),
    ("Looker", "looker.com", "Data"),
    ("Miro", "miro.com", "Design"),
    ("Intercom", "intercom.com", "Support"),
    ("Gong", "gong.io", "Sales"),
    ("Greenhouse", "greenhouse.io", "HR"),
    ("Gusto", "gusto.com", "HR"),
    ("Airtable", "airtable.com", "Productivity"),
    ("Loom", "loom.com", "Communication"),
    ("Sentry", "sentry.io", "Engineering"),
    ("Vercel", "vercel.com", "Engineering"),
];

/// The Lumos time-based-access vocabulary.
pub const ACCESS_LENGTHS: &[&str] = &[
    "2 hours",
    "4 hours",
    "8 hours",
    "12 hours",
    "1 day",
    "2 days",
    "3 days",
    "7 days",
    "14 days",
    "30 days",
    "90 days",
    "Unlimited",
];

/// The seconds of a length of that vocabulary ("7 days"); `None` for "Unlimited".
pub fn length_seconds(label: &str) -> Option<i64> {
    let (n, unit) = label.split_once(' ')?;
    let n: i64 = n.parse().ok()?;
    Some(
        n * if unit.starts_with("hour") {
            3600
        } else {
            86_400
        },
    )
}

pub const PERMISSIONS: &[&str] = &[
    "Admin",
    "Member",
    "Read-only",
    "Billing",
    "Developer",
    "Viewer",
    "Editor",
    "Owner",
];

/// An enum of the official API, by its schema name, in the spec's order: the simulator
/// answers with exactly the values the client knows.
pub fn spec_enum(name: &str) -> &'static [String] {
    lumos_api::Schemas::lumos().enum_values(name)
}

pub fn account_statuses() -> &'static [String] {
    spec_enum("AccountLifecycleStatus")
}

pub fn discovery_sources() -> &'static [String] {
    spec_enum("DiscoverySource")
}

pub fn account_types() -> &'static [String] {
    spec_enum("AccountType")
}
