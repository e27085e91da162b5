//! What bounds a crawl and what a key remembers: a depth limit from the seeds (exact, however the
//! runs split the keys), an incremental strategy per key (each key from its own mark), and the
//! frontier's contract in every store that keeps keys.

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    sync::Arc,
};

use chrono::{Duration, Utc};
use hamstr::{
    Backend, CollectorSpec, Hamstr, Model, Service,
    backend::{FoundKeys, KeyRead, KeyStatus},
    collector::FanOut,
    paginate::LinkHeader,
    records::Records,
    state::{CollectorId, Incremental, Mark},
    testing::{Collection, MockApi},
};
use serde_json::json;

use super::fan_out::{Follow, User, graph, serve, stored, stored_edges, stored_users, stores};

/// The stores [`stores`] opens, in its order.
const STORES: [&str; 3] = ["memory", "sqlite", "postgres"];

/// How many follow hops each user is from `seed` (who follows whom: `followers`).
fn distances(followers: &BTreeMap<String, Vec<String>>, seed: &str) -> BTreeMap<String, u32> {
    let mut distance = BTreeMap::from([(seed.to_owned(), 0)]);
    let mut queue = VecDeque::from([seed.to_owned()]);
    while let Some(user) = queue.pop_front() {
        let next = distance[&user] + 1;
        for follower in &followers[&user] {
            if !distance.contains_key(follower) {
                distance.insert(follower.clone(), next);
                queue.push_back(follower.clone());
            }
        }
    }
    distance
}

