//! `keys(...)` on a collector whose endpoint has a `{placeholder}`: where its keys come from and
//! how it reads them (`hamstr::collector::FanOut`).

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{LitInt, LitStr, meta::ParseNestedMeta, punctuated::Punctuated};

use super::{Slot, duration_text, parse_interval, skip_value};
use crate::errors::Errors;

const KEYS_KEYS: &str =
    "`from`, `seeds`, `refresh_after`, `max_per_run`, `concurrency`, `parent_field` or `max_depth`";
const KEYS_EXAMPLE: &str =
    "keys(from = \"users.login\", seeds = [\"octocat\"], refresh_after = \"1d\")";

/// A fan-out, as the attribute describes it.
pub(crate) struct Keys {
    sources: Vec<(LitStr, LitStr)>,
    seeds: Vec<LitStr>,
    refresh_after: Option<std::time::Duration>,
    max_per_run: Option<LitInt>,
    concurrency: Option<LitInt>,
    parent_field: Option<LitStr>,
    max_depth: Option<LitInt>,
}

/// The strings of `"a"` or `["a", "b"]`, each where it was written.
fn strings(input: syn::parse::ParseStream<'_>) -> syn::Result<Vec<LitStr>> {
    if input.peek(syn::token::Bracket) {
        let content;
        syn::bracketed!(content in input);
        let items = Punctuated::<LitStr, syn::Token![,]>::parse_terminated(&content)?;
        Ok(items.into_iter().collect())
    } else {
        Ok(vec![input.parse()?])
    }
}

impl Keys {
    /// Parses `keys(...)`, recording every problem; `None` when there was one.
    pub(super) fn from_meta(
        errors: &Errors,
        meta: &ParseNestedMeta<'_>,
    ) -> syn::Result<Option<Self>> {
        if !meta.input.peek(syn::token::Paren) {
            errors.push(meta.error(format_args!(
                "`keys` takes its sources in parentheses: `{KEYS_EXAMPLE}`"
            )));
            skip_value(meta)?;
            return Ok(None);
        }
        let mut keys = Self {
            sources: Vec::new(),
            seeds: Vec::new(),
            refresh_after: None,
            max_per_run: None,
            concurrency: None,
            parent_field: None,
            max_depth: None,
        };
        let mut is_usable = true;
        let mut max_per_run = Slot::<LitInt>::new("max_per_run");
        let mut concurrency = Slot::<LitInt>::new("concurrency");
        let mut parent_field = Slot::<LitStr>::new("parent_field");
        let mut max_depth = Slot::<LitInt>::new("max_depth");
        meta.parse_nested_meta(|nested| {
            let name = &nested.path;
            if name.is_ident("from") {
                for source in strings(nested.value()?)? {
                    match source.value().split_once('.') {
                        Some((model, field)) if !model.is_empty() && !field.is_empty() => {
                            let model = LitStr::new(model, source.span());
                            let field = LitStr::new(field, source.span());
                            keys.sources.push((model, field));
                        }
                        _ => {
                            errors.error_at(
                                &source,
                                "`from` is \"MODEL.FIELD\": the model of another collector and the field that holds the keys, e.g. \"users.login\"",
                            );
                            is_usable = false;
                        }
                    }
                }
            } else if name.is_ident("seeds") {
                keys.seeds.extend(strings(nested.value()?)?);
            } else if name.is_ident("refresh_after") {
                if let Some(text) = duration_text(errors, &nested, "refresh_after")? {
                    match parse_interval(&text.value(), "a refresh") {
                        Ok(duration) => keys.refresh_after = Some(duration),
                        Err(reason) => {
                            errors.error_at(&text, reason);
                            is_usable = false;
                        }
                    }
                }
            } else if name.is_ident("max_per_run") || name.is_ident("concurrency") {
                let count: LitInt = nested.value()?.parse()?;
                if count.base10_parse::<usize>().is_ok_and(|count| count >= 1) {
                    let slot = if name.is_ident("max_per_run") {
                        &mut max_per_run
                    } else {
                        &mut concurrency
                    };
                    slot.set(errors, name, count);
                } else {
                    errors.error_at(&count, "a count from 1");
                    is_usable = false;
                }
            } else if name.is_ident("max_depth") {
                let depth: LitInt = nested.value()?.parse()?;
                if depth.base10_parse::<u32>().is_ok() {
                    max_depth.set(errors, name, depth);
                } else {
                    errors.error_at(&depth, "a depth from 0 (the seeds only)");
                    is_usable = false;
                }
            } else if name.is_ident("parent_field") {
                parent_field.set(errors, name, nested.value()?.parse()?);
            } else {
                let shown = name.to_token_stream().to_string().replace(' ', "");
                errors.push(nested.error(format_args!(
                    "unknown key `{shown}` in `keys(...)`; expected {KEYS_KEYS}"
                )));
                skip_value(&nested)?;
            }
            Ok(())
        })?;
        if keys.sources.is_empty() && keys.seeds.is_empty() && is_usable {
            errors.error_at(
                &meta.path,
                format_args!(
                    "`keys(...)` names no keys: add `from` or `seeds`, e.g. `{KEYS_EXAMPLE}`"
                ),
            );
            is_usable = false;
        }
        keys.max_per_run = max_per_run.get().cloned();
        keys.concurrency = concurrency.get().cloned();
        keys.parent_field = parent_field.get().cloned();
        keys.max_depth = max_depth.get().cloned();
        Ok(is_usable.then_some(keys))
    }

    /// The `FanOut` the attribute describes.
    pub(crate) fn tokens(&self) -> TokenStream {
        let sources = self
            .sources
            .iter()
            .map(|(model, field)| quote!(.from_model(#model, #field)));
        let seeds = (!self.seeds.is_empty()).then(|| {
            let seeds = &self.seeds;
            quote!(.seeds([#(#seeds),*]))
        });
        let refresh = self.refresh_after.map(|duration| {
            let (seconds, nanos) = (duration.as_secs(), duration.subsec_nanos());
            quote!(.refresh_after(::core::time::Duration::new(#seconds, #nanos)))
        });
        let max_per_run = self
            .max_per_run
            .as_ref()
            .map(|count| quote!(.max_per_run(#count)));
        let concurrency = self
            .concurrency
            .as_ref()
            .map(|count| quote!(.concurrency(#count)));
        let parent_field = self
            .parent_field
            .as_ref()
            .map(|field| quote!(.parent_field(#field)));
        let max_depth = self
            .max_depth
            .as_ref()
            .map(|depth| quote!(.max_depth(#depth)));
        quote! {
            ::hamstr::collector::FanOut::new()
                #(#sources)* #seeds #refresh #max_per_run #concurrency #parent_field #max_depth
        }
    }
}
