//! OAuth2 against the mock's token endpoint: the client-credentials and refresh-token grants,
//! tokens reused until they are due and refreshed before they expire, a 401 mid-walk healed by
//! a fresh token (nothing lost, nothing twice), a refused refresh that fails the walk and a
//! service that recovers once tokens are issued again, and no secret in any log line or error.

use std::time::Duration;

use hamstr::{
    Secret, Service,
    service::{OAuth2, RetryPolicy},
    testing::{Collection, MockApi, MockOAuth2, Paging},
};

use super::{auth_and_secrets::Captured, items, list_all, list_until_error};

const SECRET: &str = "client-s3cret-never-shown";
const REFRESH: &str = "first-refresh-t0ken";

/// A mock with 25 items, 10 a page, behind `server`, and a service that asks its token endpoint.
async fn api_behind(server: MockOAuth2) -> MockApi {
    let api = MockApi::start().await;
    api.route(
        "/items",
        Collection::new(items(25))
            .records_at("data")
            .paging(Paging::page_number()),
    );
    api.require_oauth2(server);
    api
}

fn service_with(api: &MockApi, auth: OAuth2) -> Service {
    Service::new(api.url())
        .records("data")
        .paginator(hamstr::paginate::PageNumber::new())
        .retry(RetryPolicy::new().delays(Duration::from_millis(1), Duration::from_millis(5)))
        .auth(auth.into())
}

fn client_credentials(api: &MockApi) -> OAuth2 {
    OAuth2::client_credentials(
        format!("{}oauth/token", api.url()),
        "hamstr",
        Secret::new(SECRET),
    )
    .scopes(["items:read", "items:list"])
}

