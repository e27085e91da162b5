//! [`Postgres`]: the store for teams. One table per model in a schema of the user's choosing,
//! typed columns, upsert by key, rows and state in one transaction, hamstr's own tables made
//! and upgraded by numbered migrations, and the load history beside them.

use std::{fmt, future::Future, sync::Arc, time::Duration};

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod};
use tokio::sync::OnceCell;
use tokio_postgres::error::SqlState;

mod cell;
mod history;
mod keys;
mod lease;
mod migrate;
mod read;
mod target;
mod write;

use super::{
    Backend, BackendError, Batch, Claim, Claimed, ClusterStatus, CollectorId, Committed, DueKey,
    FoundKeys, Frontier, KeyRead, Query, RowPage, RunRecord, Scheme, SharedPause, SharedPauses,
    State, Storage, TablePlan, check_key, sql::quote_name as quote,
};
use crate::model::{Cell, Row, Schema};
use chrono::{DateTime, Utc};
use target::Target;

/// The connections one process keeps open at most.
const POOL_SIZE: usize = 8;

/// The waits between tries of an operation whose connection failed (a server restarting, a
/// dropped connection): about 30 s in all, longer than a restart takes.
const RETRY_WAITS: [Duration; 8] = [
    Duration::from_millis(100),
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(15),
];

/// Stores each model in a table of a PostgreSQL schema.
///
/// - A table per model, named after it, in the URL's `schema=` (default `public`); a typed
///   column per field (`text`, `bigint`, `double precision`, `boolean`, `timestamptz`, `date`,
///   `jsonb`); the model's primary key; upsert by key. An upsert that would not change a row
///   leaves it as it is (`IS DISTINCT FROM`) and is counted as unchanged.
/// - One transaction per batch: its rows and the collector's state commit together, so nothing
///   is lost and nothing stored twice when a process is killed. Batches of 512 rows or more go
///   through binary `COPY` into a temporary table and one merge; smaller ones are one statement
///   over arrays.
/// - Several workers may share the database: each run is claimed first, its commits are fenced
///   by the claim, and a dead worker's collectors are taken over (`docs/cluster.md`).
/// - hamstr's own tables (`_hamstr_state`, `_hamstr_runs`, `_hamstr_columns`, in the same
///   schema) are made and upgraded by numbered migrations, recorded in `_hamstr_migrations`,
///   under an advisory lock so that processes starting together migrate once.
/// - A connection that fails mid-run (a server restart, a dropped connection) is retried with
///   backoff for about 30 s; a commit that was not made is made again, whole.
/// - The password is never shown: not in `Debug`, not in errors.
///
/// # Examples
/// ```no_run
/// use hamstr::backend::Postgres;
/// let store = Postgres::connect("postgres://hamstr:secret@127.0.0.1:5432/shop?schema=raw")?;
/// # Ok::<(), hamstr::backend::BackendError>(())
/// ```
#[derive(Clone)]
pub struct Postgres {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    target: Target,
    /// Set once the first connection was made and the migrations ran.
    ready: OnceCell<()>,
    /// The leases this process holds, when it is a worker of a cluster.
    held: std::sync::Mutex<lease::Held>,
}

impl fmt::Debug for Postgres {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Postgres({:?})", self.inner.target)
    }
}

/// `postgres://USER:PASSWORD@HOST:PORT/DATABASE?schema=…&sslmode=…`.
pub(in crate::backend) const SCHEMES: [Scheme; 2] = [
    Scheme {
        name: "postgres",
        location: Some("USER:PASSWORD@HOST:PORT/DATABASE"),
        is_persistent: true,
        is_local_path: false,
        writes_stdout: false,
        open: |storage: &Storage| Ok(Arc::new(Postgres::connect(storage.location())?)),
    },
    Scheme {
        name: "postgresql",
        location: Some("USER:PASSWORD@HOST:PORT/DATABASE"),
        is_persistent: true,
        is_local_path: false,
        writes_stdout: false,
        open: |storage: &Storage| Ok(Arc::new(Postgres::connect(storage.location())?)),
    },
];

