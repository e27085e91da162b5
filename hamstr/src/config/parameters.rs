//! `parameters:` of a project: values given at run time (`--set name=value`, a collector's
//! positional arguments, the environment) and written `{name}` in base URLs, endpoints, query
//! parameters and headers. Reading the declarations is here; filling them in is in `bind.rs`.

use marked_yaml::{Node, types::MarkedScalarNode};

use super::value::{Checker, get, is_null, quote};

/// The keys of one parameter's mapping.
pub(super) const PARAMETER_KEYS: [&str; 6] =
    ["type", "default", "required", "help", "choices", "example"];

/// One run-time parameter (`parameters: {NAME: {type: date, default: 2021-01-01}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParameterConfig {
    /// Its name: what `{name}` and `--set name=value` say.
    pub name: String,
    /// What its value must be (`type:`, text by default).
    pub kind: ParameterType,
    /// Its value when none is given (`default:`).
    pub default: Option<String>,
    /// Whether a run of a collector that uses it stops before any request without it
    /// (`required:`). An optional parameter with no value drops the query parameter or header
    /// that uses it.
    pub is_required: bool,
    /// What it is, for `hamstr catalog` and errors (`help:`).
    pub help: Option<String>,
    /// The values it may take (`choices:`); empty: any of its type.
    pub choices: Vec<String>,
    /// A value `hamstr check` uses to try the definition (`example:`).
    pub example: Option<String>,
}

/// What a parameter's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParameterType {
    /// Any text (`string`).
    Text,
    /// A whole number (`integer`).
    Integer,
    /// A number (`float`).
    Float,
    /// `true` or `false` (`bool`; `yes`/`no`, `1`/`0` are taken too).
    Bool,
    /// A day, `YYYY-MM-DD` (`date`).
    Date,
    /// An RFC 3339 instant, or a day taken as its midnight UTC (`datetime`).
    DateTime,
}

const TYPES: [(&str, ParameterType); 6] = [
    ("string", ParameterType::Text),
    ("integer", ParameterType::Integer),
    ("float", ParameterType::Float),
    ("bool", ParameterType::Bool),
    ("date", ParameterType::Date),
    ("datetime", ParameterType::DateTime),
];

impl ParameterType {
    /// Its name in YAML.
    pub fn name(self) -> &'static str {
        TYPES
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("string", |(name, _)| name)
    }

    /// `text` as this type's value, written the one way requests get it; or why it is not.
    ///
    /// # Errors
    /// What the value must look like.
    pub fn parse(self, text: &str) -> Result<String, String> {
        let text = text.trim();
        let checked = match self {
            Self::Text => Some(text.to_owned()),
            Self::Integer => text.parse::<i64>().ok().map(|number| number.to_string()),
            Self::Float => text
                .parse::<f64>()
                .ok()
                .filter(|number| number.is_finite())
                .map(|_| text.to_owned()),
            Self::Bool => match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Some("true".to_owned()),
                "false" | "no" | "0" => Some("false".to_owned()),
                _ => None,
            },
            Self::Date => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .map(|day| day.to_string()),
            Self::DateTime => chrono::DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|instant| instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                .or_else(|| {
                    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                        .ok()
                        .map(|day| format!("{day}T00:00:00Z"))
                }),
        };
        checked.ok_or_else(|| {
            match self {
                Self::Text => "text",
                Self::Integer => "a whole number",
                Self::Float => "a number",
                Self::Bool => "`true` or `false`",
                Self::Date => "a date, YYYY-MM-DD",
                Self::DateTime => "an RFC 3339 date and time (2021-01-01T00:00:00Z) or a date",
            }
            .to_owned()
        })
    }

    /// A value of this type for trying a definition when none is given.
    pub(super) fn stand_in(self, name: &str) -> String {
        match self {
            Self::Text => name.to_owned(),
            Self::Integer | Self::Float => "1".to_owned(),
            Self::Bool => "true".to_owned(),
            Self::Date => "2000-01-01".to_owned(),
            Self::DateTime => "2000-01-01T00:00:00Z".to_owned(),
        }
    }
}

impl ParameterConfig {
    /// `text` as this parameter's value, or what is wrong with it (never quoting it: a value
    /// may come from the environment).
    ///
    /// # Errors
    /// What the value must be.
    pub fn check(&self, text: &str) -> Result<String, String> {
        let value = self.kind.parse(text)?;
        if self.choices.is_empty() || self.choices.contains(&value) {
            Ok(value)
        } else {
            Err(format!("one of {}", self.choices.join(", ")))
        }
    }
}

/// Whether `name` can be a parameter's: what `{name}` can hold in an endpoint.
pub(super) fn is_parameter_name(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
}

/// `parameters:` of the project.
pub(super) fn parameters(checker: &mut Checker<'_>, node: &Node) -> Option<Vec<ParameterConfig>> {
    if is_null(node) {
        return Some(Vec::new());
    }
    let mapping = checker.mapping(node, "`parameters`")?;
    let mut parameters = Vec::with_capacity(mapping.len());
    let mut is_complete = true;
    for (name, value) in mapping.iter() {
        match parameter(checker, name, value) {
            Some(parameter) => parameters.push(parameter),
            None => is_complete = false,
        }
    }
    is_complete.then_some(parameters)
}

