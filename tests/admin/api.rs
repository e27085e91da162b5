//! The collectors' and services' endpoints as a running app changes under them.

use std::{sync::Arc, time::Duration};

use hamstr::{
    CollectError, Collector, CollectorSpec, Hamstr, Model, Service,
    backend::MemoryBackend,
    collector::{CollectorSettings, Run},
    events::Event,
    state::RunOutcome,
    testing::{Collection, MockApi, MockAuth, MockRateLimit},
};
use serde_json::json;
use tokio::sync::Semaphore;

use super::{Served, mollie, next_event, payments_app, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collectors_show_each_run_as_it_happens() {
    let api = MockApi::start_demo().await;
    let store = MemoryBackend::new();
    let mut served = serve(payments_app(&api, &store)).await;
    let first = served.run_finished().await;
    assert_eq!(first.outcome, RunOutcome::Succeeded);

    let list = served.get("/api/collectors").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let collector = &list.json["collectors"][0];
    assert_eq!(collector["name"], "mollie/payments");
    assert_eq!(collector["model"], "payments");
    assert_eq!(collector["interval_seconds"], 3600.0);
    assert_eq!(collector["state"], "idle");
    assert_eq!(collector["is_running"], false);
    assert!(collector["next_run"].is_string(), "{collector}");
    assert_eq!(collector["last_run"]["outcome"], "succeeded");
    assert_eq!(collector["last_run"]["records"], 120);
    assert_eq!(collector["last_run"]["inserted"], 120);
    assert!(
        collector["source"]
            .as_str()
            .is_some_and(|source| source.ends_with("/v2/payments")),
        "{collector}"
    );

    // One collector, by its full name (the slash encoded) or by its own name.
    let one = served.get("/api/collectors/mollie%2Fpayments").await;
    assert_eq!(one.json["name"], "mollie/payments", "{}", one.text);
    assert_eq!(served.get("/api/collectors/payments").await.json, one.json);

    // A second run: the load history grows, newest first.
    assert_eq!(
        served.post("/api/collectors/payments/run").await.status,
        202
    );
    served.run_finished().await;
    let runs = served.get("/api/collectors/payments/runs?limit=5").await;
    assert_eq!(
        runs.json["runs"].as_array().map(Vec::len),
        Some(2),
        "{}",
        runs.text
    );
    assert_eq!(runs.json["runs"][0]["unchanged"], 120, "newest first");
    assert_eq!(runs.json["runs"][1]["inserted"], 120);
    let clamped = served.get("/api/collectors/payments/runs?limit=5000").await;
    assert_eq!(clamped.json["limit"], 1000);
    assert!(
        clamped.json["notice"]
            .as_str()
            .is_some_and(|notice| notice.contains("maximum"))
    );
    served
        .get("/api/collectors/payments/runs?limit=many")
        .await
        .assert_problem(400, "limit `many`");
    served
        .get("/api/collectors/nope")
        .await
        .assert_problem(404, "no collector is named `nope`");
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_now_starts_exactly_one_run() {
    let api = MockApi::start_demo().await;
    let store = MemoryBackend::new();
    let mut served = serve(payments_app(&api, &store)).await;
    served.run_finished().await;
    let before = api.requests("/v2/payments").len();
    assert_eq!(before, 3, "120 payments, 50 a page");

    let started = served.post("/api/collectors/mollie%2Fpayments/run").await;
    assert_eq!(started.status, 202, "{}", started.text);
    assert_eq!(started.json["result"], "started");
    assert_eq!(started.json["collector"], "mollie/payments");
    served.run_finished().await;
    assert_eq!(
        api.requests("/v2/payments").len(),
        before + 3,
        "one run more"
    );
    served.stop().await;
    assert_eq!(
        api.requests("/v2/payments").len(),
        before + 3,
        "and no other"
    );
}

#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "gated")]
struct Gated {
    id: i64,
}

/// A collector whose runs each wait for a permit of `gate`: a test holds a run open.
struct Gate {
    gate: Arc<Semaphore>,
}

#[hamstr::async_trait]
impl Collector for Gate {
    type Model = Gated;

    fn settings(&self) -> CollectorSettings {
        CollectorSettings::new()
            .name("gated")
            .service("local")
            .interval(Duration::from_secs(3600))
    }

    async fn collect(&self, run: &mut Run<'_, Gated>) -> Result<(), CollectError> {
        self.gate.acquire().await.expect("open").forget();
        run.set_value("seen", "yes");
        run.emit(vec![Gated { id: 1 }]).await?;
        Ok(())
    }
}

fn gated(gate: &Arc<Semaphore>) -> Hamstr {
    Hamstr::new()
        .backend(MemoryBackend::new())
        .register_service(Service::new("http://127.0.0.1:9/").name("local"))
        .add_collector(Gate {
            gate: Arc::clone(gate),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_going_on_is_said_and_not_doubled() {
    let gate = Arc::new(Semaphore::new(0));
    let mut served = serve(gated(&gate)).await;
    // The first run starts at once and waits at the gate.
    next_event(&mut served.events, |event| {
        matches!(event, Event::RunStarted { .. }).then_some(())
    })
    .await;
    let status = served.get("/api/collectors/gated").await;
    assert_eq!(status.json["state"], "running", "{}", status.text);
    assert_eq!(status.json["next_run"], serde_json::Value::Null);

    let again = served.post("/api/collectors/local%2Fgated/run").await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.json["result"], "already_running");
    served
        .post("/api/collectors/gated/reset?confirm=true")
        .await
        .assert_problem(409, "is running");

    gate.add_permits(1);
    let first = served.run_finished().await;
    assert_eq!(first.outcome, RunOutcome::Succeeded);
    assert_eq!(first.records, 1);
    // Nothing asked during the run starts afterwards: the permits stay unused.
    let listed = served.get("/api/collectors/gated/runs").await;
    assert_eq!(listed.json["runs"].as_array().map(Vec::len), Some(1));
    assert_eq!(gate.available_permits(), 0);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_holds_the_schedule_until_resume() {
    let api = MockApi::start_demo().await;
    let store = MemoryBackend::new();
    let app = Hamstr::new().backend(store.clone()).register_service(
        mollie(&api).add_collector(
            CollectorSpec::endpoint("payments")
                .model::<super::Payment>()
                .interval("100ms"),
        ),
    );
    let mut served = serve(app).await;
    served.run_finished().await;
    let paused = served.post("/api/collectors/payments/pause").await;
    assert_eq!(paused.json["result"], "paused", "{}", paused.text);
    // A run the pause met ends as usual.
    if served.get("/api/collectors/payments").await.json["is_running"] == true {
        served.run_finished().await;
    }
    let status = served.get("/api/collectors/payments").await;
    assert_eq!(status.json["state"], "paused", "{}", status.text);
    assert_eq!(status.json["next_run"], serde_json::Value::Null);
    // Four intervals go by without a run: proving an absence takes the time it covers.
    let during = api.requests("/v2/payments").len();
    let started = tokio::time::timeout(Duration::from_millis(400), async {
        loop {
            if let Some(Event::RunStarted { .. }) = served.events.next().await {
                return;
            }
        }
    })
    .await;
    assert!(started.is_err(), "a run started while paused");
    assert_eq!(api.requests("/v2/payments").len(), during);

    let resumed = served.post("/api/collectors/payments/resume").await;
    assert_eq!(resumed.json["result"], "resumed");
    // The run missed while paused starts at once.
    served.run_finished().await;
    assert!(api.requests("/v2/payments").len() > during);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_forgets_the_state_when_confirmed() {
    let gate = Arc::new(Semaphore::new(1));
    let mut served = serve(gated(&gate)).await;
    served.run_finished().await;
    let unconfirmed = served.post("/api/collectors/gated/reset").await;
    unconfirmed.assert_problem(400, "confirm=true");
    let reset = served
        .post("/api/collectors/gated/reset?confirm=true")
        .await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(reset.json["result"], "reset");
    let status = served
        .handle
        .collector_status("gated", 1)
        .await
        .expect("status");
    let state = status.state.expect("a state");
    assert!(state.values.is_empty(), "forgotten: {state:?}");
    // Its records stay.
    let rows = served.get("/api/models/gated/records").await;
    assert_eq!(rows.json["count"], 1, "{}", rows.text);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_show_the_rate_limit_and_refused_credentials_and_no_secret() {
    const SECRET: &str = "sk_live_d0_not_l3ak";
    const WRONG: &str = "sk_live_wr0ng_t0ken";
    let api = MockApi::start().await;
    let orders: Vec<_> = (1..=30)
        .map(|id| json!({"id": id, "status": "paid"}))
        .collect();
    api.route("/v1/orders", Collection::new(orders));
    api.require_auth(MockAuth::bearer(SECRET));
    api.rate_limit(MockRateLimit::github(5000, Duration::from_secs(3600)));
    let shop = Service::new(format!("{}v1/", api.url()))
        .name("shop")
        .bearer_auth(hamstr::Secret::new(SECRET))
        .add_collector(CollectorSpec::endpoint("orders").model::<Order>());
    // The other service's API is one of its own, so that its refused requests do not count
    // against the first one's quota.
    let other_api = MockApi::start().await;
    other_api.route("/v1/orders", Collection::new(Vec::new()));
    other_api.require_auth(MockAuth::bearer(SECRET));
    let other = Service::new(format!("{}v1/", other_api.url()))
        .name("other")
        .bearer_auth(hamstr::Secret::new(WRONG))
        .add_collector(
            CollectorSpec::endpoint("orders")
                .name("other_orders")
                .model::<OtherOrder>(),
        );
    let app = Hamstr::new()
        .backend(MemoryBackend::new())
        .register_service(shop)
        .register_service(other);
    let mut served = serve(app).await;
    served.run_finished().await;
    served.run_finished().await;

    let services = served.get("/api/services").await;
    let by_name = |name: &str| {
        services.json["services"]
            .as_array()
            .and_then(|all| all.iter().find(|service| service["name"] == name))
            .cloned()
            .expect("the service")
    };
    let shop = by_name("shop");
    assert_eq!(shop["rate_limit"]["limit"], 5000, "{shop}");
    assert_eq!(shop["rate_limit"]["remaining"], 4999, "{shop}"); // one request sent
    assert_eq!(shop["credentials_refused"], serde_json::Value::Null);
    let other = by_name("other");
    assert!(other["credentials_refused"].is_string(), "{other}");
    let failing = served.get("/api/collectors/other%2Fother_orders").await;
    assert_eq!(failing.json["state"], "failing", "{}", failing.text);
    assert!(failing.json["last_run"]["error"].is_string());

    // No answer holds a credential: not the right one, not the wrong one.
    let mut seen = Vec::new();
    for path in [
        "/",
        "/api/collectors",
        "/api/collectors/shop%2Forders/runs",
        "/api/collectors/other%2Fother_orders",
        "/api/services",
        "/api/models",
        "/api/models/orders/records",
        "/api/models/orders/records/1",
        "/api/models/orders/records?nope=1",
        "/api/openapi.json",
        "/api/docs",
        "/metrics",
        "/ready",
    ] {
        seen.push(served.get(path).await.text);
    }
    seen.push(served.post("/api/collectors/other_orders/run").await.text);
    for text in &seen {
        assert!(
            !text.contains(SECRET) && !text.contains(WRONG),
            "a credential in: {text}"
        );
    }
    served.stop().await;
}

#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "orders")]
struct Order {
    id: i64,
    status: String,
}

#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "other_orders")]
struct OtherOrder {
    id: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness() {
    let api = MockApi::start_demo().await;
    let served = serve(payments_app(&api, &MemoryBackend::new())).await;
    let health = served.get("/health").await;
    assert_eq!(
        (health.status, health.json["status"].as_str()),
        (200, Some("ok"))
    );
    let ready = served.get("/ready").await;
    assert_eq!(
        (ready.status, ready.json["status"].as_str()),
        (200, Some("ready"))
    );
    served.get("/nowhere").await.assert_problem(404, "/nowhere");
    served
        .get("/api/collectors/payments/run")
        .await
        .assert_problem(405, "POST");
    served.stop().await;
}

/// The admin server never holds a run: a slow reader of the page and a run go on together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_never_stop_collection() {
    let api = MockApi::start_demo().await;
    let store = MemoryBackend::new();
    let mut served: Served = serve(payments_app(&api, &store)).await;
    served.run_finished().await;
    let reads = (0..20).map(|_| served.get("/api/models/payments/records?limit=1000"));
    let asked = served.post("/api/collectors/payments/run");
    let (answers, asked) = tokio::join!(futures_util::future::join_all(reads), asked);
    assert!(answers.iter().all(|answer| answer.json["count"] == 120));
    assert_eq!(asked.status, 202);
    let run = served.run_finished().await;
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    assert_eq!(store.records("payments").len(), 120);
    served.stop().await;
}

/// On a shared store the cluster endpoint lists the workers, this one marked, and who holds
/// which collector.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_shows_every_worker_and_lease() {
    let url = hamstr::testing::scratch_database("admin").await.unwrap();
    let api = MockApi::start_demo().await;
    let app = |worker: &str| {
        let store = hamstr::backend::Storage::parse(&url)
            .expect("a URL")
            .open()
            .expect("opens");
        Hamstr::new()
            .shared_backend(store)
            .worker_name(worker)
            .register_service(
                mollie(&api).add_collector(
                    CollectorSpec::endpoint("payments")
                        .model::<super::Payment>()
                        .interval("1h"),
                ),
            )
    };
    let mut first = serve(app("worker-a")).await;
    first.run_finished().await;
    let mut second = app("worker-b").start().await.expect("starts");
    // A worker is listed from its first claim: a run asked of the second one.
    let mut second_events = second.subscribe();
    second.run_now("payments").expect("asked");
    super::next_event(&mut second_events, |event| {
        matches!(event, Event::RunFinished { .. }).then_some(())
    })
    .await;
    let cluster = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let cluster = first.get("/api/cluster").await;
            if cluster.text.contains("worker-b") {
                return cluster;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("worker-b within 30 s");
    assert_eq!(cluster.json["is_shared"], true, "{}", cluster.text);
    assert_eq!(cluster.json["worker"], "worker-a");
    let workers = cluster.json["workers"].as_array().expect("workers");
    let names: Vec<&str> = workers
        .iter()
        .filter_map(|worker| worker["name"].as_str())
        .collect();
    assert!(
        names.contains(&"worker-a") && names.contains(&"worker-b"),
        "{names:?}"
    );
    assert!(
        workers
            .iter()
            .any(|worker| worker["name"] == "worker-a" && worker["is_self"] == true)
    );
    let lease = &cluster.json["leases"][0];
    assert_eq!(lease["collector"], "mollie/payments", "{}", cluster.text);
    assert_eq!(lease["claims"], 2, "a run on each worker");
    second.stop().await;
    first.stop().await;

    // A store of one process is no cluster.
    let alone = serve(payments_app(&api, &MemoryBackend::new())).await;
    let cluster = alone.get("/api/cluster").await;
    assert_eq!(cluster.json["is_shared"], false, "{}", cluster.text);
    alone.stop().await;
}

/// `/ready` says when the store does not answer, within its timeout, and again when it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_follows_the_store() {
    let url = hamstr::testing::scratch_database("ready").await.unwrap();
    let (before, after) = url.split_once('@').unwrap();
    let (upstream, rest) = after.split_once('/').unwrap();
    let proxy = hamstr::testing::TcpProxy::start(upstream).await.unwrap();
    let proxied = format!("{before}@{}/{rest}", proxy.address());
    let api = MockApi::start_demo().await;
    let store = hamstr::backend::Storage::parse(&proxied)
        .expect("a URL")
        .open()
        .expect("opens");
    let app = Hamstr::new().shared_backend(store).register_service(
        mollie(&api).add_collector(
            CollectorSpec::endpoint("payments")
                .model::<super::Payment>()
                .interval("1h"),
        ),
    );
    let admin = hamstr::admin::Admin::parse("127.0.0.1:0")
        .expect("an address")
        .ready_timeout(Duration::from_millis(300));
    let mut served = super::serve_with(app, admin).await;
    served.run_finished().await;
    assert_eq!(served.get("/ready").await.status, 200);

    proxy.cut(usize::MAX);
    let down = served.get("/ready").await;
    down.assert_problem(503, "the store did not answer within");
    assert!(
        !down.text.contains("hamstr-test"),
        "no password: {}",
        down.text
    );
    assert_eq!(
        served.get("/health").await.status,
        200,
        "the process still answers"
    );

    proxy.cut(0);
    let up = served.get("/ready").await;
    assert_eq!(up.status, 200, "{}", up.text);
    served.stop().await;
}

#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "profiles")]
struct Profile {
    #[hamstr(primary_key)]
    login: String,
}

/// A fan-out collector shows its keys, and a key can be read now: a new one (a seed) or one it
/// knows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_shows_its_keys_and_reads_one_now() {
    let api = MockApi::start().await;
    for login in ["alice", "bob"] {
        api.route(
            &format!("/users/{login}"),
            hamstr::testing::MockResponse::json(json!({"login": login})),
        );
    }
    let github = Service::new(api.url()).name("github").add_collector(
        CollectorSpec::endpoint("users/{login}")
            .records(hamstr::records::Records::object(""))
            .model::<Profile>()
            .interval("1h")
            .fan_out(hamstr::collector::FanOut::new().seeds(["alice"])),
    );
    let app = Hamstr::new()
        .backend(MemoryBackend::new())
        .register_service(github);
    let mut served = serve(app).await;
    served.run_finished().await;
    let view = served.get("/api/collectors/github%2Fprofiles").await;
    let frontier = &view.json["frontier"];
    assert_eq!(
        (frontier["known"].as_u64(), frontier["done"].as_u64()),
        (Some(1), Some(1)),
        "{}",
        view.text
    );

    let asked = served.post("/api/collectors/profiles/keys/bob").await;
    assert_eq!(asked.status, 202, "{}", asked.text);
    served.run_finished().await;
    assert_eq!(api.requests("/users/bob").len(), 1);
    assert_eq!(api.requests("/users/alice").len(), 1, "alice is not due");
    // A key it knows is read again when asked.
    assert_eq!(
        served
            .post("/api/collectors/profiles/keys/alice")
            .await
            .status,
        202
    );
    served.run_finished().await;
    assert_eq!(api.requests("/users/alice").len(), 2);
    let view = served.get("/api/collectors/profiles").await;
    assert_eq!(view.json["frontier"]["known"], 2, "{}", view.text);
    let rows = served.get("/api/models/profiles/records").await;
    assert_eq!(rows.json["count"], 2);

    // A collector that reads no keys says so.
    let gated = served.post("/api/collectors/nope/keys/x").await;
    gated.assert_problem(404, "nope");
    served.stop().await;
}
