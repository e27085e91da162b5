//! A project from a `hamstr.yml` file: its services, their collectors and models, the files it
//! collects, and where the records go.
//!
//! [`load`] reads the file and checks all of it before answering: every mistake is reported at
//! once, each at its line and column with what is allowed there ([`ConfigError`]). The result is
//! plain data ([`Project`]); turning it into a running app is a separate step.
//!
//! ```
//! use hamstr::config::{self, PaginatorConfig};
//!
//! let source = r#"
//! name: shop
//! services:
//!   mollie:
//!     base_url: https://api.mollie.com/v2/
//!     auth: {bearer: "${MOLLIE_API_KEY}"}
//!     paginator: {type: json_next, path: _links.next.href}
//!     collectors:
//!       /payments:
//!         interval: 5m
//!         records: _embedded.payments
//!         model: {id: string, createdAt: datetime}
//! "#;
//! let environment = |name: &str| (name == "MOLLIE_API_KEY").then(|| "test_token".to_owned());
//! let project = config::parse_with_env(source, "hamstr.yml", &environment).unwrap();
//! assert_eq!(project.storage.to_string(), "sqlite://hamstr.db");
//! let mollie = &project.services[0];
//! assert!(matches!(mollie.paginator, PaginatorConfig::JsonNext { .. }));
//! assert_eq!(mollie.collectors[0].name, "payments");
//!
//! let error = config::parse_with_env("services: {}", "hamstr.yml", &environment).unwrap_err();
//! assert_eq!(error.to_string(), "hamstr.yml:1:11: `services` is empty (help: add at least one service: `services: {name: {base_url: ..., collectors: ...}}`, or a file under `files:`)");
//! ```

mod auth;
mod bind;
mod build;
pub mod catalog;
mod collectors;
mod env;
mod fields;
mod files;
mod incremental;
mod keys;
mod limits;
mod load;
mod number;
mod paginator;
mod parameters;
mod render;
mod resilience;
mod suggest;
mod syntax;
mod value;

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

pub use self::{
    bind::{ParameterError, ParameterValues},
    parameters::{ParameterConfig, ParameterType},
};
pub use crate::backend::{Storage, StorageError};
use crate::{
    model::FieldType,
    secret::Secret,
    service::{FileFormat, FileKey, ServiceSettings},
    state::Incremental,
};

/// What a `hamstr.yml` describes: where records go, and the services and files to collect them
/// from.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project's name (`name:`), if given.
    pub name: Option<String>,
    /// Where records and collector state are kept (`storage:`); `sqlite://hamstr.db` by default.
    pub storage: Storage,
    /// This process among workers sharing the store (`cluster:`).
    pub cluster: ClusterConfig,
    /// The admin server `hamstr run` serves (`admin:`), if any.
    pub admin: Option<AdminConfig>,
    /// The window the collectors' first runs are spread over (`spread_schedules:`), if any:
    /// [`Hamstr::spread_schedules`](crate::Hamstr::spread_schedules).
    pub spread_schedules: Option<std::time::Duration>,
    /// The run-time parameters (`parameters:`), in file order; see [`Project::bind`].
    pub parameters: Vec<ParameterConfig>,
    /// The services, in file order; there may be none when there are files.
    pub services: Vec<ServiceConfig>,
    /// The files (`files:`), in file order; there may be none when there are services.
    pub files: Vec<FileConfig>,
}

/// `cluster: {worker: NAME, lease: 30s}`: settings that matter when several workers share the
/// store (PostgreSQL). Absent settings keep their defaults: host and process id, 30 s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterConfig {
    /// This process's name among the workers (`worker:`).
    pub worker: Option<String>,
    /// How long a claim on a collector holds unless renewed (`lease:`).
    pub lease: Option<std::time::Duration>,
}

