//! Where the records are in a page body, and taking them out.
//!
//! A page body is scanned once, not parsed into a tree: one walk over the raw JSON takes out the
//! records as raw slices ([`RawRecord`]) and the fields a paginator reads, skipping everything
//! else. A typed caller decodes each slice straight into its own type
//! ([`model`](crate::model)), so no `serde_json::Value` is built for data nobody asked to see
//! as one.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

pub use crate::json::JsonPath;
use crate::{text::body_start, url::RedactedUrl};

/// One record as it arrived: a slice of raw JSON.
pub type RawRecord = Box<RawValue>;

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
    #[cfg(test)]
    fn extract(&self, body: &str, url: &RedactedUrl) -> Result<Vec<RawRecord>, RecordsError> {
        self.scan(body, url, &[], None)
            .map(|scanned| scanned.records)
    }

    /// Scans a page body once: the records, the raw values at `fields` (what a paginator
    /// reads) and, from each record as it is taken, the text at `record_field` (an incremental
    /// strategy's mark) come out of the same pass.
    pub(crate) fn scan(
        &self,
        body: &str,
        url: &RedactedUrl,
        fields: &[JsonPath],
        record_field: Option<&JsonPath>,
    ) -> Result<Scanned, RecordsError> {
        let mut tree = Node::default();
        tree.insert(self.path().segments(), Target::Records);
        for (index, field) in fields.iter().enumerate() {
            tree.insert(field.segments(), Target::Field(index));
        }
        let mut sink = Sink {
            records: Found::Nothing,
            is_object: matches!(self, Self::Object(_)),
            fields: vec![None; fields.len()],
            record_field,
            record_values: Vec::new(),
        };
        let mut deserializer = serde_json::Deserializer::from_str(body);
        let scanned = NodeSeed {
            node: &tree,
            sink: &mut sink,
        }
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
        if let Err(source) = scanned {
            return Err(RecordsError::NotJson {
                url: url.clone(),
                start: body_start(body),
                cause: source,
            });
        }
        let records = match sink.records {
            Found::Records(records) => records,
            Found::Nothing => {
                return Err(RecordsError::Missing {
                    url: url.clone(),
                    path: self.path().clone(),
                });
            }
            Found::Other(kind) => {
                return Err(RecordsError::WrongShape {
                    url: url.clone(),
                    path: self.path().clone(),
                    expected: match self {
                        Self::Array(_) => "an array of records",
                        Self::Object(_) => "an object",
                    },
                    found: kind.describe(),
                });
            }
        };
        let mut record_values = sink.record_values;
        if let Some(field) = record_field
            && record_values.len() != records.len()
        {
            // Records taken whole from a value another path also needed: read them here.
            record_values = records
                .iter()
                .map(|record| field_text(field, record))
                .collect();
        }
        let fields = fields.iter().cloned().zip(sink.fields).collect();
        Ok(Scanned {
            records,
            fields,
            record_values,
        })
    }
}

/// What one scan of a page body found: its records, the fields asked for (`None` where the
/// body has nothing), and each record's text at the record field asked for (empty when none was).
#[derive(Debug, Default)]
pub(crate) struct Scanned {
    pub(crate) records: Vec<RawRecord>,
    pub(crate) fields: Vec<(JsonPath, Option<RawRecord>)>,
    pub(crate) record_values: Vec<Option<String>>,
}

/// The text at `field` in a record: a non-empty string, or a number's digits.
pub(crate) fn field_text(field: &JsonPath, record: &RawValue) -> Option<String> {
    let raw = field.find(record.get()).ok().flatten()?;
    match serde_json::from_str::<serde_json::Value>(raw.get()).ok()? {
        serde_json::Value::String(text) if !text.is_empty() => Some(text),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// What a node of the wanted paths stands for.
#[derive(Debug, Clone, Copy)]
enum Target {
    Records,
    Field(usize),
}

/// The wanted paths as a tree, so one walk over the document serves them all.
#[derive(Debug, Default)]
struct Node {
    targets: Vec<Target>,
    children: Vec<(String, Node)>,
}

impl Node {
    fn insert(&mut self, segments: &[String], target: Target) {
        let Some((head, rest)) = segments.split_first() else {
            self.targets.push(target);
            return;
        };
        let index = match self.children.iter().position(|(key, _)| key == head) {
            Some(index) => index,
            None => {
                self.children.push((head.clone(), Node::default()));
                self.children.len() - 1
            }
        };
        self.children[index].1.insert(rest, target);
    }

    fn is_records_only(&self) -> bool {
        self.children.is_empty() && matches!(self.targets[..], [Target::Records])
    }
}

enum Found {
    Nothing,
    Records(Vec<RawRecord>),
    Other(JsonKind),
}

struct Sink<'f> {
    records: Found,
    /// The records are one object, not an array.
    is_object: bool,
    fields: Vec<Option<RawRecord>>,
    /// Read from each record as it is taken.
    record_field: Option<&'f JsonPath>,
    record_values: Vec<Option<String>>,
}

impl Sink<'_> {
    /// Takes the raw value at a node that ends one or more wanted paths; paths that go on below
    /// it are found in that value.
    fn take(&mut self, node: &Node, raw: &RawValue) {
        for target in &node.targets {
            match *target {
                Target::Field(index) => self.fields[index] = Some(raw.to_owned()),
                Target::Records => self.records = records_from(raw, self.is_object),
            }
        }
        for (key, child) in &node.children {
            let path = JsonPath::new(key);
            if let Ok(Some(inner)) = path.find(raw.get()) {
                self.take(child, inner);
            }
        }
    }
}

