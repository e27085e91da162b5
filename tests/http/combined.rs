//! One search over many sources: three services and a CSV file as one `Combined`, one service
//! failing and one slow. Every source is asked at once, items arrive tagged with their source
//! and the common attributes, and a failing or slow source is reported beside the others'
//! results without holding them back.

use std::time::Duration;

use futures_util::StreamExt;
use hamstr::{
    Service,
    service::{Combined, Failure, FileSource, Found, Lookup, RetryPolicy},
    testing::{Collection, Fault, MockApi},
};
use serde_json::json;

/// Three mock services, their endpoints, and a CSV file: `jobs` (fast), `issues` (fails with a
/// 500 on every request) and `pages` (answers after `delay`); the last two find one record by
/// walking their listing.
async fn sources(dir: &std::path::Path, delay: Duration) -> (Combined, Vec<MockApi>) {
    let jobs = MockApi::start().await;
    jobs.route(
        "/jobs",
        Collection::new(vec![
            json!({"id": 1, "title": "Rust engineer", "url": "https://jobs/1", "created_at": "2026-01-01"}),
            json!({"id": 2, "title": "Go engineer", "url": "https://jobs/2", "created_at": "2026-01-02"}),
        ]),
    );
    let issues = MockApi::start().await;
    issues.route("/issues", Collection::new(vec![json!({"id": 9})]));
    issues.inject("/issues", Fault::Status(500), 10);
    let pages = MockApi::start().await;
    pages.route(
        "/pages",
        Collection::new(vec![
            json!({"id": "p1", "name": "Rust style guide", "links": {"web": "https://wiki/p1"}}),
        ]),
    );
    pages.inject("/pages", Fault::Delay(delay), 10);
    let csv = dir.join("notes.csv");
    std::fs::write(
        &csv,
        "id,title,created_at\nn1,Rust meetup notes,2026-02-01\nn2,Lunch menu,2026-02-02\n",
    )
    .unwrap();
    let no_retries = RetryPolicy::none();
    let combined = Combined::new()
        .endpoint(
            "jobs",
            Service::new(jobs.url()).records("data").endpoint("jobs"),
        )
        .endpoint(
            "issues",
            Service::new(issues.url())
                .records("data")
                .retry(no_retries)
                .endpoint("issues")
                .lookup(Lookup::scan("id")),
        )
        .endpoint(
            "pages",
            Service::new(pages.url())
                .records("data")
                .endpoint("pages")
                .lookup(Lookup::scan("id")),
        )
        .file("notes", FileSource::csv(csv).key_columns(["id"]))
        .attributes("pages", "name", "links.web", "created");
    (combined, vec![jobs, issues, pages])
}

#[tokio::test]
async fn a_search_over_three_services_and_a_file_reports_the_failing_one_beside_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (combined, apis) = sources(dir.path(), Duration::from_millis(150)).await;
    assert_eq!(combined.sources(), ["jobs", "issues", "pages", "notes"]);
    let results: Vec<_> = combined.search("rust").collect().await;
    let mut found: Vec<Found> = Vec::new();
    let mut failures = Vec::new();
    for result in results {
        match result {
            Ok(item) => found.push(item),
            Err(failure) => failures.push(failure),
        }
    }
    let mut tagged: Vec<(String, Option<String>)> = found
        .iter()
        .map(|item| (item.source.clone(), item.title.clone()))
        .collect();
    tagged.sort();
    assert_eq!(
        tagged,
        [
            ("jobs".to_owned(), Some("Rust engineer".to_owned())),
            ("notes".to_owned(), Some("Rust meetup notes".to_owned())),
            ("pages".to_owned(), Some("Rust style guide".to_owned())),
        ]
    );
    let page = found.iter().find(|item| item.source == "pages").unwrap();
    assert_eq!(
        page.url.as_deref(),
        Some("https://wiki/p1"),
        "its own attribute paths"
    );
    let job = found.iter().find(|item| item.source == "jobs").unwrap();
    assert_eq!(job.created_at.as_deref(), Some("2026-01-01"));
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].source_name, "issues");
    assert!(failures[0].to_string().contains("500"), "{}", failures[0]);
    // The slow source came last: it held back nobody.
    let order: Vec<&str> = found.iter().map(|item| item.source.as_str()).collect();
    assert_eq!(order.last(), Some(&"pages"), "{order:?}");
    assert_eq!(apis[1].requests("/issues").len(), 1);
}

/// A source slower than the timeout is given up and reported; the others' items all came. `get`
/// asks every source at once and returns each match, with the failures beside them.
#[tokio::test]
async fn a_slow_source_times_out_and_get_asks_every_source() {
    let dir = tempfile::tempdir().unwrap();
    let (combined, _apis) = sources(dir.path(), Duration::from_secs(30)).await;
    let combined = combined.timeout(Duration::from_millis(200));
    let results: Vec<_> = combined.list().collect().await;
    let sources: Vec<&str> = results
        .iter()
        .filter_map(|result| result.as_ref().ok())
        .map(|item| item.source.as_str())
        .collect();
    assert_eq!(
        sources.iter().filter(|source| **source == "jobs").count(),
        2
    );
    assert_eq!(
        sources.iter().filter(|source| **source == "notes").count(),
        2
    );
    let failed: Vec<(&str, bool)> = results
        .iter()
        .filter_map(|result| result.as_ref().err())
        .map(|failure| {
            (
                failure.source_name.as_str(),
                matches!(failure.reason, Failure::TimedOut(_)),
            )
        })
        .collect();
    assert!(failed.contains(&("pages", true)), "{failed:?}");
    assert!(failed.contains(&("issues", false)), "{failed:?}");

    let gotten = combined.get("n2").await;
    assert_eq!(gotten.items.len(), 1);
    assert_eq!(gotten.items[0].source, "notes");
    assert_eq!(gotten.items[0].title.as_deref(), Some("Lunch menu"));
    let mut failed: Vec<&str> = gotten
        .failures
        .iter()
        .map(|failure| failure.source_name.as_str())
        .collect();
    failed.sort_unstable();
    assert_eq!(failed, ["issues", "pages"]);
}

/// A project's collectors and files as one combined source, named `service/collector` and by
/// file name.
#[tokio::test]
async fn a_project_is_one_combined_source() {
    let dir = tempfile::tempdir().unwrap();
    let api = MockApi::start().await;
    api.route(
        "/jobs",
        Collection::new(vec![json!({"id": 1, "title": "Rust engineer"})]),
    );
    std::fs::write(dir.path().join("notes.csv"), "id,title\nn1,Rust notes\n").unwrap();
    let source = format!(
        "services:\n  board:\n    base_url: {}\n    records: data\n    collectors:\n      jobs:\n        search: q\n        model: {{id: integer}}\nfiles:\n  notes:\n    path: {}\n    key: id\n    model: {{id: string}}\n",
        api.url(),
        dir.path().join("notes.csv").display()
    );
    let project = hamstr::config::parse_with_env(&source, "hamstr.yml", &|_| None).unwrap();
    let combined = project.combined().unwrap();
    assert_eq!(combined.sources(), ["board/jobs", "notes"]);
    let found: Vec<Found> = combined
        .search("rust")
        .filter_map(|result| async move { result.ok() })
        .collect()
        .await;
    assert_eq!(found.len(), 2);
    assert_eq!(
        api.requests("/jobs")[0].param("q"),
        Some("rust"),
        "the API's own search"
    );
}
