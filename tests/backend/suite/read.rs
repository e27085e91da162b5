//! Reading the store back: the behaviours of `get_row`, `query` and `distinct` every backend
//! must have. The expected answers are worked out here from the rows written, in plain Rust.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Duration, TimeZone, Utc};
use hamstr::{
    backend::{Backend, BackendError, Continuation, Direction, Op, Query, RowPage},
    model::{Cell, FieldType, Row, Schema},
};

use super::batch;
use crate::Fixture;

/// An order as the tests know it; stored as a row of [`orders`].
#[derive(Debug, Clone)]
struct Order {
    id: i64,
    customer: &'static str,
    total: Option<i64>,
    created_at: DateTime<Utc>,
    note: Option<String>,
}

impl Order {
    fn row(&self) -> Row {
        vec![
            Cell::Integer(self.id),
            Cell::String(self.customer.into()),
            self.total.map_or(Cell::Null, Cell::Integer),
            Cell::DateTime(self.created_at),
            self.note.clone().map_or(Cell::Null, Cell::String),
        ]
    }
}

fn orders() -> Arc<Schema> {
    Arc::new(
        Schema::builder("orders")
            .field("id", FieldType::Integer)
            .field("customer", FieldType::String)
            .nullable("total", FieldType::Integer)
            .field("created_at", FieldType::DateTime)
            .nullable("note", FieldType::String)
            .primary_key(["id"])
            .build()
            .unwrap(),
    )
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

/// Order `id`: three customers, four totals and a null every seventh, creation times half a
/// second apart with duplicates (so whole and fractional seconds meet in one column).
fn order(id: i64) -> Order {
    Order {
        id,
        customer: ["ann", "bob", "cy"][(id % 3) as usize],
        total: (id % 7 != 0).then_some(id % 4 * 5),
        created_at: start() + Duration::milliseconds((id % 6) * 500),
        note: None,
    }
}

/// Stores orders `1..=count` in a fresh `orders` table.
async fn store_orders<F: Fixture>(fixture: &F, count: i64) -> Vec<Order> {
    let schema = orders();
    fixture.backend().prepare(&schema).await.unwrap();
    let orders: Vec<Order> = (1..=count).map(order).collect();
    write(fixture, &orders).await;
    orders
}

async fn write<F: Fixture>(fixture: &F, orders: &[Order]) {
    let rows = orders.iter().map(Order::row).collect();
    fixture
        .backend()
        .commit(batch(&self::orders(), rows, None))
        .await
        .unwrap();
}

fn ids(page: &RowPage) -> Vec<i64> {
    page.rows.iter().map(id_of).collect()
}

fn id_of(row: &Row) -> i64 {
    match row[0] {
        Cell::Integer(id) => id,
        ref other => panic!("an id is an integer, not {other:?}"),
    }
}

/// Every page of `query`, from the first to the one without `next`.
async fn all_pages<F: Fixture>(fixture: &F, query: Query) -> Vec<RowPage> {
    let schema = orders();
    let mut pages = vec![fixture.backend().query(&schema, &query).await.unwrap()];
    while let Some(next) = pages.last().unwrap().next.clone() {
        let page = fixture
            .backend()
            .query(&schema, &query.clone().after(next))
            .await;
        pages.push(page.unwrap());
        assert!(pages.len() <= 1000, "paging does not end");
    }
    pages
}

/// One row by primary key, single or composite; a missing key, or a model with nothing stored,
/// is `None`; an updated row has its newest values.
pub(crate) async fn gets_a_row_by_its_key<F: Fixture>(fixture: F) {
    let schema = orders();
    let backend = fixture.backend();
    assert_eq!(
        backend.get_row(&schema, &[Cell::Integer(1)]).await.unwrap(),
        None
    );
    let stored = store_orders(&fixture, 12).await;
    let found = backend.get_row(&schema, &[Cell::Integer(7)]).await.unwrap();
    assert_eq!(found, Some(stored[6].row()));
    assert_eq!(
        backend
            .get_row(&schema, &[Cell::Integer(99)])
            .await
            .unwrap(),
        None
    );
    let updated = Order {
        note: Some("gift".into()),
        ..order(7)
    };
    write(&fixture, std::slice::from_ref(&updated)).await;
    let found = backend.get_row(&schema, &[Cell::Integer(7)]).await.unwrap();
    assert_eq!(found, Some(updated.row()));

    let stars = Arc::new(
        Schema::builder("stars")
            .field("user", FieldType::String)
            .field("repository", FieldType::String)
            .field("starred_at", FieldType::DateTime)
            .primary_key(["user", "repository"])
            .build()
            .unwrap(),
    );
    backend.prepare(&stars).await.unwrap();
    let star = |user: &str, repository: &str, second: u32| {
        vec![
            Cell::String(user.into()),
            Cell::String(repository.into()),
            Cell::DateTime(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, second).unwrap()),
        ]
    };
    let rows = vec![
        star("ann", "hamstr", 1),
        star("ann", "serde", 2),
        star("bob", "serde", 3),
    ];
    backend.commit(batch(&stars, rows, None)).await.unwrap();
    let key = |user: &str, repository: &str| {
        vec![Cell::String(user.into()), Cell::String(repository.into())]
    };
    let found = backend.get_row(&stars, &key("ann", "serde")).await.unwrap();
    assert_eq!(found, Some(star("ann", "serde", 2)));
    let found = backend
        .get_row(&stars, &key("bob", "hamstr"))
        .await
        .unwrap();
    assert_eq!(found, None);
}

