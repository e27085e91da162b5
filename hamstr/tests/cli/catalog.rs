//! The catalog of ready-made APIs and `hamstr extract`: each API against fixtures shaped as its
//! public documentation describes (paging, auth, records path), run-time parameters from
//! `--set`, positional arguments and the environment, and the unified interface over a
//! definition.

use std::path::Path;

use futures_util::TryStreamExt;
use hamstr::{
    config::{ParameterValues, catalog},
    testing::{Collection, LinkStyle, MockApi, MockAuth, MockResponse, Paging},
};
use serde_json::{Value, json};

use super::{hamstr, text};

const TOKEN: &str = "catalog_t0ken_that_must_never_show";

/// The JSON lines `hamstr extract` wrote.
fn lines(stdout: &[u8]) -> Vec<Value> {
    text(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("every stdout line is a JSON object"))
        .collect()
}

/// Runs `hamstr extract ARGS` in `dir`; asserts the token shows nowhere in what it printed.
async fn extract(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut all = vec!["extract"];
    all.extend_from_slice(args);
    let output = hamstr(dir, &all, env).await;
    for printed in [&output.stdout, &output.stderr] {
        assert!(!text(printed).contains(TOKEN), "the token was printed");
    }
    output
}

fn cursor(param: &str) -> Paging {
    Paging::CursorToken {
        param: param.to_owned(),
        token_field: param.to_owned(),
    }
}

/// One API of the catalog, served by the mock as its documentation describes it.
struct Case {
    api: &'static str,
    args: &'static [&'static str],
    path: &'static str,
    records: Vec<Value>,
    /// How the mock pages them.
    shape: fn(Collection) -> Collection,
    auth: Option<MockAuth>,
    env: Vec<(&'static str, String)>,
    /// The field of an output line that holds the fixture's id.
    id_column: &'static str,
}

fn records(count: usize, make: impl Fn(usize) -> Value) -> Vec<Value> {
    (1..=count).map(make).collect()
}

