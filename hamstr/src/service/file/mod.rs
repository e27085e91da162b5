//! [`FileSource`]: the records of a CSV or JSON Lines file, through the same interface as an
//! API's: [`list`](FileSource::list), [`list_pages`](FileSource::list_pages),
//! [`get`](FileSource::get), [`search`](FileSource::search) and
//! [`search_pages`](FileSource::search_pages).

mod read;

use std::{fmt::Write as _, path::PathBuf, sync::Arc};

use std::time::Duration;

use futures_util::{FutureExt, Stream, TryStreamExt, future, stream};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{FileError, Page, Service, SourceError};
use crate::{model::Schema, state::Checkpoint};

use read::Reader;

/// The records of a CSV or JSON Lines file on this machine, read in pages of
/// [`page_size`](Self::page_size) rows: the file is never loaded whole, so a file of millions of
/// rows takes the memory of one page.
///
/// A CSV row becomes a JSON object from the header row's names to the row's values (text; an
/// empty value is `null`; with [`column_types`](Self::column_types), numbers and booleans of the
/// model's integer, float and bool fields). A JSON Lines line is its record. A row that cannot be
/// read (a CSV row with another number of fields than the header, text that is not UTF-8, a line
/// that is not JSON) is reported with its line number and skipped; the rest is read.
///
/// # Examples
/// ```
/// use futures_util::TryStreamExt;
/// use hamstr::service::FileSource;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("orders.csv");
/// std::fs::write(&path, "id,dish,note\n1,pad thai,\"extra \"\"hot\"\"\"\n2,green curry,\n")?;
///
/// let orders = FileSource::csv(&path).key("id").page_size(1);
/// let pages: Vec<_> = orders.list_pages().try_collect().await?;
/// assert_eq!(pages.len(), 2);
/// let two = orders.get("2").await?.expect("a row with id 2");
/// assert_eq!((two["dish"].as_str(), two["note"].is_null()), (Some("green curry"), true));
/// let hot: Vec<serde_json::Value> = orders.search("HOT").try_collect().await?;
/// assert_eq!(hot[0]["note"], "extra \"hot\"");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FileSource {
    path: PathBuf,
    /// Where the file comes from when it is not on this machine.
    remote: Option<Box<Remote>>,
    format: FileFormat,
    page_size: usize,
    key: FileKey,
    types: Option<Arc<Schema>>,
    resume: Option<Checkpoint>,
}

/// A file at a path of a service, downloaded before it is read.
#[derive(Debug, Clone)]
struct Remote {
    service: Service,
    path: String,
    cache_for: Duration,
    cache_dir: PathBuf,
}

impl Remote {
    /// The local copy of the file: the one kept, while it is younger than `cache_for`, else a
    /// fresh download (written beside it, then renamed over it, so a reader never sees half).
    async fn fetch(&self) -> Result<(PathBuf, crate::url::RedactedUrl), SourceError> {
        let url = self.service.endpoint_url(&self.path)?;
        let client = self.service.client()?;
        let shown = client.redact(&url);
        let name = format!(
            "{}-{:016x}",
            sanitized(client.service()),
            fingerprint(url.as_str())
        );
        let copy = self.cache_dir.join(name);
        let write_error = |error| FileError::read(&self.cache_dir, error);
        tokio::fs::create_dir_all(&self.cache_dir)
            .await
            .map_err(write_error)?;
        if !self.cache_for.is_zero()
            && let Ok(metadata) = tokio::fs::metadata(&copy).await
            && metadata
                .modified()
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age < self.cache_for)
        {
            return Ok((copy, shown));
        }
        let part = copy.with_extension(format!("part-{}", std::process::id()));
        client.download(&url, &part).await?;
        tokio::fs::rename(&part, &copy).await.map_err(write_error)?;
        Ok((copy, shown))
    }
}

/// `name` with only letters, digits, `-` and `_`: a file name on every system.
fn sanitized(name: &str) -> String {
    name.chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || character == '-' || character == '_' {
                character
            } else {
                '_'
            }
        })
        .collect()
}

fn fingerprint(text: &str) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// How a file's records are written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileFormat {
    /// Comma-separated values (RFC 4180: quoted fields may hold the delimiter, quotes and line
    /// breaks), with a header row naming the columns.
    Csv {
        /// The field delimiter (`b','`; `b';'` and `b'\t'` are common too).
        delimiter: u8,
    },
    /// One JSON value per line.
    JsonLines,
}

