//! The frontier of fan-out collectors in PostgreSQL: `_hamstr_keys`, one row per key
//! (migration 3).

use chrono::{DateTime, Utc};
use deadpool_postgres::Object;

use super::{Failure, Postgres};
use crate::backend::{CollectorId, DueKey, Frontier, KeyRead};

pub(super) async fn add_keys(
    client: &mut Object,
    store: &Postgres,
    collector: &CollectorId,
    keys: &[String],
    now: DateTime<Utc>,
) -> Result<usize, Failure> {
    // One statement for every key: a crawl can add thousands at once.
    let added = client
        .execute(
            &format!(
                "INSERT INTO {} (service, collector, key, status, added_at, due_at)
                 SELECT $1, $2, key, 'new', $4, $4 FROM unnest($3::text[]) AS key
                 ON CONFLICT DO NOTHING",
                store.table("_hamstr_keys")
            ),
            &[&collector.service, &collector.collector, &keys, &now],
        )
        .await?;
    Ok(usize::try_from(added).unwrap_or(usize::MAX))
}

pub(super) async fn due_keys(
    client: &Object,
    store: &Postgres,
    collector: &CollectorId,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<DueKey>, Failure> {
    let rows = client
        .query(
            &format!(
                "SELECT key, failures FROM {} WHERE service = $1 AND collector = $2
                 AND due_at IS NOT NULL AND due_at <= $3 ORDER BY due_at, key LIMIT $4",
                store.table("_hamstr_keys")
            ),
            &[
                &collector.service,
                &collector.collector,
                &now,
                &i64::try_from(limit).unwrap_or(i64::MAX),
            ],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let failures: i32 = row.try_get(1)?;
            Ok(DueKey::new(
                row.try_get::<_, String>(0)?,
                u32::try_from(failures).unwrap_or(0),
            ))
        })
        .collect()
}

pub(super) async fn record_key(
    client: &Object,
    store: &Postgres,
    collector: &CollectorId,
    read: &KeyRead,
) -> Result<(), Failure> {
    // The failures count is the row's own: kept right when two workers record at once.
    client
        .execute(
            &format!(
                "INSERT INTO {table} AS keys (service, collector, key, status, added_at, read_at, due_at, failures, error)
                 VALUES ($1, $2, $3, $4, $5, $5, $6, CASE WHEN $4 = 'failed' THEN 1 ELSE 0 END, $7)
                 ON CONFLICT (service, collector, key) DO UPDATE SET
                     status = excluded.status, read_at = excluded.read_at, due_at = excluded.due_at,
                     failures = CASE WHEN excluded.status = 'failed' THEN keys.failures + 1 ELSE 0 END,
                     error = excluded.error",
                table = store.table("_hamstr_keys")
            ),
            &[
                &collector.service,
                &collector.collector,
                &read.key,
                &read.status.as_str(),
                &read.at,
                &read.due_at,
                &read.error,
            ],
        )
        .await?;
    Ok(())
}

pub(super) async fn frontier(
    client: &Object,
    store: &Postgres,
    collector: &CollectorId,
    now: DateTime<Utc>,
) -> Result<Frontier, Failure> {
    let row = client
        .query_one(
            &format!(
                "SELECT count(*),
                        count(*) FILTER (WHERE status = 'done'),
                        count(*) FILTER (WHERE due_at IS NOT NULL AND due_at <= $3),
                        count(*) FILTER (WHERE status = 'failed'),
                        count(*) FILTER (WHERE status = 'gone')
                 FROM {} WHERE service = $1 AND collector = $2",
                store.table("_hamstr_keys")
            ),
            &[&collector.service, &collector.collector, &now],
        )
        .await?;
    let mut counts = [0i64; 5];
    for (index, count) in counts.iter_mut().enumerate() {
        *count = row.try_get(index)?;
    }
    Ok(crate::backend::frontier_of(counts))
}