/// Whether `location` (what follows `postgres://`) is a PostgreSQL URL; the error says what is
/// wrong, without its password.
pub(in crate::backend) fn check_location(location: &str) -> Result<(), super::StorageError> {
    Target::parse(location).map(drop)
}

impl Postgres {
    /// A store at `url` (`postgres://…` or what follows `postgres://`). Nothing is sent yet:
    /// the first operation connects and brings hamstr's tables up to date.
    ///
    /// # Errors
    /// When the URL does not parse (the message never holds its password), or when TLS is asked
    /// for and the `sslrootcert` file cannot be read.
    pub fn connect(url: &str) -> Result<Self, BackendError> {
        let location = ["postgres://", "postgresql://"]
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme))
            .unwrap_or(url);
        let target = Target::parse(location).map_err(|error| BackendError::Store {
            backend: "postgres",
            operation: "reading its URL".to_owned(),
            cause: Box::new(error),
        })?;
        let tls = tls_connector(&target)?;
        let manager = Manager::from_config(
            target.config.clone(),
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(60)))
            .build()
            .map_err(|error| {
                BackendError::store("postgres", "making its connection pool", error)
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                target,
                ready: OnceCell::new(),
                held: std::sync::Mutex::default(),
            }),
        })
    }

    /// The schema its tables are in.
    pub fn schema(&self) -> &str {
        &self.inner.target.schema
    }

    /// `"schema"."name"`.
    fn table(&self, name: &str) -> String {
        format!("{}.{}", quote(self.schema()), quote(name))
    }

    /// Connects the first time, and brings hamstr's tables up to date.
    async fn ready(&self) -> Result<(), BackendError> {
        self.inner
            .ready
            .get_or_try_init(|| async {
                let mut client = self
                    .inner
                    .pool
                    .get()
                    .await
                    .map_err(|error| self.failed("connecting", Failure::Pool(error)))?;
                migrate::own_tables(&mut client, self.schema())
                    .await
                    .map_err(|error| self.failed("bringing hamstr's tables up to date", error))
            })
            .await
            .map(drop)
    }

    /// Runs `work` on a pooled connection; tries again, on a new connection, when the connection
    /// failed, and gives up after [`RETRY_WAITS`].
    async fn with_client<T, F, Fut>(&self, operation: &str, mut work: F) -> Result<T, BackendError>
    where
        F: FnMut(Object) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        self.ready().await?;
        let mut waits = RETRY_WAITS.iter();
        loop {
            let outcome = match self.inner.pool.get().await {
                Ok(client) => work(client).await,
                Err(error) => Err(Failure::Pool(error)),
            };
            match (outcome, waits.next()) {
                (Ok(value), _) => return Ok(value),
                (Err(failure), Some(wait)) if failure.is_transient() => {
                    tracing::warn!(
                        store = %self.inner.target.shown,
                        error = %self.inner.target.mask(&failure.to_string()),
                        "PostgreSQL {operation} failed; trying again in {wait:?}"
                    );
                    tokio::time::sleep(*wait).await;
                }
                (Err(failure), _) => return Err(self.failed(operation, failure)),
            }
        }
    }

    /// `failure` as a backend error naming the server and what was being done.
    fn failed(&self, operation: &str, failure: Failure) -> BackendError {
        let target = &self.inner.target;
        match failure {
            Failure::Backend(error) => error,
            failure => BackendError::Store {
                backend: "postgres",
                operation: format!("{operation} at {}", target.shown),
                cause: Box::new(Masked(target.mask(&failure.to_string()))),
            },
        }
    }
}

