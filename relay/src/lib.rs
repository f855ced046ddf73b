//! The tcpstep relay: real TCP on real kernel sockets, made visible.
//!
//! [`pair`] holds the classic teaching pair (a server that reads exactly 16
//! bytes and replies, a client that greets it), written as blocking socket
//! calls in the textbook's order. The `relay` binary runs either half from the
//! terminal; the visualiser's session, kernel probes, capture and WebSocket hub
//! are built around the same code, so what the browser shows is what these
//! calls really do. [`errno`] names the errors they can meet.

pub mod capture;
pub mod errno;
pub mod feed;
pub mod host;
pub mod hub;
pub mod pair;
pub mod record;
pub mod scenario;
pub mod session;
