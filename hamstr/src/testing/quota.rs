//! [`MockRateLimit`]: a request quota the mock enforces per fixed window and advertises in
//! rate-limit headers, in the style of GitHub or of the IETF drafts.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::route::MockResponse;

/// The longest window; a longer one is cut to this, so window ends stay within the clock's range.
const MAX_WINDOW: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The body GitHub sends with its 403 when an unauthenticated client used up its quota.
const GITHUB_EXCEEDED: &str = "API rate limit exceeded for 127.0.0.1. (But here's the good news: \
                               Authenticated requests get a higher rate limit.)";
const GITHUB_DOCUMENTATION: &str =
    "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting";

/// A quota of requests per fixed window that the mock enforces and advertises; set with
/// [`MockApi::rate_limit`](super::MockApi::rate_limit).
///
/// A window starts with the first request after the previous window ended (or with the first
/// request ever) and lasts `window`, in real time. Every request counts, faults and 401s
/// included, except one answered `304 Not Modified`. Once `limit` requests were counted, every
/// request until the window ends is refused (403 or 429, by style) and counted apart, in
/// [`MockApi::requests_over_quota`](super::MockApi::requests_over_quota). Every response, refusals,
/// faults and 304s included, carries the style's headers. Advertised seconds are rounded up, so a
/// client that waits as long as the headers say never arrives before the window ends.
///
/// ```
/// use std::time::Duration;
/// use hamstr::testing::{MockApi, MockRateLimit, MockResponse};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), reqwest::Error> {
/// let api = MockApi::start().await;
/// api.route("/user", MockResponse::json(serde_json::json!({"login": "octocat"})));
/// api.rate_limit(MockRateLimit::github(1, Duration::from_secs(60)));
///
/// let client = reqwest::Client::new();
/// let first = client.get(format!("{}user", api.url())).send().await?;
/// assert_eq!(first.headers()["x-ratelimit-remaining"], "0");
/// let refused = client.get(format!("{}user", api.url())).send().await?;
/// assert_eq!(refused.status(), 403);
/// assert_eq!(api.requests_over_quota(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockRateLimit {
    style: HeaderStyle,
    limit: u64,
    window: Duration,
}

/// Which headers advertise the quota, and how a refusal looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderStyle {
    GitHub,
    Ietf,
    Structured,
}

impl MockRateLimit {
    /// `limit` requests per `window`, advertised as GitHub's REST API does.
    ///
    /// Every response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Used`,
    /// `X-RateLimit-Resource: core` and `X-RateLimit-Reset`: the window's end in seconds since
    /// the Unix epoch, rounded up. A refused request gets GitHub's `403` with the JSON body
    /// `{"message": "API rate limit exceeded for 127.0.0.1. ...", "documentation_url": "..."}`
    /// and no `Retry-After`.
    pub fn github(limit: u64, window: Duration) -> Self {
        MockRateLimit::new(HeaderStyle::GitHub, limit, window)
    }

    /// `limit` requests per `window`, advertised with the IETF draft's `RateLimit-Limit`,
    /// `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the window ends, rounded up).
    ///
    /// A refused request gets a `429` with `Retry-After` set to the same seconds and the JSON
    /// body `{"error": "rate limit exceeded"}`.
    pub fn ietf(limit: u64, window: Duration) -> Self {
        MockRateLimit::new(HeaderStyle::Ietf, limit, window)
    }

    /// `limit` requests per `window`, advertised with the newer IETF draft's structured fields:
    /// `RateLimit: "default";r=<remaining>;t=<seconds until the window ends>` and
    /// `RateLimit-Policy: "default";q=<limit>;w=<window in seconds>`, both rounded up.
    ///
    /// A refused request gets a `429` as with [`ietf`](MockRateLimit::ietf).
    pub fn structured(limit: u64, window: Duration) -> Self {
        MockRateLimit::new(HeaderStyle::Structured, limit, window)
    }

    fn new(style: HeaderStyle, limit: u64, window: Duration) -> Self {
        MockRateLimit {
            style,
            limit,
            window: window.min(MAX_WINDOW),
        }
    }
}

/// A [`MockRateLimit`] in force: the current window and how much of it was used.
#[derive(Debug)]
pub(crate) struct Quota {
    policy: MockRateLimit,
    window: Option<Window>,
    used: u64,
}

