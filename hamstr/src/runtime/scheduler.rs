//! The scheduler: runs one collector on its interval until shutdown.

use std::{sync::Arc, time::Duration};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Planned, run_collector};

/// Runs `planned` now and then once per interval (once only without an interval) until `stop`.
///
/// A run always finishes (and commits) before the next one starts, so a collector never
/// overlaps itself; ticks that pass while a run is still going are skipped, not queued.
pub(crate) async fn schedule(planned: Arc<Planned>, stop: CancellationToken, grace: Duration) {
    let Some(period) = planned.interval else {
        if !stop.is_cancelled() {
            run_collector(&planned, 1, &stop, grace).await;
        }
        return;
    };
    let mut next = Instant::now();
    let mut number = 0;
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            () = tokio::time::sleep_until(next) => {
                number += 1;
                run_collector(&planned, number, &stop, grace).await;
            }
        }
        next = next_tick(next, period, Instant::now());
    }
}

/// The first tick on the schedule (`last + n × period`) that is not in the past. Ticks that
/// passed during a long run are skipped: tokio's `MissedTickBehavior` would still fire one of
/// them late (at once), which is a run off the schedule.
fn next_tick(last: Instant, period: Duration, now: Instant) -> Instant {
    let next = last + period;
    if next >= now {
        return next;
    }
    let missed = (now - next).as_nanos().div_ceil(period.as_nanos());
    next + period.saturating_mul(u32::try_from(missed).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missed_ticks_are_skipped_to_the_next_one_on_the_schedule() {
        let start = Instant::now();
        let period = Duration::from_secs(10);
        let at = |seconds| start + Duration::from_secs(seconds);
        assert_eq!(next_tick(start, period, at(3)), at(10));
        assert_eq!(next_tick(start, period, at(10)), at(10));
        assert_eq!(next_tick(start, period, at(25)), at(30));
        assert_eq!(next_tick(start, period, at(30)), at(30));
        assert_eq!(next_tick(start, period, at(31)), at(40));
    }
}
