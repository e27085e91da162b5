//! [`Hamstr`]: the app. It registers services and collectors, checks that they fit together
//! before the first request, and runs them.

mod control;
mod error;
mod fan_out;
mod handle;
mod plan;
mod services;
mod shared;

use std::{fmt, future::Future, sync::Arc, time::Duration};

use futures_util::future;
use tokio_util::sync::CancellationToken;

use crate::{
    backend::{Backend, Batch, ClusterStatus},
    collector::{Collector, CollectorSettings, DynamicCollector, ErasedCollector, erase},
    events::{EventBus, Events},
    model::DynamicModel,
    report::{Observer, Report},
    runtime::{self, Worker},
    service::{RateLimit, Service},
    state::{CollectorId, CollectorStatus, State},
};

pub use control::{AppControl, LiveStatus, ModelInfo, ServiceStatus};
pub use error::AppError;
pub use handle::{AppHandle, RunNow};
pub use services::ServiceWithCollectors;

/// The app: services, their collectors, and the [`Backend`] that stores what they collect.
///
/// Everything is checked before the first request ([`check`](Self::check)): every collector has
/// a service, names are unique, intervals parse, endpoints stay under their base URLs, and the
/// backend can store every model.
///
/// # Examples
/// ```
/// use hamstr::{CollectorSpec, Hamstr, Model, Service, backend::MemoryBackend, paginate::NextLink};
/// use hamstr::testing::MockApi;
///
/// #[derive(Model, serde::Deserialize)]
/// #[hamstr(name = "payments")]
/// struct Payment {
///     #[hamstr(primary_key)]
///     id: String,
///     description: Option<String>,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), hamstr::Error> {
/// let api = MockApi::start_demo().await; // 120 payments, HAL links
/// let mollie = Service::new(format!("{}v2/", api.url()))
///     .name("mollie")
///     .paginator(NextLink::at("_links.next.href"))
///     .add_collector(
///         CollectorSpec::endpoint("payments")
///             .records("_embedded.payments")
///             .model::<Payment>()
///             .interval("5s"),
///     );
/// let store = MemoryBackend::new();
/// let report = Hamstr::new().backend(store.clone()).register_service(mollie).run_once().await?;
/// assert!(report.is_success());
/// assert_eq!(store.records("payments").len(), 120);
/// # Ok(())
/// # }
/// ```
pub struct Hamstr {
    services: Vec<ServiceWithCollectors>,
    collectors: Vec<Arc<dyn ErasedCollector>>,
    backend: Option<Arc<dyn Backend>>,
    observer: Option<Arc<dyn Observer>>,
    grace: Duration,
    is_backfill: bool,
    spread: Duration,
    events: EventBus,
    /// Who this process is when its store is shared (PostgreSQL).
    cluster: Arc<Worker>,
    /// The collectors to run, when not all of them (`hamstr run --only`).
    only: Option<Vec<String>>,
}

impl Hamstr {
    /// An app with nothing registered.
    pub fn new() -> Self {
        Self {
            services: Vec::new(),
            collectors: Vec::new(),
            backend: None,
            observer: None,
            grace: Duration::from_secs(30),
            is_backfill: false,
            spread: Duration::ZERO,
            events: EventBus::new(),
            cluster: Arc::new(Worker {
                name: crate::backend::default_worker_name(),
                lease: Self::DEFAULT_LEASE,
            }),
            only: None,
        }
    }

    /// How long a worker's claim on a collector holds unless renewed, by default.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

