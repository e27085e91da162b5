//! Replaying recorded exchanges: loading fixture files, substituting `{{origin}}`, and matching
//! requests against them.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::query::decode_query;
use super::route::MockResponse;

/// Stands for the mock's origin (`http://127.0.0.1:PORT`) in recorded headers and bodies.
const ORIGIN_PLACEHOLDER: &str = "{{origin}}";

/// Query parameters that carry credentials; a recording may hold a different value or none.
const IGNORED_PARAMS: [&str; 9] = [
    "api_key",
    "apikey",
    "key",
    "token",
    "access_token",
    "client_secret",
    "password",
    "signature",
    "sig",
];

/// Why fixtures could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    /// The fixtures directory could not be listed.
    #[error("cannot read fixtures directory {path}: {cause}", path = path.display())]
    ReadDirectory {
        /// The directory.
        path: PathBuf,
        /// What the operating system said, in the message.
        cause: io::Error,
    },
    /// A fixture file could not be read.
    #[error("cannot read fixture file {path}: {cause}", path = path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// What the operating system said, in the message.
        cause: io::Error,
    },
    /// A fixture file is not JSON, or not an array of exchanges, at `line`:`column`.
    #[error("invalid fixture file {path}: {cause}", path = path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The line (1-based) where parsing failed.
        line: usize,
        /// The column (1-based) where parsing failed.
        column: usize,
        /// What was wrong there, in the message.
        cause: serde_json::Error,
    },
}

#[derive(Deserialize)]
struct RecordedExchange {
    request: RecordedRequest,
    response: RecordedResponse,
}

#[derive(Deserialize)]
struct RecordedRequest {
    method: String,
    path: String,
    #[serde(default)]
    query: Option<String>,
}

#[derive(Deserialize)]
struct RecordedResponse {
    status: u16,
    #[serde(default)]
    headers: Vec<(String, String)>,
    /// Kept as written, so key order and numbers come back exactly as recorded.
    #[serde(default)]
    body: Option<Box<RawValue>>,
    #[serde(default)]
    body_text: Option<String>,
}

/// What a request must have to match an exchange: method, path, and query as a sorted multiset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ExchangeKey {
    method: String,
    path: String,
    query: Vec<(String, String)>,
}

impl ExchangeKey {
    pub(crate) fn new(method: &str, path: &str, query: &[(String, String)]) -> Self {
        let mut query: Vec<(String, String)> = query
            .iter()
            .filter(|(name, _)| {
                !IGNORED_PARAMS
                    .iter()
                    .any(|ignored| name.eq_ignore_ascii_case(ignored))
            })
            .cloned()
            .collect();
        query.sort();
        ExchangeKey {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            query,
        }
    }
}

/// The responses recorded for one key, served in order; the last one repeats.
#[derive(Debug)]
struct Replays {
    responses: Vec<MockResponse>,
    served: usize,
}

/// Every loaded exchange, by what a request must have to get it.
#[derive(Debug, Default)]
pub(crate) struct Fixtures {
    exchanges: HashMap<ExchangeKey, Replays>,
}

impl Fixtures {
    pub(crate) fn is_empty(&self) -> bool {
        self.exchanges.is_empty()
    }

    /// Adds exchanges after those already loaded (they are served later for the same key).
    pub(crate) fn extend(&mut self, loaded: Vec<(ExchangeKey, MockResponse)>) {
        for (key, response) in loaded {
            self.exchanges
                .entry(key)
                .or_insert_with(|| Replays {
                    responses: Vec::new(),
                    served: 0,
                })
                .responses
                .push(response);
        }
    }

    /// The next recorded response for `key`, if any exchange matches.
    pub(crate) fn answer(&mut self, key: &ExchangeKey) -> Option<MockResponse> {
        let replays = self.exchanges.get_mut(key)?;
        let index = replays.served.min(replays.responses.len().checked_sub(1)?);
        replays.served += 1;
        replays.responses.get(index).cloned()
    }
}

/// Reads every `*.json` file in `directory`, in file-name order, with `{{origin}}` replaced by
/// `origin`.
pub(crate) fn read_fixtures(
    directory: &Path,
    origin: &str,
) -> Result<Vec<(ExchangeKey, MockResponse)>, FixtureError> {
    let read_directory_error = |cause| FixtureError::ReadDirectory {
        path: directory.to_owned(),
        cause,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(directory).map_err(read_directory_error)? {
        let path = entry.map_err(read_directory_error)?.path();
        if path
            .extension()
            .is_some_and(|extension| extension == "json")
            && path.is_file()
        {
            files.push(path);
        }
    }
    files.sort();

    let mut loaded = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|cause| FixtureError::ReadFile {
            path: path.clone(),
            cause,
        })?;
        let exchanges: Vec<RecordedExchange> =
            serde_json::from_str(&text).map_err(|cause| FixtureError::Invalid {
                line: cause.line(),
                column: cause.column(),
                path: path.clone(),
                cause,
            })?;
        tracing::debug!(file = %path.display(), exchanges = exchanges.len(), "loaded fixtures");
        loaded.extend(
            exchanges
                .into_iter()
                .map(|exchange| to_replay(exchange, origin)),
        );
    }
    Ok(loaded)
}

fn to_replay(exchange: RecordedExchange, origin: &str) -> (ExchangeKey, MockResponse) {
    let RecordedExchange { request, response } = exchange;
    // A recorder may have left the query on the path; it matches the same either way.
    let (path, query_on_path) = request.path.split_once('?').unwrap_or((&request.path, ""));
    let mut query = decode_query(query_on_path);
    query.extend(decode_query(request.query.as_deref().unwrap_or("")));
    let key = ExchangeKey::new(&request.method, path, &query);

    let body = match (response.body, response.body_text) {
        (Some(json), _) => json.get().to_owned(),
        (None, Some(text)) => text,
        (None, None) => String::new(),
    };
    // The origin is a plain URL with nothing JSON would escape, so replacing text inside the
    // serialized body is the same as replacing inside every string.
    let replay = MockResponse {
        status: response.status,
        headers: response
            .headers
            .into_iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("content-encoding"))
            .map(|(name, value)| (name, value.replace(ORIGIN_PLACEHOLDER, origin)))
            .collect(),
        body: body.replace(ORIGIN_PLACEHOLDER, origin),
    };
    (key, replay)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(raw: &str) -> Vec<(String, String)> {
        decode_query(raw)
    }

    /// Query order and credential parameters do not affect matching; other values do.
    #[test]
    fn keys_ignore_order_and_credentials() {
        let recorded =
            ExchangeKey::new("get", "/v2/payments", &pairs("limit=2&from=tr_2&api_key=a"));
        let live = ExchangeKey::new("GET", "/v2/payments", &pairs("Token=b&from=tr_2&limit=2"));
        assert_eq!(recorded, live);
        let other = ExchangeKey::new("GET", "/v2/payments", &pairs("from=tr_3&limit=2"));
        assert_ne!(recorded, other);
    }

    /// Exchanges with the same key are served in order, and the last one repeats.
    #[test]
    fn replays_in_order_then_repeat_the_last() {
        let key = ExchangeKey::new("GET", "/a", &[]);
        let mut fixtures = Fixtures::default();
        fixtures.extend(vec![
            (key.clone(), MockResponse::status(500)),
            (key.clone(), MockResponse::status(200)),
        ]);
        let statuses: Vec<u16> = (0..3)
            .filter_map(|_| fixtures.answer(&key))
            .map(|response| response.status)
            .collect();
        assert_eq!(statuses, vec![500, 200, 200]);
    }
}
