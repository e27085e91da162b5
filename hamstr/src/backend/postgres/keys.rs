//! The frontier of fan-out collectors in PostgreSQL: `_hamstr_keys`, one row per key
//! (migration 3).

use chrono::{DateTime, Utc};
use deadpool_postgres::Object;

use super::{Failure, Postgres};
use crate::backend::{
    CollectorId, DueKey, FoundKeys, Frontier, KeyRead, depth_of, mark_of, mark_text,
    within_depth_sql,
};

pub(super) async fn add_keys(
    client: &mut Object,
    store: &Postgres,
    collector: &CollectorId,
    found: &FoundKeys<'_>,
    now: DateTime<Utc>,
) -> Result<usize, Failure> {
    // One statement for every key: a crawl can add thousands at once. The update sees the
    // table as it was before the insert, so it touches known keys only, and only to lower their
    // depth.
    let depth = found
        .depth
        .map(|depth| i32::try_from(depth).unwrap_or(i32::MAX));
    let row = client
        .query_one(
            &format!(
                "WITH found AS (SELECT DISTINCT unnest($3::text[]) AS key),
                 inserted AS (
                     INSERT INTO {table} (service, collector, key, status, added_at, due_at, depth)
                     SELECT $1, $2, key, 'new', $4, $4, $5 FROM found
                     ON CONFLICT DO NOTHING RETURNING 1),
                 lowered AS (
                     UPDATE {table} AS keys SET depth = $5,
                         due_at = CASE WHEN $6 AND keys.status <> 'new'
                                       THEN LEAST(COALESCE(keys.due_at, $4), $4) ELSE keys.due_at END
                     FROM found WHERE keys.service = $1 AND keys.collector = $2 AND keys.key = found.key
                     AND $5::integer IS NOT NULL AND (keys.depth IS NULL OR keys.depth > $5)
                     RETURNING 1)
                 SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM lowered)",
                table = store.table("_hamstr_keys")
            ),
            &[
                &collector.service,
                &collector.collector,
                &found.keys,
                &now,
                &depth,
                &found.revisit,
            ],
        )
        .await?;
    let added: i64 = row.try_get(0)?;
    Ok(usize::try_from(added).unwrap_or(usize::MAX))
}

pub(super) async fn due_keys(
    client: &Object,
    store: &Postgres,
    collector: &CollectorId,
    now: DateTime<Utc>,
    limit: usize,
    max_depth: Option<u32>,
) -> Result<Vec<DueKey>, Failure> {
    let max_depth = max_depth.map(|depth| i32::try_from(depth).unwrap_or(i32::MAX));
    let rows = client
        .query(
            &format!(
                "SELECT key, failures, depth, mark FROM {} WHERE service = $1 AND collector = $2
                 AND due_at IS NOT NULL AND due_at <= $3 AND {}
                 ORDER BY due_at, key LIMIT $4",
                store.table("_hamstr_keys"),
                within_depth_sql("$5::integer")
            ),
            &[
                &collector.service,
                &collector.collector,
                &now,
                &i64::try_from(limit).unwrap_or(i64::MAX),
                &max_depth,
            ],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let failures: i32 = row.try_get(1)?;
            let depth: Option<i32> = row.try_get(2)?;
            Ok(DueKey::new(
                row.try_get::<_, String>(0)?,
                u32::try_from(failures).unwrap_or(0),
            )
            .depth(depth_of(depth.map(i64::from)))
            .mark(mark_of(row.try_get(3)?)))
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
                "INSERT INTO {table} AS keys (service, collector, key, status, added_at, read_at, due_at, failures, error, mark)
                 VALUES ($1, $2, $3, $4, $5, $5, $6, CASE WHEN $4 = 'failed' THEN 1 ELSE 0 END, $7, $8)
                 ON CONFLICT (service, collector, key) DO UPDATE SET
                     status = excluded.status, read_at = excluded.read_at, due_at = excluded.due_at,
                     failures = CASE WHEN excluded.status = 'failed' THEN keys.failures + 1 ELSE 0 END,
                     error = excluded.error, mark = COALESCE(excluded.mark, keys.mark)",
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
                &mark_text(read.mark.as_ref()),
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
    max_depth: Option<u32>,
) -> Result<Frontier, Failure> {
    let within = within_depth_sql("$4::integer");
    let max_depth = max_depth.map(|depth| i32::try_from(depth).unwrap_or(i32::MAX));
    let row = client
        .query_one(
            &format!(
                "SELECT count(*),
                        count(*) FILTER (WHERE status = 'done'),
                        count(*) FILTER (WHERE due_at IS NOT NULL AND due_at <= $3 AND {within}),
                        count(*) FILTER (WHERE status = 'failed'),
                        count(*) FILTER (WHERE status = 'gone'),
                        count(*) FILTER (WHERE NOT {within})
                 FROM {} WHERE service = $1 AND collector = $2",
                store.table("_hamstr_keys")
            ),
            &[&collector.service, &collector.collector, &now, &max_depth],
        )
        .await?;
    let mut counts = [0i64; 6];
    for (index, count) in counts.iter_mut().enumerate() {
        *count = row.try_get(index)?;
    }
    Ok(crate::backend::frontier_of(counts))
}
