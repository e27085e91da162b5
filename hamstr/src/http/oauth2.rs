//! [`OAuth2`]: access tokens from a token endpoint (RFC 6749), by the client-credentials or the
//! refresh-token grant, put on a service's requests as a bearer token, refreshed before they
//! expire and when the API refuses one.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use reqwest::{
    Url,
    header::{ACCEPT, AUTHORIZATION, HeaderValue},
};
use tokio::{sync::Mutex, time::Instant};

use crate::{
    auth::{AuthError, AuthHook, Request},
    secret::Secret,
};

/// How long before its expiry a token is replaced, at most (and at most half its lifetime).
const REFRESH_BEFORE: Duration = Duration::from_secs(60);
/// Attempts at the token endpoint when it fails in a way worth another try (a 5xx, a 429, no
/// answer); the waits between them double from this.
const TOKEN_ATTEMPTS: u32 = 3;
const FIRST_WAIT: Duration = Duration::from_millis(250);

/// OAuth2 credentials for a service: tokens from `token_url`, by the client-credentials grant
/// ([`client_credentials`](Self::client_credentials)) or the refresh-token grant
/// ([`refresh_token`](Self::refresh_token)).
///
/// A token is fetched before the first request, reused until shortly before it expires
/// (`expires_in`), and fetched again then; requests waiting meanwhile share one fetch. When the
/// API answers 401 to a token, the token is dropped and the request retried once with a fresh
/// one, so a token revoked or expired early heals without losing the walk; a service whose
/// tokens were refused recovers as soon as a fresh token is accepted. The client secret goes
/// only to the token endpoint, the access token only to the service's origin, and neither is
/// ever logged, shown in an error or in `Debug`. A rotated refresh token (one the endpoint sends
/// back) replaces the old one in memory.
///
/// ```
/// use hamstr::{Secret, Service, service::OAuth2};
///
/// let auth = OAuth2::client_credentials(
///     "https://auth.example.com/oauth/token",
///     "my-client",
///     Secret::new("client-secret"),
/// )
/// .scopes(["orders:read"]);
/// assert_eq!(
///     format!("{auth:?}"),
///     "OAuth2(client_credentials, https://auth.example.com/oauth/token, client my-client)"
/// );
/// let service = Service::new("https://api.example.com/").auth(auth.into());
/// # let _ = service;
/// ```
#[derive(Clone)]
pub struct OAuth2 {
    flow: Arc<Flow>,
}

struct Flow {
    token_url: String,
    client_id: String,
    client_secret: Secret,
    scopes: Vec<String>,
    is_secret_in_body: bool,
    /// The refresh token, for the refresh-token grant; replaced when the endpoint rotates it.
    refresh: std::sync::Mutex<Option<Secret>>,
    token: Mutex<Option<Token>>,
    /// 401s in a row since a request was last accepted.
    refusals: AtomicU32,
    client: std::sync::OnceLock<reqwest::Client>,
}

struct Token {
    access: Secret,
    /// When to fetch the next one; `None`: when the API refuses this one.
    renew_at: Option<Instant>,
}

