//! Record paths, bodies that are not what they should be, and faults half way through a walk.

use futures_util::{StreamExt, TryStreamExt};
use hamstr::{
    Service, SourceError,
    records::Records,
    service::RetryPolicy,
    testing::{Collection, Fault, MockApi, MockResponse},
};
use serde_json::json;
use std::time::Duration;

use super::{items, list_all, list_until_error, numbers, paged_api, paged_service};

/// Records are found at a nested path, a top-level key, or as the body itself.
#[tokio::test]
async fn records_are_found_at_any_path() {
    for path in ["_embedded.payments", "data", "result.items", ""] {
        let api = MockApi::start().await;
        api.route("/x", Collection::new(items(4)).records_at(path));
        let service = Service::new(api.url()).records(path);
        assert_eq!(
            numbers(&list_all(&service, "x").await.unwrap()),
            [1, 2, 3, 4],
            "{path:?}"
        );
    }
}

/// A single object can be the record, for APIs that return one thing.
#[tokio::test]
async fn a_single_object_can_be_the_record() {
    let api = MockApi::start().await;
    api.route(
        "/me",
        MockResponse::json(json!({"user": {"login": "octocat", "n": 1}})),
    );
    let service = Service::new(api.url()).records(Records::object("user"));
    assert_eq!(
        list_all(&service, "me").await.unwrap(),
        [json!({"login": "octocat", "n": 1})]
    );
}

/// Records stream page by page: taking the first record fetches only the first page.
#[tokio::test]
async fn records_stream_as_pages_arrive() {
    let api = paged_api("/big", 1000).await;
    let service = paged_service(&api);
    let mut stream = std::pin::pin!(service.list("big"));
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first["n"], 1);
    assert_eq!(api.request_count(), 1);
    let eleventh = stream.as_mut().skip(9).next().await.unwrap().unwrap();
    assert_eq!(eleventh["n"], 11);
    assert_eq!(api.request_count(), 2);
}

/// An HTML error page with status 200 is retried; when it persists, the error names the URL,
/// what the body starts with and the attempts; the records of earlier pages were delivered.
#[tokio::test]
async fn an_html_page_is_retried_then_reported_with_its_url() {
    let api = paged_api("/items", 30).await;
    api.inject("/items", Fault::HtmlPage, 1);
    let service = quickly_retried(paged_service(&api));
    assert_eq!(list_all(&service, "items").await.unwrap().len(), 30);
    assert_eq!(
        api.request_count(),
        5,
        "3 pages, the empty one after them, one retry"
    );

    let mut stream = std::pin::pin!(service.list_pages("items"));
    let first = stream.try_next().await.unwrap().unwrap();
    assert_eq!(first.len(), 10);
    api.inject("/items", Fault::HtmlPage, 3);
    let error = stream.try_next().await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("127.0.0.1: {}items?", api.url())),
        "{message}"
    );
    assert!(message.contains("page=2"), "{message}");
    assert!(
        message.contains("is not JSON (it starts with `<!DOCTYPE html>"),
        "{message}"
    );
    assert!(message.ends_with("(after 3 attempts)"), "{message}");
    assert!(stream.next().await.is_none());
}

/// A body cut short and a connection dropped mid-body are retried, and reported when they
/// persist.
#[tokio::test]
async fn truncated_and_dropped_bodies_are_retried() {
    for (fault, expected) in [
        (Fault::TruncatedBody, "is not JSON"),
        (Fault::DropConnection, "got no complete answer"),
    ] {
        let api = paged_api("/items", 30).await;
        api.inject("/items", fault.clone(), 2);
        let service = quickly_retried(paged_service(&api));
        assert_eq!(list_all(&service, "items").await.unwrap().len(), 30);
        api.inject("/items", fault.clone(), 3);
        let (records, error) = list_until_error(&service, "items").await;
        assert!(records.is_empty());
        let error = error.unwrap();
        assert!(error.to_string().contains(expected), "{fault:?}: {error}");
        assert!(
            error.to_string().ends_with("(after 3 attempts)"),
            "{fault:?}: {error}"
        );
    }
}

