//! How a stored table must change to take a model as it is now: [`TablePlan`], what
//! [`Backend::plan_migration`](super::Backend::plan_migration) answers and
//! [`Backend::migrate`](super::Backend::migrate) carries out (`hamstr migrate FILE`).
//!
//! A model that only gains fields needs no migration: [`prepare`](super::Backend::prepare)
//! adds their columns. A field whose type changed and a changed primary key do: `prepare`
//! refuses them, and a migration converts the stored values (stopping, with nothing changed,
//! at the first value that does not convert) or rebuilds the key (stopping if two rows would
//! share it). A column whose field left the model is kept, with its values.

use std::fmt;

use crate::model::{FieldType, Schema};

/// The changes one model's table needs, and the statements that make them, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePlan {
    /// The table (the model's name).
    pub table: String,
    /// What changes, one entry per column or key.
    pub changes: Vec<Change>,
    /// The store's own statements (SQL), run in one transaction with every other table's.
    pub statements: Vec<String>,
}

impl TablePlan {
    /// Whether the table already fits its model.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

/// One change of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// The table does not exist yet.
    CreateTable,
    /// The model gained a field: a new, nullable column.
    AddColumn {
        /// The column.
        column: String,
        /// Its field's type.
        field_type: FieldType,
    },
    /// A field's type changed: its stored values are converted.
    ChangeType {
        /// The column.
        column: String,
        /// The type it holds now.
        from: FieldType,
        /// The model's type.
        to: FieldType,
    },
    /// The primary key changed.
    ChangeKey {
        /// The stored key's columns.
        from: Vec<String>,
        /// The model's.
        to: Vec<String>,
    },
    /// The model no longer has this field; the column and its values stay (nullable).
    KeepColumn {
        /// The column.
        column: String,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateTable => formatter.write_str("create the table"),
            Self::AddColumn { column, field_type } => {
                write!(formatter, "add column `{column}` ({field_type})")
            }
            Self::ChangeType { column, from, to } => write!(
                formatter,
                "convert column `{column}` from {from} to {to} (stops, changing nothing, at a value that does not convert)"
            ),
            Self::ChangeKey { from, to } => write!(
                formatter,
                "change the primary key from ({}) to ({}) (stops, changing nothing, if two rows would share a key)",
                from.join(", "),
                to.join(", ")
            ),
            Self::KeepColumn { column } => write!(
                formatter,
                "keep column `{column}` and its values: its field is no longer in the model"
            ),
        }
    }
}

/// What turns the table made for `stored` (`None`: no table) into one for `wanted`.
pub fn changes(stored: Option<&Schema>, wanted: &Schema) -> Vec<Change> {
    let Some(stored) = stored else {
        return vec![Change::CreateTable];
    };
    let mut changes = Vec::new();
    for field in wanted.fields() {
        match stored.field(field.name()) {
            None => changes.push(Change::AddColumn {
                column: field.name().to_owned(),
                field_type: field.field_type(),
            }),
            Some((_, existing)) if existing.field_type() != field.field_type() => {
                changes.push(Change::ChangeType {
                    column: field.name().to_owned(),
                    from: existing.field_type(),
                    to: field.field_type(),
                });
            }
            Some(_) => {}
        }
    }
    let key = |schema: &Schema| -> Vec<String> {
        schema
            .primary_key()
            .map(|field| field.name().to_owned())
            .collect()
    };
    if key(stored) != key(wanted) {
        changes.push(Change::ChangeKey {
            from: key(stored),
            to: key(wanted),
        });
    }
    for field in stored.fields() {
        if wanted.field(field.name()).is_none() {
            changes.push(Change::KeepColumn {
                column: field.name().to_owned(),
            });
        }
    }
    changes
}

/// The schema the table is recorded as after a migration: the model's fields, then the columns
/// kept from fields it no longer has (nullable, of their stored types).
pub fn migrated_schema(stored: Option<&Schema>, wanted: &Schema) -> Schema {
    let mut builder = Schema::builder(wanted.name());
    for field in wanted.fields() {
        builder = if field.is_nullable() {
            builder.nullable(field.name(), field.field_type())
        } else {
            builder.field(field.name(), field.field_type())
        };
    }
    for field in stored.map(Schema::fields).unwrap_or_default() {
        if wanted.field(field.name()).is_none() {
            builder = builder.nullable(field.name(), field.field_type());
        }
    }
    builder
        .primary_key(wanted.primary_key().map(|field| field.name().to_owned()))
        .build()
        .expect("a valid schema with nullable fields added stays valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_every_column_and_key_that_differs() {
        let stored = Schema::builder("items")
            .field("id", FieldType::String)
            .field("amount", FieldType::String)
            .nullable("old", FieldType::Bool)
            .primary_key(["id"])
            .build()
            .unwrap();
        let wanted = Schema::builder("items")
            .field("id", FieldType::String)
            .field("amount", FieldType::Integer)
            .nullable("note", FieldType::String)
            .primary_key(["id", "amount"])
            .build()
            .unwrap();
        let found = changes(Some(&stored), &wanted);
        assert_eq!(
            found,
            [
                Change::ChangeType {
                    column: "amount".into(),
                    from: FieldType::String,
                    to: FieldType::Integer
                },
                Change::AddColumn {
                    column: "note".into(),
                    field_type: FieldType::String
                },
                Change::ChangeKey {
                    from: vec!["id".into()],
                    to: vec!["id".into(), "amount".into()]
                },
                Change::KeepColumn {
                    column: "old".into()
                },
            ]
        );
        assert_eq!(changes(None, &wanted), [Change::CreateTable]);
        assert!(changes(Some(&wanted), &wanted).is_empty());
        let migrated = migrated_schema(Some(&stored), &wanted);
        let names: Vec<&str> = migrated.fields().iter().map(|field| field.name()).collect();
        assert_eq!(names, ["id", "amount", "note", "old"]);
    }
}
