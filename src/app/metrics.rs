//! The Prometheus endpoint of `watch --metrics`: a tiny HTTP server
//! answering every request with the latest exposition (Prometheus scrapes
//! `GET /metrics`); the watch loop replaces the text as it learns more,
//! and the interfaces' part as they go down and come back (while nothing
//! is read).

use meetgraph::error::Error;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

/// The latest exposition (the analysis' part, the interfaces' part),
/// shared with the server's thread.
#[derive(Clone, Default)]
pub struct Exposition(Arc<Mutex<(String, String)>>);

impl Exposition {
    /// Serves the exposition on `addr` from a thread of its own.
    pub fn serve(&self, addr: &str) -> Result<(), Error> {
        let listener =
            std::net::TcpListener::bind(addr).map_err(|source| Error::Metrics { addr: addr.to_string(), source })?;
        let text = self.0.clone();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                let mut buf = [0u8; 2048];
                let _ = conn.read(&mut buf);
                let body = text.lock().map(|t| format!("{}{}", t.0, t.1)).unwrap_or_default();
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Ok(())
    }

    /// The analysis' exposition served from now on.
    pub fn set(&self, text: String) {
        if let Ok(mut m) = self.0.lock() {
            m.0 = text;
        }
    }

    /// The interfaces' exposition served from now on.
    pub fn set_interfaces(&self, text: String) {
        if let Ok(mut m) = self.0.lock() {
            m.1 = text;
        }
    }
}
