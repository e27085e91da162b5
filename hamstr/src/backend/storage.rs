//! Storage by URL: [`Storage`] (`sqlite://hamstr.db`, `jsonl://out`, `stdout`, `memory`) and the
//! registry of [`Scheme`]s it is read with. Each backend adds its own schemes; a backend of your
//! own adds its with [`register_scheme`], and is then usable from YAML and `--storage` too.

use std::{
    fmt,
    path::Path,
    sync::{Arc, PoisonError, RwLock},
};

use super::{Backend, BackendError};

/// A storage URL scheme: how it is written, what it keeps, and how to open what it names.
///
/// # Examples
/// A backend of your own, usable as `audit://DIR` wherever a storage is read:
/// ```
/// use std::sync::Arc;
/// use hamstr::backend::{MemoryBackend, Scheme, Storage, register_scheme};
///
/// register_scheme(Scheme {
///     name: "audit",
///     location: Some("DIR"),
///     is_persistent: true,
///     is_local_path: true,
///     writes_stdout: false,
///     open: |_storage| Ok(Arc::new(MemoryBackend::new())),
/// });
/// let storage = Storage::parse("audit://trail").unwrap();
/// assert_eq!(storage.location(), "trail");
/// assert!(storage.open().is_ok());
/// ```
#[derive(Clone, Copy)]
pub struct Scheme {
    /// The scheme's word: `sqlite` in `sqlite://PATH`, or the whole storage (`stdout`).
    pub name: &'static str,
    /// What follows `name://`, as messages show it (`PATH`, `DIR`); `None` for a storage that is
    /// the word alone.
    pub location: Option<&'static str>,
    /// Whether what is stored outlives the process (`hamstr status` and `reset` need it).
    pub is_persistent: bool,
    /// Whether the location is a path on this machine, which must exist before state is read.
    pub is_local_path: bool,
    /// Whether records go to standard output, so nothing else may.
    pub writes_stdout: bool,
    /// Opens (creating where needed) the store `storage` names.
    pub open: fn(&Storage) -> Result<Arc<dyn Backend>, BackendError>,
}

impl Scheme {
    /// How the scheme is written: `sqlite://PATH`, `stdout`.
    pub fn form(&self) -> String {
        match self.location {
            Some(location) => format!("{}://{location}", self.name),
            None => self.name.to_owned(),
        }
    }
}

impl fmt::Debug for Scheme {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.form())
    }
}

/// Schemes added at run time, after the built-in ones.
static REGISTERED: RwLock<Vec<Scheme>> = RwLock::new(Vec::new());

/// "expected sqlite://PATH, …, stdout or memory": every form a storage can be written in, for
/// an error about one that is none.
pub(crate) fn expected_forms() -> String {
    let forms: Vec<String> = schemes().iter().map(Scheme::form).collect();
    match forms.split_last() {
        Some((last, [])) => format!("expected {last}"),
        Some((last, rest)) => format!("expected {} or {last}", rest.join(", ")),
        None => "no storage is available".to_owned(),
    }
}

/// Adds `scheme` to the registry; a scheme of the same name registered before is replaced.
pub fn register_scheme(scheme: Scheme) {
    let mut registered = REGISTERED.write().unwrap_or_else(PoisonError::into_inner);
    registered.retain(|known| known.name != scheme.name);
    registered.push(scheme);
}

/// Every scheme a storage can be written with: the built-in backends', then registered ones.
pub fn schemes() -> Vec<Scheme> {
    let mut schemes = Vec::new();
    #[cfg(feature = "sqlite")]
    schemes.push(super::sqlite::SCHEME);
    #[cfg(feature = "postgres")]
    schemes.extend(super::postgres::SCHEMES);
    schemes.extend(super::jsonl::SCHEMES);
    schemes.push(super::memory::SCHEME);
    let registered = REGISTERED.read().unwrap_or_else(PoisonError::into_inner);
    for scheme in registered.iter() {
        schemes.retain(|known| known.name != scheme.name);
        schemes.push(*scheme);
    }
    schemes
}

/// Where records and collector state are kept, as a URL: `sqlite://PATH`, `jsonl://DIR`,
/// `stdout`, `memory`, or a registered [`Scheme`]'s form.
///
/// # Examples
/// ```
/// use hamstr::backend::Storage;
/// let storage = Storage::parse("sqlite://data/shop.db").unwrap();
/// assert_eq!((storage.scheme(), storage.location()), ("sqlite", "data/shop.db"));
/// assert_eq!(Storage::parse("memory").unwrap(), Storage::memory());
/// let error = Storage::parse("ftp://db").unwrap_err().to_string();
/// assert!(error.contains("sqlite://PATH"), "{error}");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Storage {
    scheme: String,
    location: String,
}

impl Storage {
    /// What `storage:` means when it is not given.
    pub const DEFAULT: &'static str = "sqlite://hamstr.db";

