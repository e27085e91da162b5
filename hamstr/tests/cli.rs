//! The `hamstr` binary itself, run as a user runs it, against mock APIs on 127.0.0.1: every
//! paginator type and auth kind, every storage mode, exit codes, `check`, `init` and `mock`.
//!
//! These live in the hamstr package because only a package's own tests are told where its
//! binary is (`CARGO_BIN_EXE_hamstr`).

use std::{path::Path, process::Output};

use hamstr::testing::{Collection, Fault, LinkStyle, MockApi, MockAuth, Paging};
use serde_json::{Value, json};
use tokio::process::Command;

#[path = "cli/admin.rs"]
mod admin;
#[path = "cli/catalog.rs"]
mod catalog;
#[path = "cli/cluster.rs"]
mod cluster;
#[path = "cli/crawl.rs"]
mod crawl;
#[path = "cli/s3.rs"]
mod s3;
#[path = "cli/selection.rs"]
mod selection;

fn items(count: usize) -> Vec<Value> {
    (1..=count)
        .map(|id| json!({"id": id, "name": format!("item {id}"), "price": {"value": format!("{id}.50")}}))
        .collect()
}

/// Runs `hamstr ARGS` in `dir` with `env`, and waits for it.
async fn hamstr(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hamstr"));
    command
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "hamstr=info");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().await.expect("the hamstr binary runs")
}

