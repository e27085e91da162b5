//! Collectors of every kind as one object type, [`ErasedCollector`]: typed ones through
//! [`erase`], and those whose model is known only at run time ([`DynamicCollector`], the YAML
//! path's). The runtime, the reports and the backends never see a model's Rust type.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::value::RawValue;

use super::{CollectError, Collector, CollectorSettings, PageRows, Rows, Run, RunHost};
use crate::{
    model::{DecodeError, DynamicModel, Model, Row, Schema},
    state::CollectorId,
    url::RedactedUrl,
};

/// A collector with its model's type erased.
#[async_trait]
pub(crate) trait ErasedCollector: Send + Sync + 'static {
    /// Its settings.
    fn settings(&self) -> CollectorSettings;
    /// The schema its rows are stored with.
    fn schema(&self) -> Arc<Schema>;
    /// One collect step.
    async fn collect(&self, host: &mut dyn RunHost) -> Result<(), CollectError>;
    /// Reports the error that ended a run.
    fn report_error(&self, error: &CollectError);
}

/// A typed [`Collector`] as an [`ErasedCollector`].
struct Typed<C>(C);

#[async_trait]
impl<C: Collector> ErasedCollector for Typed<C> {
    fn settings(&self) -> CollectorSettings {
        self.0.settings()
    }

    fn schema(&self) -> Arc<Schema> {
        <C::Model as Model>::schema()
    }

    async fn collect(&self, host: &mut dyn RunHost) -> Result<(), CollectError> {
        let mut run = Run::new(&self.0, host);
        self.0.collect(&mut run).await
    }

    fn report_error(&self, error: &CollectError) {
        self.0.on_error(error);
    }
}

/// Wraps a collector for the runtime.
pub(crate) fn erase<C: Collector>(collector: C) -> Arc<dyn ErasedCollector> {
    Arc::new(Typed(collector))
}

/// A collector of records described at run time: its settings and a [`DynamicModel`] that reads
/// each record's fields by path. It walks its endpoint with the same collect step as a typed
/// collector; a record that does not fit is skipped and reported.
pub(crate) struct DynamicCollector {
    pub(crate) settings: CollectorSettings,
    pub(crate) model: DynamicModel,
}

#[async_trait]
impl ErasedCollector for DynamicCollector {
    fn settings(&self) -> CollectorSettings {
        self.settings.clone()
    }

    fn schema(&self) -> Arc<Schema> {
        Arc::clone(self.model.schema())
    }

    async fn collect(&self, host: &mut dyn RunHost) -> Result<(), CollectError> {
        let mut rows = DynamicRows {
            model: &self.model,
            rows: Vec::new(),
        };
        host.collect_endpoint(&mut rows).await
    }

    fn report_error(&self, _error: &CollectError) {}
}

/// A dynamic model's page: each record read straight into a row.
struct DynamicRows<'m> {
    model: &'m DynamicModel,
    rows: Vec<Row>,
}

#[async_trait]
impl PageRows for DynamicRows<'_> {
    fn take(
        &mut self,
        record: &RawValue,
        url: &RedactedUrl,
        index: usize,
    ) -> Result<(), DecodeError> {
        self.rows.push(self.model.decode_row(record, url, index)?);
        Ok(())
    }

    fn taken(&self) -> usize {
        self.rows.len()
    }

    async fn rows(&mut self, _collector: &CollectorId) -> Result<Rows, CollectError> {
        Ok(Rows {
            rows: std::mem::take(&mut self.rows),
            dropped: 0,
        })
    }

    // No callbacks on this path: the log and the report are where a skipped record shows.
    fn report(&self, _error: &CollectError) {}
}
