//! `/metrics`: Prometheus text that parses, whose counters match what the runs report.

use std::{collections::BTreeMap, time::Duration};

use hamstr::{
    CollectorSpec, Hamstr, Model,
    backend::MemoryBackend,
    service::RetryPolicy,
    testing::{Fault, MockApi, MockRateLimit},
};

use super::{mollie, serve};

/// A payment under a model name of its own: metrics are the process's, shared by the tests
/// that run beside this one.
#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "metered_payments")]
struct MeteredPayment {
    id: String,
}

/// One sample: its name and labels, and its value.
type Samples = BTreeMap<(String, BTreeMap<String, String>), f64>;

/// Parses Prometheus text format (0.0.4), refusing any line that is not a comment, a `HELP` or
/// `TYPE` line, or a sample.
fn parse(text: &str) -> Samples {
    let mut samples = Samples::new();
    for line in text.lines().filter(|line| !line.is_empty()) {
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.split_whitespace().collect();
            if words.first() == Some(&"TYPE") {
                assert!(
                    matches!(
                        words.get(2),
                        Some(&("counter" | "gauge" | "histogram" | "summary" | "untyped"))
                    ),
                    "a TYPE line with no type: {line}"
                );
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"));
                let labels = inner
                    .split("\",")
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (key, value) = pair
                            .split_once("=\"")
                            .unwrap_or_else(|| panic!("a label: {line}"));
                        (key.to_owned(), value.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, BTreeMap::new()),
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "a metric name: {line}"
        );
        samples.insert((name.to_owned(), labels), value);
    }
    samples
}

fn sample(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels: BTreeMap<String, String> = labels
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    samples
        .get(&(name.to_owned(), labels.clone()))
        .copied()
        .unwrap_or_else(|| panic!("no {name}{labels:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_match_the_runs() {
    let api = MockApi::start_demo().await;
    api.rate_limit(MockRateLimit::github(1000, Duration::from_secs(3600)));
    // One 503 on the first page: answered, counted, retried.
    api.inject("/v2/payments", Fault::Status(503), 1);
    let store = MemoryBackend::new();
    let app = Hamstr::new().backend(store.clone()).register_service(
        mollie(&api)
            .name("metered")
            .retry(RetryPolicy::new().delays(Duration::from_millis(1), Duration::from_millis(5)))
            .add_collector(
                CollectorSpec::endpoint("payments")
                    .model::<MeteredPayment>()
                    .interval("1h"),
            ),
    );
    let mut served = serve(app).await;
    let first = served.run_finished().await;
    let asked = served
        .post("/api/collectors/metered%2Fmetered_payments/run")
        .await;
    assert_eq!(asked.status, 202, "{}", asked.text);
    let second = served.run_finished().await;

    let scraped = served.get("/metrics").await;
    assert_eq!(scraped.status, 200);
    assert!(
        scraped.content_type.starts_with("text/plain"),
        "{}",
        scraped.content_type
    );
    let samples = parse(&scraped.text);
    let service = [("service", "metered")];
    let answered_ok = api.requests("/v2/payments").len() as f64 - 1.0;
    assert_eq!(
        sample(
            &samples,
            "hamstr_requests_total",
            &[("service", "metered"), ("status", "200")]
        ),
        answered_ok
    );
    assert_eq!(
        sample(
            &samples,
            "hamstr_requests_total",
            &[("service", "metered"), ("status", "503")]
        ),
        1.0
    );
    let retries: f64 = samples
        .iter()
        .filter(|((name, labels), _)| {
            name == "hamstr_retries_total" && labels["service"] == "metered"
        })
        .map(|(_, value)| value)
        .sum();
    assert_eq!(retries, 1.0);
    let model = |outcome| {
        sample(
            &samples,
            "hamstr_records_total",
            &[("model", "metered_payments"), ("outcome", outcome)],
        )
    };
    assert_eq!(model("new"), (first.inserted + second.inserted) as f64);
    assert_eq!(model("updated"), (first.updated + second.updated) as f64);
    assert_eq!(
        model("unchanged"),
        (first.unchanged + second.unchanged) as f64
    );
    assert_eq!(model("skipped"), (first.skipped + second.skipped) as f64);
    assert_eq!((model("new"), model("unchanged")), (120.0, 120.0));
    let collector = [("collector", "metered/metered_payments")];
    assert_eq!(
        sample(
            &samples,
            "hamstr_runs_total",
            &[
                ("collector", "metered/metered_payments"),
                ("outcome", "succeeded")
            ]
        ),
        2.0
    );
    assert_eq!(
        sample(&samples, "hamstr_run_duration_seconds_count", &collector),
        2.0
    );
    let last = sample(
        &samples,
        "hamstr_last_success_timestamp_seconds",
        &collector,
    );
    assert!((last - second.finished_at.timestamp_millis() as f64 / 1000.0).abs() < 0.002);
    let remaining = sample(&samples, "hamstr_rate_limit_remaining", &service);
    assert_eq!(
        remaining,
        1000.0 - api.requests("/v2/payments").len() as f64
    );
    assert_eq!(
        sample(&samples, "hamstr_collector_running", &collector),
        0.0
    );
    served.stop().await;
}
