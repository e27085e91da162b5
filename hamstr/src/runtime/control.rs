//! [`Live`]: what a running collector's scheduler and the app's handle share: whether it runs
//! now, is paused, has a run asked for, its failure streak and its next run.

use std::sync::{
    Mutex, PoisonError,
    atomic::{AtomicBool, AtomicU32, Ordering},
};

use chrono::{DateTime, Utc};
use tokio::{sync::Notify, time::Instant};

/// One collector's live state while the app runs.
#[derive(Debug, Default)]
pub(crate) struct Live {
    is_running: AtomicBool,
    is_paused: AtomicBool,
    is_run_asked: AtomicBool,
    /// Its scheduler ended (shutdown, refused credentials): nothing runs it any more.
    is_ended: AtomicBool,
    failures: AtomicU32,
    next_run: Mutex<Option<DateTime<Utc>>>,
    /// Wakes the scheduler: a run was asked for, or it was paused or resumed.
    wake: Notify,
    /// Held by each run, and by whatever must change the stored state between runs (a reset).
    runs: tokio::sync::Mutex<()>,
}

/// Why a run could not be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A run is going on, or about to start.
    Running,
    /// The collector's scheduler has ended.
    Ended,
}

impl Live {
    /// Asks for a run now, unless one is going on or already asked for: a collector never runs
    /// twice at once.
    pub(crate) fn ask_run(&self) -> Result<(), Refused> {
        if self.is_ended.load(Ordering::SeqCst) {
            return Err(Refused::Ended);
        }
        if self.is_running.load(Ordering::SeqCst) || self.is_run_asked.swap(true, Ordering::SeqCst)
        {
            return Err(Refused::Running);
        }
        self.wake.notify_one();
        Ok(())
    }

    /// Takes the asked-for run, if there is one.
    pub(crate) fn take_asked_run(&self) -> bool {
        self.is_run_asked.swap(false, Ordering::SeqCst)
    }

    /// Pauses or resumes it; `false` when it already was so.
    pub(crate) fn set_paused(&self, is_paused: bool) -> bool {
        let was = self.is_paused.swap(is_paused, Ordering::SeqCst);
        self.wake.notify_one();
        was != is_paused
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.is_paused.load(Ordering::SeqCst)
    }

    pub(crate) fn is_running(&self) -> bool {
        self.is_running.load(Ordering::SeqCst)
    }

    pub(crate) fn set_running(&self, is_running: bool) {
        self.is_running.store(is_running, Ordering::SeqCst);
    }

    pub(crate) fn end(&self) {
        self.is_ended.store(true, Ordering::SeqCst);
        self.set_next_run(None);
    }

    pub(crate) fn failures(&self) -> u32 {
        self.failures.load(Ordering::SeqCst)
    }

    pub(crate) fn set_failures(&self, failures: u32) {
        self.failures.store(failures, Ordering::SeqCst);
    }

    /// When its next scheduled run starts; `None` without one (running, paused, no interval,
    /// ended).
    pub(crate) fn next_run(&self) -> Option<DateTime<Utc>> {
        if self.is_running() || self.is_paused() {
            return None;
        }
        *self.next_run.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps the next scheduled run, given on the runtime's clock, as a wall-clock time.
    pub(crate) fn set_next_run(&self, next: Option<Instant>) {
        let at = next.map(|next| {
            let from_now = next.saturating_duration_since(Instant::now());
            Utc::now() + chrono::Duration::from_std(from_now).unwrap_or_default()
        });
        *self.next_run.lock().unwrap_or_else(PoisonError::into_inner) = at;
    }

    /// Holds off runs while the stored state is changed; `None` while a run is going on.
    pub(crate) fn hold_runs(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        self.runs.try_lock().ok()
    }

    /// Waits until no one holds off runs, and holds them off for this run.
    pub(crate) async fn begin_run(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.runs.lock().await
    }

    /// Completes when a run is asked for, or it is paused or resumed.
    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }
}
