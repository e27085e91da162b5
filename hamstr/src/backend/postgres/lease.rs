//! Leases: how workers sharing one database run each collector at most once per interval,
//! never two runs at once, and take over the collectors of a worker that died.
//!
//! A collector's row in `_hamstr_leases` says who runs it (`owner`), until when (`expires_at`),
//! and when it is due next. A claim is one statement that takes the row only when it is free
//! and due, or when its holder's lease ran out; each claim bumps `token`, and a commit checks,
//! in its own transaction, that its worker still holds the token unexpired (fencing). One task
//! per worker renews all its leases every third of the lease period.

use std::{collections::HashMap, sync::PoisonError, time::Duration};

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object, Pool};
use tokio::task::AbortHandle;

use super::{Failure, Postgres};
use crate::backend::{
    BackendError, Claim, Claimed, ClusterStatus, CollectorId, LeaseStatus, SharedPause,
    SharedPauses, WorkerStatus,
};

/// What this process holds in the database.
#[derive(Debug, Default)]
pub(super) struct Held {
    /// The worker's name and lease period, set by its first claim.
    worker: Option<(String, Duration)>,
    /// The token of each collector whose run this worker holds.
    tokens: HashMap<CollectorId, i64>,
    /// The task that renews the worker's leases.
    renewal: Option<AbortHandle>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
    }
}

impl Postgres {
    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.inner
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The worker and token a commit of `collector` must still hold, if this worker claimed it.
    pub(super) fn fence(&self, collector: &CollectorId) -> Option<(String, i64)> {
        let held = self.held();
        let (worker, _) = held.worker.as_ref()?;
        Some((worker.clone(), *held.tokens.get(collector)?))
    }

    /// This worker's lease period, once it has claimed.
    pub(super) fn lease_period(&self) -> Option<Duration> {
        self.held().worker.as_ref().map(|(_, lease)| *lease)
    }

    /// Starts the renewal task the first time this worker claims.
    fn start_renewal(&self, worker: &str, lease: Duration) {
        let mut held = self.held();
        if held.worker.is_some() {
            return;
        }
        held.worker = Some((worker.to_owned(), lease));
        let (pool, leases, workers) = (
            self.inner.pool.clone(),
            self.table("_hamstr_leases"),
            self.table("_hamstr_workers"),
        );
        let worker = worker.to_owned();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(lease / 3);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(error) = renew(&pool, &leases, &workers, &worker, lease).await {
                    tracing::warn!(%worker, error = %error, "renewing this worker's leases failed");
                }
            }
        });
        held.renewal = Some(task.abort_handle());
    }
}

/// Renews every unexpired lease of `worker` (an expired one may have been taken over: it is
/// never revived), and its heartbeat.
async fn renew(
    pool: &Pool,
    leases: &str,
    workers: &str,
    worker: &str,
    lease: Duration,
) -> Result<(), Failure> {
    let client = pool.get().await.map_err(Failure::Pool)?;
    client
        .execute(
            &format!(
                "UPDATE {leases} SET expires_at = now() + make_interval(secs => $2)
                 WHERE owner = $1 AND expires_at > now()"
            ),
            &[&worker, &lease.as_secs_f64()],
        )
        .await?;
    client
        .execute(
            &format!("UPDATE {workers} SET heartbeat_at = now() WHERE name = $1"),
            &[&worker],
        )
        .await?;
    Ok(())
}

