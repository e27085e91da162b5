//! What a path answers ([`Route`], [`MockResponse`]) and the credentials it expects ([`MockAuth`]).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::collection::Collection;

/// What the mock answers on one path; added with [`MockApi::route`](super::MockApi::route).
///
/// A route answers every method the same way.
#[derive(Debug, Clone)]
pub enum Route {
    /// A list of records served page by page, as the collection's [`Paging`](super::Paging) says.
    Collection(Collection),
    /// The same response to every request.
    Static(MockResponse),
    /// One response per request, in order; the last one repeats once the others are used up.
    Sequence(Vec<MockResponse>),
}

impl From<Collection> for Route {
    fn from(collection: Collection) -> Self {
        Route::Collection(collection)
    }
}

impl From<MockResponse> for Route {
    fn from(response: MockResponse) -> Self {
        Route::Static(response)
    }
}

impl From<Vec<MockResponse>> for Route {
    fn from(responses: Vec<MockResponse>) -> Self {
        Route::Sequence(responses)
    }
}

/// One complete HTTP response: status, headers and body.
///
/// The fields are public, so a response can also be written out in full:
/// `MockResponse { status: 422, ..MockResponse::json(body) }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockResponse {
    /// The HTTP status code; one outside 100..=999 is answered as 500.
    pub status: u16,
    /// Header names and values, sent in this order. `Content-Length` is set by the server.
    pub headers: Vec<(String, String)>,
    /// The body, sent as is.
    pub body: String,
}

impl MockResponse {
    /// A 200 response with `value` as its JSON body.
    pub fn json(value: serde_json::Value) -> Self {
        MockResponse {
            status: 200,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: value.to_string(),
        }
    }

    /// A response with status `code`, no headers and an empty body.
    pub fn status(code: u16) -> Self {
        MockResponse {
            status: code,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// A response with status `status` and `body` as plain text.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        MockResponse {
            status,
            headers: vec![(
                "content-type".to_owned(),
                "text/plain; charset=utf-8".to_owned(),
            )],
            body: body.into(),
        }
    }

    /// Sets the header `name` to `value`, replacing any header with that name (case-insensitive).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set_header(name, value);
        self
    }

    /// As [`header`](MockResponse::header), in place.
    pub(crate) fn set_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.headers
            .retain(|(existing, _)| !existing.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
    }

    /// A JSON `{"error": message}` body with the given status.
    pub(crate) fn json_error(status: u16, message: impl Into<String>) -> Self {
        MockResponse {
            status,
            ..MockResponse::json(serde_json::json!({ "error": message.into() }))
        }
    }
}

/// Credentials the mock demands on every request after
/// [`MockApi::require_auth`](super::MockApi::require_auth).
///
/// A request without them gets a 401 with the JSON body `{"error": "unauthorized"}`.
/// `Debug` prints every value as `***`, so a test log never shows a token.
#[derive(Clone, PartialEq, Eq)]
pub enum MockAuth {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// A header (`name`, matched case-insensitively) whose value equals `value`.
    Header {
        /// The header name, e.g. `X-Api-Key`.
        name: String,
        /// The expected value.
        value: String,
    },
    /// A query parameter `name` whose value equals `value`.
    Query {
        /// The parameter name, e.g. `api_key`.
        name: String,
        /// The expected value.
        value: String,
    },
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
}

impl MockAuth {
    /// Expects `Authorization: Bearer <token>`.
    pub fn bearer(token: impl Into<String>) -> Self {
        MockAuth::Bearer(token.into())
    }

    /// Expects the header `name` to equal `value`.
    pub fn header(name: impl Into<String>, value: impl Into<String>) -> Self {
        MockAuth::Header {
            name: name.into(),
            value: value.into(),
        }
    }

    /// Expects the query parameter `name` to equal `value`.
    pub fn query(name: impl Into<String>, value: impl Into<String>) -> Self {
        MockAuth::Query {
            name: name.into(),
            value: value.into(),
        }
    }

    /// Expects HTTP basic authentication with these credentials.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        MockAuth::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// Whether a request with these headers (names lowercased) and decoded query carries the credentials.
    pub(crate) fn is_satisfied_by(
        &self,
        headers: &[(String, String)],
        query: &[(String, String)],
    ) -> bool {
        let header = |wanted: &str| {
            headers
                .iter()
                .filter(|(name, _)| name.eq_ignore_ascii_case(wanted))
                .map(|(_, value)| value.as_str())
                .collect::<Vec<_>>()
        };
        let has_authorization = |scheme: &str, credentials: &str| {
            header("authorization").iter().any(|value| {
                value.split_once(' ').is_some_and(|(given_scheme, given)| {
                    given_scheme.eq_ignore_ascii_case(scheme) && given.trim() == credentials
                })
            })
        };
        match self {
            MockAuth::Bearer(token) => has_authorization("Bearer", token),
            MockAuth::Header { name, value } => header(name).contains(&value.as_str()),
            MockAuth::Query { name, value } => query
                .iter()
                .any(|(given_name, given)| given_name == name && given == value),
            MockAuth::Basic { username, password } => {
                has_authorization("Basic", &STANDARD.encode(format!("{username}:{password}")))
            }
        }
    }
}

impl fmt::Debug for MockAuth {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MockAuth::Bearer(_) => formatter.debug_tuple("Bearer").field(&"***").finish(),
            MockAuth::Header { name, .. } => formatter
                .debug_struct("Header")
                .field("name", name)
                .field("value", &"***")
                .finish(),
            MockAuth::Query { name, .. } => formatter
                .debug_struct("Query")
                .field("name", name)
                .field("value", &"***")
                .finish(),
            MockAuth::Basic { .. } => formatter
                .debug_struct("Basic")
                .field("username", &"***")
                .field("password", &"***")
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `MockAuth`'s Debug output never shows a credential.
    #[test]
    fn debug_hides_every_credential() {
        let printed = format!(
            "{:?} {:?} {:?} {:?}",
            MockAuth::bearer("s3cret-token"),
            MockAuth::header("X-Key", "s3cret-token"),
            MockAuth::query("api_key", "s3cret-token"),
            MockAuth::basic("s3cret-user", "s3cret-token"),
        );
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(printed.contains("X-Key"), "{printed}");
    }

    /// Basic credentials are compared in their base64 form, as a client sends them.
    #[test]
    fn basic_auth_accepts_the_encoded_pair() {
        let auth = MockAuth::basic("alice", "open sesame");
        let headers = vec![(
            "authorization".to_owned(),
            "Basic YWxpY2U6b3BlbiBzZXNhbWU=".to_owned(),
        )];
        assert!(auth.is_satisfied_by(&headers, &[]));
        assert!(!auth.is_satisfied_by(&[], &[]));
    }

    /// `header` replaces a header of the same name instead of adding a second one.
    #[test]
    fn header_replaces_the_same_name() {
        let response = MockResponse::json(serde_json::json!({})).header("Content-Type", "text/csv");
        assert_eq!(
            response.headers,
            vec![("Content-Type".to_owned(), "text/csv".to_owned())]
        );
    }
}
