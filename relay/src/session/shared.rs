//! What a session's threads share, and how any of them reports an event.
//!
//! The programs, the prober and the launcher each hold an `Arc<Shared>`.
//! Its parts are the session's ideas, each kept in its own file: the gate
//! (`gate.rs`), the socket registry (`registry.rs`), the calls in progress
//! the prober watches (`prober.rs`) and the capture (`wire.rs`).

use std::{
    sync::{mpsc, Mutex},
    time::SystemTime,
};

use protocol::{Actor, EventKind, SourceLine};

use super::{
    gate::{Closed, Gate},
    prober::Calls,
    registry::Sockets,
    SocketRef,
};
use crate::{capture::Live, feed::Feed, sync::lock};

/// What a session's threads share.
pub struct Shared {
    pub(super) id: u64,
    pub(super) feed: std::sync::Arc<Feed>,
    pub(super) gate: Gate,
    pub(super) sockets: Mutex<Sockets>,
    pub(super) calls: Mutex<Calls>,
    /// Told once when the server's `listen()` succeeds: the clients start then.
    pub(super) listening: Mutex<Option<mpsc::Sender<()>>>,
    /// The capture of the session's port, if capture is on.
    pub(super) wire: Option<Mutex<Live>>,
    /// The wall-clock time at which the session's clock reads 0: pcap
    /// timestamps are wall-clock.
    pub(super) wall_start: SystemTime,
}

impl Shared {
    /// The server is listening: time for the clients to run.
    pub(super) fn server_listening(&self) {
        if let Some(tell) = lock(&self.listening).take() {
            let _ = tell.send(());
        }
    }

    /// The clients will never be started: the server ended before it
    /// listened, or the session is stopping. The launcher, waiting for
    /// [`Shared::server_listening`], gives up. Says whether it was still
    /// waiting (the server had not listened).
    pub(super) fn server_never_listens(&self) -> bool {
        lock(&self.listening).take().is_some()
    }

    pub(super) fn emit(&self, actor: Actor, socket: Option<SocketRef>, kind: EventKind) {
        self.emit_at(actor, socket, None, kind);
    }

    /// An event of a program's call, with the source line that makes it.
    pub(super) fn emit_at(
        &self,
        actor: Actor,
        socket: Option<SocketRef>,
        at: Option<SourceLine>,
        kind: EventKind,
    ) {
        if self.push_at(actor, socket, at, kind).is_err() {
            self.gate.close();
        }
    }

    /// [`Shared::emit_at`] from under the gate's lock (a call announced
    /// once its program is in line, see [`Gate::wait_then`]): the feed's
    /// lock is taken inside the gate's, never the other way round, and
    /// closing the gate when the history is full is left to the gate.
    pub(super) fn push_at(
        &self,
        actor: Actor,
        socket: Option<SocketRef>,
        at: Option<SourceLine>,
        kind: EventKind,
    ) -> Result<(), Closed> {
        if self.feed.push(self.id, actor, socket, at, kind) {
            Ok(())
        } else {
            // The history is full: the programs make no more calls; a reset
            // starts a new session.
            Err(Closed)
        }
    }
}
