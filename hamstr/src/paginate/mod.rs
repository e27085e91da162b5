//! Paginators: how to get from one page of a listing to the next.
//!
//! | paginator | style | stops |
//! |---|---|---|
//! | [`SinglePage`] | everything in one answer | after the first page |
//! | [`PageNumber`] | `?page=N` | empty or short page, total count, last-page field |
//! | [`Offset`] | `?offset=N&limit=M`, `startAt`/`maxResults` | empty or short page, total count |
//! | [`Cursor`] | a token from the body sent back (`next_token`), or `has_more` + `starting_after=<last id>` | no token / `has_more: false` |
//! | [`NextLink`] | a link in the body (`_links.next.href`, `meta.next_page`) | no link |
//! | [`LinkHeader`] | RFC 8288 `Link: <…>; rel="next"` | no `next` link |
//! | [`Seek`] | `?from=<last seen id>` | empty or short page; a later walk resumes after the last id |
//!
//! Whatever the paginator, the walk around it (in [`Service`](crate::Service)) refuses a next
//! page on another origin than the service's, and stops with an error when a paginator does not
//! advance: the same URL requested twice, or a page whose records equal the previous page's.
//!
//! # Writing your own
//! A [`Paginator`] is told about each page through a [`PageView`] and answers with the URL of
//! the next one:
//! ```
//! use hamstr::paginate::{PageView, PaginateError, Paginator};
//! use hamstr::reqwest::Url;
//!
//! /// An API that says `"more": true` and takes `?after=<last created_at>`.
//! #[derive(Debug)]
//! struct AfterCreated;
//!
//! impl Paginator for AfterCreated {
//!     fn next_request(&self, page: &PageView<'_>) -> Result<Option<Url>, PaginateError> {
//!         if page.field("more")? != Some(serde_json::Value::Bool(true)) {
//!             return Ok(None);
//!         }
//!         let last = page.last_record_field("created_at")?;
//!         Ok(Some(page.url_with_param("after", &last)))
//!     }
//! }
//! ```

mod cursor;
mod link_header;
mod next_link;
mod offset;
mod page_number;
mod seek;
mod single;

use std::fmt;

use reqwest::{Url, header::HeaderMap};
use serde_json::Value;

use crate::{
    json::JsonPath,
    records::RawRecord,
    text::{body_start, excerpt},
    url::RedactedUrl,
};

pub use cursor::Cursor;
pub use link_header::{LinkHeader, parse_link_header};
pub use next_link::NextLink;
pub use offset::Offset;
pub use page_number::PageNumber;
pub use seek::Seek;
pub use single::SinglePage;

pub use crate::url::set_param;

/// Decides, page by page, what to request next.
pub trait Paginator: Send + Sync + fmt::Debug + 'static {
    /// Adds what the first request of a walk needs (a page size, a start page) to `url`.
    /// Parameters already on the URL, set by the user, win.
    fn first_request(&self, url: &mut Url) {
        let _ = url;
    }

    /// The URL of the page after `page`, or `None` when `page` is the last one.
    ///
    /// # Errors
    /// When the page does not say how to go on although it should (a `has_more` with no last
    /// id, a next link that is not a string).
    fn next_request(&self, page: &PageView<'_>) -> Result<Option<Url>, PaginateError>;

    /// The query parameters this paginator sets on a listing's requests (a page number, a page
    /// size): a request for one item ([`Endpoint::get`](crate::service::Endpoint::get)) leaves
    /// them out, though the service or the endpoint gives them too.
    fn params(&self) -> Vec<String> {
        Vec::new()
    }

    /// The body fields [`next_request`](Self::next_request) reads with [`PageView::field`]: the
    /// walk takes them out of the page in the same pass as the records, instead of scanning
    /// the body again for each. A field not named here is still found, by a scan of its own.
    fn body_fields(&self) -> Vec<JsonPath> {
        Vec::new()
    }

    /// After the last page of a complete walk: where a later walk should start so that it asks
    /// only for what is new, for paginators that can (seek). `None` starts over.
    fn resume_request(&self, last_page: &PageView<'_>) -> Option<Url> {
        let _ = last_page;
        None
    }

    /// The request for the page `steps` pages after `page` (1 is the next one), when it is known
    /// without reading the pages between: a page number, an offset with a known total. A walk
    /// with [`Service::pages_in_flight`](crate::Service::pages_in_flight) above 1 fetches those
    /// pages at the same time and hands them on in order. `None` (the default): one at a time.
    /// Called only after [`next_request`](Self::next_request) gave a next page; a page past the
    /// end is simply found empty and ends the walk.
    fn request_ahead(&self, page: &PageView<'_>, steps: u64) -> Option<Url> {
        let _ = (page, steps);
        None
    }
}