pub(super) async fn claim(
    client: &Object,
    store: &Postgres,
    claim: &Claim<'_>,
) -> Result<Claimed, Failure> {
    let leases = store.table("_hamstr_leases");
    // One statement: the claim, or (when not granted) who holds the row and when to ask again.
    // The second part reads the row as the statement began; a row another worker inserted
    // meanwhile reads as nothing, and is asked for again at once.
    let statement = client
        .prepare_cached(&format!(
            "WITH claimed AS (
                 INSERT INTO {leases} AS lease (service, collector, owner, token, expires_at, next_due, started_at)
                 VALUES ($1, $2, $3, 1, now() + make_interval(secs => $4), now(), now())
                 ON CONFLICT (service, collector) DO UPDATE SET
                     owner = EXCLUDED.owner, token = lease.token + 1, expires_at = EXCLUDED.expires_at,
                     started_at = now(),
                     taken_over_from = CASE WHEN lease.owner IS NOT NULL THEN lease.owner END
                 WHERE (lease.owner IS NULL AND (lease.next_due <= now() OR $5))
                    OR (lease.owner IS NOT NULL AND lease.expires_at < now())
                 RETURNING token, taken_over_from)
             SELECT token, taken_over_from, NULL::text, NULL::float8 FROM claimed
             UNION ALL
             SELECT NULL, NULL, owner,
                    CASE WHEN owner IS NOT NULL THEN EXTRACT(EPOCH FROM expires_at - now())::float8
                         WHEN isfinite(next_due) THEN EXTRACT(EPOCH FROM next_due - now())::float8
                         ELSE 'Infinity'::float8 END
             FROM {leases}
             WHERE service = $1 AND collector = $2 AND NOT EXISTS (SELECT 1 FROM claimed)"
        ))
        .await?;
    let collector = claim.collector;
    let row = client
        .query_opt(
            &statement,
            &[
                &collector.service,
                &collector.collector,
                &claim.worker,
                &claim.lease.as_secs_f64(),
                &claim.is_asked,
            ],
        )
        .await?;
    let Some(row) = row else {
        return Ok(Claimed::Busy {
            retry_in: Duration::ZERO,
            holder: None,
        });
    };
    if let Some(token) = row.try_get::<_, Option<i64>>(0)? {
        let taken_over_from: Option<String> = row.try_get(1)?;
        if store.held().worker.is_none() {
            client
                .execute(
                    &format!(
                        "INSERT INTO {} (name, started_at, heartbeat_at) VALUES ($1, now(), now())
                         ON CONFLICT (name) DO UPDATE SET heartbeat_at = now()",
                        store.table("_hamstr_workers")
                    ),
                    &[&claim.worker],
                )
                .await?;
        }
        store.start_renewal(claim.worker, claim.lease);
        store.held().tokens.insert(collector.clone(), token);
        return Ok(Claimed::Granted { taken_over_from });
    }
    let seconds: Option<f64> = row.try_get(3)?;
    Ok(Claimed::Busy {
        retry_in: Duration::try_from_secs_f64(seconds.unwrap_or(0.0).max(0.0))
            .unwrap_or(Duration::MAX),
        holder: row.try_get(2)?,
    })
}

pub(super) async fn release(
    client: &Object,
    store: &Postgres,
    collector: &CollectorId,
    next_due_in: Option<Duration>,
) -> Result<(), Failure> {
    let Some((worker, token)) = store.fence(collector) else {
        return Ok(());
    };
    // No next run on the schedule: due only when asked for.
    let next_due = next_due_in.map_or(f64::INFINITY, |wait| wait.as_secs_f64());
    client
        .execute(
            &format!(
                "UPDATE {} SET owner = NULL, expires_at = NULL,
                     next_due = CASE WHEN $5 = 'Infinity'::float8 THEN 'infinity'::timestamptz
                                     ELSE now() + make_interval(secs => $5) END
                 WHERE service = $1 AND collector = $2 AND owner = $3 AND token = $4",
                store.table("_hamstr_leases")
            ),
            &[
                &collector.service,
                &collector.collector,
                &worker,
                &token,
                &next_due,
            ],
        )
        .await?;
    store.held().tokens.remove(collector);
    Ok(())
}

