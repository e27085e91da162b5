//! `auth:` (bearer, API key in a header or the query, basic), and `api_key:` directly under a
//! service as its shorthand. Credentials become [`Secret`](crate::Secret)s.

use marked_yaml::{
    Node,
    types::{MarkedMappingNode, MarkedScalarNode},
};

use super::{
    AuthConfig,
    value::{Checker, get, is_null},
};

const AUTH_KEYS: [&str; 5] = ["bearer", "api_key", "basic", "oauth2", "aws_sigv4"];
/// The keys of `aws_sigv4:`.
const SIGV4_KEYS: [&str; 5] = [
    "access_key_id",
    "secret_access_key",
    "session_token",
    "region",
    "service",
];
/// The keys of `oauth2:`.
const OAUTH2_KEYS: [&str; 6] = [
    "token_url",
    "client_id",
    "client_secret",
    "scopes",
    "refresh_token",
    "client_auth",
];

/// `auth:`, or `api_key:` as its shorthand. `Some(None)` is no auth; `None` is a problem.
pub(super) fn of_service(
    checker: &mut Checker<'_>,
    service: &MarkedMappingNode,
) -> Option<Option<AuthConfig>> {
    let auth_node = get(service, "auth");
    let api_key_node = get(service, "api_key");
    if let (Some(_), Some(node)) = (auth_node, api_key_node) {
        let place = checker.place_of(node);
        checker.report(
            place,
            "a service takes `auth` or its shorthand `api_key`, not both",
            "keep one of them".to_owned(),
        );
        return None;
    }
    match (auth_node, api_key_node) {
        (Some(node), _) => auth(checker, node).map(Some),
        // `api_key: TOKEN` is a bearer token; `api_key: {header|query, value}` as under `auth`.
        (None, Some(node @ Node::Scalar(_))) => Some(Some(AuthConfig::Bearer(
            checker.secret(node, "the API key")?,
        ))),
        (None, Some(node)) => api_key(checker, node).map(Some),
        (None, None) => Some(None),
    }
}

fn auth(checker: &mut Checker<'_>, node: &Node) -> Option<AuthConfig> {
    let mapping = checker.mapping(node, "`auth`")?;
    checker.check_keys(mapping, "`auth`", &AUTH_KEYS, &[]);
    let given: Vec<(&MarkedScalarNode, &Node)> = mapping
        .iter()
        .filter(|(key, value)| AUTH_KEYS.contains(&key.as_str()) && !is_null(value))
        .collect();
    let [(kind, value)] = given.as_slice() else {
        let (place, message) = match given.get(1) {
            Some((second, _)) => (
                checker.place_of_scalar(second),
                "`auth` takes one kind of credential",
            ),
            None => (checker.place_of(node), "`auth` names no credential"),
        };
        checker.report(
            place,
            message,
            "use one of `bearer: TOKEN`, `api_key: {header: NAME, value: KEY}`, `api_key: {query: NAME, value: KEY}`, `basic: {username: ..., password: ...}` or `oauth2: {token_url: ..., client_id: ..., client_secret: ...}`".to_owned(),
        );
        return None;
    };
    match kind.as_str() {
        "bearer" => Some(AuthConfig::Bearer(
            checker.secret(value, "the bearer token")?,
        )),
        "api_key" => api_key(checker, value),
        "oauth2" => oauth2(checker, value),
        "aws_sigv4" => aws_sigv4(checker, value),
        _ => basic(checker, value),
    }
}

/// `aws_sigv4: {access_key_id, secret_access_key, session_token, region, service}`.
fn aws_sigv4(checker: &mut Checker<'_>, node: &Node) -> Option<AuthConfig> {
    let mapping = checker.mapping(node, "`aws_sigv4`")?;
    checker.check_keys(mapping, "`aws_sigv4`", &SIGV4_KEYS, &[]);
    checker.check_required(
        node,
        mapping,
        "`aws_sigv4`",
        &["access_key_id", "secret_access_key", "region"],
        "aws_sigv4: {access_key_id: ${AWS_ACCESS_KEY_ID}, secret_access_key: ${AWS_SECRET_ACCESS_KEY}, region: eu-west-1}".to_owned(),
    );
    let access_key_id =
        get(mapping, "access_key_id").and_then(|node| checker.name(node, "`access_key_id`"));
    let secret_access_key = get(mapping, "secret_access_key")
        .and_then(|node| checker.secret(node, "the secret access key"));
    let session_token = match get(mapping, "session_token") {
        Some(node) => {
            let text = checker.text(node, "the session token")?;
            // `${AWS_SESSION_TOKEN:-}` left empty: no session.
            (!text.value.is_empty()).then(|| crate::secret::Secret::new(text.value))
        }
        None => None,
    };
    let region = get(mapping, "region").and_then(|node| checker.name(node, "`region`"));
    let service = match get(mapping, "service") {
        Some(node) => checker.name(node, "`service`")?,
        None => "s3".to_owned(),
    };
    Some(AuthConfig::AwsSigV4 {
        access_key_id: access_key_id?,
        secret_access_key: secret_access_key?,
        session_token,
        region: region?,
        service,
    })
}

