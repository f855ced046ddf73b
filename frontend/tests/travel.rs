//! Time travel through checkpoints: every moment of every real session,
//! reached from a kept view, is the view folded from the start, whether
//! moving back, on or jumping about, while live events keep arriving, and
//! after a new session begins; no moment is a spacing or more of folding
//! from a kept view; and however long the session, at most `MOST` views
//! are kept (the spacing doubles).

mod support;

use std::time::Duration;

use protocol::{Event, RelayMessage, Scenario, SessionInfo};
use tcpstep_frontend::model::{
    travel::{Checkpoints, MOST, SPACING},
    Action, Model, View,
};
use tcpstep_relay::{capture, record::Recording};

fn received(model: &mut Model, message: RelayMessage) {
    model.apply(Action::Received(Box::new(message)));
}

/// A model that keeps a view every `spacing` events, given `rec`'s session
/// and its first `upto` events as the relay sends them.
fn live(rec: &Recording, spacing: usize, upto: usize) -> Model {
    let mut model = Model {
        checkpoints: Checkpoints::every(spacing),
        ..Model::default()
    };
    received(&mut model, RelayMessage::Session(rec.session.clone()));
    for e in &rec.events[..upto] {
        received(&mut model, RelayMessage::Event(e.clone()));
    }
    model
}

/// Every moment `0..n` of `events` in an order that moves back one at a
/// time, on one at a time, and jumps about both ways.
fn moments(n: usize) -> Vec<usize> {
    let back = (0..n).rev();
    let on = 0..n;
    // A scattered order: multiples of a prime larger than n, modulo n + 1.
    let jumps = (0..=n).map(move |i| (i * 7919) % (n + 1));
    back.chain(on).chain(jumps).collect()
}

/// Seeks `model` to each of `at` and checks what it shows against `fold`,
/// the view after each prefix folded from the start.
fn check_every_moment(model: &mut Model, fold: &[View], at: &[usize], what: &str) {
    let n = model.events.len();
    let spacing = model.checkpoints.spacing();
    assert!(
        model.checkpoints.len() <= MOST,
        "{what}: at most {MOST} views"
    );
    assert_eq!(
        model.checkpoints.len(),
        n / spacing,
        "{what}: a view kept every {spacing} of {n} events"
    );
    for &k in at {
        assert!(
            k - model.checkpoints.start(k) < spacing,
            "{what}: moment {k} is {} events from a kept view",
            k - model.checkpoints.start(k)
        );
        model.apply(Action::Seek(Some(k)));
        if k < n {
            assert_eq!(model.shown_len(), k, "{what}");
            assert!(model.shown() == &fold[k], "{what}: after {k} events");
        } else {
            assert_eq!(model.scrubbed, None, "{what}: moment {k} is the live end");
            assert!(model.shown() == &fold[n], "{what}: the live end");
        }
    }
}

/// The view after each prefix of `events`, each folded from the start.
fn folds(events: &[Event]) -> Vec<View> {
    (0..=events.len())
        .map(|k| View::fold(&events[..k]))
        .collect()
}

#[test]
fn every_moment_through_checkpoints_is_the_fold_from_the_start_in_every_preset() {
    for rec in support::recorded() {
        let name = &rec.session.scenario.name;
        let n = rec.events.len();
        let fold = folds(&rec.events);
        // A view kept after every event, every few, every many, and fewer
        // than one in the session (the page's spacing, on a short one).
        for spacing in [1, 2, 7, 64, SPACING] {
            let what = format!("{name} ({n} events), a view every {spacing}");
            let mut model = live(rec, spacing, n);
            assert!(model.view == fold[n], "{what}: live");
            check_every_moment(&mut model, &fold, &moments(n), &what);
        }
    }
}

#[test]
fn live_events_arriving_while_looking_back_are_kept_too() {
    for rec in support::recorded() {
        let name = &rec.session.scenario.name;
        let n = rec.events.len();
        let fold = folds(&rec.events);
        for spacing in [3, 16] {
            let what = format!("{name}, a view every {spacing}");
            // Half the session arrives; the person looks back; the rest
            // arrives (and is kept) while the page shows that moment.
            let half = n / 2;
            let mut model = live(rec, spacing, half);
            model.apply(Action::Seek(Some(half / 3)));
            for e in &rec.events[half..] {
                received(&mut model, RelayMessage::Event(e.clone()));
                assert_eq!(model.shown_len(), half / 3, "{what}: the moment stays put");
            }
            assert!(model.shown() == &fold[half / 3], "{what}");
            check_every_moment(&mut model, &fold, &moments(n), &what);
        }
    }
}

#[test]
fn a_new_session_forgets_the_old_ones_checkpoints() {
    let old = support::recording("crowd");
    let new = support::recording("fragmented");
    let spacing = 5;
    let mut model = live(old, spacing, old.events.len());
    model.apply(Action::Seek(Some(old.events.len() / 2)));
    // A reset: the relay announces a new session, and its events follow.
    let next = SessionInfo {
        id: old.session.id + 1000,
        ..new.session.clone()
    };
    assert!(
        model.checkpoints.spacing() > spacing,
        "{} events thinned the views kept every {spacing}",
        old.events.len()
    );
    received(&mut model, RelayMessage::Session(next));
    assert_eq!(model.checkpoints.spacing(), spacing, "and their spacing");
    assert_eq!(
        model.checkpoints.len(),
        0,
        "the old session's views are gone"
    );
    assert_eq!(model.scrubbed, None);
    for e in &new.events {
        received(&mut model, RelayMessage::Event(e.clone()));
    }
    let fold = folds(&new.events);
    check_every_moment(
        &mut model,
        &fold,
        &moments(new.events.len()),
        "fragmented after crowd",
    );

    // Opening a trace replaces the session, and its views, the same way.
    model.apply(Action::OpenTrace {
        name: "crowd.jsonl".into(),
        text: old.json_lines(),
    });
    assert_eq!(model.notice, None);
    let fold = folds(&old.events);
    check_every_moment(
        &mut model,
        &fold,
        &moments(old.events.len()),
        "crowd opened as a trace",
    );
}

/// A session past several of the page's own spacings: a custom crowd of
/// 40 clients sending in 9 pieces, recorded for real. Each moment is
/// compared with the live view after the same events (each a fold from the
/// start, event by event), and every kept view's neighbourhood and a
/// scatter of moments with `View::fold` itself.
#[test]
fn a_long_session_with_the_pages_own_spacing() {
    let scenario = Scenario {
        name: "custom".into(),
        clients: 40,
        backlog: 64,
        chunk: Some(2),
        ..Scenario::classic()
    };
    let capture = capture::status().enabled;
    let rec = tcpstep_relay::record::record(scenario, capture, Duration::from_secs(180))
        .expect("record a crowd of 40");
    let n = rec.events.len();
    assert!(n > 3 * SPACING, "{n} events: long enough for three views");
    if support::capture_required("the segments in the long session's views") {
        assert!(
            rec.events
                .iter()
                .any(|e| matches!(e.kind, protocol::EventKind::Segment { .. })),
            "the wire is in the session"
        );
    }
    let mut model = live(&rec, SPACING, 0);
    let mut fold = vec![model.view.clone()];
    for e in &rec.events {
        received(&mut model, RelayMessage::Event(e.clone()));
        fold.push(model.view.clone());
    }
    for k in (0..=n).filter(|k| k % SPACING <= 1 || k % SPACING == SPACING - 1 || k % 97 == 0) {
        assert!(fold[k] == View::fold(&rec.events[..k]), "after {k}");
    }
    check_every_moment(&mut model, &fold, &moments(n), "a crowd of 40");
}
