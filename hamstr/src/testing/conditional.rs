//! Conditional requests: the [`Validators`] the mock sends with a normal answer, and the
//! `304 Not Modified` it sends when a client's copy is still current.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::ReceivedRequest;
use super::route::MockResponse;

/// Which validators the mock sends with each normal `200` answer, after
/// [`MockApi::conditional`](super::MockApi::conditional).
///
/// A `GET` or `HEAD` whose condition says the client's copy is current gets `304 Not Modified`
/// with an empty body and the validators. Faults, errors and other statuses get no validators.
///
/// ```
/// use hamstr::testing::{MockApi, MockResponse, Validators};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), reqwest::Error> {
/// let api = MockApi::start().await;
/// api.route("/repos", MockResponse::json(serde_json::json!([{"id": 1}])));
/// api.conditional(Validators::ETag);
///
/// let client = reqwest::Client::new();
/// let first = client.get(format!("{}repos", api.url())).send().await?;
/// let etag = first.headers()["etag"].clone();
/// let again = client.get(format!("{}repos", api.url())).header("if-none-match", etag).send().await?;
/// assert_eq!(again.status(), 304);
/// assert_eq!(api.not_modified_count(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Validators {
    /// `ETag: "<hex>"`, a strong tag made from a hash of the body, so it changes exactly when the
    /// body does. `If-None-Match` matches when it lists that tag (weak or strong) or `*`.
    ETag,
    /// `Last-Modified: <HTTP date>`: the second (truncated) when the mock first served this body
    /// for this method, path and query string. A changed body gets a later date, one second past
    /// the old one if the clock has not moved on, so a change is never hidden.
    /// `If-Modified-Since` matches when the body is unchanged and the date is not earlier.
    LastModified,
    /// Both. When a request sends both conditions, `If-None-Match` decides and
    /// `If-Modified-Since` is ignored, as RFC 9110 (13.2.2) says.
    Both,
}

impl Validators {
    fn has_etag(self) -> bool {
        matches!(self, Validators::ETag | Validators::Both)
    }

    fn has_last_modified(self) -> bool {
        matches!(self, Validators::LastModified | Validators::Both)
    }
}

/// The validators in force and what each request target was last served.
#[derive(Debug)]
pub(crate) struct Conditional {
    validators: Validators,
    /// Keyed by method, path and query string, as a cache keys its entries.
    served: HashMap<String, Served>,
}

/// The body a target last served, and its `Last-Modified` in seconds since the Unix epoch.
#[derive(Debug)]
struct Served {
    body_hash: u64,
    last_modified: u64,
}

impl Conditional {
    pub(crate) fn new(validators: Validators) -> Self {
        Conditional {
            validators,
            served: HashMap::new(),
        }
    }

    /// Switches validators, keeping what each target served, so dates stay as clients saw them.
    pub(crate) fn set_validators(&mut self, validators: Validators) {
        self.validators = validators;
    }

    /// Turns `response`, the normal 200 answer to `request`, into a 304 when the request's
    /// condition says the client's copy is current, and puts the validators on it.
    pub(crate) fn answer(&mut self, request: &ReceivedRequest, response: &mut MockResponse) {
        let body_hash = hash_of(&response.body);
        let target = format!(
            "{} {}?{}",
            request.method,
            request.path,
            request.url_query()
        );
        let (last_modified, is_unchanged) = self.remember(target, body_hash);
        let etag = format!("\"{body_hash:016x}\"");

        let none_match: Vec<&str> = header_values(request, "if-none-match").collect();
        let is_current = if !matches!(request.method.as_str(), "GET" | "HEAD") {
            // Other methods would need 412 Precondition Failed, which the mock does not model.
            false
        } else if !none_match.is_empty() {
            lists_tag(&none_match, self.validators.has_etag().then_some(&etag))
        } else {
            self.validators.has_last_modified()
                && is_unchanged
                && header_values(request, "if-modified-since")
                    .next()
                    .and_then(|date| httpdate::parse_http_date(date.trim()).ok())
                    .and_then(|since| since.duration_since(UNIX_EPOCH).ok())
                    .is_some_and(|since| since.as_secs() >= last_modified)
        };

        if is_current {
            *response = MockResponse::status(304);
        }
        if self.validators.has_etag() {
            response.set_header("etag", etag);
        }
        if self.validators.has_last_modified() {
            let date = UNIX_EPOCH + Duration::from_secs(last_modified);
            response.set_header("last-modified", httpdate::fmt_http_date(date));
        }
    }

