//! The kernel's own account of a socket, read from its tracepoints.
//!
//! The relay's prober samples a socket's state every few milliseconds and
//! the capture sees segments; neither sees a state that lasts microseconds
//! (a handshake's `SYN_SENT` and `SYN_RECV` on loopback), nor why the kernel
//! reset a connection or dropped a segment. The kernel says both itself, in
//! its tracepoints (`sock:inet_sock_set_state`, `tcp:tcp_send_reset`, ...).
//! A [`KernelWord`] is one of those, tied by the relay to exactly one of the
//! session's sockets. Names (states, reasons) are the kernel's own, as each
//! tracepoint's `format` file spells them: a kernel that adds or renumbers
//! reasons is still read right, and the page says what the kernel said.

use serde::{Deserialize, Serialize};

use crate::TcpState;

/// One thing the kernel said about a socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum KernelWord {
    /// `sock:inet_sock_set_state`: the socket moved from `old` to `new`
    /// (`TCP_SYN_SENT`, `TCP_FIN_WAIT1`, ...). See [`TcpState::from_kernel`].
    StateChanged { old: String, new: String },
    /// `tcp:tcp_send_reset`: the socket's kernel sent a RST, for `reason`
    /// (`TCP_ABORT_ON_CLOSE`: closed with data unread).
    ResetSent {
        reason: String,
        /// The socket's state as the reset left (`TCP_CLOSE`), where known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<String>,
    },
    /// `tcp:tcp_receive_reset`: a RST arrived and ended the connection. This
    /// kernel's tracepoint gives no reason; a later one may.
    ResetReceived {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// `tcp:tcp_retransmit_skb`: the kernel sent a segment again (its
    /// retransmission timer, or a fast retransmit), in `state`.
    Retransmitted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<String>,
    },
    /// `tcp:tcp_retransmit_synack`: a listener sent a SYN-ACK again for a
    /// connection still in its handshake.
    SynAckRetransmitted,
    /// `skb:kfree_skb`: a segment meant for this socket was dropped, for
    /// `reason` (`TCP_LISTEN_OVERFLOW`: the accept queue was full).
    Dropped { reason: String },
    /// `tcp:tcp_probe`: the sender's numbers as a segment arrived.
    Probe(Probe),
    /// `tcp:tcp_destroy_sock`: the kernel freed the socket; nothing more
    /// will be said of it.
    Destroyed,
}

/// What `tcp:tcp_probe` reports of a connection when a segment arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// The congestion window, in segments.
    pub cwnd: u32,
    /// The slow-start threshold, in segments (`2147483647`: not yet set).
    pub ssthresh: u32,
    /// The smoothed round-trip time, in microseconds.
    pub srtt_us: u32,
    /// The peer's advertised window: how much more it will take.
    pub snd_wnd: u32,
    /// The window this socket offers its peer.
    pub rcv_wnd: u32,
    pub snd_nxt: u32,
    pub snd_una: u32,
    /// Bytes of payload in the segment that arrived.
    pub data_len: u32,
}

impl KernelWord {
    /// The new state of a state change, as a [`TcpState`].
    pub fn new_state(&self) -> Option<TcpState> {
        match self {
            KernelWord::StateChanged { new, .. } => TcpState::from_kernel(new),
            _ => None,
        }
    }
}

impl TcpState {
    /// A state as the kernel's tracepoints name it: `TCP_SYN_SENT`,
    /// `TCP_FIN_WAIT1` (which `ss` writes `FIN-WAIT-1`).
    pub fn from_kernel(name: &str) -> Option<TcpState> {
        use TcpState::*;
        Some(match name.strip_prefix("TCP_")? {
            "ESTABLISHED" => Established,
            "SYN_SENT" => SynSent,
            "SYN_RECV" => SynRecv,
            "FIN_WAIT1" => FinWait1,
            "FIN_WAIT2" => FinWait2,
            "TIME_WAIT" => TimeWait,
            "CLOSE" => Close,
            "CLOSE_WAIT" => CloseWait,
            "LAST_ACK" => LastAck,
            "LISTEN" => Listen,
            "CLOSING" => Closing,
            "NEW_SYN_RECV" => NewSynRecv,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_the_kernel_names_is_known() {
        for n in 1..=12 {
            let state = TcpState::from_linux(n).expect("numbered");
            let kernel = format!("TCP_{}", state.name().replace("FIN_WAIT_", "FIN_WAIT"));
            assert_eq!(TcpState::from_kernel(&kernel), Some(state), "{kernel}");
        }
        assert_eq!(TcpState::from_kernel("SYN_SENT"), None);
    }
}
