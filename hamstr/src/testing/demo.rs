//! The bundled demo API: a take-away restaurant that takes orders online (paid through a
//! Mollie-like payment provider) and in the shop. Examples and `hamstr mock` serve it, so
//! everything can be tried offline with no credentials.

use serde_json::{Value, json};

use super::{Collection, LinkStyle, MockApi, Paging};

/// How many payments the demo API holds.
pub const DEMO_PAYMENTS: usize = 120;
/// How many shop orders the demo API holds.
pub const DEMO_ORDERS: usize = 75;

impl MockApi {
    /// Starts a mock (as [`start`](MockApi::start)) serving the demo API; see
    /// [`serve_demo`](MockApi::serve_demo).
    pub async fn start_demo() -> MockApi {
        let api = MockApi::start().await;
        api.serve_demo();
        api
    }

    /// Adds the demo API's routes:
    /// - `/v2/payments`: [`DEMO_PAYMENTS`] Mollie-style payments in `_embedded.payments`, 50 a
    ///   page (`?limit=` up to 250), linked by `_links.next.href`;
    /// - `/shop/orders`: [`DEMO_ORDERS`] in-shop orders in `data`, `?page=N&per_page=S` (25 a
    ///   page), with the total in `meta.total`.
    pub fn serve_demo(&self) {
        self.route(
            "/v2/payments",
            Collection::new(payments(DEMO_PAYMENTS))
                .records_at("_embedded.payments")
                .paging(Paging::next_link(LinkStyle::Absolute).size_param("limit"))
                .page_size(50)
                .max_page_size(250)
                .extra("count_hint", json!(DEMO_PAYMENTS)),
        );
        self.route(
            "/shop/orders",
            Collection::new(orders(DEMO_ORDERS))
                .records_at("data")
                .paging(Paging::page_number().total("meta.total"))
                .page_size(25),
        );
    }
}

/// `count` payments, oldest first, the same on every call.
pub fn payments(count: usize) -> Vec<Value> {
    const STATUSES: [&str; 4] = ["paid", "paid", "open", "failed"];
    const METHODS: [&str; 3] = ["ideal", "creditcard", "bancontact"];
    (1..=count)
        .map(|n| {
            let cents = 750 + (n * 379) % 4200;
            json!({
                "resource": "payment",
                "id": format!("tr_{n:05}"),
                "mode": "test",
                "createdAt": timestamp(n * 17),
                "amount": {"value": format!("{}.{:02}", cents / 100, cents % 100), "currency": "EUR"},
                "description": format!("Order #{}", 1000 + n),
                "method": METHODS[n % METHODS.len()],
                "status": STATUSES[n % STATUSES.len()],
                "metadata": if n % 5 == 0 { json!({"table": n % 12}) } else { Value::Null },
            })
        })
        .collect()
}

/// `count` in-shop orders, oldest first, the same on every call.
pub fn orders(count: usize) -> Vec<Value> {
    const DISHES: [&str; 5] = [
        "pad thai",
        "green curry",
        "spring rolls",
        "tom yum",
        "mango sticky rice",
    ];
    (1..=count)
        .map(|n| {
            let items: Vec<&str> = (0..1 + n % 3)
                .map(|index| DISHES[(n + index) % DISHES.len()])
                .collect();
            json!({
                "id": n,
                "placed_at": timestamp(n * 23),
                "items": items,
                "total_cents": 1200 + (n * 211) % 3000,
                "paid_cash": n % 2 == 0,
                "note": if n % 7 == 0 { json!("no peanuts") } else { Value::Null },
            })
        })
        .collect()
}

/// An RFC 3339 time `minutes` after 2026-01-01T00:00:00Z (within 2026's first 28 days).
fn timestamp(minutes: usize) -> String {
    let minutes = minutes % (28 * 24 * 60);
    let (day, rest) = (minutes / (24 * 60), minutes % (24 * 60));
    format!(
        "2026-01-{:02}T{:02}:{:02}:00Z",
        day + 1,
        rest / 60,
        rest % 60
    )
}
