//! [`Endpoint`]: one path of a service, with the four operations of the unified interface.

use std::{fmt::Write as _, sync::Arc};

use futures_util::{Stream, StreamExt, TryStreamExt, future, stream};
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    Checkpoint, Page, Service, ServiceError, SourceError,
    walk::{Reading, Walk, fetch},
};
use crate::{
    http::HttpClient,
    json::JsonPath,
    model::decode,
    paginate::{Paginator, set_param},
    records::Records,
};

/// How [`Endpoint::search`] finds records.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Search {
    /// The API searches: the query goes in this parameter (`?q=`), and what it returns is the
    /// result.
    Param(String),
    /// The API searches at another endpoint of the service (GitHub's `search/repositories?q=`):
    /// the query goes in `param` there, and the records are at `records` in its pages (the
    /// service's records path when `None`).
    Endpoint {
        /// The search endpoint, relative to the service's base URL.
        path: String,
        /// The query parameter that carries the query.
        param: String,
        /// Where the results are in its pages.
        records: Option<Records>,
    },
    /// The naive fallback for APIs without search: every record is listed, and the ones kept
    /// contain every whitespace-separated word of the query, ignoring case, in some string or
    /// number value (keys do not count). It reads the whole listing.
    Naive,
}

/// How [`Endpoint::get`] finds one record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lookup {
    /// `GET <endpoint>/<id>` (the id percent-encoded as one path segment); a 404 is "not found".
    ItemPath,
    /// The naive fallback for APIs without item endpoints: walk the listing until a record whose
    /// value at `id_field` equals the id (as text). It may read the whole listing.
    Scan {
        /// Where a record's id is.
        id_field: JsonPath,
    },
    /// `GET` another path of the service, with `{id}` in it replaced by the id as one path
    /// segment, or `{+id}` by the id as a path (slashes kept: GitHub's `repos/{+id}` for
    /// `owner/name`); a 404 is "not found".
    Path(String),
}

impl Lookup {
    /// [`Lookup::Scan`] on `id_field`.
    pub fn scan(id_field: impl Into<JsonPath>) -> Self {
        Self::Scan {
            id_field: id_field.into(),
        }
    }
}

/// One endpoint of a [`Service`], with settings of its own; made by [`Service::endpoint`].
///
/// # Examples
/// ```
/// use futures_util::TryStreamExt;
/// use hamstr::{Service, paginate::PageNumber, testing::{Collection, MockApi, Paging}};
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), hamstr::Error> {
/// let api = MockApi::start().await;
/// let jobs = (1..=25).map(|id| json!({"id": id, "title": format!("job {id}")})).collect();
/// api.route("/jobs", Collection::new(jobs).paging(Paging::page_number()).records_at("data"));
///
/// let service = Service::new(api.url()).paginator(PageNumber::new().size("per_page", 10));
/// let jobs = service.endpoint("jobs").records("data");
/// let all: Vec<serde_json::Value> = jobs.list().try_collect().await?;
/// assert_eq!(all.len(), 25);
/// assert_eq!(api.requests("/jobs").len(), 3);
/// let seven = jobs.get("7").await?; // no item endpoint here: see `Lookup`
/// # let _ = seven;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Endpoint {
    service: Service,
    path: String,
    params: Vec<(String, String)>,
    paginator: Option<Arc<dyn Paginator>>,
    records: Option<Records>,
    item_records: Option<Records>,
    search: Option<Search>,
    lookup: Option<Lookup>,
    resume: Option<Checkpoint>,
    /// A field read from each record in the scan of its page.
    record_field: Option<JsonPath>,
}

impl Endpoint {
    pub(crate) fn new(service: Service, path: String) -> Self {
        Self {
            service,
            path,
            params: Vec::new(),
            paginator: None,
            records: None,
            item_records: None,
            search: None,
            lookup: None,
            resume: None,
            record_field: None,
        }
    }

    /// A query parameter for this endpoint's requests (replaces a service parameter of the
    /// same name).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// This endpoint's paginator, instead of the service's.
    pub fn paginator(mut self, paginator: impl Paginator) -> Self {
        self.paginator = Some(Arc::new(paginator));
        self
    }

    /// Where the records are in this endpoint's pages.
    pub fn records(mut self, records: impl Into<Records>) -> Self {
        self.records = Some(records.into());
        self
    }

    /// Where the record is in this endpoint's item answers (for [`get`](Self::get)).
    pub fn item_records(mut self, records: Records) -> Self {
        self.item_records = Some(records);
        self
    }

    /// How [`search`](Self::search) works here.
    pub fn search_with(mut self, search: Search) -> Self {
        self.search = Some(search);
        self
    }

    /// How [`get`](Self::get) works here.
    pub fn lookup(mut self, lookup: Lookup) -> Self {
        self.lookup = Some(lookup);
        self
    }

