//! Answering reads over rows held in memory: how [`MemoryBackend`](super::MemoryBackend) and
//! [`JsonLines`](super::JsonLines) read, and how a hand-written backend that can list a model's
//! rows answers [`Backend::get_row`](super::Backend::get_row),
//! [`query`](super::Backend::query) and [`distinct`](super::Backend::distinct).

use std::cmp::Ordering;

use super::{
    BackendError, Continuation, Query, RowPage,
    read::{Resolved, check_key, find_field},
};
use crate::model::{Cell, Row, Schema};

impl Query {
    /// Answers the query over `rows`, every stored row of `schema`'s model (one per primary key,
    /// cells in schema field order, in any order).
    ///
    /// # Errors
    /// [`BackendError::BadQuery`] when the query does not fit the schema (see
    /// [`check`](Self::check)); [`BackendError::RowShape`] for a row without one cell per field.
    ///
    /// # Examples
    /// ```
    /// use hamstr::backend::{Direction, Op, Query};
    /// use hamstr::model::{Cell, FieldType, Schema};
    /// let schema = Schema::builder("orders")
    ///     .field("id", FieldType::Integer)
    ///     .field("total", FieldType::Integer)
    ///     .primary_key(["id"])
    ///     .build()
    ///     .unwrap();
    /// let rows: Vec<_> = (1..=5).map(|id| vec![Cell::Integer(id), Cell::Integer(id * 10)]).collect();
    /// let query = Query::new()
    ///     .filter("total", Op::Gte, Cell::Integer(20))
    ///     .order_by("total", Direction::Descending)
    ///     .limit(2);
    /// let page = query.page_of(&schema, &rows).unwrap();
    /// assert_eq!(page.count, 4);
    /// assert_eq!(page.rows, [rows[4].clone(), rows[3].clone()]);
    /// let rest = query.clone().after(page.next.unwrap()).page_of(&schema, &rows).unwrap();
    /// assert_eq!(rest.rows, [rows[2].clone(), rows[1].clone()]);
    /// assert_eq!(rest.next, None);
    /// ```
    pub fn page_of<'a>(
        &self,
        schema: &Schema,
        rows: impl IntoIterator<Item = &'a Row>,
    ) -> Result<RowPage, BackendError> {
        let resolved = self.resolve(schema)?;
        let mut matching = Vec::new();
        for row in rows {
            check_shape(schema, row)?;
            if resolved.matches(row) {
                matching.push(row);
            }
        }
        let count = matching.len();
        if let Some(position) = &resolved.after {
            matching.retain(|row| resolved.is_after(schema, row, position));
        }
        let order = |left: &&Row, right: &&Row| resolved.compare_rows(schema, left, right);
        // One row more than the page tells whether another page follows; only those are sorted.
        let wanted = resolved.limit.saturating_add(1);
        if matching.len() > wanted {
            matching.select_nth_unstable_by(wanted - 1, order);
            matching.truncate(wanted);
        }
        matching.sort_unstable_by(order);
        Ok(page(schema, &resolved, matching, count))
    }
}

/// The first `limit` of `sorted` (which has at most one row more), and where the next page starts.
fn page(schema: &Schema, resolved: &Resolved, mut sorted: Vec<&Row>, count: usize) -> RowPage {
    let has_more = sorted.len() > resolved.limit;
    sorted.truncate(resolved.limit);
    let rows: Vec<Row> = sorted.into_iter().cloned().collect();
    let next = rows
        .last()
        .filter(|_| has_more)
        .map(|last| Continuation::at_row(schema, resolved.order_index, resolved.direction, last));
    RowPage { rows, count, next }
}

/// The row of `rows` (every stored row of `schema`'s model) whose primary key is `key`.
///
/// # Errors
/// [`BackendError::BadQuery`] when `key` does not fit the primary key (see [`check_key`]).
pub fn find_by_key<'a>(
    schema: &Schema,
    key: &[Cell],
    rows: impl IntoIterator<Item = &'a Row>,
) -> Result<Option<Row>, BackendError> {
    check_key(schema, key)?;
    let indexes = schema.primary_key_indexes();
    let found = rows.into_iter().find(|row| {
        row.len() == schema.fields().len()
            && indexes
                .iter()
                .zip(key)
                .all(|(&index, cell)| row[index].total_cmp(cell) == Ordering::Equal)
    });
    Ok(found.cloned())
}

/// The distinct values of `field` in `rows` (every stored row of `schema`'s model), sorted as
/// [`Cell::total_cmp`] orders them, nulls left out.
///
/// # Errors
/// [`BackendError::BadQuery`] when the schema has no such field.
pub fn distinct_values<'a>(
    schema: &Schema,
    field: &str,
    rows: impl IntoIterator<Item = &'a Row>,
) -> Result<Vec<Cell>, BackendError> {
    let (index, _) = find_field(schema, field, "list the values of")?;
    let mut values = Vec::new();
    for row in rows {
        check_shape(schema, row)?;
        if !matches!(row[index], Cell::Null) {
            values.push(&row[index]);
        }
    }
    values.sort_unstable_by(|left, right| left.total_cmp(right));
    values.dedup_by(|left, right| left.total_cmp(right) == Ordering::Equal);
    Ok(values.into_iter().cloned().collect())
}

fn check_shape(schema: &Schema, row: &Row) -> Result<(), BackendError> {
    let fields = schema.fields().len();
    if row.len() == fields {
        Ok(())
    } else {
        Err(BackendError::RowShape {
            table: schema.name().to_owned(),
            cells: row.len(),
            fields,
        })
    }
}
