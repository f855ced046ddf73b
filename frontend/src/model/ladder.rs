//! The ladder diagram as data: its rows, lanes and layout, shared by the
//! page's panel and the SVG and Mermaid exports, so that all three draw
//! the same thing.

use protocol::{Actor, Call, CallResult, Segment, TcpFlag};

use super::{
    words::{call_text, result_text},
    CallView, View,
};

pub const ROW: f64 = 30.0;
pub const TOP: f64 = 46.0;
pub const WIDTH: f64 = 920.0;
/// Room for call labels outside each outer lane.
pub const MARGIN: f64 = 250.0;
pub const SLOPE: f64 = 18.0;

pub enum Row<'a> {
    Call(&'a CallView),
    Segment(u64, &'a Segment),
}

impl Row<'_> {
    pub fn seq(&self) -> u64 {
        match self {
            Row::Call(c) => c.first_seq,
            Row::Segment(seq, _) => *seq,
        }
    }
}

/// Lanes, left to right: clients, then the server.
pub fn lanes(view: &View) -> Vec<Actor> {
    let mut clients: Vec<Actor> = view
        .actors
        .keys()
        .copied()
        .filter(|a| matches!(a, Actor::Client(_)))
        .collect();
    clients.sort();
    if clients.is_empty() {
        clients.push(Actor::Client(0));
    }
    clients.push(Actor::Server);
    clients
}

pub fn lane_x(lanes: &[Actor], actor: Actor) -> f64 {
    let i = lanes.iter().position(|&a| a == actor).unwrap_or(0);
    let n = lanes.len().max(2) as f64;
    if actor == Actor::Server {
        WIDTH - MARGIN
    } else {
        // Clients share the left, the first at the margin.
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

/// Calls worth a mark on the ladder: name look-ups are left out.
pub fn drawn(call: &Call) -> bool {
    !matches!(call, Call::Getsockname | Call::Getpeername)
}

/// The ladder's rows in the order they happened: every drawn call and
/// every segment.
pub fn rows(view: &View) -> Vec<Row<'_>> {
    latest_rows(view, usize::MAX)
}

/// The last `n` of [`rows`], found from the end: calls and segments are
/// each already in order, so the two are merged backwards, and a long
/// session costs no more than a short one.
pub fn latest_rows(view: &View, n: usize) -> Vec<Row<'_>> {
    let mut calls = view
        .calls
        .iter()
        .rev()
        .filter(|c| drawn(&c.call))
        .peekable();
    let mut segments = view.segments.iter().rev().peekable();
    let mut rows = Vec::new();
    while rows.len() < n {
        let row = match (calls.peek(), segments.peek()) {
            (Some(c), Some((seq, _))) if c.first_seq > *seq => calls.next().map(Row::Call),
            (Some(_), None) => calls.next().map(Row::Call),
            (_, Some(_)) => segments.next().map(|(seq, s)| Row::Segment(*seq, s)),
            (None, None) => None,
        };
        match row {
            Some(row) => rows.push(row),
            None => break,
        }
    }
    rows.reverse();
    rows
}

/// How many rows the ladder has in all.
pub fn row_count(view: &View) -> usize {
    view.calls.iter().filter(|c| drawn(&c.call)).count() + view.segments.len()
}

/// A call's state (as a CSS class) and its label: `recv(16) → 16 bytes`.
pub fn call_label(c: &CallView) -> (&'static str, String) {
    match (&c.result, c.blocked) {
        (Some(r @ CallResult::Error { .. }), _) => (
            "failed",
            format!("{} → {}", call_text(&c.call), result_text(r)),
        ),
        (Some(r), blocked) => (
            if blocked {
                "returned was-blocked"
            } else {
                "returned"
            },
            format!("{} → {}", call_text(&c.call), result_text(r)),
        ),
        (None, true) => ("blocked", format!("{} … blocked", call_text(&c.call))),
        (None, false) => ("pending", format!("{} …", call_text(&c.call))),
    }
}

/// The lanes the given rows need: the clients that make a call or send or
/// receive a segment among them, then the server. A page draws a window of
/// a long session's rows, and a crowd's thousand lanes would not fit.
pub fn lanes_of(view: &View, rows: &[Row<'_>], server_addr: &str) -> Vec<Actor> {
    let mut clients: Vec<Actor> = rows
        .iter()
        .flat_map(|row| match row {
            Row::Call(c) => vec![c.actor],
            Row::Segment(_, s) => vec![
                lane_of(view, server_addr, &s.from),
                lane_of(view, server_addr, &s.to),
            ],
        })
        .filter(|a| matches!(a, Actor::Client(_)))
        .collect();
    clients.sort();
    clients.dedup();
    if clients.is_empty() {
        clients.push(Actor::Client(0));
    }
    clients.push(Actor::Server);
    clients
}
