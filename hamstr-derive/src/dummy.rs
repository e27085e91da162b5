//! The `const _` wrapper around generated impls, and the placeholder impls emitted with errors.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

/// Puts generated items in an anonymous constant, so the `use` lines they need cannot clash with
/// the user's names.
pub(crate) fn wrap_in_const(items: TokenStream) -> TokenStream {
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, unused_qualifications, clippy::all)]
        const _: () = {
            #items
        };
    }
}

/// An impl of `Model` that compiles, next to the real errors, so uses of the type do not add
/// "`Model` is not implemented" to them.
pub(crate) fn model(input: &DeriveInput) -> TokenStream {
    // A generic type gets no placeholder: its impl would add errors about the parameters.
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let name = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    wrap_in_const(quote! {
        #[automatically_derived]
        impl #impl_generics ::hamstr::Model for #name #type_generics #where_clause {
            fn schema() -> ::hamstr::__private::Arc<::hamstr::model::Schema> {
                ::core::unreachable!("a #[derive(Model)] with errors does not compile")
            }
            fn into_row(self) -> ::hamstr::model::Row {
                ::core::unreachable!("a #[derive(Model)] with errors does not compile")
            }
        }
    })
}

/// The same for `Collector`, with a model that cannot exist, so that adding the collector to an
/// app does not add an error of its own.
pub(crate) fn collector(input: &DeriveInput) -> TokenStream {
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let name = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    wrap_in_const(quote! {
        #[automatically_derived]
        impl #impl_generics ::hamstr::Collector for #name #type_generics #where_clause {
            type Model = ::hamstr::__private::Unusable;
            fn settings(&self) -> ::hamstr::collector::CollectorSettings {
                ::core::unreachable!("a #[derive(Collector)] with errors does not compile")
            }
        }
    })
}
