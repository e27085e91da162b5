//! Reading model tables back with SQL: one row by key, a page of a query, distinct values.
//!
//! Reads run on the writer thread, between commits (see `Sqlite::read` for why). Values are
//! always bound as parameters, names always quoted.

use rusqlite::{Connection, params_from_iter, types::Value as SqlValue};

use super::{COLUMNS_TABLE, quote, sql_value, store_error};
use crate::{
    backend::{
        BackendError, Continuation, Direction, Op, RowPage, added_fields,
        read::{Resolved, find_field},
        sql,
    },
    model::{Cell, Field, FieldType, Row, Schema},
};

/// The table of a model as a schema reads it.
struct Source {
    /// The table's quoted name.
    table: String,
    /// For each field of the schema, what to select: its column, or `NULL` for a field the table
    /// does not have yet (the model gained it and was not prepared again).
    columns: Vec<String>,
}

impl Source {
    /// The table of `schema`'s model; `None` when it was never prepared (so holds no rows).
    fn open(connection: &Connection, schema: &Schema) -> Result<Option<Self>, BackendError> {
        let table = schema.name();
        let stored = stored_schema(connection, table)
            .map_err(|error| store_error(format!("reading table `{table}`"), error))?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        // A field whose type changed cannot be read as the new type.
        added_fields(&stored, schema)?;
        let columns = schema
            .fields()
            .iter()
            .map(|field| match stored.field(field.name()) {
                Some(_) => quote(field.name()),
                None => "NULL".to_owned(),
            })
            .collect();
        Ok(Some(Self {
            table: quote(table),
            columns,
        }))
    }

    /// The expression that sorts and compares the field at `index` as [`Cell::total_cmp`] does.
    fn sort_key(&self, schema: &Schema, index: usize) -> String {
        sort_key(&self.columns[index], schema.fields()[index].field_type())
    }

    /// Runs `sql` and reads each result row as a row of `schema`.
    fn rows(
        &self,
        connection: &Connection,
        schema: &Schema,
        sql: &str,
        parameters: &[SqlValue],
    ) -> Result<Vec<Row>, BackendError> {
        let table = schema.name();
        let failed = |error| store_error(format!("reading table `{table}`"), error);
        let mut statement = connection.prepare(sql).map_err(failed)?;
        let values = statement
            .query_map(params_from_iter(parameters), |row| {
                (0..self.columns.len())
                    .map(|index| row.get::<_, SqlValue>(index))
                    .collect::<rusqlite::Result<Vec<SqlValue>>>()
            })
            .map_err(failed)?;
        let mut rows = Vec::new();
        for row in values {
            let row = row.map_err(failed)?;
            let cells = schema
                .fields()
                .iter()
                .zip(row)
                .map(|(field, value)| read_cell(field, value))
                .collect::<Result<Row, _>>()
                .map_err(|error| store_error(format!("reading table `{table}`"), error))?;
            rows.push(cells);
        }
        Ok(rows)
    }
}

/// Datetimes are stored as RFC 3339 with only the fraction digits they need (`…05Z`,
/// `…05.500Z`), and `.` sorts before `Z`: as text, half a second past would come first. This
/// pads the fraction to nine digits, which makes text order time order; bound datetimes are
/// written the same way ([`sort_value`]).
fn sort_key(column: &str, field_type: FieldType) -> String {
    match field_type {
        FieldType::DateTime => format!(
            "(substr({column}, 1, 19) || '.' || substr(replace(substr({column}, 21), 'Z', '') || '000000000', 1, 9))"
        ),
        _ => column.to_owned(),
    }
}

/// A cell as bound against a [`sort_key`]: datetimes as [`sort_key`] writes them.
fn sort_value(cell: &Cell) -> SqlValue {
    match cell {
        Cell::DateTime(value) => SqlValue::Text(value.format("%Y-%m-%dT%H:%M:%S%.9f").to_string()),
        cell => sql_value(cell),
    }
}

/// Adds `value` to `parameters` and returns its placeholder.
fn bind(parameters: &mut Vec<SqlValue>, value: SqlValue) -> String {
    parameters.push(value);
    format!("?{}", parameters.len())
}

