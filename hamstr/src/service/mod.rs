//! [`Service`]: one API (base URL, auth, headers, paginator, limits), and the unified async
//! interface over it: [`list`](Service::list), [`list_pages`](Service::list_pages),
//! [`get`](Service::get), [`search`](Service::search) and
//! [`search_pages`](Service::search_pages).

mod client;
mod combined;
mod endpoint;
mod error;
mod file;
mod settings;
mod walk;

use std::{
    fmt,
    sync::{Arc, OnceLock},
    time::Duration,
};

use futures_util::Stream;
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{
    auth::Auth,
    http::HttpClient,
    paginate::{Paginator, SinglePage},
    records::Records,
    secret::Secret,
};

#[cfg(feature = "s3")]
pub use crate::http::AwsSigV4;
pub use crate::http::{
    DEFAULT_INITIAL_DELAY, DEFAULT_MAX_DELAY, DEFAULT_RETRY_STATUSES, OAuth2, OAuth2Error,
    RateLimit, RequestEvent, RetryPolicy,
};
pub use crate::state::Checkpoint;
pub use combined::{Combined, Failure, Found, Gotten, SourceFailure};
pub use endpoint::{Endpoint, Lookup, Search};
pub use error::{FileError, MalformedLine, ServiceError, SourceError};
pub use file::{FileFormat, FileKey, FileSource};
pub use settings::{DEFAULT_USER_AGENT, Limits, ServiceSettings};
pub use walk::Page;

/// One API: where it is, how to authenticate, how its listings are paginated.
///
/// Cheap to clone; clones share one connection pool. Configuration errors (a bad base URL, an
/// invalid header) do not panic: [`check`](Self::check) reports them, and so does the first
/// request.
///
/// # Examples
/// ```
/// use hamstr::{Secret, Service, paginate::NextLink};
/// use std::time::Duration;
///
/// let mollie = Service::new("https://api.mollie.com/v2/")
///     .name("mollie")
///     .bearer_auth(Secret::new("test_token"))
///     .header("Accept", "application/json")
///     .timeout(Duration::from_secs(20))
///     .paginator(NextLink::at("_links.next.href"))
///     .records("_embedded.payments");
/// mollie.check().unwrap();
/// assert_eq!(mollie.endpoint_url("payments").unwrap().as_str(), "https://api.mollie.com/v2/payments");
/// assert_eq!(mollie.endpoint_url("/payments").unwrap().as_str(), "https://api.mollie.com/v2/payments");
/// ```
#[derive(Clone)]
pub struct Service {
    config: Arc<Config>,
    client: Arc<OnceLock<Result<HttpClient, ServiceError>>>,
}

#[derive(Clone)]
struct Config {
    base: String,
    auth: Option<Auth>,
    settings: ServiceSettings,
    paginator: Arc<dyn Paginator>,
    records: Records,
    item_records: Records,
    search: Search,
    lookup: Lookup,
    #[cfg(feature = "testing")]
    record_dir: Option<std::path::PathBuf>,
}

