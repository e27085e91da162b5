//! Reading model tables back with SQL: one row by key, a page of a query, distinct values.
//! Values are always bound as parameters, names always quoted.

use deadpool_postgres::{GenericClient, Object};
use tokio_postgres::types::ToSql;

use super::{
    Failure, Postgres,
    cell::{CellRef, read_cell, value_type},
    quote,
    write::stored_schema,
};
use crate::{
    backend::{
        Continuation, Direction, Op, RowPage, added_fields,
        read::{Resolved, find_field},
        sql,
    },
    model::{Cell, FieldType, Row, Schema},
};

/// The table of a model as a schema reads it.
struct Source {
    /// The table's qualified name.
    table: String,
    /// For each field of the schema, what to select: its column, or `NULL` for a field the table
    /// does not have yet (the model gained it and was not prepared again).
    columns: Vec<String>,
}

impl Source {
    /// The table of `schema`'s model; `None` when it was never prepared (so holds no rows).
    async fn open(
        client: &impl GenericClient,
        store: &Postgres,
        schema: &Schema,
    ) -> Result<Option<Self>, Failure> {
        let Some(stored) = stored_schema(client, store, schema.name()).await? else {
            return Ok(None);
        };
        // A field whose type changed cannot be read as the new type.
        added_fields(&stored, schema)?;
        let columns = schema
            .fields()
            .iter()
            .map(|field| match stored.field(field.name()) {
                Some(_) => quote(field.name()),
                None => format!("NULL::{}", value_type(field.field_type())),
            })
            .collect();
        Ok(Some(Self {
            table: store.table(schema.name()),
            columns,
        }))
    }

    /// The expression that sorts and compares the field at `index` as [`Cell::total_cmp`] does.
    fn sort_key(&self, schema: &Schema, index: usize) -> String {
        match schema.fields()[index].field_type() {
            // JSON compares as its text; text columns already sort by byte.
            FieldType::Json => format!("({}::text COLLATE \"C\")", self.columns[index]),
            _ => self.columns[index].clone(),
        }
    }

    async fn rows(
        &self,
        client: &impl GenericClient,
        schema: &Schema,
        sql: &str,
        parameters: &Parameters,
    ) -> Result<Vec<Row>, Failure> {
        let values = parameters.as_refs();
        let found = client.query(sql, &values.as_parameters()).await?;
        found
            .iter()
            .map(|row| {
                schema
                    .fields()
                    .iter()
                    .enumerate()
                    .map(|(index, field)| read_cell(row, index, field).map_err(Failure::from))
                    .collect()
            })
            .collect()
    }
}

/// The values a statement binds, in placeholder order.
#[derive(Default)]
struct Parameters(Vec<Cell>);

impl Parameters {
    /// Adds `cell` and returns the expression that compares as [`Source::sort_key`] does.
    fn bind(&mut self, cell: &Cell) -> String {
        self.0.push(cell.clone());
        let placeholder = format!("${}", self.0.len());
        match cell.field_type() {
            Some(FieldType::Json) => format!("(({placeholder}::jsonb)::text COLLATE \"C\")"),
            Some(field_type) => format!("{placeholder}::{}", value_type(field_type)),
            None => placeholder,
        }
    }

    fn as_refs(&self) -> Vec<CellRef<'_>> {
        self.0.iter().map(CellRef).collect()
    }
}

trait AsParameters {
    fn as_parameters(&self) -> Vec<&(dyn ToSql + Sync)>;
}

impl AsParameters for Vec<CellRef<'_>> {
    fn as_parameters(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.iter()
            .map(|cell| cell as &(dyn ToSql + Sync))
            .collect()
    }
}

pub(super) async fn get_row(
    client: &Object,
    store: &Postgres,
    schema: &Schema,
    key: &[Cell],
) -> Result<Option<Row>, Failure> {
    let Some(source) = Source::open(client, store, schema).await? else {
        return Ok(None);
    };
    let mut parameters = Parameters::default();
    let conditions: Vec<String> = schema
        .primary_key_indexes()
        .iter()
        .zip(key)
        .map(|(&index, cell)| format!("{} = {}", source.columns[index], parameters.bind(cell)))
        .collect();
    let sql = format!(
        "SELECT {} FROM {} WHERE {}",
        source.columns.join(", "),
        source.table,
        conditions.join(" AND ")
    );
    Ok(source
        .rows(client, schema, &sql, &parameters)
        .await?
        .into_iter()
        .next())
}

pub(super) async fn query(
    client: &mut Object,
    store: &Postgres,
    schema: &Schema,
    query: &Resolved,
) -> Result<RowPage, Failure> {
    // The count and the rows from one snapshot of the table.
    let transaction = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let Some(source) = Source::open(&transaction, store, schema).await? else {
        return Ok(RowPage::default());
    };
    let mut parameters = Parameters::default();
    let mut conditions: Vec<String> = query
        .filters
        .iter()
        .map(|filter| {
            let column = source.sort_key(schema, filter.index);
            match (filter.op, &filter.value) {
                (Op::Eq, Cell::Null) => format!("{column} IS NULL"),
                (Op::Ne, Cell::Null) => format!("{column} IS NOT NULL"),
                // A null field differs from every value, as in memory.
                (Op::Ne, value) => format!("{column} IS DISTINCT FROM {}", parameters.bind(value)),
                (op, value) => format!("{column} {} {}", op.as_str(), parameters.bind(value)),
            }
        })
        .collect();
    let where_clause = |conditions: &[String]| match conditions {
        [] => String::new(),
        conditions => format!(" WHERE ({})", conditions.join(") AND (")),
    };
    let count: i64 = transaction
        .query_one(
            &format!(
                "SELECT COUNT(*) FROM {}{}",
                source.table,
                where_clause(&conditions)
            ),
            &parameters.as_refs().as_parameters(),
        )
        .await?
        .try_get(0)?;
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
            &mut |cell| parameters.bind(cell),
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
    let limit = parameters.bind(&Cell::Integer(
        i64::try_from(query.limit.saturating_add(1)).unwrap_or(i64::MAX),
    ));
    let sql = format!(
        "SELECT {} FROM {}{} ORDER BY {} LIMIT {limit}",
        source.columns.join(", "),
        source.table,
        where_clause(&conditions),
        order.join(", ")
    );
    let mut rows = source.rows(&transaction, schema, &sql, &parameters).await?;
    transaction.commit().await?;
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

pub(super) async fn distinct(
    client: &Object,
    store: &Postgres,
    schema: &Schema,
    field: &str,
) -> Result<Vec<Cell>, Failure> {
    let (index, _) = find_field(schema, field, "list the values of")?;
    let Some(source) = Source::open(client, store, schema).await? else {
        return Ok(Vec::new());
    };
    let column = &source.columns[index];
    let key = source.sort_key(schema, index);
    let sql = format!(
        "SELECT {column} FROM (SELECT DISTINCT ON ({key}) {column}, {key} AS sort_key FROM {} WHERE {column} IS NOT NULL) AS found ORDER BY sort_key",
        source.table
    );
    let field = &schema.fields()[index];
    let found = client.query(&sql, &[]).await?;
    found
        .iter()
        .map(|row| read_cell(row, 0, field).map_err(Failure::from))
        .collect()
}
