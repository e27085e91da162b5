//! Incremental collection: each strategy asks only for what is new, walks resume where they
//! stopped, and every backend ends with exactly the API's records.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use hamstr::{
    Backend, CollectorSpec, Hamstr, Model, Service,
    backend::{CollectorId, JsonLines, MemoryBackend, Sqlite},
    paginate::{NextLink, PageNumber, Seek},
    report::RunReport,
    service::RetryPolicy,
    state::{Incremental, RunOutcome},
    testing::{Collection, Fault, MockApi, MockAuth, MockResponse, Paging},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::init_logs;

#[derive(Model, Deserialize, Debug, Clone)]
#[hamstr(name = "items")]
struct Item {
    id: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    title: String,
}

const PAGE: usize = 10;

fn at(seconds: i64) -> String {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    (start + chrono::Duration::seconds(seconds)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Item `id`, created `id` seconds after the start of 2026 and updated then.
fn item(id: i64) -> Value {
    json!({"id": id, "created_at": at(id), "updated_at": at(id), "title": format!("item {id}")})
}

fn items(ids: impl IntoIterator<Item = i64>) -> Vec<Value> {
    ids.into_iter().map(item).collect()
}

/// Where runs store, reopened for each run as a restarted process would.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Memory,
    Sqlite,
    JsonLines,
}

struct Store {
    kind: Kind,
    memory: MemoryBackend,
    dir: tempfile::TempDir,
}

impl Store {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            memory: MemoryBackend::new(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn open(&self) -> Arc<dyn Backend> {
        match self.kind {
            Kind::Memory => Arc::new(self.memory.clone()),
            Kind::Sqlite => Arc::new(Sqlite::open(self.dir.path().join("hamstr.db")).unwrap()),
            Kind::JsonLines => Arc::new(JsonLines::dir(self.dir.path()).unwrap()),
        }
    }

    /// Every stored item id, sorted, one per row (per line for JSON Lines: a line written
    /// twice shows).
    fn ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = match self.kind {
            Kind::Memory => self
                .memory
                .records("items")
                .iter()
                .map(|record| record["id"].as_i64().unwrap())
                .collect(),
            Kind::Sqlite => {
                let connection =
                    rusqlite::Connection::open(self.dir.path().join("hamstr.db")).unwrap();
                let mut statement = connection.prepare("SELECT id FROM items").unwrap();
                statement
                    .query_map([], |row| row.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            }
            Kind::JsonLines => std::fs::read_to_string(self.dir.path().join("items.jsonl"))
                .unwrap_or_default()
                .lines()
                .map(|line| {
                    serde_json::from_str::<Value>(line).unwrap()["id"]
                        .as_i64()
                        .unwrap()
                })
                .collect(),
        };
        ids.sort_unstable();
        ids
    }
}

/// One run of the `items` collector with `strategy` against `api`, into `store` reopened.
async fn run(
    api: &MockApi,
    store: &Store,
    paginator: impl hamstr::paginate::Paginator + Clone,
    strategy: impl Into<Incremental> + Clone,
) -> RunReport {
    run_app(api, store, paginator, strategy, |app| app).await
}

async fn run_app(
    api: &MockApi,
    store: &Store,
    paginator: impl hamstr::paginate::Paginator + Clone,
    strategy: impl Into<Incremental> + Clone,
    adjust: impl FnOnce(Hamstr) -> Hamstr,
) -> RunReport {
    let service = Service::new(api.url())
        .retry(RetryPolicy::none())
        .name("local")
        .paginator(paginator)
        .records("data")
        .add_collector(
            CollectorSpec::endpoint("items")
                .model::<Item>()
                .incremental(strategy),
        );
    let app = adjust(
        Hamstr::new()
            .shared_backend(store.open())
            .register_service(service),
    );
    let mut report = app.run_once().await.unwrap();
    report.runs.remove(0)
}

/// The `page` parameter of each request to `/items` from the `from`-th on.
fn pages_asked(api: &MockApi, from: usize) -> Vec<String> {
    api.requests("/items")[from..]
        .iter()
        .map(|request| {
            let query: Vec<String> = ["page", "from", "since"]
                .iter()
                .filter_map(|name| request.param(name).map(|value| format!("{name}={value}")))
                .collect();
            query.join("&")
        })
        .collect()
}

fn seek_api(api: &MockApi, records: Vec<Value>) {
    api.route(
        "/items",
        Collection::new(records)
            .paging(Paging::seek())
            .page_size(PAGE),
    );
}

fn newest_first_api(api: &MockApi, records: Vec<Value>) {
    api.route(
        "/items",
        Collection::new(records)
            .paging(Paging::page_number())
            .page_size(PAGE)
            .newest_first(true),
    );
}

fn since_api(api: &MockApi, records: Vec<Value>) {
    api.route(
        "/items",
        Collection::new(records)
            .paging(Paging::page_number())
            .page_size(PAGE)
            .since("since", "updated_at"),
    );
}

fn numbered() -> PageNumber {
    PageNumber::new().size("per_page", PAGE as u64)
}

fn seek() -> Seek {
    Seek::param("from").size("limit", PAGE as u64)
}

/// A second run after K new items fetches only the pages that hold them and stores exactly K
/// new rows, for each strategy and each backend; a third run with nothing new costs one request.
#[tokio::test]
async fn each_strategy_fetches_only_what_is_new_in_every_backend() {
    init_logs();
    for kind in [Kind::Memory, Kind::Sqlite, Kind::JsonLines] {
        // seek: oldest first, `?from=<last id>`.
        let api = MockApi::start().await;
        seek_api(&api, items(1..=95));
        let store = Store::new(kind);
        let strategy = Incremental::seek("from", "id");
        let first = run(&api, &store, seek(), strategy.clone()).await;
        assert_eq!((first.inserted, first.pages), (95, 10), "{kind:?} {first}");
        api.push_records("/items", items(96..=107));
        let second = run(&api, &store, seek(), strategy.clone()).await;
        assert_eq!(pages_asked(&api, 10), ["from=95", "from=105"], "{kind:?}");
        assert_eq!((second.inserted, second.updated), (12, 0), "{kind:?}");
        let third = run(&api, &store, seek(), strategy.clone()).await;
        assert_eq!(pages_asked(&api, 12), ["from=107"], "{kind:?}");
        assert_eq!(third.stored(), 0, "{kind:?}");
        assert_eq!(store.ids(), (1..=107).collect::<Vec<_>>(), "{kind:?}");

        // stop_when_seen: newest first, stops at the page that reaches what is stored.
        let api = MockApi::start().await;
        newest_first_api(&api, items(1..=95));
        let store = Store::new(kind);
        let strategy = Incremental::stop_when_seen("created_at");
        let first = run(&api, &store, numbered(), strategy.clone()).await;
        assert_eq!((first.inserted, first.pages), (95, 10), "{kind:?} {first}");
        api.push_records("/items", items(96..=107));
        let second = run(&api, &store, numbered(), strategy.clone()).await;
        assert_eq!(pages_asked(&api, 10), ["page=1", "page=2"], "{kind:?}");
        assert_eq!((second.inserted, second.updated), (12, 0), "{kind:?}");
        let third = run(&api, &store, numbered(), strategy.clone()).await;
        assert_eq!(pages_asked(&api, 12), ["page=1"], "{kind:?}");
        assert_eq!(third.inserted, 0, "{kind:?}");
        assert_eq!(store.ids(), (1..=107).collect::<Vec<_>>(), "{kind:?}");

        // cursor_field: `?since=<newest updated_at stored>`.
        let api = MockApi::start().await;
        since_api(&api, items(1..=95));
        let store = Store::new(kind);
        let strategy = Incremental::cursor_field("updated_at", "since");
        let first = run(&api, &store, numbered(), strategy.clone()).await;
        assert_eq!((first.inserted, first.pages), (95, 10), "{kind:?} {first}");
        api.push_records("/items", items(96..=107));
        let second = run(&api, &store, numbered(), strategy.clone()).await;
        let since = format!("since={}", at(95));
        assert_eq!(
            pages_asked(&api, 10),
            [format!("page=1&{since}"), format!("page=2&{since}")],
            "{kind:?}"
        );
        // The record at the mark comes again, unchanged.
        assert_eq!(
            (second.inserted, second.updated, second.unchanged),
            (12, 0, 1),
            "{kind:?}"
        );
        let third = run(&api, &store, numbered(), strategy).await;
        assert_eq!(
            pages_asked(&api, 12),
            [format!("page=1&since={}", at(107))],
            "{kind:?}"
        );
        assert_eq!((third.inserted, third.unchanged), (0, 1), "{kind:?}");
        assert_eq!(store.ids(), (1..=107).collect::<Vec<_>>(), "{kind:?}");
    }
}

/// A newest-first walk that fails half way does not move the mark: the next run goes on from
/// the page after the last one stored, down to what was stored before, then reads from the head
/// what arrived meanwhile. Nothing is lost, nothing stored twice.
#[tokio::test]
async fn a_newest_first_walk_cut_short_still_reaches_the_older_items() {
    for kind in [Kind::Sqlite, Kind::JsonLines] {
        let api = MockApi::start().await;
        newest_first_api(&api, items(1..=50));
        let store = Store::new(kind);
        let strategy = Incremental::stop_when_seen("created_at");
        run(&api, &store, numbered(), strategy.clone()).await;
        let before = api.requests("/items").len();
        api.push_records("/items", items(51..=85));
        // Page 1 (85..76) is stored, page 2 fails.
        api.inject("/items", Fault::Delay(Duration::ZERO), 1);
        api.inject("/items", Fault::Status(500), 1);
        let cut = run(&api, &store, numbered(), strategy.clone()).await;
        assert!(!cut.is_success());
        assert_eq!(cut.inserted, 10, "{kind:?}");
        // Five more arrive: the pages shift by five.
        api.push_records("/items", items(86..=90));
        let resumed = run(&api, &store, numbered(), strategy.clone()).await;
        assert!(resumed.is_success(), "{resumed}");
        // The cut walk goes on down to the old mark (50), then a new walk from the head stops
        // at the mark the cut walk left (85).
        assert_eq!(
            pages_asked(&api, before + 2),
            ["page=2", "page=3", "page=4", "page=5", "page=1"],
            "{kind:?}"
        );
        // 75..51 and 90..86 are new; 80..76 came again on the shifted page 2, 50..41 and 85..81
        // on the pages that reached a mark.
        assert_eq!((resumed.inserted, resumed.unchanged), (30, 20), "{kind:?}");
        assert_eq!(store.ids(), (1..=90).collect::<Vec<_>>(), "{kind:?}");
        let next = run(&api, &store, numbered(), strategy).await;
        assert_eq!((next.inserted, next.pages), (0, 1), "{kind:?}");
    }
}

/// A walk of 100 pages that fails at page 91 resumes at page 91, not at page 1.
#[tokio::test]
async fn a_long_walk_resumes_near_where_it_stopped() {
    let api = MockApi::start().await;
    api.route(
        "/items",
        Collection::new(items(1..=100))
            .paging(Paging::page_number())
            .page_size(1),
    );
    let store = Store::new(Kind::Sqlite);
    api.inject("/items", Fault::Delay(Duration::ZERO), 90);
    api.inject("/items", Fault::Status(503), 1);
    let one = || PageNumber::new().size("per_page", 1);
    let cut = run(&api, &store, one(), Incremental::FullRefresh).await;
    assert_eq!((cut.inserted, cut.is_success()), (90, false));
    let resumed = run(&api, &store, one(), Incremental::FullRefresh).await;
    assert!(resumed.is_success(), "{resumed}");
    // Pages 91 to 100, and the empty page 101 that ends the walk.
    assert_eq!(resumed.pages, 11);
    assert_eq!(pages_asked(&api, 91)[0], "page=91");
    // A full refresh that finished starts at the first page again.
    run(&api, &store, one(), Incremental::FullRefresh).await;
    assert_eq!(pages_asked(&api, 102)[0], "page=1");
    assert_eq!(store.ids(), (1..=100).collect::<Vec<_>>());
}

/// Items that arrive at the head while a newest-first listing is walked shift an item of page 1
/// onto page 2: it is stored once, and the next run picks up the new items.
#[tokio::test]
async fn shifting_pages_store_no_duplicates() {
    for kind in [Kind::Sqlite, Kind::JsonLines] {
        let api = Arc::new(MockApi::start().await);
        newest_first_api(&api, items(1..=30));
        let store = Store::new(kind);
        let strategy = Incremental::stop_when_seen("id");
        let arrivals = Arc::clone(&api);
        let service = Service::new(api.url())
            .retry(RetryPolicy::none())
            .name("local")
            .paginator(numbered())
            .records("data")
            .add_collector(
                CollectorSpec::endpoint("items")
                    .model::<Item>()
                    .incremental(strategy.clone())
                    .on_records(move |batch| {
                        // Three items arrive after page 1 was read.
                        if batch.read(|items| items.iter().any(|item| item.id == 30)) {
                            arrivals.push_records("/items", items(31..=33));
                        }
                        async { Ok(()) }
                    }),
            );
        let report = Hamstr::new()
            .shared_backend(store.open())
            .register_service(service)
            .run_once()
            .await
            .unwrap();
        let first = &report.runs[0];
        assert_eq!(
            (first.inserted, first.unchanged),
            (30, 3),
            "{kind:?} {first}"
        );
        assert_eq!(store.ids(), (1..=30).collect::<Vec<_>>(), "{kind:?}");
        let next = run(&api, &store, numbered(), strategy).await;
        assert_eq!(next.inserted, 3, "{kind:?}");
        assert_eq!(store.ids(), (1..=33).collect::<Vec<_>>(), "{kind:?}");
    }
}

/// With a look-back window, the mark is sent minus the window, so a record updated late (with
/// a time before the mark) is read again and its new values stored.
#[tokio::test]
async fn a_look_back_window_reads_late_updates() {
    let api = MockApi::start().await;
    since_api(&api, items(1..=20));
    let store = Store::new(Kind::Sqlite);
    let strategy =
        Incremental::cursor_field("updated_at", "since").lookback(Duration::from_secs(5));
    run(&api, &store, numbered(), strategy.clone()).await;
    // Item 17 changes, with an update time 3 seconds before the mark.
    let mut records = items(1..=20);
    records[16]["title"] = json!("late");
    api.set_records("/items", records);
    let second = run(&api, &store, numbered(), strategy).await;
    assert_eq!(pages_asked(&api, 3), [format!("page=1&since={}", at(15))]);
    assert_eq!((second.updated, second.unchanged), (1, 5), "{second}");
}

/// A record without the cursor field is reported and not stored; the others are, and the mark
/// moves past them.
#[tokio::test]
async fn a_record_without_the_cursor_field_is_reported() {
    let api = MockApi::start().await;
    let mut records = items(1..=5);
    records[2].as_object_mut().unwrap().remove("updated_at");
    since_api(&api, records);
    let store = Store::new(Kind::Memory);
    let report = run(
        &api,
        &store,
        numbered(),
        Incremental::cursor_field("updated_at", "since"),
    )
    .await;
    assert_eq!((report.inserted, report.skipped), (4, 1), "{report}");
    let message = report.skipped_records[0].to_string();
    assert!(
        message.contains("record 2") && message.contains("`updated_at`"),
        "{message}"
    );
    let state = store
        .memory
        .load_state(&CollectorId::new("local", "items"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.mark.unwrap().value, at(5));
}

/// A resumed walk whose stored next page the API refuses (an expired cursor: 400) starts over
/// from the first page in the same run.
#[tokio::test]
async fn a_refused_resume_starts_the_walk_over() {
    let api = MockApi::start().await;
    api.route(
        "/items",
        Collection::new(items(1..=30))
            .paging(Paging::page_number())
            .page_size(PAGE),
    );
    let store = Store::new(Kind::Sqlite);
    api.inject("/items", Fault::Delay(Duration::ZERO), 1);
    api.inject("/items", Fault::Status(500), 1);
    run(&api, &store, numbered(), Incremental::FullRefresh).await;
    api.inject("/items", Fault::Status(400), 1);
    let report = run(&api, &store, numbered(), Incremental::FullRefresh).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(
        pages_asked(&api, 2),
        ["page=2", "page=1", "page=2", "page=3", "page=4"]
    );
    assert_eq!(store.ids(), (1..=30).collect::<Vec<_>>());
}

/// A next link to another origin, sent once: it is refused and the run fails, but it is never
/// kept as where to resume, so the next run asks the healthy API from its first page.
#[tokio::test]
async fn a_refused_next_link_is_not_kept_as_the_resume_point() {
    let api = MockApi::start().await;
    let page = |ids: std::ops::RangeInclusive<i64>, next: Value| {
        MockResponse::json(json!({"data": items(ids), "next": next}))
    };
    api.route(
        "/items",
        vec![
            page(1..=2, json!("http://127.0.0.1:9/items?page=2")),
            page(1..=3, Value::Null),
        ],
    );
    let store = Store::new(Kind::Sqlite);
    let first = run(&api, &store, NextLink::at("next"), Incremental::FullRefresh).await;
    let failure = first
        .failure
        .as_ref()
        .expect("the foreign link fails the run")
        .to_string();
    assert!(failure.contains("it is not on"), "{failure}");
    assert_eq!(
        store.ids(),
        [1, 2],
        "the page before the refused link is kept"
    );
    let second = run(&api, &store, NextLink::at("next"), Incremental::FullRefresh).await;
    assert!(second.is_success(), "{second}");
    assert_eq!(pages_asked(&api, 1), [""]);
    assert_eq!(store.ids(), [1, 2, 3]);
}

/// A next value the paginator cannot read (a number beyond any `f64`), sent once: the page's
/// records are stored, the run fails naming the path, and the next run starts over at the
/// healthy API's first page.
#[tokio::test]
async fn an_unreadable_next_value_keeps_the_page_and_is_not_kept() {
    let api = MockApi::start().await;
    let body = format!(
        r#"{{"data": {}, "next": 1e999999}}"#,
        serde_json::to_string(&items(1..=2)).unwrap()
    );
    api.route(
        "/items",
        vec![
            MockResponse::text(200, body).header("content-type", "application/json"),
            MockResponse::json(json!({"data": items(1..=3), "next": null})),
        ],
    );
    let store = Store::new(Kind::Sqlite);
    let first = run(&api, &store, NextLink::at("next"), Incremental::FullRefresh).await;
    let failure = first.failure.as_ref().expect("the run fails").to_string();
    assert!(failure.contains("at `next`"), "{failure}");
    assert_eq!(store.ids(), [1, 2], "the page's records are kept");
    let second = run(&api, &store, NextLink::at("next"), Incremental::FullRefresh).await;
    assert!(second.is_success(), "{second}");
    assert_eq!(pages_asked(&api, 1), [""]);
    assert_eq!(store.ids(), [1, 2, 3]);
}

/// Credentials written into the base URL itself (a user, a password, a token parameter) go on
/// every request, page 2 and a resumed walk included, and are never kept in the stored state.
#[tokio::test]
async fn credentials_in_the_base_url_are_sent_but_never_stored() {
    let api = MockApi::start().await;
    api.require_auth(MockAuth::query("token", "tok-s3cret"));
    api.route(
        "/items",
        Collection::new(items(1..=30))
            .paging(Paging::page_number())
            .page_size(PAGE),
    );
    let store = Store::new(Kind::Sqlite);
    let base = api.url().replace("http://", "http://alice:pw-s3cret@") + "?token=tok-s3cret";
    let once = || async {
        let service = Service::new(base.clone())
            .retry(RetryPolicy::none())
            .name("local")
            .paginator(numbered())
            .records("data")
            .add_collector(CollectorSpec::endpoint("items").model::<Item>());
        let app = Hamstr::new()
            .shared_backend(store.open())
            .register_service(service);
        app.run_once().await.unwrap().runs.remove(0)
    };
    api.inject("/items", Fault::Delay(Duration::ZERO), 1);
    api.inject("/items", Fault::Status(500), 1);
    let first = once().await;
    assert!(!first.is_success(), "page 2 failed: {first}");
    let connection = rusqlite::Connection::open(store.dir.path().join("hamstr.db")).unwrap();
    let kept: String = connection
        .query_row("SELECT group_concat(state) FROM _hamstr_state", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert!(kept.contains("page=2"), "a walk to resume is kept: {kept}");
    for secret in ["pw-s3cret", "tok-s3cret", "alice"] {
        assert!(!kept.contains(secret), "{secret} in {kept}");
    }
    let second = once().await;
    assert!(second.is_success(), "{second}");
    assert_eq!(pages_asked(&api, 2), ["page=2", "page=3", "page=4"]);
    assert!(
        api.requests("/items")
            .iter()
            .all(|request| request.param("token") == Some("tok-s3cret")
                && request.header("authorization").is_some()),
        "every request carried the base URL's credentials"
    );
    assert_eq!(store.ids(), (1..=30).collect::<Vec<_>>());
}

/// A backfill reads everything once, keeps the mark moving forward, and the runs after it are
/// incremental again.
#[tokio::test]
async fn a_backfill_reads_everything_and_keeps_the_state() {
    let api = MockApi::start().await;
    seek_api(&api, items(1..=25));
    let store = Store::new(Kind::Sqlite);
    let strategy = Incremental::seek("from", "id");
    run(&api, &store, seek(), strategy.clone()).await;
    let backfill = run_app(&api, &store, seek(), strategy.clone(), Hamstr::backfill).await;
    assert_eq!((backfill.pages, backfill.unchanged), (3, 25), "{backfill}");
    assert_eq!(pages_asked(&api, 3), ["", "from=10", "from=20"]);
    run(&api, &store, seek(), strategy).await;
    assert_eq!(pages_asked(&api, 6), ["from=25"]);
}

/// Every run goes into the load history with its outcome and counts; `status` shows it with the
/// state, and `reset_state` forgets the state so the next run reads everything.
#[tokio::test]
async fn runs_are_in_the_history_and_state_can_be_reset() {
    let api = MockApi::start().await;
    seek_api(&api, items(1..=15));
    let store = Store::new(Kind::Sqlite);
    let strategy = Incremental::seek("from", "id");
    run(&api, &store, seek(), strategy.clone()).await;
    api.inject("/items", Fault::Status(500), 1);
    run(&api, &store, seek(), strategy.clone()).await;
    let app = || {
        Hamstr::new().shared_backend(store.open()).register_service(
            Service::new(api.url())
                .retry(RetryPolicy::none())
                .name("local")
                .paginator(seek())
                .records("data")
                .add_collector(
                    CollectorSpec::endpoint("items")
                        .model::<Item>()
                        .incremental(strategy.clone()),
                ),
        )
    };
    let status = app().status(10).await.unwrap();
    assert_eq!(status.len(), 1);
    let outcomes: Vec<(RunOutcome, usize)> = status[0]
        .runs
        .iter()
        .map(|run| (run.outcome, run.inserted))
        .collect();
    assert_eq!(
        outcomes,
        [(RunOutcome::Failed, 0), (RunOutcome::Succeeded, 15)]
    );
    assert!(
        status[0].runs[0]
            .error
            .as_deref()
            .is_some_and(|error| error.contains("500")),
        "{:?}",
        status[0].runs[0]
    );
    let mark = status[0].state.as_ref().unwrap().mark.as_ref().unwrap();
    assert_eq!(mark.value, "15");
    let reset = app().reset_state("items").await.unwrap();
    assert_eq!(reset, CollectorId::new("local", "items"));
    let report = app().run_once().await.unwrap();
    assert_eq!(report.runs[0].unchanged, 15);
    assert_eq!(pages_asked(&api, 3)[0], "");
    assert!(app().reset_state("nope").await.is_err());
}

/// Against a 10,000-item API (pages of 100), a second run with nothing new makes one request
/// under each strategy; a full refresh makes all 101 again. Prints the counts.
#[tokio::test]
async fn a_second_run_over_10_000_items_with_nothing_new_makes_one_request() {
    let all = || Collection::new(items(1..=10_000)).page_size(100);
    let cases = [
        (
            "full_refresh",
            Incremental::FullRefresh,
            all().paging(Paging::page_number()),
        ),
        (
            "seek",
            Incremental::seek("from", "id"),
            all().paging(Paging::seek()),
        ),
        (
            "stop_when_seen",
            Incremental::stop_when_seen("created_at"),
            all().paging(Paging::page_number()).newest_first(true),
        ),
        (
            "cursor_field",
            Incremental::cursor_field("updated_at", "since").into(),
            all()
                .paging(Paging::page_number())
                .since("since", "updated_at"),
        ),
    ];
    for (name, strategy, collection) in cases {
        let api = MockApi::start().await;
        api.route("/items", collection);
        let store = Store::new(Kind::Sqlite);
        let first = async |strategy: Incremental| match &strategy {
            Incremental::Seek { .. } => {
                run(
                    &api,
                    &store,
                    Seek::param("from").size("limit", 100),
                    strategy,
                )
                .await
            }
            _ => {
                run(
                    &api,
                    &store,
                    PageNumber::new().size("per_page", 100),
                    strategy,
                )
                .await
            }
        };
        let initial = first(strategy.clone()).await;
        assert_eq!(initial.inserted, 10_000, "{name}: {initial}");
        let before = api.requests("/items").len();
        let second = first(strategy.clone()).await;
        let requests = api.requests("/items").len() - before;
        println!(
            "{name:>14}: first run {before} requests, second run (nothing new) {requests} request(s), {} new rows",
            second.inserted
        );
        assert_eq!(second.inserted, 0, "{name}");
        let expected = if name == "full_refresh" { before } else { 1 };
        assert_eq!(requests, expected, "{name}");
    }
}

/// A collect step of its own keeps where it is with `Run::set_value`, committed with the
/// records it emits, and reads it back from `Run::state` at the next run.
struct AfterLast;

#[hamstr::async_trait]
impl hamstr::Collector for AfterLast {
    type Model = Item;

    fn settings(&self) -> hamstr::collector::CollectorSettings {
        hamstr::collector::CollectorSettings::new()
            .name("after_last")
            .service("local")
    }

    async fn collect(
        &self,
        run: &mut hamstr::collector::Run<'_, Item>,
    ) -> Result<(), hamstr::CollectError> {
        let mut endpoint = run.service().endpoint("items");
        if let Some(last) = run.state().values.get("last_id") {
            endpoint = endpoint.param("from", last);
        }
        let items: Vec<Item> = futures_util::TryStreamExt::try_collect(endpoint.list_as()).await?;
        if let Some(last) = items.last() {
            run.set_value("last_id", last.id.to_string());
        }
        run.emit(items).await?;
        Ok(())
    }
}

#[tokio::test]
async fn a_collect_step_of_its_own_keeps_values_in_the_state() {
    let api = MockApi::start().await;
    seek_api(&api, items(1..=15));
    let store = Store::new(Kind::Sqlite);
    let app = || {
        Hamstr::new()
            .shared_backend(store.open())
            .register_service(
                Service::new(api.url())
                    .retry(RetryPolicy::none())
                    .name("local")
                    .paginator(seek())
                    .records("data"),
            )
            .add_collector(AfterLast)
    };
    let first = app().run_once().await.unwrap();
    assert_eq!(first.runs[0].inserted, 15);
    api.push_records("/items", items(16..=20));
    let second = app().run_once().await.unwrap();
    assert_eq!(second.runs[0].inserted, 5);
    assert_eq!(pages_asked(&api, 2)[0], "from=15");
    let state = store
        .open()
        .load_state(&CollectorId::new("local", "after_last"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.values["last_id"], "20");
}
