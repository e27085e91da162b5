//! Rate-limit headers and a service's quota: what the API says is left, and when hamstr must
//! pause rather than send a request that would be refused.
//!
//! Understood: GitHub's `X-RateLimit-Limit/-Remaining/-Reset`, the IETF draft's
//! `RateLimit-Limit/-Remaining/-Reset`, its structured `RateLimit` (`"default";r=50;t=30`, or the
//! older `limit=100, remaining=50, reset=30`) with `RateLimit-Policy` (`"default";q=100;w=60`),
//! and `Retry-After` (seconds or an HTTP date).

use std::{
    sync::{Mutex, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use chrono::{DateTime, Utc};
use reqwest::header::{DATE, HeaderMap, RETRY_AFTER};
use tokio::time::Instant;

/// A reset at or above this many seconds is an epoch time (2001-09-09 onwards); below, it is a
/// number of seconds from now. No window lasts 31 years, and no reset is set in 2001.
const EPOCH_THRESHOLD: u64 = 1_000_000_000;

/// A service's rate limit as its API last reported it, with what hamstr sent since.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: Option<u64>,
    /// Requests left in the window: the API's count, less the requests hamstr sent since.
    pub remaining: Option<u64>,
    /// When the window resets.
    pub reset: Option<DateTime<Utc>>,
    /// When an answer last reported it.
    pub updated: Option<DateTime<Utc>>,
    /// Until when requests to the service wait (the quota or its share is used up, or the API
    /// said `Retry-After`); `None` when they go out now.
    pub paused_until: Option<DateTime<Utc>>,
}

/// What one answer's headers say about the rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Reported {
    pub(crate) limit: Option<u64>,
    pub(crate) remaining: Option<u64>,
    /// Time until the window resets, from when the answer was sent.
    pub(crate) reset_in: Option<Duration>,
}

impl Reported {
    /// The rate limit in `headers`, if they carry one.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let now = server_now(headers);
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .and_then(|text| text.trim().parse::<u64>().ok())
        };
        for prefix in ["x-ratelimit-", "ratelimit-"] {
            let reported = Self {
                limit: number(&format!("{prefix}limit")),
                remaining: number(&format!("{prefix}remaining")),
                reset_in: number(&format!("{prefix}reset")).map(|reset| reset_in(reset, now)),
            };
            if reported.remaining.is_some() || reported.reset_in.is_some() {
                return Some(reported);
            }
        }
        structured(headers, now)
    }

    fn is_exhausted(&self) -> bool {
        self.remaining == Some(0)
    }
}

/// `RateLimit` and `RateLimit-Policy` as structured fields. Of several policies, the one with
/// the fewest requests left binds.
fn structured(headers: &HeaderMap, now: u64) -> Option<Reported> {
    let text = headers.get("ratelimit")?.to_str().ok()?;
    let policies = parse_items(text);
    // The older draft: one dictionary, `limit=100, remaining=50, reset=30`.
    let flat: Vec<(&str, &str)> = policies
        .iter()
        .flat_map(|item| item.params.clone())
        .collect();
    if flat.iter().any(|(key, _)| *key == "remaining") {
        let value = |name: &str| {
            flat.iter()
                .find(|(key, _)| *key == name)
                .and_then(|(_, value)| value.parse::<u64>().ok())
        };
        return Some(Reported {
            limit: value("limit"),
            remaining: value("remaining"),
            reset_in: value("reset").map(|reset| reset_in(reset, now)),
        });
    }
    let binding = policies
        .iter()
        .filter_map(|item| Some((item, item.number("r")?)))
        .min_by_key(|(_, remaining)| *remaining)?;
    let (item, remaining) = binding;
    let limit = headers
        .get("ratelimit-policy")
        .and_then(|value| value.to_str().ok())
        .and_then(|text| {
            let policies = parse_items(text);
            policies
                .iter()
                .find(|policy| policy.name == item.name)
                .or(policies.first())
                .and_then(|policy| policy.number("q"))
        });
    Some(Reported {
        limit,
        remaining: Some(remaining),
        reset_in: item.number("t").map(|reset| reset_in(reset, now)),
    })
}

/// One member of a structured-field list: `"name";key=value;key=value`.
struct Item<'a> {
    name: &'a str,
    params: Vec<(&'a str, &'a str)>,
}

