//! The ladder diagram as data: its rows, lanes, spans and labels, shared by
//! the page's panel and the SVG and Mermaid exports, so that all three draw
//! the same thing.
//!
//! A row is one [`Mark`] of the view: a segment crossing the wire, a call
//! going into the kernel, or a call that took time coming back out of it.
//! A call that returned with nothing else in between is a dot; one that
//! slept (or during which anything else happened) is a span, drawn from
//! the row where it entered to the row where it returned, so its result is
//! written below whatever it waited for: `accept()` returns under the
//! handshake's last ACK, never above its SYN.

use protocol::{Actor, Call, CallResult, Segment, TcpFlag};

use super::{
    view::Mark,
    words::{call_text, result_text},
    CallView, View,
};

pub const ROW: f64 = 30.0;
pub const TOP: f64 = 46.0;
pub const WIDTH: f64 = 920.0;
/// Room for call labels outside each outer lane.
pub const MARGIN: f64 = 250.0;
pub const SLOPE: f64 = 18.0;
/// How wide a span's bar is drawn over its lane.
pub const BAR: f64 = 9.0;
/// The most lanes drawn side by side; past it the clients share one.
pub const MOST_LANES: usize = 7;

/// One row of the ladder.
#[derive(Debug, Clone, Copy)]
pub enum Row<'a> {
    /// A call going into the kernel: a dot, or the top of a span.
    Call(&'a CallView),
    /// A call drawn as a span coming back out of the kernel.
    Return(&'a CallView),
    /// A segment on the wire, with the seq of its event.
    Segment(u64, &'a Segment),
    /// A segment the wire dropped on its way, with the seq of the event
    /// that said so and the number of the rule that dropped it.
    Dropped(u64, &'a Segment, u32),
}

impl Row<'_> {
    /// The seq of the event the row stands for.
    pub fn seq(&self) -> u64 {
        match self {
            Row::Call(c) => c.entry_seq(),
            Row::Return(c) => c.returned_seq.unwrap_or(c.first_seq),
            Row::Segment(seq, _) | Row::Dropped(seq, ..) => *seq,
        }
    }
}

fn row(view: &View, mark: Mark) -> Option<Row<'_>> {
    Some(match mark {
        Mark::Entered(i) => Row::Call(view.calls.get(i)?),
        Mark::Returned(i) => Row::Return(view.calls.get(i)?),
        Mark::Segment(i) => {
            let (seq, s) = view.segments.get(i)?;
            Row::Segment(*seq, s)
        }
        Mark::Dropped(i) => {
            let (seq, s, rule) = view.dropped.get(i)?;
            Row::Dropped(*seq, s, *rule)
        }
    })
}

/// Calls worth a mark on the ladder: name look-ups are left out.
pub fn drawn(call: &Call) -> bool {
    call.is_stepped()
}

/// The ladder's rows in the order they happened.
pub fn rows(view: &View) -> Vec<Row<'_>> {
    latest_rows(view, usize::MAX)
}

/// The last `n` of [`rows`]: a long session costs no more than a short one.
pub fn latest_rows(view: &View, n: usize) -> Vec<Row<'_>> {
    let from = view.marks.len().saturating_sub(n);
    view.marks
        .range(from..usize::MAX)
        .filter_map(|&m| row(view, m))
        .collect()
}

/// How many rows the ladder has in all.
pub fn row_count(view: &View) -> usize {
    view.marks.len()
}

/// The y of the row at `index` among all of the ladder's rows.
pub fn row_y(index: usize) -> f64 {
    TOP + index as f64 * ROW
}

/// The ladder's lanes, left to right: clients, then the server. Past
/// [`MOST_LANES`] the clients share one lane, so the page and both exports
/// draw a crowd the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lanes {
    actors: Vec<Actor>,
    crowded: bool,
}

