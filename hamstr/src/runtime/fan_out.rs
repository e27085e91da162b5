//! One run of a fan-out collector: the keys of its sources into its frontier, then the keys that
//! are due read one listing each (several at once, each under the collector's incremental
//! strategy from the mark its last read left), each listing's records stored with their key
//! (the keys they hold for other fan-outs first), and each key's read kept in the frontier.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::value::RawValue;

use super::{
    collect::{LOGGED_SKIPS, Running},
    progress::{PageVerdict, Progress},
};
use crate::{
    backend::{DueKey, FoundKeys, KeyRead, KeyStatus},
    collector::{CollectError, PageRows, RunHost, is_path_key},
    model::{Cell, DecodeError, Row, Schema},
    records::Records,
    service::{Endpoint, Page, Service, SourceError},
    state::{Mark, State},
    url::fill,
};

/// A fan-out collector as planned: its endpoint's template, where its keys come from, how it
/// reads them.
#[derive(Debug)]
pub(crate) struct PlannedFanOut {
    /// The endpoint's path with its placeholder, `users/{login}/followers`.
    pub(crate) template: String,
    /// The placeholder's name, `login`.
    pub(crate) placeholder: String,
    /// Models whose stored rows give keys, with the field that holds them and the depth of the
    /// keys found there: 0 for a collector that is no fan-out; not known for a fan-out's rows
    /// (the read that stored them gave their keys, with depths, to the frontier first).
    pub(crate) sources: Vec<(Arc<Schema>, String, Option<u32>)>,
    pub(crate) seeds: Vec<String>,
    pub(crate) refresh_after: Option<Duration>,
    pub(crate) max_per_run: usize,
    pub(crate) concurrency: usize,
    /// Keys farther than this from the seeds are not read.
    pub(crate) max_depth: Option<u32>,
    /// Whether a key read already whose depth is lowered is read again (a limit depends on it).
    pub(crate) revisit: bool,
    /// The fan-outs whose keys this one's records hold.
    pub(crate) feeds: Vec<Feed>,
    /// The field each record gets with its key.
    pub(crate) parent_field: String,
    pub(crate) records: Option<Records>,
    pub(crate) params: Vec<(String, String)>,
}

/// A fan-out whose keys are a field of another fan-out's records: they go to its frontier as
/// each page is stored, one deeper than the key the page was read for.
#[derive(Debug)]
pub(crate) struct Feed {
    pub(crate) collector: crate::state::CollectorId,
    /// The field of the records that holds its keys.
    pub(crate) field: String,
    /// As [`PlannedFanOut::revisit`], of the collector fed.
    pub(crate) revisit: bool,
}

/// How long a key whose read failed waits before it is tried again: a minute, doubling with each
/// failure in a row, at most a day (or its refresh, if sooner).
fn backoff(failures: u32, refresh: Option<Duration>) -> Duration {
    let wait = Duration::from_secs(60).saturating_mul(1 << failures.min(20));
    let cap = refresh.map_or(Duration::from_secs(86_400), |refresh| {
        refresh.min(Duration::from_secs(86_400))
    });
    wait.min(cap)
}

fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
}

impl PlannedFanOut {
    /// The endpoint for `key`.
    fn endpoint(&self, service: &Service, key: &str) -> Endpoint {
        let mut endpoint = service.endpoint(fill(&self.template, &self.placeholder, key));
        if let Some(records) = &self.records {
            endpoint = endpoint.records(records.clone());
        }
        for (name, value) in &self.params {
            endpoint = endpoint.param(name, value);
        }
        endpoint
    }

    /// When a key read at `now` with `status` is due again; `failures`: its failed reads in a row
    /// before this one.
    fn due_after(
        &self,
        status: KeyStatus,
        failures: u32,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match status {
            KeyStatus::Failed => Some(later(now, backoff(failures, self.refresh_after))),
            _ => self.refresh_after.map(|refresh| later(now, refresh)),
        }
    }
}

/// A key's text from a stored cell: text as it is, a number by its digits.
fn key_text(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Null => None,
        Cell::String(text) => Some(text.clone()),
        Cell::Integer(number) => Some(number.to_string()),
        other => Some(other.to_json().to_string()),
    }
}

