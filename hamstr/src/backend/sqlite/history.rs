//! The SQLite backend's collector state and load history tables.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};

use super::{RUNS_TABLE, STATE_TABLE, format_datetime, store_error};
use crate::{
    backend::BackendError,
    state::{CollectorId, RunRecord, State},
};

pub(super) fn load_state(
    connection: &Connection,
    collector: &CollectorId,
) -> Result<Option<State>, BackendError> {
    let failed = |error| store_error(format!("loading the state of {collector}"), error);
    let text: Option<String> = connection
        .query_row(
            &format!("SELECT state FROM {STATE_TABLE} WHERE service = ?1 AND collector = ?2"),
            [&collector.service, &collector.collector],
            |row| row.get(0),
        )
        .optional()
        .map_err(failed)?;
    text.map(|text| {
        serde_json::from_str(&text)
            .map_err(|error| store_error(format!("reading the state of {collector}"), error))
    })
    .transpose()
}

pub(super) fn record_run(connection: &Connection, run: &RunRecord) -> rusqlite::Result<()> {
    let count = |value: usize| i64::try_from(value).unwrap_or(i64::MAX);
    connection
        .prepare_cached(&format!(
            "INSERT INTO {RUNS_TABLE} (service, collector, started_at, finished_at, outcome, pages,
             records, inserted, updated, unchanged, dropped, skipped, is_full, resumed_at_page, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
        ))?
        .execute(rusqlite::params![
            run.collector.service,
            run.collector.collector,
            format_datetime(&run.started_at),
            format_datetime(&run.finished_at),
            run.outcome.as_str(),
            count(run.pages),
            count(run.records),
            count(run.inserted),
            count(run.updated),
            count(run.unchanged),
            count(run.dropped),
            count(run.skipped),
            run.is_full,
            run.resumed_at_page.map(count),
            run.error,
        ])
        .map(drop)
}

pub(super) fn run_history(
    connection: &Connection,
    collector: Option<&CollectorId>,
    limit: usize,
) -> rusqlite::Result<Vec<RunRecord>> {
    let filter = if collector.is_some() {
        "WHERE service = ?1 AND collector = ?2"
    } else {
        "WHERE ?1 IS NULL AND ?2 IS NULL"
    };
    let mut statement = connection.prepare_cached(&format!(
        "SELECT service, collector, started_at, finished_at, outcome, pages, records, inserted,
         updated, unchanged, dropped, skipped, is_full, resumed_at_page, error
         FROM {RUNS_TABLE} {filter} ORDER BY id DESC LIMIT ?3"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement.query_map(
        rusqlite::params![
            collector.map(|collector| &collector.service),
            collector.map(|collector| &collector.collector),
            limit
        ],
        |row| {
            let count = |index: usize| -> rusqlite::Result<usize> {
                Ok(usize::try_from(row.get::<_, i64>(index)?).unwrap_or(0))
            };
            let instant = |index: usize| -> rusqlite::Result<DateTime<Utc>> {
                let text: String = row.get(index)?;
                DateTime::parse_from_rfc3339(&text)
                    .map(|instant| instant.with_timezone(&Utc))
                    .map_err(|error| {
                        rusqlite::Error::FromSqlConversionFailure(
                            index,
                            rusqlite::types::Type::Text,
                            Box::new(error),
                        )
                    })
            };
            let outcome: String = row.get(4)?;
            Ok(RunRecord {
                collector: CollectorId::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?),
                started_at: instant(2)?,
                finished_at: instant(3)?,
                outcome: outcome.parse().map_err(|message: String| {
                    rusqlite::Error::FromSqlConversionFailure(
                        4,
                        rusqlite::types::Type::Text,
                        message.into(),
                    )
                })?,
                pages: count(5)?,
                records: count(6)?,
                inserted: count(7)?,
                updated: count(8)?,
                unchanged: count(9)?,
                dropped: count(10)?,
                skipped: count(11)?,
                is_full: row.get(12)?,
                resumed_at_page: row
                    .get::<_, Option<i64>>(13)?
                    .map(|page| usize::try_from(page).unwrap_or(0)),
                error: row.get(14)?,
            })
        },
    )?;
    rows.collect()
}
