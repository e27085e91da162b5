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

/// The key WebDriver names an element by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

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

    /// The ids of the elements `css` finds, under `within` or in the whole page.
    async fn find(&self, css: &str, within: Option<&str>) -> Vec<String> {
        let path = match within {
            Some(element) => format!("/element/{element}/elements"),
            None => "/elements".to_owned(),
        };
        let body = json!({"using": "css selector", "value": css});
        let found = self.call(reqwest::Method::POST, &path, Some(body)).await;
        found
            .as_array()
            .map(|elements| {
                elements
                    .iter()
                    .filter_map(|element| element[ELEMENT].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn text(&self, element: &str) -> String {
        let text = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{element}/text"),
                None,
            )
            .await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// The text of the first element `css` finds under `within`; empty when none.
    async fn text_of(&self, css: &str, within: &str) -> String {
        match self.find(css, Some(within)).await.first() {
            Some(element) => self.text(element).await,
            None => String::new(),
        }
    }

    async fn click(&self, element: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
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

    // What a person sees: each collector by name, its state in words, the last run.
    let rows = driver
        .until("the collectors' rows", || async {
            let rows = session.find("tr[data-collector]", None).await;
            (rows.len() == 2).then_some(rows)
        })
        .await;
    let mut payments = None;
    for row in &rows {
        let text = session.text(row).await;
        let state = session.text_of(".state", row).await;
        if text.contains("mollie/payments") {
            assert_eq!(state, "idle", "{text}");
            assert!(text.contains("succeeded"), "{text}");
            assert!(text.contains("120"), "{text}");
            payments = Some(row.clone());
        } else {
            assert!(text.contains("mollie/refunds"), "{text}");
            assert_eq!(state, "failing", "{text}");
            assert!(text.contains("500"), "the last error is shown: {text}");
        }
    }
    let payments = payments.expect("the payments row");
    let services = session.find("#services tr[data-service]", None).await;
    assert_eq!(services.len(), 1);
    assert!(session.text(&services[0]).await.contains("mollie"));

    // The run-now button starts a run, seen at the app and at the API.
    let before = api.requests("/v2/payments").len();
    let button = session.find("button.run-now", Some(&payments)).await;
    session.click(&button[0]).await;
    next_event(&mut served.events, |event| match event {
        Event::RunFinished { record } if record.collector.collector == "payments" => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(api.requests("/v2/payments").len(), before + 3);
    driver
        .until("the page says the run started", || async {
            let rows = session.find("tr[data-collector]", None).await;
            for row in rows {
                if session.text(&row).await.contains("mollie/payments")
                    && session
                        .text_of(".action-result", &row)
                        .await
                        .contains("started")
                {
                    return Some(());
                }
            }
            None
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
