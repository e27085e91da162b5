//! The collect step the runtime serves to collectors ([`RunHost`]): the one loop that takes a
//! page's records to rows and commits them with the state that covers them, for typed and
//! dynamic models alike.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use async_trait::async_trait;
use futures_util::{
    StreamExt, TryStreamExt, future,
    stream::{self, BoxStream},
};
use tokio_util::sync::CancellationToken;

use super::{Planned, progress::Progress};
use crate::{
    backend::{Batch, Committed},
    collector::{CollectError, PageRows, Rows, RunHost},
    events::Event,
    http::HttpError,
    model::Row,
    service::{Endpoint, FileError, FileSource, Page, Service},
    state::{CollectorId, Incremental, IncrementalError, MissingField, State},
    text::ErrorChain,
};

/// How many skipped records a report keeps in full; the count is always exact.
const KEPT_SKIPS: usize = 100;

/// How many skipped records of one run are logged one by one: a page of 20,000 misfits must
/// not write 20,000 lines. The rest are counted, and the run's end logs the count.
pub(super) const LOGGED_SKIPS: usize = 10;

/// One run of a collector as its collect step sees it: the collector as planned, the shutdown
/// signal, and what the run has done so far.
pub(crate) struct Running<'p> {
    pub(crate) planned: &'p Planned,
    pub(crate) stop: CancellationToken,
    pub(crate) tally: Tally,
}

/// What a run keeps as it goes: its counts, and its state.
#[derive(Debug)]
pub(crate) struct Tally {
    pub(crate) pages: Arc<AtomicUsize>,
    pub(crate) not_modified: Arc<AtomicUsize>,
    pub(crate) records: usize,
    pub(crate) dropped: usize,
    pub(crate) inserted: usize,
    pub(crate) updated: usize,
    pub(crate) unchanged: usize,
    pub(crate) skipped: usize,
    pub(crate) skipped_records: Vec<CollectError>,
    pub(crate) progress: Progress,
}

impl Tally {
    pub(crate) fn new(progress: Progress) -> Self {
        Self {
            pages: Arc::default(),
            not_modified: Arc::default(),
            records: 0,
            dropped: 0,
            inserted: 0,
            updated: 0,
            unchanged: 0,
            skipped: 0,
            skipped_records: Vec::new(),
            progress,
        }
    }
}

#[async_trait]
impl RunHost for Running<'_> {
    fn id(&self) -> &CollectorId {
        &self.planned.id
    }

    fn service(&self) -> &Service {
        &self.planned.service
    }

    fn endpoint(&self) -> Option<&Endpoint> {
        self.planned.endpoint.as_ref()
    }

    fn state(&self) -> &State {
        self.tally.progress.state()
    }

    fn set_value(&mut self, name: String, value: String) {
        self.tally.progress.set_value(name, value);
    }

    fn stop(&self) -> &CancellationToken {
        &self.stop
    }

    fn pages(&self) -> BoxStream<'static, Result<Page, CollectError>> {
        let listing = match (&self.planned.endpoint, &self.planned.file) {
            (Some(endpoint), _) => Some(Listing::Endpoint(Box::new(endpoint.clone()))),
            (None, Some(file)) => Some(Listing::File(file.clone())),
            (None, None) => None,
        };
        self.listing_pages(listing)
    }

    async fn collect_endpoint(&mut self, shape: &mut dyn PageRows) -> Result<(), CollectError> {
        if let Some(plan) = self.planned.fan_out.clone() {
            return super::fan_out::collect(self, shape, &plan).await;
        }
        let mut walker = Walker::new(self);
        // The page stored last, its commit under way while the next page is read and decoded:
        // the store writes one page as the next is taken apart (two cores at work, not one).
        // A page is sent to the store only once the one before it is stored, so a failed
        // commit stops the run before anything after it is written.
        let mut storing: Option<Storing> = None;
        loop {
            let page = match walker.next(self).await {
                Ok(Some(page)) => page,
                Ok(None) => break,
                Err(error) => {
                    self.stored(storing.take()).await?;
                    return Err(error);
                }
            };
            let verdict = self.tally.progress.page(&page);
            for line in page.malformed() {
                let error = CollectError::File(FileError::Malformed(line.clone()));
                shape.report(&error);
                self.skip(error);
            }
            for (index, record) in page.records().iter().enumerate() {
                let taken = if verdict.is_missing(index) {
                    Err(self.missing_field(&page, index))
                } else {
                    shape
                        .take(record, page.url(), index)
                        .map_err(CollectError::from)
                };
                if let Err(error) = taken {
                    shape.report(&error);
                    self.skip(error);
                }
            }
            // Counted before the callbacks: a page a callback refuses was still seen.
            self.count(shape.taken(), 0);
            let rows = match shape.rows(&self.planned.id).await {
                Ok(Rows { rows, dropped }) => {
                    self.count(0, dropped);
                    rows
                }
                Err(error) => {
                    self.stored(storing.take()).await?;
                    return Err(error);
                }
            };
            self.stored(storing.take()).await?;
            storing = self.store(rows);
            if self.planned.cluster.is_some() {
                // Among workers the commit holds the lease's row lock in its transaction: a
                // worker frozen inside it (SIGSTOP, a paused VM) would hold off the worker taking
                // its collectors over. Awaited at once, that window is one commit, not most of
                // the walk.
                self.stored(storing.take()).await?;
            }
            if verdict.is_done && !walker.walk_again(self) {
                break;
            }
        }
        self.stored(storing).await?;
        Ok(())
    }

    fn count(&mut self, offered: usize, dropped: usize) {
        self.tally.records += offered;
        self.tally.dropped += dropped;
    }

    async fn commit(&mut self, rows: Vec<Row>) -> Result<Committed, CollectError> {
        let Some(storing) = self.store(rows) else {
            return Ok(Committed::default());
        };
        self.stored(Some(storing)).await
    }

    fn skip(&mut self, error: CollectError) {
        if self.tally.skipped < LOGGED_SKIPS {
            tracing::warn!(
                service = %self.planned.id.service,
                collector = %self.planned.id.collector,
                error = %error,
                "record skipped"
            );
        }
        self.tally.skipped += 1;
        if self.tally.skipped_records.len() < KEPT_SKIPS {
            self.tally.skipped_records.push(error);
        }
    }
}

