//! Predict, then step: a question before a step, the real events' answer after it.
//!
//! Nothing here is graded by a script. [`question`] reads the view before a
//! step: which program's call the next Step releases, and, from what that
//! call is, what to ask: what the call will do (return at once, sleep in the
//! kernel, fail), which segments will cross the wire because of it, or the
//! state the kernel will report for its socket. Its choices are the things
//! that call can really lead to, named as the verdict names them (see
//! [`crossings`]). [`progress`] reads the events that follow and says what
//! really happened, once the step has *settled*:
//!
//! - the step begins at the released call's `call_entered`;
//! - it has settled at the first event after which the released call has
//!   returned or gone to sleep in the kernel, and no program is running:
//!   each waits at the gate, sleeps in a call, or has ended. The relay reads
//!   the wire before and after every call, so the segments a call causes on
//!   loopback are reported before the programs it woke come to rest;
//! - should another call be released before that (play, or another viewer
//!   in class mode), the step's share of the wire and of the kernel's
//!   reports ends where that call begins (the relay reads the wire before
//!   each call starts, so what came before it is in); its call's own
//!   outcome is still taken from its own return.
//!
//! [`Predictions`] keeps a session's guesses: the one waiting for its
//! verdict, the verdicts so far and the score.

use std::collections::BTreeMap;

use protocol::{
    Actor, Call, CallResult, Event, EventKind, FourTuple, Segment, SocketId, TcpFlag, TcpState,
};

use super::{
    view::{ActorStatus, View},
    words::{call_text, result_text, state_text},
};

/// What a question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// What the call will do: return at once, sleep first, or fail.
    Outcome,
    /// Which segments will cross the wire because of the step.
    Crossing,
    /// The state the kernel will report for the call's socket.
    State,
}

/// A possible answer (and, after the step, the true one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The call returns without sleeping in the kernel.
    AtOnce,
    /// The call sleeps in the kernel before it returns.
    Sleeps,
    /// The call fails without sleeping.
    Fails,
    /// No segment crosses the wire.
    Nothing,
    /// SYN, SYN-ACK, ACK.
    Handshake,
    /// A SYN answered by a RST: nothing listens.
    Refused,
    /// A SYN, not answered (yet).
    SynOnly,
    /// Segments carrying data, and their ACKs.
    Data,
    /// A FIN, and its ACK.
    Fin,
    /// A RST.
    Rst,
    /// Segments with neither data nor SYN, FIN or RST.
    AcksOnly,
    /// The socket's state as the kernel reports it.
    State(TcpState),
}

/// Which program each program is doing, as far as settling a step goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rest {
    /// Stopped before a call, waiting for a step.
    AtGate,
    /// Asleep in the kernel in a call.
    Asleep,
    /// Making calls, printing, pausing: not at rest.
    Running,
    Ended,
}

/// A question about the call the next step releases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub actor: Actor,
    pub call: Call,
    /// The seq of the call's `call_waiting`: which call this is about.
    pub waiting_seq: u64,
    pub socket: Option<SocketId>,
    pub kind: Kind,
    pub text: String,
    /// The choices, in the order they are offered.
    pub choices: Vec<Answer>,
    /// How many events the view held when the question was asked: the
    /// verdict reads the events from here on.
    pub asked_at: usize,
    /// Each program's state then, to tell when the step has settled.
    rest: BTreeMap<Actor, Rest>,
    /// Each socket's addresses then, to tell which segments are the call's.
    tuples: BTreeMap<SocketId, FourTuple>,
    /// The state the kernel last reported for the call's socket.
    state_before: Option<TcpState>,
}

/// The question about the call the next Step releases (the one waiting
/// longest), or none if no program waits.
pub fn question(view: &View) -> Option<Question> {
    let (actor, _) = *view.waiting().first()?;
    question_for(view, actor)
}

