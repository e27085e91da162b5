//! A service's `retry:`, `limits:` and `conditional_requests:`: every key read, what is left out
//! keeping the builder's default, and the settings reaching the requests a project sends
//! (counted on a `MockApi`, in real time with millisecond settings).

use std::time::Duration;

use hamstr::{
    Service,
    config::{ServiceConfig, Storage},
    report::Report,
    service::{RetryPolicy, ServiceSettings},
    testing::{Collection, Fault, MockApi, Validators},
};
use serde_json::json;

use crate::parse;

/// The only service of a project whose service holds `keys` (lines indented by 4).
fn service_with(keys: &str) -> ServiceConfig {
    let source = format!("services:\n  api:\n    base_url: https://api.example.com/\n{keys}");
    match parse(&source) {
        Ok(mut project) => project.services.remove(0),
        Err(error) => panic!("{keys}\n{}", error.render()),
    }
}

/// A project with one service `api` at `api`, holding `keys`, with a collector (no interval)
/// of each of `endpoints`.
fn project_source(api: &MockApi, keys: &str, endpoints: &[&str]) -> String {
    let mut source = format!(
        "services:\n  api:\n    base_url: {}\n    records: data\n{keys}    collectors:\n",
        api.url()
    );
    for endpoint in endpoints {
        source.push_str(&format!("      /{endpoint}: {{model: {{id: string}}}}\n"));
    }
    source
}

/// One run of every collector of the project in `source`.
async fn run_once(source: &str) -> Report {
    let app = parse(source).unwrap().into_app(&Storage::memory()).unwrap();
    app.run_once().await.unwrap()
}

/// A `MockApi` serving one record at each of `endpoints`.
async fn api_with(endpoints: &[&str]) -> MockApi {
    let api = MockApi::start().await;
    for endpoint in endpoints {
        api.route(
            &format!("/{endpoint}"),
            Collection::new(vec![json!({"id": "a"})]),
        );
    }
    api
}

/// Every key of `retry` and `limits`, and `conditional_requests`, is read into the service's
/// configuration, and the app built from it passes its checks.
#[test]
fn every_retry_and_limits_key_is_read() {
    let keys = "    retry:
      max_attempts: 8
      initial_delay: 500ms
      max_delay: 1m
      statuses: [429, 500, 502, 503, 504]
      max_wait: 15m
      max_run_backoff: {hours: 2}
    limits:
      requests_per_second: 10
      requests_per_minute: 600
      max_concurrent: 4
      max_quota_fraction: 0.5
    conditional_requests: false
    pages_in_flight: 4
";
    let service = service_with(keys);
    // The YAML keys give the very settings the builder methods of the same names give.
    let built = Service::new("https://api.example.com/")
        .name("api")
        .retry(
            RetryPolicy::new()
                .max_attempts(8)
                .delays(Duration::from_millis(500), Duration::from_secs(60))
                .statuses([429, 500, 502, 503, 504])
                .max_wait(Duration::from_secs(15 * 60))
                .max_run_backoff(Duration::from_secs(2 * 3600)),
        )
        .requests_per_second(10)
        .requests_per_minute(600)
        .max_concurrent_requests(4)
        .max_quota_fraction(0.5)
        .conditional_requests(false)
        .pages_in_flight(4);
    assert_eq!(&service.settings, built.settings());
    assert_eq!(service.settings.pages_in_flight, 4);
    assert_eq!(service.settings.limits.max_quota_fraction, 0.5);
    assert!(!service.settings.conditional_requests);
    let with_collector =
        format!("{keys}    collectors:\n      /items: {{model: {{id: string}}}}\n");
    let source =
        format!("services:\n  api:\n    base_url: https://api.example.com/\n{with_collector}");
    parse(&source)
        .unwrap()
        .into_app(&Storage::memory())
        .and_then(|app| app.check())
        .unwrap();
}

/// A key left out keeps the builder's default; of the two delays, the default of the one left
/// out gives way to the one given.
#[test]
fn keys_left_out_keep_the_defaults() {
    let service = service_with("");
    let defaults = ServiceSettings::default();
    assert_eq!(service.settings.retry, RetryPolicy::new());
    assert_eq!(service.settings.limits, defaults.limits);
    assert!(service.settings.conditional_requests);
    assert_eq!(service.settings.pages_in_flight, 1);
    let millis = Duration::from_millis;
    for (retry, expected) in [
        ("    retry:\n", RetryPolicy::new()),
        ("    retry: {}\n", RetryPolicy::new()),
        (
            "    retry: {max_attempts: 3}\n",
            RetryPolicy::new().max_attempts(3),
        ),
        (
            "    retry: {max_delay: 5s}\n",
            RetryPolicy::new().delays(millis(250), millis(5_000)),
        ),
        (
            "    retry: {max_delay: 100ms}\n",
            RetryPolicy::new().delays(millis(100), millis(100)),
        ),
        (
            "    retry: {initial_delay: 1m}\n",
            RetryPolicy::new().delays(millis(60_000), millis(60_000)),
        ),
        (
            "    retry: {initial_delay: 1s, max_delay: 1s}\n",
            RetryPolicy::new().delays(millis(1_000), millis(1_000)),
        ),
        (
            "    retry: {statuses: []}\n",
            RetryPolicy::new().statuses([]),
        ),
    ] {
        assert_eq!(service_with(retry).settings.retry, expected, "{retry}");
    }
    assert_eq!(
        service_with("    limits: {max_concurrent: 2}\n")
            .settings
            .limits,
        Service::new("https://api.example.com/")
            .max_concurrent_requests(2)
            .settings()
            .limits
    );
    // A limit left out keeps the builder's default, not none.
    assert_eq!(
        service_with("    limits: {requests_per_second: 5}\n")
            .settings
            .limits,
        Service::new("https://api.example.com/")
            .requests_per_second(5)
            .settings()
            .limits
    );
    assert!(
        service_with("    conditional_requests: true\n")
            .settings
            .conditional_requests
    );
}

