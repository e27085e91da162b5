//! [`RequestEvent`]: what a service's requests go through, for whoever listens.

use std::time::Duration;

use crate::url::RedactedUrl;

/// What a service's requests went through that is worth seeing as it happens.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RequestEvent {
    /// A request failed and is sent again after `wait`.
    Retrying {
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// The attempt that failed, from 1.
        attempt: u32,
        /// Why it is retried (`rate limited`, `timeout`, `a status that is retried`…).
        reason: &'static str,
        /// How long until the next attempt.
        wait: Duration,
    },
    /// Every request of the service waits until `resumes_at`.
    Paused {
        /// When requests go out again.
        resumes_at: chrono::DateTime<chrono::Utc>,
        /// `true`: the rate-limit quota (or hamstr's share of it) is used up; `false`: the API
        /// asked to wait (`Retry-After`, a rate-limited answer).
        is_quota: bool,
    },
}
