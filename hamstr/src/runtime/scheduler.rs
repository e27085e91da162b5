//! The scheduler: runs one collector on its interval until shutdown.

use std::{sync::Arc, time::Duration};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Planned, Worker, run_collector};
use crate::{
    backend::{Claim, Claimed},
    collector::CollectError,
    http::HttpError,
    report::RunReport,
    text::ErrorChain,
};

/// Runs `planned` now and then once per interval (once only without an interval) until `stop`,
/// and whenever a run is asked for through its [`Live`](super::control::Live) state.
///
/// A run always finishes (and commits) before the next one starts, so a collector never
/// overlaps itself; ticks that pass while a run is still going are skipped, not queued. A paused
/// collector starts no scheduled run (a run asked for still runs). After failed runs the
/// collector waits longer (doubling, up to the service's `max_run_backoff`) and is back on its
/// interval after the first run that succeeds. When the API refuses the service's credentials,
/// the collector stops. With `is_waiting`, a collector with nothing scheduled (no interval) waits
/// for runs asked for until `stop`; without, it ends.
pub(crate) async fn schedule(
    planned: Arc<Planned>,
    stop: CancellationToken,
    grace: Duration,
    is_waiting: bool,
) {
    let live = &planned.live;
    let max_backoff = planned.service.retry_policy().max_run_backoff;
    let mut next = Some(Instant::now() + planned.first_delay);
    let mut number = 0;
    let mut failures = 0;
    live.set_next_run(next);
    loop {
        let due = next.filter(|_| !live.is_paused());
        if next.is_none() && !is_waiting {
            break;
        }
        let is_asked = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            () = live.woken() => {
                if !live.take_asked_run() {
                    continue; // paused or resumed: look at the schedule again
                }
                true
            }
            () = sleep_until(due), if due.is_some() => false,
        };
        // A run asked for while another was starting is that same run.
        let _ = is_asked || live.take_asked_run();
        // In a cluster, a place among the service's runs first, then the claim (see `run_places`).
        let place = match &planned.run_places {
            Some(places) => tokio::select! {
                biased;
                () = stop.cancelled() => break,
                place = Arc::clone(places).acquire_owned() => place.ok(),
            },
            None => None,
        };
        if let Some(worker) = &planned.cluster {
            // Boxed, as the run below: the scheduler's own future, which every idle collector
            // holds for its whole life, stays small.
            match Box::pin(claim(&planned, worker, is_asked)).await {
                Ok(()) => {}
                Err(retry_in) => {
                    // Not this worker's run now: look again when it may be.
                    if !is_asked {
                        next = Some(Instant::now() + retry_in);
                        live.set_next_run(next);
                    }
                    continue;
                }
            }
        }
        number += 1;
        let held = live.begin_run().await;
        live.set_running(true);
        let started = Instant::now();
        let ran = Box::pin(run_collector(&planned, number, &stop, grace)).await;
        let is_success = ran.report.is_success();
        let is_rejected = is_credentials_rejected(&ran.report);
        failures = if is_success { 0 } else { failures + 1 };
        live.set_failures(failures);
        next = next_run(&planned, next, is_asked, failures, max_backoff);
        if planned.cluster.is_some() {
            // In a cluster the next run is an interval after this one started, not on the next
            // tick: a run that started late (its worker was busy) is not followed at once by
            // another on the same worker, and the collector goes to whichever worker asks.
            if let (Some(due), Some(period)) = (&mut next, planned.interval) {
                *due = (*due).max(started + period);
            }
            Box::pin(release(&planned, next)).await;
        }
        drop(place);
        live.set_next_run(next);
        live.set_running(false);
        drop(held);
        ran.announce(&planned);
        if is_rejected {
            tracing::error!(
                service = %planned.id.service,
                collector = %planned.id.collector,
                "collector stopped: the API refused the service's credentials; fix them and start again"
            );
            break;
        }
    }
    live.end();
}

/// The longest a worker waits before it asks for a collector again: it notices a takeover to
/// make, or a run asked for on another worker, within this.
const MAX_CLAIM_WAIT: Duration = Duration::from_secs(3600);