impl Item<'_> {
    fn number(&self, key: &str) -> Option<u64> {
        self.params
            .iter()
            .find(|(name, _)| *name == key)
            .and_then(|(_, value)| value.parse().ok())
    }
}

fn parse_items(text: &str) -> Vec<Item<'_>> {
    text.split(',')
        .map(|member| {
            let mut parts = member.split(';').map(str::trim);
            let head = parts.next().unwrap_or_default();
            let mut params: Vec<(&str, &str)> = parts
                .filter_map(|part| part.split_once('='))
                .map(|(key, value)| (key.trim(), value.trim().trim_matches('"')))
                .collect();
            // A bare `key=value` member (the older draft) is a parameter, not a name.
            let name = match head.split_once('=') {
                Some((key, value)) => {
                    params.insert(0, (key.trim(), value.trim().trim_matches('"')));
                    ""
                }
                None => head.trim_matches('"'),
            };
            Item { name, params }
        })
        .collect()
}

/// The server's clock in epoch seconds (its `Date` header), else ours: a reset given as an
/// epoch is counted from the server's clock, so a skewed local clock does not shift it.
fn server_now(headers: &HeaderMap) -> u64 {
    headers
        .get(DATE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| httpdate::parse_http_date(text).ok())
        .unwrap_or_else(SystemTime::now)
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// The time until `reset`, which is either an epoch time or seconds from now.
fn reset_in(reset: u64, now: u64) -> Duration {
    if reset >= EPOCH_THRESHOLD {
        Duration::from_secs(reset.saturating_sub(now))
    } else {
        Duration::from_secs(reset)
    }
}

/// The wait a `Retry-After` header asks for: seconds, or an HTTP date (against the server's
/// `Date`, else our clock).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    // More digits than a u64 holds is still a number of seconds, and a long one: the longest
    // wait there is, which `max_wait` then cuts, like 99999999.
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Some(Duration::from_secs(u64::MAX));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    let now = headers
        .get(DATE)
        .and_then(|value| value.to_str().ok())
        .and_then(|date| httpdate::parse_http_date(date).ok())
        .unwrap_or_else(SystemTime::now);
    Some(at.duration_since(now).unwrap_or_default())
}

/// Whether an answer is a refusal for going over the rate limit: any 429, or a 403 that says so
/// (GitHub answers 403 with `X-RateLimit-Remaining: 0`, or a message about a rate limit).
pub(crate) fn is_rate_limited(status: u16, headers: &HeaderMap, message: &str) -> bool {
    status == 429
        || (status == 403
            && (Reported::from_headers(headers).is_some_and(|reported| reported.is_exhausted())
                || message.to_ascii_lowercase().contains("rate limit")))
}

/// The first wait after a secondary rate limit, doubled for each attempt refused after it.
const SECONDARY_WAIT: Duration = Duration::from_secs(60);

/// The wait after a refusal for the rate limit (`is_rate_limited`) that is not the quota being
/// used up: GitHub's secondary rate limits (too many requests at once, or too fast), a `403`
/// with requests still left or a message that names them. GitHub asks for a wait of at least a
/// minute, and longer while the refusals go on; the quota's reset, maybe an hour away, is not
/// what they wait for. `attempt` is the refused attempt's number, from 1.
pub(crate) fn secondary_wait(
    status: u16,
    headers: &HeaderMap,
    message: &str,
    attempt: u32,
) -> Option<Duration> {
    let has_left = Reported::from_headers(headers)
        .is_some_and(|reported| reported.remaining.is_some_and(|left| left > 0));
    let says_so = message
        .to_ascii_lowercase()
        .contains("secondary rate limit");
    (says_so || (status == 403 && has_left))
        .then(|| SECONDARY_WAIT.saturating_mul(1 << attempt.saturating_sub(1).min(10)))
}

/// A service's quota, shared by all its requests: the reported limit, a local count of what is
/// left, and the pause in force.
#[derive(Debug)]
pub(crate) struct Quota {
    /// The share of the quota hamstr may use (1.0: all of it).
    fraction: f64,
    /// The longest pause taken on the API's word; longer ones are cut to it, with a warning.
    max_wait: Duration,
    state: Mutex<QuotaState>,
}

