//! The messages of the WebSocket: what the relay sends and what viewers send back.

use serde::{Deserialize, Serialize};

use crate::{Actor, Event, Mode, Scenario};

/// Bumped whenever a message changes shape in a way an older viewer would misread.
pub const PROTOCOL_VERSION: u32 = 1;

/// The most bytes a viewer's message may have; larger ones are refused.
pub const MAX_COMMAND_BYTES: usize = 4096;

/// A message from the relay to a viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RelayMessage {
    /// The first message on every connection.
    Hello(Hello),
    /// A new session began (after a reset): forget the old one's events; this
    /// session's start with `seq` 0.
    Session(SessionInfo),
    /// One event of the current session.
    Event(Event),
    /// This viewer fell behind and missed live events; the relay resends the
    /// session's history from `from_seq` on, then continues live.
    Resync { from_seq: u64 },
    /// A viewer's message could not be carried out. The connection stays open.
    Error { message: String },
    /// How many viewers watch (and may step) the session now: sent when one
    /// joins or leaves. Every viewer sees every other viewer's steps.
    Viewers { count: u32 },
    /// The answer to [`Command::Open`]: a new private session, `room` its
    /// id; the viewer joins it at `/ws?session=ROOM` (the page at
    /// `?session=ROOM`).
    Opened { room: String },
    /// The answer to [`Command::Rooms`]: the class session first, then each
    /// asked-for private session that still runs.
    Rooms { rooms: Vec<RoomSummary> },
}

/// Which of the relay's sessions a viewer is in, and what it may do there.
///
/// A relay keeps one **class session** (what `/ws` opens) and any number of
/// **private sessions** (up to its limit), each at `/ws?session=ID`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    /// [`RoomInfo::CLASS`], or a private session's id as `?session=` carries it.
    pub id: String,
    /// Whether this viewer may step, play, pause and reset the session:
    /// always in a private one; in the class one unless the relay has a
    /// presenter and this viewer does not hold the key.
    pub drives: bool,
    /// Whether the class session is driven by a presenter alone.
    pub presenter: bool,
    /// The most sessions the relay runs at once, the class one included.
    pub max_sessions: u32,
    /// How long a private session with nobody watching lasts, in seconds.
    pub idle_end_s: u64,
}

impl RoomInfo {
    /// The class session's id.
    pub const CLASS: &'static str = "class";

    /// Whether this is the class session.
    pub fn is_class(&self) -> bool {
        self.id == Self::CLASS
    }
}

/// One session a viewer may join, as [`RelayMessage::Rooms`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    /// [`RoomInfo::CLASS`] or a private session's id.
    pub id: String,
    /// The name of the scenario it runs.
    pub scenario: String,
    /// How many watch it now.
    pub viewers: u32,
}

/// What a viewer learns on connecting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol_version: u32,
    /// The relay's own version (its Cargo package version).
    pub relay_version: String,
    /// Whether the relay captures segments on the wire, and if not, why.
    pub capture: CaptureStatus,
    /// The scenarios a reset may ask for, by name.
    pub scenarios: Vec<Scenario>,
    /// The session now running; its history follows as `event` messages.
    pub session: SessionInfo,
    /// Which of the relay's sessions this is and whether this viewer drives
    /// it; absent in a recorded trace (and from relays before rooms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomInfo>,
    /// The source of the programs as this relay runs them (compiled into it),
    /// so a viewer can show the line each program is at.
    #[serde(default)]
    pub sources: Vec<SourceFile>,
    /// The range the relay's kernel picks a client's local port from when
    /// the client connects without binding (Linux's
    /// `net.ipv4.ip_local_port_range`), if the relay could read it. Traces
    /// recorded before this field decode without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_ports: Option<PortRange>,
    /// Whether each session runs in a sandbox of its own, and if not, why.
    /// Traces recorded before this field decode as "not sandboxed".
    #[serde(default)]
    pub sandbox: SandboxStatus,
}

/// Whether sessions run each in a private user and network namespace of
/// their own (their server at 127.0.0.1:3000, their loopback their own), or
/// in the relay's process in the host's namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxStatus {
    pub enabled: bool,
    /// What the sandbox gives, or why there is none and what that means.
    pub reason: String,
}

/// An inclusive range of ports, `low..=high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub low: u16,
    pub high: u16,
}

impl PortRange {
    /// Linux's default ephemeral range (`net.ipv4.ip_local_port_range`).
    pub const LINUX_DEFAULT: PortRange = PortRange {
        low: 32768,
        high: 60999,
    };

    /// Reads a range as `/proc/sys/net/ipv4/ip_local_port_range` writes
    /// it: two numbers separated by white space.
    pub fn parse(text: &str) -> Option<PortRange> {
        let mut numbers = text.split_whitespace().map(str::parse::<u16>);
        let (Some(Ok(low)), Some(Ok(high)), None) =
            (numbers.next(), numbers.next(), numbers.next())
        else {
            return None;
        };
        (low <= high).then_some(PortRange { low, high })
    }

    pub fn contains(self, port: u16) -> bool {
        (self.low..=self.high).contains(&port)
    }
}

/// One source file of the programs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// `relay/src/pair/server.rs`
    pub path: String,
    pub text: String,
}

/// Whether segments on the wire are captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureStatus {
    pub enabled: bool,
    /// Why not, and how to turn it on; or what is captured.
    pub reason: String,
}

/// A session: which scenario, where its server listens, how it steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Counts sessions since the relay started: 1, 2, ...
    pub id: u64,
    pub scenario: Scenario,
    /// The server's listening address, `127.0.0.1:PORT`.
    pub server_addr: String,
    pub mode: Mode,
}

/// A message from a viewer to the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Release one waiting call: the named actor's, or, without one, the call
    /// that has waited longest.
    Step {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor: Option<Actor>,
    },
    /// Release waiting calls one at a time, every `interval_ms` milliseconds.
    Play { interval_ms: u64 },
    /// Stop playing: calls wait for a step again.
    Pause,
    /// End the session (closing every socket it has) and start a new one.
    Reset {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scenario: Option<Scenario>,
    },
    /// Start a private session of this session's scenario, answered by
    /// [`RelayMessage::Opened`] (or an error naming the limit reached).
    Open,
    /// Which of these private sessions (by id) still run, answered by
    /// [`RelayMessage::Rooms`]. A relay lists only the ids it is asked
    /// about: holding an id is what lets one join a private session.
    Rooms { ids: Vec<String> },
}
