//! `paginator:` as a type name (`seek`, `SeekPaginator`) or a mapping with `type` and the
//! type's own keys.

use marked_yaml::{Node, types::MarkedMappingNode};

use super::{
    PaginatorConfig, suggest,
    value::{Checker, get},
};

/// A paginator type, as `type:` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    PageNumber,
    Offset,
    Cursor,
    JsonNext,
    LinkHeader,
    Seek,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::None,
        Kind::PageNumber,
        Kind::Offset,
        Kind::Cursor,
        Kind::JsonNext,
        Kind::LinkHeader,
        Kind::Seek,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::None => "none",
            Kind::PageNumber => "page_number",
            Kind::Offset => "offset",
            Kind::Cursor => "cursor",
            Kind::JsonNext => "json_next",
            Kind::LinkHeader => "link_header",
            Kind::Seek => "seek",
        }
    }

    /// The keys this type takes besides `type`.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::None => &[],
            Kind::PageNumber => &["param", "start", "size_param", "size", "total_path"],
            Kind::Offset => &["offset_param", "limit_param", "limit", "total_path"],
            Kind::Cursor => &[
                "path",
                "param",
                "has_more_path",
                "id_field",
                "size_param",
                "size",
            ],
            Kind::JsonNext => &["path"],
            Kind::LinkHeader => &["rel", "size_param", "size"],
            Kind::Seek => &["param", "id_field", "size_param", "size"],
        }
    }

    /// The keys this type cannot do without, and an example of them.
    fn required(self) -> (&'static [&'static str], &'static str) {
        match self {
            Kind::Cursor => (
                &["param"],
                "{type: cursor, path: next_cursor, param: cursor}",
            ),
            _ => (&[], ""),
        }
    }

    /// The type named `name`: any case, `_` and `-` ignored, with or without a `Paginator`
    /// suffix (`page_number`, `PageNumberPaginator`, `jsonnext`); `next_link` is `json_next`.
    fn named(name: &str) -> Option<Kind> {
        let wanted = normalize(name);
        if wanted == "nextlink" {
            return Some(Kind::JsonNext);
        }
        Kind::ALL
            .into_iter()
            .find(|kind| normalize(kind.name()) == wanted)
    }
}

