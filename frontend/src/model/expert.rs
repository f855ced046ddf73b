//! The expert view: findings about a session, in the manner of Wireshark's
//! expert info, each derived by a small named rule from the events and the
//! view before them. No rule knows which scenario ran: a finding appears
//! because the kernel, the wire or a call showed it.

use protocol::{Call, CallResult, Event, EventKind, Segment, TcpFlag, TcpState};

use super::{
    kernel::Source,
    kernel_rules::{self, KERNEL_RULES},
    unread::unread_close,
    view::{carries, seq_end, Direction},
    View,
};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Something failed: a call returned an error, data was lost.
    Error,
    /// Something a program should handle, or that costs time.
    Warning,
    /// Normal TCP behaviour that beginners trip over.
    Note,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One finding, pointing at the event that shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule's name, as the panel and the tests name it.
    pub rule: &'static str,
    pub severity: Severity,
    /// One line, in plain words.
    pub text: String,
    /// What lies behind it and what to do about it, where a rule can say
    /// more than one line from the events.
    pub detail: Option<String>,
    /// The event that shows it.
    pub seq: u64,
    /// What the rule read: the kernel's own words, the wire, the calls, or
    /// the prober's samples.
    pub source: Source,
}

/// A rule: given the view before an event and the event, a finding or none.
type Rule = fn(&View, &Event) -> Option<(Severity, String)>;

/// Every rule, by name.
pub const RULES: &[(&str, Rule)] = &[
    ("connection reset", connection_reset),
    ("connection refused", connection_refused),
    ("zero window", zero_window),
    ("retransmission", retransmission),
    ("duplicate ACK", duplicate_ack),
    ("short read", short_read),
    ("EOF before the expected count", early_eof),
    (UNREAD_AT_CLOSE, unread_at_close),
    ("accept queue full", accept_queue_full),
    ("TIME-WAIT entered", time_wait),
];

/// The findings `event` brings, given the view of everything before it.
pub fn examine(before: &View, event: &Event) -> Vec<Finding> {
    RULES
        .iter()
        .chain(KERNEL_RULES)
        .filter_map(|&(rule, check)| {
            check(before, event).map(|(severity, text)| Finding {
                rule,
                severity,
                text,
                detail: detail(rule, before, event).or_else(|| kernel_rules::detail(event)),
                seq: event.seq,
                source: kernel_rules::source(event),
            })
        })
        .collect()
}

/// Every finding of `events`, in order.
pub fn examine_all(events: &[Event]) -> Vec<Finding> {
    let mut view = View::default();
    let mut found = Vec::new();
    for e in events {
        found.extend(examine(&view, e));
        view.apply(e);
    }
    found
}

/// The longer story behind a rule's finding, for the rules that have one.
fn detail(rule: &str, before: &View, event: &Event) -> Option<String> {
    match rule {
        UNREAD_AT_CLOSE => unread_close(before, event.socket?).map(|u| u.advice(None)),
        _ => None,
    }
}

const UNREAD_AT_CLOSE: &str = "data left unread at close";

fn segment(event: &Event) -> Option<&Segment> {
    match &event.kind {
        EventKind::Segment { segment } => Some(segment),
        _ => None,
    }
}

fn failed<'a>(event: &'a Event, errno: &str) -> Option<&'a Call> {
    match &event.kind {
        EventKind::CallReturned {
            call,
            result: CallResult::Error { errno: e, .. },
        } if e == errno => Some(call),
        _ => None,
    }
}

fn connection_reset(before: &View, e: &Event) -> Option<(Severity, String)> {
    if let Some(s) = segment(e) {
        return (s.has(TcpFlag::Rst) && !before.refuses(s)).then(|| {
            (
                Severity::Warning,
                format!(
                    "{} reset the connection to {} (RST): the connection ends at once, and data either side had not yet read or delivered is thrown away.",
                    s.from, s.to
                ),
            )
        });
    }
    failed(e, "ECONNRESET").map(|call| {
        (
            Severity::Error,
            format!(
                "{}'s {}() failed with ECONNRESET: the peer reset the connection.",
                e.actor,
                call.name()
            ),
        )
    })
}

fn connection_refused(before: &View, e: &Event) -> Option<(Severity, String)> {
    if let Some(s) = segment(e) {
        return before.refuses(s).then(|| {
            (
                Severity::Warning,
                format!("{} answered a SYN with RST: nothing listens there.", s.from),
            )
        });
    }
    failed(e, "ECONNREFUSED").map(|_| {
        (
            Severity::Error,
            format!("{}'s connect() failed with ECONNREFUSED.", e.actor),
        )
    })
}

fn zero_window(_: &View, e: &Event) -> Option<(Severity, String)> {
    let s = segment(e)?;
    (s.window == 0 && !s.has(TcpFlag::Rst)).then(|| {
        (
            Severity::Warning,
            format!("{} advertises a zero window: its receive buffer is full until its program reads, so {} must stop sending.", s.from, s.to),
        )
    })
}

