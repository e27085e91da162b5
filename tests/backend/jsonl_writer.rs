//! JSON Lines on a writer (stdout in the CLI), and across restarts in a folder.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use hamstr::{
    backend::{Backend, BackendError, Batch, CollectorId, Committed, JsonLines, Query, State},
    model::{Cell, FieldType, Schema},
    state::Mark,
};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn schema() -> Arc<Schema> {
    Arc::new(
        Schema::builder("orders")
            .field("id", FieldType::Integer)
            .nullable("note", FieldType::String)
            .primary_key(["id"])
            .build()
            .unwrap(),
    )
}

fn batch(rows: Vec<(i64, Option<&str>)>, state: Option<State>) -> Batch {
    Batch {
        collector: CollectorId::new("shop", "orders"),
        schema: schema(),
        rows: rows
            .into_iter()
            .map(|(id, note)| {
                vec![
                    Cell::Integer(id),
                    note.map_or(Cell::Null, |note| Cell::String(note.into())),
                ]
            })
            .collect(),
        state,
    }
}

/// On a writer, each record is one JSON object on its own line, and nothing else is written.
#[tokio::test]
async fn a_writer_gets_one_object_per_line_and_nothing_else() {
    let output = Shared::default();
    let store = JsonLines::writer(output.clone());
    store.prepare(&schema()).await.unwrap();
    store
        .commit(batch(vec![(1, Some("no peanuts")), (2, None)], None))
        .await
        .unwrap();
    store.commit(batch(vec![(3, None)], None)).await.unwrap();
    let text = String::from_utf8(output.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            json!({"id": 1, "note": "no peanuts"}),
            json!({"id": 2, "note": null}),
            json!({"id": 3, "note": null})
        ]
    );
    assert!(text.ends_with('\n'));
}

/// A restarted folder store still knows its state and which records it already wrote.
#[tokio::test]
async fn a_folder_store_keeps_state_and_keys_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = State::default();
    state.mark = Some(Mark::new("seek", "id", "2"));
    {
        let store = JsonLines::dir(dir.path()).unwrap();
        store.prepare(&schema()).await.unwrap();
        store
            .commit(batch(vec![(1, None), (2, None)], Some(state.clone())))
            .await
            .unwrap();
    }
    // A line cut short by a crash does not stop the restart.
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("orders.jsonl"))
        .unwrap()
        .write_all(b"{\"id\": 3, \"no")
        .unwrap();
    let store = JsonLines::dir(dir.path()).unwrap();
    assert_eq!(
        store
            .load_state(&CollectorId::new("shop", "orders"))
            .await
            .unwrap(),
        Some(state)
    );
    store.prepare(&schema()).await.unwrap();
    let committed = store
        .commit(batch(vec![(1, None), (2, Some("again")), (3, None)], None))
        .await
        .unwrap();
    // Record 1 is written again unchanged (a page read again after a crash): no new line.
    assert_eq!(
        committed,
        Committed {
            inserted: 1,
            updated: 1,
            unchanged: 1
        }
    );
    // The line the crash cut short is gone; the new records follow the whole ones.
    let text = std::fs::read_to_string(dir.path().join("orders.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(lines[2]).unwrap(),
        json!({"id": 2, "note": "again"})
    );
    assert_eq!(
        serde_json::from_str::<Value>(lines[3]).unwrap(),
        json!({"id": 3, "note": null})
    );
}

/// A writer keeps nothing to read back: every read says so, and nothing is written by asking.
#[tokio::test]
async fn a_writer_cannot_be_read() {
    let output = Shared::default();
    let store = JsonLines::writer(output.clone());
    store.prepare(&schema()).await.unwrap();
    store.commit(batch(vec![(1, None)], None)).await.unwrap();
    let error = store.query(&schema(), &Query::new()).await.unwrap_err();
    assert!(
        matches!(error, BackendError::Unsupported { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "JSON Lines on a writer (stdout) does not support reading rows: lines written to a writer are not kept"
    );
    let error = store.get_row(&schema(), &[Cell::Integer(1)]).await;
    assert!(matches!(error, Err(BackendError::Unsupported { .. })));
    let error = store.distinct(&schema(), "note").await;
    assert!(matches!(error, Err(BackendError::Unsupported { .. })));
    assert_eq!(
        output.0.lock().unwrap().len(),
        "{\"id\":1,\"note\":null}\n".len()
    );
}

/// A last line without its line break (a crash, or a write under way) is not read, and the
/// rows before it are; a restart's first read sees the same.
#[tokio::test]
async fn a_cut_last_line_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = JsonLines::dir(dir.path()).unwrap();
    store.prepare(&schema()).await.unwrap();
    store
        .commit(batch(vec![(1, None), (2, Some("two"))], None))
        .await
        .unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("orders.jsonl"))
        .unwrap()
        .write_all(b"{\"id\": 3, \"no")
        .unwrap();
    for store in [store, JsonLines::dir(dir.path()).unwrap()] {
        let page = store.query(&schema(), &Query::new()).await.unwrap();
        assert_eq!(page.count, 2);
        assert_eq!(page.rows[1], [Cell::Integer(2), Cell::String("two".into())]);
        let missing = store.get_row(&schema(), &[Cell::Integer(3)]).await.unwrap();
        assert_eq!(missing, None);
    }
}

