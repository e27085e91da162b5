//! The unified interface: list, list_pages, get, search and search_pages, native and naive.

use futures_util::TryStreamExt;
use hamstr::{
    Service,
    paginate::{LinkHeader, PageNumber},
    records::Records,
    service::{Lookup, Search},
    testing::{Collection, MockApi, MockResponse, Paging},
};
use serde_json::{Value, json};

use super::{items, numbers};

/// `list_pages` gives each page with its position, URL, headers and last-page flag.
#[tokio::test]
async fn list_pages_gives_records_and_metadata() {
    let api = MockApi::start().await;
    api.route(
        "/repos",
        Collection::new(items(25))
            .records_at("")
            .paging(Paging::link_header()),
    );
    let service = Service::new(api.url()).paginator(LinkHeader::new());
    let pages: Vec<_> = service.list_pages("repos").try_collect().await.unwrap();
    assert_eq!(
        pages.iter().map(|page| page.len()).collect::<Vec<_>>(),
        [10, 10, 5]
    );
    assert_eq!(
        pages.iter().map(|page| page.index()).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(
        pages.iter().map(|page| page.is_last()).collect::<Vec<_>>(),
        [false, false, true]
    );
    assert!(pages[0].headers().contains_key("link"));
    assert!(pages[1].url().as_str().contains("page=2"));
    assert_eq!(pages[2].values().unwrap()[4]["n"], 25);
    // A checkpoint on every page but the last lets a walk go on from there.
    assert!(pages[0].checkpoint().is_some());
    assert!(pages[2].checkpoint().is_none());
    let rest: Vec<Value> = service
        .endpoint("repos")
        .resume(pages[0].checkpoint().unwrap().clone())
        .list()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(numbers(&rest), (11..=25).collect::<Vec<_>>());
}

#[derive(Debug, serde::Deserialize, PartialEq)]
struct Item {
    id: String,
    name: String,
}

/// `list_as` decodes each record into the caller's type.
#[tokio::test]
async fn list_as_decodes_records() {
    let api = MockApi::start().await;
    api.route("/items", Collection::new(items(3)).records_at("data"));
    let service = Service::new(api.url()).records("data");
    let all: Vec<Item> = service.list_as("items").try_collect().await.unwrap();
    assert_eq!(
        all[2],
        Item {
            id: "r3".into(),
            name: "item 3".into()
        }
    );
}

/// `get` asks the item endpoint, with the id as one escaped path segment, and a 404 is `None`.
#[tokio::test]
async fn get_uses_the_item_endpoint() {
    let api = MockApi::start().await;
    api.route(
        "/v2/payments/tr_7",
        MockResponse::json(json!({"id": "tr_7", "amount": 7})),
    );
    api.route(
        "/v2/payments/a%2Fb",
        MockResponse::json(json!({"id": "a/b"})),
    );
    let service = Service::new(format!("{}v2/", api.url()));
    let payment = service.get("payments", "tr_7").await.unwrap().unwrap();
    assert_eq!(payment["amount"], 7);
    assert_eq!(
        service.get("/payments", "a/b").await.unwrap().unwrap()["id"],
        "a/b"
    );
    assert_eq!(service.get("payments", "tr_missing").await.unwrap(), None);
    // The item may be wrapped.
    api.route(
        "/v2/wrapped/1",
        MockResponse::json(json!({"data": {"id": 1}})),
    );
    let wrapped = service
        .endpoint("wrapped")
        .item_records(Records::object("data"));
    assert_eq!(wrapped.get("1").await.unwrap().unwrap(), json!({"id": 1}));
}

/// `get` of one item does not send the paginator's page size or page number: they mean nothing
/// to one item, and some APIs refuse parameters they do not know.
#[tokio::test]
async fn get_sends_no_paging_params() {
    let api = MockApi::start().await;
    api.route(
        "/users/sim-root",
        MockResponse::json(json!({"login": "sim-root"})),
    );
    // The size given as a service parameter too (as the docs once said for GitHub): a paging
    // parameter all the same, since the paginator names it.
    let service = Service::new(api.url())
        .param("per_page", "100")
        .paginator(PageNumber::new().size("per_page", 100));
    let user = service.get("users", "sim-root").await.unwrap().unwrap();
    assert_eq!(user["login"], "sim-root");
    let sent = api.requests("/users/sim-root");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].url_query(),
        "",
        "no paging params on an item request"
    );
}

