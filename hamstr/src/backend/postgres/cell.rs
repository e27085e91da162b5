//! Cells to and from PostgreSQL's binary format: each field type's column type, and the
//! wrappers that bind a [`Cell`] as a parameter or a `COPY` value and read one back.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use crate::model::{Cell, Field, FieldType};

type BoxError = Box<dyn Error + Sync + Send>;

/// The type a value of `field_type` is bound and cast as.
pub(super) fn value_type(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Integer => "bigint",
        FieldType::Float => "double precision",
        FieldType::Bool => "boolean",
        FieldType::DateTime => "timestamptz",
        FieldType::Date => "date",
        FieldType::Json => "jsonb",
        FieldType::String => "text",
    }
}

/// The column type a field is stored as: its value type, text sorted by byte (as hamstr
/// compares strings, and as the index can serve keyset pages).
pub(super) fn column_type(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::String => "text COLLATE \"C\"",
        other => value_type(other),
    }
}

/// The driver's type of a field's column.
pub(super) fn sql_type(field_type: FieldType) -> Type {
    match field_type {
        FieldType::Integer => Type::INT8,
        FieldType::Float => Type::FLOAT8,
        FieldType::Bool => Type::BOOL,
        FieldType::DateTime => Type::TIMESTAMPTZ,
        FieldType::Date => Type::DATE,
        FieldType::Json => Type::JSONB,
        FieldType::String => Type::TEXT,
    }
}

/// A cell bound as a parameter or written by `COPY`, in its column's binary form.
#[derive(Debug, Clone, Copy)]
pub(super) struct CellRef<'a>(pub(super) &'a Cell);

/// A value that its column's type cannot hold.
#[derive(Debug, thiserror::Error)]
#[error("{value} does not fit a {column} column")]
struct DoesNotFit {
    value: String,
    column: Type,
}

impl ToSql for CellRef<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let does_not_fit = || -> BoxError {
            Box::new(DoesNotFit {
                value: crate::text::excerpt(&self.0.to_json().to_string(), 40),
                column: ty.clone(),
            })
        };
        match (self.0, ty) {
            (Cell::Null, _) => Ok(IsNull::Yes),
            (Cell::Bool(value), &Type::BOOL) => value.to_sql(ty, out),
            (Cell::Integer(value), &Type::INT8) => value.to_sql(ty, out),
            (Cell::Integer(value), &Type::FLOAT8) => (*value as f64).to_sql(ty, out),
            (Cell::Float(value), &Type::FLOAT8) => value.to_sql(ty, out),
            (Cell::String(text), &Type::TEXT) => text.as_str().to_sql(ty, out),
            (Cell::Json(text), &Type::JSONB) => {
                // jsonb's binary form: a version byte, then the text.
                out.put_u8(1);
                out.put_slice(text.as_bytes());
                Ok(IsNull::No)
            }
            (Cell::Json(text), &Type::JSON | &Type::TEXT) => text.as_str().to_sql(&Type::TEXT, out),
            (Cell::DateTime(value), &Type::TIMESTAMPTZ) => value.to_sql(ty, out),
            (Cell::Date(value), &Type::DATE) => value.to_sql(ty, out),
            _ => Err(does_not_fit()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::BOOL
                | Type::INT8
                | Type::FLOAT8
                | Type::TEXT
                | Type::JSON
                | Type::JSONB
                | Type::TIMESTAMPTZ
                | Type::DATE
        )
    }

    to_sql_checked!();
}

/// JSON as stored (`json` or `jsonb`), read back as its text.
struct JsonText(String);

impl<'a> FromSql<'a> for JsonText {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let text = match (ty, raw.split_first()) {
            (&Type::JSONB, Some((1, text))) => text,
            (&Type::JSONB, _) => return Err("unknown jsonb version".into()),
            _ => raw,
        };
        Ok(Self(std::str::from_utf8(text)?.to_owned()))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::JSON | Type::JSONB)
    }
}

/// The cell of `field` at `index` of a result row.
pub(super) fn read_cell(
    row: &tokio_postgres::Row,
    index: usize,
    field: &Field,
) -> Result<Cell, tokio_postgres::Error> {
    fn cell<'a, T: FromSql<'a>>(
        row: &'a tokio_postgres::Row,
        index: usize,
        wrap: impl FnOnce(T) -> Cell,
    ) -> Result<Cell, tokio_postgres::Error> {
        Ok(row.try_get::<_, Option<T>>(index)?.map_or(Cell::Null, wrap))
    }
    match field.field_type() {
        FieldType::Integer => cell(row, index, Cell::Integer),
        FieldType::Float => cell(row, index, Cell::Float),
        FieldType::Bool => cell(row, index, Cell::Bool),
        FieldType::DateTime => cell(row, index, |value: DateTime<Utc>| Cell::DateTime(value)),
        FieldType::Date => cell(row, index, |value: NaiveDate| Cell::Date(value)),
        FieldType::Json => cell(row, index, |JsonText(text)| Cell::Json(text)),
        FieldType::String => cell(row, index, Cell::String),
    }
}
