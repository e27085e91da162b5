//! Fan-out collectors and discovery crawls: a generated follower graph crawled from one seed,
//! exactly; nothing read again until it is stale; keys that fail or are gone.

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    sync::Arc,
};

use hamstr::{
    AppError, Backend, CollectorSpec, Hamstr, Model, Service,
    backend::{MemoryBackend, Query, Storage},
    collector::FanOut,
    model::{Schema, row_to_json},
    paginate::LinkHeader,
    records::Records,
    testing::{Collection, MockApi, MockResponse, Paging},
};
use serde_json::json;

#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "users")]
pub(super) struct User {
    #[hamstr(primary_key)]
    login: String,
    id: i64,
}

#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "follows")]
pub(super) struct Follow {
    /// Who is followed: the key of the listing.
    #[hamstr(primary_key)]
    parent_login: String,
    /// The follower.
    #[hamstr(primary_key)]
    login: String,
}

/// A social graph of `count` users: user i is followed by a few others chosen by a fixed-seed
/// generator, user 0 by 120 (three pages of 50). Users that follow no one reachable stay
/// undiscovered.
pub(super) fn graph(count: usize) -> BTreeMap<String, Vec<String>> {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut random = |below: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % below as u64) as usize
    };
    let mut followers = BTreeMap::new();
    for user in 0..count {
        // Never more than there are users to follow.
        let how_many = if user == 0 { 120 } else { random(4) }.min(count * 2 / 3);
        let mut of_user = BTreeSet::new();
        while of_user.len() < how_many {
            // Only the first two thirds follow anyone: the last third is never reached.
            of_user.insert(format!("u{}", random(count * 2 / 3)));
        }
        followers.insert(format!("u{user}"), of_user.into_iter().collect());
    }
    followers
}

pub(super) fn serve(api: &MockApi, followers: &BTreeMap<String, Vec<String>>) {
    for (login, of_user) in followers {
        let id: i64 = login[1..].parse().unwrap();
        api.route(
            &format!("/users/{login}"),
            MockResponse::json(json!({"login": login, "id": id})),
        );
        let records = of_user
            .iter()
            .map(|login| json!({"login": login}))
            .collect();
        api.route(
            &format!("/users/{login}/followers"),
            Collection::new(records)
                .records_at("")
                .paging(Paging::link_header())
                .page_size(50),
        );
    }
}

/// The crawler on a clone of `github`: clones share the service's quota, as one process's
/// runs do.
fn crawler_of(github: &Service, store: &Arc<dyn Backend>, refresh: Option<&str>) -> Hamstr {
    let with_refresh = |fan_out: FanOut| match refresh {
        Some(refresh) => fan_out.refresh_after(refresh),
        None => fan_out,
    };
    let github = github
        .clone()
        .add_collector(
            CollectorSpec::endpoint("users/{login}")
                .records(Records::object(""))
                .model::<User>()
                .fan_out(with_refresh(
                    FanOut::new()
                        .seeds(["u0"])
                        .from_model("follows", "login")
                        .max_per_run(1000),
                )),
        )
        .add_collector(
            CollectorSpec::endpoint("users/{login}/followers")
                .model::<Follow>()
                .fan_out(with_refresh(
                    FanOut::new()
                        .from_model("users", "login")
                        .max_per_run(1000)
                        .concurrency(8),
                )),
        );
    Hamstr::new()
        .shared_backend(Arc::clone(store))
        .register_service(github)
}

/// Runs the crawler until a run sends no request: the crawl has stopped by itself.
async fn crawl_until_quiet(api: &MockApi, store: &Arc<dyn Backend>, refresh: Option<&str>) {
    let github = Service::new(api.url())
        .name("github")
        .paginator(LinkHeader::new());
    for _ in 0..30 {
        let before = api.request_count();
        let report = crawler_of(&github, store, refresh)
            .run_once()
            .await
            .unwrap();
        assert!(report.is_success(), "{report}");
        if api.request_count() == before {
            return;
        }
    }
    panic!("the crawl does not end");
}

