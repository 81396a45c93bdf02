//! Typed values as the schema's text: a node address as `ip:port@cport`
//! (brackets around IPv6), slot ranges as `0-5460,5462` (`-` when none),
//! and the key an address is answered under, `ip:cport`. The model keeps
//! the values; these say how they read.

use crate::clusterbus::types::format_slot_ranges;
use crate::events::{NodeAddr, SlotRanges};
use serde::Serializer;
use std::fmt::Display;

/// Serialises a value as its text (`serialize_with`).
pub fn as_text<T: Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Serialises an optional value as its text, or `null`.
pub fn as_text_or_null<T: Display, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => s.collect_str(x),
        None => s.serialize_none(),
    }
}

/// Serialises slot ranges as `CLUSTER NODES` writes them.
pub fn slots_as_text<S: Serializer>(v: &SlotRanges, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_slot_ranges(v))
}

/// `ip:cport` (no brackets): the key an address is answered under, whatever
/// data port was announced with it.
pub fn bus_key(a: &NodeAddr) -> String {
    format!("{}:{}", a.ip, a.cport)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Row {
        #[serde(serialize_with = "as_text")]
        address: NodeAddr,
        #[serde(serialize_with = "as_text_or_null")]
        maybe: Option<NodeAddr>,
        #[serde(serialize_with = "slots_as_text")]
        slots: SlotRanges,
    }

    #[test]
    fn addresses_and_slots_read_as_the_schema_writes_them() {
        let v6 = NodeAddr { ip: "::1".into(), port: 7000, cport: 17000, pport: 0 };
        let row = Row { address: v6.clone(), maybe: None, slots: vec![(0, 5460), (5462, 5462)] };
        assert_eq!(
            serde_json::to_string(&row).unwrap(),
            r#"{"address":"[::1]:7000@17000","maybe":null,"slots":"0-5460,5462"}"#
        );
        assert_eq!(bus_key(&v6), "::1:17000");
        let none = Row { address: NodeAddr::default(), maybe: Some(v6), slots: vec![] };
        assert_eq!(
            serde_json::to_string(&none).unwrap(),
            r#"{"address":":0@0","maybe":"[::1]:7000@17000","slots":"-"}"#
        );
    }
}
