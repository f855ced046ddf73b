//! Where the numbers on the page come from, for a reader who would
//! otherwise have to guess: relative sequence numbers, the client's port,
//! the programs' file descriptors. Each is worked out from the events of the
//! session shown, never written for one scenario.

use protocol::{Actor, Call, PortRange, Segment, SocketId, SocketRole, TcpFlag};

use super::{words::named, Note, View};

const ISN: (&str, &str) = (
    "RFC 9293 §3.4.1",
    "https://www.rfc-editor.org/rfc/rfc9293#section-3.4.1",
);
const RESET: (&str, &str) = (
    "RFC 9293 §3.5.2",
    "https://www.rfc-editor.org/rfc/rfc9293#section-3.5.2",
);

/// What one direction's relative numbers count from. The capture counts
/// each direction from its SYN's sequence number, or, when it saw no SYN
/// that way, from the first sequence number it saw (as Wireshark does):
/// only the first is an initial sequence number (ISN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// That direction's SYN is on the page: its sequence number is the ISN.
    Isn(u32),
    /// No SYN that way on the page: the first sequence number seen that way.
    FirstSeen(u32),
    /// Nothing seen that way yet: nothing to count from (the capture then
    /// gives a relative acknowledgment of 0, which means nothing).
    Unseen,
}

/// What a segment's relative numbers count from: its sender's sequence
/// space, and (when it acknowledges) its receiver's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Initial {
    /// The sender's base: `seq - rel_seq`.
    pub sender: Base,
    /// The receiver's base, from the acknowledgment (`ack - rel_ack`);
    /// `None` without the ACK flag.
    pub receiver: Option<Base>,
}

/// The segments of `view` that came before event `at` (sequence numbers
/// of events), in order.
fn before(view: &View, at: u64) -> impl DoubleEndedIterator<Item = &(u64, Segment)> + Clone {
    view.segments
        .range(0..view.segments.partition_point(|(seq, _)| *seq < at))
}

/// A SYN from `from` to `to` with sequence number `seq`, among `earlier`.
fn syn_among<'a>(
    earlier: impl DoubleEndedIterator<Item = &'a (u64, Segment)>,
    from: &str,
    to: &str,
    seq: u32,
) -> Option<&'a Segment> {
    earlier
        .rev()
        .map(|(_, p)| p)
        .find(|p| p.from == from && p.to == to && p.seq == seq && p.has(TcpFlag::Syn))
}

/// What `s` (the segment of event `at`) counts its numbers from, as far as
/// `view`, the view of a moment at or after it, shows: a number is called
/// an ISN only when that direction's SYN is on the page.
pub fn initial(view: &View, at: u64, s: &Segment) -> Initial {
    let earlier = before(view, at);
    let sender_base = s.seq.wrapping_sub(s.rel_seq);
    let sender = if s.has(TcpFlag::Syn)
        || syn_among(earlier.clone(), &s.from, &s.to, sender_base).is_some()
    {
        Base::Isn(sender_base)
    } else {
        Base::FirstSeen(sender_base)
    };
    let receiver = s.has(TcpFlag::Ack).then(|| {
        let base = s.ack.wrapping_sub(s.rel_ack);
        if syn_among(earlier.clone(), &s.to, &s.from, base).is_some() {
            Base::Isn(base)
        } else if earlier
            .clone()
            .any(|(_, p)| p.from == s.to && p.to == s.from)
        {
            Base::FirstSeen(base)
        } else {
            Base::Unseen
        }
    });
    Initial { sender, receiver }
}

/// The bare SYN that the RST `s` (event `at`) answers, if it answers one:
/// a reset from an address with no connection, which RFC 9293 numbers on
/// its own terms (seq 0, ack = the SYN's sequence number + 1).
pub fn answered_syn<'a>(view: &'a View, at: u64, s: &Segment) -> Option<&'a Segment> {
    if !s.has(TcpFlag::Rst) || !s.has(TcpFlag::Ack) {
        return None;
    }
    before(view, at)
        .rev()
        .map(|(_, p)| p)
        .find(|p| p.from == s.to && p.to == s.from)
        .filter(|p| p.has(TcpFlag::Syn) && !p.has(TcpFlag::Ack) && s.ack == p.seq.wrapping_add(1))
}

