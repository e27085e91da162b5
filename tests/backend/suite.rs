//! The behaviours every backend must have, each a generic function over the backend, and a
//! macro that runs them all for one backend.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use hamstr::{
    backend::{Backend, BackendError, Batch, CollectorId, Committed, State},
    model::{Cell, FieldType, Row, Schema},
    state::{Mark, RunOutcome, RunRecord},
};
use serde_json::json;

use super::Fixture;

pub(crate) mod read;

/// Runs every behaviour against the backend `$make` builds (a fresh one per behaviour).
macro_rules! behaviours {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn upserts_by_primary_key() {
                crate::suite::upserts_by_primary_key($make).await;
            }
            #[tokio::test]
            async fn large_batches_with_repeated_keys() {
                crate::suite::large_batches_with_repeated_keys($make).await;
            }
            #[tokio::test]
            async fn keeps_composite_keys_apart() {
                crate::suite::keeps_composite_keys_apart($make).await;
            }
            #[tokio::test]
            async fn commits_state_with_rows() {
                crate::suite::commits_state_with_rows($make).await;
            }
            #[tokio::test]
            async fn keeps_the_load_history() {
                crate::suite::keeps_the_load_history($make).await;
            }
            #[tokio::test]
            async fn a_new_field_adds_a_column() {
                crate::suite::a_new_field_adds_a_column($make).await;
            }
            #[tokio::test]
            async fn refuses_unsafe_model_changes() {
                crate::suite::refuses_unsafe_model_changes($make).await;
            }
            #[tokio::test]
            async fn stores_every_field_type() {
                crate::suite::stores_every_field_type($make).await;
            }
            #[tokio::test]
            async fn gets_a_row_by_its_key() {
                crate::suite::read::gets_a_row_by_its_key($make).await;
            }
            #[tokio::test]
            async fn filters_by_equality_and_ranges() {
                crate::suite::read::filters_by_equality_and_ranges($make).await;
            }
            #[tokio::test]
            async fn orders_by_a_column_with_ties_broken_by_key() {
                crate::suite::read::orders_by_a_column_with_ties_broken_by_key($make).await;
            }
            #[tokio::test]
            async fn pages_give_every_row_once_in_order() {
                crate::suite::read::pages_give_every_row_once_in_order($make).await;
            }
            #[tokio::test]
            async fn pages_stay_right_while_rows_are_written() {
                crate::suite::read::pages_stay_right_while_rows_are_written($make).await;
            }
            #[tokio::test]
            async fn lists_distinct_values() {
                crate::suite::read::lists_distinct_values($make).await;
            }
            #[tokio::test]
            async fn refuses_bad_queries() {
                crate::suite::read::refuses_bad_queries($make).await;
            }
        }
    };
}
pub(crate) use behaviours;

fn payments() -> Arc<Schema> {
    Arc::new(
        Schema::builder("payments")
            .field("id", FieldType::String)
            .field("amount", FieldType::Integer)
            .nullable("description", FieldType::String)
            .primary_key(["id"])
            .build()
            .unwrap(),
    )
}

fn payment(id: &str, amount: i64, description: Option<&str>) -> Row {
    vec![
        Cell::String(id.into()),
        Cell::Integer(amount),
        description.map_or(Cell::Null, |text| Cell::String(text.into())),
    ]
}

fn batch(schema: &Arc<Schema>, rows: Vec<Row>, state: Option<State>) -> Batch {
    Batch {
        collector: CollectorId::new("mollie", "payments"),
        schema: Arc::clone(schema),
        rows,
        state,
    }
}

