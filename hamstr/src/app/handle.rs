//! [`AppHandle`]: an app that runs, and what can be asked of it while it does: the status of
//! every collector, a run now, pause and resume, its events, a graceful stop.

use std::sync::Arc;

use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::{AppControl, AppError, Hamstr};
use crate::{
    events::{Event, EventBus},
    runtime::{self, Planned},
    service::Service,
};

/// A running app, from [`Hamstr::start`]. Every collector runs on its schedule on tasks of its
/// own; the handle asks about them and tells them what to do through [`AppControl`], which it
/// derefs to (and which [`control`](Self::control) hands out to share). Dropping the handle
/// begins a graceful stop (as [`stop`](Self::stop), without waiting for it).
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
    control: AppControl,
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
            control: AppControl::new(planned, self.services(), self.events.clone()),
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
    /// A part of the handle to share (with an admin API, a task of your own): everything the
    /// handle does but stop the app. The handle derefs to it too.
    pub fn control(&self) -> AppControl {
        self.control.clone()
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
}

impl std::fmt::Debug for AppHandle {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AppHandle")
            .field("collectors", &self.control.collectors())
            .field("is_stopping", &self.stop.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for AppHandle {
    type Target = AppControl;

    fn deref(&self) -> &AppControl {
        &self.control
    }
}

impl Drop for AppHandle {
    fn drop(&mut self) {
        // A handle let go of stops its app: nothing would be left to stop it.
        self.stop.cancel();
    }
}
