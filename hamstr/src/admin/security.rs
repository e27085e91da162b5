//! The guard in front of every admin endpoint: the token, the origin of actions, the host a
//! loopback server answers for, and headers that keep its pages out of other sites' frames.

use std::sync::Arc;

use axum::{
    extract::Request,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine as _;

use super::problem::Problem;
use crate::secret::Secret;

/// What the guard checks against.
#[derive(Debug)]
pub(super) struct Guard {
    token: Option<Secret>,
}

impl Guard {
    pub(super) fn new(token: Option<Secret>) -> Self {
        Self { token }
    }

    /// Whether the request carries the token: `Bearer TOKEN`, or basic auth with the token as
    /// the password (what a browser sends after asking for it).
    fn is_authorized(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
        else {
            return false;
        };
        let given = match given.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim().to_owned(),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("basic") => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(rest.trim())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok());
                match decoded.as_deref().and_then(|pair| pair.split_once(':')) {
                    Some((_, password)) => password.to_owned(),
                    None => return false,
                }
            }
            _ => return false,
        };
        is_same(given.as_bytes(), token.expose().as_bytes())
    }
}

/// Compares in time that depends on the lengths only, not on where the first difference is.
fn is_same(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

/// Whether `host` (a `Host` header) names this machine's loopback: a loopback server answers
/// only for those, so a page whose own name was pointed at 127.0.0.1 cannot read it (DNS
/// rebinding).
fn is_loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        // `[::1]:9650`, `127.0.0.1:9650`, `localhost:9650`; a bare IPv6 address has no port.
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.ends_with(':') => {
            name
        }
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether an action comes from a page of another site: its `Origin` is not this server, or the
/// browser says it crossed sites. Clients that send neither (curl, scripts) are not browsers.
fn is_cross_origin(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        let own = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        if own.is_none() || own != host {
            return true;
        }
    }
    headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|site| site == "cross-site" || site == "same-site")
}

/// The middleware: refuses what the guard does not let through, and adds the headers every
/// answer carries.
pub(super) async fn guard(
    axum::extract::State(guard): axum::extract::State<Arc<Guard>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let refused = if !guard.is_authorized(headers) {
        let mut response = Problem::new(
            StatusCode::UNAUTHORIZED,
            "this admin server asks for its token: send `Authorization: Bearer TOKEN`",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"hamstr admin\", Basic realm=\"hamstr admin\""),
        );
        Some(response)
    } else if guard.token.is_none()
        && !headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .is_some_and(is_loopback_host)
    {
        Some(
            Problem::new(
                StatusCode::FORBIDDEN,
                "this admin server listens on loopback and answers only for localhost or a loopback address",
            )
            .into_response(),
        )
    } else if !matches!(*request.method(), Method::GET | Method::HEAD) && is_cross_origin(headers) {
        Some(
            Problem::new(
                StatusCode::FORBIDDEN,
                "actions are refused from pages of another origin",
            )
            .into_response(),
        )
    } else {
        None
    };
    let mut response = match refused {
        Some(response) => response,
        None => next.run(request).await,
    };
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        (
            "content-security-policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost:9650",
            "127.0.0.1:80",
            "127.1.2.3",
            "[::1]:9650",
            "::1",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:9650",
            "10.0.0.1:9650",
            "[2001:db8::1]:80",
            "localhost.evil.example",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn origins() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:9650"));
        assert!(!is_cross_origin(&headers), "no Origin: not a browser");
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:9650"),
        );
        assert!(!is_cross_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(is_cross_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(is_cross_origin(&headers));
    }

    #[test]
    fn tokens() {
        let guard = Guard::new(Some(Secret::new("s3cret")));
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            guard.is_authorized(&headers)
        };
        assert!(with("Bearer s3cret"));
        assert!(with("bearer s3cret"));
        assert!(!with("Bearer s3cre"));
        assert!(!with("Bearer s3cretX"));
        // "admin:s3cret"
        assert!(with("Basic YWRtaW46czNjcmV0"));
        // "admin:wrong"
        assert!(!with("Basic YWRtaW46d3Jvbmc="));
        assert!(!guard.is_authorized(&HeaderMap::new()));
    }
}