/// Runs `hamstr run hamstr.yml --once` in `dir` and sends it SIGKILL once `api` has received
/// `kill_after` requests in all; whether it was killed (a run that ends first must succeed).
async fn run_killed_after(dir: &Path, api: &MockApi, kill_after: usize) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hamstr"))
        .args(["run", "hamstr.yml", "--once"])
        .current_dir(dir)
        .env("RUST_LOG", "hamstr=warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    tokio::select! {
        status = child.wait() => {
            assert!(status.unwrap().success());
            false
        }
        () = api.wait_for_requests(kill_after) => {
            child.start_kill().unwrap(); // SIGKILL
            child.wait().await.unwrap();
            true
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const MODEL: &str = "
        model:
          id: integer
          name: string
          price.value: {type: float, column: price}";

/// One mock API with a route per paging style, and a YAML service per paginator type.
fn paged_project(api: &MockApi) -> String {
    let styles = [
        (
            "page_number",
            Paging::page_number(),
            "{type: page_number, size_param: per_page, size: 10}",
        ),
        ("offset", Paging::offset(), "{type: offset, limit: 10}"),
        (
            "cursor",
            Paging::cursor_token(),
            "{type: cursor, path: next_token, param: cursor}",
        ),
        (
            "has_more",
            Paging::has_more(),
            "{type: cursor, param: starting_after, has_more_path: has_more, id_field: id}",
        ),
        (
            "json_next",
            Paging::next_link(LinkStyle::Relative),
            "{type: json_next, path: _links.next.href}",
        ),
        ("link_header", Paging::link_header(), "link_header"),
        (
            "seek",
            Paging::seek(),
            "{type: seek, size_param: limit, size: 10}",
        ),
    ];
    let mut yaml = String::from("name: paged\nservices:\n");
    for (name, paging, paginator) in styles {
        api.route(
            &format!("/{name}/items"),
            Collection::new(items(25))
                .records_at("data")
                .paging(paging)
                .page_size(10),
        );
        yaml.push_str(&format!(
            "  {name}:\n    base_url: {url}{name}/\n    records: data\n    paginator: {paginator}\n    collectors:\n      /items:\n        name: {name}{MODEL}\n",
            url = api.url()
        ));
    }
    yaml
}

/// `hamstr run --once` walks every paginator type to the end and stores every record in SQLite,
/// on its one thread and on several.
#[tokio::test(flavor = "multi_thread")]
async fn every_paginator_type_into_sqlite() {
    let api = MockApi::start().await;
    for threads in ["1", "3"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hamstr.yml"), paged_project(&api)).unwrap();
        let args = ["run", "hamstr.yml", "--once", "--threads", threads];
        let output = hamstr(dir.path(), &args, &[]).await;
        assert!(output.status.success(), "{}", text(&output.stderr));
        let db = rusqlite::Connection::open(dir.path().join("hamstr.db")).unwrap();
        for table in [
            "page_number",
            "offset",
            "cursor",
            "has_more",
            "json_next",
            "link_header",
            "seek",
        ] {
            let (count, price): (i64, f64) = db
                .query_row(
                    &format!("SELECT COUNT(*), MAX(price) FROM {table}"),
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .unwrap();
            assert_eq!((count, price), (25, 25.5), "{table} on {threads} threads");
        }
        let summary = text(&output.stdout);
        assert!(summary.contains("seek/seek"), "{summary}");
    }
}

/// Every auth kind reaches the API (which refuses requests without it), with the secret taken
/// from the environment and never printed.
#[tokio::test(flavor = "multi_thread")]
async fn every_auth_kind_with_secrets_from_the_environment() {
    let kinds = [
        (
            "bearer",
            MockAuth::bearer("s3cr3t-bearer"),
            "auth: {bearer: \"${TOKEN_BEARER}\"}",
        ),
        (
            "shorthand",
            MockAuth::bearer("s3cr3t-shorthand"),
            "api_key: ${TOKEN_SHORTHAND}",
        ),
        (
            "header",
            MockAuth::header("X-Api-Key", "s3cr3t-header"),
            "auth: {api_key: {header: X-Api-Key, value: \"${TOKEN_HEADER}\"}}",
        ),
        (
            "query",
            MockAuth::query("key", "s3cr3t-query"),
            "auth: {api_key: {query: key, value: \"${TOKEN_QUERY}\"}}",
        ),
        (
            "basic",
            MockAuth::basic("shop", "s3cr3t-basic"),
            "auth: {basic: {username: shop, password: \"${TOKEN_BASIC}\"}}",
        ),
    ];
    let mut apis = Vec::new();
    let mut yaml = String::from("services:\n");
    for (name, auth, setting) in kinds {
        let api = MockApi::start().await;
        api.require_auth(auth);
        api.route("/items", Collection::new(items(5)).records_at("data"));
        yaml.push_str(&format!(
            "  {name}:\n    base_url: {url}\n    {setting}\n    user_agent: shop-sync/{name}\n    records: data\n    collectors:\n      /items:\n        name: {name}{MODEL}\n",
            url = api.url()
        ));
        apis.push(api);
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hamstr.yml"), yaml).unwrap();
    let env = [
        ("TOKEN_BEARER", "s3cr3t-bearer"),
        ("TOKEN_SHORTHAND", "s3cr3t-shorthand"),
        ("TOKEN_HEADER", "s3cr3t-header"),
        ("TOKEN_QUERY", "s3cr3t-query"),
        ("TOKEN_BASIC", "s3cr3t-basic"),
        ("RUST_LOG", "debug"),
    ];
    let output = hamstr(
        dir.path(),
        &["run", "hamstr.yml", "--once", "--storage", "jsonl://out"],
        &env,
    )
    .await;
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    for name in ["bearer", "shorthand", "header", "query", "basic"] {
        let lines =
            std::fs::read_to_string(dir.path().join("out").join(format!("{name}.jsonl"))).unwrap();
        assert_eq!(lines.lines().count(), 5, "{name}");
    }
    for (api, name) in apis
        .iter()
        .zip(["bearer", "shorthand", "header", "query", "basic"])
    {
        let requests = api.requests("/items");
        assert_eq!(requests.len(), 1);
        assert_eq!(
            requests[0].header("user-agent"),
            Some(format!("shop-sync/{name}").as_str())
        );
    }
    assert!(
        !stdout.contains("s3cr3t") && !stderr.contains("s3cr3t"),
        "{stdout}\n{stderr}"
    );
}

/// `--storage stdout`: JSON lines on stdout and nothing else; logs and the summary on stderr.
#[tokio::test(flavor = "multi_thread")]
async fn stdout_storage_writes_only_json_lines() {
    let api = MockApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hamstr.yml"), paged_project(&api)).unwrap();
    let output = hamstr(
        dir.path(),
        &["run", "hamstr.yml", "--once", "--storage", "stdout"],
        &[],
    )
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("every stdout line is a JSON object"))
        .collect();
    assert_eq!(lines.len(), 7 * 25);
    assert!(text(&output.stderr).contains("run finished"));
    assert!(!dir.path().join("hamstr.db").exists());
}

/// `--storage stdout+envelope`: each line names the collector and model its record came from,
/// so one stream of seven collectors can be told apart.
#[tokio::test(flavor = "multi_thread")]
async fn stdout_envelopes_name_each_records_collector() {
    let api = MockApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hamstr.yml"), paged_project(&api)).unwrap();
    let output = hamstr(
        dir.path(),
        &[
            "run",
            "hamstr.yml",
            "--once",
            "--storage",
            "stdout+envelope",
        ],
        &[],
    )
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mut per_collector: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for line in text(&output.stdout).lines() {
        let line: Value = serde_json::from_str(line).expect("every stdout line is a JSON object");
        let collector = line["collector"].as_str().expect("a collector").to_owned();
        let model = line["model"].as_str().expect("a model");
        assert_eq!(collector, format!("{model}/{model}"), "{line}");
        per_collector
            .entry(collector)
            .or_default()
            .push(line["record"]["id"].as_i64().expect("the record"));
    }
    assert_eq!(per_collector.len(), 7, "{per_collector:?}");
    for ids in per_collector.values() {
        let mut ids = ids.clone();
        ids.sort_unstable();
        assert_eq!(ids, (1..=25).collect::<Vec<_>>());
    }
}

/// `--storage memory` keeps nothing on disk, and a failing collector makes the exit status 1
/// while the others' records are still collected; the summary names what failed and why.
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_collector_exits_1_and_the_summary_says_why() {
    let api = MockApi::start().await;
    // The offset service tries twice, quickly; its 503 lasts longer than that.
    let yaml = paged_project(&api).replace(
        "  offset:\n",
        "  offset:\n    retry: {max_attempts: 2, initial_delay: 1ms, max_delay: 2ms}\n",
    );
    api.inject("/offset/items", Fault::Status(503), 2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hamstr.yml"), yaml).unwrap();
    let output = hamstr(
        dir.path(),
        &["run", "hamstr.yml", "--once", "--storage", "memory"],
        &[],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    let summary = text(&output.stdout);
    assert!(summary.contains("offset/offset"), "{summary}");
    assert!(summary.contains("503"), "{summary}");
    assert!(summary.contains("after 2 attempts"), "{summary}");
    assert!(summary.contains("┆ 25 "), "{summary}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// `hamstr check` reports every problem with file:line:column and exits 2; a file with errors
/// never starts a run.
#[tokio::test(flavor = "multi_thread")]
async fn check_reports_every_error_with_its_place() {
    let api = MockApi::start().await;
    api.route("/items", Collection::new(items(5)).records_at("data"));
    let dir = tempfile::tempdir().unwrap();
    let broken = format!(
        "services:\n  shop:\n    base_url: {}\n    paginatr: page_number\n    collectors:\n      /items:\n        interval: 5\n        model: {{id: integer, name: text}}\n",
        api.url()
    );
    std::fs::write(dir.path().join("broken.yml"), broken).unwrap();
    for command in ["check", "run"] {
        let output = hamstr(dir.path(), &[command, "broken.yml"], &[]).await;
        assert_eq!(output.status.code(), Some(2), "{command}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains("broken.yml:4:5"), "{stderr}");
        assert!(stderr.contains("did you mean `paginator`"), "{stderr}");
        assert!(stderr.contains("broken.yml:7:19"), "{stderr}");
        assert!(stderr.contains("broken.yml:8:36"), "{stderr}");
    }
    assert_eq!(api.request_count(), 0);
}

/// `hamstr init` writes a starter that runs as is against `hamstr mock`, and so does the
/// design notes' example, `examples/hamstr.yml`: into SQLite, and into PostgreSQL.
#[tokio::test(flavor = "multi_thread")]
async fn the_starter_from_init_and_the_example_run_against_hamstr_mock() {
    let dir = tempfile::tempdir().unwrap();
    let output = hamstr(dir.path(), &["init"], &[]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let again = hamstr(dir.path(), &["init"], &[]).await;
    assert_eq!(again.status.code(), Some(1), "init does not overwrite");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hamstr.yml");
    std::fs::copy(example, dir.path().join("example.yml")).unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut mock = Command::new(env!("CARGO_BIN_EXE_hamstr"))
        .args(["mock", "--port", &port.to_string()])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The mock prints its address once it listens.
    let mut stdout = tokio::io::BufReader::new(mock.stdout.take().unwrap());
    let mut line = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut stdout, &mut line)
        .await
        .unwrap();
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");

    let url = format!("http://127.0.0.1:{port}");
    let env = [("HAMSTR_DEMO_URL", url.as_str())];
    let output = hamstr(dir.path(), &["run", "hamstr.yml", "--once"], &env).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let db = rusqlite::Connection::open(dir.path().join("hamstr.db")).unwrap();
    let count = |table: &str| -> i64 {
        db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .unwrap()
    };
    assert_eq!(count("payments"), 120);
    assert_eq!(count("orders"), 75);

    let env = [("MOLLIE_URL", url.as_str())];
    let output = hamstr(
        dir.path(),
        &[
            "run",
            "example.yml",
            "--once",
            "--storage",
            "sqlite://example.db",
        ],
        &env,
    )
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let db = rusqlite::Connection::open(dir.path().join("example.db")).unwrap();
    let resources: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM payments WHERE resource = 'payment'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(resources, 120);

    // Both again into PostgreSQL, each into a database of its own.
    for (file, env, tables) in [
        (
            "hamstr.yml",
            ("HAMSTR_DEMO_URL", url.as_str()),
            &[("payments", "120"), ("orders", "75")][..],
        ),
        (
            "example.yml",
            ("MOLLIE_URL", url.as_str()),
            &[("payments", "120")][..],
        ),
    ] {
        let database = hamstr::testing::scratch_database("examples").await.unwrap();
        let output = hamstr(
            dir.path(),
            &["run", file, "--once", "--storage", &database],
            &[env],
        )
        .await;
        assert!(output.status.success(), "{file}: {}", text(&output.stderr));
        for (table, count) in tables {
            assert_eq!(
                psql(&database, &format!("SELECT count(*) FROM {table}")),
                [*count],
                "{file}: {table}"
            );
        }
    }
    mock.kill().await.unwrap();
}

/// An item with a creation and an update time `id` seconds into 2026.
fn timed_item(id: u64) -> Value {
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
    let at = (start + chrono::Duration::seconds(id as i64))
        .to_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({"id": id, "created_at": at, "updated_at": at, "name": format!("item {id}")})
}

fn timed_items(ids: std::ops::RangeInclusive<u64>) -> Vec<Value> {
    ids.map(timed_item).collect()
}

/// One route per strategy (seek, stop_when_seen over a newest-first listing, cursor_field,
/// full_refresh) holding `count` items, and a project with a collector for each, in `storage`.
fn strategies_project(api: &MockApi, count: u64, storage: &str) -> String {
    let routes = [
        (
            "seek",
            Collection::new(timed_items(1..=count)).paging(Paging::seek()),
            "{type: seek, size_param: limit, size: 5}",
            "{strategy: seek, param: from, id_field: id}",
        ),
        (
            "newest",
            Collection::new(timed_items(1..=count))
                .paging(Paging::page_number())
                .newest_first(true),
            "{type: page_number, size_param: per_page, size: 5}",
            "{strategy: stop_when_seen, field: created_at}",
        ),
        (
            "since",
            Collection::new(timed_items(1..=count))
                .paging(Paging::page_number())
                .since("since", "updated_at"),
            "{type: page_number, size_param: per_page, size: 5}",
            "{strategy: cursor_field, field: updated_at, param: since, lookback: 2s}",
        ),
        (
            "full",
            Collection::new(timed_items(1..=count)).paging(Paging::page_number()),
            "{type: page_number, size_param: per_page, size: 5}",
            "{strategy: full_refresh}",
        ),
    ];
    let mut yaml = format!("name: strategies\nstorage: {storage}\nservices:\n");
    for (name, collection, paginator, incremental) in routes {
        api.route(
            &format!("/{name}/items"),
            collection.records_at("data").page_size(5),
        );
        yaml.push_str(&format!(
            "  {name}:\n    base_url: {url}{name}/\n    records: data\n    paginator: {paginator}\n    collectors:\n      /items:\n        name: {name}\n        incremental: {incremental}\n        model: {{id: integer, created_at: datetime, updated_at: datetime, name: string}}\n",
            url = api.url()
        ));
    }
    yaml
}

const STRATEGY_ROUTES: [&str; 4] = ["seek", "newest", "since", "full"];

/// The lines `psql` prints for `sql` against the database at `url`.
fn psql(url: &str, sql: &str) -> Vec<String> {
    let output = std::process::Command::new("psql")
        .args([url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql (the PostgreSQL client) is installed");
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout).lines().map(str::to_owned).collect()
}

/// The stored ids of `table`, one per row (per line in JSON Lines), sorted.
fn stored_ids(dir: &Path, storage: &str, table: &str) -> Vec<u64> {
    let mut ids: Vec<u64> = if storage.starts_with("postgres") {
        psql(storage, &format!("SELECT id FROM \"{table}\""))
            .iter()
            .map(|id| id.parse().unwrap())
            .collect()
    } else if storage.starts_with("sqlite") {
        let db = rusqlite::Connection::open(dir.join("hamstr.db")).unwrap();
        let mut statement = db.prepare(&format!("SELECT id FROM {table}")).unwrap();
        statement
            .query_map([], |row| row.get::<_, i64>(0))
            .unwrap()
            .map(|id| id.unwrap().try_into().unwrap())
            .collect()
    } else {
        line_ids(
            &std::fs::read_to_string(dir.join("out").join(format!("{table}.jsonl")))
                .unwrap_or_default(),
        )
    };
    ids.sort_unstable();
    ids
}

/// The `id` of each JSON line of `text`, in order.
fn line_ids(text: &str) -> Vec<u64> {
    text.lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

/// `--state FILE` with records on stdout, for `run` and `extract`: the next process goes on
/// where the last one stopped and writes only what is new. A storage that keeps its own state
/// refuses it, before any request.
#[tokio::test(flavor = "multi_thread")]
async fn stdout_runs_go_on_from_a_state_file() {
    let api = MockApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let project = strategies_project(&api, 12, "stdout");
    std::fs::write(dir.path().join("hamstr.yml"), project).unwrap();
    let serve = |count: u64| {
        api.route(
            "/seek/items",
            Collection::new(timed_items(1..=count))
                .paging(Paging::seek())
                .records_at("data")
                .page_size(5),
        );
    };
    let ids = |output: &Output| -> Vec<u64> {
        assert!(output.status.success(), "{}", text(&output.stderr));
        line_ids(&text(&output.stdout))
    };
    let run = [
        "run",
        "hamstr.yml",
        "--once",
        "--only",
        "seek",
        "--state",
        "run.json",
    ];
    assert_eq!(
        ids(&hamstr(dir.path(), &run, &[]).await),
        Vec::from_iter(1..=12)
    );
    serve(15);
    assert_eq!(ids(&hamstr(dir.path(), &run, &[]).await), [13, 14, 15]);
    let asked = api.requests("/seek/items");
    assert_eq!(asked.last().unwrap().param("from"), Some("12"), "{asked:?}");

    let extract = ["extract", "hamstr.yml", "seek", "--state", "extract.json"];
    assert_eq!(
        ids(&hamstr(dir.path(), &extract, &[]).await),
        Vec::from_iter(1..=15)
    );
    serve(17);
    assert_eq!(ids(&hamstr(dir.path(), &extract, &[]).await), [16, 17]);

    let refused = hamstr(
        dir.path(),
        &[
            "run",
            "hamstr.yml",
            "--once",
            "--storage",
            "sqlite://hamstr.db",
            "--state",
            "x.json",
        ],
        &[],
    )
    .await;
    assert_eq!(refused.status.code(), Some(2));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("--state is for records written to stdout"),
        "{stderr}"
    );
    assert!(!dir.path().join("hamstr.db").exists());
}

/// `hamstr status` shows each collector's strategy, mark and runs; `hamstr run --full` reads
/// everything once and keeps the state; `hamstr reset` forgets it, so the next run reads all.
#[tokio::test(flavor = "multi_thread")]
async fn status_backfill_and_reset() {
    let api = MockApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hamstr.yml"),
        strategies_project(&api, 12, "sqlite://hamstr.db"),
    )
    .unwrap();
    let missing = hamstr(dir.path(), &["status", "hamstr.yml"], &[]).await;
    assert_eq!(missing.status.code(), Some(1), "no database yet");
    assert!(!dir.path().join("hamstr.db").exists());
    let first = hamstr(dir.path(), &["run", "hamstr.yml", "--once"], &[]).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    let seek_requests = || api.requests("/seek/items").len();
    assert_eq!(seek_requests(), 3);

    let status = hamstr(dir.path(), &["status", "hamstr.yml"], &[]).await;
    let shown = text(&status.stdout);
    assert!(status.status.success(), "{}", text(&status.stderr));
    assert!(shown.contains("seek (from=<last id>)"), "{shown}");
    assert!(shown.contains("id = 12"), "{shown}");
    assert!(
        shown.contains("created_at = 2026-01-01T00:00:12Z"),
        "{shown}"
    );
    assert!(shown.contains("succeeded"), "{shown}");

    let backfill = hamstr(dir.path(), &["run", "hamstr.yml", "--once", "--full"], &[]).await;
    assert!(backfill.status.success(), "{}", text(&backfill.stderr));
    assert_eq!(seek_requests(), 6, "the backfill read all three pages");
    let after = hamstr(dir.path(), &["run", "hamstr.yml", "--once"], &[]).await;
    assert!(after.status.success());
    assert_eq!(seek_requests(), 7, "incremental again: one request");
    assert_eq!(
        api.requests("/seek/items").last().unwrap().param("from"),
        Some("12")
    );

    let reset = hamstr(dir.path(), &["reset", "hamstr.yml", "seek"], &[]).await;
    assert!(reset.status.success(), "{}", text(&reset.stderr));
    assert!(text(&reset.stdout).contains("seek/seek: state forgotten"));
    let unknown = hamstr(dir.path(), &["reset", "hamstr.yml", "nope"], &[]).await;
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains("seek/seek"),
        "lists the collectors"
    );
    let fresh = hamstr(dir.path(), &["run", "hamstr.yml", "--once"], &[]).await;
    assert!(fresh.status.success());
    assert_eq!(seek_requests(), 10, "after the reset, all three pages");
    let history = hamstr(dir.path(), &["status", "hamstr.yml", "--runs", "2"], &[]).await;
    let history = text(&history.stdout);
    // The two newest runs of each collector: the reset one and the one after the backfill.
    assert!(!history.contains("(backfill)"), "{history}");
    assert_eq!(
        stored_ids(dir.path(), "sqlite", "seek"),
        (1..=12).collect::<Vec<_>>()
    );
}

/// The process is killed (`kill -9`) at random points of its runs, again and again, while new
/// items keep arriving; after a last run that finishes, every strategy has stored exactly the
/// API's items, each once, in SQLite, JSON Lines and PostgreSQL, and a run with nothing new asks
/// the incremental routes for one page each.
#[tokio::test(flavor = "multi_thread")]
async fn killed_runs_lose_nothing_and_store_nothing_twice() {
    let postgres = hamstr::testing::scratch_database("killed").await.unwrap();
    for storage in ["sqlite://hamstr.db", "jsonl://out", postgres.as_str()] {
        let api = MockApi::start().await;
        let dir = tempfile::tempdir().unwrap();
        let mut count = 30_u64;
        std::fs::write(
            dir.path().join("hamstr.yml"),
            strategies_project(&api, count, storage),
        )
        .unwrap();
        // A fixed-seed generator: the kill points vary, and a failure can be replayed.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut random = |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        let mut kills = 0;
        for _ in 0..25 {
            let arriving = 1 + random(4);
            for route in STRATEGY_ROUTES {
                api.push_records(
                    &format!("/{route}/items"),
                    timed_items(count + 1..=count + arriving),
                );
            }
            count += arriving;
            let kill_after = api.request_count() + 1 + random(20) as usize;
            kills += usize::from(run_killed_after(dir.path(), &api, kill_after).await);
        }
        assert!(kills >= 12, "{storage}: only {kills} runs were killed");
        let last = hamstr(dir.path(), &["run", "hamstr.yml", "--once"], &[]).await;
        assert!(last.status.success(), "{storage}: {}", text(&last.stderr));
        let status = hamstr(dir.path(), &["status", "hamstr.yml", "--runs", "30"], &[]).await;
        for route in STRATEGY_ROUTES {
            assert_eq!(
                stored_ids(dir.path(), storage, route),
                (1..=count).collect::<Vec<_>>(),
                "{storage}: {route}\n{}\n{}\n{}",
                text(&last.stderr),
                text(&status.stdout),
                api.requests(&format!("/{route}/items"))
                    .iter()
                    .map(|request| request.url_query().to_owned())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        let before: Vec<usize> = STRATEGY_ROUTES
            .iter()
            .map(|route| api.requests(&format!("/{route}/items")).len())
            .collect();
        let idle = hamstr(dir.path(), &["run", "hamstr.yml", "--once"], &[]).await;
        assert!(idle.status.success());
        for (route, before) in STRATEGY_ROUTES.iter().zip(before).take(3) {
            let asked = api.requests(&format!("/{route}/items")).len() - before;
            assert_eq!(
                asked, 1,
                "{storage}: {route} asked {asked} pages with nothing new"
            );
        }
        let status = hamstr(dir.path(), &["status", "hamstr.yml"], &[]).await;
        assert!(status.status.success(), "{}", text(&status.stderr));
    }
}

/// A page of records that all misfit logs the first few, then one line with the count: the log
/// does not grow with the page. The run stored nothing, so it failed (exit status 1).
#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_misfits_logs_a_few_lines_and_a_count() {
    let api = MockApi::start().await;
    let misfits: Vec<Value> = (1..=500)
        .map(|id| json!({"id": format!("x{id}")}))
        .collect();
    api.route("/items", Collection::new(misfits).records_at("data"));
    let yaml = format!(
        "services:\n  s:\n    base_url: {}\n    records: data\n    collectors:\n      /items:\n        model: {{id: integer}}\n",
        api.url()
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hamstr.yml"), yaml).unwrap();
    let output = hamstr(
        dir.path(),
        &["run", "hamstr.yml", "--once", "--storage", "memory"],
        &[],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.matches("record skipped").count(), 10, "{stderr}");
    assert!(
        stderr.contains("490 more records were skipped and not logged one by one"),
        "{stderr}"
    );
    assert!(stderr.len() < 20_000, "{} bytes of log", stderr.len());
}

/// `--storage postgres://…`: a run stores into PostgreSQL and `status` reads its load history
/// there; a server that cannot be reached, a wrong password, a database that does not exist and
/// a URL with a typo each stop the run with exit status 2 before any request, naming the host
/// and database, never the password.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_storage_runs_and_bad_urls_stop_before_any_request() {
    let api = MockApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hamstr.yml"),
        strategies_project(&api, 12, "memory"),
    )
    .unwrap();
    let url = hamstr::testing::scratch_database("cli").await.unwrap();
    let (address, _) = url.split_once('?').unwrap();
    let (server, database) = address.rsplit_once('/').unwrap();
    let host = server.rsplit_once('@').unwrap().1;
    let wrong_password = url.replace(":hamstr-test@", ":not-the-password@");
    let missing_database = url.replace(&format!("/{database}?"), "/no_such_database?");
    for (storage, expected) in [
        (
            "postgres://hamstr:hamstr-test@127.0.0.1:1/shop".to_owned(),
            "127.0.0.1:1/shop",
        ),
        (wrong_password, "password authentication failed"),
        (missing_database, "\"no_such_database\" does not exist"),
        (
            "postgres://hamstr:hamstr-test@127.0.0.1:54x32/shop".to_owned(),
            "not a PostgreSQL URL",
        ),
    ] {
        let output = hamstr(
            dir.path(),
            &["run", "hamstr.yml", "--once", "--storage", &storage],
            &[],
        )
        .await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{storage}: {stderr}");
        assert!(stderr.contains(expected), "{storage}: {stderr}");
        assert!(!stderr.contains("hamstr-test"), "{stderr}");
        assert!(!stderr.contains("not-the-password"), "{stderr}");
        assert_eq!(api.request_count(), 0, "{storage}: a request was sent");
    }
    // The host and database are named in what cannot be reached.
    let unreachable = hamstr(
        dir.path(),
        &[
            "run",
            "hamstr.yml",
            "--once",
            "--storage",
            &url.replace(host, "127.0.0.1:1"),
        ],
        &[],
    )
    .await;
    assert!(
        text(&unreachable.stderr).contains(&format!("127.0.0.1:1/{database}")),
        "{}",
        text(&unreachable.stderr)
    );

    let run = hamstr(
        dir.path(),
        &["run", "hamstr.yml", "--once", "--storage", &url],
        &[],
    )
    .await;
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(
        stored_ids(dir.path(), &url, "seek"),
        (1..=12).collect::<Vec<_>>()
    );
    let status = hamstr(
        dir.path(),
        &["status", "hamstr.yml", "--storage", &url],
        &[],
    )
    .await;
    let shown = text(&status.stdout);
    assert!(status.status.success(), "{}", text(&status.stderr));
    assert!(shown.contains("id = 12"), "{shown}");
    assert!(shown.contains("succeeded"), "{shown}");
    let runs = psql(
        &url,
        "SELECT collector || ' ' || outcome || ' ' || records FROM _hamstr_runs ORDER BY id",
    );
    assert!(runs.contains(&"seek succeeded 12".to_owned()), "{runs:?}");
}

/// A project whose `items.amount` and `codes.code` have the types given.
fn typed_project(api: &MockApi, storage: &str, amount: &str, code: &str) -> String {
    format!(
        "storage: {storage}\nservices:\n  s:\n    base_url: {}\n    records: data\n    collectors:\n      /items: {{name: items, model: {{id: integer, amount: {amount}}}}}\n      /codes: {{name: codes, model: {{id: integer, code: {code}}}}}\n",
        api.url()
    )
}

/// The type of each stored value of `column`, in id order, and the values, as the store has them.
fn stored_column(dir: &Path, storage: &str, table: &str, column: &str) -> Vec<String> {
    if storage.starts_with("postgres") {
        psql(
            storage,
            &format!(
                "SELECT pg_typeof({column})::text || ' ' || {column} FROM {table} ORDER BY id"
            ),
        )
    } else {
        let db = rusqlite::Connection::open(dir.join("hamstr.db")).unwrap();
        let mut statement = db
            .prepare(&format!(
                "SELECT typeof({column}) || ' ' || {column} FROM {table} ORDER BY id"
            ))
            .unwrap();
        statement
            .query_map([], |row| row.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

/// A field whose type changed stops `run` before any request, naming the table, the field and
/// how to migrate; `migrate` prints the plan and changes nothing; `migrate --apply` runs it in
/// one transaction, which a value that does not convert rolls back whole; after it, runs go on.
/// For SQLite and PostgreSQL alike.
#[tokio::test(flavor = "multi_thread")]
async fn migrate_plans_then_applies_type_changes_in_one_transaction() {
    let postgres = hamstr::testing::scratch_database("migrate").await.unwrap();
    for storage in ["sqlite://hamstr.db", postgres.as_str()] {
        let api = MockApi::start().await;
        api.route(
            "/items",
            Collection::new(vec![
                json!({"id": 1, "amount": "10"}),
                json!({"id": 2, "amount": "20"}),
            ])
            .records_at("data"),
        );
        api.route(
            "/codes",
            Collection::new(vec![
                json!({"id": 1, "code": "7"}),
                json!({"id": 2, "code": "abc"}),
            ])
            .records_at("data"),
        );
        let dir = tempfile::tempdir().unwrap();
        let write = |amount: &str, code: &str| {
            std::fs::write(
                dir.path().join("hamstr.yml"),
                typed_project(&api, storage, amount, code),
            )
            .unwrap();
        };
        write("string", "string");
        let first = hamstr(dir.path(), &["run", "hamstr.yml", "--once"], &[]).await;
        assert!(first.status.success(), "{storage}: {}", text(&first.stderr));
        let requests = api.request_count();

        write("integer", "integer");
        let refused = hamstr(dir.path(), &["run", "hamstr.yml", "--once"], &[]).await;
        let stderr = text(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{storage}: {stderr}");
        assert!(
            stderr.contains("field `amount` changed type from string to integer"),
            "{storage}: {stderr}"
        );
        assert!(
            stderr.contains("`hamstr migrate hamstr.yml --apply` changes it"),
            "{stderr}"
        );
        assert_eq!(
            api.request_count(),
            requests,
            "no request before the refusal"
        );

        let plan = hamstr(dir.path(), &["migrate", "hamstr.yml"], &[]).await;
        let shown = text(&plan.stdout);
        assert!(plan.status.success(), "{storage}: {}", text(&plan.stderr));
        assert!(shown.contains("items: to change"), "{shown}");
        assert!(
            shown.contains("convert column `amount` from string to integer"),
            "{shown}"
        );
        assert!(shown.contains("2 table(s) to change"), "{shown}");
        let statement = if storage.starts_with("postgres") {
            "ALTER TABLE \"public\".\"items\" ALTER COLUMN \"amount\" TYPE bigint"
        } else {
            "ALTER TABLE \"_hamstr_migrating\" RENAME TO \"items\""
        };
        assert!(shown.contains(statement), "{shown}");
        assert_eq!(
            stored_column(dir.path(), storage, "items", "amount"),
            ["text 10", "text 20"],
            "{storage}: the plan changed nothing"
        );

        // `abc` cannot be an integer: nothing changes, in either table.
        let failed = hamstr(dir.path(), &["migrate", "hamstr.yml", "--apply"], &[]).await;
        let stderr = text(&failed.stderr);
        assert_eq!(failed.status.code(), Some(1), "{storage}: {stderr}");
        assert!(stderr.contains("migrating table `codes`"), "{stderr}");
        assert!(stderr.contains("abc"), "{stderr}");
        assert_eq!(
            stored_column(dir.path(), storage, "items", "amount"),
            ["text 10", "text 20"],
            "{storage}: one transaction"
        );

        write("integer", "string");
        let applied = hamstr(dir.path(), &["migrate", "hamstr.yml", "--apply"], &[]).await;
        let shown = text(&applied.stdout);
        assert!(
            applied.status.success(),
            "{storage}: {}",
            text(&applied.stderr)
        );
        assert!(shown.contains("codes: fits its model"), "{shown}");
        assert!(shown.contains("migrated 1 table(s)"), "{shown}");
        let integer = if storage.starts_with("postgres") {
            "bigint"
        } else {
            "integer"
        };
        assert_eq!(
            stored_column(dir.path(), storage, "items", "amount"),
            [format!("{integer} 10"), format!("{integer} 20")]
        );
        let again = hamstr(dir.path(), &["run", "hamstr.yml", "--once"], &[]).await;
        assert!(again.status.success(), "{storage}: {}", text(&again.stderr));
        let idle = hamstr(dir.path(), &["migrate", "hamstr.yml"], &[]).await;
        assert!(text(&idle.stdout).contains("nothing to migrate"));
    }
}

/// Processes that start at once on a new PostgreSQL database make hamstr's tables once: the
/// second waits for the first's migration, then finds nothing to do.
#[tokio::test(flavor = "multi_thread")]
async fn processes_starting_at_once_migrate_once() {
    let api = MockApi::start().await;
    api.route(
        "/items",
        Collection::new(vec![json!({"id": 1, "amount": "10"})]).records_at("data"),
    );
    api.route(
        "/codes",
        Collection::new(vec![json!({"id": 1, "code": "7"})]).records_at("data"),
    );
    let url = hamstr::testing::scratch_database("together").await.unwrap();
    let dirs: Vec<tempfile::TempDir> = (0..6).map(|_| tempfile::tempdir().unwrap()).collect();
    for dir in &dirs {
        std::fs::write(
            dir.path().join("hamstr.yml"),
            typed_project(&api, &url, "string", "string"),
        )
        .unwrap();
    }
    let runs = futures_util::future::join_all(
        dirs.iter()
            .map(|dir| hamstr(dir.path(), &["run", "hamstr.yml", "--once"], &[])),
    )
    .await;
    for run in &runs {
        assert!(run.status.success(), "{}", text(&run.stderr));
    }
    assert_eq!(
        psql(
            &url,
            "SELECT version FROM _hamstr_migrations ORDER BY version"
        ),
        ["1", "2", "3", "4"]
    );
    assert_eq!(psql(&url, "SELECT count(*) FROM items"), ["1"]);
}

/// `sqlite://file:…?mode=memory` is a file's path, not a SQLite URI: the records are kept in a
/// file of that name, not in memory and lost.
#[tokio::test(flavor = "multi_thread")]
async fn a_sqlite_path_that_looks_like_a_uri_is_a_path() {
    let api = MockApi::start().await;
    api.route("/items", Collection::new(items(5)).records_at("data"));
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "services:\n  shop:\n    base_url: {}\n    records: data\n    collectors:\n      /items:\n        name: items\n        model: {{id: integer}}\n",
        api.url()
    );
    std::fs::write(dir.path().join("hamstr.yml"), yaml).unwrap();
    let storage = "sqlite://file:kept.db?mode=memory";
    let output = hamstr(
        dir.path(),
        &["run", "hamstr.yml", "--once", "--storage", storage],
        &[],
    )
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let file = dir.path().join("file:kept.db?mode=memory");
    assert!(file.is_file(), "the database is a file of that name");
    let connection =
        rusqlite::Connection::open_with_flags(&file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let count: i64 = connection
        .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
        .unwrap();
    assert_eq!(count, 5);
}