#[derive(Debug, Default)]
struct QuotaState {
    limit: Option<u64>,
    remaining: Option<u64>,
    reset_at: Option<(Instant, DateTime<Utc>)>,
    /// The reset the API reported, when it was further than `max_wait` and `reset_at` is cut to
    /// it: said only if requests do wait for it.
    reset_cut: Option<Duration>,
    updated: Option<DateTime<Utc>>,
    /// A pause the API asked for (`Retry-After`, or a refusal for the rate limit).
    paused: Option<(Instant, DateTime<Utc>)>,
    /// The last pause logged, so each is logged once.
    announced: Option<Instant>,
    /// Requests sent and not yet answered: an answer's count does not include them.
    in_flight: u64,
    /// The API has answered once: its quota, if it has one, is known. Until then one request
    /// goes at a time, so that a process that starts with the quota used up sends one request
    /// over it, not one per request in flight.
    has_answered: bool,
    /// The lowest count an answer of the current window reported. Answers arrive out of order:
    /// one the API counted earlier reports more left than one it counted later, and must not
    /// put back requests that are gone.
    lowest_reported: Option<u64>,
}

/// How far apart two resets may be and still be one window's (the headers count whole seconds).
const SAME_WINDOW: Duration = Duration::from_secs(1);

/// One request taken from the quota, in flight until dropped.
#[derive(Debug)]
pub(crate) struct Ticket<'a>(&'a Quota);

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.in_flight = state.in_flight.saturating_sub(1);
    }
}

/// Why requests wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pause {
    /// The API said to wait (`Retry-After`, a rate-limit refusal).
    Told,
    /// The quota, or hamstr's share of it, is used up until the reset.
    Quota,
    /// The first request is out and its answer will say what the quota is: the others wait for
    /// it (looking again shortly).
    FirstAnswer,
}

/// How often a request waiting for the first answer looks again.
const FIRST_ANSWER_POLL: Duration = Duration::from_millis(20);

