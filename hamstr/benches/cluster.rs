//! Several `hamstr run` workers on one PostgreSQL: the runs per second the cluster sustains with
//! 1, 2 and 3 workers where the API is the bottleneck, how late runs start against their
//! schedule, and the database's transactions per run.
//!
//! ```sh
//! eval "$(scripts/test-postgres start)"
//! cargo bench -p hamstr --bench cluster --features testing,cli
//! cargo bench -p hamstr --bench cluster --features testing,cli -- --collectors 3000 --seconds 30
//! ```
//!
//! A local API answers every request 200 ms late, and each worker may have 8 requests in flight
//! to it (`max_concurrent: 8`: one API token per machine), so one worker can make at most 40
//! runs a second. The collectors (1,000 by default) run every 5 seconds: 200 runs a second are
//! due, more than three workers can make. (With a faster API, the database and the workers share
//! this machine's two cores with it and become the bottleneck: see docs/cluster.md.) Each configuration gets a database of its own; the
//! workers run for a warm-up, then for the measured window, then stop on SIGTERM.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use axum::{Router, extract::Path, routing::get};

/// What the API adds to every answer.
const API_DELAY: Duration = Duration::from_millis(200);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str, default: u64| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|index| args.get(index + 1))
            .and_then(|text| text.parse().ok())
            .unwrap_or(default)
    };
    let collectors = value("--collectors", 1000);
    let seconds = value("--seconds", 15);
    if std::env::var_os(hamstr::testing::POSTGRES_URL_VARIABLE).is_none() {
        println!(
            "the cluster benchmark needs a PostgreSQL server: set {} (`eval \"$(scripts/test-postgres start)\"`)",
            hamstr::testing::POSTGRES_URL_VARIABLE
        );
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let base = runtime.block_on(start_api());
    println!(
        "an API that answers 200 ms late, 8 requests in flight per worker (40 runs/s each at most), collectors every 5 s, {seconds} s measured"
    );
    println!(
        "{:<40} {:>8} {:>8} {:>13} {:>13} {:>9}",
        "", "runs", "runs/s", "lateness p50", "lateness p99", "xact/run"
    );
    // Over capacity (more due than three workers can run): the runs per second they sustain.
    // Under capacity (less due than one worker can run): how late runs start against their
    // schedule, the claim included.
    for (collectors, what) in [
        (collectors, "collectors (over capacity)"),
        (collectors / 10, "collectors (under capacity)"),
    ] {
        let mut one = None;
        for workers in 1..=3 {
            let measured = runtime.block_on(measure(&base, collectors, workers, seconds));
            let per_second = measured.runs as f64 / seconds as f64;
            let speedup = one.map_or(String::new(), |one: f64| {
                format!("  {:.2}x one worker", per_second / one)
            });
            one.get_or_insert(per_second);
            let shown = |lateness: Option<Duration>| {
                lateness.map_or("-".to_owned(), |lateness| {
                    format!("{:.0} ms", lateness.as_secs_f64() * 1000.0)
                })
            };
            println!(
                "{:<40} {:>8} {per_second:>8.0} {:>13} {:>13} {:>9.1}{speedup}",
                format!(
                    "{collectors} {what}, {workers} worker{}",
                    if workers == 1 { "" } else { "s" }
                ),
                measured.runs,
                shown(measured.lateness_p50),
                shown(measured.lateness_p99),
                measured.transactions_per_run,
            );
        }
    }
}

/// The API: `/c/{n}` answers one record, 200 ms late.
async fn start_api() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a local port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let app = Router::new().route(
        "/c/{n}",
        get(|Path(n): Path<u64>| async move {
            tokio::time::sleep(API_DELAY).await;
            let body = format!("{{\"data\": [{{\"id\": {n}}}]}}");
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

struct Measured {
    runs: usize,
    /// Over runs whose collector ran before in the measured time plus warm-up; `None` when
    /// too few did (the workers cannot keep up: each collector runs less than once a window).
    lateness_p50: Option<Duration>,
    lateness_p99: Option<Duration>,
    transactions_per_run: f64,
}

async fn measure(base: &str, collectors: u64, workers: usize, seconds: u64) -> Measured {
    let url = hamstr::testing::scratch_database("cluster")
        .await
        .expect("a database on the benchmark's server");
    let dir = tempfile::tempdir().expect("a folder");
    let mut yaml = format!(
        "storage: {url}\nservices:\n  api:\n    base_url: {base}/c/\n    records: data\n    limits: {{max_concurrent: 8}}\n    collectors:\n"
    );
    for n in 0..collectors {
        yaml.push_str(&format!(
            "      \"{n}\": {{name: c{n}, interval: 5s, model: {{id: integer}}}}\n"
        ));
    }
    std::fs::write(dir.path().join("hamstr.yml"), yaml).expect("written");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connected");
    tokio::spawn(connection);
    let mut children: Vec<Child> = (0..workers)
        .map(|index| {
            Command::new(env!("CARGO_BIN_EXE_hamstr"))
                .args(["run", "hamstr.yml", "--worker", &format!("w{index}")])
                .current_dir(dir.path())
                .env("RUST_LOG", "hamstr=error")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("the hamstr binary runs")
        })
        .collect();
    // Warm up: every collector runs once, schedules settle.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let transactions = || async {
        let row = client
            .query_one(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()",
                &[],
            )
            .await
            .expect("statistics");
        row.get::<_, i64>(0)
    };
    let runs_so_far = || async {
        let row = client
            .query_one("SELECT count(*) FROM _hamstr_runs", &[])
            .await
            .expect("a count");
        row.get::<_, i64>(0)
    };
    let (transactions_before, runs_before) = (transactions().await, runs_so_far().await);
    let window_start: chrono::DateTime<chrono::Utc> = client
        .query_one("SELECT now()", &[])
        .await
        .expect("the time")
        .get(0);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (transactions_after, runs_after) = (transactions().await, runs_so_far().await);
    for child in &children {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
    }
    for child in &mut children {
        let _ = child.wait();
    }
    // Lateness: how long after the previous run of the same collector plus its interval a run
    // started, for runs in the window.
    let rows = client
        .query(
            "SELECT gap FROM (SELECT started_at, EXTRACT(EPOCH FROM started_at - lag(started_at)
                 OVER (PARTITION BY collector ORDER BY started_at))::float8 AS gap FROM _hamstr_runs) AS runs
             WHERE started_at >= $1",
            &[&window_start],
        )
        .await
        .expect("the runs");
    let mut lateness: Vec<f64> = rows
        .iter()
        .filter_map(|row| row.get::<_, Option<f64>>(0))
        .map(|gap| (gap - 5.0).max(0.0))
        .collect();
    lateness.sort_by(f64::total_cmp);
    let at = |share: f64| {
        let runs = lateness.len();
        (runs * 2 >= usize::try_from(runs_after - runs_before).unwrap_or(0) && runs > 0).then(
            || Duration::from_secs_f64(lateness[((runs as f64 - 1.0) * share).round() as usize]),
        )
    };
    let runs = usize::try_from(runs_after - runs_before).unwrap_or(0);
    Measured {
        runs,
        lateness_p50: at(0.5),
        lateness_p99: at(0.99),
        transactions_per_run: (transactions_after - transactions_before) as f64
            / runs.max(1) as f64,
    }
}
