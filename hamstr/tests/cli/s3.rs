//! S3 against a local S3-compatible server (moto's server mode, `python3 -m moto.server`, which
//! `.ci/run` installs from PyPI): the catalog's `s3` definition lists buckets and a bucket's objects page by page, and
//! `hamstr extract --output s3://BUCKET/KEY` writes its JSON lines into a bucket. Requests are
//! signed with SigV4, and moto checks every signature (its window of unchecked requests is
//! spent on the test's setup).

use std::{net::TcpListener, process::Stdio, time::Duration};

use hamstr::{
    Secret, Service,
    service::AwsSigV4,
    testing::{Collection, MockApi},
};
use serde_json::{Value, json};

use super::{hamstr, text};

/// A moto server on a free port of 127.0.0.1 that checks every request's signature, stopped
/// when dropped.
///
/// Moto checks signatures with botocore's SigV4 (the AWS SDK for Python's), an implementation
/// of its own, once its window of unchecked requests is used up: that window is spent on making
/// an IAM user with a key and a policy, and on the test's own setup (`put`), which sends no
/// signature.
struct Moto {
    child: tokio::process::Child,
    url: String,
    key_id: String,
    secret: String,
}

/// The IAM actions [`Moto::start`] takes: a user, its key, its policy.
const IAM_SETUP: usize = 3;

impl Moto {
    /// A server that takes `unchecked` unsigned requests after its own setup (each `put`
    /// is one), and checks the signature of every request after those.
    async fn start(unchecked: usize) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        // The first answer to the poll below is one unchecked request.
        let window = 1 + IAM_SETUP + unchecked;
        // As a module of the Python that has it: no console-script shim to find on PATH.
        let child = tokio::process::Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", window.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs");
        let url = format!("http://127.0.0.1:{port}/");
        // The server takes a moment to import; poll until it answers (at most 60 s).
        let client = reqwest::Client::new();
        let mut child = child;
        for _ in 0..600 {
            if client.get(&url).send().await.is_ok() {
                let (key_id, secret) = iam_user(&url).await;
                return Self {
                    child,
                    url,
                    key_id,
                    secret,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "moto's server exited ({status}): `python3 -m pip install 'moto[server]'` installs it (.ci/run does)"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto's server did not answer on {url}");
    }

    /// Writes a bucket (`name`) or an object (`bucket/key`), unsigned: one of the `unchecked`.
    async fn put(&self, path: &str, body: impl Into<reqwest::Body>) {
        let status = reqwest::Client::new()
            .put(format!("{}{path}", self.url))
            .body(body)
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "PUT {path}: {status}");
    }

    /// Fails unless the window of unchecked requests is used up: an unsigned request is refused.
    async fn assert_checking(&self) {
        let answer = reqwest::Client::new().get(&self.url).send().await.unwrap();
        assert!(
            !answer.status().is_success(),
            "moto still takes unsigned requests: the test's count of unchecked ones is off"
        );
    }

    /// An object, read with the IAM user's key through `object_store`'s signer.
    async fn get(&self, bucket: &str, key: &str) -> String {
        use object_store::ObjectStore as _;
        let store = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(self.url.trim_end_matches('/'))
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_access_key_id(&self.key_id)
            .with_secret_access_key(&self.secret)
            .build()
            .unwrap();
        let object = store
            .get(&object_store::path::Path::from(key))
            .await
            .unwrap();
        String::from_utf8(object.bytes().await.unwrap().to_vec()).unwrap()
    }

    /// What the command needs to reach the server as the IAM user.
    fn env(&self) -> Vec<(&str, &str)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url.as_str()),
            ("AWS_ACCESS_KEY_ID", self.key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.as_str()),
            ("AWS_REGION", "us-east-1"),
        ]
    }
}

/// An IAM user allowed everything, made through moto's IAM query API: its key id and secret.
async fn iam_user(url: &str) -> (String, String) {
    iam(url, &[("Action", "CreateUser")]).await;
    let created = iam(url, &[("Action", "CreateAccessKey")]).await;
    let policy =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    iam(
        url,
        &[
            ("Action", "PutUserPolicy"),
            ("PolicyName", "everything"),
            ("PolicyDocument", policy),
        ],
    )
    .await;
    let element = |name: &str| {
        let start = created.find(&format!("<{name}>")).expect(name) + name.len() + 2;
        let end = created[start..].find('<').expect(name) + start;
        created[start..end].to_owned()
    };
    (element("AccessKeyId"), element("SecretAccessKey"))
}

