//! One program of the session (the server, a client) on its own thread.
//!
//! The program is the same code `relay server` and `relay client` run from
//! the terminal; here its observer is a [`Tracer`], which holds each call at
//! the gate and reports it. When the program ends, however it ends, the
//! session says how (completed, failed with the program's own words, or
//! stopped by a reset) and closes the books on the sockets it still had.

use std::{
    sync::{mpsc, Arc},
    time::Duration,
};

use protocol::{Actor, Ending, EventKind};

use super::{threads::Threads, tracer::Tracer, Shared};
use crate::pair::{Observer, PairError};

/// Runs `program` as `actor` on the session's threads, and returns once it
/// waits at the gate for its first call, has ended, or `patience` has passed.
pub(super) fn spawn(
    threads: &Threads,
    shared: &Arc<Shared>,
    actor: Actor,
    patience: Duration,
    program: impl FnOnce(&mut dyn Observer) -> Result<(), PairError> + Send + 'static,
) -> std::io::Result<()> {
    let shared = shared.clone();
    // Told when the program first waits at the gate, or dropped when it ends.
    let (arrived, has_arrived) = mpsc::channel::<()>();
    threads.spawn(&actor.to_string(), move || {
        let mut tracer = Tracer::new(actor, shared.clone(), arrived);
        let result = program(&mut tracer);
        let ending = match result {
            Ok(()) => Ending::Completed,
            Err(_) if shared.gate.is_closed() => Ending::Stopped,
            Err(err) => {
                // What the terminal program prints on stderr as it exits.
                tracer.line(&format!("relay: {err}"));
                Ending::Failed {
                    message: err.to_string(),
                }
            }
        };
        let failed = matches!(ending, Ending::Failed { .. });
        for socket in shared.forget_all_of(actor) {
            shared.emit(actor, Some(socket), EventKind::SocketClosed);
        }
        shared.emit(actor, None, EventKind::ActorEnded { ending });
        if actor == Actor::Server && shared.server_never_listens() && failed {
            // The server failed before it listened (a port in use, say): the
            // clients, started once it listens, never will be, and nothing
            // is left to step. The session ends now, its last event the
            // server's own words, rather than wait for steps or a timeout
            // that can change nothing.
            shared.gate.close();
        }
    })?;
    let _ = has_arrived.recv_timeout(patience);
    Ok(())
}
