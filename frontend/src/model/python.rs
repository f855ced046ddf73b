//! Where each program is in the Python rendering of the pair: its latest
//! call, looked up in `protocol::python`'s table.
//!
//! The relay reports the line of Rust each call comes from; the Python
//! line is worked out here from what the view already knows of the call:
//! which program made it, the call itself (a `setsockopt`'s option), the
//! role of the socket it was made on (the server asks its listener's name
//! and its connection's), and whether the session's client sends its
//! message in pieces.

use protocol::{
    python::{self, Context, Line, Program},
    Actor, Scenario,
};

use super::View;

/// The Python line `actor`'s latest call is made from, in the session of
/// `scenario`; `None` for an actor that runs no program or has made no call.
pub fn python_line(view: &View, scenario: Option<&Scenario>, actor: Actor) -> Option<Line> {
    let program = Program::of(actor)?;
    let call = view.calls.get(*view.latest_call.get(&actor)?)?;
    let role = call
        .socket
        .and_then(|id| view.sockets.get(&id))
        .map(|s| s.role);
    let context = Context {
        role,
        in_pieces: scenario.is_some_and(|s| s.chunk.is_some()),
    };
    python::line(program, &call.call, context)
}
