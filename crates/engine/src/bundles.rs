//! The installable bundles. Their workflows are ordinary YAML files under `workflows/`,
//! embedded at build time; nothing in Rust is special to any of them.

pub struct Bundle {
    pub id: &'static str,
    pub name: &'static str,
    pub workflows: &'static [&'static str],
}

pub const BUNDLES: &[Bundle] = &[
    Bundle {
        id: "appstore",
        name: "AppStore",
        workflows: &[
            "list-lumos-appstore-apps",
            "get-lumos-app-approvers",
            "list-lumos-app-requestable-permissions",
        ],
    },
    Bundle {
        id: "directory-and-apps",
        name: "Directory & Apps",
        workflows: &[
            "list-lumos-accounts",
            "list-lumos-users",
            "list-lumos-groups",
            "list-lumos-apps",
            "get-lumos-app",
            "list-lumos-user-access",
        ],
    },
    Bundle {
        id: "access-requests",
        name: "Access Requests",
        workflows: &[
            "search-lumos-appstore",
            "request-lumos-app-access",
            "get-lumos-access-request",
            "list-lumos-access-requests",
            "cancel-lumos-access-request",
        ],
    },
    Bundle {
        id: "lumos-approvals",
        name: "Lumos Approvals",
        workflows: &[
            "list-my-lumos-approval-tasks",
            "decide-lumos-access-request",
            "reassign-lumos-approval-task",
            "comment-on-lumos-request",
        ],
    },
    Bundle {
        id: "access-reviews",
        name: "Access Reviews",
        workflows: &[
            "list-lumos-access-reviews",
            "get-lumos-access-review",
            "create-lumos-access-review",
            "add-apps-to-lumos-access-review",
        ],
    },
];

macro_rules! embedded {
    ($($id:literal),+ $(,)?) => {
        &[$(($id, include_str!(concat!("../../../workflows/", $id, ".yaml")))),+]
    };
}

const SOURCES: &[(&str, &str)] = embedded!(
    "list-lumos-appstore-apps",
    "get-lumos-app-approvers",
    "list-lumos-app-requestable-permissions",
    "list-lumos-accounts",
    "list-lumos-users",
    "list-lumos-groups",
    "list-lumos-apps",
    "get-lumos-app",
    "list-lumos-user-access",
    "search-lumos-appstore",
    "request-lumos-app-access",
    "get-lumos-access-request",
    "list-lumos-access-requests",
    "cancel-lumos-access-request",
    "list-my-lumos-approval-tasks",
    "decide-lumos-access-request",
    "reassign-lumos-approval-task",
    "comment-on-lumos-request",
    "list-lumos-access-reviews",
    "get-lumos-access-review",
    "create-lumos-access-review",
    "add-apps-to-lumos-access-review",
);

/// The bundled YAML of a workflow id.
pub fn source(id: &str) -> Option<&'static str> {
    SOURCES.iter().find(|(i, _)| *i == id).map(|(_, y)| *y)
}

pub fn bundle(id: &str) -> Option<&'static Bundle> {
    BUNDLES.iter().find(|b| b.id == id)
}

/// The bundle a workflow id belongs to.
pub fn bundle_of(workflow: &str) -> Option<&'static Bundle> {
    BUNDLES.iter().find(|b| b.workflows.contains(&workflow))
}

pub fn all_ids() -> impl Iterator<Item = &'static str> {
    BUNDLES.iter().flat_map(|b| b.workflows.iter().copied())
}
