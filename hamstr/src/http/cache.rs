//! Conditional requests: the last answer to each URL that came with an `ETag` or a
//! `Last-Modified`, so the next request for it can ask "only if it changed" and a `304 Not
//! Modified` is answered from here. Bounded by bytes; the oldest entries go first.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Mutex, PoisonError},
};

use bytes::Bytes;
use reqwest::header::{
    ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};

#[derive(Debug)]
pub(crate) struct Cache {
    /// The most bytes of bodies kept; 0 turns conditional requests off.
    budget: usize,
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
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

    /// Keeps a successful answer that has validators; forgets the URL's old answer otherwise.
    pub(crate) fn store(&self, url: &str, headers: &HeaderMap, body: &Bytes) {
        if self.budget == 0 {
            return;
        }
        let etag = headers.get(ETAG).cloned();
        let last_modified = headers.get(LAST_MODIFIED).cloned();
        let mut entries = self.entries();
        if let Some(old) = entries.by_url.remove(url) {
            entries.bytes -= old.body.len();
        }
        // One body may take a quarter of the budget, so a few large pages cannot evict all.
        if (etag.is_none() && last_modified.is_none()) || body.len() > self.budget / 4 {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with_etag(tag: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ETAG, HeaderValue::from_static(tag));
        headers
    }

    #[test]
    fn answers_with_validators_are_kept_within_the_budget() {
        let cache = Cache::new(40);
        let body = Bytes::from_static(b"0123456789");
        cache.store("a", &with_etag("\"a\""), &body);
        assert_eq!(cache.validators("a").get(IF_NONE_MATCH).unwrap(), "\"a\"");
        cache.store("b", &HeaderMap::new(), &body);
        assert!(cache.validators("b").is_empty(), "no validators, not kept");
        for url in ["c", "d", "e", "f"] {
            cache.store(url, &with_etag("\"x\""), &body);
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
}
