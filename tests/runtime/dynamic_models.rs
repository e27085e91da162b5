//! Collectors whose model is described at run time (what YAML collectors become): the same
//! runtime, reports and backends as typed ones.

use hamstr::{
    Hamstr,
    backend::Sqlite,
    collector::CollectorSettings,
    model::{DynamicModel, FieldType},
    testing::MockApi,
};
use serde_json::json;

use crate::mollie;

fn payments_model() -> DynamicModel {
    DynamicModel::builder("payments")
        .field("id", "id", FieldType::String, true)
        .field("createdAt", "createdAt", FieldType::DateTime, false)
        .field("amount_value", "amount.value", FieldType::Float, false)
        .field("currency", "amount.currency", FieldType::String, true)
        .field("metadata", "metadata", FieldType::Json, false)
        .primary_key(["id"])
        .build()
        .unwrap()
}

/// A run-time model reads nested fields by path into typed SQLite columns; a record that does
/// not fit is skipped and reported with its path, and the rest are stored.
#[tokio::test]
async fn a_dynamic_model_fills_sqlite_and_skips_misfits() {
    let api = MockApi::start_demo().await;
    let mut records = hamstr::testing::demo::payments(30);
    records[3]["amount"] = json!({"value": "12.00"}); // no currency, which is required
    records[7]["createdAt"] = json!("last Tuesday");
    api.set_records("/v2/payments", records);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hamstr.db");
    let service = mollie(&api).add_dynamic_collector(
        CollectorSettings::endpoint("payments").records("_embedded.payments"),
        payments_model(),
    );
    let report = Hamstr::new()
        .backend(Sqlite::open(&path).unwrap())
        .register_service(service)
        .run_once()
        .await
        .unwrap();
    let run = report.run("mollie", "payments").unwrap();
    assert!(run.is_success(), "{run}");
    assert_eq!((run.records, run.skipped, run.inserted), (28, 2, 28));
    let messages: Vec<String> = run
        .skipped_records
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        messages[0]
            .contains("record 3 does not fit: at `amount.currency`: a required field is missing"),
        "{}",
        messages[0]
    );
    assert!(
        messages[1].contains("at `createdAt`: `last Tuesday` is not an RFC 3339"),
        "{}",
        messages[1]
    );

    let connection = rusqlite::Connection::open(&path).unwrap();
    let (amount, created): (f64, String) = connection
        .query_row(
            "SELECT amount_value, createdAt FROM payments WHERE id = 'tr_00002'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(amount, 15.08);
    assert_eq!(created, "2026-01-01T00:34:00Z");
}
