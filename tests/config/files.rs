//! `files:`: CSV and JSON Lines files as collectors of their own, read into a `FileConfig` with
//! every key and default, and run into a store with their model's types; `append` reads only the
//! rows added since the last run.

use std::{io::Write as _, path::Path, time::Duration};

use hamstr::{
    backend::MemoryBackend,
    config::{self, FieldConfig, FileConfig, Storage},
    model::FieldType,
    report::RunReport,
    service::{FileFormat, FileKey},
    state::Incremental,
    testing::{MockApi, MockAuth, MockResponse},
};
use serde_json::json;

use crate::parse;

/// The brief's example, every key written.
const ORDERS: &str = "\
files:
  orders:                      # the collector's (and by default the model's) name
    path: data/orders.csv
    format: csv
    delimiter: \";\"
    key: id
    page_size: 1000
    interval: 1h
    incremental: {strategy: append}
    model: {id: integer, dish: string, price: float}
    primary_key: id
";

fn field(path: &str, field_type: FieldType, is_required: bool) -> FieldConfig {
    FieldConfig {
        column: path.to_owned(),
        path: path.to_owned(),
        field_type,
        is_required,
    }
}

/// The only file of a project whose only file has `keys` (each line indented by four spaces).
fn file_with(keys: &str) -> FileConfig {
    let source = format!("files:\n  orders:\n{keys}    model: {{id: integer}}\n");
    match parse(&source) {
        Ok(mut project) => project.files.remove(0),
        Err(error) => panic!("{source}\n{}", error.render()),
    }
}

/// The example parses into exactly the file it describes, and the project has no services.
#[test]
fn the_example_parses_into_the_expected_file() {
    let project = parse(ORDERS).unwrap();
    assert!(project.services.is_empty());
    let [orders] = project.files.as_slice() else {
        panic!("one file expected: {:?}", project.files);
    };
    assert_eq!(orders.name, "orders");
    assert_eq!(orders.path, Path::new("data/orders.csv"));
    assert_eq!(orders.format, FileFormat::Csv { delimiter: b';' });
    assert_eq!(orders.key, FileKey::Columns(vec!["id".to_owned()]));
    assert_eq!(orders.page_size, Some(1000));
    assert_eq!(orders.interval, Some(Duration::from_secs(3600)));
    assert_eq!(orders.incremental, Incremental::Append);
    assert_eq!(
        orders.fields,
        [
            field("id", FieldType::Integer, true),
            field("dish", FieldType::String, false),
            field("price", FieldType::Float, false),
        ]
    );
    assert_eq!(orders.primary_key, ["id"]);
}

/// Left out: the format comes from the extension (in any case; `.tsv` is CSV with tabs), the
/// key is the row number, the page size the reader's, the strategy `full_refresh`, no interval.
#[test]
fn defaults_come_from_the_extension_and_the_reader() {
    let orders = file_with("    path: data/orders.csv\n");
    assert_eq!(orders.format, FileFormat::Csv { delimiter: b',' });
    assert_eq!(orders.key, FileKey::RowNumber);
    assert_eq!(orders.page_size, None);
    assert_eq!(orders.incremental, Incremental::FullRefresh);
    assert_eq!(orders.interval, None);
    assert_eq!(orders.primary_key, ["id"]);
    for (path, format) in [
        ("data/ORDERS.CSV", FileFormat::Csv { delimiter: b',' }),
        ("data/orders.tsv", FileFormat::Csv { delimiter: b'\t' }),
        ("data/orders.jsonl", FileFormat::JsonLines),
        ("data/orders.ndjson", FileFormat::JsonLines),
    ] {
        let file = file_with(&format!("    path: {path}\n"));
        assert_eq!(file.format, format, "{path}");
    }
}

/// `format:` wins over the extension; `\t` written as two characters is a tab; `key:` takes a
/// column, a list of columns or `row_number`.
#[test]
fn format_delimiter_and_key_take_each_form() {
    for (keys, format) in [
        (
            "    path: data/orders.txt\n    format: csv\n    delimiter: \\t\n",
            FileFormat::Csv { delimiter: b'\t' },
        ),
        (
            "    path: data/orders.tsv\n    delimiter: \"|\"\n",
            FileFormat::Csv { delimiter: b'|' },
        ),
        (
            "    path: data/orders.csv\n    format: JSONL\n",
            FileFormat::JsonLines,
        ),
    ] {
        assert_eq!(file_with(keys).format, format, "{keys}");
    }
    let columns =
        |names: &[&str]| FileKey::Columns(names.iter().map(|&name| name.into()).collect());
    for (key, expected) in [
        ("row_number", FileKey::RowNumber),
        ("order_id", columns(&["order_id"])),
        ("[shop, order_id]", columns(&["shop", "order_id"])),
    ] {
        let file = file_with(&format!("    path: data/orders.csv\n    key: {key}\n"));
        assert_eq!(file.key, expected, "{key}");
    }
}