/// rustls over the usual roots (or the URL's `sslrootcert`), used when the URL asks for TLS.
fn tls_connector(
    target: &Target,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, BackendError> {
    let mut roots = rustls::RootCertStore::empty();
    match &target.root_certificates {
        Some(path) if target.wants_tls() => {
            use rustls::pki_types::{CertificateDer, pem::PemObject};
            let failed = |error: &dyn std::error::Error| {
                BackendError::store(
                    "postgres",
                    format!("reading sslrootcert {path}"),
                    std::io::Error::other(error.to_string()),
                )
            };
            for certificate in
                CertificateDer::pem_file_iter(path).map_err(|error| failed(&error))?
            {
                let certificate = certificate.map_err(|error| failed(&error))?;
                roots.add(certificate).map_err(|error| failed(&error))?;
            }
        }
        _ => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| BackendError::store("postgres", "setting up TLS", error))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// What went wrong in one try of an operation.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{}", describe_pool(.0))]
    Pool(PoolError),
    #[error("{}", describe(.0))]
    Sql(tokio_postgres::Error),
    #[error(transparent)]
    Backend(BackendError),
}

/// The server's own words for an error it sent (`FATAL: password authentication failed …`),
/// else the driver's, once (its `Display` already holds its cause).
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {}", db.severity(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            text
        }
        None => crate::text::chain(error),
    }
}

fn describe_pool(error: &PoolError) -> String {
    match error {
        PoolError::Backend(error) => describe(error),
        PoolError::Timeout(_) => "no connection came free in time".to_owned(),
        error => error.to_string(),
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Sql(error)
    }
}

impl From<BackendError> for Failure {
    fn from(error: BackendError) -> Self {
        Self::Backend(error)
    }
}

impl Failure {
    /// Whether another try, on another connection, may succeed: the connection broke, the
    /// server is restarting, or the transaction lost a race it can win next time.
    fn is_transient(&self) -> bool {
        let error = match self {
            Self::Pool(PoolError::Backend(error)) => error,
            Self::Pool(PoolError::Timeout(_)) => return true,
            Self::Pool(_) | Self::Backend(_) => return false,
            Self::Sql(error) => error,
        };
        if error.is_closed() {
            return true;
        }
        match error.code() {
            Some(code) => {
                code.code().starts_with("08")
                    || [
                        SqlState::ADMIN_SHUTDOWN,
                        SqlState::CRASH_SHUTDOWN,
                        SqlState::CANNOT_CONNECT_NOW,
                        SqlState::T_R_SERIALIZATION_FAILURE,
                        SqlState::T_R_DEADLOCK_DETECTED,
                    ]
                    .contains(code)
            }
            // No answer from the server at all: the connection or its socket failed.
            None => std::error::Error::source(error)
                .is_some_and(|source| source.downcast_ref::<std::io::Error>().is_some()),
        }
    }

    /// Whether the statement failed because a table or column does not exist yet.
    fn is_missing_table(&self) -> bool {
        matches!(self, Self::Sql(error) if error.code().is_some_and(|code| {
            *code == SqlState::UNDEFINED_TABLE || *code == SqlState::UNDEFINED_COLUMN
        }))
    }
}

/// A message from the server or the driver, its password masked.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Masked(String);

#[async_trait]
impl Backend for Postgres {
    fn is_shared(&self) -> bool {
        true
    }

    async fn claim_run(&self, claim: &Claim<'_>) -> Result<Claimed, BackendError> {
        self.with_client("claiming a run", |client| async move {
            lease::claim(&client, self, claim).await
        })
        .await
    }

    async fn release_run(
        &self,
        collector: &CollectorId,
        next_due_in: Option<Duration>,
    ) -> Result<(), BackendError> {
        self.with_client("releasing a run", |client| async move {
            lease::release(&client, self, collector, next_due_in).await
        })
        .await
    }

    async fn share_pause(&self, pause: &SharedPause) -> Result<(), BackendError> {
        self.with_client("sharing a pause", |client| async move {
            lease::share_pause(&client, self, pause).await
        })
        .await
    }

    async fn watch_pauses(&self) -> Result<Option<SharedPauses>, BackendError> {
        self.ready().await?;
        lease::watch_pauses(self)
            .await
            .map(Some)
            .map_err(|failure| self.failed("watching shared pauses", failure))
    }

