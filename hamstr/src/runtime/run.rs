//! One run of one collector: load its state, collect, store, report.

use std::{
    panic::AssertUnwindSafe,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use chrono::Utc;
use futures_util::FutureExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{
    collect::{LOGGED_SKIPS, Running, Tally},
    control::Live,
    progress::Progress,
};
use crate::{
    backend::{Backend, Batch},
    collector::{CollectError, ErasedCollector},
    events::{Event, EventBus},
    model::Schema,
    report::{Observer, RunReport},
    service::{Endpoint, FileSource, Service},
    state::{CollectorId, Incremental, RunOutcome, RunRecord, State},
    text::ErrorChain,
};

/// A collector as the app checked it: its service found, its endpoint joined, its interval
/// parsed, its table prepared.
pub(crate) struct Planned {
    pub(crate) id: CollectorId,
    pub(crate) collector: Arc<dyn ErasedCollector>,
    pub(crate) service: Service,
    pub(crate) endpoint: Option<Endpoint>,
    /// The file it reads, when it reads one instead of an endpoint.
    pub(crate) file: Option<FileSource>,
    /// Its keys, when it reads its endpoint once per key.
    pub(crate) fan_out: Option<Arc<super::PlannedFanOut>>,
    pub(crate) schema: Arc<Schema>,
    pub(crate) interval: Option<Duration>,
    pub(crate) incremental: Incremental,
    /// The endpoint's URL and parameters, which a stored walk must match to be resumed.
    pub(crate) listing: String,
    /// Whether its first run reads everything (a backfill).
    pub(crate) is_backfill: bool,
    /// How long after the start the scheduler runs it first (its place in a spread).
    pub(crate) first_delay: Duration,
    pub(crate) backend: Arc<dyn Backend>,
    /// This worker's name and lease period, when the store is shared by several workers and
    /// each scheduled run is claimed first.
    pub(crate) cluster: Option<Arc<Worker>>,
    /// In a cluster, the runs of its service this worker may have going at once (its
    /// `max_concurrent` requests): a run waits for a place before it claims, so that a busy
    /// worker does not hold collectors it cannot serve while another worker has room.
    pub(crate) run_places: Option<Arc<tokio::sync::Semaphore>>,
    pub(crate) observer: Option<Arc<dyn Observer>>,
    /// Where its runs' events go.
    pub(crate) events: EventBus,
    /// What its scheduler and the app's handle share.
    pub(crate) live: Arc<Live>,
}

/// Who this process is among the workers that share a store.
#[derive(Debug, Clone)]
pub(crate) struct Worker {
    /// Its name, unique among the workers.
    pub(crate) name: String,
    /// How long a claim holds unless renewed.
    pub(crate) lease: Duration,
}

/// A run that ended: its report, and its line in the load history. Whoever ran it sends
/// [`Event::RunFinished`] with the line, once it has taken the run in ([`Ran::announce`]), so a
/// subscriber that sees the event sees the app's state after it.
pub(crate) struct Ran {
    pub(crate) report: RunReport,
    pub(crate) record: RunRecord,
}

impl Ran {
    /// Sends the run's end to the app's subscribers, and returns its report.
    pub(crate) fn announce(self, planned: &Planned) -> RunReport {
        self.count(planned);
        planned.events.send(Event::RunFinished {
            record: Box::new(self.record),
        });
        self.report
    }
}

impl Ran {
    /// Adds the run to the process's metrics (`docs/admin.md` lists them): counted here, where
    /// every run passes, rather than from the events, which a subscriber can fall behind on.
    fn count(&self, planned: &Planned) {
        let record = &self.record;
        let collector = planned.id.to_string();
        let model = planned.schema.name();
        for (outcome, count) in [("skipped", record.skipped), ("dropped", record.dropped)] {
            metrics::counter!("hamstr_records_total", "model" => model.to_owned(), "outcome" => outcome)
                .increment(count as u64);
        }
        metrics::counter!(
            "hamstr_runs_total",
            "collector" => collector.clone(),
            "outcome" => record.outcome.as_str(),
        )
        .increment(1);
        let seconds = (record.finished_at - record.started_at)
            .to_std()
            .unwrap_or_default()
            .as_secs_f64();
        metrics::histogram!("hamstr_run_duration_seconds", "collector" => collector.clone())
            .record(seconds);
        if record.outcome == RunOutcome::Succeeded {
            metrics::gauge!("hamstr_last_success_timestamp_seconds", "collector" => collector)
                .set(record.finished_at.timestamp_millis() as f64 / 1000.0);
        }
    }
}

/// Runs `planned` once, inside its `collector_run` span. Shutdown (`stop`) ends the walk between
/// pages; a collect step still going `grace` after that is abandoned.
pub(crate) async fn run_collector(
    planned: &Planned,
    number: u64,
    stop: &CancellationToken,
    grace: Duration,
) -> Ran {
    let span = tracing::info_span!(
        "collector_run",
        service = %planned.id.service,
        collector = %planned.id.collector,
        run = number,
    );
    let is_backfill = planned.is_backfill && number == 1;
    run_in_span(planned, number, stop, grace, is_backfill)
        .instrument(span)
        .await
}

async fn run_in_span(
    planned: &Planned,
    number: u64,
    stop: &CancellationToken,
    grace: Duration,
    is_backfill: bool,
) -> Ran {
    if let Some(observer) = &planned.observer {
        observer.run_started(&planned.id);
    }
    planned.events.send(Event::RunStarted {
        collector: planned.id.clone(),
        run: number,
    });
    let started_at = Utc::now();
    let started = Instant::now();
    let (outcome, tally) = match planned.backend.load_state(&planned.id).await {
        Err(error) => {
            let progress = progress(planned, None, is_backfill, started_at);
            (Err(CollectError::from(error)), Tally::new(progress))
        }
        Ok(state) => {
            let mut running = Running {
                planned,
                stop: stop.clone(),
                tally: Tally::new(progress(planned, state, is_backfill, started_at)),
            };
            let collect = AssertUnwindSafe(planned.collector.collect(&mut running))
                .catch_unwind()
                .map(|outcome| {
                    outcome.unwrap_or_else(|panic| {
                        Err(CollectError::Panicked {
                            collector: planned.id.clone(),
                            message: panic_message(panic.as_ref()),
                        })
                    })
                });
            let abandon = async {
                stop.cancelled().await;
                tokio::time::sleep(grace).await;
            };
            let outcome = tokio::select! {
                outcome = collect => outcome,
                () = abandon => Err(CollectError::Abandoned { collector: planned.id.clone(), grace }),
            };
            let mut tally = running.tally;
            let outcome = match outcome {
                // Records came and none could be used: the run stored nothing it should have.
                Ok(()) if tally.skipped > 0 && tally.records == 0 => {
                    Err(CollectError::AllSkipped {
                        collector: planned.id.clone(),
                        skipped: tally.skipped,
                        first: tally
                            .skipped_records
                            .first()
                            .map_or_else(String::new, ToString::to_string),
                    })
                }
                Ok(()) if !stop.is_cancelled() => save_finished(planned, &mut tally).await,
                other => other,
            };
            (outcome, tally)
        }
    };
    let is_full = tally.progress.is_full();
    let resumed_at = tally.progress.resumed_at();
    let report = RunReport {
        collector: planned.id.clone(),
        started_at,
        elapsed: started.elapsed(),
        pages: tally.pages.load(Ordering::Relaxed),
        not_modified: tally.not_modified.load(Ordering::Relaxed),
        records: tally.records,
        dropped: tally.dropped,
        inserted: tally.inserted,
        updated: tally.updated,
        unchanged: tally.unchanged,
        skipped: tally.skipped,
        skipped_records: tally.skipped_records,
        failure: outcome.err(),
        was_stopped: stop.is_cancelled(),
    };
    if report.skipped > LOGGED_SKIPS {
        tracing::warn!(
            skipped = report.skipped,
            "{} more records were skipped and not logged one by one; the run's report keeps the first {}",
            report.skipped - LOGGED_SKIPS,
            report.skipped_records.len(),
        );
    }
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
            not_modified = report.not_modified,
            records = report.records,
            inserted = report.inserted,
            updated = report.updated,
            unchanged = report.unchanged,
            dropped = report.dropped,
            skipped = report.skipped,
            elapsed_ms = report.elapsed.as_millis() as u64,
            stopped = report.was_stopped,
            "run finished"
        ),
    }
    let record = report.to_run_record(Utc::now(), is_full, resumed_at);
    if let Err(error) = planned.backend.record_run(&record).await {
        // The run itself is stored; only its line in the history is missing.
        tracing::warn!(error = %ErrorChain(&error), "the run could not be added to the load history");
    }

    if let Some(observer) = &planned.observer {
        observer.run_finished(&report);
    }
    Ran { report, record }
}

/// The progress of a run of `planned` that starts at `started_at` from `state`.
fn progress(
    planned: &Planned,
    state: Option<State>,
    is_backfill: bool,
    started_at: chrono::DateTime<Utc>,
) -> Progress {
    Progress::new(
        planned.id.clone(),
        planned.incremental.clone(),
        state,
        is_backfill,
        planned.listing.clone(),
        started_at,
    )
}

/// Commits the state of a run that finished: when it started, with the rest as it is now.
async fn save_finished(planned: &Planned, tally: &mut Tally) -> Result<(), CollectError> {
    planned
        .backend
        .commit(Batch {
            collector: planned.id.clone(),
            schema: Arc::clone(&planned.schema),
            rows: Vec::new(),
            state: Some(tally.progress.finish()),
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
