//! `hamstr run --admin` and YAML's `admin:`: the admin server beside the runs, its address on
//! stderr, a stop on SIGTERM; a server that cannot start stops the command before any request.

use std::{path::Path, process::Stdio, time::Duration};

use hamstr::testing::{Collection, MockApi};
use serde_json::Value;
use tokio::process::Command;

use super::{hamstr, items, text};

fn project(api: &MockApi, admin: &str) -> String {
    api.route("/shop/items", Collection::new(items(12)).records_at("data"));
    format!(
        "name: served\n{admin}services:\n  shop:\n    base_url: {}shop/\n    records: data\n    collectors:\n      /items:\n        name: items\n        interval: 1h\n        model: {{id: integer, name: string}}\n",
        api.url()
    )
}

/// The admin server's URL, once the process has said it on stderr.
async fn admin_url(log: &Path) -> String {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let written = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(line) = written.lines().find(|line| line.starts_with("admin: ")) {
                return line["admin: ".len()..].trim().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the admin URL on stderr within 30 s")
}

async fn get(url: &str) -> Value {
    let body = reqwest::get(url).await.unwrap().text().await.unwrap();
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON from {url}: {body}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn run_with_admin_serves_the_app_until_sigterm() {
    let api = MockApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hamstr.yml"), project(&api, "")).unwrap();
    let log = dir.path().join("run.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hamstr"))
        .args(["run", "hamstr.yml", "--admin", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("RUST_LOG", "hamstr=warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = admin_url(&log).await;
    // Its first run is taken in, then shown.
    let collectors = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let listed = get(&format!("{url}api/collectors")).await;
            if listed["collectors"][0]["last_run"]["records"] == 12 {
                return listed;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the first run within 30 s");
    assert_eq!(collectors["collectors"][0]["name"], "shop/items");
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("hamstr"));
    let records = get(&format!("{url}api/models/items/records?limit=5")).await;
    assert_eq!(records["count"], 12);

    let pid = child.id().expect("running").to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("stops within 30 s")
        .unwrap();
    assert!(
        status.success(),
        "{status}: {}",
        std::fs::read_to_string(&log).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_server_that_cannot_start_stops_the_run_before_any_request() {
    let api = MockApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let admin = "admin:\n  listen: 0.0.0.0:0\n";
    std::fs::write(dir.path().join("hamstr.yml"), project(&api, admin)).unwrap();
    let output = hamstr(dir.path(), &["run", "hamstr.yml"], &[]).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("not loopback, without a token"), "{stderr}");
    assert_eq!(api.request_count(), 0, "nothing was collected");

    // `--admin` is for runs that go on.
    let once = hamstr(dir.path(), &["run", "hamstr.yml", "--once", "--admin"], &[]).await;
    assert_eq!(once.status.code(), Some(2));
    assert!(
        text(&once.stderr).contains("--once"),
        "{}",
        text(&once.stderr)
    );

    // A listen address that is not one is an error at its place in the file.
    let bad = "admin:\n  listen: localhost\n";
    std::fs::write(dir.path().join("hamstr.yml"), project(&api, bad)).unwrap();
    let checked = hamstr(dir.path(), &["check", "hamstr.yml"], &[]).await;
    let stderr = text(&checked.stderr);
    assert_eq!(checked.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("hamstr.yml:3:11"), "{stderr}");
    assert!(
        stderr.contains("`admin.listen` must be IP:PORT"),
        "{stderr}"
    );
}
