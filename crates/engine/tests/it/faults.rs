//! Never a silently wrong answer: with a fault proxy between the engine and the simulator,
//! every bundled workflow either gives exactly the clean answer or fails saying what came
//! back — never completes short. And at a 30 % fault rate, retries still give the clean
//! answer every time.

use std::sync::Arc;
use std::time::Duration;

use engine::{Engine, EngineConfig, RunRequest, RunStatus};
use lumos_api::RetryPolicy;
use lumos_sim::{DEFAULT_TOKEN, OrgSize, SimConfig, Simulator};
use serde_json::{Value, json};
use testkit::{Db, Fault, FaultProxy, both};

use crate::obj;

/// Retries fast enough for a test, and a short per-request timeout for trickling bodies.
fn quick() -> EngineConfig {
    EngineConfig {
        retry: RetryPolicy {
            max_retries: 2,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        lumos_timeout: Duration::from_millis(700),
        ..EngineConfig::default()
    }
}

/// An engine talking to Lumos at `base_url`, with every bundle installed.
async fn engine_at(db: &Db, base_url: &str, config: EngineConfig) -> Engine {
    let store = Arc::new(db.open().await);
    engine::connections::connect(&store, "default", base_url, DEFAULT_TOKEN)
        .await
        .expect("connect");
    let engine = Engine::with_config(store, config);
    engine
        .install(&[], true, false, &engine::Actor::operator())
        .await
        .expect("install");
    engine
}

/// Each bundled workflow with inputs that page where it can (`all=true`, small pages).
async fn cases(engine: &Engine) -> Vec<(&'static str, Value)> {
    let client = engine.client("default").await.expect("client");
    let app = client
        .call(
            "getAppStoreApps",
            &obj(json!({"all_visibilities": true, "size": 1})),
            None,
        )
        .await
        .expect("apps")["items"][0]["id"]
        .clone();
    vec![
        ("list-lumos-users", json!({"all": true, "size": 40})),
        ("list-lumos-accounts", json!({"all": true, "size": 100})),
        ("list-lumos-groups", json!({"all": true, "size": 10})),
        ("list-lumos-apps", json!({"all": true, "size": 10})),
        ("list-lumos-appstore-apps", json!({"all": true, "size": 5})),
        ("get-lumos-app", json!({"app_id": app})),
        ("get-lumos-app-approvers", json!({"app_id": app})),
        (
            "list-lumos-app-requestable-permissions",
            json!({"app_id": app, "all": true, "size": 1}),
        ),
    ]
}

async fn run(engine: &Engine, id: &str, inputs: &Value) -> engine::RunOutcome {
    engine
        .run(id, &obj(inputs.clone()), RunRequest::default())
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}"))
}

/// What each fault must be reported as.
fn says(fault: Fault) -> &'static str {
    match fault {
        Fault::Html200 => "with an HTML page (text/html) titled \"Sign in to continue\"",
        Fault::WrongShape => "with a JSON object with keys data, message",
        Fault::Truncate | Fault::Reset => "broke during the request",
        Fault::SlowBody(_) => "did not answer within",
        Fault::Stale => "the answer says it is page",
        Fault::BadGateway | Fault::BadGatewayAfter => "502",
        Fault::Pass => "",
    }
}

