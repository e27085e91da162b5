//! [`DynamicModel`]: a model described at run time (a YAML file's `model:`), whose rows are read
//! from each record's raw JSON by path and type.

use std::{borrow::Cow, fmt, sync::Arc};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::value::RawValue;

use super::{Cell, DecodeError, FieldType, Row, Schema, SchemaError};
use crate::{json::JsonPath, text::excerpt, url::RedactedUrl};

/// A model known only at run time: a [`Schema`], and for each field the path in a record it is
/// read from. The YAML path builds one per collector; it reaches the same backends as a derived
/// model, through the same Schema.
///
/// A field is read from the record's raw JSON (no `serde_json::Value` is built): a value of the
/// field's type, or text that reads as one (`"42"` for an integer, `"true"` for a bool). A
/// missing or `null` value is null, unless the field is required (key fields always are); then
/// the record does not fit and is skipped, with the path and the reason.
///
/// # Examples
/// ```
/// use hamstr::model::{DynamicModel, FieldType};
///
/// let model = DynamicModel::builder("payments")
///     .field("id", "id", FieldType::String, true)
///     .field("amount_value", "amount.value", FieldType::Float, false)
///     .field("created_at", "createdAt", FieldType::DateTime, false)
///     .primary_key(["id"])
///     .build()
///     .unwrap();
/// let record = serde_json::value::RawValue::from_string(
///     r#"{"id": "tr_1", "amount": {"value": "10.50"}, "createdAt": "2026-01-01T12:00:00Z"}"#.into(),
/// )
/// .unwrap();
/// let row = model.row(&record).unwrap();
/// assert_eq!(row[1], hamstr::model::Cell::Float(10.5));
/// ```
#[derive(Debug, Clone)]
pub struct DynamicModel {
    schema: Arc<Schema>,
    paths: Vec<FieldPath>,
    /// The distinct top-level keys the fields are read from, in first use; `FieldPath::key`
    /// indexes them.
    keys: Arc<[String]>,
}

/// Where a field is: a key of the record's top-level object (read from one pass over the
/// record), and the rest of the path below it.
#[derive(Debug, Clone)]
struct FieldPath {
    path: JsonPath,
    /// Its top-level key, as an index into [`DynamicModel::keys`]; `None`: the record itself.
    key: Option<usize>,
    rest: JsonPath,
}

impl FieldPath {
    /// The path `path`, its top-level key found in (or added to) `keys`.
    fn new(path: JsonPath, keys: &mut Vec<String>) -> Self {
        let (key, rest) = match path.as_str().split_once('.') {
            Some((key, rest)) => (Some(key), JsonPath::new(rest)),
            None if path.is_root() => (None, JsonPath::root()),
            None => (Some(path.as_str()), JsonPath::root()),
        };
        let key = key.map(|key| {
            keys.iter()
                .position(|known| known == key)
                .unwrap_or_else(|| {
                    keys.push(key.to_owned());
                    keys.len() - 1
                })
        });
        Self { path, key, rest }
    }
}

/// The values of a record's wanted top-level keys, by their place in the model's key list: one
/// pass over the record, values left as raw JSON, no map built (a record's keys are compared
/// with the dozen or so wanted, cheaper than hashing each).
struct TopValues<'k> {
    keys: &'k [String],
}

