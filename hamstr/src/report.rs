//! What runs did: [`RunReport`] for one run of one collector, [`Report`] for a pass over all
//! of them ([`Hamstr::run_once`](crate::Hamstr::run_once)), and [`Observer`], which sees runs as
//! they go (a progress display, a status page).

use std::{fmt, time::Duration};

use chrono::{DateTime, Utc};

use crate::{
    collector::CollectError,
    service::RateLimit,
    state::{CollectorId, RunOutcome, RunRecord},
    text::ErrorChain,
};

/// One run of one collector: what it fetched, stored, dropped and skipped, and the error that
/// ended it, if one did.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunReport {
    /// The collector.
    pub collector: CollectorId,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// How long it took.
    pub elapsed: Duration,
    /// Pages fetched.
    pub pages: usize,
    /// Of those, pages the API answered `304 Not Modified`: the copy kept from the last answer
    /// was used, and cost no transfer (on GitHub, no quota).
    pub not_modified: usize,
    /// Records that fit the model and were handed to the callbacks.
    pub records: usize,
    /// Records the callbacks removed.
    pub dropped: usize,
    /// Rows stored with a new primary key.
    pub inserted: usize,
    /// Rows that changed a stored row with the same key.
    pub updated: usize,
    /// Records stored again as they were (the same values under the same key).
    pub unchanged: usize,
    /// Records skipped because they could not be used (each also went to the log and to
    /// `on_error`).
    pub skipped: usize,
    /// The first skipped records' errors (up to 100), each naming the page, the record and the
    /// field.
    pub skipped_records: Vec<CollectError>,
    /// The error that ended the run early; what was stored before it stays stored.
    pub failure: Option<CollectError>,
    /// Whether shutdown began during the run (it stored what it had and stopped).
    pub was_stopped: bool,
}

impl RunReport {
    /// Whether the run ended without an error (skipped records do not count as one).
    pub fn is_success(&self) -> bool {
        self.failure.is_none()
    }

    /// The run's line in the load history, for a run that ended at `finished_at`.
    pub fn to_run_record(
        &self,
        finished_at: DateTime<Utc>,
        is_full: bool,
        resumed_at_page: Option<usize>,
    ) -> RunRecord {
        let outcome = match (&self.failure, self.was_stopped) {
            (Some(_), _) => RunOutcome::Failed,
            (None, true) => RunOutcome::Stopped,
            (None, false) => RunOutcome::Succeeded,
        };
        RunRecord {
            collector: self.collector.clone(),
            started_at: self.started_at,
            finished_at,
            outcome,
            pages: self.pages,
            records: self.records,
            inserted: self.inserted,
            updated: self.updated,
            unchanged: self.unchanged,
            dropped: self.dropped,
            skipped: self.skipped,
            is_full,
            resumed_at_page,
            error: self
                .failure
                .as_ref()
                .map(|error| ErrorChain(error).to_string()),
        }
    }

    /// Rows the backend took: inserted, updated and unchanged.
    pub fn stored(&self) -> usize {
        self.inserted + self.updated + self.unchanged
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}: {}, {}, {} stored ({} new, {} updated, {} unchanged)",
            self.collector,
            counted(self.pages, "page", "pages"),
            counted(self.records, "record", "records"),
            self.stored(),
            self.inserted,
            self.updated,
            self.unchanged
        )?;
        if self.not_modified > 0 {
            write!(
                formatter,
                ", {} not modified",
                counted(self.not_modified, "page", "pages")
            )?;
        }
        if self.dropped > 0 {
            write!(formatter, ", {} dropped by callbacks", self.dropped)?;
        }
        if self.skipped > 0 {
            write!(formatter, ", {} skipped", self.skipped)?;
        }
        write!(formatter, " in {} ms", self.elapsed.as_millis())?;
        if let Some(error) = &self.failure {
            write!(formatter, "; failed: {}", ErrorChain(error))?;
        }
        Ok(())
    }
}

/// `count` with the word that goes with it: "1 page", "2 pages".
fn counted(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// One pass over every collector: a [`RunReport`] each, in the order they were added.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Report {
    /// The runs.
    pub runs: Vec<RunReport>,
    /// Each service's rate limit at the end of the pass, as its API last reported it; a service
    /// whose API reported none is left out.
    pub rate_limits: Vec<(String, RateLimit)>,
}

impl Report {
    /// Whether every run ended without an error.
    pub fn is_success(&self) -> bool {
        self.runs.iter().all(RunReport::is_success)
    }

    /// The run of `collector` on `service`.
    pub fn run(&self, service: &str, collector: &str) -> Option<&RunReport> {
        self.runs
            .iter()
            .find(|run| run.collector.service == service && run.collector.collector == collector)
    }

    /// Records skipped across all runs.
    pub fn skipped(&self) -> usize {
        self.runs.iter().map(|run| run.skipped).sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for run in &self.runs {
            writeln!(formatter, "{run}")?;
        }
        Ok(())
    }
}

/// Sees every run as it goes; set one with [`Hamstr::observe`](crate::Hamstr::observe). The
/// methods are called on the run's task, so they must return quickly (update a counter, send on a
/// channel).
pub trait Observer: Send + Sync + 'static {
    /// A run of `collector` starts.
    fn run_started(&self, collector: &CollectorId) {
        let _ = collector;
    }

    /// A run of `collector` fetched a page with `records` records.
    fn page_fetched(&self, collector: &CollectorId, records: usize) {
        let _ = (collector, records);
    }

    /// A run ended.
    fn run_finished(&self, report: &RunReport) {
        let _ = report;
    }
}

/// A shared observer, so the app and, say, a status page can hold the same one.
impl<T: Observer + ?Sized> Observer for std::sync::Arc<T> {
    fn run_started(&self, collector: &CollectorId) {
        (**self).run_started(collector);
    }

    fn page_fetched(&self, collector: &CollectorId, records: usize) {
        (**self).page_fetched(collector, records);
    }

    fn run_finished(&self, report: &RunReport) {
        (**self).run_finished(report);
    }
}
