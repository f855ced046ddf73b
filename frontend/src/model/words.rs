//! Calls, results and bytes in the words the page (and its exports) use.

use protocol::{Call, CallResult};

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