/// The same primary key twice leaves one row with the newest values, and the counts say so.
pub(crate) async fn upserts_by_primary_key<F: Fixture>(fixture: F) {
    let schema = payments();
    fixture.backend().prepare(&schema).await.unwrap();
    let first = vec![
        payment("tr_1", 100, None),
        payment("tr_2", 200, Some("two")),
    ];
    let committed = fixture
        .backend()
        .commit(batch(&schema, first, None))
        .await
        .unwrap();
    assert_eq!(
        committed,
        Committed {
            inserted: 2,
            updated: 0,
            unchanged: 0
        }
    );
    let second = vec![
        payment("tr_2", 250, None),
        payment("tr_3", 300, Some("three")),
    ];
    let committed = fixture
        .backend()
        .commit(batch(&schema, second, None))
        .await
        .unwrap();
    assert_eq!(
        committed,
        Committed {
            inserted: 1,
            updated: 1,
            unchanged: 0
        }
    );
    // The same values again change nothing, and are counted as unchanged.
    let again = vec![
        payment("tr_2", 250, None),
        payment("tr_3", 301, Some("three")),
    ];
    let committed = fixture
        .backend()
        .commit(batch(&schema, again, None))
        .await
        .unwrap();
    assert_eq!(
        committed,
        Committed {
            inserted: 0,
            updated: 1,
            unchanged: 1
        }
    );
    let rows = fixture.read("payments");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["amount"], json!(250));
    assert_eq!(rows[2]["amount"], json!(301));
    assert_eq!(rows[1]["description"], json!(null));
    assert_eq!(rows[2]["description"], json!("three"));
    // Preparing again with the same schema changes nothing.
    fixture.backend().prepare(&schema).await.unwrap();
    assert_eq!(fixture.read("payments").len(), 3);
}

/// A batch far larger than a page, with keys repeated inside it, stores and counts as the same
/// rows upserted one by one would.
pub(crate) async fn large_batches_with_repeated_keys<F: Fixture>(fixture: F) {
    let schema = payments();
    fixture.backend().prepare(&schema).await.unwrap();
    let mut rows: Vec<Row> = (0..1500)
        .map(|index| payment(&format!("p{index:04}"), index, Some("bulk")))
        .collect();
    // Keys 0-4 again, unchanged; keys 5-9 again, changed; key 0 a third time, changed.
    for index in 0..10 {
        let amount = if index < 5 { index } else { index + 1000 };
        rows.push(payment(&format!("p{index:04}"), amount, Some("bulk")));
    }
    rows.push(payment("p0000", 7777, None));
    let committed = fixture
        .backend()
        .commit(batch(&schema, rows.clone(), None))
        .await
        .unwrap();
    assert_eq!(
        committed,
        Committed {
            inserted: 1500,
            updated: 6,
            unchanged: 5
        }
    );
    let committed = fixture
        .backend()
        .commit(batch(&schema, rows, None))
        .await
        .unwrap();
    assert_eq!(
        committed,
        Committed {
            inserted: 0,
            updated: 12,
            unchanged: 1499
        }
    );
    let stored = fixture.read("payments");
    assert_eq!(stored.len(), 1500);
    assert_eq!(stored[0]["amount"], json!(7777));
    assert_eq!(stored[0]["description"], json!(null));
    assert_eq!(stored[7]["amount"], json!(1007));
    assert_eq!(stored[1499]["amount"], json!(1499));
}

/// Rows that share one part of a composite key are different rows.
pub(crate) async fn keeps_composite_keys_apart<F: Fixture>(fixture: F) {
    let schema = Arc::new(
        Schema::builder("stars")
            .field("id", FieldType::String)
            .field("repository", FieldType::String)
            .field("count", FieldType::Integer)
            .primary_key(["id", "repository"])
            .build()
            .unwrap(),
    );
    fixture.backend().prepare(&schema).await.unwrap();
    let row = |user: &str, repository: &str, count: i64| {
        vec![
            Cell::String(user.into()),
            Cell::String(repository.into()),
            Cell::Integer(count),
        ]
    };
    let rows = vec![
        row("ann", "hamstr", 1),
        row("ann", "serde", 2),
        row("bob", "hamstr", 3),
    ];
    fixture
        .backend()
        .commit(batch(&schema, rows, None))
        .await
        .unwrap();
    let committed = fixture
        .backend()
        .commit(batch(&schema, vec![row("ann", "serde", 5)], None))
        .await
        .unwrap();
    assert_eq!(
        committed,
        Committed {
            inserted: 0,
            updated: 1,
            unchanged: 0
        }
    );
    let rows = fixture.read("stars");
    assert_eq!(rows.len(), 3);
    let serde = rows
        .iter()
        .find(|row| row["repository"] == json!("serde"))
        .unwrap();
    assert_eq!(serde["count"], json!(5));
}

