//! The runtime: one collector run ([`run`]), the collect step it serves to collectors
//! ([`collect`]), a run's state page by page ([`progress`]), and the scheduler that repeats runs
//! ([`scheduler`]).

mod collect;
mod progress;
mod run;
mod scheduler;

pub(crate) use run::{Planned, run_collector};
pub(crate) use scheduler::schedule;
