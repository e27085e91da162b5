//! Where the records are in a page body, and turning them into values or typed items.
//!
//! A page body is scanned, not parsed into a tree: [`JsonPath::find`] walks the raw JSON once,
//! skipping everything off the path, and the records come out as raw JSON slices
//! ([`RawRecord`]). A typed caller decodes each slice straight into its own type, so no
//! `serde_json::Value` is built for data nobody asked to see as one.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;

use crate::http::RedactedUrl;

/// One record as it arrived: a slice of raw JSON.
pub type RawRecord = Box<RawValue>;

/// A dot-separated path into a JSON document: `data`, `_embedded.payments`, `meta.next_page`,
/// `items.0.id`. The empty path is the document itself.
///
/// A segment matches an object key of the same text; on an array, a segment that is a number
/// picks that element.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct JsonPath {
    text: String,
    segments: Vec<String>,
}

impl JsonPath {
    /// Parses a dot path. Empty segments (`a..b`, a leading dot) are ignored.
    pub fn new(path: &str) -> Self {
        let segments: Vec<String> = path
            .split('.')
            .filter(|segment| !segment.is_empty())
            .map(str::to_owned)
            .collect();
        Self {
            text: segments.join("."),
            segments,
        }
    }

    /// The path of the document itself.
    pub fn root() -> Self {
        Self::default()
    }

    /// True for the path of the document itself.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The path as written, without empty segments.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Finds the raw JSON at this path in `json`. `Ok(None)` when the path leads nowhere;
    /// a present `null` is `Ok(Some("null"))`.
    ///
    /// # Errors
    /// When `json` is not a complete JSON document.
    pub fn find<'a>(&self, json: &'a str) -> Result<Option<&'a RawValue>, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let found = Find {
            segments: &self.segments,
        }
        .deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(found)
    }

    /// Looks the path up in an already parsed value.
    pub fn lookup<'v>(&self, value: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        self.segments
            .iter()
            .try_fold(value, |current, segment| match current {
                serde_json::Value::Object(map) => map.get(segment),
                serde_json::Value::Array(items) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| items.get(index)),
                _ => None,
            })
    }
}

impl From<&str> for JsonPath {
    fn from(path: &str) -> Self {
        Self::new(path)
    }
}

impl From<String> for JsonPath {
    fn from(path: String) -> Self {
        Self::new(&path)
    }
}

impl fmt::Debug for JsonPath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "JsonPath({:?})", self.text)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            formatter.write_str("(the body)")
        } else {
            formatter.write_str(&self.text)
        }
    }
}

/// Walks one level of the path per call and ignores everything else, so nothing off the path is
/// allocated.
struct Find<'p> {
    segments: &'p [String],
}

