//! The ladder's rows and spans, on every preset recorded for real: a call
//! is drawn where it went into the kernel, and what it returned is written
//! below whatever it waited for.

mod support;

use protocol::{CallResult, TcpFlag};
use tcpstep_frontend::model::{ladder, CallView, Mark, View};

/// The row (index among all rows) where a call's result is written: its
/// return mark when it is a span, else its one mark.
fn result_row(c: &CallView) -> usize {
    c.return_mark
        .or(c.entry_mark)
        .expect("a returned call that the ladder draws has a mark")
}

/// The row of the `i`th segment.
fn segment_row(view: &View, i: usize) -> usize {
    view.marks
        .iter()
        .position(|m| *m == Mark::Segment(i))
        .expect("every segment has a row")
}

fn returned_drawn_calls(view: &View) -> impl Iterator<Item = &CallView> {
    view.calls
        .iter()
        .filter(|c| c.result.is_some() && ladder::drawn(&c.call))
}

#[test]
fn every_call_is_marked_once_where_it_entered_and_spans_end_below_their_start() {
    for rec in support::recorded() {
        let name = &rec.session.scenario.name;
        let view = View::fold(&rec.events);
        for c in returned_drawn_calls(&view) {
            let entry = c.entry_mark.expect("marked");
            assert_eq!(
                view.marks[entry],
                Mark::Entered(index_of(&view, c)),
                "{name}"
            );
            assert!(c.entered_seq.is_some(), "{name}: {c:?} entered");
            if c.blocked {
                assert!(
                    c.return_mark.is_some(),
                    "{name}: a call that slept is a span"
                );
            }
            if let Some(ret) = c.return_mark {
                assert!(ret > entry, "{name}: {c:?}");
                assert_eq!(view.marks[ret], Mark::Returned(index_of(&view, c)));
            } else {
                // A dot: nothing else happened on the ladder while it was in.
                assert!(!c.is_span(view.marks.len()), "{name}: {c:?}");
            }
        }
        // Waiting calls are not rows: the ladder is what the kernel saw.
        let waiting_only = view.calls.iter().filter(|c| c.entered_seq.is_none());
        assert!(waiting_only.into_iter().all(|c| c.entry_mark.is_none()));
    }
}

fn index_of(view: &View, c: &CallView) -> usize {
    view.calls
        .iter()
        .position(|other| std::ptr::eq(other, c))
        .expect("one of the view's calls")
}

/// The lesson the ladder exists for: accept() hands over a connection the
/// kernel already made. Its result is written below the handshake's last
/// ACK, whether accept() slept through the handshake or came after it.
#[test]
fn accept_returns_below_the_handshake_it_hands_over() {
    let rec = support::recording("classic");
    let view = View::fold(&rec.events);
    if !support::capture_required("accept()'s row against the handshake") {
        return;
    }
    assert!(
        !view.segments.is_empty(),
        "the classic recording has no segments, yet capture is on"
    );
    let accepts: Vec<&CallView> = returned_drawn_calls(&view)
        .filter(|c| c.call.name() == "accept")
        .collect();
    assert_eq!(accepts.len(), 1, "the classic server accepts once");
    let accept = accepts[0];
    let Some(CallResult::Socket {
        peer: Some(peer), ..
    }) = &accept.result
    else {
        panic!("accept() returned a socket and its peer: {accept:?}");
    };
    // The handshake's last segment: the peer's first ACK without SYN.
    let ack = view
        .segments
        .iter()
        .position(|(_, s)| s.from == *peer && s.has(TcpFlag::Ack) && !s.has(TcpFlag::Syn))
        .expect("the client's ACK completing the handshake");
    assert!(segment_row(&view, ack) < result_row(accept));
    // Recorded in play mode, the server's accept() and the client's
    // connect() race: accept() either went in before the handshake ended
    // and slept through the rest of it (a span, ending below the ACK), or
    // came after it and found the connection waiting. The page test steps
    // them in order and sees the first.
    let entry = accept.entry_mark.expect("marked");
    if entry < segment_row(&view, ack) {
        assert!(
            accept.return_mark.is_some(),
            "accept() entered above the handshake's ACK and returned below it, so it is a span"
        );
    }
}