/// The question about `actor`'s waiting call, if it waits.
pub fn question_for(view: &View, actor: Actor) -> Option<Question> {
    let Some(ActorStatus::Waiting(call)) = view.actors.get(&actor) else {
        return None;
    };
    let waiting = view
        .latest_call
        .get(&actor)
        .and_then(|&i| view.calls.get(i))?;
    let socket = waiting.socket;
    let state_before = socket
        .and_then(|id| view.sockets.get(&id))
        .and_then(|s| s.kernel.as_ref())
        .map(|k| k.state);
    let (kind, choices) = match call {
        Call::Connect { .. } | Call::Send { .. } | Call::Close | Call::Shutdown { .. } => {
            (Kind::Crossing, crossings(call).to_vec())
        }
        Call::Listen { .. } => (
            Kind::State,
            vec![
                Answer::State(state_before.unwrap_or(TcpState::Close)),
                Answer::State(TcpState::Listen),
                Answer::State(TcpState::SynSent),
                Answer::State(TcpState::Established),
            ],
        ),
        _ => (
            Kind::Outcome,
            vec![Answer::AtOnce, Answer::Sleeps, Answer::Fails],
        ),
    };
    let call_words = call_text(call);
    let text = match kind {
        Kind::Outcome => format!("What will the {actor}'s {call_words} do?"),
        Kind::Crossing => format!(
            "The {actor}'s {call_words} is next. What will cross the wire because of this step?"
        ),
        Kind::State => format!(
            "The {actor}'s {call_words} is next. What state will the kernel report for {} once the step has settled?",
            socket.map_or_else(|| "its socket".to_owned(), |id| format!("socket {id}"))
        ),
    };
    let rest = view
        .actors
        .iter()
        .map(|(&a, status)| {
            let open_asleep = view
                .latest_call
                .get(&a)
                .and_then(|&i| view.calls.get(i))
                .is_some_and(|c| c.blocked && c.returned_seq.is_none());
            let rest = match status {
                ActorStatus::Waiting(_) => Rest::AtGate,
                ActorStatus::Ended(_) => Rest::Ended,
                ActorStatus::Blocked(_) if open_asleep => Rest::Asleep,
                _ => Rest::Running,
            };
            (a, rest)
        })
        .collect();
    let tuples = view
        .sockets
        .values()
        .filter_map(|s| Some((s.id, s.tuple.clone()?)))
        .collect();
    Some(Question {
        actor,
        call: call.clone(),
        waiting_seq: waiting.first_seq,
        socket,
        kind,
        text,
        choices,
        asked_at: view.applied,
        rest,
        tuples,
        state_before,
    })
}

impl Question {
    /// An answer in words, as this question offers it.
    pub fn label(&self, answer: Answer) -> String {
        match answer {
            Answer::AtOnce => "It returns at once".into(),
            Answer::Sleeps => "It sleeps in the kernel first (it blocks)".into(),
            Answer::Fails => "It fails at once with an error".into(),
            Answer::Nothing => "Nothing: no segment".into(),
            Answer::Handshake => "The handshake: SYN, SYN-ACK, ACK".into(),
            Answer::Refused => "A SYN, answered by a RST".into(),
            Answer::SynOnly => "A SYN, with no answer".into(),
            Answer::Data => "Data (and its ACK)".into(),
            Answer::Fin => "A FIN (and its ACK)".into(),
            Answer::Rst => "A RST".into(),
            Answer::AcksOnly => "Only ACKs: no data, no SYN, FIN or RST".into(),
            Answer::State(s) if Some(s) == self.state_before => {
                format!("It stays {}", state_text(s))
            }
            Answer::State(s) => state_text(s),
        }
    }
}

/// What the events said about a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub truth: Answer,
    /// What the events showed, in words: what the call did, the segments,
    /// the state reported.
    pub shown: String,
    /// The seq of the released call's `call_entered`.
    pub released_seq: u64,
    /// The seq of the event at which the step settled.
    pub settled_seq: u64,
}

/// How the released call ended up.
#[derive(Debug, Clone)]
enum Finish {
    Asleep,
    Returned(CallResult),
}

/// How far the events have answered a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The call has not been released yet.
    Unreleased,
    /// The call has been released; the step has not settled yet.
    Open,
    /// The program went on with another call than the one asked about
    /// (the question was stale): there is nothing to judge.
    Gone,
    Settled(Judged),
}

