//! hamstr gathers records from many HTTP APIs into one place.
//!
//! A [`Service`] is one API: its base URL, its [`auth`], its [paginator](paginate). Over
//! it, one async interface reads any listing: [`list`](Service::list) (a stream of records
//! across all pages), [`list_pages`](Service::list_pages), [`get`](Service::get) and
//! [`search`](Service::search).
//!
//! ```
//! use futures_util::TryStreamExt;
//! use hamstr::{Service, paginate::NextLink, testing::{Collection, LinkStyle, MockApi, Paging}};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), hamstr::Error> {
//! // A local API with 30 payments, 10 per page, linked HAL style.
//! let api = MockApi::start().await;
//! let payments = (1..=30).map(|n| json!({"id": format!("tr_{n}"), "amount": n})).collect();
//! api.route(
//!     "/v2/payments",
//!     Collection::new(payments)
//!         .records_at("_embedded.payments")
//!         .paging(Paging::next_link(LinkStyle::Absolute)),
//! );
//!
//! let mollie = Service::new(format!("{}v2/", api.url()))
//!     .paginator(NextLink::at("_links.next.href"))
//!     .records("_embedded.payments");
//! let payments: Vec<serde_json::Value> = mollie.list("payments").try_collect().await?;
//! assert_eq!(payments.len(), 30);
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//! | flag | default | what it adds |
//! |---|---|---|
//! | `derive` | yes | `#[derive(Model)]` and `#[derive(Collector)]` |
//! | `cli` | yes | the `hamstr` command (`run`, `status`, `reset`, `migrate`, `check`, `mock`, `init`); turns on `yaml`, `testing` and `postgres`. Library users can leave it out |
//! | `sqlite` | yes | [`backend::Sqlite`], the embedded default store (SQLite built in) |
//! | `postgres` | no (yes with `cli`) | [`backend::Postgres`], the store for teams (`postgres://…`), with TLS through rustls |
//! | `admin` | no (yes with `cli`) | [`admin`]: the admin HTTP API, a status page and Prometheus metrics for a running app |
//! | `testing` | no | [`testing::MockApi`], a local mock API with fault injection, and record/replay |
//! | `yaml` | no | [`config`]: a project from a `hamstr.yml` file, with every error at its line and column |

#![forbid(unsafe_code)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

// Lets the derives' `::hamstr::...` paths resolve inside this crate's own tests.
#[allow(unused_extern_crates)]
extern crate self as hamstr;

// Layers, top to bottom (docs/architecture.md): a module imports only those below it.
// Face
#[cfg(feature = "admin")]
pub mod admin;
#[cfg(feature = "cli")]
#[doc(hidden)] // the `hamstr` binary's code, not a library API
pub mod cli;
#[cfg(feature = "yaml")]
pub mod config;
// App
mod app;
pub mod events;
pub mod report;
mod runtime;
// Collect
pub mod collector;
// Source
pub mod service;
// Model
pub mod model;
// State
pub mod state;
// Store
pub mod backend;
// Wire
pub mod auth;
mod http;
pub mod paginate;
pub mod records;
// Base
mod json;
mod secret;
mod text;
mod url;
// Beside: the mock API, which the library itself never needs.
#[cfg(feature = "testing")]
pub mod testing;
// Root
mod error;

pub use crate::{
    app::{
        AppControl, AppError, AppHandle, Hamstr, LiveStatus, ModelInfo, RunNow, ServiceStatus,
        ServiceWithCollectors,
    },
    backend::Backend,
    collector::{CollectError, Collector, CollectorSpec},
    error::{Error, Result},
    http::HttpError,
    model::Model,
    secret::{Secret, SecretError},
    service::{Service, SourceError},
    url::RedactedUrl,
};
/// `#[derive(Model)]` and `#[derive(Collector)]`; see the [`model`] and [`collector`] modules.
#[cfg(feature = "derive")]
pub use hamstr_derive::{Collector, Model};

/// The attribute for implementing [`Collector`] or [`Backend`] by hand:
/// `#[hamstr::async_trait]`.
pub use async_trait::async_trait;

#[doc(hidden)] // for generated code only: no docs, no semver promise
pub mod __private {
    pub use crate::model::derive::{
        AsFieldValue, AsJson, FieldProbe, Route, Unusable, ViaFieldValue, ViaJson,
    };
    pub use async_trait::async_trait;
    pub use std::sync::{Arc, LazyLock};
}

// The guides' and the README's Rust blocks are compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
#[cfg(doctest)]
#[doc = include_str!("../../docs/getting-started.md")]
struct GettingStartedDoctests;
#[cfg(doctest)]
#[doc = include_str!("../../docs/services-and-paginators.md")]
struct ServicesAndPaginatorsDoctests;
#[cfg(doctest)]
#[doc = include_str!("../../docs/stream-api.md")]
struct StreamApiDoctests;
#[cfg(doctest)]
#[doc = include_str!("../../docs/testing.md")]
struct TestingDoctests;
#[cfg(doctest)]
#[doc = include_str!("../../docs/architecture.md")]
struct ArchitectureDoctests;
#[cfg(doctest)]
#[doc = include_str!("../../docs/collectors.md")]
struct CollectorsDoctests;
#[cfg(doctest)]
#[doc = include_str!("../../docs/incremental.md")]
struct IncrementalDoctests;
#[cfg(doctest)]
#[doc = include_str!("../../docs/resilience.md")]
struct ResilienceDoctests;
#[cfg(doctest)]
#[doc = include_str!("../../docs/live-app.md")]
struct LiveAppDoctests;
#[cfg(doctest)]
#[doc = include_str!("../../docs/reading.md")]
struct ReadingDoctests;
#[cfg(doctest)]
#[doc = include_str!("../../docs/fan-out.md")]
struct FanOutDoctests;
#[cfg(all(doctest, feature = "admin"))]
#[doc = include_str!("../../docs/admin.md")]
struct AdminDoctests;
#[cfg(all(doctest, feature = "postgres"))]
#[doc = include_str!("../../docs/postgres.md")]
struct PostgresDoctests;
#[cfg(all(doctest, feature = "yaml"))]
#[doc = include_str!("../../docs/catalog.md")]
struct CatalogDoctests;

/// The HTTP client's types that appear in hamstr's API (`Url`, `Request`, `HeaderMap`).
pub use reqwest;