/// Every recv() that got bytes is written below the segment that brought
/// the last of them: no result sits above the data it returns.
#[test]
fn recv_returns_below_the_data_it_returns() {
    if !support::capture_required("recv()'s rows against the segments") {
        return;
    }
    let mut checked = 0;
    for rec in support::recorded() {
        let name = &rec.session.scenario.name;
        let view = View::fold(&rec.events);
        // Bytes each connection's recv()s have returned so far.
        let mut read: std::collections::BTreeMap<(String, String), u64> = Default::default();
        for c in returned_drawn_calls(&view).filter(|c| c.call.name() == "recv") {
            let Some(CallResult::Bytes { n, .. }) = &c.result else {
                continue;
            };
            let Some((local, remote)) = c
                .socket
                .and_then(|id| view.sockets.get(&id))
                .and_then(|s| s.tuple.as_ref())
                .and_then(|t| Some((t.local.clone(), t.remote.clone()?)))
            else {
                panic!("{name}: a connected socket has its addresses: {c:?}")
            };
            let total = read.entry((local.clone(), remote.clone())).or_default();
            *total += *n as u64;
            if *n == 0 {
                continue;
            }
            // Data byte k (from 0) has relative sequence number k + 1: the
            // SYN took 0. Without the SYN seen, the first byte seen is
            // relative 0: then it reaches byte rel_seq + len - 1 at most,
            // and `saturating_sub` keeps that from wrapping.
            let carrier = view
                .segments
                .iter()
                .position(|(_, s)| {
                    s.to == local
                        && s.from == remote
                        && s.len > 0
                        && (u64::from(s.rel_seq) + s.len as u64).saturating_sub(1) >= *total
                })
                .unwrap_or_else(|| panic!("{name}: no segment brought byte {total} to {local}"));
            assert!(
                segment_row(&view, carrier) < result_row(c),
                "{name}: recv on {local} returned above the data it read"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 8,
        "recv()s that read data were checked: {checked}"
    );
}

/// Time travel draws the same ladder: the rows of the view after `k`
/// events are a prefix of the rows of the whole (only open spans differ).
#[test]
fn the_marks_of_any_moment_are_a_prefix_of_the_whole() {
    let rec = support::recording("fragmented");
    let whole = View::fold(&rec.events);
    for k in (0..rec.events.len()).step_by(7) {
        let then = View::fold(&rec.events[..k]);
        assert!(
            then.marks.iter().eq(whole.marks.range(0..then.marks.len())),
            "after {k}"
        );
    }
}

/// When Step is greyed out, the page says why: at the end of the classic
/// exchange the server sleeps in its next accept() and the client has ended.
#[test]
fn when_nothing_waits_the_page_says_where_each_program_is() {
    let rec = support::recording("classic");
    let end = View::fold(&rec.events);
    assert!(end.waiting().is_empty(), "nothing waits at the end");
    let why = end.why_nothing_waits(3).expect("a reason");
    assert!(
        why.starts_with("No call waits for a step: The server is asleep in accept()"),
        "{why}"
    );
    assert!(why.contains("client 0 has ended"), "{why}");
    // While a program waits, there is nothing to explain.
    let some = rec
        .events
        .iter()
        .position(|e| matches!(e.kind, protocol::EventKind::CallWaiting { .. }))
        .expect("a call waits");
    assert_eq!(View::fold(&rec.events[..=some]).why_nothing_waits(3), None);
    // A crowd names the server and two clients, and counts the rest.
    let crowd = View::fold(&support::recording("crowd").events);
    let why = crowd.why_nothing_waits(3).expect("a reason");
    assert!(why.contains("2 more programs"), "{why}");
}
