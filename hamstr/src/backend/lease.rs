//! Runs claimed from a store several workers share: a [`Claim`] before each run of a collector,
//! answered with [`Claimed`]; the lease it gives is renewed while the worker lives and released
//! when the run ends. A store that only one process uses ([`Backend::is_shared`] is false)
//! grants every claim.
//!
//! [`Backend::is_shared`]: super::Backend::is_shared

use std::{pin::Pin, time::Duration};

use chrono::{DateTime, Utc};
use futures_util::Stream;

use super::CollectorId;

/// A worker asking to run a collector now.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    /// The collector.
    pub collector: &'a CollectorId,
    /// Who asks: a name unique among the workers (host and process id by default).
    pub worker: &'a str,
    /// How long the lease holds without being renewed; a worker that dies loses it after this.
    pub lease: Duration,
    /// A run asked for now (not on the schedule): granted whenever no live worker holds the
    /// collector, even before it is due.
    pub is_asked: bool,
}

/// What a store answered to a [`Claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claimed {
    /// Run it: the lease is the worker's until released, renewed while the worker lives.
    Granted {
        /// The worker that held the collector when its lease ran out, whose run this one
        /// takes over.
        taken_over_from: Option<String>,
    },
    /// Not now: another worker holds it, or it is not due yet.
    Busy {
        /// When to ask again.
        retry_in: Duration,
        /// The worker that holds it, if one does.
        holder: Option<String>,
    },
}

/// A worker of a shared store, as `hamstr status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStatus {
    /// Its name.
    pub name: String,
    /// When it first claimed a run.
    pub started_at: DateTime<Utc>,
    /// When it last renewed its leases.
    pub heartbeat_at: DateTime<Utc>,
}

/// A collector's lease in a shared store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseStatus {
    /// The collector.
    pub collector: CollectorId,
    /// The worker running it now, if one is.
    pub holder: Option<String>,
    /// When the holder's lease runs out unless renewed.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it is due next (after the run in progress, if one is).
    pub next_due: Option<DateTime<Utc>>,
    /// How many runs were claimed (the fencing token of the last).
    pub claims: i64,
    /// The worker whose expired lease the last claim took over, if it did.
    pub taken_over_from: Option<String>,
}

/// The workers of a shared store and its collectors' leases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterStatus {
    /// Every worker that has claimed a run, latest heartbeat first.
    pub workers: Vec<WorkerStatus>,
    /// Every collector that has been claimed.
    pub leases: Vec<LeaseStatus>,
}

/// A service's requests paused by one worker, for every worker sharing the store: the API's
/// `Retry-After`, or its quota used up until the reset.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SharedPause {
    /// The service (its name).
    pub service: String,
    /// When its requests may go out again.
    pub resumes_at: DateTime<Utc>,
}

impl SharedPause {
    /// A pause of `service` until `resumes_at`.
    pub fn new(service: impl Into<String>, resumes_at: DateTime<Utc>) -> Self {
        Self {
            service: service.into(),
            resumes_at,
        }
    }
}

/// The pauses other workers share, as they come: first those in force, then each new one. It
/// ends when the store's connection does; watch again to go on.
pub type SharedPauses = Pin<Box<dyn Stream<Item = SharedPause> + Send>>;

/// The default worker name: this host's name and this process's id.
pub fn default_worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}-{}", std::process::id())
}
