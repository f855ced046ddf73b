//! What can go wrong in the pair, said so that a user knows what to do.

use std::{fmt, io, net::SocketAddr};

use crate::errno;

/// The phrase that goes between "cannot" and the address, for a call's name.
fn phrase(call: &str) -> &'static str {
    match call {
        "socket" => "create a socket for",
        // Without the option's name (see `CallError::setsockopt`, which names it).
        "setsockopt" => "set an option on the socket for",
        "bind" => "bind",
        "listen" => "listen on",
        "accept" => "accept a connection on",
        "connect" => "connect to",
        "send" => "send to",
        "recv" => "receive from",
        "getsockname" => "read the local name of the socket for",
        "getpeername" => "read the peer name of the socket for",
        "close" => "close the socket for",
        "shutdown" => "shut down the connection to",
        "resolve" => "resolve",
        _ => "use",
    }
}

/// A socket call that failed: which call, aimed at which address, and why.
///
/// Its message is one line, made to be the last thing a user reads:
/// `cannot connect to 127.0.0.1:3000: connection refused (ECONNREFUSED); nothing listens there`.
/// The OS error is part of that line (with its symbolic name), so it is not
/// also given as the error's `source()`: a printer of error chains, such as
/// `anyhow`'s `{:#}`, would say it twice.
#[derive(Debug)]
pub struct CallError {
    /// The call's name: `connect`, `bind`, ... (or `resolve` for a host name).
    pub call: &'static str,
    /// For `setsockopt`, the option it set (`SO_RCVBUF`): the pair sets
    /// several, and a failure must name the one that failed.
    pub option: Option<&'static str>,
    /// The address the call was about: what was bound, connected to, or the peer.
    pub addr: String,
    pub source: io::Error,
}

impl CallError {
    pub fn new(call: &'static str, addr: impl fmt::Display, source: io::Error) -> Self {
        CallError {
            call,
            option: None,
            addr: addr.to_string(),
            source,
        }
    }

    /// A failed `setsockopt` of `option` (`SO_REUSEADDR`, `TCP_NODELAY`, ...).
    pub fn setsockopt(option: &'static str, addr: impl fmt::Display, source: io::Error) -> Self {
        CallError {
            option: Some(option),
            ..CallError::new("setsockopt", addr, source)
        }
    }

    /// What the user can do about it, where there is something obvious.
    fn hint(&self) -> Option<&'static str> {
        let code = self.source.raw_os_error()?;
        Some(match (self.call, code) {
            ("connect", libc::ECONNREFUSED) => {
                "nothing listens on that port: start `relay server` there first"
            }
            ("bind", libc::EADDRINUSE) => {
                "another socket already listens on that port: stop it, or choose another port with -p"
            }
            ("bind", libc::EACCES) => {
                "ports below 1024 need root or CAP_NET_BIND_SERVICE: choose another port with -p"
            }
            ("bind", libc::EADDRNOTAVAIL) => "that address does not belong to this machine",
            ("send" | "recv", libc::ECONNRESET | libc::EPIPE) => {
                "the peer closed the connection abruptly"
            }
            ("shutdown", libc::ENOTCONN) => "the connection had already ended",
            _ => return None,
        })
    }

    /// The one line: what failed, where, why, and the hint if there is one.
    fn message(&self) -> String {
        let what = match (self.call, self.option) {
            ("setsockopt", Some(option)) => format!("set {option} on the socket for"),
            (call, _) => phrase(call).to_owned(),
        };
        let mut line = format!(
            "cannot {what} {}: {}",
            self.addr,
            errno::describe(&self.source)
        );
        if let Some(hint) = self.hint() {
            line.push_str("; ");
            line.push_str(hint);
        }
        line
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for CallError {}

/// Why a run of the server or the client ended early.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    #[error(transparent)]
    Call(#[from] CallError),

    /// `recv` returned 0 (end of stream) before `recv_all` had all it wanted.
    #[error("{peer} closed the connection early: was expecting {expected} bytes but only received {received} bytes before the socket closed")]
    EarlyEof {
        peer: SocketAddr,
        expected: usize,
        received: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connect_says_where_why_and_what_to_do() {
        let err = CallError::new(
            "connect",
            "127.0.0.1:3000",
            io::Error::from_raw_os_error(libc::ECONNREFUSED),
        );
        assert_eq!(
            err.to_string(),
            "cannot connect to 127.0.0.1:3000: connection refused (ECONNREFUSED); \
             nothing listens on that port: start `relay server` there first"
        );
    }

    #[test]
    fn an_error_without_a_hint_is_still_one_line() {
        let err = CallError::new(
            "listen",
            "127.0.0.1:3000",
            io::Error::from_raw_os_error(libc::EBADF),
        );
        assert_eq!(
            err.to_string(),
            "cannot listen on 127.0.0.1:3000: bad file descriptor (EBADF)"
        );
    }

    #[test]
    fn a_failed_setsockopt_names_its_option() {
        let err = CallError::setsockopt(
            "TCP_NODELAY",
            "127.0.0.1:3000",
            io::Error::from_raw_os_error(libc::ENOTSOCK),
        );
        assert_eq!(
            err.to_string(),
            "cannot set TCP_NODELAY on the socket for 127.0.0.1:3000: not a socket (ENOTSOCK)"
        );
    }

    #[test]
    fn a_failed_shutdown_says_so() {
        let err = CallError::new(
            "shutdown",
            "127.0.0.1:3000",
            io::Error::from_raw_os_error(libc::ENOTCONN),
        );
        assert_eq!(
            err.to_string(),
            "cannot shut down the connection to 127.0.0.1:3000: socket is not connected \
             (ENOTCONN); the connection had already ended"
        );
    }

    #[test]
    fn early_eof_names_both_counts() {
        let err = PairError::EarlyEof {
            peer: "127.0.0.1:4000".parse().expect("a literal address"),
            expected: 16,
            received: 5,
        };
        assert_eq!(
            err.to_string(),
            "127.0.0.1:4000 closed the connection early: was expecting 16 bytes \
             but only received 5 bytes before the socket closed"
        );
    }
}
