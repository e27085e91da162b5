//! Callbacks that change and drop records, records that do not fit, failures that end a run,
//! and collectors whose collect step is the user's own code.

use std::sync::{Arc, Mutex};

use futures_util::TryStreamExt;
use hamstr::{
    Collector, CollectorSpec, Hamstr, Model, Service,
    backend::MemoryBackend,
    collector::{CollectError, CollectorSettings, Run},
    paginate::PageNumber,
    service::RetryPolicy,
    testing::{Collection, Fault, MockApi, MockResponse, Paging},
};
use serde_json::json;

use crate::{Payment, collect_once, mollie};

#[derive(Model, serde::Deserialize, Debug, Clone)]
#[hamstr(name = "orders")]
struct Order {
    id: i64,
    placed_at: chrono::DateTime<chrono::Utc>,
    total_cents: i64,
}

fn orders(count: usize) -> Vec<serde_json::Value> {
    (1..=count)
        .map(|id| json!({"id": id, "placed_at": "2026-01-01T12:00:00Z", "total_cents": id * 100}))
        .collect()
}

/// The shop API: `/orders`, 10 a page by page number, records in `data`.
fn shop(api: &MockApi, records: Vec<serde_json::Value>) -> Service {
    api.route(
        "/orders",
        Collection::new(records)
            .records_at("data")
            .paging(Paging::page_number())
            .page_size(10),
    );
    Service::new(api.url())
        .name("shop")
        .paginator(PageNumber::new())
        .records("data")
}

/// Collects every error passed to `on_error`, as text.
fn error_log() -> (
    Arc<Mutex<Vec<String>>>,
    impl Fn(&CollectError) + Send + Sync + 'static,
) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    (log, move |error: &CollectError| {
        sink.lock().unwrap().push(error.to_string())
    })
}

/// An on_records callback may drop and change records; only what it leaves is stored, and the
/// report counts what it dropped.
#[tokio::test]
async fn callbacks_transform_and_drop_records_before_storage() {
    let api = MockApi::start_demo().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let pages = Arc::clone(&seen);
    let service = mollie(&api).add_collector(
        CollectorSpec::endpoint("payments")
            .records("_embedded.payments")
            .model::<Payment>()
            .on_records(move |batch| {
                pages.lock().unwrap().push(batch.len());
                async move {
                    batch.retain(|payment| payment.status == "paid");
                    batch.for_each_mut(|payment| payment.description = None);
                    Ok(())
                }
            }),
    );
    let (report, store) = collect_once(service).await;
    let run = &report.runs[0];
    assert_eq!(*seen.lock().unwrap(), [50, 50, 20]);
    let stored = store.records("payments");
    assert_eq!(stored.len(), 60, "half of the demo payments are paid");
    assert!(stored.iter().all(|payment| payment["status"] == "paid"));
    assert!(
        stored
            .iter()
            .all(|payment| payment["description"].is_null())
    );
    assert_eq!((run.records, run.dropped, run.inserted), (120, 60, 60));
}

/// A record that does not fit its model is reported (on_error, the report, with the field's
/// path) and counted; the run goes on and stores every other record.
#[tokio::test]
async fn a_misfit_record_is_reported_and_the_rest_stored() {
    let api = MockApi::start().await;
    let mut records = orders(25);
    records[12]["placed_at"] = json!("yesterday");
    records[20]["total_cents"] = json!("a lot");
    let (errors, on_error) = error_log();
    let service = shop(&api, records).add_collector(
        CollectorSpec::endpoint("orders")
            .model::<Order>()
            .on_error(on_error),
    );
    let (report, store) = collect_once(service).await;
    let run = &report.runs[0];
    assert!(run.is_success(), "{run}");
    // Three pages of records and the empty fourth that ends a page-number walk.
    assert_eq!((run.pages, run.records, run.skipped), (4, 23, 2));
    assert_eq!(store.records("orders").len(), 23);
    let errors = errors.lock().unwrap();
    assert_eq!(errors.len(), 2);
    assert!(
        errors[0].contains("record 2 does not fit: at `placed_at`"),
        "{}",
        errors[0]
    );
    assert!(errors[1].contains("at `total_cents`"), "{}", errors[1]);
    let CollectError::Decode(first) = &run.skipped_records[0] else {
        panic!("{:?}", run.skipped_records[0]);
    };
    assert_eq!((first.index, first.path.as_str()), (2, "placed_at"));
    assert!(first.url.to_string().contains("page=2"));
}