/// One fetched page, as a paginator sees it.
#[derive(Debug)]
pub struct PageView<'a> {
    url: &'a Url,
    shown: &'a RedactedUrl,
    headers: &'a HeaderMap,
    body: &'a str,
    records: &'a [RawRecord],
    index: usize,
    /// Body fields already taken out of the page, in the scan that found its records.
    fields: &'a [(JsonPath, Option<RawRecord>)],
}

impl<'a> PageView<'a> {
    /// Describes a page: the URL it was fetched from, the answer's headers and body, the records
    /// taken out of it and its position in the walk (from 0). Useful to unit-test a paginator.
    pub fn new(
        url: &'a Url,
        shown: &'a RedactedUrl,
        headers: &'a HeaderMap,
        body: &'a str,
        records: &'a [RawRecord],
        index: usize,
    ) -> Self {
        Self {
            url,
            shown,
            headers,
            body,
            records,
            index,
            fields: &[],
        }
    }

    /// The body fields the walk took out of the page with its records
    /// ([`Paginator::body_fields`]).
    pub(crate) fn with_fields(mut self, fields: &'a [(JsonPath, Option<RawRecord>)]) -> Self {
        self.fields = fields;
        self
    }

    /// The URL this page was requested with (without credentials).
    pub fn url(&self) -> &Url {
        self.url
    }

    /// The answer's headers.
    pub fn headers(&self) -> &HeaderMap {
        self.headers
    }

    /// The raw body.
    pub fn body(&self) -> &str {
        self.body
    }

    /// The records of this page.
    pub fn records(&self) -> &[RawRecord] {
        self.records
    }

