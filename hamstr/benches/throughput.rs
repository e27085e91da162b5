//! Collection throughput against a local API that costs almost nothing to serve, side by side
//! with a hand-written loop (the floor), and a scheduler scale run.
//!
//! ```sh
//! cargo bench -p hamstr --bench throughput --features testing,cli            # 200,000 records
//! cargo bench -p hamstr --bench throughput --features testing,cli -- --records 20000
//! cargo bench -p hamstr --bench throughput --features testing,cli -- --only cli-jsonl --rounds 5
//! ```
//!
//! Each scenario runs `--rounds` times (3 unless told), once per round; its row is the run of
//! median wall time. `--only` runs the named scenarios and the floors they are held against.
//!
//! With `HAMSTR_TEST_POSTGRES_URL` set (`eval "$(scripts/test-postgres start)"`), the PostgreSQL
//! rows run too, each scenario into a database of its own on that server.
//!
//! The parent process serves pre-rendered pages on 127.0.0.1 from a thread of its own (each with
//! an `ETag` and a `Last-Modified`, as a static file server or GitHub sends them) and runs each
//! scenario in a child process (this binary again, `--scenario NAME`), so that each one's peak
//! RSS and CPU time are its own. The `hamstr` command's rows are the command's own: it runs as a
//! process of its own under the scenario, its `VmHWM` read from `/proc/PID/status` every 2 ms
//! while it runs and its CPU time from `/proc/PID/stat` once it has exited, before it is reaped.
//! Linux only: the others come from `/proc/self`.

use std::{
    fmt::Write as _,
    io::Write as _,
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use chrono::{DateTime, Utc};
use hamstr::{
    CollectorSpec, Hamstr, Model, Service, ServiceWithCollectors,
    backend::{CollectorId, JsonLines, MemoryBackend, Sqlite},
    paginate::{LinkHeader, NextLink, PageNumber},
    report::Observer,
    service::FileSource,
};
use serde::{Deserialize, Serialize};

const PAGE_SIZE: usize = 100;

/// About 500 bytes as JSON: 12 fields with a timestamp, a nested object, a list and nulls.
#[derive(Model, Serialize, Deserialize, Debug)]
#[hamstr(name = "orders")]
struct Order {
    id: i64,
    created_at: DateTime<Utc>,
    status: String,
    customer_email: String,
    description: String,
    amount: Amount,
    tags: Vec<String>,
    method: Option<String>,
    is_test: bool,
    score: f64,
    note: Option<String>,
    shop_id: i64,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
struct Amount {
    value: String,
    currency: String,
}

fn order(id: usize) -> Order {
    Order {
        id: id as i64,
        created_at: DateTime::from_timestamp(1_767_225_600 + id as i64 * 37, 0).expect("in range"),
        status: ["paid", "open", "failed", "refunded"][id % 4].to_owned(),
        customer_email: format!("customer{:06}@example.com", id % 50_000),
        description: format!(
            "Order #{id}: two pad thai, one green curry, spring rolls and a mango sticky rice to go, table {}",
            id % 40
        ),
        amount: Amount {
            value: format!("{}.{:02}", 5 + id % 90, id % 100),
            currency: "EUR".to_owned(),
        },
        tags: vec![
            "online".to_owned(),
            format!("zone-{}", id % 12),
            "takeaway".to_owned(),
        ],
        method: (!id.is_multiple_of(3)).then(|| ["ideal", "creditcard"][id % 2].to_owned()),
        is_test: id.is_multiple_of(10),
        score: (id % 1000) as f64 / 7.0,
        note: None,
        shop_id: (id % 25) as i64,
    }
}

/// The pages, rendered once: `{"data": [...], "next": URL}`.
struct Pages {
    bodies: Vec<Bytes>,
}

fn render(records: usize, base: &str) -> Pages {
    let count = records.div_ceil(PAGE_SIZE);
    let bodies = (0..count)
        .map(|page| {
            let first = page * PAGE_SIZE + 1;
            let last = (first + PAGE_SIZE - 1).min(records);
            let data: Vec<Order> = (first..=last).map(order).collect();
            let next = (page + 1 < count).then(|| format!("{base}/next/orders?page={}", page + 2));
            let body = serde_json::json!({"data": data, "next": next});
            Bytes::from(serde_json::to_vec(&body).expect("serializable"))
        })
        .collect();
    Pages { bodies }
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<usize>,
}

async fn serve_page(
    State(pages): State<Arc<Pages>>,
    Query(query): Query<PageQuery>,
    link_style: bool,
    base: &str,
) -> impl IntoResponse {
    let page = query.page.unwrap_or(1);
    let Some(body) = pages.bodies.get(page - 1) else {
        return (StatusCode::NOT_FOUND, HeaderMap::new(), Bytes::new());
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Validators on every page, as nginx serving files (or GitHub) sends them: what makes a
    // client keep pages for conditional requests.
    let etag = format!("\"{}-{page}\"", body.len());
    headers.insert(header::ETAG, HeaderValue::from_str(&etag).expect("ascii"));
    headers.insert(
        header::LAST_MODIFIED,
        HeaderValue::from_static("Sun, 06 Dec 2026 00:00:00 GMT"),
    );
    if link_style && page < pages.bodies.len() {
        let link = format!("<{base}/link/orders?page={}>; rel=\"next\"", page + 1);
        headers.insert(header::LINK, HeaderValue::from_str(&link).expect("ascii"));
    }
    (StatusCode::OK, headers, body.clone())
}

/// How many pages the slow route serves before its empty page.
const SLOW_PAGES: usize = 100;

/// The same pages, each 20 ms late, by `?page=N`; past [`SLOW_PAGES`], an empty page.
async fn serve_slow_page(
    State(pages): State<Arc<Pages>>,
    Query(query): Query<PageQuery>,
) -> impl IntoResponse {
    tokio::time::sleep(Duration::from_millis(20)).await;
    let page = query.page.unwrap_or(1);
    let body = (page <= SLOW_PAGES)
        .then(|| pages.bodies.get(page - 1).cloned())
        .flatten();
    body.unwrap_or_else(|| Bytes::from_static(b"{\"data\": []}"))
}

/// Serves the pages on 127.0.0.1 from a thread of its own; returns the base URL.
fn start_server(records: usize) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
    listener.set_nonblocking(true).expect("non-blocking");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let pages = Arc::new(render(records, &base));
    let small =
        Bytes::from(serde_json::to_vec(&serde_json::json!({"data": [order(1)]})).expect("json"));
    let next_base = base.clone();
    let link_base = base.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let next_base: &'static str = Box::leak(next_base.into_boxed_str());
            let link_base: &'static str = Box::leak(link_base.into_boxed_str());
            let app = Router::new()
                .route(
                    "/next/orders",
                    get(move |state, query| serve_page(state, query, false, next_base)),
                )
                .route(
                    "/link/orders",
                    get(move |state, query| serve_page(state, query, true, link_base)),
                )
                .route("/slow/orders", get(serve_slow_page))
                .route("/small", get(move || std::future::ready(small.clone())))
                .with_state(pages);
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            axum::serve(listener, app).await.expect("the server runs");
        });
    });
    base
}

