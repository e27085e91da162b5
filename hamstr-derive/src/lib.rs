//! Derive macros for hamstr. Depend on `hamstr` and use them through it:
//! `use hamstr::{Collector, Model};`.
//!
//! Each derive parses its `#[hamstr(...)]` attributes into typed structures ([`attr`]), checks
//! them all, reporting every mistake at once with a span on the offending tokens ([`errors`]),
//! and only then expands. When there are errors, a placeholder impl ([`dummy`]) is emitted with
//! them, so the user sees the real mistakes and not a cascade of "trait not implemented".

mod attr;
mod collector;
mod dummy;
mod errors;
mod model;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// `#[derive(Model)]`: a struct with named fields becomes a stored record type. See
/// `hamstr::model`.
#[proc_macro_derive(Model, attributes(hamstr))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match model::expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            let mut tokens = error.to_compile_error();
            tokens.extend(dummy::model(&input));
            tokens.into()
        }
    }
}

/// `#[derive(Collector)]`: a type becomes a collector of an endpoint. See `hamstr::collector`.
#[proc_macro_derive(Collector, attributes(hamstr))]
pub fn derive_collector(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match collector::expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            let mut tokens = error.to_compile_error();
            tokens.extend(dummy::collector(&input));
            tokens.into()
        }
    }
}
