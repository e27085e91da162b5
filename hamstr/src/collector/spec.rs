//! [`CollectorSpec`]: a collector made with the builder, its callbacks as closures.

use std::{fmt, future::Future, marker::PhantomData, sync::Arc};

use async_trait::async_trait;
use futures_util::{FutureExt, future::BoxFuture};

use super::{BoxError, CollectError, Collector, CollectorSettings, Interval, RecordBatch};
use crate::{model::Model, records::Records, state::Incremental};

type RecordsCallback<M> =
    Arc<dyn Fn(RecordBatch<M>) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;
type ErrorCallback = Arc<dyn Fn(&CollectError) + Send + Sync>;

/// A collector built from settings and closures. Start from [`endpoint`](Self::endpoint), name
/// its [`model`](Self::model), then add what it needs; add it to a service with
/// [`Service::add_collector`](crate::Service::add_collector).
///
/// # Examples
/// ```
/// use hamstr::{CollectorSpec, Model};
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
///
/// #[derive(Model, serde::Deserialize)]
/// struct Payment {
///     #[hamstr(primary_key)]
///     id: String,
///     amount: f64,
/// }
///
/// let seen = Arc::new(AtomicUsize::new(0));
/// let counter = Arc::clone(&seen);
/// let payments = CollectorSpec::endpoint("payments")
///     .records("_embedded.payments")
///     .model::<Payment>()
///     .interval("5s")
///     .on_records(move |batch| {
///         let counter = Arc::clone(&counter);
///         async move {
///             counter.fetch_add(batch.len(), Ordering::Relaxed);
///             batch.retain(|payment| payment.amount > 0.0); // refunds are stored elsewhere
///             Ok(())
///         }
///     })
///     .on_error(|error| tracing::warn!(%error, "payments"));
/// # let _ = payments;
/// ```
pub struct CollectorSpec<M = ()> {
    settings: CollectorSettings,
    on_records: Vec<RecordsCallback<M>>,
    on_error: Vec<ErrorCallback>,
    model: PhantomData<fn() -> M>,
}

impl CollectorSpec {
    /// A collector of the listing at `path` (relative to its service's base URL).
    pub fn endpoint(path: impl Into<String>) -> Self {
        Self::with_settings(CollectorSettings::endpoint(path))
    }

    /// A collector of the rows of a file (CSV or JSON Lines; see
    /// [`FileSource`](crate::service::FileSource)).
    pub fn file(source: crate::service::FileSource) -> Self {
        Self::with_settings(CollectorSettings::file(source))
    }

    /// A collector with these settings.
    pub fn with_settings(settings: CollectorSettings) -> Self {
        Self {
            settings,
            on_records: Vec::new(),
            on_error: Vec::new(),
            model: PhantomData,
        }
    }

    /// The type its records are decoded into and stored as.
    pub fn model<M: Model>(self) -> CollectorSpec<M> {
        CollectorSpec {
            settings: self.settings,
            on_records: Vec::new(),
            on_error: self.on_error,
            model: PhantomData,
        }
    }
}

impl<M> CollectorSpec<M> {
    fn settings_with(
        mut self,
        change: impl FnOnce(CollectorSettings) -> CollectorSettings,
    ) -> Self {
        self.settings = change(self.settings);
        self
    }

    /// Its name (default: the model's name); see [`CollectorSettings::name`].
    pub fn name(self, name: impl Into<String>) -> Self {
        self.settings_with(|settings| settings.name(name))
    }

    /// The name of its service, when it is added with [`Hamstr::add_collector`](crate::Hamstr::add_collector).
    pub fn service(self, service: impl Into<String>) -> Self {
        self.settings_with(|settings| settings.service(service))
    }

    /// Where the records are in each page (default: the service's setting).
    pub fn records(self, records: impl Into<Records>) -> Self {
        self.settings_with(|settings| settings.records(records))
    }

    /// Reads its endpoint once per key: see [`FanOut`](super::FanOut).
    pub fn fan_out(self, fan_out: super::FanOut) -> Self {
        self.settings_with(|settings| settings.fan_out(fan_out))
    }

    /// A query parameter for its requests.
    pub fn param(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings_with(|settings| settings.param(name, value))
    }

    /// How often it runs: a `Duration` or `"5s"`, `"15m"`, `"1d"`.
    pub fn interval(self, interval: impl Into<Interval>) -> Self {
        self.settings_with(|settings| settings.interval(interval))
    }

    /// How it asks only for what is new (default: it reads everything each run); see
    /// [`Incremental`].
    pub fn incremental(self, strategy: impl Into<Incremental>) -> Self {
        self.settings_with(|settings| settings.incremental(strategy))
    }

    /// Called for each problem of a run: a record that did not fit, the error that ended a run.
    pub fn on_error(mut self, callback: impl Fn(&CollectError) + Send + Sync + 'static) -> Self {
        self.on_error.push(Arc::new(callback));
        self
    }
}

impl<M: Model> CollectorSpec<M> {
    /// Called with each batch of records before it is stored; it may change, drop or add
    /// records (see [`RecordBatch`]). Callbacks run in the order they were added. An error ends
    /// the run without storing the batch, and is reported.
    pub fn on_records<F, Fut>(mut self, callback: F) -> Self
    where
        F: Fn(RecordBatch<M>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.on_records
            .push(Arc::new(move |batch| callback(batch).boxed()));
        self
    }
}

#[async_trait]
impl<M: Model> Collector for CollectorSpec<M> {
    type Model = M;

    fn settings(&self) -> CollectorSettings {
        self.settings.clone()
    }

    async fn on_records(&self, batch: RecordBatch<M>) -> Result<(), BoxError> {
        for callback in &self.on_records {
            callback(batch.clone()).await?;
        }
        Ok(())
    }

    fn on_error(&self, error: &CollectError) {
        for callback in &self.on_error {
            callback(error);
        }
    }
}

impl<M> fmt::Debug for CollectorSpec<M> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("CollectorSpec")
            .field("settings", &self.settings)
            .field("model", &std::any::type_name::<M>())
            .field("on_records", &self.on_records.len())
            .field("on_error", &self.on_error.len())
            .finish()
    }
}
