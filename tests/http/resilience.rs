//! Retries, `Retry-After`, rate-limit headers and quotas, the client-side budget, conditional
//! requests and refused credentials, against the mock's fault modes. Times are measured on the
//! server (`received_at`), in real time with millisecond settings.

use std::time::{Duration, Instant};

use futures_util::future;
use hamstr::{
    CollectorSpec, Error, Hamstr, HttpError, Model, Secret, Service,
    backend::MemoryBackend,
    paginate::PageNumber,
    report::RunReport,
    service::RetryPolicy,
    testing::{Collection, Fault, MockApi, MockAuth, MockRateLimit, MockResponse, Validators},
};
use serde_json::json;
use tokio::sync::oneshot;

use super::{items, list_all, paged_api, paged_service};

#[derive(Debug, Model, serde::Deserialize)]
#[hamstr(name = "items")]
struct Item {
    #[hamstr(primary_key)]
    id: String,
    n: u32,
}

/// Retries with waits of a few milliseconds, so tests spend their time on what they measure.
fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::new()
        .max_attempts(attempts)
        .delays(Duration::from_millis(1), Duration::from_millis(20))
}

/// One run of `service`'s collector of `endpoint` into `store`.
async fn run_once(service: &Service, endpoint: &str, store: &MemoryBackend) -> RunReport {
    let service = service
        .clone()
        .add_collector(CollectorSpec::endpoint(endpoint).model::<Item>());
    let report = Hamstr::new()
        .backend(store.clone())
        .register_service(service)
        .run_once()
        .await
        .unwrap();
    report.runs.into_iter().next().unwrap()
}

/// When the server received each request, in order.
fn arrival_times(api: &MockApi) -> Vec<Instant> {
    api.all_requests()
        .iter()
        .map(|request| request.received_at)
        .collect()
}

/// Another program with the same token sends `count` requests.
async fn other_application_uses(api: &MockApi, count: usize) {
    let client = hamstr::reqwest::Client::new();
    for _ in 0..count {
        client
            .get(format!("{}items", api.url()))
            .send()
            .await
            .unwrap();
    }
}

/// With about one request in five failing, in every way a request can fail (server errors,
/// 429 with `Retry-After: 0`, timeouts, HTML error pages, truncated bodies, connections dropped
/// mid-body), every record is collected and stored exactly once.
#[tokio::test]
async fn everything_is_collected_exactly_despite_one_failure_in_five() {
    let api = paged_api("/items", 300).await;
    let faults = [
        Fault::Status(500),
        Fault::HtmlPage,
        Fault::Status(502),
        Fault::TruncatedBody,
        Fault::Status(503),
        Fault::DropConnection,
        Fault::Status(504),
        Fault::Delay(Duration::from_secs(2)),
        Fault::RetryAfter {
            status: 429,
            value: "0".into(),
        },
        Fault::Status(408),
    ];
    // 30 pages and their retries: every fifth request fails, some twice in a row.
    let mut kinds = faults.iter().cycle();
    for request in 0..60 {
        let fault = match request % 5 {
            2 => kinds.next().unwrap().clone(),
            3 if request % 15 == 3 => kinds.next().unwrap().clone(),
            _ => Fault::Delay(Duration::ZERO),
        };
        api.inject("/items", fault, 1);
    }
    let service = paged_service(&api)
        .timeout(Duration::from_millis(300))
        .retry(fast_retries(4));
    let store = MemoryBackend::new();
    let report = run_once(&service, "items", &store).await;
    assert!(report.is_success(), "{report}");
    // 30 pages of 10, and the empty page that ends the walk.
    assert_eq!((report.pages, report.records), (31, 300), "{report}");
    assert_eq!((report.inserted, report.updated), (300, 0), "{report}");
    let mut stored: Vec<String> = store
        .records("items")
        .into_iter()
        .map(|record| record["id"].as_str().unwrap().to_owned())
        .collect();
    stored.sort();
    stored.dedup();
    assert_eq!(stored.len(), 300);
    // Every kind of fault was served at least once, and each cost one more request.
    let failed = api.request_count() - 31;
    assert!(
        failed >= faults.len(),
        "{failed} requests failed and were retried"
    );
}

