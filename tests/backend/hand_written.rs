//! A backend written by hand before reads existed still compiles, and says it cannot read.

use hamstr::{
    backend::{Backend, BackendError, Batch, CollectorId, Committed, Query, RunRecord, State},
    model::{Cell, FieldType, Schema},
};

/// Keeps nothing: only the calls every backend must have.
#[derive(Debug)]
struct Forgetful;

#[hamstr::async_trait]
impl Backend for Forgetful {
    async fn prepare(&self, _: &Schema) -> Result<(), BackendError> {
        Ok(())
    }
    async fn commit(&self, batch: Batch) -> Result<Committed, BackendError> {
        Ok(Committed {
            inserted: batch.rows.len(),
            ..Committed::default()
        })
    }
    async fn load_state(&self, _: &CollectorId) -> Result<Option<State>, BackendError> {
        Ok(None)
    }
    async fn record_run(&self, _: &RunRecord) -> Result<(), BackendError> {
        Ok(())
    }
    async fn run_history(
        &self,
        _: Option<&CollectorId>,
        _: usize,
    ) -> Result<Vec<RunRecord>, BackendError> {
        Ok(Vec::new())
    }
}

/// The default reads answer `Unsupported`, naming the backend's type and the read.
#[tokio::test]
async fn reads_default_to_unsupported() {
    let schema = Schema::builder("orders")
        .field("id", FieldType::Integer)
        .primary_key(["id"])
        .build()
        .unwrap();
    let error = Forgetful
        .get_row(&schema, &[Cell::Integer(1)])
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::Unsupported { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "backend::hand_written::Forgetful does not support reading a row by key (get_row)"
    );
    let error = Forgetful.query(&schema, &Query::new()).await.unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("does not support querying rows (query)")
    );
    let error = Forgetful.distinct(&schema, "id").await.unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("does not support listing distinct values (distinct)")
    );
}
