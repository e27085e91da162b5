//! [`Progress`]: a run's state as it goes, page by page, under its incremental strategy.

use std::{cmp::Ordering, time::Duration};

use chrono::{DateTime, Utc};

use crate::{
    records::field_text,
    service::{Endpoint, FileSource, Page},
    state::Checkpoint,
    state::{CollectorId, Incremental, Mark, State, WalkState, compare_marks, look_back, newer},
};

/// What a run knows of its state: as loaded, then as each page changes it. Every change goes
/// out with the next commit ([`take_changes`](Self::take_changes)), in the batch of the records
/// it covers.
#[derive(Debug)]
pub(crate) struct Progress {
    collector: CollectorId,
    strategy: Incremental,
    /// The run was asked to read everything (a backfill).
    is_backfill: bool,
    /// This walk reads everything: a backfill, or the resumed walk of one.
    is_full: bool,
    state: State,
    /// `stop_when_seen`: the stored mark the walk stops at.
    stop_at: Option<String>,
    listing: String,
    started_at: DateTime<Utc>,
    resumed_at: Option<usize>,
    is_dirty: bool,
}

/// What the strategy made of one page.
#[derive(Debug, Default)]
pub(crate) struct PageVerdict {
    /// Records without a value at the strategy's field, by position.
    missing: Vec<usize>,
    /// The walk is complete after this page: the last page, or (`stop_when_seen`) one that
    /// reached what is stored.
    pub(crate) is_done: bool,
}

impl PageVerdict {
    /// Whether the record at `index` lacks the strategy's field.
    pub(crate) fn is_missing(&self, index: usize) -> bool {
        self.missing.binary_search(&index).is_ok()
    }
}

impl Progress {
    /// The progress of a run that starts at `started_at` from the `stored` state.
    /// `listing` names the endpoint walked (its URL and parameters), to tell whether a stored
    /// walk can be resumed.
    pub(crate) fn new(
        collector: CollectorId,
        strategy: Incremental,
        stored: Option<State>,
        is_backfill: bool,
        listing: String,
        started_at: DateTime<Utc>,
    ) -> Self {
        let mut state = stored.unwrap_or_default();
        let field = strategy.field().map_or("", |field| field.as_str());
        if let Some(mark) = &state.mark
            && strategy != Incremental::FullRefresh
            && (mark.strategy != strategy.name() || mark.field != field)
        {
            tracing::warn!(
                collector = %collector,
                stored = %mark,
                written_by = %mark.strategy,
                strategy = %strategy,
                "the stored mark is another strategy's; this run reads from the start"
            );
            state.mark = None;
        }
        if let Some(walk) = &state.walk {
            if walk.listing != listing {
                tracing::info!(
                    collector = %collector,
                    "the walk in progress was over another listing (the endpoint changed); starting over"
                );
                state.walk = None;
            } else if is_backfill && !walk.is_full {
                state.walk = None;
            }
        }
        let resumed_at = state.walk.as_ref().map(|walk| walk.pages);
        let mut progress = Self {
            collector,
            strategy,
            is_backfill,
            is_full: is_backfill,
            state,
            stop_at: None,
            listing,
            started_at,
            resumed_at,
            is_dirty: false,
        };
        progress.plan_walk();
        progress
    }

    /// Decides how the next walk reads (everything, or down to the mark) from the state.
    pub(crate) fn plan_walk(&mut self) {
        self.is_full =
            self.is_backfill || self.state.walk.as_ref().is_some_and(|walk| walk.is_full);
        self.stop_at = match (&self.strategy, &self.state.mark) {
            (Incremental::StopWhenSeen { .. }, Some(mark)) if !self.is_full => {
                Some(mark.value.clone())
            }
            _ => None,
        };
    }

    /// The collector's strategy.
    pub(crate) fn strategy(&self) -> &Incremental {
        &self.strategy
    }

    /// The state as it is now.
    pub(crate) fn state(&self) -> &State {
        &self.state
    }

    /// Whether the run was asked to read everything (a backfill).
    pub(crate) fn is_backfill(&self) -> bool {
        self.is_backfill
    }

    /// Whether this run reads everything.
    pub(crate) fn is_full(&self) -> bool {
        self.is_full
    }

    /// The pages an earlier run had stored of the walk this run resumes.
    pub(crate) fn resumed_at(&self) -> Option<usize> {
        self.resumed_at
    }

    /// The endpoint as this run walks it: from the stored walk's next page, or from the first
    /// page with the strategy's parameter.
    pub(crate) fn start(&self, endpoint: &Endpoint) -> Endpoint {
        // The strategy's field is read in the scan of each page, with the records.
        let endpoint = &endpoint.clone().read_field(self.strategy.field().cloned());
        if let Some(walk) = &self.state.walk {
            tracing::info!(
                collector = %self.collector,
                stored_pages = walk.pages,
                "resuming the walk in progress"
            );
            return endpoint.clone().resume(walk.next.clone());
        }
        let Some(mark) = self.state.mark.as_ref().filter(|_| !self.is_full) else {
            return endpoint.clone();
        };
        match &self.strategy {
            Incremental::Seek { param, .. } => endpoint.clone().param(param, &mark.value),
            Incremental::CursorField(cursor) => {
                let value = match cursor.lookback_window() {
                    None => mark.value.clone(),
                    Some(window) => self.look_back(&mark.value, window),
                };
                endpoint.clone().param(cursor.param(), value)
            }
            Incremental::FullRefresh | Incremental::StopWhenSeen { .. } | Incremental::Append => {
                endpoint.clone()
            }
        }
    }

