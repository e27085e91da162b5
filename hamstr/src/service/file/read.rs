//! Reading a file page by page on a blocking thread: the reader moves to the thread for a page
//! and back, so a file is open once per walk and never read whole.

use std::{
    fs::File,
    io::{BufRead, BufReader, Seek, SeekFrom},
    path::Path,
};

use reqwest::Url;
use serde_json::{Map, Value, value::RawValue};

use super::{FileFormat, FileSource};
use crate::{
    model::FieldType,
    records::RawRecord,
    service::{FileError, MalformedLine, Page, SourceError},
    state::Checkpoint,
    url::RedactedUrl,
};

/// A walk over a file's pages.
pub(super) struct Reader {
    path: std::path::PathBuf,
    page_size: usize,
    location: RedactedUrl,
    index: usize,
    /// `None` only while a page is being read on the blocking thread.
    state: Option<State>,
}

enum State {
    Csv(CsvState),
    Lines(LinesState),
}

struct CsvState {
    reader: csv::Reader<File>,
    /// The columns a record holds, in the file's order.
    columns: Vec<Column>,
    /// Data rows read so far, the header row not counted.
    row: u64,
    is_row_numbered: bool,
}

/// A column of a CSV file as a record's key.
struct Column {
    /// Its place in a row.
    index: usize,
    name: String,
    /// Its type, when a model gives it one.
    field_type: Option<FieldType>,
}

/// The columns of a CSV file with `headers`: of a name that repeats, the last column (as a JSON
/// object would keep it), and no column named `_row` when the row number takes that key.
fn columns(
    headers: &[String],
    types: Option<&crate::model::Schema>,
    is_row_numbered: bool,
) -> Vec<Column> {
    headers
        .iter()
        .enumerate()
        .filter(|(index, name)| {
            let is_repeated_later = headers[index + 1..].contains(name);
            let is_row_number = is_row_numbered && *name == "_row";
            !is_repeated_later && !is_row_number
        })
        .map(|(index, name)| Column {
            index,
            name: name.clone(),
            field_type: types
                .and_then(|schema| schema.field(name))
                .map(|(_, field)| field.field_type()),
        })
        .collect()
}

struct LinesState {
    reader: BufReader<File>,
    /// Where the next line starts.
    offset: u64,
    /// Lines read so far.
    line: u64,
    is_row_numbered: bool,
}

impl Reader {
    /// Opens the file at its start, or at the source's checkpoint.
    pub(super) async fn open(mut source: FileSource) -> Result<Self, SourceError> {
        let location = match &source.remote {
            Some(remote) => {
                let (copy, shown) = remote.fetch().await?;
                source.path = copy;
                shown
            }
            None => location_of(&source.path),
        };
        let page_size = source.page_size;
        let path = source.path.clone();
        let state = tokio::task::spawn_blocking(move || State::open(&source))
            .await
            .map_err(|error| std::io::Error::other(error.to_string()))
            .and_then(|opened| opened)
            .map_err(|error| FileError::read(&path, error))?;
        Ok(Self {
            path,
            page_size,
            location,
            index: 0,
            state: Some(state),
        })
    }

    /// The next page, and whether it is the last.
    pub(super) async fn next_page(&mut self) -> Result<(Page, bool), SourceError> {
        let mut state = self.state.take().expect("a page is read at a time");
        let (page_size, location) = (self.page_size, self.location.clone());
        let (state, read) = tokio::task::spawn_blocking(move || {
            let read = state.read_page(page_size, &location);
            (state, read)
        })
        .await
        .map_err(|error| FileError::read(&self.path, std::io::Error::other(error.to_string())))?;
        self.state = Some(state);
        let read = read.map_err(|error| FileError::read(&self.path, error))?;
        let mut page = Page::of_file(
            self.index,
            self.location.clone(),
            read.records,
            Some(read.checkpoint),
            read.is_end,
        );
        page.set_malformed(read.malformed);
        self.index += 1;
        Ok((page, read.is_end))
    }
}

/// What one page of a file holds.
struct PageRead {
    records: Vec<RawRecord>,
    malformed: Vec<MalformedLine>,
    /// Where the next page starts (after the last page: the file's end, for rows appended later).
    checkpoint: Checkpoint,
    is_end: bool,
}

impl State {
    fn open(source: &FileSource) -> std::io::Result<Self> {
        let file = File::open(&source.path)?;
        let is_row_numbered = matches!(source.key, super::FileKey::RowNumber);
        let resume = source.resume.as_ref().map(Resume::parse).transpose()?;
        Ok(match &source.format {
            FileFormat::Csv { delimiter } => {
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(*delimiter)
                    .has_headers(true)
                    .from_reader(file);
                let headers: Vec<String> = reader
                    .headers()
                    .map_err(std::io::Error::other)?
                    .iter()
                    .map(|name| name.trim_start_matches('\u{feff}').to_owned())
                    .collect();
                let columns = columns(&headers, source.types.as_deref(), is_row_numbered);
                let mut row = 0;
                if let Some(resume) = resume {
                    let mut position = csv::Position::new();
                    position
                        .set_byte(resume.offset)
                        .set_line(resume.line)
                        .set_record(resume.row + 1);
                    reader.seek(position).map_err(std::io::Error::other)?;
                    row = resume.row;
                }
                State::Csv(CsvState {
                    reader,
                    columns,
                    row,
                    is_row_numbered,
                })
            }
            FileFormat::JsonLines => {
                let mut reader = BufReader::new(file);
                let (mut offset, mut line) = (0, 0);
                if let Some(resume) = resume {
                    reader.seek(SeekFrom::Start(resume.offset))?;
                    (offset, line) = (resume.offset, resume.line);
                }
                State::Lines(LinesState {
                    reader,
                    offset,
                    line,
                    is_row_numbered,
                })
            }
        })
    }

