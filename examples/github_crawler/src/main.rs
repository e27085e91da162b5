//! A discovery crawl, the GitHub crawler rebuilt: from one seed user, every user reachable by
//! following followers (and starring), who follows whom, each user's repositories and who starred
//! them, into SQLite; each user read again when a day old, five at a time per run, inside
//! GitHub's rate limit, at most `GITHUB_DEPTH` follows away from the seed when it is set.
//!
//! `cargo run -p github_crawler` crawls a generated graph of 300 users served by a local mock of
//! GitHub's API (its paging, `Link` headers and rate-limit headers) until the crawl has ended,
//! and answers a few questions from what it found. With `GITHUB_TOKEN` set it crawls the real
//! API from `GITHUB_SEED` (default `octocat`) instead, a few users per run. `-- --serve` keeps
//! it running on its interval with the admin API and status page on http://127.0.0.1:9650/.

use std::{collections::BTreeSet, time::Duration};

use hamstr::{
    AppHandle, CollectorSpec, Hamstr, Model, Secret, Service, ServiceWithCollectors,
    admin::Admin,
    backend::{Query, Storage},
    collector::FanOut,
    model::{Schema, row_to_json},
    paginate::LinkHeader,
    records::Records,
    testing::{Collection, MockApi, MockRateLimit, MockResponse, Paging},
};
use serde_json::json;

/// A user's profile.
#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "developers")]
struct Developer {
    #[hamstr(primary_key)]
    login: String,
    id: i64,
    name: Option<String>,
    followers: Option<i64>,
}

/// An edge: `login` follows `parent_login`.
#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "follows")]
struct Follow {
    #[hamstr(primary_key)]
    parent_login: String,
    #[hamstr(primary_key)]
    login: String,
}

/// A repository of a user.
#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "repositories")]
struct Repository {
    #[hamstr(primary_key)]
    id: i64,
    parent_login: String,
    full_name: String,
    stargazers_count: Option<i64>,
}

/// A star: `login` starred the repository `parent_full_name`.
#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "stargazers")]
struct Stargazer {
    #[hamstr(primary_key)]
    parent_full_name: String,
    #[hamstr(primary_key)]
    login: String,
}

/// How much of the API one run may use, and how far from the seed the crawl goes.
struct Pace {
    max_per_run: usize,
    interval: &'static str,
    max_depth: Option<u32>,
}

fn crawler(github: Service, seed: &str, pace: &Pace) -> ServiceWithCollectors {
    let fan_out = || {
        FanOut::new()
            .refresh_after("1d")
            .max_per_run(pace.max_per_run)
            .concurrency(4)
    };
    let mut developers = fan_out()
        .seeds([seed])
        .from_model("follows", "login")
        .from_model("stargazers", "login");
    if let Some(depth) = pace.max_depth {
        developers = developers.max_depth(depth);
    }
    github
        .add_collector(
            CollectorSpec::endpoint("users/{login}")
                .records(Records::object(""))
                .model::<Developer>()
                .interval(pace.interval)
                .fan_out(developers),
        )
        .add_collector(
            CollectorSpec::endpoint("users/{login}/followers")
                .model::<Follow>()
                .param("per_page", "100")
                .interval(pace.interval)
                .fan_out(fan_out().from_model("developers", "login")),
        )
        .add_collector(
            CollectorSpec::endpoint("users/{login}/repos")
                .model::<Repository>()
                .param("per_page", "100")
                .interval(pace.interval)
                .fan_out(fan_out().from_model("developers", "login")),
        )
        .add_collector(
            // `{+full_name}`: `owner/name`, a path of two segments.
            CollectorSpec::endpoint("repos/{+full_name}/stargazers")
                .model::<Stargazer>()
                .param("per_page", "100")
                .interval(pace.interval)
                .fan_out(fan_out().from_model("repositories", "full_name")),
        )
}

