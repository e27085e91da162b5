//! `hamstr run --only`: some collectors run, the others stay planned; a name no collector has
//! is refused before any request.

use hamstr::testing::{Collection, MockApi};
use serde_json::json;

use super::{hamstr, text};

const PROJECT: &str = "
storage: sqlite://shop.db
services:
  shop:
    base_url: URL
    records: data
    collectors:
      /orders: {model: {id: integer}}
      /refunds: {model: {id: integer}}
      /payments: {model: {id: integer}}
";

#[tokio::test(flavor = "multi_thread")]
async fn only_the_named_collectors_run() {
    let api = MockApi::start().await;
    for path in ["/orders", "/refunds", "/payments"] {
        api.route(
            path,
            Collection::new(vec![json!({"id": 1})]).records_at("data"),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hamstr.yml"),
        PROJECT.replace("URL", &api.url()),
    )
    .unwrap();

    let run = hamstr(
        dir.path(),
        &[
            "run",
            "hamstr.yml",
            "--once",
            "--only",
            "orders",
            "shop/refunds",
        ],
        &[],
    )
    .await;
    assert!(run.status.success(), "{}", text(&run.stderr));
    let mut asked: Vec<String> = api.all_requests().iter().map(|r| r.path.clone()).collect();
    asked.sort();
    assert_eq!(asked, ["/orders", "/refunds"]);

    let refused = hamstr(
        dir.path(),
        &[
            "run",
            "hamstr.yml",
            "--once",
            "--only",
            "orders",
            "invoices",
        ],
        &[],
    )
    .await;
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    let message = text(&refused.stderr);
    assert!(
        message.contains("invoices") && message.contains("shop/payments"),
        "{message}"
    );
    assert_eq!(
        api.request_count(),
        2,
        "nothing sent for a refused selection"
    );
}
