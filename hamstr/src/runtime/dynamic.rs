//! A collector whose model is known only at run time ([`DynamicModel`]): the YAML path's
//! collectors, run by the same runtime as typed ones.

use std::sync::Arc;

use async_trait::async_trait;

use super::Runnable;
use crate::{
    Error,
    collector::{CollectorSettings, RunContext, Tally, Walker, commit_rows, missing_field, skip},
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
        let mut walker = Walker::new(context, tally);
        while let Some(page) = walker.next(context, tally).await? {
            let verdict = tally.progress.page(&page);
            let mut rows = Vec::with_capacity(page.len());
            for (index, record) in page.records().iter().enumerate() {
                let row = if verdict.is_missing(index) {
                    Err(missing_field(context, tally, &page, index))
                } else {
                    self.model
                        .decode_row(record, page.url(), index)
                        .map_err(Into::into)
                };
                match row {
                    Ok(row) => rows.push(row),
                    // No callbacks on this path: the log and the report are where it shows.
                    Err(error) => skip(context, tally, error, |_| {}),
                }
            }
            tally.records += rows.len();
            commit_rows(context, tally, rows).await?;
            if verdict.is_done && !walker.walk_again(context, tally) {
                break;
            }
        }
        Ok(())
    }

    fn report_error(&self, _error: &Error) {}
}
