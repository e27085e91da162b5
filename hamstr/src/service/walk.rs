//! The walk over a listing's pages: one request at a time, records streamed page by page.

use std::{
    collections::{HashSet, VecDeque},
    hash::{Hash, Hasher},
    sync::Arc,
    time::Instant,
};

use reqwest::{StatusCode, Url, header::HeaderMap};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{MalformedLine, SourceError};
use crate::{
    http::{Answer, HttpClient},
    json::JsonPath,
    model::{DecodeError, decode},
    paginate::{PageView, PaginateError, Paginator},
    records::{RawRecord, Records, Scanned},
    state::Checkpoint,
    url::RedactedUrl,
};

/// One page of a listing: its records and what the answer said about it.
#[derive(Debug)]
pub struct Page {
    index: usize,
    url: RedactedUrl,
    status: StatusCode,
    headers: HeaderMap,
    records: Vec<RawRecord>,
    /// Each record's text at the field the walk was asked to read (empty when none was).
    record_values: Vec<Option<String>>,
    checkpoint: Option<Checkpoint>,
    is_last: bool,
    is_not_modified: bool,
    /// Rows of a file that could not be read.
    malformed: Vec<MalformedLine>,
}

impl Page {
    /// A page of a file: its records, read from `location`, with no answer of its own (status
    /// 200, no headers).
    pub(crate) fn of_file(
        index: usize,
        location: RedactedUrl,
        records: Vec<RawRecord>,
        checkpoint: Option<Checkpoint>,
        is_last: bool,
    ) -> Self {
        Self {
            index,
            url: location,
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            records,
            record_values: Vec::new(),
            checkpoint,
            is_last,
            is_not_modified: false,
            malformed: Vec::new(),
        }
    }

    pub(crate) fn set_malformed(&mut self, malformed: Vec<MalformedLine>) {
        self.malformed = malformed;
    }

    /// The rows of a file's page that could not be read, each with its line (they are not in
    /// [`records`](Self::records)); none for an API's page.
    pub fn malformed(&self) -> &[MalformedLine] {
        &self.malformed
    }

    /// The page's position in the walk, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The URL it was fetched from, credentials removed (a `file://` URL for a page of a local
    /// file).
    pub fn url(&self) -> &RedactedUrl {
        &self.url
    }

    /// The answer's status (200 for a page of a file).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The answer's headers (none for a page of a file).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The records, as raw JSON.
    pub fn records(&self) -> &[RawRecord] {
        &self.records
    }

    /// How many records the page has.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the page has no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Each record's text at the field the walk was asked to read in its scan of the page
    /// ([`Endpoint::read_field`](super::Endpoint)); `None` when it was asked for none.
    pub(crate) fn record_values(&self) -> Option<&[Option<String>]> {
        (self.record_values.len() == self.records.len() && !self.records.is_empty())
            .then_some(self.record_values.as_slice())
    }

    /// Keeps the records for which `keep` is true (a search's matches), with what was read of
    /// each.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&RawRecord) -> bool) {
        let kept: Vec<bool> = self.records.iter().map(&mut keep).collect();
        let mut flags = kept.iter();
        self.records
            .retain(|_| *flags.next().expect("one flag a record"));
        if self.record_values.len() == kept.len() {
            let mut flags = kept.iter();
            self.record_values
                .retain(|_| *flags.next().expect("one flag a record"));
        }
    }

    /// Whether this is the last page of the walk.
    pub fn is_last(&self) -> bool {
        self.is_last
    }

    /// Whether the API answered `304 Not Modified` to a conditional request: the page is the
    /// one it sent last time, unchanged.
    pub fn is_not_modified(&self) -> bool {
        self.is_not_modified
    }

    /// Where a later walk can go on from after this page; `None` means from the start.
    pub fn checkpoint(&self) -> Option<&Checkpoint> {
        self.checkpoint.as_ref()
    }

    /// The records as JSON values.
    ///
    /// # Errors
    /// A record holding a value `serde_json::Value` cannot hold (a number beyond `f64`, such as
    /// `1e999999`), naming the record and the field.
    pub fn values(&self) -> Result<Vec<Value>, DecodeError> {
        self.decode::<Value>().collect()
    }

    /// Decodes every record into `T`, straight from its raw JSON; a record that does not fit is
    /// an error naming the field, and the others still decode.
    pub fn decode<T: DeserializeOwned>(&self) -> impl Iterator<Item = Result<T, DecodeError>> + '_ {
        self.records
            .iter()
            .enumerate()
            .map(|(index, record)| decode(record, &self.url, index))
    }

    /// Like [`decode`](Self::decode), consuming the page.
    pub fn into_items<T: DeserializeOwned>(self) -> impl Iterator<Item = Result<T, DecodeError>> {
        let url = self.url;
        self.records
            .into_iter()
            .enumerate()
            .map(move |(index, record)| decode(&record, &url, index))
    }
}

