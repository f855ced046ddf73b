//! What this relay says about itself to each viewer: its hello.
//!
//! The sessions themselves live in [`crate::rooms`].

use protocol::{CaptureStatus, Hello, Scenario, SessionInfo, PROTOCOL_VERSION};

/// The name a room had when the relay ran one session: code written against
/// it (benchmarks, tests) still builds. New code names [`crate::rooms::Room`].
pub type Host = crate::rooms::Room;

/// Why a command was not carried out (see [`crate::rooms::CommandError`]).
pub use crate::rooms::CommandError;

/// A hello, the one way the relay makes one: for a live session (above)
/// and for a recorded one (`record`).
pub(crate) fn hello(
    capture: CaptureStatus,
    scenarios: Vec<Scenario>,
    session: SessionInfo,
) -> Hello {
    Hello {
        protocol_version: PROTOCOL_VERSION,
        room: None,
        relay_version: env!("CARGO_PKG_VERSION").to_owned(),
        capture,
        scenarios,
        session,
        sources: crate::pair::sources(),
        ephemeral_ports: ephemeral_ports(),
        sandbox: crate::sandbox::status(),
    }
}

/// Where this machine's kernel picks a client's port from when the client
/// connects without binding, as `/proc/sys/net/ipv4/ip_local_port_range`
/// says; `None` where it cannot be read (the page then names Linux's default).
fn ephemeral_ports() -> Option<protocol::PortRange> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    protocol::PortRange::parse(&text)
}
