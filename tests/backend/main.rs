//! One behaviour suite, written once, run against every backend.

mod suite;

use hamstr::backend::{Backend, JsonLines, MemoryBackend, Postgres, Sqlite};
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

/// A database of its own on the test server, read back with `psql` (plain SQL, no hamstr).
struct PostgresDatabase {
    store: Postgres,
    url: String,
}

impl PostgresDatabase {
    async fn new() -> Self {
        let url = hamstr::testing::scratch_database("backend").await.unwrap();
        let store = Postgres::connect(&url).unwrap();
        Self { store, url }
    }

    /// The lines `psql` prints for `sql`, unaligned, without headers.
    fn psql(&self, sql: &str) -> Vec<String> {
        let output = std::process::Command::new("psql")
            .args([
                self.url.as_str(),
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .env("PGTZ", "UTC")
            .output()
            .expect("psql (the PostgreSQL client) is installed");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Fixture for PostgresDatabase {
    type Store = Postgres;
    fn backend(&self) -> &Postgres {
        &self.store
    }
    fn read(&self, table: &str) -> Vec<Map<String, Value>> {
        let types: Vec<(String, String)> = self
            .psql(&format!(
                "SELECT column_name || '|' || field_type FROM _hamstr_columns WHERE table_name = '{table}' ORDER BY position"
            ))
            .into_iter()
            .map(|line| {
                let (name, field_type) = line.split_once('|').unwrap();
                (name.to_owned(), field_type.to_owned())
            })
            .collect();
        self.psql(&format!(
            "SELECT row_to_json(t) FROM \"{table}\" t ORDER BY \"id\""
        ))
        .into_iter()
        .map(|line| {
            let mut stored: Map<String, Value> = serde_json::from_str(&line).unwrap();
            types
                .iter()
                .map(|(name, field_type)| {
                    let value = stored.remove(name).unwrap_or(Value::Null);
                    // row_to_json writes `+00:00`; hamstr's other stores write `Z`.
                    let value = match (field_type.as_str(), value) {
                        ("datetime", Value::String(text)) => Value::String(
                            chrono::DateTime::parse_from_rfc3339(&text)
                                .unwrap()
                                .with_timezone(&chrono::Utc)
                                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                        ),
                        (_, value) => value,
                    };
                    (name.clone(), value)
                })
                .collect()
        })
        .collect()
    }
}

/// A JSON Lines folder, read back as a log: the last line with a primary key wins.
struct JsonLinesDir {
    store: JsonLines,
    dir: tempfile::TempDir,
}

impl JsonLinesDir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonLines::dir(dir.path()).unwrap();
        Self { store, dir }
    }
}

impl Fixture for JsonLinesDir {
    type Store = JsonLines;
    fn backend(&self) -> &JsonLines {
        &self.store
    }
    fn read(&self, table: &str) -> Vec<Map<String, Value>> {
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(self.dir.path().join(format!("{table}.schema.json"))).unwrap(),
        )
        .unwrap();
        let fields: Vec<String> = schema["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|field| field[0].as_str().unwrap().to_owned())
            .collect();
        let key: Vec<String> = serde_json::from_value(schema["primary_key"].clone()).unwrap();
        let text = std::fs::read_to_string(self.dir.path().join(format!("{table}.jsonl"))).unwrap();
        let mut latest: Vec<(Vec<Value>, Map<String, Value>)> = Vec::new();
        for line in text.lines() {
            let record: Map<String, Value> = serde_json::from_str(line).unwrap();
            let record: Map<String, Value> = fields
                .iter()
                .map(|field| {
                    (
                        field.clone(),
                        record.get(field).cloned().unwrap_or(Value::Null),
                    )
                })
                .collect();
            let record_key: Vec<Value> = key.iter().map(|field| record[field].clone()).collect();
            match latest
                .iter_mut()
                .find(|(existing, _)| *existing == record_key)
            {
                Some((_, existing)) => *existing = record,
                None => latest.push((record_key, record)),
            }
        }
        let mut records: Vec<Map<String, Value>> =
            latest.into_iter().map(|(_, record)| record).collect();
        records.sort_by_key(|record| record.get("id").map(ToString::to_string));
        records
    }
}

suite::behaviours!(memory, MemoryBackend::new());
suite::behaviours!(jsonl, JsonLinesDir::new());
suite::behaviours!(sqlite, SqliteFile::new());
suite::behaviours!(postgres, PostgresDatabase::new().await);

mod hand_written;
mod jsonl_writer;
mod postgres_server;