/// Equality and ranges on integer, text and datetime columns, alone and combined, with nulls
/// as the operators say; the count is of every matching row, not of the page.
pub(crate) async fn filters_by_equality_and_ranges<F: Fixture>(fixture: F) {
    let stored = store_orders(&fixture, 40).await;
    let schema = orders();
    let expect = |keep: &dyn Fn(&Order) -> bool| -> Vec<i64> {
        stored
            .iter()
            .filter(|order| keep(order))
            .map(|order| order.id)
            .collect()
    };
    let at = |milliseconds: i64| Cell::DateTime(start() + Duration::milliseconds(milliseconds));
    let cases: Vec<(Query, Vec<i64>)> = vec![
        (
            Query::new().filter("total", Op::Eq, Cell::Integer(10)),
            expect(&|order| order.total == Some(10)),
        ),
        (
            Query::new().filter("total", Op::Gt, Cell::Integer(10)),
            expect(&|order| order.total.is_some_and(|total| total > 10)),
        ),
        (
            Query::new().filter("total", Op::Lte, Cell::Integer(4)),
            expect(&|order| order.total.is_some_and(|total| total <= 4)),
        ),
        (
            Query::new().filter("total", Op::Eq, Cell::Null),
            expect(&|order| order.total.is_none()),
        ),
        (
            Query::new().filter("total", Op::Ne, Cell::Integer(10)),
            expect(&|order| order.total != Some(10)),
        ),
        (
            Query::new().filter("customer", Op::Eq, Cell::String("bob".into())),
            expect(&|order| order.customer == "bob"),
        ),
        (
            Query::new().filter("customer", Op::Gte, Cell::String("b".into())),
            expect(&|order| order.customer >= "b"),
        ),
        (
            Query::new().filter("customer", Op::Ne, Cell::String("cy".into())),
            expect(&|order| order.customer != "cy"),
        ),
        // Whole and fractional seconds: `…:01Z` is after `…:00.500Z`, though not as text.
        (
            Query::new().filter("created_at", Op::Gte, at(1000)),
            expect(&|order| order.created_at >= start() + Duration::seconds(1)),
        ),
        (
            Query::new().filter("created_at", Op::Lt, at(1000)),
            expect(&|order| order.created_at < start() + Duration::seconds(1)),
        ),
        (
            Query::new().filter("created_at", Op::Eq, at(500)),
            expect(&|order| order.created_at == start() + Duration::milliseconds(500)),
        ),
        (
            Query::new()
                .filter("customer", Op::Eq, Cell::String("ann".into()))
                .filter("total", Op::Gte, Cell::Integer(5))
                .filter("created_at", Op::Gt, at(0)),
            expect(&|order| {
                order.customer == "ann"
                    && order.total.is_some_and(|total| total >= 5)
                    && order.created_at > start()
            }),
        ),
    ];
    for (query, expected) in cases {
        assert!(expected.len() > 4, "a case that proves little: {query:?}");
        let page = fixture
            .backend()
            .query(&schema, &query.clone().limit(4))
            .await
            .unwrap();
        assert_eq!(page.count, expected.len(), "{query:?}");
        assert_eq!(ids(&page), expected[..4], "{query:?}");
        let every = fixture
            .backend()
            .query(&schema, &query.clone().limit(100))
            .await
            .unwrap();
        assert_eq!(ids(&every), expected, "{query:?}");
        assert_eq!(every.next, None);
    }
    let none = Query::new().filter("total", Op::Gt, Cell::Integer(100));
    let page = fixture.backend().query(&schema, &none).await.unwrap();
    assert_eq!((page.rows.len(), page.count, page.next), (0, 0, None));
}

/// The order `query` must give `stored`: by the field, then by id, both in `direction`.
fn sorted<K: Ord>(stored: &[Order], key: impl Fn(&Order) -> K, direction: Direction) -> Vec<i64> {
    let mut orders: Vec<&Order> = stored.iter().collect();
    orders.sort_by_key(|order| (key(order), order.id));
    if direction == Direction::Descending {
        orders.reverse();
    }
    orders.into_iter().map(|order| order.id).collect()
}