fn cases(api: &MockApi) -> Vec<Case> {
    let url = api.url();
    let bearer = || Some(MockAuth::bearer(TOKEN));
    let basic = || Some(MockAuth::basic("me@example.com", TOKEN));
    vec![
        Case {
            api: "github",
            args: &["repos", "rust-lang"],
            path: "/users/rust-lang/repos",
            records: records(
                130,
                |id| json!({"id": id, "full_name": format!("rust-lang/r{id}"), "html_url": format!("https://github.com/rust-lang/r{id}"), "created_at": "2020-01-01T00:00:00Z", "stargazers_count": id}),
            ),
            shape: |collection| collection.paging(Paging::link_header()).records_at(""),
            auth: bearer(),
            env: vec![
                ("GITHUB_API_URL", url.clone()),
                ("GITHUB_TOKEN", TOKEN.to_owned()),
            ],
            id_column: "id",
        },
        Case {
            api: "crates_io",
            args: &["versions", "serde"],
            path: "/crates/serde/versions",
            records: records(
                230,
                |id| json!({"id": id, "crate": "serde", "num": format!("1.0.{id}"), "dl_path": "/x", "created_at": "2020-01-01T00:00:00Z", "downloads": 5, "yanked": false}),
            ),
            shape: |collection| {
                collection
                    .paging(Paging::page_number().total("meta.total"))
                    .records_at("versions")
            },
            auth: None,
            env: vec![("CRATES_IO_URL", url.clone())],
            id_column: "id",
        },
        Case {
            api: "mollie",
            args: &["payments"],
            path: "/payments",
            records: records(
                60,
                |id| json!({"id": format!("tr_{id:03}"), "description": "order", "createdAt": "2024-01-01T00:00:00Z", "status": "paid", "amount": {"value": "1.00", "currency": "EUR"}}),
            ),
            shape: |collection| {
                collection
                    .paging(Paging::next_link(LinkStyle::Absolute))
                    .records_at("_embedded.payments")
            },
            auth: bearer(),
            env: vec![
                ("MOLLIE_API_URL", url.clone()),
                ("MOLLIE_API_KEY", TOKEN.to_owned()),
            ],
            id_column: "id",
        },
        Case {
            api: "stripe",
            args: &["charges"],
            path: "/charges",
            records: records(
                140,
                |id| json!({"id": format!("ch_{id:04}"), "created": 1_700_000_000 + id, "amount": 100, "currency": "eur", "status": "succeeded"}),
            ),
            shape: |collection| collection.paging(Paging::has_more()).records_at("data"),
            auth: bearer(),
            env: vec![
                ("STRIPE_API_URL", url.clone()),
                ("STRIPE_API_KEY", TOKEN.to_owned()),
            ],
            id_column: "id",
        },
        Case {
            api: "oura",
            args: &["activity"],
            path: "/daily_activity",
            records: records(
                45,
                |id| json!({"id": format!("a{id}"), "day": format!("2021-01-{:02}", id % 28 + 1), "score": 80, "steps": 9000}),
            ),
            shape: |collection| {
                collection
                    .paging(cursor("next_token"))
                    .page_size(20)
                    .records_at("data")
            },
            auth: bearer(),
            env: vec![
                ("OURA_API_URL", url.clone()),
                ("OURA_PAT", TOKEN.to_owned()),
                ("start", "2021-01-01".to_owned()),
            ],
            id_column: "id",
        },
        Case {
            api: "greenhouse",
            args: &["jobs", "acme"],
            path: "/boards/acme/jobs",
            records: records(
                12,
                |id| json!({"id": id, "title": format!("Engineer {id}"), "absolute_url": format!("https://boards.greenhouse.io/acme/jobs/{id}"), "updated_at": "2024-01-01T00:00:00Z", "location": {"name": "Remote"}}),
            ),
            shape: |collection| collection.records_at("jobs"),
            auth: None,
            env: vec![("GREENHOUSE_API_URL", url.clone())],
            id_column: "id",
        },
        Case {
            api: "jira",
            args: &["issues", "project = ABC"],
            path: "/rest/api/3/search/jql",
            records: records(
                75,
                |id| json!({"id": id.to_string(), "key": format!("ABC-{id}"), "self": format!("https://x.atlassian.net/rest/api/3/issue/{id}"), "fields": {"summary": format!("issue {id}"), "created": "2024-01-01T00:00:00.000+0000", "status": {"name": "Open"}}}),
            ),
            shape: |collection| {
                collection
                    .paging(cursor("nextPageToken"))
                    .page_size(30)
                    .records_at("issues")
            },
            auth: basic(),
            env: vec![
                ("JIRA_BASE_URL", url.clone()),
                ("JIRA_EMAIL", "me@example.com".to_owned()),
                ("JIRA_API_TOKEN", TOKEN.to_owned()),
            ],
            id_column: "id",
        },
        Case {
            api: "confluence",
            args: &["pages"],
            path: "/wiki/api/v2/pages",
            records: records(
                130,
                |id| json!({"id": id.to_string(), "title": format!("page {id}"), "createdAt": "2024-01-01T00:00:00.000Z", "_links": {"webui": format!("/spaces/X/pages/{id}")}, "version": {"number": 1}}),
            ),
            shape: |collection| {
                collection
                    .paging(Paging::NextLink {
                        field: "_links.next".to_owned(),
                        style: LinkStyle::HostRelative,
                        page_param: "cursor".to_owned(),
                        size_param: "limit".to_owned(),
                    })
                    .page_size(25)
                    .records_at("results")
            },
            auth: basic(),
            env: vec![
                ("CONFLUENCE_BASE_URL", url.clone()),
                ("CONFLUENCE_EMAIL", "me@example.com".to_owned()),
                ("CONFLUENCE_API_TOKEN", TOKEN.to_owned()),
            ],
            id_column: "id",
        },
    ]
}

