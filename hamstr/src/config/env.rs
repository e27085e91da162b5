//! `${VAR}` and `${VAR:-default}` in scalar values, read from the environment.
//!
//! `$${` stands for a literal `${`. Problems name the variable, never a value: a value from the
//! environment may be a credential.

/// A scalar's text with its variables replaced.
#[derive(Debug)]
pub(super) struct Expanded {
    pub(super) value: String,
    /// Whether any variable was replaced, so the value must not be shown.
    pub(super) is_expanded: bool,
}

/// Why a scalar's variables could not be replaced.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum EnvProblem {
    /// `${NAME}` with `NAME` unset and no default.
    Missing(String),
    /// `${` without its `}`.
    Unclosed,
    /// `${...}` that holds no variable name.
    BadName,
}

impl EnvProblem {
    pub(super) fn message(&self) -> String {
        match self {
            Self::Missing(name) => format!("environment variable `{name}` is not set"),
            Self::Unclosed => "`${` is not closed: a variable is written `${NAME}`".to_owned(),
            Self::BadName => {
                "`${...}` must hold a variable name (letters, digits and `_`), optionally followed by `:-default`".to_owned()
            }
        }
    }

    pub(super) fn help(&self) -> String {
        match self {
            Self::Missing(name) => format!("set it, or give a default: `${{{name}:-default}}`"),
            Self::Unclosed | Self::BadName => "write `$${` for a literal `${`".to_owned(),
        }
    }
}

/// Replaces every `${VAR}` and `${VAR:-default}` in `raw`; `:-` takes the default when the
/// variable is unset or empty, as in a shell.
///
/// # Errors
/// Every problem in `raw`, in order.
pub(super) fn expand(
    raw: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Expanded, Vec<EnvProblem>> {
    if !raw.contains("${") {
        return Ok(Expanded {
            value: raw.to_owned(),
            is_expanded: false,
        });
    }
    let mut value = String::with_capacity(raw.len());
    let mut problems = Vec::new();
    let mut is_expanded = false;
    let mut rest = raw;
    while let Some(start) = rest.find('$') {
        value.push_str(&rest[..start]);
        let after = &rest[start..];
        if let Some(tail) = after.strip_prefix("$${") {
            value.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let Some(end) = tail.find('}') else {
                problems.push(EnvProblem::Unclosed);
                return Err(problems);
            };
            let (name, default) = match tail[..end].split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (&tail[..end], None),
            };
            if is_variable_name(name) {
                is_expanded = true;
                match (env(name), default) {
                    (Some(found), Some(default)) if found.is_empty() => value.push_str(default),
                    (Some(found), _) => value.push_str(&found),
                    (None, Some(default)) => value.push_str(default),
                    (None, None) => problems.push(EnvProblem::Missing(name.to_owned())),
                }
            } else {
                problems.push(EnvProblem::BadName);
            }
            rest = &tail[end + 1..];
        } else {
            value.push('$');
            rest = &after[1..];
        }
    }
    value.push_str(rest);
    if problems.is_empty() {
        Ok(Expanded { value, is_expanded })
    } else {
        Err(problems)
    }
}

fn is_variable_name(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("abc".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn expanded(raw: &str) -> Result<String, Vec<EnvProblem>> {
        expand(raw, &environment).map(|expanded| expanded.value)
    }

    #[test]
    fn variables_and_defaults_are_replaced() {
        assert_eq!(expanded("plain $5 text").unwrap(), "plain $5 text");
        assert_eq!(expanded("${TOKEN}").unwrap(), "abc");
        assert_eq!(expanded("Bearer ${TOKEN}!").unwrap(), "Bearer abc!");
        assert_eq!(expanded("${UNSET:-x:-y}").unwrap(), "x:-y");
        assert_eq!(expanded("${EMPTY:-fallback}").unwrap(), "fallback");
        assert_eq!(expanded("${EMPTY}").unwrap(), "");
        assert_eq!(expanded("${TOKEN:-fallback}").unwrap(), "abc");
        assert_eq!(expanded("$${TOKEN}").unwrap(), "${TOKEN}");
        assert!(!expand("$${TOKEN}", &environment).unwrap().is_expanded);
        assert!(expand("${TOKEN}", &environment).unwrap().is_expanded);
    }

    #[test]
    fn every_problem_is_reported() {
        assert_eq!(
            expanded("${A} ${TOKEN} ${B:-b} ${C}").unwrap_err(),
            [
                EnvProblem::Missing("A".to_owned()),
                EnvProblem::Missing("C".to_owned())
            ]
        );
        assert_eq!(expanded("${TOKEN").unwrap_err(), [EnvProblem::Unclosed]);
        assert_eq!(expanded("${1A}").unwrap_err(), [EnvProblem::BadName]);
        assert_eq!(expanded("${}").unwrap_err(), [EnvProblem::BadName]);
    }
}
