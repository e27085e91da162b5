use super::*;

/// A line written straight from the cells reads back as `Cell::to_json` gives each cell, on
/// one line, with the same key hash as when it is read back on a restart.
#[test]
fn rows_are_written_as_their_cells_json() {
    let schema = Schema::builder("things")
        .field("id", FieldType::String)
        .nullable("count", FieldType::Integer)
        .nullable("price", FieldType::Float)
        .nullable("nan", FieldType::Float)
        .nullable("flag", FieldType::Bool)
        .nullable("at", FieldType::DateTime)
        .nullable("on", FieldType::Date)
        .nullable("compact", FieldType::Json)
        .nullable("pretty", FieldType::Json)
        .primary_key(["id"])
        .build()
        .unwrap();
    let row = vec![
        Cell::String("a\"b".into()),
        Cell::Integer(-3),
        Cell::Float(1.5),
        Cell::Float(f64::NAN),
        Cell::Bool(true),
        Cell::DateTime(chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap()),
        Cell::Date(chrono::NaiveDate::from_ymd_opt(2026, 2, 3).unwrap()),
        Cell::Json(r#"{"a": [1, 2]}"#.into()),
        Cell::Json("{\n  \"b\": null\n}".into()),
    ];
    let line = serde_json::to_string(&JsonRow {
        schema: &schema,
        row: &row,
    })
    .unwrap();
    assert!(!line.contains('\n'), "{line}");
    let read: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&line).unwrap();
    let expected: serde_json::Map<String, serde_json::Value> =
        crate::model::row_to_json(&schema, &row)
            .into_iter()
            .collect();
    assert_eq!(read, expected);
    assert_eq!(row_key(&schema, &row), record_key(&schema, &read));
}
