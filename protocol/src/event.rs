//! Events: everything a session's programs, their sockets and the kernel do,
//! in one ordered stream.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One thing that happened in a session.
///
/// Events are numbered from 0 in the order the relay observed them; `seq` has
/// no gaps, so a viewer can tell exactly what it has and what it lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the session's stream: 0, 1, 2, ...
    pub seq: u64,
    /// Microseconds since the session began, on a monotonic clock.
    pub t_us: u64,
    /// Who did it.
    pub actor: Actor,
    /// The socket it concerns, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<SocketId>,
    /// The socket's addresses, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuple: Option<FourTuple>,
    /// For a program's socket call: the line of its source that makes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<SourceLine>,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// A line of the relay's own source (see [`crate::Hello::sources`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceLine {
    /// The file, as in `Hello::sources`: `relay/src/pair/server.rs`.
    pub file: String,
    /// 1-based.
    pub line: u32,
}

/// Who an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The server program.
    Server,
    /// A client program, numbered from 0.
    Client(u32),
    /// The kernel, acting on its own (socket state changes).
    Kernel,
    /// The wire: segments captured on the loopback interface.
    Wire,
    /// The relay itself: session control (mode changes).
    Relay,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Server => f.write_str("server"),
            Actor::Client(k) => write!(f, "client {k}"),
            Actor::Kernel => f.write_str("kernel"),
            Actor::Wire => f.write_str("wire"),
            Actor::Relay => f.write_str("relay"),
        }
    }
}

/// A socket's identity for the life of a session. File descriptor numbers are
/// reused after `close()`; these are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SocketId(pub u32);

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A socket's two ends, written `127.0.0.1:PORT`. A listener has no remote end.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FourTuple {
    pub local: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

/// What a socket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SocketRole {
    /// Made by `socket()`, before it is bound, listening or connected.
    Fresh,
    /// The server's listening socket.
    Listener,
    /// A connection socket that `accept()` returned.
    Accepted,
    /// A client's connected socket.
    Connected,
}

/// TCP states as the kernel names them (RFC 9293 §3.3.2, and Linux's NEW_SYN_RECV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TcpState {
    Established,
    SynSent,
    SynRecv,
    #[serde(rename = "FIN_WAIT_1")]
    FinWait1,
    #[serde(rename = "FIN_WAIT_2")]
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    NewSynRecv,
}

impl TcpState {
    /// Linux's numbering (`include/net/tcp_states.h`), as `TCP_INFO` reports it.
    pub fn from_linux(n: u8) -> Option<TcpState> {
        use TcpState::*;
        Some(match n {
            1 => Established,
            2 => SynSent,
            3 => SynRecv,
            4 => FinWait1,
            5 => FinWait2,
            6 => TimeWait,
            7 => Close,
            8 => CloseWait,
            9 => LastAck,
            10 => Listen,
            11 => Closing,
            12 => NewSynRecv,
            _ => return None,
        })
    }

    /// The name the kernel and `ss` use: `ESTABLISHED`, `SYN_SENT`, ...
    pub fn name(self) -> &'static str {
        use TcpState::*;
        match self {
            Established => "ESTABLISHED",
            SynSent => "SYN_SENT",
            SynRecv => "SYN_RECV",
            FinWait1 => "FIN_WAIT_1",
            FinWait2 => "FIN_WAIT_2",
            TimeWait => "TIME_WAIT",
            Close => "CLOSE",
            CloseWait => "CLOSE_WAIT",
            LastAck => "LAST_ACK",
            Listen => "LISTEN",
            Closing => "CLOSING",
            NewSynRecv => "NEW_SYN_RECV",
        }
    }
}

/// The kernel's view of one socket at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelState {
    pub state: TcpState,
    /// Bytes received and not yet read by the program (`SIOCINQ`).
    pub recv_queue: u32,
    /// Bytes the program sent that the peer has not yet acknowledged (`SIOCOUTQ`).
    pub send_queue: u32,
    /// For a listener: connections completed and waiting for `accept()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_queue: Option<u32>,
    /// For a listener: the most the accept queue holds (the `listen()` backlog, as the kernel keeps it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog: Option<u32>,
}

/// A socket call with its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Call {
    Socket,
    Setsockopt {
        option: String,
        value: i32,
    },
    Bind {
        addr: String,
    },
    Listen {
        backlog: i32,
    },
    Accept,
    Connect {
        addr: String,
    },
    Send {
        #[serde(with = "crate::bytes")]
        bytes: Vec<u8>,
    },
    Recv {
        len: usize,
    },
    Getsockname,
    Getpeername,
    /// `shutdown(fd, how)`: `SHUT_WR` ends this side's sending (a FIN) while
    /// it can still receive.
    Shutdown {
        how: String,
    },
    Close,
}