/// Each API of the catalog, run with `hamstr extract` against fixtures of its paging, records
/// path and auth: every record once, with the common attributes, and no token printed.
#[tokio::test(flavor = "multi_thread")]
async fn every_catalog_api_extracts_every_page_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let probe = MockApi::start().await;
    let names: Vec<&str> = cases(&probe).iter().map(|case| case.api).collect();
    // S3 answers in XML and is tested against a real S3-compatible server (`s3.rs`).
    let listed: Vec<&str> = catalog::apis()
        .iter()
        .map(catalog::Api::name)
        .filter(|name| *name != "s3")
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, listed, "every catalog API has a fixture here");
    for index in 0..names.len() {
        // A server of its own per API: requests are counted per API.
        let api = MockApi::start().await;
        let case = cases(&api).remove(index);
        let expected: Vec<String> = case
            .records
            .iter()
            .map(|record| record["id"].to_string())
            .collect();
        api.route(
            case.path,
            (case.shape)(Collection::new(case.records.clone())),
        );
        if let Some(auth) = case.auth.clone() {
            api.require_auth(auth);
        }
        let env: Vec<(&str, &str)> = case
            .env
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        let mut args = vec![case.api];
        args.extend_from_slice(case.args);
        let output = extract(dir.path(), &args, &env).await;
        assert!(
            output.status.success(),
            "{}: {}",
            case.api,
            text(&output.stderr)
        );
        let lines = lines(&output.stdout);
        let mut ids: Vec<String> = lines
            .iter()
            .map(|line| line[case.id_column].to_string())
            .collect();
        ids.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(ids, expected, "{}: every record once", case.api);
        for line in &lines {
            let object = line.as_object().expect("an object");
            assert!(object.contains_key("created_at"), "{}: {line}", case.api);
        }
        assert!(
            api.requests(case.path).len() >= 2 || case.api == "greenhouse",
            "{}: paged",
            case.api
        );
        // A credential the API refuses: exit 1, the API's refusal named, no credential shown.
        if case.auth.is_some() {
            const WRONG: &str = "wrong-credential-never-shown";
            let wrong: Vec<(&str, &str)> = env
                .iter()
                .map(|(name, value)| (*name, if *value == TOKEN { WRONG } else { *value }))
                .collect();
            let before = api.requests(case.path).len();
            let output = extract(dir.path(), &args, &wrong).await;
            assert_eq!(
                output.status.code(),
                Some(1),
                "{}: {}",
                case.api,
                text(&output.stderr)
            );
            let stderr = text(&output.stderr);
            assert!(
                stderr.contains("refused the credentials"),
                "{}: {stderr}",
                case.api
            );
            assert!(!stderr.contains(WRONG) && !text(&output.stdout).contains(WRONG));
            assert_eq!(
                api.requests(case.path).len(),
                before + 1,
                "{}: not retried",
                case.api
            );
        }
    }
}

/// `github traffic REPO views` is the collector `traffic_views` with REPO: the words of the
/// tools hamstr replaces. The repository keeps its slash in the path.
#[tokio::test(flavor = "multi_thread")]
async fn extract_takes_a_collector_written_around_its_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let api = MockApi::start().await;
    let days = records(
        14,
        |day| json!({"timestamp": format!("2024-01-{day:02}T00:00:00Z"), "count": day, "uniques": 1}),
    );
    api.route(
        "/repos/dacort/cargo-crates/traffic/views",
        MockResponse::json(json!({"count": 105, "uniques": 14, "views": days})),
    );
    api.require_auth(MockAuth::bearer(TOKEN));
    let env = [
        ("GITHUB_API_URL", api.url()),
        ("GITHUB_TOKEN", TOKEN.to_owned()),
    ];
    let env: Vec<(&str, &str)> = env
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let output = extract(
        dir.path(),
        &[
            "github",
            "traffic",
            "dacort/cargo-crates",
            "views",
            "--envelope",
        ],
        &env,
    )
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let lines = lines(&output.stdout);
    assert_eq!(lines.len(), 14);
    for line in &lines {
        assert_eq!(line["collector"], "github/traffic_views", "{line}");
        assert!(line["record"]["count"].is_number(), "{line}");
    }
    // Into a file instead of stdout: the same lines, and nothing on stdout.
    let output = extract(
        dir.path(),
        &[
            "github",
            "traffic_views",
            "dacort/cargo-crates",
            "--output",
            "views.jsonl",
        ],
        &env,
    )
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(output.stdout.is_empty());
    let written = std::fs::read(dir.path().join("views.jsonl")).unwrap();
    assert_eq!(self::lines(&written).len(), 14);
}

