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

/// The initial sequence numbers (ISNs) a segment's relative numbers count
/// from: its sender's, and (when it acknowledges) its receiver's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Initial {
    /// The sender's ISN: `seq - rel_seq`.
    pub sender: u32,
    /// The receiver's ISN, from the acknowledgment: `ack - rel_ack`.
    pub receiver: Option<u32>,
}

/// The ISNs behind `s`'s relative numbers (sequence numbers wrap at 2³²).
pub fn initial(s: &Segment) -> Initial {
    Initial {
        sender: s.seq.wrapping_sub(s.rel_seq),
        receiver: s.has(TcpFlag::Ack).then(|| s.ack.wrapping_sub(s.rel_ack)),
    }
}

/// Why the page shows `seq=1` where the wire says 3,870,112,001: the real
/// ISNs of both directions and how the relative numbers follow from them.
pub fn relative_numbers(s: &Segment) -> Note {
    let isn = initial(s);
    let ack = match isn.receiver {
        Some(receiver) => format!(
            " Its acknowledgment counts from the other direction's ISN, {receiver} ({}'s): {} − {receiver} = {}.",
            s.to, s.ack, s.rel_ack
        ),
        None => String::new(),
    };
    Note {
        text: format!(
            "Relative numbers: {}'s initial sequence number (ISN) on this connection is {}, and the page counts from it, as Wireshark does: relative = absolute − ISN, so {} − {} = {}.{ack} Each side picks its ISN at random for every connection, so absolute numbers differ from run to run and say nothing to a reader. The SYN itself takes one sequence number (relative 0), so the first byte of data is byte 1, and acknowledging N bytes means ack = N + 1.",
            s.from, isn.sender, s.seq, isn.sender, s.rel_seq
        ),
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
    view.calls[from..]
        .iter()
        .take(BIND_SEARCH)
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
            let within = if range.contains(port) {
                format!(
                    "its ephemeral port range, {}–{} ({whose})",
                    range.low, range.high
                )
            } else {
                format!("its ephemeral port range ({whose})")
            };
            Some(format!(
                "Port {port}: {} never called bind(), so at connect() its kernel chose a free port from {within}. Another run gets another port.",
                named(socket.owner)
            ))
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
        "Why the fds count on from one program to the other: the relay runs the server and the client as threads of one process, and a process's threads share one file-descriptor table, so every socket takes the next free number of that one table (the relay's own files hold the lowest ones). In the chapter, server and client are two processes, each with its own table, and each would get fd 3 for its first socket.",
    )
}
