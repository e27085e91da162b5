//! Text for messages: an error with its causes on one line, and excerpts of long values.

use std::fmt;

/// An error and its causes on one line (`a: b: c`), for logs and reports.
pub(crate) struct ErrorChain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(formatter, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// `error` and its causes on one line, for a message that carries its cause in its own text
/// (and so returns none from `source()`, which would print it twice).
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    ErrorChain(error).to_string()
}

/// The first characters of a body, on one line, for an error about a body that is not JSON.
pub(crate) fn body_start(body: &str) -> String {
    excerpt(body.trim_start(), 60)
}

/// At most `limit` characters of `text`, on one line (control characters become spaces), with
/// `…` when it was cut: how messages show values that may be long or hold line breaks.
pub(crate) fn excerpt(text: &str, limit: usize) -> String {
    let mut shown: String = text
        .chars()
        .take(limit)
        .map(|character| {
            if character.is_control() {
                ' '
            } else {
                character
            }
        })
        .collect();
    if text.chars().count() > limit {
        shown.push('…');
    }
    shown
}
