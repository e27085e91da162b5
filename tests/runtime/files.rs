//! Collectors of files: a CSV read in pages into a typed model, the rows appended since the last
//! run read by the next (`append`), malformed rows skipped and counted, and strategies that do
//! not fit a file refused before anything runs.

use std::io::Write as _;

use hamstr::{
    AppError, CollectorSpec, Hamstr, Model, Service,
    backend::MemoryBackend,
    service::FileSource,
    state::{Incremental, RunOutcome},
};

#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "dishes")]
struct Dish {
    #[hamstr(primary_key)]
    id: i64,
    name: String,
    price: f64,
}

fn dishes(from: i64, to: i64) -> String {
    (from..=to)
        .map(|id| format!("{id},dish {id},{}.5\n", id % 20))
        .collect()
}

fn app(path: &std::path::Path, store: &MemoryBackend) -> Hamstr {
    Hamstr::new().backend(store.clone()).add_collector(
        CollectorSpec::file(FileSource::csv(path).page_size(10))
            .model::<Dish>()
            .incremental(Incremental::Append),
    )
}

/// A file collector needs no service; its columns decode into the model's types; the next run
/// reads only the rows appended since, and a malformed one is skipped and counted.
#[tokio::test]
async fn a_file_is_collected_and_then_only_its_new_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dishes.csv");
    std::fs::write(&path, format!("id,name,price\n{}", dishes(1, 25))).unwrap();
    let store = MemoryBackend::new();

    let first = app(&path, &store).run_once().await.unwrap();
    let run = first.run("files", "dishes").expect("a run of files/dishes");
    assert!(run.is_success(), "{run}");
    assert_eq!((run.pages, run.records, run.inserted), (3, 25, 25));
    assert_eq!(store.records("dishes")[24]["price"], 5.5);

    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    write!(file, "{}26,broken\n{}", dishes(26, 27), dishes(28, 30)).unwrap();
    drop(file);
    let second = app(&path, &store).run_once().await.unwrap();
    let run = &second.runs[0];
    assert!(run.is_success(), "{run}");
    assert_eq!(
        (run.pages, run.records, run.inserted, run.skipped),
        (1, 5, 5, 1)
    );
    assert!(
        run.skipped_records[0]
            .to_string()
            .contains("line 29 was skipped"),
        "{}",
        run.skipped_records[0]
    );
    assert_eq!(store.records("dishes").len(), 30);

    let status = app(&path, &store).status(1).await.unwrap();
    assert_eq!(status[0].runs[0].outcome, RunOutcome::Succeeded);
    let mark = status[0]
        .state
        .as_ref()
        .and_then(|state| state.mark.clone());
    assert_eq!(mark.map(|mark| mark.strategy), Some("append".to_owned()));

    // Nothing new: one page, nothing stored again.
    let third = app(&path, &store).run_once().await.unwrap();
    assert_eq!((third.runs[0].records, third.runs[0].inserted), (0, 0));
}

/// `append` is for files and files take only it or `full_refresh`: anything else is refused
/// before a request or a read.
#[tokio::test]
async fn strategies_that_do_not_fit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dishes.csv");
    std::fs::write(&path, "id,name,price\n").unwrap();
    let error = Hamstr::new()
        .backend(MemoryBackend::new())
        .add_collector(
            CollectorSpec::file(FileSource::csv(&path))
                .model::<Dish>()
                .incremental(Incremental::seek("from", "id")),
        )
        .check()
        .unwrap_err();
    assert!(matches!(error, AppError::Strategy { .. }), "{error}");
    assert!(error.to_string().contains("a file takes append"), "{error}");

    let error = Hamstr::new()
        .backend(MemoryBackend::new())
        .register_service(
            Service::new("http://127.0.0.1:9/")
                .name("shop")
                .add_collector(
                    CollectorSpec::endpoint("dishes")
                        .model::<Dish>()
                        .incremental(Incremental::Append),
                ),
        )
        .check()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the append strategy does not fit"),
        "{error}"
    );
}
