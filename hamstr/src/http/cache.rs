//! Conditional requests: the last answer to each URL that came with an `ETag` or a
//! `Last-Modified`, so the next request for it can ask "only if it changed" and a `304 Not
//! Modified` is answered from here. Bounded by bytes; the oldest entries go first.
//!
//! A body is kept only for a URL asked for before: a URL polled again is worth its copy, while
//! the pages of a one-off walk (thousands, each read once) would fill the budget with copies
//! no one asks for again. The URLs seen once are remembered as hashes, a bounded number of them.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    hash::{BuildHasher, RandomState},
    sync::{Mutex, PoisonError},
};

use bytes::Bytes;
use reqwest::header::{
    ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};

/// How many URLs seen once are remembered (8 bytes each, twice): a poll of up to this many pages
/// is kept from its second round on.
const SEEN_URLS: usize = 8192;

#[derive(Debug)]
pub(crate) struct Cache {
    /// The most bytes of bodies kept; 0 turns conditional requests off.
    budget: usize,
    hasher: RandomState,
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    /// Hashes of the URLs answered once with validators and not kept, oldest first.
    seen: HashSet<u64>,
    seen_order: VecDeque<u64>,
    by_url: HashMap<String, Entry>,
    /// URLs from the oldest stored to the newest (a URL stored again appears twice; the
    /// stale position is skipped on eviction).
    order: VecDeque<(String, u64)>,
    bytes: usize,
    generation: u64,
}

#[derive(Debug, Clone)]
struct Entry {
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
    headers: HeaderMap,
    body: Bytes,
    generation: u64,
}

