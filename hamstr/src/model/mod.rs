//! Models: the runtime description of a record type ([`Schema`]), the values of a stored row
//! ([`Cell`]), and the [`Model`] trait that turns a decoded record into a row.
//!
//! A Schema is the one description every path shares: `#[derive(Model)]` builds it at compile
//! time, a YAML model at load time, and every backend creates its storage from it.

mod decode;
mod dynamic;
mod order;

use std::{collections::BTreeMap, fmt, sync::Arc};

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;

pub use decode::DecodeError;
pub(crate) use decode::decode;
pub use derive::Storable;
pub use dynamic::{DynamicModel, DynamicModelBuilder, RowError};

/// The type of a field, as backends store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldType {
    /// Text.
    String,
    /// A whole number (64 bits).
    Integer,
    /// A floating-point number.
    Float,
    /// True or false.
    Bool,
    /// An instant, stored in UTC.
    DateTime,
    /// A calendar date.
    Date,
    /// Anything else (a nested object, a list), stored as JSON.
    Json,
}

impl FieldType {
    /// Every field type.
    pub const ALL: [FieldType; 7] = [
        Self::String,
        Self::Integer,
        Self::Float,
        Self::Bool,
        Self::DateTime,
        Self::Date,
        Self::Json,
    ];

    /// The type named `name` as [`as_str`](Self::as_str) writes it (`datetime`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|field_type| field_type.as_str() == name)
    }

    /// The type's name as written in YAML models and docs (`string`, `datetime`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Float => "float",
            Self::Bool => "bool",
            Self::DateTime => "datetime",
            Self::Date => "date",
            Self::Json => "json",
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One field of a [`Schema`]: a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    name: String,
    field_type: FieldType,
    is_nullable: bool,
}

impl Field {
    /// The field's (column's) name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its type.
    pub fn field_type(&self) -> FieldType {
        self.field_type
    }

    /// Whether it may be null.
    pub fn is_nullable(&self) -> bool {
        self.is_nullable
    }
}

/// The runtime description of a model: its name (the table's), fields in order, and a primary
/// key of one or several fields.
///
/// # Examples
/// ```
/// use hamstr::model::{FieldType, Schema};
/// let schema = Schema::builder("payments")
///     .field("id", FieldType::String)
///     .field("created_at", FieldType::DateTime)
///     .nullable("description", FieldType::String)
///     .primary_key(["id"])
///     .build()
///     .unwrap();
/// assert_eq!(schema.primary_key().map(|field| field.name()).collect::<Vec<_>>(), ["id"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    name: String,
    fields: Vec<Field>,
    primary_key: Vec<usize>,
}

impl Schema {
    /// Starts describing the model `name`.
    pub fn builder(name: impl Into<String>) -> SchemaBuilder {
        SchemaBuilder {
            name: name.into(),
            fields: Vec::new(),
            primary_key: Vec::new(),
        }
    }

    /// The model's name, which is its table's.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The fields, in row order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The primary key's fields, in key order.
    pub fn primary_key(&self) -> impl Iterator<Item = &Field> + '_ {
        self.primary_key.iter().map(|&index| &self.fields[index])
    }

    /// The positions of the primary key's fields in a row.
    pub fn primary_key_indexes(&self) -> &[usize] {
        &self.primary_key
    }

    /// The position and description of the field `name`.
    pub fn field(&self, name: &str) -> Option<(usize, &Field)> {
        self.fields
            .iter()
            .enumerate()
            .find(|(_, field)| field.name == name)
    }
}

/// Builds a [`Schema`]; see [`Schema::builder`].
#[derive(Debug, Clone)]
pub struct SchemaBuilder {
    name: String,
    fields: Vec<Field>,
    primary_key: Vec<String>,
}

impl SchemaBuilder {
    /// A field that must hold a value.
    pub fn field(self, name: impl Into<String>, field_type: FieldType) -> Self {
        self.column(name, field_type, false)
    }

    /// A field of `field_type`, null allowed or not.
    pub fn column(
        mut self,
        name: impl Into<String>,
        field_type: FieldType,
        is_nullable: bool,
    ) -> Self {
        self.fields.push(Field {
            name: name.into(),
            field_type,
            is_nullable,
        });
        self
    }

    /// A field that may be null.
    pub fn nullable(self, name: impl Into<String>, field_type: FieldType) -> Self {
        self.column(name, field_type, true)
    }

