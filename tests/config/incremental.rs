//! `incremental:` in a collector: every strategy with its keys and defaults, and the strategy
//! reaching the collector's runs through `Project::into_app`.

use std::time::Duration;

use hamstr::{
    config::Storage,
    state::Incremental,
    testing::{MockApi, demo::DEMO_PAYMENTS},
};

use crate::parse;

/// The strategy of a project's only collector, given its `incremental:` line (or none).
fn strategy_of(incremental: &str) -> Incremental {
    let source = format!(
        "services:\n  api:\n    base_url: https://api.example.com/\n    collectors:\n      /orders:\n{incremental}        model: {{id: string}}\n"
    );
    match parse(&source) {
        Ok(mut project) => project.services.remove(0).collectors.remove(0).incremental,
        Err(error) => panic!("{incremental}\n{}", error.render()),
    }
}

/// Each strategy takes its keys; `seek` defaults to `from` and `id`; without the key, or with
/// it empty, a collector reads everything on every run.
#[test]
fn every_strategy_is_read_with_its_keys_and_defaults() {
    for (incremental, expected) in [
        ("", Incremental::FullRefresh),
        ("        incremental:\n", Incremental::FullRefresh),
        (
            "        incremental: {strategy: full_refresh}\n",
            Incremental::FullRefresh,
        ),
        (
            "        incremental: {strategy: seek}\n",
            Incremental::seek("from", "id"),
        ),
        (
            "        incremental: {strategy: seek, param: starting_after, id_field: data.uuid}\n",
            Incremental::seek("starting_after", "data.uuid"),
        ),
        (
            "        incremental: {strategy: stop_when_seen, field: created_at}\n",
            Incremental::stop_when_seen("created_at"),
        ),
        (
            "        incremental: {strategy: cursor_field, field: meta.updated_at, param: updated_after}\n",
            Incremental::cursor_field("meta.updated_at", "updated_after").into(),
        ),
        (
            "        incremental:\n          strategy: cursor_field\n          field: updated_at\n          param: since\n          lookback: 10m\n",
            Incremental::cursor_field("updated_at", "since")
                .lookback(Duration::from_secs(600))
                .into(),
        ),
        (
            "        incremental: {strategy: cursor_field, field: updated_at, param: since, lookback: {hours: 1, minutes: 30}}\n",
            Incremental::cursor_field("updated_at", "since")
                .lookback(Duration::from_secs(5_400))
                .into(),
        ),
        (
            "        incremental: {strategy: \"${STRATEGY:-stop_when_seen}\", field: \"${FIELD:-id}\"}\n",
            Incremental::stop_when_seen("id"),
        ),
    ] {
        assert_eq!(strategy_of(incremental), expected, "{incremental}");
    }
}

/// An unknown strategy is shown with a caret under the value, and the strategies to choose from.
#[test]
fn an_unknown_strategy_is_shown_at_its_value() {
    let source = "services:\n  api:\n    base_url: https://api.example.com/\n    collectors:\n      /orders:\n        incremental: {strategy: seeek}\n        model: {id: string}\n";
    let error = parse(source).unwrap_err();
    let expected = "\
error: unknown incremental strategy `seeek`
 --> hamstr.yml:6:33
  |
6 |         incremental: {strategy: seeek}
  |                                 ^^^^^
  |
  = help: did you mean `seek`? strategies: `full_refresh`, `seek`, `stop_when_seen`, `cursor_field` or `append`";
    assert_eq!(error.render(), expected);
}

/// A YAML collector's strategy reaches its runs: the second run of a `cursor_field` collector
/// sends the newest `createdAt` stored by the first, minus its look-back, as `since`.
#[tokio::test]
async fn the_strategy_reaches_the_collectors_runs() {
    let api = MockApi::start_demo().await;
    let source = format!(
        "services:
  mollie:
    base_url: {}v2/
    paginator: {{type: json_next, path: _links.next.href}}
    collectors:
      /payments:
        records: _embedded.payments
        incremental: {{strategy: cursor_field, field: createdAt, param: since, lookback: 10m}}
        model: {{id: string, createdAt: datetime}}
",
        api.url()
    );
    let folder = tempfile::tempdir().unwrap();
    let storage = Storage::parse(&format!(
        "sqlite://{}",
        folder.path().join("hamstr.db").display()
    ))
    .unwrap();
    let mut pages = Vec::new();
    for _ in 0..2 {
        let app = parse(&source).unwrap().into_app(&storage).unwrap();
        let report = app.run_once().await.unwrap();
        let run = report.run("mollie", "payments").unwrap();
        assert!(run.is_success(), "{run}");
        assert_eq!(run.records, DEMO_PAYMENTS);
        pages.push(run.pages);
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
