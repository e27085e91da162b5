//! One line of a model's log: a row written as one JSON object, and read back.

use std::hash::{BuildHasher, Hash, Hasher};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::value::RawValue;

use crate::model::{Cell, FieldType, Row, Schema};

/// The hasher of keys and lines: fast on text (a line is hundreds of bytes), and the same in
/// every process (the hashes are only compared within one, rebuilt from the file on start).
fn hasher() -> impl Hasher {
    foldhash::fast::FixedState::default().build_hasher()
}

/// [`record_key`] of a row about to be written: the same hash as its line gives when read back.
/// `scratch` is reused from row to row: the usual keys (integers, text) are written into it
/// without a `serde_json::Value` or a `String` for each.
pub(super) fn row_key(schema: &Schema, row: &[Cell], scratch: &mut Vec<u8>) -> u64 {
    let mut hasher = hasher();
    for &index in schema.primary_key_indexes() {
        let cell = &row[index];
        scratch.clear();
        match cell {
            // Written as `serde_json::Value::to_string` writes them, which is what a line read
            // back gives.
            Cell::Integer(_) | Cell::String(_) => {
                serde_json::to_writer(&mut *scratch, &JsonCell(cell)).expect("a key is written");
            }
            _ => scratch.extend_from_slice(cell.to_json().to_string().as_bytes()),
        }
        std::str::from_utf8(scratch)
            .expect("JSON is UTF-8")
            .hash(&mut hasher);
    }
    hasher.finish()
}

/// A row as one JSON object, field names in schema order.
pub(super) struct JsonRow<'a> {
    pub(super) schema: &'a Schema,
    pub(super) row: &'a [Cell],
}

impl serde::Serialize for JsonRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(self.row.len()))?;
        for (field, cell) in self.schema.fields().iter().zip(self.row) {
            map.serialize_entry(field.name(), &JsonCell(cell))?;
        }
        map.end()
    }
}

/// A cell as JSON, as [`Cell::to_json`] gives it, without building a value.
struct JsonCell<'a>(&'a Cell);

impl serde::Serialize for JsonCell<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Cell::Null => serializer.serialize_none(),
            Cell::Bool(value) => serializer.serialize_bool(*value),
            Cell::Integer(value) => serializer.serialize_i64(*value),
            Cell::Float(value) if value.is_finite() => serializer.serialize_f64(*value),
            Cell::Float(_) => serializer.serialize_none(),
            Cell::String(value) => serializer.serialize_str(value),
            Cell::DateTime(value) => {
                serializer.collect_str(&value.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }
            Cell::Date(value) => serializer.collect_str(value),
            // JSON text on one line is written as it is (a `RawValue` is copied verbatim); text
            // with line breaks (a pretty-printed API) is re-encoded, so a record stays one line.
            Cell::Json(text) if !text.contains(['\n', '\r']) => {
                match serde_json::from_str::<&serde_json::value::RawValue>(text) {
                    Ok(raw) => raw.serialize(serializer),
                    Err(_) => serializer.serialize_str(text),
                }
            }
            Cell::Json(_) => self.0.to_json().serialize(serializer),
        }
    }
}

pub(super) fn record_key(
    schema: &Schema,
    record: &serde_json::Map<String, serde_json::Value>,
) -> u64 {
    let mut hasher = hasher();
    for field in schema.primary_key() {
        match record.get(field.name()) {
            Some(value) => value.to_string().hash(&mut hasher),
            None => "null".hash(&mut hasher),
        }
    }
    hasher.finish()
}

/// The hash of a line's text, to tell a record written again unchanged.
pub(super) fn line_hash(line: &[u8]) -> u64 {
    let mut hasher = hasher();
    line.hash(&mut hasher);
    hasher.finish()
}

/// Why a complete line of a log is no row of its model.
#[derive(Debug, thiserror::Error)]
pub(super) enum LineError {
    /// The line is no JSON object.
    #[error("the line is no JSON object: {0}")]
    Json(serde_json::Error),
    /// A field's value is not of the field's type.
    #[error("field `{field}` holds `{value}`, which is no {field_type}")]
    Value {
        field: String,
        field_type: FieldType,
        value: String,
    },
}

/// A line as a row of `schema`, the reverse of [`JsonRow`]: a field the line lacks (added to the
/// model after the line was written) is null.
pub(super) fn read_row(schema: &Schema, line: &[u8]) -> Result<Row, LineError> {
    // Borrowed raw values: each is decoded once, straight into its field's type, and JSON text
    // is kept as written.
    let record: std::collections::HashMap<String, &RawValue> =
        serde_json::from_slice(line).map_err(LineError::Json)?;
    schema
        .fields()
        .iter()
        .map(|field| match record.get(field.name()) {
            None => Ok(Cell::Null),
            Some(raw) => {
                read_cell(field.field_type(), raw.get().trim()).ok_or_else(|| LineError::Value {
                    field: field.name().to_owned(),
                    field_type: field.field_type(),
                    value: crate::text::excerpt(raw.get(), 40),
                })
            }
        })
        .collect()
}

/// A JSON value (its text) as a cell of `field_type`, as [`JsonCell`] wrote it.
fn read_cell(field_type: FieldType, text: &str) -> Option<Cell> {
    if text == "null" {
        return Some(Cell::Null);
    }
    let string = || serde_json::from_str::<String>(text).ok();
    Some(match field_type {
        FieldType::String => Cell::String(string()?),
        // Parsed from the text as Rust does, which round-trips every float exactly; an integer
        // beyond 64 bits was written as a float.
        FieldType::Integer => match text.parse::<i64>() {
            Ok(value) => Cell::Integer(value),
            Err(_) => Cell::Float(text.parse::<f64>().ok()?),
        },
        FieldType::Float => Cell::Float(text.parse::<f64>().ok()?),
        FieldType::Bool => Cell::Bool(serde_json::from_str::<bool>(text).ok()?),
        FieldType::DateTime => Cell::DateTime(
            DateTime::parse_from_rfc3339(&string()?)
                .ok()?
                .with_timezone(&Utc),
        ),
        FieldType::Date => Cell::Date(string()?.parse::<NaiveDate>().ok()?),
        FieldType::Json => Cell::Json(text.to_owned()),
    })
}