/// Ordering ascending and descending by a column with duplicates and nulls: null first
/// ascending and last descending, ties broken by the primary key in the same direction.
pub(crate) async fn orders_by_a_column_with_ties_broken_by_key<F: Fixture>(fixture: F) {
    let stored = store_orders(&fixture, 30).await;
    let schema = orders();
    for direction in [Direction::Ascending, Direction::Descending] {
        let cases = [
            ("total", sorted(&stored, |order| order.total, direction)),
            (
                "customer",
                sorted(&stored, |order| order.customer, direction),
            ),
            (
                "created_at",
                sorted(&stored, |order| order.created_at, direction),
            ),
            ("id", sorted(&stored, |order| order.id, direction)),
        ];
        for (field, expected) in cases {
            let query = Query::new().order_by(field, direction).limit(100);
            let page = fixture.backend().query(&schema, &query).await.unwrap();
            assert_eq!(ids(&page), expected, "by {field} {direction:?}");
        }
    }
    let by_total = Query::new().order_by("total", Direction::Ascending);
    let page = fixture.backend().query(&schema, &by_total).await.unwrap();
    assert_eq!(page.rows[0][2], Cell::Null, "null comes first ascending");
    let page = fixture
        .backend()
        .query(&schema, &Query::new())
        .await
        .unwrap();
    assert_eq!(ids(&page), (1..=30).collect::<Vec<_>>(), "by primary key");
}

/// Pages of every size from 7 to 50 give every matching row exactly once, in order, with the
/// same count on each page and no `next` after the last.
pub(crate) async fn pages_give_every_row_once_in_order<F: Fixture>(fixture: F) {
    let stored = store_orders(&fixture, 60).await;
    let expectations = [
        (
            Query::new().order_by("total", Direction::Ascending),
            sorted(&stored, |order| order.total, Direction::Ascending),
        ),
        (
            Query::new().order_by("created_at", Direction::Descending),
            sorted(&stored, |order| order.created_at, Direction::Descending),
        ),
        (
            Query::new()
                .filter("customer", Op::Ne, Cell::String("bob".into()))
                .order_by("total", Direction::Descending),
            sorted(&stored, |order| order.total, Direction::Descending)
                .into_iter()
                .filter(|&id| order(id).customer != "bob")
                .collect(),
        ),
    ];
    for (query, expected) in expectations {
        for limit in 7..=50 {
            let pages = all_pages(&fixture, query.clone().limit(limit)).await;
            let seen: Vec<i64> = pages.iter().flat_map(ids).collect();
            assert_eq!(seen, expected, "pages of {limit}, {query:?}");
            assert!(pages.iter().all(|page| page.count == expected.len()));
            assert!(pages.iter().all(|page| page.rows.len() <= limit));
            assert_eq!(
                pages.len(),
                expected.len().div_ceil(limit),
                "pages of {limit}"
            );
        }
    }
}

/// Paging while rows are written between pages (new rows on both sides of the page, and
/// updates of rows seen and not yet seen that keep their order value): every row that was
/// stored before paging began is seen exactly once, and a row updated before its page shows
/// its new values.
pub(crate) async fn pages_stay_right_while_rows_are_written<F: Fixture>(fixture: F) {
    let stored = store_orders(&fixture, 50).await;
    let schema = orders();
    for (round, direction) in [Direction::Ascending, Direction::Descending]
        .into_iter()
        .enumerate()
    {
        let query = Query::new().order_by("total", direction).limit(7);
        let mut seen: HashMap<i64, usize> = HashMap::new();
        // Rows updated before their page came, with the note they must show.
        let mut pending: HashMap<i64, Cell> = HashMap::new();
        let mut page = fixture.backend().query(&schema, &query).await.unwrap();
        let mut written = 0;
        loop {
            for row in &page.rows {
                *seen.entry(id_of(row)).or_default() += 1;
                if let Some(note) = pending.remove(&id_of(row)) {
                    assert_eq!(row[4], note, "order {} shows its update", id_of(row));
                }
            }
            let Some(next) = page.next.clone() else {
                break;
            };
            // New rows whose totals fall before, at and after the page's end, and nulls.
            written += 1;
            let new: Vec<Order> = (0..4)
                .map(|offset| Order {
                    id: 1000 * (round as i64 + 1) + written * 10 + offset,
                    total: (offset != 3).then_some((written * 3 + offset * 6) % 20),
                    ..order(offset)
                })
                .collect();
            // Updates that keep each row's total, of rows from both ends of the ids (so seen
            // already or not, whichever way the order runs).
            let updated: Vec<Order> = [written, 51 - written]
                .into_iter()
                .map(|id| Order {
                    note: Some(format!("update {round}.{written}")),
                    ..order(id)
                })
                .collect();
            write(&fixture, &new).await;
            write(&fixture, &updated).await;
            for order in updated.iter().filter(|order| !seen.contains_key(&order.id)) {
                pending.insert(order.id, order.row()[4].clone());
            }
            page = fixture
                .backend()
                .query(&schema, &query.clone().after(next))
                .await
                .unwrap();
        }
        assert!(written > 5, "paging wrote between few pages");
        for order in &stored {
            assert_eq!(
                seen.get(&order.id),
                Some(&1),
                "order {} {direction:?}",
                order.id
            );
        }
        assert!(seen.values().all(|&times| times == 1), "a row seen twice");
        assert!(pending.is_empty(), "updated rows never seen: {pending:?}");
        // The last update of each row, read back with its row.
        let last = fixture
            .backend()
            .get_row(&schema, &[Cell::Integer(51 - written)])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(last[4], Cell::String(format!("update {round}.{written}")));
    }
}

