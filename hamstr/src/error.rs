//! The crate's [`Error`]: one variant per layer, each wrapping that layer's own error.

use std::fmt;

use crate::{
    app::AppError, backend::BackendError, collector::CollectError, http::HttpError,
    paginate::PaginateError, records::DecodeError, records::RecordsError, secret::SecretError,
    service::ServiceError,
};

/// Anything that can go wrong in hamstr.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A service is configured wrong.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// A request failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A walk over pages stopped early.
    #[error(transparent)]
    Paginate(#[from] PaginateError),
    /// A page's records could not be taken out of its body.
    #[error(transparent)]
    Records(#[from] RecordsError),
    /// A record does not fit its type.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A credential could not be had.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The app's services and collectors do not fit together.
    #[error(transparent)]
    App(#[from] AppError),
    /// A collector's own code stopped its run.
    #[error(transparent)]
    Collect(#[from] CollectError),
    /// A record an incremental strategy cannot place.
    #[error(transparent)]
    Incremental(#[from] crate::state::IncrementalError),
    /// The backend could not store or load.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A project file cannot be used.
    #[cfg(feature = "yaml")]
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// `Result` with hamstr's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

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
