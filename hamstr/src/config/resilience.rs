//! A service's `retry:` and `limits:`: mappings of optional keys into a [`RetryPolicy`] and
//! [`Limits`]. A key left out keeps the builder's default.

use marked_yaml::{Node, types::MarkedMappingNode};

use super::value::{Checker, describe, get};
use crate::service::{DEFAULT_INITIAL_DELAY, DEFAULT_MAX_DELAY, Limits, RetryPolicy};

/// The keys of `retry:`.
pub(super) const RETRY_KEYS: [&str; 6] = [
    "max_attempts",
    "initial_delay",
    "max_delay",
    "statuses",
    "max_wait",
    "max_run_backoff",
];

/// The keys of `limits:`.
pub(super) const LIMITS_KEYS: [&str; 4] = [
    "requests_per_second",
    "requests_per_minute",
    "max_concurrent",
    "max_quota_fraction",
];

/// Service keys likely to be put under `retry:` or `limits:` by mistake.
const SERVICE_NEIGHBOURS: [&str; 3] = ["timeout", "connect_timeout", "conditional_requests"];

/// The largest count a key takes: the builder's counts are `u32`.
const MAX_COUNT: u64 = u32::MAX as u64;

const NO_LIMIT_HELP: &str = "leave the key out for no limit";

/// Reads `retry:`, reporting everything that does not fit.
pub(super) fn retry(checker: &mut Checker<'_>, node: &Node) -> Option<RetryPolicy> {
    // A scalar (`retry: false`, `retry: off`) most likely means "no retries": say how.
    let mapping = mapping(
        checker,
        node,
        "`retry`",
        "for example `retry: {max_attempts: 8, max_delay: 1m}`; `retry: {max_attempts: 1}` turns retries off",
    )?;
    checker.check_keys(
        mapping,
        "`retry`",
        &RETRY_KEYS,
        &[
            (&LIMITS_KEYS, "under `limits:` of the service"),
            (&SERVICE_NEIGHBOURS, "in the service, next to `retry:`"),
        ],
    );
    // Each: `None` when absent, `Some(None)` when its value was reported as wrong.
    let max_attempts = get(mapping, "max_attempts").map(|node| {
        checker.whole_number_in(
            node,
            "`max_attempts`",
            1..=MAX_COUNT,
            Some("it counts the first attempt: 1 tries each request once, without retries"),
        )
    });
    let initial_delay =
        get(mapping, "initial_delay").map(|node| checker.duration(node, "`initial_delay`"));
    let max_delay = get(mapping, "max_delay").map(|node| checker.duration(node, "`max_delay`"));
    let statuses = get(mapping, "statuses").map(|node| statuses(checker, node));
    let max_wait = get(mapping, "max_wait").map(|node| checker.duration(node, "`max_wait`"));
    let max_run_backoff =
        get(mapping, "max_run_backoff").map(|node| checker.duration(node, "`max_run_backoff`"));
    if let (Some(Some(initial)), Some(Some(max))) = (initial_delay, max_delay)
        && max < initial
    {
        check_delays(checker, mapping);
        return None;
    }
    // A wrong value must not fall back to the default.
    if [
        max_attempts.is_some_and(|value| value.is_none()),
        initial_delay.is_some_and(|value| value.is_none()),
        max_delay.is_some_and(|value| value.is_none()),
        statuses.as_ref().is_some_and(Option::is_none),
        max_wait.is_some_and(|value| value.is_none()),
        max_run_backoff.is_some_and(|value| value.is_none()),
    ]
    .contains(&true)
    {
        return None;
    }
    let mut policy = RetryPolicy::new();
    if let Some(attempts) = max_attempts.flatten() {
        policy = policy.max_attempts(u32::try_from(attempts).ok()?);
    }
    policy = match (initial_delay.flatten(), max_delay.flatten()) {
        (None, None) => policy,
        (Some(initial), Some(max)) => policy.delays(initial, max),
        // The default of the other gives way: a long first wait raises the max to it, a short
        // max lowers the first wait to it.
        (Some(initial), None) => policy.delays(initial, DEFAULT_MAX_DELAY.max(initial)),
        (None, Some(max)) => policy.delays(DEFAULT_INITIAL_DELAY.min(max), max),
    };
    if let Some(statuses) = statuses.flatten() {
        policy = policy.statuses(statuses);
    }
    if let Some(wait) = max_wait.flatten() {
        policy = policy.max_wait(wait);
    }
    if let Some(wait) = max_run_backoff.flatten() {
        policy = policy.max_run_backoff(wait);
    }
    Some(policy)
}

