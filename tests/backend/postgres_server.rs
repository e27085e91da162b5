//! The PostgreSQL backend against its server going wrong: a connection dropped mid-run, TLS
//! asked of a server without it, and the password kept out of what it prints.

use std::sync::Arc;

use hamstr::testing::TcpProxy;
use hamstr::{
    backend::{Backend, Batch, CollectorId, Postgres, State},
    model::{Cell, FieldType, Schema},
    state::Mark,
};

fn items() -> Arc<Schema> {
    Arc::new(
        Schema::builder("items")
            .field("id", FieldType::Integer)
            .nullable("name", FieldType::String)
            .primary_key(["id"])
            .build()
            .unwrap(),
    )
}

fn batch(schema: &Arc<Schema>, ids: std::ops::RangeInclusive<i64>) -> Batch {
    let mut state = State::default();
    state.mark = Some(Mark::new("seek", "id", ids.end().to_string()));
    Batch {
        collector: CollectorId::new("shop", "items"),
        schema: Arc::clone(schema),
        rows: ids
            .map(|id| vec![Cell::Integer(id), Cell::String(format!("item {id}"))])
            .collect(),
        state: Some(state),
    }
}

/// The server drops every connection between two commits and refuses the next two: the second
/// commit is tried again on a new connection and stored, whole, once.
#[tokio::test]
async fn a_dropped_connection_is_tried_again_and_nothing_is_lost() {
    let url = hamstr::testing::scratch_database("dropped").await.unwrap();
    let (before, after) = url.split_once('@').unwrap();
    let (upstream, rest) = after.split_once('/').unwrap();
    let proxy = TcpProxy::start(upstream).await.unwrap();
    let proxied = format!("{before}@{}/{rest}", proxy.address());
    let store = Postgres::connect(&proxied).unwrap();
    let schema = items();
    store.prepare(&schema).await.unwrap();
    let first = store.commit(batch(&schema, 1..=600)).await.unwrap();
    assert_eq!(first.inserted, 600);

    proxy.cut(2);
    let second = store.commit(batch(&schema, 601..=700)).await.unwrap();
    assert_eq!((second.inserted, second.updated), (100, 0));

    // Read back past the proxy, on a store of its own.
    let direct = Postgres::connect(&url).unwrap();
    let state = direct
        .load_state(&CollectorId::new("shop", "items"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.mark, Some(Mark::new("seek", "id", "700")));
    let page = direct
        .query(&schema, &hamstr::backend::Query::new().limit(1))
        .await
        .unwrap();
    assert_eq!(page.count, 700);
}

/// `sslmode=require` against a server without TLS fails, saying so; no URL form, error or
/// `Debug` output shows the password.
#[tokio::test]
async fn tls_is_required_when_asked_and_the_password_never_shows() {
    let url = hamstr::testing::scratch_database("tls").await.unwrap();
    let store = Postgres::connect(&url).unwrap();
    assert!(!format!("{store:?}").contains("hamstr-test"), "{store:?}");
    let with_tls = url.replace("sslmode=disable", "sslmode=require");
    let error = Postgres::connect(&with_tls)
        .unwrap()
        .load_state(&CollectorId::new("shop", "items"))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.to_lowercase().contains("tls"), "{error}");
    assert!(!error.contains("hamstr-test"), "{error}");
    let storage = hamstr::backend::Storage::parse(&url).unwrap();
    assert!(!storage.to_string().contains("hamstr-test"), "{storage}");
    assert!(!format!("{storage:?}").contains("hamstr-test"));
}

/// An integer too wide for 64 bits (a `u64` above `i64::MAX`, which the model makes a float)
/// does not fit a `bigint`: the batch is refused, naming the value and the column's type, and
/// nothing of it is stored.
#[tokio::test]
async fn an_integer_beyond_64_bits_is_refused_by_name() {
    let url = hamstr::testing::scratch_database("wide").await.unwrap();
    let store = Postgres::connect(&url).unwrap();
    let schema = items();
    store.prepare(&schema).await.unwrap();
    let mut batch = batch(&schema, 1..=2);
    batch.rows[1][0] = Cell::Float(u64::MAX as f64);
    let error = store.commit(batch).await.unwrap_err().to_string();
    assert!(error.contains("does not fit a int8 column"), "{error}");
    assert!(error.contains("1.8446744073709552e+19"), "{error}");
    let page = store
        .query(&schema, &hamstr::backend::Query::new())
        .await
        .unwrap();
    assert_eq!(page.count, 0);
}
