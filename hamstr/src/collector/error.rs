//! [`CollectError`]: why a collector's run stopped, or one of its records was skipped.

use std::time::Duration;

use super::BoxError;
use crate::{
    backend::BackendError,
    http::HttpError,
    model::DecodeError,
    paginate::PaginateError,
    records::RecordsError,
    service::{FileError, ServiceError, SourceError},
    state::{CollectorId, IncrementalError},
    text::chain,
};

/// Why a collector's run stopped, or one of its records was skipped: the API's error, the
/// store's, or the collector's own. What a [`Collector`](super::Collector)'s collect step
/// returns, what [`on_error`](super::Collector::on_error) sees and what a run's report keeps.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
    /// The service is configured wrong.
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
    /// A record does not fit the model (it was skipped; the run went on).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A file could not be read, or a row of it (skipped; the run went on).
    #[error(transparent)]
    File(#[from] FileError),
    /// A record the incremental strategy cannot place (it was skipped; the run went on).
    #[error(transparent)]
    Incremental(#[from] IncrementalError),
    /// The backend could not store or load.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The default collect step needs an endpoint, and the collector has none.
    #[error("{collector}: no endpoint to collect from; set one, or implement `Collector::collect`")]
    NoEndpoint {
        /// The collector.
        collector: CollectorId,
    },
    /// An `on_records` callback failed; the batch it was given was not stored.
    #[error("{collector}: an on_records callback failed: {}", chain(&**cause))]
    Callback {
        /// The collector.
        collector: CollectorId,
        /// The callback's error, in the message.
        cause: BoxError,
    },
    /// Every record of the run was skipped (none fit the model, or each lacked the strategy's
    /// field): it stored nothing, which is a failure, not a success with nothing new.
    #[error(
        "{collector}: every one of the {skipped} records of this run was skipped, so nothing was stored; the first: {first}"
    )]
    AllSkipped {
        /// The collector.
        collector: CollectorId,
        /// How many records were skipped.
        skipped: usize,
        /// Why the first was skipped (all are in the report's `skipped_records`).
        first: String,
    },
    /// The run did not end within the grace period after shutdown began, and was abandoned.
    #[error("{collector}: abandoned {grace:?} after shutdown began")]
    Abandoned {
        /// The collector.
        collector: CollectorId,
        /// How long it was given.
        grace: Duration,
    },
    /// The collect step or a callback panicked; the collector runs again on its next tick.
    #[error("{collector}: panicked: {message}")]
    Panicked {
        /// The collector.
        collector: CollectorId,
        /// The panic's message.
        message: String,
    },
}

impl From<SourceError> for CollectError {
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
