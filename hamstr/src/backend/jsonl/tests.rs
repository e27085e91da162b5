use super::*;
use line::{JsonRow, record_key, row_key};

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
    assert_eq!(
        row_key(&schema, &row, &mut Vec::new()),
        record_key(&schema, &read)
    );
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

/// A model `things` keyed by an integer `id`, and a batch of its rows by their ids.
fn things() -> (Schema, impl Fn(&[i64]) -> Batch) {
    let schema = Schema::builder("things")
        .field("id", FieldType::Integer)
        .primary_key(["id"])
        .build()
        .unwrap();
    let shared = Arc::new(schema.clone());
    let batch = move |ids: &[i64]| Batch {
        collector: CollectorId::new("s", "things"),
        schema: Arc::clone(&shared),
        rows: ids.iter().map(|&id| vec![Cell::Integer(id)]).collect(),
        state: None,
    };
    (schema, batch)
}

/// After a failed write the index is read again from the file: a key the index took but whose
/// line was cut short is new again, and the cut line is gone.
#[test]
fn a_failed_write_is_recovered_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (schema, batch) = things();
    let store = JsonLines::dir(dir.path()).unwrap();
    let mut inner = lock(&store.inner);
    inner.prepare(schema.clone()).unwrap();
    inner.commit(batch(&[1, 2])).unwrap();
    // As a write that failed half-way leaves things: key 3 in the index, its line cut short.
    let Inner { target, tables, .. } = &mut *inner;
    let table = tables.get_mut("things").unwrap();
    table
        .keys
        .insert(row_key(&schema, &[Cell::Integer(3)], &mut Vec::new()), 0)
        .unwrap();
    let file = table.file.as_mut().unwrap();
    file.write_all(b"{\"id\":3").unwrap();
    file.flush().unwrap();
    table.recover(target, "things");
    let committed = inner.commit(batch(&[1, 3])).unwrap();
    assert_eq!((committed.inserted, committed.unchanged), (1, 1));
    let text = fs::read_to_string(dir.path().join("things.jsonl")).unwrap();
    assert_eq!(text, "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n");
}

/// A file that cannot be opened again after a failed write makes the next commits fail, never
/// succeed without writing; once it can be opened, they write.
#[test]
fn a_file_that_cannot_be_opened_again_refuses_commits() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("out");
    let (schema, batch) = things();
    let store = JsonLines::dir(&dir).unwrap();
    let mut inner = lock(&store.inner);
    inner.prepare(schema.clone()).unwrap();
    inner.commit(batch(&[1])).unwrap();
    let kept = root.path().join("kept");
    fs::rename(&dir, &kept).unwrap();
    let Inner { target, tables, .. } = &mut *inner;
    tables.get_mut("things").unwrap().recover(target, "things");
    let error = inner.commit(batch(&[2])).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("opening the file of `things` again"),
        "{error}"
    );
    fs::rename(&kept, &dir).unwrap();
    let committed = inner.commit(batch(&[1, 2])).unwrap();
    assert_eq!((committed.inserted, committed.unchanged), (1, 1));
    let text = fs::read_to_string(dir.join("things.jsonl")).unwrap();
    assert_eq!(text, "{\"id\":1}\n{\"id\":2}\n");
}
