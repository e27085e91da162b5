//! The frontier of fan-out collectors in SQLite: `_hamstr_keys`, one row per key. Times are
//! RFC 3339 in UTC at microseconds, all of one width, so text order is time order.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, params};

use super::store_error;
use crate::backend::{BackendError, CollectorId, DueKey, Frontier, KeyRead, frontier_of};

pub(super) const KEYS_TABLE: &str = "_hamstr_keys";

/// The table's statement, for the database's set-up.
pub(super) fn create_table() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (
             service TEXT NOT NULL, collector TEXT NOT NULL, key TEXT NOT NULL,
             status TEXT NOT NULL, added_at TEXT NOT NULL, read_at TEXT, due_at TEXT,
             failures INTEGER NOT NULL DEFAULT 0, error TEXT,
             PRIMARY KEY (service, collector, key));
         CREATE INDEX IF NOT EXISTS {KEYS_TABLE}_due ON {KEYS_TABLE} (service, collector, due_at, key);"
    )
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(super) fn add_keys(
    connection: &mut Connection,
    collector: &CollectorId,
    keys: &[String],
    now: DateTime<Utc>,
) -> Result<usize, BackendError> {
    let fail = |error| store_error("adding keys", error);
    let transaction = connection.transaction().map_err(fail)?;
    let mut added = 0;
    {
        let mut insert = transaction
            .prepare_cached(&format!(
                "INSERT INTO {KEYS_TABLE} (service, collector, key, status, added_at, due_at)
                 VALUES (?1, ?2, ?3, 'new', ?4, ?4) ON CONFLICT DO NOTHING"
            ))
            .map_err(fail)?;
        let now = time(now);
        for key in keys {
            added += insert
                .execute(params![collector.service, collector.collector, key, now])
                .map_err(fail)?;
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
) -> Result<Vec<DueKey>, BackendError> {
    let fail = |error| store_error("reading due keys", error);
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT key, failures FROM {KEYS_TABLE}
             WHERE service = ?1 AND collector = ?2 AND due_at IS NOT NULL AND due_at <= ?3
             ORDER BY due_at, key LIMIT ?4"
        ))
        .map_err(fail)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    statement
        .query_map(
            params![collector.service, collector.collector, time(now), limit],
            |row| Ok(DueKey::new(row.get::<_, String>(0)?, row.get(1)?)),
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
                "INSERT INTO {KEYS_TABLE} AS keys (service, collector, key, status, added_at, read_at, due_at, failures, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, CASE WHEN ?4 = 'failed' THEN 1 ELSE 0 END, ?7)
                 ON CONFLICT (service, collector, key) DO UPDATE SET
                     status = excluded.status, read_at = excluded.read_at, due_at = excluded.due_at,
                     failures = CASE WHEN excluded.status = 'failed' THEN keys.failures + 1 ELSE 0 END,
                     error = excluded.error"
            ),
            params![
                collector.service,
                collector.collector,
                read.key,
                read.status.as_str(),
                time(read.at),
                read.due_at.map(time),
                read.error,
            ],
        )
        .map_err(|error| store_error("recording a key's read", error))?;
    Ok(())
}

pub(super) fn frontier(
    connection: &Connection,
    collector: &CollectorId,
    now: DateTime<Utc>,
) -> Result<Frontier, BackendError> {
    // Counted by SQLite: a crawl may know a million keys.
    let counts: [i64; 5] = connection
        .query_row(
            &format!(
                "SELECT count(*),
                        count(*) FILTER (WHERE status = 'done'),
                        count(*) FILTER (WHERE due_at IS NOT NULL AND due_at <= ?3),
                        count(*) FILTER (WHERE status = 'failed'),
                        count(*) FILTER (WHERE status = 'gone')
                 FROM {KEYS_TABLE} WHERE service = ?1 AND collector = ?2"
            ),
            params![collector.service, collector.collector, time(now)],
            |row| {
                Ok([
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ])
            },
        )
        .map_err(|error| store_error("counting keys", error))?;
    Ok(frontier_of(counts))
}
