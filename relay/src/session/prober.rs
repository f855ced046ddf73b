//! The prober: the kernel's side of the session, seen between calls.
//!
//! A program's call reports what the program does; what the kernel does on
//! its own (finish a handshake before `accept()` returns, queue data before
//! `recv()`, hold a closed connection in `TIME_WAIT`) happens between calls,
//! and a call that sleeps in the kernel says nothing until it returns. So a
//! thread looks every few milliseconds: at each program's call (asleep?), at
//! the wire, at every open socket's state, and, less often, at the kernel's
//! connection table for sockets already closed.

use std::{
    collections::HashMap,
    os::fd::RawFd,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use protocol::{Actor, Call, EventKind, FourTuple, KernelState, SourceLine, TcpState};

use super::{fd::inode, kernel, registry::Tracked, Shared, SocketRef};
use crate::sync::lock;

/// How often the prober looks at the kernel while a session runs.
const PROBE_INTERVAL: Duration = Duration::from_millis(2);

/// The prober reads the kernel's connection table at every this many looks.
const LINGER_PROBE_EVERY: u32 = 5;

/// The name of the prober's thread, by which stopping wakes it.
pub(super) const THREAD: &str = "prober";

/// A program's call in progress, as the prober watches it.
#[derive(Debug)]
pub(super) struct InCall {
    tid: libc::pid_t,
    call: Call,
    socket: Option<SocketRef>,
    at: Option<SourceLine>,
    /// How many looks in a row found the thread asleep.
    seen_asleep: u32,
    reported_blocked: bool,
}

/// Looks at the kernel until `stop` is set (and the thread unparked).
pub(super) fn run(shared: &Shared, stop: &AtomicBool) {
    let mut looks = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let began = Instant::now();
        shared.probe_calls();
        shared.drain_wire();
        shared.probe_sockets();
        // The connection table is read less often: it lists every
        // connection of the host, and TIME_WAIT lasts a minute.
        if looks % LINGER_PROBE_EVERY == 0 {
            shared.probe_lingering();
        }
        looks = looks.wrapping_add(1);
        // A look at a crowd's thousands of sockets takes a while:
        // rest three times as long, so the prober takes at most a
        // quarter of a core and of the sockets' lock. Woken early by stop().
        thread::park_timeout(PROBE_INTERVAL.max(began.elapsed() * 3));
    }
}

/// Starts the prober on the session's threads; it runs until `stop`.
pub(super) fn spawn(
    threads: &super::threads::Threads,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    threads.spawn(THREAD, move || run(&shared, &stop))
}

impl Shared {
    /// Notes that `actor`'s thread `tid` is in `call`, for [`Shared::probe_calls`].
    pub(super) fn enter_call(
        &self,
        actor: Actor,
        tid: libc::pid_t,
        call: &Call,
        socket: Option<SocketRef>,
        at: Option<SourceLine>,
    ) {
        lock(&self.calls).insert(
            actor,
            InCall {
                tid,
                call: call.clone(),
                socket,
                at,
                seen_asleep: 0,
                reported_blocked: false,
            },
        );
    }

    pub(super) fn leave_call(&self, actor: Actor) {
        lock(&self.calls).remove(&actor);
    }

    /// Reports calls that have gone to sleep in the kernel since the last look.
    ///
    /// A call is blocked when its thread is asleep inside the call's own
    /// system call ([`kernel::asleep_in`]) at two looks in a row. Asleep
    /// anywhere else (waiting for one of our locks, say) is not the call
    /// waiting for the network; two looks leave out a call that only sleeps
    /// a moment.
    fn probe_calls(&self) {
        let mut calls = lock(&self.calls);
        for (&actor, call) in calls.iter_mut() {
            if call.reported_blocked {
                continue;
            }
            call.seen_asleep = match kernel::asleep_in(call.tid, &call.call) {
                true => call.seen_asleep + 1,
                false => 0,
            };
            if call.seen_asleep >= 2 {
                call.reported_blocked = true;
                self.emit_at(
                    actor,
                    call.socket.clone(),
                    call.at.clone(),
                    EventKind::CallBlocked {
                        call: call.call.clone(),
                    },
                );
            }
        }
    }

    /// Reports every socket whose kernel state changed since the last look.
    fn probe_sockets(&self) {
        let mut sockets = lock(&self.sockets);
        for (&fd, tracked) in sockets.open.iter_mut() {
            self.probe_one(fd, tracked);
        }
    }

    /// Reports the sockets a call can have changed: `fds`, and the other
    /// end of the connection `about` names (its peer's socket, or the
    /// listener it reached). Cheap in a crowd, where probing every socket
    /// after every call made a session's cost grow with the square of its
    /// clients.
    pub(super) fn probe_around(&self, fds: &[RawFd], about: Option<&FourTuple>) {
        let mut sockets = lock(&self.sockets);
        let mut targets: Vec<RawFd> = fds.to_vec();
        if let Some(FourTuple {
            local,
            remote: Some(remote),
        }) = about
        {
            targets.extend(sockets.open.iter().filter_map(|(&other, t)| {
                let t = t.tuple.as_ref()?;
                let peer = t.local == *remote
                    && (t.remote.as_deref() == Some(local.as_str()) || t.remote.is_none());
                peer.then_some(other)
            }));
        }
        for fd in targets {
            if let Some(tracked) = sockets.open.get_mut(&fd) {
                self.probe_one(fd, tracked);
            }
        }
    }

    /// Reports `tracked`'s kernel state if it changed since the last look.
    pub(super) fn probe_one(&self, fd: RawFd, tracked: &mut Tracked) {
        if inode(fd) != Some(tracked.inode) {
            return; // closed behind our back (a program ending on an error)
        }
        let Some(now) = kernel::socket_state(fd) else {
            return;
        };
        if tracked.last.as_ref() != Some(&now) {
            tracked.last = Some(now.clone());
            self.emit(
                Actor::Kernel,
                Some((tracked.id, tracked.tuple.clone())),
                EventKind::SocketState { state: now },
            );
        }
    }

    /// Reports the kernel's state of connections whose sockets were closed,
    /// from its connection table, until it forgets them (then as `CLOSE`).
    fn probe_lingering(&self) {
        let mut sockets = lock(&self.sockets);
        if sockets.lingering.is_empty() {
            return;
        }
        let Ok(table) = kernel::connections() else {
            return;
        };
        sockets.lingering.retain_mut(|l| {
            let now = table.get(&l.key).cloned().unwrap_or(KernelState {
                state: TcpState::Close,
                recv_queue: 0,
                send_queue: 0,
                accept_queue: None,
                backlog: None,
            });
            if l.last.as_ref() != Some(&now) {
                self.emit(
                    Actor::Kernel,
                    Some((l.id, Some(l.tuple.clone()))),
                    EventKind::SocketState { state: now.clone() },
                );
            }
            let gone = now.state == TcpState::Close;
            l.last = Some(now);
            !gone
        });
    }
}

/// The calls in progress, by program.
pub(super) type Calls = HashMap<Actor, InCall>;
