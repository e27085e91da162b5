//! The admin server against a running app and the mock API, through a real HTTP client: every
//! endpoint, its security, its OpenAPI document (checked by a validator), its metrics (parsed and
//! held against the run reports), and the status page in a real browser.

mod api;
mod browser;
mod metrics;
mod openapi;
mod records;
mod security;

use std::time::Duration;

use chrono::{DateTime, Utc};
use hamstr::{
    AppHandle, CollectorSpec, Hamstr, Model, Service,
    admin::{Admin, AdminServer},
    backend::MemoryBackend,
    events::{Event, Events},
    paginate::NextLink,
    state::RunRecord,
    testing::MockApi,
};
use serde_json::Value;

/// A payment of the demo API.
#[derive(Model, serde::Deserialize, Debug, Clone)]
#[hamstr(name = "payments")]
pub(crate) struct Payment {
    #[hamstr(primary_key)]
    pub(crate) id: String,
    #[serde(rename = "createdAt")]
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) status: String,
    pub(crate) method: Option<String>,
    pub(crate) description: Option<String>,
}

/// The demo API's payments (120, 50 a page) as service `mollie`, collector `payments`, hourly.
pub(crate) fn mollie(api: &MockApi) -> Service {
    Service::new(format!("{}v2/", api.url()))
        .name("mollie")
        .paginator(NextLink::at("_links.next.href"))
        .records("_embedded.payments")
}

pub(crate) fn payments_app(api: &MockApi, store: &MemoryBackend) -> Hamstr {
    Hamstr::new().backend(store.clone()).register_service(
        mollie(api).add_collector(
            CollectorSpec::endpoint("payments")
                .model::<Payment>()
                .interval("1h"),
        ),
    )
}

/// A running app with its admin server on a free loopback port.
pub(crate) struct Served {
    pub(crate) handle: AppHandle,
    pub(crate) admin: AdminServer,
    pub(crate) events: Events,
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
}

/// One answer: status, content type and body (as JSON when it is JSON).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) text: String,
    pub(crate) json: Value,
}

pub(crate) async fn serve(app: Hamstr) -> Served {
    serve_with(app, Admin::parse("127.0.0.1:0").expect("an address")).await
}

pub(crate) async fn serve_with(app: Hamstr, admin: Admin) -> Served {
    let events = app.subscribe();
    let handle = app.start().await.expect("the app starts");
    let admin = admin
        .serve(handle.control())
        .await
        .expect("the admin server starts");
    let base = format!("http://127.0.0.1:{}", admin.local_addr().port());
    Served {
        handle,
        admin,
        events,
        client: reqwest::Client::new(),
        base,
    }
}

impl Served {
    pub(crate) async fn get(&self, path: &str) -> Answer {
        answer(self.client.get(format!("{}{path}", self.base))).await
    }

    pub(crate) async fn post(&self, path: &str) -> Answer {
        answer(self.client.post(format!("{}{path}", self.base))).await
    }

    /// The next run that ends.
    pub(crate) async fn run_finished(&mut self) -> RunRecord {
        next_event(&mut self.events, |event| match event {
            Event::RunFinished { record } => Some(*record),
            _ => None,
        })
        .await
    }

    pub(crate) async fn stop(mut self) {
        self.handle.stop().await;
        self.admin.stop().await;
    }
}

/// The first event `pick` takes, within 30 s.
pub(crate) async fn next_event<T>(
    events: &mut Events,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> T {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let event = events.next().await.expect("the app is running");
            if let Some(picked) = pick(event) {
                return picked;
            }
        }
    })
    .await
    .expect("the event within 30 s")
}

pub(crate) async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("the admin server answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("a body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        content_type,
        text,
        json,
    }
}

impl Answer {
    /// Asserts a problem answer of `status` whose detail holds `detail`.
    #[track_caller]
    pub(crate) fn assert_problem(&self, status: u16, detail: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.text
        );
        assert_eq!(self.json["status"], status);
        let shown = self.json["detail"].as_str().unwrap_or_default();
        assert!(shown.contains(detail), "`{shown}` does not say `{detail}`");
    }
}