/// How far `after`, the session's events from `q.asked_at` on, answer the
/// step `q` asks about: what really happened in it once it has settled
/// (see the module's doc), a step still to come, or a question gone stale.
pub fn progress(q: &Question, after: &[Event]) -> Progress {
    let mut rest = q.rest.clone();
    let mut released: Option<usize> = None;
    let mut finish: Option<Finish> = None;
    let mut cut: Option<usize> = None;
    for (i, e) in after.iter().enumerate() {
        let program = matches!(e.actor, Actor::Server | Actor::Client(_));
        let entered = matches!(e.kind, EventKind::CallEntered { .. });
        if program && entered && rest.get(&e.actor) == Some(&Rest::AtGate) {
            match released {
                // Another call released: the step's share ends here.
                Some(_) if cut.is_none() => cut = Some(i),
                Some(_) => {}
                None if e.actor == q.actor => match &e.kind {
                    EventKind::CallEntered { call } if *call == q.call => released = Some(i),
                    // The program went on with another call: not this question's.
                    _ => return Progress::Gone,
                },
                None => {}
            }
        }
        if program {
            let now = match &e.kind {
                EventKind::CallWaiting { .. } => Some(Rest::AtGate),
                EventKind::CallEntered { .. } | EventKind::CallReturned { .. } => {
                    Some(Rest::Running)
                }
                EventKind::CallBlocked { .. } => Some(Rest::Asleep),
                EventKind::ActorEnded { .. } => Some(Rest::Ended),
                _ => None,
            };
            if let Some(now) = now {
                rest.insert(e.actor, now);
            }
        }
        if released.is_some() && finish.is_none() && e.actor == q.actor {
            finish = match &e.kind {
                EventKind::CallBlocked { .. } => Some(Finish::Asleep),
                EventKind::CallReturned { result, .. } => Some(Finish::Returned(result.clone())),
                _ => None,
            };
        }
        let (Some(start), Some(finish)) = (released, &finish) else {
            continue;
        };
        let end = match cut {
            Some(end) => end,
            None if rest.values().all(|r| *r != Rest::Running) => i + 1,
            None => continue,
        };
        return Progress::Settled(verdict(q, &after[start..end.max(start + 1)], finish, e.seq));
    }
    match released {
        Some(_) => Progress::Open,
        None => Progress::Unreleased,
    }
}

/// The truth about a settled step, from its events (`step[0]` is the release).
fn verdict(q: &Question, step: &[Event], finish: &Finish, settled_seq: u64) -> Judged {
    let released_seq = step.first().map_or(0, |e| e.seq);
    let (truth, shown) = match q.kind {
        Kind::Outcome => match finish {
            Finish::Asleep => (Answer::Sleeps, "it went to sleep in the kernel".to_owned()),
            Finish::Returned(result @ CallResult::Error { .. }) => (
                Answer::Fails,
                format!("it failed at once: {}", result_text(result)),
            ),
            Finish::Returned(result) => (
                Answer::AtOnce,
                format!("it returned at once: {}", result_text(result)),
            ),
        },
        Kind::Crossing => {
            let segments = own_segments(q, step);
            let truth = crossing(&segments);
            let shown = if segments.is_empty() {
                "no segment crossed the wire".to_owned()
            } else {
                let list: Vec<String> = segments.iter().map(|s| segment_words(s)).collect();
                format!("on the wire: {}", list.join(" · "))
            };
            (truth, shown)
        }
        Kind::State => {
            let reported = step.iter().rev().find_map(|e| match &e.kind {
                EventKind::SocketState { state } if e.socket == q.socket && q.socket.is_some() => {
                    Some(state.state)
                }
                _ => None,
            });
            let state = reported.or(q.state_before).unwrap_or(TcpState::Close);
            let shown = match reported {
                Some(s) => format!("the kernel reported {}", state_text(s)),
                None => format!("the kernel reported no change: still {}", state_text(state)),
            };
            (Answer::State(state), shown)
        }
    };
    Judged {
        truth,
        shown,
        released_seq,
        settled_seq,
    }
}

/// The segments of `step` that belong to the call's socket: its
/// connection's, once its addresses are known; before that (a connect
/// that failed or still waits), those to or from the address it connects
/// to, or naming the socket, that no other socket's connection claims.
fn own_segments<'a>(q: &Question, step: &'a [Event]) -> Vec<&'a Segment> {
    let mut tuples = q.tuples.clone();
    for e in step {
        if let (Some(id), Some(tuple)) = (e.socket, &e.tuple) {
            tuples.insert(id, tuple.clone());
        }
    }
    let pair = |t: &FourTuple| Some((t.local.clone(), t.remote.clone()?));
    let mine = q.socket.and_then(|id| tuples.get(&id)).and_then(pair);
    let others: Vec<(String, String)> = tuples
        .iter()
        .filter(|(&id, _)| Some(id) != q.socket)
        .filter_map(|(_, t)| pair(t))
        .collect();
    let on = |s: &Segment, (a, b): &(String, String)| {
        (s.from == *a && s.to == *b) || (s.from == *b && s.to == *a)
    };
    step.iter()
        .filter_map(|e| match &e.kind {
            EventKind::Segment { segment } => Some(segment),
            _ => None,
        })
        .filter(|s| match &mine {
            Some(conn) => on(s, conn),
            None => {
                let named =
                    q.socket.is_some() && (s.from_socket == q.socket || s.to_socket == q.socket);
                let toward =
                    matches!(&q.call, Call::Connect { addr } if s.from == *addr || s.to == *addr);
                (named || toward) && !others.iter().any(|o| on(s, o))
            }
        })
        .collect()
}

