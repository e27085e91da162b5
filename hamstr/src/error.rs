//! The crate's [`Error`]: one variant per layer, each wrapping that layer's own error.

use crate::{
    http::HttpError, paginate::PaginateError, records::DecodeError, records::RecordsError,
    secret::SecretError, service::ServiceError,
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
}

/// `Result` with hamstr's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