/// Why the page shows `seq=1` where the wire says 3,870,112,001: what each
/// direction's relative numbers count from, and how they follow from it.
/// `s` is the segment of event `at`; `view` is of a moment at or after it.
pub fn relative_numbers(view: &View, at: u64, s: &Segment) -> Note {
    if let Some(syn) = answered_syn(view, at, s).filter(|_| s.seq == 0) {
        return Note {
            text: format!(
                "This RST answers {}'s SYN, and nothing at {} had a connection to answer from: no SYN of its own, so no initial sequence number. RFC 9293 says how such a reset is numbered: a segment without ACK is answered with sequence number 0 and an acknowledgment of the segment's sequence number plus its length, the SYN counting one. So seq = 0, and ack = {} + 1 = {}, the SYN's sequence number + 1 (relative to {}'s ISN: {}).",
                s.to,
                s.from,
                syn.seq,
                s.ack,
                s.to,
                s.rel_ack
            ),
            rfc: Some(RESET),
        };
    }
    let isn = initial(view, at, s);
    let seq = match isn.sender {
        Base::Isn(base) => format!(
            "{}'s initial sequence number (ISN) on this connection is {base}: its SYN carried it, and the page counts from it, as Wireshark does: relative = absolute − ISN, so {} − {base} = {}.",
            s.from, s.seq, s.rel_seq
        ),
        // The sender's base is never unseen: `s` itself was seen.
        Base::FirstSeen(_) | Base::Unseen => {
            let base = s.seq.wrapping_sub(s.rel_seq);
            format!(
                "The page saw no SYN from {} on this connection, so it does not know its initial sequence number: it counts from the first sequence number it saw from {}, {base}, as Wireshark does then: relative = absolute − {base}, so {} − {base} = {}.",
                s.from, s.from, s.seq, s.rel_seq
            )
        }
    };
    let ack = match isn.receiver {
        Some(Base::Isn(base)) => format!(
            " Its acknowledgment counts from the other direction's ISN, {base} ({}'s, from its SYN): {} − {base} = {}.",
            s.to, s.ack, s.rel_ack
        ),
        Some(Base::FirstSeen(base)) => format!(
            " Its acknowledgment counts from the first sequence number the page saw from {} (no SYN of its was seen), {base}: {} − {base} = {}.",
            s.to, s.ack, s.rel_ack
        ),
        Some(Base::Unseen) => format!(
            " The page had seen nothing from {} before this segment, so it has nothing to count the acknowledgment from: only the absolute number, {}, means something.",
            s.to, s.ack
        ),
        None => String::new(),
    };
    let any_isn = matches!(isn.sender, Base::Isn(_))
        || isn.receiver.is_some_and(|b| matches!(b, Base::Isn(_)));
    let why = if any_isn {
        " Each side picks its ISN at random for every connection, so absolute numbers differ from run to run and say nothing to a reader. The SYN itself takes one sequence number (relative 0), so the first byte of data is byte 1, and acknowledging N bytes means ack = N + 1."
    } else {
        ""
    };
    Note {
        text: format!("Relative numbers: {seq}{ack}{why}"),
        rfc: Some(ISN),
    }
}

/// The session's socket that sent `s`: the one the relay named, or else
/// the one whose addresses it later showed. A SYN leaves before the relay
/// knows its socket's address, so the capture cannot name its sender.
pub fn sender(view: &View, s: &Segment) -> Option<SocketId> {
    s.from_socket
        .or_else(|| socket_between(view, &s.from, &s.to))
}

/// The session's socket that received `s` (for a SYN, the listener).
pub fn receiver(view: &View, s: &Segment) -> Option<SocketId> {
    s.to_socket.or_else(|| socket_between(view, &s.to, &s.from))
}

