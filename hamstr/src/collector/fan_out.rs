//! [`FanOut`]: a collector whose endpoint has a placeholder (`users/{login}/followers`), read
//! once per key, the keys taken from a column of another model's stored rows, from a list, or
//! both. Collectors that feed each other's keys crawl: users → followers → users.

use super::Interval;

/// Where a fan-out collector's keys come from, and how it reads them.
///
/// Each run adds the keys of its sources to the collector's frontier (the store keeps one row
/// per key), then reads the keys that are due: new ones, and those older than
/// [`refresh_after`](Self::refresh_after), oldest first, at most
/// [`max_per_run`](Self::max_per_run), [`concurrency`](Self::concurrency) at a time. A key
/// whose read fails is tried again later with backoff; one the API says is gone (404, 410) is
/// not asked again until its refresh. Each record carries its key in the field
/// [`parent_field`](Self::parent_field) (default `parent_<placeholder>`). A crawl is bounded by
/// [`max_depth`](Self::max_depth): how many keys may lie between a key and a seed.
///
/// # Examples
/// ```
/// use hamstr::collector::FanOut;
///
/// // Every user's followers: the users stored by another collector, and a seed.
/// let followers = FanOut::new()
///     .from_model("users", "login")
///     .seeds(["octocat"])
///     .refresh_after("1d")
///     .max_per_run(5);
/// assert_eq!(followers.seed_keys(), ["octocat"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanOut {
    sources: Vec<(String, String)>,
    seeds: Vec<String>,
    refresh_after: Option<Interval>,
    max_per_run: usize,
    concurrency: usize,
    parent_field: Option<String>,
    max_depth: Option<u32>,
}

impl Default for FanOut {
    fn default() -> Self {
        Self {
            sources: Vec::new(),
            seeds: Vec::new(),
            refresh_after: None,
            max_per_run: Self::DEFAULT_MAX_PER_RUN,
            concurrency: Self::DEFAULT_CONCURRENCY,
            parent_field: None,
            max_depth: None,
        }
    }
}

impl FanOut {
    /// Keys read per run unless [`max_per_run`](Self::max_per_run) says otherwise.
    pub const DEFAULT_MAX_PER_RUN: usize = 100;
    /// Keys read at once unless [`concurrency`](Self::concurrency) says otherwise.
    pub const DEFAULT_CONCURRENCY: usize = 4;

    /// A fan-out with no source of keys yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes keys from the field `field` of the stored rows of `model` (another collector's,
    /// or its own).
    pub fn from_model(mut self, model: impl Into<String>, field: impl Into<String>) -> Self {
        self.sources.push((model.into(), field.into()));
        self
    }

    /// Takes these keys too: the seeds a crawl starts from.
    pub fn seeds<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.seeds.extend(keys.into_iter().map(Into::into));
        self
    }

    /// Reads a key again this long after its last read (`"1d"`, a `Duration`). Without it, a
    /// key is read once.
    pub fn refresh_after(mut self, interval: impl Into<Interval>) -> Self {
        self.refresh_after = Some(interval.into());
        self
    }

    /// Reads at most this many keys a run (at least 1).
    pub fn max_per_run(mut self, count: usize) -> Self {
        self.max_per_run = count.max(1);
        self
    }

    /// Reads at most this many keys at once (at least 1), inside the service's own limits.
    pub fn concurrency(mut self, count: usize) -> Self {
        self.concurrency = count.max(1);
        self
    }

    /// The field each record gets with its key (default `parent_<placeholder>`).
    pub fn parent_field(mut self, name: impl Into<String>) -> Self {
        self.parent_field = Some(name.into());
        self
    }

    /// Reads only keys at most `depth` reads away from a seed: the seeds are at 0; a key found
    /// in what was read for a key at depth `d` is at `d + 1`, or at `d` when it is that key
    /// itself (a user's profile found in its own followers listing is the same user). Keys
    /// found in rows of a collector that is no fan-out are at 0.
    pub fn max_depth(mut self, depth: u32) -> Self {
        self.max_depth = Some(depth);
        self
    }

    /// The depth limit, if there is one.
    pub fn depth_limit(&self) -> Option<u32> {
        self.max_depth
    }

    /// The `(model, field)` sources of keys.
    pub fn model_sources(&self) -> &[(String, String)] {
        &self.sources
    }

    /// The seed keys.
    pub fn seed_keys(&self) -> &[String] {
        &self.seeds
    }

    /// How long until a key is read again, if it is.
    pub fn refresh_interval(&self) -> Option<&Interval> {
        self.refresh_after.as_ref()
    }

    /// Keys read per run.
    pub fn keys_per_run(&self) -> usize {
        self.max_per_run
    }

    /// Keys read at once.
    pub fn keys_at_once(&self) -> usize {
        self.concurrency
    }

    /// The field each record gets with its key, for the placeholder `placeholder`.
    pub fn parent_field_for(&self, placeholder: &str) -> String {
        self.parent_field
            .clone()
            .unwrap_or_else(|| format!("parent_{}", placeholder.trim_start_matches('+')))
    }
}

/// The placeholders of `path`: the names in `{…}`.
pub fn placeholders(path: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        found.push(&after[..end]);
        rest = &after[end + 1..];
    }
    found
}

/// Whether `key` can fill `placeholder`: not empty, and no segment `.` or `..` (which a URL reads
/// as "here" and "up", however they are encoded). A `{+name}` placeholder takes a path of several
/// segments (a link stored in a record); `{name}` takes one.
pub(crate) fn is_path_key(placeholder: &str, key: &str) -> bool {
    let segments: Vec<&str> = match placeholder.strip_prefix('+') {
        Some(_) => key.trim_start_matches('/').split('/').collect(),
        None => vec![key],
    };
    !key.is_empty()
        && segments
            .iter()
            .all(|segment| !matches!(*segment, "." | ".."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::fill;

    #[test]
    fn placeholders_are_found_and_filled_as_one_segment() {
        assert_eq!(placeholders("users/{login}/repos"), ["login"]);
        assert_eq!(placeholders("crates/{name}/{version}"), ["name", "version"]);
        assert!(placeholders("users").is_empty());
        assert_eq!(
            fill("users/{login}/repos", "login", "octocat"),
            "users/octocat/repos"
        );
        assert_eq!(
            fill("users/{login}", "login", "a/b?c d"),
            "users/a%2Fb%3Fc%20d"
        );
        assert!(!is_path_key("login", ".."));
        assert!(!is_path_key("login", "."));
        assert!(!is_path_key("login", ""));
        assert!(is_path_key("login", "a.b"));
        // `{+link}`: a path, every segment encoded, no segment "up".
        let link = "/api/v1/crates/serde/1.0.0 beta/dependencies";
        assert!(is_path_key("+link", link));
        assert!(!is_path_key("+link", "/api/../admin"));
        assert_eq!(
            fill("{+link}", "+link", link),
            "/api/v1/crates/serde/1.0.0%20beta/dependencies"
        );
    }
}
