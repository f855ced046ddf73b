//! Locks that outlive a panic elsewhere.
//!
//! A panic on one of the relay's threads (a bug) poisons every mutex it held.
//! The relay's shared state (a session's sockets, its gate, the feed, the
//! host, the idle capture) is changed only in small steps, each of which
//! leaves it whole, so the state behind a poisoned lock is still sound: the
//! relay takes it and goes on, rather than let one panic wedge every viewer
//! and program behind it. These three functions are the one place that
//! decision is made.

use std::{
    sync::{Condvar, Mutex, MutexGuard},
    time::Duration,
};

/// Locks `mutex`, poisoned or not.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits on `changed` with `guard`, poisoned or not.
pub(crate) fn wait<'a, T>(changed: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    changed
        .wait(guard)
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits on `changed` with `guard` for at most `timeout`, poisoned or not.
pub(crate) fn wait_timeout<'a, T>(
    changed: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: Duration,
) -> MutexGuard<'a, T> {
    match changed.wait_timeout(guard, timeout) {
        Ok((guard, _)) => guard,
        Err(poisoned) => poisoned.into_inner().0,
    }
}
