//! Browsing the stored records: filters, order, keyset paging across every page, one by key,
//! and clear answers to what does not fit.

use std::collections::BTreeSet;

use hamstr::backend::MemoryBackend;
use hamstr::testing::MockApi;
use serde_json::Value;

use super::{Served, payments_app, serve};

/// Follows `next` from `path` to the last page; every id seen, in order, and each page's count.
async fn every_page(served: &Served, path: &str) -> (Vec<String>, Vec<u64>) {
    let (mut ids, mut counts) = (Vec::new(), Vec::new());
    let mut next = Some(path.to_owned());
    while let Some(path) = next {
        let page = served.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        counts.push(page.json["count"].as_u64().expect("a count"));
        for record in page.json["results"].as_array().expect("results") {
            ids.push(record["id"].as_str().expect("an id").to_owned());
        }
        next = page.json["next"].as_str().map(str::to_owned);
    }
    (ids, counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsing_returns_exactly_the_stored_records() {
    let api = MockApi::start_demo().await;
    let store = MemoryBackend::new();
    let mut served = serve(payments_app(&api, &store)).await;
    served.run_finished().await;
    let stored = store.records("payments");
    let stored_ids: BTreeSet<String> = stored
        .iter()
        .map(|row| row["id"].as_str().expect("an id").to_owned())
        .collect();

    let models = served.get("/api/models").await;
    let payments = &models.json["models"][0];
    assert_eq!(payments["name"], "payments", "{}", models.text);
    assert_eq!(payments["primary_key"], serde_json::json!(["id"]));
    assert_eq!(
        payments["collectors"],
        serde_json::json!(["mollie/payments"])
    );

    // Every record once, newest first, 7 to a page.
    let (ids, counts) = every_page(
        &served,
        "/api/models/payments/records?limit=7&order=-created_at",
    )
    .await;
    assert_eq!(ids.len(), 120, "no gap, no duplicate");
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), stored_ids);
    assert_eq!(counts.len(), 18, "120 / 7, rounded up");
    assert!(counts.iter().all(|&count| count == 120));
    let first = served
        .get("/api/models/payments/records?limit=2&order=-created_at")
        .await;
    let dates: Vec<&str> = first.json["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|record| record["created_at"].as_str().expect("a date"))
        .collect();
    assert!(dates[0] >= dates[1], "descending: {dates:?}");

    // Filters: exactly the stored records that match.
    let paid: BTreeSet<String> = stored
        .iter()
        .filter(|row| row["status"] == "paid")
        .map(|row| row["id"].as_str().expect("an id").to_owned())
        .collect();
    assert!(!paid.is_empty() && paid.len() < 120);
    let (ids, _) = every_page(&served, "/api/models/payments/records?status=paid&limit=9").await;
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), paid);
    assert_eq!(ids.len(), paid.len());
    let since = "2026-01-02T00:00:00Z";
    let recent = stored
        .iter()
        .filter(|row| row["created_at"].as_str().is_some_and(|at| at >= since))
        .count();
    let filtered = served
        .get(&format!(
            "/api/models/payments/records?created_at__gte={since}&status__ne=nothing"
        ))
        .await;
    assert_eq!(filtered.json["count"], recent, "{}", filtered.text);
    let without = served
        .get("/api/models/payments/records?description__isnull=true")
        .await;
    assert_eq!(without.json["count"], 0, "{}", without.text);

    // One record by key, as stored.
    let id = stored_ids.iter().next().expect("an id");
    let one = served
        .get(&format!("/api/models/payments/records/{id}"))
        .await;
    assert_eq!(one.json["id"], Value::String(id.clone()), "{}", one.text);
    let row = stored
        .iter()
        .find(|row| row["id"] == *id.as_str())
        .expect("stored");
    assert_eq!(one.json["status"], row["status"]);
    served
        .get("/api/models/payments/records/tr_nope")
        .await
        .assert_problem(404, "no record of `payments` has the key `tr_nope`");

    // What does not fit is named.
    served
        .get("/api/models/payments/records?colour=red")
        .await
        .assert_problem(400, "no field `colour`");
    served
        .get("/api/models/payments/records?created_at__gte=yesterday")
        .await
        .assert_problem(400, "`yesterday` is not a datetime value");
    served
        .get("/api/models/payments/records?status__like=p")
        .await
        .assert_problem(400, "no operator `like`");
    served
        .get("/api/models/payments/records?order=-colour")
        .await
        .assert_problem(400, "colour");
    served
        .get("/api/models/payments/records?cursor=garbage")
        .await
        .assert_problem(400, "payments");
    served
        .get("/api/models/payments/records?limit=0")
        .await
        .assert_problem(400, "limit `0`");
    served
        .get("/api/models/refunds/records")
        .await
        .assert_problem(404, "no model is named `refunds`");
    let clamped = served
        .get("/api/models/payments/records?limit=100000")
        .await;
    assert_eq!(clamped.json["limit"], 1000);
    assert_eq!(clamped.json["results"].as_array().map(Vec::len), Some(120));
    assert!(clamped.json["notice"].is_string(), "{}", clamped.text);
    served.stop().await;
}
