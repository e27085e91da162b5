//! Collectors: what to fetch from a service, into which [`Model`], how often, and what to do with
//! each batch of records before it is stored.
//!
//! Three ways to make one, all run by the same runtime:
//! - [`CollectorSpec`], the builder with closures:
//!   `CollectorSpec::endpoint("payments").model::<Payment>().interval("5s").on_records(...)`;
//! - `#[derive(Collector)]` on a type of your own, with `#[hamstr(...)]` attributes;
//! - a hand-written [`Collector`] implementation, whose [`collect`](Collector::collect) step is
//!   your own code: map each page yourself, or call the API through the service and
//!   [`emit`](Run::emit) what you made of it.

mod batch;
mod derive;
mod erased;
mod error;
mod fan_out;
mod interval;
mod run;
mod spec;

use async_trait::async_trait;

use crate::{model::Model, records::Records, service::FileSource, state::Incremental};

pub use crate::auth::BoxError;
pub use batch::RecordBatch;
pub use derive::{OnError, OnRecords};
pub(crate) use erased::{DynamicCollector, ErasedCollector, erase};
pub use error::CollectError;
pub(crate) use fan_out::is_path_key;
pub use fan_out::{FanOut, placeholders};
pub use interval::{Interval, IntervalError};
pub use run::Run;
pub(crate) use run::{PageRows, Rows, RunHost};
pub use spec::CollectorSpec;

/// A source of records of one [`Model`]: the runtime calls [`collect`](Self::collect) on each
/// tick, hands every batch to [`on_records`](Self::on_records), stores what that leaves, and
/// reports problems to [`on_error`](Self::on_error).
///
/// `#[derive(Collector)]` implements it from attributes; implement it by hand for a custom
/// collect step.
///
/// # Examples
/// A collector whose collect step is its own code: it asks the service for two listings and
/// emits one kind of record made from both.
/// ```
/// use hamstr::{Collector, Model, Service, collector::{CollectError, CollectorSettings, Run}};
/// use futures_util::TryStreamExt;
///
/// #[derive(Model, serde::Deserialize)]
/// #[hamstr(name = "people")]
/// struct Person {
///     #[hamstr(primary_key)]
///     login: String,
///     followers: Option<i64>,
/// }
///
/// struct Team;
///
/// #[async_trait::async_trait]
/// impl Collector for Team {
///     type Model = Person;
///
///     fn settings(&self) -> CollectorSettings {
///         CollectorSettings::new().name("team").service("github").interval("1h")
///     }
///
///     async fn collect(&self, run: &mut Run<'_, Person>) -> Result<(), CollectError> {
///         for group in ["admins", "members"] {
///             let people: Vec<Person> = run.service().list_as(group).try_collect().await?;
///             run.emit(people).await?;
///         }
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Collector: Send + Sync + 'static {
    /// The type of the records it collects.
    type Model: Model;

    /// Its name, service, endpoint, interval and parameters.
    fn settings(&self) -> CollectorSettings;

    /// One run: fetch, then [`emit`](Run::emit) records. The default walks the configured
    /// endpoint page by page, decodes each record into the model (a record that does not fit is
    /// [skipped](Run::skip) and reported), and emits each page's records.
    ///
    /// # Errors
    /// An error that ends the run (a request that failed, a backend that refused); what was
    /// emitted before it stays stored.
    async fn collect(&self, run: &mut Run<'_, Self::Model>) -> Result<(), CollectError> {
        run.collect_endpoint().await
    }

    /// Called with each batch before it is stored; it may change, drop or add records. An error
    /// ends the run (the batch is not stored) and is reported.
    ///
    /// # Errors
    /// Whatever the callback's own work reports.
    async fn on_records(&self, batch: RecordBatch<Self::Model>) -> Result<(), BoxError> {
        let _ = batch;
        Ok(())
    }

    /// Called for each problem of a run: a record that did not fit (the run goes on), and the
    /// error that ended a run.
    fn on_error(&self, error: &CollectError) {
        let _ = error;
    }
}

/// Where a collector reads from and how often it runs.
///
/// # Examples
/// ```
/// use hamstr::collector::CollectorSettings;
///
/// let settings = CollectorSettings::endpoint("payments")
///     .name("payments")
///     .service("mollie")
///     .records("_embedded.payments")
///     .param("limit", "250")
///     .interval("5s");
/// assert_eq!(settings.endpoint_path(), Some("payments"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct CollectorSettings {
    name: Option<String>,
    service: Option<String>,
    endpoint: Option<String>,
    file: Option<FileSource>,
    records: Option<Records>,
    params: Vec<(String, String)>,
    interval: Option<Interval>,
    incremental: Incremental,
    fan_out: Option<FanOut>,
}

impl CollectorSettings {
    /// Settings with no endpoint, for a collector that fetches in its own
    /// [`collect`](Collector::collect).
    pub fn new() -> Self {
        Self::default()
    }

    /// Settings for the listing at `path`, relative to the service's base URL.
    pub fn endpoint(path: impl Into<String>) -> Self {
        Self {
            endpoint: Some(path.into()),
            ..Self::default()
        }
    }

    /// Settings for the rows of a file ([`FileSource`]: CSV or JSON Lines, in pages). A file
    /// collector needs no service; its id is `files/<name>` unless it names one.
    pub fn file(source: FileSource) -> Self {
        Self {
            file: Some(source),
            ..Self::default()
        }
    }

    /// The collector's name, unique within its service; it names the collector's state and
    /// appears in logs and reports. Default: its model's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The name of the service it collects from, as registered with
    /// [`Hamstr::register_service`](crate::Hamstr::register_service). Not needed for a collector
    /// added with [`Service::add_collector`](crate::Service::add_collector).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// Where the records are in each page (default: the service's setting).
    pub fn records(mut self, records: impl Into<Records>) -> Self {
        self.records = Some(records.into());
        self
    }

    /// A query parameter for this collector's requests.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// How often it runs: a [`Duration`](std::time::Duration) or a string such as `"5s"` or
    /// `"1d"`. Without one, it runs once when the app starts.
    pub fn interval(mut self, interval: impl Into<Interval>) -> Self {
        self.interval = Some(interval.into());
        self
    }

    /// How its default collect step asks only for what is new (default
    /// [`Incremental::FullRefresh`]): see [`Incremental`].
    pub fn incremental(mut self, strategy: impl Into<Incremental>) -> Self {
        self.incremental = strategy.into();
        self
    }

    /// Reads its endpoint once per key (the endpoint has a `{placeholder}`): see [`FanOut`].
    pub fn fan_out(mut self, fan_out: FanOut) -> Self {
        self.fan_out = Some(fan_out);
        self
    }

    /// Where its keys come from, for a fan-out collector.
    pub fn fan_out_settings(&self) -> Option<&FanOut> {
        self.fan_out.as_ref()
    }

    /// The name, if one was given.
    pub fn collector_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The service's name, if one was given.
    pub fn service_name(&self) -> Option<&str> {
        self.service.as_deref()
    }

    /// The endpoint's path, if there is one.
    pub fn endpoint_path(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The file it reads, if it reads one.
    pub fn file_source(&self) -> Option<&FileSource> {
        self.file.as_ref()
    }

    /// The records path, if one was given.
    pub fn records_path(&self) -> Option<&Records> {
        self.records.as_ref()
    }

    /// The query parameters.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The interval, if one was given.
    pub fn run_interval(&self) -> Option<&Interval> {
        self.interval.as_ref()
    }

    /// The incremental strategy.
    pub fn incremental_strategy(&self) -> &Incremental {
        &self.incremental
    }
}
