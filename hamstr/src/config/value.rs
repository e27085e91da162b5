//! The [`Checker`]: gathers every problem with its place, and reads typed values out of YAML
//! nodes, reporting what was expected when a node does not fit.

use std::time::Duration;

use marked_yaml::{
    Marker, Node,
    types::{MarkedMappingNode, MarkedScalarNode},
};

use super::{Problem, env, suggest};
use crate::{collector::Interval, secret::Secret};

/// Where a problem is: a line and column (both from 1), and how many characters to underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Place {
    pub(super) line: usize,
    pub(super) column: usize,
    pub(super) width: usize,
}

impl Place {
    /// The start of the file.
    pub(super) const START: Place = Place {
        line: 1,
        column: 1,
        width: 0,
    };
}

/// A scalar's text after `${VAR}` replacement, with the scalar it came from.
pub(super) struct Text<'n> {
    pub(super) value: String,
    pub(super) scalar: &'n MarkedScalarNode,
    pub(super) is_expanded: bool,
}

impl Text<'_> {
    /// The text as a message may quote it: as written in the file, so that a value from the
    /// environment never appears.
    pub(super) fn shown(&self) -> String {
        quote(self.scalar.as_str())
    }
}

/// Gathers problems and reads values. Reading goes on after a problem, so that one pass reports
/// every mistake in the file.
pub(super) struct Checker<'a> {
    lines: Vec<&'a str>,
    env: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<Problem>,
    /// The names under `parameters:`.
    parameters: Vec<String>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(source: &'a str, env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            lines: lines(source),
            env,
            problems: Vec::new(),
            parameters: Vec::new(),
        }
    }

    /// Makes `names` the project's parameters, read before its services.
    pub(super) fn declare_parameters(&mut self, names: impl IntoIterator<Item = String>) {
        self.parameters = names.into_iter().collect();
    }

    /// The project's parameters.
    pub(super) fn parameters(&self) -> &[String] {
        &self.parameters
    }

    /// Whether `name` is one of the project's parameters.
    pub(super) fn is_parameter(&self, name: &str) -> bool {
        self.parameters.iter().any(|parameter| parameter == name)
    }

    /// The value, or every problem reported while making it.
    pub(super) fn finish<T>(self, value: Option<T>) -> Result<T, Vec<Problem>> {
        match value {
            Some(value) if self.problems.is_empty() => Ok(value),
            // A value is missing only where a problem was reported; say so if that ever fails.
            _ if self.problems.is_empty() => Err(vec![Problem {
                line: 1,
                column: 1,
                width: 0,
                message: "the project could not be read".to_owned(),
                help: None,
            }]),
            _ => Err(self.problems),
        }
    }

    pub(super) fn report(
        &mut self,
        place: Place,
        message: impl Into<String>,
        help: impl Into<Option<String>>,
    ) {
        self.problems.push(Problem {
            line: place.line,
            column: place.column,
            width: place.width,
            message: message.into(),
            help: help.into(),
        });
    }

    /// Where a marker is, underlining `width` characters.
    pub(super) fn place_of_marker(&self, marker: Option<&Marker>, width: usize) -> Place {
        match marker {
            Some(marker) => Place {
                line: marker.line().max(1),
                column: marker.column().max(1),
                width,
            },
            None => Place::START,
        }
    }

    /// Where a node is: a scalar's whole text on its first line; a collection's opening line.
    pub(super) fn place_of(&self, node: &Node) -> Place {
        match node {
            Node::Scalar(scalar) => self.place_of_scalar(scalar),
            Node::Mapping(mapping) => {
                let place = self.place_of_collection(mapping.span().start());
                // A block mapping's start is marked after its first key; show that key's line.
                match mapping.keys().next() {
                    Some(first) if !self.rest_of_line(place).starts_with('{') => {
                        self.place_of_collection(first.span().start())
                    }
                    _ => place,
                }
            }
            Node::Sequence(sequence) => self.place_of_collection(sequence.span().start()),
        }
    }

    pub(super) fn place_of_scalar(&self, scalar: &MarkedScalarNode) -> Place {
        let place = self.place_of_marker(scalar.span().start(), 0);
        let rest = self.rest_of_line(place);
        let width = match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => quoted_width(rest, quote),
            _ => scalar
                .as_str()
                .chars()
                .count()
                .min(rest.trim_end().chars().count()),
        };
        Place { width, ..place }
    }

    fn place_of_collection(&self, start: Option<&Marker>) -> Place {
        let place = self.place_of_marker(start, 0);
        let rest = self.rest_of_line(place);
        let width = match rest.chars().next() {
            Some('[' | '{') => flow_width(rest),
            _ => rest
                .split(" #")
                .next()
                .unwrap_or_default()
                .trim_end()
                .chars()
                .count(),
        };
        Place { width, ..place }
    }

    /// The source line of `place` from its column on.
    fn rest_of_line(&self, place: Place) -> &'a str {
        let Some(line) = self.lines.get(place.line - 1) else {
            return "";
        };
        match line.char_indices().nth(place.column - 1) {
            Some((offset, _)) => &line[offset..],
            None => "",
        }
    }

    /// Reports every key of `mapping` not in `allowed`, with a likely intended key or, for a key
    /// that belongs in another section, where it goes.
    pub(super) fn check_keys(
        &mut self,
        mapping: &MarkedMappingNode,
        section: &str,
        allowed: &[&str],
        elsewhere: &[(&[&str], &str)],
    ) {
        for key in mapping.keys() {
            let name = key.as_str();
            if allowed.contains(&name) {
                continue;
            }
            let place = self.place_of_scalar(key);
            let help = match elsewhere.iter().find(|(keys, _)| keys.contains(&name)) {
                Some((_, goes)) => format!(
                    "`{name}` goes {goes}; keys here: {}",
                    suggest::one_of(allowed)
                ),
                None => suggest::help(name, allowed, "allowed keys"),
            };
            self.report(
                place,
                format!("unknown key {} in {section}", quote(name)),
                help,
            );
        }
    }

    /// Reports, at `node`, the keys of `required` that `mapping` lacks: `section` (`the seek
    /// paginator`) needs them, as in `example`.
    pub(super) fn check_required(
        &mut self,
        node: &Node,
        mapping: &MarkedMappingNode,
        section: &str,
        required: &[&str],
        example: String,
    ) {
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|key| get(mapping, key).is_none())
            .collect();
        if !missing.is_empty() {
            let place = self.place_of(node);
            self.report(
                place,
                format!("{section} needs {}", suggest::and_list(&missing)),
                format!("for example `{example}`"),
            );
        }
    }

    /// The mapping `node` is, or a problem saying that `what` must be one.
    pub(super) fn mapping<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
    ) -> Option<&'n MarkedMappingNode> {
        match node {
            Node::Mapping(mapping) => Some(mapping),
            _ => {
                self.expected(
                    node,
                    what,
                    "a mapping (`key: value` lines or `{key: value}`)",
                );
                None
            }
        }
    }

    /// Reports that `what` must be `expected`, saying what was found instead.
    pub(super) fn expected(&mut self, node: &Node, what: &str, expected: &str) {
        let place = self.place_of(node);
        self.report(
            place,
            format!("{what} must be {expected}, found {}", describe(node)),
            None,
        );
    }

    /// The text of a scalar, `${VAR}` replaced.
    pub(super) fn text<'n>(&mut self, node: &'n Node, what: &str) -> Option<Text<'n>> {
        let Node::Scalar(scalar) = node else {
            self.expected(node, what, "text");
            return None;
        };
        match env::expand(scalar.as_str(), self.env) {
            Ok(expanded) => Some(Text {
                value: expanded.value,
                scalar,
                is_expanded: expanded.is_expanded,
            }),
            Err(problems) => {
                let place = self.place_of_scalar(scalar);
                for problem in problems {
                    self.report(place, problem.message(), problem.help());
                }
                None
            }
        }
    }

    /// A mapping key's text with `${VAR}` replaced (an endpoint `/repos/${OWNER}/traffic`, a
    /// parameter's name): problems reported at the key.
    pub(super) fn key_text(&mut self, key: &MarkedScalarNode) -> Option<String> {
        match env::expand(key.as_str(), self.env) {
            Ok(expanded) => Some(expanded.value),
            Err(problems) => {
                let place = self.place_of_scalar(key);
                for problem in problems {
                    self.report(place, problem.message(), problem.help());
                }
                None
            }
        }
    }

    /// A text that must not be empty (a name, a path).
    pub(super) fn name(&mut self, node: &Node, what: &str) -> Option<String> {
        self.name_text(node, what).map(|text| text.value)
    }

    /// A text that must not be empty, with what a message may show of it.
    pub(super) fn name_text<'n>(&mut self, node: &'n Node, what: &str) -> Option<Text<'n>> {
        let text = self.text(node, what)?;
        if text.value.trim().is_empty() {
            let place = self.place_of(node);
            self.report(place, format!("{what} is empty"), None);
            return None;
        }
        Some(text)
    }

    /// A credential; a problem never shows its value.
    pub(super) fn secret(&mut self, node: &Node, what: &str) -> Option<Secret> {
        let text = self.text(node, what)?;
        if text.value.is_empty() {
            let place = self.place_of(node);
            let help = text
                .is_expanded
                .then(|| "its environment variable is empty".to_owned());
            self.report(place, format!("{what} is empty"), help);
            return None;
        }
        Some(Secret::new(text.value))
    }

    /// A whole number from 0.
    pub(super) fn unsigned(&mut self, node: &Node, what: &str) -> Option<u64> {
        let text = self.text(node, what)?;
        match text.value.trim().parse::<u64>() {
            Ok(number) => Some(number),
            Err(_) => {
                let place = self.place_of(node);
                self.report(
                    place,
                    format!(
                        "{what} must be a whole number from 0, found {}",
                        text.shown()
                    ),
                    None,
                );
                None
            }
        }
    }

    /// `true` or `false`.
    pub(super) fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        let text = self.text(node, what)?;
        match text.value.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                let place = self.place_of(node);
                self.report(
                    place,
                    format!("{what} must be `true` or `false`, found {}", text.shown()),
                    None,
                );
                None
            }
        }
    }

    /// A duration: text with a unit (`5s`, `1h 30m`) or a mapping of units
    /// (`{hours: 2, minutes: 30}`).
    pub(super) fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        const HELP: &str = "write a number with a unit (500ms, 5s, 15m, 2h, 1d, 1h 30m) or a mapping such as `{hours: 2, minutes: 30}`";
        if let Node::Mapping(mapping) = node {
            return self.duration_of_units(node, mapping, what, HELP);
        }
        let text = self.text(node, what)?;
        let is_bare_number = text.value.trim().parse::<f64>().is_ok();
        let result = if is_bare_number {
            Err("it has no unit".to_owned())
        } else {
            Interval::from(text.value.as_str())
                .duration()
                .map_err(|error| error.reason)
        };
        match result {
            Ok(duration) => Some(duration),
            Err(reason) => {
                let place = self.place_of(node);
                // The parser's reason may quote the text, which must not come from the environment.
                let message = if text.is_expanded {
                    format!("{} is not a duration for {what}", text.shown())
                } else {
                    format!("{} is not a duration for {what}: {reason}", text.shown())
                };
                self.report(place, message, HELP.to_owned());
                None
            }
        }
    }

    fn duration_of_units(
        &mut self,
        node: &Node,
        mapping: &MarkedMappingNode,
        what: &str,
        help: &str,
    ) -> Option<Duration> {
        const UNITS: [(&str, u64); 6] = [
            ("weeks", 7 * 24 * 3_600_000),
            ("days", 24 * 3_600_000),
            ("hours", 3_600_000),
            ("minutes", 60_000),
            ("seconds", 1_000),
            ("milliseconds", 1),
        ];
        let names: Vec<&str> = UNITS.iter().map(|(name, _)| *name).collect();
        self.check_keys(mapping, what, &names, &[]);
        let mut total: Option<u64> = Some(0);
        let mut is_complete = true;
        for (name, milliseconds) in UNITS {
            let Some(value) = get(mapping, name) else {
                continue;
            };
            match self.unsigned(value, &format!("`{name}` in {what}")) {
                Some(count) => {
                    total =
                        total.and_then(|total| total.checked_add(count.checked_mul(milliseconds)?));
                }
                None => is_complete = false,
            }
        }
        if mapping.keys().any(|key| !names.contains(&key.as_str())) {
            return None;
        }
        let place = self.place_of(node);
        match total {
            _ if !is_complete => None,
            None => {
                self.report(place, format!("{what} is too long"), None);
                None
            }
            Some(0) => {
                self.report(
                    place,
                    format!("{what} must be longer than zero"),
                    help.to_owned(),
                );
                None
            }
            Some(total) => Some(Duration::from_millis(total)),
        }
    }

    /// A mapping of scalars as text pairs, in file order (`headers`, `params`).
    pub(super) fn pairs(&mut self, node: &Node, what: &str) -> Vec<(String, String)> {
        let Some(mapping) = self.mapping(node, what) else {
            return Vec::new();
        };
        let mut pairs = Vec::new();
        for (key, value) in mapping.iter() {
            let value_what = format!("{} in {what}", quote(key.as_str()));
            if is_null(value) {
                // A null has no text of its own to point at; its key has.
                let place = self.place_of_scalar(key);
                self.report(
                    place,
                    format!("{value_what} has no value"),
                    "write `\"\"` for an empty value".to_owned(),
                );
                continue;
            }
            if !matches!(value, Node::Scalar(_)) {
                self.expected(
                    value,
                    &value_what,
                    "one value (text, a number or true/false)",
                );
                continue;
            }
            if let (Some(name), Some(text)) = (self.key_text(key), self.text(value, &value_what)) {
                pairs.push((name, text.value));
            }
        }
        pairs
    }
}

