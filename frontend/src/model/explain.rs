//! Plain-language notes on what an event means, derived from the events
//! themselves (never written for one scenario), with the RFC section where
//! one applies.

use protocol::{Call, CallResult, Event, EventKind, Segment, TcpFlag, TcpState};

use super::{unread::unread_close, words::state_text, View};

/// A note on one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    /// The RFC section that says why, as (label, address).
    pub rfc: Option<(&'static str, &'static str)>,
}

const HANDSHAKE: (&str, &str) = (
    "RFC 9293 §3.5",
    "https://www.rfc-editor.org/rfc/rfc9293#section-3.5",
);
const CLOSING: (&str, &str) = (
    "RFC 9293 §3.6",
    "https://www.rfc-editor.org/rfc/rfc9293#section-3.6",
);
const RESET: (&str, &str) = (
    "RFC 9293 §3.5.2",
    "https://www.rfc-editor.org/rfc/rfc9293#section-3.5.2",
);
const DATA_LOSS: (&str, &str) = (
    "RFC 2525 §2.17",
    "https://www.rfc-editor.org/rfc/rfc2525#page-50",
);
const STREAM: (&str, &str) = (
    "RFC 9293 §3.4",
    "https://www.rfc-editor.org/rfc/rfc9293#section-3.4",
);
const RETRANSMIT: (&str, &str) = (
    "RFC 6298 §5",
    "https://www.rfc-editor.org/rfc/rfc6298#section-5",
);

fn note(text: String, rfc: Option<(&'static str, &'static str)>) -> Option<Note> {
    Some(Note { text, rfc })
}

/// What `event` means, given the `before` view of everything that came before it.
pub fn explain(before: &View, event: &Event) -> Option<Note> {
    match &event.kind {
        EventKind::Segment { segment } => explain_segment(before, segment),
        EventKind::CallBlocked { call } => explain_blocked(call),
        EventKind::CallReturned { call, result } => explain_returned(call, result),
        EventKind::SocketState { state } => {
            let socket = event.socket.and_then(|id| before.sockets.get(&id))?;
            let was = socket.kernel.as_ref();
            match (state.accept_queue, was.and_then(|k| k.accept_queue)) {
                (Some(now), Some(then)) if now > then => return note(
                    format!(
                        "The kernel completed a handshake on its own and queued the connection ({now} waiting, backlog {}): accept() will return it without any more traffic.",
                        state.backlog.unwrap_or(0)
                    ),
                    Some(HANDSHAKE),
                ),
                _ => {}
            }
            if was.map(|k| k.state) == Some(state.state) {
                return None;
            }
            let why = match state.state {
                TcpState::Established => "the handshake is complete: data can flow both ways",
                TcpState::CloseWait => "the peer sent FIN: it will send no more, but this side can still send, and should close",
                TcpState::FinWait1 => "this side sent FIN and waits for it to be acknowledged",
                TcpState::FinWait2 => "this side's FIN was acknowledged; the peer may still send until it closes too",
                TcpState::TimeWait => "both sides closed; this side waits (2 MSL) so late segments of this connection cannot confuse a new one",
                TcpState::LastAck => "both sides closed; this side waits for the ACK of its FIN",
                TcpState::Close if was.is_some_and(|k| k.state == TcpState::Established) => {
                    "the connection is gone: it was reset"
                }
                TcpState::Close
                    if was.is_some_and(|k| {
                        matches!(k.state, TcpState::FinWait1 | TcpState::FinWait2 | TcpState::Closing)
                    }) =>
                {
                    "the socket itself is finished; Linux keeps the connection in a small TIME-WAIT record instead (Linux: TIME_WAIT), which the kernel's connection table reports next"
                }
                _ => return None,
            };
            note(
                format!("Now {}: {why}.", state_text(state.state)),
                Some(CLOSING),
            )
        }
        _ => None,
    }
}

