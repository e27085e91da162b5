//! [`Fault`]s that [`MockApi::inject`](super::MockApi::inject) puts in place of normal answers,
//! and turning any answer into an HTTP response.

use std::time::Duration;

use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream;

use super::route::MockResponse;

/// A failure the mock serves instead of (or, for [`Fault::Delay`], before) the normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// That status, with the JSON body `{"error": "injected <status>"}`.
    Status(u16),
    /// That status with a `Retry-After: <value>` header (`"2"`, or an HTTP date).
    RetryAfter {
        /// The status, usually 429 or 503.
        status: u16,
        /// The `Retry-After` value, sent as is.
        value: String,
    },
    /// Waits this long on the server, then answers normally.
    Delay(Duration),
    /// A complete 200 JSON response whose body is the normal body cut to half its length, so the
    /// transfer succeeds but the JSON does not parse.
    TruncatedBody,
    /// A 200 `text/html` error page, as a proxy or load balancer in front of an API sends.
    HtmlPage,
    /// A 200 that declares the normal body's full `Content-Length`, sends half of it and then
    /// drops the connection, so reading the body fails.
    DropConnection,
}

/// What the mock sends for one request.
pub(crate) enum Reply {
    /// The response as it is.
    Complete(MockResponse),
    /// A 200 with the first half of the response's body, as a complete message.
    Truncated(MockResponse),
    /// A 200 that promises the whole body, sends half and breaks off.
    Dropped(MockResponse),
}

/// How to answer: wait `delay` first, then send `reply`.
pub(crate) struct Plan {
    pub(crate) delay: Option<Duration>,
    pub(crate) reply: Reply,
    /// Whether `reply` is the route's answer untouched (no fault, or only a delay), so validators
    /// may describe its body.
    pub(crate) is_normal: bool,
}

impl Plan {
    /// Sends `response` at once; it is not the route's answer.
    pub(crate) fn instead(response: MockResponse) -> Self {
        Plan {
            delay: None,
            reply: Reply::Complete(response),
            is_normal: false,
        }
    }
}

/// The plan for a request that got `fault` (if any); `answer` is asked only for the normal
/// answer, so a fault that replaces it does not use up a [`Route::Sequence`](super::Route) step.
pub(crate) fn plan(fault: Option<Fault>, answer: impl FnOnce() -> MockResponse) -> Plan {
    let is_normal = matches!(fault, None | Some(Fault::Delay(_)));
    let (delay, reply) = match fault {
        None => (None, Reply::Complete(answer())),
        Some(Fault::Delay(delay)) => (Some(delay), Reply::Complete(answer())),
        Some(Fault::Status(status)) => (None, Reply::Complete(injected(status))),
        Some(Fault::RetryAfter { status, value }) => (
            None,
            Reply::Complete(injected(status).header("retry-after", value)),
        ),
        Some(Fault::TruncatedBody) => (None, Reply::Truncated(answer())),
        Some(Fault::HtmlPage) => (None, Reply::Complete(html_page())),
        Some(Fault::DropConnection) => (None, Reply::Dropped(answer())),
    };
    Plan {
        delay,
        reply,
        is_normal,
    }
}

fn injected(status: u16) -> MockResponse {
    MockResponse::json_error(status, format!("injected {status}"))
}

fn html_page() -> MockResponse {
    MockResponse::text(
        200,
        "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n\
         <body><h1>502 Bad Gateway</h1><p>The upstream server is not answering.</p></body></html>\n",
    )
    .header("content-type", "text/html; charset=utf-8")
}

impl Reply {
    /// The response the reply is made from, for headers that go on every reply.
    pub(crate) fn response_mut(&mut self) -> &mut MockResponse {
        match self {
            Reply::Complete(response) | Reply::Truncated(response) | Reply::Dropped(response) => {
                response
            }
        }
    }

    /// The status of the response as sent.
    pub(crate) fn status(&self) -> u16 {
        match self {
            Reply::Complete(response) => response.status,
            Reply::Truncated(_) | Reply::Dropped(_) => 200,
        }
    }

    pub(crate) fn into_response(self) -> Response {
        match self {
            Reply::Complete(response) => {
                let status = response.status;
                let body = Body::from(response.body);
                build(status, &response.headers, body)
            }
            Reply::Truncated(response) => {
                let mut body = response.body.into_bytes();
                body.truncate(body.len() / 2);
                let mut sent = build(200, &response.headers, Body::from(body));
                sent.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                sent
            }
            Reply::Dropped(response) => {
                let full = Bytes::from(response.body);
                let length = full.len();
                let first_half = full.slice(..length / 2);
                let break_off = async {
                    // One `Pending` between the chunks makes hyper flush the head and the first
                    // half to the socket; an error right after the first chunk would close the
                    // connection before anything was sent.
                    tokio::task::yield_now().await;
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "injected fault: connection dropped half way through the body",
                    ))
                };
                let chunks = stream::once(async { Ok(first_half) }).chain(stream::once(break_off));
                let body = Body::from_stream(chunks);
                let mut sent = build(200, &response.headers, body);
                let headers = sent.headers_mut();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
                sent
            }
        }
    }
}

/// A response with `status` (500 when invalid) and `headers` (invalid ones are skipped with a
/// warning; length and connection headers are left to the server, which knows the real body).
fn build(status: u16, headers: &[(String, String)], body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or_else(|_| {
        tracing::warn!(status, "mock response has an invalid status; sending 500");
        StatusCode::INTERNAL_SERVER_ERROR
    });
    for (name, value) in headers {
        let parsed = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        );
        let (Ok(name), Ok(value)) = parsed else {
            tracing::warn!(header = %name, "mock response has an invalid header; skipping it");
            continue;
        };
        let is_managed_by_server =
            ["content-length", "transfer-encoding", "connection"].contains(&name.as_str());
        if !is_managed_by_server {
            response.headers_mut().append(name, value);
        }
    }
    response
}