/// `admin: {listen: 127.0.0.1:9650, token: ${HAMSTR_ADMIN_TOKEN}}`: where `hamstr run` serves
/// its admin API and status page, and the token it asks for (needed off loopback).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AdminConfig {
    /// The address (`listen:`); 127.0.0.1:9650 by default.
    pub listen: std::net::SocketAddr,
    /// The token every request must carry (`token:`), if any.
    pub token: Option<Secret>,
}

impl AdminConfig {
    /// Where it listens unless `listen:` says otherwise: loopback, port 9650.
    pub const DEFAULT_LISTEN: std::net::SocketAddr =
        std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9650);
}

impl Project {
    /// Every collector with its service, in file order.
    pub fn collectors(&self) -> impl Iterator<Item = (&ServiceConfig, &CollectorConfig)> {
        self.services.iter().flat_map(|service| {
            service
                .collectors
                .iter()
                .map(move |collector| (service, collector))
        })
    }

    /// The collector `name` names, by its own name or as `service/name`.
    pub fn collector(&self, name: &str) -> Option<(&ServiceConfig, &CollectorConfig)> {
        self.collectors()
            .find(|(service, collector)| collector.is_named(service, name))
    }
}

/// One service (one API) of a project: `services: {NAME: {...}}`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// Its name, the key under `services:`.
    pub name: String,
    /// The URL its endpoints are relative to (`base_url:`).
    pub base_url: String,
    /// How requests prove who is asking (`auth:`, or the `api_key:` shorthand for a bearer token).
    pub auth: Option<AuthConfig>,
    /// How to get from one page to the next; [`PaginatorConfig::None`] when not given.
    pub paginator: PaginatorConfig,
    /// Where the records are in a page body, for collectors that do not say (`records:`).
    pub records: Option<String>,
    /// How it sends its requests (`headers:`, `params:`, `timeout:`, `connect_timeout:`,
    /// `user_agent:`, `max_body_bytes:`, `allow_insecure_http:`, `retry:`, `limits:`,
    /// `conditional_requests:`, `pages_in_flight:`): the same value the builder methods of
    /// [`Service`](crate::Service) set, with their defaults for the keys left out.
    pub settings: ServiceSettings,
    /// The collectors, in file order; there may be none.
    pub collectors: Vec<CollectorConfig>,
}

/// How a service's requests are authenticated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AuthConfig {
    /// `Authorization: Bearer TOKEN` (`bearer:`).
    Bearer(Secret),
    /// A key in a request header (`api_key: {header: NAME, value: KEY}`).
    ApiKeyHeader {
        /// The header's name.
        header: String,
        /// The key.
        value: Secret,
    },
    /// A key in a query parameter (`api_key: {query: NAME, value: KEY}`).
    ApiKeyQuery {
        /// The parameter's name.
        param: String,
        /// The key.
        value: Secret,
    },
    /// HTTP basic auth (`basic: {username: ..., password: ...}`).
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// OAuth2 access tokens from a token endpoint (`oauth2: {...}`): the client-credentials
    /// grant, or the refresh-token grant with `refresh_token`.
    OAuth2 {
        /// The token endpoint.
        token_url: String,
        /// The client's id.
        client_id: String,
        /// The client's secret.
        client_secret: Secret,
        /// The scopes to ask for.
        scopes: Vec<String>,
        /// A refresh token: the refresh-token grant.
        refresh_token: Option<Secret>,
        /// Whether the client's id and secret go in the request body instead of basic auth.
        is_secret_in_body: bool,
    },
    /// AWS Signature Version 4 (`aws_sigv4: {...}`): S3 and S3-compatible stores.
    AwsSigV4 {
        /// The access key's id.
        access_key_id: String,
        /// The secret access key.
        secret_access_key: Secret,
        /// A session token of temporary credentials.
        session_token: Option<Secret>,
        /// The region signed for.
        region: String,
        /// The AWS service signed for (`s3` by default).
        service: String,
    },
}