/// Every stored row of `schema`'s model, as JSON.
pub(super) async fn stored(store: &Arc<dyn Backend>, schema: &Schema) -> Vec<serde_json::Value> {
    let page = store
        .query(schema, &Query::new().limit(100_000))
        .await
        .unwrap();
    page.rows
        .iter()
        .map(|row| serde_json::to_value(row_to_json(schema, row)).unwrap())
        .collect()
}

/// The logins of the stored users.
pub(super) async fn stored_users(store: &Arc<dyn Backend>) -> BTreeSet<String> {
    stored(store, &User::schema())
        .await
        .iter()
        .map(|row| row["login"].as_str().unwrap().to_owned())
        .collect()
}

/// The stored edges: (who is followed, the follower).
pub(super) async fn stored_edges(store: &Arc<dyn Backend>) -> BTreeSet<(String, String)> {
    stored(store, &Follow::schema())
        .await
        .iter()
        .map(|row| {
            let parent = row["parent_login"].as_str().unwrap().to_owned();
            (parent, row["login"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// The stores a crawl is tried on: memory, SQLite, PostgreSQL.
pub(super) async fn stores(dir: &std::path::Path) -> Vec<Arc<dyn Backend>> {
    let postgres = hamstr::testing::scratch_database("crawl").await.unwrap();
    let sqlite = format!("sqlite://{}", dir.join("crawl.db").display());
    ["memory", sqlite.as_str(), postgres.as_str()]
        .into_iter()
        .map(|url| Storage::parse(url).unwrap().open().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_finds_exactly_every_reachable_user_and_edge() {
    let followers = graph(300);
    let api = MockApi::start().await;
    serve(&api, &followers);
    // Who a crawl from u0 reaches: u0, then the followers of everyone reached.
    let mut reached = BTreeSet::from(["u0".to_owned()]);
    let mut queue = VecDeque::from(["u0".to_owned()]);
    while let Some(user) = queue.pop_front() {
        for follower in &followers[&user] {
            if reached.insert(follower.clone()) {
                queue.push_back(follower.clone());
            }
        }
    }
    assert!(
        reached.len() > 50 && reached.len() < 300,
        "{}",
        reached.len()
    );
    let expected: BTreeSet<(String, String)> = reached
        .iter()
        .flat_map(|user| {
            followers[user]
                .iter()
                .map(move |follower| (user.clone(), follower.clone()))
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()).await {
        let requests_before = api.request_count();
        crawl_until_quiet(&api, &store, None).await;
        assert_eq!(stored_users(&store).await, reached, "{store:?}");
        assert_eq!(stored_edges(&store).await, expected, "{store:?}");
        // Each profile was read once: nothing again without a refresh.
        let profiles = api.all_requests()[requests_before..]
            .iter()
            .filter(|request| !request.path.ends_with("/followers"))
            .count();
        assert_eq!(profiles, reached.len(), "{store:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_keys_are_read_again_and_only_they() {
    let api = MockApi::start().await;
    let followers: BTreeMap<String, Vec<String>> = [
        ("u0".to_owned(), vec!["u1".to_owned()]),
        ("u1".to_owned(), vec![]),
    ]
    .into();
    serve(&api, &followers);
    let store: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    crawl_until_quiet(&api, &store, Some("1s")).await;
    let read = api.request_count();
    assert_eq!(read, 4, "two profiles, two listings");
    // Proving staleness takes the time it covers.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    crawl_until_quiet(&api, &store, Some("1s")).await;
    assert_eq!(api.request_count(), read + 4, "each key once more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_and_failing_keys_do_not_stop_the_others() {
    let api = MockApi::start().await;
    api.route(
        "/users/alive",
        MockResponse::json(json!({"login": "alive", "id": 1})),
    );
    api.route("/users/gone", MockResponse::status(404));
    api.route("/users/broken", MockResponse::status(500));
    let store = MemoryBackend::new();
    let app = || {
        let github = Service::new(api.url())
            .name("github")
            .retry(hamstr::service::RetryPolicy::none())
            .add_collector(
                CollectorSpec::endpoint("users/{login}")
                    .records(Records::object(""))
                    .model::<User>()
                    .fan_out(FanOut::new().seeds(["alive", "gone", "broken", ".."])),
            );
        Hamstr::new()
            .backend(store.clone())
            .register_service(github)
    };
    let report = app().run_once().await.unwrap();
    assert!(report.is_success(), "{report}");
    assert_eq!(store.records("users").len(), 1);
    assert_eq!(api.request_count(), 3, "`..` is never sent");
    // The gone key is not asked again; the failed one waits for its backoff.
    app().run_once().await.unwrap();
    assert_eq!(api.request_count(), 3);
}

#[tokio::test]
async fn fan_outs_that_cannot_work_are_refused_before_any_request() {
    let api = MockApi::start().await;
    let app = |spec: CollectorSpec<User>| {
        Hamstr::new()
            .backend(MemoryBackend::new())
            .register_service(Service::new(api.url()).name("github").add_collector(spec))
    };
    let refused = |spec| app(spec).check().unwrap_err().to_string();
    let no_keys = refused(CollectorSpec::endpoint("users/{login}").model::<User>());
    assert!(
        no_keys.contains("placeholder {login} but nothing gives it keys"),
        "{no_keys}"
    );
    let no_placeholder = refused(
        CollectorSpec::endpoint("users")
            .model::<User>()
            .fan_out(FanOut::new().seeds(["a"])),
    );
    assert!(
        no_placeholder.contains("no {placeholder}"),
        "{no_placeholder}"
    );
    let no_model = refused(
        CollectorSpec::endpoint("users/{login}")
            .model::<User>()
            .fan_out(FanOut::new().from_model("members", "login")),
    );
    assert!(
        no_model.contains("no collector stores a model `members`"),
        "{no_model}"
    );
    let no_field = refused(
        CollectorSpec::endpoint("users/{login}")
            .model::<User>()
            .fan_out(FanOut::new().from_model("users", "name")),
    );
    assert!(
        no_field.contains("`users` has no field `name`"),
        "{no_field}"
    );
    let empty = refused(
        CollectorSpec::endpoint("users/{login}")
            .model::<User>()
            .fan_out(FanOut::new()),
    );
    assert!(empty.contains("has no keys"), "{empty}");
    let jsonl = tempfile::tempdir().unwrap();
    let error = Hamstr::new()
        .backend(hamstr::backend::JsonLines::dir(jsonl.path()).unwrap())
        .register_service(
            Service::new(api.url()).name("github").add_collector(
                CollectorSpec::endpoint("users/{login}")
                    .model::<User>()
                    .fan_out(FanOut::new().seeds(["a"])),
            ),
        )
        .check()
        .unwrap_err()
        .to_string();
    assert!(error.contains("keeps no keys"), "{error}");
    assert!(matches!(
        app(CollectorSpec::endpoint("users/{login}").model::<User>()).check(),
        Err(AppError::FanOut { .. })
    ));
    assert_eq!(api.request_count(), 0);
}

/// With a small quota the crawl goes on across several windows: it slows down, never fails,
/// sends nothing while the quota is used up, and finds what it would without a quota.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_finishes_across_quota_windows() {
    let followers = graph(30);
    let unlimited = MockApi::start().await;
    serve(&unlimited, &followers);
    let expected: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    crawl_until_quiet(&unlimited, &expected, None).await;

    let api = MockApi::start().await;
    serve(&api, &followers);
    api.rate_limit(hamstr::testing::MockRateLimit::github(
        8,
        std::time::Duration::from_secs(1),
    ));
    let store: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    crawl_until_quiet(&api, &store, None).await;
    assert!(
        api.request_count() > 16,
        "several windows: {}",
        api.request_count()
    );
    for schema in [User::schema(), Follow::schema()] {
        let mut found = stored(&store, &schema).await;
        let mut wanted = stored(&expected, &schema).await;
        found.sort_by_key(ToString::to_string);
        wanted.sort_by_key(ToString::to_string);
        assert_eq!(found, wanted, "{}", schema.name());
    }
    assert_eq!(
        api.requests_over_quota(),
        0,
        "nothing is sent while the quota is used up"
    );
}

#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "versions")]
struct Version {
    #[hamstr(primary_key)]
    id: i64,
    #[serde(rename = "links", deserialize_with = "dependencies_link")]
    dependencies: String,
}

fn dependencies_link<'de, D: serde::Deserializer<'de>>(links: D) -> Result<String, D::Error> {
    #[derive(serde::Deserialize)]
    struct Links {
        dependencies: String,
    }
    Ok(<Links as serde::Deserialize>::deserialize(links)?.dependencies)
}

#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "dependencies")]
struct Dependency {
    #[hamstr(primary_key)]
    id: i64,
    crate_id: String,
}

#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "crates")]
struct Crate {
    #[hamstr(primary_key)]
    name: String,
}

/// A registry's three levels, the last one keyed by a link each version carries (`{+link}`):
/// exactly the mock's crates, versions and dependencies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_is_read_to_its_third_level() {
    let api = MockApi::start().await;
    let names: Vec<String> = (0..12).map(|index| format!("crate-{index}")).collect();
    let crates = names.iter().map(|name| json!({"name": name})).collect();
    api.route(
        "/api/v1/crates",
        Collection::new(crates)
            .records_at("crates")
            .paging(Paging::page_number())
            .page_size(5),
    );
    let (mut versions_expected, mut dependencies_expected) = (BTreeSet::new(), BTreeSet::new());
    let mut dependency_id = 0;
    for (index, name) in names.iter().enumerate() {
        let mut versions = Vec::new();
        for minor in 0..=(index % 3) {
            let id = (index * 10 + minor) as i64;
            let link = format!("/api/v1/crates/{name}/0.{minor}.0/dependencies");
            versions.push(json!({"id": id, "links": {"dependencies": link}}));
            versions_expected.insert(id);
            let dependencies: Vec<_> = (0..(index + minor) % 3)
                .map(|offset| {
                    dependency_id += 1;
                    dependencies_expected.insert(dependency_id);
                    json!({"id": dependency_id, "crate_id": names[(index + offset + 1) % names.len()]})
                })
                .collect();
            api.route(
                &link,
                MockResponse::json(json!({"dependencies": dependencies})),
            );
        }
        api.route(
            &format!("/api/v1/crates/{name}/versions"),
            MockResponse::json(json!({"versions": versions})),
        );
    }
    let registry = Service::new(api.url())
        .name("registry")
        .paginator(hamstr::paginate::PageNumber::new().size("per_page", 5))
        .add_collector(
            CollectorSpec::endpoint("api/v1/crates")
                .records("crates")
                .model::<Crate>(),
        )
        .add_collector(
            CollectorSpec::endpoint("api/v1/crates/{name}/versions")
                .records("versions")
                .model::<Version>()
                .fan_out(FanOut::new().from_model("crates", "name")),
        )
        .add_collector(
            CollectorSpec::endpoint("{+link}")
                .records("dependencies")
                .model::<Dependency>()
                .fan_out(FanOut::new().from_model("versions", "dependencies")),
        );
    let store: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    for _ in 0..4 {
        let app = Hamstr::new()
            .shared_backend(Arc::clone(&store))
            .register_service(registry.clone());
        assert!(app.run_once().await.unwrap().is_success());
    }
    let ids = |rows: Vec<serde_json::Value>| -> BTreeSet<i64> {
        rows.iter().map(|row| row["id"].as_i64().unwrap()).collect()
    };
    assert_eq!(stored(&store, &Crate::schema()).await.len(), names.len());
    assert_eq!(
        ids(stored(&store, &Version::schema()).await),
        versions_expected
    );
    assert_eq!(
        ids(stored(&store, &Dependency::schema()).await),
        dependencies_expected
    );
    // Each version's dependencies were read once.
    let dependency_reads = api
        .all_requests()
        .iter()
        .filter(|request| request.path.ends_with("/dependencies"))
        .count();
    assert_eq!(dependency_reads, versions_expected.len());
}
