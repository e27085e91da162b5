//! [`Incremental`]: how a collector asks only for what is new.

use std::{fmt, time::Duration};

use chrono::{DateTime, SecondsFormat};

use super::CollectorId;
use crate::{json::JsonPath, url::RedactedUrl};

/// How a collector's default collect step asks only for what is new. The default is
/// [`FullRefresh`](Incremental::FullRefresh): every run reads the whole listing.
///
/// Whatever the strategy, a walk commits its position with every page, so a run that is
/// stopped, fails or is killed goes on from the page after the last one stored.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use hamstr::state::Incremental;
///
/// // Oldest first, `?from=<last id seen>`.
/// let seek = Incremental::seek("from", "id");
/// // Newest first: stop at the first page that reaches what is stored.
/// let newest_first = Incremental::stop_when_seen("created_at");
/// // `?updated_after=<newest updated_at stored, minus 10 minutes>`.
/// let updated = Incremental::cursor_field("meta.updated_at", "updated_after")
///     .lookback(Duration::from_secs(600));
/// # let _ = (seek, newest_first, Incremental::from(updated));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Incremental {
    /// Every run reads everything (the default, and the explicit opt-out).
    #[default]
    FullRefresh,
    /// An oldest-first listing that takes the last seen id: the first request of a run sends the
    /// id of the last record stored in `param` (`from=`, `starting_after=`).
    Seek {
        /// The query parameter that takes the last seen id.
        param: String,
        /// Where a record's id is.
        id_field: JsonPath,
    },
    /// A newest-first listing walked from its head until the first page that holds a record
    /// older than the newest one stored (by `field`: a creation time, or an id that grows).
    StopWhenSeen {
        /// The field that orders the listing.
        field: JsonPath,
    },
    /// The newest value of a field stored so far is sent as a query parameter (`since=`,
    /// `updated_after=`), optionally minus a look-back window.
    CursorField(CursorField),
    /// A file that only grows: each run reads the rows appended since the last run ended (the
    /// mark is where the file ended then).
    Append,
}

impl Incremental {
    /// [`Incremental::Seek`]: send the last seen `id_field` in `param`.
    pub fn seek(param: impl Into<String>, id_field: impl Into<JsonPath>) -> Self {
        Self::Seek {
            param: param.into(),
            id_field: id_field.into(),
        }
    }

    /// [`Incremental::StopWhenSeen`], ordered by `field`.
    pub fn stop_when_seen(field: impl Into<JsonPath>) -> Self {
        Self::StopWhenSeen {
            field: field.into(),
        }
    }

    /// [`Incremental::CursorField`]: send the newest `field` stored in `param`.
    pub fn cursor_field(field: impl Into<JsonPath>, param: impl Into<String>) -> CursorField {
        CursorField {
            field: field.into(),
            param: param.into(),
            lookback: None,
        }
    }

    /// The strategy's name, as in YAML and in stored marks.
    pub fn name(&self) -> &'static str {
        match self {
            Self::FullRefresh => "full_refresh",
            Self::Seek { .. } => "seek",
            Self::StopWhenSeen { .. } => "stop_when_seen",
            Self::CursorField(_) => "cursor_field",
            Self::Append => "append",
        }
    }

    /// The record field the strategy reads, if it reads one.
    pub fn field(&self) -> Option<&JsonPath> {
        match self {
            Self::FullRefresh | Self::Append => None,
            Self::Seek { id_field, .. } => Some(id_field),
            Self::StopWhenSeen { field } => Some(field),
            Self::CursorField(cursor) => Some(&cursor.field),
        }
    }
}

impl fmt::Display for Incremental {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FullRefresh => formatter.write_str("full_refresh"),
            Self::Append => formatter.write_str("append (the rows added since the last run)"),
            Self::Seek { param, id_field } => write!(formatter, "seek ({param}=<last {id_field}>)"),
            Self::StopWhenSeen { field } => write!(formatter, "stop_when_seen (by {field})"),
            Self::CursorField(cursor) => {
                write!(
                    formatter,
                    "cursor_field ({}=<newest {}>",
                    cursor.param, cursor.field
                )?;
                if let Some(lookback) = cursor.lookback {
                    write!(formatter, " minus {}", humantime::format_duration(lookback))?;
                }
                formatter.write_str(")")
            }
        }
    }
}

/// [`Incremental::CursorField`]'s settings; made by [`Incremental::cursor_field`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorField {
    field: JsonPath,
    param: String,
    lookback: Option<Duration>,
}

impl CursorField {
    /// Sends the mark minus `window`, so that records updated late, with a time already passed,
    /// are read again (and upserted). The mark must then be an RFC 3339 datetime or a whole
    /// number of seconds since the epoch.
    pub fn lookback(mut self, window: Duration) -> Self {
        self.lookback = Some(window);
        self
    }

    /// Where the cursor field is in a record (a dot path).
    pub fn field(&self) -> &JsonPath {
        &self.field
    }

    /// The query parameter that takes the mark.
    pub fn param(&self) -> &str {
        &self.param
    }

    /// The look-back window, if any.
    pub fn lookback_window(&self) -> Option<Duration> {
        self.lookback
    }
}

impl From<CursorField> for Incremental {
    fn from(cursor: CursorField) -> Self {
        Self::CursorField(cursor)
    }
}

/// A record an incremental strategy cannot place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IncrementalError {
    /// The record has no usable value (a non-empty string or a number) at the strategy's field.
    #[error(
        "{}: record {} of {} has no string or number at `{}`, which {} needs; it was not stored",
        .0.collector, .0.index, .0.url, .0.field, .0.strategy
    )]
    MissingField(Box<MissingField>),
}

/// Where a record without the strategy's field was.
#[derive(Debug)]
#[non_exhaustive]
pub struct MissingField {
    /// The collector.
    pub collector: CollectorId,
    /// The strategy's name.
    pub strategy: &'static str,
    /// The field.
    pub field: JsonPath,
    /// The page, credentials removed.
    pub url: RedactedUrl,
    /// The record's position in the page, from 0.
    pub index: usize,
}

/// `value` minus `window`: an RFC 3339 datetime (keeping its offset) or whole epoch seconds.
pub(crate) fn look_back(value: &str, window: Duration) -> Option<String> {
    let window = chrono::Duration::from_std(window).ok()?;
    if let Ok(instant) = DateTime::parse_from_rfc3339(value) {
        let earlier = instant.checked_sub_signed(window)?;
        return Some(earlier.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    }
    let seconds: i64 = value.parse().ok()?;
    Some(seconds.checked_sub(window.num_seconds())?.to_string())
}