/// How a service gets from one page to the next; each variant's fields are its YAML keys.
///
/// A field left `None` takes the paginator's own default (see [`crate::paginate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaginatorConfig {
    /// One request, one page (`none`).
    None,
    /// `?page=1`, `?page=2`... (`page_number`).
    PageNumber {
        /// The page number's query parameter.
        param: Option<String>,
        /// The first page's number.
        start: Option<u64>,
        /// The query parameter for the page size; given together with `size`.
        size_param: Option<String>,
        /// The page size to ask for.
        size: Option<u64>,
        /// Where the body gives the total number of records.
        total_path: Option<String>,
    },
    /// `?offset=0&limit=100`, `?offset=100&limit=100`... (`offset`).
    Offset {
        /// The offset's query parameter.
        offset_param: Option<String>,
        /// The limit's query parameter.
        limit_param: Option<String>,
        /// The number of records to ask for per page.
        limit: Option<u64>,
        /// Where the body gives the total number of records.
        total_path: Option<String>,
    },
    /// A cursor from the body goes back as a query parameter (`cursor`).
    Cursor {
        /// Where the next cursor is in the body (not needed with `has_more_path`).
        path: Option<String>,
        /// The query parameter that carries it.
        param: String,
        /// Where the body says whether more pages follow (Stripe's `has_more`).
        has_more_path: Option<String>,
        /// The record field whose last value is the cursor, with `has_more_path`.
        id_field: Option<String>,
        /// The query parameter for the page size; given together with `size`.
        size_param: Option<String>,
        /// The page size to ask for.
        size: Option<u64>,
    },
    /// The next page's URL is in the body (`json_next`, also written `next_link`).
    JsonNext {
        /// Where the URL is in the body.
        path: Option<String>,
    },
    /// The next page's URL is in the `Link` header (`link_header`).
    LinkHeader {
        /// The link relation to follow (`next` by default).
        rel: Option<String>,
        /// The query parameter for the page size, on the first request; given with `size`.
        size_param: Option<String>,
        /// The page size to ask for.
        size: Option<u64>,
    },
    /// Asks for the records after the last id seen (`seek`).
    Seek {
        /// The query parameter that carries the last id.
        param: Option<String>,
        /// Where a record's id is.
        id_field: Option<String>,
        /// The query parameter for the page size; given together with `size`.
        size_param: Option<String>,
        /// The page size to ask for.
        size: Option<u64>,
    },
}

/// One collector: an endpoint of a service, read into one model.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CollectorConfig {
    /// The endpoint, relative to the service's base URL: the key under `collectors:`.
    pub endpoint: String,
    /// The model's (and table's) name; by default the endpoint's last path segment.
    pub name: String,
    /// How often it runs (`interval:`).
    pub interval: Option<Duration>,
    /// Where the records are in a page body; the service's when `None`.
    pub records: Option<String>,
    /// The path of the one record each answer is (`record:`; empty for the body itself), for
    /// an endpoint that answers with one object, such as a profile.
    pub record: Option<String>,
    /// Query parameters of this collector's requests, as text, in file order.
    pub params: Vec<(String, String)>,
    /// The model's fields, in file order.
    pub fields: Vec<FieldConfig>,
    /// The columns of the primary key (`primary_key:`, `id` by default).
    pub primary_key: Vec<String>,
    /// How it asks only for what is new (`incremental:`); [`Incremental::FullRefresh`] when not
    /// given.
    pub incremental: Incremental,
    /// Its keys (`keys:`), when its endpoint has a `{placeholder}`: read once per key.
    pub keys: Option<crate::collector::FanOut>,
    /// The parameters its positional arguments fill, in order (`args:`).
    pub args: Vec<String>,
    /// How [`Endpoint::search`](crate::service::Endpoint::search) searches it (`search:`).
    pub search: Option<crate::service::Search>,
    /// How [`Endpoint::get`](crate::service::Endpoint::get) finds one of its records (`get:`).
    pub lookup: Option<crate::service::Lookup>,
}