pub(super) fn get_row(
    connection: &Connection,
    schema: &Schema,
    key: &[Cell],
) -> Result<Option<Row>, BackendError> {
    let Some(source) = Source::open(connection, schema)? else {
        return Ok(None);
    };
    let mut parameters = Vec::new();
    // The stored form itself, not the sort key: equal keys are stored as equal text, and the
    // primary key's index is used.
    let conditions: Vec<String> = schema
        .primary_key_indexes()
        .iter()
        .zip(key)
        .map(|(&index, cell)| {
            let placeholder = bind(&mut parameters, sql_value(cell));
            format!("{} = {placeholder}", source.columns[index])
        })
        .collect();
    let sql = format!(
        "SELECT {} FROM {} WHERE {}",
        source.columns.join(", "),
        source.table,
        conditions.join(" AND ")
    );
    Ok(source
        .rows(connection, schema, &sql, &parameters)?
        .into_iter()
        .next())
}

pub(super) fn query(
    connection: &Connection,
    schema: &Schema,
    query: &Resolved,
) -> Result<RowPage, BackendError> {
    let Some(source) = Source::open(connection, schema)? else {
        return Ok(RowPage::default());
    };
    let mut parameters = Vec::new();
    let mut conditions: Vec<String> = query
        .filters
        .iter()
        .map(|filter| {
            let column = source.sort_key(schema, filter.index);
            let operator = match (filter.op, &filter.value) {
                (Op::Eq, Cell::Null) => return format!("{column} IS NULL"),
                (Op::Ne, Cell::Null) => return format!("{column} IS NOT NULL"),
                // `IS NOT`, not `!=`: a null field differs from every value, as in memory.
                (Op::Ne, _) => "IS NOT",
                (op, _) => op.as_str(),
            };
            let placeholder = bind(&mut parameters, sort_value(&filter.value));
            format!("{column} {operator} {placeholder}")
        })
        .collect();
    let table = schema.name();
    let failed = |error| store_error(format!("counting rows of table `{table}`"), error);
    let where_clause = |conditions: &[String]| match conditions {
        [] => String::new(),
        conditions => format!(" WHERE ({})", conditions.join(") AND (")),
    };
    let count: i64 = connection
        .query_row(
            &format!(
                "SELECT COUNT(*) FROM {}{}",
                source.table,
                where_clause(&conditions)
            ),
            params_from_iter(&parameters),
            |row| row.get(0),
        )
        .map_err(failed)?;
    let is_descending = query.direction == Direction::Descending;
    let (direction, nulls) = if is_descending {
        ("DESC", "NULLS LAST")
    } else {
        ("ASC", "NULLS FIRST")
    };
    let keys: Vec<String> = schema
        .primary_key_indexes()
        .iter()
        .map(|&index| source.sort_key(schema, index))
        .collect();
    if let Some(position) = &query.after {
        let order = query
            .order_index
            .map(|index| source.sort_key(schema, index));
        conditions.push(sql::keyset_after(
            query,
            position,
            &keys,
            order,
            &mut |cell| bind(&mut parameters, sort_value(cell)),
        ));
    }
    let mut order: Vec<String> = keys
        .iter()
        .map(|key| format!("{key} {direction}"))
        .collect();
    if let Some(index) = query.order_index {
        order.insert(
            0,
            format!("{} {direction} {nulls}", source.sort_key(schema, index)),
        );
    }
    // One row more than the page tells whether another page follows.
    let limit = bind(
        &mut parameters,
        SqlValue::Integer(i64::try_from(query.limit.saturating_add(1)).unwrap_or(i64::MAX)),
    );
    let sql = format!(
        "SELECT {} FROM {}{} ORDER BY {} LIMIT {limit}",
        source.columns.join(", "),
        source.table,
        where_clause(&conditions),
        order.join(", ")
    );
    let mut rows = source.rows(connection, schema, &sql, &parameters)?;
    let has_more = rows.len() > query.limit;
    rows.truncate(query.limit);
    let next = rows
        .last()
        .filter(|_| has_more)
        .map(|last| Continuation::at_row(schema, query.order_index, query.direction, last));
    Ok(RowPage {
        rows,
        count: usize::try_from(count).unwrap_or(0),
        next,
    })
}

