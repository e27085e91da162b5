//! URLs as every layer handles them: [`RedactedUrl`], the only form in which a URL reaches a log
//! line or an error, and query-parameter helpers.

use std::fmt;

use reqwest::Url;

/// Query parameters whose values are treated as credentials wherever they appear, on top of the
/// one a service's API key auth names.
const SENSITIVE_PARAMS: &[&str] = &[
    "api_key",
    "apikey",
    "api-key",
    "key",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "auth",
    "client_secret",
    "secret",
    "password",
    "passwd",
    "signature",
    "sig",
];

/// Whether the query parameter `name` carries a credential, by the built-in list or `extra`.
pub(crate) fn is_sensitive_param(name: &str, extra: &[String]) -> bool {
    SENSITIVE_PARAMS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(name))
        || extra.iter().any(|known| known.eq_ignore_ascii_case(name))
}

/// A URL safe to print: no user or password, and the values of credential query parameters
/// (`api_key`, `token`, the service's own key parameter…) replaced by `***`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RedactedUrl(String);

impl RedactedUrl {
    /// Redacts `url`, treating the parameters in `extra` as credentials too.
    pub fn new(url: &Url, extra: &[String]) -> Self {
        let mut shown = url.clone();
        // Setting an empty user/password cannot fail on URLs with a host, which ours all have.
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(name, value)| {
                    let value = if is_sensitive_param(&name, extra) {
                        "***".to_owned()
                    } else {
                        value.into_owned()
                    };
                    (name.into_owned(), value)
                })
                .collect();
            shown.query_pairs_mut().clear().extend_pairs(pairs);
        }
        // `*` needs no escaping in a query, so the marker reads as `***`.
        Self(String::from(shown))
    }

    /// The redacted URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, formatter)
    }
}

/// Sets query parameter `name` on `url` to `value`, replacing any value it had.
pub fn set_param(url: &mut Url, name: &str, value: &str) {
    remove_param(url, name);
    url.query_pairs_mut().append_pair(name, value);
}

/// Removes every query parameter called `name` from `url`.
pub(crate) fn remove_param(url: &mut Url, name: &str) {
    if !url.query_pairs().any(|(key, _)| key == name) {
        return;
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != name)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
}

/// One path segment, percent-encoded but for the characters a segment may hold as they are.
fn encode_segment(segment: &str, encoded: &mut String) {
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
}

/// `path` with `{placeholder}` replaced by `key`, encoded as one path segment (a `/` or `?` in a
/// key cannot change the path); for `{+placeholder}`, as a path whose segments are encoded.
pub(crate) fn fill(path: &str, placeholder: &str, key: &str) -> String {
    let mut encoded = String::with_capacity(key.len());
    if placeholder.starts_with('+') {
        // A path: each segment encoded, the slashes kept.
        for (index, segment) in key.split('/').enumerate() {
            if index > 0 {
                encoded.push('/');
            }
            encode_segment(segment, &mut encoded);
        }
    } else {
        encode_segment(key, &mut encoded);
    }
    path.replace(&format!("{{{placeholder}}}"), &encoded)
}

/// Whether `url`'s host is this machine: credentials to it never cross a network.
pub(crate) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_credentials_in_query_and_userinfo() {
        let url: Url = "https://me:pw@api.example.com/v1/items?page=2&api_key=abc&Token=def&sign=x"
            .parse()
            .unwrap();
        let redacted = RedactedUrl::new(&url, &["sign".to_owned()]);
        assert_eq!(
            redacted.as_str(),
            "https://api.example.com/v1/items?page=2&api_key=***&Token=***&sign=***"
        );
        assert_eq!(format!("{redacted:?}"), format!("{:?}", redacted.as_str()));
    }

    #[test]
    fn leaves_ordinary_urls_alone() {
        let url: Url = "http://127.0.0.1:8080/a/b?page=1&q=hello%20world"
            .parse()
            .unwrap();
        assert_eq!(
            RedactedUrl::new(&url, &[]).as_str(),
            "http://127.0.0.1:8080/a/b?page=1&q=hello+world"
        );
    }
}
