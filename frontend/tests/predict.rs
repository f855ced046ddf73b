//! Predict, then step, natively: questions asked from the view before a
//! step, answered by the real events after it, on real sessions of the
//! relay stepped one call at a time as the page steps them, and on real
//! recordings of every preset played at full speed.

#[allow(dead_code)] // the recordings by name are for other tests
mod support;

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use protocol::{Actor, Call, CallResult, Event, EventKind, Scenario, Segment, TcpFlag, TcpState};
use tcpstep_frontend::model::{
    predict::{
        crossing, crossings, progress, question, question_for, Answer, Judged, Kind, Predictions,
        Progress, Question, Verdict,
    },
    View,
};
use tcpstep_relay::{feed::LIVE_BUFFER, host::Host, record::finished};

/// Runs `preset` on a real relay, paused, and plays the learner: before
/// each step, the question the page would ask, answered with its first
/// choice; then the step, released; then the events, until they answer.
/// Returns every verdict and the session's events.
fn predicted(preset: &str) -> (Vec<Verdict>, Vec<Event>) {
    // As the relay runs sessions: each in a sandbox of its own.
    let capture = support::sandboxed();
    assert!(
        capture.enabled,
        "this test checks the wire: {}",
        capture.reason
    );
    let scenario = Scenario::preset(preset).expect("a preset");
    let clients = scenario.clients;
    let host = Host::start(scenario, capture, LIVE_BUFFER).expect("start");
    let session = host.feed().session().id;
    let mut predictions = Predictions::default();
    predictions.follow(Some(session), &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let events = loop {
        let events = host.feed().events();
        predictions.follow(Some(session), &events);
        assert!(
            Instant::now() < deadline,
            "{preset}: the session did not finish; pending {:#?}\n{events:#?}",
            predictions.pending
        );
        if predictions.pending.is_some() {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        if finished(&events, clients) {
            break events;
        }
        match question(&View::fold(&events)) {
            Some(q) => {
                let (actor, guess) = (q.actor, q.choices[0]);
                predictions.guess(q, guess);
                // A call announced as waiting is in line: its step, sent
                // once, is released.
                if let Err(err) = host.step(Some(actor)) {
                    panic!("{preset}: the {actor}'s call was announced as waiting: {err}");
                }
            }
            // A program is on its way to its next call.
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    host.shutdown();
    (predictions.verdicts, events)
}

/// What really happened in the step `q` asks about, once it has settled.
fn settled(q: &Question, after: &[Event]) -> Option<Judged> {
    match progress(q, after) {
        Progress::Settled(judged) => Some(judged),
        Progress::Unreleased | Progress::Open | Progress::Gone => None,
    }
}

fn name(v: &Verdict) -> &'static str {
    v.question.call.name()
}

/// The verdicts about `actor`'s `call` calls, in order.
fn about<'a>(verdicts: &'a [Verdict], actor: Actor, call: &str) -> Vec<&'a Verdict> {
    verdicts
        .iter()
        .filter(|v| v.question.actor == actor && name(v) == call)
        .collect()
}

fn truths(verdicts: &[&Verdict]) -> Vec<Answer> {
    verdicts.iter().map(|v| v.judged.truth).collect()
}

/// The events of a verdict's step: from its release to where it settled.
fn step_events<'a>(v: &Verdict, events: &'a [Event]) -> &'a [Event] {
    &events[v.judged.released_seq as usize..=v.judged.settled_seq as usize]
}