    fn read_page(&mut self, page_size: usize, location: &RedactedUrl) -> std::io::Result<PageRead> {
        match self {
            State::Csv(state) => state.read_page(page_size, location),
            State::Lines(state) => state.read_page(page_size, location),
        }
    }
}

impl CsvState {
    fn read_page(&mut self, page_size: usize, location: &RedactedUrl) -> std::io::Result<PageRead> {
        let mut records = Vec::with_capacity(page_size);
        let mut malformed = Vec::new();
        let mut row = csv::StringRecord::new();
        let mut is_end = false;
        while records.len() < page_size {
            let line = self.reader.position().line();
            match self.reader.read_record(&mut row) {
                Ok(false) => {
                    is_end = true;
                    break;
                }
                Ok(true) => {
                    self.row += 1;
                    records.push(self.record(&row)?);
                }
                Err(error) if error.is_io_error() => return Err(std::io::Error::other(error)),
                // Not fatal: the reader goes on at the next row.
                Err(error) => {
                    self.row += 1;
                    let line = error.position().map_or(line, csv::Position::line);
                    malformed.push(MalformedLine {
                        location: location.clone(),
                        line,
                        reason: csv_reason(&error),
                    });
                }
            }
        }
        let position = self.reader.position();
        // A page that ends where the file does is the last: no empty page after it.
        is_end |= position.byte() >= self.reader.get_ref().metadata()?.len();
        let checkpoint = Resume {
            offset: position.byte(),
            line: position.line(),
            row: self.row,
        };
        Ok(PageRead {
            records,
            malformed,
            checkpoint: checkpoint.to_checkpoint(),
            is_end,
        })
    }

    /// A row as a JSON object from the header's names to its values, written straight from
    /// the row: no map of values, and no second parse of the text it makes.
    fn record(&self, row: &csv::StringRecord) -> std::io::Result<RawRecord> {
        serde_json::value::to_raw_value(&CsvRow { state: self, row }).map_err(std::io::Error::other)
    }
}

/// A row of a CSV file, serialized as its record.
struct CsvRow<'a> {
    state: &'a CsvState,
    row: &'a csv::StringRecord,
}

impl serde::Serialize for CsvRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for column in &self.state.columns {
            // A short row has no value for the last columns: no key either.
            if let Some(value) = self.row.get(column.index) {
                map.serialize_entry(&column.name, &CsvCell(value, column.field_type))?;
            }
        }
        if self.state.is_row_numbered {
            map.serialize_entry("_row", &self.state.row)?;
        }
        map.end()
    }
}

/// A CSV value as JSON: empty is `null`; a typed column's number or boolean as one; anything
/// else (a value its type cannot read included) as text.
struct CsvCell<'a>(&'a str, Option<FieldType>);

impl serde::Serialize for CsvCell<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Self(value, field_type) = *self;
        if value.is_empty() {
            return serializer.serialize_unit();
        }
        match field_type {
            Some(FieldType::Integer) => {
                if let Ok(number) = value.trim().parse::<i64>() {
                    return serializer.serialize_i64(number);
                }
            }
            // JSON has no NaN or infinity: those stay text.
            Some(FieldType::Float) => {
                if let Some(number) = value.trim().parse::<f64>().ok().filter(|n| n.is_finite()) {
                    return serializer.serialize_f64(number);
                }
            }
            Some(FieldType::Bool) => match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => return serializer.serialize_bool(true),
                "false" | "0" | "no" => return serializer.serialize_bool(false),
                _ => {}
            },
            _ => {}
        }
        serializer.serialize_str(value)
    }
}

fn csv_reason(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("it has {len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "it is not UTF-8 text".to_owned(),
        _ => error.to_string(),
    }
}

