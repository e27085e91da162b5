//! The YAML parser's run over the text, and what it refuses (syntax errors, duplicate keys,
//! anchors, aliases, tags) as problems at their place. It stops at its first refusal.

use marked_yaml::{LoadError, LoaderOptions, Marker, Node};

use super::{Problem, value::quote};

/// The node tree of `source`, whose top is a mapping.
pub(super) fn parse(source: &str) -> Result<Node, Vec<Problem>> {
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        // Keeps quoted scalars apart from plain ones: `""` and `"null"` are text, never null.
        .prevent_coercion(true);
    // The parser has `unreachable!`s on event orders it does not expect; a panic in it must be
    // an error for this file, not the end of the program.
    let parsed =
        std::panic::catch_unwind(|| marked_yaml::parse_yaml_with_options(0, source, options));
    match parsed {
        Ok(Ok(node)) => Ok(node),
        Ok(Err(error)) => Err(vec![syntax_problem(source, &error)]),
        Err(_) => Err(vec![Problem {
            line: 1,
            column: 1,
            width: 0,
            message: "the YAML parser failed on this file".to_owned(),
            help: None,
        }]),
    }
}

/// A problem for what the YAML parser refused; it stops at the first.
fn syntax_problem(source: &str, error: &LoadError) -> Problem {
    let problem = |marker: &Marker, message: String, help: Option<String>| Problem {
        line: marker.line().max(1),
        column: marker.column().max(1),
        width: 1,
        message,
        help,
    };
    match error {
        LoadError::TopLevelMustBeMapping(marker) => problem(
            marker,
            "the file must be a mapping of `name`, `storage`, `services` and `files`".to_owned(),
            Some("start with `services:` or `files:`".to_owned()),
        ),
        LoadError::TopLevelMustBeSequence(marker) => {
            problem(marker, "the file must be a mapping".to_owned(), None)
        }
        LoadError::UnexpectedAnchor(marker) => {
            let marker = anchor_marker(source, marker);
            problem(
                &marker,
                "anchors and aliases (`&name`, `*name`) are not supported".to_owned(),
                Some("write the value out again where it is needed".to_owned()),
            )
        }
        LoadError::MappingKeyMustBeScalar(marker) => problem(
            marker,
            "a key must be text, not a list or a mapping".to_owned(),
            None,
        ),
        LoadError::UnexpectedTag(marker) => problem(
            marker,
            "YAML tags (`!!str`, `!name`) are not supported".to_owned(),
            Some("quote the value to make it text: `\"...\"`".to_owned()),
        ),
        // An alias whose anchor was refused never gets this far: this one names no anchor.
        LoadError::ScanError(marker, scan_error)
            if scan_error.info() == "while parsing node, found unknown anchor" =>
        {
            problem(
                marker,
                "aliases (`*name`) are not supported".to_owned(),
                Some("write the value out again where it is needed".to_owned()),
            )
        }
        LoadError::ScanError(marker, scan_error) => {
            problem(marker, format!("invalid YAML: {}", scan_error.info()), None)
        }
        LoadError::DuplicateKey(duplicate) => {
            let first_line = duplicate.prev_key.span().start().map_or(0, Marker::line);
            let marker = duplicate
                .key
                .span()
                .start()
                .copied()
                .unwrap_or_else(|| Marker::new(0, 0, 1, 1));
            let mut problem = problem(
                &marker,
                format!("duplicate key {}", quote(duplicate.key.as_str())),
                Some(format!(
                    "it is first given on line {first_line}; keep one of them"
                )),
            );
            problem.width = duplicate.key.as_str().chars().count().max(1);
            problem
        }
    }
}

/// marked-yaml marks the node after an anchor; point at the `&` before it, when on its line.
fn anchor_marker(source: &str, marker: &Marker) -> Marker {
    let lines = super::value::lines(source);
    let Some(line) = lines.get(marker.line().saturating_sub(1)) else {
        return *marker;
    };
    let before: Vec<char> = line
        .chars()
        .take(marker.column().saturating_sub(1))
        .collect();
    match before.iter().rposition(|character| *character == '&') {
        Some(index) => Marker::new(0, 0, marker.line(), index + 1),
        None => *marker,
    }
}
