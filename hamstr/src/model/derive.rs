//! What `#[derive(Model)]` expands to: each field's column type and cell, chosen by the field's
//! Rust type. A type with a [`FieldValue`] impl is stored as that; any other serializable type
//! (a nested struct, a list) is stored as JSON. The choice is made by method resolution
//! ("autoref specialization"): the [`FieldValue`] route sits one reference deeper, so it is
//! found first when it applies.

use std::marker::PhantomData;

use super::{Cell, FieldType, FieldValue, json_cell};

/// Carries a field's type to the two routes.
#[derive(Debug)]
pub struct FieldProbe<T>(PhantomData<fn() -> T>);

impl<T> FieldProbe<T> {
    /// A probe for `T`.
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T> Default for FieldProbe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The model of a `#[derive(Collector)]` whose attributes have errors: it has no values, so
/// the placeholder impl adds no error of its own.
#[derive(Debug, serde::Deserialize)]
pub enum Unusable {}

impl super::Model for Unusable {
    fn schema() -> std::sync::Arc<super::Schema> {
        unreachable!("a #[derive(Collector)] with errors does not compile")
    }
    fn into_row(self) -> super::Row {
        match self {}
    }
}

/// How one field is stored: found once per field type, used by the schema and by every row.
#[derive(Debug)]
pub struct Route<T> {
    /// The column type.
    pub field_type: FieldType,
    /// Whether the column may be null.
    pub is_nullable: bool,
    /// The value as a cell.
    pub cell: fn(T) -> Cell,
}

/// The route for types with a [`FieldValue`] impl.
pub trait ViaFieldValue {
    /// The field's type.
    type Value;
    /// How it is stored (`is_option`, the derive's reading of the type, is not needed).
    fn route(&self, is_option: bool) -> Route<Self::Value>;
}

impl<T: FieldValue> ViaFieldValue for &FieldProbe<T> {
    type Value = T;
    fn route(&self, _is_option: bool) -> Route<T> {
        Route {
            field_type: T::FIELD_TYPE,
            is_nullable: T::IS_NULLABLE,
            cell: T::into_cell,
        }
    }
}

/// The route for every other serializable type: stored as JSON, null when it is an
/// `Option` (`is_option`).
pub trait ViaJson {
    /// The field's type.
    type Value;
    /// How it is stored.
    fn route(&self, is_option: bool) -> Route<Self::Value>;
}

impl<T: serde::Serialize> ViaJson for FieldProbe<T> {
    type Value = T;
    fn route(&self, is_option: bool) -> Route<T> {
        Route {
            field_type: FieldType::Json,
            is_nullable: is_option,
            cell: json_cell::<T>,
        }
    }
}
