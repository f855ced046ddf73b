//! The feed: the current session's history and its live events, for viewers.
//!
//! Programs, the kernel prober and the hub all push events here; each gets
//! the next `seq` and its timestamp under one lock, so the stream is totally
//! ordered and timestamps never go backwards. Viewers subscribe under the same
//! lock, taking a copy of the history and a live receiver at one instant, so
//! a late viewer sees every event exactly once. The live side is a bounded
//! broadcast: pushing never waits for a viewer, and a viewer that falls
//! behind learns it from its receiver and subscribes again from where it was.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Instant,
};

use protocol::{Actor, Event, EventKind, FourTuple, SessionInfo, SocketId, SourceLine};
use tokio::sync::broadcast;

/// How many live items a viewer may fall behind before it must resynchronise.
pub const LIVE_BUFFER: usize = 4096;

/// `RelayMessage::Event`, encoded without copying the event first: the same
/// JSON, as the hub's tests (which decode it as a `RelayMessage`) check.
#[derive(serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum EventMessage<'a> {
    Event(&'a Event),
}

/// One item of the live feed.
// A session's item is the large one, and one is made per session: boxing
// it would cost every reader a pointer for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Item {
    /// A new session began.
    Session(SessionInfo),
    /// The number of viewers changed.
    Viewers(u32),
    /// An event of session `session`, already encoded as a `RelayMessage::Event`.
    Event {
        session: u64,
        seq: u64,
        json: Arc<str>,
    },
}

/// What a viewer gets on subscribing: where things stand, and what comes next.
pub struct Subscription {
    pub session: SessionInfo,
    /// Encoded events from the requested `seq` on, in order.
    pub history: Vec<Arc<str>>,
    /// The `seq` of the first event `history` holds.
    pub first_seq: u64,
    pub live: broadcast::Receiver<Item>,
}

struct State {
    session: SessionInfo,
    started: Instant,
    events: Vec<Event>,
    encoded: Vec<Arc<str>>,
}

pub struct Feed {
    state: Mutex<State>,
    live: broadcast::Sender<Item>,
    /// The most events one session's history holds (see [`MAX_EVENTS`]).
    limit: usize,
    /// Also given every item, in order, as it is pushed (see [`Feed::tap`]).
    tap: Option<Tap>,
}

/// What a tapped feed gives each item to.
pub type Tap = Box<dyn Fn(&Item) + Send + Sync>;

/// The most events a session's history holds. Past it the relay records one
/// `history_full` event and nothing more: the session is paused, and a reset
/// starts a new one. (A crowd of 1,000 clients takes about 70,000.)
pub const MAX_EVENTS: usize = 200_000;

impl Feed {
    /// A feed whose viewers may fall `live_buffer` items behind.
    pub fn new(session: SessionInfo, live_buffer: usize) -> Self {
        Feed {
            state: Mutex::new(State {
                session,
                started: Instant::now(),
                events: Vec::new(),
                encoded: Vec::new(),
            }),
            live: broadcast::channel(live_buffer.max(1)).0,
            limit: MAX_EVENTS,
            tap: None,
        }
    }

    /// The same feed, giving every item to `tap` as it is pushed, under the
    /// feed's lock: in order, and before `push` returns. A sandboxed
    /// session's worker sends its events to the relay this way, so that
    /// once its session has stopped, every event it made is on the way.
    pub fn tap(mut self, tap: Tap) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Tells the live side (and the tap) about `item`.
    fn publish(&self, item: Item) {
        if let Some(tap) = &self.tap {
            tap(&item);
        }
        // No receivers is fine: nobody is watching yet.
        let _ = self.live.send(item);
    }

    /// A feed for `scenario`'s session, before it begins: session 0, no
    /// server address yet ([`crate::session::Session::start`] begins it).
    pub fn before(scenario: &protocol::Scenario, live_buffer: usize) -> Self {
        Feed::new(
            SessionInfo {
                id: 0,
                scenario: scenario.clone(),
                server_addr: String::new(),
                mode: protocol::Mode::Paused,
            },
            live_buffer,
        )
    }

