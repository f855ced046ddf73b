//! A session's threads as one group, stopped by a deadline.
//!
//! Every program, the prober, the player and the launcher runs on its own
//! thread. Stopping a session must wait for them (a program that has not
//! ended may still hold a socket open), but never for ever: a thread stuck
//! somewhere unforeseen is left behind with a warning rather than hang a
//! reset for every viewer. The group counts its running threads and signals
//! each end, so stopping waits on a condition instead of polling handles.

use std::{
    sync::{Arc, Condvar, Mutex},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use crate::sync::{lock, wait_timeout};

/// A session's threads, by name, to wait for when it stops.
type ThreadList = Arc<Mutex<Vec<(String, JoinHandle<()>)>>>;

/// How many of a session's threads still run, and a signal when one ends:
/// stopping waits on it rather than polling each thread.
#[derive(Default)]
struct Running {
    count: Mutex<usize>,
    ended: Condvar,
}

impl Running {
    /// Waits until at most `left` threads run, or `deadline`; says whether they did.
    fn wait_until(&self, left: usize, deadline: Instant) -> bool {
        let mut count = lock(&self.count);
        while *count > left {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            count = wait_timeout(&self.ended, count, deadline - now);
        }
        true
    }
}

/// Counts a thread as ended when dropped, however its body ends (a panic too).
struct Ends(Arc<Running>);

impl Drop for Ends {
    fn drop(&mut self) {
        *lock(&self.0.count) -= 1;
        self.0.ended.notify_all();
    }
}

/// Starts a session's threads and keeps their handles, from any thread.
#[derive(Clone)]
pub(super) struct Threads {
    /// The session's id, in each thread's name (`session-3-server`).
    session: u64,
    list: ThreadList,
    running: Arc<Running>,
}

impl Threads {
    pub(super) fn new(session: u64) -> Self {
        Threads {
            session,
            list: Arc::default(),
            running: Arc::default(),
        }
    }

    /// Runs `body` on a new thread called `name`, counted until it ends.
    pub(super) fn spawn(
        &self,
        name: &str,
        body: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<()> {
        *lock(&self.running.count) += 1;
        let ends = Ends(self.running.clone());
        let handle = thread::Builder::new()
            .name(format!("session-{}-{name}", self.session))
            .spawn(move || {
                let _ends = ends;
                body();
            });
        let handle = handle?;
        lock(&self.list).push((name.to_owned(), handle));
        Ok(())
    }

    /// Waits until at most `left` threads run, or `deadline`; says whether they did.
    pub(super) fn wait_until(&self, left: usize, deadline: Instant) -> bool {
        self.running.wait_until(left, deadline)
    }

    /// Wakes the thread `name` if it sleeps in `thread::park_timeout`.
    pub(super) fn unpark(&self, name: &str) {
        for (named, handle) in lock(&self.list).iter() {
            if named == name {
                handle.thread().unpark();
            }
        }
    }

    /// Joins every thread that has ended (all of them, if `all_ended`), and
    /// says which it leaves behind after waiting `patience` for them.
    pub(super) fn join(&self, all_ended: bool, patience: Duration) {
        let threads = std::mem::take(&mut *lock(&self.list));
        for (name, handle) in threads {
            if all_ended || handle.is_finished() {
                let _ = handle.join();
            } else {
                tracing::warn!(
                    session = self.session,
                    "{name} did not end within {patience:?}; leaving it behind"
                );
            }
        }
    }
}