/// The distinct values of a column, sorted, without nulls or repeats; none for a model with
/// nothing stored.
pub(crate) async fn lists_distinct_values<F: Fixture>(fixture: F) {
    let schema = orders();
    assert!(
        fixture
            .backend()
            .distinct(&schema, "customer")
            .await
            .unwrap()
            .is_empty()
    );
    let stored = store_orders(&fixture, 30).await;
    let customers = fixture
        .backend()
        .distinct(&schema, "customer")
        .await
        .unwrap();
    let text = |value: &str| Cell::String(value.into());
    assert_eq!(customers, [text("ann"), text("bob"), text("cy")]);
    let mut totals: Vec<i64> = stored.iter().filter_map(|order| order.total).collect();
    totals.sort_unstable();
    totals.dedup();
    let found = fixture.backend().distinct(&schema, "total").await.unwrap();
    assert_eq!(
        found,
        totals.into_iter().map(Cell::Integer).collect::<Vec<_>>()
    );
    let times = fixture
        .backend()
        .distinct(&schema, "created_at")
        .await
        .unwrap();
    let expected: Vec<Cell> = (0..6)
        .map(|step| Cell::DateTime(start() + Duration::milliseconds(step * 500)))
        .collect();
    assert_eq!(times, expected);
    let notes = fixture.backend().distinct(&schema, "note").await.unwrap();
    assert!(notes.is_empty(), "only nulls: {notes:?}");
}

/// Checks that `result` is a `BadQuery` on `orders` that says `wanted`.
fn refused<T: std::fmt::Debug>(result: Result<T, BackendError>, wanted: &str) {
    let error = result.expect_err("a bad query is refused");
    assert!(matches!(error, BackendError::BadQuery { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with("query on table `orders`: "),
        "{message}"
    );
    assert!(message.contains(wanted), "{message} should say {wanted}");
}

/// An unknown field, a value of another type, a null compared by order, a limit of 0, a key of
/// the wrong shape and a continuation that does not parse or belongs to another order are
/// `BadQuery` errors naming the table and the field.
pub(crate) async fn refuses_bad_queries<F: Fixture>(fixture: F) {
    store_orders(&fixture, 10).await;
    let schema = orders();
    let backend = fixture.backend();
    let query = |query: Query| async move { backend.query(&orders(), &query).await };
    let unknown = Query::new().filter("colour", Op::Eq, Cell::String("red".into()));
    refused(query(unknown).await, "no field `colour` to filter on");
    let unknown = Query::new().order_by("colour", Direction::Ascending);
    refused(query(unknown).await, "no field `colour` to order by");
    refused(
        backend.distinct(&schema, "colour").await,
        "no field `colour` to list the values of",
    );
    let retyped = Query::new().filter("total", Op::Gt, Cell::String("10".into()));
    refused(
        query(retyped).await,
        "field `total` holds integer values, not string",
    );
    let null = Query::new().filter("total", Op::Lt, Cell::Null);
    refused(
        query(null).await,
        "field `total` cannot be compared with null",
    );
    refused(query(Query::new().limit(0)).await, "a limit of 0 rows");
    refused(
        backend.get_row(&schema, &[Cell::String("7".into())]).await,
        "key field `id` holds integer values, not string",
    );
    refused(
        backend
            .get_row(&schema, &[Cell::Integer(7), Cell::Integer(8)])
            .await,
        "the primary key has 1 field(s) (id)",
    );
    let garbage = Query::new().after(Continuation::new("no token of ours"));
    refused(query(garbage).await, "the continuation does not parse");
    let by_total = Query::new()
        .order_by("total", Direction::Ascending)
        .limit(3);
    let next = query(by_total).await.unwrap().next.unwrap();
    let by_time = Query::new()
        .order_by("created_at", Direction::Ascending)
        .after(next);
    refused(
        query(by_time).await,
        "the continuation was made for rows ordered by `total` ascending, not by `created_at` ascending",
    );
}