/// The value of `key`, unless absent or null (`key:`, `key: ~`, `key: null`).
pub(super) fn get<'n>(mapping: &'n MarkedMappingNode, key: &str) -> Option<&'n Node> {
    mapping.get_node(key).filter(|node| !is_null(node))
}

/// Whether a node is YAML's null: an unquoted empty text, `~` or `null`.
pub(super) fn is_null(node: &Node) -> bool {
    match node {
        // `may_coerce` is false for quoted scalars: `""` is an empty text, not null.
        Node::Scalar(scalar) => {
            scalar.may_coerce() && matches!(scalar.as_str(), "" | "~" | "null" | "Null" | "NULL")
        }
        _ => false,
    }
}

/// What a node is, for "found ..." in a problem.
pub(super) fn describe(node: &Node) -> String {
    match node {
        _ if is_null(node) => "nothing".to_owned(),
        Node::Scalar(scalar) => quote(scalar.as_str()),
        Node::Mapping(_) => "a mapping".to_owned(),
        Node::Sequence(_) => "a list".to_owned(),
    }
}

/// Text in backticks for a message, cut short and on one line.
pub(super) fn quote(text: &str) -> String {
    format!("`{}`", crate::text::excerpt(text, 60))
}

/// The source's lines, split at `\n`, `\r\n` and `\r` as YAML counts them.
pub(super) fn lines(source: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = source;
    while let Some(end) = rest.find(['\n', '\r']) {
        lines.push(&rest[..end]);
        let break_length = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + break_length..];
    }
    lines.push(rest);
    lines
}

