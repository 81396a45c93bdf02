//! What the [`Analyzer`] answers about the run so far besides the
//! analysis: the nodes seen, a node's own table, its server instances.

use super::Analyzer;
use crate::analysis::model::NodeId;
use crate::analysis::node_tables::view::{self, NodesView};

impl Analyzer {
    /// Every node seen so far.
    pub fn node_ids(&self) -> Vec<NodeId> {
        self.nodes.ids().collect()
    }

    /// The view of `node` (its instance serving data or bus `port`, else
    /// its latest) so far (set `until_us` = T and `node_views` first), as
    /// server version `v` (major, minor) prints, or as the bytes tell.
    pub fn view_of(&self, node: &NodeId, port: Option<u16>, at_us: i64, v: Option<(u32, u32)>) -> Option<NodesView> {
        let (nodes, knowledge, intros, tables) = (&self.nodes, &self.knowledge, &self.intros, &self.tables);
        let src = view::ViewSources { nodes, knowledge, intros, tables };
        self.cfg.node_views.then(|| view::view(&src, node, port, at_us, v)).flatten()
    }

    /// The ports (data, bus) of each server instance of `node` seen.
    pub fn instances_of(&self, node: &NodeId) -> Vec<(u16, u16)> {
        self.tables.instances_of(node).iter().map(|i| (i.port, i.cport)).collect()
    }
}
