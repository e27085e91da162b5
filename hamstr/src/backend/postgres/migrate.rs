//! hamstr's own tables, made and upgraded by numbered migrations embedded in the binary.

use deadpool_postgres::Object;

use super::{Failure, quote};
use crate::backend::BackendError;

/// One step of hamstr's own tables; `{schema}` stands for the quoted schema.
struct Migration {
    version: i32,
    description: &'static str,
    sql: &'static str,
}

/// Every migration, in order. Append only: a released migration never changes.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "collector state, column types and the load history",
    sql: "
        CREATE TABLE {schema}._hamstr_state (
            service text NOT NULL, collector text NOT NULL, state jsonb NOT NULL,
            updated_at timestamptz NOT NULL, PRIMARY KEY (service, collector));
        CREATE TABLE {schema}._hamstr_columns (
            table_name text NOT NULL, column_name text NOT NULL, field_type text NOT NULL,
            is_primary_key boolean NOT NULL, position integer NOT NULL,
            PRIMARY KEY (table_name, column_name));
        CREATE TABLE {schema}._hamstr_runs (
            id bigserial PRIMARY KEY,
            service text NOT NULL, collector text NOT NULL,
            started_at timestamptz NOT NULL, finished_at timestamptz NOT NULL, outcome text NOT NULL,
            pages bigint NOT NULL, records bigint NOT NULL, inserted bigint NOT NULL,
            updated bigint NOT NULL, unchanged bigint NOT NULL, dropped bigint NOT NULL,
            skipped bigint NOT NULL, is_full boolean NOT NULL, resumed_at_page bigint,
            error text);
        CREATE INDEX _hamstr_runs_by_collector ON {schema}._hamstr_runs (service, collector, id);",
}];

/// Brings hamstr's tables in `schema` up to the newest migration, in one transaction under an
/// advisory lock: a second process starting at the same time waits, then finds nothing to do.
pub(super) async fn own_tables(client: &mut Object, schema: &str) -> Result<(), Failure> {
    apply(client, schema, MIGRATIONS).await
}

async fn apply(client: &mut Object, schema: &str, migrations: &[Migration]) -> Result<(), Failure> {
    let quoted = quote(schema);
    let transaction = client.transaction().await?;
    // The lock first: `CREATE SCHEMA IF NOT EXISTS` itself races.
    transaction
        .execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('hamstr migrations ' || $1, 0))",
            &[&schema],
        )
        .await?;
    transaction
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {quoted};
             CREATE TABLE IF NOT EXISTS {quoted}._hamstr_migrations (
                 version integer PRIMARY KEY, description text NOT NULL,
                 hamstr_version text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        ))
        .await?;
    let newest: Option<i32> = transaction
        .query_one(
            &format!("SELECT max(version) FROM {quoted}._hamstr_migrations"),
            &[],
        )
        .await?
        .get(0);
    let newest = newest.unwrap_or(0);
    let known = migrations.last().map_or(0, |migration| migration.version);
    if newest > known {
        return Err(Failure::Backend(BackendError::store(
            "postgres",
            format!("opening schema `{schema}`"),
            std::io::Error::other(format!(
                "its tables were made by a newer hamstr (migration {newest}; this one knows {known}): upgrade hamstr"
            )),
        )));
    }
    for migration in migrations
        .iter()
        .filter(|migration| migration.version > newest)
    {
        tracing::info!(
            schema,
            version = migration.version,
            "migrating hamstr's tables: {}",
            migration.description
        );
        transaction
            .batch_execute(&migration.sql.replace("{schema}", &quoted))
            .await?;
        transaction
            .execute(
                &format!(
                    "INSERT INTO {quoted}._hamstr_migrations (version, description, hamstr_version) VALUES ($1, $2, $3)"
                ),
                &[
                    &migration.version,
                    &migration.description,
                    &env!("CARGO_PKG_VERSION"),
                ],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(())
}
