//! What a collector remembers between runs, and how it uses it to ask only for what is new.
//!
//! - [`State`]: kept by the [`Backend`](crate::Backend) for each collector and committed in the
//!   same [`Batch`](crate::backend::Batch) as the records it covers, so it never runs ahead of
//!   them: the walk in progress (where the next page is), the [`Mark`] of an incremental
//!   strategy, when the last run started.
//! - [`Incremental`]: the strategy a collector's default collect step follows, set per collector
//!   with `CollectorSpec::incremental`, `#[hamstr(incremental(...))]` or `incremental:` in YAML.
//! - [`RunRecord`]: one line of the load history, written by every run.
//!
//! docs/incremental.md describes the strategies and what each backend promises after a crash.

mod history;
mod strategy;

use std::{cmp::Ordering, collections::BTreeMap, fmt};

use chrono::{DateTime, Utc};

pub use history::{RunOutcome, RunRecord};
pub(crate) use strategy::look_back;
pub use strategy::{CursorField, Incremental, IncrementalError, MissingField};

/// Which collector a state belongs to: its service and its own name.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct CollectorId {
    /// The service's name.
    pub service: String,
    /// The collector's name.
    pub collector: String,
}

impl CollectorId {
    /// The id of `collector` on `service`.
    pub fn new(service: impl Into<String>, collector: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            collector: collector.into(),
        }
    }
}

impl fmt::Display for CollectorId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.service, self.collector)
    }
}

/// Where a walk can go on from: the request for the next page, or (after the last page of a
/// paginator that can resume, such as [`Seek`](crate::paginate::Seek)) the request that asks
/// for what is new. Store it to resume later with
/// [`Endpoint::resume`](crate::service::Endpoint::resume).
///
/// It holds a URL on the service's origin and never credentials: auth is added to each request
/// as it is sent, never to the URLs a walk keeps.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Checkpoint(String);

impl Checkpoint {
    /// A checkpoint from its stored text.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The checkpoint's text (a URL).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a collector remembers between runs. Backends store it as one JSON document, so new
/// fields never need a migration.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct State {
    /// A walk over the endpoint's pages that has not reached its end (the run stopped, failed or
    /// was killed): the next run goes on from its next page.
    pub walk: Option<WalkState>,
    /// The incremental strategy's mark: the newest value stored, or the last id seen.
    pub mark: Option<Mark>,
    /// When the last run that finished started.
    pub last_run: Option<DateTime<Utc>>,
    /// Values a collect step of its own keeps ([`Run::set_value`](crate::collector::Run::set_value)).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
}

/// A walk that has not reached its end, as committed with its last stored page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct WalkState {
    /// The listing walked: the endpoint's URL with its parameters, before any parameter of the
    /// strategy. A collector whose endpoint changed starts over instead of resuming.
    pub listing: String,
    /// The request for the next page.
    pub next: Checkpoint,
    /// Pages stored so far by this walk.
    pub pages: usize,
    /// The mark this walk leaves when it ends: the newest value it stored (or, for `seek` in a
    /// backfill, the last id). It replaces [`State::mark`] only when the walk is complete, so a
    /// walk cut short never makes the next run stop before the records it did not reach.
    pub newest: Option<String>,
    /// Whether it reads everything, ignoring the mark (a backfill).
    #[serde(default)]
    pub is_full: bool,
    /// When the run that began the walk started.
    pub started_at: DateTime<Utc>,
}

/// An incremental strategy's position: which strategy and field it belongs to, and the value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Mark {
    /// The strategy that wrote it (`seek`, `stop_when_seen`, `cursor_field`).
    pub strategy: String,
    /// The record field it was read from.
    pub field: String,
    /// The value, as the API gave it (a string, or a number's digits).
    pub value: String,
}

impl Mark {
    /// A mark of `strategy` on `field`.
    pub fn new(
        strategy: impl Into<String>,
        field: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Self {
            strategy: strategy.into(),
            field: field.into(),
            value: value.into(),
        }
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} = {}", self.field, self.value)
    }
}

/// What [`Hamstr::status`](crate::Hamstr::status) and, while the app runs,
/// [`AppControl::status`](crate::AppControl::status) tell of one collector.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CollectorStatus {
    /// The collector.
    pub collector: CollectorId,
    /// Its incremental strategy.
    pub strategy: Incremental,
    /// Its stored state (the walk in progress, the mark); `None` before its first commit.
    pub state: Option<State>,
    /// Its last runs, newest first: the first is the last run and its outcome.
    pub runs: Vec<RunRecord>,
    /// A run of it is going on now.
    pub is_running: bool,
    /// It is paused: it starts no scheduled run until resumed.
    pub is_paused: bool,
    /// When its next scheduled run starts; `None` when none is (paused, running, no interval,
    /// or the app is not running).
    pub next_run: Option<DateTime<Utc>>,
    /// Its failed runs in a row (0 after a run that succeeded).
    pub failures: u32,
    /// What it reads: its endpoint's URL without credentials, `file:PATH`, or empty for a
    /// collect step of its own.
    pub source: String,
    /// The model (table) it stores.
    pub model: String,
    /// How often it runs; `None` without an interval.
    pub interval: Option<std::time::Duration>,
}

impl CollectorStatus {
    /// The status of `collector` as stored, with no live part (the app is not running).
    pub fn stored(
        collector: CollectorId,
        strategy: Incremental,
        state: Option<State>,
        runs: Vec<RunRecord>,
    ) -> Self {
        Self {
            collector,
            strategy,
            state,
            runs,
            is_running: false,
            is_paused: false,
            next_run: None,
            failures: 0,
            source: String::new(),
            model: String::new(),
            interval: None,
        }
    }
}

/// Orders two mark values: as numbers when both are numbers, as instants when both are RFC 3339
/// datetimes (whatever their offsets), else as text.
pub fn compare_marks(left: &str, right: &str) -> Ordering {
    if let (Ok(left), Ok(right)) = (left.parse::<i128>(), right.parse::<i128>()) {
        return left.cmp(&right);
    }
    if let (Ok(left), Ok(right)) = (left.parse::<f64>(), right.parse::<f64>()) {
        return left.total_cmp(&right);
    }
    if let (Ok(left), Ok(right)) = (
        DateTime::parse_from_rfc3339(left),
        DateTime::parse_from_rfc3339(right),
    ) {
        return left.cmp(&right);
    }
    left.cmp(right)
}

/// The newer of two optional mark values.
pub(crate) fn newer(current: Option<String>, candidate: &str) -> Option<String> {
    match current {
        Some(current) if compare_marks(&current, candidate) != Ordering::Less => Some(current),
        _ => Some(candidate.to_owned()),
    }
}

#[cfg(test)]
mod tests;
