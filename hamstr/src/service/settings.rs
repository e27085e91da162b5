//! [`ServiceSettings`]: the one description of how a service sends its requests. The builder
//! methods of [`Service`](super::Service) set its fields, and so do the keys of a service in a
//! `hamstr.yml`; a new setting is a field here, a builder method and a YAML key.

use std::time::Duration;

use crate::http::RetryPolicy;

/// The user agent sent unless another is set: some APIs (GitHub) refuse requests without one.
pub const DEFAULT_USER_AGENT: &str = concat!("hamstr/", env!("CARGO_PKG_VERSION"));

/// How a service sends its requests: everything but its base URL, its credentials and how its
/// listings read. [`Service::with_settings`](super::Service::with_settings) takes one whole;
/// each builder method sets one field.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use hamstr::{Service, service::ServiceSettings};
///
/// let built = Service::new("https://api.example.com/")
///     .timeout(Duration::from_secs(20))
///     .requests_per_second(10);
/// let mut settings = ServiceSettings::default();
/// settings.timeout = Duration::from_secs(20);
/// settings.limits.requests_per_second = Some(10);
/// assert_eq!(built.settings(), &settings);
/// let same = Service::with_settings("https://api.example.com/", settings);
/// # let _ = same;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServiceSettings {
    /// The name used in logs, errors, collector ids and stored state; `None`: the base URL's
    /// host (`Service::name`, the key under `services:`).
    pub name: Option<String>,
    /// Headers sent with every request, in order (`Service::header`, `headers:`).
    pub headers: Vec<(String, String)>,
    /// Query parameters sent with every request, in order (`Service::param`, `params:`).
    pub params: Vec<(String, String)>,
    /// The `User-Agent` header (`Service::user_agent`, `user_agent:`); [`DEFAULT_USER_AGENT`].
    pub user_agent: String,
    /// How long to wait for a connection (`Service::connect_timeout`, `connect_timeout:`); 10 s.
    pub connect_timeout: Duration,
    /// How long one request may take, body included (`Service::timeout`, `timeout:`); 30 s.
    pub timeout: Duration,
    /// The largest body accepted (`Service::max_body_bytes`, `max_body_bytes:`); 64 MiB.
    pub max_body_bytes: usize,
    /// Credentials may go over plain `http://` to another machine
    /// (`Service::allow_insecure_http`, `allow_insecure_http:`); `false`.
    pub allows_insecure_http: bool,
    /// How failed requests are retried (`Service::retry`, `retry:`); [`RetryPolicy::new`].
    pub retry: RetryPolicy,
    /// The limits the service keeps its requests within (`limits:`); none.
    pub limits: Limits,
    /// Answers are kept so the next request for a URL asks "only if changed"
    /// (`Service::conditional_requests`, `conditional_requests:`); `true`.
    pub conditional_requests: bool,
    /// Pages of one walk requested at the same time (`Service::pages_in_flight`,
    /// `pages_in_flight:`); 1.
    pub pages_in_flight: usize,
    /// Pages without records in a row that a walk follows to a next page before it ends
    /// (`Service::empty_pages`, `empty_pages:`); 0: the first empty page is the last.
    pub empty_pages: usize,
    /// Whether answers are XML, read as JSON (`Service::xml`, `xml:`), and which elements are
    /// always lists; `None`: JSON.
    pub xml_lists: Option<Vec<String>>,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            name: None,
            headers: Vec::new(),
            params: Vec::new(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body_bytes: 64 * 1024 * 1024,
            allows_insecure_http: false,
            retry: RetryPolicy::new(),
            limits: Limits::default(),
            conditional_requests: true,
            pages_in_flight: 1,
            empty_pages: 0,
            xml_lists: None,
        }
    }
}

/// Limits a service keeps its requests within, whatever its API says (`limits:` in YAML); each
/// field is the builder setting of the same name on [`Service`](super::Service). `None` is no
/// limit of that kind.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Limits {
    /// At most this many requests per second, evenly spaced (`requests_per_second`).
    pub requests_per_second: Option<u32>,
    /// At most this many requests per minute, evenly spaced (`requests_per_minute`).
    pub requests_per_minute: Option<u32>,
    /// At most this many requests in flight at once (`max_concurrent`);
    /// [`DEFAULT_MAX_CONCURRENT`](Self::DEFAULT_MAX_CONCURRENT) unless set.
    pub max_concurrent: Option<usize>,
    /// The share (above 0, at most 1) of the API's reported rate-limit quota used
    /// (`max_quota_fraction`); 1: all of it.
    pub max_quota_fraction: f64,
}

impl Limits {
    /// Requests in flight at once when a service sets no `max_concurrent`. Without a bound,
    /// thousands of collectors of one service that fall behind each open a connection of their
    /// own: a storm of connections that makes every run later still, and that runs out of file
    /// descriptors.
    pub const DEFAULT_MAX_CONCURRENT: usize = 64;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            requests_per_second: None,
            requests_per_minute: None,
            max_concurrent: Some(Self::DEFAULT_MAX_CONCURRENT),
            max_quota_fraction: 1.0,
        }
    }
}
