//! Several `hamstr run` workers on one PostgreSQL database: each collector at most once per
//! interval, spread among them; a dead worker's collectors taken over, their walks resumed; a
//! frozen worker's late commit refused.

use std::{path::Path, process::Stdio, time::Duration};

use hamstr::testing::{Collection, Fault, MockApi, Paging};
use serde_json::json;
use tokio::process::{Child, Command};

use super::{hamstr, psql, stored_ids, text};

/// A worker: `hamstr run hamstr.yml` in `dir`, its log in `dir/NAME.log`.
fn worker(dir: &Path, name: &str, lease: &str) -> Child {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    Command::new(env!("CARGO_BIN_EXE_hamstr"))
        .args(["run", "hamstr.yml", "--worker", name, "--lease", lease])
        .current_dir(dir)
        .env("RUST_LOG", "hamstr=info")
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Sends `signal` (`TERM`, `STOP`, `CONT`) to `child`.
async fn signal(child: &Child, signal: &str) {
    let pid = child.id().expect("running").to_string();
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
}

/// Stops `child` gracefully and waits for it.
async fn stop(mut child: Child) {
    signal(&child, "TERM").await;
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("a worker stops within 30 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
}

/// Waits until `condition` holds, looking every 100 ms, for at most `limit`.
async fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn log(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default()
}

/// Three workers, thirty collectors on a 2-second interval, 20 seconds: every collector ran
/// 9 to 11 times in all, never two runs at once, the work spread over all three.
#[tokio::test(flavor = "multi_thread")]
async fn three_workers_run_each_collector_once_per_interval() {
    let api = MockApi::start().await;
    let url = hamstr::testing::scratch_database("spread").await.unwrap();
    let mut yaml = format!(
        "storage: {url}\nservices:\n  s:\n    base_url: {}\n    records: data\n    collectors:\n",
        api.url()
    );
    for number in 0..30 {
        api.route(
            &format!("/c{number}"),
            Collection::new(vec![json!({"id": number})]).records_at("data"),
        );
        yaml.push_str(&format!(
            "      /c{number}: {{name: c{number}, interval: 2s, model: {{id: integer}}}}\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hamstr.yml"), yaml).unwrap();
    let workers: Vec<Child> = ["a", "b", "c"]
        .iter()
        .map(|name| worker(dir.path(), name, "5s"))
        .collect();
    // What is measured is the cluster over this time.
    tokio::time::sleep(Duration::from_secs(20)).await;
    for child in workers {
        stop(child).await;
    }
    for number in 0..30 {
        let requests = api.requests(&format!("/c{number}"));
        assert!(
            (9..=11).contains(&requests.len()),
            "c{number} ran {} times",
            requests.len()
        );
        // Runs are claimed on the schedule's ticks, 2 s apart; a run's request comes a little
        // after its claim (a worker's first run connects first, slower on a loaded machine), so
        // gaps between requests can be shorter than the interval by that much. Two runs at once
        // would be the jitter apart: under 100 ms.
        for pair in requests.windows(2) {
            let gap = pair[1].received_at - pair[0].received_at;
            assert!(
                gap >= Duration::from_millis(500),
                "c{number} ran twice within {gap:?}"
            );
        }
        assert_eq!(
            psql(&url, &format!("SELECT id FROM c{number}")),
            [number.to_string()]
        );
    }
    for name in ["a", "b", "c"] {
        let runs = log(dir.path(), name).matches("run finished").count();
        assert!(runs >= 10, "worker {name} ran only {runs} runs");
    }
    let status = hamstr(dir.path(), &["status", "hamstr.yml"], &[]).await;
    let shown = text(&status.stdout);
    assert!(status.status.success(), "{}", text(&status.stderr));
    for name in ["a", "b", "c"] {
        assert!(shown.contains(name), "{shown}");
    }
    assert!(shown.contains("last heartbeat"), "{shown}");
}

/// A project with one collector walking 10 slow pages of 5 items, on a 1-hour interval.
fn slow_walk(api: &MockApi, url: &str) -> String {
    let items: Vec<serde_json::Value> = (1..=50).map(|id| json!({"id": id})).collect();
    api.route(
        "/items",
        Collection::new(items)
            .paging(Paging::page_number())
            .page_size(5)
            .records_at("data"),
    );
    api.inject("/items", Fault::Delay(Duration::from_millis(300)), 100);
    format!(
        "storage: {url}\nservices:\n  s:\n    base_url: {}\n    records: data\n    paginator: {{type: page_number, size_param: per_page, size: 5}}\n    collectors:\n      /items: {{name: items, interval: 1h, model: {{id: integer}}}}\n",
        api.url()
    )
}

/// The pages asked for, in order.
fn pages_asked(api: &MockApi) -> Vec<String> {
    api.requests("/items")
        .iter()
        .map(|request| request.param("page").unwrap_or("1").to_owned())
        .collect()
}

/// `kill -9` of the worker mid-walk: the other takes the collector over within two lease
/// periods and goes on from the last stored page; every item is stored once.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_workers_walk_is_taken_over_and_resumed() {
    let api = MockApi::start().await;
    let url = hamstr::testing::scratch_database("takeover").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hamstr.yml"), slow_walk(&api, &url)).unwrap();
    let mut first = worker(dir.path(), "first", "2s");
    api.wait_for_requests(1).await;
    let second = worker(dir.path(), "second", "2s");
    api.wait_for_requests(4).await;
    first.start_kill().unwrap(); // SIGKILL
    first.wait().await.unwrap();
    let killed_at = std::time::Instant::now();
    let before = api.request_count();
    api.wait_for_requests(before + 1).await;
    let taken_over_in = killed_at.elapsed();
    assert!(
        taken_over_in < Duration::from_secs(4),
        "taken over after {taken_over_in:?}"
    );
    // The walk ends at page 11 (empty); wait for it, then stop.
    eventually(Duration::from_secs(20), || {
        log(dir.path(), "second").contains("run finished")
    })
    .await;
    stop(second).await;
    assert_eq!(
        stored_ids(dir.path(), &url, "items"),
        (1..=50).collect::<Vec<_>>()
    );
    let pages = pages_asked(&api);
    assert_eq!(
        pages.iter().filter(|page| *page == "1").count(),
        1,
        "resumed, not restarted: {pages:?}"
    );
    assert!(
        log(dir.path(), "second").contains("taking over"),
        "{}",
        log(dir.path(), "second")
    );
    let leases = psql(&url, "SELECT taken_over_from FROM _hamstr_leases");
    assert_eq!(leases, ["first"]);
}

/// A worker frozen (SIGSTOP) past its lease, then continued: the other worker has taken the
/// collector over; the frozen one's late commit is refused, and every item is stored once.
#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_workers_late_commit_is_refused() {
    let api = MockApi::start().await;
    let url = hamstr::testing::scratch_database("frozen").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hamstr.yml"), slow_walk(&api, &url)).unwrap();
    let first = worker(dir.path(), "first", "2s");
    api.wait_for_requests(1).await;
    let second = worker(dir.path(), "second", "2s");
    api.wait_for_requests(3).await;
    signal(&first, "STOP").await;
    // The second worker takes over and finishes the walk while the first is frozen.
    eventually(Duration::from_secs(20), || {
        log(dir.path(), "second").contains("run finished")
    })
    .await;
    signal(&first, "CONT").await;
    // The first worker's run in progress stops at its next commit, refused.
    eventually(Duration::from_secs(10), || {
        log(dir.path(), "first").contains("lease ran out")
    })
    .await;
    stop(first).await;
    stop(second).await;
    assert_eq!(
        stored_ids(dir.path(), &url, "items"),
        (1..=50).collect::<Vec<_>>()
    );
    // The state is the second worker's: a run now goes on from it, asking for nothing again.
    let outcomes = psql(&url, "SELECT outcome FROM _hamstr_runs ORDER BY id");
    assert!(outcomes.contains(&"succeeded".to_owned()), "{outcomes:?}");
    assert!(outcomes.contains(&"failed".to_owned()), "{outcomes:?}");
}

/// Routes `/a`, `/b` and `/c` of `items` records each, in pages of `page_size`, and three workers
/// (`a`, `b`, `c`, with `lease`) each running the collector of one of them, all on one service `s`
/// (with `limits`, YAML lines, or none). `prepare` is given each route's path before the
/// workers start.
fn one_collector_each(
    api: &MockApi,
    url: &str,
    items: u64,
    page_size: usize,
    limits: &str,
    lease: &str,
    prepare: impl Fn(&str),
) -> (Vec<tempfile::TempDir>, Vec<Child>) {
    let mut dirs = Vec::new();
    for route in ["a", "b", "c"] {
        let records: Vec<serde_json::Value> = (1..=items).map(|id| json!({"id": id})).collect();
        let path = format!("/{route}");
        api.route(
            &path,
            Collection::new(records)
                .paging(Paging::page_number())
                .page_size(page_size)
                .records_at("data"),
        );
        prepare(&path);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("hamstr.yml"),
            format!(
                "storage: {url}\nservices:\n  s:\n    base_url: {}\n    records: data\n{limits}    paginator: {{type: page_number, size_param: per_page, size: {page_size}}}\n    collectors:\n      /{route}: {{name: {route}, interval: 1h, model: {{id: integer}}}}\n",
                api.url()
            ),
        )
        .unwrap();
        dirs.push(dir);
    }
    let workers = dirs
        .iter()
        .zip(["a", "b", "c"])
        .map(|(dir, name)| worker(dir.path(), name, lease))
        .collect();
    (dirs, workers)
}

