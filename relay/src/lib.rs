//! The tcpstep relay: real TCP on real kernel sockets, made visible.
//!
//! Read it in this order:
//!
//! - [`pair`]: the classic teaching pair (a server that reads exactly 16 bytes
//!   and replies, a client that greets it) as blocking socket calls in the
//!   textbook's order, each reported to an `Observer`. `relay server` and
//!   `relay client` run them from the terminal; [`errno`] names their errors.
//! - [`scenario`]: what a session's programs do, checked, as data.
//! - [`session`]: one run of the pair on threads behind a step gate, with the
//!   kernel's view of every socket and the calls that sleep in it.
//! - [`sandbox`]: each session in a worker process of its own, in a private
//!   user and network namespace, speaking to the relay over a pipe.
//! - [`netfilter`]: the wire in the learner's hands, in a sandbox: each
//!   segment through a netfilter queue, dropped or delayed by the rules.
//! - [`capture`]: the real segments on `lo` (libpcap), parsed, and as pcap.
//! - [`feed`]: the one ordered stream of a session's events, with history for
//!   late viewers and a bounded live side for everyone.
//! - [`rooms`]: the class session and the private ones, each a room with
//!   its session, feed and viewers, and the commands viewers send it;
//!   [`host`] says hello.
//! - [`hub`]: the HTTP side (axum): each room's WebSocket and downloads.
//! - [`record`]: a session played without a browser, as JSON lines and pcap.

pub mod capture;
pub mod errno;
pub mod feed;
pub mod host;
pub mod hub;
pub mod netfilter;
pub mod pair;
pub mod record;
pub mod rooms;
pub mod sandbox;
pub mod scenario;
pub mod session;
mod sync;
pub mod tracepoints;
