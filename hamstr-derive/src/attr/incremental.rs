//! `incremental(...)` on a collector, into the strategy the generated settings set.

use quote::ToTokens;
use syn::{LitStr, meta::ParseNestedMeta};

use super::{Slot, parse_interval, skip_value};
use crate::errors::Errors;

/// `incremental(...)` on a collector: a strategy and its keys, with the same strategies, keys
/// and defaults as `incremental:` in YAML.
pub(crate) enum Incremental {
    FullRefresh,
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

/// A strategy, as `strategy = "..."` names it.
#[derive(Clone, Copy)]
enum Strategy {
    FullRefresh,
    Seek,
    StopWhenSeen,
    CursorField,
}

const STRATEGY_NAMES: &str = "`full_refresh`, `seek`, `stop_when_seen` or `cursor_field`";
const INCREMENTAL_KEYS: &str = "`strategy`, `field`, `param`, `id_field` or `lookback`";
const CURSOR_FIELD_EXAMPLE: &str = "incremental(strategy = \"cursor_field\", field = \"updated_at\", param = \"since\", lookback = \"10m\")";

impl Strategy {
    const ALL: [Strategy; 4] = [
        Strategy::FullRefresh,
        Strategy::Seek,
        Strategy::StopWhenSeen,
        Strategy::CursorField,
    ];

    /// The name, as `hamstr::state::Incremental::name` gives it.
    fn name(self) -> &'static str {
        match self {
            Strategy::FullRefresh => "full_refresh",
            Strategy::Seek => "seek",
            Strategy::StopWhenSeen => "stop_when_seen",
            Strategy::CursorField => "cursor_field",
        }
    }

    /// The keys it takes besides `strategy`.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Strategy::FullRefresh => &[],
            Strategy::Seek => &["param", "id_field"],
            Strategy::StopWhenSeen => &["field"],
            Strategy::CursorField => &["field", "param", "lookback"],
        }
    }

    /// The keys it cannot do without, and an attribute that gives them.
    fn required(self) -> (&'static [&'static str], &'static str) {
        match self {
            Strategy::StopWhenSeen => (
                &["field"],
                "incremental(strategy = \"stop_when_seen\", field = \"created_at\")",
            ),
            Strategy::CursorField => (&["field", "param"], CURSOR_FIELD_EXAMPLE),
            Strategy::FullRefresh | Strategy::Seek => (&[], ""),
        }
    }
}

impl Incremental {
    /// Parses `incremental(...)`, recording every problem; `None` when there was one. An `Err`
    /// is a token that cannot be read at all, which ends the attribute as other keys' do.
    pub(super) fn from_meta(
        errors: &Errors,
        meta: &ParseNestedMeta<'_>,
    ) -> syn::Result<Option<Self>> {
        if !meta.input.peek(syn::token::Paren) {
            errors.push(meta.error(format_args!(
                "`incremental` takes a strategy and its keys in parentheses: `{CURSOR_FIELD_EXAMPLE}`"
            )));
            skip_value(meta)?;
            return Ok(None);
        }
        let mut strategy = Slot::<LitStr>::new("strategy");
        let mut keys = [
            Slot::<LitStr>::new("field"),
            Slot::new("param"),
            Slot::new("id_field"),
            Slot::new("lookback"),
        ];
        meta.parse_nested_meta(|key| {
            if key.path.is_ident("strategy") {
                strategy.set(errors, &key.path, key.value()?.parse()?);
            } else if let Some(slot) = keys.iter_mut().find(|slot| key.path.is_ident(slot.name)) {
                slot.set(errors, &key.path, key.value()?.parse()?);
            } else {
                let name = key.path.to_token_stream().to_string().replace(' ', "");
                errors.push(key.error(format_args!(
                    "unknown key `{name}` in `incremental(...)`; expected {INCREMENTAL_KEYS}"
                )));
                skip_value(&key)?;
            }
            Ok(())
        })?;
        let Some(name) = strategy.get() else {
            errors.error_at(
                &meta.path,
                format_args!(
                    "missing `strategy` in `incremental(...)`: one of {STRATEGY_NAMES}, e.g. `{CURSOR_FIELD_EXAMPLE}`"
                ),
            );
            return Ok(None);
        };
        let Some(kind) = Strategy::ALL
            .into_iter()
            .find(|kind| kind.name() == name.value())
        else {
            errors.error_at(
                name,
                format_args!(
                    "unknown incremental strategy `{}`; expected {STRATEGY_NAMES}",
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
            if kind.keys().contains(&slot.name) {
                continue;
            }
            let mut expected = vec!["strategy"];
            expected.extend(kind.keys());
            let takers: Vec<&str> = Strategy::ALL
                .into_iter()
                .filter(|other| other.keys().contains(&slot.name))
                .map(Strategy::name)
                .collect();
            errors.error_at(
                tokens,
                format_args!(
                    "unknown key `{}` for the {} strategy; expected {} (`{}` goes with {})",
                    slot.name,
                    kind.name(),
                    one_of(&expected),
                    slot.name,
                    one_of(&takers),
                ),
            );
            is_usable = false;
        }
        let (required, example) = kind.required();
        let missing: Vec<&str> = keys
            .iter()
            .filter(|slot| required.contains(&slot.name) && slot.get().is_none())
            .map(|slot| slot.name)
            .collect();
        if !missing.is_empty() {
            errors.error_at(
                name,
                format_args!(
                    "the {} strategy needs {}, e.g. `{example}`",
                    kind.name(),
                    and_list(&missing)
                ),
            );
            is_usable = false;
        }
        let [field, param, id_field, lookback] = &keys;
        for (slot, is_path) in [(field, true), (param, false), (id_field, true)] {
            let Some(value) = slot.get().filter(|_| kind.keys().contains(&slot.name)) else {
                continue;
            };
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
        if let Some(text) = lookback.get().filter(|_| kind.keys().contains(&"lookback")) {
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
        // An absent key's default, spanned at the strategy's name.
        let or_default = |slot: &Slot<LitStr>, default: &str| {
            slot.get()
                .cloned()
                .unwrap_or_else(|| LitStr::new(default, name.span()))
        };
        let given = |slot: &Slot<LitStr>| {
            slot.get()
                .cloned()
                .expect("checked: the strategy's required keys are given")
        };
        Ok(Some(match kind {
            Strategy::FullRefresh => Incremental::FullRefresh,
            Strategy::Seek => Incremental::Seek {
                param: or_default(param, "from"),
                id_field: or_default(id_field, "id"),
            },
            Strategy::StopWhenSeen => Incremental::StopWhenSeen {
                field: given(field),
            },
            Strategy::CursorField => Incremental::CursorField {
                field: given(field),
                param: given(param),
                lookback: window,
            },
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
