//! Scenarios: what a session runs. Data, so that the browser and the command
//! line can choose one, vary it, and a recorded trace can say which it was.
//!
//! Nothing here scripts the network: a scenario changes what the two
//! programs do (what they send, in what pieces, how many clients, which
//! socket options) and, in a sandboxed session, what the wire does to the
//! kernel's own segments (drop, delay: [`crate::wire`]). Whatever the
//! kernel does about it is what is shown.

use serde::{Deserialize, Serialize};

use crate::{
    classic,
    wire::{Matching, Toward, WireRule, WireRules},
    TcpFlag,
};

/// Wire rules that drop the first segment `matching` describes, once.
fn drop_once(matching: Matching) -> WireRules {
    WireRules {
        rules: vec![WireRule::Drop {
            matching,
            nth: 1,
            times: 1,
        }],
        seed: 0,
    }
}

/// A session's configuration. Fields left out of a JSON scenario take the
/// classic pair's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Scenario {
    /// The name of one of [`Scenario::presets`] (the list is kept there
    /// alone), `custom` for any settings of one's own.
    pub name: String,
    /// What each client sends (as UTF-8)...
    pub message: String,
    /// ...this many times over, in one go: a long message without typing it.
    pub repeat: u32,
    /// How many bytes the server's `recv_all` waits for.
    pub expected: usize,
    /// What the server sends back; each client's `recv_all` waits for this many bytes.
    pub reply: String,
    /// Whether the server replies at all, or closes as soon as it has read.
    pub replies: bool,
    /// The server pauses this long before each `recv` after its first: a
    /// slow reader, whose receive buffer fills while it dawdles.
    pub read_pause_ms: u64,
    /// The client sends its message in pieces of this many bytes...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk: Option<usize>,
    /// ...pausing this long between them.
    pub pause_ms: u64,
    /// Whether clients read the reply; if not, they hang up right after sending.
    pub reads_reply: bool,
    /// Clients call `shutdown(SHUT_WR)` once they have sent: a half-close.
    pub half_close: bool,
    /// Clients close with `SO_LINGER` on and a zero timeout: an abortive close.
    pub abort: bool,
    /// Whether a server listens at all (`refused` has none).
    pub server: bool,
    /// How many clients connect.
    pub clients: u32,
    /// The server's `listen()` backlog.
    pub backlog: i32,
    /// The server pauses this long before each `accept()`: a busy server,
    /// whose accept queue fills while it is elsewhere.
    pub accept_pause_ms: u64,
    /// `SO_RCVBUF` / `SO_SNDBUF` on every socket of the session, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcvbuf: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sndbuf: Option<u32>,
    /// The port the server listens on; `None`: 3000 in a sandbox, else a
    /// free one for each session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `TCP_SYNCNT` on each client's socket: how many times its kernel
    /// sends the SYN again before connect() gives up (Linux's default is 6,
    /// about two minutes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syn_retries: Option<u8>,
    /// What the wire does to the segments (sandboxed sessions only).
    #[serde(skip_serializing_if = "crate::WireRules::is_empty")]
    pub wire: crate::WireRules,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario::classic()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Scenario {
    /// The classic exchange, exactly as DESIGN.md gives it.
    pub fn classic() -> Scenario {
        Scenario {
            name: "classic".to_owned(),
            message: text(classic::GREETING),
            repeat: 1,
            expected: classic::SERVER_EXPECTS,
            reply: text(classic::REPLY),
            replies: true,
            read_pause_ms: 0,
            chunk: None,
            pause_ms: 0,
            reads_reply: true,
            half_close: false,
            abort: false,
            server: true,
            clients: 1,
            backlog: classic::BACKLOG,
            accept_pause_ms: 0,
            rcvbuf: None,
            sndbuf: None,
            port: None,
            syn_retries: None,
            wire: crate::WireRules::default(),
        }
    }

    /// Every scenario on offer, with its settings.
    pub fn presets() -> Vec<Scenario> {
        let classic = Scenario::classic();
        vec![
            classic.clone(),
            Scenario {
                name: "fragmented".to_owned(),
                chunk: Some(4),
                pause_ms: 300,
                ..classic.clone()
            },
            Scenario {
                name: "early-close".to_owned(),
                message: "Greet".to_owned(),
                reads_reply: false,
                ..classic.clone()
            },
            Scenario {
                name: "refused".to_owned(),
                server: false,
                ..classic.clone()
            },
            Scenario {
                name: "crowd".to_owned(),
                clients: 4,
                backlog: 1,
                accept_pause_ms: 1500,
                ..classic.clone()
            },
            Scenario {
                name: "abortive-close".to_owned(),
                message: "Greet".to_owned(),
                reads_reply: false,
                abort: true,
                ..classic.clone()
            },
            Scenario {
                name: "half-close".to_owned(),
                message: "Greetings server".to_owned(),
                half_close: true,
                ..classic.clone()
            },
            Scenario {
                name: "zero-window".to_owned(),
                message: "0123456789abcdef".to_owned(),
                repeat: 512,
                expected: 8 * 1024,
                rcvbuf: Some(256),
                sndbuf: Some(2048),
                read_pause_ms: 400,
                ..classic.clone()
            },
            Scenario {
                name: "unread-close".to_owned(),
                message: "Greetings, server! Here is more than you will read.".to_owned(),
                replies: false,
                ..classic.clone()
            },
            Scenario {
                name: "lost-syn".to_owned(),
                wire: drop_once(Matching {
                    toward: Some(Toward::Server),
                    flags: vec![TcpFlag::Syn],
                    without: vec![TcpFlag::Ack],
                    data: None,
                }),
                ..classic.clone()
            },
            Scenario {
                name: "connect-timeout".to_owned(),
                syn_retries: Some(1),
                wire: WireRules {
                    rules: vec![WireRule::Drop {
                        matching: Matching {
                            toward: Some(Toward::Server),
                            flags: vec![TcpFlag::Syn],
                            without: vec![TcpFlag::Ack],
                            data: None,
                        },
                        nth: 1,
                        times: 0,
                    }],
                    seed: 0,
                },
                ..classic.clone()
            },
            Scenario {
                name: "lost-greeting".to_owned(),
                wire: drop_once(Matching {
                    toward: Some(Toward::Server),
                    data: Some(true),
                    ..Matching::default()
                }),
                ..classic.clone()
            },
            Scenario {
                name: "lost-reply".to_owned(),
                // Exactly what the server reads: nothing is left unread, so
                // its close sends FIN, not a RST that would end the
                // connection before the reply could be sent again.
                message: "Greetings, serve".to_owned(),
                wire: drop_once(Matching {
                    toward: Some(Toward::Client),
                    data: Some(true),
                    ..Matching::default()
                }),
                ..classic.clone()
            },
            Scenario {
                name: "custom".to_owned(),
                ..classic
            },
        ]
    }

    /// Whether the scenario needs a session in a sandbox of its own (one
    /// whose wire the relay may take in hand).
    pub fn needs_sandbox(&self) -> bool {
        !self.wire.is_empty()
    }

    /// The preset called `name`.
    pub fn preset(name: &str) -> Option<Scenario> {
        Scenario::presets().into_iter().find(|s| s.name == name)
    }

    /// What to watch for, in a sentence.
    pub fn description(&self) -> &'static str {
        match self.name.as_str() {
            "classic" => "The textbook pair: a 17-byte greeting to a server that reads 16, and a 16-byte reply.",
            "fragmented" => "The client sends its greeting in small pieces with pauses, so recv_all needs several recv calls.",
            "early-close" => "The client sends fewer bytes than the server waits for, then hangs up: recv returns 0 too soon.",
            "refused" => "Nothing listens on the port: see what the client's connect gets back, and what crosses the wire.",
            "crowd" => "Backlog overflow: 4 clients against listen(1) and a server that pauses 1.5 s before each accept(). The accept queue holds 2 (backlog + 1); the kernel drops the other SYNs, so those connect() calls block until the clients' kernels send the SYN again, a second later and then two more.",
            "abortive-close" => "The client sends 5 bytes and closes with SO_LINGER {on, 0}: its kernel sends RST instead of FIN, the client's socket skips TIME_WAIT, and the server's recv returns the 5 bytes and then fails with ECONNRESET (where early-close's returns 0).",
            "half-close" => "The client calls shutdown(SHUT_WR) after its 16 bytes: its FIN leaves at once and the server's socket goes to CLOSE_WAIT, yet the server still replies and the client, in FIN_WAIT_2, still reads it. Nothing is left unread, so both sides close with FIN, and the client waits in TIME_WAIT.",
            "zero-window" => "The server's receive buffer is tiny (SO_RCVBUF 256; Linux makes it about 2 KB) and it reads slowly (0.4 s between recvs) while the client, with a small send buffer, sends 8 KiB: the server advertises a window of 0, the client's send blocks in the kernel, its kernel probes the shut window (answered by duplicate ACKs), and each recv opens the window again.",
            "unread-close" => "The server reads 16 of the client's 51 bytes and closes without replying: with bytes unread its kernel resets the connection instead of closing it, and the client's recv fails with ECONNRESET.",
            "lost-syn" => "The wire drops the client's first SYN. Nothing answers, so connect() sleeps until the client's kernel sends the SYN again, about a second later (its initial retransmission timeout): then the handshake completes as usual.",
            "connect-timeout" => "The wire drops every SYN, and the client sets TCP_SYNCNT to 1. Linux counts those retries as time: the 3 s that one retry would take with the timeout doubling (1 s, then 2 s). Kernels since 6.5 space their first SYN retries a second apart (net.ipv4.tcp_syn_linear_timeouts), so they send the same SYN three times in those 3 s; older ones send it twice. No SYN-ACK ever comes, and connect() fails with ETIMEDOUT.",
            "lost-greeting" => "The wire drops the segment carrying the 17-byte greeting once. send() has already returned (the bytes were in the kernel's send buffer); no ACK comes, so the client's kernel sends the same bytes again after its retransmission timeout (at least 200 ms), and the server's recv_all still gets its 16 bytes.",
            "lost-reply" => "The client sends exactly the 16 bytes the server reads, so the server closes with FIN; the wire drops the server's 16-byte reply once. The server has sent it, closed and moved on, so its FIN arrives first, out of order: the client's kernel answers with a duplicate ACK (ack=1) whose SACK block says it holds the FIN but not the 16 bytes before it. From that, the server's kernel sends the reply again at once, without waiting for its retransmission timer, and the client's recv_all gets all 16 bytes.",
            _ => "Your own settings.",
        }
    }
}
