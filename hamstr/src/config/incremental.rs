//! A collector's `incremental:`: a mapping with `strategy` and the strategy's own keys, into an
//! [`Incremental`].

use std::time::Duration;

use marked_yaml::{Node, types::MarkedMappingNode};

use super::{
    fields, suggest,
    value::{Checker, describe, get},
};
use crate::state::Incremental;

/// Every key some strategy takes, `strategy` first.
const ALL_KEYS: [&str; 5] = ["strategy", "param", "id_field", "field", "lookback"];

/// A strategy, as `strategy:` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    FullRefresh,
    Seek,
    StopWhenSeen,
    CursorField,
}

impl Strategy {
    const ALL: [Strategy; 4] = [
        Strategy::FullRefresh,
        Strategy::Seek,
        Strategy::StopWhenSeen,
        Strategy::CursorField,
    ];

    /// The name, the same as [`Incremental::name`] gives (a unit test holds them together).
    fn name(self) -> &'static str {
        match self {
            Strategy::FullRefresh => "full_refresh",
            Strategy::Seek => "seek",
            Strategy::StopWhenSeen => "stop_when_seen",
            Strategy::CursorField => "cursor_field",
        }
    }

    /// The keys this strategy takes besides `strategy`.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Strategy::FullRefresh => &[],
            Strategy::Seek => &["param", "id_field"],
            Strategy::StopWhenSeen => &["field"],
            Strategy::CursorField => &["field", "param", "lookback"],
        }
    }

    /// The keys this strategy cannot do without, and the whole mapping as an example.
    fn required(self) -> (&'static [&'static str], &'static str) {
        match self {
            Strategy::FullRefresh => (&[], "{strategy: full_refresh}"),
            Strategy::Seek => (&[], "{strategy: seek, param: from, id_field: id}"),
            Strategy::StopWhenSeen => (&["field"], "{strategy: stop_when_seen, field: created_at}"),
            Strategy::CursorField => (
                &["field", "param"],
                "{strategy: cursor_field, field: updated_at, param: since}",
            ),
        }
    }

    /// The strategy named exactly `name` (surrounding spaces aside): the name is also what the
    /// stored mark records, so only one spelling is taken.
    fn named(name: &str) -> Option<Strategy> {
        let name = name.trim();
        Strategy::ALL
            .into_iter()
            .find(|strategy| strategy.name() == name)
    }
}

fn strategy_names() -> Vec<&'static str> {
    Strategy::ALL.into_iter().map(Strategy::name).collect()
}

/// Reads `incremental:`, reporting everything that does not fit.
pub(super) fn incremental(checker: &mut Checker<'_>, node: &Node) -> Option<Incremental> {
    let Node::Mapping(mapping) = node else {
        // A bare strategy name is the likeliest slip: show the mapping it should be.
        let example = match node {
            Node::Scalar(scalar) => Strategy::named(scalar.as_str()),
            _ => None,
        }
        .unwrap_or(Strategy::CursorField)
        .required()
        .1;
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
    let (required, example) = strategy.required();
    let section = format!("the {} strategy", strategy.name());
    let example = format!("incremental: {example}");
    checker.check_required(node, mapping, &section, required, example);
    build(checker, strategy, mapping)
}

/// The strategy `node` names, or a problem listing the strategies.
fn strategy(checker: &mut Checker<'_>, node: &Node) -> Option<Strategy> {
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
fn check_keys(checker: &mut Checker<'_>, mapping: &MarkedMappingNode, strategy: Strategy) {
    let mut allowed = vec!["strategy"];
    allowed.extend(strategy.keys());
    let others: Vec<(&'static str, String)> = ALL_KEYS
        .iter()
        .filter(|key| !allowed.contains(key))
        .map(|key| {
            let takers: Vec<&str> = Strategy::ALL
                .into_iter()
                .filter(|other| other.keys().contains(key))
                .map(Strategy::name)
                .collect();
            (*key, format!("with the {} strategy", takers.join(" or ")))
        })
        .collect();
    let elsewhere: Vec<(&[&str], &str)> = others
        .iter()
        .map(|(key, goes)| (std::slice::from_ref(key), goes.as_str()))
        .collect();
    let section = format!("the {} strategy", strategy.name());
    checker.check_keys(mapping, &section, &allowed, &elsewhere);
}

/// The strategy from its keys. Every key it takes is read, so that each bad value is reported;
/// a missing required key was reported before.
fn build(
    checker: &mut Checker<'_>,
    strategy: Strategy,
    mapping: &MarkedMappingNode,
) -> Option<Incremental> {
    // A key of another strategy was reported as unknown; its value is not read.
    let given = |key: &str| {
        strategy
            .keys()
            .contains(&key)
            .then(|| get(mapping, key))
            .flatten()
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
    let incremental = match strategy {
        Strategy::FullRefresh => Incremental::FullRefresh,
        Strategy::Seek => Incremental::seek(
            param.unwrap_or_else(|| "from".to_owned()),
            id_field.as_deref().unwrap_or("id"),
        ),
        Strategy::StopWhenSeen => Incremental::stop_when_seen(field_path?.as_str()),
        Strategy::CursorField => {
            let cursor = Incremental::cursor_field(field_path?.as_str(), param?);
            match lookback {
                Some(window) => cursor.lookback(window).into(),
                None => cursor.into(),
            }
        }
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

    #[test]
    fn strategy_names_are_the_names_incremental_gives() {
        let built = [
            Incremental::FullRefresh,
            Incremental::seek("from", "id"),
            Incremental::stop_when_seen("created_at"),
            Incremental::cursor_field("updated_at", "since").into(),
        ];
        for (strategy, incremental) in Strategy::ALL.into_iter().zip(built) {
            assert_eq!(strategy.name(), incremental.name());
            assert_eq!(Strategy::named(incremental.name()), Some(strategy));
        }
        assert_eq!(Strategy::named("Seek"), None);
        assert_eq!(Strategy::named(" seek "), Some(Strategy::Seek));
    }

    #[test]
    fn a_required_key_is_a_key_of_its_strategy() {
        for strategy in Strategy::ALL {
            for key in strategy.required().0 {
                assert!(strategy.keys().contains(key), "{}: {key}", strategy.name());
            }
            for key in strategy.keys() {
                assert!(ALL_KEYS.contains(key), "{key}");
            }
        }
    }
}
