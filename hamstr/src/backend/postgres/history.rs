//! Collector state and the load history.

use deadpool_postgres::{GenericClient, Object};

use super::{Failure, Postgres};
use crate::{
    backend::BackendError,
    state::{CollectorId, RunRecord, State},
};

pub(super) async fn load_state(
    client: &Object,
    store: &Postgres,
    collector: &CollectorId,
) -> Result<Option<State>, Failure> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT state FROM {} WHERE service = $1 AND collector = $2",
            store.table("_hamstr_state")
        ))
        .await?;
    let row = client
        .query_opt(&statement, &[&collector.service, &collector.collector])
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let state: serde_json::Value = row.try_get(0)?;
    serde_json::from_value(state).map(Some).map_err(|error| {
        Failure::Backend(BackendError::store(
            "postgres",
            format!("reading the state of {collector}"),
            error,
        ))
    })
}

fn count(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn uncount(value: i64) -> usize {
    usize::try_from(value).unwrap_or(0)
}

pub(super) async fn record_run(
    client: &Object,
    store: &Postgres,
    run: &RunRecord,
) -> Result<(), Failure> {
    let statement = client
        .prepare_cached(&format!(
            "INSERT INTO {} (service, collector, started_at, finished_at, outcome, pages,
             records, inserted, updated, unchanged, dropped, skipped, is_full, resumed_at_page, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            store.table("_hamstr_runs")
        ))
        .await?;
    client
        .execute(
            &statement,
            &[
                &run.collector.service,
                &run.collector.collector,
                &run.started_at,
                &run.finished_at,
                &run.outcome.as_str(),
                &count(run.pages),
                &count(run.records),
                &count(run.inserted),
                &count(run.updated),
                &count(run.unchanged),
                &count(run.dropped),
                &count(run.skipped),
                &run.is_full,
                &run.resumed_at_page.map(count),
                &run.error,
            ],
        )
        .await?;
    Ok(())
}

pub(super) async fn run_history(
    client: &impl GenericClient,
    store: &Postgres,
    collector: Option<&CollectorId>,
    limit: usize,
) -> Result<Vec<RunRecord>, Failure> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT service, collector, started_at, finished_at, outcome, pages, records, inserted,
             updated, unchanged, dropped, skipped, is_full, resumed_at_page, error
             FROM {} WHERE ($1::text IS NULL OR (service = $1 AND collector = $2))
             ORDER BY id DESC LIMIT $3",
            store.table("_hamstr_runs")
        ))
        .await?;
    let rows = client
        .query(
            &statement,
            &[
                &collector.map(|collector| &collector.service),
                &collector.map(|collector| &collector.collector),
                &count(limit),
            ],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let outcome: &str = row.try_get(4)?;
            let outcome = outcome.parse().map_err(|message: String| {
                BackendError::store(
                    "postgres",
                    "reading the run history",
                    std::io::Error::other(message),
                )
            })?;
            Ok(RunRecord {
                collector: CollectorId::new(
                    row.try_get::<_, String>(0)?,
                    row.try_get::<_, String>(1)?,
                ),
                started_at: row.try_get(2)?,
                finished_at: row.try_get(3)?,
                outcome,
                pages: uncount(row.try_get(5)?),
                records: uncount(row.try_get(6)?),
                inserted: uncount(row.try_get(7)?),
                updated: uncount(row.try_get(8)?),
                unchanged: uncount(row.try_get(9)?),
                dropped: uncount(row.try_get(10)?),
                skipped: uncount(row.try_get(11)?),
                is_full: row.try_get(12)?,
                resumed_at_page: row.try_get::<_, Option<i64>>(13)?.map(uncount),
                error: row.try_get(14)?,
            })
        })
        .collect()
}
