//! [`RunRecord`]: one line of the load history.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};

use super::CollectorId;

/// One run of one collector, as the load history keeps it
/// ([`Backend::record_run`](crate::Backend::record_run), `hamstr status`).
///
/// Its fields are public and it is not `#[non_exhaustive]`, so that a backend of your own can
/// build it from what it stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    /// The collector.
    pub collector: CollectorId,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Pages fetched.
    pub pages: usize,
    /// Records seen (decoded and handed to the callbacks).
    pub records: usize,
    /// Rows stored with a new primary key.
    pub inserted: usize,
    /// Rows that changed a stored row.
    pub updated: usize,
    /// Rows equal to the stored row with their key.
    pub unchanged: usize,
    /// Records callbacks dropped.
    pub dropped: usize,
    /// Records skipped (did not fit the model, lacked the strategy's field).
    pub skipped: usize,
    /// Whether it read everything (a backfill).
    pub is_full: bool,
    /// The pages stored by earlier runs of the walk it resumed, if it resumed one.
    pub resumed_at_page: Option<usize>,
    /// What stopped it, for a failed run (causes joined with `: `).
    pub error: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// It read what it set out to and stored it.
    Succeeded,
    /// An error ended it; what it stored before stays, and the next run goes on from there.
    Failed,
    /// Shutdown ended it between pages; the next run goes on from there.
    Stopped,
}

impl RunOutcome {
    /// `succeeded`, `failed` or `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
        }
    }
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for RunOutcome {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            "stopped" => Ok(Self::Stopped),
            other => Err(format!("unknown run outcome `{other}`")),
        }
    }
}