impl Call {
    /// The system call's name: `accept`, `recv`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Call::Socket => "socket",
            Call::Setsockopt { .. } => "setsockopt",
            Call::Bind { .. } => "bind",
            Call::Listen { .. } => "listen",
            Call::Accept => "accept",
            Call::Connect { .. } => "connect",
            Call::Send { .. } => "send",
            Call::Recv { .. } => "recv",
            Call::Getsockname => "getsockname",
            Call::Getpeername => "getpeername",
            Call::Shutdown { .. } => "shutdown",
            Call::Close => "close",
        }
    }

    /// Whether a session holds this call until a viewer steps it (and the
    /// ladder draws it). `getsockname()` and `getpeername()` are made, and
    /// reported, but not stepped: they only ask the kernel for an address it
    /// already gave (by `bind`, `connect` or `accept`), so they change
    /// nothing on the wire or in any socket's state, and a step on them
    /// would show the learner nothing happening.
    pub fn is_stepped(&self) -> bool {
        !matches!(self, Call::Getsockname | Call::Getpeername)
    }
}

/// What a socket call returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CallResult {
    /// Success with nothing to show (bind, listen, connect, close, ...).
    Done,
    /// A new socket: from `socket()` or `accept()`.
    Socket {
        fd: i32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<String>,
    },
    /// An address, from `getsockname()` or `getpeername()`.
    Addr { addr: String },
    /// A count of bytes: `send()` accepted them, `recv()` returned them (0: end of stream).
    Bytes {
        n: usize,
        #[serde(with = "crate::bytes")]
        data: Vec<u8>,
    },
    /// The call failed.
    Error {
        /// The errno's name, `ECONNREFUSED`; empty if the error has none.
        errno: String,
        message: String,
    },
}

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "end", rename_all = "snake_case")]
pub enum Ending {
    /// It did everything it does.
    Completed,
    /// It stopped at an error, which it would print.
    Failed { message: String },
    /// Its session ended while it ran: reset, stopped, full, or closed
    /// because its server failed.
    Stopped,
}

/// Stepping mode of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Mode {
    /// Programs wait before each call until a viewer steps them.
    Paused,
    /// The relay releases the next waiting call every `interval_ms`.
    Playing { interval_ms: u64 },
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// A program has stopped before a call and waits to be released.
    CallWaiting { call: Call },
    /// A viewer (or play) released the call: the program is making it now.
    CallEntered { call: Call },
    /// The call is asleep in the kernel, waiting for something to happen.
    CallBlocked { call: Call },
    /// The call returned.
    CallReturned { call: Call, result: CallResult },
    /// One turn of a `recv_all` loop returned.
    RecvIteration {
        number: usize,
        asked: usize,
        got: usize,
        total: usize,
        #[serde(with = "crate::bytes")]
        bytes: Vec<u8>,
    },
    /// One `send()` of a `send_all` loop returned.
    SendIteration {
        number: usize,
        offered: usize,
        accepted: usize,
        total: usize,
    },
    /// A line the program printed, as the terminal shows it.
    Printed { line: String },
    /// A socket came into being (from `socket()` or `accept()`).
    SocketOpened {
        role: SocketRole,
        fd: i32,
        /// The kernel's cookie for the socket (`SO_COOKIE`): unique on the
        /// machine for as long as it runs, also across network namespaces,
        /// so the kernel's tracepoints can name this socket and no other.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cookie: Option<u64>,
    },
    /// A socket took on a role or an address (bound, listening, connected).
    SocketUpdated { role: SocketRole },
    /// The kernel's state of a socket changed.
    SocketState { state: KernelState },
    /// The program closed the socket: it is gone from the program, though the
    /// kernel may keep the connection a while (FIN_WAIT, TIME_WAIT).
    SocketClosed,
    /// A program ended.
    ActorEnded { ending: Ending },
    /// The session's stepping mode changed.
    ModeChanged { mode: Mode },
    /// The kernel itself said something of the socket (its tracepoints), at
    /// `at_us` on the session's clock: the moment the kernel did it, which
    /// may be before this event's `t_us` (the relay learns some words only
    /// once it can tell whose socket they concern).
    Kernel { at_us: u64, word: crate::KernelWord },
    /// A segment crossed the wire.
    Segment { segment: crate::Segment },
    /// The session's history reached the relay's limit of `limit` events:
    /// nothing more is recorded, and the session is paused. Reset to go on.
    HistoryFull { limit: u64 },
    /// The session ended on its own, not by a reset: the sandbox it ran in
    /// (a worker process) died or stopped answering, and `reason` says how.
    /// Nothing more comes from it; reset to start a new session.
    SessionLost { reason: String },
    /// The wire, in a sandboxed session whose scenario has wire rules, did
    /// `action` to `segment` (as the kernel sent it): dropped it, so it never
    /// arrives, or held it before it went on (its `segment` event follows
    /// when it does).
    WireVerdict {
        action: crate::WireAction,
        segment: crate::Segment,
    },
}
