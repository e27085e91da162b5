//! The crate's [`Error`]: one variant per kind of failure, each wrapping the error of the layer
//! it comes from. Every layer's error converts into it, so `?` works in code that mixes them.

use crate::{
    app::AppError,
    backend::BackendError,
    collector::CollectError,
    http::HttpError,
    model::DecodeError,
    paginate::PaginateError,
    records::RecordsError,
    secret::SecretError,
    service::{FileError, ServiceError, SourceError},
    state::IncrementalError,
};

/// Anything that can go wrong in hamstr.
///
/// The errors of the layers convert into it, each into the variant of its kind (a
/// [`SourceError::Http`] becomes [`Error::Http`], not a wrapper around it), so code that mixes
/// the stream interface, the app and a project file matches one set of variants.
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
    /// A file could not be read, or a row of it.
    #[error(transparent)]
    File(#[from] FileError),
    /// A credential could not be had.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The app's services and collectors do not fit together.
    #[error(transparent)]
    App(AppError),
    /// A collector's own code stopped its run.
    #[error(transparent)]
    Collect(CollectError),
    /// A record an incremental strategy cannot place.
    #[error(transparent)]
    Incremental(#[from] IncrementalError),
    /// The backend could not store or load.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A project file cannot be used.
    #[cfg(feature = "yaml")]
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The admin server could not start.
    #[cfg(feature = "admin")]
    #[error(transparent)]
    Admin(#[from] crate::admin::AdminError),
}

/// `Result` with hamstr's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<SourceError> for Error {
    fn from(error: SourceError) -> Self {
        match error {
            SourceError::Service(error) => Self::Service(error),
            SourceError::Http(error) => Self::Http(error),
            SourceError::Paginate(error) => Self::Paginate(error),
            SourceError::Records(error) => Self::Records(error),
            SourceError::Decode(error) => Self::Decode(error),
            SourceError::File(error) => Self::File(error),
        }
    }
}

impl From<CollectError> for Error {
    fn from(error: CollectError) -> Self {
        match error {
            CollectError::Service(error) => Self::Service(error),
            CollectError::Http(error) => Self::Http(error),
            CollectError::Paginate(error) => Self::Paginate(error),
            CollectError::Records(error) => Self::Records(error),
            CollectError::Decode(error) => Self::Decode(error),
            CollectError::File(error) => Self::File(error),
            CollectError::Incremental(error) => Self::Incremental(error),
            CollectError::Backend(error) => Self::Backend(error),
            error => Self::Collect(error),
        }
    }
}

impl From<AppError> for Error {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Service(error) => Self::Service(error),
            AppError::Backend(error) => Self::Backend(error),
            error => Self::App(error),
        }
    }
}