    /// This process's name among the workers that share a store (PostgreSQL): it is in the
    /// leases and `hamstr status`. Host and process id by default; it must be unique among them.
    pub fn worker_name(mut self, name: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.cluster).name = name.into();
        self
    }

    /// How long a claim on a collector holds unless renewed (default 30 s), when the store is
    /// shared: a worker that dies loses its collectors after this, and another takes them over
    /// within two lease periods. The worker renews its claims every third of it.
    pub fn lease_period(mut self, lease: Duration) -> Self {
        Arc::make_mut(&mut self.cluster).lease = lease.max(Duration::from_millis(300));
        self
    }

    /// The app's events, from now on: subscribe before [`run`](Self::run),
    /// [`run_once`](Self::run_once) or [`start`](Self::start) to see them all. See
    /// [`events`](crate::events).
    pub fn subscribe(&self) -> Events {
        self.events.subscribe()
    }

    /// The registered services.
    fn services(&self) -> Vec<Service> {
        self.services
            .iter()
            .map(|service| service.service.clone())
            .collect()
    }

    /// Where records and collector state are stored.
    pub fn backend(self, backend: impl Backend) -> Self {
        self.shared_backend(Arc::new(backend))
    }

    /// Like [`backend`](Self::backend), with a backend that is already shared.
    pub fn shared_backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Registers `service` under its [name](crate::Service::service_name), with the collectors
    /// added to it ([`Service::add_collector`](crate::Service::add_collector)).
    pub fn register_service(mut self, service: impl Into<ServiceWithCollectors>) -> Self {
        self.services.push(service.into());
        self
    }

    /// Adds a collector that names its service (`#[hamstr(service = "mollie")]`, or
    /// [`CollectorSettings::service`](crate::collector::CollectorSettings::service)).
    pub fn add_collector(mut self, collector: impl Collector) -> Self {
        self.collectors.push(erase(collector));
        self
    }

    /// Adds a collector of records described at run time (`settings` and a [`DynamicModel`]),
    /// that names its service or reads a file: what a YAML project's `files:` become.
    pub fn add_dynamic_collector(
        mut self,
        settings: CollectorSettings,
        model: DynamicModel,
    ) -> Self {
        self.collectors
            .push(Arc::new(DynamicCollector { settings, model }));
        self
    }

    /// Lets `observer` see every run as it goes: start, each page, the report.
    pub fn observe(mut self, observer: impl Observer) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// How long a run may go on after shutdown begins before it is abandoned (default 30 s).
    /// Runs stop between pages, so this only matters for a collect step of your own that does
    /// not look at [`Run::is_stopping`](crate::collector::Run::is_stopping).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Runs only these collectors (`collector` or `service/collector`): the others are still
    /// planned (their models are known, and a fan-out may take its keys from their rows) but not
    /// run. A name no collector has is an error before any request ([`check`](Self::check)).
    /// `hamstr run --only`.
    pub fn only<I, S>(mut self, collectors: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.only = Some(collectors.into_iter().map(Into::into).collect());
        self
    }

    /// Makes the first run of every collector a backfill: it reads everything once, as if it had
    /// no incremental strategy, and the stored state is kept and moved on (a mark only ever
    /// moves to newer values). Later runs are incremental again. `hamstr run --full`.
    pub fn backfill(mut self) -> Self {
        self.is_backfill = true;
        self
    }

    /// Each collector's strategy, stored state and its last `runs` runs (newest first), read
    /// from the backend without sending a request. `hamstr status`.
    ///
    /// # Errors
    /// What [`check`](Self::check) finds, or the backend's error.
    pub async fn status(&self, runs: usize) -> Result<Vec<CollectorStatus>, AppError> {
        let mut statuses = Vec::new();
        for planned in self.plan()? {
            statuses.push(control::stored_status(&planned, runs).await?);
        }
        Ok(statuses)
    }

    /// The workers sharing the app's store and who holds which collector; `None` when the
    /// store is not shared (SQLite, JSON Lines, memory). `hamstr status`.
    ///
    /// # Errors
    /// What [`check`](Self::check) finds, or the backend's error.
    pub async fn cluster_status(&self) -> Result<Option<ClusterStatus>, AppError> {
        let backend = self.backend.clone().ok_or(AppError::NoBackend)?;
        Ok(backend.cluster_status().await?)
    }

    /// Forgets what `collector` (`collector` or `service/collector`) remembers: its walk in
    /// progress, its mark and its values, so its next run reads everything. Stored records stay.
    /// `hamstr reset`.
    ///
    /// # Errors
    /// [`AppError::UnknownCollector`], what [`check`](Self::check) finds, or the backend's error.
    pub async fn reset_state(&self, collector: &str) -> Result<CollectorId, AppError> {
        let planned = self.plan()?;
        let found = plan::find(planned.iter(), collector)?;
        found.backend.prepare(&found.schema).await?;
        found
            .backend
            .commit(Batch {
                collector: found.id.clone(),
                schema: Arc::clone(&found.schema),
                rows: Vec::new(),
                state: Some(State::default()),
            })
            .await?;
        Ok(found.id.clone())
    }

    /// Each registered service's rate limit as its API last reported it (limit, remaining,
    /// reset, any pause in force), for services that have sent a request. Clones of a service
    /// share its state, so a clone kept before [`run`](Self::run) sees the running app's.
    pub fn rate_limits(&self) -> Vec<(String, RateLimit)> {
        self.services
            .iter()
            .filter_map(|service| Some((service.service_name(), service.rate_limit()?)))
            .collect()
    }

    /// Spreads the collectors' schedules over `window` (capped at each one's interval): the k-th
    /// of n collectors runs first k/n into the window, and then once per interval from there.
    /// Without it, every collector runs at start and all those with the same interval come due
    /// at the same instant, every time: thousands of collectors on one machine want a spread.
    /// [`run_once`](Self::run_once) ignores it.
    pub fn spread_schedules(mut self, window: Duration) -> Self {
        self.spread = window;
        self
    }

    /// Checks everything that can be checked without sending a request or touching storage.
    ///
    /// # Errors
    /// The first problem found: see [`AppError`], and [`ServiceError`](crate::service::ServiceError)
    /// for a service's own settings.
    pub fn check(&self) -> Result<(), AppError> {
        self.selected(self.plan()?).map(drop)
    }

    /// Runs every collector once, all at the same time, and reports what each did. A collector
    /// that fails does not stop the others; its failure is in the report.
    ///
    /// # Errors
    /// Only problems found before the first request ([`check`](Self::check)), or a backend
    /// that cannot create its tables.
    pub async fn run_once(self) -> Result<Report, AppError> {
        self.run_once_until(future::pending()).await
    }

    /// Like [`run_once`](Self::run_once), stopping early when `shutdown` completes: each run
    /// stores what it has fetched and stops, and the report says which were stopped.
    ///
    /// # Errors
    /// As [`run_once`](Self::run_once).
    pub async fn run_once_until(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<Report, AppError> {
        let planned = self.prepare().await?;
        let stop = CancellationToken::new();
        let forwarders = handle::forward_requests(&self.services(), &self.events, &stop);
        let runs = future::join_all(planned.into_iter().map(|planned| {
            let (stop, grace) = (stop.clone(), self.grace);
            // Each run on a task of its own, on the runtime's workers beside the tasks of its
            // HTTP connections; awaited where the caller awaits (often `block_on` on the main
            // thread), every page would wake that thread and back. Dropping this future still
            // ends the runs.
            let run = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
                runtime::run_collector(&planned, 1, &stop, grace)
                    .await
                    .announce(&planned)
            }));
            async move {
                match run.await {
                    Ok(report) => report,
                    Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                    Err(error) => panic!("a run's task ended before its run: {error}"),
                }
            }
        }));
        let mut runs = std::pin::pin!(runs);
        let runs = tokio::select! {
            runs = &mut runs => runs,
            () = shutdown => {
                tracing::info!("shutting down: runs in progress store what they have");
                stop.cancel();
                runs.await
            }
        };
        stop.cancel();
        drop(forwarders);
        let rate_limits = self
            .rate_limits()
            .into_iter()
            .filter(|(_, limit)| limit.limit.is_some() || limit.remaining.is_some())
            .collect();
        Ok(Report { runs, rate_limits })
    }

    /// Runs every collector on its interval (a collector without one runs once) until Ctrl-C or
    /// SIGTERM; then each run in progress stores what it has fetched and stops.
    ///
    /// # Errors
    /// As [`run_once`](Self::run_once), and when the signal handlers cannot be installed.
    pub async fn run(self) -> Result<(), AppError> {
        let signal = shutdown_signal()?;
        self.run_until(signal).await
    }

    /// Like [`run`](Self::run), stopping when `shutdown` completes instead of on a signal. It
    /// also returns when every collector is done (all of them without an interval).
    ///
    /// # Errors
    /// As [`run_once`](Self::run_once).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), AppError> {
        let mut handle = self.start_with(false).await?;
        let mut shutdown = std::pin::pin!(shutdown);
        let is_shutdown = tokio::select! {
            () = &mut shutdown => true,
            () = handle.finished() => false,
        };
        if is_shutdown {
            tracing::info!("shutting down: runs in progress store what they have");
            handle.stop().await;
        }
        Ok(())
    }
}

impl Default for Hamstr {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Hamstr {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Hamstr")
            .field("services", &self.services)
            .field("collectors", &self.collectors.len())
            .field("backend", &self.backend)
            .field("is_observed", &self.observer.is_some())
            .field("grace", &self.grace)
            .field("is_backfill", &self.is_backfill)
            .field("worker", &self.cluster.name)
            .finish()
    }
}

/// Completes on Ctrl-C, or on SIGTERM where there are signals (a container's stop).
pub(crate) fn shutdown_signal() -> Result<impl Future<Output = ()> + Send, AppError> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|source| AppError::Signals { cause: source })?;
    Ok(async move {
        #[cfg(unix)]
        let terminate = terminate.recv();
        #[cfg(not(unix))]
        let terminate = future::pending::<Option<()>>();
        tokio::select! {
            result = tokio::signal::ctrl_c() => {
                if let Err(error) = result {
                    // Without Ctrl-C handling, SIGTERM (or the process ending) still stops us.
                    tracing::warn!(%error, "Ctrl-C cannot be handled");
                    std::future::pending::<()>().await;
                }
            }
            _ = terminate => {}
        }
    })
}
