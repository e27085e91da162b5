//! The status page in a real browser: headless Chromium driven over WebDriver (chromedriver),
//! as a person would use it. `.ci/run` installs both from the distribution's packages.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use base64::Engine as _;
use hamstr::{
    CollectorSpec, Hamstr, Model,
    backend::MemoryBackend,
    events::Event,
    service::RetryPolicy,
    testing::{MockApi, MockResponse},
};
use serde_json::{Value, json};

use super::{Payment, mollie, next_event, serve};

/// chromedriver on a port of its own, ended when dropped.
struct Driver {
    child: Child,
    url: String,
    client: reqwest::Client,
    _profile: tempfile::TempDir,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(variable: &str, names: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(variable) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

impl Driver {
    async fn start() -> Self {
        let program = find_program("HAMSTR_TEST_CHROMEDRIVER", &["chromedriver"]).expect(
            "chromedriver is needed for the status page test: `apt-get install chromium chromium-driver` (or set HAMSTR_TEST_CHROMEDRIVER)",
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("a profile directory");
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            profile: profile.path().to_owned(),
            _profile: profile,
        };
        driver
            .until("chromedriver ready", || async {
                let status = driver
                    .client
                    .get(format!("{}/status", driver.url))
                    .send()
                    .await
                    .ok()?;
                let status: Value = status.json_value().await?;
                status["value"]["ready"].as_bool().filter(|ready| *ready)
            })
            .await;
        driver
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.client.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json_body(&body);
        }
        let response = request.send().await.expect("chromedriver answers");
        let value: Value = response.json_value().await.expect("JSON");
        assert!(
            value["value"]["error"].is_null(),
            "WebDriver {path}: {value}"
        );
        value["value"].clone()
    }

    /// Polls `probe` every 50 ms until it gives a value, for at most 30 s.
    async fn until<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                if let Some(value) = probe().await {
                    return value;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{what}: not within 30 s"))
    }
}

/// reqwest without its `json` feature: bodies by hand.
trait JsonBody {
    fn json_body(self, body: &Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, body: &Value) -> Self {
        self.header("content-type", "application/json")
            .body(body.to_string())
    }
}

trait JsonValue {
    async fn json_value(self) -> Option<Value>;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Option<Value> {
        serde_json::from_str(&self.text().await.ok()?).ok()
    }
}

/// A browser session on the driver.
struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl<'d> Session<'d> {
    async fn open(driver: &'d Driver) -> Self {
        let mut args = vec![
            "--headless".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            // The machine has no network: nothing but the page is fetched.
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", driver.profile.display()),
        ];
        // Root (as in CI's containers) cannot use Chromium's sandbox.
        if std::env::var("USER").is_ok_and(|user| user == "root") || is_root() {
            args.push("--no-sandbox".to_owned());
        }
        let mut options = json!({ "args": args });
        if let Some(binary) = find_program(
            "HAMSTR_TEST_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        ) {
            options["binary"] = json!(binary);
        }
        let capabilities = json!({
            "capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}
        });
        let session = driver
            .call(reqwest::Method::POST, "/session", Some(capabilities))
            .await;
        Self {
            driver,
            id: session["sessionId"].as_str().expect("a session").to_owned(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
            .await
    }

    async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// What `script` returns, run in the page in one turn of its event loop: a snapshot the
    /// page's refreshes cannot change halfway (an element found, then re-rendered, is stale).
    async fn script(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Each collector row as the page shows it now: its text, its state word and the result of
    /// its last action.
    async fn rows(&self) -> Vec<(String, String, String)> {
        let rows = self
            .script(
                "return [...document.querySelectorAll('tr[data-collector]')].map(row => [
                    row.innerText,
                    row.querySelector('.state')?.innerText ?? '',
                    row.querySelector('.action-result')?.innerText ?? '',
                ]);",
            )
            .await;
        rows.as_array()
            .map(|rows| {
                rows.iter()
                    .map(|row| {
                        let cell =
                            |index: usize| row[index].as_str().unwrap_or_default().to_owned();
                        (cell(0), cell(1), cell(2))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn screenshot(&self) -> Vec<u8> {
        let shot = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(shot.as_str().expect("base64"))
            .expect("a PNG")
    }

    async fn close(self) {
        self.driver
            .call(
                reqwest::Method::DELETE,
                &format!("/session/{}", self.id),
                None,
            )
            .await;
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
    })
}

#[derive(Model, serde::Deserialize, Debug)]
#[hamstr(name = "refunds")]
struct Refund {
    id: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_the_collectors_and_runs_one() {
    let api = MockApi::start_demo().await;
    api.route("/v2/refunds", MockResponse::status(500));
    let app = Hamstr::new()
        .backend(MemoryBackend::new())
        .register_service(
            mollie(&api)
                .retry(RetryPolicy::none())
                .add_collector(
                    CollectorSpec::endpoint("payments")
                        .model::<Payment>()
                        .interval("1h"),
                )
                .add_collector(
                    CollectorSpec::endpoint("refunds")
                        .model::<Refund>()
                        .interval("1h"),
                ),
        );
    let mut served = serve(app).await;
    served.run_finished().await;
    served.run_finished().await;
    let driver = Driver::start().await;
    let session = Session::open(&driver).await;
    session.go(&format!("{}/", served.base)).await;

    // What a person sees: each collector by name, its state in words, the last run. Read as
    // one snapshot: the page re-renders its rows as it refreshes.
    let rows = driver
        .until("the collectors' rows", || async {
            let rows = session.rows().await;
            (rows.len() == 2).then_some(rows)
        })
        .await;
    for (text, state, _) in &rows {
        if text.contains("mollie/payments") {
            assert_eq!(state, "idle", "{text}");
            assert!(text.contains("succeeded"), "{text}");
            assert!(text.contains("120"), "{text}");
        } else {
            assert!(text.contains("mollie/refunds"), "{text}");
            assert_eq!(state, "failing", "{text}");
            assert!(text.contains("500"), "the last error is shown: {text}");
        }
    }
    let services = session
        .script(
            "return [...document.querySelectorAll('#services tr[data-service]')].map(row => row.innerText);",
        )
        .await;
    let services = services.as_array().expect("the services' rows");
    assert_eq!(services.len(), 1);
    assert!(services[0].as_str().unwrap_or_default().contains("mollie"));

    // The run-now button starts a run, seen at the app and at the API.
    let before = api.requests("/v2/payments").len();
    // Found and clicked in one script, so that no refresh comes between: the button's own
    // click handler runs, as for a person's click.
    let clicked = session
        .script(
            "const row = [...document.querySelectorAll('tr[data-collector]')]
                 .find(row => row.innerText.includes('mollie/payments'));
             const button = row?.querySelector('button.run-now');
             button?.click();
             return Boolean(button);",
        )
        .await;
    assert_eq!(
        clicked,
        json!(true),
        "the payments row has a run-now button"
    );
    next_event(&mut served.events, |event| match event {
        Event::RunFinished { record } if record.collector.collector == "payments" => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(api.requests("/v2/payments").len(), before + 3);
    driver
        .until("the page says the run started", || async {
            session
                .rows()
                .await
                .iter()
                .any(|(text, _, result)| {
                    text.contains("mollie/payments") && result.contains("started")
                })
                .then_some(())
        })
        .await;

    // The screenshot, kept as the test's artefact.
    let png = session.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let artefact = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    std::fs::write(&artefact, png).expect("the screenshot is kept");
    session.close().await;
    served.stop().await;
}
