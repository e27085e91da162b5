//! Every auth kind, and the rules that keep credentials secret and at home.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use hamstr::{
    Error, HttpError, Secret, Service,
    auth::{Auth, Request},
    paginate::NextLink,
    testing::{Collection, MockApi, MockAuth, MockResponse, Paging},
};
use serde_json::json;

use super::{items, list_all, list_until_error};

const TOKEN: &str = "tok_9f8e7d6c5b4a";

async fn guarded(auth: MockAuth) -> MockApi {
    let api = MockApi::start().await;
    api.route("/items", Collection::new(items(3)).records_at("data"));
    api.require_auth(auth);
    api
}

/// Bearer, API key in a header, API key in the query, and basic auth are each accepted by a
/// server that requires them, and refused without.
#[tokio::test]
async fn every_auth_kind_is_sent_as_the_server_expects() {
    let cases: Vec<(MockAuth, Auth)> = vec![
        (MockAuth::bearer(TOKEN), Auth::bearer(Secret::new(TOKEN))),
        (
            MockAuth::header("X-API-Key", TOKEN),
            Auth::api_key_header("X-API-Key", Secret::new(TOKEN)),
        ),
        (
            MockAuth::query("api_key", TOKEN),
            Auth::api_key_query("api_key", Secret::new(TOKEN)),
        ),
        (
            MockAuth::basic("me", TOKEN),
            Auth::basic("me", Secret::new(TOKEN)),
        ),
    ];
    for (required, auth) in cases {
        let api = guarded(required.clone()).await;
        let anonymous = Service::new(api.url()).records("data");
        let error = list_all(&anonymous, "items").await.unwrap_err();
        assert_eq!(http_status(&error), Some(401), "{required:?}");
        let service = Service::new(api.url()).records("data").auth(auth);
        assert_eq!(
            list_all(&service, "items").await.unwrap().len(),
            3,
            "{required:?}"
        );
    }
}

fn http_status(error: &Error) -> Option<u16> {
    match error {
        Error::Http(error) => error.status().map(|status| status.as_u16()),
        _ => None,
    }
}

/// A custom hook sees the finished request and can sign it.
#[tokio::test]
async fn a_custom_hook_signs_each_request() {
    let api = guarded(MockAuth::header("X-Signature", "sig:/items")).await;
    let service = Service::new(api.url())
        .records("data")
        .auth(Auth::custom_fn(|request: &mut Request| {
            let signature = format!("sig:{}", request.url().path());
            request
                .headers_mut()
                .insert("x-signature", signature.parse()?);
            Ok(())
        }));
    assert_eq!(list_all(&service, "items").await.unwrap().len(), 3);
}

/// Default headers, query parameters and a user agent naming hamstr go on every request.
#[tokio::test]
async fn default_headers_params_and_user_agent_are_sent() {
    let api = MockApi::start().await;
    api.route("/items", Collection::new(items(2)).records_at("data"));
    let service = Service::new(api.url())
        .records("data")
        .header("Accept", "application/json")
        .param("locale", "nl_NL");
    list_all(&service, "items").await.unwrap();
    let request = &api.requests("/items")[0];
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(request.param("locale"), Some("nl_NL"));
    let agent = request.header("user-agent").unwrap();
    assert!(
        agent.starts_with("hamstr/") && agent.contains(env!("CARGO_PKG_VERSION")),
        "{agent}"
    );
}

/// A next link to another host is refused before any request goes there, so credentials
/// never reach it; what came before is kept.
#[tokio::test]
async fn a_next_link_to_another_host_is_refused() {
    let elsewhere = MockApi::start().await;
    elsewhere.route("/steal", Collection::new(items(1)).records_at("data"));
    let api = MockApi::start().await;
    api.route(
        "/items",
        MockResponse::json(
            json!({"data": [{"n": 1}], "next": format!("{}steal?page=2", elsewhere.url())}),
        ),
    );
    let service = Service::new(api.url())
        .records("data")
        .paginator(NextLink::at("next"))
        .api_key_query("api_key", Secret::new(TOKEN));
    let (records, error) = list_until_error(&service, "items").await;
    assert_eq!(records.len(), 1);
    let error = error.unwrap();
    assert!(
        matches!(error, Error::Http(HttpError::ForeignOrigin { .. })),
        "{error:?}"
    );
    assert!(error.to_string().contains("gets no credentials"), "{error}");
    assert_eq!(elsewhere.request_count(), 0);
}

