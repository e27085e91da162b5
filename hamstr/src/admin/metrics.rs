//! `GET /metrics`: the process's metrics in Prometheus text format.
//!
//! The library counts through the `metrics` facade where things happen (each request, retry,
//! pause, commit, run), which costs nothing until a recorder is installed; the admin server
//! installs the Prometheus one. Gauges that are a reading of the app (rate limit left, running,
//! paused) are set when scraped.

use std::{sync::OnceLock, time::Duration};

use axum::{http::header, response::IntoResponse};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::{State, problem::Problem};

/// The process's Prometheus recorder, when this process could install it.
#[derive(Clone)]
pub(super) struct Exporter {
    handle: Option<PrometheusHandle>,
}

/// Installed once per process: the facade has one global recorder.
static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Seconds: from a fast page to a long backfill.
const DURATION_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

impl Exporter {
    /// The process's recorder, installed on first call (with a task that keeps its histograms
    /// small); without one when another recorder was installed first (its own exporter then
    /// serves the metrics).
    pub(super) fn install() -> Self {
        let handle = RECORDER.get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), DURATION_BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => {
                    describe();
                    let upkeep = handle.clone();
                    tokio::spawn(async move {
                        let mut every = tokio::time::interval(Duration::from_secs(5));
                        loop {
                            every.tick().await;
                            upkeep.run_upkeep();
                        }
                    });
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "metrics: another recorder is installed; /metrics answers 503");
                    None
                }
            }
        });
        Self {
            handle: handle.clone(),
        }
    }
}

/// The help line of every metric.
fn describe() {
    metrics::describe_counter!(
        "hamstr_requests_total",
        "HTTP requests sent, by service and status (`error`: no answer)"
    );
    metrics::describe_counter!(
        "hamstr_retries_total",
        "requests sent again, by service and reason"
    );
    metrics::describe_histogram!(
        "hamstr_pause_seconds",
        metrics::Unit::Seconds,
        "pauses of a service's requests, by cause (`quota`: used up; `retry_after`: the API asked)"
    );
    metrics::describe_counter!(
        "hamstr_records_total",
        "records by model and outcome (new, updated, unchanged, skipped, dropped)"
    );
    metrics::describe_counter!("hamstr_runs_total", "runs by collector and outcome");
    metrics::describe_histogram!(
        "hamstr_run_duration_seconds",
        metrics::Unit::Seconds,
        "how long runs took, by collector"
    );
    metrics::describe_gauge!(
        "hamstr_last_success_timestamp_seconds",
        metrics::Unit::Seconds,
        "when the last run that succeeded ended (Unix time), by collector"
    );
    metrics::describe_gauge!(
        "hamstr_rate_limit_remaining",
        "requests left in the API's rate-limit window, as last reported, by service"
    );
    metrics::describe_gauge!(
        "hamstr_rate_limit_limit",
        "requests allowed per rate-limit window, as last reported, by service"
    );
    metrics::describe_gauge!(
        "hamstr_collector_running",
        "1 while a run of the collector is going on"
    );
    metrics::describe_gauge!("hamstr_collector_paused", "1 while the collector is paused");
    metrics::describe_gauge!(
        "hamstr_collector_failures",
        "the collector's failed runs in a row"
    );
}

/// `GET /metrics`.
pub(super) async fn render(axum::extract::State(shared): State) -> axum::response::Response {
    let Some(handle) = &shared.metrics.handle else {
        return Problem::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "another metrics recorder is installed in this process; its exporter serves the metrics",
        )
        .into_response();
    };
    for service in shared.control.services() {
        let Some(rate_limit) = service.rate_limit else {
            continue;
        };
        if let Some(remaining) = rate_limit.remaining {
            metrics::gauge!("hamstr_rate_limit_remaining", "service" => service.name.clone())
                .set(remaining as f64);
        }
        if let Some(limit) = rate_limit.limit {
            metrics::gauge!("hamstr_rate_limit_limit", "service" => service.name.clone())
                .set(limit as f64);
        }
    }
    // The live part only: no store read, so a scrape never waits on the store.
    for (collector, live) in shared.control.live() {
        let collector = collector.to_string();
        metrics::gauge!("hamstr_collector_running", "collector" => collector.clone())
            .set(f64::from(u8::from(live.is_running)));
        metrics::gauge!("hamstr_collector_paused", "collector" => collector.clone())
            .set(f64::from(u8::from(live.is_paused)));
        metrics::gauge!("hamstr_collector_failures", "collector" => collector)
            .set(f64::from(live.failures));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
