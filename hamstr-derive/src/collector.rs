//! `#[derive(Collector)]`: settings from attributes, callbacks from named functions.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};

use syn::{DeriveInput, spanned::Spanned};

use crate::{
    attr::{CollectorAttrs, Incremental, type_span},
    dummy,
    errors::Errors,
};

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let errors = Errors::new();
    let attrs = CollectorAttrs::from_input(&errors, input);
    if attrs.model.get().is_none() {
        errors.push(syn::Error::new(
            type_span(input),
            "missing `model`: name the type its records are stored as, e.g. #[hamstr(model = Payment)]",
        ));
    }
    let has_file = attrs.is_file_given;
    match (attrs.endpoint.tokens(), has_file) {
        (None, false) => errors.push(syn::Error::new(
            type_span(input),
            "missing `endpoint`: the path of the listing to collect, e.g. #[hamstr(endpoint = \"payments\")], or a `file(...)` to read; for a collect step of your own, implement `hamstr::Collector` by hand",
        )),
        (Some(endpoint), true) => errors.error_at(
            endpoint,
            "a collector reads an endpoint or a file, not both: keep `endpoint` or `file(...)`",
        ),
        _ => {}
    }
    if has_file {
        for (tokens, key) in [
            (attrs.records.tokens(), "records"),
            (attrs.params_key.as_ref(), "params"),
        ] {
            if let Some(tokens) = tokens {
                errors.error_at(
                    tokens,
                    format_args!("`{key}` is for an endpoint; a file's rows are its records"),
                );
            }
        }
    }
    // The endpoint's placeholders against `keys(...)`: one placeholder, filled by keys.
    if let Some(endpoint) = attrs.endpoint.get() {
        let path = endpoint.value();
        let placeholders = path.matches('{').count();
        match (placeholders, attrs.is_keys_given) {
            (0, true) => errors.error_at(
                attrs.keys.tokens().unwrap_or(&endpoint.to_token_stream()),
                format_args!("`keys(...)` fills a {{placeholder}} of the endpoint, and `{path}` has none; write one, e.g. \"users/{{login}}/repos\""),
            ),
            (1, false) => errors.error_at(
                endpoint,
                format_args!("the endpoint `{path}` has a {{placeholder}} and nothing gives it keys: add `keys(from = \"MODEL.FIELD\")` or `keys(seeds = [...])`"),
            ),
            (2.., _) => errors.error_at(
                endpoint,
                format_args!("the endpoint `{path}` has {placeholders} placeholders; a fan-out fills one (`{{+link}}` takes a key that is a path)"),
            ),
            _ => {}
        }
    } else if attrs.is_keys_given
        && let Some(tokens) = attrs.keys.tokens()
    {
        errors.error_at(
            tokens,
            "`keys(...)` is for an endpoint with a {placeholder}, not a file",
        );
    }
    if let Some(service) = attrs.service.get()
        && service.value().trim().is_empty()
    {
        errors.error_at(service, "the service's name cannot be empty");
    }
    if !input.generics.params.is_empty() {
        errors.error_at(
            &input.generics,
            "#[derive(Collector)] does not support generic types; implement `hamstr::Collector` by hand",
        );
    }
    errors.finish()?;
    Ok(dummy::wrap_in_const(render(input, &attrs)))
}

fn render(input: &DeriveInput, attrs: &CollectorAttrs) -> TokenStream {
    let ident = &input.ident;
    let model = attrs.model.get().expect("checked: the model is given");
    let source = match attrs.endpoint.get() {
        Some(endpoint) => quote!(::hamstr::collector::CollectorSettings::endpoint(#endpoint)),
        None => {
            let file = attrs
                .file
                .get()
                .expect("checked: an endpoint or a file is given")
                .tokens();
            quote!(::hamstr::collector::CollectorSettings::file(#file))
        }
    };
    let name = attrs.name.get().map(|name| quote!(.name(#name)));
    let service = attrs
        .service
        .get()
        .map(|service| quote!(.service(#service)));
    let records = attrs
        .records
        .get()
        .map(|records| quote!(.records(#records)));
    let params = attrs
        .params
        .iter()
        .map(|(name, value)| quote!(.param(#name, #value)));
    let interval = attrs.interval.get().map(|duration| {
        let duration = duration_tokens(*duration);
        quote!(.interval(#duration))
    });
    let incremental = attrs.incremental.get().map(|incremental| {
        let strategy = incremental_tokens(incremental);
        quote!(.incremental(#strategy))
    });
    let fan_out = attrs.keys.get().map(|keys| {
        let keys = keys.tokens();
        quote!(.fan_out(#keys))
    });
    // The calls are spanned at the path, so a function with another signature is an error at
    // its name, with the traits' message saying what to write.
    let on_records = attrs.on_records.get().map(|path| {
        let call = quote_spanned! {path.span()=>
            ::hamstr::collector::OnRecords::<'_, Self, #model>::call(#path, self, batch)
        };
        quote! {
            async fn on_records(
                &self,
                batch: ::hamstr::collector::RecordBatch<#model>,
            ) -> ::core::result::Result<(), ::hamstr::collector::BoxError> {
                #call.await
            }
        }
    });
    let on_error = attrs.on_error.get().map(|path| {
        let call = quote_spanned! {path.span()=>
            ::hamstr::collector::OnError::<Self>::call(#path, self, error)
        };
        quote! {
            fn on_error(&self, error: &::hamstr::collector::CollectError) {
                #call
            }
        }
    });
    quote! {
        #[automatically_derived]
        #[::hamstr::__private::async_trait]
        impl ::hamstr::Collector for #ident {
            type Model = #model;

            fn settings(&self) -> ::hamstr::collector::CollectorSettings {
                #source
                    #name #service #records #(#params)* #interval #incremental #fan_out
            }

            #on_records
            #on_error
        }
    }
}

/// A `Duration` the parser already checked, exactly: whole seconds and nanoseconds.
fn duration_tokens(duration: std::time::Duration) -> TokenStream {
    let seconds = duration.as_secs();
    let nanos = duration.subsec_nanos();
    quote!(::core::time::Duration::new(#seconds, #nanos))
}

/// The `::hamstr::state::Incremental` the attribute describes.
fn incremental_tokens(incremental: &Incremental) -> TokenStream {
    match incremental {
        Incremental::FullRefresh => quote!(::hamstr::state::Incremental::FullRefresh),
        Incremental::Append => quote!(::hamstr::state::Incremental::Append),
        Incremental::Seek { param, id_field } => {
            quote!(::hamstr::state::Incremental::seek(#param, #id_field))
        }
        Incremental::StopWhenSeen { field } => {
            quote!(::hamstr::state::Incremental::stop_when_seen(#field))
        }
        Incremental::CursorField {
            field,
            param,
            lookback,
        } => {
            let lookback = lookback.map(|window| {
                let window = duration_tokens(window);
                quote!(.lookback(#window))
            });
            quote!(::hamstr::state::Incremental::cursor_field(#field, #param) #lookback)
        }
    }
}