impl Lanes {
    /// The lanes the given rows need: the clients that make a call or send
    /// or receive a segment among them, then the server.
    pub fn of(view: &View, rows: &[Row<'_>], server_addr: &str) -> Lanes {
        let mut clients: Vec<Actor> = rows
            .iter()
            .flat_map(|row| match row {
                Row::Call(c) | Row::Return(c) => [Some(c.actor), None],
                Row::Segment(_, s) | Row::Dropped(_, s, _) => [
                    Some(lane_of(view, server_addr, &s.from)),
                    Some(lane_of(view, server_addr, &s.to)),
                ],
            })
            .flatten()
            .filter(|a| matches!(a, Actor::Client(_)))
            .collect();
        clients.sort();
        clients.dedup();
        if clients.is_empty() {
            clients.push(Actor::Client(0));
        }
        let crowded = clients.len() + 1 > MOST_LANES;
        if crowded {
            clients = vec![Actor::Client(0)];
        }
        clients.push(Actor::Server);
        Lanes {
            actors: clients,
            crowded,
        }
    }

    /// The lanes' programs, left to right (in a crowd, client 0 stands for all).
    pub fn actors(&self) -> &[Actor] {
        &self.actors
    }

    /// Whether the clients share one lane.
    pub fn crowded(&self) -> bool {
        self.crowded
    }

    /// The lane a program's marks go on.
    pub fn lane(&self, actor: Actor) -> Actor {
        match actor {
            Actor::Client(_) if self.crowded => Actor::Client(0),
            other => other,
        }
    }

    /// A lane's heading.
    pub fn name(&self, lane: Actor) -> String {
        match lane {
            Actor::Client(_) if self.crowded => "clients".to_owned(),
            other => other.to_string(),
        }
    }

    /// The x of a program's lane.
    pub fn x(&self, actor: Actor) -> f64 {
        let lane = self.lane(actor);
        if lane == Actor::Server {
            return WIDTH - MARGIN;
        }
        // Clients share the left, the first at the margin.
        let i = self.actors.iter().position(|&a| a == lane).unwrap_or(0);
        let n = self.actors.len().max(2) as f64;
        MARGIN + i as f64 * ((WIDTH - 3.0 * MARGIN) / (n - 1.0).max(1.0))
    }
}

/// Which program's end of the connection an address is.
pub fn lane_of(view: &View, server_addr: &str, addr: &str) -> Actor {
    if addr == server_addr {
        return Actor::Server;
    }
    view.sockets
        .values()
        .find(|s| s.tuple.as_ref().is_some_and(|t| t.local == addr))
        .map_or(Actor::Client(0), |s| s.owner)
}

/// A call drawn as a bar on its lane, from the row where it entered the
/// kernel to the row where it returned (`None`: it has not yet).
#[derive(Debug, Clone, Copy)]
pub struct Span<'a> {
    pub call: &'a CallView,
    pub from: usize,
    pub to: Option<usize>,
}

impl Span<'_> {
    /// Its CSS class: `asleep` for a call that slept, `busy` for one that
    /// did not, though other things happened while it was in the kernel.
    pub fn class(&self) -> &'static str {
        if self.call.blocked {
            "span asleep"
        } else {
            "span busy"
        }
    }

    /// What the bar means, for its tooltip and for screen readers.
    pub fn title(&self) -> String {
        let call = call_text(&self.call.call);
        let how = if self.call.blocked {
            "asleep in the kernel"
        } else {
            "in the kernel"
        };
        match &self.call.result {
            Some(r) => format!(
                "{}: {call} was {how} from here until it returned {}",
                self.call.actor,
                result_text(r)
            ),
            None => format!("{}: {call} is {how}", self.call.actor),
        }
    }
}

/// The spans that cross the rows `first..=last` (indexes among all rows),
/// including those that began above them or end below them.
pub fn spans(view: &View, first: usize, last: usize) -> Vec<Span<'_>> {
    let marks = view.marks.len();
    let crosses = |call: &CallView| {
        call.entry_mark.is_some_and(|from| from <= last)
            && call.is_span(marks)
            && call.return_mark.is_none_or(|to| to >= first)
    };
    let window = view.marks.range(first..last.saturating_add(1));
    let in_window = window.filter_map(|mark| match mark {
        Mark::Entered(i) | Mark::Returned(i) => view.calls.get(*i),
        Mark::Segment(_) | Mark::Dropped(_) => None,
    });
    // And calls still in the kernel that went in above the window.
    let still_in = view
        .latest_call
        .values()
        .filter_map(|&i| view.calls.get(i))
        .filter(|c| c.returned_seq.is_none());
    let mut spans: Vec<Span<'_>> = Vec::new();
    for call in in_window.chain(still_in).filter(|c| crosses(c)) {
        let Some(from) = call.entry_mark else {
            continue;
        };
        if spans.iter().all(|s| s.from != from) {
            spans.push(Span {
                call,
                from,
                to: call.return_mark,
            });
        }
    }
    spans.sort_by_key(|s| s.from);
    spans
}

