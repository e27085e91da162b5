//! The frontier of a fan-out collector: the keys it reads one listing each for, and for each,
//! when it was last read, how that went and when it is due again. One small row per key: what a
//! crawl remembers grows with the keys it knows, never with its runs or pages.

use chrono::{DateTime, Utc};

/// How the last read of a key went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyStatus {
    /// Known, never read yet.
    New,
    /// Its listing was read to the end.
    Done,
    /// Its read failed; it is tried again later, with backoff.
    Failed,
    /// The API said it is gone (404, 410); not asked again until its refresh.
    Gone,
}

impl KeyStatus {
    /// `new`, `done`, `failed` or `gone`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Gone => "gone",
        }
    }

    /// The status written `name`, as [`as_str`](Self::as_str) writes it.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::New, Self::Done, Self::Failed, Self::Gone]
            .into_iter()
            .find(|status| status.as_str() == name)
    }
}

/// A key that is due: new, stale, or failed with its backoff over.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DueKey {
    /// The key.
    pub key: String,
    /// Its failed reads in a row, for the next backoff.
    pub failures: u32,
}

impl DueKey {
    /// Key `key`, with `failures` failed reads in a row.
    pub fn new(key: impl Into<String>, failures: u32) -> Self {
        Self {
            key: key.into(),
            failures,
        }
    }
}

/// What a read of a key did, as the frontier keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyRead {
    /// The key.
    pub key: String,
    /// How it went ([`KeyStatus::Done`], [`Failed`](KeyStatus::Failed) or
    /// [`Gone`](KeyStatus::Gone)).
    pub status: KeyStatus,
    /// When it was read.
    pub at: DateTime<Utc>,
    /// When it is due again; `None`: never (no refresh).
    pub due_at: Option<DateTime<Utc>>,
    /// Why it failed.
    pub error: Option<String>,
}

impl KeyRead {
    /// `key` read at `at` with `status`, due again at `due_at`.
    pub fn new(
        key: impl Into<String>,
        status: KeyStatus,
        at: DateTime<Utc>,
        due_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            key: key.into(),
            status,
            at,
            due_at,
            error: None,
        }
    }

    /// Why it failed.
    pub fn error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }
}

/// How many keys a fan-out collector knows, and in what state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Frontier {
    /// Every key known.
    pub known: usize,
    /// Read to the end at least once, last read fine.
    pub done: usize,
    /// Due now: new, stale, or failed with the backoff over.
    pub due: usize,
    /// Whose last read failed.
    pub failed: usize,
    /// The API said are gone.
    pub gone: usize,
}

/// One key's row, for the stores that keep them in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRow {
    pub(crate) status: KeyStatus,
    pub(crate) added_at: DateTime<Utc>,
    pub(crate) due_at: Option<DateTime<Utc>>,
    pub(crate) failures: u32,
}

impl KeyRow {
    pub(crate) fn new(now: DateTime<Utc>) -> Self {
        Self {
            status: KeyStatus::New,
            added_at: now,
            due_at: Some(now),
            failures: 0,
        }
    }

    /// The row after `read`.
    pub(crate) fn after(&mut self, read: &KeyRead) {
        self.failures = match read.status {
            KeyStatus::Failed => self.failures + 1,
            _ => 0,
        };
        self.status = read.status;
        self.due_at = read.due_at;
    }

    pub(crate) fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.due_at.is_some_and(|due| due <= now)
    }
}

/// The counts of `rows` at `now`.
pub(crate) fn count<'a>(rows: impl Iterator<Item = &'a KeyRow>, now: DateTime<Utc>) -> Frontier {
    let mut frontier = Frontier::default();
    for row in rows {
        frontier.known += 1;
        frontier.due += usize::from(row.is_due(now));
        match row.status {
            KeyStatus::Done => frontier.done += 1,
            KeyStatus::Failed => frontier.failed += 1,
            KeyStatus::Gone => frontier.gone += 1,
            KeyStatus::New => {}
        }
    }
    frontier
}

/// The counts in the order the queries select them: known, done, due, failed, gone.
pub(crate) fn frontier_of(counts: [i64; 5]) -> Frontier {
    let [known, done, due, failed, gone] = counts.map(|count| usize::try_from(count).unwrap_or(0));
    let mut frontier = Frontier::default();
    (
        frontier.known,
        frontier.done,
        frontier.due,
        frontier.failed,
        frontier.gone,
    ) = (known, done, due, failed, gone);
    frontier
}
