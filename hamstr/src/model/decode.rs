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
            message: error.to_string(),
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
