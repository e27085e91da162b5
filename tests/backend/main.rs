//! One behaviour suite, written once, run against every backend.

mod suite;

use hamstr::backend::{Backend, MemoryBackend, Sqlite};
use serde_json::{Map, Value};

/// A backend under test, and a way to read back what it stored.
pub(crate) trait Fixture {
    /// The backend's type.
    type Store: Backend;
    /// The backend.
    fn backend(&self) -> &Self::Store;
    /// The rows of `table`, each as field name to JSON value, ordered by `id`.
    fn read(&self, table: &str) -> Vec<Map<String, Value>>;
}

impl Fixture for MemoryBackend {
    type Store = Self;
    fn backend(&self) -> &Self {
        self
    }
    fn read(&self, table: &str) -> Vec<Map<String, Value>> {
        let mut records = self.records(table);
        records.sort_by_key(|record| record.get("id").map(ToString::to_string));
        records
    }
}

/// A SQLite file in a directory of its own, read back with plain SQL.
struct SqliteFile {
    store: Sqlite,
    _dir: tempfile::TempDir,
}

impl SqliteFile {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open(dir.path().join("hamstr.db")).unwrap();
        Self { store, _dir: dir }
    }
}

impl Fixture for SqliteFile {
    type Store = Sqlite;
    fn backend(&self) -> &Sqlite {
        &self.store
    }
    fn read(&self, table: &str) -> Vec<Map<String, Value>> {
        let connection = rusqlite::Connection::open(self.store.path()).unwrap();
        let types: Vec<(String, String)> = connection
            .prepare("SELECT column_name, field_type FROM _hamstr_columns WHERE table_name = ?1 ORDER BY position")
            .unwrap()
            .query_map([table], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let columns: Vec<String> = types
            .iter()
            .map(|(name, _)| format!("\"{name}\""))
            .collect();
        let sql = format!(
            "SELECT {} FROM \"{table}\" ORDER BY \"id\"",
            columns.join(", ")
        );
        let mut statement = connection.prepare(&sql).unwrap();
        statement
            .query_map([], |row| {
                let mut record = Map::new();
                for (index, (name, field_type)) in types.iter().enumerate() {
                    let value = match row.get::<_, rusqlite::types::Value>(index)? {
                        rusqlite::types::Value::Null => Value::Null,
                        rusqlite::types::Value::Integer(number) if field_type == "bool" => {
                            Value::Bool(number != 0)
                        }
                        rusqlite::types::Value::Integer(number) => Value::from(number),
                        rusqlite::types::Value::Real(number) => Value::from(number),
                        rusqlite::types::Value::Text(text) if field_type == "json" => {
                            serde_json::from_str(&text).unwrap()
                        }
                        rusqlite::types::Value::Text(text) => Value::String(text),
                        rusqlite::types::Value::Blob(_) => panic!("no blobs are stored"),
                    };
                    record.insert(name.clone(), value);
                }
                Ok(record)
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

suite::behaviours!(memory, MemoryBackend::new());
suite::behaviours!(sqlite, SqliteFile::new());