    /// Reads a storage as written in `hamstr.yml`, on the command line or in code.
    ///
    /// # Errors
    /// A message that names the forms there are, for a scheme nobody registered or a location
    /// left out.
    pub fn parse(text: &str) -> Result<Storage, StorageError> {
        let text = text.trim();
        let schemes = schemes();
        let allowed = expected_forms;
        for scheme in &schemes {
            let location = match (scheme.location, text.strip_prefix(scheme.name)) {
                (None, Some("")) => "",
                (Some(what), Some(rest)) if rest.starts_with("://") => {
                    let location = &rest["://".len()..];
                    if location.is_empty() {
                        return Err(StorageError(format!(
                            "`{}` names no {}; {}",
                            redact(text),
                            what.to_lowercase(),
                            allowed()
                        )));
                    }
                    location
                }
                _ => continue,
            };
            // A server's URL is checked now, so that a typo is reported where it was written.
            #[cfg(feature = "postgres")]
            if super::postgres::SCHEMES
                .iter()
                .any(|known| known.name == scheme.name)
            {
                super::postgres::check_location(location)?;
            }
            return Ok(Storage {
                scheme: scheme.name.to_owned(),
                location: location.to_owned(),
            });
        }
        Err(StorageError(format!(
            "`{}` is not a storage; {}",
            redact(text),
            allowed()
        )))
    }

    /// Memory only, gone when the process ends.
    pub fn memory() -> Self {
        Self {
            scheme: "memory".to_owned(),
            location: String::new(),
        }
    }

    /// The scheme's word (`sqlite`, `stdout`).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// What follows `scheme://`: a path, a folder, a server's URL; empty for a bare word.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The registered scheme this storage is written with.
    ///
    /// # Errors
    /// When no scheme of its name is registered (a backend left out of this build).
    pub fn scheme_entry(&self) -> Result<Scheme, BackendError> {
        schemes()
            .into_iter()
            .find(|scheme| scheme.name == self.scheme)
            .ok_or_else(|| {
                BackendError::store(
                    "storage",
                    format!("opening {self}"),
                    std::io::Error::other(format!(
                        "no backend for `{}://` in this build (is its feature on?)",
                        self.scheme
                    )),
                )
            })
    }

    /// The local path it names, for schemes whose location is one.
    pub fn local_path(&self) -> Option<&Path> {
        let scheme = self.scheme_entry().ok()?;
        scheme.is_local_path.then(|| Path::new(&self.location))
    }

    /// Opens the backend it names, creating its file or folder where needed.
    ///
    /// # Errors
    /// When the store cannot be opened or created, or its scheme is not in this build.
    pub fn open(&self) -> Result<Arc<dyn Backend>, BackendError> {
        (self.scheme_entry()?.open)(self)
    }
}

impl Default for Storage {
    /// `sqlite://hamstr.db`.
    fn default() -> Self {
        Self {
            scheme: "sqlite".to_owned(),
            location: "hamstr.db".to_owned(),
        }
    }
}

impl fmt::Display for Storage {
    /// The storage as written, any password in it replaced by `***`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            formatter.write_str(&self.scheme)
        } else {
            let text = format!("{}://{}", self.scheme, self.location);
            formatter.write_str(&redact(&text))
        }
    }
}

impl fmt::Debug for Storage {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Storage({self})")
    }
}

/// `text` with the password of a `scheme://user:password@host` replaced by `***`: storage URLs
/// of database servers carry one. Text that is not a storage at all (a mistyped scheme) is
/// redacted too: whatever sits between `:` and `@` in its first segment.
fn redact(text: &str) -> String {
    let start = text.find("//").map_or(0, |slashes| slashes + 2);
    let rest = &text[start..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return text.to_owned();
    };
    match rest[..at].find(':') {
        Some(colon) => format!("{}{}:***{}", &text[..start], &rest[..colon], &rest[at..]),
        None => text.to_owned(),
    }
}

/// Text that is not a storage; the message names the forms that are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StorageError(String);

impl StorageError {
    #[cfg(feature = "postgres")]
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_form_parses_and_others_name_the_forms() {
        for (text, scheme, location) in [
            ("jsonl://out", "jsonl", "out"),
            ("stdout", "stdout", ""),
            (" memory ", "memory", ""),
        ] {
            let storage = Storage::parse(text).unwrap();
            assert_eq!((storage.scheme(), storage.location()), (scheme, location));
        }
        let error = Storage::parse("jsonl://").unwrap_err().to_string();
        assert!(error.contains("names no dir"), "{error}");
        let error = Storage::parse("stdoutx").unwrap_err().to_string();
        assert!(error.contains("is not a storage; expected"), "{error}");
        assert!(error.contains("stdout"), "{error}");
    }

    #[test]
    fn passwords_in_storage_urls_are_never_shown() {
        assert_eq!(
            redact("postgres://app:s3cret@db.local:5432/shop?sslmode=require"),
            "postgres://app:***@db.local:5432/shop?sslmode=require"
        );
        assert_eq!(redact("sqlite://a@b.db"), "sqlite://a@b.db");
        for mistyped in [
            "pg://me:s3cret@host/db",
            "postgres?//me:s3cret@host/db",
            "me:s3cret@host",
        ] {
            let error = Storage::parse(mistyped).unwrap_err().to_string();
            assert!(!error.contains("s3cret"), "{error}");
        }
    }
}
