//! The typed collection path, measured: raw JSON records decoded into a derived model and turned
//! into rows, then whole runs from the mock API into the memory and SQLite backends.
//!
//! `cargo bench -p hamstr --bench pipeline --features testing` prints records per second.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hamstr::{
    CollectorSpec, Hamstr, Model, Service,
    backend::{MemoryBackend, Sqlite},
    paginate::NextLink,
    testing::{Collection, LinkStyle, MockApi, Paging, demo},
};
use serde::{Deserialize, Serialize};

#[derive(Model, Deserialize)]
#[hamstr(name = "payments")]
struct Payment {
    id: String,
    #[serde(rename = "createdAt")]
    created_at: DateTime<Utc>,
    amount: Amount,
    description: Option<String>,
    method: String,
    status: String,
    metadata: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct Amount {
    value: String,
    currency: String,
}

const RECORDS: usize = 100_000;

fn main() {
    let records: Vec<Box<serde_json::value::RawValue>> = demo::payments(RECORDS)
        .iter()
        .map(|record| serde_json::value::to_raw_value(record).expect("JSON"))
        .collect();
    let started = Instant::now();
    let mut cells = 0;
    for record in &records {
        let payment: Payment = serde_json::from_str(record.get()).expect("fits");
        cells += payment.into_row().len();
    }
    report("decode + into_row", RECORDS, started.elapsed());
    assert_eq!(cells, RECORDS * 7);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let api = MockApi::start().await;
        api.route(
            "/v2/payments",
            Collection::new(demo::payments(RECORDS / 4))
                .records_at("_embedded.payments")
                .paging(Paging::next_link(LinkStyle::Absolute).size_param("limit"))
                .page_size(250)
                .max_page_size(250),
        );
        let service = || {
            Service::new(format!("{}v2/", api.url()))
                .name("mollie")
                .paginator(NextLink::at("_links.next.href"))
                .add_collector(
                    CollectorSpec::endpoint("payments")
                        .records("_embedded.payments")
                        .model::<Payment>(),
                )
        };
        let started = Instant::now();
        let run = Hamstr::new()
            .backend(MemoryBackend::new())
            .register_service(service())
            .run_once()
            .await
            .expect("checks pass");
        report(
            "mock API → memory (run_once)",
            run.runs[0].stored(),
            started.elapsed(),
        );

        let dir = tempfile::tempdir().expect("a temporary directory");
        let sqlite = Sqlite::open(dir.path().join("bench.db")).expect("a database");
        let started = Instant::now();
        let run = Hamstr::new()
            .backend(sqlite)
            .register_service(service())
            .run_once()
            .await
            .expect("checks pass");
        report(
            "mock API → SQLite (run_once)",
            run.runs[0].stored(),
            started.elapsed(),
        );
    });
}

#[allow(clippy::print_stdout)]
fn report(what: &str, records: usize, elapsed: Duration) {
    println!(
        "{what:<32} {records:>7} records in {:>7.1} ms: {:>9.0} records/s",
        elapsed.as_secs_f64() * 1000.0,
        records as f64 / elapsed.as_secs_f64()
    );
}
