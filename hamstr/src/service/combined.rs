//! [`Combined`]: one `list`, `search` and `get` over several endpoints and files at once, each
//! item tagged with the source it came from and carrying the common attributes.

use std::{pin::Pin, time::Duration};

use futures_util::{Stream, StreamExt, future, stream};
use serde_json::Value;

use super::{Endpoint, FileSource, SourceError};

type Items = Pin<Box<dyn Stream<Item = Result<Value, SourceError>> + Send>>;

/// Several sources as one: [`list`](Self::list), [`search`](Self::search) and
/// [`get`](Self::get) ask every source at the same time and merge what comes back as it comes, so
/// a slow source does not hold back the others. A source that fails (or takes longer than its
/// [`timeout`](Self::timeout)) is reported beside the results as a [`SourceFailure`] naming it,
/// and the others go on.
///
/// Every item is a [`Found`]: its source's name, the record, and the common attributes `title`,
/// `url` and `created_at` read from the record (at those fields by default, the catalog's
/// convention, or where [`attributes`](Self::attributes) says for a source).
///
/// ```
/// use futures_util::StreamExt;
/// use hamstr::{Service, service::Combined, testing::{Collection, MockApi}};
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let api = MockApi::start().await;
/// api.route("/jobs", Collection::new(vec![json!({"id": 1, "title": "Rust engineer"})]));
/// api.route("/issues", Collection::new(vec![json!({"id": 7, "summary": "Rust 2027 edition"})]));
/// let service = Service::new(api.url()).records("data");
/// let everything = Combined::new()
///     .endpoint("jobs", service.endpoint("jobs"))
///     .endpoint("issues", service.endpoint("issues"))
///     .attributes("issues", "summary", "self", "created");
/// let found: Vec<_> = everything.search("rust").collect().await;
/// assert_eq!(found.len(), 2);
/// let titles: Vec<String> = found.into_iter().filter_map(|item| item.ok()?.title).collect();
/// assert!(titles.contains(&"Rust 2027 edition".to_owned()));
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Combined {
    parts: Vec<Part>,
    timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
struct Part {
    name: String,
    source: Kind,
    attributes: [String; 3],
}

#[derive(Debug, Clone)]
enum Kind {
    Endpoint(Box<Endpoint>),
    File(FileSource),
}

/// One item of a [`Combined`] source.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Found {
    /// The name of the source it came from.
    pub source: String,
    /// Its title, as text.
    pub title: Option<String>,
    /// Its URL, as text.
    pub url: Option<String>,
    /// When it was created, as the source wrote it.
    pub created_at: Option<String>,
    /// The record, whole.
    pub record: Value,
}

/// A source of a [`Combined`] that failed: its name and why. The other sources' items are not
/// affected.
#[derive(Debug, thiserror::Error)]
#[error("source `{source_name}`: {reason}")]
#[non_exhaustive]
pub struct SourceFailure {
    /// The source's name.
    pub source_name: String,
    /// What went wrong.
    #[source]
    pub reason: Failure,
}

/// Why a source of a [`Combined`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// Its listing, search or lookup failed (or one of its records did not fit).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// It took longer than the [`Combined::timeout`]; what it gave before stays given.
    #[error("no answer within {}", humantime::format_duration(*.0))]
    TimedOut(Duration),
}

/// What [`Combined::get`] found: the items of every source that has the id, and the sources that
/// failed to answer.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Gotten {
    /// Each source's item with the id, in the order the sources were added.
    pub items: Vec<Found>,
    /// The sources that failed, with why.
    pub failures: Vec<SourceFailure>,
}

impl Combined {
    /// No sources yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an endpoint of a service, named `name` in every item it gives.
    #[must_use]
    pub fn endpoint(mut self, name: impl Into<String>, endpoint: Endpoint) -> Self {
        self.parts
            .push(Part::new(name.into(), Kind::Endpoint(Box::new(endpoint))));
        self
    }

    /// Adds a CSV or JSON Lines file, named `name` in every item it gives.
    #[must_use]
    pub fn file(mut self, name: impl Into<String>, file: FileSource) -> Self {
        self.parts.push(Part::new(name.into(), Kind::File(file)));
        self
    }

    /// Where the source `name` keeps the common attributes: dot paths of its title, URL and
    /// creation time (default `title`, `url`, `created_at`). A name no source has changes
    /// nothing.
    #[must_use]
    pub fn attributes(mut self, name: &str, title: &str, url: &str, created_at: &str) -> Self {
        for part in self.parts.iter_mut().filter(|part| part.name == name) {
            part.attributes = [title.to_owned(), url.to_owned(), created_at.to_owned()];
        }
        self
    }

    /// How long each source may take for a whole `list` or `search`, or a `get`; past it, the
    /// source is reported as failed (what it gave before stays given). None by default.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Only the sources whose name `keep` says to keep.
    #[must_use]
    pub fn keep(mut self, keep: impl Fn(&str) -> bool) -> Self {
        self.parts.retain(|part| keep(&part.name));
        self
    }

