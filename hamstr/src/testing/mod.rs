//! A local mock HTTP API for testing collectors offline (feature `testing`).
//!
//! [`MockApi`] listens on `127.0.0.1` on a free port and serves what a test tells it to: paged
//! [`Collection`]s in every common pagination style ([`Paging`]), fixed or sequenced responses
//! ([`Route`]), required credentials ([`MockAuth`]), injected failures ([`Fault`]: error statuses,
//! `Retry-After`, delays, truncated bodies, HTML error pages, dropped connections), a request
//! quota advertised in GitHub's or the IETF drafts' rate-limit headers ([`MockRateLimit`]),
//! conditional requests answered with `304 Not Modified` ([`Validators`]: `ETag`,
//! `Last-Modified`), and exchanges recorded from a real API ([`MockApi::replay`]). It records
//! every request it receives, with the time it arrived, so a test can assert on what a collector
//! sent (and when) as well as on what it stored, and it counts how many requests were being served
//! at once, refused over the quota, and answered with a 304. Dropping the `MockApi` stops the
//! server.
//!
//! ```
//! use futures_util::TryStreamExt;
//! use hamstr::{Secret, Service, paginate::PageNumber};
//! use hamstr::testing::{Collection, MockApi, MockAuth, Paging};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), hamstr::Error> {
//! let api = MockApi::start().await;
//! let orders = (1..=25).map(|id| json!({ "id": id })).collect();
//! api.route("/v1/orders", Collection::new(orders).paging(Paging::page_number()));
//! api.require_auth(MockAuth::bearer("test-token"));
//!
//! // The service under test points at `api.url()`...
//! let shop = Service::new(format!("{}v1/", api.url()))
//!     .bearer_auth(Secret::new("test-token"))
//!     .paginator(PageNumber::new().size("per_page", 10))
//!     .records("data");
//! let orders: Vec<serde_json::Value> = shop.list("orders").try_collect().await?;
//! assert_eq!(orders.len(), 25);
//!
//! // ...and the test checks what it sent as well as what it got.
//! let requests = api.requests("/v1/orders");
//! assert_eq!(requests.len(), 3);
//! assert_eq!(requests[0].header("authorization"), Some("Bearer test-token"));
//! assert_eq!(requests[2].param("page"), Some("3"));
//! # Ok(())
//! # }
//! ```
//!
//! # Record and replay
//!
//! A fixtures directory holds `*.json` files, read in file-name order, each an array of exchanges:
//!
//! ```json
//! [{"request": {"method": "GET", "path": "/v2/payments", "query": "limit=2&from=tr_2"},
//!   "response": {"status": 200,
//!                "headers": [["link", "<{{origin}}/v2/payments?page=2>; rel=\"next\""]],
//!                "body": {"data": []}}}]
//! ```
//!
//! `body` holds a JSON body; `body_text` holds any other body. On replay, `{{origin}}` in header
//! values and bodies becomes the mock's origin (`http://127.0.0.1:PORT`). A request matches an
//! exchange when its method, path and query parameters are equal, in any order and ignoring
//! credential parameters (`api_key`, `apikey`, `key`, `token`, `access_token`, `client_secret`,
//! `password`, `signature`, `sig`). Several matching exchanges are served in order, one per
//! request, and the last one repeats. A request nothing matches gets a 404 with a JSON error.
//! Routes added with [`MockApi::route`] take precedence over fixtures.
//!
//! # The order of decisions
//!
//! For each request the mock checks, in order: the [rate limit](MockApi::rate_limit) (a request
//! over the quota is refused at once, as GitHub does, before credentials are looked at), the
//! [credentials](MockApi::require_auth), an [injected fault](MockApi::inject), and then the route
//! or fixture. A normal `200` answer then meets the request's
//! [conditions](MockApi::conditional) and may become a `304`. Last, the answer is charged to the
//! quota (a `304` is free) and gets the rate-limit headers.

mod collection;
mod conditional;
pub mod demo;
mod fault;
mod fixtures;
mod oauth2;
mod paging;
#[cfg(feature = "postgres")]
mod postgres;
mod proxy;
mod query;
mod quota;
mod route;
mod server;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use axum::http::request::Parts;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::collection::Collection;
use self::conditional::Conditional;
pub use self::conditional::Validators;
pub use self::fault::Fault;
pub use self::fixtures::FixtureError;
pub use self::oauth2::MockOAuth2;
pub use self::paging::{LinkStyle, Paging};
#[cfg(feature = "postgres")]
pub use self::postgres::{POSTGRES_URL_VARIABLE, scratch_database};
pub use self::proxy::TcpProxy;
pub use self::quota::MockRateLimit;
use self::quota::Quota;
pub use self::route::{MockAuth, MockResponse, Route};
use self::server::{RouteEntry, Shared};

/// A mock HTTP API on a local port; see the [module docs](self).
///
/// Every method takes `&self` and may be called while requests are being served. Dropping the
/// `MockApi` stops the server: it accepts no new connections and ends once open requests finish.
#[must_use = "dropping the MockApi stops its server"]
pub struct MockApi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: CancellationToken,
    /// Kept so the server task has an owner; it ends by itself after `shutdown` is cancelled.
    _server: JoinHandle<()>,
}

