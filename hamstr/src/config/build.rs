//! A checked [`Project`] into the app: the same builder calls a Rust project makes, so YAML
//! collectors reach the same runtime and backends (one engine).

use crate::{
    app::{AppError, Hamstr, ServiceWithCollectors},
    auth::Auth,
    collector::CollectorSettings,
    model::DynamicModel,
    paginate::{Cursor, LinkHeader, NextLink, Offset, PageNumber, Seek, SinglePage},
    service::{Combined, Endpoint, FileFormat, FileKey, FileSource, OAuth2, Service},
};

use super::{
    AuthConfig, CollectorConfig, FieldConfig, FileConfig, PaginatorConfig, Project, ServiceConfig,
    Storage,
};

impl Project {
    /// The app this project describes: its services with their collectors and its files,
    /// storing into `storage` (usually [`Project::storage`], or what the command line chose
    /// instead).
    ///
    /// # Errors
    /// A storage that cannot be opened, or a model that cannot be a schema (a key naming no
    /// field, two fields with one column).
    ///
    /// Parameters not filled by [`bind`](Self::bind) get stand-in values
    /// ([`bind_examples`](Self::bind_examples)): bind first to run it.
    pub fn into_app(self, storage: &Storage) -> Result<Hamstr, AppError> {
        let backend = storage.open()?;
        self.into_app_on(backend)
    }

    /// [`into_app`](Self::into_app) storing into `backend` (a [`JsonLines`](crate::backend::JsonLines)
    /// writer on a file, say).
    ///
    /// # Errors
    /// As [`into_app`](Self::into_app), but for opening a storage.
    pub fn into_app_on(
        mut self,
        backend: std::sync::Arc<dyn crate::backend::Backend>,
    ) -> Result<Hamstr, AppError> {
        self.bind_examples();
        let mut app = Hamstr::new().shared_backend(backend);
        if let Some(worker) = self.cluster.worker {
            app = app.worker_name(worker);
        }
        if let Some(lease) = self.cluster.lease {
            app = app.lease_period(lease);
        }
        if let Some(window) = self.spread_schedules {
            app = app.spread_schedules(window);
        }
        let mut services = Vec::new();
        for service in self.services {
            let service = build_service(service)?;
            services.push(service.service().clone());
            app = app.register_service(service);
        }
        for file in self.files {
            let (settings, model) = build_file(file, &services)?;
            app = app.add_dynamic_collector(settings, model);
        }
        Ok(app)
    }
}

impl Project {
    /// The endpoint of the collector `name` (`name` or `service/name`), with its service's
    /// auth, paginator and limits and its own records path, parameters, `search:` and `get:`:
    /// the unified interface (`list`, `list_pages`, `get`, `search`) over it, with no app and
    /// no store. [`bind`](Self::bind) the project first when it has parameters.
    ///
    /// ```
    /// # use hamstr::config;
    /// let source = "services:\n  api:\n    base_url: https://api.example.com/\n    collectors:\n      repos:\n        search: q\n        model: {id: integer}\n";
    /// let project = config::parse_with_env(source, "hamstr.yml", &|_| None).unwrap();
    /// let repos = project.endpoint("repos").unwrap();
    /// # let _ = repos;
    /// assert!(project.endpoint("nothing").is_none());
    /// ```
    pub fn endpoint(&self, name: &str) -> Option<Endpoint> {
        let (service, collector) = self.collector(name)?;
        Some(endpoint_of(&service_of(service.clone()), collector))
    }
}

/// `collector`'s endpoint of `service`: its records path, parameters, search and lookup.
fn endpoint_of(service: &Service, collector: &CollectorConfig) -> Endpoint {
    let mut endpoint = service.endpoint(collector.endpoint.clone());
    if let Some(path) = &collector.record {
        endpoint = endpoint.records(crate::records::Records::object(path.as_str()));
    }
    if let Some(records) = &collector.records {
        endpoint = endpoint.records(records.as_str());
    }
    for (name, value) in &collector.params {
        endpoint = endpoint.param(name, value);
    }
    if let Some(search) = &collector.search {
        endpoint = endpoint.search_with(search.clone());
    }
    if let Some(lookup) = &collector.lookup {
        endpoint = endpoint.lookup(lookup.clone());
    }
    endpoint
}

#[cfg(feature = "s3")]
fn sigv4(
    access_key_id: String,
    secret_access_key: crate::secret::Secret,
    session_token: Option<crate::secret::Secret>,
    region: String,
    service: String,
) -> Auth {
    let mut sigv4 =
        crate::service::AwsSigV4::new(access_key_id, secret_access_key, region, service);
    if let Some(token) = session_token {
        sigv4 = sigv4.session_token(token);
    }
    Auth::from(sigv4)
}

