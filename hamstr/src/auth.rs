//! [`Auth`]: how a service's credentials go onto its requests.
//!
//! This is the only module that reads a [`Secret`]'s value. Credentials are put on a request
//! only after the HTTP layer has checked that the request goes to the service's own origin.

use std::{fmt, sync::Arc};

use async_trait::async_trait;
use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

use crate::{secret::Secret, url::remove_param};

pub use reqwest::Request;

/// How a service authenticates.
///
/// # Examples
/// ```
/// use hamstr::{Secret, auth::Auth};
/// let bearer = Auth::bearer(Secret::new("s3cr3t"));
/// let header = Auth::api_key_header("X-API-Key", Secret::new("s3cr3t"));
/// let query = Auth::api_key_query("api_key", Secret::new("s3cr3t"));
/// let basic = Auth::basic("me", Secret::new("s3cr3t"));
/// // Debug never shows a credential.
/// let shown = format!("{bearer:?} {header:?} {query:?} {basic:?}");
/// assert_eq!(shown, "Bearer(***) Header(X-API-Key: ***) Query(api_key=***) Basic(me:***)");
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// An API key in a request header, such as `X-API-Key`.
    Header {
        /// The header's name.
        name: String,
        /// The key.
        value: Secret,
    },
    /// An API key in a query parameter, such as `?api_key=`.
    Query {
        /// The parameter's name.
        name: String,
        /// The key.
        value: Secret,
    },
    /// HTTP basic authentication.
    Basic {
        /// The user name (not secret).
        username: String,
        /// The password.
        password: Secret,
    },
    /// Anything else: a hook that edits each request (signs it, adds a fresh token).
    Custom(Arc<dyn AuthHook>),
}

impl Auth {
    /// A bearer token.
    pub fn bearer(token: Secret) -> Self {
        Self::Bearer(token)
    }

    /// An API key sent in the header `name`.
    pub fn api_key_header(name: impl Into<String>, value: Secret) -> Self {
        Self::Header {
            name: name.into(),
            value,
        }
    }

    /// An API key sent as the query parameter `name`.
    pub fn api_key_query(name: impl Into<String>, value: Secret) -> Self {
        Self::Query {
            name: name.into(),
            value,
        }
    }

    /// HTTP basic authentication.
    pub fn basic(username: impl Into<String>, password: Secret) -> Self {
        Self::Basic {
            username: username.into(),
            password,
        }
    }

    /// A hook of your own, for schemes the others do not cover.
    pub fn custom(hook: impl AuthHook) -> Self {
        Self::Custom(Arc::new(hook))
    }

    /// A synchronous closure as the hook, for signing a request from its own parts.
    ///
    /// # Examples
    /// ```
    /// use hamstr::auth::{Auth, Request};
    /// let auth = Auth::custom_fn(|request: &mut Request| {
    ///     let signature = format!("sig-{}", request.url().path().len());
    ///     request.headers_mut().insert("x-signature", signature.parse()?);
    ///     Ok(())
    /// });
    /// # let _ = auth;
    /// ```
    pub fn custom_fn<F>(hook: F) -> Self
    where
        F: Fn(&mut Request) -> Result<(), BoxError> + Send + Sync + 'static,
    {
        Self::custom(FnHook(hook))
    }

    /// The hook, when the credentials are a hook's (OAuth2, say).
    pub(crate) fn hook(&self) -> Option<&dyn AuthHook> {
        match self {
            Self::Custom(hook) => Some(hook.as_ref()),
            _ => None,
        }
    }

    /// The query parameter that carries the credential, so URLs can be redacted.
    pub(crate) fn query_param(&self) -> Option<&str> {
        match self {
            Self::Query { name, .. } => Some(name),
            _ => None,
        }
    }

    /// `text` with every form of the credential (as is, percent-encoded, in a basic auth
    /// header) replaced by `***`, for text that leaves the process, such as a recording.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn scrub(&self, text: &str) -> String {
        let values: Vec<String> = match self {
            Self::Bearer(secret)
            | Self::Header { value: secret, .. }
            | Self::Query { value: secret, .. } => {
                vec![secret.expose().to_owned()]
            }
            Self::Basic { username, password } => vec![
                password.expose().to_owned(),
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{}", password.expose())),
            ],
            Self::Custom(hook) => return hook.mask(text),
        };
        let mut scrubbed = text.to_owned();
        for value in values.iter().filter(|value| !value.is_empty()) {
            let encoded: String =
                reqwest::Url::parse_with_params("http://localhost/", [("v", value)])
                    .ok()
                    .and_then(|url| {
                        url.query()
                            .map(|query| query.trim_start_matches("v=").to_owned())
                    })
                    .unwrap_or_default();
            scrubbed = scrubbed.replace(value.as_str(), "***");
            if !encoded.is_empty() {
                scrubbed = scrubbed.replace(&encoded, "***");
            }
        }
        scrubbed
    }

    /// Checks what can be checked before any request (header names).
    pub(crate) fn validate(&self) -> Result<(), AuthError> {
        match self {
            Self::Header { name, .. } => HeaderName::from_bytes(name.as_bytes())
                .map(drop)
                .map_err(|_| AuthError::InvalidHeaderName { name: name.clone() }),
            _ => Ok(()),
        }
    }

    /// Puts the credential on `request`.
    pub(crate) async fn apply(&self, request: &mut Request) -> Result<(), AuthError> {
        match self {
            Self::Bearer(token) => insert_sensitive(
                request,
                AUTHORIZATION,
                &format!("Bearer {}", token.expose()),
            ),
            Self::Header { name, value } => {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| AuthError::InvalidHeaderName { name: name.clone() })?;
                insert_sensitive(request, name, value.expose())
            }
            Self::Query { name, value } => {
                // Set, not append: APIs echo the key into their next links.
                remove_param(request.url_mut(), name);
                request
                    .url_mut()
                    .query_pairs_mut()
                    .append_pair(name, value.expose());
                Ok(())
            }
            Self::Basic { username, password } => {
                let pair = format!("{username}:{}", password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                insert_sensitive(request, AUTHORIZATION, &format!("Basic {encoded}"))
            }
            Self::Custom(hook) => hook.authorize(request).await,
        }
    }
}

