//! `#[hamstr(...)]` attributes parsed into typed structures. Parsing records every problem in
//! [`Errors`] and goes on, so that one compile shows them all.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::{
    Attribute, DeriveInput, Expr, ExprLit, Field, Ident, Lit, LitStr, Path, Type,
    meta::ParseNestedMeta,
};

use crate::errors::Errors;

mod file;
mod incremental;
mod keys;

pub(crate) use file::File;
pub(crate) use incremental::Incremental;
pub(crate) use keys::Keys;

/// One attribute value: set at most once.
pub(crate) struct Slot<T> {
    name: &'static str,
    value: Option<(TokenStream, T)>,
}

impl<T> Slot<T> {
    pub(crate) fn new(name: &'static str) -> Self {
        Self { name, value: None }
    }

    /// Sets the value, or records a "given twice" error at `tokens`.
    fn set(&mut self, errors: &Errors, tokens: impl ToTokens, value: T) {
        if self.value.is_some() {
            errors.error_at(&tokens, format_args!("`{}` is given twice", self.name));
        } else {
            self.value = Some((tokens.into_token_stream(), value));
        }
    }

    pub(crate) fn get(&self) -> Option<&T> {
        self.value.as_ref().map(|(_, value)| value)
    }

    /// The tokens it was set from, for errors that concern it.
    pub(crate) fn tokens(&self) -> Option<&TokenStream> {
        self.value.as_ref().map(|(tokens, _)| tokens)
    }
}

/// `#[hamstr(...)]` on a `#[derive(Model)]` struct.
pub(crate) struct ModelAttrs {
    pub(crate) name: Slot<LitStr>,
}

/// `#[hamstr(...)]` on a model's field, and what serde's attributes say about it.
pub(crate) struct FieldAttrs {
    pub(crate) primary_key: Slot<()>,
    pub(crate) rename: Slot<LitStr>,
    pub(crate) skip: Slot<()>,
}

/// `#[hamstr(...)]` on a `#[derive(Collector)]` type.
pub(crate) struct CollectorAttrs {
    pub(crate) name: Slot<LitStr>,
    pub(crate) service: Slot<LitStr>,
    pub(crate) endpoint: Slot<LitStr>,
    pub(crate) file: Slot<File>,
    pub(crate) records: Slot<LitStr>,
    pub(crate) model: Slot<Type>,
    pub(crate) interval: Slot<std::time::Duration>,
    pub(crate) incremental: Slot<Incremental>,
    pub(crate) params: Vec<(LitStr, LitStr)>,
    /// Where `params(...)` was given, for errors about it.
    pub(crate) params_key: Option<TokenStream>,
    /// Whether `file(...)` was given, even one with errors (so no error says it is missing).
    pub(crate) is_file_given: bool,
    pub(crate) on_records: Slot<Path>,
    pub(crate) on_error: Slot<Path>,
    pub(crate) keys: Slot<Keys>,
    /// Whether `keys(...)` was given, even with errors (so no error says it is missing).
    pub(crate) is_keys_given: bool,
}

const MODEL_KEYS: &str = "`name`";
const FIELD_KEYS: &str = "`primary_key`, `rename` or `skip`";
const COLLECTOR_KEYS: &str = "`name`, `service`, `endpoint`, `file`, `records`, `model`, `interval`, `incremental`, `keys`, `params`, `on_records` or `on_error`";

impl ModelAttrs {
    pub(crate) fn from_input(errors: &Errors, input: &DeriveInput) -> Self {
        let mut attrs = Self {
            name: Slot::new("name"),
        };
        for_each_meta(errors, &input.attrs, |meta| {
            if meta.path.is_ident("name") {
                let value = meta.value()?.parse::<LitStr>()?;
                attrs.name.set(errors, &meta.path, value);
            } else {
                skip_unknown(errors, &meta, "model", MODEL_KEYS)?;
            }
            Ok(())
        });
        attrs
    }
}

