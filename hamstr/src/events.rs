//! [`Event`]s: what a running app does, as it happens, for any number of subscribers (a progress
//! display, logs, metrics, an admin API).
//!
//! Subscribe with [`Hamstr::subscribe`](crate::Hamstr::subscribe) before running, or with
//! [`AppControl::subscribe`](crate::AppControl::subscribe) while it runs. Events are sent without
//! waiting for anyone: a subscriber that falls more than 1,024 events behind misses the oldest it
//! had not read, and is told how many ([`Event::Missed`]); it never slows a run.
//!
//! # Examples
//! ```
//! use hamstr::{CollectorSpec, Hamstr, Model, Service, backend::MemoryBackend, events::Event};
//! use hamstr::{paginate::NextLink, testing::MockApi};
//!
//! #[derive(Model, serde::Deserialize)]
//! #[hamstr(name = "payments")]
//! struct Payment {
//!     id: String,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), hamstr::Error> {
//! let api = MockApi::start_demo().await; // 120 payments, 50 a page
//! let mollie = Service::new(format!("{}v2/", api.url()))
//!     .name("mollie")
//!     .paginator(NextLink::at("_links.next.href"))
//!     .records("_embedded.payments")
//!     .add_collector(CollectorSpec::endpoint("payments").model::<Payment>());
//! let app = Hamstr::new().backend(MemoryBackend::new()).register_service(mollie);
//! let mut events = app.subscribe();
//! app.run_once().await?;
//! let mut pages = 0;
//! while let Some(event) = events.next().await {
//!     match event {
//!         Event::PageStored { records, .. } => pages += usize::from(records > 0),
//!         Event::RunFinished { record } => assert_eq!(record.records, 120),
//!         _ => {}
//!     }
//! }
//! assert_eq!(pages, 3);
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::{
    backend::Committed,
    http::RequestEvent,
    state::{CollectorId, RunRecord},
    url::RedactedUrl,
};

/// How many events a subscriber may fall behind by before it misses some. The channel holds
/// this many slots from the start, so it is kept small.
const BACKLOG: usize = 1024;

/// Something a running app did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A run of `collector` started; `run` counts its runs since the app started, from 1.
    RunStarted {
        /// The collector.
        collector: CollectorId,
        /// Which run of it this is.
        run: u64,
    },
    /// A batch of a run (a page of its endpoint, or what a collect step of its own emitted) was
    /// committed with the state that covers it.
    PageStored {
        /// The collector.
        collector: CollectorId,
        /// Rows stored (0 for a commit of state alone).
        records: usize,
        /// What the backend did with them.
        committed: Committed,
    },
    /// A run ended; its line in the load history says how.
    RunFinished {
        /// The run, as the load history keeps it (boxed: it is the largest event by far, and
        /// every slot of the channel is as large as the largest).
        record: Box<RunRecord>,
    },
    /// A request of `service` failed and is sent again after `wait`.
    RequestRetried {
        /// The service.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// The attempt that failed, from 1.
        attempt: u32,
        /// Why it is retried.
        reason: &'static str,
        /// How long until the next attempt.
        wait: Duration,
    },
    /// The API asked `service` to wait (`Retry-After`, a rate-limited answer): every request of
    /// it waits until `resumes_at`.
    Throttled {
        /// The service.
        service: String,
        /// When requests go out again.
        resumes_at: DateTime<Utc>,
    },
    /// The rate-limit quota of `service` (or hamstr's share of it) is used up: every request of
    /// it waits for the quota's reset at `resumes_at`.
    PausedForQuota {
        /// The service.
        service: String,
        /// When requests go out again.
        resumes_at: DateTime<Utc>,
    },
    /// `collector` was paused: it starts no run until it is resumed.
    CollectorPaused {
        /// The collector.
        collector: CollectorId,
    },
    /// `collector` was resumed.
    CollectorResumed {
        /// The collector.
        collector: CollectorId,
    },
    /// This subscriber fell behind and missed `count` events (only it: the others and the runs
    /// went on).
    Missed {
        /// How many events it missed.
        count: u64,
    },
}

impl Event {
    /// The event a service's request event becomes.
    pub(crate) fn of_request(service: &str, event: RequestEvent) -> Self {
        let service = service.to_owned();
        match event {
            RequestEvent::Retrying {
                url,
                attempt,
                reason,
                wait,
            } => Self::RequestRetried {
                service,
                url,
                attempt,
                reason,
                wait,
            },
            RequestEvent::Paused {
                resumes_at,
                is_quota: true,
            } => Self::PausedForQuota {
                service,
                resumes_at,
            },
            RequestEvent::Paused {
                resumes_at,
                is_quota: false,
            } => Self::Throttled {
                service,
                resumes_at,
            },
        }
    }
}

/// Where the app sends its events; cheap to clone, and sending never waits.
#[derive(Debug, Clone)]
pub(crate) struct EventBus(broadcast::Sender<Event>);

impl EventBus {
    pub(crate) fn new() -> Self {
        Self(broadcast::channel(BACKLOG).0)
    }

    /// Sends `event` to every subscriber there is now.
    pub(crate) fn send(&self, event: Event) {
        // No subscriber is no error: events are for whoever listens.
        let _ = self.0.send(event);
    }

    pub(crate) fn subscribe(&self) -> Events {
        Events(self.0.subscribe())
    }
}

/// One subscriber's events, in the order they happened. It ends when the app that sends them
/// is gone (a `run_once` returned, a handle was stopped and dropped).
#[derive(Debug)]
pub struct Events(broadcast::Receiver<Event>);

impl Events {
    /// The next event; `None` once the app is gone and every event was read.
    pub async fn next(&mut self) -> Option<Event> {
        match self.0.recv().await {
            Ok(event) => Some(event),
            Err(RecvError::Lagged(count)) => Some(Event::Missed { count }),
            Err(RecvError::Closed) => None,
        }
    }

    /// The events as a [`Stream`].
    pub fn into_stream(self) -> impl Stream<Item = Event> + Send + 'static {
        futures_util::stream::unfold(self, |mut events| async move {
            let event = events.next().await?;
            Some((event, events))
        })
    }
}
