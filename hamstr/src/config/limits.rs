//! Limits checked on the raw text before it is parsed: its size, its nesting, and one document.
//!
//! The YAML parser descends recursively, one call per nesting level, and the node tree it builds
//! is dropped recursively too: a file of a million `[` (or of `- ` repeated, or of ever deeper
//! indentation) would overflow the stack. So the text is first run through the YAML scanner,
//! which reads flow brackets and block indentation without recursion, and a file nested deeper
//! than [`MAX_DEPTH`] is refused at the line where it gets too deep. A real project file needs
//! about 8 levels.

use yaml_rust2::scanner::{Scanner, Token, TokenType};

use super::Problem;

/// The largest file read: far more than any project needs, and quick to check.
pub(super) const MAX_BYTES: usize = 1 << 20;

/// The deepest nesting allowed.
pub(super) const MAX_DEPTH: usize = 32;

pub(super) const TOO_LARGE_HELP: &str =
    "a project file holds services, collectors and models: a few kilobytes";

pub(super) fn too_large_message() -> String {
    format!("the file is larger than the limit of 1 MiB ({MAX_BYTES} bytes)")
}

/// A collection the scanner has opened and not yet closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    BlockMapping,
    BlockSequence,
    /// `key:` followed by `- item` lines at the key's own indentation: the scanner gives no
    /// start token for it, but the parser nests it all the same.
    IndentlessSequence,
    Flow,
}

/// The problems that keep the text from being parsed: too large, too deep, or more than one
/// document. Empty when it may be parsed. A scan error is left for the parser to report.
pub(super) fn check(source: &str) -> Vec<Problem> {
    if source.len() > MAX_BYTES {
        return vec![problem(
            1,
            1,
            too_large_message(),
            TOO_LARGE_HELP.to_owned(),
        )];
    }
    let mut open: Vec<Open> = Vec::new();
    let mut has_content = false;
    let mut is_document_ended = false;
    let mut scanner = Scanner::new(source.chars());
    for Token(marker, token) in &mut scanner {
        let (line, column) = (marker.line(), marker.col() + 1);
        match token {
            TokenType::StreamStart(_) | TokenType::StreamEnd => continue,
            TokenType::VersionDirective(..) | TokenType::TagDirective(..) => continue,
            TokenType::DocumentStart => {
                if has_content {
                    return vec![second_document(line)];
                }
                continue;
            }
            TokenType::DocumentEnd => {
                is_document_ended = has_content;
                continue;
            }
            _ if is_document_ended => return vec![second_document(line)],
            TokenType::BlockMappingStart => open.push(Open::BlockMapping),
            TokenType::BlockSequenceStart => open.push(Open::BlockSequence),
            TokenType::FlowSequenceStart | TokenType::FlowMappingStart => open.push(Open::Flow),
            TokenType::BlockEntry if open.last() == Some(&Open::BlockMapping) => {
                open.push(Open::IndentlessSequence);
            }
            TokenType::Key if open.last() == Some(&Open::IndentlessSequence) => {
                open.pop();
            }
            TokenType::BlockEnd => {
                if open.last() == Some(&Open::IndentlessSequence) {
                    open.pop();
                }
                open.pop();
            }
            TokenType::FlowSequenceEnd | TokenType::FlowMappingEnd => {
                open.pop();
            }
            _ => {}
        }
        has_content = true;
        if open.len() > MAX_DEPTH {
            // The scanner marks a block collection at the `:` or `-` that opens it; point at
            // the line's first character instead, where the too-deep indentation shows.
            let column = match token {
                TokenType::BlockMappingStart | TokenType::BlockSequenceStart => source
                    .lines()
                    .nth(line - 1)
                    .and_then(|text| text.chars().position(|character| character != ' '))
                    .map_or(column, |position| position + 1),
                _ => column,
            };
            return vec![too_deep(line, column)];
        }
    }
    // The scanner holds back the tokens of a flow collection until it knows whether they start
    // a key, and gives up at 256 open brackets: the same fault, found later.
    match scanner.get_error() {
        Some(error) if error.info() == "recursion limit exceeded" => {
            vec![too_deep(error.marker().line(), error.marker().col() + 1)]
        }
        // Any other scan error is the parser's to report, with the rest of its kind.
        _ => Vec::new(),
    }
}

fn too_deep(line: usize, column: usize) -> Problem {
    problem(
        line,
        column,
        format!("the file is nested deeper than {MAX_DEPTH} levels"),
        "a project needs about 8 levels (services, collectors, model, field); check the indentation and brackets here".to_owned(),
    )
}

fn second_document(line: usize) -> Problem {
    problem(
        line,
        1,
        "a second YAML document starts here; a project file holds one".to_owned(),
        "remove the `---` or `...` line, or move the rest into the first document".to_owned(),
    )
}

fn problem(line: usize, column: usize, message: String, help: String) -> Problem {
    Problem {
        line,
        column,
        width: 1,
        message,
        help: Some(help),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_problem(source: &str) -> Option<(usize, usize)> {
        check(source)
            .first()
            .map(|problem| (problem.line, problem.column))
    }

    #[test]
    fn ordinary_nesting_passes() {
        let source = "a:\n  b:\n  - c: [1, {d: [2]}]\n    e:\n    - f\n";
        assert_eq!(depth_problem(source), None);
    }

    #[test]
    fn deep_brackets_indentation_and_dashes_are_refused_where_they_get_too_deep() {
        assert_eq!(depth_problem(&"[".repeat(100)), Some((1, 33)));
        assert!(depth_problem(&"[".repeat(100_000)).is_some());
        assert!(depth_problem(&format!("a: {}", "{b: ".repeat(40))).is_some());
        assert!(depth_problem(&"- ".repeat(100_000)).is_some());
        let indented: String = (0..40)
            .map(|level| format!("{}k{level}:\n", " ".repeat(level)))
            .collect();
        assert_eq!(depth_problem(&indented).map(|(line, _)| line), Some(33));
        // Sequences at their key's indentation nest too.
        let indentless: String = (0..40)
            .map(|level| format!("{}- k{level}:\n", "  ".repeat(level)))
            .collect();
        assert!(depth_problem(&format!("root:\n{indentless}")).is_some());
    }

    #[test]
    fn brackets_in_quotes_and_comments_do_not_count() {
        let source = format!("a: \"{0}\"\nb: '{0}' # {0}\n", "[".repeat(100));
        assert_eq!(depth_problem(&source), None);
    }

    #[test]
    fn a_second_document_is_refused() {
        assert_eq!(depth_problem("a: 1\n---\nb: 2\n"), Some((2, 1)));
        assert_eq!(depth_problem("a: 1\n...\nb: 2\n"), Some((3, 1)));
        assert_eq!(depth_problem("---\na: 1\n...\n"), None);
    }

    #[test]
    fn a_large_file_is_refused_before_scanning() {
        let source = "#".repeat(MAX_BYTES + 1);
        assert_eq!(depth_problem(&source), Some((1, 1)));
    }
}