/// A redirect to another host is not followed.
#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let elsewhere = MockApi::start().await;
    let api = MockApi::start().await;
    api.route(
        "/items",
        MockResponse::status(302).header("Location", format!("{}collect", elsewhere.url())),
    );
    let service = Service::new(api.url()).bearer_auth(Secret::new(TOKEN));
    let error = list_all(&service, "items").await.unwrap_err();
    assert!(error.to_string().contains("is not followed"), "{error}");
    assert_eq!(elsewhere.request_count(), 0);
}

/// A redirect on the same host is followed.
#[tokio::test]
async fn a_redirect_on_the_same_host_is_followed() {
    let api = MockApi::start().await;
    api.route("/old", MockResponse::status(301).header("Location", "/new"));
    api.route("/new", Collection::new(items(2)).records_at("data"));
    let service = Service::new(api.url()).records("data");
    assert_eq!(list_all(&service, "old").await.unwrap().len(), 2);
}

/// A writer that keeps everything logged, to search it for secrets.
#[derive(Clone, Default)]
pub(super) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Captures every log line of this thread, at trace level, until the guard is dropped.
    pub(super) fn trace() -> (Self, tracing::subscriber::DefaultGuard) {
        let captured = Self::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (captured, tracing::subscriber::set_default(subscriber))
    }

    /// Everything logged so far.
    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Neither logs (at trace level), nor errors, nor `Debug` output show a credential, whichever
/// way it is sent, also when the API rejects it.
#[tokio::test]
async fn credentials_never_appear_in_logs_errors_or_debug() {
    let (captured, _guard) = Captured::trace();

    let mut shown = String::new();
    let auths = [
        Auth::bearer(Secret::new(TOKEN)),
        Auth::api_key_header("X-API-Key", Secret::new(TOKEN)),
        Auth::api_key_query("key", Secret::new(TOKEN)),
        Auth::api_key_query("my_custom_key", Secret::new(TOKEN)),
        Auth::basic("me", Secret::new(TOKEN)),
    ];
    for auth in auths {
        let api = MockApi::start().await;
        api.route(
            "/items",
            Collection::new(items(25))
                .records_at("data")
                .paging(Paging::page_number()),
        );
        api.require_auth(MockAuth::bearer("a different token"));
        let service = Service::new(api.url()).records("data").auth(auth);
        let error = list_all(&service, "items").await.unwrap_err();
        shown.push_str(&format!("{error}\n{error:?}\n{service:?}\n"));
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            shown.push_str(&format!("{cause}\n{cause:?}\n"));
            source = cause.source();
        }
        // It really was sent: the server saw it.
        let received = format!("{:?}", api.requests("/items")[0]);
        assert!(
            received.contains(TOKEN) || received.contains("Basic "),
            "{received}"
        );
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("answered 401") || logs.contains("response"),
        "logging was captured: {logs}"
    );
    assert!(!logs.contains(TOKEN), "{logs}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("my_custom_key=***"), "{shown}");
}

/// The API's own error message is part of the error (a 401 to a service without credentials is
/// the endpoint's answer, not refused credentials).
#[tokio::test]
async fn an_error_status_reports_the_api_message() {
    let api = MockApi::start().await;
    api.route(
        "/items",
        MockResponse {
            status: 401,
            ..MockResponse::json(json!({"message": "Bad credentials"}))
        },
    );
    let error = list_all(&Service::new(api.url()), "items")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "127.0.0.1: {}items answered 401 Unauthorized: Bad credentials",
            api.url()
        )
    );
}

/// A body larger than the limit is refused, not read into memory.
#[tokio::test]
async fn a_body_over_the_limit_is_an_error() {
    let api = MockApi::start().await;
    api.route("/items", Collection::new(items(500)).records_at("data"));
    let service = Service::new(api.url()).records("data").max_body_bytes(4096);
    let error = list_all(&service, "items").await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("larger than the limit of 4096 bytes"),
        "{error}"
    );
}

/// A server slower than the request timeout gives a clear error once retries run out.
#[tokio::test]
async fn a_slow_answer_times_out() {
    let api = MockApi::start().await;
    api.route("/items", Collection::new(items(1)).records_at("data"));
    api.inject(
        "/items",
        hamstr::testing::Fault::Delay(Duration::from_secs(5)),
        2,
    );
    let service = Service::new(api.url())
        .records("data")
        .timeout(Duration::from_millis(200))
        .retry(
            hamstr::service::RetryPolicy::new()
                .max_attempts(2)
                .delays(Duration::from_millis(1), Duration::from_millis(1)),
        );
    let error = list_all(&service, "items").await.unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("items did not answer within 200ms (after 2 attempts)"),
        "{error}"
    );
    // The next one answers in time.
    assert_eq!(list_all(&service, "items").await.unwrap().len(), 1);
}