impl Quota {
    pub(crate) fn new(fraction: f64, max_wait: Duration) -> Self {
        Self {
            fraction,
            max_wait,
            state: Mutex::new(QuotaState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, QuotaState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one request from the quota, or says until when to wait (with `is_new` true the
    /// first time a pause is seen, so it is logged once).
    pub(crate) fn take(&self, now: Instant) -> Result<Ticket<'_>, (Instant, Pause, bool)> {
        let mut state = self.state();
        if state.in_flight > 0 && (!state.has_answered || state.is_spent_unknown(self.fraction)) {
            return Err((now + FIRST_ANSWER_POLL, Pause::FirstAnswer, false));
        }
        let wait = state.wait(now, self.fraction);
        match wait {
            None => {
                if let Some(remaining) = &mut state.remaining {
                    *remaining = remaining.saturating_sub(1);
                }
                state.in_flight += 1;
                Ok(Ticket(self))
            }
            Some((until, pause)) => {
                let is_new = state.announced != Some(until);
                state.announced = Some(until);
                Err((until, pause, is_new))
            }
        }
    }

    /// Notes that the API answered (whatever its headers say): requests no longer wait for a
    /// first answer.
    pub(crate) fn answered(&self) {
        self.state().has_answered = true;
    }

    /// Takes in what the answer to `ticket`'s request reported. The API's count is the truth,
    /// less the other requests still in flight, which it has not counted yet; a request it did
    /// not charge (a 304 on GitHub) is given back this way.
    pub(crate) fn observe(
        &self,
        _ticket: &Ticket<'_>,
        reported: Reported,
        now: Instant,
        service: &str,
    ) {
        let mut state = self.state();
        state.has_answered = true;
        state.updated = Some(Utc::now());
        if reported.limit.is_some() {
            state.limit = reported.limit;
        }
        // A reset further than `max_wait` is taken as at `max_wait`; that is worth a warning only
        // when requests wait for it (the quota runs out), not on every answer of a fresh window.
        let reset = reported.reset_in.map(|reset_in| {
            let cut = reset_in.min(self.max_wait);
            (
                (now + cut, wall(cut)),
                (reset_in > self.max_wait).then_some(reset_in),
            )
        });
        // A later window's answer starts its count afresh; within a window, only a lower count
        // is news (a higher one was counted before answers already taken in).
        let is_new_window = match (reset, state.reset_at) {
            (Some(((new, _), _)), Some((known, _))) => new >= known + SAME_WINDOW,
            _ => state.reset_at.is_none(),
        };
        if is_new_window {
            state.lowest_reported = None;
        }
        if let Some(remaining) = reported.remaining {
            let is_stale = state
                .lowest_reported
                .is_some_and(|lowest| remaining > lowest);
            if !is_stale {
                state.lowest_reported = Some(remaining);
                let others = state.in_flight.saturating_sub(1);
                state.remaining = Some(remaining.saturating_sub(others));
            }
        }
        if let Some((reset, asked)) = reset
            && (is_new_window || state.reset_at.is_none_or(|(known, _)| reset.0 > known))
        {
            state.reset_at = Some(reset);
            state.reset_cut = asked;
        }
        tracing::debug!(
            service,
            limit = state.limit,
            remaining = state.remaining,
            reset_in_s = reported.reset_in.map(|reset| reset.as_secs()),
            "rate limit"
        );
    }

    /// Pauses every request until `wait` from now (what `Retry-After` or a rate-limit refusal
    /// said); a shorter pause than one already in force changes nothing.
    pub(crate) fn pause(&self, wait: Duration, now: Instant, service: &str) {
        let wait = self.capped(wait, service, "a Retry-After");
        let until = now + wait;
        let mut state = self.state();
        if state.paused.is_none_or(|(paused, _)| paused < until) {
            state.paused = Some((until, wall(wait)));
        }
    }

    /// The reset the API reported for the current window, when it was further than `max_wait`
    /// and is waited for only that long: for the warning when requests do wait for it.
    pub(crate) fn cut_reset(&self) -> Option<Duration> {
        self.state().reset_cut
    }

    /// When the quota resets, if known and still ahead: where a refusal for the rate limit
    /// without `Retry-After` should wait until.
    pub(crate) fn reset_in(&self, now: Instant) -> Option<Duration> {
        let state = self.state();
        let (reset_at, _) = state.reset_at?;
        (reset_at > now).then(|| reset_at - now)
    }

    fn capped(&self, wait: Duration, service: &str, what: &str) -> Duration {
        if wait <= self.max_wait {
            return wait;
        }
        tracing::warn!(
            service,
            asked_s = wait.as_secs(),
            max_wait_s = self.max_wait.as_secs(),
            "{what} asked for a wait longer than the service's max_wait; waiting max_wait instead"
        );
        self.max_wait
    }

    /// What is known now, for status pages and logs.
    pub(crate) fn snapshot(&self, now: Instant) -> RateLimit {
        let mut state = self.state();
        let paused_until = state.wait(now, self.fraction).map(|(until, _)| {
            let from_now = until.saturating_duration_since(now);
            wall(from_now)
        });
        RateLimit {
            limit: state.limit,
            remaining: state.remaining,
            reset: state.reset_at.map(|(_, at)| at),
            updated: state.updated,
            paused_until,
        }
    }
}

impl QuotaState {
    /// Until when a request must wait, and why; `None` when it may go now.
    /// Whether the window's requests are taken while its reset is not known yet (a new window
    /// began, and no answer of it has come back): the next request waits for an answer in
    /// flight, which will say what is left.
    fn is_spent_unknown(&self, fraction: f64) -> bool {
        self.reset_at.is_none()
            && self
                .remaining
                .is_some_and(|remaining| remaining <= self.reserve(fraction))
    }

    /// The requests of a window kept for others (`1 - max_quota_fraction` of the limit).
    fn reserve(&self, fraction: f64) -> u64 {
        self.limit
            .map_or(0, |limit| (limit as f64 * (1.0 - fraction)).floor() as u64)
    }

    fn wait(&mut self, now: Instant, fraction: f64) -> Option<(Instant, Pause)> {
        if let Some((until, _)) = self.paused {
            if until > now {
                return Some((until, Pause::Told));
            }
            self.paused = None;
        }
        let (reset_at, _) = self.reset_at?;
        if reset_at <= now {
            // A new window: its count is unknown until the next answer, and presumably full.
            self.reset_at = None;
            self.remaining = self.limit;
            self.lowest_reported = None;
            return None;
        }
        let remaining = self.remaining?;
        (remaining <= self.reserve(fraction)).then_some((reset_at, Pause::Quota))
    }
}

fn wall(from_now: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(from_now).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests;