/// `oauth2: {token_url, client_id, client_secret, scopes, refresh_token, client_auth}`.
fn oauth2(checker: &mut Checker<'_>, node: &Node) -> Option<AuthConfig> {
    let mapping = checker.mapping(node, "`oauth2`")?;
    checker.check_keys(mapping, "`oauth2`", &OAUTH2_KEYS, &[]);
    checker.check_required(
        node,
        mapping,
        "`oauth2`",
        &["token_url", "client_id", "client_secret"],
        "oauth2: {token_url: https://auth.example.com/oauth/token, client_id: ${CLIENT_ID}, client_secret: ${CLIENT_SECRET}}".to_owned(),
    );
    let token_url = get(mapping, "token_url").and_then(|node| {
        let text = checker.text(node, "`token_url`")?;
        let problem = match reqwest::Url::parse(text.value.trim()) {
            Ok(url) if url.scheme() == "https" => return Some(text.value),
            Ok(url) if url.scheme() == "http" && crate::url::is_loopback(&url) => {
                return Some(text.value);
            }
            Ok(url) if url.scheme() == "http" => {
                "the client secret would cross the network unencrypted".to_owned()
            }
            Ok(url) => format!("its scheme is `{}`", url.scheme()),
            Err(error) => error.to_string(),
        };
        let place = checker.place_of(node);
        checker.report(
            place,
            format!("{} is not an https URL: {problem}", text.shown()),
            "the token endpoint's https URL, e.g. `https://auth.example.com/oauth/token`"
                .to_owned(),
        );
        None
    });
    let client_id = get(mapping, "client_id").and_then(|node| checker.name(node, "`client_id`"));
    let client_secret =
        get(mapping, "client_secret").and_then(|node| checker.secret(node, "the client secret"));
    let refresh_token = match get(mapping, "refresh_token") {
        Some(node) => Some(Some(checker.secret(node, "the refresh token")?)),
        None => Some(None),
    };
    let mut scopes = Vec::new();
    if let Some(node) = get(mapping, "scopes") {
        let items: Vec<&Node> = match node {
            Node::Sequence(items) => items.iter().collect(),
            node => vec![node],
        };
        for item in items {
            scopes.extend(checker.name(item, "a scope"));
        }
    }
    let is_secret_in_body = match get(mapping, "client_auth") {
        Some(node) => {
            let text = checker.text(node, "`client_auth`")?;
            match text.value.trim() {
                "basic" => false,
                "body" => true,
                _ => {
                    let place = checker.place_of(node);
                    let shown = text.shown();
                    checker.report(
                        place,
                        format!("`client_auth` is `basic` or `body`, found {shown}"),
                        "`basic` sends the client's id and secret in HTTP basic auth (the default); `body` in the form".to_owned(),
                    );
                    return None;
                }
            }
        }
        None => false,
    };
    Some(AuthConfig::OAuth2 {
        token_url: token_url?,
        client_id: client_id?,
        client_secret: client_secret?,
        scopes,
        refresh_token: refresh_token?,
        is_secret_in_body,
    })
}

fn api_key(checker: &mut Checker<'_>, node: &Node) -> Option<AuthConfig> {
    const HELP: &str =
        "write `api_key: {header: NAME, value: KEY}` or `api_key: {query: NAME, value: KEY}`";
    let mapping = checker.mapping(node, "`api_key`")?;
    checker.check_keys(mapping, "`api_key`", &["header", "query", "value"], &[]);
    let value = match get(mapping, "value") {
        Some(value) => checker.secret(value, "the API key"),
        None => {
            let place = checker.place_of(node);
            checker.report(place, "`api_key` has no `value`", HELP.to_owned());
            None
        }
    };
    match (get(mapping, "header"), get(mapping, "query")) {
        (Some(header_node), None) => {
            let header = checker.name_text(header_node, "`header`")?;
            if reqwest::header::HeaderName::from_bytes(header.value.as_bytes()).is_err() {
                let place = checker.place_of(header_node);
                checker.report(
                    place,
                    format!("{} is not a header name", header.shown()),
                    "a header name is letters, digits and `-`".to_owned(),
                );
                return None;
            }
            Some(AuthConfig::ApiKeyHeader {
                header: header.value,
                value: value?,
            })
        }
        (None, Some(query)) => Some(AuthConfig::ApiKeyQuery {
            param: checker.name(query, "`query`")?,
            value: value?,
        }),
        (Some(_), Some(query)) => {
            let place = checker.place_of(query);
            checker.report(
                place,
                "`api_key` goes in a `header` or a `query` parameter, not both",
                HELP.to_owned(),
            );
            None
        }
        (None, None) => {
            let place = checker.place_of(node);
            checker.report(
                place,
                "`api_key` says neither `header` nor `query`",
                HELP.to_owned(),
            );
            None
        }
    }
}

fn basic(checker: &mut Checker<'_>, node: &Node) -> Option<AuthConfig> {
    let mapping = checker.mapping(node, "`basic`")?;
    checker.check_keys(mapping, "`basic`", &["username", "password"], &[]);
    let mut required = |key: &str| {
        let found = get(mapping, key);
        if found.is_none() {
            let place = checker.place_of(node);
            checker.report(
                place,
                format!("`basic` has no `{key}`"),
                "write `basic: {username: ..., password: ...}`".to_owned(),
            );
        }
        found
    };
    let username = required("username");
    let password = required("password");
    let username = username.and_then(|node| checker.name(node, "`username`"));
    let password = password.and_then(|node| checker.secret(node, "the password"));
    Some(AuthConfig::Basic {
        username: username?,
        password: password?,
    })
}
