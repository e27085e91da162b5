//! The admin HTTP server of a running app: a JSON API to watch and steer its collectors and
//! browse what they stored, a status page for people, an OpenAPI document, Prometheus metrics.
//!
//! [`Admin`] serves an [`AppControl`] (from [`AppHandle::control`](crate::AppHandle::control))
//! on a task of the app's runtime. It only reads the handle and the store and asks for runs: no
//! request can stop collection or change what was collected (`reset` forgets a collector's mark,
//! never its records). Every endpoint is in `docs/admin.md`.
//!
//! It binds to loopback unless told otherwise; anywhere else it needs a token, which every
//! request must then carry (`Authorization: Bearer TOKEN`; a browser asks for it as a password).
//! Actions are `POST` only and refused from pages of another origin.
//!
//! # Examples
//! ```
//! use hamstr::{CollectorSpec, Hamstr, Model, Service, admin::Admin, backend::MemoryBackend};
//! use hamstr::{paginate::NextLink, testing::MockApi};
//!
//! #[derive(Model, serde::Deserialize)]
//! #[hamstr(name = "payments")]
//! struct Payment {
//!     id: String,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), hamstr::Error> {
//! let api = MockApi::start_demo().await;
//! let mollie = Service::new(format!("{}v2/", api.url()))
//!     .name("mollie")
//!     .paginator(NextLink::at("_links.next.href"))
//!     .records("_embedded.payments")
//!     .add_collector(CollectorSpec::endpoint("payments").model::<Payment>().interval("1h"));
//! let mut handle = Hamstr::new().backend(MemoryBackend::new()).register_service(mollie).start().await?;
//! let admin = Admin::new("127.0.0.1:0".parse().unwrap()).serve(handle.control()).await?;
//! println!("status page: {}", admin.url()); // http://127.0.0.1:PORT/
//! admin.stop().await;
//! handle.stop().await;
//! # Ok(())
//! # }
//! ```

mod api;
mod metrics;
mod problem;
mod records;
mod security;
mod services;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, response::Html, routing::get};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi as _;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{app::AppControl, secret::Secret};

/// The environment variable the `hamstr` command reads the admin token from, when YAML's
/// `admin.token` names none.
pub const TOKEN_VARIABLE: &str = "HAMSTR_ADMIN_TOKEN";

/// What went wrong starting the admin server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// A bind address off loopback, without a token.
    #[error(
        "the admin server would listen on {addr}, which is not loopback, without a token: set one (`admin.token` in YAML, the {TOKEN_VARIABLE} environment variable, or `Admin::token`), or bind to 127.0.0.1"
    )]
    TokenRequired {
        /// The address.
        addr: SocketAddr,
    },
    /// The address could not be listened on.
    #[error("the admin server cannot listen on {addr}: {cause}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        cause: std::io::Error,
    },
    /// The address is not `HOST:PORT` with an IP address.
    #[error("`{given}` is not an address to listen on; write IP:PORT, e.g. 127.0.0.1:9650")]
    Address {
        /// What was given.
        given: String,
    },
}

/// The admin server's settings: where it listens and the token it asks for.
#[derive(Debug, Clone)]
pub struct Admin {
    addr: SocketAddr,
    token: Option<Secret>,
    ready_timeout: Duration,
}

impl Admin {
    /// The default address: loopback, port 9650.
    pub const DEFAULT_ADDR: &str = "127.0.0.1:9650";

    /// An admin server on `addr` (port 0 picks a free port).
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            token: None,
            ready_timeout: Self::DEFAULT_READY_TIMEOUT,
        }
    }

    /// An admin server on `addr`, written `IP:PORT`.
    ///
    /// # Errors
    /// [`AdminError::Address`].
    pub fn parse(addr: &str) -> Result<Self, AdminError> {
        addr.parse()
            .map(Self::new)
            .map_err(|_| AdminError::Address {
                given: addr.to_owned(),
            })
    }

    /// Asks every request for `token` (`Authorization: Bearer TOKEN`, or as the password of
    /// HTTP basic auth, which a browser asks for). Needed to listen off loopback.
    pub fn token(mut self, token: Secret) -> Self {
        self.token = Some(token);
        self
    }

    /// How long `GET /ready` waits for the store before it answers `503` (a store that is down
    /// may be retried for longer than a readiness probe waits).
    pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(5);

    /// Sets how long `GET /ready` waits for the store (default
    /// [`DEFAULT_READY_TIMEOUT`](Self::DEFAULT_READY_TIMEOUT)).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Listens, and serves `control`'s app on a task of the current runtime until
    /// [`AdminServer::stop`] (or the server is dropped).
    ///
    /// # Errors
    /// As [`listen`](Self::listen).
    pub async fn serve(self, control: AppControl) -> Result<AdminServer, AdminError> {
        Ok(self.listen().await?.serve(control))
    }

    /// Takes the address (refusing one off loopback without a token), so that nothing is
    /// collected before the server is sure to start; [`Listening::serve`] then serves an app.
    ///
    /// # Errors
    /// [`AdminError::TokenRequired`] off loopback without a token; [`AdminError::Bind`].
    pub async fn listen(self) -> Result<Listening, AdminError> {
        if !self.addr.ip().is_loopback() && self.token.is_none() {
            return Err(AdminError::TokenRequired { addr: self.addr });
        }
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .map_err(|cause| AdminError::Bind {
                addr: self.addr,
                cause,
            })?;
        let addr = listener.local_addr().map_err(|cause| AdminError::Bind {
            addr: self.addr,
            cause,
        })?;
        Ok(Listening {
            listener,
            addr,
            token: self.token,
            ready_timeout: self.ready_timeout,
        })
    }
}