/// CPU time (user + system) and peak RSS of this process so far.
fn usage() -> (Duration, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime, stime, cutime, cstime are fields 14-17; `rest` starts at field 3. Ticks are 1/100 s.
    let cpu = Duration::from_millis((ticks(11) + ticks(12) + ticks(13) + ticks(14)) * 10);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    (cpu, peak_kib)
}

/// The `hamstr` command's own CPU time and peak RSS, for the scenarios that run it.
static COMMAND_USAGE: std::sync::OnceLock<(Duration, u64)> = std::sync::OnceLock::new();

/// Runs `command` to its end and keeps its own CPU time (user + system) and peak RSS in
/// [`COMMAND_USAGE`]: its `VmHWM` (a high-water mark) is read every 2 ms while it runs, and its
/// CPU time from its `stat` once it has exited and before it is reaped (a zombie keeps its
/// times, not its memory figures).
fn run_measured(command: &mut std::process::Command) {
    let mut child = command.spawn().expect("the hamstr binary runs");
    let proc = format!("/proc/{}", child.id());
    let mut peak_kib = 0;
    let cpu = loop {
        let stat = std::fs::read_to_string(format!("{proc}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        if fields.first() == Some(&"Z") {
            let ticks = |index: usize| fields[index].parse::<u64>().expect("ticks");
            // utime, stime are fields 14 and 15; `fields` starts at field 3. Ticks are 1/100 s.
            break Duration::from_millis((ticks(11) + ticks(12)) * 10);
        }
        let status = std::fs::read_to_string(format!("{proc}/status")).unwrap_or_default();
        if let Some(kib) = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| {
                value
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
        {
            peak_kib = peak_kib.max(kib);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(
        child.wait().expect("reaped").success(),
        "the command failed"
    );
    let _ = COMMAND_USAGE.set((cpu, peak_kib));
}

/// What one scenario did.
#[derive(Clone, Copy)]
struct Measured {
    records: usize,
    wall: Duration,
    cpu: Duration,
    peak_kib: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|index| args.get(index + 1))
            .cloned()
    };
    if let Some(scenario) = value("--scenario") {
        let base = value("--base").expect("--base");
        let records: usize = value("--records")
            .and_then(|text| text.parse().ok())
            .expect("--records");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let started = Instant::now();
        let stored = runtime.block_on(run_scenario(&scenario, &base, records));
        // Up to the check of what was stored, when there is one: the floors that count as they
        // write are not charged for reading their output back, so no scenario is.
        let wall = WORK_DONE
            .get()
            .map_or_else(|| started.elapsed(), |done| done.duration_since(started));
        if std::env::var_os("HAMSTR_BENCH_DEBUG").is_some() {
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            for line in status
                .lines()
                .filter(|line| line.starts_with("Rss") || line.starts_with("VmHWM"))
            {
                eprintln!("{scenario}: {line}");
            }
        }
        // The command's own figures, not those of the process that waits for it.
        let (cpu, peak_kib) = COMMAND_USAGE.get().copied().unwrap_or_else(usage);
        println!(
            "RESULT {stored} {} {} {peak_kib}",
            wall.as_micros(),
            cpu.as_millis()
        );
        return;
    }
    let records: usize = value("--records")
        .and_then(|text| text.parse().ok())
        .unwrap_or(200_000);
    if args.iter().any(|arg| arg == "--serve") {
        // For profiling one scenario on its own: `perf record -g <bench> --scenario S --base URL
        // --records N` against this server.
        println!("{}", start_server(records));
        std::thread::park();
        return;
    }
    let only: Option<Vec<String>> =
        value("--only").map(|names| names.split(',').map(str::to_owned).collect());
    let rounds: usize = value("--rounds")
        .and_then(|text| text.parse().ok())
        .unwrap_or(3);
    parent(records, only.as_deref(), rounds.max(1));
}

/// `only`: the scenarios to run (with the floors they are held against), and nothing else;
/// `rounds`: how many times each runs (every scenario once per round, so that a slow spell of
/// the machine falls on all of them), its row the run of median wall time.
fn parent(records: usize, only: Option<&[String]>, rounds: usize) {
    let base = start_server(records);
    let mut scenarios = vec![
        ("floor: count only", "floor-count", None),
        ("hamstr: memory", "hamstr-memory", Some("floor-count")),
        ("floor: JSON Lines", "floor-jsonl", None),
        ("hamstr: JSON Lines", "hamstr-jsonl", Some("floor-jsonl")),
        ("floor: SQLite", "floor-sqlite", None),
        (
            "hamstr: SQLite (next link)",
            "hamstr-sqlite",
            Some("floor-sqlite"),
        ),
        (
            "hamstr: SQLite (Link header)",
            "hamstr-sqlite-link",
            Some("floor-sqlite"),
        ),
        (
            "hamstr CLI (YAML): SQLite",
            "cli-sqlite",
            Some("floor-sqlite"),
        ),
        (
            "hamstr CLI (YAML): JSON Lines",
            "cli-jsonl",
            Some("floor-jsonl"),
        ),
        ("floor: stdout", "floor-stdout", None),
        ("hamstr: stdout", "hamstr-stdout", Some("floor-stdout")),
        (
            "hamstr CLI (YAML): stdout",
            "cli-stdout",
            Some("floor-stdout"),
        ),
        ("floor: CSV file -> SQLite", "floor-file", None),
        (
            "hamstr: CSV file -> SQLite",
            "hamstr-file",
            Some("floor-file"),
        ),
    ];
    let has_postgres = std::env::var_os(hamstr::testing::POSTGRES_URL_VARIABLE).is_some();
    if has_postgres {
        scenarios.extend([
            ("floor: PostgreSQL", "floor-postgres", None),
            (
                "hamstr: PostgreSQL",
                "hamstr-postgres",
                Some("floor-postgres"),
            ),
            (
                "hamstr CLI (YAML): PostgreSQL",
                "cli-postgres",
                Some("floor-postgres"),
            ),
        ]);
    }
    if let Some(only) = only {
        let wanted = |name: &str| only.iter().any(|wanted| wanted == name);
        let floors: Vec<&str> = scenarios
            .iter()
            .filter(|(_, name, _)| wanted(name))
            .filter_map(|(_, _, floor)| *floor)
            .collect();
        scenarios.retain(|(_, name, _)| wanted(name) || floors.contains(name));
    }
    write_csv(records);
    let mut results: Vec<(&str, &str, Measured)> = Vec::new();
    let mut table = String::new();
    let _ = writeln!(
        table,
        "{records} records, pages of {PAGE_SIZE}\n{:<30} {:>10} {:>9} {:>9} {:>9} {:>8}",
        "scenario", "records/s", "wall s", "CPU s", "peak MiB", "/floor"
    );
    let mut runs: Vec<Vec<Measured>> = vec![Vec::new(); scenarios.len()];
    for _ in 0..rounds {
        for ((_, scenario, _), runs) in scenarios.iter().zip(&mut runs) {
            runs.push(child(scenario, &base, records));
        }
    }
    for ((label, scenario, floor), mut runs) in scenarios.into_iter().zip(runs) {
        runs.sort_by_key(|measured| measured.wall);
        let measured = runs.swap_remove(runs.len() / 2);
        let ratio = floor
            .and_then(|floor| results.iter().find(|(_, name, _)| *name == floor))
            .map(|(_, _, floor)| {
                format!(
                    "{:.2}",
                    floor.wall.as_secs_f64() / measured.wall.as_secs_f64()
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            table,
            "{label:<30} {:>10.0} {:>9.2} {:>9.2} {:>9.1} {ratio:>8}",
            measured.records as f64 / measured.wall.as_secs_f64(),
            measured.wall.as_secs_f64(),
            measured.cpu.as_secs_f64(),
            measured.peak_kib as f64 / 1024.0,
        );
        assert_eq!(measured.records, records, "{label} stored every record");
        results.push((label, scenario, measured));
    }
    let _ = writeln!(
        table,
        "(each row: the median of {rounds} runs by wall time; /floor: the floor's median wall time over this row's)"
    );
    let _ = std::fs::remove_file(csv_path());
    if !has_postgres {
        let _ = writeln!(
            table,
            "(PostgreSQL rows left out: set {} to a server, e.g. `eval \"$(scripts/test-postgres start)\"`)",
            hamstr::testing::POSTGRES_URL_VARIABLE
        );
    }
    if only.is_some() {
        let _ = std::io::stdout().lock().write_all(table.as_bytes());
        return;
    }
    let slow_records = SLOW_PAGES * PAGE_SIZE;
    let one = child("slow-1", &base, slow_records);
    let floor_four = child("floor-slow-4", &base, slow_records);
    let four = child("slow-4", &base, slow_records);
    let many = child("slow-8", &base, slow_records);
    for measured in [&one, &floor_four, &four, &many] {
        assert_eq!(measured.records, slow_records);
    }
    let _ = writeln!(
        table,
        "\npages in flight, a server that adds 20 ms per page ({slow_records} records, pages of {PAGE_SIZE}, into memory): 1 at a time {:.2} s; 4 at a time {:.2} s (the floor: {:.2} s, /floor {:.2}); 8 at a time {:.2} s: {:.1}x as fast as 1",
        one.wall.as_secs_f64(),
        four.wall.as_secs_f64(),
        floor_four.wall.as_secs_f64(),
        floor_four.wall.as_secs_f64() / four.wall.as_secs_f64(),
        many.wall.as_secs_f64(),
        one.wall.as_secs_f64() / many.wall.as_secs_f64(),
    );
    let scale = child("scale", &base, 10_000);
    let idle = child("idle", &base, 10_000);
    assert_eq!(idle.records, 10_000, "every collector ran once");
    let _ = write!(
        table,
        "{}",
        std::fs::read_to_string(scale_report_path()).unwrap_or_default()
    );
    let _ = scale;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(table.as_bytes());
}

/// A row of the CSV file the file scenarios read: the orders' flat fields.
#[derive(Model, Deserialize, Debug)]
#[hamstr(name = "lines")]
struct Line {
    #[hamstr(primary_key)]
    id: i64,
    created_at: DateTime<Utc>,
    status: String,
    customer_email: String,
    description: String,
    method: Option<String>,
    is_test: bool,
    score: f64,
    shop_id: i64,
}

fn csv_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("hamstr-bench-{}.csv", std::process::id()))
}

/// The CSV file the parent wrote, as a child is told.
fn bench_csv() -> std::path::PathBuf {
    std::env::var_os("HAMSTR_BENCH_CSV")
        .map(Into::into)
        .expect("HAMSTR_BENCH_CSV")
}

/// `records` rows of about 150 bytes, some fields quoted, some empty.
fn write_csv(records: usize) {
    let file = std::fs::File::create(csv_path()).expect("a file");
    let mut writer = std::io::BufWriter::new(file);
    writeln!(
        writer,
        "id,created_at,status,customer_email,description,method,is_test,score,shop_id"
    )
    .expect("written");
    for id in 0..records {
        let method = if id % 3 == 0 { "" } else { "ideal" };
        writeln!(
            writer,
            "{id},2026-01-{:02}T10:{:02}:00Z,paid,customer{id}@example.com,\"order {id}, with a comma\",{method},{},{}.25,{}",
            id % 28 + 1,
            id % 60,
            id % 2 == 0,
            id % 100,
            id % 7
        )
        .expect("written");
    }
    writer.flush().expect("flushed");
}

/// The floor for files: the csv crate into the same struct, one transaction per 1,000 rows.
fn floor_file(csv: &std::path::Path, path: &std::path::Path) -> usize {
    let mut connection = rusqlite::Connection::open(path).expect("a database");
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             CREATE TABLE lines (id INTEGER PRIMARY KEY, created_at TEXT, status TEXT,
               customer_email TEXT, description TEXT, method TEXT, is_test INTEGER, score REAL,
               shop_id INTEGER);",
        )
        .expect("a table");
    let mut reader = csv::Reader::from_path(csv).expect("the file");
    let mut rows = reader.deserialize::<Line>();
    let mut count = 0;
    loop {
        let transaction = connection.transaction().expect("a transaction");
        let mut written = 0;
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT INTO lines VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at,
                       status = excluded.status, customer_email = excluded.customer_email,
                       description = excluded.description, method = excluded.method,
                       is_test = excluded.is_test, score = excluded.score, shop_id = excluded.shop_id",
                )
                .expect("a statement");
            for line in rows.by_ref().take(1000) {
                let line = line.expect("a row");
                insert
                    .execute(rusqlite::params![
                        line.id,
                        line.created_at.to_rfc3339(),
                        line.status,
                        line.customer_email,
                        line.description,
                        line.method,
                        line.is_test,
                        line.score,
                        line.shop_id,
                    ])
                    .expect("inserted");
                written += 1;
            }
        }
        transaction.commit().expect("committed");
        count += written;
        if written < 1000 {
            return count;
        }
    }
}

