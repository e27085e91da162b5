//! [`AppHandle`]: an app that runs, and what can be asked of it while it does: the status of
//! every collector, a run now, pause and resume, its events, a graceful stop.

use std::sync::Arc;

use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::{AppError, Hamstr};
use crate::{
    events::{Event, EventBus, Events},
    runtime::{self, Planned, Refused},
    service::{RateLimit, Service},
    state::{CollectorId, CollectorStatus},
};

/// A running app, from [`Hamstr::start`]. Every collector runs on its schedule on tasks of its
/// own; the handle asks about them and tells them what to do. Cheap to keep; dropping it begins
/// a graceful stop (as [`stop`](Self::stop), without waiting for it).
///
/// # Examples
/// ```
/// use hamstr::{CollectorSpec, Hamstr, Model, RunNow, Service, backend::MemoryBackend};
/// use hamstr::{events::Event, paginate::NextLink, testing::MockApi};
///
/// #[derive(Model, serde::Deserialize)]
/// #[hamstr(name = "payments")]
/// struct Payment {
///     id: String,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), hamstr::Error> {
/// let api = MockApi::start_demo().await;
/// let mollie = Service::new(format!("{}v2/", api.url()))
///     .name("mollie")
///     .paginator(NextLink::at("_links.next.href"))
///     .records("_embedded.payments")
///     .add_collector(CollectorSpec::endpoint("payments").model::<Payment>().interval("1h"));
/// let app = Hamstr::new().backend(MemoryBackend::new()).register_service(mollie);
/// let mut events = app.subscribe();
/// let mut handle = app.start().await?;
/// // Its first run starts at once; wait for it to end.
/// while !matches!(events.next().await, Some(Event::RunFinished { .. })) {}
/// let status = &handle.status(1).await?[0];
/// assert_eq!(status.runs[0].records, 120);
/// assert!(status.next_run.is_some()); // in an hour
/// assert_eq!(handle.run_now("payments")?, RunNow::Started);
/// handle.pause("payments")?;
/// handle.stop().await; // runs in progress store what they have
/// # Ok(())
/// # }
/// ```
pub struct AppHandle {
    collectors: Vec<Arc<Planned>>,
    services: Vec<Service>,
    events: EventBus,
    stop: CancellationToken,
    /// Waits for every scheduler; `None` once it has been awaited to its end.
    supervisor: Option<JoinHandle<()>>,
}

/// What asking for a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunNow {
    /// A run starts now.
    Started,
    /// A run of the collector is going on (or about to start); no second one is started.
    AlreadyRunning,
}

impl Hamstr {
    /// Starts the app: checks it as [`run`](Self::run) does, then runs every collector on its
    /// interval on tasks of its own, and returns at once with a handle to the running app. A
    /// collector without an interval runs once at the start, and again whenever a run is asked
    /// for. It runs until [`AppHandle::stop`] (it installs no signal handlers: see
    /// [`run`](Self::run) for that).
    ///
    /// # Errors
    /// As [`run_once`](Self::run_once).
    pub async fn start(self) -> Result<AppHandle, AppError> {
        self.start_with(true).await
    }

    /// Starts the schedulers; with `is_waiting`, collectors without an interval wait for runs
    /// asked for instead of ending after their first.
    pub(super) async fn start_with(self, is_waiting: bool) -> Result<AppHandle, AppError> {
        let planned: Vec<Arc<Planned>> = self.prepare().await?.into_iter().map(Arc::new).collect();
        let stop = CancellationToken::new();
        let mut forwarders = forward_requests(&self.services(), &self.events, &stop);
        // Workers sharing a store share their services' pauses and request rates too.
        if let Some((backend, worker)) = planned
            .iter()
            .find_map(|planned| Some((&planned.backend, planned.cluster.as_ref()?)))
        {
            let services = self.services();
            super::shared::share_pauses(&services, backend, &stop, &mut forwarders);
            super::shared::share_budgets(&services, backend, worker.lease, &stop, &mut forwarders);
        }
        let mut schedulers = JoinSet::new();
        for planned in &planned {
            schedulers.spawn(runtime::schedule(
                Arc::clone(planned),
                stop.clone(),
                self.grace,
                is_waiting,
            ));
        }
        let supervisor = tokio::spawn(async move {
            while let Some(joined) = schedulers.join_next().await {
                // Runs catch their own panics; this is the scheduler itself.
                if let Err(error) = joined {
                    tracing::error!(%error, "a scheduler stopped");
                }
            }
            drop(forwarders);
        });
        Ok(AppHandle {
            collectors: planned,
            services: self.services(),
            events: self.events.clone(),
            stop,
            supervisor: Some(supervisor),
        })
    }
}