    /// The file as this run reads it: from the stored walk's next page, or (`append`) from
    /// where the file ended when the last complete read ended, or from its first row.
    pub(crate) fn start_file(&self, file: &FileSource) -> FileSource {
        if let Some(walk) = &self.state.walk {
            return file.clone().resume(walk.next.clone());
        }
        match (&self.strategy, &self.state.mark) {
            (Incremental::Append, Some(mark)) if !self.is_full => {
                file.clone().resume(Checkpoint::new(mark.value.clone()))
            }
            _ => file.clone(),
        }
    }

    fn look_back(&self, value: &str, window: Duration) -> String {
        match look_back(value, window) {
            Some(earlier) => earlier,
            None => {
                tracing::warn!(
                    collector = %self.collector,
                    mark = value,
                    "the look-back window needs a datetime or epoch seconds; the mark is sent as it is"
                );
                value.to_owned()
            }
        }
    }

    /// Takes in a fetched page: reads the strategy's field from each record, moves the walk on,
    /// and says which records lack the field and whether the walk is complete.
    pub(crate) fn page(&mut self, page: &Page) -> PageVerdict {
        let mut verdict = PageVerdict::default();
        let mut newest_on_page = None;
        let mut last_on_page = None;
        let mut has_reached = false;
        if let Some(field) = self.strategy.field() {
            let scanned = page.record_values();
            for (index, record) in page.records().iter().enumerate() {
                let value = match scanned {
                    Some(values) => values[index].clone(),
                    None => field_text(field, record),
                };
                let Some(value) = value else {
                    verdict.missing.push(index);
                    continue;
                };
                if let Some(stop_at) = &self.stop_at {
                    has_reached |= compare_marks(&value, stop_at) == Ordering::Less;
                }
                newest_on_page = newer(newest_on_page, &value);
                last_on_page = Some(value);
            }
        }
        verdict.is_done = page.is_last() || has_reached;
        let previous = self.state.walk.take();
        let pages = previous.as_ref().map_or(0, |walk| walk.pages) + 1;
        let started_at = previous
            .as_ref()
            .map_or(self.started_at, |walk| walk.started_at);
        let mut newest = previous.and_then(|walk| walk.newest);
        match &self.strategy {
            // Oldest first: everything up to the last id is stored once this page is, so the
            // mark may move now, except in a backfill, which starts below it.
            Incremental::Seek { .. } => match last_on_page {
                Some(last) if self.is_full => newest = Some(last),
                Some(last) => self.set_mark(last),
                None => {}
            },
            Incremental::StopWhenSeen { .. } | Incremental::CursorField(_) => {
                if let Some(value) = newest_on_page {
                    newest = newer(newest, &value);
                }
            }
            Incremental::FullRefresh | Incremental::Append => {}
        }
        if verdict.is_done
            && self.strategy == Incremental::Append
            && let Some(end) = page.checkpoint()
        {
            // The file's end: the next run reads what is added after it.
            self.state.mark = Some(Mark::new(self.strategy.name(), "", end.as_str()));
        }
        if verdict.is_done {
            if let Some(value) = newest {
                let value = match (&self.strategy, &self.state.mark) {
                    (Incremental::Seek { .. }, _) | (_, None) => Some(value),
                    (_, Some(mark)) => newer(Some(mark.value.clone()), &value),
                };
                if let Some(value) = value {
                    self.set_mark(value);
                }
            }
        } else if let Some(next) = page.checkpoint() {
            self.state.walk = Some(WalkState {
                listing: self.listing.clone(),
                next: next.clone(),
                pages,
                newest,
                is_full: self.is_full,
                started_at,
            });
        }
        self.is_dirty = true;
        verdict
    }

    fn set_mark(&mut self, value: String) {
        if let Some(field) = self.strategy.field() {
            self.state.mark = Some(Mark::new(self.strategy.name(), field.as_str(), value));
        }
    }

    /// Forgets the stored walk (its next page was refused) and plans a walk from the start.
    pub(crate) fn abandon_walk(&mut self) {
        self.state.walk = None;
        self.resumed_at = None;
        self.plan_walk();
    }

    /// Keeps `value` under `name`, for a collect step of its own.
    pub(crate) fn set_value(&mut self, name: String, value: String) {
        self.state.values.insert(name, value);
        self.is_dirty = true;
    }

    /// The state to commit with the next batch, if it changed since the last one.
    pub(crate) fn take_changes(&mut self) -> Option<State> {
        std::mem::take(&mut self.is_dirty).then(|| self.state.clone())
    }

    /// The state of a run that finished: when it started, with the rest as it is now.
    pub(crate) fn finish(&mut self) -> State {
        self.is_dirty = false;
        self.state.last_run = Some(self.started_at);
        self.state.clone()
    }
}
