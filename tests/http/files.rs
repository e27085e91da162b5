//! Files as sources: CSV and JSON Lines through the same list, list_pages, get, search and
//! search_pages as an API, in pages, with malformed rows reported by line and skipped, and a
//! file read again from where the last read ended.

use std::{io::Write as _, sync::Arc};

use futures_util::TryStreamExt;
use hamstr::{
    Model, Secret, Service, SourceError,
    service::{FileError, FileSource, Page, RetryPolicy},
    testing::{Fault, MockApi, MockAuth, MockResponse},
};
use serde_json::Value;

fn write(dir: &tempfile::TempDir, name: &str, text: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn append(path: &std::path::Path, text: &str) {
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// Quoted fields keep their delimiters, quotes and line breaks; a byte-order mark is no part of
/// the first column's name; empty values are null; another delimiter works the same.
#[tokio::test]
async fn csv_quoting_and_line_breaks_survive() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "menu.csv",
        "\u{feff}id,dish,note\r\n1,\"pad thai, large\",\"say \"\"hi\"\"\"\r\n2,\"green\ncurry\",\r\n".as_bytes(),
    );
    let menu: Vec<Value> = FileSource::csv(&path).list().try_collect().await.unwrap();
    assert_eq!(menu.len(), 2);
    assert_eq!(menu[0]["id"], "1");
    assert_eq!(menu[0]["dish"], "pad thai, large");
    assert_eq!(menu[0]["note"], "say \"hi\"");
    assert_eq!(menu[1]["dish"], "green\ncurry");
    assert!(menu[1]["note"].is_null());
    assert_eq!(
        menu[1]["_row"], 2,
        "rows are numbered when they are the key"
    );

    let semicolons = write(&dir, "menu-eu.csv", b"id;price\n1;4,50\n");
    let menu: Vec<Value> = FileSource::csv(&semicolons)
        .delimiter(b';')
        .list()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(menu[0]["price"], "4,50");
}

/// Rows come in pages of the size asked for; a key column, several, or the row number find one
/// row; search and search_pages keep each page's matches and position.
#[tokio::test]
async fn pages_keys_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("shop,id,dish\n");
    for id in 1..=25 {
        let dish = if id % 10 == 0 { "Pad Thai" } else { "soup" };
        text.push_str(&format!("{},{id},{dish}\n", id % 2));
    }
    let path = write(&dir, "orders.csv", text.as_bytes());
    let orders = FileSource::csv(&path).page_size(10);
    let pages: Vec<Page> = orders.list_pages().try_collect().await.unwrap();
    let sizes: Vec<(usize, usize, bool)> = pages
        .iter()
        .map(|page| (page.index(), page.len(), page.is_last()))
        .collect();
    assert_eq!(sizes, [(0, 10, false), (1, 10, false), (2, 5, true)]);
    assert!(pages[0].url().as_str().starts_with("file:///"));

    let by_row = orders.get("12").await.unwrap().unwrap();
    assert_eq!(by_row["id"], "12");
    let by_id = orders.clone().key("id").get("17").await.unwrap().unwrap();
    assert_eq!(
        by_id["_row"],
        Value::Null,
        "no row numbers with a key column"
    );
    assert_eq!(by_id["shop"], "1");
    let by_both = orders.clone().key_columns(["shop", "id"]);
    assert_eq!(
        by_both.get_key(&["0", "20"]).await.unwrap().unwrap()["id"],
        "20"
    );
    assert!(by_both.get_key(&["1", "20"]).await.unwrap().is_none());

    let found: Vec<(usize, usize)> = orders
        .search_pages("pad THAI")
        .map_ok(|page| (page.index(), page.len()))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found, [(0, 1), (1, 1)]);
    let found: Vec<Value> = orders.search("pad").try_collect().await.unwrap();
    assert_eq!(found.len(), 2);
}

