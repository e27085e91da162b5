//! The builder style: two services, a collector each with closures, into SQLite, offline.
//!
//! Run it from the repository's root: `cargo run -p payments` (add `-- --watch` to keep going
//! every 5 seconds until Ctrl-C). With `DATABASE_URL` set (`postgres://…`), it stores there
//! instead of `hamstr.db`.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use chrono::{DateTime, Utc};
use hamstr::{
    Backend, CollectorSpec, Hamstr, Model, Secret, Service,
    backend::{Direction, Query, Storage},
    model::{Schema, row_to_json},
    paginate::{NextLink, PageNumber},
    testing::{MockApi, MockAuth},
};
use serde::{Deserialize, Serialize};

/// A payment, as the payment provider sends it.
#[derive(Model, Deserialize, Debug)]
#[hamstr(name = "payments")]
struct Payment {
    #[hamstr(primary_key)]
    id: String,
    #[serde(rename = "createdAt")]
    created_at: DateTime<Utc>,
    amount: Amount,
    description: Option<String>,
    method: String,
    status: String,
}

/// Stored as JSON in the `amount` column.
#[derive(Serialize, Deserialize, Debug)]
struct Amount {
    value: String,
    currency: String,
}

/// An order placed in the shop.
#[derive(Model, Deserialize, Debug)]
#[hamstr(name = "orders")]
struct Order {
    id: i64,
    placed_at: DateTime<Utc>,
    items: Vec<String>,
    total_cents: i64,
    paid_cash: bool,
    note: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "hamstr=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let watch = std::env::args().any(|arg| arg == "--watch");

    // Local stand-ins for the two APIs (each serves the whole demo; we use one part of each).
    // The payment provider wants a bearer token.
    let provider = MockApi::start_demo().await;
    provider.require_auth(MockAuth::bearer("test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"));
    let till = MockApi::start_demo().await;

    let failed_dropped = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::clone(&failed_dropped);
    let mollie = Service::new(format!("{}v2/", provider.url()))
        .name("mollie")
        .bearer_auth(Secret::new("test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"))
        .paginator(NextLink::at("_links.next.href"))
        .add_collector(
            CollectorSpec::endpoint("payments")
                .records("_embedded.payments")
                .param("limit", "50")
                .model::<Payment>()
                .interval("5s")
                .on_records(move |batch| {
                    let dropped = Arc::clone(&dropped);
                    async move {
                        let before = batch.len();
                        batch.retain(|payment| payment.status != "failed");
                        dropped.fetch_add(before - batch.len(), Ordering::Relaxed);
                        Ok(())
                    }
                })
                .on_error(|error| tracing::warn!(%error, "payments")),
        );

    let shop = Service::new(format!("{}shop/", till.url()))
        .name("shop")
        .paginator(PageNumber::new().size("per_page", 25))
        .records("data")
        .add_collector(
            CollectorSpec::endpoint("orders")
                .model::<Order>()
                .interval("5s"),
        );

    // `DATABASE_URL` when it is set, else the SQLite file `hamstr.db`.
    let storage = Storage::parse(
        &std::env::var("DATABASE_URL").unwrap_or_else(|_| Storage::DEFAULT.to_owned()),
    )?;
    let store = storage.open()?;
    let app = Hamstr::new()
        .shared_backend(Arc::clone(&store))
        .register_service(mollie)
        .register_service(shop);
    if watch {
        println!("collecting every 5 s into {storage}; Ctrl-C stops");
        app.run().await?;
    } else {
        let report = app.run_once().await?;
        print!("{report}");
        println!(
            "{} failed payments dropped by the on_records callback",
            failed_dropped.load(Ordering::Relaxed)
        );
        anyhow::ensure!(report.is_success(), "a collector failed");
    }
    print_stored(store.as_ref(), &storage.to_string()).await?;
    Ok(())
}

/// Every stored row of `schema`'s model, as JSON objects, a page at a time.
async fn all_rows(
    store: &dyn Backend,
    schema: &Schema,
) -> anyhow::Result<Vec<serde_json::Map<String, serde_json::Value>>> {
    let mut rows = Vec::new();
    let mut query = Query::new().limit(500);
    loop {
        let page = store.query(schema, &query).await?;
        rows.extend(
            page.rows
                .iter()
                .map(|row| row_to_json(schema, row).into_iter().collect()),
        );
        match page.next {
            Some(next) => query = query.after(next),
            None => return Ok(rows),
        }
    }
}

/// What the store holds now, read back through the backend's reads (the same on every store).
async fn print_stored(store: &dyn Backend, shown: &str) -> anyhow::Result<()> {
    let payment_schema = Payment::schema();
    let payments = all_rows(store, &payment_schema).await?;
    let euros: f64 = payments
        .iter()
        .filter_map(|payment| payment["amount"]["value"].as_str()?.parse::<f64>().ok())
        .sum();
    let orders = all_rows(store, &Order::schema()).await?;
    let cents: i64 = orders
        .iter()
        .filter_map(|order| order["total_cents"].as_i64())
        .sum();
    println!(
        "{shown}: {} payments (EUR {euros:.2}), {} shop orders (EUR {:.2})",
        payments.len(),
        orders.len(),
        cents as f64 / 100.0
    );
    let latest = store
        .query(
            &payment_schema,
            &Query::new()
                .order_by("created_at", Direction::Descending)
                .limit(3),
        )
        .await?;
    println!("latest payments:");
    for row in &latest.rows {
        let payment = row_to_json(&payment_schema, row);
        println!(
            "  {}  {}  EUR {:>6}  {}",
            payment["id"].as_str().unwrap_or_default(),
            payment["created_at"].as_str().unwrap_or_default(),
            payment["amount"]["value"].as_str().unwrap_or_default(),
            payment["status"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}
