//! The kernel's own account of each socket (its tracepoints, as the relay
//! reads them), and the plain words for the reasons it gives.
//!
//! The relay learns some of what the kernel said only once it can tell
//! whose socket it concerns (a handshake's `SYN_SENT` may arrive after the
//! connection is established), so each word keeps the kernel's own time
//! (`at_us`) and a socket's account is kept in the kernel's order, not in
//! the order the words arrived. Where a socket has the kernel's account of
//! its states, the socket's card and the state diagram follow it instead of
//! the prober's samples, which miss states that last microseconds.

use protocol::{EventKind, KernelWord, Probe, TcpState};

/// One thing the kernel said of a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    /// When the kernel did it, on the session's clock (microseconds).
    pub at_us: u64,
    /// The event that brought it.
    pub seq: u64,
    pub word: KernelWord,
}

/// What the kernel said of one socket, in the kernel's time order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelAccount {
    pub said: Vec<Said>,
}

impl KernelAccount {
    /// Adds a word where the kernel's time puts it.
    pub fn add(&mut self, at_us: u64, seq: u64, word: KernelWord) {
        let at = self
            .said
            .partition_point(|s| (s.at_us, s.seq) <= (at_us, seq));
        self.said.insert(at, Said { at_us, seq, word });
    }

    /// The states the kernel put the socket in, in order, starting with the
    /// one it was born in. An accepted socket is born a copy of its
    /// listener, so its first change reads `LISTEN → SYN_RECV`: it was
    /// never listening, and starts in SYN-RECEIVED.
    pub fn states(&self) -> Vec<TcpState> {
        let mut states: Vec<TcpState> = Vec::new();
        for said in &self.said {
            let KernelWord::StateChanged { old, new } = &said.word else {
                continue;
            };
            let (old, new) = (TcpState::from_kernel(old), TcpState::from_kernel(new));
            if states.is_empty() {
                match (old, new) {
                    (Some(TcpState::Listen), Some(TcpState::SynRecv)) => {}
                    (Some(old), _) => states.push(old),
                    _ => {}
                }
            }
            if let Some(new) = new {
                if states.last() != Some(&new) {
                    states.push(new);
                }
            }
        }
        states
    }

    /// Whether the kernel said how the socket's state changed.
    pub fn has_states(&self) -> bool {
        self.said
            .iter()
            .any(|s| matches!(s.word, KernelWord::StateChanged { .. }))
    }