/// One request as the mock received it.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path, as sent (not percent-decoded), e.g. `/v2/payments`.
    pub path: String,
    /// The decoded query parameters, in the order sent.
    pub query: Vec<(String, String)>,
    /// The headers, names lowercased, in the order sent.
    pub headers: Vec<(String, String)>,
    /// When the mock's handler got the request, before it read the body; for asserting on the
    /// pace of a client (backoff, throttling, waiting for a rate-limit reset).
    pub received_at: Instant,
    raw_query: String,
    body: String,
}

impl ReceivedRequest {
    fn new(parts: &Parts, body: &[u8], received_at: Instant) -> Self {
        let raw_query = parts.uri.query().unwrap_or("").to_owned();
        ReceivedRequest {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: query::decode_query(&raw_query),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    (name.as_str().to_ascii_lowercase(), value)
                })
                .collect(),
            received_at,
            raw_query,
            body: String::from_utf8_lossy(body).into_owned(),
        }
    }

    /// The first value of the header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(given, _)| given.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The first decoded value of the query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        query::first_value(&self.query, name)
    }

    /// The query string exactly as received, without the `?` (empty when there was none).
    pub fn url_query(&self) -> &str {
        &self.raw_query
    }

    /// The request body as text (invalid UTF-8 replaced); empty for a `GET`.
    pub fn body(&self) -> &str {
        &self.body
    }
}

impl MockApi {
    /// Starts a mock on `127.0.0.1` on a free port.
    ///
    /// # Panics
    ///
    /// When no local port can be bound; this is a test helper, and the test cannot go on.
    pub async fn start() -> MockApi {
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        match MockApi::bind(addr).await {
            Ok(api) => api,
            Err(error) => panic!("MockApi::start: cannot listen on 127.0.0.1:0: {error}"),
        }
    }

