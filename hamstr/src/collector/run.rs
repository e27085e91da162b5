//! [`Run`]: what a collector's collect step works with during one run.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use futures_util::{
    Stream, StreamExt, TryStreamExt, future,
    stream::{self, BoxStream},
};
use tokio_util::sync::CancellationToken;

use super::{CollectError, Collector, RecordBatch};
use crate::{
    Error,
    backend::{Backend, Batch, CollectorId, Committed},
    model::{Model, Row, Schema},
    report::Observer,
    service::{Endpoint, Page, Service},
    state::{Incremental, IncrementalError, MissingField, Progress, State, is_stale_checkpoint},
};

/// How many skipped records a report keeps in full; the count is always exact.
const KEPT_SKIPS: usize = 100;

/// What one run of a collector shares with its collect step: the service, the endpoint, the
/// saved state, and [`emit`](Self::emit), which hands records on to the callbacks and storage.
pub struct Run<'a, M: Model> {
    collector: &'a dyn Collector<Model = M>,
    context: &'a RunContext,
    tally: &'a mut Tally,
}

/// Everything a run needs that is not the collector itself.
pub(crate) struct RunContext {
    pub(crate) id: CollectorId,
    pub(crate) service: Service,
    pub(crate) endpoint: Option<Endpoint>,
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) schema: Arc<Schema>,
    pub(crate) stop: CancellationToken,
    pub(crate) observer: Option<Arc<dyn Observer>>,
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
    pub(crate) skipped_records: Vec<Error>,
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

impl<'a, M: Model> Run<'a, M> {
    pub(crate) fn new(
        collector: &'a dyn Collector<Model = M>,
        context: &'a RunContext,
        tally: &'a mut Tally,
    ) -> Self {
        Self {
            collector,
            context,
            tally,
        }
    }

    /// Which collector is running.
    pub fn collector(&self) -> &CollectorId {
        &self.context.id
    }

    /// The service it collects from; call it directly for anything the endpoint does not cover.
    pub fn service(&self) -> &Service {
        &self.context.service
    }

    /// The configured endpoint, with the collector's records path and parameters; `None` for a
    /// collector without one.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        self.context.endpoint.as_ref()
    }

    /// The collector's state: as the last run left it, then as this run changes it.
    pub fn state(&self) -> &State {
        self.tally.progress.state()
    }

    /// Keeps `value` under `name` in the collector's state ([`State::values`]), for a collect
    /// step of its own that remembers where it is. It is committed with the next
    /// [`emit`](Self::emit), in the same batch as those records, or at the end of a run that
    /// succeeds: set it after the records it covers are emitted, or just before emitting them.
    pub fn set_value(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.tally.progress.set_value(name.into(), value.into());
    }

    /// Whether the app is shutting down: a collect step of its own should emit what it has and
    /// return.
    pub fn is_stopping(&self) -> bool {
        self.context.stop.is_cancelled()
    }

    /// Completes when the app begins to shut down: race it against long work of your own
    /// (`tokio::select!`), then emit what you have and return.
    pub fn stopping(&self) -> impl Future<Output = ()> + Send + 'static + use<M> {
        self.context.stop.clone().cancelled_owned()
    }

    /// The pages of the configured endpoint from its first page, counted in the run's report.
    /// The stream ends early, without an error, when the app shuts down (a request in flight is
    /// dropped). It follows no incremental strategy and commits no walk position: that is
    /// [`collect_endpoint`](Self::collect_endpoint)'s work.
    pub fn pages(&self) -> impl Stream<Item = Result<Page, Error>> + Send + 'static + use<M> {
        pages(self.context, self.tally, self.context.endpoint.clone())
    }

    /// The default collect step: the endpoint's pages as the collector's incremental strategy
    /// says (from where the last walk stopped, or from the strategy's mark), each record decoded
    /// into `M`, each page's records emitted with the state that covers them. A record that does
    /// not fit, or lacks the strategy's field, is skipped and reported.
    ///
    /// # Errors
    /// The first error that stops the walk, a callback's error, or the backend's.
    pub async fn collect_endpoint(&mut self) -> Result<(), Error> {
        let mut walker = Walker::new(self.context, self.tally);
        while let Some(page) = walker.next(self.context, self.tally).await? {
            let verdict = self.tally.progress.page(&page);
            let mut records = Vec::with_capacity(page.len());
            for (index, record) in page.decode::<M>().enumerate() {
                if verdict.is_missing(index) {
                    self.skip(missing_field(self.context, self.tally, &page, index));
                    continue;
                }
                match record {
                    Ok(record) => records.push(record),
                    Err(error) => self.skip(error),
                }
            }
            self.emit(records).await?;
            if verdict.is_done && !walker.walk_again(self.context, self.tally) {
                break;
            }
        }
        Ok(())
    }

    /// Hands `records` to the collector's [`on_records`](Collector::on_records), then stores
    /// what it left and the state as it is now, in one commit. Returns what the backend did.
    ///
    /// # Errors
    /// The callback's error (nothing of this batch is stored) or the backend's.
    pub async fn emit(&mut self, records: Vec<M>) -> Result<Committed, Error> {
        if records.is_empty() {
            return commit_rows(self.context, self.tally, Vec::new()).await;
        }
        let offered = records.len();
        self.tally.records += offered;
        let batch = RecordBatch::new(self.context.id.clone(), records);
        self.collector
            .on_records(batch.clone())
            .await
            .map_err(|source| CollectError::Callback {
                collector: self.context.id.clone(),
                source,
            })?;
        let records = batch.take();
        self.tally.dropped += offered.saturating_sub(records.len());
        let rows = records.into_iter().map(Model::into_row).collect();
        commit_rows(self.context, self.tally, rows).await
    }

    /// Reports a record that could not be used (it does not fit the model, it lacks a field the
    /// collector needs) and goes on: it is logged, counted, and passed to
    /// [`on_error`](Collector::on_error).
    pub fn skip(&mut self, error: impl Into<Error>) {
        let collector = self.collector;
        skip(self.context, self.tally, error.into(), |error| {
            collector.on_error(error);
        });
    }
}

