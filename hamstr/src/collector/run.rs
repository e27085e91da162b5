//! [`Run`]: what a collector's collect step works with during one run, and the seam through
//! which the runtime serves it ([`RunHost`]).

use std::fmt;

use async_trait::async_trait;
use futures_util::{Stream, stream::BoxStream};
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use super::{CollectError, Collector, RecordBatch};
use crate::{
    backend::Committed,
    model::{DecodeError, Model, Row, decode},
    service::{Endpoint, Page, Service},
    state::{CollectorId, State},
    url::RedactedUrl,
};

/// What one run of a collector shares with its collect step: the service, the endpoint, the
/// saved state, and [`emit`](Self::emit), which hands records on to the callbacks and storage.
pub struct Run<'a, M: Model> {
    collector: &'a dyn Collector<Model = M>,
    host: &'a mut dyn RunHost,
}

/// What the runtime offers one run of a collector. The runtime implements it, so collectors
/// know what a run can do without knowing how the runtime does it.
#[async_trait]
pub(crate) trait RunHost: Send {
    /// The collector that is running.
    fn id(&self) -> &CollectorId;
    /// The service it collects from.
    fn service(&self) -> &Service;
    /// Its endpoint, with its records path and parameters.
    fn endpoint(&self) -> Option<&Endpoint>;
    /// Its state as loaded, then as the run changes it.
    fn state(&self) -> &State;
    /// Keeps a value in the state, committed with the next batch.
    fn set_value(&mut self, name: String, value: String);
    /// Cancelled when the app begins to shut down.
    fn stop(&self) -> &CancellationToken;
    /// The endpoint's pages from the first, counted in the run's report, ending at shutdown.
    fn pages(&self) -> BoxStream<'static, Result<Page, CollectError>>;
    /// The default collect step: the endpoint's pages as the collector's incremental strategy
    /// walks them, each page's records made rows by `rows` and committed with the state that
    /// covers them.
    async fn collect_endpoint(&mut self, rows: &mut dyn PageRows) -> Result<(), CollectError>;
    /// Counts records handed to the callbacks, and those they dropped.
    fn count(&mut self, offered: usize, dropped: usize);
    /// Stores `rows` and the state's changes in one commit.
    async fn commit(&mut self, rows: Vec<Row>) -> Result<Committed, CollectError>;
    /// Logs, counts and keeps a record that could not be used.
    fn skip(&mut self, error: CollectError);
}

/// Turns the records of one page into rows: the one part of the default collect step that
/// differs between a typed model (decode, then the collector's callbacks) and a model described
/// at run time.
#[async_trait]
pub(crate) trait PageRows: Send {
    /// Takes in record `index` of the page at `url`.
    fn take(
        &mut self,
        record: &RawValue,
        url: &RedactedUrl,
        index: usize,
    ) -> Result<(), DecodeError>;
    /// How many records were taken since the last [`rows`](Self::rows): what the collector's
    /// callbacks are about to see.
    fn taken(&self) -> usize;
    /// The rows of the records taken since the last call, after the collector's callbacks.
    async fn rows(&mut self, collector: &CollectorId) -> Result<Rows, CollectError>;
    /// Tells the collector of a record that was skipped.
    fn report(&self, error: &CollectError);
}

/// A page's rows, with how many records the callbacks dropped.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub(crate) rows: Vec<Row>,
    pub(crate) dropped: usize,
}

impl<'a, M: Model> Run<'a, M> {
    pub(crate) fn new(collector: &'a dyn Collector<Model = M>, host: &'a mut dyn RunHost) -> Self {
        Self { collector, host }
    }

    /// Which collector is running.
    pub fn collector(&self) -> &CollectorId {
        self.host.id()
    }

    /// The service it collects from; call it directly for anything the endpoint does not cover.
    pub fn service(&self) -> &Service {
        self.host.service()
    }