impl OAuth2 {
    /// The client-credentials grant: the client's own id and secret buy each token.
    pub fn client_credentials(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> Self {
        Self::new(token_url.into(), client_id.into(), client_secret, None)
    }

    /// The refresh-token grant: a refresh token a user granted buys each access token.
    pub fn refresh_token(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret,
        refresh_token: Secret,
    ) -> Self {
        Self::new(
            token_url.into(),
            client_id.into(),
            client_secret,
            Some(refresh_token),
        )
    }

    fn new(
        token_url: String,
        client_id: String,
        client_secret: Secret,
        refresh: Option<Secret>,
    ) -> Self {
        Self {
            flow: Arc::new(Flow {
                token_url,
                client_id,
                client_secret,
                scopes: Vec::new(),
                is_secret_in_body: false,
                refresh: std::sync::Mutex::new(refresh),
                token: Mutex::new(None),
                refusals: AtomicU32::new(0),
                client: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The scopes to ask for (`scope`, space-separated).
    #[must_use]
    pub fn scopes<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.configure(|flow| flow.scopes = scopes.into_iter().map(Into::into).collect())
    }

    /// Sends the client's id and secret in the token request's body (`client_secret_post`)
    /// instead of HTTP basic auth (`client_secret_basic`, the default RFC 6749 requires every
    /// server to take).
    #[must_use]
    pub fn client_secret_in_body(self) -> Self {
        self.configure(|flow| flow.is_secret_in_body = true)
    }

    fn configure(self, change: impl FnOnce(&mut Flow)) -> Self {
        // Only a fresh value is configured: no token has been shared yet.
        let mut flow = Arc::try_unwrap(self.flow).unwrap_or_else(|shared| shared.copy());
        change(&mut flow);
        Self {
            flow: Arc::new(flow),
        }
    }

    /// The token URL, checked: http(s), and https unless on loopback.
    fn token_url(&self) -> Result<Url, OAuth2Error> {
        let url = &self.flow.token_url;
        let invalid = |reason: &str| OAuth2Error::TokenUrl {
            url: url.clone(),
            reason: reason.to_owned(),
        };
        let parsed = Url::parse(url).map_err(|error| invalid(&error.to_string()))?;
        match parsed.scheme() {
            "https" => Ok(parsed),
            "http" if crate::url::is_loopback(&parsed) => Ok(parsed),
            "http" => Err(invalid(
                "the client secret would cross the network unencrypted; use https",
            )),
            scheme => Err(invalid(&format!("its scheme is `{scheme}`"))),
        }
    }

    /// A token to send: the one held, or a fresh one when none is held or it is due.
    async fn token(&self) -> Result<Secret, OAuth2Error> {
        let mut held = self.flow.token.lock().await;
        if let Some(token) = held.as_ref()
            && token.renew_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(token.access.clone());
        }
        let fresh = self.fetch().await?;
        let access = fresh.access.clone();
        *held = Some(fresh);
        Ok(access)
    }

    /// One token from the endpoint, with a few tries when it fails in a way worth another.
    async fn fetch(&self) -> Result<Token, OAuth2Error> {
        let url = self.token_url()?;
        let mut wait = FIRST_WAIT;
        let mut attempt = 1;
        loop {
            match self.fetch_once(&url).await {
                Err(error) if error.is_transient() && attempt < TOKEN_ATTEMPTS => {
                    tracing::warn!(token_url = %self.flow.token_url, attempt, error = %error, "token request failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn fetch_once(&self, url: &Url) -> Result<Token, OAuth2Error> {
        let flow = &self.flow;
        let refresh = flow
            .refresh
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut form: Vec<(&str, &str)> = Vec::new();
        match &refresh {
            Some(refresh) => {
                form.push(("grant_type", "refresh_token"));
                form.push(("refresh_token", refresh.expose()));
            }
            None => form.push(("grant_type", "client_credentials")),
        }
        let scope = flow.scopes.join(" ");
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        if flow.is_secret_in_body {
            form.push(("client_id", &flow.client_id));
            form.push(("client_secret", flow.client_secret.expose()));
        }
        let body = reqwest::Url::parse_with_params("http://form/", &form)
            .ok()
            .and_then(|encoded| encoded.query().map(str::to_owned))
            .unwrap_or_default();
        let client = flow.client.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default()
        });
        let mut request = client
            .post(url.clone())
            .header(ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        if !flow.is_secret_in_body {
            request = request.basic_auth(&flow.client_id, Some(flow.client_secret.expose()));
        }
        let shown = || self.flow.token_url.clone();
        let response = request
            .send()
            .await
            .map_err(|source| OAuth2Error::Transport {
                url: shown(),
                cause: crate::text::chain(&source),
            })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|source| OAuth2Error::Transport {
                url: shown(),
                cause: crate::text::chain(&source),
            })?;
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let text = |key: &str| body.get(key).and_then(serde_json::Value::as_str);
        if !status.is_success() {
            return Err(OAuth2Error::Refused {
                url: shown(),
                status: status.as_u16(),
                error: text("error").map(|error| self.mask(error)),
                description: text("error_description").map(|text| self.mask(text)),
            });
        }
        let Some(access) = text("access_token").filter(|token| !token.is_empty()) else {
            return Err(OAuth2Error::NoToken { url: shown() });
        };
        if let Some(rotated) = text("refresh_token")
            && refresh.is_some()
        {
            *flow
                .refresh
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(Secret::new(rotated.to_owned()));
        }
        let renew_at = body
            .get("expires_in")
            .and_then(|value| value.as_u64().or_else(|| value.as_str()?.parse().ok()))
            .map(|seconds| {
                let lifetime = Duration::from_secs(seconds);
                Instant::now() + lifetime - REFRESH_BEFORE.min(lifetime / 2)
            });
        tracing::debug!(token_url = %self.flow.token_url, "access token fetched");
        Ok(Token {
            access: Secret::new(access.to_owned()),
            renew_at,
        })
    }
}

impl Flow {
    fn copy(&self) -> Self {
        Self {
            token_url: self.token_url.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            scopes: self.scopes.clone(),
            is_secret_in_body: self.is_secret_in_body,
            refresh: std::sync::Mutex::new(
                self.refresh
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone(),
            ),
            token: Mutex::new(None),
            refusals: AtomicU32::new(0),
            client: std::sync::OnceLock::new(),
        }
    }
}

#[async_trait]
impl AuthHook for OAuth2 {
    async fn authorize(&self, request: &mut Request) -> Result<(), AuthError> {
        let token = self.token().await.map_err(AuthError::hook)?;
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| AuthError::InvalidCredential)?;
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
        Ok(())
    }

    fn refused(&self) -> bool {
        // Drop the token either way: the next request fetches another.
        if let Ok(mut held) = self.flow.token.try_lock() {
            *held = None;
        }
        // A fresh token refused straight after a refused one: the credentials are wrong.
        self.flow.refusals.fetch_add(1, Ordering::Relaxed) == 0
    }

    fn accepted(&self) {
        self.flow.refusals.store(0, Ordering::Relaxed);
    }

    fn recovers(&self) -> bool {
        true
    }

    fn mask(&self, text: &str) -> String {
        let mut masked = text.to_owned();
        let mut secrets = vec![self.flow.client_secret.expose().to_owned()];
        if let Some(refresh) = self
            .flow
            .refresh
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
        {
            secrets.push(refresh.expose().to_owned());
        }
        if let Ok(held) = self.flow.token.try_lock()
            && let Some(token) = held.as_ref()
        {
            secrets.push(token.access.expose().to_owned());
        }
        for secret in secrets.iter().filter(|secret| secret.len() >= 3) {
            masked = masked.replace(secret.as_str(), "***");
        }
        masked
    }
}

impl From<OAuth2> for crate::auth::Auth {
    fn from(oauth2: OAuth2) -> Self {
        crate::auth::Auth::custom(oauth2)
    }
}

impl fmt::Debug for OAuth2 {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let grant = if self
            .flow
            .refresh
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
        {
            "refresh_token"
        } else {
            "client_credentials"
        };
        write!(
            formatter,
            "OAuth2({grant}, {}, client {})",
            self.flow.token_url, self.flow.client_id
        )
    }
}

/// Why no access token could be had. Never holds a token or the client secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuth2Error {
    /// The token URL cannot be used.
    #[error("the token URL `{url}` cannot be used: {reason}")]
    TokenUrl {
        /// The URL as configured.
        url: String,
        /// Why.
        reason: String,
    },
    /// The token endpoint did not answer.
    #[error("the token endpoint {url} did not answer: {cause}")]
    Transport {
        /// The token URL.
        url: String,
        /// What happened.
        cause: String,
    },
    /// The token endpoint refused (a wrong client secret, a revoked refresh token).
    #[error("the token endpoint {url} refused ({status}{}){}", .error.as_deref().map(|error| format!(", {error}")).unwrap_or_default(), .description.as_deref().map(|text| format!(": {text}")).unwrap_or_default())]
    Refused {
        /// The token URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The OAuth2 error code (`invalid_client`, `invalid_grant`).
        error: Option<String>,
        /// The endpoint's explanation, credentials masked.
        description: Option<String>,
    },
    /// The endpoint answered without an `access_token`.
    #[error("the token endpoint {url} answered without an access_token")]
    NoToken {
        /// The token URL.
        url: String,
    },
}

impl OAuth2Error {
    fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Refused { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}
