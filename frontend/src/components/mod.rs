//! The panels of the page, one component each. Each reads the model it is
//! given and sends commands up; none holds truth of its own.

pub mod controls;
pub mod inspector;
pub mod ladder;
pub mod recv_all;
pub mod scenario_form;
pub mod sockets;
pub mod source;
pub mod status;
pub mod tcp_states;
pub mod terminal;
pub mod timeline;

use protocol::{Actor, Call, CallResult};

/// A call as people write it: `accept()`, `recv(16)`, `connect(127.0.0.1:3000)`.
pub fn call_text(call: &Call) -> String {
    match call {
        Call::Socket => "socket()".into(),
        Call::Setsockopt { option, value } => format!("setsockopt({option}, {value})"),
        Call::Bind { addr } => format!("bind({addr})"),
        Call::Listen { backlog } => format!("listen({backlog})"),
        Call::Accept => "accept()".into(),
        Call::Connect { addr } => format!("connect({addr})"),
        Call::Send { bytes } => format!("send({} bytes)", bytes.len()),
        Call::Recv { len } => format!("recv({len})"),
        Call::Getsockname => "getsockname()".into(),
        Call::Getpeername => "getpeername()".into(),
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

/// A CSS class per program, for its colour (always paired with its name).
pub fn actor_class(actor: Actor) -> &'static str {
    match actor {
        Actor::Server => "server",
        Actor::Client(_) => "client",
        Actor::Kernel => "kernel",
        Actor::Wire => "wire",
        Actor::Relay => "relay",
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

/// A note on an event, with its RFC link where one applies.
pub fn note_html(note: &crate::model::Note) -> yew::Html {
    yew::html! {
        <p class="note">
            { note.text.clone() }
            if let Some((label, href)) = note.rfc {
                { " " }<a href={href} target="_blank" rel="noopener">{ label }</a>
            }
        </p>
    }
}
