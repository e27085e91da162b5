//! A collector's `model:` (its fields, short form `field: type` or long form
//! `field: {type, required, column}`) and its `primary_key:`.

use marked_yaml::{
    Node,
    types::{MarkedMappingNode, MarkedScalarNode},
};

use super::{
    FieldConfig, suggest,
    value::{Checker, Place, get, is_null, quote},
};
use crate::model::FieldType;

const FIELD_KEYS: [&str; 3] = ["type", "required", "column"];

/// A field as declared, before the primary key is known.
struct Declared<'n> {
    key: &'n MarkedScalarNode,
    column: String,
    field_type: Option<FieldType>,
    /// `required:` when written, and where.
    required: Option<(bool, Place)>,
}

/// The fields and primary-key columns of the `model:` and `primary_key:` in `mapping` (the
/// section named `section`, whose name is at `owner`), or `None` after reporting why not.
pub(super) fn model_in(
    checker: &mut Checker<'_>,
    mapping: &MarkedMappingNode,
    owner: Place,
    section: &str,
) -> Option<(Vec<FieldConfig>, Vec<String>)> {
    let model = mapping
        .iter()
        .find(|(key, value)| key.as_str() == "model" && !is_null(value));
    match model {
        Some(model) => self::model(checker, model, get(mapping, "primary_key")),
        None => {
            checker.report(
                owner,
                format!("{section} has no `model`"),
                "add `model:` with a field per line, e.g. `model: {id: string, createdAt: datetime}`"
                    .to_owned(),
            );
            None
        }
    }
}

/// The fields and primary-key columns of the model `model` (the `model:` key and its value), or
/// `None` after reporting why not.
pub(super) fn model(
    checker: &mut Checker<'_>,
    model: (&MarkedScalarNode, &Node),
    primary_key: Option<&Node>,
) -> Option<(Vec<FieldConfig>, Vec<String>)> {
    let (model_key, model_node) = model;
    let mapping = checker.mapping(model_node, "`model`")?;
    if mapping.is_empty() {
        let place = checker.place_of(model_node);
        checker.report(
            place,
            "the model has no fields",
            "add a field per line: `field: type`, e.g. `id: string`".to_owned(),
        );
        return None;
    }
    let declared = declare(checker, mapping);
    let model_place = checker.place_of_scalar(model_key);
    let primary_key = primary_key_columns(checker, &declared, primary_key, model_place)?;
    let mut fields = Vec::with_capacity(declared.len());
    for field in declared {
        let is_key = primary_key.contains(&field.column);
        fields.push(FieldConfig {
            path: field.key.as_str().to_owned(),
            field_type: field.field_type?,
            is_required: is_key || field.required.is_some_and(|(required, _)| required),
            column: field.column,
        });
    }
    Some((fields, primary_key))
}

/// Every field of the model, reporting bad types, paths and columns as it goes.
fn declare<'n>(checker: &mut Checker<'_>, mapping: &'n MarkedMappingNode) -> Vec<Declared<'n>> {
    let mut declared: Vec<Declared<'n>> = Vec::with_capacity(mapping.len());
    for (key, value) in mapping.iter() {
        let path = key.as_str();
        let what = format!("field {}", quote(path));
        let place = checker.place_of_scalar(key);
        check_path(checker, place, path, &quote(path));
        let (type_node, column_node, required) = match value {
            _ if is_null(value) => (None, None, None),
            Node::Scalar(_) => (Some(value), None, None),
            Node::Mapping(long) => {
                checker.check_keys(long, &what, &FIELD_KEYS, &[]);
                let required = get(long, "required").and_then(|node| {
                    let required = checker.boolean(node, "`required`")?;
                    Some((required, checker.place_of(node)))
                });
                (get(long, "type"), get(long, "column"), required)
            }
            Node::Sequence(_) => {
                checker.expected(
                    value,
                    &what,
                    "a type or a mapping `{type: ..., required: ..., column: ...}`",
                );
                declared.push(Declared {
                    key,
                    column: path.replace('.', "_"),
                    field_type: None,
                    required: None,
                });
                continue;
            }
        };
        let field_type = match type_node {
            Some(node) => field_type(checker, node, &what),
            None => {
                let place = if is_null(value) {
                    checker.place_of_scalar(key)
                } else {
                    checker.place_of(value)
                };
                checker.report(
                    place,
                    format!("{what} has no type"),
                    format!("types: {}", suggest::one_of(&type_names())),
                );
                None
            }
        };
        let (column, column_shown) =
            match column_node.and_then(|node| checker.name_text(node, "`column`")) {
                Some(text) => (text.value.clone(), text.shown()),
                None => {
                    let column = path.replace('.', "_");
                    (column.clone(), quote(&column))
                }
            };
        // SQL compares column names without case: `id` and `ID` are one column.
        if let Some(first) = declared
            .iter()
            .find(|field| field.column.eq_ignore_ascii_case(&column))
        {
            let place = checker.place_of_scalar(key);
            let first_line = checker.place_of_scalar(first.key).line;
            let what = if first.column == column {
                format!("two fields go into the column {column_shown}")
            } else {
                format!(
                    "two fields go into the column {column_shown} (and `{}`: names that differ only in case are one column)",
                    first.column
                )
            };
            checker.report(
                place,
                what,
                format!("the other is on line {first_line}; give one of them a `column:`"),
            );
        }
        declared.push(Declared {
            key,
            column,
            field_type,
            required,
        });
    }
    declared
}

