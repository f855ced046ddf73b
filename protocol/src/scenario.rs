//! Scenarios: what a session runs. Data, so that the browser and the command
//! line can choose one, vary it, and a recorded trace can say which it was.
//!
//! Nothing here scripts the network: a scenario only changes what the two
//! programs do (what they send, in what pieces, how many clients, which
//! socket options). Whatever the kernel does about it is what is shown.

use serde::{Deserialize, Serialize};

use crate::classic;

/// A session's configuration. Fields left out of a JSON scenario take the
/// classic pair's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Scenario {
    /// `classic`, `fragmented`, `early-close`, `refused`, `crowd` or `custom`.
    pub name: String,
    /// What each client sends (as UTF-8).
    pub message: String,
    /// How many bytes the server's `recv_all` waits for.
    pub expected: usize,
    /// What the server sends back; each client's `recv_all` waits for this many bytes.
    pub reply: String,
    /// The client sends its message in pieces of this many bytes...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk: Option<usize>,
    /// ...pausing this long between them.
    pub pause_ms: u64,
    /// Whether clients read the reply; if not, they hang up right after sending.
    pub reads_reply: bool,
    /// Whether a server listens at all (`refused` has none).
    pub server: bool,
    /// How many clients connect.
    pub clients: u32,
    /// The server's `listen()` backlog.
    pub backlog: i32,
    /// `SO_RCVBUF` / `SO_SNDBUF` on every socket of the session, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcvbuf: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sndbuf: Option<u32>,
    /// The port the server listens on; `None` picks a free one for each session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
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
            expected: classic::SERVER_EXPECTS,
            reply: text(classic::REPLY),
            chunk: None,
            pause_ms: 0,
            reads_reply: true,
            server: true,
            clients: 1,
            backlog: classic::BACKLOG,
            rcvbuf: None,
            sndbuf: None,
            port: None,
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
                ..classic.clone()
            },
            Scenario {
                name: "custom".to_owned(),
                ..classic
            },
        ]
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
            "crowd" => "More clients than the listen backlog admits at once: see who waits, and where.",
            _ => "Your own settings.",
        }
    }
}
