//! The view state: a session's events folded into what the page draws.
//!
//! [`View::apply`] is the whole semantics of the page: every panel reads a
//! `View` and nothing else. Folding the first `k` events gives the page as it
//! was after step `k`, which is all time travel needs.

use protocol::{
    Actor, Call, CallResult, Ending, Event, EventKind, FourTuple, KernelState, Mode, Segment,
    SocketId, SocketRole, SourceLine, TcpState,
};

use super::{
    cow::{CowMap, CowVec},
    kernel::KernelAccount,
    ladder::drawn,
    words::{call_text, capital, named},
};

/// What a program is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorStatus {
    /// Started, not yet at its first call.
    Starting,
    /// Stopped before this call, waiting for a step.
    Waiting(Call),
    /// Released into the kernel with this call.
    InCall(Call),
    /// Asleep in the kernel in this call.
    Blocked(Call),
    Ended(Ending),
}

/// One socket call, from waiting to returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallView {
    pub actor: Actor,
    pub socket: Option<SocketId>,
    pub call: Call,
    /// The seq of its `call_waiting` (or `call_entered`, for calls not stepped).
    pub first_seq: u64,
    /// The seq of its `call_entered`: the moment it went into the kernel.
    pub entered_seq: Option<u64>,
    /// Whether it slept in the kernel (the relay saw its thread asleep).
    pub blocked: bool,
    pub result: Option<CallResult>,
    pub returned_seq: Option<u64>,
    /// Its entry on the ladder: an index in [`View::marks`].
    pub entry_mark: Option<usize>,
    /// Its return on the ladder, for a call drawn as a span (see [`Mark`]).
    pub return_mark: Option<usize>,
}

impl CallView {
    /// A call as its first event shows it: not yet returned.
    fn starting(e: &Event, call: &Call) -> CallView {
        CallView {
            actor: e.actor,
            socket: e.socket,
            call: call.clone(),
            first_seq: e.seq,
            entered_seq: None,
            blocked: false,
            result: None,
            returned_seq: None,
            entry_mark: None,
            return_mark: None,
        }
    }

    /// The seq of the moment it went into the kernel (its first event, for
    /// a call not yet released).
    pub fn entry_seq(&self) -> u64 {
        self.entered_seq.unwrap_or(self.first_seq)
    }

    /// Whether the ladder draws it as a span from entry to return rather
    /// than a dot: it slept in the kernel, or something else happened on
    /// the ladder while it was in there (`marks` is how many marks the
    /// ladder has now).
    pub fn is_span(&self, marks: usize) -> bool {
        self.blocked
            || self.return_mark.is_some()
            || (self.returned_seq.is_none() && self.entry_mark.is_some_and(|m| m + 1 < marks))
    }
}

/// One mark on the ladder, in the order things happened.
///
/// A call is marked when it enters the kernel, not when its program stops
/// before it: what the ladder shows is what the kernel saw. A call that
/// returns with nothing else marked in between stays one mark (a dot); one
/// that slept, or during which segments crossed or other calls were made,
/// gets a second mark where it returned, so the ladder draws it as a span
/// and its result sits below what it waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A call went into the kernel: its index in [`View::calls`].
    Entered(usize),
    /// A call drawn as a span returned: its index in [`View::calls`].
    Returned(usize),
    /// A segment crossed the wire: its index in [`View::segments`].
    Segment(usize),
    /// The wire dropped a segment: its index in [`View::dropped`].
    Dropped(usize),
}

/// A socket of the session, over its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketView {
    pub id: SocketId,
    pub owner: Actor,
    pub role: SocketRole,
    pub fd: i32,
    pub tuple: Option<FourTuple>,
    /// The kernel's latest report.
    pub kernel: Option<KernelState>,
    /// Every TCP state the kernel reported, in order, without repeats.
    pub states: Vec<TcpState>,
    pub opened_seq: u64,
    pub closed_seq: Option<u64>,
}

impl SocketView {
    pub fn is_open(&self) -> bool {
        self.closed_seq.is_none()
    }
}

/// One turn of a `recv_all` loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub number: usize,
    pub asked: usize,
    pub got: usize,
    pub total: usize,
    pub bytes: Vec<u8>,
}

