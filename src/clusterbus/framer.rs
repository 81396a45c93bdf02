//! The framer: cuts a reassembled byte stream into messages (to be written).