/// Without the `s3` feature no request can be signed: one that would be is refused before it
/// is sent, saying why.
#[cfg(not(feature = "s3"))]
fn sigv4(
    _access_key_id: String,
    _secret_access_key: crate::secret::Secret,
    _session_token: Option<crate::secret::Secret>,
    _region: String,
    _service: String,
) -> Auth {
    Auth::custom_fn(|_| Err("AWS SigV4 signing needs hamstr's `s3` feature".into()))
}

/// The service alone: its base URL, settings, auth, records path and paginator.
fn service_of(config: ServiceConfig) -> Service {
    let mut service = Service::with_settings(config.base_url, config.settings);
    if let Some(auth) = config.auth {
        service = service.auth(match auth {
            AuthConfig::Bearer(token) => Auth::bearer(token),
            AuthConfig::ApiKeyHeader { header, value } => Auth::api_key_header(header, value),
            AuthConfig::ApiKeyQuery { param, value } => Auth::api_key_query(param, value),
            AuthConfig::Basic { username, password } => Auth::basic(username, password),
            AuthConfig::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scopes,
                refresh_token,
                is_secret_in_body,
            } => {
                let mut oauth2 = match refresh_token {
                    Some(refresh) => {
                        OAuth2::refresh_token(token_url, client_id, client_secret, refresh)
                    }
                    None => OAuth2::client_credentials(token_url, client_id, client_secret),
                };
                oauth2 = oauth2.scopes(scopes);
                if is_secret_in_body {
                    oauth2 = oauth2.client_secret_in_body();
                }
                Auth::from(oauth2)
            }
            AuthConfig::AwsSigV4 {
                access_key_id,
                secret_access_key,
                session_token,
                region,
                service,
            } => sigv4(
                access_key_id,
                secret_access_key,
                session_token,
                region,
                service,
            ),
        });
    }
    if let Some(records) = config.records {
        service = service.records(records.as_str());
    }
    with_paginator(service, config.paginator)
}

fn build_service(mut config: ServiceConfig) -> Result<ServiceWithCollectors, AppError> {
    let collectors = std::mem::take(&mut config.collectors);
    let mut service = ServiceWithCollectors::from(service_of(config));
    for collector in collectors {
        let (settings, model) = build_collector(collector)?;
        service = service.add_dynamic_collector(settings, model);
    }
    Ok(service)
}

fn with_paginator(service: Service, config: PaginatorConfig) -> Service {
    match config {
        PaginatorConfig::None => service.paginator(SinglePage),
        PaginatorConfig::PageNumber {
            param,
            start,
            size_param,
            size,
            total_path,
        } => {
            let mut paginator = param.map_or_else(PageNumber::new, PageNumber::param);
            if let Some(start) = start {
                paginator = paginator.start(start);
            }
            if let Some(size) = size {
                paginator =
                    paginator.size(size_param.unwrap_or_else(|| "per_page".to_owned()), size);
            }
            if let Some(total) = total_path {
                paginator = paginator.total(total.as_str());
            }
            service.paginator(paginator)
        }
        PaginatorConfig::Offset {
            offset_param,
            limit_param,
            limit,
            total_path,
        } => {
            let mut paginator = match (offset_param, limit_param) {
                (None, None) => Offset::new(),
                (offset, limit) => Offset::params(
                    offset.unwrap_or_else(|| "offset".to_owned()),
                    limit.unwrap_or_else(|| "limit".to_owned()),
                ),
            };
            if let Some(limit) = limit {
                paginator = paginator.limit(limit);
            }
            if let Some(total) = total_path {
                paginator = paginator.total(total.as_str());
            }
            service.paginator(paginator)
        }
        PaginatorConfig::Cursor {
            path,
            param,
            has_more_path,
            id_field,
            size_param,
            size,
        } => {
            let mut paginator = match has_more_path {
                Some(has_more) => Cursor::has_more(
                    has_more.as_str(),
                    param,
                    id_field.as_deref().unwrap_or("id"),
                ),
                // The loader requires `path` without `has_more_path`; a hand-made config
                // without either gets the common name.
                None => Cursor::token(path.as_deref().unwrap_or("next_cursor"), param),
            };
            if let (Some(size_param), Some(size)) = (size_param, size) {
                paginator = paginator.size(size_param, size);
            }
            service.paginator(paginator)
        }
        PaginatorConfig::JsonNext { path } => service
            .paginator(path.map_or_else(NextLink::default, |path| NextLink::at(path.as_str()))),
        PaginatorConfig::LinkHeader {
            rel,
            size_param,
            size,
        } => {
            let mut paginator = rel.map_or_else(LinkHeader::new, LinkHeader::rel);
            if let (Some(size_param), Some(size)) = (size_param, size) {
                paginator = paginator.size(size_param, size);
            }
            service.paginator(paginator)
        }
        PaginatorConfig::Seek {
            param,
            id_field,
            size_param,
            size,
        } => {
            let mut paginator = param.map_or_else(Seek::default, Seek::param);
            if let Some(id_field) = id_field {
                paginator = paginator.id_field(id_field.as_str());
            }
            if let (Some(size_param), Some(size)) = (size_param, size) {
                paginator = paginator.size(size_param, size);
            }
            service.paginator(paginator)
        }
    }
}