/// What identifies a record of a file, for [`FileSource::get`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKey {
    /// The row's number (from 1, the header row not counted), which each record also carries as
    /// `_row`.
    RowNumber,
    /// The values of these columns (fields), in this order.
    Columns(Vec<String>),
}

/// The default number of rows a page holds.
const DEFAULT_PAGE_SIZE: usize = 1000;

impl FileSource {
    /// A CSV file with a header row, comma-separated.
    pub fn csv(path: impl Into<PathBuf>) -> Self {
        Self::new(path.into(), FileFormat::Csv { delimiter: b',' })
    }

    /// A JSON Lines file: one record per line.
    pub fn json_lines(path: impl Into<PathBuf>) -> Self {
        Self::new(path.into(), FileFormat::JsonLines)
    }

    /// A CSV file at `path` of `service` (relative to its base URL), downloaded through the
    /// service's HTTP layer (its auth, retries, limits, `max_body_bytes`) into a file of its
    /// own, then read from there in pages like a local file.
    pub fn csv_at(service: &Service, path: impl Into<String>) -> Self {
        Self::csv(PathBuf::new()).downloaded_from(service, path.into())
    }

    /// A JSON Lines file at `path` of `service`; see [`csv_at`](Self::csv_at).
    pub fn json_lines_at(service: &Service, path: impl Into<String>) -> Self {
        Self::json_lines(PathBuf::new()).downloaded_from(service, path.into())
    }

    fn downloaded_from(mut self, service: &Service, path: String) -> Self {
        self.remote = Some(Box::new(Remote {
            service: service.clone(),
            path,
            cache_for: Duration::ZERO,
            cache_dir: std::env::temp_dir().join("hamstr-files"),
        }));
        self
    }

    /// For a file read by URL: keeps the downloaded copy this long, so reads within that time
    /// use it instead of downloading the file again (default: every read downloads).
    pub fn cache_for(mut self, duration: Duration) -> Self {
        if let Some(remote) = &mut self.remote {
            remote.cache_for = duration;
        }
        self
    }