impl CollectorConfig {
    /// Whether `name` names it: its own name, or `service/name` of its `service`.
    fn is_named(&self, service: &ServiceConfig, name: &str) -> bool {
        self.name == name || self.id(service) == name
    }

    /// `service/name`, as the app names it.
    fn id(&self, service: &ServiceConfig) -> String {
        format!("{}/{}", service.name, self.name)
    }
}

/// One file of a project, collected like an endpoint (`files: {NAME: {...}}`): a CSV or JSON
/// Lines file read in pages into one model, with no service.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FileConfig {
    /// Its name, the key under `files:`: the collector's (its id is `files/NAME`), its model's
    /// and its table's.
    pub name: String,
    /// Where the file is (`path:`): as written, or, when [`load`] read the project and the path
    /// is relative, joined to the folder of the project file.
    pub path: PathBuf,
    /// For a file read through a service (`url:`, `service:`, `cache_for:`): where; then
    /// [`path`](Self::path) is empty.
    pub url: Option<FileUrl>,
    /// How its records are written (`format:`, `delimiter:`); from the path's extension when
    /// `format:` is not given.
    pub format: FileFormat,
    /// What identifies a row (`key:`); [`FileKey::RowNumber`] when not given, and then each
    /// record carries its row number as `_row`.
    pub key: FileKey,
    /// How many rows a page holds (`page_size:`); the reader's default (1,000) when `None`.
    pub page_size: Option<usize>,
    /// How often it runs (`interval:`).
    pub interval: Option<Duration>,
    /// The model's fields, in file order.
    pub fields: Vec<FieldConfig>,
    /// The columns of the primary key (`primary_key:`, `id` by default).
    pub primary_key: Vec<String>,
    /// How a run reads only what is new (`incremental:`): [`Incremental::Append`] or
    /// [`Incremental::FullRefresh`] (the default).
    pub incremental: Incremental,
}

/// A file read through one of the project's services: downloaded through its HTTP layer (its
/// auth, retries and limits), then read like a file on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileUrl {
    /// The service's name (`service:`).
    pub service: String,
    /// The file's path under the service's base URL (`url:`).
    pub path: String,
    /// How long a downloaded copy is used before the file is downloaded again (`cache_for:`);
    /// `None`: every run downloads it.
    pub cache_for: Option<Duration>,
}

/// One field of a collector's model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConfig {
    /// The column it is stored in.
    pub column: String,
    /// Where it is read from in a record: the key as written, dots going into nested objects.
    pub path: String,
    /// Its type.
    pub field_type: FieldType,
    /// Whether a record without it (or with null) does not fit; always true in the primary key.
    pub is_required: bool,
}

/// Reads and checks the project file at `path`. A relative `path:` of a file in it is taken as
/// relative to the project file's folder, so the project runs the same from any directory.
///
/// # Errors
/// [`ConfigError`] with every problem found, each at its line and column; a file that cannot be
/// read, or that is larger than 1 MiB, gives a single diagnostic at 1:1.
pub fn load(path: &Path) -> Result<Project, ConfigError> {
    use std::io::Read;

    let file_name = path.display().to_string();
    let read_error = |message: String| ConfigError::single(&file_name, message, None);
    let file = std::fs::File::open(path)
        .map_err(|error| read_error(format!("cannot read the file: {error}")))?;
    // Read one byte past the limit, never the whole of a huge file.
    let mut bytes = Vec::new();
    file.take(limits::MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| read_error(format!("cannot read the file: {error}")))?;
    if bytes.len() > limits::MAX_BYTES {
        return Err(ConfigError::single(
            &file_name,
            limits::too_large_message(),
            Some(limits::TOO_LARGE_HELP.to_owned()),
        ));
    }
    let source = String::from_utf8(bytes)
        .map_err(|error| read_error(format!("the file is not UTF-8 text: {error}")))?;
    let mut project = parse(&source, &file_name)?;
    if let Some(folder) = path.parent() {
        for file in project.files.iter_mut().filter(|file| file.url.is_none()) {
            // `join` keeps an absolute path as it is.
            file.path = folder.join(&file.path);
        }
    }
    Ok(project)
}