fn build_collector(config: CollectorConfig) -> Result<(CollectorSettings, DynamicModel), AppError> {
    let mut settings = CollectorSettings::endpoint(config.endpoint).name(config.name.clone());
    if let Some(keys) = config.keys {
        settings = settings.fan_out(keys);
    }
    if let Some(interval) = config.interval {
        settings = settings.interval(interval);
    }
    if let Some(path) = config.record {
        settings = settings.records(crate::records::Records::object(path.as_str()));
    }
    if let Some(records) = config.records {
        settings = settings.records(records.as_str());
    }
    for (name, value) in config.params {
        settings = settings.param(name, value);
    }
    settings = settings.incremental(config.incremental);
    let model = build_model(config.name, config.fields, config.primary_key)?;
    Ok((settings, model))
}

/// A file's collector: its [`FileSource`], and its model named like it, as a collector of an
/// endpoint has.
fn build_file(
    config: FileConfig,
    services: &[Service],
) -> Result<(CollectorSettings, DynamicModel), AppError> {
    let source = file_source(&config, services)?;
    let mut settings = CollectorSettings::file(source)
        .name(config.name.clone())
        .incremental(config.incremental);
    if let Some(url) = &config.url {
        settings = settings.service(url.service.clone());
    }
    if let Some(interval) = config.interval {
        settings = settings.interval(interval);
    }
    let model = build_model(config.name, config.fields, config.primary_key)?;
    Ok((settings, model))
}

/// A file's source: on this machine, or downloaded through one of `services`.
fn file_source(config: &FileConfig, services: &[Service]) -> Result<FileSource, AppError> {
    let through = config.url.as_ref().map(|url| {
        services
            .iter()
            .find(|service| service.service_name() == url.service)
            .ok_or_else(|| AppError::UnknownService {
                collector: config.name.clone(),
                service: url.service.clone(),
                known: services
                    .iter()
                    .map(Service::service_name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .map(|service| (service, url))
    });
    let mut source = match (&config.format, through.transpose()?) {
        (FileFormat::Csv { delimiter }, None) => {
            FileSource::csv(config.path.clone()).delimiter(*delimiter)
        }
        (FileFormat::JsonLines, None) => FileSource::json_lines(config.path.clone()),
        (FileFormat::Csv { delimiter }, Some((service, url))) => {
            FileSource::csv_at(service, &url.path).delimiter(*delimiter)
        }
        (FileFormat::JsonLines, Some((service, url))) => {
            FileSource::json_lines_at(service, &url.path)
        }
    };
    if let Some(cache_for) = config.url.as_ref().and_then(|url| url.cache_for) {
        source = source.cache_for(cache_for);
    }
    source = match &config.key {
        FileKey::RowNumber => source.key_row_number(),
        FileKey::Columns(columns) => source.key_columns(columns.clone()),
    };
    if let Some(rows) = config.page_size {
        source = source.page_size(rows);
    }
    Ok(source)
}

impl Project {
    /// Every collector's endpoint (named `service/collector`) and every file (named like it)
    /// as one [`Combined`] source: `list`, `search` and `get` over all of them at once.
    /// [`bind`](Self::bind) the project first when it has parameters.
    ///
    /// # Errors
    /// A file read through a service the project does not have.
    pub fn combined(&self) -> Result<Combined, AppError> {
        let mut combined = Combined::new();
        let mut services = Vec::new();
        for service in &self.services {
            // One service for its collectors: they share its limits, quota and connections.
            let built = service_of(service.clone());
            for collector in &service.collectors {
                combined = combined.endpoint(collector.id(service), endpoint_of(&built, collector));
            }
            services.push(built);
        }
        for file in &self.files {
            combined = combined.file(file.name.clone(), file_source(file, &services)?);
        }
        Ok(combined)
    }
}

/// The model of a collector or a file, named `name`.
fn build_model(
    name: String,
    fields: Vec<FieldConfig>,
    primary_key: Vec<String>,
) -> Result<DynamicModel, AppError> {
    let mut model = DynamicModel::builder(name);
    for field in fields {
        model = model.field(
            field.column,
            field.path.as_str(),
            field.field_type,
            field.is_required,
        );
    }
    Ok(model.primary_key(primary_key).build()?)
}