/// Flags written as words: `SYN, ACK`.
pub fn flag_words(segment: &Segment) -> String {
    let order = [
        TcpFlag::Syn,
        TcpFlag::Fin,
        TcpFlag::Rst,
        TcpFlag::Psh,
        TcpFlag::Ack,
        TcpFlag::Urg,
        TcpFlag::Ece,
        TcpFlag::Cwr,
    ];
    order
        .iter()
        .filter(|f| segment.has(**f))
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A crossing segment's label on the ladder: [`segment_label`], and, for
/// one its sender's kernel sent again, how long after the first copy.
pub fn crossing_label(view: &View, seq: u64, segment: &Segment) -> String {
    let label = segment_label(segment);
    match view.resent.get(&seq) {
        Some(&after_us) => format!("{label}  ↻ again, +{} ms", after_us / 1000),
        None => label,
    }
}

/// How far along its way a dropped segment's arrow is drawn.
pub const DROPPED_AT: f64 = 0.6;

pub fn segment_label(segment: &Segment) -> String {
    let mut label = format!("{}  seq={}", flag_words(segment), segment.rel_seq);
    if segment.has(TcpFlag::Ack) {
        label.push_str(&format!(" ack={}", segment.rel_ack));
    }
    if segment.len > 0 {
        label.push_str(&format!(" len={}", segment.len));
    }
    label
}

pub fn segment_class(segment: &Segment) -> &'static str {
    if segment.has(TcpFlag::Rst) {
        "seg rst"
    } else if segment.has(TcpFlag::Syn) {
        "seg syn"
    } else if segment.has(TcpFlag::Fin) {
        "seg fin"
    } else if segment.len > 0 {
        "seg data"
    } else {
        "seg ack"
    }
}

/// A call row's state (CSS classes) and its label.
///
/// - a dot: `close() → ok`, or `send(17 bytes) …` while it is in;
/// - the top of a span: `accept() called, sleeps` (with `…` while it
///   is still in the kernel): the call with its arguments, where it went in;
/// - the bottom of a span ([`Row::Return`]): `accept() → fd 14`, where it
///   came back out.
pub fn call_label(view: &View, row: &Row<'_>) -> (&'static str, String) {
    let (c, returning) = match row {
        Row::Call(c) => (*c, false),
        Row::Return(c) => (*c, true),
        Row::Segment(..) | Row::Dropped(..) => return ("", String::new()),
    };
    let call = call_text(&c.call);
    let open = if c.result.is_none() { " …" } else { "" };
    if c.is_span(view.marks.len()) && !returning {
        return if c.blocked {
            ("entry asleep", format!("{call} called, sleeps{open}"))
        } else {
            ("entry busy", format!("{call} called{open}"))
        };
    }
    match &c.result {
        Some(r @ CallResult::Error { .. }) => ("failed", format!("{call} → {}", result_text(r))),
        Some(r) if returning => ("returned return", format!("{call} → {}", result_text(r))),
        Some(r) => ("returned", format!("{call} → {}", result_text(r))),
        None => ("in-kernel", format!("{call}{open}")),
    }
}

/// The calls waiting for a step, as the ladder shows them below its last
/// row: `(lane, label)`, one per lane (a crowd's lane says how many wait).
/// Short, so that a long call still fits beside the lane.
pub fn waiting_marks(view: &View, lanes: &Lanes) -> Vec<(Actor, String)> {
    let mut marks: Vec<(Actor, String, usize)> = Vec::new();
    for (actor, call) in view.waiting() {
        let lane = lanes.lane(actor);
        match marks.iter_mut().find(|(l, ..)| *l == lane) {
            Some((_, _, n)) => *n += 1,
            None => marks.push((lane, format!("next: {}", call_text(call)), 1)),
        }
    }
    marks
        .into_iter()
        .map(|(lane, label, n)| match n {
            1 => (lane, label),
            n => (lane, format!("next: {n} calls")),
        })
        .collect()
}