fn explain_segment(before: &View, s: &Segment) -> Option<Note> {
    let syn = s.has(TcpFlag::Syn);
    if syn && !s.has(TcpFlag::Ack) {
        let again = before
            .segments
            .iter()
            .any(|(_, p)| p.from == s.from && p.seq == s.seq && p.has(TcpFlag::Syn));
        if again {
            return note(
                format!("{} sends its SYN again: the first got no answer (a full accept queue drops it), so the kernel retried after its retransmission timeout.", s.from),
                Some(RETRANSMIT),
            );
        }
        return note(
            format!("{} asks to open a connection: SYN, with its initial sequence number {} and the options it offers.", s.from, s.seq),
            Some(HANDSHAKE),
        );
    }
    if syn {
        return note(
            "The server's kernel answers the SYN by itself, SYN+ACK, acknowledging the client's sequence number + 1: no program call is involved.".to_owned(),
            Some(HANDSHAKE),
        );
    }
    if s.has(TcpFlag::Rst) {
        // The sender's program closed (or is closing: the RST leaves during
        // the close() call) its socket with bytes it never read.
        let closing = |id| {
            before
                .calls
                .iter()
                .any(|c| c.socket == Some(id) && c.call == Call::Close)
        };
        let unread = s
            .from_socket
            .filter(|&id| closing(id))
            .and_then(|id| unread_close(before, id));
        if let Some(unread) = unread {
            return note(
                format!(
                    "{} resets the connection instead of closing it: its program closed the socket with {} byte(s) still unread, so the kernel signals that data was lost. {}",
                    s.from,
                    unread.unread,
                    unread.advice(Some(s.rel_ack))
                ),
                Some(DATA_LOSS),
            );
        }
        if before.refuses(s) {
            return note(
                format!(
                    "Nothing listens at {}: the kernel refuses the connection with RST.",
                    s.from
                ),
                Some(RESET),
            );
        }
        return note(
            format!("{} resets the connection: a segment arrived for a connection it has already closed.", s.from),
            Some(RESET),
        );
    }
    if s.has(TcpFlag::Fin) {
        return note(
            format!("{} has nothing more to send: FIN. It can still receive until the other side closes too.", s.from),
            Some(CLOSING),
        );
    }
    if s.len > 0 {
        return note(
            format!(
                "{} bytes of data, numbered {} to {}: TCP numbers bytes, not messages, and the receiver acknowledges byte counts.",
                s.len,
                s.rel_seq,
                s.rel_seq as usize + s.len - 1
            ),
            Some(STREAM),
        );
    }
    if s.rel_seq == 1 && s.rel_ack == 1 {
        return note(
            "The third segment of the handshake: both kernels now consider the connection ESTABLISHED, whether or not any program has called accept(): accept() only hands over a connection that already exists.".to_owned(),
            Some(HANDSHAKE),
        );
    }
    note(
        format!(
            "An acknowledgement: {} has everything up to byte {}.",
            s.from,
            s.rel_ack.saturating_sub(1)
        ),
        Some(STREAM),
    )
}

fn explain_blocked(call: &Call) -> Option<Note> {
    let text = match call {
        Call::Accept => "accept() sleeps in the kernel: no completed connection is waiting in the accept queue yet.",
        Call::Recv { .. } => "recv() sleeps in the kernel: nothing has arrived to read yet.",
        Call::Connect { .. } => "connect() sleeps until the SYN is answered; if it was dropped, the kernel sends it again after a timeout.",
        Call::Send { .. } => "send() sleeps: the send buffer is full until the peer acknowledges (and reads) more.",
        _ => return None,
    };
    note(text.to_owned(), None)
}

fn explain_returned(call: &Call, result: &CallResult) -> Option<Note> {
    match (call, result) {
        (Call::Recv { len }, CallResult::Bytes { n: 0, .. }) => note(
            format!("recv({len}) returned 0: end of stream. The peer closed its side (FIN); no more data will come."),
            Some(CLOSING),
        ),
        (Call::Recv { len }, CallResult::Bytes { n, .. }) if n < len => note(
            format!("recv({len}) returned only {n} bytes: recv returns what has arrived, not what was asked for. That is why recv_all loops."),
            Some(STREAM),
        ),
        (Call::Send { bytes }, CallResult::Bytes { n, .. }) if *n < bytes.len() => note(
            format!("send() took only {n} of {} bytes: the send buffer was nearly full. send_all offers the rest.", bytes.len()),
            Some(STREAM),
        ),
        (Call::Connect { .. }, CallResult::Error { errno, .. }) if errno == "ECONNREFUSED" => note(
            "connect() failed with ECONNREFUSED: the kernel answered the SYN with RST because nothing listens on that port.".to_owned(),
            Some(RESET),
        ),
        (Call::Accept, CallResult::Socket { peer, .. }) => note(
            format!(
                "accept() returns a new socket for the connection from {}: the listening socket goes on listening.",
                peer.as_deref().unwrap_or("the client")
            ),
            None,
        ),
        _ => None,
    }
}

/// Each event's note, in order: the note of event `i` is `notes[i]`.
pub fn explain_all(events: &[Event]) -> Vec<Option<Note>> {
    let mut view = View::default();
    events
        .iter()
        .map(|e| {
            let n = explain(&view, e);
            view.apply(e);
            n
        })
        .collect()
}