/// A 503 with `Retry-After: 1` pauses every request to the service for a second, not only the
/// retried one.
#[tokio::test]
async fn retry_after_pauses_the_whole_service() {
    let api = MockApi::start().await;
    api.route("/a", Collection::new(items(3)).records_at("data"));
    api.route("/b", Collection::new(items(2)).records_at("data"));
    api.inject(
        "/a",
        Fault::RetryAfter {
            status: 503,
            value: "1".into(),
        },
        1,
    );
    let service = Service::new(api.url())
        .records("data")
        .retry(fast_retries(3));
    let walk_a = tokio::spawn({
        let service = service.clone();
        async move { list_all(&service, "a").await }
    });
    // Once the client has seen the 503, a request to another endpoint waits too.
    while service
        .rate_limit()
        .is_none_or(|limit| limit.paused_until.is_none())
    {
        tokio::task::yield_now().await;
    }
    assert_eq!(list_all(&service, "b").await.unwrap().len(), 2);
    assert_eq!(walk_a.await.unwrap().unwrap().len(), 3);
    let refused_at = api.requests("/a")[0].received_at;
    let retried_at = api.requests("/a")[1].received_at;
    let b_at = api.requests("/b")[0].received_at;
    assert!(retried_at - refused_at >= Duration::from_secs(1));
    assert!(b_at - refused_at >= Duration::from_secs(1));
    assert_eq!(api.request_count(), 3);
}

/// `Retry-After: 0` still waits the initial delay (no tight loop), and an absurd `Retry-After`
/// is cut to the service's `max_wait`.
#[tokio::test]
async fn retry_after_zero_and_absurd_waits_are_tamed() {
    for (value, at_least, at_most) in [("0", 100, 1000), ("86400", 300, 3000)] {
        let api = MockApi::start().await;
        api.route("/a", Collection::new(items(1)).records_at("data"));
        api.inject(
            "/a",
            Fault::RetryAfter {
                status: 429,
                value: value.into(),
            },
            1,
        );
        let policy = RetryPolicy::new()
            .delays(Duration::from_millis(100), Duration::from_millis(100))
            .max_wait(Duration::from_millis(300));
        let service = Service::new(api.url()).records("data").retry(policy);
        assert_eq!(list_all(&service, "a").await.unwrap().len(), 1);
        let times = arrival_times(&api);
        let gap = times[1] - times[0];
        assert!(
            gap >= Duration::from_millis(at_least) && gap < Duration::from_millis(at_most),
            "Retry-After: {value}: {gap:?}"
        );
    }
}

/// A rate-limit reset further away than `max_wait` (GitHub's first answer of an hour's window,
/// 3601 s away with a `max_wait` of an hour) is no news while the quota lasts: nothing is
/// logged about it. Only when requests do wait for it does a warning say the wait was cut.
#[tokio::test]
async fn a_far_reset_is_warned_of_only_when_requests_wait() {
    let captured = super::auth_and_secrets::Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let cut = "further away than the service's max_wait";

    let api = paged_api("/items", 30).await;
    api.rate_limit(MockRateLimit::github(100, Duration::from_secs(3601)));
    let store = MemoryBackend::new();
    let report = run_once(&paged_service(&api), "items", &store).await;
    assert!(report.is_success(), "{report}");
    assert!(!captured.text().contains("max_wait"), "{}", captured.text());

    // A quota of 2 in that window, and a `max_wait` of 50 ms: the third page waits, cut short.
    let api = paged_api("/items", 30).await;
    api.rate_limit(MockRateLimit::github(2, Duration::from_secs(3601)));
    let service = paged_service(&api).retry(
        RetryPolicy::new()
            .max_attempts(1)
            .max_wait(Duration::from_millis(50)),
    );
    let _ = run_once(&service, "items", &store).await;
    assert_eq!(
        captured.text().matches(cut).count(),
        1,
        "{}",
        captured.text()
    );
}

