//! TEMPORARY accessors until the parser branch lands (lead removes this file
//! at merge time).
use super::message::{Extension, GossipEntry, Message};

impl<'buf> Message<'buf> {
    pub fn gossip(&self) -> impl Iterator<Item = GossipEntry<'buf>> + '_ {
        std::iter::empty()
    }
    pub fn extensions(&self) -> impl Iterator<Item = Extension<'buf>> + '_ {
        std::iter::empty()
    }
}
