//! The builder style: two services, a collector each with closures, into SQLite, offline.
//!
//! Run it from the repository's root: `cargo run -p payments` (add `-- --watch` to keep going
//! every 5 seconds until Ctrl-C).

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use chrono::{DateTime, Utc};
use hamstr::{
    CollectorSpec, Hamstr, Model, Secret, Service,
    backend::Sqlite,
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

    let app = Hamstr::new()
        .backend(Sqlite::open("hamstr.db")?)
        .register_service(mollie)
        .register_service(shop);
    if watch {
        println!("collecting every 5 s into hamstr.db; Ctrl-C stops");
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
    print_stored("hamstr.db")?;
    Ok(())
}

/// What `hamstr.db` holds now, read back with SQL.
fn print_stored(path: &str) -> anyhow::Result<()> {
    let db = rusqlite::Connection::open(path)?;
    let payments: (i64, f64) = db.query_row(
        "SELECT COUNT(*), COALESCE(SUM(CAST(json_extract(amount, '$.value') AS REAL)), 0) FROM payments",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let orders: (i64, i64) = db.query_row(
        "SELECT COUNT(*), COALESCE(SUM(total_cents), 0) FROM orders",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    println!(
        "hamstr.db: {} payments (EUR {:.2}), {} shop orders (EUR {:.2})",
        payments.0,
        payments.1,
        orders.0,
        orders.1 as f64 / 100.0
    );
    let mut latest = db.prepare(
        "SELECT id, created_at, json_extract(amount, '$.value'), status FROM payments ORDER BY created_at DESC LIMIT 3",
    )?;
    let rows = latest.query_map([], |row| {
        Ok(format!(
            "  {}  {}  EUR {:>6}  {}",
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?
        ))
    })?;
    println!("latest payments:");
    for row in rows {
        println!("{}", row?);
    }
    Ok(())
}
