//! `hamstr migrate` for SQLite: a model's table changed where `prepare` cannot change it.
//!
//! SQLite cannot change a column's type or a table's key in place, so such a table is rebuilt:
//! a new table, every row copied with its changed values converted as a record's JSON would be
//! decoded into the new type ([`Cell::convert`]), the old table dropped, the new one renamed.

use rusqlite::{Connection, params_from_iter};

use super::{
    COLUMNS_TABLE, create_table, quote,
    read::{read_cell, stored_schema},
    sql_value, store_error,
};
use crate::{
    backend::{BackendError, Change, TablePlan, migration, sql},
    model::{Field, FieldType, Schema},
};

/// The name a table is rebuilt under before it takes its own.
const REBUILT: &str = "_hamstr_migrating";

/// Each model's [`TablePlan`] against the tables as they are now.
pub(super) fn plan_tables(
    connection: &Connection,
    schemas: &[Schema],
) -> Result<Vec<TablePlan>, BackendError> {
    schemas
        .iter()
        .map(|schema| {
            let stored = stored_schema(connection, schema.name()).map_err(|error| {
                store_error(format!("reading table `{}`", schema.name()), error)
            })?;
            Ok(table_plan(stored.as_ref(), schema))
        })
        .collect()
}

/// Whether the table must be rebuilt (a type or key change), not only altered.
fn is_rebuilt(plan: &TablePlan) -> bool {
    plan.changes
        .iter()
        .any(|change| matches!(change, Change::ChangeType { .. } | Change::ChangeKey { .. }))
}

fn table_plan(stored: Option<&Schema>, wanted: &Schema) -> TablePlan {
    let changes = migration::changes(stored, wanted);
    let table = quote(wanted.name());
    let migrated = migration::migrated_schema(stored, wanted);
    let mut plan = TablePlan {
        table: wanted.name().to_owned(),
        changes,
        statements: Vec::new(),
    };
    if is_rebuilt(&plan) {
        let columns: Vec<String> = migrated
            .fields()
            .iter()
            .filter(|field| stored.is_some_and(|stored| stored.field(field.name()).is_some()))
            .map(|field| quote(field.name()))
            .collect();
        plan.statements = vec![
            create_table(&migrated, &quote(REBUILT)),
            format!(
                "INSERT INTO {} ({columns}) SELECT {columns} FROM {table} -- each changed value converted as a record's would be",
                quote(REBUILT),
                columns = columns.join(", ")
            ),
            format!("DROP TABLE {table}"),
            format!("ALTER TABLE {} RENAME TO {table}", quote(REBUILT)),
        ];
    } else {
        for change in &plan.changes {
            match change {
                Change::CreateTable => plan.statements.push(create_table(wanted, &table)),
                Change::AddColumn { column, field_type } => plan.statements.push(format!(
                    "ALTER TABLE {table} ADD COLUMN {} {}",
                    quote(column),
                    super::column_type(*field_type)
                )),
                _ => {}
            }
        }
    }
    if !plan.statements.is_empty() {
        plan.statements
            .extend(sql::record_columns(COLUMNS_TABLE, &migrated));
    }
    plan
}

/// Plans again and runs every plan in one transaction: all of them, or none.
pub(super) fn migrate_tables(
    connection: &mut Connection,
    schemas: &[Schema],
) -> Result<Vec<TablePlan>, BackendError> {
    let transaction = connection
        .transaction()
        .map_err(|error| store_error("starting a migration", error))?;
    let mut plans = Vec::new();
    for schema in schemas {
        let table = schema.name();
        let failed = |error| {
            store_error(
                format!("migrating table `{table}` (nothing was changed)"),
                error,
            )
        };
        let stored = stored_schema(&transaction, table).map_err(failed)?;
        let plan = table_plan(stored.as_ref(), schema);
        for (index, statement) in plan.statements.iter().enumerate() {
            match (stored.as_ref(), is_rebuilt(&plan) && index == 1) {
                (Some(stored), true) => copy_rows(&transaction, stored, schema)?,
                _ => transaction.execute_batch(statement).map_err(failed)?,
            }
        }
        plans.push(plan);
    }
    transaction
        .commit()
        .map_err(|error| store_error("committing a migration", error))?;
    Ok(plans)
}

/// Copies every row of the table into the rebuilt one, converting the values of fields whose
/// type changed; the first that does not convert stops the migration, naming it.
fn copy_rows(
    connection: &Connection,
    stored: &Schema,
    wanted: &Schema,
) -> Result<(), BackendError> {
    let table = wanted.name();
    let operation = format!("migrating table `{table}` (nothing was changed)");
    let failed = |error| store_error(operation.clone(), error);
    let migrated = migration::migrated_schema(Some(stored), wanted);
    // The stored fields the rebuilt table keeps, and the type each becomes.
    let copied: Vec<(&Field, FieldType)> = migrated
        .fields()
        .iter()
        .filter_map(|field| {
            let (_, old) = stored.field(field.name())?;
            Some((old, field.field_type()))
        })
        .collect();
    let columns: Vec<String> = copied
        .iter()
        .map(|(field, _)| quote(field.name()))
        .collect();
    let placeholders: Vec<String> = (1..=columns.len())
        .map(|index| format!("?{index}"))
        .collect();
    let mut insert = connection
        .prepare(&format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote(REBUILT),
            columns.join(", "),
            placeholders.join(", ")
        ))
        .map_err(failed)?;
    let mut select = connection
        .prepare(&format!(
            "SELECT {} FROM {}",
            columns.join(", "),
            quote(table)
        ))
        .map_err(failed)?;
    let mut rows = select.query([]).map_err(failed)?;
    while let Some(row) = rows.next().map_err(failed)? {
        let mut cells = Vec::with_capacity(copied.len());
        for (index, (field, to)) in copied.iter().enumerate() {
            let value = row.get(index).map_err(failed)?;
            let cell =
                read_cell(field, value).map_err(|error| store_error(operation.clone(), error))?;
            let cell = if field.field_type() == *to {
                cell
            } else {
                cell.convert(*to).map_err(|reason| {
                    store_error(
                        operation.clone(),
                        std::io::Error::other(format!(
                            "column `{}`: {} cannot become {to}: {reason}",
                            field.name(),
                            crate::text::excerpt(&cell.to_json().to_string(), 40)
                        )),
                    )
                })?
            };
            cells.push(sql_value(&cell));
        }
        insert.execute(params_from_iter(&cells)).map_err(failed)?;
    }
    Ok(())
}