/// The endpoint's pages as the run's strategy walks them, for the default collect steps (typed
/// and dynamic). A resumed walk whose next page the API refuses (an expired cursor) starts over
/// from the first page.
pub(crate) struct Walker {
    pages: BoxStream<'static, Result<Page, Error>>,
    /// No page of a resumed walk has come yet.
    is_resuming: bool,
    /// This walk goes on from a stored one.
    is_resumed: bool,
}

impl Walker {
    pub(crate) fn new(context: &RunContext, tally: &Tally) -> Self {
        let endpoint = context
            .endpoint
            .as_ref()
            .map(|endpoint| tally.progress.start(endpoint));
        let is_resumed = tally.progress.state().walk.is_some();
        Self {
            pages: pages(context, tally, endpoint).boxed(),
            is_resuming: is_resumed,
            is_resumed,
        }
    }

    /// After a page that completed the walk: whether to walk again. A resumed walk began before
    /// this run, so what arrived since (at the head of a newest-first listing, after the mark
    /// of a cursor) is read by a fresh walk from the strategy's new mark, in this run. A full
    /// refresh reads everything on its next run anyway.
    pub(crate) fn walk_again(&mut self, context: &RunContext, tally: &mut Tally) -> bool {
        let is_incremental = *tally.progress.strategy() != Incremental::FullRefresh;
        if !self.is_resumed || !is_incremental || context.stop.is_cancelled() {
            return false;
        }
        tally.progress.plan_walk();
        *self = Self::new(context, tally);
        true
    }

    pub(crate) async fn next(
        &mut self,
        context: &RunContext,
        tally: &mut Tally,
    ) -> Result<Option<Page>, Error> {
        let next = self.pages.try_next().await;
        if !std::mem::take(&mut self.is_resuming) {
            return next;
        }
        match next {
            Err(error) if is_stale_checkpoint(&error) => {
                tracing::warn!(
                    service = %context.id.service,
                    collector = %context.id.collector,
                    error = %crate::error::ErrorChain(&error),
                    "the API refused the stored next page; the walk starts over"
                );
                tally.progress.abandon_walk();
                *self = Self::new(context, tally);
                self.pages.try_next().await
            }
            other => other,
        }
    }
}

/// The error for a record of `page` that lacks the strategy's field.
pub(crate) fn missing_field(
    context: &RunContext,
    tally: &Tally,
    page: &Page,
    index: usize,
) -> Error {
    let strategy = tally.progress.strategy();
    IncrementalError::MissingField(Box::new(MissingField {
        collector: context.id.clone(),
        strategy: strategy.name(),
        field: strategy.field().cloned().unwrap_or_default(),
        url: page.url().clone(),
        index,
    }))
    .into()
}

/// The pages of `endpoint`, counted in `tally`, ending early at shutdown; shared by typed and
/// dynamic collectors.
pub(crate) fn pages(
    context: &RunContext,
    tally: &Tally,
    endpoint: Option<Endpoint>,
) -> impl Stream<Item = Result<Page, Error>> + Send + 'static + use<> {
    let listing = match &endpoint {
        Some(endpoint) => endpoint.list_pages().boxed(),
        None => {
            let error = CollectError::NoEndpoint {
                collector: context.id.clone(),
            };
            stream::once(future::ready(Err(error.into()))).boxed()
        }
    };
    let pages = Arc::clone(&tally.pages);
    let not_modified = Arc::clone(&tally.not_modified);
    let observer = context.observer.clone();
    let collector = context.id.clone();
    listing
        .take_until(context.stop.clone().cancelled_owned())
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
}

/// Stores `rows` and the state's changes in one commit, counting what the backend did.
pub(crate) async fn commit_rows(
    context: &RunContext,
    tally: &mut Tally,
    rows: Vec<Row>,
) -> Result<Committed, Error> {
    let state = tally.progress.take_changes();
    if rows.is_empty() && state.is_none() {
        return Ok(Committed::default());
    }
    let committed = context
        .backend
        .commit(Batch {
            collector: context.id.clone(),
            schema: Arc::clone(&context.schema),
            rows,
            state,
        })
        .await?;
    tally.inserted += committed.inserted;
    tally.updated += committed.updated;
    tally.unchanged += committed.unchanged;
    Ok(committed)
}

/// Logs, counts and reports (to `on_error`) a record that could not be used.
pub(crate) fn skip(
    context: &RunContext,
    tally: &mut Tally,
    error: Error,
    on_error: impl FnOnce(&Error),
) {
    tracing::warn!(
        service = %context.id.service,
        collector = %context.id.collector,
        error = %error,
        "record skipped"
    );
    on_error(&error);
    tally.skipped += 1;
    if tally.skipped_records.len() < KEPT_SKIPS {
        tally.skipped_records.push(error);
    }
}

impl<M: Model> fmt::Debug for Run<'_, M> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Run")
            .field("collector", &self.context.id)
            .field("service", &self.context.service)
            .finish_non_exhaustive()
    }
}