#[derive(Debug)]
struct Window {
    ends: Instant,
    /// GitHub's reset time, fixed when the window starts so every response names the same second.
    ends_epoch_secs: u64,
}

impl Quota {
    pub(crate) fn new(policy: MockRateLimit) -> Self {
        Quota {
            policy,
            window: None,
            used: 0,
        }
    }

    /// Starts a new window if the last one ended, and says whether one more request fits.
    pub(crate) fn admit(&mut self, now: Instant) -> bool {
        if self.window.as_ref().is_none_or(|window| now >= window.ends) {
            let ends_wall = SystemTime::now() + self.policy.window;
            let since_epoch = ends_wall.duration_since(UNIX_EPOCH).unwrap_or_default();
            self.window = Some(Window {
                ends: now + self.policy.window,
                ends_epoch_secs: seconds_rounded_up(since_epoch),
            });
            self.used = 0;
        }
        self.used < self.policy.limit
    }

    /// Counts one request against the window's quota.
    pub(crate) fn charge(&mut self) {
        self.used += 1;
    }

    /// The answer to a request that [`admit`](Quota::admit) did not let in, with its headers.
    pub(crate) fn refusal(&self, now: Instant) -> MockResponse {
        let mut refusal = match self.policy.style {
            HeaderStyle::GitHub => MockResponse {
                status: 403,
                ..MockResponse::json(serde_json::json!({
                    "message": GITHUB_EXCEEDED,
                    "documentation_url": GITHUB_DOCUMENTATION,
                }))
            },
            HeaderStyle::Ietf | HeaderStyle::Structured => {
                MockResponse::json_error(429, "rate limit exceeded")
                    .header("retry-after", self.seconds_to_reset(now).to_string())
            }
        };
        self.advertise(&mut refusal, now);
        refusal
    }

    /// Puts the quota's headers on `response`, replacing any of the same name the route set.
    pub(crate) fn advertise(&self, response: &mut MockResponse, now: Instant) {
        let remaining = self.policy.limit.saturating_sub(self.used);
        let reset = self.seconds_to_reset(now);
        let headers = match self.policy.style {
            HeaderStyle::GitHub => vec![
                ("x-ratelimit-limit", self.policy.limit.to_string()),
                ("x-ratelimit-remaining", remaining.to_string()),
                ("x-ratelimit-reset", self.reset_epoch_secs().to_string()),
                ("x-ratelimit-used", self.used.to_string()),
                ("x-ratelimit-resource", "core".to_owned()),
            ],
            HeaderStyle::Ietf => vec![
                ("ratelimit-limit", self.policy.limit.to_string()),
                ("ratelimit-remaining", remaining.to_string()),
                ("ratelimit-reset", reset.to_string()),
            ],
            HeaderStyle::Structured => vec![
                ("ratelimit", format!("\"default\";r={remaining};t={reset}")),
                (
                    "ratelimit-policy",
                    format!(
                        "\"default\";q={};w={}",
                        self.policy.limit,
                        seconds_rounded_up(self.policy.window)
                    ),
                ),
            ],
        };
        for (name, value) in headers {
            response.set_header(name, value);
        }
    }

    fn seconds_to_reset(&self, now: Instant) -> u64 {
        let left = self.window.as_ref().map_or(Duration::ZERO, |window| {
            window.ends.saturating_duration_since(now)
        });
        seconds_rounded_up(left)
    }

    fn reset_epoch_secs(&self) -> u64 {
        self.window
            .as_ref()
            .map_or(0, |window| window.ends_epoch_secs)
    }
}

