//! The engine against the simulator over HTTP, on SQLite and PostgreSQL.

mod access;
mod approvals;
mod backup;
mod connections;
mod cookbook;
mod custom;
mod definitions;
mod docs;
mod faults;
mod http_steps;
mod lumos_approvals;
mod run_core;
mod steps;
mod trust;
mod workflows;

use std::sync::Arc;

use engine::Engine;
use lumos_api::Client;
use lumos_sim::{DEFAULT_TOKEN, SimConfig, Simulator};
use serde_json::{Map, Value};

pub struct Setup {
    pub sim: Simulator,
    pub engine: Engine,
    /// The engine's database, for what tests check beside the engine.
    pub store: Arc<store::Store>,
    pub api: Client,
    pub _db: testkit::Db,
}

/// A simulator, a store with a verified connection, and both bundles installed.
pub async fn setup_with(db: testkit::Db, cfg: SimConfig) -> Setup {
    let sim = Simulator::start(cfg).await.expect("sim");
    let store = Arc::new(db.open().await);
    engine::connections::connect(&store, "default", &sim.base_url, DEFAULT_TOKEN)
        .await
        .expect("connect");
    let engine = Engine::new(store.clone());
    engine
        .install(&[], true, false, &engine::Actor::operator())
        .await
        .expect("install");
    let api = engine::connections::client_for(
        &store,
        "default",
        lumos_api::RetryPolicy::default(),
        std::time::Duration::from_secs(30),
    )
    .await
    .expect("client");
    Setup {
        sim,
        engine,
        store,
        api,
        _db: db,
    }
}

pub async fn setup() -> Setup {
    setup_with(testkit::sqlite(), SimConfig::default()).await
}

pub fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

impl Setup {
    /// Approve a held run as `approver` and run it here, to its end.
    pub async fn approve_here(
        &self,
        run_id: &str,
        approver: &engine::Actor,
        comment: Option<&str>,
    ) -> engine::RunOutcome {
        let approved = self
            .engine
            .approve(
                run_id,
                approver,
                comment,
                engine::ApproveThen::RunHere(engine::Attach::default()),
            )
            .await
            .expect("approve");
        let engine::Approved::Ran(out) = approved else {
            panic!("approved to run here, but it was queued");
        };
        out
    }

    /// The id of an app in the AppStore.
    pub async fn store_app(&self) -> Value {
        // One that also grants access for good, so a request may name no duration.
        let apps = self
            .api
            .call(
                "getAppStoreApps",
                &obj(serde_json::json!({"all_visibilities": true, "size": 100})),
                None,
            )
            .await
            .expect("apps");
        for app in apps["items"].as_array().into_iter().flatten() {
            let settings = self
                .api
                .call(
                    "getAppStoreAppSettings",
                    &obj(serde_json::json!({"app_id": app["id"]})),
                    None,
                )
                .await
                .expect("settings");
            let lengths = &settings["provisioning"]["time_based_access"];
            if lengths
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x == "Unlimited"))
            {
                return app["id"].clone();
            }
        }
        panic!("no AppStore app grants access for good")
    }

    /// How many access requests Lumos holds.
    pub async fn access_requests(&self) -> u64 {
        let page = self
            .api
            .call(
                "getAccessRequests",
                &obj(serde_json::json!({"size": 1})),
                None,
            )
            .await
            .expect("list");
        page["total"].as_u64().unwrap_or(0)
    }
}