/// A program's current (or last) `recv_all`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecvAllView {
    pub actor: Actor,
    /// How many bytes it wants: what its first `recv` asked for.
    pub expected: usize,
    pub turns: Vec<Turn>,
    /// The bytes in hand so far.
    pub buffer: Vec<u8>,
    /// Set when a `recv` returned 0 before `expected` bytes arrived.
    pub eof_error: Option<String>,
}

impl RecvAllView {
    pub fn done(&self) -> bool {
        self.buffer.len() >= self.expected || self.eof_error.is_some()
    }
}

/// What the view remembers of one direction of the wire (from, to), so
/// that rules about "the previous segment this way" need not search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Direction {
    /// Index in `View::segments` of the latest segment this way.
    pub last: usize,
    /// How far the sequence space sent this way reaches (relative, SYN and
    /// FIN counting one), over the segments that carried anything.
    pub sent_end: Option<u64>,
    /// Index in `View::segments` of the latest segment this way that was
    /// not a RST: what last acknowledged the other way.
    pub last_not_rst: Option<usize>,
    /// Whether a FIN went this way.
    pub fin: bool,
}

/// How far into its sequence space a segment reaches (SYN and FIN count one each).
pub fn seq_end(s: &Segment) -> u64 {
    u64::from(s.rel_seq)
        + s.len as u64
        + u64::from(s.has(protocol::TcpFlag::Syn))
        + u64::from(s.has(protocol::TcpFlag::Fin))
}

/// Whether a segment takes up sequence space: data, SYN or FIN.
pub fn carries(s: &Segment) -> bool {
    s.len > 0 || s.has(protocol::TcpFlag::Syn) || s.has(protocol::TcpFlag::Fin)
}

/// A line a program printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub seq: u64,
    pub actor: Actor,
    pub text: String,
}

/// Everything the page shows about a session, after some prefix of its events.
///
/// Its lists and maps are [`CowVec`] and [`CowMap`]: a clone shares them,
/// so time travel can keep a view every so many events at little cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// How many events were folded in.
    pub applied: usize,
    pub mode: Option<Mode>,
    pub actors: CowMap<Actor, ActorStatus>,
    pub sockets: CowMap<SocketId, SocketView>,
    pub calls: CowVec<CallView>,
    /// Index in `calls` of each program's latest call: a crowd's calls
    /// interleave, and searching back for a program's own is quadratic.
    pub latest_call: CowMap<Actor, usize>,
    /// Segments on the wire, with the seq of their event.
    pub segments: CowVec<(u64, Segment)>,
    /// The ladder's marks, in the order they happened.
    pub marks: CowVec<Mark>,
    /// Each direction of the wire, by (from, to).
    pub directions: CowMap<(String, String), Direction>,
    /// Each program's latest `recv_all` (a new one replaces the last).
    pub recv_alls: CowMap<Actor, RecvAllView>,
    pub lines: CowVec<Line>,
    /// The line of source each program's latest call was made from.
    pub at: CowMap<Actor, SourceLine>,
    /// Set when the relay's history for this session is full.
    pub history_full: Option<u64>,
    /// Why the session ended on its own (its sandbox died or hung), if it did.
    pub lost: Option<String>,
    /// Segments the wire dropped (by the scenario's wire rules), with the
    /// seq of the event that said so and the rule's number: the kernel
    /// sent them, nobody received them.
    pub dropped: CowVec<(u64, Segment, u32)>,
    /// Segments their sender's kernel sent again (the same bytes, or SYN or
    /// FIN, from the same place): each one's event seq, and how long after
    /// the first copy left (crossed or dropped), in microseconds.
    pub resent: CowMap<u64, u64>,
    /// When each segment that carries something was first sent, by its
    /// direction, sequence number and length: how [`View::resent`] is found.
    first_sent: CowMap<(String, String, u32, usize), u64>,
    /// What the kernel itself said of each socket (its tracepoints).
    pub kernel: CowMap<SocketId, KernelAccount>,
}