    /// Reads `field` of each record in the same scan of a page that takes out its records (an
    /// incremental strategy's mark), for the runtime.
    pub(crate) fn read_field(mut self, field: Option<JsonPath>) -> Self {
        self.record_field = field;
        self
    }

    /// Starts the walk at `checkpoint` (from [`Page::checkpoint`]) instead of the first page.
    pub fn resume(mut self, checkpoint: Checkpoint) -> Self {
        self.resume = Some(checkpoint);
        self
    }

    /// The pages of the listing, fetched as the stream is polled (one at a time, or up to the
    /// service's [`pages_in_flight`](Service::pages_in_flight) ahead): memory does not grow with
    /// the number of pages. The stream ends after the first error.
    pub fn list_pages(
        &self,
    ) -> impl Stream<Item = Result<Page, SourceError>> + Send + 'static + use<> {
        let walk = Walk::new(
            self.start(),
            self.walk_paginator(),
            self.records_path(),
            self.record_field.clone(),
            self.service.defaults().pages_in_flight,
            self.service.defaults().empty_pages,
        );
        stream::try_unfold(walk, Walk::step)
    }

    /// Every record, across all pages, as JSON values.
    pub fn list(&self) -> impl Stream<Item = Result<Value, SourceError>> + Send + 'static + use<> {
        self.list_as()
    }

    /// Every record decoded into `T`. A record that does not fit yields an [`SourceError::Decode`]
    /// and the stream goes on; an error that stops the walk ends it.
    pub fn list_as<T: DeserializeOwned + Send + 'static>(
        &self,
    ) -> impl Stream<Item = Result<T, SourceError>> + Send + 'static + use<T> {
        self.list_pages()
            .map_ok(|page| {
                stream::iter(
                    page.into_items::<T>()
                        .map(|item| item.map_err(SourceError::from)),
                )
            })
            .try_flatten()
    }

    /// One record by id, or `None` when there is none; by [`Lookup`] (default
    /// [`Lookup::ItemPath`]).
    ///
    /// # Errors
    /// A failed request (other than a 404 on an item path), a body that is not JSON.
    pub async fn get(&self, id: &str) -> Result<Option<Value>, SourceError> {
        self.get_as(id).await
    }

    /// [`get`](Self::get), decoded into `T`.
    ///
    /// # Errors
    /// As [`get`](Self::get), and when the record does not fit `T`.
    pub async fn get_as<T: DeserializeOwned + Send + 'static>(
        &self,
        id: &str,
    ) -> Result<Option<T>, SourceError> {
        let lookup = self
            .lookup
            .clone()
            .unwrap_or_else(|| self.service.defaults().lookup.clone());
        match lookup {
            Lookup::ItemPath => self.get_item(id).await,
            Lookup::Path(template) => {
                let path = crate::url::fill(&crate::url::fill(&template, "id", id), "+id", id);
                let mut endpoint = self.service.endpoint(path);
                endpoint.item_records.clone_from(&self.item_records);
                endpoint.get_at_path().await
            }
            Lookup::Scan { id_field } => {
                let mut pages = std::pin::pin!(self.list_pages());
                while let Some(page) = pages.try_next().await? {
                    let found = page.records().iter().position(|record| {
                        id_field
                            .find(record.get())
                            .ok()
                            .flatten()
                            .is_some_and(|value| id_matches(value.get(), id))
                    });
                    if let Some(index) = found {
                        let item = page
                            .into_items::<T>()
                            .nth(index)
                            .expect("the index is in the page");
                        return Ok(Some(item?));
                    }
                }
                Ok(None)
            }
        }
    }

    async fn get_item<T: DeserializeOwned>(&self, id: &str) -> Result<Option<T>, SourceError> {
        let (client, mut url) = self.base_request()?;
        let not_under_base = || ServiceError::EndpointOutsideBase {
            service: client.service().to_owned(),
            endpoint: self.path.clone(),
        };
        url.path_segments_mut()
            .map_err(|()| not_under_base())?
            .pop_if_empty()
            .push(id);
        self.fetch_item(client, url).await
    }

    /// The one record at this endpoint's own path.
    async fn get_at_path<T: DeserializeOwned>(&self) -> Result<Option<T>, SourceError> {
        let (client, url) = self.base_request()?;
        self.fetch_item(client, url).await
    }

    async fn fetch_item<T: DeserializeOwned>(
        &self,
        client: HttpClient,
        mut url: Url,
    ) -> Result<Option<T>, SourceError> {
        // A page size or a page number means nothing to one item.
        for param in self.walk_paginator().params() {
            crate::url::remove_param(&mut url, &param);
        }
        let shown = client.redact(&url);
        let item_records = self
            .item_records
            .clone()
            .unwrap_or_else(|| self.service.defaults().item_records.clone());
        let records = match fetch(client.clone(), url.clone(), Reading::records(item_records)).await
        {
            Ok((_, scanned)) => scanned.records,
            Err(error) if error.status() == Some(reqwest::StatusCode::NOT_FOUND) => {
                return Ok(None);
            }
            Err(error) => return Err(error),
        };
        let Some(record) = records.first() else {
            return Ok(None);
        };
        Ok(Some(decode(record, &shown, 0)?))
    }

    /// The records matching `query`, by [`Search`] (default [`Search::Naive`]).
    pub fn search(
        &self,
        query: &str,
    ) -> impl Stream<Item = Result<Value, SourceError>> + Send + 'static + use<> {
        self.search_as(query)
    }

    /// [`search`](Self::search), decoded into `T`.
    pub fn search_as<T: DeserializeOwned + Send + 'static>(
        &self,
        query: &str,
    ) -> impl Stream<Item = Result<T, SourceError>> + Send + 'static + use<T> {
        self.search_pages(query)
            .map_ok(|page| {
                stream::iter(
                    page.into_items::<T>()
                        .map(|item| item.map_err(SourceError::from)),
                )
            })
            .try_flatten()
    }

    /// The results of [`search`](Self::search) page by page, as [`list_pages`](Self::list_pages)
    /// is to [`list`](Self::list). With [`Search::Param`] these are the API's own result pages;
    /// with [`Search::Naive`], the listing's pages that hold a match, each with only its
    /// matching records and its position in the listing ([`Page::index`]).
    pub fn search_pages(
        &self,
        query: &str,
    ) -> impl Stream<Item = Result<Page, SourceError>> + Send + 'static + use<> {
        let search = self
            .search
            .clone()
            .unwrap_or_else(|| self.service.defaults().search.clone());
        match search {
            Search::Param(name) => self.clone().param(name, query).list_pages().boxed(),
            Search::Endpoint {
                path,
                param,
                records,
            } => {
                let mut endpoint = self.service.endpoint(path).param(param, query);
                endpoint.paginator.clone_from(&self.paginator);
                endpoint.records = records;
                endpoint.list_pages().boxed()
            }
            Search::Naive => {
                let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
                self.list_pages()
                    .try_filter_map(move |mut page| {
                        page.retain(|record| record_contains(record.get(), &words));
                        future::ready(Ok((!page.is_empty()).then_some(page)))
                    })
                    .boxed()
            }
        }
    }

    fn walk_paginator(&self) -> Arc<dyn Paginator> {
        self.paginator
            .clone()
            .unwrap_or_else(|| self.service.defaults().paginator.clone())
    }

    fn records_path(&self) -> Records {
        self.records
            .clone()
            .unwrap_or_else(|| self.service.defaults().records.clone())
    }

    /// The client and the endpoint's URL with the service's and the endpoint's parameters.
    fn base_request(&self) -> Result<(HttpClient, Url), SourceError> {
        let client = self.service.client()?;
        Ok((client, self.listing_url()?))
    }

    /// The endpoint's URL with the service's and the endpoint's parameters (never credentials).
    pub(crate) fn listing_url(&self) -> Result<Url, ServiceError> {
        let mut url = self.service.endpoint_url(&self.path)?;
        let defaults = self.service.defaults();
        for (name, value) in defaults.params.iter().chain(&self.params) {
            set_param(&mut url, name, value);
        }
        Ok(url)
    }

    /// Where a walk starts: the checkpoint, or the first page.
    fn start(&self) -> Result<(HttpClient, Url), SourceError> {
        if let Some(checkpoint) = &self.resume {
            let client = self.service.client()?;
            let url =
                Url::parse(checkpoint.as_str()).map_err(|_| ServiceError::InvalidCheckpoint {
                    service: client.service().to_owned(),
                    checkpoint: checkpoint.as_str().to_owned(),
                })?;
            return Ok((client, url));
        }
        let (client, mut url) = self.base_request()?;
        self.walk_paginator().first_request(&mut url);
        Ok((client, url))
    }
}

/// Whether a raw id value equals `id` as text (`"42"` and `42` both match "42").
fn id_matches(raw: &str, id: &str) -> bool {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::String(text)) => text == id,
        Ok(Value::Number(number)) => number.to_string() == id,
        _ => false,
    }
}

/// Whether every word appears in some string or number value of the record, ignoring case.
pub(super) fn record_contains(raw: &str, words: &[String]) -> bool {
    let Ok(value) = serde_json::from_str::<Value>(raw) else {
        return false;
    };
    let mut text = String::new();
    collect_text(&value, &mut text);
    let text = text.to_lowercase();
    words.iter().all(|word| text.contains(word.as_str()))
}

fn collect_text(value: &Value, text: &mut String) {
    match value {
        Value::String(string) => {
            text.push_str(string);
            text.push('\u{1f}');
        }
        Value::Number(number) => {
            let _ = write!(text, "{number}\u{1f}");
        }
        Value::Array(items) => items.iter().for_each(|item| collect_text(item, text)),
        Value::Object(map) => map.values().for_each(|item| collect_text(item, text)),
        Value::Bool(_) | Value::Null => {}
    }
}
