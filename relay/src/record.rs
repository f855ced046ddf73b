//! Recording a session without a browser: play it through, keep every event
//! and every captured frame.

use std::{
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use protocol::{
    Actor, Call, Ending, Event, EventKind, Hello, Mode, RelayMessage, Scenario, SessionInfo,
    SocketRole,
};

use crate::{
    feed::{Feed, LIVE_BUFFER},
    session::Session,
};

/// How long to keep capturing after the programs are done, for the segments
/// the kernels still exchange (a FIN's ACK, a RST).
const GRACE: Duration = Duration::from_millis(300);

/// A finished session.
pub struct Recording {
    pub session: SessionInfo,
    pub events: Vec<Event>,
    /// The captured frames as a pcap file, if capture was on.
    pub pcap: Option<Vec<u8>>,
}

impl Recording {
    /// The hello a viewer of this session would have received.
    pub fn hello(&self) -> Hello {
        let capture = protocol::CaptureStatus {
            enabled: self.pcap.is_some(),
            reason: if self.pcap.is_some() {
                "recorded with capture on".to_owned()
            } else {
                "recorded without capture".to_owned()
            },
        };
        crate::host::hello(capture, Scenario::presets(), self.session.clone())
    }

    /// The recording as JSON lines (see [`json_lines`]).
    pub fn json_lines(&self) -> String {
        json_lines(&self.hello(), &self.events)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot start the session: {0}")]
    Start(std::io::Error),
    #[error("the session did not finish within {0:?}; its programs may be waiting on each other")]
    Timeout(Duration),
    /// A program failed in a way that ended the session before it could run
    /// (the server could not listen): said at once, in the program's words.
    #[error("the {actor} failed, which ended the session: {message}")]
    Failed { actor: Actor, message: String },
}

/// Runs `scenario` in play mode, as fast as the kernel goes, until every
/// client has ended and the server (if any) has ended or waits in `accept()`
/// for a client that will not come.
pub fn record(
    scenario: Scenario,
    capture: bool,
    timeout: Duration,
) -> Result<Recording, RecordError> {
    let feed = Arc::new(Feed::before(&scenario, LIVE_BUFFER));
    let (session, _) = play_until_done(scenario, capture, timeout, &feed)?;
    let pcap = session.pcap();
    let recording = Recording {
        session: feed.session(),
        events: feed.events(),
        pcap,
    };
    session.stop();
    Ok(recording)
}

/// Starts `scenario` in play mode on `feed` and waits until its programs
/// are done, and then for the kernels' last segments ([`GRACE`]): the
/// session, still running, and how long the programs took. A failure or
/// the timeout stops it.
pub(crate) fn play_until_done(
    scenario: Scenario,
    capture: bool,
    timeout: Duration,
    feed: &Arc<Feed>,
) -> Result<(Session, Duration), RecordError> {
    let clients = scenario.clients;
    let started = Instant::now();
    let session = Session::start(
        1,
        scenario,
        Mode::Playing { interval_ms: 0 },
        capture,
        feed.clone(),
    )
    .map_err(RecordError::Start)?;
    let deadline = Instant::now() + timeout;
    loop {
        let events = feed.events();
        if let Some(failed) = ended_by_failure(&events) {
            session.stop();
            return Err(failed);
        }
        if finished(&events, clients) {
            break;
        }
        if Instant::now() > deadline {
            session.stop();
            return Err(RecordError::Timeout(timeout));
        }
        thread::sleep(Duration::from_millis(5));
    }
    let finished_in = started.elapsed();
    thread::sleep(GRACE);
    Ok((session, finished_in))
}

/// The failure that ended the session before it could run, if one did: the
/// server failing before its `listen()` succeeded, so that no client will
/// ever start (see the session's `program.rs`).
pub fn ended_by_failure(events: &[Event]) -> Option<RecordError> {
    let server = events.iter().filter(|e| e.actor == Actor::Server);
    let mut listened = false;
    for e in server {
        match &e.kind {
            EventKind::SocketUpdated {
                role: SocketRole::Listener,
            } => listened = true,
            EventKind::ActorEnded {
                ending: Ending::Failed { message },
            } if !listened => {
                return Some(RecordError::Failed {
                    actor: Actor::Server,
                    message: message.clone(),
                })
            }
            _ => {}
        }
    }
    None
}

/// Whether the programs have done all they will do.
pub fn finished(events: &[Event], clients: u32) -> bool {
    let ended = |actor| {
        events
            .iter()
            .any(|e| e.actor == actor && matches!(e.kind, EventKind::ActorEnded { .. }))
    };
    if !(0..clients).all(|k| ended(Actor::Client(k))) {
        return false;
    }
    let server_started = events.iter().any(|e| e.actor == Actor::Server);
    if !server_started || ended(Actor::Server) {
        return true;
    }
    // The server's last gated call is an accept() asleep in the kernel.
    let last_entered = events.iter().rposition(|e| {
        e.actor == Actor::Server
            && matches!(&e.kind, EventKind::CallEntered { call } if call.is_stepped())
    });
    last_entered.is_some_and(|i| {
        matches!(
            &events[i].kind,
            EventKind::CallEntered { call: Call::Accept }
        ) && events[i..].iter().any(|e| {
            e.actor == Actor::Server
                && matches!(&e.kind, EventKind::CallBlocked { call: Call::Accept })
        })
    })
}

/// A session as JSON lines in the protocol's own encoding, exactly as a
/// viewer receives it: a `hello` (the session, capture status, the programs'
/// source), then one `event` message per line.
pub fn json_lines(hello: &Hello, events: &[Event]) -> String {
    let mut out = String::new();
    let lines = std::iter::once(RelayMessage::Hello(hello.clone()))
        .chain(events.iter().cloned().map(RelayMessage::Event));
    for message in lines {
        match serde_json::to_string(&message) {
            Ok(line) => out.push_str(&line),
            Err(err) => out.push_str(&format!(r#"{{"type":"error","message":"{err}"}}"#)),
        }
        out.push('\n');
    }
    out
}
