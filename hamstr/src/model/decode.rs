//! Decoding one raw record into a model's type, with the field path of any misfit.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::url::RedactedUrl;

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
            message: without_position(&error),
        }
    })
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

/// serde_json's message without its "at line 1 column 32": the position in a record parsed on
/// its own is noise next to the field path.
pub(crate) fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => message[..at].to_owned(),
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misfit_names_its_field_without_a_position() {
        let url = RedactedUrl::new(&"https://api.example.com/items".parse().unwrap(), &[]);
        let record =
            serde_json::value::RawValue::from_string(r#"{"n": "two"}"#.to_owned()).unwrap();
        #[derive(Debug, serde::Deserialize)]
        struct Item {
            #[allow(dead_code)]
            n: i64,
        }
        let error = decode::<Item>(&record, &url, 3).unwrap_err();
        assert_eq!(error.path, "n");
        assert_eq!(error.message, "invalid type: string \"two\", expected i64");
    }
}
