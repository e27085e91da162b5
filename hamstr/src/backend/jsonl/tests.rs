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

/// A line reads back as the row it was written from: floats exactly, JSON text as written, a
/// field the line lacks as null, and a value of another type as an error naming the field.
#[test]
fn lines_read_back_as_their_rows() {
    let schema = Schema::builder("things")
        .field("id", FieldType::Integer)
        .nullable("price", FieldType::Float)
        .nullable("at", FieldType::DateTime)
        .nullable("on", FieldType::Date)
        .nullable("flag", FieldType::Bool)
        .nullable("extra", FieldType::Json)
        .nullable("wide", FieldType::Integer)
        .nullable("added", FieldType::String)
        .primary_key(["id"])
        .build()
        .unwrap();
    let at = chrono::DateTime::from_timestamp(1_767_225_600, 123_456_789).unwrap();
    let row = vec![
        Cell::Integer(1),
        Cell::Float(0.1 + 0.2),
        Cell::DateTime(at),
        Cell::Date(chrono::NaiveDate::from_ymd_opt(2026, 2, 3).unwrap()),
        Cell::Bool(false),
        Cell::Json(r#"{"b": [1, 2],"a":null}"#.into()),
        Cell::Float(1.8e19),
        Cell::Null,
    ];
    let mut line = serde_json::to_vec(&JsonRow {
        schema: &schema,
        row: &row[..7],
    })
    .unwrap();
    line.push(b'\n');
    assert_eq!(line::read_row(&schema, &line).unwrap(), row);
    let error = line::read_row(&schema, br#"{"id": 2, "at": "yesterday"}"#).unwrap_err();
    assert_eq!(
        error.to_string(),
        "field `at` holds `\"yesterday\"`, which is no datetime"
    );
}
