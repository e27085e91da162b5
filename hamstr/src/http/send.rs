//! Sending one request: the origin rule, credentials, the budget and the quota, and what the
//! answer's head tells of the quota.

use reqwest::Url;
use tokio::time::Instant;

use super::{
    Decision, Failed, HttpClient, HttpError, RequestEvent, Sent,
    quota::{Pause, Reported, Ticket},
};
use crate::url::RedactedUrl;

impl HttpClient {
    /// The refusal for a URL not on the service's origin, which gets no request (and so no
    /// credentials); `None` for a URL on it. The URL is redacted only for the refusal, so the
    /// check costs nothing on the usual path.
    pub(crate) fn foreign_origin(&self, url: &Url) -> Option<HttpError> {
        let settings = &self.inner.settings;
        (url.origin() != settings.base.origin()).then(|| HttpError::ForeignOrigin {
            service: settings.service.clone(),
            url: self.redact(url),
            origin: settings.base.origin().ascii_serialization(),
        })
    }

    /// The API's message when it refused the credentials.
    pub(crate) fn rejected_message(&self) -> Option<String> {
        self.inner.rejected.get().cloned()
    }

    /// Sends one GET of `url` once the service may (origin, credentials, budget, quota), with
    /// the conditional-request validators when `is_conditional`; the place among the requests
    /// in flight is held until the answer is read.
    pub(super) async fn send(
        &self,
        url: &Url,
        shown: &RedactedUrl,
        attempt: u32,
        is_conditional: bool,
    ) -> Result<Sent, Failed> {
        let settings = &self.inner.settings;
        if let Some(message) = self.inner.rejected.get() {
            return Err(Failed::stop(self.rejected(shown, message)));
        }
        // Origin check before auth: a next link may point at a host the user never configured.
        if let Some(refused) = self.foreign_origin(url) {
            return Err(Failed::stop(refused));
        }
        let (slot, ticket) = self.admit().await;
        let mut request = self
            .inner
            .client
            .get(url.clone())
            .headers(settings.headers.clone());
        if is_conditional {
            request = request.headers(self.inner.cache.validators(url.as_str()));
        }
        let mut request = request
            .build()
            .map_err(|source| self.transport(shown, source, attempt))?;
        if let Some(auth) = &settings.auth {
            auth.apply(&mut request).await.map_err(|source| {
                Failed::stop(HttpError::Auth {
                    service: settings.service.clone(),
                    cause: source,
                })
            })?;
        }
        let answer = self.inner.client.execute(request).await;
        let status = answer.as_ref().map(reqwest::Response::status);
        metrics::counter!(
            "hamstr_requests_total",
            "service" => self.service().to_owned(),
            "status" => status.map_or_else(|_| "error".to_owned(), |status| status.as_u16().to_string()),
        )
        .increment(1);
        let mut response = answer.map_err(|source| self.transport(shown, source, attempt))?;
        let status = response.status();
        self.inner.quota.answered();
        let headers = std::mem::take(response.headers_mut());
        if let Some(reported) = Reported::from_headers(&headers) {
            let now = Instant::now();
            self.inner
                .quota
                .observe(&ticket, reported, now, self.service());
        }
        Ok(Sent {
            response,
            status,
            headers,
            slot,
        })
    }

    /// Waits for a place among the requests in flight, for the quota (or the pause the API asked
    /// for), and for the rates; the place is held until the answer is read.
    async fn admit(&self) -> (Option<tokio::sync::OwnedSemaphorePermit>, Ticket<'_>) {
        let slot = self.inner.budget.slot().await;
        let ticket = loop {
            match self.inner.quota.take(Instant::now()) {
                Ok(ticket) => break ticket,
                Err((until, pause, is_new)) => {
                    if is_new && pause != Pause::FirstAnswer {
                        let resumes_at = chrono::Utc::now()
                            + chrono::Duration::from_std(until - Instant::now())
                                .unwrap_or_default();
                        let reason = match pause {
                            Pause::Told => "the API asked to wait",
                            Pause::Quota | Pause::FirstAnswer => {
                                "the rate-limit quota (or hamstr's share of it) is used up"
                            }
                        };
                        tracing::info!(
                            service = %self.service(),
                            resumes_at = %resumes_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                            reason,
                            "requests paused"
                        );
                        if pause == Pause::Quota
                            && let Some(asked) = self.inner.quota.cut_reset()
                        {
                            tracing::warn!(
                                service = %self.service(),
                                asked_s = asked.as_secs(),
                                max_wait_s = self.inner.settings.retry.max_wait.as_secs(),
                                "the rate-limit reset is further away than the service's max_wait; waiting max_wait instead"
                            );
                        }
                        let _ = self.inner.events.send(RequestEvent::Paused {
                            resumes_at,
                            is_quota: matches!(pause, Pause::Quota),
                        });
                        let cause = match pause {
                            Pause::Told => "retry_after",
                            Pause::Quota | Pause::FirstAnswer => "quota",
                        };
                        metrics::histogram!(
                            "hamstr_pause_seconds",
                            "service" => self.service().to_owned(),
                            "cause" => cause,
                        )
                        .record(
                            until
                                .saturating_duration_since(Instant::now())
                                .as_secs_f64(),
                        );
                    }
                    tokio::time::sleep_until(until).await;
                }
            }
        };
        self.inner.budget.pace().await;
        (slot, ticket)
    }

    /// Tells whoever listens that a request is sent again after `wait`, and counts it.
    pub(super) fn retrying(
        &self,
        shown: &RedactedUrl,
        attempt: u32,
        reason: &'static str,
        wait: std::time::Duration,
    ) {
        metrics::counter!(
            "hamstr_retries_total",
            "service" => self.service().to_owned(),
            "reason" => reason,
        )
        .increment(1);
        // Nobody listening is no error.
        let _ = self.inner.events.send(RequestEvent::Retrying {
            url: shown.clone(),
            attempt,
            reason,
            wait,
        });
    }

    /// A request that got no complete answer: retried.
    pub(super) fn transport(
        &self,
        shown: &RedactedUrl,
        source: reqwest::Error,
        attempt: u32,
    ) -> Failed {
        let service = self.inner.settings.service.clone();
        let (error, reason) = if source.is_connect() && source.is_timeout() {
            let error = HttpError::ConnectTimeout {
                service,
                url: shown.clone(),
                timeout: self.inner.settings.connect_timeout,
                attempts: attempt,
            };
            (error, "connect timeout")
        } else if source.is_timeout() {
            let error = HttpError::Timeout {
                service,
                url: shown.clone(),
                timeout: self.inner.settings.timeout,
                attempts: attempt,
            };
            (error, "timeout")
        } else {
            let error = HttpError::Transport {
                service,
                url: shown.clone(),
                attempts: attempt,
                // reqwest prints the full URL, query string and all: ours is the redacted one.
                cause: source.without_url(),
            };
            (error, "no complete answer")
        };
        Failed::new(error, Decision::retry(reason))
    }
}