    /// Starts a mock listening on `addr` (port 0 picks a free one).
    ///
    /// # Errors
    ///
    /// When the address cannot be bound, e.g. because the port is in use.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<MockApi> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        // Links must name an address a client can connect to, not 0.0.0.0.
        let reachable_ip = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let origin = format!("http://{}", SocketAddr::new(reachable_ip, addr.port()));
        let shared = Arc::new(Shared::new(origin));
        let shutdown = CancellationToken::new();
        let serving = axum::serve(listener, server::router(Arc::clone(&shared)))
            .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let server = tokio::spawn(async move {
            if let Err(error) = serving.await {
                tracing::warn!(%error, "mock api server stopped with an error");
            }
        });
        tracing::debug!(%addr, "mock api listening");
        Ok(MockApi {
            shared,
            addr,
            shutdown,
            _server: server,
        })
    }

    /// Starts a mock (as [`start`](MockApi::start)) that replays the fixtures in `dir`.
    ///
    /// # Errors
    ///
    /// As [`load_fixtures`](MockApi::load_fixtures).
    ///
    /// # Panics
    ///
    /// As [`start`](MockApi::start).
    pub async fn replay(dir: impl AsRef<Path>) -> Result<MockApi, FixtureError> {
        let api = MockApi::start().await;
        api.load_fixtures(dir)?;
        Ok(api)
    }

    /// Loads the recorded exchanges in `dir` (see the [module docs](self)) and returns how many
    /// were loaded. Exchanges loaded earlier stay; new ones for the same request are served after
    /// them.
    ///
    /// # Errors
    ///
    /// When the directory or a file cannot be read, or a file is not a JSON array of exchanges;
    /// nothing is loaded then.
    pub fn load_fixtures(&self, dir: impl AsRef<Path>) -> Result<usize, FixtureError> {
        let loaded = fixtures::read_fixtures(dir.as_ref(), &self.shared.origin)?;
        let count = loaded.len();
        self.shared.lock().fixtures.extend(loaded);
        Ok(count)
    }

    /// The base URL, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("{}/", self.shared.origin)
    }

    /// The address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes `path` (e.g. `/v2/payments`) answer with `route`, replacing any route there.
    ///
    /// A [`Route::Sequence`] starts again from its first response.
    pub fn route(&self, path: &str, route: impl Into<Route>) {
        let entry = RouteEntry::new(route.into());
        self.shared.lock().routes.insert(normalize(path), entry);
    }

    /// From now on, answers every request that lacks `auth` with a 401 and the JSON body
    /// `{"error": "unauthorized"}`, before any injected fault.
    pub fn require_auth(&self, auth: MockAuth) {
        self.shared.lock().auth = Some(auth);
    }

    /// From now on, serves an OAuth2 token endpoint ([`MockOAuth2`]) and answers every other
    /// request that lacks one of its valid tokens with a 401.
    pub fn require_oauth2(&self, server: MockOAuth2) {
        self.shared.lock().oauth2 = Some(oauth2::TokenServer::new(server));
    }

    /// Makes every access token issued so far invalid: the next request with one gets a 401.
    pub fn revoke_tokens(&self) {
        if let Some(server) = &mut self.shared.lock().oauth2 {
            server.revoke();
        }
    }

    /// From now on (`true`) the token endpoint refuses every grant with `invalid_grant`, or
    /// (`false`) issues tokens again.
    pub fn refuse_token_requests(&self, is_refusing: bool) {
        if let Some(server) = &mut self.shared.lock().oauth2 {
            server.is_refusing = is_refusing;
        }
    }

    /// How many access tokens the token endpoint issued.
    pub fn tokens_issued(&self) -> usize {
        self.shared
            .lock()
            .oauth2
            .as_ref()
            .map_or(0, oauth2::TokenServer::issued)
    }

    /// From now on, enforces `limit` on every request, whatever its path, and advertises it in
    /// rate-limit headers on every response; see [`MockRateLimit`].
    ///
    /// The quota is checked before anything else: a request over it is refused even without
    /// credentials, and takes no injected fault and no [`Route::Sequence`] step. Setting a limit
    /// again replaces the old one, and the next request starts a fresh window.
    pub fn rate_limit(&self, limit: MockRateLimit) {
        self.shared.lock().quota = Some(Quota::new(limit));
    }

    /// How many requests were refused (403 or 429) because the [rate limit](MockApi::rate_limit)'s
    /// quota was used up.
    pub fn requests_over_quota(&self) -> usize {
        self.shared.lock().requests_over_quota
    }

    /// From now on, sends `validators` with every normal `200` answer and answers a `GET` or
    /// `HEAD` whose `If-None-Match` or `If-Modified-Since` says the client's copy is current
    /// with `304 Not Modified`; see [`Validators`].
    ///
    /// Only the route's or fixture's own answer is validated, with or without a
    /// [`Fault::Delay`]; other faults, 401s and statuses other than 200 are sent as they are.
    /// A 304 stands for the answer it replaces, so a [`Route::Sequence`] moves on to its next
    /// response as it would after a 200. Calling this again switches validators and keeps the
    /// `Last-Modified` dates already served.
    pub fn conditional(&self, validators: Validators) {
        let mut state = self.shared.lock();
        match &mut state.conditional {
            Some(conditional) => conditional.set_validators(validators),
            None => state.conditional = Some(Conditional::new(validators)),
        }
    }

    /// How many answers had status `304 Not Modified`: those [`conditional`](MockApi::conditional)
    /// sent, and any a route or fault set itself.
    pub fn not_modified_count(&self) -> usize {
        self.shared.lock().not_modified
    }

    /// Serves `fault` to the next `times` requests to `path`, after the faults already queued.
    ///
    /// Each request takes one fault from the queue; [`Fault::Delay`] delays the normal answer,
    /// every other fault replaces it.
    pub fn inject(&self, path: &str, fault: Fault, times: usize) {
        let mut state = self.shared.lock();
        let queue = state.faults.entry(normalize(path)).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
    }

    /// Replaces the records of the [`Collection`] route at `path`.
    ///
    /// # Panics
    ///
    /// When `path` has no collection route.
    pub fn set_records(&self, path: &str, records: Vec<serde_json::Value>) {
        self.with_collection(path, "set_records", |collection| {
            collection.set_records(records);
        });
    }

    /// Appends `records` after the records of the [`Collection`] route at `path`.
    ///
    /// # Panics
    ///
    /// When `path` has no collection route.
    pub fn push_records(&self, path: &str, records: Vec<serde_json::Value>) {
        self.with_collection(path, "push_records", |collection| {
            collection.push_records(records);
        });
    }

    /// The requests received on `path`, in arrival order.
    pub fn requests(&self, path: &str) -> Vec<ReceivedRequest> {
        let path = normalize(path);
        let state = self.shared.lock();
        let matching = state.requests.iter().filter(|request| request.path == path);
        matching.cloned().collect()
    }

    /// Every request received, in arrival order.
    pub fn all_requests(&self) -> Vec<ReceivedRequest> {
        self.shared.lock().requests.clone()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// Returns once at least `count` requests were received in total.
    pub async fn wait_for_requests(&self, count: usize) {
        let mut received = self.shared.received.subscribe();
        // The sender lives in `self.shared`, so the channel stays open while we wait.
        let _ = received.wait_for(|received| *received >= count).await;
    }

    /// The most requests that were being served at the same moment so far.
    pub fn max_concurrent_requests(&self) -> usize {
        self.shared.lock().max_in_flight
    }

    fn with_collection(&self, path: &str, caller: &str, change: impl FnOnce(&mut Collection)) {
        let path = normalize(path);
        let mut state = self.shared.lock();
        match state.routes.get_mut(&path).map(|entry| &mut entry.route) {
            Some(Route::Collection(collection)) => change(collection),
            _ => {
                drop(state);
                panic!("MockApi::{caller}: {path} is not a collection route");
            }
        }
    }
}

impl fmt::Debug for MockApi {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("MockApi")
            .field("addr", &self.addr)
            .field("request_count", &self.request_count())
            .finish_non_exhaustive()
    }
}

impl Drop for MockApi {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// `path` with a leading `/`, as request paths have.
fn normalize(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}
