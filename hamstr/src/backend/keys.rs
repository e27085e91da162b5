//! The frontier of a fan-out collector: the keys it reads one listing each for, and for each,
//! when it was last read, how that went and when it is due again. One small row per key: what a
//! crawl remembers grows with the keys it knows, never with its runs or pages.

use chrono::{DateTime, Utc};

use crate::state::Mark;

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

/// Keys found for a fan-out collector, to add to its frontier
/// ([`Backend::add_keys`](super::Backend::add_keys)), and how far they are from the seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FoundKeys<'a> {
    /// The keys.
    pub keys: &'a [String],
    /// How many reads of other keys lie between them and a seed (0: seeds); `None`: not known
    /// (found in rows stored without the key they were read for).
    pub depth: Option<u32>,
    /// Whether a key already read whose depth this lowers is made due now, so that the keys
    /// found by reading it get their depth too (a crawl with a depth limit).
    pub revisit: bool,
}

impl<'a> FoundKeys<'a> {
    /// `keys`, their depth not known.
    pub fn new(keys: &'a [String]) -> Self {
        Self {
            keys,
            depth: None,
            revisit: false,
        }
    }

    /// At `depth` from the seeds.
    #[must_use]
    pub fn depth(mut self, depth: u32) -> Self {
        self.depth = Some(depth);
        self
    }

    /// At `depth` from the seeds, if known.
    #[must_use]
    pub fn maybe_depth(mut self, depth: Option<u32>) -> Self {
        self.depth = depth;
        self
    }

    /// A known key whose depth this lowers is read again.
    #[must_use]
    pub fn revisit(mut self, revisit: bool) -> Self {
        self.revisit = revisit;
        self
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
    /// How far from the seeds it is, if known.
    pub depth: Option<u32>,
    /// Where the last read of its listing ended, for an incremental strategy per key.
    pub mark: Option<Mark>,
}

impl DueKey {
    /// Key `key`, with `failures` failed reads in a row.
    pub fn new(key: impl Into<String>, failures: u32) -> Self {
        Self {
            key: key.into(),
            failures,
            depth: None,
            mark: None,
        }
    }

    /// At `depth` from the seeds, if known.
    #[must_use]
    pub fn depth(mut self, depth: Option<u32>) -> Self {
        self.depth = depth;
        self
    }

    /// With the mark its last read left.
    #[must_use]
    pub fn mark(mut self, mark: Option<Mark>) -> Self {
        self.mark = mark;
        self
    }
}

/// A mark as the SQL stores keep it: JSON text.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn mark_text(mark: Option<&Mark>) -> Option<String> {
    mark.and_then(|mark| serde_json::to_string(mark).ok())
}

/// A mark from its JSON text; one that does not read is no mark (the key is read whole).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn mark_of(text: Option<String>) -> Option<Mark> {
    serde_json::from_str(&text?).ok()
}

/// A stored depth (an SQL integer) as a depth.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn depth_of(depth: Option<i64>) -> Option<u32> {
    depth.and_then(|depth| u32::try_from(depth).ok())
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
    /// Where the read ended, for an incremental strategy per key; `None` keeps the mark the key
    /// had.
    pub mark: Option<Mark>,
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
            mark: None,
        }
    }

    /// Where the read ended (an incremental strategy's mark).
    #[must_use]
    pub fn mark(mut self, mark: Option<Mark>) -> Self {
        self.mark = mark;
        self
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
    /// Farther from the seeds than the collector's depth limit, or at a depth not known: never
    /// read while the limit holds.
    pub beyond_depth: usize,
}

/// One key's row, for the stores that keep them in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRow {
    pub(crate) status: KeyStatus,
    pub(crate) added_at: DateTime<Utc>,
    pub(crate) due_at: Option<DateTime<Utc>>,
    pub(crate) failures: u32,
    pub(crate) depth: Option<u32>,
    pub(crate) mark: Option<Mark>,
}

impl KeyRow {
    pub(crate) fn new(now: DateTime<Utc>, depth: Option<u32>) -> Self {
        Self {
            status: KeyStatus::New,
            added_at: now,
            due_at: Some(now),
            failures: 0,
            depth,
            mark: None,
        }
    }

    /// Takes in a depth found again: the lower one is kept; a key already read whose depth is
    /// lowered is due now when `found` asks for it.
    pub(crate) fn found_at(&mut self, found: &FoundKeys<'_>, now: DateTime<Utc>) {
        let Some(depth) = found.depth else { return };
        if self.depth.is_some_and(|known| known <= depth) {
            return;
        }
        self.depth = Some(depth);
        if found.revisit && self.status != KeyStatus::New {
            self.due_at = Some(self.due_at.map_or(now, |due| due.min(now)));
        }
    }

    /// Whether it is within `max_depth` (any key is, without a limit).
    pub(crate) fn is_within(&self, max_depth: Option<u32>) -> bool {
        max_depth.is_none_or(|max| self.depth.is_some_and(|depth| depth <= max))
    }

    /// The row after `read`.
    pub(crate) fn after(&mut self, read: &KeyRead) {
        self.failures = match read.status {
            KeyStatus::Failed => self.failures + 1,
            _ => 0,
        };
        self.status = read.status;
        self.due_at = read.due_at;
        if read.mark.is_some() {
            self.mark.clone_from(&read.mark);
        }
    }

    pub(crate) fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.due_at.is_some_and(|due| due <= now)
    }
}

/// The counts of `rows` at `now`, under `max_depth`.
pub(crate) fn count<'a>(
    rows: impl Iterator<Item = &'a KeyRow>,
    now: DateTime<Utc>,
    max_depth: Option<u32>,
) -> Frontier {
    let mut frontier = Frontier::default();
    for row in rows {
        frontier.known += 1;
        let within = row.is_within(max_depth);
        frontier.due += usize::from(within && row.is_due(now));
        frontier.beyond_depth += usize::from(!within);
        match row.status {
            KeyStatus::Done => frontier.done += 1,
            KeyStatus::Failed => frontier.failed += 1,
            KeyStatus::Gone => frontier.gone += 1,
            KeyStatus::New => {}
        }
    }
    frontier
}

/// The counts in the order the queries select them: known, done, due, failed, gone, beyond the
/// depth limit.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn frontier_of(counts: [i64; 6]) -> Frontier {
    let [known, done, due, failed, gone, beyond_depth] =
        counts.map(|count| usize::try_from(count).unwrap_or(0));
    let mut frontier = Frontier::default();
    (
        frontier.known,
        frontier.done,
        frontier.due,
        frontier.failed,
        frontier.gone,
        frontier.beyond_depth,
    ) = (known, done, due, failed, gone, beyond_depth);
    frontier
}

/// The SQL condition "within the depth limit `$limit`" (a parameter that may be null: no limit),
/// for both SQL stores.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn within_depth_sql(limit: &str) -> String {
    format!("({limit} IS NULL OR (depth IS NOT NULL AND depth <= {limit}))")
}