/// A `Retry-After` one worker gets pauses the service on every worker: three workers, each
/// walking a collector of its own on one service, send nothing while the pause holds (beyond the
/// requests already on their way), and every item is stored.
#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_seen_by_one_worker_pauses_the_service_on_all() {
    let api = MockApi::start().await;
    let url = hamstr::testing::scratch_database("pause").await.unwrap();
    let (_dirs, workers) = one_collector_each(&api, &url, 40, 2, "", "5s", |path| {
        if path == "/a" {
            api.inject(path, Fault::Delay(Duration::from_millis(100)), 4);
            let told = Fault::RetryAfter {
                status: 429,
                value: "3".to_owned(),
            };
            api.inject(path, told, 1);
        }
        api.inject(path, Fault::Delay(Duration::from_millis(100)), 100);
    });
    // Requests come after the tables are made.
    api.wait_for_requests(3).await;
    eventually(Duration::from_secs(40), || {
        psql(&url, "SELECT count(*) FROM _hamstr_runs") == ["3"]
    })
    .await;
    for child in workers {
        stop(child).await;
    }
    for route in ["a", "b", "c"] {
        assert_eq!(
            psql(&url, &format!("SELECT count(*) FROM {route}")),
            ["40"],
            "{route}"
        );
    }
    let told_at = api.requests("/a")[4].received_at;
    let during: Vec<String> = api
        .all_requests()
        .iter()
        .filter(|request| {
            let since = request.received_at.saturating_duration_since(told_at);
            request.received_at > told_at
                && since > Duration::from_millis(400)
                && since < Duration::from_millis(2600)
        })
        .map(|request| format!("{}?{}", request.path, request.url_query()))
        .collect();
    assert!(
        during.is_empty(),
        "sent while the service was paused: {during:?}"
    );
    // The others did go on before and after the pause: it was shared, not a coincidence.
    for route in ["/b", "/c"] {
        assert!(
            api.requests(route)
                .iter()
                .any(|request| request.received_at < told_at)
        );
    }
}