    async fn live_workers(&self, within: Duration) -> Result<usize, BackendError> {
        self.with_client("counting live workers", |client| async move {
            let row = client
                .query_one(
                    &format!(
                        "SELECT count(*) FROM {} WHERE heartbeat_at > now() - make_interval(secs => $1)",
                        self.table("_hamstr_workers")
                    ),
                    &[&within.as_secs_f64()],
                )
                .await?;
            Ok(usize::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0))
        })
        .await
    }

    async fn cluster_status(&self) -> Result<Option<ClusterStatus>, BackendError> {
        self.with_client("reading the cluster's state", |client| async move {
            lease::status(&client, self).await
        })
        .await
        .map(Some)
    }

    async fn prepare(&self, schema: &Schema) -> Result<(), BackendError> {
        self.with_client("preparing a table", |mut client| async move {
            write::prepare(&mut client, self, schema).await
        })
        .await
    }

    async fn commit(&self, batch: Batch) -> Result<Committed, BackendError> {
        batch.check_rows()?;
        let rounds = &write::Rounds::of(&batch);
        let batch = &batch;
        self.with_client("storing a batch", |mut client| async move {
            write::commit(&mut client, self, batch, rounds).await
        })
        .await
    }

    fn keeps_keys(&self) -> bool {
        true
    }

    async fn add_keys(
        &self,
        collector: &CollectorId,
        found: &FoundKeys<'_>,
        now: DateTime<Utc>,
    ) -> Result<usize, BackendError> {
        self.with_client("adding keys", |mut client| async move {
            keys::add_keys(&mut client, self, collector, found, now).await
        })
        .await
    }

    async fn due_keys(
        &self,
        collector: &CollectorId,
        now: DateTime<Utc>,
        limit: usize,
        max_depth: Option<u32>,
    ) -> Result<Vec<DueKey>, BackendError> {
        self.with_client("reading due keys", |client| async move {
            keys::due_keys(&client, self, collector, now, limit, max_depth).await
        })
        .await
    }

    async fn record_key(
        &self,
        collector: &CollectorId,
        read: &KeyRead,
    ) -> Result<(), BackendError> {
        self.with_client("recording a key's read", |client| async move {
            keys::record_key(&client, self, collector, read).await
        })
        .await
    }

    async fn frontier(
        &self,
        collector: &CollectorId,
        now: DateTime<Utc>,
        max_depth: Option<u32>,
    ) -> Result<Frontier, BackendError> {
        self.with_client("counting keys", |client| async move {
            keys::frontier(&client, self, collector, now, max_depth).await
        })
        .await
    }

    async fn load_state(&self, collector: &CollectorId) -> Result<Option<State>, BackendError> {
        self.with_client("loading a state", |client| async move {
            history::load_state(&client, self, collector).await
        })
        .await
    }

    async fn record_run(&self, run: &RunRecord) -> Result<(), BackendError> {
        self.with_client("recording a run", |client| async move {
            history::record_run(&client, self, run).await
        })
        .await
    }

    async fn run_history(
        &self,
        collector: Option<&CollectorId>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, BackendError> {
        self.with_client("reading the run history", |client| async move {
            history::run_history(&client, self, collector, limit).await
        })
        .await
    }

    async fn get_row(&self, schema: &Schema, key: &[Cell]) -> Result<Option<Row>, BackendError> {
        check_key(schema, key)?;
        self.with_client("reading a row", |client| async move {
            read::get_row(&client, self, schema, key).await
        })
        .await
    }

    async fn query(&self, schema: &Schema, query: &Query) -> Result<RowPage, BackendError> {
        let query = &query.resolve(schema)?;
        self.with_client("querying rows", |mut client| async move {
            read::query(&mut client, self, schema, query).await
        })
        .await
    }

    async fn plan_migration(&self, schemas: &[Schema]) -> Result<Vec<TablePlan>, BackendError> {
        self.with_client("planning a migration", |client| async move {
            migrate::plan_tables(&client, self, schemas).await
        })
        .await
    }

    async fn migrate(&self, schemas: &[Schema]) -> Result<Vec<TablePlan>, BackendError> {
        self.with_client("migrating tables", |mut client| async move {
            migrate::migrate_tables(&mut client, self, schemas).await
        })
        .await
    }

    async fn distinct(&self, schema: &Schema, field: &str) -> Result<Vec<Cell>, BackendError> {
        self.with_client("listing distinct values", |client| async move {
            read::distinct(&client, self, schema, field).await
        })
        .await
    }
}