    /// The same feed with another history limit (tests use small ones).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit.max(1);
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
    }

    /// Starts a new session: its history begins empty and its clock at zero.
    pub fn begin_session(&self, session: SessionInfo) {
        self.begin_session_at(session, Instant::now());
    }

    /// [`Feed::begin_session`] for a session whose clock read zero at
    /// `started` (a sandboxed session's, started in its worker).
    pub fn begin_session_at(&self, session: SessionInfo, started: Instant) {
        let mut state = self.lock();
        state.session = session.clone();
        state.started = started;
        state.events.clear();
        state.encoded.clear();
        self.publish(Item::Session(session));
    }

    /// Appends an event to session `session`'s stream, and says whether the
    /// history has room for more. Events of a session that has since been
    /// reset (a program still winding down) are dropped.
    pub fn push(
        &self,
        session: u64,
        actor: Actor,
        socket: Option<(SocketId, Option<FourTuple>)>,
        at: Option<SourceLine>,
        kind: EventKind,
    ) -> bool {
        let mut state = self.lock();
        if state.session.id != session {
            return true;
        }
        let (actor, socket, at, kind) = match state.events.len() {
            n if n > self.limit => return false,
            n if n == self.limit => (
                Actor::Relay,
                None,
                None,
                EventKind::HistoryFull {
                    limit: self.limit as u64,
                },
            ),
            _ => (actor, socket, at, kind),
        };
        if let EventKind::ModeChanged { mode } = &kind {
            state.session.mode = *mode;
        }
        let (socket, tuple) = match socket {
            Some((id, tuple)) => (Some(id), tuple),
            None => (None, None),
        };
        let event = Event {
            seq: 0,
            t_us: u64::try_from(state.started.elapsed().as_micros()).unwrap_or(u64::MAX),
            actor,
            socket,
            tuple,
            at,
            kind,
        };
        self.store(&mut state, session, event);
        state.events.len() <= self.limit
    }

    /// Appends an event made elsewhere (in a sandboxed session's worker,
    /// whose own feed kept its history bounded) to session `session`'s
    /// stream, at the next `seq` and at its own time on the session's clock
    /// (never before the last event's).
    pub fn append(&self, session: u64, event: Event) {
        let mut state = self.lock();
        if state.session.id != session {
            return;
        }
        if let EventKind::ModeChanged { mode } = &event.kind {
            state.session.mode = *mode;
        }
        self.store(&mut state, session, event);
    }

    /// Gives `event` the next `seq` (and a time no earlier than the last
    /// event's), keeps it, and publishes it.
    fn store(&self, state: &mut State, session: u64, mut event: Event) {
        event.seq = state.events.len() as u64;
        if let Some(last) = state.events.last() {
            event.t_us = event.t_us.max(last.t_us);
        }
        let json: Arc<str> = match serde_json::to_string(&EventMessage::Event(&event)) {
            Ok(json) => json.into(),
            // Our own types always encode; if one ever does not, say so in the stream.
            Err(err) => {
                format!(r#"{{"type":"error","message":"cannot encode an event: {err}"}}"#).into()
            }
        };
        let seq = event.seq;
        state.events.push(event);
        state.encoded.push(json.clone());
        self.publish(Item::Event { session, seq, json });
    }

    /// The current session, its history, and the live events that follow it,
    /// taken at one instant. The history starts at `resume`'s `seq` if it
    /// names the current session (a viewer catching up), else at 0.
    pub fn subscribe(&self, resume: Option<(u64, u64)>) -> Subscription {
        let state = self.lock();
        let from_seq = match resume {
            Some((session, seq)) if session == state.session.id => seq,
            _ => 0,
        };
        let first = usize::try_from(from_seq)
            .unwrap_or(usize::MAX)
            .min(state.encoded.len());
        Subscription {
            session: state.session.clone(),
            history: state.encoded[first..].to_vec(),
            first_seq: first as u64,
            live: self.live.subscribe(),
        }
    }

    /// Tells every viewer how many watch.
    pub fn announce_viewers(&self, count: u32) {
        let _ = self.live.send(Item::Viewers(count));
    }

    /// When session `session`'s clock read 0, if it is the current one:
    /// what the kernel's tracepoints time (`CLOCK_MONOTONIC`) is measured from.
    pub fn started(&self, session: u64) -> Option<Instant> {
        let state = self.lock();
        (state.session.id == session).then_some(state.started)
    }

    /// The current session.
    pub fn session(&self) -> SessionInfo {
        self.lock().session.clone()
    }

    /// A copy of the current session's events so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Mode, Scenario};

    #[test]
    fn the_history_stops_at_its_limit_and_says_so_once() {
        let session = SessionInfo {
            id: 1,
            scenario: Scenario::classic(),
            server_addr: "127.0.0.1:3000".into(),
            mode: Mode::Paused,
        };
        let feed = Feed::new(session, 16).with_limit(3);
        let push = || feed.push(1, Actor::Server, None, None, EventKind::SocketClosed);
        assert!(push() && push() && push());
        assert!(!push(), "the fourth has no room");
        assert!(!push());
        let events = feed.events();
        assert_eq!(events.len(), 4);
        assert_eq!(events[3].kind, EventKind::HistoryFull { limit: 3 });
        assert_eq!(events[3].actor, Actor::Relay);
        // Each event is encoded exactly as the protocol's own `RelayMessage`.
        let sub = feed.subscribe(None);
        for (event, json) in events.iter().zip(&sub.history) {
            let expected = serde_json::to_string(&protocol::RelayMessage::Event(event.clone()))
                .expect("encodes");
            assert_eq!(**json, *expected);
        }
        // A new session starts with room again.
        feed.begin_session(SessionInfo {
            id: 2,
            ..feed.session()
        });
        assert!(feed.push(2, Actor::Server, None, None, EventKind::SocketClosed));
    }
}
