//! [`AppError`]: services and collectors that do not fit together, or a store that cannot
//! take them, found before the first request.

use crate::{
    backend::BackendError, collector::IntervalError, model::SchemaError, service::ServiceError,
    state::CollectorId,
};

/// Services and collectors that do not fit together, found before the first request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// A service is configured wrong.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The backend could not be opened, could not create a model's storage, or could not load.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// No backend was set.
    #[error(
        "no backend: set one with `Hamstr::backend` (e.g. `backend::Sqlite::open(\"hamstr.db\")`)"
    )]
    NoBackend,
    /// Nothing to run.
    #[error("no collectors: add one to a service or to the app")]
    NoCollectors,
    /// Two services share a name.
    #[error("two services are named `{service}`; give one another name with `Service::name`")]
    DuplicateService {
        /// The name.
        service: String,
    },
    /// A collector added to the app names no service (and reads no file).
    #[error(
        "collector `{collector}` names no service; set `service = \"...\"` or add it to a service"
    )]
    NoService {
        /// The collector.
        collector: String,
    },
    /// A collector names a service that was not registered.
    #[error(
        "collector `{collector}` names the service `{service}`, which is not registered (registered: {known})"
    )]
    UnknownService {
        /// The collector.
        collector: String,
        /// The name it gives.
        service: String,
        /// The registered services, comma-separated.
        known: String,
    },
    /// A collector added to one service names another.
    #[error("collector `{collector}` was added to the service `{added_to}` but names `{named}`")]
    ServiceMismatch {
        /// The collector.
        collector: String,
        /// The service it was added to.
        added_to: String,
        /// The service it names.
        named: String,
    },
    /// Two collectors of a service share a name.
    #[error("two collectors are named `{collector}`; give one another name")]
    DuplicateCollector {
        /// The service and name.
        collector: CollectorId,
    },
    /// A collector's interval is not a duration.
    #[error("collector `{collector}`: invalid interval: {cause}")]
    Interval {
        /// The collector.
        collector: CollectorId,
        /// Why, in the message.
        cause: IntervalError,
    },
    /// Two collectors store different models under one table name.
    #[error(
        "collectors `{first}` and `{second}` store different models in the table `{table}`; rename one model"
    )]
    TableConflict {
        /// The table.
        table: String,
        /// The first collector.
        first: CollectorId,
        /// The other.
        second: CollectorId,
    },
    /// A model described at run time cannot be a schema.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// No collector has that name.
    #[error("no collector is named `{collector}` (collectors: {known})")]
    UnknownCollector {
        /// The name asked for.
        collector: String,
        /// The collectors there are, as `service/collector`.
        known: String,
    },
    /// A run was asked of a collector whose scheduler has ended (the app stopped, or the API
    /// refused its service's credentials).
    #[error(
        "collector `{collector}` no longer runs: the app is stopping, or its service's credentials were refused"
    )]
    CollectorEnded {
        /// The collector.
        collector: CollectorId,
    },
    /// A collector's state cannot be reset while a run of it is going on: the run's next
    /// commit would bring it back.
    #[error(
        "collector `{collector}` is running; reset it when the run has ended (pause it first to keep the next one from starting)"
    )]
    CollectorRunning {
        /// The collector.
        collector: CollectorId,
    },
    /// No model (table) of the app has that name.
    #[error("no model is named `{model}` (models: {known})")]
    UnknownModel {
        /// The name asked for.
        model: String,
        /// The models there are, comma-separated.
        known: String,
    },
    /// A fan-out collector's keys, placeholder or store do not fit.
    #[error("collector `{collector}`: {reason}")]
    FanOut {
        /// The collector.
        collector: CollectorId,
        /// What does not fit, and what to write.
        reason: String,
    },
    /// A collector's incremental strategy does not fit what it reads.
    #[error("collector `{collector}`: the {strategy} strategy does not fit: {reason}")]
    Strategy {
        /// The collector.
        collector: CollectorId,
        /// The strategy's name.
        strategy: &'static str,
        /// Why, and what fits.
        reason: &'static str,
    },
    /// The process's signals could not be listened to.
    #[error("cannot listen for shutdown signals: {cause}")]
    Signals {
        /// Why, in the message.
        cause: std::io::Error,
    },
}
