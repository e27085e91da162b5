//! [`MemoryBackend`]: rows and state in memory, for tests, examples and one-shot runs.

use std::{
    borrow::Cow,
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use async_trait::async_trait;

use chrono::{DateTime, Utc};

use super::{
    Backend, BackendError, Batch, CollectorId, Committed, DueKey, FoundKeys, Frontier, KeyRead,
    KeyRow, Query, RecentRuns, RowPage, RunRecord, Scheme, State, Storage, added_fields, check_key,
    count_keys, distinct_values, find_by_key,
};
use crate::model::{Cell, Row, Schema, row_to_json};

/// Keeps every table, state and the load history (its last 10,000 runs) in memory; cheap to
/// clone (clones share the data).
///
/// Rows and state are committed under one lock, so they are atomic. When a model changes,
/// existing rows are rewritten to the new fields (a new field is null; a field the model no
/// longer has is dropped).
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    inner: Arc<Mutex<Tables>>,
}

#[derive(Debug, Default)]
struct Tables {
    tables: HashMap<String, Table>,
    states: HashMap<CollectorId, State>,
    history: RecentRuns,
    /// Each fan-out collector's frontier, by key.
    keys: HashMap<CollectorId, std::collections::BTreeMap<String, KeyRow>>,
}

#[derive(Debug)]
struct Table {
    schema: Arc<Schema>,
    rows: Vec<Row>,
    /// Primary key (as JSON text) to position in `rows`.
    index: HashMap<String, usize>,
}

/// `memory`: gone when the process ends.
pub(super) const SCHEME: Scheme = Scheme {
    name: "memory",
    location: None,
    is_persistent: false,
    is_local_path: false,
    writes_stdout: false,
    open: |_: &Storage| Ok(Arc::new(MemoryBackend::new())),
};

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The rows of `table` in the order they were first stored, each as field name to JSON value.
    pub fn records(&self, table: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
        let tables = self.lock();
        let Some(table) = tables.tables.get(table) else {
            return Vec::new();
        };
        table
            .rows
            .iter()
            .map(|row| row_to_json(&table.schema, row).into_iter().collect())
            .collect()
    }

    /// The rows of `table`, cells in its schema's order.
    pub fn rows(&self, table: &str) -> Vec<Row> {
        self.lock()
            .tables
            .get(table)
            .map(|table| table.rows.clone())
            .unwrap_or_default()
    }

    /// The names of the tables, sorted.
    pub fn tables(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lock().tables.keys().cloned().collect();
        names.sort();
        names
    }
}

fn key_text(schema: &Schema, row: &[Cell]) -> String {
    key_cells_text(
        schema
            .primary_key_indexes()
            .iter()
            .map(|&index| &row[index]),
    )
}

/// A primary key's cells as the text `index` is keyed by.
fn key_cells_text<'a>(cells: impl Iterator<Item = &'a Cell>) -> String {
    let key: Vec<serde_json::Value> = cells.map(Cell::to_json).collect();
    serde_json::Value::Array(key).to_string()
}

/// For each field of `wanted`, its position in rows of `stored` (`None`: the field is new).
fn positions(stored: &Schema, wanted: &Schema) -> Vec<Option<usize>> {
    wanted
        .fields()
        .iter()
        .map(|field| stored.field(field.name()).map(|(index, _)| index))
        .collect()
}

/// A row of the stored schema as a row of the wanted one: a new field is null.
fn project(row: &[Cell], positions: &[Option<usize>]) -> Row {
    positions
        .iter()
        .map(|position| position.map_or(Cell::Null, |index| row[index].clone()))
        .collect()
}

impl Table {
    /// The rows as `schema` has them: as stored when it is the stored schema; else, when it is
    /// compatible (a model read before it was prepared again), with its fields.
    fn rows_as(&self, schema: &Schema) -> Result<Cow<'_, [Row]>, BackendError> {
        if *self.schema == *schema {
            return Ok(Cow::Borrowed(&self.rows));
        }
        added_fields(&self.schema, schema)?;
        let positions = positions(&self.schema, schema);
        let rows = self.rows.iter().map(|row| project(row, &positions));
        Ok(Cow::Owned(rows.collect()))
    }
}

#[async_trait]
impl Backend for MemoryBackend {
    fn keeps_keys(&self) -> bool {
        true
    }

    async fn add_keys(
        &self,
        collector: &CollectorId,
        found: &FoundKeys<'_>,
        now: DateTime<Utc>,
    ) -> Result<usize, BackendError> {
        let mut tables = self.lock();
        let known = tables.keys.entry(collector.clone()).or_default();
        let before = known.len();
        for key in found.keys {
            match known.get_mut(key) {
                Some(row) => row.found_at(found, now),
                None => {
                    known.insert(key.clone(), KeyRow::new(now, found.depth));
                }
            }
        }
        Ok(known.len() - before)
    }