/// `record` with `"field": "key"` first: the record's own fields follow, so a record that has
/// the field already keeps its own value where the last one wins.
fn with_key(record: &RawValue, field: &str, key: &str) -> Option<Box<RawValue>> {
    let rest = record.get().trim_start().strip_prefix('{')?;
    let field = serde_json::to_string(field).ok()?;
    let key = serde_json::to_string(key).ok()?;
    let joined = if rest.trim_start().starts_with('}') {
        format!("{{{field}:{key}}}")
    } else {
        format!("{{{field}:{key},{rest}")
    };
    RawValue::from_string(joined).ok()
}

/// One key's listing as read: its pages with what the strategy made of each, and the mark the
/// read leaves.
struct KeyPages {
    pages: Vec<(Page, PageVerdict)>,
    mark: Option<Mark>,
}

/// The pages of one key's listing, from the key's mark under the collector's strategy, to the
/// last page (or, `stop_when_seen`, to the page that reaches the mark).
async fn read_key(endpoint: Endpoint, mut progress: Progress) -> Result<KeyPages, SourceError> {
    let mut listing = std::pin::pin!(progress.start(&endpoint).list_pages());
    let mut pages = Vec::new();
    while let Some(page) = listing.try_next().await? {
        let verdict = progress.page(&page);
        let is_done = verdict.is_done;
        pages.push((page, verdict));
        if is_done {
            break;
        }
    }
    Ok(KeyPages {
        pages,
        mark: progress.state().mark.clone(),
    })
}

/// Runs `plan` for the collector of `running`; records become rows through `shape`.
pub(super) async fn collect(
    running: &mut Running<'_>,
    shape: &mut dyn PageRows,
    plan: &PlannedFanOut,
) -> Result<(), CollectError> {
    let planned = running.planned;
    let (backend, id) = (&planned.backend, &planned.id);
    let now = Utc::now();
    // Keys come from what is stored, so a key found by a run that died is found again.
    let found = FoundKeys::new(&plan.seeds).depth(0).revisit(plan.revisit);
    let mut added = backend.add_keys(id, &found, now).await?;
    for (schema, field, depth) in &plan.sources {
        let keys: Vec<String> = backend
            .distinct(schema, field)
            .await?
            .iter()
            .filter_map(key_text)
            .collect();
        let found = FoundKeys::new(&keys)
            .maybe_depth(*depth)
            .revisit(plan.revisit);
        added += backend.add_keys(id, &found, now).await?;
    }
    let due = backend
        .due_keys(id, now, plan.max_per_run, plan.max_depth)
        .await?;
    tracing::debug!(service = %id.service, collector = %id.collector, added, due = due.len(), "keys");
    // A key a URL would read as "here" or "up" is never sent.
    let (due, unusable): (Vec<DueKey>, Vec<DueKey>) = due
        .into_iter()
        .partition(|due| is_path_key(&plan.placeholder, &due.key));
    for due in unusable {
        let read = KeyRead::new(due.key.as_str(), KeyStatus::Gone, now, None)
            .error("not a key: empty, or a path segment `.` or `..`");
        backend.record_key(id, &read).await?;
    }
    let service = planned.service.clone();
    let is_backfill = running.tally.progress.is_backfill();
    let mut reads = futures_util::stream::iter(due.into_iter().map(|mut due| {
        let endpoint = plan.endpoint(&service, &due.key);
        let stored = due.mark.take().map(|mark| State {
            mark: Some(mark),
            ..State::default()
        });
        let progress = Progress::new(
            id.clone(),
            planned.incremental.clone(),
            stored,
            is_backfill,
            // No walk of a key is kept (a key's listing is read whole before it is stored).
            due.key.clone(),
            now,
        );
        async move { (due, read_key(endpoint, progress).await) }
    }))
    .buffer_unordered(plan.concurrency);
    let (mut failed, mut read_fine) = (0, 0);
    let mut last_error = None;
    loop {
        let next = tokio::select! {
            biased;
            () = running.stop.cancelled() => break,
            next = reads.next() => next,
        };
        let Some((due, read)) = next else {
            break;
        };
        let (key, failures) = (due.key.as_str(), due.failures);
        let at = Utc::now();
        let status = match read {
            Ok(KeyPages { pages, mark }) => {
                read_fine += 1;
                store_key(running, shape, plan, &due, pages).await?;
                KeyRead::new(key, KeyStatus::Done, at, None).mark(mark)
            }
            Err(error)
                if matches!(
                    error.status().map(|status| status.as_u16()),
                    Some(404 | 410)
                ) =>
            {
                KeyRead::new(key, KeyStatus::Gone, at, None).error(error.to_string())
            }
            Err(error) => {
                failed += 1;
                if failed <= LOGGED_SKIPS {
                    tracing::warn!(service = %id.service, collector = %id.collector, key = %key, error = %error, "key failed; tried again later");
                }
                let read = KeyRead::new(key, KeyStatus::Failed, at, None).error(error.to_string());
                last_error = Some(error);
                read
            }
        };
        let read = KeyRead {
            due_at: plan.due_after(status.status, failures, at),
            ..status
        };
        backend.record_key(id, &read).await?;
    }
    if failed > LOGGED_SKIPS {
        tracing::warn!(service = %id.service, collector = %id.collector, failed, "keys failed this run; each is tried again later");
    }
    // Some keys failing is the frontier's business (each is tried again); every key failing is
    // the API's, and fails the run so that it shows and backs off.
    match last_error {
        Some(error) if read_fine == 0 => Err(error.into()),
        _ => Ok(()),
    }
}

