//! The only code that sends requests: the client, timeouts, redirects, the origin rule, body
//! limits, retries with backoff, `Retry-After`, rate-limit headers and the quota, the
//! client-side budget, conditional requests, and error reporting with redacted URLs.

mod budget;
mod cache;
mod download;
mod error;
mod event;
mod oauth2;
mod quota;
#[cfg(feature = "testing")]
pub(crate) mod record;
mod retry;
mod send;
#[cfg(feature = "s3")]
mod sigv4;
mod xml;

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use backon::Retryable;
use bytes::{Bytes, BytesMut};
use reqwest::{
    StatusCode, Url,
    header::{HeaderMap, LOCATION},
    redirect,
};
use tokio::{sync::broadcast, time::Instant};

use crate::{auth::Auth, records::RecordsError, text::ErrorChain, url::RedactedUrl};

pub(crate) use budget::Limits;
pub(crate) use error::FetchError;
pub use error::HttpError;
use error::api_message;
pub use event::RequestEvent;
pub use oauth2::{OAuth2, OAuth2Error};
pub use quota::RateLimit;
pub use retry::{DEFAULT_INITIAL_DELAY, DEFAULT_MAX_DELAY, DEFAULT_RETRY_STATUSES, RetryPolicy};
#[cfg(feature = "s3")]
pub use sigv4::AwsSigV4;

use budget::Budget;
use cache::Cache;
use quota::Quota;
use retry::Decision;

/// Redirects followed for one request before it is taken for a loop.
const MAX_REDIRECTS: usize = 10;

/// The most a body's buffer is given before its bytes arrive; past it, it grows as they do.
const FIRST_BUFFER_BYTES: u64 = 8 * 1024 * 1024;

/// What the client needs from its service; fixed once the first request is sent.
#[derive(Debug, Clone)]
pub(crate) struct ClientSettings {
    pub(crate) service: String,
    pub(crate) base: Url,
    pub(crate) auth: Option<Auth>,
    pub(crate) headers: HeaderMap,
    pub(crate) user_agent: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_body_bytes: usize,
    /// Answers are XML, read as JSON with these elements always lists.
    pub(crate) xml_lists: Option<Vec<String>>,
    pub(crate) sensitive_params: Vec<String>,
    pub(crate) retry: RetryPolicy,
    pub(crate) limits: Limits,
    pub(crate) max_quota_fraction: f64,
    pub(crate) cache_bytes: usize,
    #[cfg(feature = "testing")]
    pub(crate) recorder: Option<record::Recorder>,
}

/// A service's connection pool plus everything that goes on each of its requests, and the state
/// its requests share: the quota, the budget, the conditional-request cache.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    settings: ClientSettings,
    budget: Budget,
    quota: Quota,
    cache: Cache,
    /// The API's message when it refused the credentials (401): nothing more is sent.
    rejected: OnceLock<String>,
    /// What its requests go through, for whoever listens (a running app's events).
    events: broadcast::Sender<RequestEvent>,
}

/// A successful answer, body read in full.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// A `304 Not Modified`: the body is the one stored from the last answer.
    pub(crate) is_not_modified: bool,
}

impl Answer {
    /// The body as text: borrowed when it is valid UTF-8 (the usual case, checked by the fast
    /// validator), else with invalid bytes replaced.
    pub(crate) fn text(&self) -> std::borrow::Cow<'_, str> {
        std::str::from_utf8(&self.body).map_or_else(
            |_| String::from_utf8_lossy(&self.body),
            std::borrow::Cow::Borrowed,
        )
    }
}

/// A request sent, its answer's head read, its body not yet.
struct Sent {
    response: reqwest::Response,
    status: StatusCode,
    headers: HeaderMap,
    /// The request's place among those in flight, held until the body is read.
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// An attempt that failed, and whether to try again.
#[derive(Debug)]
struct Failed {
    /// Boxed: an error is large, and a `Failed` travels through every attempt's `Result`.
    error: Box<FetchError>,
    decision: Decision,
}

impl Failed {
    fn new(error: impl Into<FetchError>, decision: Decision) -> Self {
        Self {
            error: Box::new(error.into()),
            decision,
        }
    }

