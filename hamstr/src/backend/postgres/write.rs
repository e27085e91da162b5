//! Making a model's table and storing batches into it.

use std::cmp::Ordering;

use deadpool_postgres::{GenericClient, Object};
use futures_util::pin_mut;
use tokio_postgres::{binary_copy::BinaryCopyInWriter, types::ToSql};

use super::{
    Failure, Postgres,
    cell::{CellRef, column_type, sql_type, value_type},
    quote,
};
use crate::{
    backend::{BackendError, Batch, Committed, added_fields, sql},
    model::{Cell, FieldType, Schema},
};

/// From this many rows a batch goes through binary `COPY` and a temporary table; below it, one
/// statement binds each column as an array.
pub(super) const COPY_ROWS: usize = 512;

/// PostgreSQL cuts longer names short, so two names could become one.
const MAX_NAME_BYTES: usize = 63;

/// `CREATE TABLE` for `schema`'s model in its schema, in PostgreSQL's column types.
pub(super) fn create_table(store: &Postgres, schema: &Schema) -> String {
    sql::create_table(schema, &store.table(schema.name()), column_type)
}

/// The schema a table was made for, from hamstr's column records; `None` for no table.
pub(super) async fn stored_schema(
    client: &impl GenericClient,
    store: &Postgres,
    table: &str,
) -> Result<Option<Schema>, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT column_name, field_type, is_primary_key FROM {} WHERE table_name = $1 ORDER BY position",
            store.table("_hamstr_columns")
        ))
        .await?;
    let columns = client.query(&statement, &[&table]).await?;
    if columns.is_empty() {
        return Ok(None);
    }
    let mut builder = Schema::builder(table);
    let mut key = Vec::new();
    for column in columns {
        let name: String = column.get(0);
        let field_type = FieldType::parse(column.get(1)).unwrap_or(FieldType::Json);
        builder = if column.get(2) {
            key.push(name.clone());
            builder.field(name, field_type)
        } else {
            builder.nullable(name, field_type)
        };
    }
    Ok(builder.primary_key(key).build().ok())
}