fn records_from(raw: &RawValue, is_object: bool) -> Found {
    match (json_kind(raw.get()), is_object) {
        (JsonKind::Object, true) => Found::Records(vec![raw.to_owned()]),
        (JsonKind::Array, false) => {
            let items: Vec<&RawValue> =
                serde_json::from_str(raw.get()).expect("a value that parsed once parses again");
            Found::Records(items.into_iter().map(RawValue::to_owned).collect())
        }
        (kind, _) => Found::Other(kind),
    }
}

/// Walks one node of the wanted paths, skipping everything off them without allocating.
struct NodeSeed<'n, 's, 'f> {
    node: &'n Node,
    sink: &'s mut Sink<'f>,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.node.is_records_only() && !self.sink.is_object {
            // The usual case: the array's elements are taken as they are read, in this pass.
            return deserializer.deserialize_any(RecordsVisitor { sink: self.sink });
        }
        if !self.node.targets.is_empty() {
            let raw = <&RawValue as de::Deserialize>::deserialize(deserializer)?;
            self.sink.take(self.node, raw);
            return Ok(());
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let children = &self.node.children;
        let mut seen = vec![false; children.len()];
        while let Some(found) = map.next_key_seed(KeyIn(children))? {
            match found {
                // The first of duplicate keys wins, as everywhere else paths are looked up.
                Some(index) if !seen[index] => {
                    seen[index] = true;
                    map.next_value_seed(NodeSeed {
                        node: &children[index].1,
                        sink: &mut *self.sink,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let children = &self.node.children;
        let mut index = 0usize;
        loop {
            let wanted = children
                .iter()
                .find(|(key, _)| key.parse::<usize>().ok() == Some(index));
            let more = match wanted {
                Some((_, node)) => seq
                    .next_element_seed(NodeSeed {
                        node,
                        sink: &mut *self.sink,
                    })?
                    .is_some(),
                None => seq.next_element::<IgnoredAny>()?.is_some(),
            };
            if !more {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Takes the records array's elements as raw slices while the body is read.
struct RecordsVisitor<'s, 'f> {
    sink: &'s mut Sink<'f>,
}

impl RecordsVisitor<'_, '_> {
    fn other<E>(self, kind: JsonKind) -> Result<(), E> {
        self.sink.records = Found::Other(kind);
        Ok(())
    }
}

impl<'de> Visitor<'de> for RecordsVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(record) = seq.next_element::<RawRecord>()? {
            if let Some(field) = self.sink.record_field {
                // While the record's bytes are at hand: the mark of an incremental strategy.
                self.sink.record_values.push(field_text(field, &record));
            }
            records.push(record);
        }
        self.sink.records = Found::Records(records);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.other(JsonKind::Object)
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.other(JsonKind::Bool)
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.other(JsonKind::Number)
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.other(JsonKind::Number)
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.other(JsonKind::Number)
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.other(JsonKind::String)
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.other(JsonKind::Null)
    }
}

/// Which of a node's children an object key names, without allocating for the usual unescaped
/// key.
struct KeyIn<'n>(&'n [(String, Node)]);

impl<'de> DeserializeSeed<'de> for KeyIn<'_> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIn<'_> {
    type Value = Option<usize>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|(name, _)| name == key))
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

/// Why a page's records could not be taken out of its body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordsError {
    /// The body is not JSON (an HTML error page, a truncated answer).
    #[error("{url}: the body is not JSON (it starts with `{start}`: {cause})")]
    NotJson {
        /// The page's URL, credentials removed.
        url: RedactedUrl,
        /// The first characters of the body.
        start: String,
        /// The parser's complaint, with line and column, in the message.
        cause: serde_json::Error,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> RedactedUrl {
        RedactedUrl::new(&"http://127.0.0.1/x".parse().unwrap(), &[])
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
                .contains("not JSON (it starts with `<html>oops</html>`: expected value at line 1")
        );
    }

    /// The records and a paginator's fields come out of one scan, wherever they sit: beside the
    /// records, nested, inside them, or absent; the first of duplicate keys wins.
    #[test]
    fn one_scan_takes_records_and_fields() {
        let body = r#"{"meta": {"next": "/p2", "total": 7}, "data": [{"id": 1}, {"id": 2}],
            "data": [{"id": 9}], "links": {"next": null}}"#;
        let fields = [
            "meta.next",
            "meta.total",
            "links.next",
            "data.1.id",
            "nowhere",
        ]
        .map(JsonPath::new);
        let id = JsonPath::new("id");
        let scanned = Records::at("data")
            .scan(body, &url(), &fields, Some(&id))
            .unwrap();
        assert_eq!(
            scanned.record_values,
            [Some("1".to_owned()), Some("2".to_owned())]
        );
        assert_eq!(scanned.records.len(), 2);
        let found: Vec<Option<&str>> = scanned
            .fields
            .iter()
            .map(|(_, raw)| raw.as_deref().map(RawValue::get))
            .collect();
        assert_eq!(
            found,
            [Some(r#""/p2""#), Some("7"), Some("null"), Some("2"), None]
        );
        let scanned = Records::object("item")
            .scan(
                r#"{"item": {"id": 3}, "next": "x"}"#,
                &url(),
                &[JsonPath::new("next")],
                Some(&id),
            )
            .unwrap();
        assert_eq!(scanned.records[0].get(), r#"{"id": 3}"#);
        assert_eq!(scanned.record_values, [Some("3".to_owned())]);
        assert_eq!(
            scanned.fields[0].1.as_deref().map(RawValue::get),
            Some(r#""x""#)
        );
        let error = Records::at("data")
            .scan(
                r#"{"data": [1], "next": tru"#,
                &url(),
                &[JsonPath::new("next")],
                None,
            )
            .unwrap_err();
        assert!(matches!(error, RecordsError::NotJson { .. }), "{error}");
    }
}
