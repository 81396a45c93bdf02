//! The story: a few sentences, root cause first, in parts that say what
//! each sentence is (the verdicts write it; the report, the HTML and
//! `watch` read its parts). Serialised as the list of its sentences, in
//! reading order.

use serde::{Serialize, Serializer};

/// The story of an analysis, part by part, in reading order.
#[derive(Clone, Debug, Default)]
pub struct Story {
    /// How many nodes were seen, and the clusters before any merge.
    pub overview: String,
    /// One per merge, in time order.
    pub merges: Vec<MergeStory>,
    /// `ID CONFLICT: …`, one per id claimed by two live instances.
    pub id_conflicts: Vec<String>,
    /// `ENCRYPTED: …`: pairs that began to talk, bursts after quiet.
    pub encrypted: Vec<String>,
    /// Without a merge: each `NEAR MISS` (an address meaning two nodes) and
    /// `ADDRESS REUSE`.
    pub near_misses: Vec<String>,
    /// Without a merge: why not (nothing readable, an incomplete verdict,
    /// one cluster, clusters that never met, what these servers do with a
    /// near miss).
    pub no_merge: Option<String>,
    /// `Damage: …`: masters demoted, slots that changed owner.
    pub damage: Option<String>,
    /// `FAIL: …`, `FAILOVER: …`, and a failure nobody replaced.
    pub failures: Vec<String>,
}

/// One merge in the story.
#[derive(Clone, Debug)]
pub struct MergeStory {
    /// `MERGE at …: A and B became one cluster.`
    pub headline: String,
    /// The step that fused the clusters, as a sentence (printed after
    /// `Root cause: `).
    pub root_cause: Option<String>,
}

/// One sentence as the story tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sentence {
    pub text: String,
    /// A verdict (a merge, its root cause, a near miss, an id conflict,
    /// the damage): what a reader must not miss.
    pub verdict: bool,
}

impl Story {
    /// Every sentence, in reading order.
    pub fn sentences(&self) -> Vec<Sentence> {
        let plain = |t: &String| Sentence { text: t.clone(), verdict: false };
        let verdict = |t: &String| Sentence { text: t.clone(), verdict: true };
        let mut out = vec![plain(&self.overview)];
        for m in &self.merges {
            out.push(verdict(&m.headline));
            out.extend(m.root_cause.iter().map(|r| verdict(&format!("Root cause: {r}"))));
        }
        out.extend(self.id_conflicts.iter().map(verdict));
        out.extend(self.encrypted.iter().map(plain));
        out.extend(self.near_misses.iter().map(verdict));
        out.extend(self.no_merge.iter().map(plain));
        out.extend(self.damage.iter().map(verdict));
        out.extend(self.failures.iter().map(plain));
        out
    }
}

impl Serialize for Story {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.sentences().iter().map(|x| &x.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_story_serialises_as_its_sentences_in_reading_order() {
        let story = Story {
            overview: "2 node(s) seen.".into(),
            merges: vec![MergeStory { headline: "MERGE at t.".into(), root_cause: Some("x gossiped y.".into()) }],
            near_misses: vec![],
            no_merge: None,
            damage: Some("Damage: 1.".into()),
            failures: vec!["FAIL: z.".into()],
            ..Story::default()
        };
        assert_eq!(
            serde_json::to_string(&story).unwrap(),
            r#"["2 node(s) seen.","MERGE at t.","Root cause: x gossiped y.","Damage: 1.","FAIL: z."]"#
        );
        let verdicts: Vec<bool> = story.sentences().iter().map(|s| s.verdict).collect();
        assert_eq!(verdicts, vec![false, true, true, true, false]);
    }
}