impl FieldAttrs {
    pub(crate) fn from_field(errors: &Errors, field: &Field) -> Self {
        let mut attrs = Self {
            primary_key: Slot::new("primary_key"),
            rename: Slot::new("rename"),
            skip: Slot::new("skip"),
        };
        for_each_meta(errors, &field.attrs, |meta| {
            if meta.path.is_ident("primary_key") {
                attrs.primary_key.set(errors, &meta.path, ());
            } else if meta.path.is_ident("rename") {
                let value = meta.value()?.parse::<LitStr>()?;
                attrs.rename.set(errors, &meta.path, value);
            } else if meta.path.is_ident("skip") {
                attrs.skip.set(errors, &meta.path, ());
            } else {
                skip_unknown(errors, &meta, "field", FIELD_KEYS)?;
            }
            Ok(())
        });
        attrs
    }
}

impl CollectorAttrs {
    pub(crate) fn from_input(errors: &Errors, input: &DeriveInput) -> Self {
        let mut attrs = Self {
            name: Slot::new("name"),
            service: Slot::new("service"),
            endpoint: Slot::new("endpoint"),
            file: Slot::new("file"),
            records: Slot::new("records"),
            model: Slot::new("model"),
            interval: Slot::new("interval"),
            incremental: Slot::new("incremental"),
            params: Vec::new(),
            params_key: None,
            is_file_given: false,
            on_records: Slot::new("on_records"),
            on_error: Slot::new("on_error"),
            keys: Slot::new("keys"),
            is_keys_given: false,
        };
        for_each_meta(errors, &input.attrs, |meta| {
            let path = &meta.path;
            if path.is_ident("name") {
                attrs.name.set(errors, path, meta.value()?.parse()?);
            } else if path.is_ident("service") {
                attrs.service.set(errors, path, meta.value()?.parse()?);
            } else if path.is_ident("endpoint") {
                attrs.endpoint.set(errors, path, meta.value()?.parse()?);
            } else if path.is_ident("file") {
                attrs.is_file_given = true;
                if let Some(file) = File::from_meta(errors, &meta)? {
                    attrs.file.set(errors, path, file);
                }
            } else if path.is_ident("records") {
                attrs.records.set(errors, path, meta.value()?.parse()?);
            } else if path.is_ident("model") {
                attrs.model.set(errors, path, meta.value()?.parse()?);
            } else if path.is_ident("interval") {
                if let Some(text) = duration_text(errors, &meta, "interval")? {
                    match parse_interval(&text.value(), "an interval") {
                        Ok(duration) => attrs.interval.set(errors, path, duration),
                        Err(reason) => errors.error_at(&text, reason),
                    }
                }
            } else if path.is_ident("incremental") {
                if let Some(incremental) = Incremental::from_meta(errors, &meta)? {
                    attrs.incremental.set(errors, path, incremental);
                }
            } else if path.is_ident("params") {
                attrs.params_key = Some(path.to_token_stream());
                meta.parse_nested_meta(|param| {
                    let Some(name) = param.path.get_ident() else {
                        return Err(
                            param.error("a parameter's name is one word: `params(limit = 250)`")
                        );
                    };
                    let value = param_value(param.value()?.parse::<Expr>()?)?;
                    attrs
                        .params
                        .push((LitStr::new(&name.to_string(), name.span()), value));
                    Ok(())
                })?;
            } else if path.is_ident("keys") {
                attrs.is_keys_given = true;
                if let Some(keys) = Keys::from_meta(errors, &meta)? {
                    attrs.keys.set(errors, path, keys);
                }
            } else if path.is_ident("on_records") {
                attrs.on_records.set(errors, path, meta.value()?.parse()?);
            } else if path.is_ident("on_error") {
                attrs.on_error.set(errors, path, meta.value()?.parse()?);
            } else {
                skip_unknown(errors, &meta, "collector", COLLECTOR_KEYS)?;
            }
            Ok(())
        });
        attrs
    }
}

