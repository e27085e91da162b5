//! hamstr's own tables, made and upgraded by numbered migrations embedded in the binary; and
//! the plans that change a model's table when `prepare` cannot (`hamstr migrate`).

use deadpool_postgres::{GenericClient, Object};

use super::{
    Failure, Masked, Postgres,
    cell::{column_type, value_type},
    quote,
    write::{create_table, stored_schema},
};
use crate::{
    backend::{BackendError, Change, TablePlan, migration, sql},
    model::{FieldType, Schema},
};

/// One step of hamstr's own tables; `{schema}` stands for the quoted schema.
struct Migration {
    version: i32,
    description: &'static str,
    sql: &'static str,
}

/// Every migration, in order. Append only: a released migration never changes.
const MIGRATIONS: &[Migration] = &[
    Migration {
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
    },
    Migration {
        version: 2,
        description: "leases, workers and shared pauses, for several workers sharing the database",
        sql: "
        CREATE TABLE {schema}._hamstr_leases (
            service text NOT NULL, collector text NOT NULL, owner text, token bigint NOT NULL,
            expires_at timestamptz, next_due timestamptz NOT NULL, started_at timestamptz,
            taken_over_from text, PRIMARY KEY (service, collector));
        CREATE TABLE {schema}._hamstr_workers (
            name text PRIMARY KEY, started_at timestamptz NOT NULL, heartbeat_at timestamptz NOT NULL);
        CREATE TABLE {schema}._hamstr_pauses (
            service text PRIMARY KEY, resumes_at timestamptz NOT NULL);",
    },
    Migration {
        version: 3,
        description: "the keys of fan-out collectors, one row each",
        sql: "
        CREATE TABLE {schema}._hamstr_keys (
            service text NOT NULL, collector text NOT NULL, key text NOT NULL,
            status text NOT NULL, added_at timestamptz NOT NULL, read_at timestamptz,
            due_at timestamptz, failures integer NOT NULL DEFAULT 0, error text,
            PRIMARY KEY (service, collector, key));
        CREATE INDEX _hamstr_keys_due ON {schema}._hamstr_keys (service, collector, due_at, key);",
    },
    Migration {
        version: 4,
        description: "a fan-out key's depth from the seeds, and its incremental mark",
        sql: "ALTER TABLE {schema}._hamstr_keys ADD COLUMN depth integer, ADD COLUMN mark text;",
    },
];

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

/// Each model's [`TablePlan`] against the tables as they are now.
pub(super) async fn plan_tables(
    client: &impl GenericClient,
    store: &Postgres,
    schemas: &[Schema],
) -> Result<Vec<TablePlan>, Failure> {
    let mut plans = Vec::new();
    for schema in schemas {
        let stored = stored_schema(client, store, schema.name()).await?;
        let key_constraint: Option<String> = client
            .query_opt(
                "SELECT conname::text FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'",
                &[&store.table(schema.name())],
            )
            .await?
            .map(|row| row.get(0));
        plans.push(table_plan(
            store,
            stored.as_ref(),
            schema,
            key_constraint.as_deref(),
        ));
    }
    Ok(plans)
}

/// Plans every model's table again inside one transaction, under each table's lock, and runs
/// the plans' statements there: all of them, or none.
pub(super) async fn migrate_tables(
    client: &mut Object,
    store: &Postgres,
    schemas: &[Schema],
) -> Result<Vec<TablePlan>, Failure> {
    let transaction = client.transaction().await?;
    // Text becomes a time in UTC when it names no offset.
    transaction
        .batch_execute("SET LOCAL TimeZone = 'UTC'")
        .await?;
    for schema in schemas {
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('hamstr table ' || $1 || '.' || $2, 0))",
                &[&store.schema(), &schema.name()],
            )
            .await?;
    }
    let plans = plan_tables(&transaction, store, schemas).await?;
    for plan in &plans {
        for statement in &plan.statements {
            transaction
                .batch_execute(statement)
                .await
                .map_err(|error| {
                    Failure::Backend(BackendError::store(
                        "postgres",
                        format!(
                            "migrating table `{}` (nothing was changed) at {}",
                            plan.table, store.inner.target.shown
                        ),
                        Masked(store.inner.target.mask(&super::describe(&error))),
                    ))
                })?;
        }
    }
    transaction.commit().await?;
    Ok(plans)
}