/// The database goes away mid-run (every connection dropped, the next ones refused, as in a
/// restart): the workers connect again and go on; every item is stored once.
#[tokio::test(flavor = "multi_thread")]
async fn workers_go_on_after_the_database_drops_their_connections() {
    let api = MockApi::start().await;
    let url = hamstr::testing::scratch_database("restart").await.unwrap();
    let (credentials, rest) = url.split_once('@').unwrap();
    let (upstream, database) = rest.split_once('/').unwrap();
    let proxy = hamstr::testing::TcpProxy::start(upstream).await.unwrap();
    let proxied = format!("{credentials}@{}/{database}", proxy.address());
    let mut yaml = format!(
        "storage: {proxied}\nservices:\n  s:\n    base_url: {}\n    records: data\n    paginator: {{type: page_number, size_param: per_page, size: 5}}\n    collectors:\n",
        api.url()
    );
    for route in ["a", "b", "c", "d"] {
        let items: Vec<serde_json::Value> = (1..=50).map(|id| json!({"id": id})).collect();
        api.route(
            &format!("/{route}"),
            Collection::new(items)
                .paging(Paging::page_number())
                .page_size(5)
                .records_at("data"),
        );
        api.inject(
            &format!("/{route}"),
            Fault::Delay(Duration::from_millis(100)),
            100,
        );
        yaml.push_str(&format!(
            "      /{route}: {{name: {route}, interval: 1h, model: {{id: integer}}}}\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hamstr.yml"), yaml).unwrap();
    let workers: Vec<Child> = ["one", "two"]
        .iter()
        .map(|name| worker(dir.path(), name, "5s"))
        .collect();
    api.wait_for_requests(12).await;
    proxy.cut(3);
    eventually(Duration::from_secs(40), || {
        psql(
            &url,
            "SELECT count(*) FROM _hamstr_runs WHERE outcome = 'succeeded'",
        ) == ["4"]
    })
    .await;
    for child in workers {
        stop(child).await;
    }
    let logs = log(dir.path(), "one") + &log(dir.path(), "two");
    assert!(
        logs.contains("trying again"),
        "the cut was not felt:\n{logs}"
    );
    for route in ["a", "b", "c", "d"] {
        assert_eq!(
            stored_ids(dir.path(), &url, route),
            (1..=50).collect::<Vec<_>>(),
            "{route}"
        );
    }
}

/// A service's `requests_per_second` holds for the cluster: three workers, each walking a
/// collector of its own on one service limited to 5 requests a second, send about 5 a second
/// together, not 15; every item is stored.
#[tokio::test(flavor = "multi_thread")]
async fn a_services_request_rate_holds_for_the_cluster() {
    let api = MockApi::start().await;
    let url = hamstr::testing::scratch_database("budget").await.unwrap();
    let limits = "    limits: {requests_per_second: 5}\n";
    let (_dirs, workers) = one_collector_each(&api, &url, 30, 1, limits, "1s", |_| {});
    api.wait_for_requests(3).await;
    eventually(Duration::from_secs(40), || {
        psql(&url, "SELECT count(*) FROM _hamstr_runs") == ["3"]
    })
    .await;
    for child in workers {
        stop(child).await;
    }
    for route in ["a", "b", "c"] {
        assert_eq!(
            psql(&url, &format!("SELECT count(*) FROM {route}")),
            ["30"],
            "{route}"
        );
    }
    // Once the workers have counted each other (within a second): about 5 a second in all.
    let requests = api.all_requests();
    let first = requests[0].received_at;
    let window = |request: &&hamstr::testing::ReceivedRequest| {
        let since = request.received_at.saturating_duration_since(first);
        since >= Duration::from_secs(2) && since < Duration::from_secs(5)
    };
    let sent = requests.iter().filter(window).count();
    assert!(
        (10..=20).contains(&sent),
        "{sent} requests in 3 seconds, for 5 a second across the cluster"
    );
}
