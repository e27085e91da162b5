//! `file(...)` on a collector: a CSV or JSON Lines file it reads instead of an endpoint.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{LitInt, LitStr, meta::ParseNestedMeta};

use super::{Slot, skip_value};
use crate::errors::Errors;

const FILE_KEYS: &str = "`path`, `format`, `key`, `page_size` or `delimiter`";
const FILE_EXAMPLE: &str = "file(path = \"data/orders.csv\", key = \"id\")";

/// A file a collector reads, as the attribute describes it.
pub(crate) struct File {
    path: LitStr,
    is_csv: bool,
    key: Option<LitStr>,
    page_size: Option<LitInt>,
    delimiter: Option<(u8, Span)>,
}

impl File {
    /// Parses `file(...)`, recording every problem; `None` when there was one.
    pub(super) fn from_meta(
        errors: &Errors,
        meta: &ParseNestedMeta<'_>,
    ) -> syn::Result<Option<Self>> {
        if !meta.input.peek(syn::token::Paren) {
            errors.push(meta.error(format_args!(
                "`file` takes its path and settings in parentheses: `{FILE_EXAMPLE}`"
            )));
            skip_value(meta)?;
            return Ok(None);
        }
        let mut path = Slot::<LitStr>::new("path");
        let mut format = Slot::<LitStr>::new("format");
        let mut key = Slot::<LitStr>::new("key");
        let mut page_size = Slot::<LitInt>::new("page_size");
        let mut delimiter = Slot::<LitStr>::new("delimiter");
        meta.parse_nested_meta(|nested| {
            let name = &nested.path;
            if name.is_ident("path") {
                path.set(errors, name, nested.value()?.parse()?);
            } else if name.is_ident("format") {
                format.set(errors, name, nested.value()?.parse()?);
            } else if name.is_ident("key") {
                key.set(errors, name, nested.value()?.parse()?);
            } else if name.is_ident("page_size") {
                page_size.set(errors, name, nested.value()?.parse()?);
            } else if name.is_ident("delimiter") {
                delimiter.set(errors, name, nested.value()?.parse()?);
            } else {
                let shown = name.to_token_stream().to_string().replace(' ', "");
                errors.push(nested.error(format_args!(
                    "unknown key `{shown}` in `file(...)`; expected {FILE_KEYS}"
                )));
                skip_value(&nested)?;
            }
            Ok(())
        })?;
        let Some(path) = path.get().cloned() else {
            errors.error_at(
                &meta.path,
                format_args!("missing `path` in `file(...)`, e.g. `{FILE_EXAMPLE}`"),
            );
            return Ok(None);
        };
        let mut is_usable = true;
        let is_csv = match format.get().map(LitStr::value).as_deref() {
            Some("csv") => true,
            Some("jsonl") => false,
            Some(other) => {
                errors.error_at(
                    format.get().expect("a format was given"),
                    format_args!("unknown file format `{other}`; expected `csv` or `jsonl`"),
                );
                return Ok(None);
            }
            None => match extension_format(&path.value()) {
                Some(is_csv) => is_csv,
                None => {
                    errors.error_at(
                        &path,
                        "the file's format is not known from its name: add `format = \"csv\"` or `format = \"jsonl\"`",
                    );
                    return Ok(None);
                }
            },
        };
        let delimiter = match delimiter.get() {
            None if path.value().ends_with(".tsv") => Some((b'\t', path.span())),
            None => None,
            Some(_) if !is_csv => {
                errors.error_at(
                    delimiter.tokens().expect("a delimiter was given"),
                    "`delimiter` is for CSV files; a JSON Lines file has none",
                );
                is_usable = false;
                None
            }
            Some(text) => match text.value().as_bytes() {
                [byte] if byte.is_ascii() => Some((*byte, text.span())),
                _ => {
                    errors.error_at(text, "a delimiter is one ASCII character, such as \";\"");
                    is_usable = false;
                    None
                }
            },
        };
        if let Some(size) = page_size.get()
            && !matches!(size.base10_parse::<u32>(), Ok(rows) if rows >= 1)
        {
            errors.error_at(size, "`page_size` is a number of rows, at least 1");
            is_usable = false;
        }
        if !is_usable {
            return Ok(None);
        }
        Ok(Some(Self {
            path,
            is_csv,
            key: key.get().cloned(),
            page_size: page_size.get().cloned(),
            delimiter,
        }))
    }

    /// The `FileSource` the generated settings read.
    pub(crate) fn tokens(&self) -> TokenStream {
        let path = &self.path;
        let mut source = if self.is_csv {
            quote!(::hamstr::service::FileSource::csv(#path))
        } else {
            quote!(::hamstr::service::FileSource::json_lines(#path))
        };
        if let Some((delimiter, _)) = self.delimiter {
            source = quote!(#source.delimiter(#delimiter));
        }
        match &self.key {
            Some(key) if key.value() == "row_number" => {
                source = quote!(#source.key_row_number());
            }
            Some(key) => source = quote!(#source.key(#key)),
            None => {}
        }
        if let Some(rows) = &self.page_size {
            source = quote!(#source.page_size(#rows));
        }
        source
    }
}

/// The format a file's name says: `Some(true)` for CSV (`.csv`, `.tsv`), `Some(false)` for
/// JSON Lines (`.jsonl`, `.ndjson`).
fn extension_format(path: &str) -> Option<bool> {
    let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
    match extension.as_str() {
        "csv" | "tsv" => Some(true),
        "jsonl" | "ndjson" => Some(false),
        _ => None,
    }
}