/// The socket at `local` talking to `remote` (or listening at `local`).
fn socket_between(view: &View, local: &str, remote: &str) -> Option<SocketId> {
    let found = |listening: bool| {
        view.sockets.values().find(|k| {
            k.tuple.as_ref().is_some_and(|t| {
                t.local == local
                    && match &t.remote {
                        Some(r) => !listening && r == remote,
                        None => listening,
                    }
            })
        })
    };
    found(false).or_else(|| found(true)).map(|k| k.id)
}

/// The port of an address written `host:port`.
pub fn port_of(addr: &str) -> Option<u16> {
    addr.rsplit_once(':')?.1.parse().ok()
}

/// The most calls looked through for the bind of one socket: a socket is
/// bound, if at all, among the first calls its program makes on it.
const BIND_SEARCH: usize = 4096;

/// Whether the socket `id`'s program called `bind()` on it.
fn bound_by_program(view: &View, id: SocketId, opened_seq: u64) -> Option<String> {
    let from = view.calls.partition_point(|c| c.first_seq < opened_seq);
    view.calls
        .range(from..from.saturating_add(BIND_SEARCH))
        .filter(|c| c.socket == Some(id))
        .find_map(|c| match &c.call {
            Call::Bind { addr } => Some(addr.clone()),
            _ => None,
        })
}

/// Where socket `id`'s local port came from, in a sentence: the program's
/// own `bind()`, the kernel's ephemeral range at `connect()`, or (for a
/// socket from `accept()`) the listener's. `range` is the relay's
/// `net.ipv4.ip_local_port_range`, when its hello said.
pub fn port_origin(view: &View, id: SocketId, range: Option<PortRange>) -> Option<String> {
    let socket = view.sockets.get(&id)?;
    let tuple = socket.tuple.as_ref()?;
    let port = port_of(&tuple.local)?;
    if let Some(addr) = bound_by_program(view, id, socket.opened_seq) {
        return Some(format!(
            "Port {port}: {} chose it, with bind({addr}).",
            named(socket.owner)
        ));
    }
    match socket.role {
        SocketRole::Connected => {
            let (range, whose) = match range {
                Some(r) => (r, "as this machine's net.ipv4.ip_local_port_range sets it"),
                None => (
                    PortRange::LINUX_DEFAULT,
                    "Linux's default; the sysctl net.ipv4.ip_local_port_range sets it",
                ),
            };
            let owner = named(socket.owner);
            let (low, high) = (range.low, range.high);
            Some(if range.contains(port) {
                format!(
                    "Port {port}: {owner} never called bind(), so at connect() its kernel chose a free port from its ephemeral port range, {low}–{high} ({whose}). Another run gets another port."
                )
            } else {
                // Not from that range, and no bind() seen: say only that.
                format!(
                    "Port {port} lies outside the ephemeral port range, {low}–{high} ({whose}), that the kernel picks from at connect() for a socket never bound; the page saw no bind() by {owner}, so it cannot say where the port came from."
                )
            })
        }
        SocketRole::Accepted => Some(format!(
            "Port {port} is the listener's: a socket from accept() shares the listening socket's address, and the kernel tells its connections apart by the other end{}.",
            tuple
                .remote
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        )),
        SocketRole::Listener | SocketRole::Fresh => None,
    }
}

/// Why the programs' file descriptors are numbered in one sequence (the
/// server's 14, the client's 15), when more than one program has sockets.
pub fn shared_fd_table(view: &View) -> Option<&'static str> {
    let mut owners = view
        .sockets
        .values()
        .map(|s| s.owner)
        .filter(|a| matches!(a, Actor::Server | Actor::Client(_)));
    let first = owners.next()?;
    owners.any(|a| a != first).then_some(
        "Why the fds count on from one program to the other: the relay runs the server and the client as threads of one process, and a process's threads share one file-descriptor table, and a new socket takes the lowest number free in that one table (the relay's own files hold the lowest ones, and a number is used again once its socket is closed). In the chapter, server and client are two processes, each with its own table, and each would get fd 3 for its first socket.",
    )
}