fn scale_report_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("hamstr-bench-scale-{}.txt", std::process::id()))
}

/// Runs one scenario in a child process and reads what it measured.
fn child(scenario: &str, base: &str, records: usize) -> Measured {
    let output = Command::new(std::env::current_exe().expect("this binary"))
        .args([
            "--scenario",
            scenario,
            "--base",
            base,
            "--records",
            &records.to_string(),
        ])
        .env("HAMSTR_BENCH_SCALE_REPORT", scale_report_path())
        .env("HAMSTR_BENCH_CSV", csv_path())
        .output()
        .expect("the scenario runs");
    if std::env::var_os("HAMSTR_BENCH_DEBUG").is_some() {
        let _ = std::io::stderr().write_all(&output.stderr);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("RESULT "))
        .unwrap_or_else(|| {
            panic!(
                "{scenario} failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let numbers: Vec<u64> = line
        .split(' ')
        .map(|field| field.parse().expect("numbers"))
        .collect();
    Measured {
        records: numbers[0] as usize,
        wall: Duration::from_micros(numbers[1]),
        cpu: Duration::from_millis(numbers[2]),
        peak_kib: numbers[3],
    }
}

async fn run_scenario(scenario: &str, base: &str, records: usize) -> usize {
    let dir = tempfile::tempdir().expect("a temporary directory");
    match scenario {
        "floor-count" => floor(base, |_| {}).await,
        "floor-jsonl" => {
            let file = std::fs::File::create(dir.path().join("orders.jsonl")).expect("a file");
            let mut writer = std::io::BufWriter::new(file);
            floor(base, move |page: Vec<Order>| {
                for record in &page {
                    serde_json::to_writer(&mut writer, record).expect("written");
                    writer.write_all(b"\n").expect("written");
                }
                writer.flush().expect("flushed");
            })
            .await
        }
        "floor-sqlite" => floor_sqlite(base, &dir.path().join("floor.db")).await,
        "floor-stdout" => {
            // A JSON line per record, on a pipe another process drains, as `hamstr run --once`
            // with `--storage stdout` writes them.
            let mut drain = line_counter();
            let mut writer = std::io::BufWriter::new(drain.stdin.take().expect("a pipe"));
            floor(base, move |page: Vec<Order>| {
                for record in &page {
                    serde_json::to_writer(&mut writer, record).expect("written");
                    writer.write_all(b"\n").expect("written");
                }
                writer.flush().expect("flushed");
            })
            .await;
            lines_counted(drain)
        }
        "floor-file" => floor_file(&bench_csv(), &dir.path().join("floor.db")),
        "hamstr-file" => {
            let path = dir.path().join("file.db");
            let report = Hamstr::new()
                .backend(Sqlite::open(&path).expect("a database"))
                .add_collector(CollectorSpec::file(FileSource::csv(bench_csv())).model::<Line>())
                .run_once()
                .await
                .expect("checks pass");
            assert!(report.is_success(), "{report}");
            work_done();
            let connection = rusqlite::Connection::open(&path).expect("a database");
            connection
                .query_row("SELECT COUNT(*) FROM lines", [], |row| row.get::<_, i64>(0))
                .expect("counted") as usize
        }
        "hamstr-memory" => {
            let store = MemoryBackend::new();
            collect(base, false, store.clone()).await;
            work_done();
            store.rows("orders").len()
        }
        "hamstr-jsonl" => {
            collect(base, false, JsonLines::dir(dir.path()).expect("a folder")).await;
            count_lines(&dir.path().join("orders.jsonl"))
        }
        "hamstr-stdout" => {
            // `JsonLines::writer` on a pipe `wc` drains, as the floor's lines go.
            let mut drain = line_counter();
            let pipe = std::io::BufWriter::new(drain.stdin.take().expect("a pipe"));
            collect(base, false, JsonLines::writer(pipe)).await;
            lines_counted(drain)
        }
        "hamstr-sqlite" | "hamstr-sqlite-link" => {
            let path = dir.path().join("hamstr.db");
            collect(
                base,
                scenario.ends_with("link"),
                Sqlite::open(&path).expect("a database"),
            )
            .await;
            count_rows(&path)
        }
        "cli-sqlite" => {
            run_cli(base, dir.path(), "sqlite://cli.db").await;
            count_rows(&dir.path().join("cli.db"))
        }
        "cli-jsonl" => {
            run_cli(base, dir.path(), "jsonl://out").await;
            count_lines(&dir.path().join("out").join("orders.jsonl"))
        }
        "cli-stdout" => {
            // The command's lines go to `wc` through a pipe, as the floor's do.
            let mut drain = line_counter();
            let pipe = drain.stdin.take().expect("a pipe");
            std::fs::write(dir.path().join("hamstr.yml"), yaml(base)).expect("written");
            run_measured(
                std::process::Command::new(env!("CARGO_BIN_EXE_hamstr"))
                    .args(["run", "hamstr.yml", "--once", "--storage", "stdout"])
                    .current_dir(dir.path())
                    .env("RUST_LOG", "hamstr=warn")
                    .stdout(pipe),
            );
            lines_counted(drain)
        }
        "floor-postgres" => {
            let url = scratch_database().await;
            floor_postgres(base, &url).await;
            count_postgres_rows(&url).await
        }
        "hamstr-postgres" => {
            let url = scratch_database().await;
            collect(
                base,
                false,
                hamstr::backend::Postgres::connect(&url).expect("a URL"),
            )
            .await;
            count_postgres_rows(&url).await
        }
        "cli-postgres" => {
            let url = scratch_database().await;
            run_cli(base, dir.path(), &url).await;
            count_postgres_rows(&url).await
        }
        "floor-slow-4" => floor_in_flight(base, 4).await,
        "slow-1" | "slow-4" | "slow-8" => {
            let in_flight: usize = scenario["slow-".len()..].parse().expect("a count");
            let store = MemoryBackend::new();
            let service = Service::new(format!("{base}/slow/"))
                .name("shop")
                .records("data")
                .paginator(PageNumber::new())
                .pages_in_flight(in_flight)
                .add_collector(CollectorSpec::endpoint("orders").model::<Order>());
            let report = Hamstr::new()
                .backend(store.clone())
                .register_service(service)
                .run_once()
                .await
                .expect("checks pass");
            assert!(report.is_success(), "{report}");
            work_done();
            store.rows("orders").len()
        }
        "scale" => scale(base, records).await,
        "idle" => idle(base, records).await,
        other => panic!("unknown scenario {other}"),
    }
}

fn yaml(base: &str) -> String {
    format!(
        "services:\n  shop:\n    base_url: {base}/next/\n    paginator: {{type: json_next, path: next}}\n    records: data\n    collectors:\n      /orders:\n        model:\n          id: integer\n          created_at: datetime\n          status: string\n          customer_email: string\n          description: string\n          amount: json\n          tags: json\n          method: string\n          is_test: bool\n          score: float\n          note: string\n          shop_id: integer\n"
    )
}

/// A page of the listing, as the floors read it.
#[derive(Deserialize)]
struct Page {
    data: Vec<Order>,
    next: Option<String>,
}

/// The floors' request: reqwest, serde_json into the same struct.
async fn fetch(client: &hamstr::reqwest::Client, url: &str) -> Page {
    let body = client
        .get(url)
        .send()
        .await
        .expect("sent")
        .bytes()
        .await
        .expect("a body");
    serde_json::from_slice(&body).expect("a page")
}

/// The floor: [`fetch`] each page, `handle` it; no framework.
async fn floor(base: &str, mut handle: impl FnMut(Vec<Order>)) -> usize {
    let client = hamstr::reqwest::Client::new();
    let mut next = Some(format!("{base}/next/orders"));
    let mut count = 0;
    while let Some(url) = next {
        let page = fetch(&client, &url).await;
        count += page.data.len();
        next = page.next;
        handle(page.data);
    }
    count
}

/// The floor with `in_flight` pages asked for at once, by page number, from the route that
/// answers each page 20 ms late: batches of `in_flight` pages until one comes back empty.
async fn floor_in_flight(base: &str, in_flight: usize) -> usize {
    #[derive(Deserialize)]
    struct SlowPage {
        data: Vec<Order>,
    }
    let client = hamstr::reqwest::Client::new();
    let mut count = 0;
    for first in (1..).step_by(in_flight) {
        let pages = futures_util::future::join_all((first..first + in_flight).map(|page| {
            let request = client.get(format!("{base}/slow/orders?page={page}"));
            async move {
                let body = request
                    .send()
                    .await
                    .expect("sent")
                    .bytes()
                    .await
                    .expect("a body");
                serde_json::from_slice::<SlowPage>(&body)
                    .expect("a page")
                    .data
                    .len()
            }
        }))
        .await;
        count += pages.iter().sum::<usize>();
        if pages.contains(&0) {
            return count;
        }
    }
    count
}

/// The floor into SQLite: the same driver, one transaction per page, an upsert per record.
async fn floor_sqlite(base: &str, path: &std::path::Path) -> usize {
    let mut connection = rusqlite::Connection::open(path).expect("a database");
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             CREATE TABLE orders (id INTEGER PRIMARY KEY, created_at TEXT, status TEXT,
               customer_email TEXT, description TEXT, amount TEXT, tags TEXT, method TEXT,
               is_test INTEGER, score REAL, note TEXT, shop_id INTEGER);",
        )
        .expect("a table");
    floor(base, |page| {
        let transaction = connection.transaction().expect("a transaction");
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                     ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, status = excluded.status,
                       customer_email = excluded.customer_email, description = excluded.description,
                       amount = excluded.amount, tags = excluded.tags, method = excluded.method,
                       is_test = excluded.is_test, score = excluded.score, note = excluded.note,
                       shop_id = excluded.shop_id",
                )
                .expect("a statement");
            for order in page {
                insert
                    .execute(rusqlite::params![
                        order.id,
                        order.created_at.to_rfc3339(),
                        order.status,
                        order.customer_email,
                        order.description,
                        serde_json::to_string(&order.amount).expect("json"),
                        serde_json::to_string(&order.tags).expect("json"),
                        order.method,
                        order.is_test,
                        order.score,
                        order.note,
                        order.shop_id,
                    ])
                    .expect("inserted");
            }
        }
        transaction.commit().expect("committed");
    })
    .await;
    count_rows(path)
}