/// Runs are kept in the load history and read back newest first, for one collector or all.
pub(crate) async fn keeps_the_load_history<F: Fixture>(fixture: F) {
    let backend = fixture.backend();
    assert!(backend.run_history(None, 10).await.unwrap().is_empty());
    let run = |collector: &str, minute: u32, outcome: RunOutcome| RunRecord {
        collector: CollectorId::new("shop", collector),
        started_at: Utc.with_ymd_and_hms(2026, 11, 24, 12, minute, 0).unwrap(),
        finished_at: Utc.with_ymd_and_hms(2026, 11, 24, 12, minute, 30).unwrap(),
        outcome,
        pages: 3,
        records: 250,
        inserted: 200,
        updated: 20,
        unchanged: 25,
        dropped: 1,
        skipped: 4,
        is_full: minute == 0,
        resumed_at_page: (minute == 2).then_some(7),
        error: (outcome == RunOutcome::Failed).then(|| "503 Service Unavailable".to_owned()),
    };
    let runs = [
        run("orders", 0, RunOutcome::Succeeded),
        run("refunds", 1, RunOutcome::Stopped),
        run("orders", 2, RunOutcome::Failed),
    ];
    for record in &runs {
        backend.record_run(record).await.unwrap();
    }
    let orders = CollectorId::new("shop", "orders");
    assert_eq!(
        backend.run_history(Some(&orders), 10).await.unwrap(),
        vec![runs[2].clone(), runs[0].clone()]
    );
    assert_eq!(
        backend.run_history(None, 2).await.unwrap(),
        vec![runs[2].clone(), runs[1].clone()]
    );
}

/// State is stored with its batch, a batch without state keeps the stored one, and collectors
/// keep their own.
pub(crate) async fn commits_state_with_rows<F: Fixture>(fixture: F) {
    let schema = payments();
    fixture.backend().prepare(&schema).await.unwrap();
    let id = CollectorId::new("mollie", "payments");
    assert_eq!(fixture.backend().load_state(&id).await.unwrap(), None);
    let mut state = State::default();
    state.mark = Some(Mark::new("seek", "id", "tr_2"));
    state.last_run = Some(Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap());
    state
        .values
        .insert("high_water".into(), "2026-11-24T11:59:00Z".into());
    fixture
        .backend()
        .commit(batch(
            &schema,
            vec![payment("tr_1", 1, None), payment("tr_2", 2, None)],
            Some(state.clone()),
        ))
        .await
        .unwrap();
    assert_eq!(
        fixture.backend().load_state(&id).await.unwrap(),
        Some(state.clone())
    );
    fixture
        .backend()
        .commit(batch(&schema, vec![payment("tr_3", 3, None)], None))
        .await
        .unwrap();
    assert_eq!(
        fixture.backend().load_state(&id).await.unwrap(),
        Some(state)
    );
    assert_eq!(
        fixture
            .backend()
            .load_state(&CollectorId::new("mollie", "refunds"))
            .await
            .unwrap(),
        None
    );
}

