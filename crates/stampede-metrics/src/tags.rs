//! Tag sets: sorted `(key, value)` pairs, interned per worker so the hot path compares ids.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHasher};
use serde::{Deserialize, Serialize};

/// An owned tag set sorted by key (one value per key), cheap to clone and share across threads.
/// Serialized as a map.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TagSet(pub Arc<[(Arc<str>, Arc<str>)]>);

impl Serialize for TagSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for TagSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TagSet, D::Error> {
        let map = std::collections::BTreeMap::<String, String>::deserialize(d)?;
        Ok(TagSet::from_pairs(
            map.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ))
    }
}

impl TagSet {
    /// A set of `pairs`; a later value of a key replaces an earlier one.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> TagSet {
        let mut v: Vec<(&str, &str)> = Vec::new();
        for (k, val) in pairs {
            match v.iter_mut().find(|(key, _)| *key == k) {
                Some(slot) => slot.1 = val,
                None => v.push((k, val)),
            }
        }
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        TagSet(
            v.into_iter()
                .map(|(k, v)| (Arc::from(k), Arc::from(v)))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| &**k == key).map(|(_, v)| &**v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Whether every `(key, value)` of `selector` is in this set.
    pub fn matches(&self, selector: &[(String, String)]) -> bool {
        selector
            .iter()
            .all(|(k, v)| self.get(k) == Some(v.as_str()))
    }
}

/// A worker-local id of an interned [`TagSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagSetId(pub u32);

#[derive(Default)]
pub(crate) struct Interner {
    by_hash: FxHashMap<u64, Vec<TagSetId>>,
    sets: Vec<TagSet>,
}

impl Interner {
    /// Interns `pairs` (sorted here, in place). Allocates only the first time a set is seen.
    pub(crate) fn intern(&mut self, pairs: &mut [(&str, &str)]) -> TagSetId {
        pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut h = FxHasher::default();
        for (k, v) in pairs.iter() {
            k.hash(&mut h);
            v.hash(&mut h);
        }
        let hash = h.finish();
        let candidates = self.by_hash.entry(hash).or_default();
        for id in candidates.iter() {
            let set = &self.sets[id.0 as usize];
            if set.0.len() == pairs.len()
                && set
                    .0
                    .iter()
                    .zip(pairs.iter())
                    .all(|((k, v), (k2, v2))| &**k == *k2 && &**v == *v2)
            {
                return *id;
            }
        }
        let id = TagSetId(self.sets.len() as u32);
        self.sets.push(TagSet(
            pairs
                .iter()
                .map(|(k, v)| (Arc::from(*k), Arc::from(*v)))
                .collect(),
        ));
        candidates.push(id);
        id
    }

    pub(crate) fn get(&self, id: TagSetId) -> &TagSet {
        &self.sets[id.0 as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.sets.len()
    }

    /// Forgets every set (the sets handed out stay valid: they are reference-counted).
    pub(crate) fn clear(&mut self) {
        self.by_hash.clear();
        self.sets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_order_independent() {
        let mut i = Interner::default();
        let a = i.intern(&mut [("method", "GET"), ("status", "200")]);
        let b = i.intern(&mut [("status", "200"), ("method", "GET")]);
        let c = i.intern(&mut [("status", "404"), ("method", "GET")]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(i.get(c).get("status"), Some("404"));
        assert!(i.get(a).matches(&[("status".into(), "200".into())]));
    }

    #[test]
    fn tag_sets_serialize_as_maps() {
        let set = TagSet::from_pairs([("status", "200"), ("method", "GET"), ("status", "404")]);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"{"method":"GET","status":"404"}"#);
        assert_eq!(serde_json::from_str::<TagSet>(&json).unwrap(), set);
    }
}