/// Parameters from `--set`, positional arguments and the environment reach the requests; a
/// missing, malformed or unknown one stops the run with exit code 2 before any request, naming
/// it. An optional parameter with no value drops its query parameter.
#[tokio::test(flavor = "multi_thread")]
async fn parameters_come_from_set_arguments_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let api = MockApi::start().await;
    api.route(
        "/daily_sleep",
        Collection::new(records(
            3,
            |id| json!({"id": format!("s{id}"), "day": "2021-01-02", "score": 70}),
        ))
        .records_at("data")
        .paging(cursor("next_token")),
    );
    api.route(
        "/repos/o/r/issues",
        Collection::new(records(3, |id| json!({"id": id, "number": id, "title": "t", "created_at": "2024-01-01T00:00:00Z"})))
            .paging(Paging::link_header())
            .records_at(""),
    );
    let url = api.url();
    let oura = [("OURA_API_URL", url.as_str()), ("OURA_PAT", TOKEN)];
    // From the environment, as `start=2021-01-01 hamstr extract oura sleep` does.
    let mut env = oura.to_vec();
    env.push(("start", "2021-01-01"));
    let output = extract(dir.path(), &["oura", "sleep"], &env).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let sent = api.requests("/daily_sleep");
    assert_eq!(sent[0].param("start_date"), Some("2021-01-01"));
    assert_eq!(
        sent[0].param("end_date"),
        None,
        "an optional parameter with no value is left out"
    );
    // `--set` wins over the environment.
    let output = extract(
        dir.path(),
        &[
            "oura",
            "sleep",
            "--set",
            "start=2022-02-02",
            "--set",
            "end=2022-03-01",
        ],
        &env,
    )
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let last = api.requests("/daily_sleep").pop().unwrap();
    assert_eq!(last.param("start_date"), Some("2022-02-02"));
    assert_eq!(last.param("end_date"), Some("2022-03-01"));
    let before = api.request_count();
    let refused: [(&[&str], &str); 5] = [
        (
            &["oura", "sleep", "--set", "start=yesterday"],
            "parameter `start` (--set start) must be a date, YYYY-MM-DD",
        ),
        (
            &["oura", "sleep", "--set", "stat=2021-01-01"],
            "no parameter is named `stat`; did you mean `start`?",
        ),
        (
            &["github", "issues", "--set", "state=open"],
            "parameter `repo` (a repository as owner/name",
        ),
        (
            &["github", "issues", "o/r", "extra"],
            "collector `issues` takes 1: repo; 2 were given",
        ),
        (
            &["github", "issues", "o/r", "--set", "state=shut"],
            "parameter `state` (--set state) must be one of open, closed, all",
        ),
    ];
    let github = [("GITHUB_API_URL", url.as_str()), ("GITHUB_TOKEN", TOKEN)];
    for (args, message) in refused {
        let env: &[(&str, &str)] = if args[0] == "oura" { &oura } else { &github };
        let output = extract(dir.path(), args, env).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert!(
            text(&output.stderr).contains(message),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    assert_eq!(
        api.request_count(),
        before,
        "nothing is sent when a parameter is wrong"
    );
    // A positional argument, and a choice.
    let output = extract(
        dir.path(),
        &["github", "issues", "o/r", "--set", "state=open"],
        &github,
    )
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(lines(&output.stdout).len(), 3);
    let sent = api.requests("/repos/o/r/issues");
    assert_eq!(sent[0].param("state"), Some("open"));
    assert_eq!(sent[0].param("since"), None);
    // `hamstr run --set` on a project of one's own.
    let project = format!(
        "parameters:\n  shop: {{required: true}}\nstorage: stdout\nservices:\n  s:\n    base_url: {url}\n    collectors:\n      /shops/{{shop}}/orders:\n        name: orders\n        model: {{id: integer}}\n"
    );
    std::fs::write(dir.path().join("hamstr.yml"), project).unwrap();
    api.route(
        "/shops/amsterdam/orders",
        MockResponse::json(json!([{"id": 1}, {"id": 2}])),
    );
    let output = hamstr(dir.path(), &["run", "hamstr.yml", "--once"], &[]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("parameter `shop` has no value, and s/orders needs it"),
        "{}",
        text(&output.stderr)
    );
    let output = hamstr(
        dir.path(),
        &["run", "hamstr.yml", "--once", "--set", "shop=amsterdam"],
        &[],
    )
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(lines(&output.stdout).len(), 2);
}

/// Every definition is a valid project (`hamstr init --from` writes it, `hamstr check` passes
/// it with its credentials set), and `hamstr catalog` lists and describes each.
#[tokio::test(flavor = "multi_thread")]
async fn every_catalog_definition_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let listing = hamstr(dir.path(), &["catalog"], &[]).await;
    assert!(listing.status.success(), "{}", text(&listing.stderr));
    for api in catalog::apis() {
        assert!(text(&listing.stdout).contains(api.name()));
        let init = hamstr(dir.path(), &["init", "--from", api.name()], &[]).await;
        assert!(init.status.success(), "{}", text(&init.stderr));
        let file = format!("{}.yml", api.name());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(&file)).unwrap(),
            api.source()
        );
        let env: Vec<(String, String)> = api
            .variables()
            .into_iter()
            .filter(|variable| !variable.is_optional)
            .map(|variable| {
                let value = if variable.name.ends_with("_URL") {
                    "https://example.atlassian.net/".to_owned()
                } else {
                    "credential".to_owned()
                };
                (variable.name, value)
            })
            .collect();
        let env: Vec<(&str, &str)> = env
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let check = hamstr(dir.path(), &["check", &file], &env).await;
        assert!(check.status.success(), "{file}: {}", text(&check.stderr));
        let shown = hamstr(dir.path(), &["catalog", api.name()], &[]).await;
        assert!(shown.status.success());
        assert!(
            text(&shown.stdout).contains("example: hamstr extract"),
            "{}",
            text(&shown.stdout)
        );
    }
    // Without its credential, a definition says which variable is missing, and where.
    let output = hamstr(dir.path(), &["extract", "mollie", "payments"], &[]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("environment variable `MOLLIE_API_KEY` is not set"),
        "{}",
        text(&output.stderr)
    );
}