fn ids(records: &[serde_json::Value]) -> Vec<String> {
    let mut ids: Vec<String> = records
        .iter()
        .map(|record| record["id"].to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_token_is_fetched_once_and_reused_until_it_is_due() {
    let api = api_behind(MockOAuth2::new("hamstr", SECRET).expires_in(3600)).await;
    let service = service_with(&api, client_credentials(&api));
    assert_eq!(list_all(&service, "items").await.unwrap().len(), 25);
    assert_eq!(list_all(&service, "items").await.unwrap().len(), 25);
    assert_eq!(api.tokens_issued(), 1, "one token for six pages");
    let token_request = &api.requests("/oauth/token")[0];
    assert_eq!(token_request.method, "POST");
    assert!(
        token_request
            .body()
            .contains("grant_type=client_credentials")
    );
    assert!(
        token_request
            .body()
            .contains("scope=items%3Aread+items%3Alist")
    );
    assert!(
        !token_request.body().contains(SECRET),
        "basic auth by default"
    );
    assert!(
        token_request
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    for request in api.requests("/items") {
        assert_eq!(
            request.header("authorization"),
            Some("Bearer mock-access-1")
        );
    }

    // A token that lasts no time is due at once: each request fetches another, before it would
    // be refused.
    let api = api_behind(MockOAuth2::new("hamstr", SECRET).expires_in(0)).await;
    let service = service_with(&api, client_credentials(&api).client_secret_in_body());
    assert_eq!(list_all(&service, "items").await.unwrap().len(), 25);
    let pages = api.requests("/items");
    assert_eq!(api.tokens_issued(), pages.len(), "a token per request");
    assert!(
        pages
            .iter()
            .enumerate()
            .all(|(index, page)| page.header("authorization")
                == Some(&format!("Bearer mock-access-{}", index + 1))),
        "no request was refused"
    );
    assert!(
        api.requests("/oauth/token")[0]
            .body()
            .contains("client_id=hamstr")
    );
}

/// The API stops taking a token mid-walk (revoked, or expired before its `expires_in`): the
/// page is asked again with a fresh token, and the walk ends with every record once.
#[tokio::test]
async fn a_401_mid_walk_is_healed_by_a_fresh_token() {
    let api = api_behind(MockOAuth2::new("hamstr", SECRET).uses_per_token(1)).await;
    let service = service_with(&api, client_credentials(&api));
    let records = list_all(&service, "items").await.unwrap();
    assert_eq!(ids(&records), ids(&items(25)), "every record once");
    // A token per page (four requests with the empty last one), each page but the first asked
    // twice: once refused, once with the fresh token.
    assert_eq!(api.tokens_issued(), 4, "a token per page");
    assert_eq!(api.requests("/items").len(), 4 + 3);

    // The refresh-token grant, rotated: each refresh uses the newest refresh token.
    let api = api_behind(
        MockOAuth2::new("hamstr", SECRET)
            .refresh_token(REFRESH)
            .uses_per_token(2),
    )
    .await;
    let auth = OAuth2::refresh_token(
        format!("{}oauth/token", api.url()),
        "hamstr",
        Secret::new(SECRET),
        Secret::new(REFRESH),
    );
    let service = service_with(&api, auth);
    for _ in 0..3 {
        assert_eq!(
            ids(&list_all(&service, "items").await.unwrap()),
            ids(&items(25))
        );
    }
    assert_eq!(api.tokens_issued(), 6, "12 pages, two per token");
    let bodies: Vec<String> = api
        .requests("/oauth/token")
        .iter()
        .map(|request| request.body().to_owned())
        .collect();
    assert!(bodies[0].contains(&format!("refresh_token={REFRESH}")));
    assert!(
        bodies[1].contains("refresh_token=mock-refresh-1"),
        "{bodies:?}"
    );
}

/// A refresh the token endpoint refuses fails the walk with its reason (what came before is
/// kept); once it issues tokens again the same service works again: refused credentials do not
/// stop it for good. No secret shows in logs, errors or `Debug`.
#[tokio::test]
async fn a_refused_refresh_fails_the_walk_and_the_service_recovers() {
    let (captured, _guard) = Captured::trace();

    let api = api_behind(MockOAuth2::new("hamstr", SECRET).refresh_token(REFRESH)).await;
    let auth = OAuth2::refresh_token(
        format!("{}oauth/token", api.url()),
        "hamstr",
        Secret::new(SECRET),
        Secret::new(REFRESH),
    );
    let service = service_with(&api, auth.clone());
    assert_eq!(list_all(&service, "items").await.unwrap().len(), 25);
    api.revoke_tokens();
    api.refuse_token_requests(true);
    let (records, error) = list_until_error(&service, "items").await;
    assert!(records.is_empty());
    let error = error.expect("the walk fails");
    let shown = format!("{error}");
    assert!(shown.contains("refused (400, invalid_grant)"), "{shown}");
    let mut printed = format!("{error}\n{error:?}\n{service:?}\n{auth:?}\n");
    api.refuse_token_requests(false);
    assert_eq!(
        list_all(&service, "items").await.unwrap().len(),
        25,
        "recovered"
    );

    // A wrong client secret: the endpoint's refusal, never the secret.
    let wrong = OAuth2::client_credentials(
        format!("{}oauth/token", api.url()),
        "hamstr",
        Secret::new("not-the-secret"),
    );
    let error = list_all(&service_with(&api, wrong), "items")
        .await
        .unwrap_err();
    assert!(format!("{error}").contains("invalid_client"), "{error}");
    printed.push_str(&format!("{error}\n{error:?}\n"));
    printed.push_str(&captured.text());
    for secret in [SECRET, REFRESH, "mock-refresh-", "mock-access-"] {
        assert!(
            !printed.contains(secret),
            "`{secret}` was shown:\n{printed}"
        );
    }
}

/// A token URL that would send the client secret in clear text is refused before any request.
#[tokio::test]
async fn a_token_url_off_loopback_must_be_https() {
    let api = api_behind(MockOAuth2::new("hamstr", SECRET)).await;
    let auth = OAuth2::client_credentials(
        "http://auth.example.com/token",
        "hamstr",
        Secret::new(SECRET),
    );
    let error = list_all(&service_with(&api, auth), "items")
        .await
        .unwrap_err();
    assert!(format!("{error}").contains("use https"), "{error}");
    assert_eq!(api.request_count(), 0);
}

#[derive(Debug, hamstr::Model, serde::Deserialize)]
#[hamstr(name = "items")]
struct Item {
    #[hamstr(primary_key)]
    id: String,
    n: u32,
}

/// Unlike a fixed credential, refused OAuth2 tokens do not stop the collector for good: while
/// the API refuses every token (even a fresh one) its runs fail and back off, and once it takes
/// them again the next run stores everything.
#[tokio::test]
async fn a_collector_on_refused_tokens_goes_on_and_recovers() {
    let api = api_behind(MockOAuth2::new("hamstr", SECRET).uses_per_token(0)).await;
    let service = service_with(&api, client_credentials(&api)).add_collector(
        hamstr::CollectorSpec::endpoint("items")
            .model::<Item>()
            .interval("20ms"),
    );
    let store = hamstr::backend::MemoryBackend::new();
    let app = hamstr::Hamstr::new()
        .backend(store.clone())
        .register_service(service);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    // Two runs refused: each a token, refused, and a fresh one, refused too.
    let refused_twice = async {
        while api.requests("/items").len() < 4 {
            api.wait_for_requests(api.request_count() + 1).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), refused_twice)
        .await
        .expect("a run after a refused one");
    assert!(store.records("items").is_empty());
    // The API takes tokens again.
    api.require_oauth2(MockOAuth2::new("hamstr", SECRET));
    let recovered = async {
        while store.records("items").len() < 25 {
            api.wait_for_requests(api.request_count() + 1).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), recovered)
        .await
        .expect("the collector runs again once tokens are taken");
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(store.records("items").len(), 25);
}