pub(super) fn distinct(
    connection: &Connection,
    schema: &Schema,
    field: &str,
) -> Result<Vec<Cell>, BackendError> {
    let (index, _) = find_field(schema, field, "list the values of")?;
    let Some(source) = Source::open(connection, schema)? else {
        return Ok(Vec::new());
    };
    let column = &source.columns[index];
    let sql = format!(
        "SELECT DISTINCT {column} FROM {} WHERE {column} IS NOT NULL ORDER BY {}",
        source.table,
        source.sort_key(schema, index)
    );
    let table = schema.name();
    let failed = |error| store_error(format!("reading table `{table}`"), error);
    let mut statement = connection.prepare(&sql).map_err(failed)?;
    let values = statement
        .query_map([], |row| row.get::<_, SqlValue>(0))
        .map_err(failed)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed)?;
    let field = &schema.fields()[index];
    values
        .into_iter()
        .map(|value| read_cell(field, value))
        .collect::<Result<_, _>>()
        .map_err(|error| store_error(format!("reading table `{table}`"), error))
}

/// A stored value that is not of its column's field type (the file was changed by hand).
#[derive(Debug, thiserror::Error)]
#[error("column `{column}` holds {value}, which is no {field_type}")]
pub(super) struct StoredValueError {
    column: String,
    value: String,
    field_type: FieldType,
}

/// A stored value as a cell of `field`, the reverse of [`sql_value`].
pub(super) fn read_cell(field: &Field, value: SqlValue) -> Result<Cell, StoredValueError> {
    let cell = match (field.field_type(), &value) {
        (_, SqlValue::Null) => Some(Cell::Null),
        (FieldType::Bool, SqlValue::Integer(number)) => Some(Cell::Bool(*number != 0)),
        (FieldType::Integer, SqlValue::Integer(number)) => Some(Cell::Integer(*number)),
        // An integer beyond 64 bits was stored as a float.
        (FieldType::Integer | FieldType::Float, SqlValue::Real(number)) => {
            Some(Cell::Float(*number))
        }
        (FieldType::Float, SqlValue::Integer(number)) => Some(Cell::Float(*number as f64)),
        (FieldType::String, SqlValue::Text(text)) => Some(Cell::String(text.clone())),
        (FieldType::Json, SqlValue::Text(text)) => Some(Cell::Json(text.clone())),
        (FieldType::DateTime, SqlValue::Text(text)) => chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|value| Cell::DateTime(value.with_timezone(&chrono::Utc))),
        (FieldType::Date, SqlValue::Text(text)) => text.parse().ok().map(Cell::Date),
        _ => None,
    };
    cell.ok_or_else(|| StoredValueError {
        column: field.name().to_owned(),
        value: match value {
            SqlValue::Text(text) => format!("`{}`", crate::text::excerpt(&text, 40)),
            SqlValue::Blob(bytes) => format!("a blob of {} bytes", bytes.len()),
            other => format!("{other:?}"),
        },
        field_type: field.field_type(),
    })
}

/// The schema the table was made for, from hamstr's column records.
pub(super) fn stored_schema(
    connection: &Connection,
    table: &str,
) -> rusqlite::Result<Option<Schema>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT column_name, field_type, is_primary_key FROM {COLUMNS_TABLE} WHERE table_name = ?1 ORDER BY position"
    ))?;
    let columns: Vec<(String, String, bool)> = statement
        .query_map([table], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if columns.is_empty() {
        return Ok(None);
    }
    let mut builder = Schema::builder(table);
    let mut key = Vec::new();
    for (name, field_type, is_key) in columns {
        let field_type = FieldType::parse(&field_type).unwrap_or(FieldType::Json);
        builder = if is_key {
            key.push(name.clone());
            builder.field(name, field_type)
        } else {
            builder.nullable(name, field_type)
        };
    }
    Ok(builder.primary_key(key).build().ok())
}
