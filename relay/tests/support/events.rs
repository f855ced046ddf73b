//! Reading a session's events: what crossed the wire, what calls returned.

use protocol::{Actor, CallResult, Event, EventKind, Segment};

/// Every segment, in order.
pub fn segments(events: &[Event]) -> Vec<&Segment> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Segment { segment } => Some(segment),
            _ => None,
        })
        .collect()
}

/// What each of `actor`'s calls named `name` returned, in order.
pub fn returned<'a>(events: &'a [Event], actor: Actor, name: &str) -> Vec<&'a CallResult> {
    events
        .iter()
        .filter(|e| e.actor == actor)
        .filter_map(|e| match &e.kind {
            EventKind::CallReturned { call, result } if call.name() == name => Some(result),
            _ => None,
        })
        .collect()
}
