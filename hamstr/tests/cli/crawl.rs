//! A crawl from a YAML project: `users/{login}` and `users/{login}/followers` feeding each
//! other's keys within a depth limit, killed with SIGKILL at random points, then finished: the
//! users and edges are exact, and a key already read is read again only when it was in flight at
//! a kill.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use hamstr::testing::{Collection, MockApi, MockResponse, Paging};
use serde_json::json;

use super::{hamstr, run_killed_after};

/// Who follows whom: `count` users, each followed by up to three of the first two thirds; user
/// 0 by 60 (three pages of 25).
fn graph(count: usize) -> BTreeMap<String, Vec<String>> {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut random = |below: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % below as u64) as usize
    };
    (0..count)
        .map(|user| {
            let how_many = if user == 0 { 60 } else { random(4) }.min(count * 2 / 3);
            let mut followers = BTreeSet::new();
            while followers.len() < how_many {
                followers.insert(format!("u{}", random(count * 2 / 3)));
            }
            (format!("u{user}"), followers.into_iter().collect())
        })
        .collect()
}

const PROJECT: &str = "
storage: sqlite://crawl.db
services:
  github:
    base_url: URL
    paginator: link_header
    collectors:
      /users/{login}:
        name: users
        record: .
        keys: {from: follows.login, seeds: [u0], concurrency: 4, max_depth: 2}
        model: {login: string, id: integer}
        primary_key: login
      /users/{login}/followers:
        name: follows
        keys: {from: users.login, concurrency: 4}
        model: {parent_login: string, login: string}
        primary_key: [parent_login, login]
";

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_crawl_finishes_exactly() {
    let followers = graph(120);
    let api = MockApi::start().await;
    for (login, of_user) in &followers {
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
                .page_size(25),
        );
    }
    // Who a crawl from u0 reaches within two follows: the profiles read under `max_depth: 2`.
    let mut distance = BTreeMap::from([("u0".to_owned(), 0)]);
    let mut queue = VecDeque::from(["u0".to_owned()]);
    while let Some(user) = queue.pop_front() {
        let next = distance[&user] + 1;
        for follower in &followers[&user] {
            if !distance.contains_key(follower) {
                distance.insert(follower.clone(), next);
                queue.push_back(follower.clone());
            }
        }
    }
    let reached: BTreeSet<String> = distance
        .iter()
        .filter(|(_, hops)| **hops <= 2)
        .map(|(user, _)| user.clone())
        .collect();
    assert!(
        reached.len() < distance.len(),
        "the limit leaves some out: {} of {}",
        reached.len(),
        distance.len()
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hamstr.yml"),
        PROJECT.replace("URL", &api.url()),
    )
    .unwrap();
    // A fixed-seed generator: the kill points vary, and a failure can be replayed.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut random = |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let mut kills = 0;
    for _ in 0..12 {
        let kill_after = api.request_count() + 1 + random(15) as usize;
        kills += usize::from(run_killed_after(dir.path(), &api, kill_after).await);
    }
    assert!(kills > 0);
    // The last runs, left to end, until one sends nothing.
    for _ in 0..30 {
        let before = api.request_count();
        let output = hamstr(dir.path(), &["run", "hamstr.yml", "--once"], &[]).await;
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        if api.request_count() == before {
            break;
        }
    }
    let db = rusqlite::Connection::open(dir.path().join("crawl.db")).unwrap();
    let users: BTreeSet<String> = db
        .prepare("SELECT login FROM users")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(users, reached);
    let edges: BTreeSet<(String, String)> = db
        .prepare("SELECT parent_login, login FROM follows")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: BTreeSet<(String, String)> = reached
        .iter()
        .flat_map(|user| {
            followers[user]
                .iter()
                .map(move |f| (user.clone(), f.clone()))
        })
        .collect();
    assert_eq!(edges, expected);
    // A profile is read again only when a kill caught it in flight (four at a time at most).
    let profiles = api
        .all_requests()
        .iter()
        .filter(|request| !request.path.ends_with("/followers"))
        .count();
    assert!(
        profiles <= reached.len() + kills * 4,
        "{profiles} profile reads for {} users and {kills} kills",
        reached.len()
    );
}