/// The width of a quoted scalar at the start of `rest`, its quotes included, or to the end of
/// the line when it goes on to the next.
fn quoted_width(rest: &str, quote: char) -> usize {
    let mut characters = rest.chars().enumerate().skip(1).peekable();
    while let Some((index, character)) = characters.next() {
        if quote == '"' && character == '\\' {
            characters.next();
        } else if character == quote {
            // `''` inside single quotes is one quote, not the end.
            if quote == '\'' && characters.peek().is_some_and(|(_, next)| *next == '\'') {
                characters.next();
            } else {
                return index + 1;
            }
        }
    }
    rest.trim_end().chars().count()
}

/// The width of a flow collection at the start of `rest`, to its closing bracket, or to the end
/// of the line when it goes on to the next.
fn flow_width(rest: &str) -> usize {
    let mut depth = 0usize;
    for (index, character) in rest.chars().enumerate() {
        match character {
            '[' | '{' => depth += 1,
            ']' | '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return index + 1;
                }
            }
            _ => {}
        }
    }
    rest.trim_end().chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_yaml() {
        assert_eq!(lines("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(lines("a\n"), ["a", ""]);
    }

    #[test]
    fn widths_end_at_the_closing_quote_or_bracket() {
        assert_eq!(quoted_width("\"a\\\"b\" # x", '"'), 6);
        assert_eq!(quoted_width("'it''s' x", '\''), 7);
        assert_eq!(quoted_width("'open", '\''), 5);
        assert_eq!(flow_width("{a: [1, 2]} # x"), 11);
    }

    #[test]
    fn quote_cuts_long_text_and_control_characters() {
        assert_eq!(quote("a\tb"), "`a b`");
        assert_eq!(quote(&"x".repeat(100)).chars().count(), 63);
    }
}
