//! [`Run`]: what a collector's collect step works with during one run.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use futures_util::{Stream, StreamExt, TryStreamExt, future, stream};
use tokio_util::sync::CancellationToken;

use super::{CollectError, Collector, RecordBatch};
use crate::{
    Error,
    backend::{Backend, Batch, CollectorId, Committed, State},
    model::{Model, Row, Schema},
    report::Observer,
    service::{Endpoint, Page, Service},
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
    pub(crate) state: Option<State>,
    pub(crate) stop: CancellationToken,
    pub(crate) observer: Option<Arc<dyn Observer>>,
}

/// The counts of a run, filled in as it goes.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) pages: Arc<AtomicUsize>,
    pub(crate) records: usize,
    pub(crate) dropped: usize,
    pub(crate) inserted: usize,
    pub(crate) updated: usize,
    pub(crate) skipped: usize,
    pub(crate) skipped_records: Vec<Error>,
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

    /// The state the last successful run saved, if any.
    pub fn state(&self) -> Option<&State> {
        self.context.state.as_ref()
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

    /// The pages of the configured endpoint, counted in the run's report. The stream ends early,
    /// without an error, when the app shuts down (a request in flight is dropped).
    pub fn pages(&self) -> impl Stream<Item = Result<Page, Error>> + Send + 'static + use<M> {
        pages(self.context, self.tally)
    }

    /// The default collect step: every page of the endpoint, each record decoded into `M`, each
    /// page's records emitted. A record that does not fit is skipped and reported.
    ///
    /// # Errors
    /// The first error that stops the walk, a callback's error, or the backend's.
    pub async fn collect_endpoint(&mut self) -> Result<(), Error> {
        let mut pages = std::pin::pin!(self.pages());
        while let Some(page) = pages.try_next().await? {
            let mut records = Vec::with_capacity(page.len());
            for record in page.into_items::<M>() {
                match record {
                    Ok(record) => records.push(record),
                    Err(error) => self.skip(error),
                }
            }
            self.emit(records).await?;
        }
        Ok(())
    }

    /// Hands `records` to the collector's [`on_records`](Collector::on_records), then stores
    /// what it left, in one commit. Returns what the backend did.
    ///
    /// # Errors
    /// The callback's error (nothing of this batch is stored) or the backend's.
    pub async fn emit(&mut self, records: Vec<M>) -> Result<Committed, Error> {
        if records.is_empty() {
            return Ok(Committed::default());
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

/// The pages of the run's endpoint, counted in `tally`, ending early at shutdown; shared by typed
/// and dynamic collectors.
pub(crate) fn pages(
    context: &RunContext,
    tally: &Tally,
) -> impl Stream<Item = Result<Page, Error>> + Send + 'static + use<> {
    let listing = match &context.endpoint {
        Some(endpoint) => endpoint.list_pages().boxed(),
        None => {
            let error = CollectError::NoEndpoint {
                collector: context.id.clone(),
            };
            stream::once(future::ready(Err(error.into()))).boxed()
        }
    };
    let pages = Arc::clone(&tally.pages);
    let observer = context.observer.clone();
    let collector = context.id.clone();
    listing
        .take_until(context.stop.clone().cancelled_owned())
        .inspect_ok(move |page| {
            pages.fetch_add(1, Ordering::Relaxed);
            if let Some(observer) = &observer {
                observer.page_fetched(&collector, page.len());
            }
        })
}

/// Stores `rows` in one commit, counting what the backend did.
pub(crate) async fn commit_rows(
    context: &RunContext,
    tally: &mut Tally,
    rows: Vec<Row>,
) -> Result<Committed, Error> {
    if rows.is_empty() {
        return Ok(Committed::default());
    }
    let committed = context
        .backend
        .commit(Batch {
            collector: context.id.clone(),
            schema: Arc::clone(&context.schema),
            rows,
            state: None,
        })
        .await?;
    tally.inserted += committed.inserted;
    tally.updated += committed.updated;
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