    /// The configured endpoint, with the collector's records path and parameters; `None` for a
    /// collector without one.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        self.host.endpoint()
    }

    /// The collector's state: as the last run left it, then as this run changes it.
    pub fn state(&self) -> &State {
        self.host.state()
    }

    /// Keeps `value` under `name` in the collector's state ([`State::values`]), for a collect
    /// step of its own that remembers where it is. It is committed with the next
    /// [`emit`](Self::emit), in the same batch as those records, or at the end of a run that
    /// succeeds: set it after the records it covers are emitted, or just before emitting them.
    pub fn set_value(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.host.set_value(name.into(), value.into());
    }

    /// Whether the app is shutting down: a collect step of its own should emit what it has and
    /// return.
    pub fn is_stopping(&self) -> bool {
        self.host.stop().is_cancelled()
    }

    /// Completes when the app begins to shut down: race it against long work of your own
    /// (`tokio::select!`), then emit what you have and return.
    pub fn stopping(&self) -> impl Future<Output = ()> + Send + 'static + use<M> {
        self.host.stop().clone().cancelled_owned()
    }

    /// The pages of the configured endpoint from its first page, counted in the run's report.
    /// The stream ends early, without an error, when the app shuts down (a request in flight is
    /// dropped). It follows no incremental strategy and commits no walk position: that is
    /// [`collect_endpoint`](Self::collect_endpoint)'s work.
    pub fn pages(
        &self,
    ) -> impl Stream<Item = Result<Page, CollectError>> + Send + 'static + use<M> {
        self.host.pages()
    }

    /// The default collect step: the endpoint's pages as the collector's incremental strategy
    /// says (from where the last walk stopped, or from the strategy's mark), each record decoded
    /// into `M`, each page's records emitted with the state that covers them. A record that does
    /// not fit, or lacks the strategy's field, is skipped and reported.
    ///
    /// # Errors
    /// The first error that stops the walk, a callback's error, or the backend's.
    pub async fn collect_endpoint(&mut self) -> Result<(), CollectError> {
        let mut rows = TypedRows {
            collector: self.collector,
            records: Vec::new(),
        };
        self.host.collect_endpoint(&mut rows).await
    }

    /// Hands `records` to the collector's [`on_records`](Collector::on_records), then stores
    /// what it left and the state as it is now, in one commit. Returns what the backend did.
    ///
    /// # Errors
    /// The callback's error (nothing of this batch is stored) or the backend's.
    pub async fn emit(&mut self, records: Vec<M>) -> Result<Committed, CollectError> {
        // Counted before the callbacks: a batch a callback refuses was still seen.
        self.host.count(records.len(), 0);
        let rows = callback_rows(self.collector, self.host.id(), records).await?;
        self.host.count(0, rows.dropped);
        self.host.commit(rows.rows).await
    }

    /// Reports a record that could not be used (it does not fit the model, it lacks a field the
    /// collector needs) and goes on: it is logged, counted, and passed to
    /// [`on_error`](Collector::on_error).
    pub fn skip(&mut self, error: impl Into<CollectError>) {
        let error = error.into();
        self.collector.on_error(&error);
        self.host.skip(error);
    }
}

/// A typed collector's page: records decoded into its model, then through its callbacks.
struct TypedRows<'c, M: Model> {
    collector: &'c dyn Collector<Model = M>,
    records: Vec<M>,
}

#[async_trait]
impl<M: Model> PageRows for TypedRows<'_, M> {
    fn take(
        &mut self,
        record: &RawValue,
        url: &RedactedUrl,
        index: usize,
    ) -> Result<(), DecodeError> {
        self.records.push(decode(record, url, index)?);
        Ok(())
    }

    fn taken(&self) -> usize {
        self.records.len()
    }

    async fn rows(&mut self, collector: &CollectorId) -> Result<Rows, CollectError> {
        let records = std::mem::take(&mut self.records);
        callback_rows(self.collector, collector, records).await
    }

    fn report(&self, error: &CollectError) {
        self.collector.on_error(error);
    }
}

/// Runs the collector's callbacks over `records`, and makes rows of what they leave.
async fn callback_rows<M: Model>(
    collector: &dyn Collector<Model = M>,
    id: &CollectorId,
    records: Vec<M>,
) -> Result<Rows, CollectError> {
    if records.is_empty() {
        return Ok(Rows::default());
    }
    let offered = records.len();
    let batch = RecordBatch::new(id.clone(), records);
    collector
        .on_records(batch.clone())
        .await
        .map_err(|source| CollectError::Callback {
            collector: id.clone(),
            cause: source,
        })?;
    let records = batch.take();
    Ok(Rows {
        dropped: offered.saturating_sub(records.len()),
        rows: records.into_iter().map(Model::into_row).collect(),
    })
}

impl<M: Model> fmt::Debug for Run<'_, M> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Run")
            .field("collector", self.host.id())
            .field("service", self.host.service())
            .finish_non_exhaustive()
    }
}
