//! A collector's `incremental:`: a mapping with `strategy` and the strategy's own keys, into an
//! [`Incremental`].

use std::time::Duration;

use marked_yaml::{Node, types::MarkedMappingNode};

use hamstr_tables::{ALL_KEYS, IfAbsent, STRATEGIES, Strategy};

use super::{
    fields, suggest,
    value::{Checker, describe, get},
};
use crate::state::Incremental;

fn strategy_names() -> Vec<&'static str> {
    Strategy::names()
}

/// `cursor_field`: the example for a mapping that names no strategy.
const CURSOR_FIELD: &Strategy = &STRATEGIES[3];

/// Reads `incremental:`, reporting everything that does not fit.
pub(super) fn incremental(checker: &mut Checker<'_>, node: &Node) -> Option<Incremental> {
    let Node::Mapping(mapping) = node else {
        // A bare strategy name is the likeliest slip: show the mapping it should be.
        let example = match node {
            Node::Scalar(scalar) => Strategy::named(scalar.as_str()),
            _ => None,
        }
        .unwrap_or(CURSOR_FIELD)
        .yaml_example;
        let place = checker.place_of(node);
        checker.report(
            place,
            format!(
                "`incremental` must be a mapping with `strategy`, found {}",
                describe(node)
            ),
            format!(
                "write `incremental: {example}`; strategies: {}",
                suggest::one_of(&strategy_names())
            ),
        );
        return None;
    };
    let strategy = match get(mapping, "strategy") {
        Some(strategy_node) => strategy(checker, strategy_node),
        None => {
            let place = checker.place_of(node);
            checker.report(
                place,
                "`incremental` has no `strategy`",
                format!(
                    "add `strategy:` with one of {}",
                    suggest::one_of(&strategy_names())
                ),
            );
            None
        }
    };
    let Some(strategy) = strategy else {
        // Without a strategy its keys are unknown; still report the keys no strategy takes.
        checker.check_keys(mapping, "`incremental`", &ALL_KEYS, &[]);
        return None;
    };
    check_keys(checker, mapping, strategy);
    let required: Vec<&str> = strategy.required().collect();
    let section = format!("the {} strategy", strategy.name);
    let example = format!("incremental: {}", strategy.yaml_example);
    checker.check_required(node, mapping, &section, &required, example);
    build(checker, strategy, mapping)
}

/// `incremental` (read from `node`) if it fits its source: a file takes `append` or
/// `full_refresh`, an API's listing any strategy but `append`. Otherwise reports at the strategy
/// what would fit, as the app's check would before the first run, and gives `None`.
pub(super) fn check_fits(
    checker: &mut Checker<'_>,
    node: &Node,
    incremental: Incremental,
    is_file: bool,
) -> Option<Incremental> {
    let is_fitting = match incremental {
        Incremental::FullRefresh => true,
        Incremental::Append => is_file,
        _ => !is_file,
    };
    if is_fitting {
        return Some(incremental);
    }
    let strategy_node = match node {
        Node::Mapping(mapping) => get(mapping, "strategy"),
        _ => None,
    };
    let place = checker.place_of(strategy_node.unwrap_or(node));
    let listing_strategies: Vec<&str> = strategy_names()
        .into_iter()
        .filter(|name| !matches!(*name, "full_refresh" | "append"))
        .collect();
    if is_file {
        checker.report(
            place,
            format!(
                "a file takes the `append` or `full_refresh` strategy, not `{}`",
                incremental.name()
            ),
            format!(
                "`append` reads the rows added since the last run, `full_refresh` the whole file every run; {} are for an API's listing",
                suggest::and_list(&listing_strategies)
            ),
        );
    } else {
        checker.report(
            place,
            "the `append` strategy is for files, not an API's listing",
            format!(
                "an API's listing takes {}; a file goes under `files:`",
                suggest::one_of(&listing_strategies)
            ),
        );
    }
    None
}

