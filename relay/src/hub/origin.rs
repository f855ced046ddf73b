//! Which web pages may drive the relay.
//!
//! A WebSocket is not covered by the browser's same-origin policy: any page
//! the user opens could connect to `ws://127.0.0.1:9001/ws` and step or reset
//! the session. Browsers always send an `Origin` header on a WebSocket
//! upgrade, so the relay accepts only pages it knows: its own origin, the
//! trunk dev server's, and any the user allows. Command-line clients send no
//! `Origin` and are let in: they are not a web page acting for someone else.

use std::net::SocketAddr;

/// Where trunk serves the visualiser by default (Trunk.toml).
pub const TRUNK_PORT: u16 = 8080;

#[derive(Debug, Clone)]
pub struct OriginPolicy {
    allowed: Vec<String>,
}

impl OriginPolicy {
    /// The relay's own origin at `relay`, trunk's on this machine, and `extra`.
    pub fn new(relay: SocketAddr, extra: &[String]) -> Self {
        let mut allowed = Vec::new();
        for port in [relay.port(), TRUNK_PORT] {
            allowed.push(format!("http://127.0.0.1:{port}"));
            allowed.push(format!("http://localhost:{port}"));
            allowed.push(format!("http://[::1]:{port}"));
        }
        if !relay.ip().is_loopback() && !relay.ip().is_unspecified() {
            allowed.push(format!("http://{relay}"));
        }
        allowed.extend(extra.iter().map(|o| normalize(o)));
        OriginPolicy { allowed }
    }

    /// Whether a WebSocket upgrade carrying this `Origin` header may proceed.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        match origin {
            None => true,
            Some(origin) => {
                let origin = normalize(origin);
                self.allowed.contains(&origin)
            }
        }
    }
}

/// Origins compare as scheme://host:port, case-insensitively, without a trailing slash.
fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(extra: &[&str]) -> OriginPolicy {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        OriginPolicy::new("127.0.0.1:9001".parse().expect("addr"), &extra)
    }

    #[test]
    fn own_and_trunk_origins_are_allowed() {
        let p = policy(&[]);
        assert!(p.allows(Some("http://127.0.0.1:9001")));
        assert!(p.allows(Some("http://localhost:8080")));
        assert!(p.allows(Some("http://127.0.0.1:8080/")));
        assert!(p.allows(None), "command-line clients send no Origin");
    }

    #[test]
    fn foreign_origins_are_refused_unless_allowed() {
        let p = policy(&[]);
        assert!(!p.allows(Some("https://evil.example")));
        assert!(!p.allows(Some("http://127.0.0.1:8081")));
        assert!(!p.allows(Some("null")));
        let p = policy(&["https://class.example.org/"]);
        assert!(p.allows(Some("https://class.example.org")));
    }
}
