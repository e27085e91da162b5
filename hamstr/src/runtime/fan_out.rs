//! One run of a fan-out collector: the keys of its sources into its frontier, then the keys that
//! are due read one listing each (several at once), each listing's records stored with their
//! key, and each key's read kept in the frontier.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::value::RawValue;

use super::collect::{LOGGED_SKIPS, Running};
use crate::{
    backend::{DueKey, KeyRead, KeyStatus},
    collector::{CollectError, PageRows, RunHost, fill, is_path_key},
    model::{Cell, DecodeError, Schema},
    records::Records,
    service::{Endpoint, Page, Service, SourceError},
};

/// A fan-out collector as planned: its endpoint's template, where its keys come from, how it
/// reads them.
#[derive(Debug)]
pub(crate) struct PlannedFanOut {
    /// The endpoint's path with its placeholder, `users/{login}/followers`.
    pub(crate) template: String,
    /// The placeholder's name, `login`.
    pub(crate) placeholder: String,
    /// Models whose stored rows give keys, with the field that holds them.
    pub(crate) sources: Vec<(Arc<Schema>, String)>,
    pub(crate) seeds: Vec<String>,
    pub(crate) refresh_after: Option<Duration>,
    pub(crate) max_per_run: usize,
    pub(crate) concurrency: usize,
    /// The field each record gets with its key.
    pub(crate) parent_field: String,
    pub(crate) records: Option<Records>,
    pub(crate) params: Vec<(String, String)>,
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

/// Every page of one key's listing.
async fn read_key(endpoint: Endpoint) -> Result<Vec<Page>, SourceError> {
    endpoint.list_pages().try_collect().await
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
    let mut keys = plan.seeds.clone();
    for (schema, field) in &plan.sources {
        keys.extend(
            backend
                .distinct(schema, field)
                .await?
                .iter()
                .filter_map(key_text),
        );
    }
    let added = backend.add_keys(id, &keys, now).await?;
    let due = backend.due_keys(id, now, plan.max_per_run).await?;
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
    let mut reads = futures_util::stream::iter(due.into_iter().map(|due| {
        let endpoint = plan.endpoint(&service, &due.key);
        async move { (due, read_key(endpoint).await) }
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
        let Some((DueKey { key, failures, .. }, read)) = next else {
            break;
        };
        let at = Utc::now();
        let status = match read {
            Ok(pages) => {
                read_fine += 1;
                store_key(running, shape, plan, &key, pages).await?;
                KeyRead::new(key.as_str(), KeyStatus::Done, at, None)
            }
            Err(error)
                if matches!(
                    error.status().map(|status| status.as_u16()),
                    Some(404 | 410)
                ) =>
            {
                KeyRead::new(key.as_str(), KeyStatus::Gone, at, None).error(error.to_string())
            }
            Err(error) => {
                failed += 1;
                if failed <= LOGGED_SKIPS {
                    tracing::warn!(service = %id.service, collector = %id.collector, key = %key, error = %error, "key failed; tried again later");
                }
                let read = KeyRead::new(key.as_str(), KeyStatus::Failed, at, None)
                    .error(error.to_string());
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

/// Stores the pages of `key`'s listing, each page's records with the key, a commit per page.
async fn store_key(
    running: &mut Running<'_>,
    shape: &mut dyn PageRows,
    plan: &PlannedFanOut,
    key: &str,
    pages: Vec<Page>,
) -> Result<(), CollectError> {
    for page in pages {
        running
            .tally
            .pages
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for (index, record) in page.records().iter().enumerate() {
            let taken = match with_key(record, &plan.parent_field, key) {
                Some(record) => shape.take(&record, page.url(), index),
                None => Err(DecodeError {
                    url: page.url().clone(),
                    index,
                    path: ".".to_owned(),
                    message: format!(
                        "a fan-out record must be an object, to carry its key in `{}`",
                        plan.parent_field
                    ),
                }),
            }
            .map_err(CollectError::from);
            if let Err(error) = taken {
                shape.report(&error);
                running.skip(error);
            }
        }
        running.count(shape.taken(), 0);
        let rows = shape.rows(&running.planned.id).await?;
        running.count(0, rows.dropped);
        running.commit(rows.rows).await?;
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