/// The view's record of the direction `s` travels.
fn direction<'a>(before: &'a View, s: &Segment) -> Option<&'a Direction> {
    before.directions.get(&(s.from.clone(), s.to.clone()))
}

fn retransmission(before: &View, e: &Event) -> Option<(Severity, String)> {
    let s = segment(e)?;
    if !carries(s) || s.has(TcpFlag::Rst) {
        return None;
    }
    let sent_before = direction(before, s)?.sent_end?;
    (seq_end(s) <= sent_before).then(|| {
        let what = if s.has(TcpFlag::Syn) {
            "its SYN".to_owned()
        } else if s.len > 0 {
            format!("{} bytes from byte {}", s.len, s.rel_seq)
        } else {
            "its FIN".to_owned()
        };
        (
            Severity::Warning,
            format!(
                "{} sends {what} again: the first was not acknowledged in time (retransmission).",
                s.from
            ),
        )
    })
}

fn duplicate_ack(before: &View, e: &Event) -> Option<(Severity, String)> {
    let s = segment(e)?;
    let bare = |p: &Segment| {
        p.len == 0 && !p.has(TcpFlag::Syn) && !p.has(TcpFlag::Fin) && !p.has(TcpFlag::Rst)
    };
    if !bare(s) {
        return None;
    }
    let previous = before.last_segment(&s.from, &s.to)?;
    let same = bare(previous)
        && previous.seq == s.seq
        && previous.ack == s.ack
        && previous.window == s.window;
    same.then(|| {
        (
            Severity::Note,
            format!("{} acknowledges byte {} again, with the same window: a duplicate ACK (here, an answer to a probe or a resent segment).", s.from, s.rel_ack),
        )
    })
}

fn short_read(_: &View, e: &Event) -> Option<(Severity, String)> {
    match &e.kind {
        EventKind::RecvIteration { asked, got, .. } if *got > 0 && got < asked => Some((
            Severity::Note,
            format!(
                "{}'s recv asked for {asked} bytes and got {got}: a short read, so recv_all loops.",
                e.actor
            ),
        )),
        _ => None,
    }
}

fn early_eof(before: &View, e: &Event) -> Option<(Severity, String)> {
    let EventKind::RecvIteration { got: 0, total, .. } = &e.kind else {
        return None;
    };
    let expected = before.recv_alls.get(&e.actor).map_or(0, |r| r.expected);
    (*total < expected).then(|| {
        (
            Severity::Error,
            format!("{}'s recv returned 0 (end of stream) after {total} of {expected} bytes: the peer closed too soon.", e.actor),
        )
    })
}

fn unread_at_close(before: &View, e: &Event) -> Option<(Severity, String)> {
    let EventKind::CallReturned {
        call: Call::Close, ..
    } = &e.kind
    else {
        return None;
    };
    let socket = before.sockets.get(&e.socket?)?;
    let unread = socket.kernel.as_ref()?.recv_queue;
    (unread > 0).then(|| {
        (
            Severity::Error,
            format!("{} closed fd {} with {unread} byte(s) unread: the kernel resets the connection instead of closing it, and those bytes are lost.", e.actor, socket.fd),
        )
    })
}

fn accept_queue_full(before: &View, e: &Event) -> Option<(Severity, String)> {
    let EventKind::SocketState { state } = &e.kind else {
        return None;
    };
    let (Some(queued), Some(backlog)) = (state.accept_queue, state.backlog) else {
        return None;
    };
    // Linux admits backlog + 1 connections (sk_acceptq_is_full is `>`).
    let full = |q: u32| q > backlog;
    let was_full = e
        .socket
        .and_then(|id| before.sockets.get(&id))
        .and_then(|s| s.kernel.as_ref())
        .and_then(|k| k.accept_queue)
        .is_some_and(full);
    (full(queued) && !was_full).then(|| {
        (
            Severity::Warning,
            format!("The accept queue is full ({queued} waiting, backlog {backlog}): the kernel drops new SYNs until the server calls accept()."),
        )
    })
}

fn time_wait(before: &View, e: &Event) -> Option<(Severity, String)> {
    let EventKind::SocketState { state } = &e.kind else {
        return None;
    };
    let socket = before.sockets.get(&e.socket?)?;
    let was = socket.kernel.as_ref().map(|k| k.state);
    (state.state == TcpState::TimeWait && was != Some(TcpState::TimeWait)).then(|| {
        (
            Severity::Note,
            format!("{}'s fd {} connection is in TIME-WAIT (Linux: TIME_WAIT): it closed first, so its kernel keeps the connection for 2 MSL (60 s on Linux).", socket.owner, socket.fd),
        )
    })
}
