//! The HTTP layer against a real local server: paginators, auth and secrets, URL rules,
//! records, the stream API, record and replay, retries and rate limits, hostile servers.

mod auth_and_secrets;
mod combined;
mod files;
mod hostile;
mod oauth2;
mod paginators;
mod record_replay;
mod records_and_faults;
mod resilience;
mod stream_api;

use futures_util::TryStreamExt;
use hamstr::{
    Error, Service,
    paginate::PageNumber,
    testing::{Collection, MockApi, Paging},
};
use serde_json::{Value, json};

/// `count` records `{"id": "r1", "n": 1, ...}`, ids from 1.
fn items(count: usize) -> Vec<Value> {
    (1..=count)
        .map(|n| json!({"id": format!("r{n}"), "n": n, "name": format!("item {n}")}))
        .collect()
}

/// A mock API serving `count` items at `path`, `?page=N&per_page=S`, records in `data`.
async fn paged_api(path: &str, count: usize) -> MockApi {
    let api = MockApi::start().await;
    api.route(
        path,
        Collection::new(items(count))
            .records_at("data")
            .paging(Paging::page_number()),
    );
    api
}

/// A service that walks [`paged_api`] 10 records a page.
fn paged_service(api: &MockApi) -> Service {
    Service::new(api.url())
        .records("data")
        .paginator(PageNumber::new().size("per_page", 10))
}

/// The `n` of each record, in order.
fn numbers(records: &[Value]) -> Vec<u64> {
    records
        .iter()
        .map(|record| record["n"].as_u64().expect("records have n"))
        .collect()
}

/// Lists every record of `endpoint`, stopping at the first error.
async fn list_all(service: &Service, endpoint: &str) -> Result<Vec<Value>, Error> {
    Ok(service.list(endpoint).try_collect().await?)
}

/// Lists until the stream ends, keeping what arrived before an error, and the error.
async fn list_until_error(service: &Service, endpoint: &str) -> (Vec<Value>, Option<Error>) {
    let mut stream = std::pin::pin!(service.list(endpoint));
    let mut records = Vec::new();
    loop {
        match stream.try_next().await {
            Ok(Some(record)) => records.push(record),
            Ok(None) => return (records, None),
            Err(error) => {
                // The stream must end after an error that stops the walk.
                assert!(stream.try_next().await.unwrap().is_none());
                return (records, Some(error.into()));
            }
        }
    }
}
