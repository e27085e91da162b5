//! The live app: `Hamstr::start` and its handle (status as runs happen, run now, pause and
//! resume, stop), and the events any number of subscribers read, none slowing a run.

use std::{sync::Arc, time::Duration};

use hamstr::{
    AppError, CollectError, Collector, CollectorSpec, Hamstr, Model, RunNow, Service,
    backend::MemoryBackend,
    collector::{CollectorSettings, Run},
    events::{Event, Events},
    service::RetryPolicy,
    state::RunOutcome,
    testing::{Collection, Fault, MockApi},
};
use serde_json::json;
use tokio::sync::Semaphore;

#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "gated")]
struct Gated {
    id: i64,
}

/// A collector that opens no sockets: each run waits for a permit of `gate`, then emits one
/// record numbered after its run, so a test holds a run open as long as it likes.
struct Gate {
    interval: Duration,
    gate: Arc<Semaphore>,
    runs: Arc<std::sync::atomic::AtomicI64>,
}

#[hamstr::async_trait]
impl Collector for Gate {
    type Model = Gated;

    fn settings(&self) -> CollectorSettings {
        CollectorSettings::new()
            .name("gated")
            .service("local")
            .interval(self.interval)
    }

    async fn collect(&self, run: &mut Run<'_, Gated>) -> Result<(), CollectError> {
        let permit = self.gate.acquire().await.expect("the gate stays open");
        permit.forget();
        let id = self.runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        run.emit(vec![Gated { id }]).await?;
        Ok(())
    }
}

fn gated_app(gate: &Arc<Semaphore>, store: &MemoryBackend) -> Hamstr {
    Hamstr::new()
        .backend(store.clone())
        .register_service(Service::new("http://127.0.0.1:9/").name("local"))
        .add_collector(Gate {
            interval: Duration::from_secs(3600),
            gate: Arc::clone(gate),
            runs: Arc::default(),
        })
}

/// The next event that is a run's start or end, skipping the rest.
async fn next_run_event(events: &mut Events) -> Event {
    loop {
        let event = events.next().await.expect("the app is running");
        if matches!(event, Event::RunStarted { .. } | Event::RunFinished { .. }) {
            return event;
        }
    }
}

