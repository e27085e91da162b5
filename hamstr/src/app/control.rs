//! [`AppControl`]: what can be asked of a running app, from anywhere (an admin API, a task of
//! your own): status, run now, pause, resume, reset, its services, and reads of what it stored.
//! Cheap to clone; unlike the [`AppHandle`](super::AppHandle) that it comes from, it cannot stop
//! the app.

use std::sync::Arc;

use chrono::Utc;

use super::{AppError, RunNow, plan};
use crate::{
    backend::{Batch, ClusterStatus, FoundKeys, Frontier, KeyRead, KeyStatus, Query, RowPage},
    events::{Event, EventBus, Events},
    model::{Cell, Row, Schema},
    runtime::{Planned, Refused},
    service::{Limits, RateLimit, Service},
    state::{CollectorId, CollectorStatus, State},
};

/// The shareable part of a running app's handle: [`AppHandle::control`](super::AppHandle::control).
#[derive(Clone)]
pub struct AppControl {
    inner: Arc<Inner>,
}

struct Inner {
    collectors: Vec<Arc<Planned>>,
    services: Vec<Service>,
    events: EventBus,
}

/// One service as a running app sees it: its rate limit, its budget, and whether the API refused
/// its credentials. Nothing in it is a credential.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServiceStatus {
    /// The service's name.
    pub name: String,
    /// Its base URL without credentials.
    pub base_url: String,
    /// The rate limit as its API last reported it; `None` before its first request.
    pub rate_limit: Option<RateLimit>,
    /// Its client-side budget (requests per second, per minute, at once; share of the quota).
    pub limits: Limits,
    /// The API's message when it refused the credentials; the service sends nothing more.
    pub credentials_refused: Option<String>,
}

/// What a collector's scheduler knows now, without reading the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveStatus {
    /// A run of it is going on.
    pub is_running: bool,
    /// It is paused.
    pub is_paused: bool,
    /// Its failed runs in a row.
    pub failures: u32,
}

/// A model (table) of a running app: its schema and the collectors that store it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ModelInfo {
    /// Its schema: fields, types, primary key.
    pub schema: Arc<Schema>,
    /// The collectors that store it.
    pub collectors: Vec<CollectorId>,
}

