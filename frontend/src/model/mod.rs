//! The page's model: relay messages in, view state out. Plain Rust, no web
//! APIs, so it is tested natively.
//!
//! [`Model`] keeps the connection's state, what the relay said in its hello,
//! and the current session's events, exactly once each and in order, however
//! often the connection drops and the relay resends its history. [`View`] is
//! those events folded into what the page draws.

pub mod cow;
mod expert;
mod explain;
pub mod export;
pub mod kernel;
mod kernel_rules;
pub mod ladder;
pub mod numbers;
pub mod predict;
mod python;
pub mod step;
mod stream;
pub mod travel;
pub mod unread;
mod view;
pub mod words;

pub use expert::{examine, examine_all, Finding, Severity, RULES};
pub use explain::{explain, explain_all, Note};
pub use kernel_rules::KERNEL_RULES;
pub use python::python_line;
pub use step::{shown_step, Happening, Step, What};
pub use stream::{latest_streams, streams, Chunk, Selected, Stream};
pub use view::{ActorStatus, CallView, Line, Mark, RecvAllView, SocketView, Turn, View};

use protocol::{Event, Hello, Mode, RelayMessage, SessionInfo};

/// The page's connection to the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Opening the WebSocket (`attempt` 0 is the first).
    Connecting { attempt: u32 },
    /// Open; the relay's hello has arrived.
    Live,
    /// Closed or failed; another attempt follows in `retry_ms`.
    Lost {
        attempt: u32,
        retry_ms: u32,
        reason: String,
    },
}

/// What happens to the model.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Connecting {
        attempt: u32,
    },
    Lost {
        attempt: u32,
        retry_ms: u32,
        reason: String,
    },
    Received(Box<RelayMessage>),
    /// A frame that was not a relay message.
    Garbled(String),
    /// The person dismissed the notice.
    Dismiss,
    /// Show the session as it was after its first `k` events; `None` follows
    /// the live end again.
    Seek(Option<usize>),
    /// Open a saved trace (JSON lines as `relay record` writes them) in
    /// place of the relay's session.
    OpenTrace {
        name: String,
        text: String,
    },
    /// Select an event (by `seq`) to inspect, or none.
    Select(Option<u64>),
    /// Several actions, applied in order: what arrived during one frame.
    Batch(Vec<Action>),
}

/// Where the session on the page comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The relay, live.
    Relay,
    /// A trace file opened in the page; the relay is not listened to.
    Trace { name: String },
}

/// The session as it was after some of its events: time travel.
#[derive(Debug, Clone, PartialEq)]
pub struct Scrubbed {
    pub at: usize,
    pub view: View,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub link: Link,
    /// The relay's WebSocket URL.
    pub relay_url: String,
    pub hello: Option<Hello>,
    pub session: Option<SessionInfo>,
    /// The current session's events: `events[i].seq == i`.
    pub events: Vec<Event>,
    /// All of `events`, folded.
    pub view: View,
    /// `view` as it was every [`travel::SPACING`] events: where time
    /// travel starts folding from.
    pub checkpoints: travel::Checkpoints,
    /// What each event means: `notes[i]` is event `i`'s.
    pub notes: Vec<Option<Note>>,
    /// The expert findings of `events`, in order.
    pub findings: Vec<Finding>,
    /// The latest thing the relay refused or we could not read, for the person to see.
    pub notice: Option<String>,
    pub source: Source,
    /// Set while the person looks at an earlier moment.
    pub scrubbed: Option<Scrubbed>,
    /// The event being inspected.
    pub selected: Option<u64>,
    /// How many viewers watch the relay's session (this page included).
    pub viewers: Option<u32>,
    /// The sessions this page may join, as the relay last listed them
    /// (the class session first).
    pub rooms: Vec<protocol::RoomSummary>,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            link: Link::Connecting { attempt: 0 },
            relay_url: String::new(),
            hello: None,
            session: None,
            events: Vec::new(),
            view: View::default(),
            checkpoints: travel::Checkpoints::default(),
            notes: Vec::new(),
            findings: Vec::new(),
            notice: None,
            source: Source::Relay,
            scrubbed: None,
            selected: None,
            viewers: None,
            rooms: Vec::new(),
        }
    }
}

