//! A socket closed with bytes its program never read: what the programs
//! did, what the kernel did with those bytes, and what a programmer would
//! change. Worked out from the calls and the wire of the session shown, so
//! it names that session's own counts (the classic pair's 17 sent, 16 read,
//! ack=18; another scenario's others).

use protocol::{Actor, Call, CallResult, SocketId, TcpFlag};

use super::{
    words::{capital, named, plural, printable},
    View,
};

/// A close with unread bytes, as the events before it show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadClose {
    /// The program that closed its socket.
    pub closer: Actor,
    pub fd: i32,
    /// The program at the other end, if it is one of the session's.
    pub peer: Option<Actor>,
    /// How many bytes the peer's program handed to its kernel on this
    /// connection: what its `send()`s accepted, and of a `send()` whose
    /// return is not reported yet, what the closer's kernel had received.
    pub sent: usize,
    /// How many bytes the closer's program read (what its `recv()`s returned).
    pub read: usize,
    /// How many bytes the kernel still held unread at the close.
    pub unread: u32,
    /// Those bytes, where the peer's sends show them.
    pub unread_bytes: Vec<u8>,
    /// The latest acknowledgement (relative) the closer's kernel sent the
    /// peer before the close, if the wire was captured.
    pub acked: Option<u32>,
    /// Whether the peer's FIN had arrived (it takes a sequence number too).
    pub peer_fin: bool,
}

/// What the view `before` knows of socket `id` being closed with bytes
/// unread; `None` if it had none unread (or the kernel never said).
pub fn unread_close(before: &View, id: SocketId) -> Option<UnreadClose> {
    let socket = before.sockets.get(&id)?;
    let unread = socket.kernel.as_ref()?.recv_queue;
    if unread == 0 {
        return None;
    }
    let tuple = socket.tuple.as_ref()?;
    let remote = tuple.remote.as_deref()?;
    // The other end: the session's socket with the same two addresses, reversed.
    let peer = before.sockets.values().find(|p| {
        p.tuple
            .as_ref()
            .is_some_and(|t| t.local == remote && t.remote.as_deref() == Some(&tuple.local))
    });
    let mut stream = Vec::new();
    // The peer's send() still in the kernel: its return can be reported
    // after the closer has already read its bytes and closed.
    let mut in_flight: &[u8] = &[];
    let mut read = 0;
    // The connection's calls all come after both its sockets opened: the
    // scan starts there, not at the session's start (a crowd of 1,000
    // closes as many connections with a byte unread).
    let since = peer.map_or(0, |p| p.opened_seq.min(socket.opened_seq));
    let calls = before
        .calls
        .range(before.calls.partition_point(|c| c.first_seq < since)..before.calls.len());
    for c in calls {
        match (&c.call, &c.result) {
            (Call::Send { bytes }, Some(CallResult::Bytes { n, .. }))
                if peer.is_some_and(|p| c.socket == Some(p.id)) =>
            {
                stream.extend_from_slice(&bytes[..(*n).min(bytes.len())]);
            }
            (Call::Send { bytes }, None)
                if c.entered_seq.is_some() && peer.is_some_and(|p| c.socket == Some(p.id)) =>
            {
                in_flight = bytes;
            }
            (Call::Recv { .. }, Some(CallResult::Bytes { n, .. })) if c.socket == Some(id) => {
                read += n;
            }
            _ => {}
        }
    }
    // What the closer's kernel received (read, or held unread) came from
    // the peer's sends: from the one in flight, for what the returned ones
    // do not account for.
    let received = read + unread as usize;
    let missing = received.saturating_sub(stream.len()).min(in_flight.len());
    stream.extend_from_slice(&in_flight[..missing]);
    let unread_bytes = stream
        .get(read..read.saturating_add(unread as usize))
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    // The RST (if it has left already) is not what acknowledged them. The
    // view remembers each direction's latest segment but a RST, and its
    // FIN: no search through the session's segments.
    let way = |from: &str, to: &str| before.directions.get(&(from.to_owned(), to.to_owned()));
    let acked = way(&tuple.local, remote)
        .and_then(|w| before.segments.get(w.last_not_rst?))
        .map(|(_, s)| s)
        .filter(|s| s.has(TcpFlag::Ack))
        .map(|s| s.rel_ack);
    let peer_fin = way(remote, &tuple.local).is_some_and(|w| w.fin);
    Some(UnreadClose {
        closer: socket.owner,
        fd: socket.fd,
        peer: peer.map(|p| p.owner),
        sent: stream.len(),
        read,
        unread,
        unread_bytes,
        acked,
        peer_fin,
    })
}

