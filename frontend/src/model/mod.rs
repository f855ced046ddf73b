//! The page's model: relay messages in, view state out. Plain Rust, no web
//! APIs, so it is tested natively.
//!
//! [`Model`] keeps the connection's state, what the relay said in its hello,
//! and the current session's events, exactly once each and in order, however
//! often the connection drops and the relay resends its history. [`View`] is
//! those events folded into what the page draws.

mod view;

pub use view::{ActorStatus, CallView, Line, RecvAllView, SocketView, Turn, View};

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
    /// The latest thing the relay refused or we could not read, for the person to see.
    pub notice: Option<String>,
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
            notice: None,
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
            Action::Received(message) => self.receive(*message),
            Action::Garbled(text) => self.notice = Some(text),
            Action::Dismiss => self.notice = None,
        }
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
        }
    }

    /// Switches to `info`'s session, keeping the events if it is the same one.
    fn begin(&mut self, info: SessionInfo) {
        if self.session.as_ref().map(|s| s.id) != Some(info.id) {
            self.events.clear();
            self.view = View::default();
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
        self.view.apply(&event);
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
}
