//! The runtime: one collector run ([`run`]), and the scheduler that repeats it ([`scheduler`]).
//!
//! Collectors of every kind reach it as one object type, [`Runnable`]: typed collectors through
//! [`Typed`], so the scheduler, the reports and the backends never see a model's Rust type.

mod dynamic;
mod run;
mod scheduler;

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    Error,
    collector::{Collector, CollectorSettings, Run, RunContext, Tally},
    model::{Model, Schema},
};

pub(crate) use dynamic::DynamicCollector;
pub(crate) use run::{Planned, run_collector};
pub(crate) use scheduler::schedule;

/// A collector with its model's type erased.
#[async_trait]
pub(crate) trait Runnable: Send + Sync + 'static {
    /// Its settings.
    fn settings(&self) -> CollectorSettings;
    /// The schema its rows are stored with.
    fn schema(&self) -> Arc<Schema>;
    /// One collect step.
    async fn collect(&self, context: &RunContext, tally: &mut Tally) -> Result<(), Error>;
    /// Reports the error that ended a run.
    fn report_error(&self, error: &Error);
}

/// A typed [`Collector`] as a [`Runnable`].
pub(crate) struct Typed<C>(pub(crate) C);

#[async_trait]
impl<C: Collector> Runnable for Typed<C> {
    fn settings(&self) -> CollectorSettings {
        self.0.settings()
    }

    fn schema(&self) -> Arc<Schema> {
        <C::Model as Model>::schema()
    }

    async fn collect(&self, context: &RunContext, tally: &mut Tally) -> Result<(), Error> {
        let mut run = Run::new(&self.0, context, tally);
        self.0.collect(&mut run).await
    }

    fn report_error(&self, error: &Error) {
        self.0.on_error(error);
    }
}

/// Wraps a collector for the runtime.
pub(crate) fn erase<C: Collector>(collector: C) -> Arc<dyn Runnable> {
    Arc::new(Typed(collector))
}