fn parameter(
    checker: &mut Checker<'_>,
    name_key: &MarkedScalarNode,
    node: &Node,
) -> Option<ParameterConfig> {
    let name = name_key.as_str();
    if !is_parameter_name(name) {
        let place = checker.place_of_scalar(name_key);
        checker.report(
            place,
            format!("{} cannot be a parameter's name", quote(name)),
            "a parameter is named with letters, digits and `_`, as `{name}` in an endpoint says it"
                .to_owned(),
        );
        return None;
    }
    let section = format!("parameter {}", quote(name));
    let mut parameter = ParameterConfig {
        name: name.to_owned(),
        kind: ParameterType::Text,
        default: None,
        is_required: false,
        help: None,
        choices: Vec::new(),
        example: None,
    };
    // `name:` alone, or `name: date`: the type.
    let mapping = match node {
        node if is_null(node) => return Some(parameter),
        Node::Scalar(_) => {
            parameter.kind = kind(checker, node)?;
            return Some(parameter);
        }
        node => checker.mapping(node, &section)?,
    };
    checker.check_keys(mapping, &section, &PARAMETER_KEYS, &[]);
    let mut is_usable = true;
    if let Some(node) = get(mapping, "type") {
        match kind(checker, node) {
            Some(found) => parameter.kind = found,
            None => is_usable = false,
        }
    }
    if let Some(node) = get(mapping, "required") {
        parameter.is_required = checker.boolean(node, "`required`").unwrap_or_default();
    }
    if let Some(node) = get(mapping, "help") {
        parameter.help = checker.name(node, "`help`");
    }
    if let Some(node) = get(mapping, "choices") {
        let items: Vec<&Node> = match node {
            Node::Sequence(items) => items.iter().collect(),
            node => vec![node],
        };
        for item in items {
            match checker.text(item, "a choice") {
                Some(text) => match parameter.kind.parse(&text.value) {
                    Ok(value) => parameter.choices.push(value),
                    Err(expected) => {
                        let place = checker.place_of(item);
                        checker.report(
                            place,
                            format!("a choice of {section} must be {expected}"),
                            None,
                        );
                        is_usable = false;
                    }
                },
                None => is_usable = false,
            }
        }
    }
    for (key, slot) in [("default", 0), ("example", 1)] {
        let Some(node) = get(mapping, key) else {
            continue;
        };
        let Some(text) = checker.text(node, key) else {
            is_usable = false;
            continue;
        };
        match parameter.check(&text.value) {
            Ok(value) if slot == 0 => parameter.default = Some(value),
            Ok(value) => parameter.example = Some(value),
            Err(expected) => {
                let place = checker.place_of(node);
                checker.report(
                    place,
                    format!(
                        "the `{key}` of {section} must be {expected}, found {}",
                        text.shown()
                    ),
                    None,
                );
                is_usable = false;
            }
        }
    }
    if parameter.is_required
        && let (Some(_), Some(node)) = (&parameter.default, get(mapping, "required"))
    {
        let place = checker.place_of(node);
        checker.report(
            place,
            format!("{section} is required and has a default"),
            "a parameter with a default is never missing: drop `required`, or the default"
                .to_owned(),
        );
        is_usable = false;
    }
    is_usable.then_some(parameter)
}

fn kind(checker: &mut Checker<'_>, node: &Node) -> Option<ParameterType> {
    let text = checker.text(node, "`type`")?;
    let names: Vec<&str> = TYPES.iter().map(|(name, _)| *name).collect();
    match TYPES.iter().find(|(name, _)| *name == text.value.trim()) {
        Some((_, kind)) => Some(*kind),
        None => {
            let place = checker.place_of(node);
            let shown = text.shown();
            checker.report(
                place,
                format!("{shown} is not a parameter type"),
                super::suggest::help(text.value.trim(), &names, "types"),
            );
            None
        }
    }
}

/// `args: [repo, kind]` of a collector: the parameters its positional arguments fill, in order.
pub(super) fn args(
    checker: &mut Checker<'_>,
    node: &Node,
    declared: &[String],
) -> Option<Vec<String>> {
    let items: Vec<&Node> = match node {
        Node::Sequence(items) => items.iter().collect(),
        node => vec![node],
    };
    let known: Vec<&str> = declared.iter().map(String::as_str).collect();
    let mut args = Vec::with_capacity(items.len());
    let mut is_complete = true;
    for item in items {
        let Some(text) = checker.name_text(item, "an argument") else {
            is_complete = false;
            continue;
        };
        if known.contains(&text.value.as_str()) {
            args.push(text.value);
        } else {
            let place = checker.place_of(item);
            let shown = text.shown();
            let help = if known.is_empty() {
                "declare it under `parameters:` at the top of the file".to_owned()
            } else {
                super::suggest::help(&text.value, &known, "the parameters")
            };
            checker.report(
                place,
                format!("{shown} is not a parameter of the project"),
                help,
            );
            is_complete = false;
        }
    }
    is_complete.then_some(args)
}
