//! One run of one collector: load its state, collect, store, report.

use std::{panic::AssertUnwindSafe, sync::Arc, time::Duration};

use chrono::Utc;
use futures_util::FutureExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::Runnable;
use crate::{
    Error,
    backend::{Backend, Batch, CollectorId, State},
    collector::{CollectError, RunContext, Tally},
    error::ErrorChain,
    model::Schema,
    report::{Observer, RunReport},
    service::{Endpoint, Service},
};

/// A collector as the app checked it: its service found, its endpoint joined, its interval
/// parsed, its table prepared.
pub(crate) struct Planned {
    pub(crate) id: CollectorId,
    pub(crate) collector: Arc<dyn Runnable>,
    pub(crate) service: Service,
    pub(crate) endpoint: Option<Endpoint>,
    pub(crate) schema: Arc<Schema>,
    pub(crate) interval: Option<Duration>,
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) observer: Option<Arc<dyn Observer>>,
}

/// Runs `planned` once, inside its `collector_run` span. Shutdown (`stop`) ends the walk between
/// pages; a collect step still going `grace` after that is abandoned.
pub(crate) async fn run_collector(
    planned: &Planned,
    number: u64,
    stop: &CancellationToken,
    grace: Duration,
) -> RunReport {
    let span = tracing::info_span!(
        "collector_run",
        service = %planned.id.service,
        collector = %planned.id.collector,
        run = number,
    );
    run_in_span(planned, stop, grace).instrument(span).await
}

async fn run_in_span(planned: &Planned, stop: &CancellationToken, grace: Duration) -> RunReport {
    if let Some(observer) = &planned.observer {
        observer.run_started(&planned.id);
    }
    let started_at = Utc::now();
    let started = Instant::now();
    let mut tally = Tally::default();
    let outcome = match planned.backend.load_state(&planned.id).await {
        Err(error) => Err(Error::from(error)),
        Ok(state) => {
            let context = RunContext {
                id: planned.id.clone(),
                service: planned.service.clone(),
                endpoint: planned.endpoint.clone(),
                backend: Arc::clone(&planned.backend),
                schema: Arc::clone(&planned.schema),
                state: state.clone(),
                stop: stop.clone(),
                observer: planned.observer.clone(),
            };
            let collect = AssertUnwindSafe(planned.collector.collect(&context, &mut tally))
                .catch_unwind()
                .map(|outcome| {
                    outcome.unwrap_or_else(|panic| {
                        Err(CollectError::Panicked {
                            collector: planned.id.clone(),
                            message: panic_message(panic.as_ref()),
                        }
                        .into())
                    })
                });
            let abandon = async {
                stop.cancelled().await;
                tokio::time::sleep(grace).await;
            };
            let outcome = tokio::select! {
                outcome = collect => outcome,
                () = abandon => Err(CollectError::Abandoned { collector: planned.id.clone(), grace }.into()),
            };
            match outcome {
                Ok(()) if !stop.is_cancelled() => save_last_run(planned, state, started_at).await,
                other => other,
            }
        }
    };
    let report = RunReport::new(
        planned.id.clone(),
        started_at,
        started.elapsed(),
        tally,
        outcome.err(),
        stop.is_cancelled(),
    );
    match &report.failure {
        Some(error) => {
            planned.collector.report_error(error);
            tracing::error!(
                pages = report.pages,
                records = report.records,
                skipped = report.skipped,
                elapsed_ms = report.elapsed.as_millis() as u64,
                error = %ErrorChain(error),
                "run failed"
            );
        }
        None => tracing::info!(
            pages = report.pages,
            records = report.records,
            inserted = report.inserted,
            updated = report.updated,
            dropped = report.dropped,
            skipped = report.skipped,
            elapsed_ms = report.elapsed.as_millis() as u64,
            stopped = report.was_stopped,
            "run finished"
        ),
    }
    if let Some(observer) = &planned.observer {
        observer.run_finished(&report);
    }
    report
}

/// Commits the state of a run that finished: when it started, with the rest as it was.
async fn save_last_run(
    planned: &Planned,
    state: Option<State>,
    started_at: chrono::DateTime<Utc>,
) -> Result<(), Error> {
    let mut state = state.unwrap_or_default();
    state.last_run = Some(started_at);
    planned
        .backend
        .commit(Batch {
            collector: planned.id.clone(),
            schema: Arc::clone(&planned.schema),
            rows: Vec::new(),
            state: Some(state),
        })
        .await?;
    Ok(())
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
