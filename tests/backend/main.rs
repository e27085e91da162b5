//! One behaviour suite, written once, run against every backend.

mod suite;

use hamstr::backend::MemoryBackend;

/// A store the suite can read back, whatever it keeps rows in.
pub(crate) trait ReadBack {
    /// The rows of `table`, each as field name to JSON value, in primary key order.
    fn read(&self, table: &str) -> Vec<serde_json::Map<String, serde_json::Value>>;
}

impl ReadBack for MemoryBackend {
    fn read(&self, table: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
        let mut records = self.records(table);
        records.sort_by_key(|record| record.get("id").map(ToString::to_string));
        records
    }
}

suite::behaviours!(memory, MemoryBackend::new());