/// A row that cannot be read is reported with its line and skipped; the rest is read. In a page
/// it is listed apart; in a stream of records it is an error item, and the stream goes on.
#[tokio::test]
async fn a_malformed_row_is_reported_by_line_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = b"id,name\n1,ann\n2,bob,extra\n3,\xff\xfe\n4,dee\n".to_vec();
    csv.extend_from_slice(b"5,eve\n");
    let path = write(&dir, "people.csv", &csv);
    let pages: Vec<Page> = FileSource::csv(&path)
        .list_pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages[0].len(), 3);
    let skipped: Vec<(u64, String)> = pages[0]
        .malformed()
        .iter()
        .map(|line| (line.line, line.reason.clone()))
        .collect();
    assert_eq!(
        skipped,
        [
            (3, "it has 3 fields where the header has 2".to_owned()),
            (4, "it is not UTF-8 text".to_owned())
        ]
    );
    let items: Vec<Result<Value, SourceError>> =
        futures_util::StreamExt::collect(FileSource::csv(&path).list()).await;
    assert_eq!(items.iter().filter(|item| item.is_ok()).count(), 3);
    let Err(SourceError::File(FileError::Malformed(first))) = &items[3] else {
        panic!("{:?}", items[3]);
    };
    assert!(first.to_string().contains("line 3 was skipped"), "{first}");

    let lines = write(
        &dir,
        "events.jsonl",
        b"{\"id\": 1}\n{\"id\": 2\n\n{\"id\": 3}\n",
    );
    let pages: Vec<Page> = FileSource::json_lines(&lines)
        .list_pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages[0].len(), 2);
    assert_eq!(pages[0].malformed()[0].line, 2);
    assert_eq!(pages[0].values().unwrap()[1]["_row"], 4);

    let error = FileSource::csv(dir.path().join("missing.csv"))
        .list()
        .try_collect::<Vec<Value>>()
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::File(FileError::Read { .. })),
        "{error}"
    );
    assert!(error.to_string().contains("missing.csv"), "{error}");
}

/// The last page's checkpoint is the file's end: reading again from it gives only the rows
/// appended since. A JSON Lines line still being written is left for the next read.
#[tokio::test]
async fn an_appended_file_is_read_from_where_the_last_read_ended() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(&dir, "log.csv", b"id,event\n1,open\n2,paid\n");
    let source = FileSource::csv(&csv).page_size(1);
    let pages: Vec<Page> = source.list_pages().try_collect().await.unwrap();
    let end = pages.last().unwrap().checkpoint().unwrap().clone();
    append(&csv, "3,cooked\n4,delivered\n");
    let new: Vec<Value> = source
        .clone()
        .resume(end)
        .list()
        .try_collect()
        .await
        .unwrap();
    let events: Vec<&str> = new
        .iter()
        .map(|row| row["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["cooked", "delivered"]);
    assert_eq!(new[0]["_row"], 3, "row numbers go on");

    let lines = write(
        &dir,
        "log.jsonl",
        b"{\"id\": 1}\n{\"id\": 2}\n{\"id\": 3, \"ev",
    );
    let source = FileSource::json_lines(&lines);
    let pages: Vec<Page> = source.list_pages().try_collect().await.unwrap();
    assert_eq!(pages[0].len(), 2);
    assert!(
        pages[0].malformed().is_empty(),
        "a line being written is no error"
    );
    let end = pages[0].checkpoint().unwrap().clone();
    append(&lines, "ent\": \"paid\"}\n{\"id\": 4}\n");
    let new: Vec<Value> = source.resume(end).list().try_collect().await.unwrap();
    assert_eq!(new.len(), 2);
    assert_eq!(
        (new[0]["id"].as_i64(), new[0]["event"].as_str()),
        (Some(3), Some("paid"))
    );
}

/// 200,000 rows are read in pages of the size asked for, one page in memory at a time.
#[tokio::test]
async fn a_large_file_is_read_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(file, "id,amount,note").unwrap();
    for id in 0..200_000 {
        writeln!(file, "{id},{}.50,\"row {id}\"", id % 100).unwrap();
    }
    drop(file);
    let mut pages = std::pin::pin!(FileSource::csv(&path).page_size(5_000).list_pages());
    let (mut count, mut rows, mut largest) = (0, 0, 0);
    while let Some(page) = pages.try_next().await.unwrap() {
        count += 1;
        rows += page.len();
        largest = largest.max(page.len());
    }
    assert_eq!((count, rows, largest), (40, 200_000, 5_000));
}

