//! An OAuth2 token endpoint on the mock ([`MockOAuth2`]): it issues access tokens by the
//! client-credentials and refresh-token grants, and the mock's other paths then accept only
//! tokens it issued and has not revoked.

use base64::Engine as _;

use super::{ReceivedRequest, route::MockResponse};

/// A token endpoint on the mock API, enabled with
/// [`MockApi::require_oauth2`](super::MockApi::require_oauth2).
///
/// ```
/// use hamstr::testing::{MockApi, MockOAuth2};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let api = MockApi::start().await;
/// api.require_oauth2(MockOAuth2::new("client", "secret").expires_in(3600).uses_per_token(100));
/// let token_url = format!("{}oauth/token", api.url());
/// # let _ = token_url;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct MockOAuth2 {
    path: String,
    client_id: String,
    client_secret: String,
    expires_in: u64,
    refresh_token: Option<String>,
    uses_per_token: Option<usize>,
}

impl MockOAuth2 {
    /// A token endpoint at `/oauth/token` for this client, issuing tokens that say they last an
    /// hour, by the client-credentials grant.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            path: "/oauth/token".to_owned(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            expires_in: 3600,
            refresh_token: None,
            uses_per_token: None,
        }
    }

    /// Where the endpoint is (default `/oauth/token`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The `expires_in` each token is issued with, in seconds.
    pub fn expires_in(mut self, seconds: u64) -> Self {
        self.expires_in = seconds;
        self
    }

    /// Takes the refresh-token grant with this refresh token, and rotates it: each answer
    /// carries a new one, and only the newest is taken.
    pub fn refresh_token(mut self, token: impl Into<String>) -> Self {
        self.refresh_token = Some(token.into());
        self
    }

    /// Each token is accepted for this many requests, then refused with a 401 whatever its
    /// `expires_in` said: a token revoked or expired early, mid-walk.
    pub fn uses_per_token(mut self, uses: usize) -> Self {
        self.uses_per_token = Some(uses);
        self
    }
}

/// The endpoint's state inside the mock.
#[derive(Debug)]
pub(crate) struct TokenServer {
    config: MockOAuth2,
    /// Tokens issued and still valid, with the requests each has been used for.
    valid: Vec<(String, usize)>,
    issued: usize,
    pub(crate) is_refusing: bool,
}

impl TokenServer {
    pub(crate) fn new(config: MockOAuth2) -> Self {
        Self {
            config,
            valid: Vec::new(),
            issued: 0,
            is_refusing: false,
        }
    }

    /// How many tokens were issued.
    pub(crate) fn issued(&self) -> usize {
        self.issued
    }

    /// Makes every token issued so far invalid.
    pub(crate) fn revoke(&mut self) {
        self.valid.clear();
    }

    /// The token endpoint's answer, or `None` for a request to another path.
    pub(crate) fn answer(&mut self, request: &ReceivedRequest) -> Option<MockResponse> {
        (request.path == self.config.path).then(|| self.token(request))
    }

    /// Whether a request to another path carries a valid token; counts the use.
    pub(crate) fn admits(&mut self, request: &ReceivedRequest) -> bool {
        let Some(token) = request
            .header("authorization")
            .and_then(|value| value.strip_prefix("Bearer "))
        else {
            return false;
        };
        let Some(index) = self.valid.iter().position(|(valid, _)| valid == token) else {
            return false;
        };
        self.valid[index].1 += 1;
        if self
            .config
            .uses_per_token
            .is_some_and(|uses| self.valid[index].1 > uses)
        {
            self.valid.remove(index);
            return false;
        }
        true
    }

    fn token(&mut self, request: &ReceivedRequest) -> MockResponse {
        let form: Vec<(String, String)> =
            reqwest::Url::parse(&format!("http://form/?{}", request.body()))
                .map(|url| url.query_pairs().into_owned().collect())
                .unwrap_or_default();
        let field = |name: &str| {
            form.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let basic = request
            .header("authorization")
            .and_then(|value| value.strip_prefix("Basic "))
            .and_then(|encoded| {
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .ok()
            })
            .and_then(|pair| String::from_utf8(pair).ok())
            .and_then(|pair| {
                pair.split_once(':')
                    .map(|(id, secret)| (id.to_owned(), secret.to_owned()))
            });
        let client = basic.or_else(|| Some((field("client_id")?, field("client_secret")?)));
        let error = |status: u16, code: &str| MockResponse {
            status,
            ..MockResponse::json(
                serde_json::json!({"error": code, "error_description": format!("the mock refused: {code}")}),
            )
        };
        if request.method != "POST" {
            return error(405, "invalid_request");
        }
        if client
            != Some((
                self.config.client_id.clone(),
                self.config.client_secret.clone(),
            ))
        {
            return error(401, "invalid_client");
        }
        if self.is_refusing {
            return error(400, "invalid_grant");
        }
        let mut body =
            serde_json::json!({"token_type": "Bearer", "expires_in": self.config.expires_in});
        match field("grant_type").as_deref() {
            Some("client_credentials") if self.config.refresh_token.is_none() => {}
            Some("refresh_token") if self.config.refresh_token.is_some() => {
                if field("refresh_token") != self.config.refresh_token {
                    return error(400, "invalid_grant");
                }
                let rotated = format!("mock-refresh-{}", self.issued + 1);
                body["refresh_token"] = rotated.clone().into();
                self.config.refresh_token = Some(rotated);
            }
            _ => return error(400, "unsupported_grant_type"),
        }
        self.issued += 1;
        let token = format!("mock-access-{}", self.issued);
        body["access_token"] = token.clone().into();
        self.valid.push((token, 0));
        MockResponse::json(body)
    }
}
