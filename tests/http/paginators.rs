//! Every paginator against the mock API, with the off-by-one edges.

use hamstr::{
    Service,
    paginate::{Cursor, LinkHeader, NextLink, Offset, PageNumber, Paginator, Seek, SinglePage},
    testing::{Collection, LinkStyle, MockApi, MockResponse, Paging},
};
use serde_json::json;

use super::{items, list_all, list_until_error, numbers};

/// One paginator style: what the mock serves, and how the client is told to walk it.
struct Style {
    name: &'static str,
    paging: Paging,
    records_at: &'static str,
    paginator: Box<dyn Fn() -> Box<dyn Fn(Service) -> Service>>,
}

fn style(
    name: &'static str,
    paging: Paging,
    records_at: &'static str,
    paginator: impl Paginator + Clone,
) -> Style {
    Style {
        name,
        paging,
        records_at,
        paginator: Box::new(move || {
            let paginator = paginator.clone();
            Box::new(move |service: Service| service.paginator(paginator.clone()))
        }),
    }
}

fn styles() -> Vec<Style> {
    vec![
        style(
            "page_number",
            Paging::page_number(),
            "data",
            PageNumber::new().size("per_page", 10),
        ),
        style(
            "page_number_total",
            Paging::page_number().total("total"),
            "data",
            PageNumber::new().total("total"),
        ),
        style(
            "page_number_last_page",
            Paging::page_number().last_page("meta.last_page"),
            "data",
            PageNumber::new().last_page("meta.last_page"),
        ),
        style(
            "page_number_unsized",
            Paging::page_number(),
            "data",
            PageNumber::new(),
        ),
        style("offset", Paging::offset(), "data", Offset::new().limit(10)),
        style(
            "offset_total",
            Paging::offset().total("total"),
            "data",
            Offset::new().total("total"),
        ),
        style(
            "cursor_token",
            Paging::cursor_token(),
            "data",
            Cursor::token("next_token", "cursor"),
        ),
        style(
            "has_more",
            Paging::has_more(),
            "data",
            Cursor::has_more("has_more", "starting_after", "id"),
        ),
        style(
            "hal_absolute",
            Paging::next_link(LinkStyle::Absolute),
            "_embedded.payments",
            NextLink::at("_links.next.href"),
        ),
        style(
            "next_host_relative",
            Paging::next_link(LinkStyle::HostRelative),
            "_embedded.payments",
            NextLink::at("_links.next.href"),
        ),
        style(
            "next_relative",
            Paging::next_link(LinkStyle::Relative),
            "_embedded.payments",
            NextLink::at("_links.next.href"),
        ),
        style(
            "next_query_only",
            Paging::next_link(LinkStyle::QueryOnly),
            "_embedded.payments",
            NextLink::at("_links.next.href"),
        ),
        style("link_header", Paging::link_header(), "", LinkHeader::new()),
        style(
            "seek",
            Paging::seek(),
            "data",
            Seek::param("from").size("limit", 10),
        ),
        style("seek_unsized", Paging::seek(), "data", Seek::param("from")),
    ]
}

/// Every paginator collects every record exactly once, in order, for an empty listing, a
/// single short page, a full last page and a short last page.
#[tokio::test]
async fn every_paginator_collects_each_record_once_at_every_edge() {
    for style in styles() {
        for count in [0, 1, 10, 20, 25] {
            let api = MockApi::start().await;
            api.route(
                "/v2/items",
                Collection::new(items(count))
                    .paging(style.paging.clone())
                    .records_at(style.records_at)
                    .page_size(10),
            );
            let service = (style.paginator)()(
                Service::new(format!("{}v2/", api.url())).records(style.records_at),
            );
            let records = list_all(&service, "items")
                .await
                .unwrap_or_else(|error| panic!("{} with {count} records: {error}", style.name));
            assert_eq!(
                numbers(&records),
                (1..=count as u64).collect::<Vec<_>>(),
                "{} with {count} records",
                style.name
            );
            let requests = api.requests("/v2/items").len();
            let needed = count.div_ceil(10).max(1);
            // A walk may need one extra empty page to see the end, never more.
            assert!(
                requests == needed || requests == needed + 1,
                "{} with {count} records made {requests} requests",
                style.name
            );
        }
    }
}