/// A page's rows on their way into the store: the commit runs on a task of its own.
struct Storing {
    records: usize,
    commit: tokio::task::JoinHandle<Result<Committed, crate::backend::BackendError>>,
}

impl Running<'_> {
    /// Sends `rows`, with the state changes that cover them, to the store; `None` when there is
    /// nothing to store. The commit goes on while the caller reads on; [`stored`](Self::stored)
    /// waits for it.
    fn store(&mut self, rows: Vec<Row>) -> Option<Storing> {
        let state = self.tally.progress.take_changes();
        if rows.is_empty() && state.is_none() {
            return None;
        }
        let records = rows.len();
        let backend = Arc::clone(&self.planned.backend);
        let batch = Batch {
            collector: self.planned.id.clone(),
            schema: Arc::clone(&self.planned.schema),
            rows,
            state,
        };
        let commit = tokio::spawn(async move { backend.commit(batch).await });
        Some(Storing { records, commit })
    }

    /// Waits for the commit of `storing`, if any, and counts what it did.
    async fn stored(&mut self, storing: Option<Storing>) -> Result<Committed, CollectError> {
        let Some(Storing { records, commit }) = storing else {
            return Ok(Committed::default());
        };
        let committed = match commit.await {
            Ok(committed) => committed?,
            // The store's own code panicked: that panic is this run's.
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => {
                return Err(crate::backend::BackendError::store(
                    "runtime",
                    "committing a page (the runtime is shutting down)",
                    error,
                )
                .into());
            }
        };
        self.tally.inserted += committed.inserted;
        self.tally.updated += committed.updated;
        self.tally.unchanged += committed.unchanged;
        let model = self.planned.schema.name();
        for (outcome, count) in [
            ("new", committed.inserted),
            ("updated", committed.updated),
            ("unchanged", committed.unchanged),
        ] {
            metrics::counter!("hamstr_records_total", "model" => model.to_owned(), "outcome" => outcome)
                .increment(count as u64);
        }
        self.planned.events.send(Event::PageStored {
            collector: self.planned.id.clone(),
            records,
            committed,
        });
        Ok(committed)
    }

    /// The pages of `listing`, counted in the tally, ending early at shutdown; for a collector
    /// with nothing to list, the error that says so.
    fn listing_pages(
        &self,
        listing: Option<Listing>,
    ) -> BoxStream<'static, Result<Page, CollectError>> {
        let Some(listing) = listing else {
            let error = CollectError::NoEndpoint {
                collector: self.planned.id.clone(),
            };
            return stream::once(future::ready(Err(error))).boxed();
        };
        let listing = match listing {
            Listing::Endpoint(endpoint) => endpoint.list_pages().boxed(),
            Listing::File(file) => file.list_pages().boxed(),
        }
        .map_err(CollectError::from);
        let pages = Arc::clone(&self.tally.pages);
        let unread = Arc::clone(&self.tally.pages);
        let not_modified = Arc::clone(&self.tally.not_modified);
        let observer = self.planned.observer.clone();
        let collector = self.planned.id.clone();
        listing
            .take_until(self.stop.clone().cancelled_owned())
            .inspect_ok(move |page| {
                pages.fetch_add(1, Ordering::Relaxed);
                // Its records go through as usual: storing them again changes nothing, while
                // skipping them would lose them if the last run fetched them but failed to store.
                if page.is_not_modified() {
                    not_modified.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(observer) = &observer {
                    observer.page_fetched(&collector, page.len());
                }
            })
            // A page whose records could not be taken out of it was fetched all the same.
            .inspect_err(move |error| {
                if matches!(error, CollectError::Records(_)) {
                    unread.fetch_add(1, Ordering::Relaxed);
                }
            })
            .boxed()
    }

    /// The error for a record of `page` that lacks the strategy's field.
    pub(super) fn missing_field(&self, page: &Page, index: usize) -> CollectError {
        let strategy = self.tally.progress.strategy();
        IncrementalError::MissingField(Box::new(MissingField {
            collector: self.planned.id.clone(),
            strategy: strategy.name(),
            field: strategy.field().cloned().unwrap_or_default(),
            url: page.url().clone(),
            index,
        }))
        .into()
    }
}