impl View {
    /// Notes when `segment` (of event `seq`) left its sender; if the same
    /// one left before, it is a retransmission, and how much later.
    fn note_sent(&mut self, seq: u64, segment: &Segment) {
        if !carries(segment) || segment.has(protocol::TcpFlag::Rst) {
            return;
        }
        let key = (
            segment.from.clone(),
            segment.to.clone(),
            segment.seq,
            segment.len,
        );
        match self.first_sent.get(&key) {
            Some(&first) => {
                self.resent
                    .insert(seq, segment.wire_us.saturating_sub(first));
            }
            None => {
                self.first_sent.insert(key, segment.wire_us);
            }
        }
    }

    /// The view after `events`, folded from the start.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> View {
        let mut view = View::default();
        for event in events {
            view.apply(event);
        }
        view
    }

    /// Folds in one more event.
    pub fn apply(&mut self, e: &Event) {
        self.applied += 1;
        if let Some(at) = &e.at {
            self.at.insert(e.actor, at.clone());
        }
        match &e.kind {
            EventKind::CallWaiting { call } => {
                self.actors
                    .insert(e.actor, ActorStatus::Waiting(call.clone()));
                self.push_call(CallView::starting(e, call));
                if let Call::Recv { len } = call {
                    self.begin_recv(e.actor, *len);
                }
            }
            EventKind::CallEntered { call } => {
                self.actors
                    .insert(e.actor, ActorStatus::InCall(call.clone()));
                // Calls that are not stepped (name look-ups) have no waiting event.
                if self.open_call(e.actor).is_none() {
                    self.push_call(CallView::starting(e, call));
                }
                self.enter_call(e.actor, e.seq);
            }
            EventKind::CallBlocked { call } => {
                self.actors
                    .insert(e.actor, ActorStatus::Blocked(call.clone()));
                if let Some(open) = self.open_call(e.actor) {
                    open.blocked = true;
                }
            }
            EventKind::CallReturned { result, .. } => self.return_call(e.actor, e.seq, result),
            EventKind::RecvIteration {
                number,
                asked,
                got,
                total,
                bytes,
            } => {
                if *number == 1 || !self.recv_alls.contains_key(&e.actor) {
                    self.begin_recv(e.actor, *asked);
                }
                if let Some(r) = self.recv_alls.get_mut(&e.actor) {
                    r.turns.push(Turn {
                        number: *number,
                        asked: *asked,
                        got: *got,
                        total: *total,
                        bytes: bytes.clone(),
                    });
                    r.buffer.extend_from_slice(bytes);
                    if *got == 0 && r.buffer.len() < r.expected {
                        r.eof_error = Some(format!(
                            "was expecting {} bytes but only received {} bytes before the socket closed",
                            r.expected,
                            r.buffer.len()
                        ));
                    }
                }
            }
            EventKind::SendIteration { .. } => {}
            EventKind::Printed { line } => self.lines.push(Line {
                seq: e.seq,
                actor: e.actor,
                text: line.clone(),
            }),
            EventKind::SocketOpened { role, fd, .. } => {
                if let Some(id) = e.socket {
                    self.sockets.insert(
                        id,
                        SocketView {
                            id,
                            owner: e.actor,
                            role: *role,
                            fd: *fd,
                            tuple: e.tuple.clone(),
                            kernel: None,
                            states: Vec::new(),
                            opened_seq: e.seq,
                            closed_seq: None,
                        },
                    );
                }
            }
            EventKind::SocketUpdated { role } => {
                if let Some(s) = e.socket.and_then(|id| self.sockets.get_mut(&id)) {
                    s.role = *role;
                }
            }
            EventKind::SocketState { state } => {
                // The kernel's own account of the states, where there is
                // one, stands over the prober's samples.
                let told = e
                    .socket
                    .and_then(|id| self.kernel.get(&id))
                    .is_some_and(KernelAccount::has_states);
                if let Some(s) = e.socket.and_then(|id| self.sockets.get_mut(&id)) {
                    if !told && s.states.last() != Some(&state.state) {
                        s.states.push(state.state);
                    }
                    s.kernel = Some(state.clone());
                }
            }
            EventKind::SocketClosed => {
                if let Some(s) = e.socket.and_then(|id| self.sockets.get_mut(&id)) {
                    s.closed_seq = Some(e.seq);
                }
            }
            EventKind::ActorEnded { ending } => {
                self.actors
                    .insert(e.actor, ActorStatus::Ended(ending.clone()));
            }
            EventKind::ModeChanged { mode } => self.mode = Some(*mode),
            EventKind::Segment { segment } => {
                let way = self.directions.get_or_insert_with(
                    (segment.from.clone(), segment.to.clone()),
                    Default::default,
                );
                way.last = self.segments.len();
                if !segment.has(protocol::TcpFlag::Rst) {
                    way.last_not_rst = Some(self.segments.len());
                }
                way.fin |= segment.has(protocol::TcpFlag::Fin);
                if carries(segment) && !segment.has(protocol::TcpFlag::Rst) {
                    way.sent_end = way.sent_end.max(Some(seq_end(segment)));
                }
                self.note_sent(e.seq, segment);
                self.marks.push(Mark::Segment(self.segments.len()));
                self.segments.push((e.seq, segment.clone()));
            }
            EventKind::HistoryFull { limit } => self.history_full = Some(*limit),
            EventKind::SessionLost { reason } => self.lost = Some(reason.clone()),
            EventKind::WireVerdict { action, segment } => match action {
                protocol::WireAction::Dropped { rule } => {
                    self.note_sent(e.seq, segment);
                    self.marks.push(Mark::Dropped(self.dropped.len()));
                    self.dropped.push((e.seq, segment.clone(), *rule));
                }
                // The segment itself is drawn when it goes on, as captured.
                protocol::WireAction::Delayed { .. } => {}
            },
            EventKind::Kernel { at_us, word } => {
                if let Some(id) = e.socket {
                    let account = self.kernel.get_or_insert_with(id, KernelAccount::default);
                    account.add(*at_us, e.seq, word.clone());
                    if matches!(word, protocol::KernelWord::StateChanged { .. }) {
                        let states = account.states();
                        if let Some(s) = self.sockets.get_mut(&id) {
                            s.states = states;
                        }
                    }
                }
            }
        }
        // Any event that names a socket carries its latest addresses.
        if let (Some(id), Some(tuple)) = (e.socket, &e.tuple) {
            if let Some(s) = self.sockets.get_mut(&id) {
                if s.tuple.as_ref() != Some(tuple) {
                    s.tuple = Some(tuple.clone());
                }
            }
        }
    }

    /// The latest segment sent from `from` to `to`.
    pub fn last_segment(&self, from: &str, to: &str) -> Option<&Segment> {
        let way = self.directions.get(&(from.to_owned(), to.to_owned()))?;
        self.segments.get(way.last).map(|(_, s)| s)
    }

    /// Whether `s` is a RST answering a bare SYN: a refused connection,
    /// not a reset one.
    pub fn refuses(&self, s: &Segment) -> bool {
        s.has(protocol::TcpFlag::Rst)
            && self
                .last_segment(&s.to, &s.from)
                .is_some_and(|p| p.has(protocol::TcpFlag::Syn) && !p.has(protocol::TcpFlag::Ack))
    }

    /// The kernel's reason for the RST `s`, if the kernel said why: the
    /// reset its sending socket (the one at `s.from` talking to `s.to`) sent.
    pub fn reset_reason(&self, s: &Segment) -> Option<&str> {
        if !s.has(protocol::TcpFlag::Rst) {
            return None;
        }
        self.sockets
            .values()
            .filter(|sock| {
                sock.tuple
                    .as_ref()
                    .is_some_and(|t| t.local == s.from && t.remote.as_deref() == Some(&s.to))
            })
            .find_map(|sock| self.kernel.get(&sock.id)?.reset_reason())
    }

    /// The actor's call that has not returned yet.
    fn open_call(&mut self, actor: Actor) -> Option<&mut CallView> {
        let i = *self.latest_call.get(&actor)?;
        self.calls.get_mut(i).filter(|c| c.returned_seq.is_none())
    }

    /// The actor's open call went into the kernel at `seq`: mark it, if
    /// the ladder draws it.
    fn enter_call(&mut self, actor: Actor, seq: u64) {
        let Some(&i) = self.latest_call.get(&actor) else {
            return;
        };
        let marks = self.marks.len();
        let Some(call) = self.calls.get_mut(i).filter(|c| c.returned_seq.is_none()) else {
            return;
        };
        call.entered_seq = Some(seq);
        if drawn(&call.call) && call.entry_mark.is_none() {
            call.entry_mark = Some(marks);
            self.marks.push(Mark::Entered(i));
        }
    }

    /// The actor's open call returned at `seq`: a call that slept, or in
    /// whose time anything else was marked, is marked again here.
    fn return_call(&mut self, actor: Actor, seq: u64, result: &CallResult) {
        let Some(&i) = self.latest_call.get(&actor) else {
            return;
        };
        let marks = self.marks.len();
        let Some(call) = self.calls.get_mut(i).filter(|c| c.returned_seq.is_none()) else {
            return;
        };
        call.result = Some(result.clone());
        call.returned_seq = Some(seq);
        if !drawn(&call.call) {
            return;
        }
        match call.entry_mark {
            // A trace that never said the call went in: its return is its one mark.
            None => {
                call.entry_mark = Some(marks);
                self.marks.push(Mark::Entered(i));
            }
            Some(entry) if call.blocked || entry + 1 < marks => {
                call.return_mark = Some(marks);
                self.marks.push(Mark::Returned(i));
            }
            Some(_) => {}
        }
    }

    fn push_call(&mut self, call: CallView) {
        self.latest_call.insert(call.actor, self.calls.len());
        self.calls.push(call);
    }

    /// A `recv` after a finished `recv_all` starts the next one.
    fn begin_recv(&mut self, actor: Actor, expected: usize) {
        let starts_new = self.recv_alls.get(&actor).is_none_or(RecvAllView::done);
        if starts_new {
            self.recv_alls.insert(
                actor,
                RecvAllView {
                    actor,
                    expected,
                    turns: Vec::new(),
                    buffer: Vec::new(),
                    eof_error: None,
                },
            );
        }
    }

    /// When no program waits for a step, why not, in a sentence: where
    /// each program is (at most `most` named, the rest counted). `None`
    /// while some program waits, or before any has started.
    pub fn why_nothing_waits(&self, most: usize) -> Option<String> {
        let programs: Vec<(Actor, &ActorStatus)> = self
            .actors
            .iter()
            .filter(|(actor, _)| matches!(actor, Actor::Server | Actor::Client(_)))
            .map(|(&actor, status)| (actor, status))
            .collect();
        let waits = |s: &ActorStatus| matches!(s, ActorStatus::Waiting(_) | ActorStatus::Starting);
        if programs.is_empty() || programs.iter().any(|(_, s)| waits(s)) {
            return None;
        }
        // The server first (actors sort so): its state is the one a
        // learner looks for.
        let mut said: Vec<String> = programs
            .iter()
            .take(most)
            .map(|(actor, status)| {
                let who = named(*actor);
                match status {
                    ActorStatus::Blocked(call) => {
                        format!(
                            "{who} is asleep in {} until the kernel has something for it",
                            call_text(call)
                        )
                    }
                    ActorStatus::InCall(call) => format!("{who} is in {}", call_text(call)),
                    _ => format!("{who} has ended"),
                }
            })
            .collect();
        if programs.len() > most {
            said.push(format!("{} more programs", programs.len() - most));
        }
        Some(format!(
            "No call waits for a step: {}. Reset starts the session again.",
            capital(&said.join("; "))
        ))
    }

    /// The programs waiting for a step, in the order they arrived.
    pub fn waiting(&self) -> Vec<(Actor, &Call)> {
        let mut waiting: Vec<(u64, Actor, &Call)> = self
            .actors
            .iter()
            .filter_map(|(&actor, status)| match status {
                ActorStatus::Waiting(call) => {
                    let since = self
                        .latest_call
                        .get(&actor)
                        .and_then(|&i| self.calls.get(i))
                        .map_or(0, |c| c.first_seq);
                    Some((since, actor, call))
                }
                _ => None,
            })
            .collect();
        waiting.sort_by_key(|w| w.0);
        waiting.into_iter().map(|(_, a, c)| (a, c)).collect()
    }
}