/// Whole seconds, rounded up: advertising 1 for 1.2 s would send a client back too early.
fn seconds_rounded_up(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use reqwest::Response;
    use reqwest::header::HeaderMap;
    use serde_json::json;

    use super::seconds_rounded_up;
    use crate::testing::{Fault, MockApi, MockAuth, MockRateLimit, MockResponse, Validators};

    /// Long enough that no test here sees its window end unless it waits for it.
    const LONG: Duration = Duration::from_secs(600);

    async fn api_with(limit: MockRateLimit) -> MockApi {
        let api = MockApi::start().await;
        api.route("/user", MockResponse::json(json!({"login": "octocat"})));
        api.rate_limit(limit);
        api
    }

    async fn get(api: &MockApi, path: &str) -> Response {
        reqwest::get(format!("{}{}", api.url(), path.trim_start_matches('/')))
            .await
            .expect("the mock answers")
    }

    fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
        headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
            .to_str()
            .expect("rate-limit headers are ASCII")
    }

    fn number(headers: &HeaderMap, name: &str) -> u64 {
        header(headers, name).parse().expect("a whole number")
    }

    fn epoch_secs(time: SystemTime) -> Duration {
        time.duration_since(UNIX_EPOCH).expect("after 1970")
    }

    /// GitHub style: the headers count down, then GitHub's 403 arrives with Remaining 0, and
    /// refused requests neither go below 0 nor count as used.
    #[tokio::test]
    async fn github_style_counts_down_then_refuses_with_403() {
        let api = api_with(MockRateLimit::github(2, LONG)).await;
        for remaining in [1, 0] {
            let response = get(&api, "/user").await;
            assert_eq!(response.status(), 200);
            let headers = response.headers();
            assert_eq!(number(headers, "x-ratelimit-limit"), 2);
            assert_eq!(number(headers, "x-ratelimit-remaining"), remaining);
            assert_eq!(number(headers, "x-ratelimit-used"), 2 - remaining);
            assert_eq!(header(headers, "x-ratelimit-resource"), "core");
        }
        for _ in 0..2 {
            let refused = get(&api, "/user").await;
            assert_eq!(refused.status(), 403);
            assert_eq!(number(refused.headers(), "x-ratelimit-remaining"), 0);
            assert_eq!(number(refused.headers(), "x-ratelimit-used"), 2);
            assert!(refused.headers().get("retry-after").is_none());
            let body: serde_json::Value =
                serde_json::from_slice(&refused.bytes().await.unwrap()).unwrap();
            assert_eq!(
                body,
                json!({
                    "message": "API rate limit exceeded for 127.0.0.1. (But here's the good news: \
                                Authenticated requests get a higher rate limit.)",
                    "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
                })
            );
        }
        assert_eq!(api.requests_over_quota(), 2);
        assert_eq!(api.request_count(), 4);
    }

    /// GitHub's `X-RateLimit-Reset` is the window's end in epoch seconds, rounded up, and the
    /// same on every response of the window.
    #[tokio::test]
    async fn github_reset_is_the_window_end_rounded_up() {
        let window = Duration::from_millis(1500);
        let api = api_with(MockRateLimit::github(5, window)).await;
        let before = epoch_secs(SystemTime::now());
        let first = get(&api, "/user").await;
        let after = epoch_secs(SystemTime::now());
        let reset = number(first.headers(), "x-ratelimit-reset");
        assert!(
            (seconds_rounded_up(before + window)..=seconds_rounded_up(after + window))
                .contains(&reset),
            "{reset} is not the window end rounded up"
        );
        let second = get(&api, "/user").await;
        assert_eq!(number(second.headers(), "x-ratelimit-reset"), reset);
    }

    /// IETF style: `RateLimit-*` headers with the reset in seconds rounded up (59.5 s is 60),
    /// then a 429 whose `Retry-After` matches `RateLimit-Reset`.
    #[tokio::test]
    async fn ietf_style_refuses_with_429_and_retry_after() {
        let api = api_with(MockRateLimit::ietf(1, Duration::from_millis(59_500))).await;
        let first = get(&api, "/user").await;
        let headers = first.headers();
        assert_eq!(number(headers, "ratelimit-limit"), 1);
        assert_eq!(number(headers, "ratelimit-remaining"), 0);
        // The window starts with this request, so exactly 59.5 s are left.
        assert_eq!(number(headers, "ratelimit-reset"), 60);
        assert!(headers.get("x-ratelimit-limit").is_none());

        let refused = get(&api, "/user").await;
        assert_eq!(refused.status(), 429);
        let headers = refused.headers();
        assert_eq!(number(headers, "ratelimit-remaining"), 0);
        let reset = number(headers, "ratelimit-reset");
        assert!((1..=60).contains(&reset), "{reset}");
        assert_eq!(number(headers, "retry-after"), reset);
        let body: serde_json::Value =
            serde_json::from_slice(&refused.bytes().await.unwrap()).unwrap();
        assert_eq!(body, json!({"error": "rate limit exceeded"}));
        assert_eq!(api.requests_over_quota(), 1);
    }

    /// Structured style: `RateLimit` and `RateLimit-Policy` as the newer draft writes them,
    /// then a 429 with `Retry-After`.
    #[tokio::test]
    async fn structured_style_sends_rate_limit_fields() {
        let api = api_with(MockRateLimit::structured(2, Duration::from_millis(59_500))).await;
        let first = get(&api, "/user").await;
        assert_eq!(header(first.headers(), "ratelimit"), "\"default\";r=1;t=60");
        assert_eq!(
            header(first.headers(), "ratelimit-policy"),
            "\"default\";q=2;w=60"
        );
        get(&api, "/user").await;
        let refused = get(&api, "/user").await;
        assert_eq!(refused.status(), 429);
        let fields = header(refused.headers(), "ratelimit").to_owned();
        let seconds = fields
            .strip_prefix("\"default\";r=0;t=")
            .unwrap_or_else(|| panic!("unexpected RateLimit field: {fields}"));
        assert_eq!(header(refused.headers(), "retry-after"), seconds);
    }

    /// Faults and auth failures count against the quota and carry its headers; an exhausted
    /// quota answers before auth is checked.
    #[tokio::test]
    async fn faults_and_auth_failures_count_and_quota_comes_first() {
        let api = api_with(MockRateLimit::github(3, LONG)).await;
        api.inject("/user", Fault::Status(503), 1);
        api.inject("/user", Fault::DropConnection, 1);
        let unavailable = get(&api, "/user").await;
        assert_eq!(unavailable.status(), 503);
        assert_eq!(number(unavailable.headers(), "x-ratelimit-remaining"), 2);
        let dropped = get(&api, "/user").await;
        assert_eq!(number(dropped.headers(), "x-ratelimit-remaining"), 1);
        assert!(dropped.bytes().await.is_err(), "the body should break off");

        api.require_auth(MockAuth::bearer("token"));
        let unauthorized = get(&api, "/user").await;
        assert_eq!(unauthorized.status(), 401);
        assert_eq!(number(unauthorized.headers(), "x-ratelimit-remaining"), 0);
        // Still no credentials, but the quota is checked first.
        assert_eq!(get(&api, "/user").await.status(), 403);
    }

    /// A `304 Not Modified` is not charged, and still carries the rate-limit headers.
    #[tokio::test]
    async fn a_304_is_not_charged() {
        let api = api_with(MockRateLimit::github(2, LONG)).await;
        api.conditional(Validators::ETag);
        let first = get(&api, "/user").await;
        let etag = header(first.headers(), "etag").to_owned();
        for _ in 0..3 {
            let revalidated = reqwest::Client::new()
                .get(format!("{}user", api.url()))
                .header("if-none-match", &etag)
                .send()
                .await
                .unwrap();
            assert_eq!(revalidated.status(), 304);
            assert_eq!(number(revalidated.headers(), "x-ratelimit-remaining"), 1);
            assert_eq!(number(revalidated.headers(), "x-ratelimit-used"), 1);
        }
        assert_eq!(
            number(get(&api, "/user").await.headers(), "x-ratelimit-used"),
            2
        );
    }

    /// A client that waits until the advertised `X-RateLimit-Reset` second finds a new window
    /// with the full quota.
    #[tokio::test]
    async fn waiting_until_the_reset_second_finds_a_new_window() {
        let api = api_with(MockRateLimit::github(1, Duration::from_millis(300))).await;
        assert_eq!(get(&api, "/user").await.status(), 200);
        let refused = get(&api, "/user").await;
        assert_eq!(refused.status(), 403);
        let reset = Duration::from_secs(number(refused.headers(), "x-ratelimit-reset"));
        let wait = reset.saturating_sub(epoch_secs(SystemTime::now()));
        tokio::time::sleep(wait).await;

        let fresh = get(&api, "/user").await;
        assert_eq!(fresh.status(), 200);
        assert_eq!(number(fresh.headers(), "x-ratelimit-remaining"), 0);
        assert_eq!(number(fresh.headers(), "x-ratelimit-used"), 1);
        assert!(number(fresh.headers(), "x-ratelimit-reset") > reset.as_secs());
        assert_eq!(api.requests_over_quota(), 1);
    }
}