/// An admin server's address, taken: [`Admin::listen`].
#[derive(Debug)]
pub struct Listening {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    token: Option<Secret>,
    ready_timeout: Duration,
}

impl Listening {
    /// The address it listens on (with the port picked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `control`'s app on a task of the current runtime until [`AdminServer::stop`].
    pub fn serve(self, control: AppControl) -> AdminServer {
        let Self {
            listener,
            addr,
            token,
            ready_timeout,
        } = self;
        let metrics = metrics::Exporter::install();
        let stop = CancellationToken::new();
        let shared = Shared {
            control,
            metrics,
            ready_timeout,
        };
        let app = router(Arc::new(shared), token);
        let shutdown = stop.clone();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "the admin server stopped");
            }
        });
        tracing::info!(url = %format!("http://{addr}/"), "admin server listening");
        AdminServer {
            addr,
            stop,
            task: Some(task),
        }
    }
}

/// A running admin server, from [`Admin::serve`]. Dropping it stops the server.
#[derive(Debug)]
pub struct AdminServer {
    addr: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl AdminServer {
    /// The address it listens on (with the port picked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its status page, `http://ADDR/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops it: no new connection is taken, and this returns when open requests are answered,
    /// or after 5 seconds (a client that stopped reading an answer cannot hold the process).
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            tracing::warn!("open admin requests were cut off after 5 s");
            task.abort();
        }
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// What every handler reads.
struct Shared {
    control: AppControl,
    metrics: metrics::Exporter,
    ready_timeout: Duration,
}

type State = axum::extract::State<Arc<Shared>>;

/// The OpenAPI document's frame; the paths come from the handlers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "hamstr admin API",
        description = "Watch and steer a running hamstr app: its collectors, their runs and schedules, its services' rate limits, and the records it stored."
    ),
    modifiers(&TokenAuth),
    tags(
        (name = "collectors", description = "Collectors: state, load history, run now, pause, resume, reset"),
        (name = "services", description = "Services: rate limits, budgets, refused credentials"),
        (name = "records", description = "Browse the stored records of each model"),
        (name = "health", description = "Liveness and readiness")
    )
)]
struct ApiDoc;

/// The token, as the document describes it: asked for only when the server has one (always off
/// loopback), as a bearer token or as the password of basic auth.
struct TokenAuth;

impl utoipa::Modify for TokenAuth {
    fn modify(&self, document: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The admin token (`admin.token`, HAMSTR_ADMIN_TOKEN), when the server has one"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "Any user name, the admin token as the password (what a browser sends)",
                    ))
                    .build(),
            ),
        );
        // No requirement (a loopback server without a token), or either scheme.
        document.security = Some(vec![
            SecurityRequirement::default(),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("basic", Vec::<String>::new()),
        ]);
    }
}

/// The routes, their OpenAPI document, and the security around them.
fn router(shared: Arc<Shared>, token: Option<Secret>) -> Router {
    let (api, document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(api::collectors))
        .routes(routes!(api::collector))
        .routes(routes!(api::runs))
        .routes(routes!(api::run_now))
        .routes(routes!(api::pause))
        .routes(routes!(api::resume))
        .routes(routes!(api::reset))
        .routes(routes!(api::crawl_key))
        .routes(routes!(services::services))
        .routes(routes!(services::cluster))
        .routes(routes!(records::models))
        .routes(routes!(records::records))
        .routes(routes!(records::record))
        .routes(routes!(services::health))
        .routes(routes!(services::ready))
        .split_for_parts();
    let document = Arc::new(document.to_pretty_json().unwrap_or_default());
    let pages = Router::new()
        .route("/", get(|| async { Html(STATUS_PAGE) }))
        .route("/api/docs", get(|| async { Html(DOCS_PAGE) }))
        .route(
            "/api/openapi.json",
            get(move || {
                let document = Arc::clone(&document);
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        document.as_str().to_owned(),
                    )
                }
            }),
        )
        .route("/metrics", get(metrics::render));
    api.merge(pages)
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .with_state(shared)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(security::Guard::new(token)),
            security::guard,
        ))
}

/// The status page: one file, no build step, nothing fetched from elsewhere.
const STATUS_PAGE: &str = include_str!("page/status.html");
/// The API reference page, rendered from `/api/openapi.json` in the browser.
const DOCS_PAGE: &str = include_str!("page/docs.html");
