//! `incremental(...)` on a collector, into the strategy the generated settings set.

use hamstr_tables::{ALL_KEYS, IfAbsent, KeyKind, STRATEGIES, Strategy};
use quote::ToTokens;
use syn::{LitStr, meta::ParseNestedMeta};

use super::{Slot, duration_text, parse_interval, skip_value};
use crate::errors::Errors;

/// `incremental(...)` on a collector: a strategy and its keys, with the same strategies, keys
/// and defaults as `incremental:` in YAML.
pub(crate) enum Incremental {
    FullRefresh,
    Append,
    Seek {
        param: LitStr,
        id_field: LitStr,
    },
    StopWhenSeen {
        field: LitStr,
    },
    CursorField {
        field: LitStr,
        param: LitStr,
        lookback: Option<std::time::Duration>,
    },
}

/// What a bad attribute's message suggests.
const CURSOR_FIELD_EXAMPLE: &str = STRATEGIES[3].attribute_example;

impl Incremental {
    /// Parses `incremental(...)`, recording every problem; `None` when there was one. An `Err`
    /// is a token that cannot be read at all, which ends the attribute as other keys' do.
    pub(super) fn from_meta(
        errors: &Errors,
        meta: &ParseNestedMeta<'_>,
    ) -> syn::Result<Option<Self>> {
        let strategy_names = one_of(&Strategy::names());
        if !meta.input.peek(syn::token::Paren) {
            errors.push(meta.error(format_args!(
                "`incremental` takes a strategy and its keys in parentheses: `{CURSOR_FIELD_EXAMPLE}`"
            )));
            skip_value(meta)?;
            return Ok(None);
        }
        let mut strategy = Slot::<LitStr>::new("strategy");
        let mut keys = [
            Slot::<LitStr>::new(ALL_KEYS[1]),
            Slot::new(ALL_KEYS[2]),
            Slot::new(ALL_KEYS[3]),
            Slot::new(ALL_KEYS[4]),
        ];
        meta.parse_nested_meta(|key| {
            if key.path.is_ident("strategy") {
                strategy.set(errors, &key.path, key.value()?.parse()?);
            } else if let Some(slot) = keys.iter_mut().find(|slot| key.path.is_ident(slot.name)) {
                if slot.name == "lookback" {
                    if let Some(text) = duration_text(errors, &key, slot.name)? {
                        slot.set(errors, &key.path, text);
                    }
                } else {
                    slot.set(errors, &key.path, key.value()?.parse()?);
                }
            } else {
                let name = key.path.to_token_stream().to_string().replace(' ', "");
                errors.push(key.error(format_args!(
                    "unknown key `{name}` in `incremental(...)`; expected {}",
                    one_of(&ALL_KEYS)
                )));
                skip_value(&key)?;
            }
            Ok(())
        })?;
        let Some(name) = strategy.get() else {
            errors.error_at(
                &meta.path,
                format_args!(
                    "missing `strategy` in `incremental(...)`: one of {strategy_names}, e.g. `{CURSOR_FIELD_EXAMPLE}`"
                ),
            );
            return Ok(None);
        };
        let Some(kind) = STRATEGIES.iter().find(|kind| kind.name == name.value()) else {
            errors.error_at(
                name,
                format_args!(
                    "unknown incremental strategy `{}`; expected {strategy_names}",
                    name.value()
                ),
            );
            return Ok(None);
        };
        let mut is_usable = true;
        // Keys of another strategy, each at its own name.
        for slot in &keys {
            let Some(tokens) = slot.tokens() else {
                continue;
            };
            if kind.takes(slot.name) {
                continue;
            }
            let mut expected = vec!["strategy"];
            expected.extend(kind.keys.iter().map(|key| key.name));
            let takers = Strategy::takers(slot.name);
            errors.error_at(
                tokens,
                format_args!(
                    "unknown key `{}` for the {} strategy; expected {} (`{}` goes with {})",
                    slot.name,
                    kind.name,
                    one_of(&expected),
                    slot.name,
                    one_of(&takers),
                ),
            );
            is_usable = false;
        }
        let required: Vec<&str> = kind.required().collect();
        let missing: Vec<&str> = keys
            .iter()
            .filter(|slot| required.contains(&slot.name) && slot.get().is_none())
            .map(|slot| slot.name)
            .collect();
        if !missing.is_empty() {
            errors.error_at(
                name,
                format_args!(
                    "the {} strategy needs {}, e.g. `{}`",
                    kind.name,
                    and_list(&missing),
                    kind.attribute_example
                ),
            );
            is_usable = false;
        }
        let [field, param, id_field, lookback] = &keys;
        for slot in [field, param, id_field] {
            let Some(key) = kind.key(slot.name) else {
                continue;
            };
            let Some(value) = slot.get() else {
                continue;
            };
            let is_path = key.kind == KeyKind::FieldPath;
            let text = value.value();
            if text.trim().is_empty() {
                errors.error_at(value, format_args!("`{}` cannot be empty", slot.name));
                is_usable = false;
            } else if is_path && text.split('.').any(|segment| segment.trim().is_empty()) {
                errors.error_at(
                    value,
                    format_args!(
                        "`{text}` is not a field path: write a key of the record, or a dotted path into nested objects such as `amount.value`"
                    ),
                );
                is_usable = false;
            }
        }
        let mut window = None;
        if let Some(text) = lookback.get().filter(|_| kind.takes(lookback.name)) {
            match parse_interval(&text.value(), "a look-back window") {
                Ok(duration) => window = Some(duration),
                Err(reason) => {
                    errors.error_at(text, reason);
                    is_usable = false;
                }
            }
        }
        if !is_usable {
            return Ok(None);
        }
        // A key as given, or its default spanned at the strategy's name; the strategy's
        // required keys were checked above.
        let value = |slot: &Slot<LitStr>| {
            slot.get().cloned().unwrap_or_else(|| {
                let default = match kind.key(slot.name).map(|key| key.if_absent) {
                    Some(IfAbsent::Value(default)) => default,
                    _ => "",
                };
                LitStr::new(default, name.span())
            })
        };
        Ok(Some(match kind.name {
            "seek" => Incremental::Seek {
                param: value(param),
                id_field: value(id_field),
            },
            "stop_when_seen" => Incremental::StopWhenSeen {
                field: value(field),
            },
            "cursor_field" => Incremental::CursorField {
                field: value(field),
                param: value(param),
                lookback: window,
            },
            "append" => Incremental::Append,
            _ => Incremental::FullRefresh,
        }))
    }
}

/// "`a`, `b` or `c`".
fn one_of(words: &[&str]) -> String {
    list(words, "or")
}

/// "`a`, `b` and `c`".
fn and_list(words: &[&str]) -> String {
    list(words, "and")
}

fn list(words: &[&str], last_joint: &str) -> String {
    let quoted: Vec<String> = words.iter().map(|word| format!("`{word}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("{} {last_joint} {last}", rest.join(", "))
        }
        _ => quoted.concat(),
    }
}