    /// The reason the kernel gave for the reset it sent, if it sent one.
    pub fn reset_reason(&self) -> Option<&str> {
        self.said.iter().find_map(|s| match &s.word {
            KernelWord::ResetSent { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
    }

    /// The segments the kernel dropped at this socket, with its reasons.
    pub fn drops(&self) -> impl Iterator<Item = (&Said, &str)> {
        self.said.iter().filter_map(|s| match &s.word {
            KernelWord::Dropped { reason } => Some((s, reason.as_str())),
            _ => None,
        })
    }

    /// How many times the kernel sent a segment of this socket again.
    pub fn retransmissions(&self) -> usize {
        self.said
            .iter()
            .filter(|s| {
                matches!(
                    s.word,
                    KernelWord::Retransmitted { .. } | KernelWord::SynAckRetransmitted
                )
            })
            .count()
    }

    /// Every `tcp_probe` sample, in time order.
    pub fn probes(&self) -> impl Iterator<Item = (u64, &Probe)> {
        self.said.iter().filter_map(|s| match &s.word {
            KernelWord::Probe(p) => Some((s.at_us, p)),
            _ => None,
        })
    }
}

/// A word of the kernel's as a sentence's end, or `None` for the words that
/// come by the hundred and show on graphs, not in sentences (`tcp_probe`).
pub fn said_text(word: &KernelWord) -> Option<String> {
    let state = |name: &str| {
        TcpState::from_kernel(name).map_or_else(|| name.to_owned(), super::words::state_text)
    };
    Some(match word {
        KernelWord::StateChanged { old, new } => format!("{} → {}.", state(old), state(new)),
        KernelWord::ResetSent { reason, .. } => {
            format!("it sends a RST, for the reason {reason}.")
        }
        KernelWord::ResetReceived { .. } => "a RST arrived: the connection is over.".to_owned(),
        KernelWord::Retransmitted { .. } => "it sends a segment again (retransmission).".to_owned(),
        KernelWord::SynAckRetransmitted => "it sends its SYN-ACK again.".to_owned(),
        KernelWord::Dropped { reason } => {
            format!("a segment for it was dropped, for the reason {reason}.")
        }
        KernelWord::Destroyed => "the kernel frees it: nothing of it is left.".to_owned(),
        KernelWord::Probe(_) => return None,
    })
}

/// Where a finding (or a socket's states) came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// The kernel's tracepoints: what it did, as it did it, with its reasons.
    Kernel,
    /// The segments captured on the loopback wire.
    Wire,
    /// The programs' socket calls and what they returned.
    Calls,
    /// The relay's prober, sampling each socket every few milliseconds.
    Prober,
}

impl Source {
    /// The source of what `kind` reports.
    pub fn of(kind: &EventKind) -> Source {
        match kind {
            EventKind::Kernel { .. } => Source::Kernel,
            EventKind::Segment { .. } => Source::Wire,
            EventKind::SocketState { .. } => Source::Prober,
            _ => Source::Calls,
        }
    }

    /// As the page names it: "the kernel's tracepoints".
    pub fn words(self) -> &'static str {
        match self {
            Source::Kernel => "the kernel's tracepoints",
            Source::Wire => "the wire",
            Source::Calls => "the programs' calls",
            Source::Prober => "the prober's samples",
        }
    }
}

/// A reason the kernel gives for a reset or a drop, in plain words: what
/// happened, and what in the program made it happen. `None` for a reason
/// the presets do not produce (the page then shows the kernel's name alone).
pub fn reason_words(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "TCP_ABORT_ON_CLOSE" => {
            "The program closed its socket while data it had received was still unread. \
             A normal close (FIN) would tell the peer \"everything you sent was read\", which is \
             not true, so the kernel aborts the connection with a RST instead and throws the \
             unread bytes away (RFC 9293 §3.10.4, RFC 2525 §2.17). Read everything (or shut \
             down the read side) before closing."
        }
        "TCP_STATE" => {
            "The connection was torn down while open, in a state where the peer must be told \
             (the kernel's tcp_disconnect): here, the program closed with SO_LINGER set to \
             {on, 0}, asking for an abortive close. The kernel sends a RST at once instead of a \
             FIN, skips TIME-WAIT, throws away whatever was not yet delivered, and the peer's \
             next call fails with ECONNRESET."
        }
        "TCP_ABORT_ON_DATA" => {
            "Data arrived for a socket its program had already closed: nobody can ever read \
             it, so the kernel answers with a RST."
        }
        "TCP_LISTEN_OVERFLOW" => {
            "The listener's accept queue was full (the listen() backlog): connections that \
             finished their handshake wait there until the server calls accept(), and while it \
             is full the kernel drops new SYNs without answering. The client's kernel sends \
             its SYN again after 1 s, 3 s, 7 s... (retransmission), so connect() just takes \
             longer. Accept sooner, or listen with a larger backlog."
        }
        "TCP_INVALID_SYN" => {
            "A SYN arrived for a connection that already exists: here, a client's SYN sent \
             again after its first had, late, made the connection after all. The kernel drops \
             it and answers with an ACK that says where the connection stands (a challenge \
             ACK, RFC 5961 §4)."
        }
        "TCP_FLAGS" => {
            "The segment's flags did not fit the state of the connection it arrived for (the \
             kernel checks them in tcp_validate_incoming and tcp_rcv_state_process: for \
             instance, a segment of an established connection without the ACK flag, or one \
             arriving as the connection is being torn down). The kernel throws it away \
             without an answer."
        }
        "TCP_OLD_SEQUENCE" => {
            "The segment's sequence number is one the receiver has already acknowledged: here, \
             the sender's zero-window probes, which repeat an old byte only to make the \
             receiver answer with its current window. The kernel drops the segment and \
             answers with an ACK carrying that window (Wireshark calls these keep-alives; the \
             kernel's probe timer sent them)."
        }
        "NO_SOCKET" => {
            "No socket wanted the segment: nothing listens at that port, or the connection \
             is already gone. The kernel answers with a RST."
        }
        "TCP_CLOSE" => {
            "The segment arrived for a socket that is already closed: the kernel drops it."
        }
        "TCP_ZEROWINDOW" => {
            "The receiver's window was zero (its buffer full): the kernel dropped data that \
             did not fit. The sender probes the window and sends again once it opens."
        }
        "TCP_OVERWINDOW" | "TCP_OLD_DATA" => {
            "The segment's data lies outside what the receiver's window allows (beyond it, or \
             already received): a window probe, or a retransmission of bytes it already has. \
             The kernel drops it and acknowledges what it has."
        }
        "NOT_SPECIFIED" => "The kernel gave no particular reason.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(old: &str, new: &str) -> KernelWord {
        KernelWord::StateChanged {
            old: old.into(),
            new: new.into(),
        }
    }

    #[test]
    fn states_follow_the_kernels_time_not_the_order_words_arrived() {
        let mut account = KernelAccount::default();
        account.add(30, 9, change("TCP_SYN_RECV", "TCP_ESTABLISHED"));
        account.add(20, 12, change("TCP_LISTEN", "TCP_SYN_RECV"));
        account.add(90, 13, change("TCP_ESTABLISHED", "TCP_CLOSE"));
        assert_eq!(
            account.states(),
            [TcpState::SynRecv, TcpState::Established, TcpState::Close],
            "born in SYN_RECV: never listening"
        );
        let mut client = KernelAccount::default();
        client.add(5, 1, change("TCP_CLOSE", "TCP_SYN_SENT"));
        client.add(6, 2, change("TCP_SYN_SENT", "TCP_ESTABLISHED"));
        assert_eq!(
            client.states(),
            [TcpState::Close, TcpState::SynSent, TcpState::Established]
        );
    }
}
