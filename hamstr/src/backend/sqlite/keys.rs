//! The frontier of fan-out collectors in SQLite: `_hamstr_keys`, one row per key. Times are
//! RFC 3339 in UTC at microseconds, all of one width, so text order is time order.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, params};

use super::store_error;
use crate::backend::{
    BackendError, CollectorId, DueKey, FoundKeys, Frontier, KeyRead, depth_of, frontier_of,
    mark_of, mark_text, within_depth_sql,
};

pub(super) const KEYS_TABLE: &str = "_hamstr_keys";

/// The table's statement, for the database's set-up.
pub(super) fn create_table() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (
             service TEXT NOT NULL, collector TEXT NOT NULL, key TEXT NOT NULL,
             status TEXT NOT NULL, added_at TEXT NOT NULL, read_at TEXT, due_at TEXT,
             failures INTEGER NOT NULL DEFAULT 0, error TEXT, depth INTEGER, mark TEXT,
             PRIMARY KEY (service, collector, key));
         CREATE INDEX IF NOT EXISTS {KEYS_TABLE}_due ON {KEYS_TABLE} (service, collector, due_at, key);"
    )
}

/// Adds the columns a table made by an earlier version lacks (`depth`, `mark`).
pub(super) fn add_columns(connection: &Connection) -> rusqlite::Result<()> {
    let mut statement = connection.prepare(&format!("PRAGMA table_info({KEYS_TABLE})"))?;
    let columns: Vec<String> = statement
        .query_map([], |row| row.get(1))?
        .collect::<rusqlite::Result<_>>()?;
    for (column, kind) in [("depth", "INTEGER"), ("mark", "TEXT")] {
        if !columns.iter().any(|name| name == column) {
            connection.execute_batch(&format!(
                "ALTER TABLE {KEYS_TABLE} ADD COLUMN {column} {kind}"
            ))?;
        }
    }
    Ok(())
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(super) fn add_keys(
    connection: &mut Connection,
    collector: &CollectorId,
    found: &FoundKeys<'_>,
    now: DateTime<Utc>,
) -> Result<usize, BackendError> {
    let fail = |error| store_error("adding keys", error);
    let transaction = connection.transaction().map_err(fail)?;
    let mut added = 0;
    {
        let mut insert = transaction
            .prepare_cached(&format!(
                "INSERT INTO {KEYS_TABLE} (service, collector, key, status, added_at, due_at, depth)
                 VALUES (?1, ?2, ?3, 'new', ?4, ?4, ?5) ON CONFLICT DO NOTHING"
            ))
            .map_err(fail)?;
        // A known key: only a lower depth is taken in.
        let mut lower = transaction
            .prepare_cached(&format!(
                "UPDATE {KEYS_TABLE} SET depth = ?4,
                     due_at = CASE WHEN ?5 AND status <> 'new' THEN min(coalesce(due_at, ?6), ?6) ELSE due_at END
                 WHERE service = ?1 AND collector = ?2 AND key = ?3 AND (depth IS NULL OR depth > ?4)"
            ))
            .map_err(fail)?;
        let now = time(now);
        for key in found.keys {
            let inserted = insert
                .execute(params![
                    collector.service,
                    collector.collector,
                    key,
                    now,
                    found.depth
                ])
                .map_err(fail)?;
            added += inserted;
            if inserted == 0
                && let Some(depth) = found.depth
            {
                lower
                    .execute(params![
                        collector.service,
                        collector.collector,
                        key,
                        depth,
                        found.revisit,
                        now
                    ])
                    .map_err(fail)?;
            }
        }
    }
    transaction.commit().map_err(fail)?;
    Ok(added)
}

pub(super) fn due_keys(
    connection: &Connection,
    collector: &CollectorId,
    now: DateTime<Utc>,
    limit: usize,
    max_depth: Option<u32>,
) -> Result<Vec<DueKey>, BackendError> {
    let fail = |error| store_error("reading due keys", error);
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT key, failures, depth, mark FROM {KEYS_TABLE}
             WHERE service = ?1 AND collector = ?2 AND due_at IS NOT NULL AND due_at <= ?3
             AND {}
             ORDER BY due_at, key LIMIT ?4",
            within_depth_sql("?5")
        ))
        .map_err(fail)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    statement
        .query_map(
            params![
                collector.service,
                collector.collector,
                time(now),
                limit,
                max_depth
            ],
            |row| {
                Ok(DueKey::new(row.get::<_, String>(0)?, row.get(1)?)
                    .depth(depth_of(row.get(2)?))
                    .mark(mark_of(row.get(3)?)))
            },
        )
        .map_err(fail)?
        .collect::<rusqlite::Result<_>>()
        .map_err(fail)
}

pub(super) fn record_key(
    connection: &Connection,
    collector: &CollectorId,
    read: &KeyRead,
) -> Result<(), BackendError> {
    // One statement, the failures counted by the row itself, as in PostgreSQL.
    connection
        .execute(
            &format!(
                "INSERT INTO {KEYS_TABLE} AS keys (service, collector, key, status, added_at, read_at, due_at, failures, error, mark)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, CASE WHEN ?4 = 'failed' THEN 1 ELSE 0 END, ?7, ?8)
                 ON CONFLICT (service, collector, key) DO UPDATE SET
                     status = excluded.status, read_at = excluded.read_at, due_at = excluded.due_at,
                     failures = CASE WHEN excluded.status = 'failed' THEN keys.failures + 1 ELSE 0 END,
                     error = excluded.error, mark = coalesce(excluded.mark, keys.mark)"
            ),
            params![
                collector.service,
                collector.collector,
                read.key,
                read.status.as_str(),
                time(read.at),
                read.due_at.map(time),
                read.error,
                mark_text(read.mark.as_ref()),
            ],
        )
        .map_err(|error| store_error("recording a key's read", error))?;
    Ok(())
}

pub(super) fn frontier(
    connection: &Connection,
    collector: &CollectorId,
    now: DateTime<Utc>,
    max_depth: Option<u32>,
) -> Result<Frontier, BackendError> {
    // Counted by SQLite: a crawl may know a million keys.
    let within = within_depth_sql("?4");
    let counts: [i64; 6] = connection
        .query_row(
            &format!(
                "SELECT count(*),
                        count(*) FILTER (WHERE status = 'done'),
                        count(*) FILTER (WHERE due_at IS NOT NULL AND due_at <= ?3 AND {within}),
                        count(*) FILTER (WHERE status = 'failed'),
                        count(*) FILTER (WHERE status = 'gone'),
                        count(*) FILTER (WHERE NOT {within})
                 FROM {KEYS_TABLE} WHERE service = ?1 AND collector = ?2"
            ),
            params![collector.service, collector.collector, time(now), max_depth],
            |row| {
                Ok([
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                ])
            },
        )
        .map_err(|error| store_error("counting keys", error))?;
    Ok(frontier_of(counts))
}