/// The `hamstr` command on the YAML project, in `dir`, into `storage`, measured.
async fn run_cli(base: &str, dir: &std::path::Path, storage: &str) {
    std::fs::write(dir.join("hamstr.yml"), yaml(base)).expect("written");
    run_measured(
        std::process::Command::new(env!("CARGO_BIN_EXE_hamstr"))
            .args(["run", "hamstr.yml", "--once", "--storage", storage])
            .current_dir(dir)
            .env("RUST_LOG", "hamstr=warn")
            .stdout(std::process::Stdio::null()),
    );
}

/// `wc -l`, counting the lines written to its standard input.
fn line_counter() -> std::process::Child {
    std::process::Command::new("wc")
        .arg("-l")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("wc runs")
}

/// The number `wc -l` printed, once its input is closed.
fn lines_counted(drain: std::process::Child) -> usize {
    let output = drain.wait_with_output().expect("wc ends");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("a count")
}

async fn scratch_database() -> String {
    hamstr::testing::scratch_database("bench")
        .await
        .expect("a database on the benchmark's server")
}

async fn postgres_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connected");
    tokio::spawn(connection);
    client
}

async fn count_postgres_rows(url: &str) -> usize {
    work_done();
    let client = postgres_client(url).await;
    let count: i64 = client
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .expect("a count")
        .get(0);
    count as usize
}

