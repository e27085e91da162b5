//! Shows a [`ConfigError`] as rustc shows its errors, with `annotate-snippets`:
//!
//! ```text
//! error: unknown key `bse_url` in service `mollie`
//!  --> hamstr.yml:4:5
//!   |
//! 4 |     bse_url: https://api.mollie.com/v2/
//!   |     ^^^^^^^
//!   |
//!   = help: did you mean `base_url`? allowed keys: ...
//! ```

use annotate_snippets::{AnnotationKind, Level, Renderer};

use super::{ConfigError, Problem};

/// What a diagnostic shows of the file: its source line, and how much of it to underline.
#[derive(Debug, Clone)]
pub(super) struct Snippet {
    line: String,
    width: usize,
}

impl Snippet {
    pub(super) fn new(lines: &[&str], problem: &Problem) -> Self {
        Self {
            line: lines
                .get(problem.line.saturating_sub(1))
                .map(|line| (*line).to_owned())
                .unwrap_or_default(),
            width: problem.width,
        }
    }
}

pub(super) fn render(error: &ConfigError) -> String {
    let renderer = Renderer::plain();
    let mut rendered: Vec<String> = Vec::with_capacity(error.diagnostics.len());
    for (diagnostic, snippet) in error.diagnostics.iter().zip(&error.snippets) {
        let span = byte_span(&snippet.line, diagnostic.column, snippet.width);
        let source = annotate_snippets::Snippet::source(snippet.line.as_str())
            .line_start(diagnostic.line)
            .path(error.file_name.as_str())
            .annotation(AnnotationKind::Primary.span(span));
        let mut group = Level::ERROR
            .primary_title(diagnostic.message.as_str())
            .element(source);
        if let Some(help) = &diagnostic.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        rendered.push(renderer.render(&[group]));
    }
    rendered.join("\n\n")
}

/// The bytes of `line` from the character `column` (from 1), `width` characters long, clamped
/// to the line.
fn byte_span(line: &str, column: usize, width: usize) -> std::ops::Range<usize> {
    let offset = |characters: usize| {
        line.char_indices()
            .nth(characters)
            .map_or(line.len(), |(offset, _)| offset)
    };
    let start = offset(column.saturating_sub(1));
    let end = offset(column.saturating_sub(1) + width);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_count_characters_and_stay_on_the_line() {
        assert_eq!(byte_span("ab: c", 1, 2), 0..2);
        assert_eq!(byte_span("é: x", 4, 1), 4..5);
        assert_eq!(byte_span("ab", 2, 10), 1..2);
        assert_eq!(byte_span("ab", 9, 1), 2..2);
        assert_eq!(byte_span("", 1, 1), 0..0);
    }
}