/// Reports `max_delay` shorter than `initial_delay`, at `max_delay`.
fn check_delays(checker: &mut Checker<'_>, mapping: &MarkedMappingNode) {
    let (Some(initial), Some(max)) = (get(mapping, "initial_delay"), get(mapping, "max_delay"))
    else {
        return;
    };
    let initial_line = checker.place_of(initial).line;
    let place = checker.place_of(max);
    checker.report(
        place,
        "`max_delay` is shorter than `initial_delay`",
        format!(
            "the waits grow from `initial_delay` (line {initial_line}) up to `max_delay`: make `max_delay` at least as long"
        ),
    );
}

/// `statuses:`, a list of HTTP statuses; an empty list retries no status.
fn statuses(checker: &mut Checker<'_>, node: &Node) -> Option<Vec<u16>> {
    let Node::Sequence(sequence) = node else {
        let place = checker.place_of(node);
        let example = match node {
            Node::Scalar(scalar) => format!("[{}]", scalar.as_str()),
            _ => "[429, 503]".to_owned(),
        };
        checker.report(
            place,
            format!(
                "`statuses` must be a list of HTTP statuses, found {}",
                describe(node)
            ),
            format!("write `statuses: {example}`"),
        );
        return None;
    };
    let mut statuses = Vec::with_capacity(sequence.len());
    let mut is_complete = true;
    for item in sequence.iter() {
        let status = checker
            .whole_number_in(item, "a status in `statuses`", 100..=599, None)
            .and_then(|status| u16::try_from(status).ok());
        match status {
            Some(status) => statuses.push(status),
            None => is_complete = false,
        }
    }
    is_complete.then_some(statuses)
}

/// Reads `limits:`, reporting everything that does not fit.
pub(super) fn limits(checker: &mut Checker<'_>, node: &Node) -> Option<Limits> {
    let mapping = mapping(
        checker,
        node,
        "`limits`",
        "for example `limits: {requests_per_second: 10, max_concurrent: 4}`",
    )?;
    checker.check_keys(
        mapping,
        "`limits`",
        &LIMITS_KEYS,
        &[
            (&RETRY_KEYS, "under `retry:` of the service"),
            (&SERVICE_NEIGHBOURS, "in the service, next to `limits:`"),
        ],
    );
    let mut count = |key: &str, help: &str| {
        get(mapping, key).map(|node| {
            checker
                .whole_number_in(node, &format!("`{key}`"), 1..=MAX_COUNT, Some(help))
                .and_then(|count| u32::try_from(count).ok())
        })
    };
    let requests_per_second = count("requests_per_second", NO_LIMIT_HELP);
    let requests_per_minute = count("requests_per_minute", NO_LIMIT_HELP);
    let max_concurrent = count(
        "max_concurrent",
        &format!(
            "0 would send nothing; leave the key out for the default, {}",
            Limits::DEFAULT_MAX_CONCURRENT
        ),
    );
    let max_quota_fraction = get(mapping, "max_quota_fraction").map(|node| {
        checker.fraction(
            node,
            "`max_quota_fraction`",
            "it is the share of the API's rate-limit quota hamstr may use: 0.5 leaves half to other applications with the same token, 1 (the default) uses all of it",
        )
    });
    // A wrong value must not fall back to no limit.
    if [
        requests_per_second.is_some_and(|value| value.is_none()),
        requests_per_minute.is_some_and(|value| value.is_none()),
        max_concurrent.is_some_and(|value| value.is_none()),
        max_quota_fraction.is_some_and(|value| value.is_none()),
    ]
    .contains(&true)
    {
        return None;
    }
    let defaults = Limits::default();
    Some(Limits {
        requests_per_second: requests_per_second.flatten(),
        requests_per_minute: requests_per_minute.flatten(),
        max_concurrent: max_concurrent
            .flatten()
            .map_or(defaults.max_concurrent, |count| usize::try_from(count).ok()),
        max_quota_fraction: max_quota_fraction
            .flatten()
            .unwrap_or(defaults.max_quota_fraction),
    })
}

/// The mapping `node` is, or a problem saying that `what` must be one, with `help`.
fn mapping<'n>(
    checker: &mut Checker<'_>,
    node: &'n Node,
    what: &str,
    help: &str,
) -> Option<&'n MarkedMappingNode> {
    if let Node::Mapping(mapping) = node {
        return Some(mapping);
    }
    let place = checker.place_of(node);
    checker.report(
        place,
        format!(
            "{what} must be a mapping of settings, found {}",
            describe(node)
        ),
        help.to_owned(),
    );
    None
}
