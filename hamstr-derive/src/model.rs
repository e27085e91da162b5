//! `#[derive(Model)]`: the schema, built once, and the row, built without a JSON round trip.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{Data, DeriveInput, Field, Fields, Ident, LitStr, Type, spanned::Spanned};

use crate::{
    attr::{FieldAttrs, ModelAttrs, column_name, snake_case, type_span},
    dummy,
    errors::Errors,
};

/// A field that becomes a column.
struct Column<'a> {
    field: &'a Field,
    name: String,
    is_primary_key: bool,
}

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let errors = Errors::new();
    let attrs = ModelAttrs::from_input(&errors, input);
    let fields = named_fields(&errors, input);
    let mut columns: Vec<Column<'_>> = Vec::new();
    let mut key_attrs = Vec::new();
    for field in fields {
        let field_attrs = FieldAttrs::from_field(&errors, field);
        if let (Some(skip), Some(_)) = (field_attrs.skip.tokens(), field_attrs.primary_key.get()) {
            errors.error_at(skip, "a skipped field cannot be part of the primary key");
        }
        if field_attrs.skip.get().is_some() {
            continue;
        }
        let name = column_name(field, &field_attrs);
        if let Some(rename) = field_attrs.rename.get()
            && rename.value().trim().is_empty()
        {
            errors.error_at(rename, "a column name cannot be empty");
        }
        if let Some(earlier) = columns.iter().find(|column| column.name == name) {
            errors.error_at(
                &field.ident,
                format_args!(
                    "two fields are stored as the column `{name}` (the other is `{}`); rename one with #[hamstr(rename = \"...\")]",
                    earlier.field.ident.as_ref().map(ToString::to_string).unwrap_or_default()
                ),
            );
        }
        if let Some(tokens) = field_attrs.primary_key.tokens() {
            key_attrs.push(tokens.clone());
            if is_option(&field.ty) {
                errors.error_at(
                    &field.ty,
                    "a primary key field cannot be an `Option`: every record needs its key",
                );
            }
        }
        columns.push(Column {
            field,
            is_primary_key: field_attrs.primary_key.get().is_some(),
            name,
        });
    }
    if !input.generics.params.is_empty() {
        errors.error_at(
            &input.generics,
            "a Model cannot be generic: its schema is built once for the type",
        );
    }
    // Without a marked key, a field named `id` is the key, as in YAML models.
    if key_attrs.is_empty() && fields_ok(input) {
        match columns.iter_mut().find(|column| column.name == "id") {
            Some(id) if !is_option(&id.field.ty) => id.is_primary_key = true,
            _ => errors.push(syn::Error::new(
                type_span(input),
                "no primary key: mark one or more fields with #[hamstr(primary_key)], or name one `id`",
            )),
        }
    }
    errors.finish()?;

    let table = match attrs.name.get() {
        Some(name) => name.clone(),
        None => LitStr::new(&snake_case(&input.ident), input.ident.span()),
    };
    if let Some(reason) = hamstr_tables::table_name_problem(&table.value()) {
        return Err(syn::Error::new(
            table.span(),
            format!(
                "the model name `{}` cannot be used: {reason}",
                table.value()
            ),
        ));
    }
    Ok(dummy::wrap_in_const(render(input, &table, &columns)))
}

fn render(input: &DeriveInput, table: &LitStr, columns: &[Column<'_>]) -> TokenStream {
    let ident = &input.ident;
    // One function per field finds how its type is stored, so a type that cannot be stored is
    // one error at the field, not one per use.
    let routes: Vec<Ident> = (0..columns.len())
        .map(|index| format_ident!("__hamstr_route_{}", index))
        .collect();
    let route_fns = columns.iter().zip(&routes).map(|(column, route)| {
        let ty = &column.field.ty;
        let is_option = is_option(ty);
        quote_spanned! {ty.span()=>
            fn #route() -> ::hamstr::__private::Route<#ty> {
                <#ty as ::hamstr::model::Storable<_>>::route(
                    (&&::hamstr::__private::FieldProbe::<#ty>::new()).probe(),
                    #is_option,
                )
            }
        }
    });
    let schema_columns = columns.iter().zip(&routes).map(|(column, route)| {
        let name = &column.name;
        quote! {
            .column(#name, #route().field_type, #route().is_nullable)
        }
    });
    let keys = columns
        .iter()
        .filter(|column| column.is_primary_key)
        .map(|column| &column.name);
    let cells = columns.iter().zip(&routes).map(|(column, route)| {
        let member = &column.field.ident;
        quote!((#route().cell)(self.#member))
    });
    quote! {
        use ::hamstr::__private::{ViaFieldValue as _, ViaJson as _};

        #(#route_fns)*

        #[automatically_derived]
        impl ::hamstr::Model for #ident {
            fn schema() -> ::hamstr::__private::Arc<::hamstr::model::Schema> {
                static SCHEMA: ::hamstr::__private::LazyLock<::hamstr::__private::Arc<::hamstr::model::Schema>> =
                    ::hamstr::__private::LazyLock::new(|| {
                        let schema = ::hamstr::model::Schema::builder(#table)
                            #(#schema_columns)*
                            .primary_key([#(#keys),*])
                            .build()
                            .expect("#[derive(Model)] checked the fields and the primary key");
                        ::hamstr::__private::Arc::new(schema)
                    });
                ::hamstr::__private::Arc::clone(&SCHEMA)
            }

            fn into_row(self) -> ::hamstr::model::Row {
                ::std::vec![#(#cells),*]
            }
        }
    }
}

/// The named fields of a struct, or an error for anything else.
fn named_fields<'a>(errors: &Errors, input: &'a DeriveInput) -> Vec<&'a Field> {
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) if !fields.named.is_empty() => fields.named.iter().collect(),
            _ => {
                errors.push(syn::Error::new(
                    type_span(input),
                    "a Model is a struct with named fields, one per column",
                ));
                Vec::new()
            }
        },
        Data::Enum(data) => {
            errors.error_at(
                data.enum_token,
                "a Model is a struct with named fields, not an enum",
            );
            Vec::new()
        }
        Data::Union(data) => {
            errors.error_at(
                data.union_token,
                "a Model is a struct with named fields, not a union",
            );
            Vec::new()
        }
    }
}

fn fields_ok(input: &DeriveInput) -> bool {
    matches!(&input.data, Data::Struct(data) if matches!(&data.fields, Fields::Named(fields) if !fields.named.is_empty()))
}

/// Whether the type is written as `Option<...>` (any path ending in `Option`).
fn is_option(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Option"),
        Type::Group(group) => is_option(&group.elem),
        Type::Paren(paren) => is_option(&paren.elem),
        _ => false,
    }
}