/// Without an item endpoint, `get` scans the listing and stops at the match.
#[tokio::test]
async fn get_falls_back_to_scanning_the_list() {
    let api = MockApi::start().await;
    api.route(
        "/jobs",
        Collection::new(items(50))
            .records_at("data")
            .paging(Paging::page_number()),
    );
    let jobs = Service::new(api.url())
        .records("data")
        .paginator(PageNumber::new().size("per_page", 10))
        .lookup(Lookup::scan("id"))
        .endpoint("jobs");
    let job = jobs.get("r23").await.unwrap().unwrap();
    assert_eq!(job["n"], 23);
    assert_eq!(
        api.request_count(),
        3,
        "the scan stops at the page with the match"
    );
    assert_eq!(jobs.get("r999").await.unwrap(), None);
    // Numeric ids match their text.
    let by_number = jobs.clone().lookup(Lookup::scan("n"));
    assert_eq!(by_number.get("7").await.unwrap().unwrap()["id"], "r7");
}

/// A native search sends the query to the API; the naive one filters every record by its values.
#[tokio::test]
async fn search_is_native_or_naive() {
    let api = MockApi::start().await;
    let records: Vec<Value> = [
        "Rust engineer",
        "Python developer",
        "Senior Rust developer",
        "Designer",
    ]
    .iter()
    .enumerate()
    .map(|(index, title)| json!({"id": index, "title": title, "tags": ["remote"]}))
    .collect();
    api.route("/jobs", Collection::new(records).records_at("data"));
    let service = Service::new(api.url()).records("data");

    let naive: Vec<Value> = service
        .search("jobs", "rust DEVELOPER")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(naive.len(), 1);
    assert_eq!(naive[0]["title"], "Senior Rust developer");
    let by_tag: Vec<Value> = service
        .search("jobs", "remote")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(by_tag.len(), 4);

    let native = service
        .endpoint("jobs")
        .search_with(Search::Param("q".into()));
    let found: Vec<Value> = native.search("rust").try_collect().await.unwrap();
    // The mock does not search: everything comes back, and the query went to the API.
    assert_eq!(found.len(), 4);
    assert_eq!(
        api.requests("/jobs").last().unwrap().param("q"),
        Some("rust")
    );
}

/// `search_pages` is to `search` what `list_pages` is to `list`: the naive search gives the
/// listing's pages that hold a match, each with only its matches and its position; the native one
/// gives the API's result pages.
#[tokio::test]
async fn search_pages_keeps_each_page_and_its_position() {
    let api = MockApi::start().await;
    // 25 jobs, 10 a page; every seventh is remote.
    let records: Vec<Value> = (0..25)
        .map(|index| {
            let place = if index % 7 == 0 { "remote" } else { "office" };
            json!({"id": index, "title": format!("job {index}"), "place": place})
        })
        .collect();
    api.route(
        "/jobs",
        Collection::new(records)
            .records_at("data")
            .paging(Paging::page_number()),
    );
    let service = Service::new(api.url())
        .records("data")
        .paginator(PageNumber::new().size("per_page", 10));
    let pages: Vec<_> = service
        .search_pages("jobs", "Remote")
        .try_collect()
        .await
        .unwrap();
    let found: Vec<(usize, Vec<i64>)> = pages
        .iter()
        .map(|page| {
            let ids = page
                .values()
                .unwrap()
                .iter()
                .map(|job| job["id"].as_i64().unwrap())
                .collect();
            (page.index(), ids)
        })
        .collect();
    assert_eq!(found, [(0, vec![0, 7]), (1, vec![14]), (2, vec![21])]);
    let flat: Vec<Value> = service
        .search("jobs", "remote")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(flat.len(), 4);

    let native = service
        .endpoint("jobs")
        .search_with(Search::Param("q".into()));
    let pages: Vec<_> = native.search_pages("job").try_collect().await.unwrap();
    // The mock does not search: the API's pages come back as they are, with the query sent.
    assert_eq!(
        pages.iter().map(|page| page.len()).collect::<Vec<_>>(),
        [10, 10, 5]
    );
    assert!(
        api.requests("/jobs")
            .iter()
            .rev()
            .take(3)
            .all(|request| request.param("q") == Some("job"))
    );
}

/// An endpoint's parameters join the service's, and win on the same name.
#[tokio::test]
async fn endpoint_parameters_override_service_parameters() {
    let api = MockApi::start().await;
    api.route("/items", Collection::new(items(1)).records_at("data"));
    let service = Service::new(api.url())
        .records("data")
        .param("status", "open")
        .param("locale", "en");
    let _: Vec<Value> = service
        .endpoint("items")
        .param("status", "paid")
        .list()
        .try_collect()
        .await
        .unwrap();
    let request = &api.requests("/items")[0];
    assert_eq!(request.param("status"), Some("paid"));
    assert_eq!(request.param("locale"), Some("en"));
}

/// An endpoint that tries to leave the base URL is refused before any request.
#[tokio::test]
async fn an_endpoint_outside_the_base_is_refused() {
    let api = MockApi::start().await;
    let service = Service::new(format!("{}v2/", api.url()));
    let error = service
        .list("../admin")
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("is not under the service's base URL"),
        "{error}"
    );
    assert_eq!(api.request_count(), 0);
}