/// The strategy `node` names, or a problem listing the strategies.
fn strategy(checker: &mut Checker<'_>, node: &Node) -> Option<&'static Strategy> {
    let text = checker.text(node, "the incremental strategy")?;
    if let Some(strategy) = Strategy::named(&text.value) {
        return Some(strategy);
    }
    let place = checker.place_of(node);
    checker.report(
        place,
        format!("unknown incremental strategy {}", text.shown()),
        // No suggestion for a name from the environment: it would hint at the value.
        suggest::help(
            if text.is_expanded { "" } else { &text.value },
            &strategy_names(),
            "strategies",
        ),
    );
    None
}

/// Reports every key `strategy` does not take; a key of another strategy says which.
fn check_keys(checker: &mut Checker<'_>, mapping: &MarkedMappingNode, strategy: &Strategy) {
    let mut allowed = vec!["strategy"];
    allowed.extend(strategy.keys.iter().map(|key| key.name));
    let others: Vec<(&'static str, String)> = ALL_KEYS
        .iter()
        .filter(|key| !allowed.contains(key))
        .map(|key| {
            let takers = Strategy::takers(key);
            (*key, format!("with the {} strategy", takers.join(" or ")))
        })
        .collect();
    let elsewhere: Vec<(&[&str], &str)> = others
        .iter()
        .map(|(key, goes)| (std::slice::from_ref(key), goes.as_str()))
        .collect();
    let section = format!("the {} strategy", strategy.name);
    checker.check_keys(mapping, &section, &allowed, &elsewhere);
}

/// The strategy from its keys. Every key it takes is read, so that each bad value is reported;
/// a missing required key was reported before.
fn build(
    checker: &mut Checker<'_>,
    strategy: &Strategy,
    mapping: &MarkedMappingNode,
) -> Option<Incremental> {
    // A key of another strategy was reported as unknown; its value is not read.
    let given = |key: &str| strategy.takes(key).then(|| get(mapping, key)).flatten();
    // An absent key's default, from the table.
    let default = |key: &str| match strategy.key(key).map(|key| key.if_absent) {
        Some(IfAbsent::Value(value)) => Some(value.to_owned()),
        _ => None,
    };
    // Each: `None` when absent, `Some(None)` when its value was reported as wrong.
    let param = given("param").map(|node| checker.name(node, "`param`"));
    let id_field = given("id_field").map(|node| field(checker, node, "`id_field`"));
    let field_path = given("field").map(|node| field(checker, node, "`field`"));
    let lookback: Option<Option<Duration>> =
        given("lookback").map(|node| checker.duration(node, "`lookback`"));
    // A wrong value must not fall back to the default.
    if [
        param.as_ref().is_some_and(Option::is_none),
        id_field.as_ref().is_some_and(Option::is_none),
        field_path.as_ref().is_some_and(Option::is_none),
        lookback.is_some_and(|window| window.is_none()),
    ]
    .contains(&true)
    {
        return None;
    }
    let (param, id_field, field_path, lookback) = (
        param.flatten(),
        id_field.flatten(),
        field_path.flatten(),
        lookback.flatten(),
    );
    let param = param.or_else(|| default("param"));
    let id_field = id_field.or_else(|| default("id_field"));
    let incremental = match strategy.name {
        "seek" => Incremental::seek(param?, id_field?.as_str()),
        "stop_when_seen" => Incremental::stop_when_seen(field_path?.as_str()),
        "append" => Incremental::Append,
        "cursor_field" => {
            let cursor = Incremental::cursor_field(field_path?.as_str(), param?);
            match lookback {
                Some(window) => cursor.lookback(window).into(),
                None => cursor.into(),
            }
        }
        _ => Incremental::FullRefresh,
    };
    Some(incremental)
}

/// A record field: a key or a dotted path, as in `model:`.
fn field(checker: &mut Checker<'_>, node: &Node, what: &str) -> Option<String> {
    let text = checker.name_text(node, what)?;
    let place = checker.place_of(node);
    let shown = text.shown();
    let value = text.value;
    fields::check_path(checker, place, &value, &shown).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table's names are the names `Incremental` gives, which stored marks record.
    #[test]
    fn strategy_names_are_the_names_incremental_gives() {
        let built = [
            Incremental::FullRefresh,
            Incremental::seek("from", "id"),
            Incremental::stop_when_seen("created_at"),
            Incremental::cursor_field("updated_at", "since").into(),
            Incremental::Append,
        ];
        for (strategy, incremental) in STRATEGIES.iter().zip(built) {
            assert_eq!(strategy.name, incremental.name());
        }
    }
}
