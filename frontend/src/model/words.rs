//! Calls, results and bytes in the words the page (and its exports) use.

use protocol::{Actor, Call, CallResult, SocketRole, TcpState};

/// A call as people write it: `accept()`, `recv(16)`, `connect(127.0.0.1:3000)`.
pub fn call_text(call: &Call) -> String {
    match call {
        Call::Socket => "socket()".into(),
        Call::Setsockopt { option, value: 0 } if option == "SO_LINGER" => {
            "setsockopt(SO_LINGER, {on, 0})".into()
        }
        Call::Setsockopt { option, value } => format!("setsockopt({option}, {value})"),
        Call::Bind { addr } => format!("bind({addr})"),
        Call::Listen { backlog } => format!("listen({backlog})"),
        Call::Accept => "accept()".into(),
        Call::Connect { addr } => format!("connect({addr})"),
        Call::Send { bytes } => format!("send({} bytes)", bytes.len()),
        Call::Recv { len } => format!("recv({len})"),
        Call::Getsockname => "getsockname()".into(),
        Call::Getpeername => "getpeername()".into(),
        Call::Shutdown { how } => format!("shutdown({how})"),
        Call::Close => "close()".into(),
    }
}

/// What a call returned, briefly: `fd 5`, `17 bytes`, `ECONNREFUSED`.
pub fn result_text(result: &CallResult) -> String {
    match result {
        CallResult::Done => "ok".into(),
        CallResult::Socket { fd, .. } => format!("fd {fd}"),
        CallResult::Addr { addr } => addr.clone(),
        CallResult::Bytes { n: 0, .. } => "0 bytes (end of stream)".into(),
        CallResult::Bytes { n, .. } => format!("{n} bytes"),
        CallResult::Error { errno, message } if errno.is_empty() => message.clone(),
        CallResult::Error { errno, .. } => errno.clone(),
    }
}

/// Bytes as text where printable, `\xNN` elsewhere.
pub fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x20..=0x7e => char::from(b).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}

/// A TCP state by RFC 9293's name (§3.3.2): `CLOSED`, `SYN-RECEIVED`,
/// `TIME-WAIT`. The chapter and the RFC use these; Linux (and `ss`, and the
/// relay's events) spell most of them differently, see [`state_text`].
/// Linux's `NEW_SYN_RECV` has no name of its own in the RFC: it is a
/// connection in SYN-RECEIVED, held by the listener as a small request.
pub fn rfc_state(state: TcpState) -> &'static str {
    use TcpState::*;
    match state {
        Close => "CLOSED",
        Listen => "LISTEN",
        SynSent => "SYN-SENT",
        SynRecv | NewSynRecv => "SYN-RECEIVED",
        Established => "ESTABLISHED",
        FinWait1 => "FIN-WAIT-1",
        FinWait2 => "FIN-WAIT-2",
        CloseWait => "CLOSE-WAIT",
        Closing => "CLOSING",
        LastAck => "LAST-ACK",
        TimeWait => "TIME-WAIT",
    }
}

/// Linux's name for a state, when it is not the RFC's: `CLOSE`, `SYN_RECV`.
pub fn linux_state(state: TcpState) -> Option<&'static str> {
    (state.name() != rfc_state(state)).then(|| state.name())
}

/// A state as the page writes it: RFC 9293's name, with Linux's beside it
/// where it differs, `CLOSED (Linux: CLOSE)`, `ESTABLISHED`. The one place
/// a state becomes words, so every panel says it the same way.
pub fn state_text(state: TcpState) -> String {
    match linux_state(state) {
        Some(linux) => format!("{} (Linux: {linux})", rfc_state(state)),
        None => rfc_state(state).to_owned(),
    }
}

/// What a reader needs told about a state beyond its name, if anything.
pub fn state_aside(state: TcpState) -> Option<&'static str> {
    match state {
        TcpState::NewSynRecv => Some(
            "NEW_SYN_RECV is Linux's own: a connection in SYN-RECEIVED that the listener holds only as a small request in its SYN queue; the kernel makes it a full socket when the handshake's last ACK arrives",
        ),
        _ => None,
    }
}

/// What a socket is for, as the sockets' cards and the steps' sentences
/// both say it: "listening socket", "connection socket (from accept)".
pub fn role_text(role: SocketRole) -> &'static str {
    match role {
        SocketRole::Fresh => "new socket",
        SocketRole::Listener => "listening socket",
        SocketRole::Accepted => "connection socket (from accept)",
        SocketRole::Connected => "connected socket",
    }
}

/// A program as a sentence names it: "the server", "client 0".
pub fn named(actor: Actor) -> String {
    match actor {
        Actor::Server => "the server".to_owned(),
        other => other.to_string(),
    }
}

/// `s` with its first letter capitalised, to open a sentence.
pub fn capital(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// `n` things, in good English: "1 byte", "17 bytes".
pub fn plural(n: impl Into<u64>, thing: &str) -> String {
    match n.into() {
        1 => format!("1 {thing}"),
        n => format!("{n} {thing}s"),
    }
}