/// A persistent 503 is tried exactly `max_attempts: 2` times (the default would be 5), and a 500
/// left out of `statuses` is not retried at all.
#[tokio::test]
async fn the_files_retry_settings_reach_the_requests() {
    let api = api_with(&["unavailable", "failing"]).await;
    api.inject("/unavailable", Fault::Status(503), 10);
    api.inject("/failing", Fault::Status(500), 10);
    let retry =
        "    retry: {max_attempts: 2, initial_delay: 1ms, max_delay: 5ms, statuses: [503]}\n";
    let report = run_once(&project_source(&api, retry, &["unavailable", "failing"])).await;
    for collector in ["unavailable", "failing"] {
        let run = report.run("api", collector).unwrap();
        assert!(run.failure.is_some(), "{run}");
    }
    assert_eq!(api.requests("/unavailable").len(), 2);
    assert_eq!(api.requests("/failing").len(), 1);
}

/// `max_concurrent: 1` keeps the service's collectors to one request at a time (without it,
/// the same collectors overlap), and `requests_per_second: 20` spaces requests 50 ms apart.
#[tokio::test]
async fn the_files_limits_reach_the_requests() {
    let endpoints = ["a", "b", "c", "d"];
    let most_in_flight = |keys: &'static str| async move {
        let api = api_with(&endpoints).await;
        for endpoint in endpoints {
            api.inject(
                &format!("/{endpoint}"),
                Fault::Delay(Duration::from_millis(100)),
                1,
            );
        }
        let report = run_once(&project_source(&api, keys, &endpoints)).await;
        assert!(report.runs.iter().all(|run| run.is_success()));
        api.max_concurrent_requests()
    };
    assert_eq!(most_in_flight("    limits: {max_concurrent: 1}\n").await, 1);
    assert!(most_in_flight("").await > 1);

    let endpoints = ["a", "b", "c", "d", "e", "f"];
    let api = api_with(&endpoints).await;
    let keys = "    limits: {requests_per_second: 20}\n";
    run_once(&project_source(&api, keys, &endpoints)).await;
    let mut times: Vec<_> = api
        .all_requests()
        .iter()
        .map(|request| request.received_at)
        .collect();
    times.sort();
    let span = *times.last().unwrap() - times[0];
    // 5 gaps of 50 ms, less a little for the way from client to server.
    assert!(span >= Duration::from_millis(200), "{span:?}");
}

/// With `conditional_requests: false` the third run asks again in full, without
/// `If-None-Match`; by default it asks "only if changed" (the second run keeps the copy) and gets
/// a 304.
#[tokio::test]
async fn conditional_requests_can_be_turned_off() {
    async fn third_request(keys: &str) -> (Option<String>, usize) {
        let api = api_with(&["items"]).await;
        api.conditional(Validators::ETag);
        let source = format!(
            "services:\n  api:\n    base_url: {}\n    records: data\n{keys}    collectors:\n      /items: {{interval: 50ms, model: {{id: string}}}}\n",
            api.url()
        );
        let app = parse(&source)
            .unwrap()
            .into_app(&Storage::memory())
            .unwrap();
        app.run_until(api.wait_for_requests(3)).await.unwrap();
        let third = &api.requests("/items")[2];
        let condition = third.header("if-none-match").map(str::to_owned);
        (condition, api.not_modified_count())
    }
    let (condition, not_modified) = third_request("    conditional_requests: false\n").await;
    assert_eq!((condition, not_modified), (None, 0));
    let (condition, not_modified) = third_request("").await;
    assert!(condition.is_some());
    assert!(not_modified >= 1);
}

/// `${VAR}` is read wherever a value is text, keys included: an endpoint
/// (`/repos/${OWNER}/items`, sent as `/repos/dacort/items`, not `$%7BOWNER%7D`) and a parameter's
/// name. An unset one is an error at the key, before any request.
#[tokio::test]
async fn variables_in_endpoints_and_parameter_names_are_read() {
    let api = api_with(&["repos/dacort/items"]).await;
    let source = format!(
        "services:\n  api:\n    base_url: {}\n    records: data\n    collectors:\n      /repos/${{OWNER}}/items:\n        name: items\n        params: {{\"${{PAGE_PARAM}}\": 50}}\n        model: {{id: string}}\n",
        api.url()
    );
    let app = parse(&source)
        .unwrap()
        .into_app(&Storage::memory())
        .unwrap();
    let report = app.run_once().await.unwrap();
    assert!(report.is_success(), "{report}");
    let requests = api.requests("/repos/dacort/items");
    assert_eq!(requests.len(), 1, "{:?}", api.all_requests());
    assert_eq!(
        requests[0].query,
        [("per_page".to_owned(), "50".to_owned())]
    );

    let unset = source.replace("${OWNER}", "${NO_SUCH_OWNER}");
    let error = parse(&unset).unwrap_err().to_string();
    assert!(
        error.contains("hamstr.yml:6:7") && error.contains("NO_SUCH_OWNER"),
        "{error}"
    );
}