/// What a collector lists: an API's endpoint, or a file.
enum Listing {
    Endpoint(Box<Endpoint>),
    File(FileSource),
}

/// The endpoint's pages as the run's strategy walks them. A resumed walk whose next page the
/// API refuses (an expired cursor) starts over from the first page.
struct Walker {
    pages: BoxStream<'static, Result<Page, CollectError>>,
    /// No page of a resumed walk has come yet.
    is_resuming: bool,
    /// This walk goes on from a stored one.
    is_resumed: bool,
}

impl Walker {
    fn new(running: &Running<'_>) -> Self {
        let progress = &running.tally.progress;
        let listing = match (&running.planned.endpoint, &running.planned.file) {
            (Some(endpoint), _) => Some(Listing::Endpoint(Box::new(progress.start(endpoint)))),
            (None, Some(file)) => Some(Listing::File(progress.start_file(file))),
            (None, None) => None,
        };
        let pages = running.listing_pages(listing);
        let is_resumed = running.tally.progress.state().walk.is_some();
        Self {
            pages,
            is_resuming: is_resumed,
            is_resumed,
        }
    }

    /// After a page that completed the walk: whether to walk again. A resumed walk began before
    /// this run, so what arrived since (at the head of a newest-first listing, after the mark
    /// of a cursor) is read by a fresh walk from the strategy's new mark, in this run. A full
    /// refresh reads everything on its next run anyway.
    fn walk_again(&mut self, running: &mut Running<'_>) -> bool {
        let is_incremental = *running.tally.progress.strategy() != Incremental::FullRefresh;
        if !self.is_resumed || !is_incremental || running.stop.is_cancelled() {
            return false;
        }
        running.tally.progress.plan_walk();
        *self = Self::new(running);
        true
    }

    async fn next(&mut self, running: &mut Running<'_>) -> Result<Option<Page>, CollectError> {
        let next = self.pages.try_next().await;
        if !std::mem::take(&mut self.is_resuming) {
            return next;
        }
        match next {
            Err(error) if is_stale_checkpoint(&error) => {
                tracing::warn!(
                    service = %running.planned.id.service,
                    collector = %running.planned.id.collector,
                    error = %ErrorChain(&error),
                    "the API refused the stored next page; the walk starts over"
                );
                running.tally.progress.abandon_walk();
                *self = Self::new(running);
                self.pages.try_next().await
            }
            other => other,
        }
    }
}

/// Whether `error`, on the first request of a resumed walk, says the stored next page is no
/// longer valid (an expired cursor, a page that is gone), so the walk should start over.
fn is_stale_checkpoint(error: &CollectError) -> bool {
    let CollectError::Http(error) = error else {
        return false;
    };
    // A checkpoint on another origin (kept by an older version) would be refused for ever.
    matches!(error, HttpError::ForeignOrigin { .. })
        || error
            .status()
            .is_some_and(|status| matches!(status.as_u16(), 400 | 404 | 410 | 422))
}
