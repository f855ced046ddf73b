//! The ladder (sequence) diagram: a lane per program, each real segment an
//! arrow across, each call a mark on its program's lane, in the order the
//! relay observed them.

use protocol::Actor;
use yew::prelude::*;

use super::actor_class;
use crate::{
    app::Snapshot,
    model::{
        export,
        ladder::{
            call_label, flag_words, lane_of, lane_x, lanes_of, latest_rows, row_count,
            segment_class, segment_label, Row, ROW, SLOPE, TOP, WIDTH,
        },
        Action,
    },
};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
    /// Selecting a row inspects its event.
    pub act: Callback<Action>,
}

/// The most lanes drawn side by side; past it the clients share one.
const MOST_LANES: usize = 7;

/// The most rows the panel draws: enough for any one exchange, few enough
/// that a crowd's tens of thousands of rows do not slow the page.
const ROWS_DRAWN: usize = 160;

#[component]
pub fn Ladder(props: &Props) -> Html {
    let model = props.model.get();
    let view = model.shown();
    let server_addr = model
        .session
        .as_ref()
        .map(|s| s.server_addr.clone())
        .unwrap_or_default();
    // A long session draws its latest rows only (the moment shown is the end).
    let rows = latest_rows(view, ROWS_DRAWN);
    let hidden = row_count(view) - rows.len();
    let rows = &rows[..];
    let lanes = lanes_of(view, rows, &server_addr);
    // More clients than lanes fit: the clients share one lane.
    let crowded = lanes.len() > MOST_LANES;
    let lanes = if crowded {
        vec![Actor::Client(0), Actor::Server]
    } else {
        lanes
    };
    let lane = |actor: Actor| match actor {
        Actor::Client(_) if crowded => Actor::Client(0),
        other => other,
    };
    let x_of = |actor: Actor| lane_x(&lanes, lane(actor));
    let last = rows.len().saturating_sub(1);
    // Each row keeps its place as rows come and go (the picture scrolls
    // over it), so drawing a new row changes no other.
    let top = hidden as f64 * ROW;
    let height = TOP + rows.len() as f64 * ROW + 30.0;

    let lane_lines = lanes.iter().map(|&actor| {
        let x = lane_x(&lanes, actor);
        let name = if crowded && actor != Actor::Server {
            "clients".to_owned()
        } else {
            actor.to_string()
        };
        html! {
            <g class={classes!("lane", actor_class(actor))}>
                <text x={x.to_string()} y={(top + 22.0).to_string()} text-anchor="middle" class="lane-name">{ name }</text>
                <line x1={x.to_string()} y1={(top + 30.0).to_string()} x2={x.to_string()} y2={(top + height - 10.0).to_string()} />
            </g>
        }
    });

    let selected = model.selected;
    let marks = rows.iter().enumerate().map(|(i, row)| {
        let y = TOP + (hidden + i) as f64 * ROW;
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
                let from = x_of(lane_of(view, &server_addr, &s.from));
                let to = x_of(lane_of(view, &server_addr, &s.to));
                let mid = (from + to) / 2.0;
                let title = format!(
                    "event {seq}: {} → {}\n{}\nseq {} (relative {}) ack {} (relative {}) window {}\n{} payload bytes",
                    s.from, s.to, flag_words(s), s.seq, s.rel_seq, s.ack, s.rel_ack, s.window, s.len
                );
                html! {
                    <g key={format!("s{seq}")} class={classes!(segment_class(s), fresh, chosen)} data-seq={seq.to_string()} onclick={pick}
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
                let x = x_of(c.actor);
                let anchor = if c.actor == Actor::Server { "start" } else { "end" };
                let tx = if c.actor == Actor::Server { x + 12.0 } else { x - 12.0 };
                let (state, text) = call_label(c);
                html! {
                    <g key={format!("c{}", c.first_seq)} class={classes!("call", state, actor_class(c.actor), fresh, chosen)} data-seq={c.first_seq.to_string()} onclick={pick}
                       onkeydown={pick_key} tabindex="0" role="button" aria-label={format!("Inspect call: {}: {}", c.actor, text)}>
                        <title>{ format!("{}: {}", c.actor, text) }</title>
                        <circle cx={x.to_string()} cy={y.to_string()} r="6" />
                        <text x={tx.to_string()} y={(y + 4.0).to_string()} text-anchor={anchor}>{ text }</text>
                    </g>
                }
            }
        }
    });

    // The exports draw the moment shown, from the same rows as this panel.
    let export = |kind: &'static str| {
        let snapshot = props.model.clone();
        Callback::from(move |_: MouseEvent| {
            let model = snapshot.get();
            let server = model
                .session
                .as_ref()
                .map(|s| s.server_addr.clone())
                .unwrap_or_default();
            let view = model.shown();
            let step = model.shown_len();
            match kind {
                "svg" => super::download(
                    &format!("tcpstep-step-{step}.svg"),
                    "image/svg+xml",
                    &export::svg(view, &server),
                ),
                _ => super::download(
                    &format!("tcpstep-step-{step}.mmd"),
                    "text/plain",
                    &export::mermaid(view, &server),
                ),
            }
        })
    };
    let export_svg = export("svg");
    let export_mermaid = export("mermaid");
    html! {
        <section class="panel ladder" aria-label="Ladder diagram">
            <h2>{ "On the wire" }
                if !rows.is_empty() {
                    <span class="exports">
                        <button onclick={export_svg} title="Download this ladder diagram as an SVG picture">{ "SVG" }</button>
                        <button onclick={export_mermaid} title="Download this ladder diagram as Mermaid sequence-diagram text">{ "Mermaid" }</button>
                    </span>
                }
            </h2>
            if hidden > 0 {
                <p class="more">{ format!("The first {hidden} rows are not drawn here: move the timeline back to see them, or export the whole ladder.") }</p>
            }
            if rows.is_empty() {
                <p class="empty">{ "Nothing yet. Press Step (or →) to let the first program make its first call." }</p>
            }
            <div class="ladder-scroll">
                <svg viewBox={format!("0 {top} {WIDTH} {height}")} width={WIDTH.to_string()} height={height.to_string()}
                     role="group" aria-label={format!("Ladder: {} calls and segments, each a button to inspect it", rows.len())}>
                    <defs>
                        <marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse">
                            <path d="M 0 0 L 10 5 L 0 10 z" />
                        </marker>
                    </defs>
                    { for lane_lines }
                    <g class="rows">{ for marks }</g>
                </svg>
            </div>
        </section>
    }
}
