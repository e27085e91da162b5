//! Planning: every collector matched with its service, named, its interval parsed, its endpoint
//! joined and its table prepared, before the first request.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use super::{AppError, Hamstr, fan_out};
use crate::{
    backend::{Backend, TablePlan},
    model::Schema,
    runtime::Planned,
    service::Service,
    state::{CollectorId, Incremental},
};

/// A model's table and the store it is in.
type Table<'a> = (&'a Arc<dyn Backend>, &'a Schema);

/// Each model's table once, with the store it is in; two different models of one name (in any
/// case: SQL compares table names so) are an error.
fn tables(planned: &[Planned]) -> Result<Vec<Table<'_>>, AppError> {
    let mut seen: BTreeMap<String, (&Schema, &CollectorId)> = BTreeMap::new();
    let mut tables = Vec::new();
    for collector in planned {
        let schema = collector.schema.as_ref();
        match seen.get(&schema.name().to_ascii_lowercase()) {
            Some((first, _)) if *first == schema => continue,
            Some((_, first)) => {
                return Err(AppError::TableConflict {
                    table: schema.name().to_owned(),
                    first: (*first).clone(),
                    second: collector.id.clone(),
                });
            }
            None => {}
        }
        seen.insert(schema.name().to_ascii_lowercase(), (schema, &collector.id));
        tables.push((&collector.backend, schema));
    }
    Ok(tables)
}

/// The service name of collectors of files that name none.
const FILES: &str = "files";

/// Whether `strategy` fits the collector's source: `append` is for files, and files take only
/// it and `full_refresh` (the others send a query parameter to an API).
fn check_strategy(
    collector: &CollectorId,
    strategy: &Incremental,
    is_file: bool,
) -> Result<(), AppError> {
    let reason = match (strategy, is_file) {
        (Incremental::FullRefresh, _) | (Incremental::Append, true) => return Ok(()),
        (
            Incremental::Seek { .. }
            | Incremental::StopWhenSeen { .. }
            | Incremental::CursorField(_),
            false,
        ) => {
            return Ok(());
        }
        (Incremental::Append, false) => {
            "it reads the rows added to a file; an API's listing takes seek, stop_when_seen or cursor_field"
        }
        (_, true) => {
            "it asks an API for what is new; a file takes append (the rows added since the last run) or full_refresh"
        }
    };
    Err(AppError::Strategy {
        collector: collector.clone(),
        strategy: strategy.name(),
        reason,
    })
}

impl Hamstr {
    /// Plans, then lets the backend create or update the table of every model.
    pub(super) async fn prepare(&self) -> Result<Vec<Planned>, AppError> {
        let planned = self.plan()?;
        for (backend, schema) in tables(&planned)? {
            backend.prepare(schema).await?;
        }
        self.selected(planned)
    }

