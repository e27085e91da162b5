//! What a read asks for: a [`Query`] (filters, an order, a limit, a [`Continuation`]) and the
//! [`RowPage`] it answers with.
//!
//! Every backend answers a query the same way:
//! - a row matches when it passes every [`Filter`];
//! - matching rows are ordered by the [`Order`]'s field, then by the primary key (the
//!   tie-breaker), both in the order's direction; by the primary key alone, ascending, when there
//!   is no order. Values compare as [`Cell::total_cmp`] has them, so null is lowest: first when
//!   ascending, last when descending;
//! - a page holds the first [`limit`](Query::limit) rows after the continuation, and
//!   [`count`](RowPage::count) says how many rows match the filters in all, whatever the page;
//! - [`next`](RowPage::next) continues strictly after the page's last row, by its order value and
//!   primary key (keyset paging), so rows written between pages neither repeat nor hide a row
//!   that was there all along.

use std::{cmp::Ordering, fmt};

use super::{BackendError, Continuation, Position};
use crate::model::{Cell, Field, Row, Schema};

/// How a [`Filter`] compares a field with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Equal to the value. With [`Cell::Null`] as the value: the field is null.
    Eq,
    /// Not equal to the value; a null field differs from every value. With [`Cell::Null`] as the
    /// value: the field is not null.
    Ne,
    /// Less than the value; a null field never is.
    Lt,
    /// Less than or equal to the value; a null field never is.
    Lte,
    /// Greater than the value; a null field never is.
    Gt,
    /// Greater than or equal to the value; a null field never is.
    Gte,
}

impl Op {
    /// The operator as SQL writes it (`=`, `!=`, `<`, `<=`, `>`, `>=`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Lte => "<=",
            Self::Gt => ">",
            Self::Gte => ">=",
        }
    }

    /// Whether the operator compares by order, which null has none of.
    fn is_range(self) -> bool {
        !matches!(self, Self::Eq | Self::Ne)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Which way an [`Order`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Smallest first; null first.
    #[default]
    Ascending,
    /// Largest first; null last.
    Descending,
}

impl Direction {
    /// `ascending` or `descending`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ascending => "ascending",
            Self::Descending => "descending",
        }
    }
}

/// One condition of a [`Query`]: `field op value`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Filter {
    /// The field (column) compared.
    pub field: String,
    /// How it is compared.
    pub op: Op,
    /// What it is compared with: a cell of the field's type, or [`Cell::Null`] with
    /// [`Op::Eq`] and [`Op::Ne`].
    pub value: Cell,
}

impl Filter {
    /// The condition `field op value`.
    pub fn new(field: impl Into<String>, op: Op, value: Cell) -> Self {
        Self {
            field: field.into(),
            op,
            value,
        }
    }
}

/// The field a [`Query`] orders rows by, and which way; the primary key breaks ties.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Order {
    /// The field (column).
    pub field: String,
    /// Which way.
    pub direction: Direction,
}

impl Order {
    /// Rows ordered by `field`, `direction`.
    pub fn new(field: impl Into<String>, direction: Direction) -> Self {
        Self {
            field: field.into(),
            direction,
        }
    }
}

/// Which rows of a model to read: filters, an order, a page size and where the page starts.
///
/// Built with [`Query::new`] and its builder methods; read by backends through its fields.
///
/// # Examples
/// ```
/// use hamstr::backend::{Direction, Op, Query};
/// use hamstr::model::Cell;
/// let query = Query::new()
///     .filter("status", Op::Eq, Cell::String("paid".into()))
///     .order_by("created_at", Direction::Descending)
///     .limit(50);
/// assert_eq!(query.limit, 50);
/// assert_eq!(query.filters[0].op, Op::Eq);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Query {
    /// Conditions every row must meet.
    pub filters: Vec<Filter>,
    /// The order; `None` orders by the primary key, ascending.
    pub order: Option<Order>,
    /// The most rows in a page (at least 1; [`Query::DEFAULT_LIMIT`] unless set).
    pub limit: usize,
    /// Where the page starts: the [`next`](RowPage::next) of the page before; `None` for the
    /// first page.
    pub after: Option<Continuation>,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            filters: Vec::new(),
            order: None,
            limit: Self::DEFAULT_LIMIT,
            after: None,
        }
    }
}

impl Query {
    /// Rows in a page unless [`limit`](Self::limit) says otherwise.
    pub const DEFAULT_LIMIT: usize = 100;

