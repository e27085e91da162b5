//! [`HttpError`]: why a request to a service failed, with the API's own message.

use std::time::Duration;

use reqwest::StatusCode;

use crate::{
    auth::AuthError,
    json::JsonPath,
    records::RecordsError,
    text::{body_start, chain},
    url::RedactedUrl,
};

/// Why a GET, or the reading of its answer, failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    /// The request failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The answer came, but its records could not be taken out.
    #[error(transparent)]
    Records(#[from] RecordsError),
}

/// The error message an API put in its error body, for the error report.
pub(super) fn api_message(body: &[u8]) -> String {
    const FIELDS: &[&str] = &[
        "message",
        "error.message",
        "error_description",
        "error",
        "detail",
        "title",
        "errors.0.message",
        "errors.0.detail",
        "errors.0",
    ];
    let text = String::from_utf8_lossy(body);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        for field in FIELDS {
            if let Some(serde_json::Value::String(message)) = JsonPath::new(field).lookup(&value) {
                return body_start(message);
            }
        }
    }
    body_start(&text)
}

/// Why a request to a service failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The server answered with a status that is not retried, or retries ran out.
    #[error("{service}: {url} answered {status}{}{}", message_suffix(message), attempts_suffix(*attempts))]
    Status {
        /// The service's name.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// The status.
        status: StatusCode,
        /// The API's own error message, or the start of the body.
        message: String,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// No complete answer arrived (connect error, connection dropped mid-body), retries included.
    #[error("{service}: {url} got no complete answer: {}{}", chain(cause), attempts_suffix(*attempts))]
    Transport {
        /// The service's name.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// How many times the request was sent.
        attempts: u32,
        /// What went wrong (without the URL, which may hold credentials), in the message.
        cause: reqwest::Error,
    },
    /// No connection could be made within the service's connect timeout, retries included.
    #[error("{service}: {url} could not be connected to within {timeout:?} (the connect timeout){}", attempts_suffix(*attempts))]
    ConnectTimeout {
        /// The service's name.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// The connect timeout in force.
        timeout: Duration,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// No complete answer within the service's request timeout, retries included.
    #[error("{service}: {url} did not answer within {timeout:?}{}", attempts_suffix(*attempts))]
    Timeout {
        /// The service's name.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// The timeout in force.
        timeout: Duration,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// A successful answer whose body is not JSON (an HTML error page, a truncated body), every
    /// time it was asked for.
    #[error("{service}: {url} sent a body that is not JSON (it starts with `{start}`: {cause}){}", attempts_suffix(*attempts))]
    Malformed {
        /// The service's name.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// How many times the request was sent.
        attempts: u32,
        /// The first characters of the body.
        start: String,
        /// Where the body stops being JSON, in the message.
        cause: serde_json::Error,
    },
    /// A successful answer of an XML service whose body is not XML.
    #[error("{service}: {url} sent a body that is not XML (it starts with `{start}`: {cause})")]
    NotXml {
        /// The service's name.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// The first characters of the body.
        start: String,
        /// Where the body stops being XML.
        cause: String,
    },
    /// The API refused the credentials (401). Nothing more is sent to the service, and its
    /// collectors stop: retrying would not fix them, and could get the token banned.
    #[error(
        "{service}: the API refused the credentials at {url}{}; nothing more is sent to this service until they are fixed",
        message_suffix(message)
    )]
    CredentialsRejected {
        /// The service's name.
        service: String,
        /// The refused request's URL, credentials removed.
        url: RedactedUrl,
        /// The API's message.
        message: String,
    },
    /// The API refused credentials that are fetched fresh for each try (an OAuth2 token, even
    /// a new one): this request failed, and the next one gets other credentials, so the
    /// service is not stopped.
    #[error(
        "{service}: the API refused the credentials at {url}{}, also a fresh token; the next request tries another",
        message_suffix(message)
    )]
    TokenRefused {
        /// The service's name.
        service: String,
        /// The refused request's URL, credentials removed.
        url: RedactedUrl,
        /// The API's message.
        message: String,
    },
    /// A request would have gone to another origin than the service's base URL, with its
    /// credentials; it was not sent.
    #[error(
        "{service}: refused to request {url}: it is not on {origin}, the service's origin, so it gets no credentials"
    )]
    ForeignOrigin {
        /// The service's name.
        service: String,
        /// The refused URL, credentials removed.
        url: RedactedUrl,
        /// The service's origin (`https://api.example.com`).
        origin: String,
    },
    /// The server redirected to another origin; the redirect was not followed.
    #[error("{service}: {url} redirected to {}, which is not followed: credentials go only to the service's origin", location.as_ref().map_or("an invalid location", |location| location.as_str()))]
    Redirect {
        /// The service's name.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// Where the server pointed, credentials removed.
        location: Option<RedactedUrl>,
    },
    /// The server kept redirecting on its own origin: a loop, or a chain too long to follow.
    #[error("{service}: {url} redirected {hops} times without an answer: a redirect loop")]
    RedirectLoop {
        /// The service's name.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// How many redirects were followed.
        hops: usize,
    },
    /// The body is larger than the service's limit.
    #[error("{service}: {url} sent a body larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// The service's name.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// The limit in bytes.
        limit: usize,
    },
    /// A download could not be written to its file.
    #[error("{service}: could not write {url} to {destination}: {cause}")]
    Download {
        /// The service's name.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// The file it was written to.
        destination: String,
        /// Why, in the message.
        cause: std::io::Error,
    },
    /// Credentials could not be put on the request.
    #[error("{service}: could not authenticate a request: {}", chain(cause))]
    Auth {
        /// The service's name.
        service: String,
        /// Why, in the message.
        cause: AuthError,
    },
    /// The HTTP client could not be set up.
    #[error("{service}: could not set up the HTTP client: {}", chain(cause))]
    Client {
        /// The service's name.
        service: String,
        /// Why, in the message.
        cause: reqwest::Error,
    },
}

impl HttpError {
    /// The HTTP status, when the server answered with one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            Self::CredentialsRejected { .. } | Self::TokenRefused { .. } => {
                Some(StatusCode::UNAUTHORIZED)
            }
            _ => None,
        }
    }

    /// How many times the request was sent before this error was given (1 when it was not
    /// retried; 0 when it was never sent).
    pub fn attempts(&self) -> u32 {
        match self {
            Self::Status { attempts, .. }
            | Self::Transport { attempts, .. }
            | Self::Timeout { attempts, .. }
            | Self::ConnectTimeout { attempts, .. }
            | Self::Malformed { attempts, .. } => *attempts,
            Self::CredentialsRejected { .. }
            | Self::TokenRefused { .. }
            | Self::BodyTooLarge { .. }
            | Self::Redirect { .. } => 1,
            _ => 0,
        }
    }
}

fn attempts_suffix(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

fn message_suffix(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_api_message_in_common_error_shapes() {
        assert_eq!(
            api_message(br#"{"message": "Bad credentials"}"#),
            "Bad credentials"
        );
        assert_eq!(api_message(br#"{"error": {"message": "nope"}}"#), "nope");
        assert_eq!(api_message(br#"{"errors": [{"detail": "x"}]}"#), "x");
        assert_eq!(api_message(b"plain text"), "plain text");
    }
}
