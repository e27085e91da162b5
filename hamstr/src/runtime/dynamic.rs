//! A collector whose model is known only at run time ([`DynamicModel`]): the YAML path's
//! collectors, run by the same runtime as typed ones.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::TryStreamExt;

use super::Runnable;
use crate::{
    Error,
    collector::{CollectorSettings, RunContext, Tally, commit_rows, pages, skip},
    model::{DynamicModel, Schema},
};

/// Walks the endpoint and stores each page's records as rows of the model; a record that does
/// not fit is skipped and reported, as on the typed path.
pub(crate) struct DynamicCollector {
    pub(crate) settings: CollectorSettings,
    pub(crate) model: DynamicModel,
}

#[async_trait]
impl Runnable for DynamicCollector {
    fn settings(&self) -> CollectorSettings {
        self.settings.clone()
    }

    fn schema(&self) -> Arc<Schema> {
        Arc::clone(self.model.schema())
    }

    async fn collect(&self, context: &RunContext, tally: &mut Tally) -> Result<(), Error> {
        let mut pages = std::pin::pin!(pages(context, tally));
        while let Some(page) = pages.try_next().await? {
            let mut rows = Vec::with_capacity(page.len());
            for (index, record) in page.records().iter().enumerate() {
                match self.model.decode_row(record, page.url(), index) {
                    Ok(row) => rows.push(row),
                    // No callbacks on this path: the log and the report are where it shows.
                    Err(error) => skip(context, tally, error.into(), |_| {}),
                }
            }
            tally.records += rows.len();
            commit_rows(context, tally, rows).await?;
        }
        Ok(())
    }

    fn report_error(&self, _error: &Error) {}
}