/// Inside a commit's transaction: whether `worker` still holds `collector` with `token`,
/// unexpired. The row stays locked until the commit, so no claim takes it in between.
///
/// A worker frozen inside the transaction (stopped, swapped out, cut off) would hold that lock,
/// and so block every other worker's claim, for as long as it stays frozen: the server ends the
/// transaction once it has been idle for a lease period. The thawed worker finds its connection
/// closed, tries the commit again on another, and this fence refuses it: the lease is lost.
pub(super) async fn check_fence(
    client: &impl GenericClient,
    store: &Postgres,
    collector: &CollectorId,
    (worker, token): &(String, i64),
) -> Result<(), Failure> {
    if let Some(lease) = store.lease_period() {
        let millis = lease.as_millis().clamp(1_000, i32::MAX as u128);
        client
            .batch_execute(&format!(
                "SET LOCAL idle_in_transaction_session_timeout = {millis}"
            ))
            .await?;
    }
    let statement = client
        .prepare_cached(&format!(
            "SELECT 1 FROM {} WHERE service = $1 AND collector = $2 AND owner = $3 AND token = $4
             AND expires_at > now() FOR UPDATE",
            store.table("_hamstr_leases")
        ))
        .await?;
    let held = client
        .query_opt(
            &statement,
            &[&collector.service, &collector.collector, worker, token],
        )
        .await?;
    match held {
        Some(_) => Ok(()),
        None => Err(Failure::Backend(BackendError::LeaseLost {
            collector: collector.clone(),
        })),
    }
}