impl Cache {
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            budget,
            hasher: RandomState::new(),
            entries: Mutex::new(Entries::default()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The validators to send for `url`: `If-None-Match` and `If-Modified-Since`.
    pub(crate) fn validators(&self, url: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if self.budget == 0 {
            return headers;
        }
        if let Some(entry) = self.entries().by_url.get(url) {
            if let Some(etag) = &entry.etag {
                headers.insert(IF_NONE_MATCH, etag.clone());
            }
            if let Some(last_modified) = &entry.last_modified {
                headers.insert(IF_MODIFIED_SINCE, last_modified.clone());
            }
        }
        headers
    }

    /// The stored answer for `url`, for a 304: its headers updated by the 304's, and its body.
    pub(crate) fn not_modified(&self, url: &str, fresh: &HeaderMap) -> Option<(HeaderMap, Bytes)> {
        let entries = self.entries();
        let entry = entries.by_url.get(url)?;
        let mut headers = entry.headers.clone();
        for (name, value) in fresh {
            headers.insert(name, value.clone());
        }
        Some((headers, entry.body.clone()))
    }

    /// Keeps a successful answer that has validators, if its URL was asked for before; forgets
    /// the URL's old answer otherwise.
    pub(crate) fn store(&self, url: &str, headers: &HeaderMap, body: &Bytes) {
        if self.budget == 0 {
            return;
        }
        let etag = headers.get(ETAG).cloned();
        let last_modified = headers.get(LAST_MODIFIED).cloned();
        let mut entries = self.entries();
        let was_kept = match entries.by_url.remove(url) {
            Some(old) => {
                entries.bytes -= old.body.len();
                true
            }
            None => false,
        };
        // One body may take a quarter of the budget, so a few large pages cannot evict all.
        if (etag.is_none() && last_modified.is_none()) || body.len() > self.budget / 4 {
            return;
        }
        if !was_kept && !entries.seen_before(self.hasher.hash_one(url)) {
            return;
        }
        entries.generation += 1;
        let generation = entries.generation;
        entries.bytes += body.len();
        entries.order.push_back((url.to_owned(), generation));
        entries.by_url.insert(
            url.to_owned(),
            Entry {
                etag,
                last_modified,
                headers: headers.clone(),
                body: body.clone(),
                generation,
            },
        );
        while entries.bytes > self.budget {
            let Some((oldest, generation)) = entries.order.pop_front() else {
                break;
            };
            if entries
                .by_url
                .get(&oldest)
                .is_some_and(|entry| entry.generation == generation)
                && let Some(gone) = entries.by_url.remove(&oldest)
            {
                entries.bytes -= gone.body.len();
            }
        }
        // Positions of replaced entries pile up in a cache that keeps the same URLs: drop them.
        if entries.order.len() > 2 * entries.by_url.len() + 64 {
            let Entries { by_url, order, .. } = &mut *entries;
            order.retain(|(url, generation)| {
                by_url
                    .get(url)
                    .is_some_and(|entry| entry.generation == *generation)
            });
        }
    }
}

impl Entries {
    /// Whether the URL of hash `url` was seen before (and is no longer counted as seen once);
    /// if not, it is now.
    fn seen_before(&mut self, url: u64) -> bool {
        if self.seen.remove(&url) {
            // Its place in `seen_order` stays, and is skipped when it comes up.
            return true;
        }
        if self.seen.len() >= SEEN_URLS {
            while let Some(oldest) = self.seen_order.pop_front() {
                if self.seen.remove(&oldest) {
                    break;
                }
            }
        }
        self.seen.insert(url);
        self.seen_order.push_back(url);
        if self.seen_order.len() > 2 * SEEN_URLS {
            let seen = &self.seen;
            self.seen_order.retain(|url| seen.contains(url));
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_etag(tag: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ETAG, HeaderValue::from_static(tag));
        headers
    }

    /// Stores an answer for `url` twice: the first time it is only seen.
    fn store_twice(cache: &Cache, url: &str, headers: &HeaderMap, body: &Bytes) {
        cache.store(url, headers, body);
        cache.store(url, headers, body);
    }

    #[test]
    fn answers_with_validators_are_kept_within_the_budget() {
        let cache = Cache::new(40);
        let body = Bytes::from_static(b"0123456789");
        store_twice(&cache, "a", &with_etag("\"a\""), &body);
        assert_eq!(cache.validators("a").get(IF_NONE_MATCH).unwrap(), "\"a\"");
        store_twice(&cache, "b", &HeaderMap::new(), &body);
        assert!(cache.validators("b").is_empty(), "no validators, not kept");
        for url in ["c", "d", "e", "f"] {
            store_twice(&cache, url, &with_etag("\"x\""), &body);
        }
        assert!(cache.validators("a").is_empty(), "the oldest went first");
        assert!(!cache.validators("e").is_empty());
        let (_, kept) = cache.not_modified("e", &HeaderMap::new()).unwrap();
        assert_eq!(kept, body);
        cache.store("e", &with_etag("\"x\""), &Bytes::from(vec![b'x'; 11]));
        assert!(
            cache.validators("e").is_empty(),
            "too large for a quarter of the budget"
        );
        assert!(Cache::new(0).validators("c").is_empty());
    }

    #[test]
    fn a_url_read_once_is_not_kept_and_the_urls_seen_once_are_bounded() {
        let cache = Cache::new(1 << 20);
        let body = Bytes::from_static(b"0123456789");
        cache.store("once", &with_etag("\"1\""), &body);
        assert!(cache.validators("once").is_empty(), "seen once: no copy");
        cache.store("once", &with_etag("\"1\""), &body);
        assert!(
            !cache.validators("once").is_empty(),
            "asked for again: kept"
        );
        // A walk of many pages, each read once: nothing kept, and a bounded memory of them.
        for page in 0..3 * SEEN_URLS {
            cache.store(&format!("page={page}"), &with_etag("\"p\""), &body);
        }
        let entries = cache.entries();
        assert_eq!(entries.by_url.len(), 1);
        assert!(entries.seen.len() <= SEEN_URLS);
        assert!(entries.seen_order.len() <= 2 * SEEN_URLS + 1);
        drop(entries);
        // The most recent of them are still known: a second round of those pages is kept.
        let last = format!("page={}", 3 * SEEN_URLS - 1);
        cache.store(&last, &with_etag("\"p\""), &body);
        assert!(!cache.validators(&last).is_empty());
    }
}