/// A service walking more pages than its quota allows pauses until each reset: no request
/// arrives while the quota is used up, and the walk completes. For GitHub's headers (epoch
/// reset), the IETF draft's (seconds) and its structured fields.
#[tokio::test]
async fn no_request_is_sent_while_the_quota_is_used_up() {
    let window = Duration::from_millis(1200);
    let styles = [
        ("github", MockRateLimit::github(4, window)),
        ("ietf", MockRateLimit::ietf(4, window)),
        ("structured", MockRateLimit::structured(4, window)),
    ];
    let checks = styles.into_iter().map(|(style, limit)| async move {
        let api = paged_api("/items", 100).await;
        api.rate_limit(limit);
        let service = paged_service(&api);
        let store = MemoryBackend::new();
        // 10 pages and the empty one after them through a quota of 4 per window: 3 windows.
        let report = run_once(&service, "items", &store).await;
        assert!(report.is_success(), "{style}: {report}");
        assert_eq!(store.records("items").len(), 100, "{style}");
        assert_eq!(api.requests_over_quota(), 0, "{style}");
        assert_eq!(api.request_count(), 11, "{style}");
        let times = arrival_times(&api);
        assert!(times[4] - times[0] >= window, "{style}");
        assert!(times[8] - times[4] >= window, "{style}");
        // The state is there for status pages.
        let limit = service.rate_limit().unwrap();
        assert_eq!(limit.limit, Some(4), "{style}");
    });
    future::join_all(checks).await;
}

/// A run that would start while the quota is used up waits for the reset and succeeds.
#[tokio::test]
async fn a_run_during_an_exhausted_quota_is_postponed_not_failed() {
    let window = Duration::from_millis(1500);
    let api = paged_api("/items", 20).await;
    // Each run reads 2 pages and the empty one after them: the whole quota.
    api.rate_limit(MockRateLimit::github(3, window));
    let service = paged_service(&api);
    let store = MemoryBackend::new();
    assert!(run_once(&service, "items", &store).await.is_success());
    assert_eq!(service.rate_limit().unwrap().remaining, Some(0));
    let second = run_once(&service, "items", &store).await;
    assert!(second.is_success(), "{second}");
    assert_eq!(second.unchanged, 20);
    assert_eq!(api.requests_over_quota(), 0);
    let times = arrival_times(&api);
    assert!(times[3] - times[0] >= window);
}

/// GitHub's 403 "rate limit exceeded" (the quota used up by another application) waits for the
/// reset and tries again; it is not a failure.
#[tokio::test]
async fn a_github_rate_limit_403_waits_for_the_reset() {
    let window = Duration::from_millis(1500);
    let api = paged_api("/items", 20).await;
    api.rate_limit(MockRateLimit::github(3, window));
    other_application_uses(&api, 3).await;
    let service = paged_service(&api).retry(fast_retries(3));
    assert_eq!(list_all(&service, "items").await.unwrap().len(), 20);
    assert_eq!(api.requests_over_quota(), 1);
    let times = arrival_times(&api);
    assert!(
        times[4] - times[0] >= window,
        "the retry waited for the reset"
    );
}

/// A pass's report ends with each service's rate limit as its API last reported it; a service
/// whose API reports none is left out.
#[tokio::test]
async fn a_report_carries_the_rate_limits() {
    let limited = paged_api("/items", 20).await;
    limited.rate_limit(MockRateLimit::github(100, Duration::from_secs(60)));
    let quiet = paged_api("/items", 5).await;
    let collector = || CollectorSpec::endpoint("items").model::<Item>();
    let report = Hamstr::new()
        .backend(MemoryBackend::new())
        .register_service(
            paged_service(&limited)
                .name("limited")
                .add_collector(collector()),
        )
        .register_service(
            paged_service(&quiet)
                .name("quiet")
                .add_collector(collector()),
        )
        .run_once()
        .await
        .unwrap();
    assert!(report.is_success());
    let [(service, limit)] = &report.rate_limits[..] else {
        panic!("{:?}", report.rate_limits);
    };
    assert_eq!(service, "limited");
    assert_eq!(limit.limit, Some(100));
    // Two pages of ten and the empty one after them.
    assert_eq!(limit.remaining, Some(100 - 3));
}

/// GitHub's secondary rate limit (a 403 while requests are left, "You have exceeded a secondary
/// rate limit") pauses the service for a minute, not until the quota's reset half an hour away;
/// a 403 for the quota used up still waits for the reset.
#[tokio::test]
async fn a_secondary_rate_limit_waits_a_minute_not_for_the_reset() {
    let reset = chrono::Utc::now().timestamp() + 1800;
    for (remaining, message, seconds) in [
        (
            4990,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            60..=61,
        ),
        (0, "API rate limit exceeded for user ID 1.", 1795..=1801),
    ] {
        let api = MockApi::start().await;
        let refusal = MockResponse::text(403, json!({ "message": message }).to_string())
            .header("x-ratelimit-limit", "5000")
            .header("x-ratelimit-remaining", remaining.to_string())
            .header("x-ratelimit-reset", reset.to_string());
        api.route("/items", refusal);
        let service = paged_service(&api).retry(fast_retries(1));
        assert!(list_all(&service, "items").await.is_err());
        let paused_until = service.rate_limit().unwrap().paused_until.unwrap();
        let pause = (paused_until - chrono::Utc::now()).num_seconds() + 1;
        assert!(seconds.contains(&pause), "{message}: paused for {pause} s");
        assert_eq!(api.all_requests().len(), 1);
    }
}

