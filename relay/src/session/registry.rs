//! The session's sockets: which fd is which socket, who owns it, and the
//! addresses each has had.
//!
//! Programs name sockets by fd number, events by [`SocketId`]. An fd number
//! is reused the moment a socket closes, so each tracked socket keeps its
//! inode to prove an fd still means it, and a socket is forgotten just
//! before its `close()`. Address pairs outlive the socket (the kernel sends
//! segments for a connection after its program closed it), so the wire can
//! still name the socket a late FIN or RST belongs to.

use std::{
    collections::HashMap,
    net::SocketAddr,
    os::fd::{BorrowedFd, RawFd},
};

use protocol::{Actor, FourTuple, KernelState, SocketId, SocketRole};
use socket2::SockRef;

use super::{
    fd::{cookie, four_tuple, inode},
    Shared,
};
use crate::sync::lock;

/// A socket as events name it.
pub(crate) type SocketRef = (SocketId, Option<FourTuple>);

#[derive(Debug)]
pub(super) struct Tracked {
    pub(super) id: SocketId,
    owner: Actor,
    /// The socket's inode: proves an fd number still means this socket.
    pub(super) inode: u64,
    /// The kernel's cookie for it (`SO_COOKIE`), read once when tracked:
    /// what the kernel's tracepoints name it by.
    cookie: Option<u64>,
    pub(super) tuple: Option<FourTuple>,
    /// The kernel's state at the prober's last look.
    pub(super) last: Option<KernelState>,
}

#[derive(Debug, Default)]
pub(super) struct Sockets {
    next_id: u32,
    pub(super) open: HashMap<RawFd, Tracked>,
    /// Every address pair a socket of the session has had, kept after it
    /// closes: the kernel sends segments for a connection after close().
    by_tuple: HashMap<FourTuple, SocketId>,
    /// Connections their programs have closed and the kernel still keeps
    /// (`FIN_WAIT_2`, `LAST_ACK`, `TIME_WAIT`), watched until it lets go.
    pub(super) lingering: Vec<Lingering>,
}

/// A closed socket's connection, still in the kernel's table.
#[derive(Debug)]
pub(super) struct Lingering {
    pub(super) id: SocketId,
    pub(super) tuple: FourTuple,
    /// (local, remote), as `/proc/net/tcp` names it.
    pub(super) key: (SocketAddr, SocketAddr),
    pub(super) last: Option<KernelState>,
}

impl Lingering {
    /// Watches a socket's connection after its close, if it had one.
    fn after_close(t: Tracked) -> Option<Lingering> {
        let tuple = t.tuple?;
        let key = (
            tuple.local.parse().ok()?,
            tuple.remote.as_ref()?.parse().ok()?,
        );
        Some(Lingering {
            id: t.id,
            tuple,
            key,
            last: t.last,
        })
    }
}

impl Sockets {
    fn named(&mut self, id: SocketId, tuple: &Option<FourTuple>) {
        if let Some(tuple) = tuple {
            self.by_tuple.insert(tuple.clone(), id);
        }
    }

    /// The session's socket at `local` talking to `remote`, or listening at `local`.
    pub(super) fn at(&self, local: &str, remote: &str, listener_too: bool) -> Option<SocketId> {
        let connected = FourTuple {
            local: local.to_owned(),
            remote: Some(remote.to_owned()),
        };
        let listening = FourTuple {
            local: local.to_owned(),
            remote: None,
        };
        self.by_tuple
            .get(&connected)
            .or_else(|| {
                listener_too
                    .then(|| self.by_tuple.get(&listening))
                    .flatten()
            })
            .copied()
    }
}

impl Shared {
    /// The session's name for the socket `fd`, with its addresses.
    pub(super) fn socket(&self, fd: RawFd) -> Option<SocketRef> {
        let sockets = lock(&self.sockets);
        let t = sockets.open.get(&fd)?;
        Some((t.id, t.tuple.clone()))
    }

    /// The kernel's cookie for the socket `fd`, if the session tracks it.
    pub(super) fn cookie(&self, fd: RawFd) -> Option<u64> {
        lock(&self.sockets).open.get(&fd)?.cookie
    }

    /// Starts tracking a socket a call just returned.
    pub(super) fn track(&self, fd: RawFd, owner: Actor, role: SocketRole) -> SocketRef {
        let mut sockets = lock(&self.sockets);
        sockets.next_id += 1;
        let id = SocketId(sockets.next_id);
        let tuple = (role != SocketRole::Fresh)
            .then(|| four_tuple(fd))
            .flatten();
        sockets.named(id, &tuple);
        sockets.open.insert(
            fd,
            Tracked {
                id,
                owner,
                inode: inode(fd).unwrap_or(0),
                cookie: cookie(fd),
                tuple: tuple.clone(),
                last: None,
            },
        );
        (id, tuple)
    }

    /// Re-reads a socket's addresses after bind, listen or connect.
    pub(super) fn update(&self, fd: RawFd) -> Option<SocketRef> {
        let mut sockets = lock(&self.sockets);
        let t = sockets.open.get_mut(&fd)?;
        t.tuple = four_tuple(fd);
        let named = (t.id, t.tuple.clone());
        sockets.named(named.0, &named.1);
        Some(named)
    }

    /// Stops tracking `fd` (it is about to be closed), after a last look at it.
    pub(super) fn forget(&self, fd: RawFd) -> Option<SocketRef> {
        let mut sockets = lock(&self.sockets);
        self.probe_one(fd, sockets.open.get_mut(&fd)?);
        let t = sockets.open.remove(&fd)?;
        let named = (t.id, t.tuple.clone());
        sockets.lingering.extend(Lingering::after_close(t));
        Some(named)
    }

    /// Forgets every socket `actor` still had when it ended: they closed as it
    /// unwound, and their fd numbers may already mean something else.
    pub(super) fn forget_all_of(&self, actor: Actor) -> Vec<SocketRef> {
        let mut sockets = lock(&self.sockets);
        let fds: Vec<RawFd> = sockets
            .open
            .iter()
            .filter(|(_, t)| t.owner == actor)
            .map(|(&fd, _)| fd)
            .collect();
        let mut named = Vec::new();
        for fd in fds {
            let Some(t) = sockets.open.remove(&fd) else {
                continue;
            };
            named.push((t.id, t.tuple.clone()));
            sockets.lingering.extend(Lingering::after_close(t));
        }
        named
    }

    /// Wakes every call asleep on one of the session's sockets: `shutdown()`
    /// makes a blocked `recv` return 0 and a blocked `accept` fail.
    pub(super) fn shut_down_sockets(&self) {
        let sockets = lock(&self.sockets);
        for (&fd, tracked) in &sockets.open {
            if inode(fd) == Some(tracked.inode) {
                // SAFETY: fd is open (its inode is the tracked socket's) while we hold the lock.
                let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
                let _ = SockRef::from(&borrowed).shutdown(std::net::Shutdown::Both);
            }
        }
    }
}