    /// The primary key: one or several field names.
    pub fn primary_key<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.primary_key = names.into_iter().map(Into::into).collect();
        self
    }

    /// Checks the description and builds the schema.
    ///
    /// # Errors
    /// A missing name, no field, a duplicate field, no primary key, a key naming no field, or a
    /// nullable key field.
    pub fn build(self) -> Result<Schema, SchemaError> {
        let model = self.name.clone();
        if self.name.trim().is_empty() {
            return Err(SchemaError::NoName);
        }
        if let Some(reason) = hamstr_tables::table_name_problem(&self.name) {
            return Err(SchemaError::BadName { model, reason });
        }
        if self.fields.is_empty() {
            return Err(SchemaError::NoFields { model });
        }
        for (index, field) in self.fields.iter().enumerate() {
            if self.fields[..index]
                .iter()
                .any(|earlier| earlier.name.eq_ignore_ascii_case(&field.name))
            {
                return Err(SchemaError::DuplicateField {
                    model,
                    field: field.name.clone(),
                });
            }
        }
        if self.primary_key.is_empty() {
            return Err(SchemaError::NoPrimaryKey { model });
        }
        let mut primary_key = Vec::new();
        for name in &self.primary_key {
            let Some(index) = self.fields.iter().position(|field| &field.name == name) else {
                return Err(SchemaError::UnknownKeyField {
                    model,
                    field: name.clone(),
                });
            };
            if self.fields[index].is_nullable {
                return Err(SchemaError::NullableKeyField {
                    model,
                    field: name.clone(),
                });
            }
            primary_key.push(index);
        }
        Ok(Schema {
            name: self.name,
            fields: self.fields,
            primary_key,
        })
    }
}

/// A model description that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The model has no name.
    #[error("a model needs a name")]
    NoName,
    /// The name cannot be a table's or a file's name: a reserved prefix, or a character that
    /// would take a file out of its folder.
    #[error("the model name `{model}` cannot be used: {reason}")]
    BadName {
        /// The model.
        model: String,
        /// Why, and what to write.
        reason: &'static str,
    },
    /// The model has no field.
    #[error("model `{model}` has no fields")]
    NoFields {
        /// The model.
        model: String,
    },
    /// Two fields share a name, compared without case as SQL compares column names.
    #[error(
        "model `{model}` has the field `{field}` twice (names that differ only in case are one column)"
    )]
    DuplicateField {
        /// The model.
        model: String,
        /// The field.
        field: String,
    },
    /// No primary key was given.
    #[error("model `{model}` has no primary key: name one or several fields")]
    NoPrimaryKey {
        /// The model.
        model: String,
    },
    /// The primary key names a field the model does not have.
    #[error("model `{model}` has no field `{field}` for its primary key")]
    UnknownKeyField {
        /// The model.
        model: String,
        /// The field.
        field: String,
    },
    /// A primary key field may be null.
    #[error("the primary key field `{field}` of model `{model}` cannot be nullable")]
    NullableKeyField {
        /// The model.
        model: String,
        /// The field.
        field: String,
    },
}

/// One value of a stored row.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
#[non_exhaustive]
pub enum Cell {
    /// No value.
    Null,
    /// A [`FieldType::Bool`].
    Bool(bool),
    /// A [`FieldType::Integer`].
    Integer(i64),
    /// A [`FieldType::Float`].
    Float(f64),
    /// A [`FieldType::String`].
    String(String),
    /// A [`FieldType::DateTime`].
    DateTime(DateTime<Utc>),
    /// A [`FieldType::Date`].
    Date(NaiveDate),
    /// A [`FieldType::Json`], as JSON text.
    Json(String),
}

impl Cell {
    /// The field type this cell is a value of; `None` for [`Cell::Null`], which fits any
    /// nullable field.
    pub fn field_type(&self) -> Option<FieldType> {
        Some(match self {
            Self::Null => return None,
            Self::Bool(_) => FieldType::Bool,
            Self::Integer(_) => FieldType::Integer,
            Self::Float(_) => FieldType::Float,
            Self::String(_) => FieldType::String,
            Self::DateTime(_) => FieldType::DateTime,
            Self::Date(_) => FieldType::Date,
            Self::Json(_) => FieldType::Json,
        })
    }

    /// The cell as a JSON value (dates as RFC 3339 text), for backends that write JSON.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Self::Null => Value::Null,
            Self::Bool(value) => Value::Bool(*value),
            Self::Integer(value) => Value::from(*value),
            Self::Float(value) => {
                serde_json::Number::from_f64(*value).map_or(Value::Null, Value::Number)
            }
            Self::String(value) => Value::String(value.clone()),
            Self::DateTime(value) => {
                Value::String(value.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }
            Self::Date(value) => Value::String(value.to_string()),
            Self::Json(text) => {
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
            }
        }
    }

    /// This value as a `field_type`, converted as a record's JSON value would be decoded into
    /// that type (`"42"` and `42` both become the integer 42, `"2026-01-02"` a date); nulls
    /// stay null.
    ///
    /// # Errors
    /// What does not fit, when the value has no such form (`"x"` as an integer).
    ///
    /// # Examples
    /// ```
    /// use hamstr::model::{Cell, FieldType};
    /// assert_eq!(Cell::String("42".into()).convert(FieldType::Integer), Ok(Cell::Integer(42)));
    /// assert_eq!(Cell::Integer(7).convert(FieldType::Float), Ok(Cell::Float(7.0)));
    /// assert!(Cell::String("x".into()).convert(FieldType::Integer).is_err());
    /// ```
    pub fn convert(&self, field_type: FieldType) -> Result<Cell, String> {
        match self {
            Self::Null => Ok(Self::Null),
            Self::Json(text) if field_type == FieldType::Json => Ok(Self::Json(text.clone())),
            cell => {
                let text = cell.to_json().to_string();
                let raw = serde_json::value::RawValue::from_string(text)
                    .map_err(|error| error.to_string())?;
                dynamic::cell(field_type, &raw)
            }
        }
    }
}