/// The statements that turn the table made for `stored` into one for `wanted`.
fn table_plan(
    store: &Postgres,
    stored: Option<&Schema>,
    wanted: &Schema,
    key_constraint: Option<&str>,
) -> TablePlan {
    let changes = migration::changes(stored, wanted);
    let table = store.table(wanted.name());
    let mut statements = Vec::new();
    for change in &changes {
        match change {
            Change::CreateTable => statements.push(create_table(store, wanted)),
            Change::AddColumn { column, field_type } => statements.push(format!(
                "ALTER TABLE {table} ADD COLUMN {} {}",
                quote(column),
                column_type(*field_type)
            )),
            Change::ChangeType { column, from, to } => statements.push(format!(
                "ALTER TABLE {table} ALTER COLUMN {} TYPE {} USING {}",
                quote(column),
                column_type(*to),
                conversion(column, *from, *to)
            )),
            Change::ChangeKey { from, to } => {
                if let Some(constraint) = key_constraint {
                    statements.push(format!(
                        "ALTER TABLE {table} DROP CONSTRAINT {}",
                        quote(constraint)
                    ));
                }
                for column in from.iter().filter(|column| !to.contains(column)) {
                    statements.push(format!(
                        "ALTER TABLE {table} ALTER COLUMN {} DROP NOT NULL",
                        quote(column)
                    ));
                }
                let key: Vec<String> = to.iter().map(|column| quote(column)).collect();
                statements.push(format!(
                    "ALTER TABLE {table} ADD PRIMARY KEY ({})",
                    key.join(", ")
                ));
            }
            Change::KeepColumn { .. } => {}
        }
    }
    if !statements.is_empty() {
        let migrated = migration::migrated_schema(stored, wanted);
        statements.extend(sql::record_columns(
            &store.table("_hamstr_columns"),
            &migrated,
        ));
    }
    TablePlan {
        table: wanted.name().to_owned(),
        changes,
        statements,
    }
}

/// The expression that converts `column`'s values from `from` to `to`. Casts through text fail
/// on a value that does not convert, naming it, so the migration stops with nothing lost.
fn conversion(column: &str, from: FieldType, to: FieldType) -> String {
    let column = quote(column);
    let target = value_type(to);
    match (from, to) {
        (_, FieldType::Json) => format!("to_jsonb({column})"),
        (FieldType::Json, FieldType::String) => format!("{column} #>> '{{}}'"),
        (FieldType::Json, _) => format!("({column} #>> '{{}}')::{target}"),
        (FieldType::Bool, FieldType::Integer) => format!("{column}::integer::bigint"),
        (FieldType::Integer, FieldType::Bool) => format!(
            "CASE {column} WHEN 0 THEN false WHEN 1 THEN true ELSE ({column}::text)::boolean END"
        ),
        (FieldType::Integer, FieldType::Float) => format!("{column}::double precision"),
        // RFC 3339, as hamstr writes times everywhere else.
        (FieldType::DateTime, FieldType::String) => format!(
            "CASE WHEN date_trunc('second', {column}) = {column} \
             THEN to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
             ELSE to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') END"
        ),
        (_, FieldType::String) => format!("{column}::text"),
        (_, _) => format!("({column}::text)::{target}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Backend, CollectorId};

    /// The versions recorded in `table`.
    async fn versions(client: &Object, table: &str) -> Vec<i32> {
        client
            .query(
                &format!("SELECT version FROM {table} ORDER BY version"),
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<_, i32>(0))
            .collect()
    }

    /// A database made by an older hamstr (only the first migration) is brought up to date on
    /// the first operation of a newer one; one made by a newer hamstr is refused, saying so.
    #[tokio::test]
    async fn an_older_schema_is_upgraded_and_a_newer_one_refused() {
        // A schema of its own on the tests' server (see `scripts/test`).
        let server = std::env::var("HAMSTR_TEST_POSTGRES_URL").expect(
            "HAMSTR_TEST_POSTGRES_URL names the tests' PostgreSQL server: run `scripts/test`",
        );
        let schema = format!("hamstr_upgrade_{}", std::process::id());
        let separator = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{separator}schema={schema}");
        let older = Postgres::connect(&url).unwrap();
        let table = older.table("_hamstr_migrations");
        let mut client = older.inner.pool.get().await.unwrap();
        apply(&mut client, &schema, &MIGRATIONS[..1]).await.unwrap();
        assert_eq!(versions(&client, &table).await, [1]);

        let newer = Postgres::connect(&url).unwrap();
        let collector = CollectorId::new("shop", "orders");
        assert_eq!(newer.load_state(&collector).await.unwrap(), None);
        let client = newer.inner.pool.get().await.unwrap();
        assert_eq!(versions(&client, &table).await, [1, 2, 3, 4]);
        client
            .execute(
                &format!(
                    "INSERT INTO {table} (version, description, hamstr_version) VALUES (99, 'from the future', '9.9.9')"
                ),
                &[],
            )
            .await
            .unwrap();

        let error = Postgres::connect(&url)
            .unwrap()
            .load_state(&collector)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("made by a newer hamstr (migration 99"),
            "{error}"
        );
    }
}