    /// The page's position in the walk, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The value of query parameter `name` on this page's URL.
    pub fn param(&self, name: &str) -> Option<String> {
        self.url
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// This page's URL with query parameter `name` set to `value`.
    pub fn url_with_param(&self, name: &str, value: &str) -> Url {
        let mut url = self.url.clone();
        set_param(&mut url, name, value);
        url
    }

    /// The body's value at `path`, `None` when absent or `null`.
    ///
    /// # Errors
    /// When the body is not JSON.
    pub fn field(&self, path: impl Into<JsonPath>) -> Result<Option<Value>, PaginateError> {
        let path = path.into();
        let scanned = self.fields.iter().find(|(field, _)| *field == path);
        let raw = match scanned {
            Some((_, raw)) => raw.as_deref(),
            None => path
                .find(self.body)
                .map_err(|source| PaginateError::NotJson {
                    url: self.shown.clone(),
                    cause: source,
                })?,
        };
        // The scan checks syntax only: a number out of range, a lone surrogate or nesting past
        // serde_json's depth limit fail here, and are the API's input, not a bug.
        let value = raw
            .map(|raw| {
                serde_json::from_str::<Value>(raw.get()).map_err(|_| PaginateError::BadField {
                    url: self.shown.clone(),
                    path: path.clone(),
                    expected: "a value within JSON's limits (a finite number, valid text, nesting under 128 levels)",
                    found: excerpt(raw.get(), 60),
                })
            })
            .transpose()?;
        Ok(value.filter(|value| !value.is_null()))
    }

    /// The last record's value at `path`, as text (a number becomes its digits).
    ///
    /// # Errors
    /// When there is no record, or the last one has no usable value there: the walk cannot go on.
    pub fn last_record_field(&self, path: impl Into<JsonPath>) -> Result<String, PaginateError> {
        let path = path.into();
        let Some(last) = self.records.last() else {
            return Err(PaginateError::NoProgress {
                url: self.shown.clone(),
                reason: format!("the page has no record to take `{path}` from"),
            });
        };
        let value = path.find(last.get()).ok().flatten().and_then(|raw| {
            match serde_json::from_str::<Value>(raw.get()).ok()? {
                Value::String(text) if !text.is_empty() => Some(text),
                Value::Number(number) => Some(number.to_string()),
                _ => None,
            }
        });
        value.ok_or_else(|| PaginateError::NoProgress {
            url: self.shown.clone(),
            reason: format!("the last record has no string or number at `{path}`"),
        })
    }

    /// A count at `path` (a number, or digits in a string), for totals and last pages.
    fn count_field(&self, path: &JsonPath) -> Result<Option<u64>, PaginateError> {
        match self.field(path.clone())? {
            None => Ok(None),
            Some(Value::Number(number)) if number.as_u64().is_some() => Ok(number.as_u64()),
            Some(Value::String(text)) if text.parse::<u64>().is_ok() => Ok(text.parse().ok()),
            Some(other) => Err(self.bad_field(path, "a count", &other)),
        }
    }

    /// A whole number in query parameter `name`.
    fn number_param(&self, name: &str) -> Option<u64> {
        self.param(name).and_then(|value| value.parse().ok())
    }

    fn bad_field(&self, path: &JsonPath, expected: &'static str, found: &Value) -> PaginateError {
        PaginateError::BadField {
            url: self.shown.clone(),
            path: path.clone(),
            expected,
            found: body_start(&found.to_string()),
        }
    }

    fn resolve(&self, link: &str) -> Result<Url, PaginateError> {
        self.url.join(link).map_err(|_| PaginateError::BadLink {
            url: self.shown.clone(),
            link: body_start(link),
        })
    }
}

/// Sets `name` to `value` unless the URL already has it.
fn default_param(url: &mut Url, name: &str, value: &str) {
    if !url.query_pairs().any(|(key, _)| key == name) {
        url.query_pairs_mut().append_pair(name, value);
    }
}

/// The page size in force: the request's own size parameter, else the configured one.
fn page_size(page: &PageView<'_>, size: Option<&(String, u64)>) -> Option<u64> {
    let (param, configured) = size?;
    Some(page.number_param(param).unwrap_or(*configured))
}

/// Why a walk over pages stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PaginateError {
    /// The paginator asked for a page it had already fetched: it would never end.
    #[error("{url} was requested twice in one walk: the pagination does not advance")]
    Repeated {
        /// The repeated URL, credentials removed.
        url: RedactedUrl,
    },
    /// A page had exactly the records of the page before it (an API that re-serves its last
    /// page for any page number beyond the end).
    #[error(
        "{url} returned the same records as the page before it: the pagination does not advance"
    )]
    Stalled {
        /// The page's URL, credentials removed.
        url: RedactedUrl,
    },
    /// The page says there is more, but gives nothing to ask for it with.
    #[error("{url}: cannot ask for the next page: {reason}")]
    NoProgress {
        /// The page's URL, credentials removed.
        url: RedactedUrl,
        /// What was missing.
        reason: String,
    },
    /// A pagination field holds the wrong kind of value.
    #[error("{url}: expected {expected} at `{path}`, found `{found}`")]
    BadField {
        /// The page's URL, credentials removed.
        url: RedactedUrl,
        /// The field's path.
        path: JsonPath,
        /// What it should hold.
        expected: &'static str,
        /// The start of what it holds.
        found: String,
    },
    /// A next link that is not a URL.
    #[error("{url}: the next link `{link}` is not a valid URL")]
    BadLink {
        /// The page's URL, credentials removed.
        url: RedactedUrl,
        /// The start of the link.
        link: String,
    },
    /// The body is not JSON, so pagination fields cannot be read.
    #[error("{url}: the body is not JSON: {cause}")]
    NotJson {
        /// The page's URL, credentials removed.
        url: RedactedUrl,
        /// The parser's complaint, in the message.
        cause: serde_json::Error,
    },
}

#[cfg(test)]
mod tests;