pub(super) async fn status(client: &Object, store: &Postgres) -> Result<ClusterStatus, Failure> {
    let workers = client
        .query(
            &format!(
                "SELECT name, started_at, heartbeat_at FROM {} ORDER BY heartbeat_at DESC",
                store.table("_hamstr_workers")
            ),
            &[],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(WorkerStatus {
                name: row.try_get(0)?,
                started_at: row.try_get(1)?,
                heartbeat_at: row.try_get(2)?,
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let leases = client
        .query(
            &format!(
                "SELECT service, collector, owner, expires_at, next_due, token, taken_over_from
                 FROM {} ORDER BY service, collector",
                store.table("_hamstr_leases")
            ),
            &[],
        )
        .await?
        .iter()
        .map(|row| {
            // `infinity` (due only when asked) reads as no time.
            let next_due: Option<DateTime<Utc>> = row.try_get(4).ok().flatten();
            Ok(LeaseStatus {
                collector: CollectorId::new(
                    row.try_get::<_, String>(0)?,
                    row.try_get::<_, String>(1)?,
                ),
                holder: row.try_get(2)?,
                expires_at: row.try_get(3)?,
                next_due,
                claims: row.try_get(5)?,
                taken_over_from: row.try_get(6)?,
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    Ok(ClusterStatus { workers, leases })
}

/// The channel pauses are announced on: one per schema, so that projects in other schemas do
/// not hear them.
fn pause_channel(store: &Postgres) -> String {
    format!("hamstr_pauses:{}", store.schema())
}

pub(super) async fn share_pause(
    client: &Object,
    store: &Postgres,
    pause: &SharedPause,
) -> Result<(), Failure> {
    // Only a pause that ends later than the one stored (by more than the clocks' rounding) is
    // announced: workers that take it in and pause announce it again, and that must end.
    let announced = client
        .query_opt(
            &format!(
                "INSERT INTO {} AS pause (service, resumes_at) VALUES ($1, $2)
                 ON CONFLICT (service) DO UPDATE SET resumes_at = EXCLUDED.resumes_at
                 WHERE pause.resumes_at < EXCLUDED.resumes_at - interval '1 second'
                 RETURNING 1",
                store.table("_hamstr_pauses")
            ),
            &[&pause.service, &pause.resumes_at],
        )
        .await?;
    if announced.is_some() {
        let payload = format!("{}\n{}", pause.resumes_at.timestamp_millis(), pause.service);
        client
            .execute(
                "SELECT pg_notify($1, $2)",
                &[&pause_channel(store), &payload],
            )
            .await?;
    }
    Ok(())
}

/// A `pg_notify` payload: milliseconds since the epoch, a newline, the service.
fn parse_pause(payload: &str) -> Option<SharedPause> {
    let (millis, service) = payload.split_once('\n')?;
    let resumes_at = DateTime::from_timestamp_millis(millis.parse().ok()?)?;
    Some(SharedPause::new(service, resumes_at))
}

pub(super) async fn watch_pauses(store: &Postgres) -> Result<SharedPauses, Failure> {
    use futures_util::StreamExt;
    let tls = super::tls_connector(&store.inner.target)?;
    let (client, mut connection) = store.inner.target.config.connect(tls).await?;
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let notified = sender.clone();
    // The connection is driven here, where its notifications are read.
    let driver = tokio::spawn(async move {
        let mut messages =
            futures_util::stream::poll_fn(move |context| connection.poll_message(context));
        while let Some(Ok(message)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(notification) = message
                && let Some(pause) = parse_pause(notification.payload())
                && notified.send(pause).is_err()
            {
                return;
            }
        }
    });
    // Ends the task when the stream it feeds is dropped.
    let guard = tokio_util::task::AbortOnDropHandle::new(driver);
    client
        .batch_execute(&format!("LISTEN {}", super::quote(&pause_channel(store))))
        .await?;
    // Those in force now, after listening, so that none falls between the two.
    let current = client
        .query(
            &format!(
                "SELECT service, resumes_at FROM {} WHERE resumes_at > now()",
                store.table("_hamstr_pauses")
            ),
            &[],
        )
        .await?;
    for row in current {
        let _ = sender.send(SharedPause::new(
            row.try_get::<_, String>(0)?,
            row.try_get::<_, DateTime<Utc>>(1)?,
        ));
    }
    drop(sender);
    let stream = futures_util::stream::unfold(
        (receiver, client, guard),
        |(mut receiver, client, guard)| async move {
            let pause = receiver.recv().await?;
            Some((pause, (receiver, client, guard)))
        },
    );
    Ok(Box::pin(stream))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Backend, Claim, Claimed};

    /// A worker frozen inside a commit's transaction (its fence row locked, nothing sent) does
    /// not block the takeover for longer than a lease: the server ends its idle transaction,
    /// another worker's claim goes through, and the frozen worker's transaction is found dead,
    /// which its commit reports as a lost lease.
    #[tokio::test]
    async fn a_worker_frozen_in_a_commit_cannot_block_a_takeover() {
        let server = std::env::var("HAMSTR_TEST_POSTGRES_URL").expect(
            "HAMSTR_TEST_POSTGRES_URL names the tests' PostgreSQL server: run `scripts/test`",
        );
        let schema = format!("hamstr_frozen_{}", std::process::id());
        let separator = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{separator}schema={schema}");
        let (frozen, other) = (
            Postgres::connect(&url).unwrap(),
            Postgres::connect(&url).unwrap(),
        );
        let collector = CollectorId::new("shop", "orders");
        let claim = |worker| Claim {
            collector: &collector,
            worker,
            lease: Duration::from_secs(1),
            is_asked: true,
        };
        assert!(matches!(
            frozen.claim_run(&claim("frozen")).await.unwrap(),
            Claimed::Granted { .. }
        ));
        // Frozen: it renews nothing more, and sits inside a commit that has taken its fence.
        if let Some(renewal) = frozen.held().renewal.take() {
            renewal.abort();
        }
        let mut client = frozen.inner.pool.get().await.unwrap();
        let transaction = client.transaction().await.unwrap();
        let fence = frozen.fence(&collector).unwrap();
        check_fence(&transaction, &frozen, &collector, &fence)
            .await
            .unwrap();
        // The other worker asks until it is granted: the lease runs out after a second, and the
        // server ends the frozen transaction after a second idle, releasing the row.
        let takeover = async {
            loop {
                match other.claim_run(&claim("other")).await.unwrap() {
                    Claimed::Granted { taken_over_from } => return taken_over_from,
                    Claimed::Busy { retry_in, .. } => {
                        tokio::time::sleep(retry_in.min(Duration::from_millis(200))).await;
                    }
                }
            }
        };
        let taken_over_from = tokio::time::timeout(Duration::from_secs(20), takeover)
            .await
            .expect("the frozen worker's transaction does not hold the row for ever");
        assert_eq!(taken_over_from.as_deref(), Some("frozen"));
        // Thawed, the frozen worker finds its transaction gone; the commit tried again on
        // another connection meets the fence, which says the lease is lost.
        assert!(transaction.commit().await.is_err());
        drop(client);
        let mut client = frozen.inner.pool.get().await.unwrap();
        let transaction = client.transaction().await.unwrap();
        let refused = check_fence(&transaction, &frozen, &collector, &fence).await;
        assert!(
            matches!(
                refused,
                Err(Failure::Backend(BackendError::LeaseLost { .. }))
            ),
            "{refused:?}"
        );
    }
}
