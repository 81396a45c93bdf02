//! `dump`'s form of a message whose header was cut (a short snaplen kept
//! only its first bytes): what those bytes hold, and nothing past them.

use crate::clusterbus::Message;
use serde_json::{Map, Value, json};
use std::fmt::Write as _;

/// The text of a header-cut message after its type (`msg.head_only`).
pub(super) fn head_text(l: &mut String, msg: &Message<'_>) -> std::fmt::Result {
    let Some(h) = &msg.header else {
        return write!(l, " header-cut totlen={}", msg.totlen);
    };
    let sender = h.sender.short();
    write!(
        l,
        " header-cut {sender} cur={} cfg={} off={} totlen={} count={}",
        h.current_epoch, h.config_epoch, h.offset, msg.totlen, h.count
    )?;
    if h.port != 0 {
        write!(l, " port={}", h.port)?;
    }
    Ok(())
}

/// The JSON fields of a header-cut message (`msg.head_only`).
pub(super) fn head_json(m: &mut Map<String, Value>, msg: &Message<'_>) {
    m.insert("header_cut".into(), json!(true));
    let Some(h) = &msg.header else {
        m.insert("sender".into(), Value::Null);
        return;
    };
    m.insert("sender".into(), json!(h.sender.as_str()));
    m.insert("ver".into(), json!(h.ver));
    m.insert("current_epoch".into(), json!(h.current_epoch));
    m.insert("config_epoch".into(), json!(h.config_epoch));
    m.insert("offset".into(), json!(h.offset));
    m.insert("count".into(), json!(h.count));
    if h.port != 0 {
        m.insert("port".into(), json!(h.port));
    }
}
