//! Stopping the hub, heard by every viewer's task.
//!
//! As in mini-redis: the hub holds the sending side, each connection's task
//! a [`Shutdown`]. When the relay is told to stop, each task hears it at
//! every wait that listens (all of a viewer's, from its handshake on: each
//! send, the live loop, a reset's wait), sends its viewer a close frame and
//! ends. A connection still in its handshake, or that has not yet sent a
//! request, is dropped without one (there is no WebSocket to close); a
//! download already being written is written out. The hub waits for every
//! task (at most `CLOSE_PATIENCE`), then cuts off the rest: a viewer that
//! stopped reading with its connection full never takes its close frame.

use tokio::sync::watch;

/// A task's view of whether the hub is stopping.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown {
    stopping: watch::Receiver<bool>,
}

/// The hub's side: tells every [`Shutdown`] at once.
pub(crate) struct Trigger(watch::Sender<bool>);

impl Trigger {
    pub(crate) fn new() -> Trigger {
        Trigger(watch::channel(false).0)
    }

    /// A new listener for a task.
    pub(crate) fn subscribe(&self) -> Shutdown {
        Shutdown {
            stopping: self.0.subscribe(),
        }
    }

    /// Tells every task to stop.
    pub(crate) fn fire(&self) {
        self.0.send_replace(true);
    }
}

impl Shutdown {
    /// Completes once the hub is stopping (at once if it already is, or if
    /// the hub is gone).
    pub(crate) async fn recv(&mut self) {
        let _ = self.stopping.wait_for(|&stopping| stopping).await;
    }
}
