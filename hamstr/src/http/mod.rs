//! The only code that sends requests: the client, timeouts, redirects, the origin rule, body
//! limits and error reporting with redacted URLs.

#[cfg(feature = "testing")]
pub(crate) mod record;
mod redact;

use std::{sync::Arc, time::Duration, time::Instant};

use bytes::{Bytes, BytesMut};
use reqwest::{
    StatusCode, Url,
    header::{HeaderMap, LOCATION},
    redirect,
};

use crate::{auth::Auth, auth::AuthError, records::JsonPath};

pub use redact::RedactedUrl;
#[cfg(feature = "testing")]
pub(crate) use redact::is_sensitive_param;

/// What the client needs from its service; fixed once the first request is sent.
#[derive(Debug, Clone)]
pub(crate) struct ClientSettings {
    pub(crate) service: String,
    pub(crate) base: Url,
    pub(crate) auth: Option<Auth>,
    pub(crate) headers: HeaderMap,
    pub(crate) user_agent: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) sensitive_params: Vec<String>,
    #[cfg(feature = "testing")]
    pub(crate) recorder: Option<record::Recorder>,
}

/// A service's connection pool plus everything that goes on each of its requests.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    settings: ClientSettings,
}

/// A successful answer, body read in full.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl HttpClient {
    pub(crate) fn new(settings: ClientSettings) -> Result<Self, HttpError> {
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            // Same-origin redirects only: a redirect to another host would carry credentials
            // (an API key header or query parameter) to a host the user never configured.
            .redirect(redirect::Policy::custom(|attempt| {
                let is_same_origin = attempt
                    .previous()
                    .first()
                    .is_some_and(|first| first.origin() == attempt.url().origin());
                if is_same_origin && attempt.previous().len() < 10 {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()
            .map_err(|source| HttpError::Client {
                service: settings.service.clone(),
                source: source.without_url(),
            })?;
        Ok(Self {
            inner: Arc::new(Inner { client, settings }),
        })
    }

    pub(crate) fn service(&self) -> &str {
        &self.inner.settings.service
    }

    pub(crate) fn base(&self) -> &Url {
        &self.inner.settings.base
    }

    pub(crate) fn redact(&self, url: &Url) -> RedactedUrl {
        RedactedUrl::new(url, &self.inner.settings.sensitive_params)
    }

    /// Removes the credential query parameter from a URL the API handed out (APIs echo the key
    /// into their next links): kept URLs never hold credentials, and the key is set once per request.
    pub(crate) fn strip_credentials(&self, url: &mut Url) {
        if let Some(name) = self
            .inner
            .settings
            .auth
            .as_ref()
            .and_then(Auth::query_param)
        {
            crate::paginate::remove_param(url, name);
        }
    }

    /// GETs `url` with the service's headers and credentials, and reads the whole body.
    pub(crate) async fn get(&self, url: &Url) -> Result<Answer, HttpError> {
        let settings = &self.inner.settings;
        let shown = self.redact(url);
        // Origin check before auth: a next link may point at a host the user never configured.
        if url.origin() != settings.base.origin() {
            return Err(HttpError::ForeignOrigin {
                service: settings.service.clone(),
                url: shown,
                origin: settings.base.origin().ascii_serialization(),
            });
        }
        let mut request = self
            .inner
            .client
            .get(url.clone())
            .headers(settings.headers.clone())
            .build()
            .map_err(|source| self.transport(&shown, source))?;
        if let Some(auth) = &settings.auth {
            auth.apply(&mut request)
                .await
                .map_err(|source| HttpError::Auth {
                    service: settings.service.clone(),
                    source,
                })?;
        }
        let started = Instant::now();
        let mut response = self
            .inner
            .client
            .execute(request)
            .await
            .map_err(|source| self.transport(&shown, source))?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let body = self.read_body(&shown, &mut response).await?;
        tracing::debug!(
            service = %settings.service,
            url = %shown,
            status = status.as_u16(),
            bytes = body.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "response"
        );
        #[cfg(feature = "testing")]
        if let Some(recorder) = &settings.recorder {
            let exchange = recorder.exchange(url, status, &headers, &body, settings.auth.as_ref());
            recorder.record(exchange).await;
        }
        if status.is_redirection() {
            let location = headers
                .get(LOCATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|location| url.join(location).ok())
                .map(|location| self.redact(&location));
            return Err(HttpError::Redirect {
                service: settings.service.clone(),
                url: shown,
                location,
            });
        }
        if !status.is_success() {
            return Err(HttpError::Status {
                service: settings.service.clone(),
                url: shown,
                status,
                message: api_message(&body),
            });
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    async fn read_body(
        &self,
        shown: &RedactedUrl,
        response: &mut reqwest::Response,
    ) -> Result<Bytes, HttpError> {
        let limit = self.inner.settings.max_body_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(self.too_large(shown));
        }
        let mut body = BytesMut::with_capacity(response.content_length().unwrap_or(0) as usize);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|source| self.transport(shown, source))?
        {
            if body.len() + chunk.len() > limit {
                return Err(self.too_large(shown));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    fn too_large(&self, shown: &RedactedUrl) -> HttpError {
        HttpError::BodyTooLarge {
            service: self.inner.settings.service.clone(),
            url: shown.clone(),
            limit: self.inner.settings.max_body_bytes,
        }
    }

    fn transport(&self, shown: &RedactedUrl, source: reqwest::Error) -> HttpError {
        if source.is_timeout() {
            return HttpError::Timeout {
                service: self.inner.settings.service.clone(),
                url: shown.clone(),
                timeout: self.inner.settings.timeout,
            };
        }
        HttpError::Transport {
            service: self.inner.settings.service.clone(),
            url: shown.clone(),
            // reqwest prints the full URL, query string and all: ours is the redacted one.
            source: source.without_url(),
        }
    }
}

/// The error message an API put in its error body, for the error report.
fn api_message(body: &[u8]) -> String {
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
                return crate::records::body_start(message);
            }
        }
    }
    crate::records::body_start(&text)
}

/// Why a request to a service failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The server answered with a status that is not a success.
    #[error("{service}: {url} answered {status}{}", message_suffix(message))]
    Status {
        /// The service's name.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// The status.
        status: StatusCode,
        /// The API's own error message, or the start of the body.
        message: String,
    },
    /// No complete answer arrived (connect error, timeout, connection dropped mid-body).
    #[error("{service}: {url} got no complete answer")]
    Transport {
        /// The service's name.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// What went wrong (without the URL, which may hold credentials).
        #[source]
        source: reqwest::Error,
    },
    /// No complete answer within the service's request timeout.
    #[error("{service}: {url} did not answer within {timeout:?}")]
    Timeout {
        /// The service's name.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// The timeout in force.
        timeout: Duration,
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
    /// The server redirected to another origin (or too often); the redirect was not followed.
    #[error("{service}: {url} redirected to {}, which is not followed: credentials go only to the service's origin", location.as_ref().map_or("an invalid location", |location| location.as_str()))]
    Redirect {
        /// The service's name.
        service: String,
        /// The request's URL, credentials removed.
        url: RedactedUrl,
        /// Where the server pointed, credentials removed.
        location: Option<RedactedUrl>,
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
    /// Credentials could not be put on the request.
    #[error("{service}: could not authenticate a request")]
    Auth {
        /// The service's name.
        service: String,
        /// Why.
        #[source]
        source: AuthError,
    },
    /// The HTTP client could not be set up.
    #[error("{service}: could not set up the HTTP client")]
    Client {
        /// The service's name.
        service: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
}

impl HttpError {
    /// The HTTP status, when the server answered with one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
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
