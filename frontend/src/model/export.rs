//! The ladder diagram exported: as a standalone SVG file (the page's
//! drawing, with its colours written in, so it looks the same anywhere) and
//! as Mermaid sequence-diagram text, for notes, slides and issue trackers.
//! Both come from the same rows and lanes as the page's ladder.

use std::fmt::Write as _;

use protocol::{Actor, Segment, TcpFlag};

use super::{
    ladder::{
        call_label, crossing_label, lane_of, row_y, rows, segment_class, segment_label, spans,
        Lanes, Row, Span, BAR, DROPPED_AT, ROW, SLOPE, TOP, WIDTH,
    },
    View,
};

/// Text safe inside XML.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page's colour for a segment (style.css, light theme), by its class.
fn colour(segment: &Segment) -> &'static str {
    match segment_class(segment) {
        "seg rst" => "#cf222e",
        "seg syn" => "#1a7f37",
        "seg fin" => "#8250df",
        "seg data" => "#0969da",
        _ => "#5b5b66",
    }
}

fn actor_colour(actor: Actor) -> &'static str {
    match actor {
        Actor::Server => "#1f5fd6",
        _ => "#b35200",
    }
}

/// The colour of a span's bar: a neutral slate for a call asleep, so it is
/// never taken for a program's own colour (style.css `--asleep`).
fn span_colour(span: &Span<'_>) -> &'static str {
    if span.call.blocked {
        "#57606a"
    } else {
        "#afb8c1"
    }
}

/// The ladder of `view` as an SVG document. `server_addr` tells which end
/// of a segment is the server's.
pub fn svg(view: &View, server_addr: &str) -> String {
    let rows = rows(view);
    let lanes = Lanes::of(view, &rows, server_addr);
    let height = TOP + rows.len() as f64 * ROW + 30.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" font-family="DejaVu Sans Mono, monospace" font-size="11">"#
    );
    let _ = writeln!(
        out,
        r##"<defs><marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="context-stroke"/></marker></defs>"##
    );
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    for &actor in lanes.actors() {
        let x = lanes.x(actor);
        let c = actor_colour(actor);
        let _ = writeln!(
            out,
            r#"<text x="{x}" y="22" text-anchor="middle" font-weight="bold" fill="{c}">{}</text><line x1="{x}" y1="30" x2="{x}" y2="{}" stroke="{c}" stroke-width="2"/>"#,
            xml(&lanes.name(actor)),
            height - 10.0
        );
    }
    for span in spans(view, 0, rows.len().saturating_sub(1)) {
        let x = lanes.x(span.call.actor) - BAR / 2.0;
        let y1 = row_y(span.from);
        let y2 = span.to.map_or(height - 10.0, row_y);
        let _ = writeln!(
            out,
            r#"<rect x="{x}" y="{y1}" width="{BAR}" height="{}" rx="3" fill="{}"><title>{}</title></rect>"#,
            y2 - y1,
            span_colour(&span),
            xml(&span.title())
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = row_y(i);
        match row {
            Row::Segment(seq, s) => {
                let from = lanes.x(lane_of(view, server_addr, &s.from));
                let to = lanes.x(lane_of(view, server_addr, &s.to));
                let c = colour(s);
                let dash = if s.has(TcpFlag::Rst) {
                    r#" stroke-dasharray="6 4""#
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    r#"<line x1="{from}" y1="{}" x2="{to}" y2="{}" stroke="{c}" stroke-width="2"{dash} marker-end="url(#arrowhead)"/><text x="{}" y="{}" text-anchor="middle" fill="{c}">{}</text>"#,
                    y - SLOPE / 2.0,
                    y + SLOPE / 2.0,
                    (from + to) / 2.0,
                    y - 6.0,
                    xml(&crossing_label(view, *seq, s))
                );
            }
            Row::Dropped(_, s, _) => {
                let from = lanes.x(lane_of(view, server_addr, &s.from));
                let to = lanes.x(lane_of(view, server_addr, &s.to));
                let c = colour(s);
                let (y1, y2) = (y - SLOPE / 2.0, y + SLOPE / 2.0);
                let (end_x, end_y) = (from + (to - from) * DROPPED_AT, y1 + (y2 - y1) * DROPPED_AT);
                let _ = writeln!(
                    out,
                    r#"<line x1="{from}" y1="{y1}" x2="{end_x}" y2="{end_y}" stroke="{c}" stroke-width="2"/><text x="{end_x}" y="{}" text-anchor="middle" fill="{c}">✕</text><text x="{}" y="{}" text-anchor="middle" fill="{c}">{}</text>"#,
                    end_y + 5.0,
                    (from + to) / 2.0,
                    y - 6.0,
                    xml(&format!("{}  ✕ dropped", segment_label(s)))
                );
            }
            Row::Call(c) | Row::Return(c) => {
                let x = lanes.x(c.actor);
                let server = c.actor == Actor::Server;
                let (anchor, tx) = if server {
                    ("start", x + 12.0)
                } else {
                    ("end", x - 12.0)
                };
                let (state, text) = call_label(view, row);
                let fill = if state == "failed" {
                    "#cf222e"
                } else {
                    actor_colour(c.actor)
                };
                let _ = writeln!(
                    out,
                    r#"<circle cx="{x}" cy="{y}" r="6" fill="{fill}"/><text x="{tx}" y="{}" text-anchor="{anchor}" fill="{fill}">{}</text>"#,
                    y + 4.0,
                    xml(&text)
                );
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

/// Mermaid's name for a lane: letters and digits only.
fn participant(actor: Actor) -> String {
    match actor {
        Actor::Server => "server".to_owned(),
        Actor::Client(k) => format!("client{k}"),
        other => other
            .to_string()
            .replace(|c: char| !c.is_alphanumeric(), ""),
    }
}

/// Mermaid message text: it ends at a newline, and `;` and `#` are special.
fn mermaid_text(text: &str) -> String {
    text.replace(['\n', ';'], " ").replace('#', "#35;")
}

/// The ladder of `view` as a Mermaid sequence diagram: segments are
/// messages between the programs' lanes, calls are notes on their lane,
/// and a call that took time is an activation bar from where it entered
/// the kernel to where it returned.
pub fn mermaid(view: &View, server_addr: &str) -> String {
    let rows = rows(view);
    let lanes = Lanes::of(view, &rows, server_addr);
    let mut out = String::from("sequenceDiagram\n");
    for &actor in lanes.actors() {
        let _ = writeln!(
            out,
            "    participant {} as {}",
            participant(actor),
            lanes.name(actor)
        );
    }
    let marks = view.marks.len();
    for row in &rows {
        match row {
            Row::Segment(seq, s) => {
                let from = participant(lanes.lane(lane_of(view, server_addr, &s.from)));
                let to = participant(lanes.lane(lane_of(view, server_addr, &s.to)));
                // A reset is drawn dashed, as on the page.
                let arrow = if s.has(TcpFlag::Rst) { "--)" } else { "->>" };
                let _ = writeln!(
                    out,
                    "    {from}{arrow}{to}: {}",
                    mermaid_text(&crossing_label(view, *seq, s))
                );
            }
            Row::Dropped(_, s, _) => {
                let from = participant(lanes.lane(lane_of(view, server_addr, &s.from)));
                let to = participant(lanes.lane(lane_of(view, server_addr, &s.to)));
                // Mermaid's arrow with a cross at its end: lost on the way.
                let _ = writeln!(
                    out,
                    "    {from}-x{to}: {}",
                    mermaid_text(&format!("{} (dropped by the wire)", segment_label(s)))
                );
            }
            Row::Call(c) | Row::Return(c) => {
                let lane = participant(lanes.lane(c.actor));
                let (_, text) = call_label(view, row);
                let _ = writeln!(out, "    Note over {lane}: {}", mermaid_text(&text));
                match row {
                    Row::Call(c) if c.is_span(marks) => {
                        let _ = writeln!(out, "    activate {lane}");
                    }
                    Row::Return(_) => {
                        let _ = writeln!(out, "    deactivate {lane}");
                    }
                    _ => {}
                }
            }
        }
    }
    out
}