impl Model {
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Connecting { attempt } => self.link = Link::Connecting { attempt },
            Action::Lost {
                attempt,
                retry_ms,
                reason,
            } => {
                self.link = Link::Lost {
                    attempt,
                    retry_ms,
                    reason,
                }
            }
            // A trace on the page replaces the relay's session until reload.
            Action::Received(_) if self.source != Source::Relay => {}
            Action::Received(message) => self.receive(*message),
            Action::Garbled(text) => self.notice = Some(text),
            Action::Dismiss => self.notice = None,
            Action::Seek(at) => self.seek(at),
            Action::OpenTrace { name, text } => self.open_trace(name, &text),
            Action::Select(seq) => self.selected = seq,
            Action::Batch(actions) => actions.into_iter().for_each(|a| self.apply(a)),
        }
    }

    /// Moves the page to just after its first `at` events (or back to the
    /// live end): from the moment shown or the nearest checkpoint before,
    /// whichever is nearer, never from the start.
    fn seek(&mut self, at: Option<usize>) {
        self.scrubbed = match at {
            Some(at) if at < self.events.len() => {
                let shown = self.scrubbed.take().map(|s| (s.at, s.view));
                Some(Scrubbed {
                    at,
                    view: self.checkpoints.view_at(&self.events, at, shown),
                })
            }
            _ => None,
        };
    }

    /// Replaces the session with a trace's; says what is wrong with a bad file.
    fn open_trace(&mut self, name: String, text: &str) {
        let mut session = None;
        let mut hello = None;
        let mut events = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            match serde_json::from_str::<RelayMessage>(line) {
                Ok(RelayMessage::Session(info)) if session.is_none() => session = Some(info),
                Ok(RelayMessage::Hello(h)) if session.is_none() => {
                    session = Some(h.session.clone());
                    hello = Some(h);
                }
                Ok(RelayMessage::Event(e)) if e.seq == events.len() as u64 => events.push(e),
                Ok(RelayMessage::Event(e)) => {
                    self.notice = Some(format!(
                        "{name}, line {}: event {} where event {} belongs: not a whole trace",
                        i + 1,
                        e.seq,
                        events.len()
                    ));
                    return;
                }
                Ok(_) => {}
                Err(err) => {
                    self.notice = Some(format!(
                        "{name}, line {}: not a tcpstep trace line ({err})",
                        i + 1
                    ));
                    return;
                }
            }
        }
        let Some(session) = session else {
            self.notice = Some(format!(
                "{name} has no session line: is it a trace from `relay record` or the page's download?"
            ));
            return;
        };
        // One fold gives the view, the notes and the findings together.
        self.view = View::default();
        self.checkpoints.clear();
        self.notes.clear();
        self.findings.clear();
        self.events.clear();
        for event in events {
            self.take(event);
        }
        self.session = Some(session);
        // The trace's hello brings the programs' source and the capture status.
        if hello.is_some() {
            self.hello = hello;
        }
        self.source = Source::Trace { name };
        self.scrubbed = None;
        self.selected = None;
        self.notice = None;
    }

    /// The view the page shows: the scrubbed moment, or the latest.
    pub fn shown(&self) -> &View {
        self.scrubbed.as_ref().map_or(&self.view, |s| &s.view)
    }

    /// How many events the shown view holds.
    pub fn shown_len(&self) -> usize {
        self.scrubbed.as_ref().map_or(self.events.len(), |s| s.at)
    }

    /// The latest note within what is shown: what just happened.
    pub fn latest_note(&self) -> Option<(u64, &Note)> {
        self.notes[..self.shown_len().min(self.notes.len())]
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, n)| n.as_ref().map(|n| (i as u64, n)))
    }

    /// The findings within what is shown.
    pub fn shown_findings(&self) -> &[Finding] {
        let shown = self.shown_len() as u64;
        let end = self.findings.partition_point(|f| f.seq < shown);
        &self.findings[..end]
    }

    /// The selected event's note.
    pub fn selected_note(&self) -> Option<&Note> {
        let seq = usize::try_from(self.selected_event()?.seq).ok()?;
        self.notes.get(seq)?.as_ref()
    }

    /// The selected event, if it is part of what is shown.
    pub fn selected_event(&self) -> Option<&Event> {
        let seq = usize::try_from(self.selected?).ok()?;
        (seq < self.shown_len())
            .then(|| self.events.get(seq))
            .flatten()
    }

    fn receive(&mut self, message: RelayMessage) {
        match message {
            RelayMessage::Hello(hello) => {
                self.link = Link::Live;
                // Reconnected to the same session: its history is about to be
                // sent again, and what we have is skipped as it arrives.
                self.begin(hello.session.clone());
                self.hello = Some(hello);
            }
            RelayMessage::Session(info) => self.begin(info),
            RelayMessage::Event(event) => self.event(event),
            // Events resume at `from_seq`; what we already have is skipped.
            RelayMessage::Resync { .. } => {}
            RelayMessage::Error { message } => self.notice = Some(message),
            RelayMessage::Viewers { count } => self.viewers = Some(count),
            // The page opens sessions by their URL (`open=`), not by command.
            RelayMessage::Opened { .. } => {}
            RelayMessage::Rooms { rooms } => self.rooms = rooms,
        }
    }

    /// Switches to `info`'s session, keeping the events if it is the same one.
    fn begin(&mut self, info: SessionInfo) {
        if self.session.as_ref().map(|s| s.id) != Some(info.id) {
            self.events.clear();
            self.notes.clear();
            self.findings.clear();
            self.view = View::default();
            self.checkpoints.clear();
            self.scrubbed = None;
            self.selected = None;
        }
        self.session = Some(info);
    }

    fn event(&mut self, event: Event) {
        let next = self.events.len() as u64;
        if event.seq < next {
            return; // a repeat, from history resent after a reconnect
        }
        if event.seq > next {
            self.notice = Some(format!(
                "missed events {next} to {}: the page may be incomplete until you reload",
                event.seq - 1
            ));
            return;
        }
        self.take(event);
    }

    /// Folds in the next event: its note and findings (from the view
    /// before it), then the view itself. Live and opened traces alike.
    fn take(&mut self, event: Event) {
        self.notes.push(explain(&self.view, &event));
        self.findings.extend(examine(&self.view, &event));
        self.view.apply(&event);
        self.checkpoints.note(&self.view);
        self.events.push(event);
    }

    /// Play or pause, as the relay last said.
    pub fn mode(&self) -> Mode {
        self.view
            .mode
            .or(self.session.as_ref().map(|s| s.mode))
            .unwrap_or(Mode::Paused)
    }

    pub fn is_live(&self) -> bool {
        self.link == Link::Live
    }

    /// The relay's HTTP address (for its downloads), from its WebSocket URL:
    /// `ws://h:p/ws` gives `http://h:p`. A relative `/ws` (the same origin,
    /// through trunk's proxy) gives the empty string: paths stay relative.
    pub fn relay_http_base(&self) -> Option<String> {
        let url = self.relay_url.strip_suffix("/ws")?;
        Some(if let Some(rest) = url.strip_prefix("ws://") {
            format!("http://{rest}")
        } else if let Some(rest) = url.strip_prefix("wss://") {
            format!("https://{rest}")
        } else {
            url.to_owned()
        })
    }

    /// What the relay's download paths take to name this page's session:
    /// `?session=ID` in a private session, nothing in the class session.
    pub fn download_query(&self) -> String {
        match self.hello.as_ref().and_then(|h| h.room.as_ref()) {
            Some(room) if !room.is_class() => format!("?session={}", room.id),
            _ => String::new(),
        }
    }
}