/// The crawler with a depth limit on profiles, a few keys a run so that a crawl takes many runs
/// and keys are not found in order of their depth.
fn limited_crawler(api: &MockApi, store: &Arc<dyn Backend>, seed: &str, depth: u32) -> Hamstr {
    let github = Service::new(api.url())
        .name("github")
        .paginator(LinkHeader::new())
        .add_collector(
            CollectorSpec::endpoint("users/{login}")
                .records(Records::object(""))
                .model::<User>()
                .fan_out(
                    FanOut::new()
                        .seeds([seed])
                        .from_model("follows", "login")
                        .max_depth(depth)
                        .max_per_run(7)
                        .concurrency(3),
                ),
        )
        .add_collector(
            CollectorSpec::endpoint("users/{login}/followers")
                .model::<Follow>()
                .fan_out(
                    FanOut::new()
                        .from_model("users", "login")
                        .max_per_run(5)
                        .concurrency(2),
                ),
        );
    Hamstr::new()
        .shared_backend(Arc::clone(store))
        .register_service(github)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_depth_limit_reads_exactly_the_users_within_it() {
    let followers = graph(300);
    let limit = 2;
    // A seed whose crawl goes on past the limit, with a few dozen users within it.
    let (seed, distance) = (1..300)
        .map(|user| format!("u{user}"))
        .map(|seed| {
            let distance = distances(&followers, &seed);
            (seed, distance)
        })
        .find(|(_, distance)| {
            let within = distance.values().filter(|hops| **hops <= limit).count();
            (10..=60).contains(&within) && distance.len() > within + 10
        })
        .unwrap();
    let seed = seed.as_str();
    let within: BTreeSet<String> = distance
        .iter()
        .filter(|(_, hops)| **hops <= limit)
        .map(|(user, _)| user.clone())
        .collect();
    let next: usize = distance.values().filter(|hops| **hops == limit + 1).count();
    assert!(
        within.len() >= 10 && next > 0 && distance.len() > within.len() + next,
        "a graph that goes on past the limit: {} within, {next} next, {} reachable",
        within.len(),
        distance.len()
    );
    let edges: BTreeSet<(String, String)> = within
        .iter()
        .flat_map(|user| {
            followers[user]
                .iter()
                .map(move |follower| (user.clone(), follower.clone()))
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    for (store, name) in stores(dir.path()).await.into_iter().zip(STORES) {
        let api = MockApi::start().await;
        serve(&api, &followers);
        let mut runs = 0;
        loop {
            let before = api.request_count();
            let app = limited_crawler(&api, &store, seed, limit);
            let report = app.run_once().await.unwrap();
            assert!(report.is_success(), "{report}");
            if api.request_count() == before {
                // Quiet: what is left is beyond the limit.
                let frontier = store
                    .frontier(
                        &CollectorId::new("github", "users"),
                        Utc::now(),
                        Some(limit),
                    )
                    .await
                    .unwrap();
                assert_eq!(frontier.due, 0, "{name}");
                assert_eq!(frontier.beyond_depth, next, "{name}");
                assert_eq!(frontier.known, within.len() + next, "{name}");
                break;
            }
            runs += 1;
            assert!(runs < 400, "the crawl does not end");
        }
        assert_eq!(stored_users(&store).await, within, "{name}");
        assert_eq!(stored_edges(&store).await, edges, "{name}");
        // No profile beyond the limit was asked for.
        for request in api.all_requests() {
            let user = request.path.trim_start_matches("/users/");
            let user = user.trim_end_matches("/followers");
            assert!(within.contains(user), "{} read, {name}", request.path);
        }
    }
}

#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "repos")]
struct Repo {
    #[hamstr(primary_key)]
    id: i64,
    parent_login: String,
    updated_at: String,
}

fn at(minute: u32) -> String {
    format!("2026-01-01T00:{minute:02}:00Z")
}

fn repos(owner: &str, minutes: &[u32]) -> Vec<serde_json::Value> {
    let base = if owner == "alice" { 100 } else { 200 };
    minutes
        .iter()
        .map(|minute| json!({"id": base + i64::from(*minute), "updated_at": at(*minute)}))
        .collect()
}

/// Each key's listing read from the mark its own last read left (`?since=`), never another
/// key's; the state is one mark per key, in the key's frontier row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_strategy_works_per_key() {
    let dir = tempfile::tempdir().unwrap();
    for (store, name) in stores(dir.path()).await.into_iter().zip(STORES) {
        let api = MockApi::start().await;
        for (owner, minutes) in [("alice", [1, 2, 3]), ("bob", [5, 6, 7])] {
            api.route(
                &format!("/users/{owner}/repos"),
                Collection::new(repos(owner, &minutes))
                    .records_at("")
                    .since("since", "updated_at"),
            );
        }
        let app = || {
            let github = Service::new(api.url()).name("github").add_collector(
                CollectorSpec::endpoint("users/{login}/repos")
                    .model::<Repo>()
                    .incremental(Incremental::cursor_field("updated_at", "since"))
                    .fan_out(FanOut::new().seeds(["alice", "bob"]).refresh_after("1ms")),
            );
            Hamstr::new()
                .shared_backend(Arc::clone(&store))
                .register_service(github)
        };
        assert!(app().run_once().await.unwrap().is_success());
        assert_eq!(stored(&store, &Repo::schema()).await.len(), 6);
        api.push_records("/users/alice/repos", repos("alice", &[4]));
        // Past the 1 ms refresh.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let before = api.request_count();
        assert!(app().run_once().await.unwrap().is_success());
        let mut sent: Vec<(String, Vec<(String, String)>)> = api.all_requests()[before..]
            .iter()
            .map(|request| (request.path.clone(), request.query.clone()))
            .collect();
        sent.sort();
        assert_eq!(
            sent,
            [
                (
                    "/users/alice/repos".to_owned(),
                    vec![("since".to_owned(), at(3))]
                ),
                (
                    "/users/bob/repos".to_owned(),
                    vec![("since".to_owned(), at(7))]
                ),
            ],
            "{name}"
        );
        assert_eq!(stored(&store, &Repo::schema()).await.len(), 7, "{name}");
        // The collector's own state holds no mark: each key keeps its own.
        let state = store
            .load_state(&CollectorId::new("github", "repos"))
            .await
            .unwrap();
        assert!(state.is_none_or(|state| state.mark.is_none()), "{name}");
    }
}

/// The frontier as every store keeps it: depths only lowered, a lowered key read again when
/// asked, keys of no known depth not read under a limit, a key's mark kept across reads that
/// leave none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_store_keeps_depths_and_marks_alike() {
    let dir = tempfile::tempdir().unwrap();
    let id = CollectorId::new("github", "users");
    let now = Utc::now();
    let keys =
        |names: &[&str]| -> Vec<String> { names.iter().map(|name| (*name).to_owned()).collect() };
    for (store, name) in stores(dir.path()).await.into_iter().zip(STORES) {
        let deep = keys(&["a", "b"]);
        assert_eq!(
            store
                .add_keys(&id, &FoundKeys::new(&deep).depth(2), now)
                .await
                .unwrap(),
            2
        );
        let unknown = keys(&["c"]);
        store
            .add_keys(&id, &FoundKeys::new(&unknown), now)
            .await
            .unwrap();
        let due = |limit| {
            let store = Arc::clone(&store);
            let id = id.clone();
            async move {
                store
                    .due_keys(&id, now, 10, limit)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|due| (due.key, due.depth))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(due(Some(1)).await, [], "{name}");
        assert_eq!(
            due(None).await,
            [
                ("a".to_owned(), Some(2)),
                ("b".to_owned(), Some(2)),
                ("c".to_owned(), None)
            ],
            "{name}"
        );
        let frontier = store.frontier(&id, now, Some(1)).await.unwrap();
        assert_eq!((frontier.due, frontier.beyond_depth), (0, 3), "{name}");
        // Found again closer: only the lower depth is taken, and no key is added.
        let a = keys(&["a"]);
        assert_eq!(
            store
                .add_keys(&id, &FoundKeys::new(&a).depth(1), now)
                .await
                .unwrap(),
            0
        );
        store
            .add_keys(&id, &FoundKeys::new(&a).depth(5), now)
            .await
            .unwrap();
        assert_eq!(due(Some(1)).await, [("a".to_owned(), Some(1))], "{name}");
        // Read, with a mark; then lowered: due again only when asked to revisit.
        let mark = Mark::new("cursor_field", "updated_at", "2026-01-01T00:03:00Z");
        let read = KeyRead::new("a", KeyStatus::Done, now, None).mark(Some(mark.clone()));
        store.record_key(&id, &read).await.unwrap();
        store
            .add_keys(&id, &FoundKeys::new(&a).depth(0), now)
            .await
            .unwrap();
        let later = now + Duration::seconds(1);
        assert!(
            store
                .due_keys(&id, later, 10, Some(0))
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        let b = keys(&["b"]);
        let read = KeyRead::new("b", KeyStatus::Done, now, None);
        store.record_key(&id, &read).await.unwrap();
        store
            .add_keys(&id, &FoundKeys::new(&b).depth(0).revisit(true), later)
            .await
            .unwrap();
        let again = store.due_keys(&id, later, 10, Some(0)).await.unwrap();
        assert_eq!(again.len(), 1, "{name}");
        assert_eq!((again[0].key.as_str(), again[0].depth), ("b", Some(0)));
        // A failed read leaves no mark: the one before is kept.
        let failed = KeyRead::new("a", KeyStatus::Failed, later, Some(later)).error("503");
        store.record_key(&id, &failed).await.unwrap();
        let due_a = store.due_keys(&id, later, 10, None).await.unwrap();
        let a_row = due_a.iter().find(|due| due.key == "a").unwrap();
        assert_eq!(a_row.mark.as_ref(), Some(&mark), "{name}");
        assert_eq!(a_row.failures, 1, "{name}");
    }
}

/// A SQLite file whose frontier was made before keys had depths and marks gets both columns,
/// and keeps its keys.
#[tokio::test]
async fn an_older_sqlite_frontier_gains_depths_and_marks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE _hamstr_keys (
                 service TEXT NOT NULL, collector TEXT NOT NULL, key TEXT NOT NULL,
                 status TEXT NOT NULL, added_at TEXT NOT NULL, read_at TEXT, due_at TEXT,
                 failures INTEGER NOT NULL DEFAULT 0, error TEXT,
                 PRIMARY KEY (service, collector, key));
             INSERT INTO _hamstr_keys (service, collector, key, status, added_at, due_at)
             VALUES ('github', 'users', 'old', 'new', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z');",
        )
        .unwrap();
    let store = hamstr::backend::Sqlite::open(&path).unwrap();
    let id = CollectorId::new("github", "users");
    let new = vec!["new".to_owned()];
    store
        .add_keys(&id, &FoundKeys::new(&new).depth(1), Utc::now())
        .await
        .unwrap();
    let due: Vec<(String, Option<u32>)> = store
        .due_keys(&id, Utc::now(), 10, None)
        .await
        .unwrap()
        .into_iter()
        .map(|due| (due.key, due.depth))
        .collect();
    assert_eq!(due, [("old".to_owned(), None), ("new".to_owned(), Some(1))]);
}