/// The unified interface over a catalog definition: `list`, `search` at the API's own search
/// endpoint, and `get` at its item path, with the definition's auth.
#[tokio::test(flavor = "multi_thread")]
async fn a_catalog_definition_serves_list_search_and_get() {
    let api = MockApi::start().await;
    api.require_auth(MockAuth::bearer(TOKEN));
    let repos = records(
        5,
        |id| json!({"id": id, "full_name": format!("o/r{id}"), "created_at": "2020-01-01T00:00:00Z"}),
    );
    api.route(
        "/users/o/repos",
        Collection::new(repos)
            .paging(Paging::link_header())
            .records_at(""),
    );
    api.route(
        "/search/repositories",
        MockResponse::json(json!({"total_count": 1, "items": [{"id": 9, "full_name": "o/found"}]})),
    );
    api.route(
        "/repos/o/r2",
        MockResponse::json(json!({"id": 2, "full_name": "o/r2"})),
    );
    let url = api.url();
    let environment = |name: &str| match name {
        "GITHUB_API_URL" => Some(url.clone()),
        "GITHUB_TOKEN" => Some(TOKEN.to_owned()),
        _ => None,
    };
    let mut project = catalog::find("github")
        .unwrap()
        .project_with_env(&environment)
        .unwrap();
    project
        .bind_with_env(
            &ParameterValues::new().only(["repos"]).positional(["o"]),
            &environment,
        )
        .unwrap();
    let repos = project.endpoint("repos").unwrap();
    let listed: Vec<Value> = repos.list().try_collect().await.unwrap();
    assert_eq!(listed.len(), 5);
    let found: Vec<Value> = repos
        .search("language:rust stars:>10")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found, [json!({"id": 9, "full_name": "o/found"})]);
    let searched = api.requests("/search/repositories");
    assert_eq!(searched[0].param("q"), Some("language:rust stars:>10"));
    let one = repos.get("o/r2").await.unwrap().unwrap();
    assert_eq!(one["full_name"], "o/r2");
    assert!(
        repos.get("o/none").await.unwrap().is_none(),
        "a 404 is not found"
    );
}

