//! Which web pages may drive the relay.
//!
//! A WebSocket is not covered by the browser's same-origin policy: any page
//! the user opens could connect to `ws://127.0.0.1:9001/ws` and step or reset
//! the session. Browsers always send an `Origin` header on a WebSocket
//! upgrade, so the relay accepts only pages it knows: its own origin, the
//! trunk dev server's, and any the user allows. Command-line clients send no
//! `Origin` and are let in: they are not a web page acting for someone else.
//!
//! The Origin check alone does not stop **DNS rebinding**: a page at
//! `http://attacker.example:9001/` whose name the attacker then points at
//! 127.0.0.1 is, to the browser, on the relay's own origin, so it may fetch
//! the downloads and open the WebSocket with an Origin the relay would not
//! know to refuse. Its requests still carry `Host: attacker.example:9001`,
//! so every request's Host must name the relay: its bind address, a
//! loopback address, `localhost`, or the host of an `--allow-origin`. An IP
//! address cannot be rebound, so a relay bound to every address
//! (`0.0.0.0`) answers to any address, but still to no other name.

use std::net::{IpAddr, SocketAddr};

/// Where trunk serves the visualiser by default (Trunk.toml).
pub const TRUNK_PORT: u16 = 8080;

#[derive(Debug, Clone)]
pub struct OriginPolicy {
    allowed: Vec<String>,
    /// The names (not addresses) a Host header may give, lowercase.
    names: Vec<String>,
    /// The address the relay is bound to.
    bound: IpAddr,
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
        let mut names = vec!["localhost".to_owned()];
        names.extend(extra.iter().filter_map(|o| host_of_origin(o)));
        OriginPolicy {
            allowed,
            names,
            bound: relay.ip(),
        }
    }

    /// Whether a request carrying this `Host` header is meant for this
    /// relay. A request without one (HTTP/1.0 tools) is not a browser's,
    /// and is let in.
    pub fn allows_host(&self, host: Option<&str>) -> bool {
        let Some(host) = host else {
            return true;
        };
        let name = host_name(host);
        if let Ok(ip) = name.parse::<IpAddr>() {
            return ip.is_loopback() || ip == self.bound || self.bound.is_unspecified();
        }
        self.names.contains(&name)
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

/// The host of a Host header (`name:port`, `[v6]:port`, or without a
/// port), lowercase, without brackets or a trailing dot.
fn host_name(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host
            .rsplit_once(':')
            .map_or(host.as_str(), |(name, _)| name),
    };
    name.trim_end_matches('.').to_owned()
}

/// The host of an origin (`scheme://host:port`).
fn host_of_origin(origin: &str) -> Option<String> {
    let (_, rest) = origin.trim().split_once("://")?;
    let authority = rest.split('/').next()?;
    Some(host_name(authority)).filter(|h| !h.is_empty())
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

    #[test]
    fn only_the_relays_own_names_pass_the_host_check() {
        let p = policy(&["https://Class.Example.org:8443/"]);
        for ok in [
            "127.0.0.1:9001",
            "127.0.0.1",
            "localhost:9001",
            "LOCALHOST.:8080",
            "[::1]:9001",
            "class.example.org",
            "class.example.org:8443",
        ] {
            assert!(p.allows_host(Some(ok)), "{ok}");
        }
        assert!(p.allows_host(None), "HTTP/1.0 tools send none");
        for rebound in [
            "attacker.example:9001",
            "localhost.attacker.example",
            "127.0.0.1.nip.io:9001",
            "192.168.1.5:9001",
            "",
        ] {
            assert!(!p.allows_host(Some(rebound)), "{rebound}");
        }
        // Bound to every address, any address is the relay's, still no other name.
        let any = OriginPolicy::new("0.0.0.0:9001".parse().expect("addr"), &[]);
        assert!(any.allows_host(Some("192.168.1.5:9001")));
        assert!(!any.allows_host(Some("attacker.example:9001")));
        let lan = OriginPolicy::new("192.168.1.5:9001".parse().expect("addr"), &[]);
        assert!(lan.allows_host(Some("192.168.1.5:9001")));
        assert!(!lan.allows_host(Some("192.168.1.6:9001")));
    }
}