impl<'de> serde::de::DeserializeSeed<'de> for TopValues<'_> {
    type Value = Vec<Option<&'de RawValue>>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TopValues<'_> {
    type Value = Vec<Option<&'de RawValue>>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = vec![None; self.keys.len()];
        // Records of one API mostly list their keys in one order: the key after the last one
        // found is tried first.
        let mut next = 0;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let found = if self.keys.get(next).is_some_and(|wanted| *wanted == key) {
                Some(next)
            } else {
                self.keys.iter().position(|wanted| *wanted == key)
            };
            match found {
                // The last of repeated keys wins, as in a map.
                Some(index) => {
                    values[index] = Some(map.next_value::<&'de RawValue>()?);
                    next = index + 1;
                }
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(values)
    }
}

impl DynamicModel {
    /// Starts describing the model `name` (its table).
    pub fn builder(name: impl Into<String>) -> DynamicModelBuilder {
        DynamicModelBuilder {
            name: name.into(),
            fields: Vec::new(),
            primary_key: Vec::new(),
        }
    }

    /// Its schema.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// The record as a row, cells in the schema's order.
    ///
    /// # Errors
    /// A [`RowError`] naming the field's path and what was wrong with its value.
    pub fn row(&self, record: &RawValue) -> Result<Row, RowError> {
        // One pass over the record for its top-level keys; nested paths then read only their
        // own value. Scanning the whole record once per field cost a pass per column.
        let mut reader = serde_json::Deserializer::from_str(record.get());
        let top =
            serde::de::DeserializeSeed::deserialize(TopValues { keys: &self.keys }, &mut reader)
                .map_err(|_| RowError {
                    path: ".".to_owned(),
                    message: format!("a record is an object, found {}", excerpt(record.get(), 40)),
                })?;
        self.schema
            .fields()
            .iter()
            .zip(&self.paths)
            .map(|(field, path)| {
                let error = |message: String| RowError {
                    path: path.path.as_str().to_owned(),
                    message,
                };
                let parent = match path.key {
                    None => Some(record),
                    Some(key) => top[key],
                };
                let found = match parent {
                    Some(parent) if !path.rest.is_root() => path
                        .rest
                        .find(parent.get())
                        .map_err(|cause| error(cause.to_string()))?,
                    other => other,
                }
                .filter(|value| value.get() != "null");
                match found {
                    Some(value) => cell(field.field_type(), value).map_err(error),
                    None if field.is_nullable() => Ok(Cell::Null),
                    None => Err(error("a required field is missing or null".to_owned())),
                }
            })
            .collect()
    }

    /// [`row`](Self::row), with the page and position a [`DecodeError`] names.
    pub(crate) fn decode_row(
        &self,
        record: &RawValue,
        url: &RedactedUrl,
        index: usize,
    ) -> Result<Row, DecodeError> {
        self.row(record).map_err(|error| DecodeError {
            url: url.clone(),
            index,
            path: error.path,
            message: error.message,
        })
    }
}

/// Builds a [`DynamicModel`]; see [`DynamicModel::builder`].
#[derive(Debug, Clone)]
pub struct DynamicModelBuilder {
    name: String,
    fields: Vec<(String, JsonPath, FieldType, bool)>,
    primary_key: Vec<String>,
}

impl DynamicModelBuilder {
    /// A column `column` of `field_type`, read from `path` in each record (`amount.value`);
    /// `is_required` refuses records where it is missing or null.
    pub fn field(
        mut self,
        column: impl Into<String>,
        path: impl Into<JsonPath>,
        field_type: FieldType,
        is_required: bool,
    ) -> Self {
        self.fields
            .push((column.into(), path.into(), field_type, is_required));
        self
    }

    /// The primary key: one or several column names. Key fields are always required.
    pub fn primary_key<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.primary_key = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Checks the description and builds the model.
    ///
    /// # Errors
    /// As [`SchemaBuilder::build`](super::SchemaBuilder::build).
    pub fn build(self) -> Result<DynamicModel, SchemaError> {
        let mut schema = Schema::builder(self.name);
        let mut paths = Vec::with_capacity(self.fields.len());
        let mut keys = Vec::new();
        for (column, path, field_type, is_required) in self.fields {
            let is_key = self.primary_key.contains(&column);
            schema = schema.column(column, field_type, !(is_required || is_key));
            paths.push(FieldPath::new(path, &mut keys));
        }
        Ok(DynamicModel {
            schema: Arc::new(schema.primary_key(self.primary_key).build()?),
            paths,
            keys: keys.into(),
        })
    }
}

/// A record's value that does not fit its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at `{path}`: {message}")]
pub struct RowError {
    /// The field's path in the record.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The cell for `value` (raw JSON, not null) as a `field_type`.
/// A JSON string's content, for types that also accept text: borrowed when it has no escapes
/// (the usual case, and no parser run), decoded otherwise; `None` when `text` is no string.
fn string_content(text: &str) -> Option<Cow<'_, str>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    // The text is valid JSON: a quote inside is escaped, so a backslash is all to look for.
    if inner.as_bytes().contains(&b'\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

pub(super) fn cell(field_type: FieldType, value: &RawValue) -> Result<Cell, String> {
    let text = value.get();
    let unexpected = || format!("expected {field_type}, found {}", excerpt(text, 40));
    let string = || string_content(text);
    match field_type {
        FieldType::Json => Ok(Cell::Json(text.to_owned())),
        FieldType::String => match string() {
            Some(value) => Ok(Cell::String(value.into_owned())),
            // Ids and codes arrive as numbers from some APIs: keep their text.
            None if !text.starts_with(['{', '[', '"']) => Ok(Cell::String(text.to_owned())),
            None => Err(unexpected()),
        },
        FieldType::Integer => {
            let digits = string().unwrap_or(Cow::Borrowed(text));
            digits
                .trim()
                .parse::<i64>()
                .map(Cell::Integer)
                .map_err(|_| unexpected())
        }
        FieldType::Float => {
            let number = string().unwrap_or(Cow::Borrowed(text));
            number
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|number| number.is_finite())
                .map(Cell::Float)
                .ok_or_else(unexpected)
        }
        FieldType::Bool => match string().as_deref().unwrap_or(text) {
            "true" => Ok(Cell::Bool(true)),
            "false" => Ok(Cell::Bool(false)),
            _ => Err(unexpected()),
        },
        FieldType::DateTime => {
            let text = string().ok_or_else(unexpected)?;
            DateTime::parse_from_rfc3339(&text)
                // ISO 8601 with an offset without its colon, as Jira writes it:
                // `2024-01-01T09:30:00.000+0100`.
                .or_else(|cause| {
                    DateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f%z").map_err(|_| cause)
                })
                .map(|instant| Cell::DateTime(instant.with_timezone(&Utc)))
                .map_err(|cause| format!("`{text}` is not an RFC 3339 date and time: {cause}"))
        }
        FieldType::Date => {
            let text = string().ok_or_else(unexpected)?;
            NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .or_else(|_| {
                    DateTime::parse_from_rfc3339(&text).map(|instant| instant.date_naive())
                })
                .map(Cell::Date)
                .map_err(|_| format!("`{text}` is not a date (YYYY-MM-DD)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> DynamicModel {
        DynamicModel::builder("things")
            .field("id", "id", FieldType::Integer, false)
            .field("name", "name", FieldType::String, true)
            .field("price", "price.value", FieldType::Float, false)
            .field("is_open", "open", FieldType::Bool, false)
            .field("at", "at", FieldType::DateTime, false)
            .field("on", "on", FieldType::Date, false)
            .field("extra", "extra", FieldType::Json, false)
            .primary_key(["id"])
            .build()
            .unwrap()
    }

    fn row(json: &str) -> Result<Row, RowError> {
        model().row(&RawValue::from_string(json.to_owned()).unwrap())
    }

    #[test]
    fn values_are_read_by_path_and_type() {
        let full = row(
            r#"{"id": "7", "name": 12, "price": {"value": "9.5"}, "open": "true",
            "at": "2026-01-01T10:00:00+01:00", "on": "2026-02-03", "extra": {"a": [1]}}"#,
        )
        .unwrap();
        assert_eq!(full[0], Cell::Integer(7));
        assert_eq!(full[1], Cell::String("12".into()));
        assert_eq!(full[2], Cell::Float(9.5));
        assert_eq!(full[3], Cell::Bool(true));
        assert_eq!(full[4].to_json(), "2026-01-01T09:00:00Z");
        assert_eq!(full[5].to_json(), "2026-02-03");
        assert_eq!(full[6], Cell::Json(r#"{"a": [1]}"#.into()));
        // Jira's ISO 8601: an offset without its colon.
        let jira = row(r#"{"id": 1, "name": "x", "at": "2024-01-01T09:30:00.000+0100"}"#).unwrap();
        assert_eq!(jira[4].to_json(), "2024-01-01T08:30:00Z");
        let sparse = row(r#"{"id": 1, "name": "x", "extra": null}"#).unwrap();
        assert_eq!(sparse.iter().filter(|cell| **cell == Cell::Null).count(), 5);
    }

    #[test]
    fn misfits_name_the_path_and_the_reason() {
        let error = row(r#"{"id": 1}"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            "at `name`: a required field is missing or null"
        );
        let error = row(r#"{"name": "x"}"#).unwrap_err();
        assert_eq!(error.path, "id");
        let error = row(r#"{"id": 1.5, "name": "x"}"#).unwrap_err();
        assert_eq!(error.to_string(), "at `id`: expected integer, found 1.5");
        let error = row(r#"{"id": 1, "name": "x", "at": "yesterday"}"#).unwrap_err();
        assert!(error.message.contains("not an RFC 3339"), "{error}");
        let error = row(r#"{"id": 1, "name": {"first": "x"}}"#).unwrap_err();
        assert!(error.message.starts_with("expected string"), "{error}");
        let error = row(r#"["not", "an", "object"]"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"at `.`: a record is an object, found ["not", "an", "object"]"#
        );
    }
}
