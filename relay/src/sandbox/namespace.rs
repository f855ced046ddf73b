//! Entering a private user and network namespace: the worker's first act.
//!
//! `unshare(CLONE_NEWUSER | CLONE_NEWNET)` gives the process a user
//! namespace in which it is root (so it may capture, set any socket option
//! and change netfilter rules, with no `setcap` and no `sudo`), owning a
//! network namespace with nothing in it but a loopback interface, which
//! starts down. The kernel allows this to an unprivileged user too, but only
//! to a process with one thread, which is why a worker is a fresh process
//! (the relay re-executed) and enters before it starts any thread.

use std::{fs, io};

/// Why the sandbox could not be entered: which step failed, and the kernel's word.
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("the kernel refused a private user and network namespace (unshare: {0}); a container's seccomp profile or user.max_user_namespaces = 0 forbids them")]
    Unshare(io::Error),
    #[error("cannot map the user into its namespace ({file}: {err})")]
    Map { file: &'static str, err: io::Error },
    #[error("cannot bring the namespace's loopback interface up: {0}")]
    Loopback(io::Error),
}

/// Moves this process (which must have one thread) into a new user and
/// network namespace, as root there, with its loopback interface up.
pub fn enter() -> Result<(), NamespaceError> {
    // SAFETY: plain system calls with no pointers.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    // SAFETY: unshare takes flags only; it fails (EINVAL) rather than
    // misbehaves if the process had more than one thread.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) } != 0 {
        return Err(NamespaceError::Unshare(io::Error::last_os_error()));
    }
    // An unprivileged process may map only its own ids, and only after it
    // gave up setgroups(2) in the namespace.
    let map = |file: &'static str, text: String| {
        fs::write(file, text).map_err(|err| NamespaceError::Map { file, err })
    };
    map("/proc/self/setgroups", "deny".to_owned())?;
    map("/proc/self/uid_map", format!("0 {uid} 1"))?;
    map("/proc/self/gid_map", format!("0 {gid} 1"))?;
    loopback_up().map_err(NamespaceError::Loopback)
}

/// Sets the `IFF_UP` flag of `lo`, as `ip link set lo up` does.
fn loopback_up() -> io::Result<()> {
    // SAFETY: a plain socket(2); the descriptor is owned and closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    let socket = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let raw = std::os::fd::AsRawFd::as_raw_fd(&socket);
    // SAFETY: an all-zero ifreq is valid; the name fits (3 of 16 bytes).
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS and SIOCSIFFLAGS read and write `request`, which
    // lives for both calls; the flags are the union's member both use.
    unsafe {
        if libc::ioctl(raw, libc::SIOCGIFFLAGS, &mut request) != 0 {
            return Err(io::Error::last_os_error());
        }
        request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(raw, libc::SIOCSIFFLAGS, &request) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
