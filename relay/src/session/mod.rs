//! A session: one run of the classic pair on real sockets, stepped by viewers.
//!
//! A session runs in one of two places, and looks the same from outside:
//!
//! - **sandboxed** ([`crate::sandbox`]): in a worker process of its own,
//!   inside a private user and network namespace, where its server listens
//!   at the textbook's 127.0.0.1:3000 whatever else runs, its segments can
//!   be captured without any permission step, and its programs reach
//!   nothing of the host's;
//! - **in this process** ([`Local`]), in the host's own namespace, where
//!   the sandbox is not in use (the kernel or a container forbids user
//!   namespaces, or the program embedding the relay did not ask for it).
//!
//! The in-process session is the one that does the work; a worker runs one
//! itself. Its parts, one idea a file: the programs on their threads
//! (`program.rs`, `threads.rs`), the step gate (`gate.rs`) and the tracer
//! that takes each call to it (`tracer.rs`), the socket registry
//! (`registry.rs`), the prober watching the kernel between calls
//! (`prober.rs`, `kernel.rs`, `fd.rs`), the wire (`wire.rs`), and what
//! they share (`shared.rs`).

mod fd;
mod gate;
mod kernel;
mod local;
mod prober;
mod program;
mod registry;
mod shared;
mod threads;
mod tracer;
mod wire;

use std::sync::Arc;

pub use gate::StepError;
pub use local::{Local, Place};
use protocol::{Actor, Mode, Scenario};
pub(crate) use registry::SocketRef;
use shared::Shared;

use crate::{feed::Feed, sandbox};

/// A running session, wherever it runs.
pub enum Session {
    InProcess(Local),
    Sandboxed(sandbox::Remote),
}

impl Session {
    /// Starts session `id` of `scenario`, its programs waiting for the first
    /// step, in a sandbox if this process set one up
    /// ([`sandbox::use_worker`]), else in this process. With `capture`, its
    /// segments are captured too; if that fails the session runs without
    /// them, and the relay says why.
    pub fn start(
        id: u64,
        scenario: Scenario,
        mode: Mode,
        capture: bool,
        feed: Arc<Feed>,
    ) -> std::io::Result<Self> {
        match sandbox::worker() {
            Some(worker) => {
                sandbox::Remote::start(worker.program(), id, scenario, mode, capture, feed)
                    .map(Session::Sandboxed)
            }
            None => {
                Local::start(id, scenario, mode, capture, feed, Place::Host).map(Session::InProcess)
            }
        }
    }

    /// The session's segments so far as a pcap file, if it captures.
    pub fn pcap(&self) -> Option<Vec<u8>> {
        match self {
            Session::InProcess(local) => local.pcap(),
            Session::Sandboxed(remote) => remote.pcap(),
        }
    }

    /// Releases one waiting call (see [`Command::Step`](protocol::Command::Step)).
    pub fn step(&self, actor: Option<Actor>) -> Result<Actor, StepError> {
        match self {
            Session::InProcess(local) => local.step(actor),
            Session::Sandboxed(remote) => remote.step(actor),
        }
    }

    /// Plays or pauses; the change is an event, so every viewer sees who did it.
    pub fn set_mode(&self, mode: Mode) {
        match self {
            Session::InProcess(local) => local.set_mode(mode),
            Session::Sandboxed(remote) => remote.set_mode(mode),
        }
    }

    /// Ends the session: no call is released again, calls asleep in the
    /// kernel are woken, and every program ends, closing its sockets.
    pub fn stop(self) {
        match self {
            Session::InProcess(local) => local.stop(),
            Session::Sandboxed(remote) => remote.stop(),
        }
    }
}
