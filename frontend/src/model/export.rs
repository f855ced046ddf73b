//! The ladder diagram exported: as a standalone SVG file (the page's
//! drawing, with its colours written in, so it looks the same anywhere) and
//! as Mermaid sequence-diagram text, for notes, slides and issue trackers.
//! Both come from the same rows and lanes as the page's ladder.

use std::fmt::Write as _;

use protocol::{Actor, Segment, TcpFlag};

use super::{
    ladder::{
        call_label, lane_of, lane_x, lanes, rows, segment_class, segment_label, Row, ROW, SLOPE,
        TOP, WIDTH,
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

/// The ladder of `view` as an SVG document. `server_addr` tells which end
/// of a segment is the server's.
pub fn svg(view: &View, server_addr: &str) -> String {
    let lanes = lanes(view);
    let rows = rows(view);
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
    for &actor in &lanes {
        let x = lane_x(&lanes, actor);
        let c = actor_colour(actor);
        let _ = writeln!(
            out,
            r#"<text x="{x}" y="22" text-anchor="middle" font-weight="bold" fill="{c}">{}</text><line x1="{x}" y1="30" x2="{x}" y2="{}" stroke="{c}" stroke-width="2"/>"#,
            xml(&actor.to_string()),
            height - 10.0
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + i as f64 * ROW;
        match row {
            Row::Segment(_, s) => {
                let from = lane_x(&lanes, lane_of(view, server_addr, &s.from));
                let to = lane_x(&lanes, lane_of(view, server_addr, &s.to));
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
                    xml(&segment_label(s))
                );
            }
            Row::Call(c) => {
                let x = lane_x(&lanes, c.actor);
                let server = c.actor == Actor::Server;
                let (anchor, tx) = if server {
                    ("start", x + 12.0)
                } else {
                    ("end", x - 12.0)
                };
                let (state, text) = call_label(c);
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
/// messages between the programs' lanes, calls are notes on their lane.
pub fn mermaid(view: &View, server_addr: &str) -> String {
    let lanes = lanes(view);
    let mut out = String::from("sequenceDiagram\n");
    for &actor in &lanes {
        let _ = writeln!(out, "    participant {} as {actor}", participant(actor));
    }
    for row in rows(view) {
        match row {
            Row::Segment(_, s) => {
                let from = participant(lane_of(view, server_addr, &s.from));
                let to = participant(lane_of(view, server_addr, &s.to));
                // A reset is drawn dashed, as on the page.
                let arrow = if s.has(TcpFlag::Rst) { "--)" } else { "->>" };
                let _ = writeln!(
                    out,
                    "    {from}{arrow}{to}: {}",
                    mermaid_text(&segment_label(s))
                );
            }
            Row::Call(c) => {
                let (_, text) = call_label(c);
                let _ = writeln!(
                    out,
                    "    Note over {}: {}",
                    participant(c.actor),
                    mermaid_text(&text)
                );
            }
        }
    }
    out
}