/// Checks each verdict against the raw events of its step, by a reading
/// independent of the judge's: what the call did, its segments' flags.
fn agrees_with_the_events(verdicts: &[Verdict], events: &[Event]) {
    for v in verdicts {
        let step = step_events(v, events);
        let q = &v.question;
        // The learner could have answered right: the truth was offered.
        assert!(
            q.choices.contains(&v.judged.truth),
            "the truth {:?} ({}) is not among the choices {:?} of {:?}",
            v.judged.truth,
            v.judged.shown,
            q.choices,
            q.text
        );
        assert!(
            matches!(&step[0].kind, EventKind::CallEntered { call } if *call == q.call)
                && step[0].actor == q.actor,
            "a step begins with its call released: {:?}",
            step[0]
        );
        if q.kind == Kind::Outcome {
            // The call's own events (not a name look-up's that follows it).
            let own = |e: &&Event| e.actor == q.actor;
            let slept = step
                .iter()
                .filter(own)
                .any(|e| matches!(&e.kind, EventKind::CallBlocked { call } if *call == q.call));
            let failed = step.iter().filter(own).any(|e| {
                matches!(
                    &e.kind,
                    EventKind::CallReturned { call, result: CallResult::Error { .. } } if *call == q.call
                )
            });
            let expected = if slept {
                Answer::Sleeps
            } else if failed {
                Answer::Fails
            } else {
                Answer::AtOnce
            };
            assert_eq!(v.judged.truth, expected, "{q:?}");
        }
        assert_eq!(v.right(), v.guess == v.judged.truth);
    }
}