    /// Every row, by primary key, [`DEFAULT_LIMIT`](Self::DEFAULT_LIMIT) to a page.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the condition `field op value`; a row must meet every condition.
    pub fn filter(mut self, field: impl Into<String>, op: Op, value: Cell) -> Self {
        self.filters.push(Filter::new(field, op, value));
        self
    }

    /// Orders rows by `field`, `direction`, then by primary key.
    pub fn order_by(mut self, field: impl Into<String>, direction: Direction) -> Self {
        self.order = Some(Order::new(field, direction));
        self
    }

    /// At most `limit` rows in a page (at least 1).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Starts the page after the one that returned `continuation`.
    pub fn after(mut self, continuation: Continuation) -> Self {
        self.after = Some(continuation);
        self
    }

    /// Checks the query against `schema`: every field exists, every value fits its field, the
    /// limit is at least 1, and the continuation belongs to this table and order.
    ///
    /// # Errors
    /// [`BackendError::BadQuery`], naming the table and what does not fit.
    pub fn check(&self, schema: &Schema) -> Result<(), BackendError> {
        self.resolve(schema).map(drop)
    }

    /// The query with fields as positions in a row and the continuation decoded.
    pub(in crate::backend) fn resolve(&self, schema: &Schema) -> Result<Resolved, BackendError> {
        let filters = self
            .filters
            .iter()
            .map(|filter| {
                let (index, field) = find_field(schema, &filter.field, "filter on")?;
                check_value(schema, field, filter)?;
                Ok(ResolvedFilter {
                    index,
                    op: filter.op,
                    value: filter.value.clone(),
                })
            })
            .collect::<Result<_, BackendError>>()?;
        let order = match &self.order {
            Some(order) => Some((
                find_field(schema, &order.field, "order by")?.0,
                order.direction,
            )),
            None => None,
        };
        if self.limit == 0 {
            return Err(bad_query(schema, "a limit of 0 rows; ask for at least 1"));
        }
        let resolved = Resolved {
            filters,
            order_index: order.map(|(index, _)| index),
            direction: order.map_or(Direction::Ascending, |(_, direction)| direction),
            limit: self.limit,
            after: None,
        };
        let after = match &self.after {
            Some(continuation) => Some(continuation.decode(schema, &resolved)?),
            None => None,
        };
        Ok(Resolved { after, ..resolved })
    }
}

/// One page of rows, with how many rows match in all and where the next page starts.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct RowPage {
    /// The rows, cells in schema field order, in the query's order.
    pub rows: Vec<Row>,
    /// How many rows match the filters in all, on every page together.
    pub count: usize,
    /// Where the next page starts; `None` when no row came after this page.
    pub next: Option<Continuation>,
}

impl RowPage {
    /// A page of `rows`, out of `count` matching rows, continued at `next`.
    pub fn new(rows: Vec<Row>, count: usize, next: Option<Continuation>) -> Self {
        Self { rows, count, next }
    }
}

/// A [`Query`] checked against a schema: fields as row positions, the continuation decoded.
#[derive(Debug)]
pub(in crate::backend) struct Resolved {
    pub(in crate::backend) filters: Vec<ResolvedFilter>,
    /// The order field's position; `None` orders by primary key alone.
    pub(in crate::backend) order_index: Option<usize>,
    /// The order's direction, which the primary key follows too.
    pub(in crate::backend) direction: Direction,
    pub(in crate::backend) limit: usize,
    pub(in crate::backend) after: Option<Position>,
}

/// A [`Filter`] on the field at `index` of a row.
#[derive(Debug)]
pub(in crate::backend) struct ResolvedFilter {
    pub(in crate::backend) index: usize,
    pub(in crate::backend) op: Op,
    pub(in crate::backend) value: Cell,
}

impl ResolvedFilter {
    /// Whether `cell` meets the condition, with nulls as [`Op`] describes.
    pub(in crate::backend) fn matches(&self, cell: &Cell) -> bool {
        let is_equal = || match (cell, &self.value) {
            (Cell::Null, Cell::Null) => true,
            (Cell::Null, _) | (_, Cell::Null) => false,
            (cell, value) => cell.total_cmp(value) == Ordering::Equal,
        };
        if matches!(cell, Cell::Null) && self.op.is_range() {
            return false;
        }
        let ordering = || cell.total_cmp(&self.value);
        match self.op {
            Op::Eq => is_equal(),
            Op::Ne => !is_equal(),
            Op::Lt => ordering() == Ordering::Less,
            Op::Lte => ordering() != Ordering::Greater,
            Op::Gt => ordering() == Ordering::Greater,
            Op::Gte => ordering() != Ordering::Less,
        }
    }
}