    async fn due_keys(
        &self,
        collector: &CollectorId,
        now: DateTime<Utc>,
        limit: usize,
        max_depth: Option<u32>,
    ) -> Result<Vec<DueKey>, BackendError> {
        let tables = self.lock();
        let Some(known) = tables.keys.get(collector) else {
            return Ok(Vec::new());
        };
        let mut due: Vec<(&DateTime<Utc>, &String, &KeyRow)> = known
            .iter()
            .filter(|(_, row)| row.is_due(now) && row.is_within(max_depth))
            .filter_map(|(key, row)| Some((row.due_at.as_ref()?, key, row)))
            .collect();
        due.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        Ok(due
            .into_iter()
            .take(limit)
            .map(|(_, key, row)| {
                DueKey::new(key.clone(), row.failures)
                    .depth(row.depth)
                    .mark(row.mark.clone())
            })
            .collect())
    }

    async fn record_key(
        &self,
        collector: &CollectorId,
        read: &KeyRead,
    ) -> Result<(), BackendError> {
        let mut tables = self.lock();
        let known = tables.keys.entry(collector.clone()).or_default();
        known
            .entry(read.key.clone())
            .or_insert_with(|| KeyRow::new(read.at, None))
            .after(read);
        Ok(())
    }

    async fn frontier(
        &self,
        collector: &CollectorId,
        now: DateTime<Utc>,
        max_depth: Option<u32>,
    ) -> Result<Frontier, BackendError> {
        let tables = self.lock();
        Ok(tables
            .keys
            .get(collector)
            .map(|known| count_keys(known.values(), now, max_depth))
            .unwrap_or_default())
    }

    async fn prepare(&self, schema: &Schema) -> Result<(), BackendError> {
        let mut tables = self.lock();
        let wanted = Arc::new(schema.clone());
        match tables.tables.get_mut(schema.name()) {
            None => {
                tables.tables.insert(
                    schema.name().to_owned(),
                    Table {
                        schema: wanted,
                        rows: Vec::new(),
                        index: HashMap::new(),
                    },
                );
            }
            Some(table) if *table.schema == *schema => {}
            Some(table) => {
                added_fields(&table.schema, schema)?;
                let positions = positions(&table.schema, schema);
                for row in &mut table.rows {
                    *row = project(row, &positions);
                }
                table.schema = wanted;
            }
        }
        Ok(())
    }

    async fn commit(&self, batch: Batch) -> Result<Committed, BackendError> {
        let mut tables = self.lock();
        let name = batch.schema.name();
        let table = tables
            .tables
            .get_mut(name)
            .filter(|table| *table.schema == *batch.schema)
            .ok_or_else(|| BackendError::NotPrepared {
                table: name.to_owned(),
            })?;
        batch.check_rows()?;
        let mut committed = Committed::default();
        for row in batch.rows {
            let key = key_text(&table.schema, &row);
            match table.index.get(&key) {
                Some(&position) if table.rows[position] == row => committed.unchanged += 1,
                Some(&position) => {
                    table.rows[position] = row;
                    committed.updated += 1;
                }
                None => {
                    table.index.insert(key, table.rows.len());
                    table.rows.push(row);
                    committed.inserted += 1;
                }
            }
        }
        if let Some(state) = batch.state {
            tables.states.insert(batch.collector, state);
        }
        Ok(committed)
    }

    async fn load_state(&self, collector: &CollectorId) -> Result<Option<State>, BackendError> {
        Ok(self.lock().states.get(collector).cloned())
    }

    async fn record_run(&self, run: &RunRecord) -> Result<(), BackendError> {
        self.lock().history.push(run.clone());
        Ok(())
    }

    async fn run_history(
        &self,
        collector: Option<&CollectorId>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, BackendError> {
        Ok(self.lock().history.newest(collector, limit))
    }

    async fn get_row(&self, schema: &Schema, key: &[Cell]) -> Result<Option<Row>, BackendError> {
        check_key(schema, key)?;
        let tables = self.lock();
        let Some(table) = tables.tables.get(schema.name()) else {
            return Ok(None);
        };
        if *table.schema != *schema {
            return find_by_key(schema, key, table.rows_as(schema)?.iter());
        }
        let position = table.index.get(&key_cells_text(key.iter()));
        Ok(position.map(|&position| table.rows[position].clone()))
    }

    async fn query(&self, schema: &Schema, query: &Query) -> Result<RowPage, BackendError> {
        let tables = self.lock();
        match tables.tables.get(schema.name()) {
            Some(table) => query.page_of(schema, table.rows_as(schema)?.iter()),
            None => query.page_of(schema, []),
        }
    }

    async fn distinct(&self, schema: &Schema, field: &str) -> Result<Vec<Cell>, BackendError> {
        let tables = self.lock();
        match tables.tables.get(schema.name()) {
            Some(table) => distinct_values(schema, field, table.rows_as(schema)?.iter()),
            None => distinct_values(schema, field, []),
        }
    }
}
