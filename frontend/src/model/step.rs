//! One step and everything it caused, in order and in plain words.
//!
//! A **step** releases one program's next socket call into the kernel: in
//! the events, a `call_entered` that follows that program's own
//! `call_waiting` (name look-ups such as `getsockname()` are made without
//! waiting, so they are not steps). An **event** is one thing the relay
//! observed: a call entering, blocking or returning, a segment on the wire,
//! a kernel state change, a printed line. One step causes many events: a
//! client's `connect()` brings the handshake's three segments, both sockets'
//! new states, and the server waking up from `accept()`.
//!
//! What a step caused is everything from its `call_entered` up to the moment
//! shown; looking back in time, the events of the same step that come after
//! that moment (up to the next step's `call_entered`) are counted, not
//! listed. Playing fast, steps follow one another before the last one's
//! consequences have all arrived: then each step's list holds what happened
//! between it and the next, which is the best the order of events can say.

use std::collections::BTreeMap;

use protocol::{Actor, Call, Ending, Event, EventKind, KernelState, SocketId, SocketRole};

use super::{
    numbers,
    words::{call_text, capital, named, plural, result_text, role_text, state_text},
    Model, View,
};

/// What kind of thing happened, for the page to mark and tests to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// The step itself: the call released into the kernel.
    Step,
    /// Another call entering the kernel (a name look-up, not stepped).
    Call,
    /// A call asleep in the kernel.
    Blocked,
    /// A call returned without having slept.
    Returned,
    /// A call that was asleep returned: its program woke up.
    Woke,
    /// A segment crossed the wire.
    Segment,
    /// A socket's TCP state changed.
    State,
    /// A socket's queues changed: bytes waiting, connections waiting.
    Queue,
    /// A program printed a line.
    Printed,
    /// A socket came into being, took a role, or was closed.
    Socket,
    /// A program stopped before its next call, waiting for a step.
    Waiting,
    /// A program ended.
    Ended,
}

/// One thing a step caused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Happening {
    /// The event that shows it.
    pub seq: u64,
    pub what: What,
    pub text: String,
}

/// A step and what it caused, as far as the moment shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The program stepped.
    pub actor: Actor,
    /// The call it released.
    pub call: Call,
    /// Its `call_entered` event.
    pub seq: u64,
    /// What happened from the step to the moment shown, in order; the
    /// first is the step itself.
    pub happenings: Vec<Happening>,
    /// How many more events of the step, up to the moment shown, come
    /// after the most listed (not described: a crowd's step can be long).
    pub unlisted: usize,
    /// How many events of this step come after the moment shown (looking back).
    pub later: usize,
}

/// The most happenings one step lists: a crowd's step can bring hundreds.
pub const MOST_LISTED: usize = 60;

/// How far back to look for the step a moment belongs to: far enough for
/// any real session, bounded for a crowd's.
const LOOK_BACK: usize = 100_000;

/// How far back to look for a socket's last kernel report before a step.
/// Bounded, as a page draws this on every change: a crowd's prober reports
/// each socket often enough that its last report is near (and missing it
/// only loses the "from" of a state change, never says something false).
const RECALL: usize = 20_000;

/// The step whose consequences the moment shown belongs to: the model's
/// shown moment and view.
pub fn shown_step(model: &Model) -> Option<Step> {
    step_at(&model.events, model.shown_len(), model.shown())
}

/// Whether event `i` is a step: a program's `call_entered` right after its
/// own `call_waiting` (events of other actors may come between).
pub fn is_step(events: &[Event], i: usize) -> bool {
    let Some(e) = events.get(i) else {
        return false;
    };
    let EventKind::CallEntered { call } = &e.kind else {
        return false;
    };
    events[..i]
        .iter()
        .rev()
        .take(LOOK_BACK)
        .find(|p| p.actor == e.actor)
        .is_some_and(|p| matches!(&p.kind, EventKind::CallWaiting { call: w } if w == call))
}

/// The step the moment after `events[..at]` belongs to, with what it caused
/// up to then; `view` is the view of `events[..at]` (for the sockets' fds
/// and owners). `None` before the first step.
pub fn step_at(events: &[Event], at: usize, view: &View) -> Option<Step> {
    let at = at.min(events.len());
    let start = (0..at)
        .rev()
        .take(LOOK_BACK)
        .find(|&i| is_step(events, i))?;
    let first = &events[start];
    let EventKind::CallEntered { call } = &first.kind else {
        return None;
    };
    let mut walk = Walk {
        events,
        view,
        kernel: BTreeMap::new(),
    };
    let mut happenings = Vec::new();
    let mut unlisted = 0;
    for (i, e) in events.iter().enumerate().take(at).skip(start) {
        if happenings.len() == MOST_LISTED {
            unlisted = at - i;
            break;
        }
        if let Some((what, text)) = walk.describe(i, i == start) {
            happenings.push(Happening {
                seq: e.seq,
                what,
                text,
            });
        }
    }
    let later = (at..events.len())
        .take(LOOK_BACK)
        .take_while(|&i| !is_step(events, i))
        .count();
    Some(Step {
        actor: first.actor,
        call: call.clone(),
        seq: first.seq,
        happenings,
        unlisted,
        later,
    })
}