impl AppControl {
    pub(super) fn new(
        collectors: Vec<Arc<Planned>>,
        services: Vec<Service>,
        events: EventBus,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                collectors,
                services,
                events,
            }),
        }
    }

    /// Every collector: what it reads and stores, its stored state (walk in progress, mark), its
    /// last `runs` runs (the first is the last run and its outcome), whether it runs now or is
    /// paused, its next scheduled run and its failure streak.
    ///
    /// # Errors
    /// The backend's, reading the state and the load history.
    pub async fn status(&self, runs: usize) -> Result<Vec<CollectorStatus>, AppError> {
        let mut statuses = Vec::with_capacity(self.inner.collectors.len());
        for planned in &self.inner.collectors {
            statuses.push(live_status(planned, runs).await?);
        }
        Ok(statuses)
    }

    /// The status of one `collector` (`collector` or `service/collector`), as
    /// [`status`](Self::status).
    ///
    /// # Errors
    /// [`AppError::UnknownCollector`], or the backend's.
    pub async fn collector_status(
        &self,
        collector: &str,
        runs: usize,
    ) -> Result<CollectorStatus, AppError> {
        live_status(self.find(collector)?, runs).await
    }

    /// Starts a run of `collector` (`collector` or `service/collector`) now, whatever its
    /// schedule and even when paused; when a run of it is going on, says so and starts no
    /// second one.
    ///
    /// # Errors
    /// [`AppError::UnknownCollector`]; [`AppError::CollectorEnded`] after its scheduler ended
    /// (the app stopped, or the API refused its service's credentials).
    pub fn run_now(&self, collector: &str) -> Result<RunNow, AppError> {
        let planned = self.find(collector)?;
        match planned.live.ask_run() {
            Ok(()) => Ok(RunNow::Started),
            Err(Refused::Running) => Ok(RunNow::AlreadyRunning),
            Err(Refused::Ended) => Err(AppError::CollectorEnded {
                collector: planned.id.clone(),
            }),
        }
    }

    /// Pauses `collector`: it starts no scheduled run until [`resume`](Self::resume)d (a run
    /// going on ends as usual; a run asked for with [`run_now`](Self::run_now) still runs).
    ///
    /// # Errors
    /// [`AppError::UnknownCollector`].
    pub fn pause(&self, collector: &str) -> Result<(), AppError> {
        let planned = self.find(collector)?;
        if planned.live.set_paused(true) {
            self.inner.events.send(Event::CollectorPaused {
                collector: planned.id.clone(),
            });
        }
        Ok(())
    }

    /// Resumes a paused `collector`: a run it missed while paused starts at once, then it is
    /// back on its schedule.
    ///
    /// # Errors
    /// [`AppError::UnknownCollector`].
    pub fn resume(&self, collector: &str) -> Result<(), AppError> {
        let planned = self.find(collector)?;
        if planned.live.set_paused(false) {
            self.inner.events.send(Event::CollectorResumed {
                collector: planned.id.clone(),
            });
        }
        Ok(())
    }

    /// Forgets what `collector` remembers (its walk in progress, its mark, its values), so its
    /// next run reads everything; stored records stay. Refused while a run of it is going on,
    /// whose next commit would bring the state back; no run of it starts until the reset is
    /// stored.
    ///
    /// # Errors
    /// [`AppError::UnknownCollector`], [`AppError::CollectorRunning`], or the backend's.
    pub async fn reset(&self, collector: &str) -> Result<CollectorId, AppError> {
        let planned = self.find(collector)?;
        let Some(_held) = planned.live.hold_runs() else {
            return Err(AppError::CollectorRunning {
                collector: planned.id.clone(),
            });
        };
        planned
            .backend
            .commit(Batch {
                collector: planned.id.clone(),
                schema: Arc::clone(&planned.schema),
                rows: Vec::new(),
                state: Some(State::default()),
            })
            .await?;
        Ok(planned.id.clone())
    }

    /// A fan-out collector's frontier: the keys it knows, done, due, failed and gone; `None` for
    /// a collector that is no fan-out.
    ///
    /// # Errors
    /// [`AppError::UnknownCollector`], or the backend's.
    pub async fn frontier(&self, collector: &str) -> Result<Option<Frontier>, AppError> {
        let planned = self.find(collector)?;
        let Some(plan) = &planned.fan_out else {
            return Ok(None);
        };
        Ok(Some(
            planned
                .backend
                .frontier(&planned.id, Utc::now(), plan.max_depth)
                .await?,
        ))
    }

    /// Reads `key` of a fan-out collector now: the key is added to its frontier if it is new,
    /// made due now if it is known, and a run is asked for (a run going on reads it next time).
    /// The crawler's "sync this user now".
    ///
    /// # Errors
    /// [`AppError::UnknownCollector`]; [`AppError::FanOut`] for a collector that is no fan-out;
    /// the backend's; as [`run_now`](Self::run_now).
    pub async fn crawl_key(&self, collector: &str, key: &str) -> Result<RunNow, AppError> {
        let planned = self.find(collector)?;
        let Some(plan) = &planned.fan_out else {
            return Err(AppError::FanOut {
                collector: planned.id.clone(),
                reason: "it reads no keys: its endpoint has no {placeholder}".to_owned(),
            });
        };
        let now = Utc::now();
        let keys = [key.to_owned()];
        // A key asked for is a seed: at depth 0.
        let found = FoundKeys::new(&keys).depth(0).revisit(plan.revisit);
        if planned.backend.add_keys(&planned.id, &found, now).await? == 0 {
            // Known: due now, as a key read now would be.
            let read = KeyRead::new(key, KeyStatus::Done, now, Some(now));
            planned.backend.record_key(&planned.id, &read).await?;
        }
        self.run_now(collector)
    }

    /// The app's events from now on; see [`events`](crate::events).
    pub fn subscribe(&self) -> Events {
        self.inner.events.subscribe()
    }

    /// The collectors, as `service/collector`.
    pub fn collectors(&self) -> Vec<CollectorId> {
        self.inner
            .collectors
            .iter()
            .map(|planned| planned.id.clone())
            .collect()
    }

    /// Each service's rate limit as its API last reported it, for services that have sent a
    /// request.
    pub fn rate_limits(&self) -> Vec<(String, RateLimit)> {
        self.inner
            .services
            .iter()
            .filter_map(|service| Some((service.service_name(), service.rate_limit()?)))
            .collect()
    }

    /// Every collector's live state (running, paused, failure streak), read without the store.
    pub fn live(&self) -> Vec<(CollectorId, LiveStatus)> {
        self.inner
            .collectors
            .iter()
            .map(|planned| {
                let live = LiveStatus {
                    is_running: planned.live.is_running(),
                    is_paused: planned.live.is_paused(),
                    failures: planned.live.failures(),
                };
                (planned.id.clone(), live)
            })
            .collect()
    }

    /// Every service: rate limit, budget, refused credentials.
    pub fn services(&self) -> Vec<ServiceStatus> {
        self.inner
            .services
            .iter()
            .map(|service| ServiceStatus {
                name: service.service_name(),
                base_url: service.shown_base_url().unwrap_or_default(),
                rate_limit: service.rate_limit(),
                limits: service.settings().limits,
                credentials_refused: service.credentials_refused(),
            })
            .collect()
    }

    /// Every model the app stores, once, in the order of its first collector.
    pub fn models(&self) -> Vec<ModelInfo> {
        let mut models: Vec<ModelInfo> = Vec::new();
        for planned in &self.inner.collectors {
            match models
                .iter_mut()
                .find(|model| model.schema.name() == planned.schema.name())
            {
                Some(model) => model.collectors.push(planned.id.clone()),
                None => models.push(ModelInfo {
                    schema: Arc::clone(&planned.schema),
                    collectors: vec![planned.id.clone()],
                }),
            }
        }
        models
    }

    /// The model (table) named `model`.
    ///
    /// # Errors
    /// [`AppError::UnknownModel`], listing the models.
    pub fn model(&self, model: &str) -> Result<ModelInfo, AppError> {
        self.models()
            .into_iter()
            .find(|info| info.schema.name() == model)
            .ok_or_else(|| self.unknown_model(model))
    }

    /// The full id of `collector` (`collector` or `service/collector`).
    ///
    /// # Errors
    /// [`AppError::UnknownCollector`].
    pub fn collector_id(&self, collector: &str) -> Result<CollectorId, AppError> {
        Ok(self.find(collector)?.id.clone())
    }

    /// A page of the stored rows of `model` (see [`Query`]); never blocks a run.
    ///
    /// # Errors
    /// [`AppError::UnknownModel`]; the backend's ([`BackendError::BadQuery`] for a query that
    /// does not fit the model).
    ///
    /// [`BackendError::BadQuery`]: crate::backend::BackendError::BadQuery
    pub async fn query(&self, model: &str, query: &Query) -> Result<RowPage, AppError> {
        let planned = self.find_model(model)?;
        Ok(planned.backend.query(&planned.schema, query).await?)
    }

    /// The stored row of `model` with primary key `key` (cells in key order).
    ///
    /// # Errors
    /// As [`query`](Self::query).
    pub async fn get_row(&self, model: &str, key: &[Cell]) -> Result<Option<Row>, AppError> {
        let planned = self.find_model(model)?;
        Ok(planned.backend.get_row(&planned.schema, key).await?)
    }

    /// The workers sharing the app's store and who holds which collector; `None` when the
    /// store is not shared (SQLite, JSON Lines, memory).
    ///
    /// # Errors
    /// The backend's.
    pub async fn cluster_status(&self) -> Result<Option<ClusterStatus>, AppError> {
        match self.inner.collectors.first() {
            Some(planned) => Ok(planned.backend.cluster_status().await?),
            None => Ok(None),
        }
    }

    /// This process's name among the workers sharing the store; `None` when it is not shared.
    pub fn worker_name(&self) -> Option<String> {
        self.inner
            .collectors
            .iter()
            .find_map(|planned| Some(planned.cluster.as_ref()?.name.clone()))
    }

    /// Whether every store of the app answers (it reads one line of the load history).
    ///
    /// # Errors
    /// The backend's.
    pub async fn check_store(&self) -> Result<(), AppError> {
        let mut checked: Vec<&Arc<dyn crate::backend::Backend>> = Vec::new();
        for planned in &self.inner.collectors {
            if checked
                .iter()
                .any(|known| Arc::ptr_eq(known, &planned.backend))
            {
                continue;
            }
            planned.backend.run_history(None, 1).await?;
            checked.push(&planned.backend);
        }
        Ok(())
    }

    fn find(&self, collector: &str) -> Result<&Planned, AppError> {
        plan::find(self.inner.collectors.iter().map(AsRef::as_ref), collector)
    }

    fn find_model(&self, model: &str) -> Result<&Planned, AppError> {
        self.inner
            .collectors
            .iter()
            .find(|planned| planned.schema.name() == model)
            .map(AsRef::as_ref)
            .ok_or_else(|| self.unknown_model(model))
    }

    fn unknown_model(&self, model: &str) -> AppError {
        AppError::UnknownModel {
            model: model.to_owned(),
            known: self
                .models()
                .iter()
                .map(|model| model.schema.name().to_owned())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

impl std::fmt::Debug for AppControl {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AppControl")
            .field("collectors", &self.collectors())
            .finish_non_exhaustive()
    }
}

/// A collector's status as stored, with what it reads and stores; no live part.
pub(super) async fn stored_status(
    planned: &Planned,
    runs: usize,
) -> Result<CollectorStatus, AppError> {
    let mut status = CollectorStatus::stored(
        planned.id.clone(),
        planned.incremental.clone(),
        planned.backend.load_state(&planned.id).await?,
        planned.backend.run_history(Some(&planned.id), runs).await?,
    );
    status.source = planned
        .service
        .shown_url(&planned.listing)
        .unwrap_or_else(|| planned.listing.clone());
    status.model = planned.schema.name().to_owned();
    status.interval = planned.interval;
    Ok(status)
}

async fn live_status(planned: &Planned, runs: usize) -> Result<CollectorStatus, AppError> {
    let mut status = stored_status(planned, runs).await?;
    status.is_running = planned.live.is_running();
    status.is_paused = planned.live.is_paused();
    status.next_run = planned.live.next_run();
    status.failures = planned.live.failures();
    Ok(status)
}
