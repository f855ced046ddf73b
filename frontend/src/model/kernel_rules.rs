//! Expert rules on the kernel's own words: a reset with the kernel's
//! reason, a drop with its reason, a retransmission as the kernel's timer
//! made it. Where the wire rules infer (a RST seen, a sequence number sent
//! twice), these say what the kernel did and why; each finding names its
//! source ([`Source`]) so a reader knows which is which.

use protocol::{Event, EventKind, KernelWord};

use super::{
    expert::Severity,
    kernel::{reason_words, Source},
    words::{named, role_text},
    View,
};

/// A rule: given the view before an event and the event, a finding or none.
type Rule = fn(&View, &Event) -> Option<(Severity, String)>;

/// The rules on the kernel's words, by name.
pub const KERNEL_RULES: &[(&str, Rule)] = &[
    ("reset, in the kernel's words", reset_sent),
    ("drop, in the kernel's words", dropped),
    ("retransmission, in the kernel's words", retransmitted),
];

fn word(e: &Event) -> Option<&KernelWord> {
    match &e.kind {
        EventKind::Kernel { word, .. } => Some(word),
        _ => None,
    }
}

/// "client 0's fd 3, a connected socket", or "a socket".
fn socket(before: &View, e: &Event) -> String {
    match e.socket.and_then(|id| before.sockets.get(&id)) {
        Some(s) => format!("{}'s fd {}, a {}", named(s.owner), s.fd, role_text(s.role)),
        None => "a socket of the session".to_owned(),
    }
}

fn reset_sent(before: &View, e: &Event) -> Option<(Severity, String)> {
    let KernelWord::ResetSent { reason, .. } = word(e)? else {
        return None;
    };
    Some((
        Severity::Warning,
        format!(
            "The kernel reset the connection of {} (RST), and says why: {reason}.",
            socket(before, e)
        ),
    ))
}

fn dropped(before: &View, e: &Event) -> Option<(Severity, String)> {
    let KernelWord::Dropped { reason } = word(e)? else {
        return None;
    };
    Some((
        Severity::Warning,
        format!(
            "The kernel dropped a segment that had arrived for {}, and says why: {reason}.",
            socket(before, e)
        ),
    ))
}

fn retransmitted(before: &View, e: &Event) -> Option<(Severity, String)> {
    let what = match word(e)? {
        KernelWord::Retransmitted { state } => match state.as_deref() {
            Some("TCP_SYN_SENT") => "its SYN".to_owned(),
            Some(state) => format!("a segment (in {state})"),
            None => "a segment".to_owned(),
        },
        KernelWord::SynAckRetransmitted => "its SYN-ACK".to_owned(),
        _ => return None,
    };
    Some((
        Severity::Warning,
        format!(
            "The kernel sent {what} of {} again: its retransmission timer ran out before an acknowledgement came.",
            socket(before, e)
        ),
    ))
}

/// The plain-words story of the kernel's reason, for a finding on `e`.
pub fn detail(e: &Event) -> Option<String> {
    let reason = match word(e)? {
        KernelWord::ResetSent { reason, .. } | KernelWord::Dropped { reason } => reason,
        _ => return None,
    };
    reason_words(reason).map(|words| format!("{reason}: {words}"))
}

/// Where the finding on `e` comes from.
pub fn source(e: &Event) -> Source {
    Source::of(&e.kind)
}