    /// The collectors [`only`](Hamstr::only) names, or all of them.
    pub(super) fn selected(&self, planned: Vec<Planned>) -> Result<Vec<Planned>, AppError> {
        let Some(names) = &self.only else {
            return Ok(planned);
        };
        let ids = names
            .iter()
            .map(|name| find(planned.iter(), name).map(|found| found.id.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(planned
            .into_iter()
            .filter(|planned| ids.contains(&planned.id))
            .collect())
    }

    /// How every model's table would change to take the model as it is now; nothing changes.
    /// `hamstr migrate`.
    ///
    /// # Errors
    /// What [`check`](Self::check) finds, or the backend's error (a backend without migrations
    /// says so).
    pub async fn migration_plan(&self) -> Result<Vec<TablePlan>, AppError> {
        self.migrations(false).await
    }

    /// Changes every model's table to take the model as it is now (see [`TablePlan`]), in one
    /// transaction per store: all of it, or nothing. `hamstr migrate --apply`.
    ///
    /// # Errors
    /// As [`migration_plan`](Self::migration_plan), and what stopped the migration.
    pub async fn migrate(&self) -> Result<Vec<TablePlan>, AppError> {
        self.migrations(true).await
    }

    async fn migrations(&self, is_applied: bool) -> Result<Vec<TablePlan>, AppError> {
        let planned = self.plan()?;
        // One call per store, with every table it keeps, so that one transaction holds them.
        let mut stores: Vec<(&Arc<dyn Backend>, Vec<Schema>)> = Vec::new();
        for (backend, schema) in tables(&planned)? {
            match stores
                .iter_mut()
                .find(|(known, _)| Arc::ptr_eq(known, backend))
            {
                Some((_, schemas)) => schemas.push(schema.clone()),
                None => stores.push((backend, vec![schema.clone()])),
            }
        }
        let mut plans = Vec::new();
        for (backend, schemas) in stores {
            plans.extend(if is_applied {
                backend.migrate(&schemas).await?
            } else {
                backend.plan_migration(&schemas).await?
            });
        }
        Ok(plans)
    }

    pub(super) fn plan(&self) -> Result<Vec<Planned>, AppError> {
        let backend = self.backend.clone().ok_or(AppError::NoBackend)?;
        let mut services: BTreeMap<String, &Service> = BTreeMap::new();
        for service in &self.services {
            let service = &service.service;
            service.check()?;
            if services.insert(service.service_name(), service).is_some() {
                return Err(AppError::DuplicateService {
                    service: service.service_name(),
                });
            }
        }
        let attached = self.services.iter().flat_map(|service| {
            service
                .collectors
                .iter()
                .map(move |collector| (Some(&service.service), collector))
        });
        let added = self.collectors.iter().map(|collector| (None, collector));
        // What a collector of a file that names no service runs under: it sends no request.
        let files = Service::new("http://localhost/").name(FILES);
        let mut planned: Vec<Planned> = Vec::new();
        let mut pending = Vec::new();
        let mut run_places: BTreeMap<String, Arc<tokio::sync::Semaphore>> = BTreeMap::new();
        for (owner, collector) in attached.chain(added) {
            let settings = collector.settings();
            let schema = collector.schema();
            let name = settings
                .collector_name()
                .unwrap_or(schema.name())
                .to_owned();
            let service = match (owner, settings.service_name()) {
                (Some(owner), Some(named)) if named != owner.service_name() => {
                    return Err(AppError::ServiceMismatch {
                        collector: name,
                        added_to: owner.service_name(),
                        named: named.to_owned(),
                    });
                }
                (Some(owner), _) => owner,
                (None, Some(named)) => {
                    *services
                        .get(named)
                        .ok_or_else(|| AppError::UnknownService {
                            collector: name.clone(),
                            service: named.to_owned(),
                            known: services.keys().cloned().collect::<Vec<_>>().join(", "),
                        })?
                }
                (None, None) if settings.file_source().is_some() => &files,
                (None, None) => return Err(AppError::NoService { collector: name }),
            };
            let id = CollectorId::new(service.service_name(), name);
            if planned.iter().any(|other| other.id == id) {
                return Err(AppError::DuplicateCollector { collector: id });
            }
            let interval = settings
                .run_interval()
                .map(|interval| interval.duration())
                .transpose()
                .map_err(|source| AppError::Interval {
                    collector: id.clone(),
                    cause: source,
                })?;
            let incremental = settings.incremental_strategy().clone();
            let file = settings
                .file_source()
                .map(|file| file.clone().column_types(Arc::clone(&schema)));
            check_strategy(&id, &incremental, file.is_some())?;
            let (fan_out, checked_path) = fan_out::check(&id, &settings)?;
            pending.push(fan_out);
            let endpoint = match settings.endpoint_path() {
                Some(path) => {
                    // A fan-out's path is checked with a key in its placeholder.
                    service.endpoint_url(checked_path.as_deref().unwrap_or(path))?;
                    let mut endpoint = service.endpoint(path);
                    if let Some(records) = settings.records_path() {
                        endpoint = endpoint.records(records.clone());
                    }
                    for (name, value) in settings.params() {
                        endpoint = endpoint.param(name, value);
                    }
                    Some(endpoint)
                }
                None => None,
            };
            let listing = match (&endpoint, &file) {
                (Some(endpoint), _) => {
                    // Stored with the state: without the credentials a base URL may hold.
                    let mut url = endpoint.listing_url()?;
                    service.client()?.strip_credentials(&mut url);
                    url.to_string()
                }
                (None, Some(file)) => format!("file:{}", file.location()),
                (None, None) => String::new(),
            };
            planned.push(Planned {
                id,
                collector: Arc::clone(collector),
                service: service.clone(),
                endpoint,
                file,
                fan_out: None,
                schema,
                interval,
                incremental,
                listing,
                is_backfill: self.is_backfill,
                first_delay: Duration::ZERO,
                cluster: backend.is_shared().then(|| Arc::clone(&self.cluster)),
                run_places: backend
                    .is_shared()
                    .then(|| service.settings().limits.max_concurrent)
                    .flatten()
                    .map(|places| {
                        Arc::clone(run_places.entry(service.service_name()).or_insert_with(|| {
                            Arc::new(tokio::sync::Semaphore::new(
                                places.min(tokio::sync::Semaphore::MAX_PERMITS),
                            ))
                        }))
                    }),
                backend: Arc::clone(&backend),
                observer: self.observer.clone(),
                events: self.events.clone(),
                live: Arc::default(),
            });
        }
        if planned.is_empty() {
            return Err(AppError::NoCollectors);
        }
        fan_out::resolve(&mut planned, pending, &backend)?;
        // Evenly, by order of registration: collector k of n starts k/n into the window.
        let count = planned.len() as u32;
        for (index, collector) in planned.iter_mut().enumerate() {
            if let Some(interval) = collector.interval {
                collector.first_delay = self.spread.min(interval) * index as u32 / count;
            }
        }
        Ok(planned)
    }
}

/// The collector `name` names (`collector` or `service/collector`) among `planned`.
pub(super) fn find<'p>(
    planned: impl Iterator<Item = &'p Planned> + Clone,
    name: &str,
) -> Result<&'p Planned, AppError> {
    planned
        .clone()
        .find(|planned| planned.id.to_string() == name || planned.id.collector == name)
        .ok_or_else(|| AppError::UnknownCollector {
            collector: name.to_owned(),
            known: planned
                .map(|planned| planned.id.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}