fn segments_in(step: &[Event]) -> Vec<Vec<TcpFlag>> {
    step.iter()
        .filter_map(|e| match &e.kind {
            EventKind::Segment { segment } => Some(segment.flags.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_classic_exchange_answers_each_question_with_what_the_kernel_did() {
    let (verdicts, events) = predicted("classic");
    agrees_with_the_events(&verdicts, &events);

    // Every call that was stepped was asked about, once.
    let stepped = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::CallWaiting { .. }))
        .filter(|e| {
            events[e.seq as usize..]
                .iter()
                .any(|l| l.actor == e.actor && matches!(l.kind, EventKind::CallEntered { .. }))
        })
        .count();
    assert_eq!(verdicts.len(), stepped);

    let server = Actor::Server;
    let client = Actor::Client(0);
    assert_eq!(
        truths(&about(&verdicts, server, "socket")),
        [Answer::AtOnce]
    );
    assert_eq!(
        truths(&about(&verdicts, server, "listen")),
        [Answer::State(TcpState::Listen)]
    );
    let listen = about(&verdicts, server, "listen")[0];
    assert_eq!(listen.question.kind, Kind::State);
    // States by RFC 9293's names, Linux's beside where it differs.
    let labels: Vec<String> = listen
        .question
        .choices
        .iter()
        .map(|&a| listen.question.label(a))
        .collect();
    assert_eq!(
        labels,
        [
            "It stays CLOSED (Linux: CLOSE)",
            "LISTEN",
            "SYN-SENT (Linux: SYN_SENT)",
            "ESTABLISHED"
        ]
    );
    assert_eq!(listen.judged.shown, "the kernel reported LISTEN");
    // accept() sleeps until a client connects: the lesson of the chapter.
    assert_eq!(
        truths(&about(&verdicts, server, "accept")),
        [Answer::Sleeps, Answer::Sleeps]
    );
    // The handshake is the client's connect()'s doing.
    let connect = about(&verdicts, client, "connect");
    assert_eq!(truths(&connect), [Answer::Handshake]);
    let flags = segments_in(step_events(connect[0], &events));
    assert_eq!(
        flags,
        [
            vec![TcpFlag::Syn],
            vec![TcpFlag::Syn, TcpFlag::Ack],
            vec![TcpFlag::Ack]
        ],
        "{}",
        connect[0].judged.shown
    );
    assert!(connect[0].judged.shown.contains("SYN · SYN, ACK · ACK"));
    assert_eq!(truths(&about(&verdicts, client, "send")), [Answer::Data]);
    assert_eq!(truths(&about(&verdicts, server, "send")), [Answer::Data]);
    // The server closes with the 17th byte unread: a RST, not a FIN.
    let close = about(&verdicts, server, "close");
    assert_eq!(truths(&close), [Answer::Rst]);
    assert!(segments_in(step_events(close[0], &events))
        .iter()
        .any(|f| f.contains(&TcpFlag::Rst)));
    // The client's close: nothing, if the RST came first; its FIN if not.
    let client_close = about(&verdicts, client, "close");
    assert_eq!(client_close.len(), 1);
    assert!(
        matches!(client_close[0].judged.truth, Answer::Nothing | Answer::Fin),
        "{:?}",
        client_close[0].judged
    );

    // The guesses were each choice's first: the score counts the right ones.
    let mut score = Predictions::default();
    assert_eq!((score.right(), score.asked()), (0, 0));
    score.verdicts = verdicts.clone();
    let right = verdicts
        .iter()
        .filter(|v| v.guess == v.judged.truth)
        .count();
    assert_eq!((score.right(), score.asked()), (right, verdicts.len()));
    // "It returns at once" is the first choice: socket() was guessed right,
    // accept() wrong.
    assert!(about(&verdicts, server, "socket")[0].right());
    assert!(!about(&verdicts, server, "accept")[0].right());
}

#[test]
fn a_refused_connect_is_a_syn_answered_by_a_rst() {
    let (verdicts, events) = predicted("refused");
    agrees_with_the_events(&verdicts, &events);
    let connect = about(&verdicts, Actor::Client(0), "connect");
    assert_eq!(truths(&connect), [Answer::Refused]);
    assert!(
        connect[0].judged.shown.contains("SYN · ACK, RST"),
        "{}",
        connect[0].judged.shown
    );
}

#[test]
fn closes_and_shutdowns_are_answered_by_their_fin_or_rst() {
    // SO_LINGER {on, 0}: the client's close() resets.
    let (verdicts, events) = predicted("abortive-close");
    agrees_with_the_events(&verdicts, &events);
    assert_eq!(
        truths(&about(&verdicts, Actor::Client(0), "close")),
        [Answer::Rst]
    );
    // shutdown(SHUT_WR): the client's FIN leaves at once.
    let (verdicts, events) = predicted("half-close");
    agrees_with_the_events(&verdicts, &events);
    assert_eq!(
        truths(&about(&verdicts, Actor::Client(0), "shutdown")),
        [Answer::Fin]
    );
    assert_eq!(
        truths(&about(&verdicts, Actor::Server, "close")),
        [Answer::Fin]
    );
}

/// Recorded in play mode, calls are released as fast as they arrive, so
/// steps overlap: each is still answered, its own call's outcome from its
/// own events, and its share of the wire ends where the next call begins.
#[test]
fn every_step_of_every_recording_is_answered() {
    for rec in support::recorded() {
        let name = &rec.session.scenario.name;
        let events = &rec.events;
        let mut view = View::default();
        let mut answered = 0;
        for (i, e) in events.iter().enumerate() {
            let released = matches!(&e.kind, EventKind::CallEntered { call }
                if call.is_stepped());
            if released {
                let q = question_for(&view, e.actor)
                    .unwrap_or_else(|| panic!("{name}: no question for event {i}: {e:?}"));
                assert_eq!(q.asked_at, i);
                let judged = settled(&q, &events[i..])
                    .unwrap_or_else(|| panic!("{name}: the step at event {i} never settled"));
                assert_eq!(judged.released_seq, e.seq);
                assert!(q.choices.contains(&Answer::AtOnce) == (q.kind == Kind::Outcome));
                assert!(
                    q.choices.contains(&judged.truth),
                    "{name}: the truth {:?} ({}) of the step at event {i} is not among the choices {:?} of {:?}",
                    judged.truth,
                    judged.shown,
                    q.choices,
                    q.text
                );
                let verdict = Verdict {
                    question: q,
                    guess: Answer::AtOnce,
                    judged,
                };
                agrees_with_the_events(std::slice::from_ref(&verdict), events);
                answered += 1;
            }
            view.apply(e);
        }
        assert!(answered >= 2, "{name}: {answered} steps");
    }
}

/// The question the page asks before the session's first step.
fn first_question(events: &[Event]) -> Question {
    let first = events
        .iter()
        .position(|e| matches!(e.kind, EventKind::CallWaiting { .. }))
        .expect("a first call");
    question(&View::fold(&events[..=first])).expect("a question")
}

#[test]
fn a_question_goes_stale_when_its_program_moves_on() {
    let (_, events) = predicted("classic");
    // The question about the server's first call, judged against a session
    // in which the server has made another call first: nothing to judge.
    let q = first_question(&events);
    let socket_call = events
        .iter()
        .position(|e| {
            e.actor == q.actor
                && matches!(&e.kind, EventKind::CallEntered { call } if *call != q.call)
        })
        .expect("a later call");
    assert_eq!(progress(&q, &events[socket_call..]), Progress::Gone);
    let mut predictions = Predictions::default();
    predictions.follow(Some(1), &events);
    let mut stale = q.clone();
    stale.asked_at = socket_call;
    predictions.guess(stale, Answer::AtOnce);
    assert!(predictions.follow(Some(1), &events));
    assert_eq!(predictions.pending, None);
    assert_eq!(predictions.asked(), 0);
    // Another session starts the score afresh.
    predictions.guess(q, Answer::AtOnce);
    assert!(predictions.follow(Some(2), &[]));
    assert_eq!(predictions.pending, None);
}

#[test]
fn a_guess_is_released_then_settled() {
    let (_, events) = predicted("classic");
    let q = first_question(&events);
    let released = events
        .iter()
        .position(|e| e.actor == q.actor && matches!(e.kind, EventKind::CallEntered { .. }))
        .expect("its release");
    let mut predictions = Predictions::default();
    predictions.follow(Some(1), &[]);
    predictions.guess(q, Answer::AtOnce);
    // Not yet released: nothing changes.
    assert!(!predictions.follow(Some(1), &events[..released]));
    assert!(predictions.pending.as_ref().is_some_and(|p| !p.released));
    // Released, then settled.
    assert!(predictions.follow(Some(1), &events[..=released]));
    assert!(predictions.pending.as_ref().is_some_and(|p| p.released));
    assert!(predictions.follow(Some(1), &events));
    assert_eq!(predictions.pending, None);
    assert_eq!((predictions.right(), predictions.asked()), (1, 1));
    assert_eq!(predictions.pending, None);
}

/// The choices a question about a call offers cover everything the verdict
/// can name for that call's step: every mix of the segments real sessions
/// carried (one of each kind found in the recordings of every preset) that
/// the call's step can hold. A `connect()`'s step holds its SYN, or nothing
/// at all; any other call's holds no SYN of a handshake of its own.
#[test]
fn every_answer_the_wire_can_give_is_offered() {
    let bare_syn = |s: &Segment| s.has(TcpFlag::Syn) && !s.has(TcpFlag::Ack);
    let mut kinds: BTreeMap<String, &Segment> = BTreeMap::new();
    let mut calls: BTreeMap<&str, &Call> = BTreeMap::new();
    for rec in support::recorded() {
        for e in &rec.events {
            match &e.kind {
                EventKind::Segment { segment } => {
                    kinds
                        .entry(format!("{:?} {}", segment.flags, segment.len > 0))
                        .or_insert(segment);
                }
                EventKind::CallEntered { call } => {
                    calls.entry(call.name()).or_insert(call);
                }
                _ => {}
            }
        }
    }
    let kinds: Vec<&Segment> = kinds.into_values().collect();
    assert!(
        kinds.iter().any(|s| bare_syn(s))
            && kinds.iter().any(|s| s.has(TcpFlag::Fin))
            && kinds.iter().any(|s| s.has(TcpFlag::Rst))
            && kinds.iter().any(|s| s.len > 0),
        "the recordings carried SYNs, FINs, RSTs and data: {kinds:#?}"
    );
    for name in ["connect", "send", "close", "shutdown"] {
        let call = calls
            .get(name)
            .unwrap_or_else(|| panic!("no preset calls {name}()"));
        let offered = crossings(call);
        let mut found = Vec::new();
        for mask in 0u32..1 << kinds.len() {
            let mix: Vec<&Segment> = (0..kinds.len())
                .filter(|k| mask & 1 << k != 0)
                .map(|k| kinds[k])
                .collect();
            let possible = match call {
                Call::Connect { .. } => mix.is_empty() || mix.iter().any(|s| bare_syn(s)),
                _ => !mix.iter().any(|s| bare_syn(s)),
            };
            if !possible {
                continue;
            }
            let answer = crossing(&mix);
            assert!(
                offered.contains(&answer),
                "{name}(): {answer:?} for {:?} is not among {offered:?}",
                mix.iter().map(|s| &s.flags).collect::<Vec<_>>()
            );
            if !found.contains(&answer) {
                found.push(answer);
            }
        }
        // Nothing offered that the wire cannot give: the list stays short.
        for answer in offered {
            assert!(
                found.contains(answer),
                "{name}(): {answer:?} is never the answer"
            );
        }
    }
}
