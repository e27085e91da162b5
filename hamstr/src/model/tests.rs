//! Schemas (what the builder refuses, the rules names follow) and field values as cells.

use super::*;

#[test]
fn schema_errors_name_the_model_and_field() {
    let error = Schema::builder("payments")
        .field("id", FieldType::String)
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "model `payments` has no primary key: name one or several fields"
    );
    let error = Schema::builder("payments")
        .field("id", FieldType::String)
        .primary_key(["uuid"])
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "model `payments` has no field `uuid` for its primary key"
    );
    let error = Schema::builder("p")
        .nullable("id", FieldType::String)
        .primary_key(["id"])
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("cannot be nullable"));
    let error = Schema::builder("p")
        .field("id", FieldType::String)
        .field("id", FieldType::Integer)
        .primary_key(["id"])
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("the field `id` twice"));
    // Names that differ only in case are one column in SQL.
    let error = Schema::builder("p")
        .field("id", FieldType::String)
        .field("ID", FieldType::Integer)
        .primary_key(["id"])
        .build()
        .unwrap_err();
    assert!(
        error.to_string().contains("the field `ID` twice"),
        "{error}"
    );
}

/// A model name that would write into the store's own tables, or take a JSON Lines file
/// out of its folder, is refused when the schema is built.
#[test]
fn reserved_and_path_like_model_names_are_refused() {
    for name in [
        "_hamstr_state",
        "_HAMSTR_runs",
        "sqlite_sequence",
        "../../evil",
        "/tmp/abs",
        ".hidden",
        "a\\b",
    ] {
        let error = Schema::builder(name)
            .field("id", FieldType::String)
            .primary_key(["id"])
            .build()
            .unwrap_err();
        assert!(
            matches!(error, SchemaError::BadName { .. }),
            "{name}: {error}"
        );
        assert!(
            error
                .to_string()
                .contains(&format!("`{name}` cannot be used")),
            "{error}"
        );
    }
    for name in ["items", "repos_v2", "Payments", "data.v1"] {
        let schema = Schema::builder(name)
            .field("id", FieldType::String)
            .primary_key(["id"])
            .build();
        assert!(schema.is_ok(), "{name}");
    }
}

#[test]
fn field_values_become_cells() {
    assert_eq!(Some(5_i32).into_cell(), Cell::Integer(5));
    assert_eq!(None::<String>.into_cell(), Cell::Null);
    assert_eq!(Json(vec![1, 2]).into_cell(), Cell::Json("[1,2]".into()));
    const { assert!(<Option<bool> as FieldValue>::IS_NULLABLE) };
    assert_eq!(<Option<f64> as FieldValue>::FIELD_TYPE, FieldType::Float);
}