    /// For a file read by URL: the folder its downloaded copy is kept in (default: a
    /// `hamstr-files` folder in the system's temporary folder).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        if let Some(remote) = &mut self.remote {
            remote.cache_dir = dir.into();
        }
        self
    }

    fn new(path: PathBuf, format: FileFormat) -> Self {
        Self {
            path,
            remote: None,
            format,
            page_size: DEFAULT_PAGE_SIZE,
            key: FileKey::RowNumber,
            types: None,
            resume: None,
        }
    }

    /// The CSV field delimiter (default `,`); ignored for JSON Lines.
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        if let FileFormat::Csv { delimiter: current } = &mut self.format {
            *current = delimiter;
        }
        self
    }

    /// How many rows a page holds (default 1,000; at least 1).
    pub fn page_size(mut self, rows: usize) -> Self {
        self.page_size = rows.max(1);
        self
    }

    /// The column that identifies a record (default: the row number).
    pub fn key(self, column: impl Into<String>) -> Self {
        self.key_columns([column])
    }

    /// The columns that together identify a record; [`get_key`](Self::get_key) takes their
    /// values in this order.
    pub fn key_columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.key = FileKey::Columns(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Identifies records by their row number (the default); each record carries it as `_row`.
    pub fn key_row_number(mut self) -> Self {
        self.key = FileKey::RowNumber;
        self
    }

    /// Reads the CSV columns named like a field of `schema` as that field's type: integers,
    /// floats and booleans become JSON numbers and booleans (a value that does not read as one
    /// stays text, and the model reports it). Collectors of a file pass their model's schema.
    pub fn column_types(mut self, schema: Arc<Schema>) -> Self {
        self.types = Some(schema);
        self
    }

    /// Starts reading at `checkpoint` (from [`Page::checkpoint`]) instead of the first row: the
    /// checkpoint of a file's last page is its end, so a later read from it gets the rows
    /// appended since.
    pub fn resume(mut self, checkpoint: Checkpoint) -> Self {
        self.resume = Some(checkpoint);
        self
    }

    /// Where the file is: its path, or for a file read by URL, the service and the path under
    /// its base URL.
    pub fn location(&self) -> String {
        match &self.remote {
            Some(remote) => format!("{}:{}", remote.service.service_name(), remote.path),
            None => self.path.display().to_string(),
        }
    }

    /// What identifies a record.
    pub fn file_key(&self) -> &FileKey {
        &self.key
    }

    /// The file's pages, read as the stream is polled; each page's checkpoint is where the next
    /// one starts. A row that cannot be read is left out of its page and reported in
    /// [`Page::malformed`]; opening or reading the file failing ends the stream with the error.
    pub fn list_pages(
        &self,
    ) -> impl Stream<Item = Result<Page, SourceError>> + Send + 'static + use<> {
        let reading = Reader::open(self.clone()).boxed();
        stream::try_unfold(Some(reading), |reading| async move {
            let Some(reading) = reading else {
                return Ok(None);
            };
            let mut reader = reading.await?;
            let (page, is_last) = reader.next_page().await?;
            let next = (!is_last).then(|| future::ready(Ok(reader)).boxed());
            Ok(Some((page, next)))
        })
    }

    /// Every record, across all pages, as JSON values; a row that cannot be read is an error
    /// item naming its line, and the stream goes on.
    pub fn list(&self) -> impl Stream<Item = Result<Value, SourceError>> + Send + 'static + use<> {
        self.list_as()
    }

    /// Every record decoded into `T`; a record that does not fit, or a row that cannot be read,
    /// is an error item and the stream goes on.
    pub fn list_as<T: DeserializeOwned + Send + 'static>(
        &self,
    ) -> impl Stream<Item = Result<T, SourceError>> + Send + 'static + use<T> {
        self.list_pages().map_ok(page_items::<T>).try_flatten()
    }

    /// The record whose key is `id` (a single key column's value, or the row number), found
    /// by reading the file from the start until it comes.
    ///
    /// # Errors
    /// The file cannot be opened or read; the found record does not fit.
    pub async fn get(&self, id: &str) -> Result<Option<Value>, SourceError> {
        self.get_key(&[id]).await
    }

    /// [`get`](Self::get) with the values of every key column, in the order they were given.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn get_key(&self, key: &[&str]) -> Result<Option<Value>, SourceError> {
        let fields: Vec<String> = match &self.key {
            FileKey::RowNumber => vec!["_row".to_owned()],
            FileKey::Columns(columns) => columns.clone(),
        };
        let mut pages = std::pin::pin!(self.list_pages());
        while let Some(page) = pages.try_next().await? {
            for value in page.values()? {
                let is_match = fields.len() == key.len()
                    && fields.iter().zip(key).all(|(field, wanted)| {
                        value.get(field).is_some_and(|found| text_is(found, wanted))
                    });
                if is_match {
                    return Ok(Some(value));
                }
            }
        }
        Ok(None)
    }

    /// The records that hold every word of `query` (ignoring case) in some value: the naive
    /// search, reading the whole file.
    pub fn search(
        &self,
        query: &str,
    ) -> impl Stream<Item = Result<Value, SourceError>> + Send + 'static + use<> {
        self.search_pages(query)
            .map_ok(page_items::<Value>)
            .try_flatten()
    }

    /// [`search`](Self::search)'s results page by page: the file's pages that hold a match,
    /// each with only its matches and its position.
    pub fn search_pages(
        &self,
        query: &str,
    ) -> impl Stream<Item = Result<Page, SourceError>> + Send + 'static + use<> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        self.list_pages().try_filter_map(move |mut page| {
            page.retain(|record| super::endpoint::record_contains(record.get(), &words));
            future::ready(Ok((!page.is_empty()).then_some(page)))
        })
    }
}

/// A page's records decoded into `T`, then its rows that could not be read, as stream items.
fn page_items<T: DeserializeOwned + Send + 'static>(
    page: Page,
) -> impl Stream<Item = Result<T, SourceError>> + Send + 'static + use<T> {
    let malformed: Vec<SourceError> = page
        .malformed()
        .iter()
        .cloned()
        .map(|line| SourceError::File(FileError::Malformed(line)))
        .collect();
    let items: Vec<Result<T, SourceError>> = page
        .into_items::<T>()
        .map(|item| item.map_err(SourceError::from))
        .chain(malformed.into_iter().map(Err))
        .collect();
    stream::iter(items)
}

/// Whether a JSON value reads as `wanted`: a string equal to it, or a number or boolean whose
/// text it is.
fn text_is(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(text) => text == wanted,
        Value::Number(number) => {
            let mut text = String::new();
            let _ = write!(text, "{number}");
            text == wanted
        }
        Value::Bool(flag) => flag.to_string() == wanted,
        _ => false,
    }
}