fn normalize(name: &str) -> String {
    let squeezed: String = name
        .chars()
        .filter(|character| !matches!(character, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    match squeezed.strip_suffix("paginator") {
        Some(rest) if !rest.is_empty() => rest.to_owned(),
        _ => squeezed,
    }
}

/// Reads `paginator:`, reporting what does not fit.
pub(super) fn paginator(checker: &mut Checker<'_>, node: &Node) -> Option<PaginatorConfig> {
    match node {
        Node::Mapping(mapping) => from_mapping(checker, node, mapping),
        Node::Scalar(_) => {
            let kind = kind(checker, node)?;
            let (required, example) = kind.required();
            if !required.is_empty() {
                let place = checker.place_of(node);
                checker.report(
                    place,
                    format!(
                        "the {} paginator needs {}, so it cannot be given by its name alone",
                        kind.name(),
                        if kind == Kind::Cursor {
                            "`param`, and `path` or `has_more_path`".to_owned()
                        } else {
                            suggest::and_list(required)
                        }
                    ),
                    format!("write it as a mapping: `paginator: {example}`"),
                );
                return None;
            }
            build(checker, kind, None)
        }
        Node::Sequence(_) => {
            checker.expected(
                node,
                "`paginator`",
                "a paginator type or a mapping with `type`",
            );
            None
        }
    }
}

fn from_mapping(
    checker: &mut Checker<'_>,
    node: &Node,
    mapping: &MarkedMappingNode,
) -> Option<PaginatorConfig> {
    let Some(type_node) = get(mapping, "type") else {
        let place = checker.place_of(node);
        checker.report(
            place,
            "the paginator has no `type`",
            format!("add `type:` with one of {}", suggest::one_of(&type_names())),
        );
        return None;
    };
    let kind = kind(checker, type_node)?;
    let mut allowed = vec!["type"];
    allowed.extend(kind.keys());
    let others: Vec<(&[&str], String)> = Kind::ALL
        .into_iter()
        .filter(|other| *other != kind)
        .map(|other| {
            let goes = format!("with the {} paginator", other.name());
            (other.keys(), goes)
        })
        .collect();
    let elsewhere: Vec<(&[&str], &str)> = others
        .iter()
        .map(|(keys, goes)| (*keys, goes.as_str()))
        .collect();
    let section = format!("the {} paginator", kind.name());
    checker.check_keys(mapping, &section, &allowed, &elsewhere);

    let (required, example) = kind.required();
    let example = format!("paginator: {example}");
    checker.check_required(node, mapping, &section, required, example);
    if kind == Kind::Cursor
        && get(mapping, "path").is_none()
        && get(mapping, "has_more_path").is_none()
    {
        let place = checker.place_of(node);
        checker.report(
            place,
            "the cursor paginator needs `path` (where the next cursor is) or `has_more_path` (where the body says more pages follow)".to_owned(),
            "for example `paginator: {type: cursor, path: next_cursor, param: cursor}` or `{type: cursor, param: starting_after, has_more_path: has_more, id_field: id}`".to_owned(),
        );
    }
    let has_size = get(mapping, "size").is_some();
    let size_param = get(mapping, "size_param");
    if kind.keys().contains(&"size") && has_size != size_param.is_some() {
        let (present, absent) = if has_size {
            ("size", "size_param")
        } else {
            ("size_param", "size")
        };
        if let Some(present_node) = get(mapping, present) {
            let place = checker.place_of(present_node);
            checker.report(
                place,
                format!("`{present}` needs `{absent}`: the page size goes in the query parameter `size_param` names"),
                "give both, e.g. `size_param: limit` and `size: 100`".to_owned(),
            );
        }
    }
    build(checker, kind, Some(mapping))
}

/// The paginator type `node` names, or a problem listing the types.
fn kind(checker: &mut Checker<'_>, node: &Node) -> Option<Kind> {
    let text = checker.text(node, "the paginator type")?;
    if let Some(kind) = Kind::named(&text.value) {
        return Some(kind);
    }
    let place = checker.place_of(node);
    let names = type_names();
    // Compare as `named` does, so that `PageNumbr` suggests `page_number`.
    let normalized: Vec<String> = names.iter().map(|name| normalize(name)).collect();
    let normalized: Vec<&str> = normalized.iter().map(String::as_str).collect();
    // No suggestion for a name from the environment: it would hint at the value.
    let close = if text.is_expanded {
        None
    } else {
        suggest::closest(&normalize(&text.value), &normalized)
    };
    let help = match close {
        Some(close) => {
            let index = normalized
                .iter()
                .position(|name| *name == close)
                .unwrap_or_default();
            format!(
                "did you mean `{}`? types: {}",
                names[index],
                suggest::one_of(&names)
            )
        }
        None => format!("types: {}", suggest::one_of(&names)),
    };
    checker.report(
        place,
        format!("unknown paginator type {}", text.shown()),
        help,
    );
    None
}

fn type_names() -> Vec<&'static str> {
    Kind::ALL.into_iter().map(Kind::name).collect()
}

/// The paginator of `kind` from the keys of `mapping` (all absent for a bare type name).
fn build(
    checker: &mut Checker<'_>,
    kind: Kind,
    mapping: Option<&MarkedMappingNode>,
) -> Option<PaginatorConfig> {
    let mut text = |key: &str| {
        let node = mapping.and_then(|mapping| get(mapping, key))?;
        checker.name(node, &format!("`{key}`"))
    };
    let paginator = match kind {
        Kind::None => PaginatorConfig::None,
        Kind::PageNumber => {
            let param = text("param");
            let size_param = text("size_param");
            let total_path = text("total_path");
            PaginatorConfig::PageNumber {
                param,
                start: number(checker, mapping, "start"),
                size_param,
                size: number(checker, mapping, "size"),
                total_path,
            }
        }
        Kind::Offset => {
            let offset_param = text("offset_param");
            let limit_param = text("limit_param");
            let total_path = text("total_path");
            PaginatorConfig::Offset {
                offset_param,
                limit_param,
                limit: number(checker, mapping, "limit"),
                total_path,
            }
        }
        Kind::Cursor => {
            let path = text("path");
            let param = text("param");
            let has_more_path = text("has_more_path");
            let id_field = text("id_field");
            let size_param = text("size_param");
            let size = number(checker, mapping, "size");
            PaginatorConfig::Cursor {
                path,
                param: param?,
                has_more_path,
                id_field,
                size_param,
                size,
            }
        }
        Kind::JsonNext => PaginatorConfig::JsonNext { path: text("path") },
        Kind::LinkHeader => PaginatorConfig::LinkHeader {
            rel: text("rel"),
            size_param: text("size_param"),
            size: number(checker, mapping, "size"),
        },
        Kind::Seek => {
            let param = text("param");
            let id_field = text("id_field");
            let size_param = text("size_param");
            PaginatorConfig::Seek {
                param,
                id_field,
                size_param,
                size: number(checker, mapping, "size"),
            }
        }
    };
    Some(paginator)
}

fn number(
    checker: &mut Checker<'_>,
    mapping: Option<&MarkedMappingNode>,
    key: &str,
) -> Option<u64> {
    let node = mapping.and_then(|mapping| get(mapping, key))?;
    checker.unsigned(node, &format!("`{key}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_read_loosely() {
        for (name, kind) in [
            ("seek", Kind::Seek),
            ("SeekPaginator", Kind::Seek),
            ("page_number", Kind::PageNumber),
            ("PageNumberPaginator", Kind::PageNumber),
            ("page-number", Kind::PageNumber),
            ("jsonnext", Kind::JsonNext),
            ("next_link", Kind::JsonNext),
            ("NextLinkPaginator", Kind::JsonNext),
            ("link_header", Kind::LinkHeader),
            ("LinkHeaderPaginator", Kind::LinkHeader),
            ("none", Kind::None),
            ("NONE", Kind::None),
            ("Offset", Kind::Offset),
            ("cursor", Kind::Cursor),
        ] {
            assert_eq!(Kind::named(name), Some(kind), "{name}");
        }
        assert_eq!(Kind::named("paginator"), None);
        assert_eq!(Kind::named("pages"), None);
    }
}