/// What [`crossing`] can find in the step of `call`, in the order a
/// question offers them: a short list, with the truth always on it.
///
/// `connect()` sends a SYN: its step holds nothing (it failed before
/// sending, or its segments fell outside the step's share of the wire), or
/// that SYN, and a SYN outranks everything but a RST. Any other call is
/// made on a connection past its handshake (or on no connection): no SYN
/// of its own, so no handshake to find; but what the peer's kernel sends
/// meanwhile is the connection's too (an ACK of earlier data, a FIN, a
/// RST), and a `close()` sends the data still queued before its FIN.
pub fn crossings(call: &Call) -> &'static [Answer] {
    match call {
        Call::Connect { .. } => &[
            Answer::Nothing,
            Answer::Handshake,
            Answer::SynOnly,
            Answer::Refused,
            Answer::Rst,
        ],
        _ => &[
            Answer::Nothing,
            Answer::AcksOnly,
            Answer::Data,
            Answer::Fin,
            Answer::Rst,
        ],
    }
}

/// What a step's segments come to, the most telling first.
pub fn crossing(segments: &[&Segment]) -> Answer {
    let any = |f: &dyn Fn(&Segment) -> bool| segments.iter().any(|s| f(s));
    let syn = any(&|s| s.has(TcpFlag::Syn) && !s.has(TcpFlag::Ack));
    let syn_ack = any(&|s| s.has(TcpFlag::Syn) && s.has(TcpFlag::Ack));
    let rst = any(&|s| s.has(TcpFlag::Rst));
    if segments.is_empty() {
        Answer::Nothing
    } else if syn && rst && !syn_ack {
        Answer::Refused
    } else if rst {
        Answer::Rst
    } else if syn && syn_ack {
        Answer::Handshake
    } else if syn {
        Answer::SynOnly
    } else if any(&|s| s.has(TcpFlag::Fin)) {
        Answer::Fin
    } else if any(&|s| s.len > 0) {
        Answer::Data
    } else {
        Answer::AcksOnly
    }
}

/// A segment in a few words: `SYN, ACK`, `PSH, ACK len=17`.
fn segment_words(s: &Segment) -> String {
    let flags: Vec<&str> = s.flags.iter().map(|f| f.name()).collect();
    match s.len {
        0 => flags.join(", "),
        n => format!("{} len={n}", flags.join(", ")),
    }
}

/// A guess, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub question: Question,
    pub guess: Answer,
    pub judged: Judged,
}

impl Verdict {
    pub fn right(&self) -> bool {
        self.guess == self.judged.truth
    }
}

/// A guess waiting for its step's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub question: Question,
    pub guess: Answer,
    /// Whether the call has been released (its `call_entered` is in).
    pub released: bool,
}

/// A session's predictions: the guess waiting for its step to settle, the
/// verdicts so far (the score is theirs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Predictions {
    /// The session these are about; another session starts afresh.
    session: Option<u64>,
    pub pending: Option<Pending>,
    pub verdicts: Vec<Verdict>,
}

impl Predictions {
    /// The learner answers `question` with `guess`; its step is about to be released.
    pub fn guess(&mut self, question: Question, guess: Answer) {
        self.pending = Some(Pending {
            question,
            guess,
            released: false,
        });
    }

    /// Reads `session`'s events so far; judges the pending guess once its
    /// step has settled. Says whether anything changed.
    pub fn follow(&mut self, session: Option<u64>, events: &[Event]) -> bool {
        if session != self.session {
            *self = Predictions {
                session,
                ..Predictions::default()
            };
            return true;
        }
        let Some(Pending {
            question, guess, ..
        }) = &self.pending
        else {
            return false;
        };
        let Some(after) = events.get(question.asked_at..) else {
            self.pending = None;
            return true;
        };
        let judged = match progress(question, after) {
            Progress::Unreleased => return false,
            Progress::Open => {
                let released = self.pending.as_ref().is_some_and(|p| p.released);
                if let Some(p) = self.pending.as_mut() {
                    p.released = true;
                }
                return !released;
            }
            Progress::Gone => {
                self.pending = None;
                return true;
            }
            Progress::Settled(judged) => judged,
        };
        let verdict = Verdict {
            question: question.clone(),
            guess: *guess,
            judged,
        };
        self.verdicts.push(verdict);
        self.pending = None;
        true
    }

    /// How many guesses were right.
    pub fn right(&self) -> usize {
        self.verdicts.iter().filter(|v| v.right()).count()
    }

    /// How many guesses were judged.
    pub fn asked(&self) -> usize {
        self.verdicts.len()
    }
}
