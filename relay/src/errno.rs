//! Names for the errors a socket call can return.
//!
//! People who learn sockets read `ECONNREFUSED` in man pages and textbooks, so
//! that is what tcpstep shows, next to the plain-language description.

use std::io;

/// The symbolic name of an OS error (`ECONNREFUSED`), if it is one a socket call can return.
pub fn name(err: &io::Error) -> Option<&'static str> {
    let code = err.raw_os_error()?;
    TABLE
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, name, _)| *name)
}

/// A lower-case description of an error, with its symbolic name when it has one:
/// `connection refused (ECONNREFUSED)`.
pub fn describe(err: &io::Error) -> String {
    let Some(code) = err.raw_os_error() else {
        return err.to_string();
    };
    match TABLE.iter().find(|(c, _, _)| *c == code) {
        Some((_, name, text)) => format!("{text} ({name})"),
        None => err.to_string(),
    }
}

const TABLE: &[(i32, &str, &str)] = &[
    (libc::EACCES, "EACCES", "permission denied"),
    (libc::EADDRINUSE, "EADDRINUSE", "address already in use"),
    (
        libc::EADDRNOTAVAIL,
        "EADDRNOTAVAIL",
        "address not available on this machine",
    ),
    (
        libc::EAFNOSUPPORT,
        "EAFNOSUPPORT",
        "address family not supported",
    ),
    (libc::EAGAIN, "EAGAIN", "resource temporarily unavailable"),
    (libc::EALREADY, "EALREADY", "operation already in progress"),
    (libc::EBADF, "EBADF", "bad file descriptor"),
    (libc::ECONNABORTED, "ECONNABORTED", "connection aborted"),
    (libc::ECONNREFUSED, "ECONNREFUSED", "connection refused"),
    (libc::ECONNRESET, "ECONNRESET", "connection reset by peer"),
    (libc::EHOSTUNREACH, "EHOSTUNREACH", "no route to host"),
    (libc::EINPROGRESS, "EINPROGRESS", "operation in progress"),
    (libc::EINTR, "EINTR", "interrupted system call"),
    (libc::EINVAL, "EINVAL", "invalid argument"),
    (libc::EISCONN, "EISCONN", "socket is already connected"),
    (libc::EMFILE, "EMFILE", "too many open files"),
    (libc::ENETUNREACH, "ENETUNREACH", "network is unreachable"),
    (libc::ENFILE, "ENFILE", "too many open files in system"),
    (libc::ENOBUFS, "ENOBUFS", "no buffer space available"),
    (libc::ENOTCONN, "ENOTCONN", "socket is not connected"),
    (libc::ENOTSOCK, "ENOTSOCK", "not a socket"),
    (libc::EPERM, "EPERM", "operation not permitted"),
    (libc::EPIPE, "EPIPE", "broken pipe"),
    (libc::ETIMEDOUT, "ETIMEDOUT", "connection timed out"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_errors_have_their_symbolic_name() {
        let err = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(name(&err), Some("ECONNREFUSED"));
        assert_eq!(describe(&err), "connection refused (ECONNREFUSED)");
    }

    #[test]
    fn unknown_errors_fall_back_to_the_os_text() {
        let err = io::Error::from_raw_os_error(libc::ENOEXEC);
        assert_eq!(name(&err), None);
        assert!(describe(&err).contains("os error"));
        let custom = io::Error::other("something odd");
        assert_eq!(describe(&custom), "something odd");
    }
}