/// The floor into PostgreSQL: the same driver, one transaction per page, binary `COPY` into a
/// temporary table and one merge.
async fn floor_postgres(base: &str, url: &str) {
    use tokio_postgres::{binary_copy::BinaryCopyInWriter, types::Json, types::Type};
    let mut database = postgres_client(url).await;
    database
        .batch_execute(
            "CREATE TABLE orders (id bigint PRIMARY KEY, created_at timestamptz, status text,
               customer_email text, description text, amount jsonb, tags jsonb, method text,
               is_test boolean, score double precision, note text, shop_id bigint)",
        )
        .await
        .expect("a table");
    let types = [
        Type::INT8,
        Type::TIMESTAMPTZ,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::JSONB,
        Type::JSONB,
        Type::TEXT,
        Type::BOOL,
        Type::FLOAT8,
        Type::TEXT,
        Type::INT8,
    ];
    let client = hamstr::reqwest::Client::new();
    let mut next = Some(format!("{base}/next/orders"));
    while let Some(url) = next {
        let page = fetch(&client, &url).await;
        next = page.next;
        let transaction = database.transaction().await.expect("a transaction");
        transaction
            .batch_execute("CREATE TEMPORARY TABLE incoming (LIKE orders) ON COMMIT DROP")
            .await
            .expect("a temporary table");
        let sink = transaction
            .copy_in("COPY incoming FROM STDIN (FORMAT binary)")
            .await
            .expect("a copy");
        let writer = BinaryCopyInWriter::new(sink, &types);
        futures_util::pin_mut!(writer);
        for order in &page.data {
            writer
                .as_mut()
                .write(&[
                    &order.id,
                    &order.created_at,
                    &order.status,
                    &order.customer_email,
                    &order.description,
                    &Json(&order.amount),
                    &Json(&order.tags),
                    &order.method,
                    &order.is_test,
                    &order.score,
                    &order.note,
                    &order.shop_id,
                ])
                .await
                .expect("a row");
        }
        writer.finish().await.expect("copied");
        transaction
            .batch_execute(
                "INSERT INTO orders SELECT * FROM incoming ON CONFLICT (id) DO UPDATE SET
                   created_at = excluded.created_at, status = excluded.status,
                   customer_email = excluded.customer_email, description = excluded.description,
                   amount = excluded.amount, tags = excluded.tags, method = excluded.method,
                   is_test = excluded.is_test, score = excluded.score, note = excluded.note,
                   shop_id = excluded.shop_id",
            )
            .await
            .expect("merged");
        transaction.commit().await.expect("committed");
    }
}

