//! The ladder (sequence) diagram: a lane per program, each real segment an
//! arrow across, each call a mark on its program's lane where it went into
//! the kernel, and each call that took time a bar down to where it came
//! back out, in the order the relay observed them.

use protocol::Actor;
use yew::prelude::*;

use super::actor_class;
use crate::{
    app::Snapshot,
    model::{
        export,
        kernel::reason_words,
        ladder::{
            call_label, crossing_label, flag_words, lane_of, latest_rows, row_count, row_y,
            segment_class, segment_label, spans, waiting_marks, Lanes, Row, BAR, DROPPED_AT, ROW,
            SLOPE, TOP, WIDTH,
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
    let total = row_count(view);
    let hidden = total - rows.len();
    let rows = &rows[..];
    let lanes = Lanes::of(view, rows, &server_addr);
    let waiting = waiting_marks(view, &lanes);
    let last = rows.len().saturating_sub(1);
    // Each row keeps its place as rows come and go (the picture scrolls
    // over it), so drawing a new row changes no other.
    let top = hidden as f64 * ROW;
    // One more row under the last for the calls waiting for a step.
    let height = TOP + (rows.len() + 1) as f64 * ROW + 30.0;
    let bottom = top + height - 10.0;

    let lane_lines = lanes.actors().iter().map(|&actor| {
        let x = lanes.x(actor);
        html! {
            <g class={classes!("lane", actor_class(actor))} aria-hidden="true">
                <text x={x.to_string()} y={(top + 22.0).to_string()} text-anchor="middle" class="lane-name">{ lanes.name(actor) }</text>
                <line x1={x.to_string()} y1={(top + 30.0).to_string()} x2={x.to_string()} y2={bottom.to_string()} />
            </g>
        }
    });

    // The bars of calls that took time, under the rows' marks.
    let bars = spans(view, hidden, total.saturating_sub(1)).into_iter().map(|span| {
        let x = lanes.x(span.call.actor) - BAR / 2.0;
        let y1 = row_y(span.from).max(top + 30.0);
        let y2 = span.to.map_or(bottom, row_y);
        html! {
            <rect class={classes!(span.class(), actor_class(span.call.actor), span.to.is_none().then_some("open"))}
                  data-entry-seq={span.call.entry_seq().to_string()}
                  data-return-seq={span.call.returned_seq.map(|s| s.to_string())}
                  x={x.to_string()} y={y1.to_string()} width={BAR.to_string()} height={(y2 - y1).max(0.0).to_string()} rx="3">
                <title>{ span.title() }</title>
            </rect>
        }
    });

    let selected = model.selected;
    let marks = rows.iter().enumerate().map(|(i, row)| {
        let y = row_y(hidden + i);
        let fresh = (i == last && model.scrubbed.is_none()).then_some("fresh");
        let seq = row.seq();
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
                let from = lanes.x(lane_of(view, &server_addr, &s.from));
                let to = lanes.x(lane_of(view, &server_addr, &s.to));
                let mid = (from + to) / 2.0;
                let mut title = format!(
                    "event {seq}: {} → {}\n{}\nseq {} (relative {}) ack {} (relative {}) window {}\n{} payload bytes",
                    s.from, s.to, flag_words(s), s.seq, s.rel_seq, s.ack, s.rel_ack, s.window, s.len
                );
                // A RST's badge: the kernel's own reason for it, where it said.
                let mut name = format!("Inspect segment: {}", crossing_label(view, *seq, s));
                let reason = view.reset_reason(s).map(|reason| {
                    // The badge is visible text of the button: its name says it too.
                    name.push_str(&format!(" {reason}"));
                    title.push_str(&format!("\nthe kernel's reason: {reason}"));
                    if let Some(words) = reason_words(reason) {
                        title.push_str(&format!("\n{words}"));
                    }
                    // Inside the label's text, so the segment's visible
                    // text reads "RST, ACK … TCP_ABORT_ON_CLOSE", as its name does.
                    html! {
                        <tspan class="kernel-reason" x={mid.to_string()} y={(y + 14.0).to_string()}>
                            { format!(" {reason}") }
                        </tspan>
                    }
                });
                html! {
                    <g key={format!("s{seq}")} class={classes!(segment_class(s), fresh, chosen)} data-seq={seq.to_string()} onclick={pick}
                       onkeydown={pick_key} tabindex="0" role="button" aria-label={name}>
                        <title>{ title }</title>
                        <line class="arrow" x1={from.to_string()} y1={(y - SLOPE / 2.0).to_string()}
                              x2={to.to_string()} y2={(y + SLOPE / 2.0).to_string()} marker-end="url(#arrowhead)" />
                        <text class="seg-label" x={mid.to_string()} y={(y - 6.0).to_string()} text-anchor="middle">
                            { crossing_label(view, *seq, s) }
                            { for reason }
                        </text>
                    </g>
                }
            }
            Row::Dropped(seq, s, rule) => {
                let from = lanes.x(lane_of(view, &server_addr, &s.from));
                let to = lanes.x(lane_of(view, &server_addr, &s.to));
                let (y1, y2) = (y - SLOPE / 2.0, y + SLOPE / 2.0);
                // It stops part of the way, where the wire dropped it.
                let (end_x, end_y) = (from + (to - from) * DROPPED_AT, y1 + (y2 - y1) * DROPPED_AT);
                let label = format!("{}  ✕ dropped", segment_label(s));
                html! {
                    <g key={format!("d{seq}")} class={classes!(segment_class(s), "dropped", fresh, chosen)} data-seq={seq.to_string()}
                       role="img" aria-label={format!("Dropped by the wire: {}", segment_label(s))}>
                        <title>{ format!("event {seq}: the wire dropped this segment (wire rule {rule}): {} → {}\n{}\nit never arrived; only its sender's kernel can send it again", s.from, s.to, flag_words(s)) }</title>
                        <line class="arrow" x1={from.to_string()} y1={y1.to_string()} x2={end_x.to_string()} y2={end_y.to_string()} />
                        <text class="drop-mark" x={end_x.to_string()} y={(end_y + 5.0).to_string()} text-anchor="middle">{ "✕" }</text>
                        <text class="seg-label" x={((from + to) / 2.0).to_string()} y={(y - 6.0).to_string()} text-anchor="middle">{ label }</text>
                    </g>
                }
            }
            Row::Call(c) | Row::Return(c) => {
                let x = lanes.x(c.actor);
                let server = c.actor == Actor::Server;
                let anchor = if server { "start" } else { "end" };
                let tx = if server { x + 12.0 } else { x - 12.0 };
                let (state, text) = call_label(view, row);
                let key = match row {
                    Row::Return(_) => format!("r{seq}"),
                    _ => format!("c{}", c.first_seq),
                };
                html! {
                    <g key={key} class={classes!("call", state, actor_class(c.actor), fresh, chosen)} data-seq={seq.to_string()} onclick={pick}
                       onkeydown={pick_key} tabindex="0" role="button" aria-label={format!("Inspect call: {}: {}", c.actor, text)}>
                        <title>{ format!("{}: {}", c.actor, text) }</title>
                        <circle cx={x.to_string()} cy={y.to_string()} r="6" />
                        <text x={tx.to_string()} y={(y + 4.0).to_string()} text-anchor={anchor}>{ text }</text>
                    </g>
                }
            }
        }
    });

    // Below the last row: each program's next call, waiting for a step.
    let next_y = row_y(total);
    let next = waiting.into_iter().map(|(lane, text)| {
        let x = lanes.x(lane);
        let server = lane == Actor::Server;
        let (anchor, tx) = if server { ("start", x + 12.0) } else { ("end", x - 12.0) };
        html! {
            <g class={classes!("call", "waiting", actor_class(lane))}>
                <title>{ format!("{}: stopped before this call until it is stepped", lanes.name(lane)) }</title>
                <circle cx={x.to_string()} cy={next_y.to_string()} r="6" />
                <text x={tx.to_string()} y={(next_y + 4.0).to_string()} text-anchor={anchor}>{ text }</text>
            </g>
        }
    });

    // The exports draw the moment shown whole, from the same model of rows,
    // spans and lanes as this panel (which draws only its latest rows).
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
            if !rows.is_empty() {
                <p class="ladder-key">
                    <span class="key-dot filled" aria-hidden="true"></span>{ " a call's result, where it returned  " }
                    <span class="key-dot" aria-hidden="true"></span>{ " where a call went into the kernel and took time: " }
                    <span class="key-bar asleep" aria-hidden="true"></span>{ " asleep there until the bar ends, " }
                    <span class="key-bar busy" aria-hidden="true"></span>{ " busy there while other things happened" }
                </p>
            }
            if hidden > 0 {
                <p class="more">{ format!("The first {hidden} rows are not drawn here: move the timeline back to see them, or export the whole ladder.") }</p>
            }
            if rows.is_empty() {
                <p class="empty">{ "Nothing yet. Press Step (or →) to let the first program make its first call." }</p>
            }
            <div class="ladder-scroll">
                <svg viewBox={format!("0 {top} {WIDTH} {height}")} width={WIDTH.to_string()} height={height.to_string()}
                     role="group" aria-label={format!("Ladder: {} calls and segments, oldest first, each a button to inspect it", rows.len())}>
                    <defs>
                        <marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse">
                            <path d="M 0 0 L 10 5 L 0 10 z" />
                        </marker>
                    </defs>
                    { for lane_lines }
                    <g class="spans">{ for bars }</g>
                    <g class="rows">{ for marks }</g>
                    <g class="next">{ for next }</g>
                </svg>
            </div>
        </section>
    }
}