impl UnreadClose {
    /// The whole story in plain words, for the finding and the RST's note.
    /// `rst_ack` is the RST's own acknowledgement number (relative), when
    /// the note is about the RST itself.
    pub fn advice(&self, rst_ack: Option<u32>) -> String {
        let peer = self.peer.map_or_else(|| "the other end".to_owned(), named);
        let closer = named(self.closer);
        let n = self.unread;
        let bytes = if self.unread_bytes.is_empty() {
            String::new()
        } else {
            format!(" ({:?})", printable(&self.unread_bytes))
        };
        let design = if self.closer == Actor::Server {
            "This is what the chapter's server does by design: it reads exactly the length it expects and closes, whatever the client sent. "
        } else {
            ""
        };
        let did = if self.sent > 0 {
            format!(
                "Here {peer} sent {} and {closer} read {}, then closed fd {}: {}{bytes} {} still unread. ",
                plural(self.sent as u64, "byte"),
                self.read,
                self.fd,
                plural(n, "byte"),
                if n == 1 { "was" } else { "were" }
            )
        } else {
            format!(
                "Here {closer} read {}, then closed fd {} with {} more unread. ",
                plural(self.read as u64, "byte"),
                self.fd,
                plural(n, "byte")
            )
        };
        // Acknowledging everything sent means ack = sent + 1: the SYN took
        // sequence number 0; the peer's FIN, once it came, takes one more.
        let data_ack = self.sent as u32 + 1;
        let with_fin = |ack: u32| {
            if self.peer_fin && ack == data_ack + 1 {
                format!(" and one for {peer}'s FIN")
            } else {
                String::new()
            }
        };
        let acked = match self.acked {
            Some(ack) if self.sent > 0 && ack >= data_ack => format!(
                "{}'s kernel had already acknowledged them (its ACKs said ack={ack}: all {}, plus one for the SYN{}): TCP acknowledges bytes when they reach the receive buffer, not when a program reads them. ",
                capital(&closer),
                plural(self.sent as u64, "byte"),
                with_fin(ack)
            ),
            Some(ack) => format!(
                "{}'s kernel had acknowledged up to ack={ack} (TCP acknowledges bytes when they reach the receive buffer, not when a program reads them). ",
                capital(&closer)
            ),
            // Without the wire there is no ACK to quote: say how TCP
            // works, and no number nobody saw.
            None => format!(
                "TCP acknowledges bytes when they reach the receive buffer, not when a program reads them (the wire was not captured, so the page cannot show what {closer}'s kernel acknowledged). "
            ),
        };
        let rst = match rst_ack {
            Some(ack) => {
                let counted = if self.sent > 0 && ack >= data_ack {
                    format!(
                        " (all {}, plus one for the SYN{})",
                        plural(self.sent as u64, "byte"),
                        with_fin(ack)
                    )
                } else {
                    String::new()
                };
                format!(
                    "So the RST still says ack={ack}{counted}: the bytes were received, and then discarded by close(). "
                )
            }
            None => "At close() the kernel discards them and sends RST instead of FIN, to say that data was lost. ".to_owned(),
        };
        format!(
            "{design}{did}{acked}{rst}To close cleanly, read until the peer is done (until recv() returns 0, after its FIN) before closing, or have both sides agree on message lengths (a fixed size both use, a length sent first, or a delimiter), so the reader takes exactly what is sent."
        )
    }
}
