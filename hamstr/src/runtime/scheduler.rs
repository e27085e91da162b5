//! The scheduler: runs one collector on its interval until shutdown.

use std::{sync::Arc, time::Duration};

use tokio::time::MissedTickBehavior;
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
    let mut ticks = tokio::time::interval(period);
    // Skip, not the default Burst: after a long run, Burst would fire every missed tick back to
    // back at the API.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut number = 0;
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            _ = ticks.tick() => {
                number += 1;
                run_collector(&planned, number, &stop, grace).await;
            }
        }
    }
}
