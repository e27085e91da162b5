//! [`Continuation`]: where the next page of a [`Query`] starts, as an opaque token.
//!
//! The token is the last row's position (its order value and primary key) with the table and
//! order it belongs to, as JSON in URL-safe base64. Paging by position (keyset paging), not by
//! offset, is what keeps pages right while rows are written: a row added or removed before the
//! position does not shift the next page.

use std::fmt;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use super::{
    BackendError, Direction, Query,
    read::{Resolved, bad_query},
};
use crate::model::{Cell, Field, FieldType, Schema};

/// Where the next page of a [`Query`] starts: the [`next`](super::RowPage::next) of a page,
/// passed back with [`Query::after`].
///
/// The token is opaque: it holds the last row's order value and primary key, and the table and
/// order it was made for. The next page starts strictly after that position, so a row that was
/// stored for the whole paging (and kept its order value) is seen exactly once, whatever is
/// written between pages. A token that does not parse, or was made for another table or order,
/// is refused with [`BackendError::BadQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Continuation(String);

/// A [`Continuation`] decoded: the position of the last row of a page.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Position {
    /// The row's value of the order field; `None` when the query has no order.
    pub value: Option<Cell>,
    /// The row's primary key, cells in key order.
    pub key: Vec<Cell>,
}

/// What a token holds, as JSON with short names: tokens travel in URLs.
#[derive(serde::Serialize, serde::Deserialize)]
struct Token {
    #[serde(rename = "t")]
    table: String,
    #[serde(rename = "o")]
    order: Option<String>,
    #[serde(rename = "d")]
    is_descending: bool,
    #[serde(rename = "v")]
    value: Option<TokenCell>,
    #[serde(rename = "k")]
    key: Vec<TokenCell>,
}

/// A cell in a token, exactly: floats by their bits, so a position never moves by rounding.
#[derive(serde::Serialize, serde::Deserialize)]
enum TokenCell {
    Null,
    Bool(bool),
    Integer(i64),
    Float(u64),
    String(String),
    DateTime(String),
    Date(String),
    Json(String),
}

impl TokenCell {
    fn from_cell(cell: &Cell) -> Self {
        match cell {
            Cell::Null => Self::Null,
            Cell::Bool(value) => Self::Bool(*value),
            Cell::Integer(value) => Self::Integer(*value),
            Cell::Float(value) => Self::Float(value.to_bits()),
            Cell::String(text) => Self::String(text.clone()),
            Cell::DateTime(value) => {
                Self::DateTime(value.to_rfc3339_opts(SecondsFormat::Nanos, true))
            }
            Cell::Date(value) => Self::Date(value.to_string()),
            Cell::Json(text) => Self::Json(text.clone()),
        }
    }

    fn into_cell(self) -> Option<Cell> {
        Some(match self {
            Self::Null => Cell::Null,
            Self::Bool(value) => Cell::Bool(value),
            Self::Integer(value) => Cell::Integer(value),
            Self::Float(bits) => Cell::Float(f64::from_bits(bits)),
            Self::String(text) => Cell::String(text),
            Self::DateTime(text) => Cell::DateTime(
                DateTime::parse_from_rfc3339(&text)
                    .ok()?
                    .with_timezone(&Utc),
            ),
            Self::Date(text) => Cell::Date(text.parse::<NaiveDate>().ok()?),
            Self::Json(text) => Cell::Json(text),
        })
    }
}

impl Continuation {
    /// A token as a page gave it (for instance read back from a URL).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token for a page of `query` on `schema` that ended with `row` (cells in schema field
    /// order): for a backend that pages by itself rather than with [`Query::page_of`].
    pub fn after_row(schema: &Schema, query: &Query, row: &[Cell]) -> Self {
        let order = query
            .order
            .as_ref()
            .and_then(|order| schema.field(&order.field))
            .map(|(index, _)| index);
        let direction = query
            .order
            .as_ref()
            .map_or(Direction::Ascending, |order| order.direction);
        Self::at_row(schema, order, direction, row)
    }

    /// The position this token holds, checked against `query` on `schema`: for a backend that
    /// pages by itself rather than with [`Query::page_of`].
    ///
    /// # Errors
    /// [`BackendError::BadQuery`] when the token does not parse, or was made for another table
    /// or order, or when the query does not fit the schema.
    pub fn position(&self, schema: &Schema, query: &Query) -> Result<Position, BackendError> {
        let resolved = Query {
            after: None,
            ..query.clone()
        }
        .resolve(schema)?;
        self.decode(schema, &resolved)
    }

    /// The token for a page that ended with `row`, ordered by the field at `order` (or by
    /// primary key alone).
    pub(in crate::backend) fn at_row(
        schema: &Schema,
        order: Option<usize>,
        direction: Direction,
        row: &[Cell],
    ) -> Self {
        let token = Token {
            table: schema.name().to_owned(),
            order: order.map(|index| schema.fields()[index].name().to_owned()),
            is_descending: direction == Direction::Descending,
            value: order.map(|index| TokenCell::from_cell(&row[index])),
            key: schema
                .primary_key_indexes()
                .iter()
                .map(|&index| TokenCell::from_cell(&row[index]))
                .collect(),
        };
        let json = serde_json::to_vec(&token).expect("a token always serializes");
        Self(URL_SAFE_NO_PAD.encode(json))
    }