/// hamstr: a typed Model, the default collect step, `run_once`.
async fn collect(base: &str, link_header: bool, backend: impl hamstr::Backend) {
    let (path, service) = if link_header {
        (
            "link/",
            Service::new(format!("{base}/link/")).paginator(LinkHeader::new()),
        )
    } else {
        (
            "next/",
            Service::new(format!("{base}/next/")).paginator(NextLink::at("next")),
        )
    };
    let _ = path;
    let service = service
        .name("shop")
        .records("data")
        .add_collector(CollectorSpec::endpoint("orders").model::<Order>());
    let report = Hamstr::new()
        .backend(backend)
        .register_service(service)
        .run_once()
        .await
        .expect("checks pass");
    assert!(report.is_success(), "{report}");
}

fn count_rows(path: &std::path::Path) -> usize {
    work_done();
    let connection = rusqlite::Connection::open(path).expect("a database");
    connection
        .query_row("SELECT COUNT(*) FROM orders", [], |row| {
            row.get::<_, i64>(0)
        })
        .expect("a count") as usize
}

/// Counts lines as a stream, so that counting does not add the file's size to the peak RSS.
/// When a scenario's work was done and the check of its output began.
static WORK_DONE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn work_done() {
    let _ = WORK_DONE.set(Instant::now());
}