/// Turns every service's request events (retries, pauses) into the app's events, until `stop`.
pub(super) fn forward_requests(
    services: &[Service],
    events: &EventBus,
    stop: &CancellationToken,
) -> JoinSet<()> {
    let mut forwarders = JoinSet::new();
    for service in services {
        let Some(mut requests) = service.request_events() else {
            continue;
        };
        let (name, events, stop) = (service.service_name(), events.clone(), stop.clone());
        forwarders.spawn(async move {
            loop {
                let received = tokio::select! {
                    () = stop.cancelled() => return,
                    received = requests.recv() => received,
                };
                match received {
                    Ok(request) => events.send(Event::of_request(&name, request)),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(count)) => {
                        events.send(Event::Missed { count });
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
    forwarders
}

impl AppHandle {
    /// Every collector: its stored state (walk in progress, mark), its last `runs` runs (the
    /// first is the last run and its outcome), whether it runs now or is paused, its next
    /// scheduled run and its failure streak.
    ///
    /// # Errors
    /// The backend's, reading the state and the load history.
    pub async fn status(&self, runs: usize) -> Result<Vec<CollectorStatus>, AppError> {
        let mut statuses = Vec::with_capacity(self.collectors.len());
        for planned in &self.collectors {
            let mut status = CollectorStatus::stored(
                planned.id.clone(),
                planned.incremental.clone(),
                planned.backend.load_state(&planned.id).await?,
                planned.backend.run_history(Some(&planned.id), runs).await?,
            );
            status.is_running = planned.live.is_running();
            status.is_paused = planned.live.is_paused();
            status.next_run = planned.live.next_run();
            status.failures = planned.live.failures();
            statuses.push(status);
        }
        Ok(statuses)
    }

    /// Starts a run of `collector` (`collector` or `service/collector`) now, whatever its
    /// schedule and even when paused; when a run of it is going on, says so and starts no
    /// second one.
    ///
    /// # Errors
    /// [`AppError::UnknownCollector`]; [`AppError::CollectorEnded`] after its scheduler ended
    /// (the app stopped, or the API refused its service's credentials).
    pub fn run_now(&self, collector: &str) -> Result<RunNow, AppError> {
        let planned = self.find(collector)?;
        match planned.live.ask_run() {
            Ok(()) => Ok(RunNow::Started),
            Err(Refused::Running) => Ok(RunNow::AlreadyRunning),
            Err(Refused::Ended) => Err(AppError::CollectorEnded {
                collector: planned.id.clone(),
            }),
        }
    }

    /// Pauses `collector`: it starts no scheduled run until [`resume`](Self::resume)d (a run
    /// going on ends as usual; a run asked for with [`run_now`](Self::run_now) still runs).
    ///
    /// # Errors
    /// [`AppError::UnknownCollector`].
    pub fn pause(&self, collector: &str) -> Result<(), AppError> {
        let planned = self.find(collector)?;
        if planned.live.set_paused(true) {
            self.events.send(Event::CollectorPaused {
                collector: planned.id.clone(),
            });
        }
        Ok(())
    }

    /// Resumes a paused `collector`: a run it missed while paused starts at once, then it is
    /// back on its schedule.
    ///
    /// # Errors
    /// [`AppError::UnknownCollector`].
    pub fn resume(&self, collector: &str) -> Result<(), AppError> {
        let planned = self.find(collector)?;
        if planned.live.set_paused(false) {
            self.events.send(Event::CollectorResumed {
                collector: planned.id.clone(),
            });
        }
        Ok(())
    }

    /// The app's events from now on; see [`events`](crate::events).
    pub fn subscribe(&self) -> Events {
        self.events.subscribe()
    }

    /// The collectors, as `service/collector`.
    pub fn collectors(&self) -> Vec<CollectorId> {
        self.collectors
            .iter()
            .map(|planned| planned.id.clone())
            .collect()
    }

    /// Each service's rate limit as its API last reported it, for services that have sent a
    /// request.
    pub fn rate_limits(&self) -> Vec<(String, RateLimit)> {
        self.services
            .iter()
            .filter_map(|service| Some((service.service_name(), service.rate_limit()?)))
            .collect()
    }

    /// Stops the app gracefully: no run starts any more, each run going on stores what it has
    /// fetched and stops (within the app's shutdown grace), and this returns when all have.
    pub async fn stop(&mut self) {
        self.stop.cancel();
        self.finished().await;
    }

    /// Completes when every collector's scheduler has ended: after [`stop`](Self::stop), or
    /// when the API refused the credentials of every service.
    pub async fn finished(&mut self) {
        if let Some(supervisor) = &mut self.supervisor {
            let _ = supervisor.await;
            self.supervisor = None;
        }
    }

    fn find(&self, collector: &str) -> Result<&Planned, AppError> {
        super::plan::find(self.collectors.iter().map(AsRef::as_ref), collector)
    }
}

impl std::fmt::Debug for AppHandle {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AppHandle")
            .field("collectors", &self.collectors())
            .field("is_stopping", &self.stop.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl Drop for AppHandle {
    fn drop(&mut self) {
        // A handle let go of stops its app: nothing would be left to stop it.
        self.stop.cancel();
    }
}