/// A model that gains a field gains a column; existing rows have null there.
pub(crate) async fn a_new_field_adds_a_column<F: Fixture>(fixture: F) {
    let old = payments();
    fixture.backend().prepare(&old).await.unwrap();
    fixture
        .backend()
        .commit(batch(&old, vec![payment("tr_1", 1, Some("old"))], None))
        .await
        .unwrap();
    let new = Arc::new(
        Schema::builder("payments")
            .field("id", FieldType::String)
            .field("amount", FieldType::Integer)
            .nullable("description", FieldType::String)
            .nullable("method", FieldType::String)
            .primary_key(["id"])
            .build()
            .unwrap(),
    );
    fixture.backend().prepare(&new).await.unwrap();
    let row = vec![
        Cell::String("tr_2".into()),
        Cell::Integer(2),
        Cell::Null,
        Cell::String("ideal".into()),
    ];
    fixture
        .backend()
        .commit(batch(&new, vec![row], None))
        .await
        .unwrap();
    let rows = fixture.read("payments");
    assert_eq!(rows[0]["method"], json!(null));
    assert_eq!(rows[0]["description"], json!("old"));
    assert_eq!(rows[1]["method"], json!("ideal"));
}

/// A field whose type changed, or another primary key, is a clear error naming table and field.
pub(crate) async fn refuses_unsafe_model_changes<F: Fixture>(fixture: F) {
    let old = payments();
    fixture.backend().prepare(&old).await.unwrap();
    fixture
        .backend()
        .commit(batch(&old, vec![payment("tr_1", 1, None)], None))
        .await
        .unwrap();
    let retyped = Schema::builder("payments")
        .field("id", FieldType::String)
        .field("amount", FieldType::Json)
        .primary_key(["id"])
        .build()
        .unwrap();
    let error = fixture.backend().prepare(&retyped).await.unwrap_err();
    assert!(
        matches!(error, BackendError::Incompatible { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "table `payments`: field `amount` changed type from integer to json; existing rows cannot be converted safely"
    );
    let rekeyed = Schema::builder("payments")
        .field("id", FieldType::String)
        .field("amount", FieldType::Integer)
        .primary_key(["id", "amount"])
        .build()
        .unwrap();
    let error = fixture.backend().prepare(&rekeyed).await.unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("table `payments`: field `id` is in a primary key (id, amount)"),
        "{error}"
    );
    // What was stored is still there.
    assert_eq!(fixture.read("payments").len(), 1);
}

/// Every field type round-trips.
pub(crate) async fn stores_every_field_type<F: Fixture>(fixture: F) {
    let schema = Arc::new(
        Schema::builder("everything")
            .field("id", FieldType::String)
            .field("count", FieldType::Integer)
            .field("ratio", FieldType::Float)
            .field("paid", FieldType::Bool)
            .field("created_at", FieldType::DateTime)
            .field("day", FieldType::Date)
            .field("amount", FieldType::Json)
            .nullable("note", FieldType::String)
            .primary_key(["id"])
            .build()
            .unwrap(),
    );
    fixture.backend().prepare(&schema).await.unwrap();
    let row = vec![
        Cell::String("x".into()),
        Cell::Integer(-42),
        Cell::Float(0.25),
        Cell::Bool(true),
        Cell::DateTime(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()),
        Cell::Date(chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap()),
        Cell::Json(r#"{"value":"10.00","currency":"EUR"}"#.into()),
        Cell::Null,
    ];
    fixture
        .backend()
        .commit(batch(&schema, vec![row], None))
        .await
        .unwrap();
    let stored = &fixture.read("everything")[0];
    assert_eq!(stored["count"], json!(-42));
    assert_eq!(stored["ratio"], json!(0.25));
    assert_eq!(stored["paid"], json!(true));
    assert_eq!(stored["created_at"], json!("2026-01-02T03:04:05Z"));
    assert_eq!(stored["day"], json!("2026-01-02"));
    assert_eq!(
        stored["amount"],
        json!({"value": "10.00", "currency": "EUR"})
    );
    assert_eq!(stored["note"], json!(null));
}
