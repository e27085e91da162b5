//! The quota's reading of rate-limit headers and its pauses.

use super::*;
use reqwest::header::HeaderValue;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn github_headers_give_an_epoch_reset() {
    let reset = epoch_now() + 120;
    let reported = Reported::from_headers(&headers(&[
        ("x-ratelimit-limit", "5000"),
        ("x-ratelimit-remaining", "4999"),
        ("x-ratelimit-reset", &reset.to_string()),
    ]))
    .unwrap();
    assert_eq!(reported.limit, Some(5000));
    assert_eq!(reported.remaining, Some(4999));
    let reset_in = reported.reset_in.unwrap().as_secs();
    assert!((119..=120).contains(&reset_in), "{reset_in}");
}

#[test]
fn an_epoch_reset_counts_from_the_servers_date() {
    let server = SystemTime::now() - Duration::from_secs(3600);
    let server_epoch = server.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let reported = Reported::from_headers(&headers(&[
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", &(server_epoch + 30).to_string()),
        ("date", &httpdate::fmt_http_date(server)),
    ]))
    .unwrap();
    assert_eq!(reported.reset_in, Some(Duration::from_secs(30)));
}

#[test]
fn ietf_headers_give_seconds_from_now() {
    let reported = Reported::from_headers(&headers(&[
        ("ratelimit-limit", "100"),
        ("ratelimit-remaining", "7"),
        ("ratelimit-reset", "42"),
    ]))
    .unwrap();
    assert_eq!(
        reported,
        Reported {
            limit: Some(100),
            remaining: Some(7),
            reset_in: Some(Duration::from_secs(42)),
        }
    );
}

#[test]
fn structured_fields_of_both_drafts() {
    let newer = Reported::from_headers(&headers(&[
        ("ratelimit", r#""hourly";r=900;t=1800, "burst";r=3;t=5"#),
        (
            "ratelimit-policy",
            r#""hourly";q=1000;w=3600, "burst";q=10;w=10"#,
        ),
    ]))
    .unwrap();
    assert_eq!(
        newer,
        Reported {
            limit: Some(10),
            remaining: Some(3),
            reset_in: Some(Duration::from_secs(5)),
        }
    );
    let older = Reported::from_headers(&headers(&[(
        "ratelimit",
        "limit=100, remaining=50, reset=30",
    )]))
    .unwrap();
    assert_eq!(older.limit, Some(100));
    assert_eq!(older.remaining, Some(50));
    assert_eq!(older.reset_in, Some(Duration::from_secs(30)));
    assert_eq!(Reported::from_headers(&headers(&[("x-other", "1")])), None);
}

#[test]
fn retry_after_in_seconds_or_as_a_date() {
    assert_eq!(
        retry_after(&headers(&[("retry-after", "3")])),
        Some(Duration::from_secs(3))
    );
    let now = SystemTime::now();
    let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
    let wait = retry_after(&headers(&[
        ("retry-after", &later),
        ("date", &httpdate::fmt_http_date(now)),
    ]))
    .unwrap();
    assert_eq!(wait, Duration::from_secs(90));
    let past = httpdate::fmt_http_date(now - Duration::from_secs(90));
    assert_eq!(
        retry_after(&headers(&[("retry-after", &past)])),
        Some(Duration::ZERO)
    );
    assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
    // 29 digits: a wait longer than any, which the quota cuts to max_wait, not no wait.
    assert_eq!(
        retry_after(&headers(&[(
            "retry-after",
            "99999999999999999999999999999"
        )])),
        Some(Duration::from_secs(u64::MAX))
    );
}

#[test]
fn github_403s_for_the_rate_limit_are_told_apart() {
    let exhausted = headers(&[("x-ratelimit-remaining", "0")]);
    assert!(is_rate_limited(403, &exhausted, "API rate limit exceeded"));
    assert!(is_rate_limited(
        403,
        &HeaderMap::new(),
        "You have exceeded a secondary rate limit"
    ));
    assert!(!is_rate_limited(
        403,
        &HeaderMap::new(),
        "Resource not accessible"
    ));
    assert!(is_rate_limited(429, &HeaderMap::new(), ""));
}

#[test]
fn the_quota_pauses_at_zero_or_at_its_share() {
    let now = Instant::now();
    let reported = |remaining| Reported {
        limit: Some(10),
        remaining: Some(remaining),
        reset_in: Some(Duration::from_secs(60)),
    };
    let all = Quota::new(1.0, Duration::from_secs(3600));
    all.observe(&all.take(now).unwrap(), reported(2), now, "s");
    let first = all.take(now).unwrap();
    let second = all.take(now).unwrap();
    let (until, pause, is_new) = all.take(now).unwrap_err();
    assert_eq!(
        (until, pause, is_new),
        (now + Duration::from_secs(60), Pause::Quota, true)
    );
    assert!(!all.take(now).unwrap_err().2, "a pause is announced once");
    // The answer to the first counts the second as still in flight.
    all.observe(&first, reported(1), now, "s");
    drop((first, second));
    assert!(all.take(now).is_err());
    // After the reset, requests go again.
    assert!(all.take(now + Duration::from_secs(61)).is_ok());

    let half = Quota::new(0.5, Duration::from_secs(3600));
    half.observe(&half.take(now).unwrap(), reported(10), now, "s");
    let taken: Vec<_> = (0..5).map(|_| half.take(now).unwrap()).collect();
    assert!(half.take(now).is_err(), "half of 10 is used up");
    // An answer that charged nothing (a 304) gives its request back; the 4 others still in
    // flight are not counted by the API yet.
    half.observe(&taken[0], reported(10), now, "s");
    let extra = half.take(now).unwrap();
    assert!(half.take(now).is_err());
    drop((taken, extra));
    assert_eq!(half.snapshot(now).remaining, Some(5));
}

#[test]
fn long_waits_are_capped() {
    let now = Instant::now();
    let quota = Quota::new(1.0, Duration::from_secs(10));
    quota.pause(Duration::from_secs(86_400), now, "s");
    let (until, pause, _) = quota.take(now).unwrap_err();
    assert_eq!((until, pause), (now + Duration::from_secs(10), Pause::Told));
    assert!(quota.snapshot(now).paused_until.is_some());
}

#[test]
fn an_answer_counted_earlier_does_not_put_requests_back() {
    let now = Instant::now();
    let reported = |remaining, reset| Reported {
        limit: Some(10),
        remaining: Some(remaining),
        reset_in: Some(Duration::from_secs(reset)),
    };
    let quota = Quota::new(1.0, Duration::from_secs(3600));
    quota.observe(&quota.take(now).unwrap(), reported(9, 60), now, "s");
    // Two requests out; the API counts the first (7 left) before the second (6 left), and
    // their answers arrive the other way round.
    let (first, second) = (quota.take(now).unwrap(), quota.take(now).unwrap());
    quota.observe(&second, reported(6, 60), now, "s");
    drop(second);
    quota.observe(&first, reported(7, 60), now, "s");
    drop(first);
    // 6 less the first, in flight when the second's answer came; not the first's stale 7.
    assert_eq!(
        quota.snapshot(now).remaining,
        Some(5),
        "the older count is not news"
    );
    // A later window's count is, whatever it says.
    quota.observe(&quota.take(now).unwrap(), reported(9, 120), now, "s");
    assert_eq!(quota.snapshot(now).remaining, Some(9));
}