    /// The position, if the token was made for `resolved`'s table and order.
    pub(in crate::backend) fn decode(
        &self,
        schema: &Schema,
        resolved: &Resolved,
    ) -> Result<Position, BackendError> {
        let token: Token = URL_SAFE_NO_PAD
            .decode(self.0.trim())
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| {
                bad_query(
                    schema,
                    "the continuation does not parse; pass back the `next` of a page of the same query",
                )
            })?;
        if token.table != schema.name() {
            return Err(bad_query(
                schema,
                format!(
                    "the continuation was made for table `{}`; pass back the `next` of a page of the same query",
                    token.table
                ),
            ));
        }
        let order = resolved
            .order_index
            .map(|index| schema.fields()[index].name());
        let is_descending = resolved.direction == Direction::Descending;
        if token.order.as_deref() != order || token.is_descending != is_descending {
            return Err(bad_query(
                schema,
                format!(
                    "the continuation was made for rows ordered {}, not {}",
                    describe_order(token.order.as_deref(), token.is_descending),
                    describe_order(order, is_descending)
                ),
            ));
        }
        let misfit = |field: &Field| {
            bad_query(
                schema,
                format!(
                    "the continuation does not fit field `{}`; was the model changed?",
                    field.name()
                ),
            )
        };
        let value = match (resolved.order_index, token.value) {
            (Some(index), Some(cell)) => {
                let field = &schema.fields()[index];
                let cell = cell
                    .into_cell()
                    .filter(|cell| fits(field, cell, true))
                    .ok_or_else(|| misfit(field))?;
                Some(cell)
            }
            (None, None) => None,
            (Some(index), None) => return Err(misfit(&schema.fields()[index])),
            (None, Some(_)) => return Err(bad_query(schema, "the continuation does not parse")),
        };
        let fields: Vec<&Field> = schema.primary_key().collect();
        if token.key.len() != fields.len() {
            return Err(misfit(fields[0]));
        }
        let key = fields
            .into_iter()
            .zip(token.key)
            .map(|(field, cell)| {
                cell.into_cell()
                    .filter(|cell| fits(field, cell, false))
                    .ok_or_else(|| misfit(field))
            })
            .collect::<Result<_, _>>()?;
        Ok(Position { value, key })
    }
}

impl fmt::Display for Continuation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// `by `created_at` descending`, or `by primary key`.
fn describe_order(field: Option<&str>, is_descending: bool) -> String {
    let direction = if is_descending {
        Direction::Descending
    } else {
        Direction::Ascending
    };
    match field {
        Some(field) => format!("by `{field}` {}", direction.as_str()),
        None => format!("by primary key {}", direction.as_str()),
    }
}

/// Whether a stored `cell` can be in `field`: its type, a float in an integer field (an integer
/// too wide for 64 bits is stored as a float), or null where null may be.
fn fits(field: &Field, cell: &Cell, is_null_allowed: bool) -> bool {
    match cell.field_type() {
        None => is_null_allowed,
        Some(FieldType::Float) if field.field_type() == FieldType::Integer => true,
        Some(field_type) => field_type == field.field_type(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn schema(name: &str) -> Schema {
        Schema::builder(name)
            .field("id", FieldType::Integer)
            .field("region", FieldType::String)
            .nullable("created_at", FieldType::DateTime)
            .nullable("price", FieldType::Float)
            .primary_key(["region", "id"])
            .build()
            .unwrap()
    }

    #[test]
    fn a_token_gives_back_the_rows_position_exactly() {
        let schema = schema("orders");
        let at =
            Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap() + chrono::Duration::nanoseconds(7);
        let row = vec![
            Cell::Integer(7),
            Cell::String("eu".into()),
            Cell::DateTime(at),
            Cell::Float(0.1 + 0.2),
        ];
        for (field, value) in [
            ("created_at", Cell::DateTime(at)),
            ("price", Cell::Float(0.1 + 0.2)),
        ] {
            let query = Query::new().order_by(field, Direction::Descending);
            let token = Continuation::after_row(&schema, &query, &row);
            let position = Continuation::new(token.as_str())
                .position(&schema, &query)
                .unwrap();
            assert_eq!(position.value, Some(value));
            assert_eq!(position.key, [Cell::String("eu".into()), Cell::Integer(7)]);
        }
        let query = Query::new();
        let token = Continuation::after_row(&schema, &query, &row);
        assert_eq!(token.position(&schema, &query).unwrap().value, None);
    }

    #[test]
    fn a_token_of_another_table_or_order_is_refused() {
        let schema = schema("orders");
        let row = vec![
            Cell::Integer(7),
            Cell::String("eu".into()),
            Cell::Null,
            Cell::Null,
        ];
        let by_date = Query::new().order_by("created_at", Direction::Ascending);
        let token = Continuation::after_row(&schema, &by_date, &row);
        let error = token.position(&schema, &Query::new()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "query on table `orders`: the continuation was made for rows ordered by `created_at` ascending, not by primary key ascending"
        );
        let error = token
            .position(&self::schema("refunds"), &by_date)
            .unwrap_err();
        assert!(
            error.to_string().contains("made for table `orders`"),
            "{error}"
        );
        let error = Continuation::new("not a token")
            .position(&schema, &by_date)
            .unwrap_err();
        assert!(matches!(error, BackendError::BadQuery { .. }), "{error:?}");
        assert!(error.to_string().contains("does not parse"), "{error}");
    }
}