/// A page being fetched ahead of its turn; dropping it cancels the request.
struct Ahead {
    url: Url,
    task: tokio::task::JoinHandle<Fetched>,
}

type Fetched = Result<(Answer, Scanned), SourceError>;

/// What a page's body is scanned for: the records, the fields the paginator reads, and a field
/// of each record (an incremental strategy's mark).
#[derive(Debug, Clone)]
pub(crate) struct Reading {
    pub(crate) records: Records,
    pub(crate) fields: Arc<[JsonPath]>,
    pub(crate) record_field: Option<JsonPath>,
}

impl Reading {
    /// The records alone (an item answer, a page no paginator reads).
    pub(crate) fn records(records: Records) -> Self {
        Self {
            records,
            fields: Arc::new([]),
            record_field: None,
        }
    }
}

impl Ahead {
    fn spawn(client: &HttpClient, url: Url, reading: &Reading) -> Self {
        let task = tokio::spawn(fetch(client.clone(), url.clone(), reading.clone()));
        Self { url, task }
    }

    async fn join(mut self, client: &HttpClient, reading: &Reading) -> Fetched {
        match (&mut self.task).await {
            Ok(fetched) => fetched,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            // Cancelled from outside (a runtime shutting down): fetch it here instead.
            Err(_) => fetch(client.clone(), self.url.clone(), reading.clone()).await,
        }
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Fetches one page (or item) and scans its body once for the records and the paginator's
/// fields (a body that is not JSON is retried).
pub(crate) async fn fetch(client: HttpClient, mut url: Url, reading: Reading) -> Fetched {
    // Kept URLs (next pages, checkpoints) hold no credentials; each request gets them back.
    client.restore_credentials(&mut url);
    let shown = client.redact(&url);
    let fetched = client
        .get_with(&url, |answer| {
            reading.records.scan(
                &answer.text(),
                &shown,
                &reading.fields,
                reading.record_field.as_ref(),
            )
        })
        .await?;
    Ok(fetched)
}

/// The state carried from one page to the next.
pub(crate) struct Walk {
    client: Option<HttpClient>,
    /// A setup error (bad base URL, endpoint outside it), yielded as the walk's only item.
    error: Option<SourceError>,
    paginator: Arc<dyn Paginator>,
    reading: Reading,
    next: Option<Url>,
    index: usize,
    /// Fingerprints of every URL requested: a repeat means the walk would never end.
    requested: HashSet<u64>,
    previous_records: Option<u64>,
    /// How many page requests may be in flight while a page is handed on.
    pages_in_flight: usize,
    /// The next pages, already requested, in walk order.
    ahead: VecDeque<Ahead>,
    /// Pages without records in a row that may still lead on; and how many came in a row.
    empty_pages_allowed: usize,
    empty_in_a_row: usize,
}

impl Walk {
    /// A walk from `first`, or one that fails at once with the setup error.
    pub(crate) fn new(
        start: Result<(HttpClient, Url), SourceError>,
        paginator: Arc<dyn Paginator>,
        records: Records,
        record_field: Option<JsonPath>,
        pages_in_flight: usize,
        empty_pages_allowed: usize,
    ) -> Self {
        let reading = Reading {
            records,
            fields: paginator.body_fields().into(),
            record_field,
        };
        let (client, next, error) = match start {
            Ok((client, first)) => (Some(client), Some(first), None),
            Err(error) => (None, None, Some(error)),
        };
        Self {
            client,
            error,
            paginator,
            reading,
            next,
            index: 0,
            requested: HashSet::new(),
            previous_records: None,
            pages_in_flight,
            ahead: VecDeque::new(),
            empty_pages_allowed,
            empty_in_a_row: 0,
        }
    }

    /// Fetches the next page, or ends the walk.
    pub(crate) async fn step(mut self) -> Result<Option<(Page, Self)>, SourceError> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        let (Some(url), Some(client)) = (self.next.take(), self.client.clone()) else {
            return Ok(None);
        };
        let shown = client.redact(&url);
        if !self.requested.insert(fingerprint([url.as_str()])) {
            return Err(PaginateError::Repeated { url: shown }.into());
        }
        let started = Instant::now();
        let fetched = match self.ahead.pop_front() {
            Some(ahead) if ahead.url == url => ahead.join(&client, &self.reading).await,
            _ => {
                self.ahead.clear();
                fetch(client.clone(), url.clone(), self.reading.clone()).await
            }
        };
        let (
            answer,
            Scanned {
                records,
                fields,
                record_values,
            },
        ) = fetched?;
        let body = answer.text();
        if !records.is_empty() {
            let print = fingerprint(records.iter().map(|record| record.get()));
            if self.previous_records == Some(print) {
                return Err(PaginateError::Stalled { url: shown }.into());
            }
            self.previous_records = Some(print);
        }
        let view = PageView::new(&url, &shown, &answer.headers, &body, &records, self.index)
            .with_fields(&fields);
        // A next request the paginator cannot make (a value at its path no program can hold, a
        // link that is no URL) ends the walk after this page, as a refused link does below: the
        // page's records are good and are handed on first.
        let mut next = match self.paginator.next_request(&view) {
            Ok(next) => next,
            Err(error) => {
                self.error = Some(error.into());
                None
            }
        };
        // A 304 is empty because nothing changed, not because the listing ran out.
        if records.is_empty() && !answer.is_not_modified {
            self.empty_in_a_row += 1;
            if next.is_some() && self.empty_in_a_row > self.empty_pages_allowed {
                tracing::debug!(service = %client.service(), url = %shown, "an empty page ends the walk");
                next = None;
            }
        } else {
            self.empty_in_a_row = 0;
        }
        let mut resume = match &next {
            Some(_) => None,
            None if self.error.is_some() => None,
            None => self.paginator.resume_request(&view),
        };
        for url in next.iter_mut().chain(resume.iter_mut()) {
            client.strip_credentials(url);
        }
        // A next link to another origin is refused before it is kept anywhere: the page is
        // handed on without a checkpoint, and the refusal ends the walk at the next step, so a
        // stored walk never resumes at a URL that would be refused again.
        if let Some(refused) = next.as_ref().and_then(|url| client.foreign_origin(url)) {
            next = None;
            resume = None;
            self.error = Some(SourceError::Http(refused));
        }
        match &next {
            Some(next) if self.pages_in_flight > 1 => self.fetch_ahead(&client, &view, next),
            _ => self.ahead.clear(),
        }
        let checkpoint = next
            .clone()
            .or(resume.take())
            .map(|url| Checkpoint::new(String::from(url)));
        tracing::debug!(
            service = %client.service(),
            url = %shown,
            page = self.index,
            records = records.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "page"
        );
        let page = Page {
            index: self.index,
            url: shown,
            status: answer.status,
            headers: answer.headers,
            is_last: next.is_none() && self.error.is_none(),
            is_not_modified: answer.is_not_modified,
            records,
            record_values,
            checkpoint,
            malformed: Vec::new(),
        };
        self.index += 1;
        self.next = next;
        Ok(Some((page, self)))
    }
}

impl Walk {
    /// Keeps the pages after `page` in flight, as far as the paginator can tell their requests
    /// without reading the pages between; pages already requested stay.
    fn fetch_ahead(&mut self, client: &HttpClient, page: &PageView<'_>, next: &Url) {
        for steps in 1..=self.pages_in_flight as u64 {
            let Some(mut url) = self.paginator.request_ahead(page, steps) else {
                self.ahead.truncate(steps as usize - 1);
                return;
            };
            client.strip_credentials(&mut url);
            // The paginator's own next page must be the first one ahead, or the walk would
            // skip or repeat pages: then no page is fetched ahead.
            if steps == 1 && url != *next {
                self.ahead.clear();
                return;
            }
            let index = steps as usize - 1;
            if self.ahead.get(index).is_some_and(|ahead| ahead.url == url) {
                continue;
            }
            self.ahead.truncate(index);
            self.ahead
                .push_back(Ahead::spawn(client, url, &self.reading));
        }
    }
}

/// A hash of `parts`: a page's URL, or its records' text (tens of kilobytes a page, so a fast
/// hash; a collision would only make a walk stop early with an error, never lose a record
/// silently).
fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut hasher = std::hash::BuildHasher::build_hasher(&foldhash::fast::FixedState::default());
    for part in parts {
        part.hash(&mut hasher);
    }
    hasher.finish()
}
