//! [`TableAccum`]: a sparse per-synapse value that must survive a checkpoint (a rule's
//! pending `dw`, an eligibility), kept in the synapse table so that it is saved with the
//! table and, in a sharded network, gathered and split by row with it.

use crate::net::plastic::SparseAccum;
use crate::net::synapse::SynapseTable;

/// A per-synapse value set on a few synapses at a time, stored in two of the table's
/// arrays: the value, and 1 where it is set (so that a value of exactly 0 that is set is
/// told from one that is not). The component keeps the list of set entries; after a
/// checkpoint is loaded it is rebuilt from the table ([`TableAccum::reloaded`]), ascending
/// (the users apply each entry on its own, so the order does not change a bit).
#[derive(Clone, Debug)]
pub struct TableAccum {
    value: usize,
    set: usize,
    list: Vec<u32>,
    stale: bool,
}

impl TableAccum {
    /// On `t`, whose add-on declared (`Rule::synapse_var`) the value array
    /// `name` and the array `set_name`, both 0 at the start.
    ///
    /// # Panics
    /// If the table lacks them (the rule did not declare them).
    pub fn new(t: &SynapseTable, name: &str, set_name: &str) -> Self {
        let find = |n: &str| t.var(n).unwrap_or_else(|| panic!("projection `{}`: the rule did not declare its per-synapse array `{n}`", t.name));
        TableAccum { value: find(name), set: find(set_name), list: Vec::new(), stale: false }
    }

    /// Marks the list to be rebuilt from the table before its next use (call from the
    /// component's `load_state`).
    pub fn reloaded(&mut self) {
        self.stale = true;
    }

    fn sync(&mut self, t: &SynapseTable) {
        if std::mem::take(&mut self.stale) {
            self.list.clear();
            self.list.extend(t.vars[self.set].iter().enumerate().filter(|(_, f)| **f != 0.0).map(|(k, _)| k as u32));
        }
    }

    /// Calls `f(k, value, weights)` for every set entry, then unsets them all.
    pub fn drain(&mut self, t: &mut SynapseTable, mut f: impl FnMut(usize, f64, &mut [f64])) {
        self.sync(t);
        let (value, set) = (self.value, self.set);
        for &k in &self.list {
            let k = k as usize;
            let v = std::mem::take(&mut t.vars[value][k]);
            t.vars[set][k] = 0.0;
            f(k, v, &mut t.weight);
        }
        self.list.clear();
    }

    /// Calls `f(weight, value)` with the weight of every set entry, leaving them set.
    pub fn apply(&mut self, t: &mut SynapseTable, mut f: impl FnMut(&mut f64, f64)) {
        self.sync(t);
        let values = &t.vars[self.value];
        for &k in &self.list {
            f(&mut t.weight[k as usize], values[k as usize]);
        }
    }

    /// Unsets every entry, then sets those of `from` (in its order) to its values.
    pub fn replace(&mut self, t: &mut SynapseTable, from: &SparseAccum) {
        self.drain(t, |_, _, _| {});
        let (value, set) = (self.value, self.set);
        for (k, v) in from.iter() {
            t.vars[value][k] = v;
            t.vars[set][k] = 1.0;
            self.list.push(k as u32);
        }
    }
}