/// Whether `path` is a record's key or a dotted path into nested objects, with no empty
/// segment; if not, reports it (shown in the message as `shown`) at `place`.
pub(super) fn check_path(checker: &mut Checker<'_>, place: Place, path: &str, shown: &str) -> bool {
    let is_path = !path.split('.').any(|segment| segment.trim().is_empty());
    if !is_path {
        checker.report(
            place,
            format!("{shown} is not a field path"),
            "write a key of the record, or a dotted path into nested objects such as `amount.value`".to_owned(),
        );
    }
    is_path
}

fn field_type(checker: &mut Checker<'_>, node: &Node, what: &str) -> Option<FieldType> {
    let text = checker.text(node, &format!("the type of {what}"))?;
    if let Some(field_type) = FieldType::parse(&text.value.trim().to_ascii_lowercase()) {
        return Some(field_type);
    }
    let place = checker.place_of(node);
    checker.report(
        place,
        format!("unknown field type {} for {what}", text.shown()),
        // No suggestion for a name from the environment: it would hint at the value.
        suggest::help(
            if text.is_expanded { "" } else { &text.value },
            &type_names(),
            "types",
        ),
    );
    None
}

fn type_names() -> Vec<&'static str> {
    FieldType::ALL.into_iter().map(FieldType::as_str).collect()
}

/// The columns `primary_key:` names (a field's key as written, or its column), `id` when absent.
fn primary_key_columns(
    checker: &mut Checker<'_>,
    declared: &[Declared<'_>],
    primary_key: Option<&Node>,
    model_place: Place,
) -> Option<Vec<String>> {
    // Each name with what a message may show of it, and its place.
    let names: Vec<(String, String, Place)> = match primary_key {
        None => vec![("id".to_owned(), quote("id"), model_place)],
        Some(node @ Node::Scalar(_)) => {
            let name = checker.name_text(node, "`primary_key`")?;
            vec![(name.value.clone(), name.shown(), checker.place_of(node))]
        }
        Some(node @ Node::Sequence(list)) => {
            if list.is_empty() {
                let place = checker.place_of(node);
                checker.report(
                    place,
                    "`primary_key` is empty",
                    "name one field, or list several".to_owned(),
                );
                return None;
            }
            let mut names = Vec::with_capacity(list.len());
            for item in list.iter() {
                if let Some(name) = checker.name_text(item, "a `primary_key` entry") {
                    names.push((name.value.clone(), name.shown(), checker.place_of(item)));
                }
            }
            names
        }
        Some(node) => {
            checker.expected(
                node,
                "`primary_key`",
                "a field name or a list of field names",
            );
            return None;
        }
    };
    let mut columns: Vec<String> = Vec::with_capacity(names.len());
    let mut is_complete = true;
    for (name, shown, place) in names {
        let Some(field) = declared
            .iter()
            .find(|field| field.key.as_str() == name || field.column == name)
        else {
            let fields: Vec<&str> = declared.iter().map(|field| field.key.as_str()).collect();
            checker.report(
                place,
                format!(
                    "model has no field {shown} for its primary key; fields: {}",
                    fields.join(", ")
                ),
                // No suggestion for a name from the environment: it would hint at the value.
                (shown == quote(&name))
                    .then(|| suggest::closest(&name, &fields))
                    .flatten()
                    .map_or_else(
                        || {
                            "add the field to `model`, or set `primary_key` to one of its fields"
                                .to_owned()
                        },
                        |close| format!("did you mean `{close}`?"),
                    ),
            );
            is_complete = false;
            continue;
        };
        if columns.contains(&field.column) {
            checker.report(
                place,
                format!("`primary_key` names the field {shown} twice"),
                None,
            );
            continue;
        }
        if let Some((false, required_place)) = field.required {
            checker.report(
                required_place,
                format!(
                    "field {} is in the primary key, so it cannot be `required: false`",
                    quote(field.key.as_str())
                ),
                "remove `required: false`: a primary key field is always required".to_owned(),
            );
        }
        columns.push(field.column.clone());
    }
    is_complete.then_some(columns)
}