/// One IAM action on the user `hamstr`, unsigned (inside the window): the credential scope of
/// its `Authorization` only routes it to IAM. Its answer's body.
async fn iam(url: &str, form: &[(&str, &str)]) -> String {
    let answer = reqwest::Client::new()
        .post(url)
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDSETUP/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
        )
        .form(&[&[("Version", "2010-05-08"), ("UserName", "hamstr")], form].concat())
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let body = answer.text().await.unwrap();
    assert!(status.is_success(), "IAM {form:?}: {status} {body}");
    body
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    text(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// Every request below is signed, and moto checks each signature with botocore's SigV4: the
/// catalog's listings (with a prefix and continuation tokens, and empty ones) and the lines
/// written into a bucket. A wrong secret is refused and never shown.
///
/// The prefix has no `/`: moto's check takes a query value with a `/` or a space as decoded, and
/// refuses such a request from the AWS SDK for Python (boto3) as well.
#[tokio::test(flavor = "multi_thread")]
async fn s3_buckets_and_objects_are_listed_page_by_page_and_lines_written_to_a_bucket() {
    let moto = Moto::start(29).await;
    let dir = tempfile::tempdir().unwrap();
    for bucket in ["reports", "raw", "out"] {
        moto.put(bucket, Vec::new()).await;
    }
    for index in 1..=25 {
        moto.put(
            &format!("reports/2026/report-{index:02}.csv"),
            format!("id\n{index}\n"),
        )
        .await;
    }
    moto.put("reports/other/readme.txt", "hello").await;
    moto.assert_checking().await;
    let env = moto.env();

    let output = hamstr(dir.path(), &["extract", "s3", "buckets"], &env).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mut buckets: Vec<String> = json_lines(&output.stdout)
        .iter()
        .map(|line| line["title"].as_str().unwrap().to_owned())
        .collect();
    buckets.sort();
    assert_eq!(buckets, ["out", "raw", "reports"]);

    // Ten keys a page: three pages for the 25 reports under the prefix.
    let output = hamstr(
        dir.path(),
        &[
            "extract",
            "s3",
            "objects",
            "reports",
            "--set",
            "page_size=10",
            "--set",
            "prefix=2026",
        ],
        &env,
    )
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let lines = json_lines(&output.stdout);
    let mut keys: Vec<&str> = lines
        .iter()
        .map(|line| line["title"].as_str().unwrap())
        .collect();
    keys.sort_unstable();
    let expected: Vec<String> = (1..=25)
        .map(|index| format!("2026/report-{index:02}.csv"))
        .collect();
    assert_eq!(keys, expected);
    assert!(
        lines
            .iter()
            .all(|line| line["size"] == json!(5) || line["size"] == json!(6)),
        "the bodies' sizes"
    );
    assert!(lines.iter().all(|line| line["created_at"].is_string()));

    // An empty bucket, and a prefix nothing starts with: no records, and no error.
    for args in [
        &["extract", "s3", "objects", "raw"][..],
        &[
            "extract",
            "s3",
            "objects",
            "reports",
            "--set",
            "prefix=1999",
        ],
    ] {
        let output = hamstr(dir.path(), args, &env).await;
        assert!(
            output.status.success(),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }

    // The same lines into a bucket.
    let output = hamstr(
        dir.path(),
        &[
            "extract",
            "s3",
            "objects",
            "reports",
            "--output",
            "s3://out/objects.jsonl",
        ],
        &env,
    )
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(output.stdout.is_empty());
    let written = moto.get("out", "objects.jsonl").await;
    assert_eq!(written.lines().count(), 26, "{written}");
    for printed in [text(&output.stderr), written] {
        assert!(!printed.contains(&moto.secret));
    }

    // A wrong secret: the signature does not match, the command says so and shows neither.
    let wrong = "not-the-secret-never-shown";
    let mut env = moto.env();
    env.retain(|(name, _)| *name != "AWS_SECRET_ACCESS_KEY");
    env.push(("AWS_SECRET_ACCESS_KEY", wrong));
    let output = hamstr(dir.path(), &["extract", "s3", "buckets"], &env).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("403"), "{stderr}");
    assert!(
        !stderr.contains(wrong) && !stderr.contains(&moto.secret),
        "{stderr}"
    );
}

/// The signature SigV4 puts on each request: an `Authorization` naming the key, the day, the
/// region and the service, with the date and payload hash it signed; never the secret.
#[tokio::test]
async fn requests_are_signed_with_sigv4() {
    let api = MockApi::start().await;
    api.route("/bucket", Collection::new(vec![json!({"id": 1})]));
    let auth = AwsSigV4::new(
        "AKIDTESTING",
        Secret::new("s3-secret-never-shown"),
        "eu-west-1",
        "s3",
    )
    .session_token(Secret::new("session-token-value"));
    let service = Service::new(api.url()).records("data").auth(auth.into());
    let _: Vec<Value> = futures_util::TryStreamExt::try_collect(service.list("bucket"))
        .await
        .unwrap();
    let request = &api.requests("/bucket")[0];
    let authorization = request.header("authorization").unwrap();
    let day = chrono::Utc::now().format("%Y%m%d").to_string();
    assert!(
        authorization.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential=AKIDTESTING/{day}/eu-west-1/s3/aws4_request, SignedHeaders="
        )),
        "{authorization}"
    );
    assert!(authorization.contains("x-amz-date"), "{authorization}");
    assert!(!authorization.contains("s3-secret-never-shown"));
    assert!(request.header("x-amz-date").unwrap().starts_with(&day));
    assert_eq!(
        request.header("x-amz-content-sha256"),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        "the hash of an empty body"
    );
    assert_eq!(
        request.header("x-amz-security-token"),
        Some("session-token-value")
    );
}
