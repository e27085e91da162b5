//! SQL the two SQL stores (SQLite, PostgreSQL) write alike: quoted names and literals, a
//! model's `CREATE TABLE`, the keyset condition of a page's continuation.

use super::{Direction, Position, read::Resolved};
use crate::model::{Cell, FieldType, Schema};

/// `"name"`, quotes doubled: an identifier in SQL (table, column, schema names come from users).
pub(in crate::backend) fn quote_name(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'`, quotes doubled: a string literal in SQL, for statements shown to people.
pub(in crate::backend) fn quote_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `CREATE TABLE IF NOT EXISTS table (...)` for `schema`'s model, `table` already quoted (and
/// qualified), each column of the store's `column_type`. Only key columns are NOT NULL: the model
/// already refuses a record without a required field, and a field the model later drops must
/// not make every insert fail on a NOT NULL column no row writes anymore.
pub(in crate::backend) fn create_table(
    schema: &Schema,
    table: &str,
    column_type: fn(FieldType) -> &'static str,
) -> String {
    let mut columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|field| {
            let is_key = schema.primary_key().any(|key| key.name() == field.name());
            let not_null = if is_key { " NOT NULL" } else { "" };
            format!(
                "{} {}{not_null}",
                quote_name(field.name()),
                column_type(field.field_type())
            )
        })
        .collect();
    let key: Vec<String> = schema
        .primary_key()
        .map(|field| quote_name(field.name()))
        .collect();
    columns.push(format!("PRIMARY KEY ({})", key.join(", ")));
    format!(
        "CREATE TABLE IF NOT EXISTS {table} ({})",
        columns.join(", ")
    )
}

/// The statements that record `schema` as its table's columns in hamstr's column table
/// (`columns`, quoted): the table's rows there replaced by one per field, in order.
pub(in crate::backend) fn record_columns(columns: &str, schema: &Schema) -> [String; 2] {
    let name = quote_text(schema.name());
    let rows: Vec<String> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(position, field)| {
            let is_key = schema.primary_key().any(|key| key.name() == field.name());
            format!(
                "({name}, {}, {}, {is_key}, {position})",
                quote_text(field.name()),
                quote_text(field.field_type().as_str())
            )
        })
        .collect();
    [
        format!("DELETE FROM {columns} WHERE table_name = {name}"),
        format!("INSERT INTO {columns} VALUES {}", rows.join(", ")),
    ]
}

/// The condition for rows strictly after `position` in the query's order: `keys` are the
/// primary key's sort expressions, `order` the order field's (when there is one), `bind` adds a
/// value and returns its placeholder.
///
/// Written out rather than as one row comparison: `(a, b) > (NULL, 1)` is NULL in SQL, while
/// here null is the lowest value (first ascending, last descending) and must compare.
pub(in crate::backend) fn keyset_after(
    query: &Resolved,
    position: &Position,
    keys: &[String],
    order: Option<String>,
    bind: &mut dyn FnMut(&Cell) -> String,
) -> String {
    let is_descending = query.direction == Direction::Descending;
    let beyond = if is_descending { "<" } else { ">" };
    // Key cells are never null, so a row comparison is right for them.
    let key_values: Vec<String> = position.key.iter().map(&mut *bind).collect();
    let key_after = format!("({}) {beyond} ({})", keys.join(", "), key_values.join(", "));
    let (Some(column), Some(value)) = (order, &position.value) else {
        return key_after;
    };
    match (value, is_descending) {
        // Ascending from null: the other nulls after this key, then every value.
        (Cell::Null, false) => {
            format!("({column} IS NULL AND {key_after}) OR {column} IS NOT NULL")
        }
        // Descending from null: nulls come last, so only the other nulls after this key.
        (Cell::Null, true) => format!("{column} IS NULL AND {key_after}"),
        (value, false) => {
            let value = bind(value);
            format!("{column} > {value} OR ({column} = {value} AND {key_after})")
        }
        (value, true) => {
            let value = bind(value);
            format!(
                "{column} < {value} OR {column} IS NULL OR ({column} = {value} AND {key_after})"
            )
        }
    }
}