/// A writer whose first write fails ("disk full").
#[derive(Clone, Default)]
struct FailsOnce(Shared, Arc<Mutex<bool>>);

impl Write for FailsOnce {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut failed = self.1.lock().unwrap();
        if !*failed {
            *failed = true;
            return Err(std::io::Error::other("disk full"));
        }
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A writer that fails once: what the failed commit could not write is written by the next,
/// not taken for unchanged.
#[tokio::test]
async fn a_failed_write_loses_no_record() {
    let output = FailsOnce::default();
    let store = JsonLines::writer(output.clone());
    store.prepare(&schema()).await.unwrap();
    let error = store
        .commit(batch(vec![(1, None), (2, None)], None))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("disk full"), "{error}");
    let committed = store
        .commit(batch(vec![(1, None), (2, None)], None))
        .await
        .unwrap();
    assert_eq!(committed.inserted, 2, "{committed:?}");
    let text = String::from_utf8(output.0.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
}

/// More keys than the index holds in memory: they go to runs on disk and are still known, in
/// the same process and after a restart (unchanged records are not written again, changed ones
/// are).
#[tokio::test]
async fn a_folder_knows_more_keys_than_fit_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let pages = |note: Option<&'static str>, changed: i64| {
        (0..50_i64).map(move |page| {
            batch(
                (page * 1_000..(page + 1) * 1_000)
                    .map(|id| (id, if id % changed == 0 { note } else { None }))
                    .collect(),
                None,
            )
        })
    };
    let add = |total: &mut Committed, committed: Committed| {
        total.inserted += committed.inserted;
        total.updated += committed.updated;
        total.unchanged += committed.unchanged;
    };
    let mut total = Committed::default();
    let store = JsonLines::dir(dir.path()).unwrap();
    store.prepare(&schema()).await.unwrap();
    for page in pages(None, 1) {
        add(&mut total, store.commit(page).await.unwrap());
    }
    assert_eq!(total.inserted, 50_000);
    for restarted in [false, true] {
        let store = if restarted {
            JsonLines::dir(dir.path()).unwrap()
        } else {
            store.clone()
        };
        store.prepare(&schema()).await.unwrap();
        let note = if restarted { "second" } else { "first" };
        let mut total = Committed::default();
        for page in pages(Some(note), 7) {
            add(&mut total, store.commit(page).await.unwrap());
        }
        assert_eq!(
            total,
            Committed {
                inserted: 0,
                updated: 7_143,
                unchanged: 50_000 - 7_143
            },
            "restarted: {restarted}"
        );
    }
    let text = std::fs::read_to_string(dir.path().join("orders.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 50_000 + 2 * 7_143);
    // Nothing but the store's own files is left in the folder.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["orders.jsonl", "orders.schema.json"]);
}

/// A writer's state file: the state of a commit whose lines could not be written is not saved;
/// once they are, it is, and the next store on the same file (the next process) starts from
/// it. A folder keeps its own state, and a file that is not state is refused, by name.
#[tokio::test]
async fn a_writer_keeps_its_state_in_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let collector = CollectorId::new("shop", "orders");
    let mut state = State::default();
    state.mark = Some(Mark::new("seek", "id", "2"));
    let store = JsonLines::writer(FailsOnce::default())
        .state_file(&path)
        .unwrap();
    store.prepare(&schema()).await.unwrap();
    let rows = || vec![(1, None), (2, None)];
    assert!(
        store
            .commit(batch(rows(), Some(state.clone())))
            .await
            .is_err()
    );
    assert!(!path.exists(), "no state for lines not written");
    store
        .commit(batch(rows(), Some(state.clone())))
        .await
        .unwrap();
    let next = JsonLines::writer(Shared::default())
        .state_file(&path)
        .unwrap();
    assert_eq!(next.load_state(&collector).await.unwrap(), Some(state));
    let fresh = JsonLines::writer(Shared::default())
        .state_file(dir.path().join("none.json"))
        .unwrap();
    assert_eq!(fresh.load_state(&collector).await.unwrap(), None);

    let folder = JsonLines::dir(dir.path().join("out")).unwrap();
    let refused = folder.state_file(&path).unwrap_err().to_string();
    assert!(refused.contains("keeps its state in its own"), "{refused}");
    std::fs::write(&path, "not state").unwrap();
    let refused = JsonLines::writer(Shared::default())
        .state_file(&path)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("state.json"), "{refused}");
}