fn count_lines(path: &std::path::Path) -> usize {
    work_done();
    use std::io::BufRead as _;
    let file = std::fs::File::open(path).expect("the file");
    std::io::BufReader::new(file).lines().count()
}

/// When each collector's runs started.
#[derive(Default)]
struct Starts(Mutex<std::collections::HashMap<CollectorId, Vec<Instant>>>);

impl Observer for Starts {
    fn run_started(&self, collector: &CollectorId) {
        let now = Instant::now();
        if let Ok(mut starts) = self.0.lock() {
            starts.entry(collector.clone()).or_default().push(now);
        }
    }
}

#[derive(Model, Deserialize)]
#[hamstr(name = "small")]
struct Small {
    id: i64,
}

/// `collectors` collectors of one service, each reading the one-record page `small` every
/// `interval`.
fn small_collectors(base: &str, collectors: usize, interval: Duration) -> ServiceWithCollectors {
    let mut service = ServiceWithCollectors::from(
        Service::new(format!("{base}/"))
            .name("local")
            .records("data"),
    );
    for index in 0..collectors {
        service = service.add_collector(
            CollectorSpec::endpoint("small")
                .name(format!("c{index}"))
                .model::<Small>()
                .interval(interval),
        );
    }
    service
}

/// The memory of this process now (`VmRSS`), in KiB.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// `collectors` idle collectors: each has run once (spread over the first second) and waits for
/// its next run an hour away, with the app's handle, an events subscriber and the admin API on.
/// Their memory is the process's resident memory then, less what it held before the app was
/// built, over their number. Returns how many collectors ran.
async fn idle(base: &str, collectors: usize) -> usize {
    let before_kib = resident_kib();
    let service = small_collectors(base, collectors, Duration::from_secs(3600));
    let finished = Arc::new(Finished::default());
    let mut handle = Hamstr::new()
        .backend(MemoryBackend::new())
        .register_service(service)
        .spread_schedules(Duration::from_secs(1))
        .observe(Arc::clone(&finished))
        .start()
        .await
        .expect("checks pass");
    // A subscriber that reads every event, as a progress display would.
    let mut events = handle.subscribe();
    let reader = tokio::spawn(async move { while events.next().await.is_some() {} });
    let admin = hamstr::admin::Admin::parse("127.0.0.1:0")
        .expect("an address")
        .serve(handle.control())
        .await
        .expect("the admin API serves");
    let ran = || finished.0.load(std::sync::atomic::Ordering::Relaxed);
    while ran() < collectors {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Settled: the runs' buffers are freed before memory is read.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let per_collector = resident_kib().saturating_sub(before_kib) as f64 / collectors as f64;
    // The API answers for all of them, as a dashboard would ask.
    let status = hamstr::reqwest::get(format!("{}api/collectors", admin.url()))
        .await
        .expect("the admin API answers");
    assert!(status.status().is_success());
    // Its connection closed, so that the server's graceful stop does not wait for it.
    drop(status);
    if let Ok(path) = std::env::var("HAMSTR_BENCH_SCALE_REPORT") {
        let mut report = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = writeln!(
            report,
            "idle: {collectors} collectors, each run once and waiting, with the handle, events and the admin API on: {per_collector:.1} KiB per collector"
        );
        let _ = std::fs::write(path, report);
    }
    handle.stop().await;
    admin.stop().await;
    reader.abort();
    ran()
}

/// Counts the runs that finished.
#[derive(Default)]
struct Finished(std::sync::atomic::AtomicUsize);

impl Observer for Finished {
    fn run_finished(&self, _: &hamstr::report::RunReport) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `collectors` collectors on 1-second intervals for 10 s: how late ticks fire, the CPU share,
/// memory per collector. Returns how many collectors ran.
async fn scale(base: &str, collectors: usize) -> usize {
    let (_, before_kib) = usage();
    let service = small_collectors(base, collectors, Duration::from_secs(1));
    let starts = Arc::new(Starts::default());
    let app = Hamstr::new()
        .backend(MemoryBackend::new())
        .register_service(service)
        .spread_schedules(Duration::from_secs(1))
        .observe(Arc::clone(&starts));
    let (cpu_before, _) = usage();
    let started = Instant::now();
    app.run_until(tokio::time::sleep(Duration::from_secs(10)))
        .await
        .expect("checks pass");
    let wall = started.elapsed();
    let (cpu_after, peak_kib) = usage();
    let starts = starts.0.lock().expect("not poisoned");
    let mut lateness: Vec<Duration> = starts
        .values()
        .flat_map(|runs| {
            let first = runs[0];
            runs.iter().enumerate().skip(1).map(move |(index, start)| {
                start.saturating_duration_since(first + Duration::from_secs(index as u64))
            })
        })
        .collect();
    lateness.sort();
    let percentile = |share: f64| {
        lateness
            .get(((lateness.len() as f64 * share) as usize).min(lateness.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let report = format!(
        "\nscale: {collectors} collectors, 1 s interval, {:.1} s: {} runs, tick lateness p50 {:.1} ms, p99 {:.1} ms; CPU {:.0}% of one core (server included); {:.1} KiB per collector\n",
        wall.as_secs_f64(),
        lateness.len() + starts.len(),
        percentile(0.5).as_secs_f64() * 1000.0,
        percentile(0.99).as_secs_f64() * 1000.0,
        (cpu_after - cpu_before).as_secs_f64() / wall.as_secs_f64() * 100.0,
        peak_kib.saturating_sub(before_kib) as f64 / collectors as f64,
    );
    if let Ok(path) = std::env::var("HAMSTR_BENCH_SCALE_REPORT") {
        let _ = std::fs::write(path, report);
    }
    starts.len()
}
