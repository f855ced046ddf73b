//! A program's observer inside a session: turns what the program does into
//! events, keeps track of its sockets, and holds each call at the gate.

use std::{io, os::fd::RawFd, panic::Location};

use protocol::{Actor, Call, CallResult, EventKind, FourTuple, SocketRole, SourceLine};

use super::{kernel, Shared, SocketRef};
use crate::pair::{Observer, RecvIteration, SendIteration};
use std::sync::{mpsc, Arc};

pub struct Tracer {
    actor: Actor,
    tid: libc::pid_t,
    shared: Arc<Shared>,
    /// The socket a `close()` in progress was about: forgotten before the call
    /// (its fd number may be reused the moment it returns), named after it.
    closing: Option<SocketRef>,
    /// The source line of the call in progress.
    at: Option<SourceLine>,
    /// Told when the program first takes its place at the gate.
    arrived: Option<mpsc::Sender<()>>,
}

impl Tracer {
    /// Must be made on the program's own thread: it notes the thread's id to
    /// see when its calls sleep in the kernel.
    /// `arrived` is told when the program first waits at the gate.
    pub fn new(actor: Actor, shared: Arc<Shared>, arrived: mpsc::Sender<()>) -> Self {
        Tracer {
            actor,
            tid: kernel::current_tid(),
            shared,
            closing: None,
            at: None,
            arrived: Some(arrived),
        }
    }
}

/// Calls a viewer steps through: see [`Call::is_stepped`].
fn gated(call: &Call) -> bool {
    call.is_stepped()
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

    fn before(
        &mut self,
        fd: Option<RawFd>,
        call: &Call,
        at: &'static Location<'static>,
    ) -> io::Result<()> {
        let socket = fd.and_then(|fd| self.shared.socket(fd));
        self.at = Some(SourceLine {
            file: at.file().to_owned(),
            line: at.line(),
        });
        if gated(call) {
            // Announced once the program is in line, not before: a step
            // sent the moment a viewer reads this finds the call waiting.
            let shared = &self.shared;
            let (actor, at, arrived) = (self.actor, self.at.clone(), self.arrived.take());
            let waiting = EventKind::CallWaiting { call: call.clone() };
            let on_socket = socket.clone();
            let queued = move || {
                let announced = shared.push_at(actor, on_socket, at, waiting);
                if let Some(tell) = arrived {
                    let _ = tell.send(());
                }
                announced
            };
            if shared.gate.wait_then(self.actor, queued).is_err() {
                return Err(io::Error::other("the session was reset"));
            }
        }
        // What the wire carried while this program waited comes first.
        self.shared.drain_wire();
        if let (Call::Close, Some(fd)) = (call, fd) {
            self.closing = self.shared.forget(fd);
        }
        self.shared.emit_at(
            self.actor,
            socket.clone(),
            self.at.clone(),
            EventKind::CallEntered { call: call.clone() },
        );
        // Last before the system call, after every lock of ours is released:
        // the prober watches the call from here (see `Shared::probe_calls`).
        self.shared
            .enter_call(self.actor, self.tid, call, socket, self.at.clone());
        Ok(())
    }

    fn after(&mut self, fd: Option<RawFd>, call: &Call, result: &CallResult) {
        let shared = &self.shared;
        shared.leave_call(self.actor);
        // First learn what the call changed (a new socket, a socket's
        // addresses), so the segments it caused can name their sockets...
        let change = match (call, result, fd) {
            (Call::Socket, &CallResult::Socket { fd: new, .. }, _) => {
                let opened = shared.track(new, self.actor, SocketRole::Fresh);
                Change::Opened(Some(opened.clone()), opened, SocketRole::Fresh, new)
            }
            (Call::Accept, &CallResult::Socket { fd: new, .. }, Some(fd)) => {
                let opened = shared.track(new, self.actor, SocketRole::Accepted);
                Change::Opened(shared.socket(fd), opened, SocketRole::Accepted, new)
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
                Change::Updated(shared.update(fd), role)
            }
            (Call::Close, _, _) => Change::Closed(self.closing.take()),
            _ => Change::None(fd.and_then(|fd| shared.socket(fd))),
        };
        // ...then report those segments: they crossed the wire before the
        // call returned (a connect's handshake, a send's data).
        shared.drain_wire();
        let at = self.at.take();
        let returned = |socket: Option<SocketRef>| {
            shared.emit_at(
                self.actor,
                socket,
                at.clone(),
                EventKind::CallReturned {
                    call: call.clone(),
                    result: result.clone(),
                },
            )
        };
        // The sockets this call can have changed, to look at right away
        // (the prober looks at every socket, but less often in a crowd).
        let (fds, about): (Vec<RawFd>, Option<FourTuple>) = match &change {
            Change::Opened(_, (_, tuple), _, new) => {
                (std::iter::once(*new).chain(fd).collect(), tuple.clone())
            }
            Change::Closed(socket) => (Vec::new(), socket.clone().and_then(|s| s.1)),
            Change::Updated(socket, _) | Change::None(socket) => {
                (fd.into_iter().collect(), socket.clone().and_then(|s| s.1))
            }
        };
        match change {
            Change::Opened(on, opened, role, fd) => {
                returned(on);
                let cookie = shared.cookie(fd);
                shared.emit(
                    self.actor,
                    Some(opened),
                    EventKind::SocketOpened { role, fd, cookie },
                );
            }
            Change::Updated(socket, role) => {
                returned(socket.clone());
                if let Some(role) = role {
                    shared.emit(self.actor, socket, EventKind::SocketUpdated { role });
                }
                if role == Some(SocketRole::Listener) && self.actor == Actor::Server {
                    shared.server_listening();
                }
            }
            Change::Closed(socket) => {
                returned(socket.clone());
                if socket.is_some() {
                    shared.emit(self.actor, socket, EventKind::SocketClosed);
                }
            }
            Change::None(socket) => returned(socket),
        }
        shared.probe_around(&fds, about.as_ref());
    }

    fn pause(&mut self, duration: std::time::Duration) {
        // A reset must not wait out a program's pause.
        self.shared.gate.sleep(duration);
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

/// What a returned call did to the session's sockets.
enum Change {
    /// A new socket (from `socket()`, or from `accept()` on the first one).
    Opened(Option<SocketRef>, SocketRef, SocketRole, RawFd),
    /// A socket got addresses, and maybe a role.
    Updated(Option<SocketRef>, Option<SocketRole>),
    /// A socket was closed.
    Closed(Option<SocketRef>),
    /// Nothing changed; the call was on this socket.
    None(Option<SocketRef>),
}
