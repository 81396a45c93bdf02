//! Buffers of messages that span packets, reused: a stream direction holds
//! one only while a message is incomplete, so memory follows the messages
//! in flight, not the number of connections (one pool per thread; each
//! reading thread frames its own streams).

use std::cell::RefCell;

/// Buffers kept for reuse, and the largest capacity worth keeping.
const KEEP: usize = 256;
const KEEP_CAPACITY: usize = 1 << 20;

thread_local! {
    static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

pub(super) fn take() -> Vec<u8> {
    FREE.with(|f| f.borrow_mut().pop()).unwrap_or_default()
}

pub(super) fn give(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > KEEP_CAPACITY {
        return;
    }
    buf.clear();
    FREE.with(|f| {
        let mut f = f.borrow_mut();
        if f.len() < KEEP {
            f.push(buf);
        }
    });
}
