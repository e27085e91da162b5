//! XML answers as JSON, so that records paths, paginators and models read them as they read JSON
//! (S3's listings, older APIs).
//!
//! The document element becomes an object with one key, its name. An element that holds only
//! text is a string (an empty one is `""`); one with child elements is an object of them, its
//! attributes under `@name` and any text under `#text`. Namespace prefixes are dropped. A child
//! that repeats is an array; so is every child named in `lists`, so that a listing of one item is
//! still a list. A list named by its path from the document element (`ListBucketResult.Contents`)
//! is there, empty, whenever its parent is: an empty listing has no records, not a records path
//! that is missing.

use quick_xml::{Reader, events::Event};
use serde_json::{Map, Value};

/// An element being read: its name, what it holds so far, its text.
struct Open {
    name: String,
    children: Map<String, Value>,
    text: String,
}

/// The lists of `xml: {lists: [...]}`: element names, and paths from the document element.
struct Lists<'a> {
    names: Vec<&'a str>,
    /// Each path's parent (its names from the document element) and its last name.
    paths: Vec<(Vec<&'a str>, &'a str)>,
}

impl<'a> Lists<'a> {
    fn new(lists: &'a [String]) -> Self {
        let mut names = Vec::new();
        let mut paths = Vec::new();
        for list in lists {
            match list.rsplit_once('.') {
                Some((parent, name)) => paths.push((parent.split('.').collect(), name)),
                None => names.push(list.as_str()),
            }
        }
        Self { names, paths }
    }

    /// Whether `name`, a child of the elements `parents` (from the document element), is a list.
    fn is_list(&self, parents: &[Open], name: &str) -> bool {
        self.names.contains(&name)
            || self
                .paths
                .iter()
                .any(|(parent, last)| *last == name && is_path(parents, parent))
    }

    /// Adds, empty, the lists of the element `name` (a child of `parents`) that its
    /// `children` do not hold.
    fn add_missing(&self, parents: &[Open], name: &str, children: &mut Map<String, Value>) {
        for (parent, list) in &self.paths {
            if let Some((last, above)) = parent.split_last()
                && *last == name
                && is_path(parents, above)
                && !children.contains_key(*list)
            {
                children.insert((*list).to_owned(), Value::Array(Vec::new()));
            }
        }
    }
}

/// Whether the open elements `path` are the names `names`.
fn is_path(path: &[Open], names: &[&str]) -> bool {
    path.len() == names.len()
        && path
            .iter()
            .zip(names)
            .all(|(open, name)| open.name == *name)
}

/// `body` (XML) as JSON text; or why it is not XML.
pub(crate) fn to_json(body: &[u8], lists: &[String]) -> Result<Vec<u8>, String> {
    let lists = Lists::new(lists);
    let text = std::str::from_utf8(body).map_err(|error| format!("not UTF-8: {error}"))?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<(String, Value)> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|error| format!("at byte {}: {error}", reader.buffer_position()))?;
        match event {
            Event::Start(start) => {
                let mut open = Open {
                    name: local_name(start.local_name().as_ref()),
                    children: Map::new(),
                    text: String::new(),
                };
                attributes(&start, &mut open.children)?;
                stack.push(open);
            }
            Event::Empty(start) => {
                let mut open = Open {
                    name: local_name(start.local_name().as_ref()),
                    children: Map::new(),
                    text: String::new(),
                };
                attributes(&start, &mut open.children)?;
                close(&mut stack, open, &lists, &mut root);
            }
            Event::Text(text) => {
                if let Some(open) = stack.last_mut() {
                    let decoded = text.decode().map_err(|error| error.to_string())?;
                    open.text.push_str(&decoded);
                }
            }
            Event::CData(data) => {
                if let Some(open) = stack.last_mut() {
                    let decoded = data.decode().map_err(|error| error.to_string())?;
                    open.text.push_str(&decoded);
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(open) = stack.last_mut() {
                    let name = reference.decode().map_err(|error| error.to_string())?;
                    let reference = format!("&{name};");
                    let resolved = quick_xml::escape::unescape(&reference)
                        .map_err(|error| error.to_string())?;
                    open.text.push_str(&resolved);
                }
            }
            Event::End(_) => {
                let Some(open) = stack.pop() else {
                    return Err("an end tag without its start".to_owned());
                };
                close(&mut stack, open, &lists, &mut root);
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element".to_owned());
    }
    let Some((name, value)) = root else {
        return Err("no element".to_owned());
    };
    let mut document = Map::new();
    document.insert(name, value);
    serde_json::to_vec(&Value::Object(document)).map_err(|error| error.to_string())
}

/// Closes `open`, a child of the open elements `stack`: its value, with its lists, goes into its
/// parent, or becomes the document's.
fn close(stack: &mut [Open], open: Open, lists: &Lists<'_>, root: &mut Option<(String, Value)>) {
    let mut children = open.children;
    lists.add_missing(stack, &open.name, &mut children);
    let text = open.text.trim();
    let value = if children.is_empty() {
        Value::String(text.to_owned())
    } else {
        if !text.is_empty() {
            children.insert("#text".to_owned(), Value::String(text.to_owned()));
        }
        Value::Object(children)
    };
    let is_list = lists.is_list(stack, &open.name);
    let name = open.name;
    let Some(parent) = stack.last_mut() else {
        *root = Some((name, value));
        return;
    };
    match parent.children.get_mut(&name) {
        // An element's own value is a string or an object: an array is a list being made.
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None if is_list => {
            parent.children.insert(name, Value::Array(vec![value]));
        }
        None => {
            parent.children.insert(name, value);
        }
    }
}

fn attributes(
    start: &quick_xml::events::BytesStart<'_>,
    into: &mut Map<String, Value>,
) -> Result<(), String> {
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| error.to_string())?;
        let key = local_name(attribute.key.local_name().as_ref());
        if attribute.key.as_ref().starts_with(b"xmlns") {
            continue;
        }
        let value = attribute
            .unescape_value()
            .map_err(|error| error.to_string())?;
        into.insert(format!("@{key}"), Value::String(value.into_owned()));
    }
    Ok(())
}

