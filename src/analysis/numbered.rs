//! Values numbered in the order first met, so that the tables asked
//! about every message key and fill their entries by small numbers.
//! Imports nothing of the crate.

use rustc_hash::FxHashMap as HashMap;
use std::hash::Hash;

/// Values numbered in the order first met (node ids and addresses in
/// gossip). The tables asked about every gossip entry (per learner) are
/// keyed and filled by numbers: small entries that stay in cache where entries
/// keyed by 40-byte ids, holding whole addresses, did not (at 100 nodes
/// they were most of the analysis' time).
#[derive(Clone, Debug)]
pub(super) struct Numbered<T> {
    number: HashMap<T, u32>,
    list: Vec<T>,
}

impl<T> Default for Numbered<T> {
    fn default() -> Self {
        Numbered { number: HashMap::default(), list: Vec::new() }
    }
}

impl<T: Hash + Eq + Clone> Numbered<T> {
    pub fn number(&mut self, x: &T) -> u32 {
        if let Some(&i) = self.number.get(x) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(x.clone());
        self.number.insert(x.clone(), i);
        i
    }

    /// `x`'s number, if it has one.
    pub fn get(&self, x: &T) -> Option<u32> {
        self.number.get(x).copied()
    }

    pub fn of(&self, i: u32) -> &T {
        &self.list[i as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_keeps_the_number_it_was_first_given() {
        let mut n = Numbered::default();
        assert_eq!((n.number(&"a"), n.number(&"b"), n.number(&"a")), (0, 1, 0));
        assert_eq!((*n.of(0), *n.of(1)), ("a", "b"));
        assert_eq!((n.get(&"b"), n.get(&"c")), (Some(1), None));
    }
}