/// With `max_quota_fraction(0.5)`, hamstr leaves half of the quota to others: after another
/// application took 3 of 10, hamstr sends 2 and waits for the reset.
#[tokio::test]
async fn the_quota_share_holds() {
    let window = Duration::from_millis(1500);
    let api = paged_api("/items", 60).await;
    api.rate_limit(MockRateLimit::github(10, window));
    other_application_uses(&api, 3).await;
    let service = paged_service(&api).max_quota_fraction(0.5);
    assert_eq!(list_all(&service, "items").await.unwrap().len(), 60);
    let times = arrival_times(&api);
    // 6 pages and the empty one after them.
    assert_eq!(times.len(), 3 + 7);
    // hamstr's first request learns the count (7 left), then one more leaves 5: the share's end.
    assert!(times[4] - times[0] < window);
    assert!(
        times[5] - times[0] >= window,
        "the third waited for the reset"
    );
    // In the next window it takes 5 of 10, no more.
    assert_eq!(api.requests_over_quota(), 0);
}

/// All walks of a service share its budget: at most 2 requests in flight, counted on the
/// server (without the cap, the same load has more in flight), and at most 20 per second.
#[tokio::test]
async fn the_concurrency_cap_and_the_rate_hold_across_walks() {
    async fn max_in_flight(service: impl Fn(&MockApi) -> Service) -> usize {
        let api = MockApi::start().await;
        api.route("/a", Collection::new(items(1)).records_at("data"));
        api.inject("/a", Fault::Delay(Duration::from_millis(100)), 8);
        let service = service(&api);
        let walks = (0..8).map(|_| list_all(&service, "a"));
        for walk in future::join_all(walks).await {
            walk.unwrap();
        }
        api.max_concurrent_requests()
    }
    let plain = |api: &MockApi| Service::new(api.url()).records("data");
    assert_eq!(
        max_in_flight(|api| plain(api).max_concurrent_requests(2)).await,
        2
    );
    assert!(max_in_flight(plain).await > 2);

    // Unless told, a service has at most 64 in flight however many walks it serves, so that
    // collectors that fall behind do not each open a connection of their own.
    let api = MockApi::start().await;
    api.route("/a", Collection::new(items(1)).records_at("data"));
    let walks = 100;
    api.inject("/a", Fault::Delay(Duration::from_millis(100)), walks);
    let service = plain(&api);
    let lists = (0..walks).map(|_| list_all(&service, "a"));
    for walk in future::join_all(lists).await {
        walk.unwrap();
    }
    assert_eq!(
        api.max_concurrent_requests(),
        hamstr::service::Limits::DEFAULT_MAX_CONCURRENT
    );

    let api = MockApi::start().await;
    api.route("/a", Collection::new(items(1)).records_at("data"));
    let service = plain(&api).requests_per_second(20);
    let walks = (0..12).map(|_| list_all(&service, "a"));
    for walk in future::join_all(walks).await {
        walk.unwrap();
    }
    let mut times = arrival_times(&api);
    times.sort();
    let span = *times.last().unwrap() - times[0];
    // Evenly spaced at 50 ms: 11 gaps, less a little for the way from client to server.
    assert!(span >= Duration::from_millis(500), "{span:?}");
}

