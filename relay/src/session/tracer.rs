//! A program's observer inside a session: turns what the program does into
//! events, keeps track of its sockets, and holds each call at the gate.

use std::{io, os::fd::RawFd};

use protocol::{Actor, Call, CallResult, EventKind, SocketRole};

use super::{kernel, Shared, SocketRef};
use crate::pair::{Observer, RecvIteration, SendIteration};
use std::sync::Arc;

pub struct Tracer {
    actor: Actor,
    tid: libc::pid_t,
    shared: Arc<Shared>,
    /// The socket a `close()` in progress was about: forgotten before the call
    /// (its fd number may be reused the moment it returns), named after it.
    closing: Option<SocketRef>,
}

impl Tracer {
    /// Must be made on the program's own thread: it notes the thread's id to
    /// see when its calls sleep in the kernel.
    pub fn new(actor: Actor, shared: Arc<Shared>) -> Self {
        Tracer {
            actor,
            tid: kernel::current_tid(),
            shared,
            closing: None,
        }
    }
}

/// Calls a viewer steps through. The name lookups are made too, and reported,
/// but stepping through them teaches nothing.
fn gated(call: &Call) -> bool {
    !matches!(call, Call::Getsockname | Call::Getpeername)
}

impl Observer for Tracer {
    fn line(&mut self, line: &str) {
        self.shared.emit(
            self.actor,
            None,
            EventKind::Printed {
                line: line.to_owned(),
            },
        );
    }

    fn before(&mut self, fd: Option<RawFd>, call: &Call) -> io::Result<()> {
        let socket = fd.and_then(|fd| self.shared.socket(fd));
        if gated(call) {
            self.shared.emit(
                self.actor,
                socket.clone(),
                EventKind::CallWaiting { call: call.clone() },
            );
            if self.shared.gate.wait(self.actor).is_err() {
                return Err(io::Error::other("the session was reset"));
            }
        }
        if let (Call::Close, Some(fd)) = (call, fd) {
            self.closing = self.shared.forget(fd);
        }
        self.shared
            .enter_call(self.actor, self.tid, call, socket.clone());
        self.shared.emit(
            self.actor,
            socket,
            EventKind::CallEntered { call: call.clone() },
        );
        Ok(())
    }

    fn after(&mut self, fd: Option<RawFd>, call: &Call, result: &CallResult) {
        self.shared.leave_call(self.actor);
        let shared = &self.shared;
        let on = fd.and_then(|fd| shared.socket(fd));
        let returned = |socket| {
            shared.emit(
                self.actor,
                socket,
                EventKind::CallReturned {
                    call: call.clone(),
                    result: result.clone(),
                },
            )
        };
        match (call, result, fd) {
            (Call::Socket, &CallResult::Socket { fd: new, .. }, _) => {
                let opened = shared.track(new, self.actor, SocketRole::Fresh);
                returned(Some(opened.clone()));
                shared.emit(
                    self.actor,
                    Some(opened),
                    EventKind::SocketOpened {
                        role: SocketRole::Fresh,
                        fd: new,
                    },
                );
            }
            (Call::Accept, &CallResult::Socket { fd: new, .. }, _) => {
                returned(on);
                let opened = shared.track(new, self.actor, SocketRole::Accepted);
                shared.emit(
                    self.actor,
                    Some(opened),
                    EventKind::SocketOpened {
                        role: SocketRole::Accepted,
                        fd: new,
                    },
                );
            }
            (
                Call::Bind { .. } | Call::Listen { .. } | Call::Connect { .. },
                CallResult::Done,
                Some(fd),
            ) => {
                let role = match call {
                    Call::Listen { .. } => Some(SocketRole::Listener),
                    Call::Connect { .. } => Some(SocketRole::Connected),
                    _ => None,
                };
                let updated = shared.update(fd, role);
                returned(updated.clone());
                if let Some(role) = role {
                    shared.emit(self.actor, updated, EventKind::SocketUpdated { role });
                }
                if role == Some(SocketRole::Listener) && self.actor == Actor::Server {
                    shared.server_listening();
                }
            }
            (Call::Close, _, _) => {
                let closed = self.closing.take();
                returned(closed.clone());
                if closed.is_some() {
                    shared.emit(self.actor, closed, EventKind::SocketClosed);
                }
            }
            _ => returned(on),
        }
        shared.probe_sockets();
    }

    fn recv_iteration(&mut self, it: &RecvIteration<'_>) {
        self.shared.emit(
            self.actor,
            None,
            EventKind::RecvIteration {
                number: it.number,
                asked: it.asked,
                got: it.got,
                total: it.total,
                bytes: it.bytes.to_vec(),
            },
        );
    }

    fn send_iteration(&mut self, it: &SendIteration) {
        self.shared.emit(
            self.actor,
            None,
            EventKind::SendIteration {
                number: it.number,
                offered: it.offered,
                accepted: it.accepted,
                total: it.total,
            },
        );
    }
}