/// The status follows the runs; a run asked for while one goes on starts no second one; a
/// paused collector starts no scheduled run but runs when asked; after a stop nothing runs.
/// Two subscribers see the same runs.
#[tokio::test]
async fn the_handle_shows_and_steers_runs() {
    let gate = Arc::new(Semaphore::new(0));
    let store = MemoryBackend::new();
    let app = gated_app(&gate, &store);
    let mut first = app.subscribe();
    let mut second = app.subscribe();
    let mut handle = app.start().await.unwrap();

    // The first run starts at once and waits at the gate.
    assert!(matches!(
        next_run_event(&mut first).await,
        Event::RunStarted { run: 1, .. }
    ));
    let status = &handle.status(5).await.unwrap()[0];
    assert!(status.is_running && !status.is_paused, "{status:?}");
    assert_eq!((status.runs.len(), status.next_run), (0, None));
    assert_eq!(handle.run_now("gated").unwrap(), RunNow::AlreadyRunning);
    assert_eq!(
        handle.run_now("local/gated").unwrap(),
        RunNow::AlreadyRunning
    );

    gate.add_permits(1);
    let Event::RunFinished { record } = next_run_event(&mut first).await else {
        panic!("the run ends");
    };
    assert_eq!(
        (record.outcome, record.inserted),
        (RunOutcome::Succeeded, 1)
    );
    let status = &handle.status(5).await.unwrap()[0];
    assert!(!status.is_running, "{status:?}");
    assert_eq!(status.runs[0].outcome, RunOutcome::Succeeded);
    assert_eq!(status.failures, 0);
    let next = status.next_run.expect("the next run is on the schedule");
    let in_an_hour = chrono::Utc::now() + chrono::Duration::minutes(59);
    assert!(next > in_an_hour, "{next}");
    assert!(
        status
            .state
            .as_ref()
            .is_some_and(|state| state.last_run.is_some())
    );

    // Paused: no scheduled run, but a run asked for runs.
    handle.pause("gated").unwrap();
    let status = &handle.status(5).await.unwrap()[0];
    assert!(status.is_paused && status.next_run.is_none(), "{status:?}");
    assert_eq!(handle.run_now("gated").unwrap(), RunNow::Started);
    gate.add_permits(1);
    assert!(matches!(
        next_run_event(&mut first).await,
        Event::RunStarted { run: 2, .. }
    ));
    assert!(matches!(
        next_run_event(&mut first).await,
        Event::RunFinished { .. }
    ));
    handle.resume("gated").unwrap();
    let status = &handle.status(5).await.unwrap()[0];
    assert!(!status.is_paused && status.next_run.is_some(), "{status:?}");
    assert_eq!(status.runs.len(), 2);
    assert_eq!(store.records("gated").len(), 2);

    let error = handle.run_now("nobody").unwrap_err();
    assert!(
        matches!(error, AppError::UnknownCollector { .. }),
        "{error}"
    );
    handle.stop().await;
    let error = handle.run_now("gated").unwrap_err();
    assert!(matches!(error, AppError::CollectorEnded { .. }), "{error}");
    drop(handle);

    // The second subscriber saw what the first did, and more: pause and resume.
    let mut seen = Vec::new();
    while let Some(event) = second.next().await {
        seen.push(match event {
            Event::RunStarted { run, .. } => format!("started {run}"),
            Event::RunFinished { record } => format!("finished {}", record.outcome),
            Event::PageStored { records, .. } => format!("stored {records}"),
            Event::CollectorPaused { .. } => "paused".to_owned(),
            Event::CollectorResumed { .. } => "resumed".to_owned(),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(
        seen,
        [
            "started 1",
            "stored 1",
            "finished succeeded",
            "paused",
            "started 2",
            "stored 1",
            "finished succeeded",
            "resumed",
        ]
    );
}

/// A subscriber that does not read never holds a run up: the run goes on past its backlog,
/// and the subscriber is told how many events it missed.
#[tokio::test]
async fn a_slow_subscriber_never_slows_a_run() {
    struct Chatty;
    #[hamstr::async_trait]
    impl Collector for Chatty {
        type Model = Gated;
        fn settings(&self) -> CollectorSettings {
            CollectorSettings::new().name("chatty").service("local")
        }
        async fn collect(&self, run: &mut Run<'_, Gated>) -> Result<(), CollectError> {
            // One event per batch: more than a subscriber may fall behind by.
            for id in 0..5_000 {
                run.emit(vec![Gated { id }]).await?;
            }
            Ok(())
        }
    }
    let store = MemoryBackend::new();
    let app = Hamstr::new()
        .backend(store.clone())
        .register_service(Service::new("http://127.0.0.1:9/").name("local"))
        .add_collector(Chatty);
    let mut sleeper = app.subscribe();
    let reader = app.subscribe();
    let reading = tokio::spawn(tally(reader));
    // The sleeper reads nothing until the run is over.
    let report = app.run_once().await.unwrap();
    assert_eq!(report.runs[0].inserted, 5_000);
    assert_eq!(store.records("gated").len(), 5_000);
    let Some(Event::Missed { count }) = sleeper.next().await else {
        panic!("the sleeper is told it fell behind");
    };
    assert!(count > 0);
    // Every event is accounted for, read or told missed: a run's start, 5,000 batches, its end.
    let (read, missed) = tally(sleeper).await;
    assert_eq!(read + missed + count, 5_002);
    let (read, missed) = reading.await.unwrap();
    assert_eq!(read + missed, 5_002);
}

/// How many events a subscriber read, and how many it was told it missed.
async fn tally(mut events: Events) -> (u64, u64) {
    let (mut read, mut missed) = (0, 0);
    while let Some(event) = events.next().await {
        match event {
            Event::Missed { count } => missed += count,
            _ => read += 1,
        }
    }
    (read, missed)
}

/// The HTTP layer's retries reach the app's events, with the service and the redacted URL.
#[tokio::test]
async fn retries_are_events() {
    #[derive(Model, serde::Deserialize)]
    #[hamstr(name = "items")]
    struct Item {
        id: String,
    }
    let api = MockApi::start().await;
    api.route(
        "/items",
        Collection::new(vec![json!({"id": "a"}), json!({"id": "b"})]).records_at("data"),
    );
    api.inject("/items", Fault::Status(503), 1);
    let service = Service::new(api.url())
        .name("shop")
        .records("data")
        .api_key_query("key", hamstr::Secret::new("s3cret"))
        .retry(RetryPolicy::new().delays(Duration::from_millis(1), Duration::from_millis(5)))
        .add_collector(CollectorSpec::endpoint("items").model::<Item>());
    let app = Hamstr::new()
        .backend(MemoryBackend::new())
        .register_service(service);
    let mut events = app.subscribe();
    let report = app.run_once().await.unwrap();
    assert!(report.is_success());
    let mut retries = Vec::new();
    while let Some(event) = events.next().await {
        if let Event::RequestRetried {
            service,
            url,
            attempt,
            reason,
            ..
        } = event
        {
            retries.push((service, url.to_string(), attempt, reason));
        }
    }
    assert_eq!(retries.len(), 1, "{retries:?}");
    let (service, url, attempt, reason) = &retries[0];
    assert_eq!((service.as_str(), *attempt), ("shop", 1));
    assert!(url.ends_with("/items") && !url.contains("s3cret"), "{url}");
    assert_eq!(*reason, "a status that is retried");
}
