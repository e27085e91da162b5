//! [`RetryPolicy`]: which failures are tried again, how often, and how long to wait between
//! attempts; and the retry decision, a value with its reason.

use std::time::Duration;

use backon::ExponentialBuilder;

/// How a service's requests are retried.
///
/// Retried: connection errors, timeouts, a connection dropped mid-body, the statuses in
/// [`statuses`](Self::statuses) (default 408, 425, 429, 500, 502, 503, 504), a 403 that says the
/// rate limit is exceeded, and a 200 whose body is not JSON (an HTML error page, a truncated
/// answer). Waits grow exponentially from [`initial_delay`](Self::delays) to `max_delay`, each
/// drawn at random between zero and that bound ("full jitter"), so clients that failed together
/// do not come back together. A `Retry-After` (or a rate-limit reset) pauses every request of
/// the service for as long as it says, up to [`max_wait`](Self::max_wait).
///
/// # Examples
/// ```
/// use hamstr::{Service, service::RetryPolicy};
/// use std::time::Duration;
///
/// let service = Service::new("https://api.example.com/").retry(
///     RetryPolicy::new()
///         .max_attempts(8)
///         .delays(Duration::from_millis(500), Duration::from_secs(60))
///         .max_wait(Duration::from_secs(15 * 60)),
/// );
/// # service.check().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) initial_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) statuses: Vec<u16>,
    pub(crate) max_wait: Duration,
    pub(crate) max_run_backoff: Duration,
}

/// The statuses retried by default: timeouts, too early, too many requests, server errors.
pub const DEFAULT_RETRY_STATUSES: [u16; 7] = [408, 425, 429, 500, 502, 503, 504];

/// The bound of the first wait by default.
pub const DEFAULT_INITIAL_DELAY: Duration = Duration::from_millis(250);

/// The most a wait's bound grows to by default.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(30);

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryPolicy {
    /// 5 attempts, waits from 250 ms up to 30 s, the [default statuses](DEFAULT_RETRY_STATUSES),
    /// waits the API asks for up to 1 hour, and failing collectors backed off up to 1 hour.
    pub fn new() -> Self {
        Self {
            max_attempts: 5,
            initial_delay: DEFAULT_INITIAL_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            statuses: DEFAULT_RETRY_STATUSES.to_vec(),
            max_wait: Duration::from_secs(3600),
            max_run_backoff: Duration::from_secs(3600),
        }
    }

    /// No retries: every request is tried once. Waits the API asks for still hold.
    pub fn none() -> Self {
        Self::new().max_attempts(1)
    }

    /// How many times a request is tried in all, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The bound of the first wait, and the most any wait's bound grows to.
    pub fn delays(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_delay = initial;
        self.max_delay = max.max(initial);
        self
    }

    /// The statuses retried (instead of the default list). 408, 425 and 429 belong here unless
    /// the API misuses them; other 4xx say the request itself is wrong.
    pub fn statuses(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.statuses = statuses.into_iter().collect();
        self
    }

    /// The longest wait taken on the API's word (`Retry-After`, a rate-limit reset); a longer
    /// one is cut to this, with a warning in the log.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// The longest a collector that keeps failing waits between runs. After each failed run in
    /// a row the wait doubles, from the collector's interval up to this (or the interval, when
    /// that is longer); the first run that succeeds puts it back on its interval.
    pub fn max_run_backoff(mut self, wait: Duration) -> Self {
        self.max_run_backoff = wait;
        self
    }

    /// The bounds of the waits, one per retry: doubling from the initial delay up to the max.
    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::new()
            .with_min_delay(self.initial_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
    }

    /// A wait under `bound`: full jitter (backon's own jitter only adds to the bound), at least
    /// `floor`. An API that said `Retry-After: 0` gets the initial delay as `floor`, so it is not
    /// retried in a tight loop.
    pub(crate) fn wait(&self, bound: Duration, floor: Duration) -> Duration {
        bound.mul_f64(fastrand::f64()).max(floor)
    }

    pub(crate) fn is_retried_status(&self, status: u16) -> bool {
        self.statuses.contains(&status)
    }
}

/// Whether a failed attempt is tried again, and why (for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Try again after the backoff; if the API asked for a wait, the service is paused too.
    Retry {
        reason: &'static str,
        /// The API said when (`Retry-After`, a reset): the wait is at least the initial delay.
        is_paced: bool,
    },
    /// Give up: trying again would fail the same way.
    Stop,
}

impl Decision {
    pub(crate) fn retry(reason: &'static str) -> Self {
        Self::Retry {
            reason,
            is_paced: false,
        }
    }

    pub(crate) fn is_retry(&self) -> bool {
        matches!(self, Self::Retry { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder;

    #[test]
    fn bounds_double_up_to_the_max_and_waits_stay_under_them() {
        let policy = RetryPolicy::new().delays(Duration::from_millis(100), Duration::from_secs(1));
        let policy = policy.max_attempts(7);
        let bounds: Vec<u128> = policy
            .backoff()
            .build()
            .map(|bound| bound.as_millis())
            .collect();
        assert_eq!(bounds, [100, 200, 400, 800, 1000, 1000]);
        let waits: Vec<Duration> = (0..200)
            .map(|_| policy.wait(Duration::from_millis(800), Duration::ZERO))
            .collect();
        assert!(waits.iter().all(|wait| *wait <= Duration::from_millis(800)));
        // Full jitter spreads the waits over the whole range.
        assert!(waits.iter().any(|wait| *wait < Duration::from_millis(200)));
        assert!(waits.iter().any(|wait| *wait > Duration::from_millis(600)));
        let floored = policy.wait(Duration::from_millis(800), Duration::from_millis(100));
        assert!(floored >= Duration::from_millis(100));
    }

    #[test]
    fn at_least_one_attempt() {
        assert_eq!(RetryPolicy::new().max_attempts(0).max_attempts, 1);
        assert_eq!(RetryPolicy::none().max_attempts, 1);
    }
}
