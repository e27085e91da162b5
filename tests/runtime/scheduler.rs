//! The scheduler under paused tokio time, with collectors that open no sockets: intervals,
//! no overlap, missed ticks skipped, graceful shutdown, the grace period, panics.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use hamstr::{
    CollectError, Collector, CollectorSpec, Hamstr, Model, Service,
    backend::MemoryBackend,
    collector::{CollectorSettings, Run},
    testing::{Collection, Fault, MockApi, Paging},
};
use tokio::{sync::oneshot, time::Instant};

#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "ticks")]
struct Tick {
    id: i64,
}

/// A collector that opens no sockets: each run notes when it started, works for `work` (or until
/// shutdown, when `is_polite`), then emits one record per started run.
struct Clock {
    name: String,
    interval: Option<Duration>,
    work: Duration,
    is_polite: bool,
    panic_on_run: Option<usize>,
    started: Instant,
    starts: Arc<Mutex<Vec<Duration>>>,
    running: Arc<AtomicUsize>,
    most_running: Arc<AtomicUsize>,
    errors: Arc<Mutex<Vec<String>>>,
}

impl Clock {
    fn new(interval: Option<Duration>, work: Duration) -> Self {
        Self {
            name: "clock".to_owned(),
            interval,
            work,
            is_polite: true,
            panic_on_run: None,
            started: Instant::now(),
            starts: Arc::default(),
            running: Arc::default(),
            most_running: Arc::default(),
            errors: Arc::default(),
        }
    }

    /// Seconds after the start at which each run began.
    fn starts(&self) -> Arc<Mutex<Vec<Duration>>> {
        Arc::clone(&self.starts)
    }
}

#[hamstr::async_trait]
impl Collector for Clock {
    type Model = Tick;

    fn settings(&self) -> CollectorSettings {
        let settings = CollectorSettings::new()
            .name(self.name.clone())
            .service("local");
        match self.interval {
            Some(interval) => settings.interval(interval),
            None => settings,
        }
    }

    async fn collect(&self, run: &mut Run<'_, Tick>) -> Result<(), CollectError> {
        let number = {
            let mut starts = self.starts.lock().unwrap();
            starts.push(self.started.elapsed());
            starts.len()
        };
        let running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_running.fetch_max(running, Ordering::SeqCst);
        if self.panic_on_run == Some(number) {
            self.running.fetch_sub(1, Ordering::SeqCst);
            panic!("run {number} fell over");
        }
        run.emit(vec![Tick { id: number as i64 }]).await?;
        if self.is_polite {
            tokio::select! {
                () = tokio::time::sleep(self.work) => {}
                () = run.stopping() => {}
            }
        } else {
            tokio::time::sleep(self.work).await;
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }

    fn on_error(&self, error: &CollectError) {
        self.errors.lock().unwrap().push(error.to_string());
    }
}

/// An app with the socket-free service `local` and `clock`, storing in `store`.
fn app(clock: Clock, store: &MemoryBackend) -> Hamstr {
    Hamstr::new()
        .backend(store.clone())
        .register_service(Service::new("http://127.0.0.1:9/").name("local"))
        .add_collector(clock)
}

/// Runs `app` until `after` has passed on the (paused) clock, then shuts it down; returns how
/// long the shutdown took.
async fn run_for(app: Hamstr, after: Duration) -> Duration {
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(after).await;
    let asked = Instant::now();
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    asked.elapsed()
}

fn seconds(starts: &Mutex<Vec<Duration>>) -> Vec<u64> {
    starts
        .lock()
        .unwrap()
        .iter()
        .map(Duration::as_secs)
        .collect()
}

/// A collector on a 10-minute interval runs at 0, 10 and 20 minutes in 25 minutes.
#[tokio::test(start_paused = true)]
async fn runs_once_per_interval() {
    let clock = Clock::new(Some(Duration::from_secs(600)), Duration::ZERO);
    let starts = clock.starts();
    let store = MemoryBackend::new();
    run_for(app(clock, &store), Duration::from_secs(25 * 60)).await;
    assert_eq!(seconds(&starts), [0, 600, 1200]);
    assert_eq!(store.records("ticks").len(), 3);
}

/// A run longer than the interval is never overlapped by the next; the ticks it missed are
/// skipped, not queued, so the next run starts at the next tick on the schedule.
#[tokio::test(start_paused = true)]
async fn a_long_run_is_not_overlapped_and_missed_ticks_are_skipped() {
    let clock = Clock::new(Some(Duration::from_secs(10)), Duration::from_secs(25));
    let starts = clock.starts();
    let most_running = Arc::clone(&clock.most_running);
    let store = MemoryBackend::new();
    run_for(app(clock, &store), Duration::from_secs(65)).await;
    // Runs take 25 s: the ticks at 10 and 20 s fall inside the first run and are dropped; a
    // queue would have started runs at 25 and 50 s, back to back.
    assert_eq!(seconds(&starts), [0, 30, 60]);
    assert_eq!(most_running.load(Ordering::SeqCst), 1);
}

/// Shutdown during a run: the run stores what it has and stops at once, well within the grace
/// period, and no run starts after it.
#[tokio::test(start_paused = true)]
async fn shutdown_lets_a_run_store_what_it_has_then_stops() {
    let clock = Clock::new(Some(Duration::from_secs(3600)), Duration::from_secs(600));
    let starts = clock.starts();
    let errors = Arc::clone(&clock.errors);
    let store = MemoryBackend::new();
    let took = run_for(app(clock, &store), Duration::from_secs(60)).await;
    assert_eq!(took, Duration::ZERO);
    assert_eq!(seconds(&starts), [0]);
    assert_eq!(store.records("ticks").len(), 1);
    assert!(errors.lock().unwrap().is_empty());
}

/// A collect step that ignores shutdown is abandoned after the grace period, and that is
/// reported to on_error.
#[tokio::test(start_paused = true)]
async fn a_run_that_ignores_shutdown_is_abandoned_after_the_grace_period() {
    let mut clock = Clock::new(Some(Duration::from_secs(3600)), Duration::from_secs(600));
    clock.is_polite = false;
    let errors = Arc::clone(&clock.errors);
    let store = MemoryBackend::new();
    let app = app(clock, &store).shutdown_grace(Duration::from_secs(5));
    let took = run_for(app, Duration::from_secs(60)).await;
    assert_eq!(took, Duration::from_secs(5));
    let errors = errors.lock().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains("abandoned 5s after shutdown began"),
        "{}",
        errors[0]
    );
}