/// A run in which every record was skipped stored nothing it should have: it fails, and its
/// skipped records say why. A misfit's message has no line and column of the re-parsed record.
#[tokio::test]
async fn a_run_whose_every_record_was_skipped_fails() {
    let api = MockApi::start().await;
    let records: Vec<_> = orders(3)
        .into_iter()
        .map(|mut order| {
            order["placed_at"] = json!(17);
            order
        })
        .collect();
    let service =
        shop(&api, records).add_collector(CollectorSpec::endpoint("orders").model::<Order>());
    let (report, store) = collect_once(service).await;
    let run = &report.runs[0];
    assert!(!run.is_success(), "{run}");
    assert!(!report.is_success());
    let Some(CollectError::AllSkipped { skipped, .. }) = &run.failure else {
        panic!("{:?}", run.failure);
    };
    assert_eq!(*skipped, 3);
    // The failure alone says why, from the first skipped record.
    let failure = run.failure.as_ref().unwrap().to_string();
    assert!(failure.contains("the first: "), "{failure}");
    assert!(
        failure.contains("does not fit: at `placed_at`"),
        "{failure}"
    );
    assert_eq!(store.records("orders").len(), 0);
    let first = run.skipped_records[0].to_string();
    assert!(
        first.contains("record 0 does not fit: at `placed_at`"),
        "{first}"
    );
    assert!(!first.contains(" at line "), "{first}");
    // Two pages (the records and the empty one that ends the walk), counted in words that agree.
    assert!(run.to_string().contains(": 2 pages, 0 records,"), "{run}");
}

/// A page whose records cannot be taken out of it still counts as fetched; one page reads "1 page".
#[tokio::test]
async fn a_page_without_its_records_path_is_counted() {
    let api = MockApi::start().await;
    api.route("/orders", MockResponse::json(json!({"items": []})));
    let service = Service::new(api.url())
        .name("shop")
        .records("data")
        .add_collector(CollectorSpec::endpoint("orders").model::<Order>());
    let (report, _store) = collect_once(service).await;
    let run = &report.runs[0];
    assert!(
        matches!(run.failure, Some(CollectError::Records(_))),
        "{run}"
    );
    assert_eq!(run.pages, 1);
    assert!(run.to_string().contains(": 1 page, 0 records,"), "{run}");
}

/// A failing page ends the run: the pages before it stay stored, the failure is reported to
/// on_error and in the report, and another collector in the same pass is not affected.
#[tokio::test]
async fn a_failing_page_keeps_earlier_pages_and_spares_other_collectors() {
    let api = MockApi::start_demo().await;
    let (errors, on_error) = error_log();
    // Not retried here: a server error that persists (retries are tested in tests/http).
    let shop_service = shop(&api, orders(25))
        .retry(RetryPolicy::none())
        .add_collector(
            CollectorSpec::endpoint("orders")
                .model::<Order>()
                .on_error(on_error),
        );
    // The first page answers normally, the second with a 500.
    api.inject("/orders", Fault::Delay(std::time::Duration::ZERO), 1);
    api.inject("/orders", Fault::Status(500), 1);
    let payments = mollie(&api).add_collector(
        CollectorSpec::endpoint("payments")
            .records("_embedded.payments")
            .model::<Payment>(),
    );
    let store = MemoryBackend::new();
    let report = Hamstr::new()
        .backend(store.clone())
        .register_service(shop_service)
        .register_service(payments)
        .run_once()
        .await
        .unwrap();
    assert!(!report.is_success());
    let orders_run = report.run("shop", "orders").unwrap();
    let failure = orders_run.failure.as_ref().unwrap().to_string();
    assert!(failure.contains("500"), "{failure}");
    assert_eq!((orders_run.pages, orders_run.inserted), (1, 10));
    assert_eq!(store.records("orders").len(), 10);
    assert_eq!(*errors.lock().unwrap(), [failure]);
    assert!(report.run("mollie", "payments").unwrap().is_success());
    assert_eq!(store.records("payments").len(), 120);
}