pub(super) async fn prepare(
    client: &mut Object,
    store: &Postgres,
    schema: &Schema,
) -> Result<(), Failure> {
    let table = schema.name();
    for name in std::iter::once(table).chain(schema.fields().iter().map(|field| field.name())) {
        if name.len() > MAX_NAME_BYTES {
            return Err(BackendError::Incompatible {
                table: table.to_owned(),
                field: name.to_owned(),
                reason: format!(
                    "is {} bytes long; PostgreSQL names are at most {MAX_NAME_BYTES} bytes (rename it in the model)",
                    name.len()
                ),
            }
            .into());
        }
    }
    let transaction = client.transaction().await?;
    // Two processes preparing the same new table take turns.
    transaction
        .execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('hamstr table ' || $1 || '.' || $2, 0))",
            &[&store.schema(), &table],
        )
        .await?;
    let stored = stored_schema(&transaction, store, table).await?;
    let added = match &stored {
        None => {
            transaction
                .batch_execute(&create_table(store, schema))
                .await?;
            schema.fields().iter().collect()
        }
        Some(stored) => {
            let added = added_fields(stored, schema)?;
            for field in &added {
                // Added columns are nullable: the rows already stored have no value for them.
                transaction
                    .batch_execute(&format!(
                        "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}",
                        store.table(table),
                        quote(field.name()),
                        column_type(field.field_type())
                    ))
                    .await?;
            }
            added
        }
    };
    let offset = stored.as_ref().map_or(0, |stored| stored.fields().len());
    let record = transaction
        .prepare_cached(&format!(
            "INSERT INTO {} VALUES ($1, $2, $3, $4, $5)",
            store.table("_hamstr_columns")
        ))
        .await?;
    for (position, field) in added.iter().enumerate() {
        let is_key = schema.primary_key().any(|key| key.name() == field.name());
        let position = i32::try_from(offset + position).unwrap_or(i32::MAX);
        transaction
            .execute(
                &record,
                &[
                    &table,
                    &field.name(),
                    &field.field_type().as_str(),
                    &is_key,
                    &position,
                ],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// The rows of a batch in rounds that each hold a primary key at most once: the first row of
/// every key, then the second of those that repeat, and so on. One merge per round gives what
/// a row-by-row upsert gives, counts included (`ON CONFLICT` cannot touch a row twice in one
/// statement). Nearly every batch is one round.
#[derive(Debug)]
pub(super) struct Rounds(Vec<Vec<usize>>);

impl Rounds {
    pub(super) fn of(batch: &Batch) -> Self {
        let key = batch.schema.primary_key_indexes();
        let compare_keys = |left: usize, right: usize| {
            key.iter()
                .map(|&index| batch.rows[left][index].total_cmp(&batch.rows[right][index]))
                .find(|ordering| ordering.is_ne())
                .unwrap_or(Ordering::Equal)
        };
        let mut order: Vec<usize> = (0..batch.rows.len()).collect();
        // Stable: the rows of one key stay in batch order.
        order.sort_by(|&left, &right| compare_keys(left, right));
        let mut round_of = vec![0; batch.rows.len()];
        for pair in order.windows(2) {
            if compare_keys(pair[0], pair[1]).is_eq() {
                round_of[pair[1]] = round_of[pair[0]] + 1;
            }
        }
        let count = round_of.iter().max().map_or(0, |last| last + 1);
        let mut rounds = vec![Vec::new(); count];
        for (index, round) in round_of.into_iter().enumerate() {
            rounds[round].push(index);
        }
        Self(rounds)
    }
}

pub(super) async fn commit(
    client: &mut Object,
    store: &Postgres,
    batch: &Batch,
    rounds: &Rounds,
) -> Result<Committed, Failure> {
    let schema = &batch.schema;
    let transaction = client.transaction().await?;
    if let Some(fence) = store.fence(&batch.collector) {
        super::lease::check_fence(&transaction, store, &batch.collector, &fence).await?;
    }
    let mut committed = Committed::default();
    for (round, indexes) in rounds.0.iter().enumerate() {
        let rows: Vec<&[Cell]> = indexes
            .iter()
            .map(|&index| batch.rows[index].as_slice())
            .collect();
        let written = if rows.len() >= COPY_ROWS {
            copy_and_merge(&transaction, store, schema, &rows, round).await
        } else {
            merge_arrays(&transaction, store, schema, &rows).await
        };
        let written = written.map_err(|failure| {
            if failure.is_missing_table() {
                Failure::Backend(BackendError::NotPrepared {
                    table: schema.name().to_owned(),
                })
            } else {
                failure
            }
        })?;
        committed.inserted += written.inserted;
        committed.updated += written.updated;
        committed.unchanged += written.unchanged;
    }
    if let Some(state) = &batch.state {
        let state = serde_json::to_value(state).expect("a state always serializes");
        let statement = transaction
            .prepare_cached(&format!(
                "INSERT INTO {} (service, collector, state, updated_at) VALUES ($1, $2, $3, now())
                 ON CONFLICT (service, collector) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                store.table("_hamstr_state")
            ))
            .await?;
        transaction
            .execute(
                &statement,
                &[&batch.collector.service, &batch.collector.collector, &state],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(committed)
}

/// `INSERT … {source} ON CONFLICT (key) DO UPDATE … WHERE … IS DISTINCT FROM …`, returning
/// for each row written whether it was new; a row that would not change is not written.
fn merge_statement(store: &Postgres, schema: &Schema, source: &str) -> String {
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|field| quote(field.name()))
        .collect();
    let key = schema.primary_key_indexes();
    let keys: Vec<&str> = key.iter().map(|&index| columns[index].as_str()).collect();
    let others: Vec<&str> = (0..columns.len())
        .filter(|index| !key.contains(index))
        .map(|index| columns[index].as_str())
        .collect();
    let on_conflict = if others.is_empty() {
        "DO NOTHING".to_owned()
    } else {
        let sets: Vec<String> = others
            .iter()
            .map(|column| format!("{column} = EXCLUDED.{column}"))
            .collect();
        let stored: Vec<String> = others
            .iter()
            .map(|column| format!("stored.{column}"))
            .collect();
        let incoming: Vec<String> = others
            .iter()
            .map(|column| format!("EXCLUDED.{column}"))
            .collect();
        format!(
            "DO UPDATE SET {} WHERE ROW({}) IS DISTINCT FROM ROW({})",
            sets.join(", "),
            stored.join(", "),
            incoming.join(", ")
        )
    };
    // `xmax = 0` on the returned row: it was inserted, not updated.
    format!(
        "INSERT INTO {} AS stored ({}) {source} ON CONFLICT ({}) {on_conflict} RETURNING (xmax = 0)",
        store.table(schema.name()),
        columns.join(", "),
        keys.join(", "),
    )
}

/// Counts from the rows a merge returned, of `sent` rows.
fn counts(returned: &[tokio_postgres::Row], sent: usize) -> Committed {
    let inserted = returned.iter().filter(|row| row.get::<_, bool>(0)).count();
    Committed {
        inserted,
        updated: returned.len() - inserted,
        unchanged: sent - returned.len(),
    }
}

/// A small batch: one statement, each column bound as an array and `unnest`ed.
async fn merge_arrays(
    client: &impl GenericClient,
    store: &Postgres,
    schema: &Schema,
    rows: &[&[Cell]],
) -> Result<Committed, Failure> {
    let arrays: Vec<String> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(index, field)| format!("${}::{}[]", index + 1, value_type(field.field_type())))
        .collect();
    let source = format!("SELECT * FROM unnest({})", arrays.join(", "));
    let statement = client
        .prepare_cached(&merge_statement(store, schema, &source))
        .await?;
    let columns: Vec<Vec<CellRef<'_>>> = (0..schema.fields().len())
        .map(|index| rows.iter().map(|row| CellRef(&row[index])).collect())
        .collect();
    let parameters: Vec<&(dyn ToSql + Sync)> = columns
        .iter()
        .map(|column| column as &(dyn ToSql + Sync))
        .collect();
    let returned = client.query(&statement, &parameters).await?;
    Ok(counts(&returned, rows.len()))
}

/// A large batch: binary `COPY` into a temporary table, then one merge from it.
async fn copy_and_merge(
    transaction: &deadpool_postgres::Transaction<'_>,
    store: &Postgres,
    schema: &Schema,
    rows: &[&[Cell]],
    round: usize,
) -> Result<Committed, Failure> {
    let incoming = format!("hamstr_incoming_{round}");
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|field| quote(field.name()))
        .collect();
    let definitions: Vec<String> = schema
        .fields()
        .iter()
        .zip(&columns)
        .map(|(field, column)| format!("{column} {}", column_type(field.field_type())))
        .collect();
    transaction
        .batch_execute(&format!(
            "CREATE TEMPORARY TABLE {incoming} ({}) ON COMMIT DROP",
            definitions.join(", ")
        ))
        .await?;
    let sink = transaction
        .copy_in(&format!(
            "COPY {incoming} ({}) FROM STDIN (FORMAT binary)",
            columns.join(", ")
        ))
        .await?;
    let types: Vec<_> = schema
        .fields()
        .iter()
        .map(|field| sql_type(field.field_type()))
        .collect();
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for row in rows {
        let values: Vec<CellRef<'_>> = row.iter().map(CellRef).collect();
        writer.as_mut().write_raw(values).await?;
    }
    writer.finish().await?;
    let source = format!("SELECT {} FROM {incoming}", columns.join(", "));
    let returned = transaction
        .query(&merge_statement(store, schema, &source), &[])
        .await?;
    Ok(counts(&returned, rows.len()))
}
