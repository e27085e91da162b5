//! What `#[derive(Model)]` expands to: each field's column type and cell, chosen by the field's
//! Rust type. A type with a [`FieldValue`] impl is stored as that; any other serializable type
//! (a nested struct, a list) is stored as JSON. The choice is made by method resolution
//! ("autoref specialization"): the [`FieldValue`] probe sits one reference deeper, so it is
//! found first when it applies. Its answer picks the [`Storable`] impl, whose
//! `#[diagnostic::on_unimplemented]` message is the one error for a type that is neither.

use std::marker::PhantomData;

use super::{Cell, FieldType, FieldValue, json_cell};

/// Carries a field's type to the two probes.
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

/// The probe's answer for types with a [`FieldValue`] impl.
#[derive(Debug)]
pub struct AsFieldValue;

/// The probe's answer for every other type: stored as JSON if it is serializable.
#[derive(Debug)]
pub struct AsJson;

/// Found for types with a [`FieldValue`] impl.
pub trait ViaFieldValue {
    /// Which [`Storable`] impl to use.
    fn probe(&self) -> AsFieldValue;
}

impl<T: FieldValue> ViaFieldValue for &FieldProbe<T> {
    fn probe(&self) -> AsFieldValue {
        AsFieldValue
    }
}

/// Found for every other type, with no bound: the bound is [`Storable`]'s, which the derive
/// names as `<FieldType as Storable<_>>::route(probe, is_option)`, so a type that cannot be
/// stored is one error at the field's type, with its message and no bounds of hidden items.
pub trait ViaJson {
    /// Which [`Storable`] impl to use.
    fn probe(&self) -> AsJson;
}

impl<T> ViaJson for FieldProbe<T> {
    fn probe(&self) -> AsJson {
        AsJson
    }
}

/// A type a field of a `#[derive(Model)]` struct can have: every [`FieldValue`] type (stored as
/// that column type) and every other `serde::Serialize` type (stored as JSON). hamstr implements
/// it; you implement [`FieldValue`] or derive `Serialize` instead. `How` is which of the two,
/// as the derive finds it.
///
/// It exists for its compile error: a field type that is neither is reported at the field's
/// type, with this trait's message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is neither a column type nor `Serialize`",
    label = "this field cannot be stored",
    note = "derive `serde::Serialize` for it, or mark the field #[hamstr(skip)]"
)]
pub trait Storable<How>: Sized {
    /// How it is stored (`is_option`, the derive's reading of the type, matters for JSON).
    fn route(how: How, is_option: bool) -> Route<Self>;
}

#[diagnostic::do_not_recommend]
impl<T: FieldValue> Storable<AsFieldValue> for T {
    fn route(_how: AsFieldValue, _is_option: bool) -> Route<T> {
        Route {
            field_type: T::FIELD_TYPE,
            is_nullable: T::IS_NULLABLE,
            cell: T::into_cell,
        }
    }
}

/// Every other serializable type: stored as JSON, null when it is an `Option` (`is_option`).
#[diagnostic::do_not_recommend]
impl<T: serde::Serialize> Storable<AsJson> for T {
    fn route(_how: AsJson, is_option: bool) -> Route<T> {
        Route {
            field_type: FieldType::Json,
            is_nullable: is_option,
            cell: json_cell::<T>,
        }
    }
}