/// Claims the run from the shared store. `Err` holds when to ask again: another worker runs the
/// collector, or has run it within its interval, or the store could not be asked.
async fn claim(planned: &Planned, worker: &Worker, is_asked: bool) -> Result<(), Duration> {
    let claim = Claim {
        collector: &planned.id,
        worker: &worker.name,
        lease: worker.lease,
        is_asked,
    };
    // A little jitter, so that workers due at the same instant do not all ask at once.
    let jitter = Duration::from_millis(fastrand::u64(0..100));
    match planned.backend.claim_run(&claim).await {
        Ok(Claimed::Granted { taken_over_from }) => {
            if let Some(from) = taken_over_from {
                tracing::warn!(
                    service = %planned.id.service,
                    collector = %planned.id.collector,
                    from = %from,
                    "taking over a collector whose worker's lease ran out"
                );
            }
            Ok(())
        }
        Ok(Claimed::Busy { retry_in, holder }) => {
            if is_asked {
                tracing::info!(
                    service = %planned.id.service,
                    collector = %planned.id.collector,
                    holder = holder.as_deref().unwrap_or("another worker"),
                    "a run was asked for, but another worker runs the collector now"
                );
            }
            // A collector another worker holds is given back with its next due time, about an
            // interval from now: ask again then, not only when the holder's lease would run
            // out, so that a worker with room competes for it.
            let interval = planned.interval.unwrap_or(MAX_CLAIM_WAIT);
            Err(retry_in.min(interval).min(MAX_CLAIM_WAIT) + jitter)
        }
        Err(error) => {
            tracing::warn!(
                service = %planned.id.service,
                collector = %planned.id.collector,
                error = %ErrorChain(&error),
                "could not claim a run from the shared store; asking again"
            );
            Err((worker.lease / 3).min(Duration::from_secs(5)) + jitter)
        }
    }
}

/// Gives the claim back, with when the collector is due next (`next`, on this worker's clock).
async fn release(planned: &Planned, next: Option<Instant>) {
    let next_due_in = next.map(|next| next.saturating_duration_since(Instant::now()));
    if let Err(error) = planned.backend.release_run(&planned.id, next_due_in).await {
        // The lease runs out by itself; until then the collector waits.
        tracing::warn!(
            service = %planned.id.service,
            collector = %planned.id.collector,
            error = %ErrorChain(&error),
            "could not release a run in the shared store"
        );
    }
}

/// When the collector runs next after a run: on its schedule, or later after failed runs;
/// `None` without an interval.
fn next_run(
    planned: &Planned,
    scheduled: Option<Instant>,
    is_asked: bool,
    failures: u32,
    max_backoff: Duration,
) -> Option<Instant> {
    let period = planned.interval?;
    let now = Instant::now();
    if failures > 0 {
        let wait = backoff(period, failures, max_backoff);
        tracing::warn!(
            service = %planned.id.service,
            collector = %planned.id.collector,
            failures,
            next_run_in_s = wait.as_secs_f64(),
            "failed runs in a row: backing off"
        );
        return Some(now + wait);
    }
    Some(match scheduled {
        // A run asked for between ticks leaves the schedule as it was.
        Some(tick) if is_asked && tick > now => tick,
        Some(tick) => next_tick(tick, period, now),
        None => now + period,
    })
}

/// Completes at `due` (the select above only polls it when there is one).
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

fn is_credentials_rejected(report: &RunReport) -> bool {
    matches!(
        report.failure,
        Some(CollectError::Http(HttpError::CredentialsRejected { .. }))
    )
}

/// The wait after `failures` failed runs in a row: the interval doubled once per failure, up
/// to `max` (but never less than the interval).
fn backoff(period: Duration, failures: u32, max: Duration) -> Duration {
    let doubled = period.saturating_mul(2u32.saturating_pow(failures.min(31)));
    doubled.min(max.max(period))
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
    fn failing_collectors_back_off_up_to_the_max() {
        let minute = Duration::from_secs(60);
        let hour = Duration::from_secs(3600);
        let waits: Vec<u64> = (1..=8)
            .map(|failures| backoff(minute, failures, hour).as_secs() / 60)
            .collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60, 60]);
        let day = Duration::from_secs(86_400);
        assert_eq!(backoff(day, 3, hour), day, "never less than the interval");
        assert_eq!(backoff(minute, 100, hour), hour);
    }

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