    /// The names of the sources, in the order they were added.
    pub fn sources(&self) -> Vec<&str> {
        self.parts.iter().map(|part| part.name.as_str()).collect()
    }

    /// Every record of every source, merged as they arrive.
    pub fn list(
        &self,
    ) -> impl Stream<Item = Result<Found, SourceFailure>> + Send + 'static + use<> {
        let opened = self
            .parts
            .iter()
            .map(|part| match &part.source {
                Kind::Endpoint(endpoint) => endpoint.list().boxed(),
                Kind::File(file) => file.list().boxed(),
            })
            .collect();
        self.merge(opened)
    }

    /// The records of every source that match `query`: each searches its own way (the API's
    /// search where its endpoint has one, else the naive search), merged as they arrive.
    pub fn search(
        &self,
        query: &str,
    ) -> impl Stream<Item = Result<Found, SourceFailure>> + Send + 'static + use<> {
        let opened = self
            .parts
            .iter()
            .map(|part| match &part.source {
                Kind::Endpoint(endpoint) => endpoint.search(query).boxed(),
                Kind::File(file) => file.search(query).boxed(),
            })
            .collect();
        self.merge(opened)
    }

    /// The record with `id` in each source that has one, asked of all at once.
    pub async fn get(&self, id: &str) -> Gotten {
        let asks = self.parts.iter().map(|part| {
            let ask = async {
                match &part.source {
                    Kind::Endpoint(endpoint) => endpoint.get(id).await,
                    Kind::File(file) => file.get(id).await,
                }
                .map_err(Failure::from)
            };
            let timeout = self.timeout;
            async move {
                let answer = match timeout {
                    Some(limit) => tokio::time::timeout(limit, ask)
                        .await
                        .unwrap_or(Err(Failure::TimedOut(limit))),
                    None => ask.await,
                };
                (part, answer)
            }
        });
        let mut gotten = Gotten::default();
        for (part, answer) in future::join_all(asks).await {
            match answer {
                Ok(Some(record)) => gotten.items.push(part.found(record)),
                Ok(None) => {}
                Err(error) => gotten.failures.push(part.failure(error)),
            }
        }
        gotten
    }

    /// Each source's stream (in `opened`, one per part), tagged and ended at its timeout, all
    /// polled together.
    fn merge(
        &self,
        opened: Vec<Items>,
    ) -> impl Stream<Item = Result<Found, SourceFailure>> + Send + 'static + use<> {
        let streams = self.parts.iter().zip(opened).map(|(part, items)| {
            let part = part.clone();
            let deadline = self
                .timeout
                .map(|limit| (tokio::time::Instant::now() + limit, limit));
            stream::unfold(Some((items, part, deadline)), |state| async move {
                let (mut items, part, deadline) = state?;
                let next = match deadline {
                    Some((at, limit)) => match tokio::time::timeout_at(at, items.next()).await {
                        Ok(next) => next.map(|item| item.map_err(Failure::from)),
                        Err(_) => Some(Err(Failure::TimedOut(limit))),
                    },
                    None => items.next().await.map(|item| item.map_err(Failure::from)),
                };
                match next {
                    None => None,
                    Some(Ok(record)) => {
                        let found = part.found(record);
                        Some((Ok(found), Some((items, part, deadline))))
                    }
                    // Past its time, a source is given up.
                    Some(Err(reason @ Failure::TimedOut(_))) => {
                        Some((Err(part.failure(reason)), None))
                    }
                    // A record that does not fit is one item; a failed walk ends its own
                    // stream after the error. Either way, only this source is concerned.
                    Some(Err(reason)) => {
                        Some((Err(part.failure(reason)), Some((items, part, deadline))))
                    }
                }
            })
            .boxed()
        });
        stream::select_all(streams)
    }
}

impl Part {
    fn new(name: String, source: Kind) -> Self {
        Self {
            name,
            source,
            attributes: [
                "title".to_owned(),
                "url".to_owned(),
                "created_at".to_owned(),
            ],
        }
    }

    fn found(&self, record: Value) -> Found {
        let [title, url, created_at] = &self.attributes;
        Found {
            source: self.name.clone(),
            title: text_at(&record, title),
            url: text_at(&record, url),
            created_at: text_at(&record, created_at),
            record,
        }
    }

    fn failure(&self, reason: Failure) -> SourceFailure {
        SourceFailure {
            source_name: self.name.clone(),
            reason,
        }
    }
}

/// The value at a dot path, as text (a number as written); `None` for none, null or a
/// structure.
fn text_at(record: &Value, path: &str) -> Option<String> {
    let mut value = record;
    for key in path.split('.') {
        value = value.get(key)?;
    }
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}