async fn faults_fail_clearly_and_never_short(db: Db) {
    let sim = Simulator::start(SimConfig {
        size: OrgSize {
            users: 120,
            accounts_per_user: 3,
            ..OrgSize::default()
        },
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let proxy = FaultProxy::start(&sim.base_url).await;
    let engine = engine_at(&db, &proxy.base_url, quick()).await;
    let cases = cases(&engine).await;
    let mut clean = Vec::new();
    for (id, inputs) in &cases {
        let out = run(&engine, id, inputs).await;
        assert_eq!(out.status, RunStatus::Completed, "{id}: {:?}", out.error);
        clean.push(out.output.expect("output"));
    }
    let faults = [
        Fault::Html200,
        Fault::WrongShape,
        Fault::Truncate,
        Fault::Reset,
        Fault::SlowBody(Duration::from_millis(50)),
    ];
    for fault in faults {
        for ((id, inputs), want) in cases.iter().zip(&clean) {
            // From the first request, and from the second on (after a good first page); a
            // trickling body only from the first, since each attempt waits for the timeout.
            let skips: &[u64] = if matches!(fault, Fault::SlowBody(_)) {
                &[0]
            } else {
                &[0, 1]
            };
            for &skip in skips {
                proxy.fail_from(proxy.requests() + 1 + skip, fault);
                let out = run(&engine, id, inputs).await;
                proxy.heal();
                match out.status {
                    RunStatus::Failed => {
                        let error = out.error.unwrap_or_default();
                        assert!(
                            error.contains(says(fault)),
                            "{id} under {fault:?} (skip {skip}): {error}"
                        );
                        assert!(
                            error.contains("gave up after 3 attempts"),
                            "{id} under {fault:?}: reads are retried: {error}"
                        );
                        assert!(!error.contains(DEFAULT_TOKEN), "{error}");
                    }
                    RunStatus::Completed => {
                        // Only a workflow that was done before the fault began may complete,
                        // and then with exactly the clean answer.
                        assert_eq!(
                            skip, 1,
                            "{id} completed under {fault:?} from its first request"
                        );
                        assert_eq!(out.output.as_ref(), Some(want), "{id} under {fault:?}");
                    }
                    other => panic!("{id} under {fault:?}: {other}"),
                }
            }
        }
    }
    sim.stop().await;
}
both!(
    faults_fail_clearly_and_never_short,
    faults_fail_clearly_and_never_short
);

async fn a_flaky_lumos_still_gives_the_clean_answer(db: Db) {
    let size = OrgSize {
        users: 150,
        accounts_per_user: 2,
        ..OrgSize::default()
    };
    let clean_sim = Simulator::start(SimConfig {
        size: size.clone(),
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let flaky_sim = Simulator::start(SimConfig {
        size,
        fault_rate: 0.3,
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let clean_db = testkit::sqlite();
    let clean = engine_at(&clean_db, &clean_sim.base_url, EngineConfig::default()).await;
    // The default retries, only with shorter waits so the test stays quick.
    let config = EngineConfig {
        retry: RetryPolicy {
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(40),
            ..RetryPolicy::default()
        },
        ..EngineConfig::default()
    };
    // Connecting goes through the flaky simulator too: try until it verifies.
    let store = Arc::new(db.open().await);
    let mut connected = false;
    for _ in 0..20 {
        if engine::connections::connect(&store, "default", &flaky_sim.base_url, DEFAULT_TOKEN)
            .await
            .is_ok()
        {
            connected = true;
            break;
        }
    }
    assert!(connected, "the connection verifies within 20 tries");
    let flaky = Engine::with_config(store, config);
    flaky
        .install(&[], true, false, &engine::Actor::operator())
        .await
        .expect("install");
    let cases = cases(&clean).await;
    // Links carry each simulator's address; everything else must match to the byte.
    let text = |out: &engine::RunOutcome, base: &str| {
        serde_json::to_string(&out.output)
            .unwrap_or_default()
            .replace(base, "LUMOS")
    };
    for (id, inputs) in &cases {
        let want = text(&run(&clean, id, inputs).await, &clean_sim.base_url);
        for round in 0..10 {
            let out = run(&flaky, id, inputs).await;
            assert_eq!(
                out.status,
                RunStatus::Completed,
                "{id}, round {round}: {:?}",
                out.error
            );
            assert!(
                text(&out, &flaky_sim.base_url) == want,
                "{id}, round {round}: the answer differs from the clean one"
            );
        }
    }
    clean_sim.stop().await;
    flaky_sim.stop().await;
}
both!(
    a_flaky_lumos_still_gives_the_clean_answer,
    a_flaky_lumos_still_gives_the_clean_answer
);

/// A stale cache in front of Lumos answers every page after the first with an earlier page:
/// a walk refuses it, saying what came back, and no listing completes with items repeated
/// and others missing.
async fn a_stale_page_never_makes_a_listing(db: Db) {
    let sim = Simulator::start(SimConfig::default()).await.expect("sim");
    let proxy = FaultProxy::start(&sim.base_url).await;
    let engine = engine_at(&db, &proxy.base_url, quick()).await;
    for (id, inputs) in cases(&engine).await {
        if inputs.get("all").is_none() {
            continue;
        }
        let before = proxy.requests();
        let clean = run(&engine, id, &inputs).await;
        assert_eq!(
            clean.status,
            RunStatus::Completed,
            "{id}: {:?}",
            clean.error
        );
        let requests = proxy.requests() - before;
        let pages = clean.output_info.as_ref().map_or(0, |i| i.items);
        // From the second request of the walk on, every page is the first one again.
        proxy.fail_from(proxy.requests() + 2, Fault::Stale);
        let out = run(&engine, id, &inputs).await;
        proxy.heal();
        match out.status {
            RunStatus::Failed => {
                let error = out.error.unwrap_or_default();
                assert!(
                    error.contains("the answer says it is page")
                        || error.contains("begins with the same item as page"),
                    "{id}: {error}"
                );
            }
            // Only a run that makes one request, which has no second page to go stale,
            // completes.
            RunStatus::Completed => {
                assert_eq!(requests, 1, "{id} completed under a stale cache");
                assert_eq!(out.output_info.map(|i| i.items), Some(pages), "{id}");
            }
            other => panic!("{id}: {other}"),
        }
    }
    sim.stop().await;
}
both!(
    a_stale_page_never_makes_a_listing,
    a_stale_page_never_makes_a_listing
);