impl Service {
    /// A service whose endpoints live under `base_url` (`https://api.mollie.com/v2/`).
    ///
    /// Defaults: no auth, [`SinglePage`] (no pagination), records are the body's array, and
    /// [`ServiceSettings::default`]: a user agent naming hamstr, 10 s to connect, 30 s per
    /// request, bodies up to 64 MiB, [`RetryPolicy::new`], the whole rate-limit quota, no
    /// client-side budget, conditional requests with up to 16 MiB of answers kept.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self::with_settings(base_url, ServiceSettings::default())
    }

    /// A service under `base_url` sending its requests as `settings` say; what the builder
    /// methods below set one by one, and what a `hamstr.yml` service's keys become.
    pub fn with_settings(base_url: impl Into<String>, settings: ServiceSettings) -> Self {
        Self {
            config: Arc::new(Config {
                base: base_url.into(),
                auth: None,
                settings,
                paginator: Arc::new(SinglePage),
                records: Records::default(),
                item_records: Records::object(""),
                search: Search::Naive,
                lookup: Lookup::ItemPath,
                #[cfg(feature = "testing")]
                record_dir: None,
            }),
            client: Arc::new(OnceLock::new()),
        }
    }

    /// How it sends its requests.
    pub fn settings(&self) -> &ServiceSettings {
        &self.config.settings
    }

    fn set(self, change: impl FnOnce(&mut ServiceSettings)) -> Self {
        self.configure(|config| change(&mut config.settings))
    }

    fn configure(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(Arc::make_mut(&mut self.config));
        // A changed configuration gets a client of its own, built on first use.
        self.client = Arc::new(OnceLock::new());
        self
    }

    /// The name used in logs, errors, collector ids and stored state. Default: the base URL's host.
    pub fn name(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.set(|settings| settings.name = Some(name))
    }

    /// Authenticates every request with `auth`.
    pub fn auth(self, auth: Auth) -> Self {
        self.configure(|config| config.auth = Some(auth))
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer_auth(self, token: Secret) -> Self {
        self.auth(Auth::bearer(token))
    }

    /// An API key in the header `name`.
    pub fn api_key_header(self, name: impl Into<String>, key: Secret) -> Self {
        self.auth(Auth::api_key_header(name, key))
    }

    /// An API key in the query parameter `name`.
    pub fn api_key_query(self, name: impl Into<String>, key: Secret) -> Self {
        self.auth(Auth::api_key_query(name, key))
    }

    /// HTTP basic authentication.
    pub fn basic_auth(self, username: impl Into<String>, password: Secret) -> Self {
        self.auth(Auth::basic(username, password))
    }

    /// A header sent with every request (`Accept`, an API version).
    pub fn header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let header = (name.into(), value.into());
        self.set(|settings| settings.headers.push(header))
    }

    /// A query parameter sent with every request.
    pub fn param(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let param = (name.into(), value.into());
        self.set(|settings| settings.params.push(param))
    }

    /// The `User-Agent` header (default [`DEFAULT_USER_AGENT`]).
    pub fn user_agent(self, user_agent: impl Into<String>) -> Self {
        let user_agent = user_agent.into();
        self.set(|settings| settings.user_agent = user_agent)
    }

    /// How long to wait for a connection.
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.set(|settings| settings.connect_timeout = timeout)
    }

    /// How long one request may take, body included.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.set(|settings| settings.timeout = timeout)
    }

    /// The largest body accepted; a larger one is an error, not a full memory.
    pub fn max_body_bytes(self, limit: usize) -> Self {
        self.set(|settings| settings.max_body_bytes = limit)
    }

    /// Lets credentials go over plain `http://` to a host that is not this machine. Without it,
    /// a service with auth and an `http://` base URL is refused (loopback, `127.0.0.1`, `::1`,
    /// `localhost`, is always allowed): anyone on the path could read the token.
    pub fn allow_insecure_http(self) -> Self {
        self.set(|settings| settings.allows_insecure_http = true)
    }

    /// How failed requests are retried (default [`RetryPolicy::new`]; [`RetryPolicy::none`]
    /// turns retries off).
    pub fn retry(self, policy: RetryPolicy) -> Self {
        self.set(|settings| settings.retry = policy)
    }

    /// At most `count` requests per second, evenly spaced, shared by every collector and call
    /// of this service.
    pub fn requests_per_second(self, count: u32) -> Self {
        self.set(|settings| settings.limits.requests_per_second = Some(count))
    }

    /// At most `count` requests per minute, evenly spaced, shared like
    /// [`requests_per_second`](Self::requests_per_second).
    pub fn requests_per_minute(self, count: u32) -> Self {
        self.set(|settings| settings.limits.requests_per_minute = Some(count))
    }

    /// At most `count` requests in flight at once, across all collectors of this service
    /// ([`Limits::DEFAULT_MAX_CONCURRENT`] unless set).
    pub fn max_concurrent_requests(self, count: usize) -> Self {
        self.set(|settings| settings.limits.max_concurrent = Some(count))
    }

    /// Uses at most this share (above 0, at most 1) of the rate-limit quota the API reports,
    /// leaving the rest to other applications with the same token: requests pause while the
    /// API's count of requests left is at or below `(1 − fraction) × limit`.
    pub fn max_quota_fraction(self, fraction: f64) -> Self {
        self.set(|settings| settings.limits.max_quota_fraction = fraction)
    }

    /// Whether answers with an `ETag` or `Last-Modified` are kept so the next request for the
    /// same URL asks "only if changed" (default on; a `304` costs no quota on GitHub and is
    /// answered from the kept copy). `false` turns it off.
    pub fn conditional_requests(self, is_on: bool) -> Self {
        self.set(|settings| settings.conditional_requests = is_on)
    }

    /// Fetches up to `count` pages of a walk at the same time, where the paginator can tell a
    /// page's request without reading the pages before it ([`PageNumber`](crate::paginate::PageNumber),
    /// [`Offset`](crate::paginate::Offset) with a total); pages are still handed on, and stored,
    /// in order. Default 1: one round trip at a time. The service's budget and quota still hold.
    pub fn pages_in_flight(self, count: usize) -> Self {
        self.set(|settings| settings.pages_in_flight = count.max(1))
    }

    /// How many pages without records in a row a walk follows to a next page before it ends.
    /// Default 0: a page with no records is the last, whatever next link or cursor it carries,
    /// so an API that answers empty pages with ever new links cannot keep a walk going for
    /// ever. Raise it for an API that really sends empty pages mid-listing (some filtered
    /// cursors do).
    pub fn empty_pages(self, count: usize) -> Self {
        self.set(|settings| settings.empty_pages = count)
    }

    /// The rate limit the API last reported, with what was sent since and any pause in force;
    /// `None` before the first request.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        match self.client.get() {
            Some(Ok(client)) => Some(client.rate_limit()),
            _ => None,
        }
    }

    /// The API's message when it refused the service's credentials (a 401): the service sends
    /// nothing more. `None` while they are not refused.
    pub fn credentials_refused(&self) -> Option<String> {
        match self.client.get() {
            Some(Ok(client)) => client.rejected_message(),
            _ => None,
        }
    }

    /// `url` as it may be shown: without credentials (auth parameters, the base URL's user name,
    /// password and query, parameters named like secrets). `None` when it is not a URL or the
    /// service's configuration is invalid.
    pub fn shown_url(&self, url: &str) -> Option<String> {
        let client = self.client().ok()?;
        let mut url = Url::parse(url).ok()?;
        client.strip_credentials(&mut url);
        Some(client.redact(&url).to_string())
    }

    /// The base URL as it may be shown (see [`shown_url`](Self::shown_url)).
    pub fn shown_base_url(&self) -> Option<String> {
        let client = self.client().ok()?;
        self.shown_url(client.base().as_str())
    }

    /// Pauses the service's requests until `resumes_at`: what another worker sharing its quota
    /// was told (a `Retry-After`, an exhausted quota). Nothing for an invalid configuration.
    pub(crate) fn pause_until(&self, resumes_at: chrono::DateTime<chrono::Utc>) {
        if let Ok(client) = self.client() {
            client.pause_until(resumes_at);
        }
    }

    /// Keeps `1 / shares` of the service's request rates (`requests_per_second`,
    /// `requests_per_minute`), for `shares` workers sharing them.
    pub(crate) fn share_budget(&self, shares: u32) {
        if let Ok(client) = self.client() {
            client.share_budget(shares);
        }
    }

    /// What this service's requests go through from now on (retries, pauses), for a running
    /// app's events; `None` when its configuration is invalid.
    pub(crate) fn request_events(&self) -> Option<tokio::sync::broadcast::Receiver<RequestEvent>> {
        self.client().ok().map(|client| client.request_events())
    }

    /// Answers are XML (S3's listings, older APIs): each body is read as JSON before records
    /// are taken out of it, elements named in `lists` always lists, so a listing of one item is
    /// still a list. A list named by its path from the document element
    /// (`ListBucketResult.Contents`) is there, empty, whenever its parent is, so an empty listing
    /// has no records rather than no records path. The document element is an object with one key, its name; an element of
    /// text alone is a string; attributes are `@name`, text beside elements `#text`; namespace
    /// prefixes are dropped; an element that repeats is a list.
    pub fn xml<I, S>(self, lists: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let lists = lists.into_iter().map(Into::into).collect();
        self.configure(|config| config.settings.xml_lists = Some(lists))
    }

    /// How listings are paginated (default [`SinglePage`]).
    pub fn paginator(self, paginator: impl Paginator) -> Self {
        let paginator: Arc<dyn Paginator> = Arc::new(paginator);
        self.configure(|config| config.paginator = paginator)
    }

    /// Where the records are in a listing's body, for endpoints that do not say otherwise.
    pub fn records(self, records: impl Into<Records>) -> Self {
        let records = records.into();
        self.configure(|config| config.records = records)
    }

    /// Where the record is in an item endpoint's body (default: the body itself).
    pub fn item_records(self, records: Records) -> Self {
        self.configure(|config| config.item_records = records)
    }

    /// How [`search`](Self::search) works for endpoints that do not say otherwise.
    pub fn search_with(self, search: Search) -> Self {
        self.configure(|config| config.search = search)
    }

    /// How [`get`](Self::get) finds one record for endpoints that do not say otherwise.
    pub fn lookup(self, lookup: Lookup) -> Self {
        self.configure(|config| config.lookup = lookup)
    }

    /// How its requests are retried, and its failing collectors backed off.
    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.config.settings.retry
    }

    /// Records every exchange with the API into `DIR/<service name>.json`, credentials removed,
    /// for replay with [`MockApi::replay`](crate::testing::MockApi::replay).
    #[cfg(feature = "testing")]
    pub fn record_to(self, dir: impl Into<std::path::PathBuf>) -> Self {
        let dir = dir.into();
        self.configure(|config| config.record_dir = Some(dir))
    }

    /// The service's name: as set, or the base URL's host.
    pub fn service_name(&self) -> String {
        if let Some(name) = &self.config.settings.name {
            return name.clone();
        }
        Url::parse(&self.config.base)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_else(|| self.config.base.clone())
    }

    /// Checks the configuration without sending anything: the base URL, headers, auth.
    ///
    /// # Errors
    /// The first problem found, naming the service and the setting.
    pub fn check(&self) -> Result<(), ServiceError> {
        self.client().map(drop)
    }

    /// The URL of `endpoint`, joined onto the base URL: `https://api.mollie.com/v2/` with
    /// `payments` or `/payments` gives `https://api.mollie.com/v2/payments`.
    ///
    /// # Errors
    /// When the base URL is invalid, or `endpoint` would leave it (another host, `../`).
    pub fn endpoint_url(&self, endpoint: &str) -> Result<Url, ServiceError> {
        let client = self.client()?;
        join_endpoint(client.base(), endpoint).ok_or_else(|| ServiceError::EndpointOutsideBase {
            service: client.service().to_owned(),
            endpoint: endpoint.to_owned(),
        })
    }

    /// An endpoint of this service, to configure before listing (its own records path,
    /// parameters, paginator, search or lookup).
    pub fn endpoint(&self, path: impl Into<String>) -> Endpoint {
        Endpoint::new(self.clone(), path.into())
    }

    /// Every record of `endpoint`, across all pages, as JSON values.
    ///
    /// The stream ends after the first error that stops the walk (a failed request, a page that
    /// is not JSON, a paginator that does not advance); the records before it have been yielded.
    pub fn list(
        &self,
        endpoint: &str,
    ) -> impl Stream<Item = Result<Value, SourceError>> + Send + 'static + use<> {
        self.endpoint(endpoint).list()
    }

    /// Every record of `endpoint`, decoded into `T`. A record that does not fit is yielded as an
    /// [`SourceError::Decode`] naming the field, and the stream goes on.
    pub fn list_as<T: DeserializeOwned + Send + 'static>(
        &self,
        endpoint: &str,
    ) -> impl Stream<Item = Result<T, SourceError>> + Send + 'static + use<T> {
        self.endpoint(endpoint).list_as()
    }

    /// The pages of `endpoint`, each with its records and metadata.
    pub fn list_pages(
        &self,
        endpoint: &str,
    ) -> impl Stream<Item = Result<Page, SourceError>> + Send + 'static + use<> {
        self.endpoint(endpoint).list_pages()
    }

    /// One record by id; see [`Endpoint::get`].
    ///
    /// # Errors
    /// As [`Endpoint::get`].
    pub async fn get(&self, endpoint: &str, id: &str) -> Result<Option<Value>, SourceError> {
        self.endpoint(endpoint).get(id).await
    }

    /// The records matching `query`; see [`Endpoint::search`].
    pub fn search(
        &self,
        endpoint: &str,
        query: &str,
    ) -> impl Stream<Item = Result<Value, SourceError>> + Send + 'static + use<> {
        self.endpoint(endpoint).search(query)
    }

    /// The results of [`search`](Self::search) page by page; see [`Endpoint::search_pages`].
    pub fn search_pages(
        &self,
        endpoint: &str,
        query: &str,
    ) -> impl Stream<Item = Result<Page, SourceError>> + Send + 'static + use<> {
        self.endpoint(endpoint).search_pages(query)
    }

    pub(crate) fn defaults(&self) -> Defaults<'_> {
        Defaults {
            params: &self.config.settings.params,
            paginator: &self.config.paginator,
            records: &self.config.records,
            item_records: &self.config.item_records,
            search: &self.config.search,
            lookup: &self.config.lookup,
            pages_in_flight: self.config.settings.pages_in_flight,
            empty_pages: self.config.settings.empty_pages,
        }
    }
}

