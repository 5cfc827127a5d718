//! A warning when one tag key takes too many values: every distinct tag set is a series of its
//! own in InfluxDB and Prometheus, and a URL per request (`/products/1`, `/products/2`...) makes
//! dashboards and databases slow to a crawl.

use std::collections::{HashMap, HashSet};

use rustc_hash::FxHashSet;
use std::sync::Arc;

use stampede_core::LogLevel;
use stampede_metrics::TagSet;

/// Distinct values of one tag key past which the run warns.
pub(crate) const LIMIT: usize = 1000;

/// Distinct tag sets remembered; past this, only keys already being counted go on counting.
const MAX_SETS: usize = 200_000;

#[derive(Default)]
pub(crate) struct Cardinality {
    /// The tag sets' allocations seen: a worker hands out one allocation per distinct set, so
    /// most samples are recognized without hashing their tags. `pinned` keeps each alive, so
    /// its address is not reused by another set.
    seen_at: FxHashSet<usize>,
    pinned: Vec<TagSet>,
    seen: HashSet<TagSet>,
    values: HashMap<Arc<str>, HashSet<Arc<str>>>,
    warned: HashSet<Arc<str>>,
}

impl Cardinality {
    /// Counts the values of `tags`; warns once per key that passes [`LIMIT`].
    pub(crate) fn observe(&mut self, tags: &TagSet) {
        if self.pinned.len() >= MAX_SETS
            || !self.seen_at.insert(tags.0.as_ptr() as *const u8 as usize)
        {
            return;
        }
        self.pinned.push(tags.clone());
        if self.seen.contains(tags) {
            return;
        }
        self.seen.insert(tags.clone());
        for (k, v) in tags.0.iter() {
            if self.warned.contains(k) {
                continue;
            }
            let values = self.values.entry(k.clone()).or_default();
            values.insert(v.clone());
            if values.len() > LIMIT {
                self.warned.insert(k.clone());
                self.values.remove(k);
                stampede_core::log(LogLevel::Warning, &message(k), &[]);
            }
        }
    }

    /// The keys warned about so far.
    #[cfg(test)]
    pub(crate) fn warned(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.warned.iter().map(|k| &**k).collect();
        keys.sort_unstable();
        keys
    }
}

fn message(key: &str) -> String {
    let hint = match key {
        "url" | "name" => {
            " group the URLs of one endpoint with a name tag (`http.get(url, { tags: { name: 'product' } })` \
             or the http.url template literal)"
        }
        _ => " keep per-request values out of tags",
    };
    format!(
        "the tag {key:?} has taken more than {LIMIT} values: each tag set is a series of its own in the \
         outputs' databases, which grow and slow down with them;{hint}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_once_per_key_past_the_limit() {
        let mut c = Cardinality::default();
        for i in 0..=LIMIT {
            let url = format!("http://a/products/{i}");
            c.observe(&TagSet::from_pairs([
                ("url", url.as_str()),
                ("method", "GET"),
            ]));
            c.observe(&TagSet::from_pairs([
                ("url", url.as_str()),
                ("method", "GET"),
            ]));
        }
        assert_eq!(c.warned(), ["url"]);
        assert!(message("url").contains("name tag"));
    }
}