/// An on_records error ends the run without storing that batch, and is reported.
#[tokio::test]
async fn a_failing_callback_stops_the_run_without_storing_its_batch() {
    let api = MockApi::start().await;
    let (errors, on_error) = error_log();
    let service = shop(&api, orders(25)).add_collector(
        CollectorSpec::endpoint("orders")
            .model::<Order>()
            .on_records(|batch| async move {
                if batch.read(|orders| orders.iter().any(|order| order.id == 15)) {
                    return Err("the kitchen printer is offline".into());
                }
                Ok(())
            })
            .on_error(on_error),
    );
    let (report, store) = collect_once(service).await;
    let run = &report.runs[0];
    assert!(matches!(run.failure, Some(CollectError::Callback { .. })));
    assert_eq!(store.records("orders").len(), 10);
    assert_eq!(run.pages, 2);
    let shown = run.to_string();
    assert!(shown.contains("the kitchen printer is offline"), "{shown}");
    // The error alone, printed with `{}`, carries its cause too.
    let failure = run.failure.as_ref().unwrap().to_string();
    assert!(
        failure.ends_with(": the kitchen printer is offline"),
        "{failure}"
    );
    assert_eq!(errors.lock().unwrap().len(), 1);
}

/// A hand-written collector whose collect step calls the API itself and maps what it got.
struct BigOrders {
    minimum_cents: i64,
}

#[hamstr::async_trait]
impl Collector for BigOrders {
    type Model = Order;

    fn settings(&self) -> CollectorSettings {
        CollectorSettings::new().name("big_orders").service("shop")
    }

    async fn collect(&self, run: &mut Run<'_, Order>) -> Result<(), CollectError> {
        let orders: Vec<Order> = run.service().list_as("orders").try_collect().await?;
        let big = orders
            .into_iter()
            .filter(|order| order.total_cents >= self.minimum_cents)
            .collect();
        run.emit(big).await?;
        Ok(())
    }
}

/// A hand-written collector that maps each page of its endpoint itself.
struct Doubled;

#[hamstr::async_trait]
impl Collector for Doubled {
    type Model = Order;

    fn settings(&self) -> CollectorSettings {
        CollectorSettings::endpoint("orders")
            .name("doubled")
            .service("shop")
    }

    async fn collect(&self, run: &mut Run<'_, Order>) -> Result<(), CollectError> {
        let mut pages = std::pin::pin!(run.pages());
        while let Some(page) = pages.try_next().await? {
            let mut orders = Vec::new();
            for order in page.decode::<Order>() {
                match order {
                    Ok(mut order) => {
                        order.total_cents *= 2;
                        orders.push(order);
                    }
                    Err(misfit) => run.skip(misfit),
                }
            }
            run.emit(orders).await?;
        }
        Ok(())
    }
}

/// Custom collect steps: one calls the service directly, one maps the endpoint's pages; both
/// store through the same backend, callbacks and report.
#[tokio::test]
async fn custom_collectors_call_the_api_themselves() {
    let api = MockApi::start().await;
    let service = shop(&api, orders(25));
    let big = MemoryBackend::new();
    let report = Hamstr::new()
        .backend(big.clone())
        .register_service(service.clone())
        .add_collector(BigOrders {
            minimum_cents: 2_000,
        })
        .run_once()
        .await
        .unwrap();
    assert!(report.is_success(), "{report}");
    assert_eq!(big.records("orders").len(), 6);

    let doubled = MemoryBackend::new();
    let report = Hamstr::new()
        .backend(doubled.clone())
        .register_service(service)
        .add_collector(Doubled)
        .run_once()
        .await
        .unwrap();
    assert_eq!(report.runs[0].pages, 4);
    let records = doubled.records("orders");
    assert_eq!(records.len(), 25);
    assert_eq!(records[0]["total_cents"], 200);
}