/// Checks a project file's text; `${VAR}` comes from the process environment. With no file to
/// be relative to, a relative `path:` of a file stays as written: relative to the current
/// directory.
///
/// # Errors
/// [`ConfigError`] with every problem found.
pub fn parse(source: &str, file_name: &str) -> Result<Project, ConfigError> {
    parse_with_env(source, file_name, &|name| std::env::var(name).ok())
}

/// Checks a project file's text, reading `${VAR}` through `env`; paths stay as written, as
/// with [`parse`].
///
/// # Errors
/// [`ConfigError`] with every problem found, in file order.
pub fn parse_with_env(
    source: &str,
    file_name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Project, ConfigError> {
    load::project(source, env).map_err(|problems| ConfigError::new(file_name, source, problems))
}

/// A project file that cannot be used, with every problem found in it.
///
/// `Display` gives one line per problem (`FILE:LINE:COL: message (help: ...)`);
/// [`render`](Self::render) shows each with its source line and a caret, as rustc does.
/// Neither ever holds a value that came from the environment.
#[derive(Clone, thiserror::Error)]
pub struct ConfigError {
    file_name: String,
    diagnostics: Vec<Diagnostic>,
    /// For each diagnostic, its source line and how many characters to underline.
    snippets: Vec<render::Snippet>,
}

impl ConfigError {
    fn new(file_name: &str, source: &str, mut problems: Vec<Problem>) -> Self {
        // File order; `sort_by_key` is stable, so problems at one place keep their order.
        problems.sort_by_key(|problem| (problem.line, problem.column));
        let lines = value::lines(source);
        let snippets = problems
            .iter()
            .map(|problem| render::Snippet::new(&lines, problem))
            .collect();
        let diagnostics = problems.into_iter().map(Problem::into_diagnostic).collect();
        Self {
            file_name: file_name.to_owned(),
            diagnostics,
            snippets,
        }
    }

    fn single(file_name: &str, message: String, help: Option<String>) -> Self {
        let problem = Problem {
            line: 1,
            column: 1,
            width: 0,
            message,
            help,
        };
        Self::new(file_name, "", vec![problem])
    }

    /// The name of the file, as given to [`load`] or [`parse`].
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// Every problem, in file order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Every problem as rustc shows its errors: the place, the source line, a caret under the
    /// offending text, the message and a `help:` line.
    pub fn render(&self) -> String {
        render::render(self)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.diagnostics.iter().enumerate() {
            if index > 0 {
                formatter.write_str("\n")?;
            }
            write!(
                formatter,
                "{}:{}:{}: {}",
                self.file_name, diagnostic.line, diagnostic.column, diagnostic.message
            )?;
            if let Some(help) = &diagnostic.help {
                write!(formatter, " (help: {help})")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ConfigError {
    // Not derived: the snippets repeat the file's lines, which say nothing a reader needs here.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ConfigError")
            .field("file_name", &self.file_name)
            .field("diagnostics", &self.diagnostics)
            .finish()
    }
}

/// One problem in a project file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The line, from 1.
    pub line: usize,
    /// The column in characters, from 1.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// What would be right, when that can be said.
    pub help: Option<String>,
}

/// A diagnostic while checking, with the width of the text it is about.
#[derive(Debug, Clone)]
struct Problem {
    line: usize,
    column: usize,
    /// How many characters to underline; 0 for a point.
    width: usize,
    message: String,
    help: Option<String>,
}

impl Problem {
    fn into_diagnostic(self) -> Diagnostic {
        Diagnostic {
            line: self.line,
            column: self.column,
            message: self.message,
            help: self.help,
        }
    }
}