/// A collector without an interval runs once, and the app returns by itself when it is done.
#[tokio::test(start_paused = true)]
async fn a_collector_without_interval_runs_once_and_the_app_returns() {
    let clock = Clock::new(None, Duration::from_secs(5));
    let starts = clock.starts();
    let store = MemoryBackend::new();
    app(clock, &store)
        .run_until(std::future::pending())
        .await
        .unwrap();
    assert_eq!(seconds(&starts), [0]);
}

/// With `spread_schedules`, collectors on the same interval come due at even steps through it
/// (the first at once), and each keeps its interval from there.
#[tokio::test(start_paused = true)]
async fn spread_schedules_start_collectors_evenly_through_the_interval() {
    let store = MemoryBackend::new();
    let mut app = Hamstr::new()
        .backend(store.clone())
        .register_service(Service::new("http://127.0.0.1:9/").name("local"))
        .spread_schedules(Duration::from_secs(3600));
    let mut all_starts = Vec::new();
    for name in ["a", "b", "c", "d"] {
        let mut clock = Clock::new(Some(Duration::from_secs(60)), Duration::ZERO);
        clock.name = name.to_owned();
        all_starts.push(clock.starts());
        app = app.add_collector(clock);
    }
    run_for(app, Duration::from_secs(130)).await;
    let starts: Vec<Vec<u64>> = all_starts.iter().map(|starts| seconds(starts)).collect();
    // The window is capped at the interval: 60 s / 4 collectors.
    assert_eq!(
        starts,
        [vec![0, 60, 120], vec![15, 75], vec![30, 90], vec![45, 105],]
    );
}

/// A panic in a collect step fails that run only: it is reported, the next run comes after twice
/// the interval (a failing collector backs off), and once a run succeeds it is back on its
/// interval.
#[tokio::test(start_paused = true)]
async fn a_panicking_run_is_reported_and_the_collector_backs_off_then_recovers() {
    let mut clock = Clock::new(Some(Duration::from_secs(60)), Duration::ZERO);
    clock.panic_on_run = Some(1);
    let starts = clock.starts();
    let errors = Arc::clone(&clock.errors);
    let store = MemoryBackend::new();
    run_for(app(clock, &store), Duration::from_secs(200)).await;
    assert_eq!(seconds(&starts), [0, 120, 180]);
    assert_eq!(
        *errors.lock().unwrap(),
        ["local/clock: panicked: run 1 fell over"]
    );
    assert_eq!(
        store.records("ticks").len(),
        2,
        "one per run that succeeded"
    );
}

#[derive(Model, serde::Deserialize)]
#[hamstr(name = "items")]
struct Item {
    id: i64,
}

/// Shutdown while the default walk waits for a page (real sockets, real time): the pages already
/// fetched are stored, the request in flight is dropped, and the app returns without waiting
/// for it.
#[tokio::test]
async fn shutdown_mid_walk_keeps_fetched_pages() {
    let api = MockApi::start().await;
    let items = (1..=30).map(|id| serde_json::json!({"id": id})).collect();
    api.route(
        "/items",
        Collection::new(items)
            .records_at("data")
            .paging(Paging::page_number())
            .page_size(10),
    );
    // Page 1 at once; page 2 answers only after a minute.
    api.inject("/items", Fault::Delay(Duration::ZERO), 1);
    api.inject("/items", Fault::Delay(Duration::from_secs(60)), 1);
    let store = MemoryBackend::new();
    let service = Service::new(api.url())
        .name("local")
        .paginator(hamstr::paginate::PageNumber::new())
        .records("data")
        .add_collector(
            CollectorSpec::endpoint("items")
                .model::<Item>()
                .interval("1h"),
        );
    let app = Hamstr::new()
        .backend(store.clone())
        .register_service(service);
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    api.wait_for_requests(2).await;
    let asked = std::time::Instant::now();
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert!(asked.elapsed() < Duration::from_secs(30));
    assert_eq!(store.records("items").len(), 10);
    // The stopped run saved the walk's place after page 1, not a finished run's state.
    let state =
        hamstr::Backend::load_state(&store, &hamstr::backend::CollectorId::new("local", "items"))
            .await
            .unwrap()
            .unwrap();
    assert!(state.last_run.is_none());
    let walk = state.walk.unwrap();
    assert_eq!(walk.pages, 1);
    assert!(walk.next.as_str().ends_with("items?page=2"), "{walk:?}");
}

/// `run_once_until`: shutdown during the pass lets each run store what it has and stop; the
/// report says so.
#[tokio::test(start_paused = true)]
async fn a_single_pass_stops_gracefully_on_shutdown() {
    let clock = Clock::new(None, Duration::from_secs(600));
    let store = MemoryBackend::new();
    let started = Instant::now();
    let report = app(clock, &store)
        .run_once_until(tokio::time::sleep(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    let run = &report.runs[0];
    assert!(run.was_stopped && run.is_success(), "{run}");
    assert_eq!(store.records("ticks").len(), 1);
}