/// Going through a step's events, remembering what each socket's kernel
/// said last.
struct Walk<'a> {
    events: &'a [Event],
    view: &'a View,
    /// Each socket's latest kernel state, as of the event being described.
    kernel: BTreeMap<SocketId, Option<KernelState>>,
}

impl Walk<'_> {
    /// "the server's fd 14, a listening socket"
    fn socket_words(&self, id: Option<SocketId>) -> String {
        match id.and_then(|id| self.view.sockets.get(&id)) {
            Some(s) => format!("{}'s fd {}, a {}", named(s.owner), s.fd, role_text(s.role)),
            None => id.map_or_else(|| "a socket".to_owned(), |id| format!("socket {id}")),
        }
    }

    /// The kernel's last report on socket `id` before event `i`.
    fn kernel_before(&mut self, i: usize, id: SocketId) -> Option<KernelState> {
        self.kernel
            .entry(id)
            .or_insert_with(|| {
                self.events[..i]
                    .iter()
                    .rev()
                    .take(RECALL)
                    .find_map(|e| match &e.kind {
                        EventKind::SocketState { state } if e.socket == Some(id) => {
                            Some(state.clone())
                        }
                        _ => None,
                    })
            })
            .clone()
    }

    /// Whether the call of `actor` that returned at event `seq` had slept
    /// in the kernel: the view keeps that for every call
    /// ([`CallView::blocked`](super::CallView)), however long ago it went
    /// to sleep. The call is the program's latest to start before its
    /// return (a program makes one call at a time).
    fn had_slept(&self, seq: u64, actor: Actor) -> bool {
        let calls = &self.view.calls;
        let started = calls.partition_point(|c| c.first_seq < seq);
        calls
            .range(0..started)
            .rev()
            .find(|c| c.actor == actor)
            .is_some_and(|c| c.blocked && c.returned_seq == Some(seq))
    }

    /// Event `i` in plain words, or `None` if it shows nothing new (a
    /// kernel report that changed nothing, a mode change).
    fn describe(&mut self, i: usize, is_the_step: bool) -> Option<(What, String)> {
        let e = &self.events[i];
        let who = named(e.actor);
        Some(match &e.kind {
            EventKind::CallEntered { call } if is_the_step => (
                What::Step,
                format!(
                    "Step: {who}'s {} is released into the kernel.",
                    call_text(call)
                ),
            ),
            EventKind::CallEntered { call } => (
                What::Call,
                format!("{} calls {}.", capital(&who), call_text(call)),
            ),
            EventKind::CallBlocked { call } => (
                What::Blocked,
                format!(
                    "{}'s {} blocks: it sleeps in the kernel until there is something to return.",
                    capital(&who),
                    call_text(call)
                ),
            ),
            EventKind::CallReturned { call, result } => {
                let woke = self.had_slept(e.seq, e.actor);
                let peer = match result {
                    protocol::CallResult::Socket {
                        peer: Some(peer), ..
                    } => format!(" (a connection from {peer})"),
                    _ => String::new(),
                };
                if woke {
                    (
                        What::Woke,
                        format!(
                            "{} wakes up: its {} returns {}{peer}.",
                            capital(&who),
                            call_text(call),
                            result_text(result)
                        ),
                    )
                } else {
                    (
                        What::Returned,
                        format!(
                            "{}'s {} returns {}{peer}.",
                            capital(&who),
                            call_text(call),
                            result_text(result)
                        ),
                    )
                }
            }
            EventKind::Segment { segment: s } => {
                let sender = numbers::sender(self.view, s)
                    .and_then(|id| self.view.sockets.get(&id))
                    .map_or_else(
                        || s.from.clone(),
                        |sock| format!("{}'s kernel", named(sock.owner)),
                    );
                // The flags in the ladder's order, so both say `PSH, ACK`.
                let flags = super::ladder::flag_words(s);
                let mut numbers = format!("seq={}", s.rel_seq);
                if s.has(protocol::TcpFlag::Ack) {
                    numbers.push_str(&format!(" ack={}", s.rel_ack));
                }
                if s.len > 0 {
                    numbers.push_str(&format!(" len={}", s.len));
                }
                (
                    What::Segment,
                    format!(
                        "{} sends {} on the wire, {} → {} ({numbers}).",
                        capital(&sender),
                        flags,
                        s.from,
                        s.to
                    ),
                )
            }
            EventKind::WireVerdict { action, segment: s } => {
                let what = format!(
                    "{} {} → {} (seq={}{})",
                    super::ladder::flag_words(s),
                    s.from,
                    s.to,
                    s.rel_seq,
                    if s.len > 0 {
                        format!(" len={}", s.len)
                    } else {
                        String::new()
                    }
                );
                let text = match action {
                    protocol::WireAction::Dropped { rule } => format!(
                        "The wire drops {what} (wire rule {rule}): it never arrives, and only its sender's kernel can send it again, when its retransmission timer fires."
                    ),
                    protocol::WireAction::Delayed { rule, ms } => format!(
                        "The wire holds {what} for {ms} ms (wire rule {rule}) before it goes on."
                    ),
                };
                (What::Segment, text)
            }
            EventKind::SocketState { state } => {
                let id = e.socket?;
                let was = self.kernel_before(i, id);
                self.kernel.insert(id, Some(state.clone()));
                let socket = self.socket_words(Some(id));
                match was {
                    Some(was) if was.state != state.state => (
                        What::State,
                        format!(
                            "{}: {} → {}.",
                            capital(&socket),
                            state_text(was.state),
                            state_text(state.state)
                        ),
                    ),
                    None => (
                        What::State,
                        format!("{}: {}.", capital(&socket), state_text(state.state)),
                    ),
                    Some(was) if was.accept_queue != state.accept_queue => (
                        What::Queue,
                        format!(
                            "{}: {} completed and waiting for accept(){}.",
                            capital(&socket),
                            plural(state.accept_queue.unwrap_or(0), "connection"),
                            state
                                .backlog
                                .map(|b| format!(" (backlog {b})"))
                                .unwrap_or_default()
                        ),
                    ),
                    Some(was) if was.recv_queue != state.recv_queue => (
                        What::Queue,
                        format!(
                            "{}: {} received and not yet read.",
                            capital(&socket),
                            plural(state.recv_queue, "byte")
                        ),
                    ),
                    Some(_) => return None,
                }
            }
            EventKind::Printed { line } => {
                (What::Printed, format!("{} prints: {line}", capital(&who)))
            }
            EventKind::SocketOpened { role, fd, .. } => {
                let from = match role {
                    SocketRole::Accepted => " for the connection accept() returns",
                    _ => "",
                };
                (
                    What::Socket,
                    format!("{} has a new socket, fd {fd}{from}.", capital(&who)),
                )
            }
            EventKind::SocketUpdated { role } => {
                let now = match role {
                    SocketRole::Listener => "now listening",
                    SocketRole::Connected => "now connected",
                    SocketRole::Accepted => "a connection socket",
                    SocketRole::Fresh => return None,
                };
                let socket = self.socket_words(e.socket);
                (What::Socket, format!("{}: {now}.", capital(&socket)))
            }
            EventKind::SocketClosed => {
                let socket = self.socket_words(e.socket);
                (
                    What::Socket,
                    format!(
                        "{} is closed: gone from the program (the kernel may keep the connection a while).",
                        capital(&socket)
                    ),
                )
            }
            EventKind::CallWaiting { call } => (
                What::Waiting,
                format!(
                    "{} stops before its next call, {}, and waits for a step.",
                    capital(&who),
                    call_text(call)
                ),
            ),
            EventKind::ActorEnded { ending } => {
                let how = match ending {
                    Ending::Completed => "having done everything it does".to_owned(),
                    Ending::Failed { message } => format!("with an error: {message}"),
                    // The relay stopped it: a reset, a full history, the
                    // relay shutting down (SIGTERM), or its session closing
                    // because a program failed. The event does not say which.
                    Ending::Stopped => "stopped: its session ended".to_owned(),
                };
                (What::Ended, format!("{} ends, {how}.", capital(&who)))
            }
            EventKind::SessionLost { reason } => (
                What::Ended,
                format!("The session ended on its own: {reason}. Reset to start a new one."),
            ),
            EventKind::Kernel { word, at_us } => {
                let socket = capital(&self.socket_words(e.socket));
                let text = super::kernel::said_text(word)?;
                // The relay may learn a word after the fact (once it knows
                // whose socket it was): the kernel's own time says when.
                let when = format!("{:.3} ms", *at_us as f64 / 1000.0);
                (
                    What::State,
                    format!("At {when} into the session, the kernel says: {socket}: {text}"),
                )
            }
            // Each turn of recv_all / send_all is its call's return, said above.
            EventKind::RecvIteration { .. }
            | EventKind::SendIteration { .. }
            | EventKind::ModeChanged { .. }
            | EventKind::HistoryFull { .. } => return None,
        })
    }
}