/// An error printed with `{}` (as `main` returning it does) carries its cause on the same line:
/// a refused connection says so, without the URL's query string.
#[tokio::test]
async fn a_refused_connection_says_why() {
    // A port that was just free: nothing listens there once the listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let service = quickly_retried(Service::new(format!("http://127.0.0.1:{port}/")));
    let error = list_all(&service, "items?token=s3cret")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("got no complete answer: "), "{error}");
    assert!(error.to_lowercase().contains("refused"), "{error}");
    assert!(!error.contains("s3cret"), "{error}");
    assert!(error.ends_with("(after 3 attempts)"), "{error}");
}

/// Something other than an array where the records should be is an error saying what was found.
#[tokio::test]
async fn a_wrong_shape_says_what_it_found() {
    let api = MockApi::start().await;
    api.route("/items", MockResponse::json(json!({"data": {"id": 1}})));
    api.route("/other", MockResponse::json(json!({"results": []})));
    let service = Service::new(api.url()).records("data");
    let error = list_all(&service, "items").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}items: expected an array of records at `data`, found an object",
            api.url()
        )
    );
    let error = list_all(&service, "other").await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("has nothing at the records path `data`"),
        "{error}"
    );
}

#[derive(Debug, serde::Deserialize)]
struct Item {
    id: String,
    n: u32,
}

/// A record that does not fit the type is reported with its position and field, and the
/// stream goes on with the next one.
#[tokio::test]
async fn a_misfit_record_is_reported_and_the_rest_decode() {
    let api = MockApi::start().await;
    let mut records = items(3);
    records[1]["n"] = json!("two");
    api.route("/items", Collection::new(records).records_at("data"));
    let service = Service::new(api.url()).records("data");
    let results: Vec<Result<Item, SourceError>> = service.list_as::<Item>("items").collect().await;
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().unwrap().id, "r1");
    assert_eq!(results[2].as_ref().unwrap().n, 3);
    let error = results[1].as_ref().unwrap_err();
    let SourceError::Decode(decode) = error else {
        panic!("{error:?}")
    };
    assert_eq!((decode.index, decode.path.as_str()), (1, "n"));
    assert!(
        error
            .to_string()
            .contains("record 1 does not fit: at `n`: invalid type: string \"two\""),
        "{error}"
    );
}

/// A server error is retried; one that persists ends the walk with the status, the API's
/// message and the attempts, and keeps earlier pages. A 4xx is not retried.
#[tokio::test]
async fn a_server_error_ends_the_walk_after_the_pages_before_it() {
    let api = paged_api("/items", 30).await;
    let service = quickly_retried(paged_service(&api));
    let mut pages = std::pin::pin!(service.list_pages("items"));
    assert_eq!(pages.try_next().await.unwrap().unwrap().len(), 10);
    api.inject("/items", Fault::Status(503), 3);
    let error = pages.try_next().await.unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("answered 503 Service Unavailable: injected 503 (after 3 attempts)"),
        "{error}"
    );
    assert_eq!(api.request_count(), 4);

    api.inject("/items", Fault::Status(422), 1);
    let (records, error) = list_until_error(&service, "items").await;
    assert!(records.is_empty());
    let error = error.unwrap();
    assert!(
        error
            .to_string()
            .ends_with("answered 422 Unprocessable Entity: injected 422"),
        "{error}"
    );
    assert_eq!(api.request_count(), 5, "a 422 is sent once");
}

/// `service` retried 3 times in all, with waits of a few milliseconds.
fn quickly_retried(service: Service) -> Service {
    service.retry(
        RetryPolicy::new()
            .max_attempts(3)
            .delays(Duration::from_millis(1), Duration::from_millis(5)),
    )
}
