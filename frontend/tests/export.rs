//! The ladder's exports, from traces recorded from real runs: the SVG is
//! well-formed XML that draws every segment, call and span, and the Mermaid
//! text has one message per segment, one note per call row and an
//! activation per span.

mod support;

use tcpstep_frontend::model::{export, ladder, View};

#[test]
fn the_svg_draws_every_row_and_is_well_formed() {
    for rec in support::recorded() {
        let name = &rec.session.scenario.name;
        let view = View::fold(&rec.events);
        let server = rec.session.server_addr.as_str();
        let svg = export::svg(&view, server);
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}: {e}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        let count = |tag: &str| root.descendants().filter(|n| n.has_tag_name(tag)).count();
        let rows = ladder::rows(&view);
        let lanes = ladder::Lanes::of(&view, &rows, server).actors().len();
        let calls = rows
            .iter()
            .filter(|r| matches!(r, ladder::Row::Call(_) | ladder::Row::Return(_)))
            .count();
        let spans = ladder::spans(&view, 0, rows.len().saturating_sub(1)).len();
        // A lane each, an arrow per segment, a short one per dropped segment.
        assert_eq!(
            count("line"),
            lanes + view.segments.len() + view.dropped.len(),
            "{name}"
        );
        assert_eq!(count("circle"), calls, "{name}");
        // The background, and a bar for each call that took time.
        assert_eq!(count("rect"), 1 + spans, "{name}");
        // Every label the page draws is in the picture, as text.
        let texts: Vec<&str> = root
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .collect();
        for (seq, s) in &view.segments {
            let label = ladder::crossing_label(&view, *seq, s);
            assert!(texts.contains(&label.as_str()), "{name}: {label}");
        }
        for (_, s, _) in &view.dropped {
            let label = format!("{}  ✕ dropped", ladder::segment_label(s));
            assert!(texts.contains(&label.as_str()), "{name}: {label}");
        }
    }
}

/// A segment the wire dropped is drawn as one that never arrived: in
/// Mermaid, an arrow ending in a cross.
#[test]
fn a_dropped_segment_is_drawn_ending_in_a_cross() {
    if !support::capture_required("the dropped SYN of lost-syn") {
        return;
    }
    let rec = support::recording("lost-syn");
    let view = View::fold(&rec.events);
    assert_eq!(view.dropped.len(), 1, "lost-syn drops one SYN");
    let text = export::mermaid(&view, &rec.session.server_addr);
    let crosses: Vec<&str> = text.lines().filter(|l| l.contains("-x")).collect();
    assert_eq!(crosses.len(), 1, "{text}");
    assert!(
        crosses[0].trim().starts_with("client0-xserver: SYN") && crosses[0].contains("dropped"),
        "{text}"
    );
    // The dropped SYN comes before the SYN that crossed, a second later,
    // which says it was sent again, and when.
    let svg = export::svg(&view, &rec.session.server_addr);
    let dropped_at = svg.find("✕ dropped").expect("drawn");
    let syn_at = svg
        .find(">SYN  seq=0  ↻ again, +")
        .expect("the SYN sent again");
    assert!(dropped_at < syn_at, "drawn in the order they happened");
    let (&seq, &after_us) = view.resent.iter().next().expect("one segment sent again");
    assert!(
        (900_000..3_000_000).contains(&after_us),
        "the kernel's initial RTO is a second: {after_us} µs"
    );
    let again = view
        .segments
        .iter()
        .find(|(s, _)| *s == seq)
        .expect("the resent segment crossed");
    assert!(again.1.has(protocol::TcpFlag::Syn));
}

#[test]
fn the_mermaid_text_has_a_message_per_segment_and_a_note_per_call() {
    let rec = support::recording("classic");
    let view = View::fold(&rec.events);
    let text = export::mermaid(&view, &rec.session.server_addr);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("sequenceDiagram"));
    assert!(text.contains("participant client0 as client 0"), "{text}");
    assert!(text.contains("participant server as server"), "{text}");
    let messages: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("->>") || l.contains("--)"))
        .collect();
    assert_eq!(messages.len(), view.segments.len(), "{text}");
    if support::capture_required("the Mermaid text's segments") {
        assert!(
            messages[0].trim().starts_with("client0->>server: SYN"),
            "{text}"
        );
        // The server's reset is drawn dashed, as on the page.
        assert!(
            messages
                .iter()
                .any(|m| m.trim().starts_with("server--)client0: RST")),
            "{text}"
        );
    }
    let notes = text
        .lines()
        .filter(|l| l.trim().starts_with("Note over"))
        .count();
    let calls = ladder::rows(&view)
        .iter()
        .filter(|r| matches!(r, ladder::Row::Call(_) | ladder::Row::Return(_)))
        .count();
    assert_eq!(notes, calls);
    assert!(text.contains("Note over server: accept() → fd"), "{text}");
    // Each call that took time is an activation bar, ended where it
    // returned; only the server's next accept(), asleep when the recording
    // stopped, stays open.
    let count = |word: &str| text.lines().filter(|l| l.trim().starts_with(word)).count();
    assert!(count("activate server") >= 1, "accept() slept: {text}");
    let open = view
        .calls
        .iter()
        .filter(|c| c.result.is_none() && c.is_span(view.marks.len()))
        .count();
    assert_eq!(open, 1, "{text}");
    assert_eq!(count("activate "), count("deactivate ") + open, "{text}");
    // Nothing in a line can end the statement early.
    assert!(text.lines().skip(1).all(|l| !l.contains(';')));
}

#[test]
fn the_ladder_rows_are_in_event_order_and_any_tail_of_them_is_the_same() {
    for rec in support::recorded() {
        let view = View::fold(&rec.events);
        let all: Vec<u64> = ladder::rows(&view).iter().map(ladder::Row::seq).collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]), "in order");
        assert_eq!(all.len(), ladder::row_count(&view));
        for n in [0, 1, 7, all.len()].map(|n| n.min(all.len())) {
            let tail: Vec<u64> = ladder::latest_rows(&view, n)
                .iter()
                .map(ladder::Row::seq)
                .collect();
            assert_eq!(tail, all[all.len() - n..]);
        }
    }
}
