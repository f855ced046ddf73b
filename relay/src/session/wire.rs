//! The wire, as the session reports it: captured segments, each naming the
//! session's sockets at its two ends.
//!
//! Capture and decoding are [`crate::capture`]'s; what only the session
//! knows is which of its sockets sent and received each segment, so the page
//! can tie a segment to a socket by id. The wire is drained before and after
//! every call as well as by the prober, so a segment lands in the stream
//! next to the call that caused it.

use protocol::{Actor, EventKind, TcpFlag};

use super::Shared;
use crate::sync::lock;

impl Shared {
    /// Reports every segment captured since the last look, naming the
    /// session's sockets at each end.
    pub(super) fn drain_wire(&self) {
        let Some(wire) = &self.wire else {
            return;
        };
        let mut wire = lock(wire);
        for captured in wire.drain() {
            let d = &captured.decoded;
            let (from, to) = (d.from.to_string(), d.to.to_string());
            let (from_socket, to_socket) = {
                let sockets = lock(&self.sockets);
                (
                    sockets.at(&from, &to, false),
                    // A SYN is for the listener: no connection is named yet.
                    sockets.at(&to, &from, d.flags.contains(&TcpFlag::Syn)),
                )
            };
            let segment = captured.into_segment(from_socket, to_socket, self.wall_start);
            self.emit(
                Actor::Wire,
                from_socket.map(|id| (id, None)),
                EventKind::Segment { segment },
            );
        }
    }

    /// The session's capture as a pcap file, if capture is on.
    pub(super) fn pcap(&self) -> Option<Vec<u8>> {
        self.wire.as_ref().map(|wire| lock(wire).pcap())
    }
}
