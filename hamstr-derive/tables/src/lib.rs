//! The tables of settings that `hamstr.yml` and `#[derive(Collector)]` read alike, and the rule
//! a model name follows (which `hamstr`'s schemas and `#[derive(Model)]` both apply), so that
//! both accept the same names, keys and defaults and a new entry is written once. Each reader keeps
//! its own error reporting (YAML at line and column, the derive at the token's span); what is
//! allowed comes from here.
//!
//! Use them through the `hamstr` crate; this crate has no API promise of its own.

/// An incremental strategy as written: `strategy: seek` in YAML,
/// `incremental(strategy = "seek")` in the derive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strategy {
    /// Its name, which the stored mark also records.
    pub name: &'static str,
    /// The keys it takes besides `strategy`.
    pub keys: &'static [Key],
    /// A YAML mapping that sets it with everything it needs.
    pub yaml_example: &'static str,
    /// A derive attribute that sets it with everything it needs.
    pub attribute_example: &'static str,
}

/// One key of a strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The key's name.
    pub name: &'static str,
    /// What its value is.
    pub kind: KeyKind,
    /// What it is when it is left out.
    pub if_absent: IfAbsent,
}

/// What a key's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A record field: a key, or a dotted path into nested objects (`amount.value`).
    FieldPath,
    /// A query parameter's name.
    Param,
    /// A duration with a unit (`10m`).
    Duration,
}

/// What a key is when it is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfAbsent {
    /// The strategy cannot do without it.
    Required,
    /// This value.
    Value(&'static str),
    /// Nothing: the strategy works without it.
    Nothing,
}

const fn key(name: &'static str, kind: KeyKind, if_absent: IfAbsent) -> Key {
    Key {
        name,
        kind,
        if_absent,
    }
}

/// Every incremental strategy, the default (`full_refresh`) first.
pub const STRATEGIES: [Strategy; 5] = [
    Strategy {
        name: "full_refresh",
        keys: &[],
        yaml_example: "{strategy: full_refresh}",
        attribute_example: "incremental(strategy = \"full_refresh\")",
    },
    Strategy {
        name: "seek",
        keys: &[
            key("param", KeyKind::Param, IfAbsent::Value("from")),
            key("id_field", KeyKind::FieldPath, IfAbsent::Value("id")),
        ],
        yaml_example: "{strategy: seek, param: from, id_field: id}",
        attribute_example: "incremental(strategy = \"seek\", param = \"from\", id_field = \"id\")",
    },
    Strategy {
        name: "stop_when_seen",
        keys: &[key("field", KeyKind::FieldPath, IfAbsent::Required)],
        yaml_example: "{strategy: stop_when_seen, field: created_at}",
        attribute_example: "incremental(strategy = \"stop_when_seen\", field = \"created_at\")",
    },
    Strategy {
        name: "cursor_field",
        keys: &[
            key("field", KeyKind::FieldPath, IfAbsent::Required),
            key("param", KeyKind::Param, IfAbsent::Required),
            key("lookback", KeyKind::Duration, IfAbsent::Nothing),
        ],
        yaml_example: "{strategy: cursor_field, field: updated_at, param: since}",
        attribute_example: "incremental(strategy = \"cursor_field\", field = \"updated_at\", param = \"since\", lookback = \"10m\")",
    },
    Strategy {
        name: "append",
        keys: &[],
        yaml_example: "{strategy: append}",
        attribute_example: "incremental(strategy = \"append\")",
    },
];

/// Every key some strategy takes, `strategy` first.
pub const ALL_KEYS: [&str; 5] = ["strategy", "field", "param", "id_field", "lookback"];

impl Strategy {
    /// The strategy named exactly `name` (surrounding spaces aside): the name is also what a
    /// stored mark records, so only one spelling is taken.
    pub fn named(name: &str) -> Option<&'static Strategy> {
        let name = name.trim();
        STRATEGIES.iter().find(|strategy| strategy.name == name)
    }

    /// Whether it takes the key `name`.
    pub fn takes(&self, name: &str) -> bool {
        self.keys.iter().any(|key| key.name == name)
    }

    /// The key `name`, if it takes it.
    pub fn key(&self, name: &str) -> Option<&'static Key> {
        self.keys.iter().find(|key| key.name == name)
    }

    /// The keys it cannot do without.
    pub fn required(&self) -> impl Iterator<Item = &'static str> + use<> {
        self.keys
            .iter()
            .filter(|key| key.if_absent == IfAbsent::Required)
            .map(|key| key.name)
    }

    /// The names of the strategies that take the key `name`.
    pub fn takers(name: &str) -> Vec<&'static str> {
        STRATEGIES
            .iter()
            .filter(|strategy| strategy.takes(name))
            .map(|strategy| strategy.name)
            .collect()
    }

    /// Every strategy's name, in table order.
    pub fn names() -> Vec<&'static str> {
        STRATEGIES.iter().map(|strategy| strategy.name).collect()
    }
}

/// Why `name` cannot name a table (and, for JSON Lines, a file), or `None`. hamstr's own
/// tables and SQLite's are reserved; a path separator or a leading dot would let a file leave
/// its folder.
pub fn table_name_problem(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("_hamstr") || lower.starts_with("sqlite_") {
        Some(
            "names starting with `_hamstr` or `sqlite_` are the store's own tables; choose another name",
        )
    } else if name.starts_with('.') || name.contains(['/', '\\']) {
        Some("a name is one word, not a path: no `/`, `\\` or leading `.`")
    } else if name.chars().any(char::is_control) {
        Some("a name cannot hold control characters")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_listed_and_named_once_per_strategy() {
        for strategy in &STRATEGIES {
            for (index, key) in strategy.keys.iter().enumerate() {
                assert!(ALL_KEYS.contains(&key.name), "{}", key.name);
                assert!(
                    !strategy.keys[..index]
                        .iter()
                        .any(|other| other.name == key.name)
                );
                assert!(
                    strategy.yaml_example.contains(key.name) || key.if_absent == IfAbsent::Nothing
                );
            }
        }
        assert_eq!(
            Strategy::named(" seek ").map(|strategy| strategy.name),
            Some("seek")
        );
        assert_eq!(Strategy::named("Seek"), None);
        assert_eq!(Strategy::takers("param"), ["seek", "cursor_field"]);
    }
}
