//! `keys:` of a collector whose endpoint has a `{placeholder}`: where its keys come from
//! (`from: MODEL.FIELD`, `seeds:`), how often a key is read again and how many at a time. The
//! sources are checked against every model of the project after the whole file is read, each
//! problem at its line and column.

use std::collections::HashMap;

use marked_yaml::{Node, types::MarkedMappingNode};

use super::{
    CollectorConfig, FileConfig, ServiceConfig,
    value::{Checker, Place, get, is_null, quote},
};
use crate::collector::{FanOut, placeholders};

/// The keys of `keys:`.
pub(super) const KEYS_KEYS: [&str; 7] = [
    "from",
    "seeds",
    "refresh_after",
    "max_per_run",
    "concurrency",
    "parent_field",
    "max_depth",
];

/// The `from:` nodes of a `keys:` mapping: one `MODEL.FIELD`, or a list of them.
fn sources(node: &Node) -> Vec<&Node> {
    match node {
        Node::Sequence(items) => items.iter().collect(),
        node => vec![node],
    }
}

/// Reads `keys:`, and checks it against the endpoint's placeholders.
pub(super) fn keys(
    checker: &mut Checker<'_>,
    mapping: &MarkedMappingNode,
    endpoint: &str,
    owner: Place,
    section: &str,
) -> Option<Option<FanOut>> {
    // A declared parameter's `{name}` is filled at run time, not by keys.
    let names: Vec<&str> = placeholders(endpoint)
        .into_iter()
        .filter(|name| !checker.is_parameter(name.trim_start_matches('+')))
        .collect();
    let Some(node) = get(mapping, "keys") else {
        if let Some(name) = names.first() {
            checker.report(
                owner,
                format!("{section} has the placeholder {{{name}}} in its endpoint, and no `keys:` to fill it"),
                format!("add `keys: {{from: MODEL.FIELD}}` (the stored rows of another collector), `keys: {{seeds: [...]}}`, or both; or, for a value given at run time, declare `{}` under `parameters:`", name.trim_start_matches('+')),
            );
            return None;
        }
        return Some(None);
    };
    let what = format!("`keys` of {section}");
    let keys = checker.mapping(node, &what)?;
    checker.check_keys(keys, &what, &KEYS_KEYS, &[]);
    if names.len() != 1 {
        let place = checker.place_of(node);
        checker.report(
            place,
            format!(
                "{section} has `keys:`, and its endpoint has {} placeholders",
                names.len()
            ),
            "a fan-out fills one: write it in the endpoint, e.g. `/users/{login}/repos`".to_owned(),
        );
        return None;
    }
    let mut fan_out = FanOut::new();
    let mut is_complete = true;
    if let Some(from) = get(keys, "from") {
        for source in sources(from) {
            let Some(text) = checker.text(source, "`from`") else {
                is_complete = false;
                continue;
            };
            match text.value.split_once('.') {
                Some((model, field)) if !model.is_empty() && !field.is_empty() => {
                    fan_out = fan_out.from_model(model, field);
                }
                _ => {
                    let place = checker.place_of(source);
                    let shown = text.shown();
                    checker.report(
                        place,
                        format!("`from` is MODEL.FIELD, found {shown}"),
                        "the model of another collector (its `name:`) and the field that holds the keys, e.g. `users.login`".to_owned(),
                    );
                    is_complete = false;
                }
            }
        }
    }
    if let Some(seeds) = get(keys, "seeds") {
        // One key, or a list of them.
        for seed in sources(seeds) {
            match checker.text(seed, "a seed key") {
                Some(text) => fan_out = fan_out.seeds([text.value]),
                None => is_complete = false,
            }
        }
    }
    if get(keys, "from").is_none() && get(keys, "seeds").is_none() {
        let place = checker.place_of(node);
        checker.report(
            place,
            format!("{what} names no keys"),
            "add `from: MODEL.FIELD`, `seeds: [...]`, or both".to_owned(),
        );
        is_complete = false;
    }
    if let Some(node) = get(keys, "refresh_after") {
        match checker.duration(node, "`refresh_after`") {
            Some(refresh) => fan_out = fan_out.refresh_after(refresh),
            None => is_complete = false,
        }
    }
    if let Some(node) = get(keys, "max_depth") {
        match checker.whole_number_in(node, "`max_depth`", 0..=1_000_000, None) {
            Some(depth) => fan_out = fan_out.max_depth(u32::try_from(depth).unwrap_or(u32::MAX)),
            None => is_complete = false,
        }
    }
    for (key, what) in [
        ("max_per_run", "`max_per_run`"),
        ("concurrency", "`concurrency`"),
    ] {
        let Some(node) = get(keys, key) else { continue };
        match checker.whole_number_in(node, what, 1..=1_000_000, None) {
            Some(count) => {
                let count = usize::try_from(count).unwrap_or(usize::MAX);
                fan_out = if key == "max_per_run" {
                    fan_out.max_per_run(count)
                } else {
                    fan_out.concurrency(count)
                };
            }
            None => is_complete = false,
        }
    }
    if let Some(node) = get(keys, "parent_field") {
        match checker.name(node, "`parent_field`") {
            Some(field) => fan_out = fan_out.parent_field(field),
            None => is_complete = false,
        }
    }
    is_complete.then_some(Some(fan_out))
}

/// Checks every `from: MODEL.FIELD` of the project against its models, at its place.
pub(super) fn check_sources(
    checker: &mut Checker<'_>,
    root: &MarkedMappingNode,
    services: &[ServiceConfig],
    files: &[FileConfig],
) {
    let mut models: HashMap<&str, Vec<&str>> = HashMap::new();
    let collectors = services.iter().flat_map(|service| &service.collectors);
    for collector in collectors {
        models.insert(&collector.name, columns(collector));
    }
    for file in files {
        let columns = file
            .fields
            .iter()
            .map(|field| field.column.as_str())
            .collect();
        models.insert(&file.name, columns);
    }
    let Some(Node::Mapping(services)) = get(root, "services") else {
        return;
    };
    for (_, service) in services.iter() {
        let Node::Mapping(service) = service else {
            continue;
        };
        let Some(Node::Mapping(collectors)) = get(service, "collectors") else {
            continue;
        };
        for (_, collector) in collectors.iter() {
            let Node::Mapping(collector) = collector else {
                continue;
            };
            let Some(Node::Mapping(keys)) = get(collector, "keys") else {
                continue;
            };
            let Some(from) = get(keys, "from") else {
                continue;
            };
            for source in sources(from) {
                let Node::Scalar(scalar) = source else {
                    continue;
                };
                let Some((model, field)) = scalar.as_str().split_once('.') else {
                    continue;
                };
                let problem = match models.get(model) {
                    None if !is_null(source) => {
                        let mut known: Vec<&str> = models.keys().copied().collect();
                        known.sort_unstable();
                        Some((
                            format!("no collector or file stores a model {}", quote(model)),
                            format!("the models: {}", known.join(", ")),
                        ))
                    }
                    Some(columns) if !columns.contains(&field) => Some((
                        format!("the model {} has no field {}", quote(model), quote(field)),
                        format!("its fields: {}", columns.join(", ")),
                    )),
                    _ => None,
                };
                if let Some((message, help)) = problem {
                    let place = checker.place_of(source);
                    checker.report(place, message, help);
                }
            }
        }
    }
}

fn columns(collector: &CollectorConfig) -> Vec<&str> {
    collector
        .fields
        .iter()
        .map(|field| field.column.as_str())
        .collect()
}
