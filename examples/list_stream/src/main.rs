//! Lists payments from the bundled demo API through hamstr's stream API, offline.
//!
//! Run it from the repository's root: `cargo run -p list_stream`.

use std::pin::pin;

use futures_util::TryStreamExt;
use hamstr::{Service, paginate::NextLink, testing::MockApi};
use serde::Deserialize;

/// The part of a payment this example cares about; other fields are ignored.
#[derive(Debug, Deserialize)]
struct Payment {
    id: String,
    #[serde(rename = "createdAt")]
    created_at: String,
    amount: Amount,
    status: String,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Amount {
    value: String,
    currency: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A local stand-in for the payment provider's API, on 127.0.0.1 and a free port.
    let api = MockApi::start_demo().await;

    let mollie = Service::new(format!("{}v2/", api.url()))
        .name("mollie")
        .paginator(NextLink::at("_links.next.href"))
        .records("_embedded.payments");

    // One page at a time: records arrive while later pages are still to be fetched.
    let mut payments = pin!(mollie.list_as::<Payment>("payments"));
    let mut count = 0;
    while let Some(payment) = payments.try_next().await? {
        count += 1;
        println!(
            "{}  {}  {:>7} {}  {:<7} {}",
            payment.id,
            payment.created_at,
            payment.amount.value,
            payment.amount.currency,
            payment.status,
            payment.description.as_deref().unwrap_or("-"),
        );
    }

    let list_requests = api.request_count();

    // Statistics go to stderr, so stdout holds only the records.
    let first_open = mollie.search("payments", "open").try_next().await?;
    let one = mollie
        .endpoint("payments")
        .lookup(hamstr::service::Lookup::scan("id"))
        .get("tr_00042")
        .await?;
    eprintln!(
        "listed {count} payments in {list_requests} requests; first open payment: {}; tr_00042 costs {}",
        first_open.map_or("none".to_owned(), |payment| payment["id"].to_string()),
        one.map_or("?".to_owned(), |payment| payment["amount"]["value"]
            .to_string()),
    );
    Ok(())
}