/// With a model's schema, a CSV's integer, float and bool columns decode into a typed struct.
#[tokio::test]
async fn typed_columns_decode_into_a_model() {
    #[derive(Model, serde::Deserialize, Debug)]
    #[hamstr(name = "dishes")]
    struct Dish {
        id: i64,
        price: f64,
        is_vegan: bool,
        name: String,
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "dishes.csv",
        b"id,price,is_vegan,name\n7,8.5,true,tofu\n8,12,false,duck\n",
    );
    let dishes: Vec<Dish> = FileSource::csv(&path)
        .key("id")
        .column_types(Arc::clone(&Dish::schema()))
        .list_as()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(dishes.len(), 2);
    assert_eq!(
        (dishes[0].id, dishes[0].price, dishes[0].is_vegan),
        (7, 8.5, true)
    );
    assert_eq!(dishes[1].name, "duck");
}

/// A file by URL goes through its service's HTTP layer (credentials, retries), is read in pages
/// from a copy on disk, named by its URL in pages and errors, and kept for `cache_for`.
#[tokio::test]
async fn a_file_by_url_is_downloaded_through_its_service_and_kept() {
    let api = MockApi::start().await;
    api.require_auth(MockAuth::bearer("t0ken"));
    api.route(
        "/exports/orders.csv",
        MockResponse::text(200, "id,dish\n1,pad thai\n2,bad,row\n3,laksa\n"),
    );
    api.inject("/exports/orders.csv", Fault::Status(503), 1);
    let cache = tempfile::tempdir().unwrap();
    let shop = Service::new(api.url())
        .name("shop")
        .bearer_auth(Secret::new("t0ken"))
        .retry(RetryPolicy::new().delays(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(5),
        ));
    let orders = FileSource::csv_at(&shop, "exports/orders.csv")
        .key("id")
        .cache_dir(cache.path());
    let pages: Vec<Page> = orders.list_pages().try_collect().await.unwrap();
    assert_eq!(api.requests("/exports/orders.csv").len(), 2, "one retry");
    assert_eq!(pages[0].len(), 2);
    assert!(pages[0].url().as_str().ends_with("/exports/orders.csv"));
    let skipped = &pages[0].malformed()[0];
    assert!(
        skipped
            .to_string()
            .contains("/exports/orders.csv: line 3 was skipped"),
        "{skipped}"
    );

    // Without cache_for, every read downloads; with it, the copy is used while young.
    let _: Vec<Page> = orders.list_pages().try_collect().await.unwrap();
    assert_eq!(api.requests("/exports/orders.csv").len(), 3);
    let kept = orders
        .clone()
        .cache_for(std::time::Duration::from_secs(3600));
    assert_eq!(kept.get("3").await.unwrap().unwrap()["dish"], "laksa");
    assert_eq!(api.requests("/exports/orders.csv").len(), 3);

    // A file the API refuses is the HTTP error, naming the URL.
    let error = FileSource::csv_at(&shop, "exports/missing.csv")
        .cache_dir(cache.path())
        .list()
        .try_collect::<Vec<Value>>()
        .await
        .unwrap_err();
    assert_eq!(
        error.status().map(|status| status.as_u16()),
        Some(404),
        "{error}"
    );
    let versioned = Service::new(format!("{}v1/", api.url()));
    let outside = FileSource::csv_at(&versioned, "../elsewhere.csv")
        .list()
        .try_collect::<Vec<Value>>()
        .await
        .unwrap_err();
    assert!(matches!(outside, SourceError::Service(_)), "{outside}");
}
