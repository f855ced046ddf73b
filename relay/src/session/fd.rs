//! What an fd number says about the socket behind it, without owning it.
//!
//! The programs own their sockets; the session only looks at them by fd
//! number from other threads, so these helpers borrow and never close.

use std::os::fd::{BorrowedFd, RawFd};

use protocol::FourTuple;
use socket2::SockRef;

/// The socket's inode number: unique among open sockets, so it tells whether
/// an fd number still refers to the socket we tracked.
pub(super) fn inode(fd: RawFd) -> Option<u64> {
    // SAFETY: fstat writes a stat struct; on a closed fd it fails with EBADF.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some(st.st_ino)
}

/// The kernel's cookie for the socket (`SO_COOKIE`): a number no other
/// socket on the machine has had since boot, in any network namespace, that
/// the kernel's tracepoints (`sock_cookie`) name the socket by.
pub(super) fn cookie(fd: RawFd) -> Option<u64> {
    let mut cookie: u64 = 0;
    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cookie`; on a
    // closed fd it fails with EBADF.
    let ok = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_COOKIE,
            (&mut cookie as *mut u64).cast(),
            &mut len,
        )
    } == 0;
    (ok && len as usize == std::mem::size_of::<u64>()).then_some(cookie)
}

/// The socket's addresses, as `getsockname()` and `getpeername()` give them.
pub(super) fn four_tuple(fd: RawFd) -> Option<FourTuple> {
    // SAFETY: callers pass an fd that a program of the session holds open.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let sock = SockRef::from(&borrowed);
    let local = sock.local_addr().ok()?.as_socket()?;
    let remote = sock
        .peer_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .map(|a| a.to_string());
    Some(FourTuple {
        local: local.to_string(),
        remote,
    })
}
