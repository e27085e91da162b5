//! APIs that send what no API should: empty pages that link on for ever, values at a
//! paginator's path that JSON allows but a program cannot hold, and a `Content-Length` no body
//! will meet. Each ends the walk, with an error that says what and where where one is due, never
//! a panic, an aborted process or a walk without end.

use hamstr::{Service, paginate::NextLink, testing::MockApi, testing::MockResponse};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use super::list_until_error;

/// A next link that is a number out of range, a lone surrogate, or nested past any limit: the
/// page's records are handed on, then the walk ends with an error naming the path and the start
/// of the value.
#[tokio::test]
async fn odd_values_at_the_next_path_are_errors() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for next in ["1e999999", r#""\ud800""#, deep.as_str()] {
        let api = MockApi::start().await;
        let body = format!(r#"{{"data": [{{"id": 1}}], "next": {next}}}"#);
        api.route(
            "/items",
            MockResponse::text(200, body).header("content-type", "application/json"),
        );
        let service = Service::new(api.url())
            .records("data")
            .paginator(NextLink::at("next"));
        let (records, error) = list_until_error(&service, "items").await;
        // The page's own records are good: they are handed on, then the walk ends.
        assert_eq!(records.len(), 1, "{records:?}");
        let error = error.expect("an error, not a panic").to_string();
        assert!(error.contains("at `next`"), "{error}");
        assert!(error.contains("within JSON's limits"), "{error}");
        assert!(error.len() < 400, "the value is cut short: {error}");
    }
}