/// `load` takes a relative path from the project file's folder, wherever the command runs, and
/// keeps an absolute one; `parse` has no folder and keeps the path as written.
#[test]
fn load_joins_a_relative_path_to_the_project_files_folder() {
    let folder = tempfile::tempdir().unwrap();
    let absolute = folder.path().join("elsewhere/events.jsonl");
    let source = format!(
        "files:\n  orders:\n    path: data/orders.csv\n    model: {{id: integer}}\n  events:\n    path: {}\n    model: {{id: integer}}\n",
        absolute.display()
    );
    let project_file = folder.path().join("hamstr.yml");
    std::fs::write(&project_file, &source).unwrap();
    let project = config::load(&project_file).unwrap();
    assert_eq!(project.files[0].path, folder.path().join("data/orders.csv"));
    assert_eq!(project.files[1].path, absolute);
    assert_eq!(
        parse(&source).unwrap().files[0].path,
        Path::new("data/orders.csv")
    );
}

/// Services and files live side by side in one project, each collector under its own id.
#[test]
fn services_and_files_share_a_project() {
    let source = "\
services:
  shop:
    base_url: https://shop.example/
    collectors:
      /dishes:
        model: {id: integer}
files:
  orders:
    path: data/orders.csv
    model: {id: integer}
";
    let project = parse(source).unwrap();
    assert_eq!(project.services[0].collectors[0].name, "dishes");
    assert_eq!(project.files[0].name, "orders");
    // An empty `services:` is fine when there are files.
    let project = parse(&format!(
        "services: {{}}\n{}",
        &source[source.find("files:").unwrap()..]
    ));
    assert!(project.unwrap().services.is_empty());
}

/// A project of files alone (a CSV with `;` and a JSON Lines file) runs once with no service:
/// each row is stored with its model's types, integers and floats as numbers.
#[tokio::test]
async fn a_project_of_files_runs_into_a_store_with_the_models_types() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join("data")).unwrap();
    std::fs::write(
        folder.path().join("data/orders.csv"),
        "id;dish;price\n1;pad thai;9.5\n2;green curry;11\n3;;\n",
    )
    .unwrap();
    std::fs::write(
        folder.path().join("data/events.jsonl"),
        "{\"kind\": \"opened\", \"at\": \"2026-01-02T09:00:00Z\"}\n{\"kind\": \"closed\", \"at\": \"2026-01-02T22:00:00Z\"}\n",
    )
    .unwrap();
    let project_file = folder.path().join("hamstr.yml");
    std::fs::write(
        &project_file,
        "\
files:
  orders:
    path: data/orders.csv
    delimiter: \";\"
    key: id
    page_size: 2
    model: {id: integer, dish: string, price: float}
  events:
    path: data/events.jsonl
    model: {_row: integer, kind: string, at: datetime}
    primary_key: _row
",
    )
    .unwrap();
    let store = MemoryBackend::new();
    let app = config::load(&project_file)
        .unwrap()
        .into_app(&Storage::memory())
        .unwrap()
        .backend(store.clone());
    let report = app.run_once().await.unwrap();

    let orders = report
        .run("files", "orders")
        .expect("a run of files/orders");
    assert!(orders.is_success(), "{orders}");
    assert_eq!((orders.pages, orders.records, orders.inserted), (2, 3, 3));
    let rows = store.records("orders");
    assert_eq!(rows[0]["id"], json!(1));
    assert_eq!(rows[0]["dish"], json!("pad thai"));
    assert_eq!(rows[0]["price"], json!(9.5));
    assert_eq!(rows[1]["price"], json!(11.0));
    assert_eq!(
        (rows[2]["dish"].is_null(), rows[2]["price"].is_null()),
        (true, true)
    );

    let events = report
        .run("files", "events")
        .expect("a run of files/events");
    assert!(events.is_success(), "{events}");
    let rows = store.records("events");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["_row"], json!(2));
    assert_eq!(rows[1]["kind"], json!("closed"));
}