impl<'de> DeserializeSeed<'de> for Find<'_> {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        if self.segments.is_empty() {
            return <&RawValue as de::Deserialize>::deserialize(deserializer).map(Some);
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Find<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (head, rest) = self
            .segments
            .split_first()
            .expect("visited with a non-empty path");
        let mut found = None;
        while let Some(is_match) = map.next_key_seed(KeyIs(head))? {
            if is_match && found.is_none() {
                found = map.next_value_seed(Find { segments: rest })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let (head, rest) = self
            .segments
            .split_first()
            .expect("visited with a non-empty path");
        let wanted = head.parse::<usize>().ok();
        let mut found = None;
        let mut index = 0;
        loop {
            if Some(index) == wanted {
                match seq.next_element_seed(Find { segments: rest })? {
                    Some(value) => found = value,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            index += 1;
        }
        Ok(found)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Compares an object key with one path segment without allocating for the usual unescaped key.
struct KeyIs<'p>(&'p str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// What a page's records look like: an array at a path (the usual list endpoint), or one object
/// at a path (an item endpoint, or an API that returns a single record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Records {
    /// An array of records at this path; the root path means the body is the array.
    Array(JsonPath),
    /// One record: the object at this path.
    Object(JsonPath),
}

impl Records {
    /// An array of records at `path` (`""` for a body that is the array itself).
    pub fn at(path: impl Into<JsonPath>) -> Self {
        Self::Array(path.into())
    }

    /// A single record: the object at `path` (`""` for the body itself).
    pub fn object(path: impl Into<JsonPath>) -> Self {
        Self::Object(path.into())
    }

    /// The path this points at.
    pub fn path(&self) -> &JsonPath {
        match self {
            Self::Array(path) | Self::Object(path) => path,
        }
    }

    /// Takes the records out of a page body.
    pub(crate) fn extract(
        &self,
        body: &str,
        url: &RedactedUrl,
    ) -> Result<Vec<RawRecord>, RecordsError> {
        let found = self
            .path()
            .find(body)
            .map_err(|source| RecordsError::NotJson {
                url: url.clone(),
                start: body_start(body),
                source,
            })?;
        let Some(raw) = found else {
            return Err(RecordsError::Missing {
                url: url.clone(),
                path: self.path().clone(),
            });
        };
        let kind = json_kind(raw.get());
        match (self, kind) {
            (Self::Array(_), JsonKind::Array) => {
                let items: Vec<&RawValue> =
                    serde_json::from_str(raw.get()).expect("a value that parsed once parses again");
                Ok(items.into_iter().map(RawValue::to_owned).collect())
            }
            (Self::Object(_), JsonKind::Object) => Ok(vec![raw.to_owned()]),
            _ => Err(RecordsError::WrongShape {
                url: url.clone(),
                path: self.path().clone(),
                expected: match self {
                    Self::Array(_) => "an array of records",
                    Self::Object(_) => "an object",
                },
                found: kind.describe(),
            }),
        }
    }
}

impl Default for Records {
    /// The body is the array of records.
    fn default() -> Self {
        Self::Array(JsonPath::root())
    }
}

impl From<&str> for Records {
    fn from(path: &str) -> Self {
        Self::at(path)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonKind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl JsonKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Object => "an object",
            Self::Array => "an array",
            Self::String => "a string",
            Self::Number => "a number",
            Self::Bool => "a boolean",
            Self::Null => "null",
        }
    }
}

fn json_kind(raw: &str) -> JsonKind {
    match raw.trim_start().as_bytes().first() {
        Some(b'{') => JsonKind::Object,
        Some(b'[') => JsonKind::Array,
        Some(b'"') => JsonKind::String,
        Some(b't' | b'f') => JsonKind::Bool,
        Some(b'n') => JsonKind::Null,
        _ => JsonKind::Number,
    }
}

/// The first characters of a body, on one line, for an error about a body that is not JSON.
pub(crate) fn body_start(body: &str) -> String {
    excerpt(body.trim_start(), 60)
}

/// At most `limit` characters of `text`, on one line (control characters become spaces), with
/// `…` when it was cut: how messages show values that may be long or hold line breaks.
pub(crate) fn excerpt(text: &str, limit: usize) -> String {
    let mut shown: String = text
        .chars()
        .take(limit)
        .map(|character| {
            if character.is_control() {
                ' '
            } else {
                character
            }
        })
        .collect();
    if text.chars().count() > limit {
        shown.push('…');
    }
    shown
}

/// Decodes record `index` of the page at `url` into `T`, naming the field path on failure.
pub(crate) fn decode<T: DeserializeOwned>(
    record: &RawValue,
    url: &RedactedUrl,
    index: usize,
) -> Result<T, DecodeError> {
    // The plain decoder first: tracking the path costs time on every field of every record,
    // and is only needed to explain a failure.
    serde_json::from_str(record.get()).map_err(|error| {
        let mut deserializer = serde_json::Deserializer::from_str(record.get());
        let (path, error) = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
            Err(traced) => (traced.path().to_string(), traced.into_inner()),
            // Only a type whose decoding is not deterministic gets here.
            Ok(_) => (".".to_owned(), error),
        };
        DecodeError {
            url: url.clone(),
            index,
            path,
            message: error.to_string(),
        }
    })
}

/// Why a page's records could not be taken out of its body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordsError {
    /// The body is not JSON (an HTML error page, a truncated answer).
    #[error("{url}: the body is not JSON (it starts with `{start}`)")]
    NotJson {
        /// The page's URL, credentials removed.
        url: RedactedUrl,
        /// The first characters of the body.
        start: String,
        /// The parser's complaint, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// Nothing is at the records path.
    #[error("{url}: the body has nothing at the records path `{path}`")]
    Missing {
        /// The page's URL, credentials removed.
        url: RedactedUrl,
        /// The records path.
        path: JsonPath,
    },
    /// Something other than records is at the records path.
    #[error("{url}: expected {expected} at `{path}`, found {found}")]
    WrongShape {
        /// The page's URL, credentials removed.
        url: RedactedUrl,
        /// The records path.
        path: JsonPath,
        /// What the path should hold.
        expected: &'static str,
        /// What it holds instead.
        found: &'static str,
    },
}

/// A record that does not fit the type it is decoded into.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[error("{url}: record {index} does not fit: at `{path}`: {message}")]
pub struct DecodeError {
    /// The page's URL, credentials removed.
    pub url: RedactedUrl,
    /// The record's position in its page, from 0.
    pub index: usize,
    /// The path of the field that did not fit (`amount.value`), or `.` for the record itself.
    pub path: String,
    /// What did not fit.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> RedactedUrl {
        RedactedUrl::new(&"http://127.0.0.1/x".parse().unwrap(), &[])
    }

    #[test]
    fn finds_nested_paths_and_array_indexes() {
        let body = r#"{"a": {"b": [1, {"c": "yes"}]}, "z": null}"#;
        assert_eq!(
            JsonPath::new("a.b.1.c").find(body).unwrap().unwrap().get(),
            r#""yes""#
        );
        assert_eq!(
            JsonPath::new("z").find(body).unwrap().unwrap().get(),
            "null"
        );
        assert!(JsonPath::new("a.x").find(body).unwrap().is_none());
        assert!(JsonPath::new("a.b.7").find(body).unwrap().is_none());
        assert!(JsonPath::new("z.deeper").find(body).unwrap().is_none());
    }

    #[test]
    fn a_broken_document_is_an_error_even_after_the_path() {
        assert!(JsonPath::new("a").find(r#"{"a": 1, "b": [tru"#).is_err());
        assert!(JsonPath::new("a").find(r#"{"a": 1} trailing"#).is_err());
    }

    #[test]
    fn extracts_an_array_of_records() {
        let records = Records::at("data")
            .extract(r#"{"data": [{"id": 1}, {"id": 2}], "next": null}"#, &url())
            .unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].get(), r#"{"id": 2}"#);
    }

    #[test]
    fn wrong_shapes_say_what_was_found() {
        let error = Records::at("data")
            .extract(r#"{"data": {"id": 1}}"#, &url())
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "http://127.0.0.1/x: expected an array of records at `data`, found an object"
        );
        let error = Records::at("items")
            .extract(r#"{"data": []}"#, &url())
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("nothing at the records path `items`")
        );
        let error = Records::at("")
            .extract("<html>oops</html>", &url())
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("not JSON (it starts with `<html>oops</html>`)")
        );
    }
}