    fn stop(error: impl Into<FetchError>) -> Self {
        Self::new(error, Decision::Stop)
    }
}

impl HttpClient {
    pub(crate) fn new(settings: ClientSettings) -> Result<Self, HttpError> {
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            // Redirects are followed by `attempt`, not by reqwest: each hop goes through `send`,
            // so it gets the origin rule and every credential again (a query key included,
            // which reqwest would drop from the new URL).
            .redirect(redirect::Policy::none())
            .build()
            .map_err(|source| HttpError::Client {
                service: settings.service.clone(),
                cause: source.without_url(),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                budget: Budget::new(settings.limits),
                quota: Quota::new(settings.max_quota_fraction, settings.retry.max_wait),
                cache: Cache::new(settings.cache_bytes),
                rejected: OnceLock::new(),
                // Few and far between; a listener that falls behind misses some, nobody waits.
                events: broadcast::channel(64).0,
                settings,
            }),
        })
    }

    /// What this service's requests go through from now on.
    pub(crate) fn request_events(&self) -> broadcast::Receiver<RequestEvent> {
        self.inner.events.subscribe()
    }

    pub(crate) fn service(&self) -> &str {
        &self.inner.settings.service
    }

    pub(crate) fn base(&self) -> &Url {
        &self.inner.settings.base
    }

    pub(crate) fn redact(&self, url: &Url) -> RedactedUrl {
        RedactedUrl::new(url, &self.inner.settings.sensitive_params)
    }

    /// Pauses every request until `resumes_at` (a pause another worker sharing the quota found),
    /// unless a longer one is in force; capped at `max_wait` as the API's own pauses are.
    pub(crate) fn pause_until(&self, resumes_at: chrono::DateTime<chrono::Utc>) {
        if let Ok(wait) = (resumes_at - chrono::Utc::now()).to_std() {
            self.inner
                .quota
                .pause(wait, Instant::now(), &self.inner.settings.service);
        }
    }

    /// Keeps `1 / shares` of the service's requests-per-second and per-minute budget: the rest
    /// is the other workers' that share it.
    pub(crate) fn share_budget(&self, shares: u32) {
        self.inner.budget.share(shares);
    }

    /// The rate limit as the API last reported it.
    pub(crate) fn rate_limit(&self) -> RateLimit {
        self.inner.quota.snapshot(Instant::now())
    }

    /// Removes the credential query parameter from a URL the API handed out (APIs echo the key
    /// into their next links): kept URLs never hold credentials, and the key is set once per request.
    /// The user name, password and query parameters written into the base URL itself
    /// (`https://alice:${PASS}@host/?token=${TOKEN}`) go too: [`restore_credentials`] puts them
    /// back on each request.
    ///
    /// [`restore_credentials`]: Self::restore_credentials
    pub(crate) fn strip_credentials(&self, url: &mut Url) {
        let settings = &self.inner.settings;
        if let Some(name) = settings.auth.as_ref().and_then(Auth::query_param) {
            crate::url::remove_param(url, name);
        }
        if url.origin() == settings.base.origin() {
            // Cannot fail on an http(s) URL with a host, as one on the base's origin is.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            for (name, _) in settings.base.query_pairs() {
                crate::url::remove_param(url, &name);
            }
        }
    }

    /// Puts back on a URL of the service's origin what [`strip_credentials`] took off it: the
    /// base URL's user name, password and query parameters.
    ///
    /// [`strip_credentials`]: Self::strip_credentials
    pub(crate) fn restore_credentials(&self, url: &mut Url) {
        let base = &self.inner.settings.base;
        if url.origin() != base.origin() {
            return;
        }
        if url.username().is_empty() && !base.username().is_empty() {
            let _ = url.set_username(base.username());
            let _ = url.set_password(base.password());
        }
        for (name, value) in base.query_pairs() {
            if !url.query_pairs().any(|(present, _)| present == name) {
                url.query_pairs_mut().append_pair(&name, &value);
            }
        }
    }

    /// GETs `url` and reads the answer with `read`; a body `read` finds is not JSON (an HTML
    /// error page, a truncated answer) is retried like a failed request.
    pub(crate) async fn get_with<T, R>(&self, url: &Url, read: R) -> Result<(Answer, T), FetchError>
    where
        R: Fn(&Answer) -> Result<T, RecordsError> + Send + Sync,
        T: Send,
    {
        let shown = self.redact(url);
        self.with_retries(&shown, |attempt| self.attempt(url, &shown, &read, attempt))
            .await
    }

    /// Runs `attempt` (given the attempt's number, from 1) until it succeeds, fails in a way that
    /// is not retried, or the retry policy gives up; each retry is logged and told to listeners.
    async fn with_retries<T, F, Fut>(
        &self,
        shown: &RedactedUrl,
        attempt: F,
    ) -> Result<T, FetchError>
    where
        F: Fn(u32) -> Fut,
        Fut: Future<Output = Result<T, Failed>>,
    {
        let policy = &self.inner.settings.retry;
        let attempts = AtomicU32::new(0);
        let outcome = (|| attempt(attempts.fetch_add(1, Ordering::Relaxed) + 1))
            .retry(policy.backoff())
            .sleep(tokio::time::sleep)
            .when(|failed: &Failed| failed.decision.is_retry())
            .adjust(|failed: &Failed, bound: Option<Duration>| {
                let floor = match failed.decision {
                    Decision::Retry { is_paced: true, .. } => policy.initial_delay,
                    _ => Duration::ZERO,
                };
                bound.map(|bound| policy.wait(bound, floor))
            })
            .notify(|failed: &Failed, wait: Duration| {
                let Decision::Retry { reason, .. } = failed.decision else {
                    return;
                };
                let attempt = attempts.load(Ordering::Relaxed);
                tracing::warn!(
                    service = %self.service(),
                    url = %shown,
                    attempt,
                    reason,
                    wait_ms = wait.as_millis() as u64,
                    error = %ErrorChain(&failed.error),
                    "retrying"
                );
                self.retrying(shown, attempt, reason, wait);
            })
            .await;
        outcome.map_err(|failed| *failed.error)
    }

    /// One attempt: wait for the budget and the quota, send, read, judge the answer.
    async fn attempt<T, R>(
        &self,
        url: &Url,
        shown: &RedactedUrl,
        read: &R,
        attempt: u32,
    ) -> Result<(Answer, T), Failed>
    where
        R: Fn(&Answer) -> Result<T, RecordsError> + Send + Sync,
        T: Send,
    {
        let settings = &self.inner.settings;
        let started = Instant::now();
        let mut hop = url.clone();
        let mut hops = 0;
        let Sent {
            mut response,
            status,
            headers,
            slot,
        } = loop {
            // The first hop is the request itself, already redacted by the caller.
            let redacted;
            let hop_shown = if hops == 0 {
                shown
            } else {
                redacted = self.redact(&hop);
                &redacted
            };
            let sent = self.send(&hop, hop_shown, attempt, hops == 0).await?;
            // A redirect on the service's origin is followed; one elsewhere is judged (refused)
            // below, with the URL it came from.
            let location = (sent.status.is_redirection()
                && sent.status != StatusCode::NOT_MODIFIED)
                .then(|| sent.headers.get(LOCATION))
                .flatten()
                .and_then(|value| value.to_str().ok())
                .and_then(|location| hop.join(location).ok())
                .filter(|location| location.origin() == hop.origin());
            let Some(location) = location else {
                break sent;
            };
            if hops == MAX_REDIRECTS {
                return Err(Failed::stop(HttpError::RedirectLoop {
                    service: settings.service.clone(),
                    url: shown.clone(),
                    hops,
                }));
            }
            hops += 1;
            hop = location;
        };
        let mut body = self.read_body(shown, &mut response, attempt).await?;
        drop(slot);
        if let Some(lists) = &settings.xml_lists
            && status.is_success()
        {
            body = match xml::to_json(&body, lists) {
                Ok(json) => Bytes::from(json),
                Err(cause) => {
                    let start = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                    let error = HttpError::NotXml {
                        service: settings.service.clone(),
                        url: shown.clone(),
                        start: self.masked(start),
                        cause,
                    };
                    return Err(Failed::new(error, Decision::retry("the body is not XML")));
                }
            };
        }
        tracing::debug!(
            service = %settings.service,
            url = %shown,
            status = status.as_u16(),
            bytes = body.len(),
            attempt,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "response"
        );
        #[cfg(feature = "testing")]
        if let Some(recorder) = &settings.recorder {
            let exchange = recorder.exchange(url, status, &headers, &body, settings.auth.as_ref());
            recorder.record(exchange).await;
        }
        let answer = match self.judge(url, shown, status, headers, body, attempt) {
            Ok(answer) => answer,
            Err(failed) => return Err(failed),
        };
        match read(&answer) {
            Ok(value) => {
                if !answer.is_not_modified && answer.status == StatusCode::OK {
                    self.inner
                        .cache
                        .store(url.as_str(), &answer.headers, &answer.body);
                }
                Ok((answer, value))
            }
            Err(RecordsError::NotJson { start, cause, .. }) => {
                let error = HttpError::Malformed {
                    service: settings.service.clone(),
                    url: shown.clone(),
                    attempts: attempt,
                    start: self.masked(start),
                    cause,
                };
                Err(Failed::new(error, Decision::retry("the body is not JSON")))
            }
            Err(error) => Err(Failed::stop(error)),
        }
    }

    /// What an answer means: a success (or a 304 answered from the cache), or a failure with the
    /// decision to retry or not.
    fn judge(
        &self,
        url: &Url,
        shown: &RedactedUrl,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        attempt: u32,
    ) -> Result<Answer, Failed> {
        let settings = &self.inner.settings;
        let hook = settings.auth.as_ref().and_then(Auth::hook);
        if let Some(hook) = hook
            && status != StatusCode::UNAUTHORIZED
        {
            hook.accepted();
        }
        if status == StatusCode::NOT_MODIFIED
            && let Some((headers, body)) = self.inner.cache.not_modified(url.as_str(), &headers)
        {
            return Ok(Answer {
                status: StatusCode::OK,
                headers,
                body,
                is_not_modified: true,
            });
        }
        if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
            let location = headers
                .get(LOCATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|location| url.join(location).ok())
                .map(|location| self.redact(&location));
            return Err(Failed::stop(HttpError::Redirect {
                service: settings.service.clone(),
                url: shown.clone(),
                location,
            }));
        }
        if status.is_success() {
            return Ok(Answer {
                status,
                headers,
                body,
                is_not_modified: false,
            });
        }
        let message = self.masked(api_message(&body));
        // Only credentials the user gave can be refused; without any, a 401 is the endpoint's.
        if status == StatusCode::UNAUTHORIZED && settings.auth.is_some() {
            if let Some(hook) = hook {
                let refused = || HttpError::TokenRefused {
                    service: settings.service.clone(),
                    url: shown.clone(),
                    message: message.clone(),
                };
                if hook.refused() {
                    return Err(Failed::new(
                        refused(),
                        Decision::retry("credentials refused; new ones are fetched"),
                    ));
                }
                if hook.recovers() {
                    return Err(Failed::stop(refused()));
                }
            }
            let message = self.inner.rejected.get_or_init(|| message).clone();
            return Err(Failed::stop(self.rejected(shown, &message)));
        }

        let now = Instant::now();
        let is_rate_limited = quota::is_rate_limited(status.as_u16(), &headers, &message);
        let told = quota::retry_after(&headers).or_else(|| {
            if !is_rate_limited {
                return None;
            }
            quota::secondary_wait(status.as_u16(), &headers, &message, attempt)
                .or_else(|| self.inner.quota.reset_in(now))
        });
        let is_retried = is_rate_limited || settings.retry.is_retried_status(status.as_u16());
        if let Some(wait) = told
            && is_retried
        {
            // The wait holds for every request to the service, not only this one.
            self.inner.quota.pause(wait, now, self.service());
        }
        let decision = if is_retried {
            Decision::Retry {
                reason: if is_rate_limited {
                    "rate limited"
                } else {
                    "a status that is retried"
                },
                is_paced: told.is_some(),
            }
        } else {
            Decision::Stop
        };
        let error = HttpError::Status {
            service: settings.service.clone(),
            url: shown.clone(),
            status,
            message,
            attempts: attempt,
        };
        Err(Failed::new(error, decision))
    }

    /// Text from the API with the service's credentials masked, whatever the API echoed.
    fn masked(&self, text: String) -> String {
        match &self.inner.settings.auth {
            Some(auth) => auth.mask(&text),
            None => text,
        }
    }

    fn rejected(&self, shown: &RedactedUrl, message: &str) -> HttpError {
        HttpError::CredentialsRejected {
            service: self.inner.settings.service.clone(),
            url: shown.clone(),
            message: message.to_owned(),
        }
    }

    async fn read_body(
        &self,
        shown: &RedactedUrl,
        response: &mut reqwest::Response,
        attempt: u32,
    ) -> Result<Bytes, Failed> {
        let limit = self.inner.settings.max_body_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(Failed::stop(self.too_large(shown)));
        }
        // The server's claim only sizes the first allocation, never beyond what is sure to be
        // needed soon: a false Content-Length of terabytes must not abort the process.
        let claimed = response
            .content_length()
            .unwrap_or(0)
            .min(FIRST_BUFFER_BYTES);
        let mut body = BytesMut::with_capacity((claimed as usize).min(limit));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|source| self.transport(shown, source, attempt))?
        {
            if body.len() + chunk.len() > limit {
                return Err(Failed::stop(self.too_large(shown)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    fn too_large(&self, shown: &RedactedUrl) -> HttpError {
        HttpError::BodyTooLarge {
            service: self.inner.settings.service.clone(),
            url: shown.clone(),
            limit: self.inner.settings.max_body_bytes,
        }
    }
}