/// `auth: {oauth2: ...}` in YAML: tokens from the endpoint, a 401 mid-walk healed by a fresh
/// token (every record stored once), and no secret or token in any log line, even at trace.
#[tokio::test(flavor = "multi_thread")]
async fn oauth2_in_yaml_heals_a_refused_token_and_logs_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let api = MockApi::start().await;
    api.route(
        "/orders",
        Collection::new(records(45, |id| json!({"id": id})))
            .records_at("data")
            .paging(Paging::page_number()),
    );
    api.require_oauth2(hamstr::testing::MockOAuth2::new("shop", TOKEN).uses_per_token(2));
    let url = api.url();
    let project = format!(
        "storage: stdout\nservices:\n  shop:\n    base_url: {url}\n    auth:\n      oauth2:\n        token_url: {url}oauth/token\n        client_id: shop\n        client_secret: ${{SHOP_SECRET}}\n        scopes: [orders]\n    paginator: {{type: page_number}}\n    retry: {{initial_delay: 1ms, max_delay: 5ms}}\n    records: data\n    collectors:\n      /orders:\n        model: {{id: integer}}\n"
    );
    std::fs::write(dir.path().join("hamstr.yml"), project).unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_hamstr"));
    command
        .args(["run", "hamstr.yml", "--once"])
        .current_dir(dir.path())
        .env("RUST_LOG", "hamstr=trace")
        .env("SHOP_SECRET", TOKEN);
    let output = command.output().await.unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mut ids: Vec<i64> = lines(&output.stdout)
        .iter()
        .map(|line| line["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=45).collect::<Vec<_>>(), "every record once");
    assert!(api.tokens_issued() >= 2);
    let printed = format!("{}{}", text(&output.stdout), text(&output.stderr));
    for secret in [TOKEN, "mock-access-"] {
        assert!(!printed.contains(secret), "`{secret}` was printed");
    }
}

/// `hamstr search`: every collector and file of a project searched at once, JSON lines tagged
/// with their source; a failing source named on stderr and exit status 1, the rest written.
#[tokio::test(flavor = "multi_thread")]
async fn search_writes_every_sources_matches_and_names_the_failing_one() {
    let dir = tempfile::tempdir().unwrap();
    let api = MockApi::start().await;
    api.route(
        "/jobs",
        Collection::new(vec![
            json!({"id": 1, "title": "Rust engineer"}),
            json!({"id": 2, "title": "Cook"}),
        ]),
    );
    api.route("/broken", MockResponse::text(500, "down"));
    std::fs::write(
        dir.path().join("notes.csv"),
        "id,title\nn1,Rust notes\nn2,Menu\n",
    )
    .unwrap();
    let project = format!(
        "services:\n  board:\n    base_url: {}\n    records: data\n    retry: {{max_attempts: 1}}\n    collectors:\n      jobs:\n        model: {{id: integer}}\n      broken:\n        model: {{id: integer}}\nfiles:\n  notes:\n    path: notes.csv\n    key: id\n    model: {{id: string}}\n",
        api.url()
    );
    std::fs::write(dir.path().join("hamstr.yml"), project).unwrap();
    let output = hamstr(dir.path(), &["search", "hamstr.yml", "RUST"], &[]).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let mut found: Vec<(String, String)> = lines(&output.stdout)
        .iter()
        .map(|line| {
            (
                line["source"].as_str().unwrap().to_owned(),
                line["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("board/jobs".to_owned(), "Rust engineer".to_owned()),
            ("notes".to_owned(), "Rust notes".to_owned())
        ]
    );
    assert!(
        text(&output.stderr).contains("source `board/broken`"),
        "{}",
        text(&output.stderr)
    );
    let output = hamstr(
        dir.path(),
        &["search", "hamstr.yml", "rust", "--only", "jobs", "notes"],
        &[],
    )
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(lines(&output.stdout).len(), 2);
}

/// GitHub's `x-ratelimit-*` headers throttle an extract: a quota of 4 requests a window over a
/// walk of 7 pages is waited out, never exceeded.
#[tokio::test(flavor = "multi_thread")]
async fn github_extracts_wait_for_the_rate_limit_window() {
    let dir = tempfile::tempdir().unwrap();
    let api = MockApi::start().await;
    api.route(
        "/users/rust-lang/repos",
        Collection::new(records(650, |id| json!({"id": id, "full_name": format!("rust-lang/r{id}"), "created_at": "2020-01-01T00:00:00Z"})))
            .paging(Paging::link_header())
            .records_at(""),
    );
    api.rate_limit(hamstr::testing::MockRateLimit::github(
        4,
        std::time::Duration::from_secs(1),
    ));
    let env = [
        ("GITHUB_API_URL", api.url()),
        ("GITHUB_TOKEN", TOKEN.to_owned()),
    ];
    let env: Vec<(&str, &str)> = env
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let output = extract(dir.path(), &["github", "repos", "rust-lang"], &env).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(lines(&output.stdout).len(), 650);
    assert_eq!(api.requests_over_quota(), 0, "the quota was never exceeded");
}

/// Search and get through the definitions of the APIs with a native search: crates.io's `?q=`,
/// Jira's JQL, Confluence's CQL endpoint; and get at each one's item path.
#[tokio::test(flavor = "multi_thread")]
async fn catalog_searches_use_each_apis_own_search() {
    let api = MockApi::start().await;
    let url = api.url();
    api.route(
        "/crates",
        Collection::new(vec![json!({"id": "serde", "name": "serde"})])
            .paging(Paging::page_number())
            .records_at("crates"),
    );
    api.route(
        "/crates/serde",
        MockResponse::json(json!({"crate": {"id": "serde", "name": "serde"}})),
    );
    api.route(
        "/rest/api/3/search/jql",
        MockResponse::json(json!({"issues": [{"id": "10", "key": "ABC-1", "fields": {"summary": "found"}}], "isLast": true})),
    );
    api.route(
        "/rest/api/3/issue/ABC-1",
        MockResponse::json(json!({"id": "10", "key": "ABC-1"})),
    );
    api.route(
        "/wiki/rest/api/search",
        MockResponse::json(
            json!({"results": [{"title": "Roadmap", "url": "/wiki/x"}], "_links": {}}),
        ),
    );
    let environment = |name: &str| match name {
        "CRATES_IO_URL" | "JIRA_BASE_URL" | "CONFLUENCE_BASE_URL" => Some(url.clone()),
        _ => Some(TOKEN.to_owned()),
    };
    let endpoint = |api_name: &str, collector: &str| {
        let mut project = catalog::find(api_name)
            .unwrap()
            .project_with_env(&environment)
            .unwrap();
        project
            .bind_with_env(&ParameterValues::new().only([collector]), &environment)
            .unwrap();
        project.endpoint(collector).unwrap()
    };
    let crates = endpoint("crates_io", "crates");
    let found: Vec<Value> = crates.search("serialization").try_collect().await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(api.requests("/crates")[0].param("q"), Some("serialization"));
    let serde = crates.get("serde").await.unwrap().unwrap();
    assert_eq!(serde["crate"]["name"], "serde");

    let issues = endpoint("jira", "issues");
    let query = "project = ABC AND text ~ \"found\"";
    let found: Vec<Value> = issues.search(query).try_collect().await.unwrap();
    assert_eq!(found[0]["key"], "ABC-1");
    let sent = &api.requests("/rest/api/3/search/jql")[0];
    assert_eq!(sent.param("jql"), Some(query));
    assert!(sent.header("authorization").unwrap().starts_with("Basic "));
    assert_eq!(issues.get("ABC-1").await.unwrap().unwrap()["key"], "ABC-1");

    let pages = endpoint("confluence", "pages");
    let found: Vec<Value> = pages
        .search("type = page AND text ~ roadmap")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found, [json!({"title": "Roadmap", "url": "/wiki/x"})]);
    assert_eq!(
        api.requests("/wiki/rest/api/search")[0].param("cql"),
        Some("type = page AND text ~ roadmap")
    );
}