    /// Records that `target` serves the body with `body_hash`; returns its `Last-Modified` and
    /// whether the body is the one served last time.
    fn remember(&mut self, target: String, body_hash: u64) -> (u64, bool) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        match self.served.get_mut(&target) {
            Some(served) if served.body_hash == body_hash => (served.last_modified, true),
            Some(served) => {
                // Dates have whole seconds: a change within the old one's second would look
                // unmodified to a client that sends that date back.
                served.last_modified = now.max(served.last_modified + 1);
                served.body_hash = body_hash;
                (served.last_modified, false)
            }
            None => {
                let served = Served {
                    body_hash,
                    last_modified: now,
                };
                self.served.insert(target, served);
                (now, false)
            }
        }
    }
}

/// Every value of the header `name` in `request`.
fn header_values<'a>(request: &'a ReceivedRequest, name: &'a str) -> impl Iterator<Item = &'a str> {
    request
        .headers
        .iter()
        .filter(move |(given, _)| given.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Whether the `If-None-Match` values list `*` or `etag` (if any); weak and strong tags compare
/// by their opaque part, as RFC 9110's weak comparison does for `If-None-Match`.
fn lists_tag(values: &[&str], etag: Option<&String>) -> bool {
    values
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|listed| {
            listed == "*" || etag.is_some_and(|etag| listed.trim_start_matches("W/") == etag)
        })
}

/// A hash of `body`; `DefaultHasher::new` has fixed keys, so a body hashes the same for as
/// long as the mock runs (not across Rust releases, which a mock does not need).
fn hash_of(body: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    body.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use reqwest::{RequestBuilder, Response, StatusCode};
    use serde_json::json;

    use super::lists_tag;
    use crate::testing::{Collection, Fault, MockApi, MockResponse, Paging, Validators};

    async fn api_with(validators: Validators) -> MockApi {
        let api = MockApi::start().await;
        let records = (1..=3).map(|id| json!({ "id": id })).collect();
        let items = Collection::new(records)
            .paging(Paging::page_number())
            .page_size(2);
        api.route("/items", items);
        api.conditional(validators);
        api
    }

    fn get(api: &MockApi, target: &str) -> RequestBuilder {
        reqwest::Client::new().get(format!("{}{target}", api.url()))
    }

    async fn send(request: RequestBuilder) -> Response {
        request.send().await.expect("the mock answers")
    }

    fn header(response: &Response, name: &str) -> String {
        let value = response.headers().get(name);
        let value = value.unwrap_or_else(|| panic!("no {name} in {:?}", response.headers()));
        value.to_str().expect("ASCII").to_owned()
    }

    /// A 200 carries a strong, quoted ETag; `If-None-Match` with it (alone, in a list, weak, or
    /// `*`) gets an empty 304 with the same ETag, and any other tag gets the page again.
    #[tokio::test]
    async fn if_none_match_with_the_current_etag_gets_304() {
        let api = api_with(Validators::ETag).await;
        let first = send(get(&api, "items?page=1")).await;
        assert_eq!(first.status(), StatusCode::OK);
        let etag = header(&first, "etag");
        assert!(etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'));
        assert!(first.headers().get("last-modified").is_none());

        let matching = [etag.clone(), format!("\"other\", W/{etag}"), "*".to_owned()];
        for condition in matching {
            let revalidated = send(get(&api, "items?page=1").header("if-none-match", &condition));
            let revalidated = revalidated.await;
            assert_eq!(
                revalidated.status(),
                StatusCode::NOT_MODIFIED,
                "{condition}"
            );
            assert_eq!(header(&revalidated, "etag"), etag);
            assert!(revalidated.bytes().await.unwrap().is_empty());
        }
        let stale = send(get(&api, "items?page=1").header("if-none-match", "\"other\"")).await;
        assert_eq!(stale.status(), StatusCode::OK);
        // Each page is its own target with its own body.
        let page_two = send(get(&api, "items?page=2").header("if-none-match", &etag)).await;
        assert_eq!(page_two.status(), StatusCode::OK);
        assert_ne!(header(&page_two, "etag"), etag);
        assert_eq!(api.not_modified_count(), 3);
    }

    /// A changed body gets a new ETag, so the old one no longer matches.
    #[tokio::test]
    async fn a_changed_body_gets_a_new_etag() {
        let api = api_with(Validators::ETag).await;
        let etag = header(&send(get(&api, "items")).await, "etag");
        api.set_records("/items", vec![json!({"id": 4})]);
        let changed = send(get(&api, "items").header("if-none-match", &etag)).await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert_ne!(header(&changed, "etag"), etag);
        assert_eq!(api.not_modified_count(), 0);
    }

    /// `If-Modified-Since` at or after `Last-Modified` gets a 304 while the body is unchanged;
    /// an earlier date, or a changed body within the same second, gets a 200 with a later date.
    #[tokio::test]
    async fn if_modified_since_compares_with_the_first_time_a_body_was_served() {
        let api = api_with(Validators::LastModified).await;
        let first = send(get(&api, "items")).await;
        assert!(first.headers().get("etag").is_none());
        let last_modified = header(&first, "last-modified");
        let served_at = httpdate::parse_http_date(&last_modified).unwrap();
        assert!(served_at <= SystemTime::now());

        let same = send(get(&api, "items").header("if-modified-since", &last_modified)).await;
        assert_eq!(same.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header(&same, "last-modified"), last_modified);
        let earlier = httpdate::fmt_http_date(served_at - Duration::from_secs(1));
        let older_copy = send(get(&api, "items").header("if-modified-since", earlier)).await;
        assert_eq!(older_copy.status(), StatusCode::OK);
        assert_eq!(header(&older_copy, "last-modified"), last_modified);

        api.set_records("/items", vec![json!({"id": 4})]);
        let changed = send(get(&api, "items").header("if-modified-since", &last_modified)).await;
        assert_eq!(changed.status(), StatusCode::OK);
        let changed_at = httpdate::parse_http_date(&header(&changed, "last-modified")).unwrap();
        assert!(changed_at > served_at);
        assert_eq!(api.not_modified_count(), 1);
    }

    /// With both validators, `If-None-Match` decides: a stale tag gets a 200 even with a current
    /// `If-Modified-Since`.
    #[tokio::test]
    async fn if_none_match_takes_precedence_over_if_modified_since() {
        let api = api_with(Validators::Both).await;
        let first = send(get(&api, "items")).await;
        let (etag, last_modified) = (header(&first, "etag"), header(&first, "last-modified"));
        let stale_tag = get(&api, "items")
            .header("if-none-match", "\"other\"")
            .header("if-modified-since", &last_modified);
        assert_eq!(send(stale_tag).await.status(), StatusCode::OK);
        let current_tag = get(&api, "items")
            .header("if-none-match", &etag)
            .header("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT");
        let revalidated = send(current_tag).await;
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header(&revalidated, "etag"), etag);
        assert_eq!(header(&revalidated, "last-modified"), last_modified);
    }

    /// Faults and non-200 answers get no validators and no 304; a delay still answers normally.
    #[tokio::test]
    async fn only_normal_200_answers_are_validated() {
        let api = api_with(Validators::ETag).await;
        api.route("/gone", MockResponse::status(404));
        let etag = header(&send(get(&api, "items")).await, "etag");
        api.inject("/items", Fault::HtmlPage, 1);
        api.inject("/items", Fault::Delay(Duration::from_millis(1)), 1);
        let html = send(get(&api, "items").header("if-none-match", &etag)).await;
        assert_eq!(html.status(), StatusCode::OK);
        assert!(html.headers().get("etag").is_none());
        let delayed = send(get(&api, "items").header("if-none-match", &etag)).await;
        assert_eq!(delayed.status(), StatusCode::NOT_MODIFIED);
        let missing = send(get(&api, "gone").header("if-none-match", "*")).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert!(missing.headers().get("etag").is_none());
    }

    /// A 304 stands for the answer it replaces: a sequence moves on to its next response.
    #[tokio::test]
    async fn a_304_takes_a_sequence_step() {
        let api = api_with(Validators::ETag).await;
        let first = MockResponse::json(json!({"v": 1}));
        let second = MockResponse::json(json!({"v": 2}));
        api.route("/seq", vec![first.clone(), first, second]);
        let etag = header(&send(get(&api, "seq")).await, "etag");
        let unchanged = send(get(&api, "seq").header("if-none-match", &etag)).await;
        assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
        let changed = send(get(&api, "seq").header("if-none-match", &etag)).await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(changed.bytes().await.unwrap(), r#"{"v":2}"#);
    }

    /// `If-None-Match` lists are split on commas, and `W/` is ignored when comparing.
    #[test]
    fn lists_tag_compares_weakly() {
        let etag = "\"abc\"".to_owned();
        assert!(lists_tag(&["W/\"abc\""], Some(&etag)));
        assert!(lists_tag(&["\"x\"", " \"y\" ,\"abc\""], Some(&etag)));
        assert!(!lists_tag(&["\"abcd\""], Some(&etag)));
        assert!(lists_tag(&["*"], None));
        assert!(!lists_tag(&["\"abc\""], None));
    }
}
