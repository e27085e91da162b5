//! [`Secret`]: a credential that never prints its value.

use std::fmt;

/// A credential (token, API key, password). Prints as `***`; read it with [`Secret::expose`].
///
/// `Secret` has no `Serialize` on purpose: a token cannot end up in a stored record, a state row
/// or a log line by accident.
///
/// # Examples
/// ```
/// use hamstr::Secret;
/// let token = Secret::new("s3cr3t");
/// assert_eq!(format!("{token} {token:?}"), "*** ***");
/// assert_eq!(token.expose(), "s3cr3t");
/// ```
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Reads a credential from the environment variable `name`.
    ///
    /// # Errors
    /// [`SecretError::MissingEnv`] when the variable is unset or not valid UTF-8; the error names
    /// the variable, never a value.
    pub fn from_env(name: &str) -> Result<Self, SecretError> {
        match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(Self(value)),
            _ => Err(SecretError::MissingEnv {
                name: name.to_owned(),
            }),
        }
    }

    /// The real value. Call this only where the credential goes onto a request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("***")
    }
}

/// Why a credential could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The environment variable that should hold the credential is unset or empty.
    #[error("environment variable `{name}` is not set (it should hold a credential)")]
    MissingEnv {
        /// The variable's name.
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(secret.to_string(), "***");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(***)");
    }

    #[test]
    fn missing_env_names_the_variable() {
        let error = Secret::from_env("HAMSTR_TEST_SURELY_UNSET_VARIABLE").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("HAMSTR_TEST_SURELY_UNSET_VARIABLE")
        );
    }
}
