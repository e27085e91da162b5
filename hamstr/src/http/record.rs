//! Recording a live API's answers into fixture files for [`MockApi::replay`](crate::testing::MockApi::replay).

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use reqwest::{StatusCode, Url, header::HeaderMap};
use serde_json::{Value, json};

use crate::auth::Auth;
use crate::url::is_sensitive_param;

/// Marks the service's origin in recorded answers, so that replay can put the mock's in.
const ORIGIN_PLACEHOLDER: &str = "{{origin}}";

/// Response headers not worth replaying: they describe one transfer, or carry credentials.
const DROPPED_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "date",
    "content-encoding",
    "set-cookie",
    "authorization",
    "www-authenticate",
    "proxy-authenticate",
];

/// Appends every exchange of one service to `DIR/<service>.json`, credentials removed.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    file: PathBuf,
    origin: String,
    sensitive_params: Vec<String>,
    exchanges: tokio::sync::Mutex<Vec<Value>>,
}

impl Recorder {
    pub(crate) fn new(dir: &Path, service: &str, base: &Url, sensitive_params: &[String]) -> Self {
        let file_name: String = service
            .chars()
            .map(|character| {
                if character.is_ascii_alphanumeric() || character == '-' {
                    character
                } else {
                    '_'
                }
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                file: dir.join(format!("{file_name}.json")),
                origin: base.origin().ascii_serialization(),
                sensitive_params: sensitive_params.to_vec(),
                exchanges: tokio::sync::Mutex::new(Vec::new()),
            }),
        }
    }

    /// Adds one exchange (from [`exchange`](Self::exchange)) and rewrites the file, so a
    /// recording stopped half way is still usable.
    pub(crate) async fn record(&self, exchange: Value) {
        let mut exchanges = self.inner.exchanges.lock().await;
        exchanges.push(exchange);
        let text = match serde_json::to_string_pretty(&*exchanges) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(%error, "could not serialize a recorded exchange");
                return;
            }
        };
        let file = self.inner.file.clone();
        let written = tokio::task::spawn_blocking(move || {
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&file, text)
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(file = %self.inner.file.display(), %error, "could not write the recording")
            }
            Err(error) => tracing::error!(%error, "the recording task failed"),
        }
    }

    /// One request and its answer as a fixture, credentials removed.
    pub(crate) fn exchange(
        &self,
        url: &Url,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        auth: Option<&Auth>,
    ) -> Value {
        // APIs echo credentials (a key in their next links): none may reach a fixture file.
        let scrub = |text: &str| match auth {
            Some(auth) => auth.scrub(text),
            None => text.to_owned(),
        };
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(name, _)| !is_sensitive_param(name, &self.inner.sensitive_params))
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        let mut recorded = url.clone();
        recorded.query_pairs_mut().clear().extend_pairs(kept);
        let query = recorded.query().unwrap_or_default().to_owned();
        let headers: Vec<Value> = headers
            .iter()
            .filter(|(name, _)| !DROPPED_HEADERS.contains(&name.as_str()))
            .filter_map(|(name, value)| {
                let value =
                    scrub(value.to_str().ok()?).replace(&self.inner.origin, ORIGIN_PLACEHOLDER);
                Some(json!([name.as_str(), value]))
            })
            .collect();
        let text =
            scrub(&String::from_utf8_lossy(body)).replace(&self.inner.origin, ORIGIN_PLACEHOLDER);
        let mut response = json!({"status": status.as_u16(), "headers": headers});
        match serde_json::from_str::<Value>(&text) {
            Ok(value) => response["body"] = value,
            Err(_) => response["body_text"] = Value::String(text),
        }
        json!({
            "request": {"method": "GET", "path": url.path(), "query": query},
            "response": response,
        })
    }
}
