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
            let (from_socket, to_socket) = self.ends(&captured.decoded);
            let segment = captured.into_segment(from_socket, to_socket, self.wall_start);
            self.emit(
                Actor::Wire,
                from_socket.map(|id| (id, None)),
                EventKind::Segment { segment },
            );
        }
    }

    /// Reports what the wire did to a segment (which the capture may never
    /// see: a dropped one never reaches the interface), numbered and named
    /// as captured segments are. Segments captured before it are reported
    /// first, so the stream keeps the wire's order.
    pub(crate) fn report_verdict(
        &self,
        action: protocol::WireAction,
        decoded: crate::capture::parse::Decoded,
        at: std::time::SystemTime,
    ) {
        self.drain_wire();
        let Some(wire) = &self.wire else {
            return;
        };
        let captured = lock(wire).witness(decoded, at);
        let (from_socket, to_socket) = self.ends(&captured.decoded);
        let segment = captured.into_segment(from_socket, to_socket, self.wall_start);
        self.emit(
            Actor::Wire,
            from_socket.map(|id| (id, None)),
            EventKind::WireVerdict { action, segment },
        );
    }

    /// The session's sockets at a segment's two ends, where they are its own.
    fn ends(
        &self,
        d: &crate::capture::parse::Decoded,
    ) -> (Option<protocol::SocketId>, Option<protocol::SocketId>) {
        let (from, to) = (d.from.to_string(), d.to.to_string());
        let sockets = lock(&self.sockets);
        (
            sockets.at(&from, &to, false),
            // A SYN is for the listener: no connection is named yet.
            sockets.at(&to, &from, d.flags.contains(&TcpFlag::Syn)),
        )
    }

    /// The session's capture as a pcap file, if capture is on.
    pub(super) fn pcap(&self) -> Option<Vec<u8>> {
        self.wire.as_ref().map(|wire| lock(wire).pcap())
    }
}