/// Runs `parse` on every item of every `#[hamstr(...)]` among `attrs`, recording errors.
fn for_each_meta(
    errors: &Errors,
    attrs: &[Attribute],
    mut parse: impl FnMut(ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("hamstr")) {
        if let Err(error) = attr.parse_nested_meta(&mut parse) {
            errors.push(error);
        }
    }
}

/// Records an unknown key and steps over its value, so the keys after it are checked too.
fn skip_unknown(
    errors: &Errors,
    meta: &ParseNestedMeta<'_>,
    what: &str,
    allowed: &str,
) -> syn::Result<()> {
    let key = meta.path.to_token_stream().to_string().replace(' ', "");
    errors.push(meta.error(format_args!(
        "unknown hamstr {what} attribute `{key}`; expected {allowed}"
    )));
    skip_value(meta)
}

/// Steps over what follows a key (`= value` or `(...)`), so the keys after it are checked too.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|nested| {
            if nested.input.peek(syn::Token![=]) {
                nested.value()?.parse::<Expr>()?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// A parameter's value: a string, a number or a bool, sent as text.
fn param_value(value: Expr) -> syn::Result<LitStr> {
    let Expr::Lit(ExprLit { lit, .. }) = &value else {
        return Err(syn::Error::new_spanned(
            value,
            "a parameter's value is a string, a number or a bool",
        ));
    };
    let text = match lit {
        Lit::Str(text) => text.value(),
        Lit::Int(number) => number.base10_digits().to_owned(),
        Lit::Float(number) => number.base10_digits().to_owned(),
        Lit::Bool(flag) => flag.value.to_string(),
        _ => {
            return Err(syn::Error::new_spanned(
                lit,
                "a parameter's value is a string, a number or a bool",
            ));
        }
    };
    Ok(LitStr::new(&text, lit.span()))
}

/// The value of a duration key (`interval`, `lookback`): a string. Anything else (`300`) is
/// recorded as an error at the value, saying what to write, and parsing goes on.
pub(crate) fn duration_text(
    errors: &Errors,
    meta: &ParseNestedMeta<'_>,
    key: &str,
) -> syn::Result<Option<LitStr>> {
    match meta.value()?.parse::<Expr>()? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Ok(Some(text)),
        other => {
            errors.error_at(
                other,
                format_args!("`{key}` takes a string with a unit, such as \"5m\" or \"300s\""),
            );
            Ok(None)
        }
    }
}

/// The same rules as `hamstr::collector::Interval`: a positive duration with a unit. `what` is
/// what the text must be, for the message: "an interval", "a look-back window".
fn parse_interval(text: &str, what: &str) -> Result<std::time::Duration, String> {
    let explain = |reason: &str| {
        format!(
            "`{text}` is not {what}: {reason} (write a number with a unit: 500ms, 5s, 15m, 2h, 1d, 1h 30m)"
        )
    };
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.chars().all(|character| character.is_ascii_digit()) {
        return Err(explain("it has no unit"));
    }
    match humantime::parse_duration(trimmed) {
        Ok(duration) if duration.is_zero() => Err(explain("it must be longer than zero")),
        Ok(duration) => Ok(duration),
        Err(error) => Err(explain(&error.to_string())),
    }
}

/// The name of a model's column: `#[hamstr(rename)]`, else the Rust field's name.
pub(crate) fn column_name(field: &Field, attrs: &FieldAttrs) -> String {
    match attrs.rename.get() {
        Some(rename) => rename.value(),
        None => field
            .ident
            .as_ref()
            .map(|ident| ident.to_string().trim_start_matches("r#").to_owned())
            .unwrap_or_default(),
    }
}

/// `PaymentMethod` as `payment_method`.
pub(crate) fn snake_case(ident: &Ident) -> String {
    let mut snake = String::new();
    for (index, character) in ident.to_string().chars().enumerate() {
        if character.is_uppercase() {
            if index > 0 {
                snake.push('_');
            }
            snake.extend(character.to_lowercase());
        } else {
            snake.push(character);
        }
    }
    snake
}

/// Where to point an error about the whole type.
pub(crate) fn type_span(input: &DeriveInput) -> Span {
    input.ident.span()
}
