//! [`Interval`]: how often a collector runs, from a `Duration` or a humane string (`"5s"`,
//! `"15m"`, `"1d"`, `"1h 30m"`).

use std::{fmt, time::Duration};

/// How often a collector runs. Made from a [`Duration`] or parsed from text with a unit:
/// `"500ms"`, `"5s"`, `"15m"`, `"2h"`, `"1d"`, `"1h 30m"`.
///
/// Parsing is deferred: a builder takes `"5x"` without a fuss, and
/// [`Hamstr::check`](crate::Hamstr::check) reports it, naming the collector, before any request.
///
/// # Examples
/// ```
/// use hamstr::collector::Interval;
/// use std::time::Duration;
///
/// assert_eq!(Interval::from("1h 30m").duration().unwrap(), Duration::from_secs(90 * 60));
/// assert_eq!(Interval::from(Duration::from_secs(5)).duration().unwrap(), Duration::from_secs(5));
/// assert!(Interval::from("5").duration().unwrap_err().to_string().contains("unit"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Interval(Result<Duration, IntervalError>);

impl Interval {
    /// The duration, or why the text did not give one (no unit, zero, not a duration).
    ///
    /// # Errors
    /// [`IntervalError`] for text that is not a positive duration with a unit.
    pub fn duration(&self) -> Result<Duration, IntervalError> {
        self.0.clone()
    }
}

impl From<Duration> for Interval {
    fn from(duration: Duration) -> Self {
        Self(positive(duration, || format!("{duration:?}")))
    }
}

impl From<&str> for Interval {
    fn from(text: &str) -> Self {
        Self(parse(text))
    }
}

impl From<String> for Interval {
    fn from(text: String) -> Self {
        Self(parse(&text))
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Ok(duration) => write!(formatter, "{}", humantime::format_duration(*duration)),
            Err(error) => write!(formatter, "{error}"),
        }
    }
}

/// Text that is not a usable interval.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not an interval: {reason} (write a number with a unit: 500ms, 5s, 15m, 2h, 1d, 1h 30m)"
)]
pub struct IntervalError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Parses `"5s"`, `"1h 30m"`, `"1d"`: the units of `humantime`, which the derive also uses, so
/// that a string means the same in Rust, in `#[hamstr(interval = "...")]` and in YAML.
pub(crate) fn parse(text: &str) -> Result<Duration, IntervalError> {
    let error = |reason: String| IntervalError {
        text: text.to_owned(),
        reason,
    };
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.chars().all(|character| character.is_ascii_digit()) {
        return Err(error("it has no unit".to_owned()));
    }
    let duration = humantime::parse_duration(trimmed).map_err(|cause| error(cause.to_string()))?;
    positive(duration, || text.to_owned())
}

fn positive(duration: Duration, text: impl FnOnce() -> String) -> Result<Duration, IntervalError> {
    if duration.is_zero() {
        return Err(IntervalError {
            text: text(),
            reason: "it must be longer than zero".to_owned(),
        });
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humane_strings_become_durations() {
        let seconds = |text: &str| parse(text).map(|duration| duration.as_secs_f64());
        assert_eq!(seconds("5s"), Ok(5.0));
        assert_eq!(seconds("15m"), Ok(900.0));
        assert_eq!(seconds("1d"), Ok(86_400.0));
        assert_eq!(seconds("1h 30m"), Ok(5_400.0));
        assert_eq!(seconds("1h30m"), Ok(5_400.0));
        assert_eq!(seconds("500ms"), Ok(0.5));
        assert!(parse("5").unwrap_err().reason.contains("no unit"));
        assert!(parse("0s").unwrap_err().reason.contains("longer than zero"));
        assert!(parse("5 parsecs").is_err());
        assert!(parse("").is_err());
    }
}
