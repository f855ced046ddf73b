//! What the two programs do, as data: the classic pair by default, and the
//! variations the scenarios ask for (other messages, chunked sends, socket
//! buffer sizes, a client that hangs up early).

use std::time::Duration;

use protocol::classic::{BACKLOG, CLIENT_EXPECTS, GREETING, REPLY, SERVER_EXPECTS};

/// The server's part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// How many bytes `recv_all` waits for from each client.
    pub expected: usize,
    /// What it sends back, if it replies at all.
    pub reply: Vec<u8>,
    pub replies: bool,
    /// A pause before every `recv` of `recv_all` after the first: a slow reader.
    pub read_pause: Duration,
    /// The `listen()` backlog.
    pub backlog: i32,
    /// A pause before each `accept()`: a busy server.
    pub accept_pause: Duration,
    /// `SO_RCVBUF` / `SO_SNDBUF` for the listening socket (connections inherit them).
    pub rcvbuf: Option<u32>,
    pub sndbuf: Option<u32>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            expected: SERVER_EXPECTS,
            reply: REPLY.to_vec(),
            replies: true,
            read_pause: Duration::ZERO,
            backlog: BACKLOG,
            accept_pause: Duration::ZERO,
            rcvbuf: None,
            sndbuf: None,
        }
    }
}

/// A client's part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// What it sends.
    pub message: Vec<u8>,
    /// Send in pieces of this many bytes (each with its own `send_all`), with
    /// `pause` between them; `None` sends the message at once.
    pub chunk: Option<usize>,
    pub pause: Duration,
    /// How many bytes of reply `recv_all` waits for; `None` hangs up right
    /// after sending, without reading.
    pub expects: Option<usize>,
    /// `TCP_NODELAY`: send small pieces at once instead of waiting to coalesce them.
    pub nodelay: bool,
    /// `shutdown(SHUT_WR)` once everything is sent: a FIN, while still reading.
    pub half_close: bool,
    /// `SO_LINGER` {on, 0} before `close()`: the kernel resets the connection
    /// instead of closing it gracefully.
    pub abort: bool,
    pub rcvbuf: Option<u32>,
    pub sndbuf: Option<u32>,
    /// `TCP_SYNCNT`: how many times the kernel sends the SYN again before
    /// connect() gives up; `None` keeps the kernel's default.
    pub syn_retries: Option<u8>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            message: GREETING.to_vec(),
            chunk: None,
            pause: Duration::ZERO,
            expects: Some(CLIENT_EXPECTS),
            nodelay: false,
            half_close: false,
            abort: false,
            rcvbuf: None,
            sndbuf: None,
            syn_retries: None,
        }
    }
}
