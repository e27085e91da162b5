//! The app and its runtime: collectors of every style end to end against the mock API into
//! every backend, callbacks, reports, the scheduler under paused time, and the app's checks.

mod app_checks;
mod callbacks_and_misfits;
mod dynamic_models;
mod end_to_end;
mod fan_out;
mod fan_out_limits;
mod files;
mod handle;
mod incremental;
mod scheduler;

use chrono::{DateTime, Utc};
use hamstr::{
    Hamstr, Model, Service, ServiceWithCollectors, backend::MemoryBackend, paginate::NextLink,
    report::Report, testing::MockApi,
};
use serde::{Deserialize, Serialize};

/// A payment of the demo API, as a user would write it.
#[derive(Model, Serialize, Deserialize, Debug, Clone)]
#[hamstr(name = "payments")]
pub(crate) struct Payment {
    #[hamstr(primary_key)]
    pub(crate) id: String,
    #[serde(rename = "createdAt")]
    pub(crate) created_at: DateTime<Utc>,
    /// A nested struct: stored as JSON.
    pub(crate) amount: Amount,
    pub(crate) description: Option<String>,
    pub(crate) status: String,
    pub(crate) metadata: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct Amount {
    pub(crate) value: String,
    pub(crate) currency: String,
}

/// The demo API's payments service (`/v2/payments`, HAL next links), named `mollie`.
pub(crate) fn mollie(api: &MockApi) -> Service {
    Service::new(format!("{}v2/", api.url()))
        .name("mollie")
        .paginator(NextLink::at("_links.next.href"))
}

/// Logs to the test's output when `RUST_LOG` is set.
pub(crate) fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// One pass of `service`'s collectors into a fresh memory backend.
pub(crate) async fn collect_once(
    service: impl Into<ServiceWithCollectors>,
) -> (Report, MemoryBackend) {
    let store = MemoryBackend::new();
    let report = Hamstr::new()
        .backend(store.clone())
        .register_service(service)
        .run_once()
        .await
        .expect("the app's checks pass");
    (report, store)
}
