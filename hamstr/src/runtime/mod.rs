//! The runtime: one collector run ([`run`]), the collect step it serves to collectors
//! ([`collect`]), a run's state page by page ([`progress`]), the scheduler that repeats runs
//! ([`scheduler`]) and what it shares with the app's handle ([`control`]); a fan-out
//! collector's run over its keys ([`fan_out`]).

mod collect;
mod control;
mod fan_out;
mod progress;
mod run;
mod scheduler;

pub(crate) use control::Refused;
pub(crate) use fan_out::{Feed, PlannedFanOut};
pub(crate) use run::{Planned, Worker, run_collector};
pub(crate) use scheduler::schedule;