/// A graph of `count` users for the mock: user i is followed by a few of the others, the seed
/// by 150 (two pages), and has one or two repositories, each starred by a few.
fn serve_graph(api: &MockApi, count: usize) {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut random = |below: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % below as u64) as usize
    };
    for user in 0..count {
        let login = format!("dev{user}");
        let how_many = if user == 0 { 150 } else { random(5) };
        let followers: BTreeSet<usize> = (0..how_many).map(|_| random(count)).collect();
        let profile = json!({"login": login, "id": user, "name": format!("Developer {user}"), "followers": followers.len()});
        api.route(&format!("/users/{login}"), MockResponse::json(profile));
        let followers = followers
            .iter()
            .map(|follower| json!({"login": format!("dev{follower}"), "id": follower}))
            .collect();
        api.route(
            &format!("/users/{login}/followers"),
            Collection::new(followers)
                .records_at("")
                .paging(Paging::link_header())
                .page_size(100),
        );
        let mut repos = Vec::new();
        for index in 0..1 + user % 2 {
            let full_name = format!("{login}/project-{index}");
            let stars: BTreeSet<usize> = (0..random(4)).map(|_| random(count)).collect();
            repos.push(json!({"id": user * 10 + index, "full_name": full_name, "stargazers_count": stars.len()}));
            let stars = stars
                .iter()
                .map(|star| json!({"login": format!("dev{star}"), "id": star}))
                .collect();
            api.route(
                &format!("/repos/{full_name}/stargazers"),
                Collection::new(stars)
                    .records_at("")
                    .paging(Paging::link_header()),
            );
        }
        api.route(
            &format!("/users/{login}/repos"),
            Collection::new(repos)
                .records_at("")
                .paging(Paging::link_header()),
        );
    }
}

async fn rows(
    store: &dyn hamstr::Backend,
    schema: &Schema,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let page = store.query(schema, &Query::new().limit(100_000)).await?;
    Ok(page
        .rows
        .iter()
        .map(|row| serde_json::to_value(row_to_json(schema, row)))
        .collect::<Result<_, _>>()?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "hamstr=warn".into()),
        )
        .init();
    let is_serving = std::env::args().any(|arg| arg == "--serve");
    let (mock, github, seed, pace) = match std::env::var("GITHUB_TOKEN") {
        Ok(token) if !token.is_empty() => {
            let seed = std::env::var("GITHUB_SEED").unwrap_or_else(|_| "octocat".to_owned());
            let github = Service::new("https://api.github.com/")
                .bearer_auth(Secret::new(token))
                .header("Accept", "application/vnd.github+json");
            (
                None,
                github,
                seed,
                Pace {
                    max_per_run: 5,
                    interval: "1m",
                    max_depth: match std::env::var("GITHUB_DEPTH") {
                        Ok(depth) => Some(depth.parse()?),
                        Err(_) => None,
                    },
                },
            )
        }
        _ => {
            let api = MockApi::start().await;
            serve_graph(&api, 300);
            api.rate_limit(MockRateLimit::github(5000, Duration::from_secs(3600)));
            let github = Service::new(api.url());
            (
                Some(api),
                github,
                "dev0".to_owned(),
                Pace {
                    max_per_run: 100,
                    interval: "10s",
                    max_depth: None,
                },
            )
        }
    };
    let github = crawler(
        github.name("github").paginator(LinkHeader::new()),
        &seed,
        &pace,
    );
    let store = Storage::parse("sqlite://github.db")?.open()?;
    let app = || {
        Hamstr::new()
            .shared_backend(store.clone())
            .register_service(github.clone())
    };

    if is_serving {
        let mut handle: AppHandle = app().start().await?;
        let admin = Admin::parse(Admin::DEFAULT_ADDR)?
            .serve(handle.control())
            .await?;
        println!(
            "crawling from {seed}; status page and admin API: {}",
            admin.url()
        );
        tokio::signal::ctrl_c().await?;
        handle.stop().await;
        admin.stop().await;
        return Ok(());
    }
    // One run after another until a run reads nothing: the crawl has ended (offline), or a few
    // runs' worth of the real API.
    let runs = if mock.is_some() { 50 } else { 3 };
    for run in 1..=runs {
        let report = app().run_once().await?;
        let read: usize = report.runs.iter().map(|run| run.pages).sum();
        println!("run {run}: {read} pages");
        if read == 0 {
            break;
        }
    }
    let developers = rows(store.as_ref(), &Developer::schema()).await?;
    let follows = rows(store.as_ref(), &Follow::schema()).await?;
    let repositories = rows(store.as_ref(), &Repository::schema()).await?;
    let stars = rows(store.as_ref(), &Stargazer::schema()).await?;
    println!(
        "found {} developers, {} follows, {} repositories, {} stars (in github.db)",
        developers.len(),
        follows.len(),
        repositories.len(),
        stars.len()
    );
    // Who is followed most, among those found.
    let mut followed: std::collections::BTreeMap<&str, usize> = Default::default();
    for edge in &follows {
        *followed
            .entry(edge["parent_login"].as_str().unwrap_or("?"))
            .or_default() += 1;
    }
    let mut most: Vec<_> = followed.into_iter().collect();
    most.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (login, count) in most.iter().take(3) {
        println!("  {login}: {count} followers found");
    }
    Ok(())
}
