//! TCP segments as captured on the wire.

use serde::{Deserialize, Serialize};

use crate::SocketId;

/// One TCP segment that crossed the loopback interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Sender, `127.0.0.1:PORT`.
    pub from: String,
    /// Receiver, `127.0.0.1:PORT`.
    pub to: String,
    /// The session's socket that sent it, if it is one of the session's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_socket: Option<SocketId>,
    /// The session's socket it was addressed to, if any (a listener for a SYN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_socket: Option<SocketId>,
    pub flags: Vec<TcpFlag>,
    /// Sequence and acknowledgement numbers as sent.
    pub seq: u32,
    pub ack: u32,
    /// The same, relative to each direction's initial sequence number, as
    /// Wireshark shows them (the SYN is 0, its first data byte 1).
    pub rel_seq: u32,
    pub rel_ack: u32,
    /// The receive window as sent (before any window scaling).
    pub window: u16,
    pub options: Vec<TcpOption>,
    /// Payload length in bytes.
    pub len: usize,
    #[serde(with = "crate::bytes")]
    pub payload: Vec<u8>,
    /// When the kernel saw it, in microseconds since the session began (the
    /// events' clock): a segment is reported slightly after it happens.
    pub wire_us: u64,
}

impl Segment {
    pub fn has(&self, flag: TcpFlag) -> bool {
        self.flags.contains(&flag)
    }
}

/// TCP header flags, named as people say them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TcpFlag {
    Syn,
    Ack,
    Psh,
    Fin,
    Rst,
    Urg,
    Ece,
    Cwr,
}

impl TcpFlag {
    pub fn name(self) -> &'static str {
        match self {
            TcpFlag::Syn => "SYN",
            TcpFlag::Ack => "ACK",
            TcpFlag::Psh => "PSH",
            TcpFlag::Fin => "FIN",
            TcpFlag::Rst => "RST",
            TcpFlag::Urg => "URG",
            TcpFlag::Ece => "ECE",
            TcpFlag::Cwr => "CWR",
        }
    }
}

/// TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "option", rename_all = "snake_case")]
pub enum TcpOption {
    /// Maximum segment size the sender can receive.
    Mss { bytes: u16 },
    /// Window scale: the sender's windows are shifted left by this many bits.
    WindowScale { shift: u8 },
    /// The sender understands selective acknowledgements.
    SackPermitted,
    /// Blocks received out of order: (left edge, right edge) pairs.
    Sack { blocks: Vec<(u32, u32)> },
    /// Timestamps, for round-trip measurement and PAWS.
    Timestamps { value: u32, echo: u32 },
    /// Padding.
    Nop,
}
