//! A service's client-side budget, shared by all its collectors: requests per second and per
//! minute (GCRA, from `governor`), and how many may be in flight at once.

use std::{
    num::NonZeroU32,
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};

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
    limits: Limits,
    /// One limiter per rate; a request waits for all of them. Replaced whole when the rates
    /// are shared among another number of workers.
    rates: RwLock<Rates>,
    concurrent: Option<Arc<Semaphore>>,
}

#[derive(Debug)]
struct Rates {
    /// How many workers share the rates (1: this process alone).
    shares: u32,
    limiters: Arc<Vec<DefaultDirectRateLimiter>>,
}

/// The limiters of `limits`' rates, each `shares` times slower.
fn limiters(limits: Limits, shares: u32) -> Arc<Vec<DefaultDirectRateLimiter>> {
    let limiters = [
        (limits.per_second, Duration::from_secs(1)),
        (limits.per_minute, Duration::from_secs(60)),
    ]
    .into_iter()
    .filter_map(|(count, window)| {
        // Evenly spaced, no burst: "10 per second" never sends 10 at once and 10 more at
        // the turn of the second.
        let period = (window / count?.get()).saturating_mul(shares.max(1));
        Quota::with_period(period.max(Duration::from_nanos(1))).map(RateLimiter::direct)
    })
    .collect();
    Arc::new(limiters)
}

impl Budget {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limits,
            rates: RwLock::new(Rates {
                shares: 1,
                limiters: limiters(limits, 1),
            }),
            concurrent: limits
                .max_concurrent
                .map(|count| Arc::new(Semaphore::new(count.clamp(1, Semaphore::MAX_PERMITS)))),
        }
    }

    /// Shares the rates with `shares - 1` other workers: each keeps `1 / shares` of them, so
    /// that together they keep the service's budget.
    pub(crate) fn share(&self, shares: u32) {
        let mut rates = self.rates.write().unwrap_or_else(PoisonError::into_inner);
        let shares = shares.max(1);
        if rates.shares != shares {
            *rates = Rates {
                shares,
                limiters: limiters(self.limits, shares),
            };
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
        let limiters = Arc::clone(
            &self
                .rates
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .limiters,
        );
        for rate in limiters.iter() {
            // On tokio's timer rather than governor's own, so the wait is cancelled with the
            // request and follows tokio's clock.
            while let Err(not_until) = rate.check() {
                let wait = not_until.wait_time_from(rate.clock().now());
                tokio::time::sleep(wait).await;
            }
        }
    }
}
