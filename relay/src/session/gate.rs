//! The step gate: where each program waits before each call until a viewer
//! (or play) releases it.

use std::{
    collections::VecDeque,
    sync::{Condvar, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use protocol::{Actor, Mode};

use crate::sync::{lock, wait, wait_timeout};

/// Why a step released nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum StepError {
    #[error("no program is waiting for a step: each is blocked in the kernel or has ended")]
    NothingWaiting,
    #[error("{0} is not waiting for a step: it is blocked in the kernel or has ended")]
    NotWaiting(Actor),
    #[error("the session has ended (its server failed before it listened, it is being reset, or its history is full): reset to start a new one")]
    Closed,
    /// A sandboxed session's worker process died or stopped answering.
    #[error("the session's sandbox is gone ({0}): reset to start a new one")]
    Lost(String),
}

/// The gate was closed (the session is being reset) while a program waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

#[derive(Debug)]
struct State {
    /// Programs waiting, in the order they arrived, each with its ticket.
    waiting: VecDeque<(Actor, u64)>,
    /// Tickets released but not yet collected by their program.
    released: Vec<u64>,
    next_ticket: u64,
    mode: Mode,
    /// While held, play releases nothing (programs are being started together).
    held: bool,
    closed: bool,
}

/// Shared by a session's programs, its player and the hub.
#[derive(Debug)]
pub struct Gate {
    state: Mutex<State>,
    changed: Condvar,
}

impl Gate {
    pub fn new(mode: Mode) -> Self {
        Gate {
            state: Mutex::new(State {
                waiting: VecDeque::new(),
                released: Vec::new(),
                next_ticket: 0,
                mode,
                held: false,
                closed: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Called by a program before a call: returns when the call is released.
    #[cfg(test)]
    pub fn wait(&self, actor: Actor) -> Result<(), Closed> {
        self.wait_then(actor, || Ok(()))
    }

    /// [`Gate::wait`], calling `queued` once the program is in line and
    /// before anyone can release it: the program announces its call there,
    /// so that a step sent the moment the announcement is read finds it
    /// waiting, and announcements come in the order of the line. Whoever
    /// starts programs one after another learns there that this one has
    /// taken its place.
    ///
    /// `queued` runs under the gate's lock. It may take a lock that nobody
    /// holds while taking the gate's (the feed's: pushing an event calls
    /// nothing else), and must not call the gate itself: should the session
    /// be unable to go on (its history is full), it returns `Err(Closed)`
    /// and the gate closes here.
    pub fn wait_then(
        &self,
        actor: Actor,
        queued: impl FnOnce() -> Result<(), Closed>,
    ) -> Result<(), Closed> {
        let mut state = self.lock();
        if state.closed {
            return Err(Closed);
        }
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push_back((actor, ticket));
        if queued().is_err() {
            state.closed = true;
            self.changed.notify_all();
            return Err(Closed);
        }
        self.changed.notify_all();
        loop {
            if let Some(i) = state.released.iter().position(|&t| t == ticket) {
                state.released.swap_remove(i);
                return Ok(());
            }
            if state.closed {
                return Err(Closed);
            }
            state = wait(&self.changed, state);
        }
    }

    /// Releases the named program's waiting call, or the call that has waited longest.
    pub fn step(&self, actor: Option<Actor>) -> Result<Actor, StepError> {
        let mut state = self.lock();
        if state.closed {
            return Err(StepError::Closed);
        }
        let index = match actor {
            None => (!state.waiting.is_empty()).then_some(0),
            Some(a) => state.waiting.iter().position(|&(w, _)| w == a),
        };
        let Some(index) = index else {
            return Err(actor.map_or(StepError::NothingWaiting, StepError::NotWaiting));
        };
        let Some((released, ticket)) = state.waiting.remove(index) else {
            return Err(StepError::NothingWaiting);
        };
        state.released.push(ticket);
        self.changed.notify_all();
        Ok(released)
    }

    /// The programs waiting for a step, longest-waiting first.
    #[cfg(test)]
    pub fn waiting(&self) -> Vec<Actor> {
        self.lock().waiting.iter().map(|&(a, _)| a).collect()
    }

    /// Changes the mode; returns whether it changed.
    pub fn set_mode(&self, mode: Mode) -> bool {
        let mut state = self.lock();
        let changed = state.mode != mode;
        state.mode = mode;
        self.changed.notify_all();
        changed
    }

    /// Sleeps for `duration`, or until the gate closes, whichever is first.
    pub fn sleep(&self, duration: Duration) {
        let deadline = Instant::now() + duration;
        let mut state = self.lock();
        while !state.closed {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            state = wait_timeout(&self.changed, state, deadline - now);
        }
    }

    /// Holds play back (`true`) or lets it go on (`false`).
    pub fn hold(&self, held: bool) {
        self.lock().held = held;
        self.changed.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Releases nothing ever again: every waiting program gets [`Closed`].
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// Play: while the mode is `Playing`, releases the longest-waiting call
    /// every interval; returns when the gate closes. Runs on its own thread.
    pub fn play(&self) {
        let mut state = self.lock();
        let mut next_release = Instant::now();
        loop {
            if state.closed {
                return;
            }
            let now = Instant::now();
            match state.mode {
                Mode::Playing { interval_ms } if !state.waiting.is_empty() && !state.held => {
                    if now >= next_release {
                        if let Some((_, ticket)) = state.waiting.pop_front() {
                            state.released.push(ticket);
                            self.changed.notify_all();
                        }
                        next_release = now + Duration::from_millis(interval_ms);
                        continue;
                    }
                    state = wait_timeout(&self.changed, state, next_release - now);
                }
                Mode::Playing { .. } => {
                    // Nothing waits: the first call to arrive need not sit out
                    // a whole interval once a step is due.
                    state = wait(&self.changed, state);
                }
                Mode::Paused => {
                    state = wait(&self.changed, state);
                    next_release = Instant::now();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{sync::Arc, thread};

    fn wait_until_waiting(gate: &Gate, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while gate.waiting().len() < n {
            assert!(Instant::now() < deadline, "nobody arrived at the gate");
            thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn step_releases_the_longest_waiting_first_and_a_named_one_on_request() {
        let gate = Arc::new(Gate::new(Mode::Paused));
        let server = thread::spawn({
            let gate = gate.clone();
            move || gate.wait(Actor::Server)
        });
        wait_until_waiting(&gate, 1);
        let client = thread::spawn({
            let gate = gate.clone();
            move || gate.wait(Actor::Client(0))
        });
        wait_until_waiting(&gate, 2);
        assert_eq!(gate.waiting(), [Actor::Server, Actor::Client(0)]);

        assert_eq!(gate.step(Some(Actor::Client(0))), Ok(Actor::Client(0)));
        assert_eq!(client.join().expect("client"), Ok(()));
        assert_eq!(
            gate.step(Some(Actor::Client(0))),
            Err(StepError::NotWaiting(Actor::Client(0)))
        );
        assert_eq!(gate.step(None), Ok(Actor::Server));
        assert_eq!(server.join().expect("server"), Ok(()));
        assert_eq!(gate.step(None), Err(StepError::NothingWaiting));
    }

    #[test]
    fn closing_turns_every_waiter_away() {
        let gate = Arc::new(Gate::new(Mode::Paused));
        let waiter = thread::spawn({
            let gate = gate.clone();
            move || gate.wait(Actor::Server)
        });
        wait_until_waiting(&gate, 1);
        gate.close();
        assert_eq!(waiter.join().expect("waiter"), Err(Closed));
        assert_eq!(gate.wait(Actor::Client(0)), Err(Closed));
        assert_eq!(gate.step(None), Err(StepError::Closed));
    }

    #[test]
    fn a_program_that_cannot_go_on_once_in_line_closes_the_gate() {
        let gate = Gate::new(Mode::Paused);
        let mut told = false;
        let waited = gate.wait_then(Actor::Server, || {
            told = true;
            Err(Closed)
        });
        assert_eq!(waited, Err(Closed));
        assert!(told);
        assert!(gate.is_closed());
        assert_eq!(gate.step(Some(Actor::Server)), Err(StepError::Closed));
    }

    #[test]
    fn a_sleep_ends_when_the_gate_closes() {
        let gate = Arc::new(Gate::new(Mode::Paused));
        let sleeper = thread::spawn({
            let gate = gate.clone();
            move || {
                let start = Instant::now();
                gate.sleep(Duration::from_secs(30));
                start.elapsed()
            }
        });
        gate.close();
        // Nothing else wakes a 30-second sleep this early: closing did.
        assert!(sleeper.join().expect("sleeper") < Duration::from_secs(20));
    }

    #[test]
    fn play_releases_calls_until_paused() {
        let gate = Arc::new(Gate::new(Mode::Playing { interval_ms: 1 }));
        let player = thread::spawn({
            let gate = gate.clone();
            move || gate.play()
        });
        for _ in 0..5 {
            assert_eq!(gate.wait(Actor::Server), Ok(()));
        }
        assert!(gate.set_mode(Mode::Paused));
        let waiter = thread::spawn({
            let gate = gate.clone();
            move || gate.wait(Actor::Server)
        });
        wait_until_waiting(&gate, 1);
        // Paused: the call stays held until someone steps it.
        assert_eq!(gate.waiting(), [Actor::Server]);
        assert_eq!(gate.step(None), Ok(Actor::Server));
        assert_eq!(waiter.join().expect("waiter"), Ok(()));
        gate.close();
        player.join().expect("player ends when the gate closes");
    }
}
