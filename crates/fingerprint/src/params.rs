//! The attribute map of a match: a small vector sorted by key, serialised as
//! a JSON object (cheaper to build per banner than a `BTreeMap`).

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Attribute name → value, sorted by name, names unique.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(Arc<str>, Arc<str>)>);

impl Params {
    /// Build from pairs; later duplicates replace earlier ones.
    pub fn from_pairs(mut pairs: Vec<(Arc<str>, Arc<str>)>) -> Params {
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        // Keep the last of equal keys.
        let mut out: Vec<(Arc<str>, Arc<str>)> = Vec::with_capacity(pairs.len());
        for p in pairs {
            match out.last_mut() {
                Some(last) if last.0 == p.0 => *last = p,
                _ => out.push(p),
            }
        }
        Params(out)
    }

    /// Build from pairs already sorted by unique key.
    pub(crate) fn from_sorted(pairs: Vec<(Arc<str>, Arc<str>)>) -> Params {
        debug_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0));
        Params(pairs)
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(key))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.find(key).ok().map(|i| &*self.0[i].1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Set `key` to `value`.
    pub fn insert(&mut self, key: Arc<str>, value: Arc<str>) {
        match self.find(&key) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    /// Keep only entries for which `f` is true.
    pub fn retain(&mut self, mut f: impl FnMut(&str, &str) -> bool) {
        self.0.retain(|(k, v)| f(k, v));
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Params {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(&**k, &**v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Params {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = BTreeMap::<String, String>::deserialize(d)?;
        Ok(Params(
            m.into_iter()
                .map(|(k, v)| (Arc::from(k), Arc::from(v)))
                .collect(),
        ))
    }
}
