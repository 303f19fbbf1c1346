//! Every measured figure of a run, by name, with one sample per round. The report reads medians
//! from here; the whole map is also saved as JSON in the work dir.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::stats;

/// Samples and facts of one run.
#[derive(Clone, Debug, Default)]
pub struct Results {
    samples: BTreeMap<String, Vec<f64>>,
    facts: BTreeMap<String, String>,
}

impl Results {
    /// Records one round's value of figure `key`.
    pub fn push(&mut self, key: impl Into<String>, value: f64) {
        self.samples.entry(key.into()).or_default().push(value);
    }

    /// Records a fact (a URL measured, a version, a size).
    pub fn fact(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.facts.insert(key.into(), value.into());
    }

    /// The fact recorded under `key`.
    #[must_use]
    pub fn get_fact(&self, key: &str) -> Option<&str> {
        self.facts.get(key).map(String::as_str)
    }

    /// Every sample of `key`, in round order.
    #[must_use]
    pub fn samples(&self, key: &str) -> &[f64] {
        self.samples.get(key).map_or(&[], Vec::as_slice)
    }

    /// The median over rounds of `key`.
    #[must_use]
    pub fn median(&self, key: &str) -> Option<f64> {
        stats::median(self.samples(key))
    }

    /// The (min, max) over rounds of `key`.
    #[must_use]
    pub fn range(&self, key: &str) -> Option<(f64, f64)> {
        stats::range(self.samples(key))
    }

    /// Every fact, by name.
    pub fn all_facts(&self) -> impl Iterator<Item = (&String, &String)> {
        self.facts.iter()
    }

    /// Every figure and its samples, by name.
    pub fn all(&self) -> impl Iterator<Item = (&String, &Vec<f64>)> {
        self.samples.iter()
    }

    /// Writes everything as JSON.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let samples: serde_json::Map<String, Value> = self
            .samples
            .iter()
            .map(|(k, v)| {
                let median = stats::median(v);
                (k.clone(), json!({"median": median, "rounds": v}))
            })
            .collect();
        let doc = json!({"facts": self.facts, "figures": samples});
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))
    }
}