impl Auth {
    /// `text` with every credential this auth sends replaced by `***`, in each form it goes out
    /// in (as is, URL-encoded, basic auth's base64 pair): an API that echoes what it received
    /// into an error message must not make hamstr print or store it. A hook's credentials are
    /// its own and cannot be known here.
    pub(crate) fn mask(&self, text: &str) -> String {
        let mut forms: Vec<String> = Vec::new();
        let mut add = |secret: &str| {
            forms.push(secret.to_owned());
            // As a query value: how a query key goes out, and how an API may echo it back.
            if let Ok(url) = reqwest::Url::parse_with_params("http://x/", [("k", secret)])
                && let Some(encoded) = url.query().and_then(|query| query.strip_prefix("k="))
            {
                forms.push(encoded.to_owned());
            }
        };
        match self {
            Self::Bearer(token) => add(token.expose()),
            Self::Header { value, .. } | Self::Query { value, .. } => add(value.expose()),
            Self::Basic { username, password } => {
                add(password.expose());
                let pair = format!("{username}:{}", password.expose());
                add(&base64::engine::general_purpose::STANDARD.encode(pair));
            }
            Self::Custom(hook) => return hook.mask(text),
        }
        // Longest first, so a form that contains another is masked whole. A secret of one or
        // two characters would mask half of every message, and protects nothing anyway.
        forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
        let mut masked = text.to_owned();
        for form in forms.iter().filter(|form| form.len() >= 3) {
            masked = masked.replace(form.as_str(), "***");
        }
        masked
    }
}

fn insert_sensitive(request: &mut Request, name: HeaderName, value: &str) -> Result<(), AuthError> {
    // The error must not carry the value: it is a credential.
    let mut value = HeaderValue::from_str(value).map_err(|_| AuthError::InvalidCredential)?;
    value.set_sensitive(true);
    request.headers_mut().insert(name, value);
    Ok(())
}

impl fmt::Debug for Auth {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bearer(_) => formatter.write_str("Bearer(***)"),
            Self::Header { name, .. } => write!(formatter, "Header({name}: ***)"),
            Self::Query { name, .. } => write!(formatter, "Query({name}=***)"),
            Self::Basic { username, .. } => write!(formatter, "Basic({username}:***)"),
            Self::Custom(_) => formatter.write_str("Custom(..)"),
        }
    }
}

/// A hook that authenticates each request its own way; see [`Auth::custom`].
///
/// It runs after the request is complete (URL, query, headers), just before it is sent, and only
/// for requests to the service's own origin.
#[async_trait]
pub trait AuthHook: Send + Sync + 'static {
    /// Adds credentials to `request`.
    ///
    /// # Errors
    /// When no credential can be had; the request is not sent.
    async fn authorize(&self, request: &mut Request) -> Result<(), AuthError>;

    /// The API refused the credentials of a request (401). `true`: the next request gets other
    /// ones (a token to refresh), so the request is sent again; `false` (the default): it fails.
    fn refused(&self) -> bool {
        false
    }

    /// The API accepted a request (any answer but a 401).
    fn accepted(&self) {}

    /// Whether a later request may be accepted after a refusal that was not retried (fresh
    /// credentials every time): then the service goes on sending instead of stopping for good.
    fn recovers(&self) -> bool {
        false
    }

    /// `text` with every credential this hook sends masked, for what an API echoes back.
    fn mask(&self, text: &str) -> String {
        text.to_owned()
    }
}

struct FnHook<F>(F);

/// Any error a hook may fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[async_trait]
impl<F> AuthHook for FnHook<F>
where
    F: Fn(&mut Request) -> Result<(), BoxError> + Send + Sync + 'static,
{
    async fn authorize(&self, request: &mut Request) -> Result<(), AuthError> {
        (self.0)(request).map_err(AuthError::hook)
    }
}

/// Why credentials could not be put on a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The API key header's name is not a valid header name.
    #[error("`{name}` is not a valid header name for an API key")]
    InvalidHeaderName {
        /// The name as configured.
        name: String,
    },
    /// The credential holds characters a header cannot carry (the value is not shown).
    #[error("the credential contains characters that cannot be sent in a header")]
    InvalidCredential,
    /// A custom hook failed.
    #[error("the authentication hook failed: {}", crate::text::chain(&**.0))]
    Hook(Box<dyn std::error::Error + Send + Sync>),
}

impl AuthError {
    /// Wraps the error of a custom hook.
    pub fn hook(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Hook(error.into())
    }
}