/// Paginators that can see the end (a short page, a total, a last page, no link) stop without
/// asking for an empty page after a full last page.
#[tokio::test]
async fn a_total_or_link_ends_the_walk_without_an_extra_request() {
    for style in styles() {
        if [
            "page_number",
            "page_number_unsized",
            "offset",
            "seek",
            "seek_unsized",
        ]
        .contains(&style.name)
        {
            continue; // these can only learn the end from a short or empty page
        }
        let api = MockApi::start().await;
        api.route(
            "/items",
            Collection::new(items(20))
                .paging(style.paging.clone())
                .records_at(style.records_at)
                .page_size(10),
        );
        let service = (style.paginator)()(Service::new(api.url()).records(style.records_at));
        assert_eq!(list_all(&service, "items").await.unwrap().len(), 20);
        assert_eq!(api.requests("/items").len(), 2, "{}", style.name);
    }
}

/// Page numbers, sizes and offsets go out as the paginator is configured.
#[tokio::test]
async fn requests_carry_the_configured_parameters() {
    let api = MockApi::start().await;
    api.route(
        "/issues",
        Collection::new(items(7))
            .paging(
                Paging::offset()
                    .param("startAt")
                    .size_param("maxResults")
                    .total("total"),
            )
            .records_at("issues"),
    );
    let service = Service::new(api.url()).records("issues").paginator(
        Offset::params("startAt", "maxResults")
            .limit(3)
            .total("total"),
    );
    assert_eq!(list_all(&service, "issues").await.unwrap().len(), 7);
    let offsets: Vec<_> = api
        .requests("/issues")
        .iter()
        .map(|request| {
            (
                request.param("startAt").map(str::to_owned),
                request.param("maxResults").map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        offsets,
        [
            (None, Some("3".to_owned())),
            (Some("3".to_owned()), Some("3".to_owned())),
            (Some("6".to_owned()), Some("3".to_owned())),
        ]
    );
}

/// A single-page service asks once, whatever the body holds.
#[tokio::test]
async fn single_page_asks_once() {
    let api = MockApi::start().await;
    api.route("/jobs", Collection::new(items(42)).records_at("jobs"));
    let service = Service::new(api.url())
        .paginator(SinglePage)
        .records("jobs");
    assert_eq!(list_all(&service, "jobs").await.unwrap().len(), 42);
    assert_eq!(api.request_count(), 1);
}

/// A seek walk's checkpoint makes the next walk ask only for records added since.
#[tokio::test]
async fn seek_resumes_after_the_last_seen_id() {
    use futures_util::TryStreamExt;

    let api = MockApi::start().await;
    api.route(
        "/events",
        Collection::new(items(25))
            .paging(Paging::seek())
            .records_at("data"),
    );
    let events = Service::new(api.url())
        .paginator(Seek::param("from").size("limit", 10))
        .records("data")
        .endpoint("events");
    let pages: Vec<_> = events.list_pages().try_collect().await.unwrap();
    assert_eq!(pages.iter().map(|page| page.len()).sum::<usize>(), 25);
    let last = pages.last().unwrap();
    assert!(last.is_last());
    let checkpoint = last.checkpoint().cloned().expect("seek can resume");

    api.push_records("/events", super::items(28).split_off(25));
    let before = api.request_count();
    let new: Vec<serde_json::Value> = events
        .clone()
        .resume(checkpoint)
        .list()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(super::numbers(&new), [26, 27, 28]);
    assert_eq!(
        api.request_count() - before,
        1,
        "one short page holds everything new"
    );
    assert_eq!(
        api.requests("/events").last().unwrap().param("from"),
        Some("r25")
    );
}

/// A next link that never changes is caught on its second request, after the records before
/// it were yielded.
#[tokio::test]
async fn a_repeated_next_link_stops_the_walk_with_an_error() {
    let api = MockApi::start().await;
    api.route(
        "/loop",
        MockResponse::json(json!({"data": [{"id": 1, "n": 1}], "next": "/loop?page=2"})),
    );
    let service = Service::new(api.url())
        .paginator(NextLink::at("next"))
        .records("data");
    let (records, error) = list_until_error(&service, "loop").await;
    // page 1 (no query), then ?page=2 (same records: stalled) -- or a repeat of ?page=2.
    let error = error.expect("the walk must not end normally");
    assert!(error.to_string().contains("does not advance"), "{error}");
    assert_eq!(records.len(), 1);
    assert!(api.request_count() <= 3);
}

/// The same cursor twice is a loop, even with different records.
#[tokio::test]
async fn a_repeated_cursor_is_refused() {
    let api = MockApi::start().await;
    api.route(
        "/c",
        hamstr::testing::Route::Sequence(vec![
            MockResponse::json(json!({"data": [{"n": 1}], "next_token": "a"})),
            MockResponse::json(json!({"data": [{"n": 2}], "next_token": "a"})),
            MockResponse::json(json!({"data": [{"n": 3}], "next_token": "a"})),
        ]),
    );
    let service = Service::new(api.url())
        .paginator(Cursor::token("next_token", "cursor"))
        .records("data");
    let (records, error) = list_until_error(&service, "c").await;
    assert!(error.unwrap().to_string().contains("requested twice"));
    assert_eq!(super::numbers(&records), [1, 2]);
    assert_eq!(api.request_count(), 2);
}

/// An API that re-serves its last page for any page number past the end is caught.
#[tokio::test]
async fn a_repeated_last_page_is_caught() {
    let api = MockApi::start().await;
    api.route(
        "/p",
        Collection::new(items(15))
            .paging(Paging::page_number())
            .records_at("data")
            .page_size(10)
            .repeat_last_page(true),
    );
    // Without a size the client can only stop at an empty page, which this API never sends.
    let service = Service::new(api.url())
        .paginator(PageNumber::new())
        .records("data");
    let (records, error) = list_until_error(&service, "p").await;
    let error = error.expect("stalled");
    assert!(
        error
            .to_string()
            .contains("same records as the page before"),
        "{error}"
    );
    assert_eq!(records.len(), 15);
    assert_eq!(api.request_count(), 3);
}

/// `has_more: true` on a page without records cannot go on, and says why.
#[tokio::test]
async fn has_more_without_a_last_id_is_an_error() {
    let api = MockApi::start().await;
    api.route(
        "/s",
        MockResponse::json(json!({"data": [], "has_more": true})),
    );
    let service = Service::new(api.url())
        .paginator(Cursor::has_more("has_more", "starting_after", "id"))
        .records("data");
    let (_, error) = list_until_error(&service, "s").await;
    assert!(
        error
            .unwrap()
            .to_string()
            .contains("no record to take `id` from")
    );
}

/// With `pages_in_flight(4)`, a page-number walk keeps several requests in flight against a
/// slow server, hands the pages on in order, and stores each record once; past the end it asks
/// for at most the pages that were in flight.
#[tokio::test]
async fn page_numbers_are_fetched_several_at_a_time_and_handed_on_in_order() {
    let api = slow_api(Paging::page_number()).await;
    let service = Service::new(api.url())
        .records("data")
        .paginator(PageNumber::new().size("per_page", 10))
        .pages_in_flight(4);
    let records = list_all(&service, "items").await.unwrap();
    assert_eq!(numbers(&records), (1..=95).collect::<Vec<u64>>());
    assert!(api.max_concurrent_requests() > 1);
    assert!(api.max_concurrent_requests() <= 4);
    // 10 pages (the last one short), and at most the 4 requested ahead of it.
    let requests = api.request_count();
    assert!((10..=14).contains(&requests), "{requests}");
}

/// An offset walk with a total knows where it ends: pages are fetched several at a time and
/// none past the end.
#[tokio::test]
async fn offsets_with_a_total_are_fetched_ahead_exactly() {
    let api = slow_api(Paging::offset().total("total")).await;
    let service = Service::new(api.url())
        .records("data")
        .paginator(Offset::new().limit(10).total("total"))
        .pages_in_flight(3);
    let records = list_all(&service, "items").await.unwrap();
    assert_eq!(numbers(&records), (1..=95).collect::<Vec<u64>>());
    assert_eq!(api.request_count(), 10);
    assert!(api.max_concurrent_requests() > 1);
}

/// 95 items at `/items`, each answer 20 ms late.
async fn slow_api(paging: Paging) -> MockApi {
    let api = MockApi::start().await;
    api.route(
        "/items",
        Collection::new(items(95)).records_at("data").paging(paging),
    );
    api.inject(
        "/items",
        hamstr::testing::Fault::Delay(std::time::Duration::from_millis(20)),
        100,
    );
    api
}
