//! What the tcpstep relay and the visualiser say to each other.
//!
//! The relay (native) and the frontend (wasm) both depend on this crate, so it
//! holds nothing that ties it to one target: no tokio, no web-sys, only serde
//! types. Everything travels as JSON text frames on the relay's `/ws`.
//!
//! # A connection, in order
//!
//! 1. The relay sends [`RelayMessage::Hello`]: protocol and relay version,
//!    capture status (with the reason when it is off), the scenarios on offer
//!    and the running [`SessionInfo`].
//! 2. It then sends the session's whole history, one [`RelayMessage::Event`]
//!    per [`Event`] from `seq` 0, followed without gap or repeat by live events.
//! 3. The viewer may send a [`Command`] at any time: `step`, `play`, `pause`,
//!    `reset`. A command that cannot be carried out is answered by
//!    [`RelayMessage::Error`]; the connection stays open.
//! 4. After a reset every viewer receives [`RelayMessage::Session`] and the new
//!    session's events from `seq` 0.
//! 5. A viewer that falls behind receives [`RelayMessage::Resync`] and the
//!    history again from the first event it missed.
//! 6. Whenever a viewer joins or leaves, every viewer receives
//!    [`RelayMessage::Viewers`]: how many watch the session.
//! 7. A relay runs a class session (`/ws`) and private sessions
//!    (`/ws?session=ID`), each with its own viewers and events; the hello's
//!    [`RoomInfo`] says which, and whether this viewer drives it.
//!    [`Command::Open`] starts a private session ([`RelayMessage::Opened`]);
//!    so does connecting to `/ws?session=ID&open=SCENARIO` with a new id
//!    (how the page does it, so that a load balancer with affinity on the
//!    id sends the session where it will run). [`Command::Rooms`] asks which
//!    still run ([`RelayMessage::Rooms`]).
//!
//! # Events
//!
//! [`EventKind`] lists what is reported: each socket call waiting, entered,
//! blocked and returned ([`Call`], [`CallResult`]); each `recv_all` and
//! `send_all` turn; each printed line; each socket's birth, role, kernel
//! state ([`KernelState`], [`TcpState`]) and close; each [`Segment`] on the
//! wire, with its flags and options; each program's end; and changes of
//! stepping [`Mode`].
//!
//! [`classic`] holds the fixed parameters of the classic pair; [`python`]
//! holds the pair written in Python, as the chapter writes it, and which of
//! its lines makes each call.

mod bytes;
pub mod classic;
mod event;
mod kernel_word;
mod message;
pub mod python;
mod scenario;
mod segment;
pub mod wire;

pub use event::{
    Actor, Call, CallResult, Ending, Event, EventKind, FourTuple, KernelState, Mode, SocketId,
    SocketRole, SourceLine, TcpState,
};
pub use kernel_word::{KernelWord, Probe};
pub use message::{
    CaptureStatus, Command, Hello, PortRange, RelayMessage, RoomInfo, RoomSummary, SandboxStatus,
    SessionInfo, SourceFile, MAX_COMMAND_BYTES, PROTOCOL_VERSION,
};
pub use scenario::Scenario;
pub use segment::{Segment, TcpFlag, TcpOption};
pub use wire::{WireAction, WireRules};
