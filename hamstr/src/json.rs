//! [`JsonPath`]: a dot path into a JSON document, found by scanning the raw text once.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

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

    /// The path's segments.
    pub(crate) fn segments(&self) -> &[String] {
        &self.segments
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