fn local_name(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(xml: &str, lists: &[&str]) -> Value {
        let lists: Vec<String> = lists.iter().map(|name| (*name).to_owned()).collect();
        serde_json::from_slice(&to_json(xml.as_bytes(), &lists).unwrap()).unwrap()
    }

    #[test]
    fn s3_listings_read_as_json() {
        let buckets = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Buckets><Bucket><Name>a</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets><Owner><ID>x</ID></Owner></ListAllMyBucketsResult>"#;
        assert_eq!(
            json(buckets, &["Bucket"]),
            serde_json::json!({"ListAllMyBucketsResult": {"Buckets": {"Bucket": [{"Name": "a", "CreationDate": "2026-01-01T00:00:00.000Z"}]}, "Owner": {"ID": "x"}}})
        );
        let objects = "<ListBucketResult><Contents><Key>a &amp; b.csv</Key><Size>3</Size></Contents><Contents><Key>c</Key><Size>4</Size></Contents><Prefix/><IsTruncated>true</IsTruncated></ListBucketResult>";
        assert_eq!(
            json(objects, &[]),
            serde_json::json!({"ListBucketResult": {"Contents": [{"Key": "a & b.csv", "Size": "3"}, {"Key": "c", "Size": "4"}], "Prefix": "", "IsTruncated": "true"}})
        );
        assert_eq!(
            json(r#"<a id="1">text<b>x</b><![CDATA[<raw>]]></a>"#, &[]),
            serde_json::json!({"a": {"@id": "1", "b": "x", "#text": "text<raw>"}})
        );
    }

    #[test]
    fn a_list_named_by_its_path_is_there_empty_whenever_its_parent_is() {
        let lists = [
            "ListBucketResult.Contents",
            "ListAllMyBucketsResult.Buckets.Bucket",
        ];
        assert_eq!(
            json(
                "<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount></ListBucketResult>",
                &lists
            ),
            serde_json::json!({"ListBucketResult": {"Name": "b", "KeyCount": "0", "Contents": []}})
        );
        assert_eq!(
            json(
                "<ListAllMyBucketsResult><Buckets/><Owner/></ListAllMyBucketsResult>",
                &lists
            ),
            serde_json::json!({"ListAllMyBucketsResult": {"Buckets": {"Bucket": []}, "Owner": ""}})
        );
        // One item is a list of one; an element of the same name elsewhere is not a list.
        assert_eq!(
            json(
                "<ListBucketResult><Contents><Key>a</Key></Contents><Other><Contents>x</Contents></Other></ListBucketResult>",
                &lists
            ),
            serde_json::json!({"ListBucketResult": {"Contents": [{"Key": "a"}], "Other": {"Contents": "x"}}})
        );
        // A list named alone is a list where it is, and nothing where it is not.
        assert_eq!(
            json(
                "<ListBucketResult><Name>b</Name></ListBucketResult>",
                &["Contents"]
            ),
            serde_json::json!({"ListBucketResult": {"Name": "b"}})
        );
    }

    #[test]
    fn broken_xml_is_an_error() {
        assert!(to_json(b"<a><b></a>", &[]).is_err());
        assert!(to_json(b"<a>", &[]).is_err());
        assert!(to_json(b"", &[]).is_err());
        assert!(to_json(b"{\"json\": true}", &[]).is_err());
    }
}