/// What an endpoint inherits from its service unless it sets its own.
pub(crate) struct Defaults<'a> {
    pub(crate) params: &'a [(String, String)],
    pub(crate) paginator: &'a Arc<dyn Paginator>,
    pub(crate) records: &'a Records,
    pub(crate) item_records: &'a Records,
    pub(crate) search: &'a Search,
    pub(crate) lookup: &'a Lookup,
    pub(crate) pages_in_flight: usize,
    pub(crate) empty_pages: usize,
}

impl fmt::Debug for Service {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.config;
        formatter
            .debug_struct("Service")
            .field("name", &self.service_name())
            .field("base", &config.base)
            .field("auth", &config.auth)
            .field("paginator", &config.paginator)
            .field("records", &config.records)
            .finish_non_exhaustive()
    }
}

/// `endpoint` under `base`, or `None` when it would leave the base URL.
fn join_endpoint(base: &Url, endpoint: &str) -> Option<Url> {
    let mut directory = base.clone();
    if !directory.path().ends_with('/') {
        let path = format!("{}/", directory.path());
        directory.set_path(&path);
    }
    directory.set_query(None);
    directory.set_fragment(None);
    let joined = match Url::parse(endpoint) {
        Ok(absolute) => absolute,
        // Leading slashes go: `/payments` is relative to the base, and `//host` is not a host.
        Err(_) => directory.join(endpoint.trim_start_matches('/')).ok()?,
    };
    if joined.origin() != directory.origin() || !joined.path().starts_with(directory.path()) {
        return None;
    }
    let mut url = joined;
    if base.query().is_some() {
        let mut pairs: Vec<(String, String)> = base
            .query_pairs()
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        pairs.extend(
            url.query_pairs()
                .map(|(name, value)| (name.into_owned(), value.into_owned())),
        );
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    Some(url)
}

#[cfg(test)]
mod tests;
