//! A service's client-side budget, shared by all its collectors: requests per second and per
//! minute (GCRA, from `governor`), and how many may be in flight at once.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter, clock::Clock};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits a service sets on itself, whatever its API says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Limits {
    pub(crate) per_second: Option<NonZeroU32>,
    pub(crate) per_minute: Option<NonZeroU32>,
    pub(crate) max_concurrent: Option<usize>,
}

#[derive(Debug)]
pub(crate) struct Budget {
    /// One limiter per rate; a request waits for all of them.
    rates: Vec<DefaultDirectRateLimiter>,
    concurrent: Option<Arc<Semaphore>>,
}

impl Budget {
    pub(crate) fn new(limits: Limits) -> Self {
        let rates = [
            (limits.per_second, Duration::from_secs(1)),
            (limits.per_minute, Duration::from_secs(60)),
        ]
        .into_iter()
        .filter_map(|(count, window)| {
            // Evenly spaced, no burst: "10 per second" never sends 10 at once and 10 more at
            // the turn of the second.
            let period = window / count?.get();
            Quota::with_period(period.max(Duration::from_nanos(1))).map(RateLimiter::direct)
        })
        .collect();
        Self {
            rates,
            concurrent: limits
                .max_concurrent
                .map(|count| Arc::new(Semaphore::new(count.max(1)))),
        }
    }

    /// A place among the requests in flight, held until the answer is read.
    pub(crate) async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        let semaphore = self.concurrent.as_ref()?;
        // The semaphore is never closed, so acquiring only waits.
        Arc::clone(semaphore).acquire_owned().await.ok()
    }

    /// Waits until every rate lets one more request go, and counts it.
    pub(crate) async fn pace(&self) {
        for rate in &self.rates {
            // On tokio's timer rather than governor's own, so the wait is cancelled with the
            // request and follows tokio's clock.
            while let Err(not_until) = rate.check() {
                let wait = not_until.wait_time_from(rate.clock().now());
                tokio::time::sleep(wait).await;
            }
        }
    }
}