/// One pass of the project in `source`, storing into `store`: the report of its first run.
async fn run_once(source: &str, store: &MemoryBackend) -> RunReport {
    let app = parse(source)
        .unwrap()
        .into_app(&Storage::memory())
        .unwrap()
        .backend(store.clone());
    app.run_once().await.unwrap().runs.remove(0)
}

/// With `incremental: {strategy: append}`, the second run reads only the rows appended to the
/// file since the first, and stores those.
#[tokio::test]
async fn append_reads_only_the_rows_added_since_the_last_run() {
    let folder = tempfile::tempdir().unwrap();
    let csv = folder.path().join("orders.csv");
    std::fs::write(&csv, "id,dish,price\n1,pad thai,9.5\n2,green curry,11\n").unwrap();
    let source = format!(
        "files:\n  orders:\n    path: {}\n    incremental: {{strategy: append}}\n    model: {{id: integer, dish: string, price: float}}\n",
        csv.display()
    );
    let store = MemoryBackend::new();

    let first = run_once(&source, &store).await;
    assert!(first.is_success(), "{first}");
    assert_eq!((first.records, first.inserted), (2, 2));

    let mut file = std::fs::OpenOptions::new().append(true).open(&csv).unwrap();
    write!(file, "3,tom yum,8.25\n4,massaman,12\n").unwrap();
    drop(file);
    let second = run_once(&source, &store).await;
    assert!(second.is_success(), "{second}");
    assert_eq!((second.records, second.inserted), (2, 2));
    let ids: Vec<_> = store
        .records("orders")
        .iter()
        .map(|row| row["id"].clone())
        .collect();
    assert_eq!(ids, [json!(1), json!(2), json!(3), json!(4)]);
}

/// A file read by `url:` goes through the service it names (its credentials here), is kept for
/// `cache_for`, and its collector is that service's.
#[tokio::test]
async fn a_file_by_url_is_read_through_its_service() {
    let api = MockApi::start().await;
    api.require_auth(MockAuth::bearer("t0ken"));
    api.route(
        "/exports/orders.csv",
        MockResponse::text(200, "id,dish,price\n1,pad thai,9.5\n2,laksa,11\n"),
    );
    // A URL of this run's own: a copy kept by an earlier run on the same port is no copy of it.
    let path = format!(
        "exports/orders.csv?run={}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let source = format!(
        "services:\n  shop:\n    base_url: {}\n    auth: {{bearer: t0ken}}\nfiles:\n  orders:\n    service: shop\n    url: \"{path}\"\n    cache_for: 1h\n    model: {{id: integer, dish: string, price: float}}\n",
        api.url()
    );
    let project = parse(&source).unwrap();
    let url = project.files[0].url.clone().expect("a file by URL");
    assert_eq!(
        (url.service.as_str(), url.path.as_str()),
        ("shop", path.as_str())
    );
    assert_eq!(url.cache_for, Some(Duration::from_secs(3600)));
    assert_eq!(project.files[0].format, FileFormat::Csv { delimiter: b',' });
    let store = MemoryBackend::new();
    let report = project
        .into_app(&Storage::memory())
        .unwrap()
        .backend(store.clone())
        .run_once()
        .await
        .unwrap();
    let run = report.run("shop", "orders").expect("a run of shop/orders");
    assert!(run.is_success(), "{run}");
    assert_eq!(run.inserted, 2);
    assert_eq!(store.records("orders")[1]["price"], json!(11.0));
    assert_eq!(api.requests("/exports/orders.csv").len(), 1);
}

/// A collector or model name that would leave the JSON Lines folder, or write into the store's
/// own tables, is refused before anything runs.
#[test]
fn names_that_leave_the_folder_or_take_the_stores_tables_are_refused() {
    for name in ["../../evil", "/tmp/abs", "_hamstr_state", "sqlite_sequence"] {
        let source = format!(
            "storage: jsonl://out\nservices:\n  s:\n    base_url: http://127.0.0.1:9/\n    collectors:\n      /items:\n        name: \"{name}\"\n        model: {{id: integer}}\n"
        );
        // Refused by the loader, at the name's place, before any app is built.
        let error = parse(&source).expect_err("the name is refused");
        let diagnostic = &error.diagnostics()[0];
        assert_eq!((diagnostic.line, diagnostic.column), (7, 15), "{error}");
        assert!(
            diagnostic
                .message
                .contains(&format!("`{name}` cannot be a table's name")),
            "{error}"
        );
    }
}