/// A poll whose answer has not changed is sent with `If-None-Match` (or `If-Modified-Since`),
/// gets a 304, and stores nothing new; with GitHub's quota it costs nothing. A changed page is
/// fetched in full again. Copies are kept from the second poll on: the pages of a walk read once
/// are never kept.
#[tokio::test]
async fn unchanged_pages_are_answered_304() {
    for validators in [Validators::ETag, Validators::LastModified] {
        let api = paged_api("/items", 25).await;
        api.conditional(validators);
        api.rate_limit(MockRateLimit::github(100, Duration::from_secs(600)));
        let service = paged_service(&api);
        let store = MemoryBackend::new();
        let first = run_once(&service, "items", &store).await;
        assert_eq!((first.inserted, first.not_modified), (25, 0), "{first}");
        let full = run_once(&service, "items", &store).await;
        assert_eq!((full.unchanged, full.not_modified), (25, 0), "{full}");
        let remaining = service.rate_limit().unwrap().remaining.unwrap();
        let second = run_once(&service, "items", &store).await;
        assert!(second.is_success(), "{second}");
        assert_eq!(
            (
                second.pages,
                second.not_modified,
                second.unchanged,
                second.inserted
            ),
            (3, 3, 25, 0),
            "{validators:?}: {second}"
        );
        assert_eq!(api.not_modified_count(), 3);
        assert!(
            api.requests("/items")[..6]
                .iter()
                .all(|request| request.header("if-none-match").is_none()
                    && request.header("if-modified-since").is_none()),
            "no validators before a copy is kept"
        );
        let conditional = api.requests("/items")[6].clone();
        let header = match validators {
            Validators::ETag => "if-none-match",
            _ => "if-modified-since",
        };
        assert!(conditional.header(header).is_some(), "{validators:?}");
        assert_eq!(
            service.rate_limit().unwrap().remaining,
            Some(remaining),
            "304s cost no quota"
        );
        let mut changed = items(25);
        changed[24]["n"] = json!(2500);
        api.set_records("/items", changed);
        let third = run_once(&service, "items", &store).await;
        assert_eq!(
            (third.not_modified, third.updated),
            (2, 1),
            "{validators:?}: {third}"
        );
    }
}

/// A 401 stops the service's collectors with a clear error: nothing more is sent to it, while
/// the collectors of another service go on.
#[tokio::test]
async fn refused_credentials_stop_the_services_collectors() {
    let api = MockApi::start().await;
    api.require_auth(MockAuth::Bearer("right".into()));
    api.route("/a", Collection::new(items(2)).records_at("data"));
    api.route("/b", Collection::new(items(2)).records_at("data"));
    let other = MockApi::start().await;
    other.route("/c", Collection::new(items(2)).records_at("data"));
    let refused = Service::new(api.url())
        .name("refused")
        .records("data")
        .bearer_auth(Secret::new("wrong"))
        .add_collector(
            CollectorSpec::endpoint("a")
                .model::<Item>()
                .interval("50ms"),
        )
        .add_collector(
            CollectorSpec::endpoint("b")
                .model::<Item>()
                .name("b")
                .interval("50ms"),
        );
    let working = Service::new(other.url())
        .name("working")
        .records("data")
        .add_collector(
            CollectorSpec::endpoint("c")
                .model::<Item>()
                .name("c")
                .interval("50ms"),
        );
    let store = MemoryBackend::new();
    let (stop, stopped) = oneshot::channel::<()>();
    let app = Hamstr::new()
        .backend(store.clone())
        .register_service(refused.clone())
        .register_service(working);
    let running = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    other.wait_for_requests(6).await;
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    // Each collector sent at most its first request; after the 401 nothing was sent.
    assert!(api.request_count() <= 2, "{}", api.request_count());
    let error = list_all(&refused, "a").await.unwrap_err();
    assert!(
        matches!(error, Error::Http(HttpError::CredentialsRejected { .. })),
        "{error}"
    );
    assert!(api.request_count() <= 2);
    assert!(
        error.to_string().contains("refused the credentials"),
        "{error}"
    );
}

/// A failing request's report names the URL (credentials removed), the status, the attempts and
/// the API's message.
#[tokio::test]
async fn failures_report_url_status_attempts_and_message() {
    let api = MockApi::start().await;
    api.route("/a", Collection::new(items(1)).records_at("data"));
    api.inject("/a", Fault::Status(502), 3);
    let service = Service::new(api.url())
        .records("data")
        .api_key_query("api_key", Secret::new("s3cret"))
        .paginator(PageNumber::new())
        .retry(fast_retries(3));
    let error = list_all(&service, "a").await.unwrap_err();
    let Error::Http(http) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(http.attempts(), 3);
    assert_eq!(
        error.to_string(),
        format!(
            "127.0.0.1: {}a?page=1 answered 502 Bad Gateway: injected 502 (after 3 attempts)",
            api.url()
        )
    );
    assert!(!format!("{error:?}").contains("s3cret"));
}