/// One stored record: its cells in the order of its schema's fields.
pub type Row = Vec<Cell>;

/// A record type: decoded from an API's JSON, described by a [`Schema`], stored as a [`Row`].
///
/// `#[derive(Model)]` implements it; a hand-written implementation returns the same schema on
/// every call (build it once, in a `static LazyLock`) and cells in the schema's field order.
pub trait Model: DeserializeOwned + Send + 'static {
    /// The model's schema.
    fn schema() -> Arc<Schema>;

    /// The record as a row, cells in [`Schema::fields`] order.
    fn into_row(self) -> Row;
}

/// A value that goes into one [`Cell`] of a row, with the [`FieldType`] it is stored as.
pub trait FieldValue {
    /// The column type for this Rust type.
    const FIELD_TYPE: FieldType;
    /// Whether the type can be null (`Option`).
    const IS_NULLABLE: bool = false;
    /// The value as a cell.
    fn into_cell(self) -> Cell;
}

macro_rules! integer_field {
    ($($type:ty),*) => {$(
        impl FieldValue for $type {
            const FIELD_TYPE: FieldType = FieldType::Integer;
            fn into_cell(self) -> Cell {
                Cell::Integer(i64::from(self))
            }
        }
    )*};
}
integer_field!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! wide_integer_field {
    ($($type:ty),*) => {$(
        /// Stored as an integer; a value beyond `i64::MAX` is stored as the nearest float rather
        /// than refused.
        impl FieldValue for $type {
            const FIELD_TYPE: FieldType = FieldType::Integer;
            fn into_cell(self) -> Cell {
                i64::try_from(self).map_or(Cell::Float(self as f64), Cell::Integer)
            }
        }
    )*};
}
wide_integer_field!(u64, usize, isize);

impl FieldValue for f64 {
    const FIELD_TYPE: FieldType = FieldType::Float;
    fn into_cell(self) -> Cell {
        Cell::Float(self)
    }
}

impl FieldValue for f32 {
    const FIELD_TYPE: FieldType = FieldType::Float;
    fn into_cell(self) -> Cell {
        Cell::Float(f64::from(self))
    }
}

impl FieldValue for bool {
    const FIELD_TYPE: FieldType = FieldType::Bool;
    fn into_cell(self) -> Cell {
        Cell::Bool(self)
    }
}

impl FieldValue for String {
    const FIELD_TYPE: FieldType = FieldType::String;
    fn into_cell(self) -> Cell {
        Cell::String(self)
    }
}

impl FieldValue for DateTime<Utc> {
    const FIELD_TYPE: FieldType = FieldType::DateTime;
    fn into_cell(self) -> Cell {
        Cell::DateTime(self)
    }
}

impl FieldValue for NaiveDate {
    const FIELD_TYPE: FieldType = FieldType::Date;
    fn into_cell(self) -> Cell {
        Cell::Date(self)
    }
}

impl FieldValue for serde_json::Value {
    const FIELD_TYPE: FieldType = FieldType::Json;
    // Any JSON value may be `null`.
    const IS_NULLABLE: bool = true;
    fn into_cell(self) -> Cell {
        if self.is_null() {
            Cell::Null
        } else {
            Cell::Json(self.to_string())
        }
    }
}

impl<T: FieldValue> FieldValue for Option<T> {
    const FIELD_TYPE: FieldType = T::FIELD_TYPE;
    const IS_NULLABLE: bool = true;
    fn into_cell(self) -> Cell {
        self.map_or(Cell::Null, FieldValue::into_cell)
    }
}

/// Any serializable value stored as JSON: a nested struct, a list, a map. A derived model
/// stores such fields as JSON without it; the wrapper makes the choice explicit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> FieldValue for Json<T> {
    const FIELD_TYPE: FieldType = FieldType::Json;
    fn into_cell(self) -> Cell {
        json_cell(self.0)
    }
}

/// A serializable value as a JSON cell; `null` is [`Cell::Null`].
fn json_cell<T: serde::Serialize>(value: T) -> Cell {
    match serde_json::to_string(&value) {
        Ok(text) if text == "null" => Cell::Null,
        Ok(text) => Cell::Json(text),
        // Only maps with non-string keys fail, and JSON could not have had those.
        Err(_) => Cell::Null,
    }
}

#[doc(hidden)]
pub mod derive;

/// A row as a map from field name to JSON value, for reading rows back in tests and tools.
pub fn row_to_json(schema: &Schema, row: &[Cell]) -> BTreeMap<String, serde_json::Value> {
    schema
        .fields()
        .iter()
        .zip(row)
        .map(|(field, cell)| (field.name().to_owned(), cell.to_json()))
        .collect()
}

#[cfg(test)]
mod tests;
