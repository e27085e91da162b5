//! Both API styles, from the mock API into each backend, read back the way a user would.

use std::{sync::Arc, time::Duration};

use hamstr::{
    Backend, Collector, CollectorSpec, Hamstr, Service,
    backend::{JsonLines, MemoryBackend, Sqlite},
    paginate::PageNumber,
    state::Incremental,
    testing::{MockApi, demo::DEMO_PAYMENTS},
};

use crate::{Payment, init_logs, mollie};

/// The derive style: a collector type that names its service, endpoint, model and interval.
#[derive(Collector)]
#[hamstr(
    service = "mollie",
    endpoint = "payments",
    records = "_embedded.payments",
    model = Payment,
    interval = "5s",
    params(limit = 50)
)]
struct PaymentsCollector;

/// The derive style with an incremental strategy: each run asks for the payments created since
/// the newest one stored, minus ten minutes.
#[derive(Collector)]
#[hamstr(
    service = "mollie",
    endpoint = "payments",
    records = "_embedded.payments",
    model = Payment,
    incremental(strategy = "cursor_field", field = "createdAt", param = "since", lookback = "10m")
)]
struct NewPaymentsCollector;

/// Builder-style collector into SQLite: every payment lands in its own table, typed columns
/// and JSON for the nested amount, read back with plain SQL.
#[tokio::test]
async fn builder_collector_fills_sqlite() {
    init_logs();
    let api = MockApi::start_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hamstr.db");
    let service = mollie(&api).add_collector(
        CollectorSpec::endpoint("payments")
            .records("_embedded.payments")
            .model::<Payment>()
            .interval("5s"),
    );
    let report = Hamstr::new()
        .backend(Sqlite::open(&path).unwrap())
        .register_service(service)
        .run_once()
        .await
        .unwrap();
    assert!(report.is_success(), "{report}");
    let run = report.run("mollie", "payments").unwrap();
    assert_eq!(
        (run.pages, run.records, run.inserted),
        (3, DEMO_PAYMENTS, DEMO_PAYMENTS)
    );

    let connection = rusqlite::Connection::open(&path).unwrap();
    let count: i64 = connection
        .query_row("SELECT COUNT(*) FROM payments", [], |row| row.get(0))
        .unwrap();
    assert_eq!(count, DEMO_PAYMENTS as i64);
    let (created_at, amount, description): (String, String, Option<String>) = connection
        .query_row(
            "SELECT created_at, amount, description FROM payments WHERE id = 'tr_00002'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!(created_at, "2026-01-01T00:34:00Z");
    let amount: serde_json::Value = serde_json::from_str(&amount).unwrap();
    assert_eq!(amount["currency"], "EUR");
    assert_eq!(description.as_deref(), Some("Order #1002"));
    let null_metadata: i64 = connection
        .query_row(
            "SELECT COUNT(*) FROM payments WHERE metadata IS NULL",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(null_metadata, (DEMO_PAYMENTS - DEMO_PAYMENTS / 5) as i64);
}

/// The derive style into the memory backend: the derived collector sends its parameters,
/// and a second pass updates the same rows instead of adding new ones.
#[tokio::test]
async fn derived_collector_fills_memory_and_upserts() {
    let api = MockApi::start_demo().await;
    let store = MemoryBackend::new();
    let app = || {
        Hamstr::new()
            .backend(store.clone())
            .register_service(mollie(&api))
            .add_collector(PaymentsCollector)
    };
    let first = app().run_once().await.unwrap();
    let second = app().run_once().await.unwrap();
    assert_eq!(first.runs[0].inserted, DEMO_PAYMENTS);
    assert_eq!(
        (
            second.runs[0].inserted,
            second.runs[0].updated,
            second.runs[0].unchanged
        ),
        (0, 0, DEMO_PAYMENTS)
    );
    let records = store.records("payments");
    assert_eq!(records.len(), DEMO_PAYMENTS);
    assert_eq!(records[0]["id"], "tr_00001");
    assert_eq!(records[0]["amount"]["currency"], "EUR");
    let requests = api.requests("/v2/payments");
    assert_eq!(requests.len(), 6);
    assert_eq!(requests[0].param("limit"), Some("50"));
}

/// A derived collector's `incremental(...)` is its settings' strategy, and its runs follow it:
/// the second sends the newest `createdAt` the first stored, minus the look-back, as `since`.
#[tokio::test]
async fn derived_collector_follows_its_incremental_strategy() {
    assert_eq!(
        NewPaymentsCollector.settings().incremental_strategy(),
        &Incremental::from(
            Incremental::cursor_field("createdAt", "since").lookback(Duration::from_secs(600))
        )
    );
    assert_eq!(
        PaymentsCollector.settings().incremental_strategy(),
        &Incremental::FullRefresh
    );
    let api = MockApi::start_demo().await;
    let store = MemoryBackend::new();
    let mut pages = Vec::new();
    for _ in 0..2 {
        let report = Hamstr::new()
            .backend(store.clone())
            .register_service(mollie(&api))
            .add_collector(NewPaymentsCollector)
            .run_once()
            .await
            .unwrap();
        assert!(report.is_success(), "{report}");
        pages.push(report.runs[0].pages);
    }
    let requests = api.requests("/v2/payments");
    assert_eq!(requests.len(), pages[0] + pages[1]);
    assert_eq!(requests[0].param("since"), None);
    // The newest demo payment was created at 2026-01-02T10:00:00Z.
    assert_eq!(
        requests[pages[0]].param("since"),
        Some("2026-01-02T09:50:00Z")
    );
}

/// JSON Lines: one file per model, one object per record, the nested amount as an object.
#[tokio::test]
async fn builder_collector_fills_json_lines() {
    let api = MockApi::start_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let service = mollie(&api).add_collector(
        CollectorSpec::endpoint("payments")
            .records("_embedded.payments")
            .model::<Payment>(),
    );
    let report = Hamstr::new()
        .backend(JsonLines::dir(dir.path()).unwrap())
        .register_service(service)
        .run_once()
        .await
        .unwrap();
    assert!(report.is_success(), "{report}");
    let text = std::fs::read_to_string(dir.path().join("payments.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), DEMO_PAYMENTS);
    assert_eq!(lines[4]["id"], "tr_00005");
    assert_eq!(lines[4]["metadata"]["table"], 5);
    assert_eq!(lines[4]["amount"]["currency"], "EUR");
}

/// A model that gains a field gains a column on the next start; rows stored before keep NULL.
#[tokio::test]
async fn a_new_model_field_adds_a_column() {
    #[derive(hamstr::Model, serde::Deserialize)]
    #[hamstr(name = "payments")]
    struct Before {
        id: String,
        status: String,
    }
    #[derive(hamstr::Model, serde::Deserialize)]
    #[hamstr(name = "payments")]
    struct After {
        id: String,
        status: String,
        method: Option<String>,
    }
    let api = MockApi::start_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hamstr.db");
    async fn run<M: hamstr::Model>(
        api: &MockApi,
        path: &std::path::Path,
        spec: CollectorSpec<M>,
    ) -> hamstr::report::Report {
        Hamstr::new()
            .backend(Sqlite::open(path).unwrap())
            .register_service(mollie(api).add_collector(spec))
            .run_once()
            .await
            .unwrap()
    }
    let endpoint = || CollectorSpec::endpoint("payments").records("_embedded.payments");
    let first = run(&api, &path, endpoint().model::<Before>()).await;
    assert!(first.is_success(), "{first}");
    // The next start sees only new payments, so the rows stored before are not written again.
    let new = hamstr::testing::demo::payments(130)
        .into_iter()
        .skip(120)
        .collect();
    api.set_records("/v2/payments", new);
    let second = run(&api, &path, endpoint().model::<After>()).await;
    assert!(second.is_success(), "{second}");
    assert_eq!(second.runs[0].inserted, 10);

    let connection = rusqlite::Connection::open(&path).unwrap();
    let columns: Vec<String> = connection
        .prepare("SELECT name FROM pragma_table_info('payments')")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(columns, ["id", "status", "method"]);
    let method = |id: &str| -> Option<String> {
        connection
            .query_row("SELECT method FROM payments WHERE id = ?1", [id], |row| {
                row.get(0)
            })
            .unwrap()
    };
    assert_eq!(method("tr_00001"), None);
    assert!(method("tr_00125").is_some());
}

#[derive(hamstr::Model, serde::Deserialize)]
#[hamstr(name = "orders")]
struct ShopOrder {
    id: i64,
    placed_at: chrono::DateTime<chrono::Utc>,
    items: Vec<String>,
    note: Option<String>,
}

/// The two API styles side by side (a derived collector of payments, a builder collector of
/// shop orders) into each backend, each read back its own way: the same rows everywhere.
#[tokio::test]
async fn both_styles_fill_every_backend() {
    let api = MockApi::start_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("hamstr.db");
    let lines = dir.path().join("lines");
    let memory = MemoryBackend::new();
    let backends: [(&str, Arc<dyn Backend>); 3] = [
        ("memory", Arc::new(memory.clone())),
        ("sqlite", Arc::new(Sqlite::open(&database).unwrap())),
        ("jsonl", Arc::new(JsonLines::dir(&lines).unwrap())),
    ];
    for (kind, backend) in backends {
        let shop = Service::new(format!("{}shop/", api.url()))
            .name("shop")
            .paginator(PageNumber::new().size("per_page", 25))
            .records("data")
            .add_collector(CollectorSpec::endpoint("orders").model::<ShopOrder>());
        let report = Hamstr::new()
            .shared_backend(backend)
            .register_service(mollie(&api))
            .register_service(shop)
            .add_collector(PaymentsCollector)
            .run_once()
            .await
            .unwrap();
        assert!(report.is_success(), "{kind}: {report}");
        let count = |table: &str| -> usize {
            match kind {
                "memory" => memory.records(table).len(),
                "sqlite" => rusqlite::Connection::open(&database)
                    .unwrap()
                    .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
                        row.get::<_, i64>(0)
                    })
                    .unwrap() as usize,
                _ => std::fs::read_to_string(lines.join(format!("{table}.jsonl")))
                    .unwrap()
                    .lines()
                    .count(),
            }
        };
        assert_eq!(count("payments"), DEMO_PAYMENTS, "{kind}");
        assert_eq!(
            count("orders"),
            hamstr::testing::demo::DEMO_ORDERS,
            "{kind}"
        );
    }
}

/// An observer sees each run start, each page with its record count, and each report.
#[tokio::test]
async fn an_observer_sees_runs_as_they_go() {
    use std::sync::Mutex;

    use hamstr::{
        backend::CollectorId,
        report::{Observer, RunReport},
    };

    #[derive(Default)]
    struct Events(Mutex<Vec<String>>);
    impl Observer for Events {
        fn run_started(&self, collector: &CollectorId) {
            self.0.lock().unwrap().push(format!("start {collector}"));
        }
        fn page_fetched(&self, collector: &CollectorId, records: usize) {
            self.0
                .lock()
                .unwrap()
                .push(format!("page {collector} {records}"));
        }
        fn run_finished(&self, report: &RunReport) {
            self.0
                .lock()
                .unwrap()
                .push(format!("end {} {}", report.collector, report.stored()));
        }
    }
    let api = MockApi::start_demo().await;
    let events = Arc::new(Events::default());
    Hamstr::new()
        .backend(MemoryBackend::new())
        .register_service(mollie(&api))
        .add_collector(PaymentsCollector)
        .observe(Arc::clone(&events))
        .run_once()
        .await
        .unwrap();
    assert_eq!(
        *events.0.lock().unwrap(),
        [
            "start mollie/payments",
            "page mollie/payments 50",
            "page mollie/payments 50",
            "page mollie/payments 20",
            "end mollie/payments 120",
        ]
    );
}
