//! The ladder (sequence) diagram: a lane per program, each real segment an
//! arrow across, each call a mark on its program's lane, in the order the
//! relay observed them.

use protocol::{Actor, Call, CallResult, Segment, TcpFlag};
use yew::prelude::*;

use super::{actor_class, call_text, result_text};
use crate::{
    app::Snapshot,
    model::{Action, CallView, View},
};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
    /// Selecting a row inspects its event.
    pub act: Callback<Action>,
}

const ROW: f64 = 30.0;
const TOP: f64 = 46.0;
const WIDTH: f64 = 920.0;
/// Room for call labels outside each outer lane.
const MARGIN: f64 = 250.0;
const SLOPE: f64 = 18.0;

enum Row<'a> {
    Call(&'a CallView),
    Segment(u64, &'a Segment),
}

impl Row<'_> {
    fn seq(&self) -> u64 {
        match self {
            Row::Call(c) => c.first_seq,
            Row::Segment(seq, _) => *seq,
        }
    }
}

/// Lanes, left to right: clients, then the server.
fn lanes(view: &View) -> Vec<Actor> {
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

fn lane_x(lanes: &[Actor], actor: Actor) -> f64 {
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
fn lane_of(view: &View, server_addr: &str, addr: &str) -> Actor {
    if addr == server_addr {
        return Actor::Server;
    }
    view.sockets
        .values()
        .find(|s| s.tuple.as_ref().is_some_and(|t| t.local == addr))
        .map_or(Actor::Client(0), |s| s.owner)
}

/// Flags written as words: `SYN, ACK`.
fn flag_words(segment: &Segment) -> String {
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

fn segment_label(segment: &Segment) -> String {
    let mut label = format!("{}  seq={}", flag_words(segment), segment.rel_seq);
    if segment.has(TcpFlag::Ack) {
        label.push_str(&format!(" ack={}", segment.rel_ack));
    }
    if segment.len > 0 {
        label.push_str(&format!(" len={}", segment.len));
    }
    label
}

fn segment_class(segment: &Segment) -> &'static str {
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
fn drawn(call: &Call) -> bool {
    !matches!(call, Call::Getsockname | Call::Getpeername)
}

#[component]
pub fn Ladder(props: &Props) -> Html {
    let model = &props.model;
    let view = model.shown();
    let server_addr = model
        .session
        .as_ref()
        .map(|s| s.server_addr.clone())
        .unwrap_or_default();
    let lanes = lanes(view);
    let mut rows: Vec<Row> = view
        .calls
        .iter()
        .filter(|c| drawn(&c.call))
        .map(Row::Call)
        .chain(view.segments.iter().map(|(seq, s)| Row::Segment(*seq, s)))
        .collect();
    rows.sort_by_key(Row::seq);
    let last = rows.len().saturating_sub(1);
    let height = TOP + rows.len() as f64 * ROW + 30.0;

    let lane_lines = lanes.iter().map(|&actor| {
        let x = lane_x(&lanes, actor);
        html! {
            <g class={classes!("lane", actor_class(actor))}>
                <text x={x.to_string()} y="22" text-anchor="middle" class="lane-name">{ actor.to_string() }</text>
                <line x1={x.to_string()} y1="30" x2={x.to_string()} y2={(height - 10.0).to_string()} />
            </g>
        }
    });

    let selected = model.selected;
    let marks = rows.iter().enumerate().map(|(i, row)| {
        let y = TOP + i as f64 * ROW;
        let fresh = (i == last && model.scrubbed.is_none()).then_some("fresh");
        let seq = match row {
            Row::Call(c) => c.returned_seq.unwrap_or(c.first_seq),
            Row::Segment(seq, _) => *seq,
        };
        let pick = props.act.reform(move |_: MouseEvent| Action::Select(Some(seq)));
        // The keyboard reaches every row too: Tab to it, Enter or space to inspect.
        let pick_key = {
            let act = props.act.clone();
            Callback::from(move |e: KeyboardEvent| {
                if e.key() == "Enter" || e.key() == " " {
                    e.prevent_default();
                    act.emit(Action::Select(Some(seq)));
                }
            })
        };
        let chosen = (selected == Some(seq)).then_some("selected");
        match row {
            Row::Segment(seq, s) => {
                let from = lane_x(&lanes, lane_of(view, &server_addr, &s.from));
                let to = lane_x(&lanes, lane_of(view, &server_addr, &s.to));
                let mid = (from + to) / 2.0;
                let title = format!(
                    "event {seq}: {} → {}\n{}\nseq {} (relative {}) ack {} (relative {}) window {}\n{} payload bytes",
                    s.from, s.to, flag_words(s), s.seq, s.rel_seq, s.ack, s.rel_ack, s.window, s.len
                );
                html! {
                    <g class={classes!(segment_class(s), fresh, chosen)} data-seq={seq.to_string()} onclick={pick}
                       onkeydown={pick_key} tabindex="0" role="button" aria-label={format!("Inspect segment: {}", segment_label(s))}>
                        <title>{ title }</title>
                        <line class="arrow" x1={from.to_string()} y1={(y - SLOPE / 2.0).to_string()}
                              x2={to.to_string()} y2={(y + SLOPE / 2.0).to_string()} marker-end="url(#arrowhead)" />
                        <text class="seg-label" x={mid.to_string()} y={(y - 6.0).to_string()} text-anchor="middle">
                            { segment_label(s) }
                        </text>
                    </g>
                }
            }
            Row::Call(c) => {
                let x = lane_x(&lanes, c.actor);
                let anchor = if c.actor == Actor::Server { "start" } else { "end" };
                let tx = if c.actor == Actor::Server { x + 12.0 } else { x - 12.0 };
                let (state, text) = match (&c.result, c.blocked) {
                    (Some(r @ CallResult::Error { .. }), _) => ("failed", format!("{} → {}", call_text(&c.call), result_text(r))),
                    (Some(r), blocked) => (
                        if blocked { "returned was-blocked" } else { "returned" },
                        format!("{} → {}", call_text(&c.call), result_text(r)),
                    ),
                    (None, true) => ("blocked", format!("{} … blocked", call_text(&c.call))),
                    (None, false) => ("pending", format!("{} …", call_text(&c.call))),
                };
                html! {
                    <g class={classes!("call", state, actor_class(c.actor), fresh, chosen)} data-seq={c.first_seq.to_string()} onclick={pick}
                       onkeydown={pick_key} tabindex="0" role="button" aria-label={format!("Inspect call: {}: {}", c.actor, text)}>
                        <title>{ format!("{}: {}", c.actor, text) }</title>
                        <circle cx={x.to_string()} cy={y.to_string()} r="6" />
                        <text x={tx.to_string()} y={(y + 4.0).to_string()} text-anchor={anchor}>{ text }</text>
                    </g>
                }
            }
        }
    });

    html! {
        <section class="panel ladder" aria-label="Ladder diagram">
            <h2>{ "On the wire" }</h2>
            if rows.is_empty() {
                <p class="empty">{ "Nothing yet. Press Step (or →) to let the first program make its first call." }</p>
            }
            <div class="ladder-scroll">
                <svg viewBox={format!("0 0 {WIDTH} {height}")} width={WIDTH.to_string()} height={height.to_string()}
                     role="img" aria-label={format!("{} calls and segments", rows.len())}>
                    <defs>
                        <marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse">
                            <path d="M 0 0 L 10 5 L 0 10 z" />
                        </marker>
                    </defs>
                    { for lane_lines }
                    { for marks }
                </svg>
            </div>
        </section>
    }
}