impl Resolved {
    /// Whether `row` meets every filter.
    pub(in crate::backend) fn matches(&self, row: &[Cell]) -> bool {
        self.filters
            .iter()
            .all(|filter| filter.matches(&row[filter.index]))
    }

    /// The query's order of two rows: the order field, then the primary key, in its direction.
    pub(in crate::backend) fn compare_rows(
        &self,
        schema: &Schema,
        left: &[Cell],
        right: &[Cell],
    ) -> Ordering {
        let by_order = self.order_index.map_or(Ordering::Equal, |index| {
            left[index].total_cmp(&right[index])
        });
        let ordering = schema
            .primary_key_indexes()
            .iter()
            .fold(by_order, |ordering, &index| {
                ordering.then_with(|| left[index].total_cmp(&right[index]))
            });
        self.in_direction(ordering)
    }

    /// Whether `row` comes strictly after `position` in the query's order.
    pub(in crate::backend) fn is_after(
        &self,
        schema: &Schema,
        row: &[Cell],
        position: &Position,
    ) -> bool {
        let by_order = match (self.order_index, &position.value) {
            (Some(index), Some(value)) => row[index].total_cmp(value),
            _ => Ordering::Equal,
        };
        let ordering = schema
            .primary_key_indexes()
            .iter()
            .zip(&position.key)
            .fold(by_order, |ordering, (&index, key)| {
                ordering.then_with(|| row[index].total_cmp(key))
            });
        self.in_direction(ordering) == Ordering::Greater
    }

    fn in_direction(&self, ordering: Ordering) -> Ordering {
        match self.direction {
            Direction::Ascending => ordering,
            Direction::Descending => ordering.reverse(),
        }
    }
}

/// A [`BackendError::BadQuery`] on `schema`'s table.
pub(in crate::backend) fn bad_query(schema: &Schema, reason: impl Into<String>) -> BackendError {
    BackendError::BadQuery {
        table: schema.name().to_owned(),
        reason: reason.into(),
    }
}

/// The field `name`, or an error saying what the query wanted to do with it.
pub(in crate::backend) fn find_field<'a>(
    schema: &'a Schema,
    name: &str,
    purpose: &str,
) -> Result<(usize, &'a Field), BackendError> {
    schema.field(name).ok_or_else(|| {
        let fields: Vec<&str> = schema.fields().iter().map(Field::name).collect();
        bad_query(
            schema,
            format!(
                "no field `{name}` to {purpose}; the fields are {}",
                fields.join(", ")
            ),
        )
    })
}

/// The name of a cell's kind in messages: a field type, or `null`.
fn kind(cell: &Cell) -> &'static str {
    cell.field_type()
        .map_or("null", |field_type| field_type.as_str())
}

fn check_value(schema: &Schema, field: &Field, filter: &Filter) -> Result<(), BackendError> {
    match filter.value.field_type() {
        None if filter.op.is_range() => Err(bad_query(
            schema,
            format!(
                "field `{}` cannot be compared with null by `{}`; null has no order (find nulls with Op::Eq or Op::Ne)",
                field.name(),
                filter.op
            ),
        )),
        None => Ok(()),
        Some(field_type) if field_type == field.field_type() => Ok(()),
        Some(_) => Err(bad_query(
            schema,
            format!(
                "field `{}` holds {} values, not {}",
                field.name(),
                field.field_type(),
                kind(&filter.value)
            ),
        )),
    }
}

/// Checks that `key` has one cell per primary-key field, each of that field's type.
///
/// # Errors
/// [`BackendError::BadQuery`], naming the table and the field that does not fit.
pub fn check_key(schema: &Schema, key: &[Cell]) -> Result<(), BackendError> {
    let fields: Vec<&Field> = schema.primary_key().collect();
    if key.len() != fields.len() {
        let names: Vec<&str> = fields.iter().map(|field| field.name()).collect();
        return Err(bad_query(
            schema,
            format!(
                "the primary key has {} field(s) ({}), the key given {} cell(s)",
                fields.len(),
                names.join(", "),
                key.len()
            ),
        ));
    }
    for (field, cell) in fields.iter().zip(key) {
        if cell.field_type() != Some(field.field_type()) {
            return Err(bad_query(
                schema,
                format!(
                    "key field `{}` holds {} values, not {}",
                    field.name(),
                    field.field_type(),
                    kind(cell)
                ),
            ));
        }
    }
    Ok(())
}