impl LinesState {
    fn read_page(&mut self, page_size: usize, location: &RedactedUrl) -> std::io::Result<PageRead> {
        let mut records = Vec::with_capacity(page_size);
        let mut malformed = Vec::new();
        let mut buffer = Vec::new();
        let mut is_end = false;
        while records.len() < page_size {
            buffer.clear();
            let read = self.reader.read_until(b'\n', &mut buffer)?;
            if read == 0 {
                is_end = true;
                break;
            }
            let is_terminated = buffer.ends_with(b"\n");
            let text = String::from_utf8_lossy(&buffer);
            let text = text.trim();
            let parsed = serde_json::from_str::<RawRecord>(text);
            if !is_terminated && parsed.is_err() {
                // A last line still being written: left for a later read, from its start.
                self.reader.seek(SeekFrom::Start(self.offset))?;
                is_end = true;
                break;
            }
            self.offset += read as u64;
            self.line += 1;
            if text.is_empty() {
                continue;
            }
            match parsed {
                Ok(record) if self.is_row_numbered => records.push(numbered(record, self.line)?),
                Ok(record) => records.push(record),
                Err(error) => malformed.push(MalformedLine {
                    location: location.clone(),
                    line: self.line,
                    reason: format!("it is not JSON: {error}"),
                }),
            }
        }
        is_end |= self.offset >= self.reader.get_ref().metadata()?.len();
        let checkpoint = Resume {
            offset: self.offset,
            line: self.line,
            row: self.line,
        };
        Ok(PageRead {
            records,
            malformed,
            checkpoint: checkpoint.to_checkpoint(),
            is_end,
        })
    }
}

/// A JSON Lines record with its line number as `_row` (a record that is no object stays as it
/// is, and its model will say it does not fit).
fn numbered(record: RawRecord, line: u64) -> std::io::Result<RawRecord> {
    let Ok(mut object) = serde_json::from_str::<Map<String, Value>>(record.get()) else {
        return Ok(record);
    };
    object.insert("_row".to_owned(), Value::from(line));
    let text = serde_json::to_string(&object).map_err(std::io::Error::other)?;
    RawValue::from_string(text).map_err(std::io::Error::other)
}

/// Where a walk over a file goes on from: a byte offset, with the line and row counts there.
#[derive(Debug)]
struct Resume {
    offset: u64,
    line: u64,
    row: u64,
}

impl Resume {
    const PREFIX: &'static str = "file:";

    fn to_checkpoint(&self) -> Checkpoint {
        Checkpoint::new(format!(
            "{}{}:{}:{}",
            Self::PREFIX,
            self.offset,
            self.line,
            self.row
        ))
    }

    fn parse(checkpoint: &Checkpoint) -> std::io::Result<Self> {
        let invalid = || {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("`{}` is not a checkpoint of a file", checkpoint.as_str()),
            )
        };
        let rest = checkpoint
            .as_str()
            .strip_prefix(Self::PREFIX)
            .ok_or_else(invalid)?;
        let numbers: Vec<u64> = rest
            .split(':')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| invalid())?;
        let [offset, line, row] = numbers[..] else {
            return Err(invalid());
        };
        Ok(Self { offset, line, row })
    }
}

/// The file's location as a URL (`file:///…`), for pages and errors.
fn location_of(path: &Path) -> RedactedUrl {
    let url = std::path::absolute(path)
        .ok()
        .and_then(|path| Url::from_file_path(path).ok())
        .unwrap_or_else(|| Url::parse("file:///").expect("a valid URL"));
    RedactedUrl::new(&url, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_and_others_are_refused() {
        let resume = Resume {
            offset: 1024,
            line: 40,
            row: 39,
        };
        let parsed = Resume::parse(&resume.to_checkpoint()).unwrap();
        assert_eq!((parsed.offset, parsed.line, parsed.row), (1024, 40, 39));
        let error = Resume::parse(&Checkpoint::new("https://api.example.com/?page=2")).unwrap_err();
        assert!(
            error.to_string().contains("not a checkpoint of a file"),
            "{error}"
        );
    }

    #[test]
    fn csv_values_take_their_column_types() {
        let cell = |value, field_type| serde_json::to_value(CsvCell(value, field_type)).unwrap();
        assert_eq!(cell("", Some(FieldType::Integer)), Value::Null);
        assert_eq!(cell("42", Some(FieldType::Integer)), Value::from(42));
        assert_eq!(cell("042", None), Value::from("042"));
        assert_eq!(cell("4.5", Some(FieldType::Float)), Value::from(4.5));
        assert_eq!(cell("NaN", Some(FieldType::Float)), Value::from("NaN"));
        assert_eq!(cell("Yes", Some(FieldType::Bool)), Value::Bool(true));
        assert_eq!(cell("many", Some(FieldType::Integer)), Value::from("many"));
        assert_eq!(cell("a \"b\"\n", None), Value::from("a \"b\"\n"));
    }

    /// Of a name that repeats the last column is the key, and a `_row` column gives way to
    /// the row number when that is the key.
    #[test]
    fn repeated_and_row_named_columns() {
        let headers: Vec<String> = ["id", "note", "_row", "note"].map(String::from).into();
        let names = |is_row_numbered| -> Vec<(usize, String)> {
            columns(&headers, None, is_row_numbered)
                .into_iter()
                .map(|column| (column.index, column.name))
                .collect()
        };
        assert_eq!(
            names(false),
            [(0, "id".into()), (2, "_row".into()), (3, "note".into())]
        );
        assert_eq!(names(true), [(0, "id".into()), (3, "note".into())]);
    }
}
