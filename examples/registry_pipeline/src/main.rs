//! A package-registry pipeline: every crate, then every version of each crate, then the
//! dependencies of each version, into SQLite (or PostgreSQL with `DATABASE_URL`), with the load
//! history; then the seed's own questions answered from the tables.
//!
//! `cargo run -p registry_pipeline` runs offline against a local mock of the crates.io API (its
//! paging and its shapes); `REGISTRY_URL=https://crates.io/` reads the real one (mind its crawler
//! policy: set a `User-Agent` with your contact, and keep to one request a second).

use std::collections::BTreeMap;

use hamstr::{
    CollectorSpec, Hamstr, Model, Service,
    backend::{Query, Storage},
    collector::FanOut,
    model::{Schema, row_to_json},
    paginate::PageNumber,
    testing::{Collection, MockApi, MockResponse, Paging},
};
use serde_json::json;

/// A crate.
#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "crates")]
struct Crate {
    #[hamstr(primary_key)]
    name: String,
    downloads: Option<i64>,
}

/// A version of a crate, with the link to its dependencies (`links.dependencies`).
#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "versions")]
struct Version {
    #[hamstr(primary_key)]
    id: i64,
    #[serde(rename = "crate")]
    krate: String,
    num: String,
    #[serde(rename = "links", deserialize_with = "dependencies_link")]
    dependencies: String,
}

/// `links.dependencies` of a version.
fn dependencies_link<'de, D: serde::Deserializer<'de>>(links: D) -> Result<String, D::Error> {
    #[derive(serde::Deserialize)]
    struct Links {
        dependencies: String,
    }
    Ok(<Links as serde::Deserialize>::deserialize(links)?.dependencies)
}

/// A dependency of a version.
#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "dependencies")]
struct Dependency {
    #[hamstr(primary_key)]
    id: i64,
    version_id: i64,
    crate_id: String,
    req: String,
    kind: String,
}

/// A small registry for the mock: 40 crates (some under the same prefix, as squatters name
/// them), each with a few versions, each version depending on a few other crates.
fn serve_registry(api: &MockApi) {
    let names: Vec<String> = (0..40)
        .map(|index| match index % 5 {
            0 => format!("serde-extra-{index}"),
            1 => format!("tokio-util-{index}"),
            _ => format!("crate{index}"),
        })
        .collect();
    let crates = names
        .iter()
        .enumerate()
        .map(|(index, name)| json!({"id": name, "name": name, "downloads": index * 1000}))
        .collect();
    api.route(
        "/api/v1/crates",
        Collection::new(crates)
            .records_at("crates")
            .paging(Paging::page_number())
            .page_size(10),
    );
    let mut next_id = 1;
    for (index, name) in names.iter().enumerate() {
        let mut versions = Vec::new();
        for minor in 0..=(index % 4) {
            let (version_id, num) = (index * 100 + minor, format!("0.{minor}.0"));
            let link = format!("/api/v1/crates/{name}/{num}/dependencies");
            versions.push(json!({"id": version_id, "crate": name, "num": num, "links": {"dependencies": link}}));
            let dependencies: Vec<_> = (0..(index + minor) % 3)
                .map(|offset| {
                    next_id += 1;
                    json!({"id": next_id, "version_id": version_id, "crate_id": names[(index + offset + 1) % names.len()], "req": "^1", "kind": "normal"})
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
}

async fn rows(
    store: &dyn hamstr::Backend,
    schema: &Schema,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let page = store.query(schema, &Query::new().limit(1_000_000)).await?;
    Ok(page
        .rows
        .iter()
        .map(|row| serde_json::to_value(row_to_json(schema, row)))
        .collect::<Result<_, _>>()?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (_mock, base) = match std::env::var("REGISTRY_URL") {
        Ok(url) if !url.is_empty() => (None, url),
        _ => {
            let api = MockApi::start().await;
            serve_registry(&api);
            let url = api.url();
            (Some(api), url)
        }
    };
    let registry = Service::new(base)
        .name("registry")
        .user_agent("hamstr registry_pipeline example")
        .requests_per_second(if _mock.is_some() { 1000 } else { 1 })
        .paginator(PageNumber::new().size("per_page", 10))
        .add_collector(
            CollectorSpec::endpoint("api/v1/crates")
                .records("crates")
                .model::<Crate>(),
        )
        .add_collector(
            CollectorSpec::endpoint("api/v1/crates/{name}/versions")
                .records("versions")
                .model::<Version>()
                .fan_out(
                    FanOut::new()
                        .from_model("crates", "name")
                        .max_per_run(10_000),
                ),
        )
        .add_collector(
            // The link each version carries: a key that is a path.
            CollectorSpec::endpoint("{+link}")
                .records("dependencies")
                .model::<Dependency>()
                .fan_out(
                    FanOut::new()
                        .from_model("versions", "dependencies")
                        .max_per_run(10_000)
                        .concurrency(8),
                ),
        );
    let storage =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://registry.db".to_owned());
    let store = Storage::parse(&storage)?.open()?;
    // Crates, then their versions, then the versions' dependencies: a run each, and one more
    // that finds nothing new.
    for run in 1..=6 {
        let app = Hamstr::new()
            .shared_backend(store.clone())
            .register_service(registry.clone());
        let report = app.run_once().await?;
        let pages: usize = report.runs.iter().map(|run| run.pages).sum();
        println!("run {run}: {pages} pages");
        if !report.is_success() {
            println!("{report}");
        }
    }
    let crates = rows(store.as_ref(), &Crate::schema()).await?;
    let versions = rows(store.as_ref(), &Version::schema()).await?;
    let dependencies = rows(store.as_ref(), &Dependency::schema()).await?;
    println!(
        "{} crates, {} versions, {} dependencies in {storage}",
        crates.len(),
        versions.len(),
        dependencies.len()
    );
    // Packages by number of versions.
    let mut by_versions: BTreeMap<&str, usize> = BTreeMap::new();
    for version in &versions {
        *by_versions
            .entry(version["krate"].as_str().unwrap_or("?"))
            .or_default() += 1;
    }
    let mut most: Vec<_> = by_versions.into_iter().collect();
    most.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    println!("most versions: {:?}", &most[..most.len().min(3)]);
    // Name-squat prefixes: the words before a `-` that most names share.
    let mut prefixes: BTreeMap<&str, usize> = BTreeMap::new();
    for krate in &crates {
        if let Some((prefix, _)) = krate["name"].as_str().and_then(|name| name.split_once('-')) {
            *prefixes.entry(prefix).or_default() += 1;
        }
    }
    println!("prefixes: {prefixes:?}");
    for line in store.run_history(None, 3).await? {
        println!(
            "load history: {} {} {} records ({} new)",
            line.collector, line.outcome, line.records, line.inserted
        );
    }
    Ok(())
}