/// A server that claims a body of 900 TB and sends a few bytes: with the body limit raised to
/// the maximum, nothing is allocated on the claim's word; the cut body is an error.
#[tokio::test]
async fn a_huge_content_length_is_not_allocated() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        // Every attempt of the retries gets the same lie.
        while let Ok((mut socket, _)) = listener.accept().await {
            // Read the request (a GET fits one read), so the answer is not met by a reset.
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 900000000000000\r\n\r\n{\"data\": [";
            let _ = socket.write_all(answer.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    let service = Service::new(format!("http://127.0.0.1:{port}/"))
        .records("data")
        .max_body_bytes(usize::MAX)
        .retry(hamstr::service::RetryPolicy::none());
    let (records, error) = list_until_error(&service, "items").await;
    assert!(records.is_empty());
    let error = error.expect("a cut body is an error").to_string();
    assert!(error.contains("got no complete answer"), "{error}");
    server.abort();
}

/// Pages of `records` (a list of ids each), each linking to the next with a URL never seen.
fn linked_pages(api: &MockApi, pages: &[&[i64]]) {
    let responses = pages
        .iter()
        .enumerate()
        .map(|(index, ids)| {
            let data: Vec<_> = ids.iter().map(|id| json!({"id": id})).collect();
            let next = format!("{}items?page={}", api.url(), index + 2);
            MockResponse::json(json!({"data": data, "next": next}))
        })
        .collect::<Vec<_>>();
    api.route("/items", responses);
}

/// An API whose empty pages always link to one more (each URL new, so no repeat is seen): the
/// first empty page ends the walk, quietly, as peers do; `empty_pages(n)` lets n in a row lead on.
#[tokio::test]
async fn empty_pages_that_link_on_end_the_walk() {
    let api = MockApi::start().await;
    linked_pages(&api, &[&[1, 2], &[], &[], &[3], &[], &[], &[], &[4]]);
    let service = Service::new(api.url())
        .records("data")
        .paginator(NextLink::at("next"));
    let (records, error) = list_until_error(&service, "items").await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(records.len(), 2);
    assert_eq!(
        api.requests("/items").len(),
        2,
        "the first empty page is the last"
    );

    let api = MockApi::start().await;
    linked_pages(&api, &[&[1, 2], &[], &[], &[3], &[], &[], &[], &[4]]);
    let service = Service::new(api.url())
        .records("data")
        .paginator(NextLink::at("next"))
        .empty_pages(2);
    let (records, error) = list_until_error(&service, "items").await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        records.len(),
        3,
        "two empty pages in a row led on, the third ended the walk"
    );
    assert_eq!(api.requests("/items").len(), 7);
}

/// An API that echoes the credentials it received into its error message or error page: the
/// error hamstr makes of it shows `***` in their place, for every kind of auth, in every form
/// they went out in (basic auth's as the base64 of `alice:pa55-word!`).
#[tokio::test]
async fn echoed_credentials_are_masked() {
    use hamstr::Secret;
    type Build = fn(Service) -> Service;
    let cases: [(Build, &[&str]); 4] = [
        (
            |service| service.bearer_auth(Secret::new("tok-s3cret-123")),
            &["tok-s3cret-123"],
        ),
        (
            |service| service.api_key_header("X-Key", Secret::new("hdr-s3cret")),
            &["hdr-s3cret"],
        ),
        (
            |service| service.api_key_query("api_key", Secret::new("k3y s3cret/+&")),
            &["k3y s3cret/+&", "k3y+s3cret%2F%2B%26"],
        ),
        (
            |service| service.basic_auth("alice", Secret::new("pa55-word!")),
            &["pa55-word!", "YWxpY2U6cGE1NS13b3JkIQ=="],
        ),
    ];
    for (with_auth, echoed) in cases {
        let echo = echoed.join(" and ");
        for (status, body) in [
            (400, format!("bad request: you sent {echo}")),
            (
                500,
                format!("<html><body>crash; headers: {echo}</body></html>"),
            ),
            (200, format!("<html>debug page: {echo}</html>")),
        ] {
            let api = MockApi::start().await;
            api.route("/items", MockResponse::text(status, body));
            let service =
                with_auth(Service::new(api.url())).retry(hamstr::service::RetryPolicy::none());
            let (_, error) = list_until_error(&service, "items").await;
            let error = error.expect("an error").to_string();
            for secret in echoed {
                assert!(!error.contains(secret), "{status}: {error}");
            }
            assert!(error.contains("***"), "{status}: {error}");
        }
    }
}

/// A redirect on the service's origin is followed with every credential, a query key included;
/// a redirect loop is called one, not blamed on the origin rule.
#[tokio::test]
async fn redirects_keep_a_query_key_and_loops_are_named() {
    use hamstr::{
        Secret,
        testing::{MockAuth, MockResponse},
    };
    let api = MockApi::start().await;
    api.require_auth(MockAuth::query("api_key", "k3y"));
    api.route(
        "/items",
        MockResponse::status(307).header("location", "/p2"),
    );
    api.route(
        "/p2",
        MockResponse::json(json!({"data": [{"id": 1}, {"id": 2}]})),
    );
    api.route(
        "/loop",
        MockResponse::status(302).header("location", "/loop"),
    );
    let service = Service::new(api.url())
        .records("data")
        .api_key_query("api_key", Secret::new("k3y"))
        .retry(hamstr::service::RetryPolicy::none());
    let (records, error) = list_until_error(&service, "items").await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(records.len(), 2);
    assert_eq!(api.requests("/p2")[0].param("api_key"), Some("k3y"));

    let (_, error) = list_until_error(&service, "loop").await;
    let error = error.expect("a loop is an error").to_string();
    assert!(
        error.contains("redirected 10 times without an answer: a redirect loop"),
        "{error}"
    );
    assert!(!error.contains("k3y"), "{error}");
}

/// A record holding a number no `f64` holds: reading the page's records as JSON values is an
/// error naming the record and the field, not a panic; the other records read.
#[tokio::test]
async fn a_number_beyond_f64_in_a_record_is_an_error() {
    use futures_util::{StreamExt, TryStreamExt};
    let api = MockApi::start().await;
    let body = r#"{"data": [{"id": 1}, {"id": 2, "big": 1e999999}, {"id": 3}]}"#;
    api.route(
        "/items",
        MockResponse::text(200, body).header("content-type", "application/json"),
    );
    let service = Service::new(api.url()).records("data");
    let pages: Vec<hamstr::service::Page> =
        service.list_pages("items").try_collect().await.unwrap();
    let error = pages[0].values().expect_err("not a value").to_string();
    assert!(
        error.contains("big") && error.contains("record 1"),
        "{error}"
    );
    // The stream of records says the same of that record, and goes on to the next.
    let items: Vec<_> = service.list("items").collect().await;
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok() && items[2].is_ok());
    let misfit = items[1].as_ref().expect_err("not a value").to_string();
    assert!(misfit.contains("big"), "{misfit}");
}

/// A server whose queue of connections is full drops new ones: the connect timeout ends the
/// request, and the error says it was the connect timeout, not the request's.
#[tokio::test]
async fn a_connect_timeout_is_called_so() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    // Never accepted: once its backlog is full, the kernel drops new connections' SYNs.
    let listener = socket.listen(1).unwrap();
    let mut held = Vec::new();
    for _ in 0..8 {
        let connecting = tokio::net::TcpStream::connect(addr);
        match tokio::time::timeout(std::time::Duration::from_millis(100), connecting).await {
            Ok(Ok(stream)) => held.push(stream),
            _ => break, // the queue is full
        }
    }
    let service = Service::new(format!("http://{addr}/"))
        .connect_timeout(std::time::Duration::from_millis(200))
        .timeout(std::time::Duration::from_secs(30))
        .retry(hamstr::service::RetryPolicy::none());
    let (_, error) = list_until_error(&service, "items").await;
    let error = error.expect("no connection").to_string();
    assert!(
        error.contains("the connect timeout") && error.contains("200ms"),
        "{error}"
    );
    assert!(!error.contains("30s"), "{error}");
    drop((held, listener));
}
