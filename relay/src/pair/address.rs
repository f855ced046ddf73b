//! Addresses shown the way the chapter's Python prints them: the tuple
//! `socket.getsockname()` returns, `('127.0.0.1', 3000)`, or for IPv6
//! `('::1', 3000, 0, 0)` (flow information and scope id follow the port).

use std::{
    fmt,
    net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6},
};

/// Displays a socket address as Python's `repr` of its address tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PyAddr(pub SocketAddr);

impl fmt::Display for PyAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            SocketAddr::V4(a) => write!(f, "('{}', {})", a.ip(), a.port()),
            SocketAddr::V6(a) => write!(
                f,
                "('{}', {}, {}, {})",
                a.ip(),
                a.port(),
                a.flowinfo(),
                a.scope_id()
            ),
        }
    }
}

impl PyAddr {
    /// Reads back what [`PyAddr`] displays: tests and tools read the
    /// programs' printed lines with it.
    pub fn parse(text: &str) -> Option<SocketAddr> {
        let inner = text.strip_prefix("('")?.strip_suffix(')')?;
        let (ip, rest) = inner.split_once("', ")?;
        let mut numbers = rest.split(", ");
        let port = numbers.next()?.parse().ok()?;
        let addr = match ip.parse().ok()? {
            IpAddr::V4(ip) => SocketAddr::V4(SocketAddrV4::new(ip, port)),
            IpAddr::V6(ip) => {
                let flowinfo = numbers.next()?.parse().ok()?;
                let scope_id = numbers.next()?.parse().ok()?;
                SocketAddr::V6(SocketAddrV6::new(ip, port, flowinfo, scope_id))
            }
        };
        numbers.next().is_none().then_some(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::PyAddr;
    use std::net::SocketAddr;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("a literal address")
    }

    #[test]
    fn ipv4_is_a_pair() {
        assert_eq!(
            PyAddr(addr("127.0.0.1:3000")).to_string(),
            "('127.0.0.1', 3000)"
        );
    }

    #[test]
    fn ipv6_is_a_four_tuple() {
        assert_eq!(
            PyAddr(addr("[::1]:3000")).to_string(),
            "('::1', 3000, 0, 0)"
        );
        assert_eq!(
            PyAddr(addr("[fe80::1%2]:80")).to_string(),
            "('fe80::1', 80, 0, 2)"
        );
    }

    #[test]
    fn what_is_shown_reads_back() {
        for text in ["127.0.0.1:54948", "[::1]:3000", "[fe80::1%2]:80"] {
            let a = addr(text);
            assert_eq!(PyAddr::parse(&PyAddr(a).to_string()), Some(a));
        }
        assert_eq!(PyAddr::parse("127.0.0.1:3000"), None);
        assert_eq!(PyAddr::parse("('127.0.0.1', 3000, 0, 0)"), None);
    }
}