/// Stores the pages of `due`'s listing, each page's records with the key, a commit per page;
/// the keys the rows hold for other fan-outs go to their frontiers before the rows are stored,
/// so that a key found is never lost, and its depth is known.
async fn store_key(
    running: &mut Running<'_>,
    shape: &mut dyn PageRows,
    plan: &PlannedFanOut,
    due: &DueKey,
    pages: Vec<(Page, PageVerdict)>,
) -> Result<(), CollectError> {
    let key = due.key.as_str();
    for (page, verdict) in pages {
        running
            .tally
            .pages
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for (index, record) in page.records().iter().enumerate() {
            let taken = match with_key(record, &plan.parent_field, key) {
                _ if verdict.is_missing(index) => Err(running.missing_field(&page, index)),
                Some(record) => shape
                    .take(&record, page.url(), index)
                    .map_err(CollectError::from),
                None => Err(CollectError::from(DecodeError {
                    url: page.url().clone(),
                    index,
                    path: ".".to_owned(),
                    message: format!(
                        "a fan-out record must be an object, to carry its key in `{}`",
                        plan.parent_field
                    ),
                })),
            };
            if let Err(error) = taken {
                shape.report(&error);
                running.skip(error);
            }
        }
        running.count(shape.taken(), 0);
        let rows = shape.rows(&running.planned.id).await?;
        running.count(0, rows.dropped);
        feed(running, plan, due, &rows.rows).await?;
        running.commit(rows.rows).await?;
    }
    Ok(())
}

/// Gives the keys `rows` hold to the fan-outs they feed: the key `due` itself at its depth,
/// any other one deeper.
async fn feed(
    running: &Running<'_>,
    plan: &PlannedFanOut,
    due: &DueKey,
    rows: &[Row],
) -> Result<(), CollectError> {
    let planned = running.planned;
    let now = Utc::now();
    for feed in &plan.feeds {
        let Some((index, _)) = planned.schema.field(&feed.field) else {
            continue;
        };
        let mut keys: Vec<String> = rows
            .iter()
            .filter_map(|row| row.get(index).and_then(key_text))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let (same, found): (Vec<String>, Vec<String>) =
            keys.into_iter().partition(|key| *key == due.key);
        for (keys, depth) in [
            (same, due.depth),
            (found, due.depth.map(|depth| depth.saturating_add(1))),
        ] {
            if keys.is_empty() {
                continue;
            }
            let found = FoundKeys::new(&keys)
                .maybe_depth(depth)
                .revisit(feed.revisit);
            planned
                .backend
                .add_keys(&feed.collector, &found, now)
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_gets_its_key_first() {
        let record = RawValue::from_string(r#"{"login": "bob"}"#.to_owned()).unwrap();
        let keyed = with_key(&record, "parent_login", "alice").unwrap();
        assert_eq!(keyed.get(), r#"{"parent_login":"alice","login": "bob"}"#);
        let empty = RawValue::from_string("{ }".to_owned()).unwrap();
        assert_eq!(
            with_key(&empty, "k", "a\"b").unwrap().get(),
            r#"{"k":"a\"b"}"#
        );
        let list = RawValue::from_string("[1]".to_owned()).unwrap();
        assert!(with_key(&list, "k", "a").is_none());
    }

    #[test]
    fn failed_keys_back_off_up_to_a_day_or_their_refresh() {
        assert_eq!(backoff(0, None), Duration::from_secs(60));
        assert_eq!(backoff(3, None), Duration::from_secs(480));
        assert_eq!(backoff(30, None), Duration::from_secs(86_400));
        assert_eq!(
            backoff(30, Some(Duration::from_secs(600))),
            Duration::from_secs(600)
        );
    }
}
