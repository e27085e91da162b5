//! The Source layer's errors: [`ServiceError`] for a service configured wrong, and
//! [`SourceError`] for anything that stops a listing, a lookup or a search.

use std::sync::Arc;

use crate::{
    auth::AuthError,
    http::{FetchError, HttpError},
    model::DecodeError,
    paginate::PaginateError,
    records::RecordsError,
    url::RedactedUrl,
};

/// Why a listing, a lookup or a search over a service stopped, or a record of it did not fit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The service is configured wrong.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// A request failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The walk over pages stopped early.
    #[error(transparent)]
    Paginate(#[from] PaginateError),
    /// A page's records could not be taken out of its body.
    #[error(transparent)]
    Records(#[from] RecordsError),
    /// A record does not fit the type it is decoded into (the stream goes on after it).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A file could not be read, or one of its rows (the stream goes on after a row).
    #[error(transparent)]
    File(#[from] FileError),
}

/// Why a file, or a row of it, could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file could not be opened or read.
    #[error("cannot read {location}: {cause}")]
    Read {
        /// The file's path.
        location: String,
        /// Why, in the message.
        cause: Arc<std::io::Error>,
    },
    /// A row that could not be read; it was skipped and the rest was read.
    #[error(transparent)]
    Malformed(#[from] MalformedLine),
}

impl FileError {
    pub(crate) fn read(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Read {
            location: path.display().to_string(),
            cause: Arc::new(source),
        }
    }
}

/// A row of a file that could not be read (a CSV row with another number of fields than its
/// header, text that is not UTF-8, a line that is not JSON): it was skipped.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
#[error("{location}: line {line} was skipped: {reason}")]
pub struct MalformedLine {
    /// The file, as a `file://` URL.
    pub location: RedactedUrl,
    /// The row's line in the file, from 1.
    pub line: u64,
    /// What is wrong with it.
    pub reason: String,
}

impl From<FetchError> for SourceError {
    fn from(error: FetchError) -> Self {
        match error {
            FetchError::Http(error) => Self::Http(error),
            FetchError::Records(error) => Self::Records(error),
        }
    }
}

impl SourceError {
    /// The HTTP status, when the error is an answer the API gave.
    pub fn status(&self) -> Option<reqwest::StatusCode> {
        match self {
            Self::Http(error) => error.status(),
            _ => None,
        }
    }
}

/// A service that is configured wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The base URL does not parse, or is not http(s).
    #[error("{service}: the base URL `{base}` is invalid: {reason}")]
    InvalidBaseUrl {
        /// The service's name.
        service: String,
        /// The base URL as given.
        base: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An endpoint that would leave the base URL (another host, `../`).
    #[error("{service}: the endpoint `{endpoint}` is not under the service's base URL")]
    EndpointOutsideBase {
        /// The service's name.
        service: String,
        /// The endpoint as given.
        endpoint: String,
    },
    /// A default header that is not a valid header (its value is not shown).
    #[error("{service}: the header `{name}` has an invalid name or value")]
    InvalidHeader {
        /// The service's name.
        service: String,
        /// The header's name.
        name: String,
    },
    /// The auth settings are invalid.
    #[error("{service}: invalid auth settings: {cause}")]
    Auth {
        /// The service's name.
        service: String,
        /// Why, in the message.
        cause: Arc<AuthError>,
    },
    /// Credentials would go over plain `http://` to another machine.
    #[error(
        "{service}: `{base}` is plain http, so its credentials would travel unencrypted; use https, or opt in with `allow_insecure_http` (loopback hosts are always allowed)"
    )]
    InsecureCredentials {
        /// The service's name.
        service: String,
        /// The base URL as given.
        base: String,
    },
    /// A setting out of its range.
    #[error("{service}: `{setting}` is invalid: {reason}")]
    InvalidSetting {
        /// The service's name.
        service: String,
        /// The setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A checkpoint that is not a URL.
    #[error("{service}: the checkpoint `{checkpoint}` is not a URL")]
    InvalidCheckpoint {
        /// The service's name.
        service: String,
        /// The checkpoint's text.
        checkpoint: String,
    },
    /// The HTTP client could not be built.
    #[error("{service}: could not set up the HTTP client: {reason}")]
    Client {
        /// The service's name.
        service: String,
        /// Why.
        reason: String,
    },
}
