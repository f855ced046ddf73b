//! The page's model, natively, on events from real sessions of the relay.

mod support;

use std::time::{Duration, Instant};

use protocol::{
    Actor, Call, CallResult, Command, Ending, Event, EventKind, Hello, Mode, RelayMessage,
    Scenario, SessionInfo, SocketRole, TcpFlag, TcpState,
};
use tcpstep_frontend::model::{Action, ActorStatus, Link, Model, View};
use tcpstep_relay::{feed::LIVE_BUFFER, host::Host};

/// Plays one real classic session to its end (the client done, the server
/// back asleep in accept) and returns everything the relay reported.
fn classic_session() -> (Hello, Vec<Event>) {
    let host = Host::start(Scenario::classic(), support::sandboxed(), LIVE_BUFFER).expect("start");
    host.command(Command::Play { interval_ms: 1 })
        .expect("play");
    let deadline = Instant::now() + Duration::from_secs(30);
    let events = loop {
        let events = host.feed().events();
        let client_done = events.iter().position(|e| {
            e.actor == Actor::Client(0) && matches!(e.kind, EventKind::ActorEnded { .. })
        });
        // The server's second accept(), asleep waiting for a next client.
        let second_accept = events
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(&e.kind, EventKind::CallEntered { call: Call::Accept }))
            .nth(1)
            .map(|(i, _)| i);
        let asleep_again = second_accept.is_some_and(|i| {
            events[i..]
                .iter()
                .any(|e| matches!(&e.kind, EventKind::CallBlocked { call: Call::Accept }))
        });
        if client_done.is_some() && asleep_again {
            break events;
        }
        assert!(
            Instant::now() < deadline,
            "the session did not finish: {events:#?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let hello = host.hello(host.feed().session());
    host.shutdown();
    (hello, events)
}

fn received(model: &mut Model, message: RelayMessage) {
    model.apply(Action::Received(Box::new(message)));
}

fn live_model(hello: &Hello, events: &[Event]) -> Model {
    let mut model = Model::default();
    received(&mut model, RelayMessage::Hello(hello.clone()));
    for e in events {
        received(&mut model, RelayMessage::Event(e.clone()));
    }
    model
}

#[test]
fn a_real_classic_session_folds_into_what_the_page_shows() {
    let (hello, events) = classic_session();
    let model = live_model(&hello, &events);
    let view = &model.view;
    assert_eq!(model.link, Link::Live);
    assert_eq!(model.events.len(), events.len());
    let server_addr = hello.session.server_addr.as_str();

    // The listener, LISTEN, with its backlog; still open.
    let listener = view
        .sockets
        .values()
        .find(|s| s.role == SocketRole::Listener)
        .expect("a listener");
    assert!(listener.is_open());
    assert_eq!(
        listener.tuple.as_ref().map(|t| t.local.as_str()),
        Some(server_addr)
    );
    let kernel = listener.kernel.as_ref().expect("the kernel's view");
    assert_eq!((kernel.state, kernel.backlog), (TcpState::Listen, Some(1)));

    // The connection socket accept() returned, with its 4-tuple, now closed;
    // the client's socket, its mirror image.
    let accepted = view
        .sockets
        .values()
        .find(|s| s.role == SocketRole::Accepted)
        .expect("an accepted socket");
    let client = view
        .sockets
        .values()
        .find(|s| s.role == SocketRole::Connected)
        .expect("the client's socket");
    let (a, c) = (
        accepted.tuple.clone().expect("addresses"),
        client.tuple.clone().expect("addresses"),
    );
    assert_eq!(a.local, server_addr);
    assert_eq!(a.remote.as_deref(), Some(c.local.as_str()));
    assert_eq!(c.remote.as_deref(), Some(server_addr));
    assert!(!accepted.is_open() && !client.is_open());
    assert!(accepted.states.contains(&TcpState::Established));

    // Both recv_alls, complete.
    let server_recv = &view.recv_alls[&Actor::Server];
    assert_eq!(server_recv.expected, 16);
    assert_eq!(server_recv.buffer, b"Greetings, serve");
    assert_eq!(server_recv.turns.iter().map(|t| t.got).sum::<usize>(), 16);
    assert_eq!(
        view.recv_alls[&Actor::Client(0)].buffer,
        b"Goodbye, client!"
    );
    assert!(view.recv_alls.values().all(|r| r.eof_error.is_none()));

    // The programs: the client ended well, the server waits in accept() again.
    assert_eq!(
        view.actors[&Actor::Client(0)],
        ActorStatus::Ended(Ending::Completed)
    );
    assert_eq!(
        view.actors[&Actor::Server],
        ActorStatus::Blocked(Call::Accept)
    );
    // Every call but that accept returned.
    let open: Vec<_> = view.calls.iter().filter(|c| c.result.is_none()).collect();
    assert_eq!(open.len(), 1, "{open:#?}");
    assert!(view
        .calls
        .iter()
        .any(|c| c.call == Call::Accept && matches!(c.result, Some(CallResult::Socket { .. }))));

    let lines: Vec<&str> = view.lines.iter().map(|l| l.text.as_str()).collect();
    assert!(lines.contains(&"Server:  b'Goodbye, client!'"));
    assert!(lines.contains(&"  message from client: b'Greetings, serve'"));

    // The relay's hello says whether it captures; it captures if this
    // sessions can (the host was started with `support::sandboxed()`).
    assert_eq!(hello.capture.enabled, support::sandboxed().enabled);
    if support::capture_required("the handshake's flags") {
        let flags: Vec<&[TcpFlag]> = view
            .segments
            .iter()
            .take(3)
            .map(|(_, s)| &s.flags[..])
            .collect();
        assert_eq!(
            flags,
            [
                &[TcpFlag::Syn][..],
                &[TcpFlag::Syn, TcpFlag::Ack],
                &[TcpFlag::Ack]
            ]
        );
    }
    assert_eq!(model.mode(), Mode::Playing { interval_ms: 1 });
}

#[test]
fn folding_one_event_at_a_time_matches_folding_each_prefix() {
    let (hello, events) = classic_session();
    let mut model = Model::default();
    received(&mut model, RelayMessage::Hello(hello));
    for (k, e) in events.iter().enumerate() {
        received(&mut model, RelayMessage::Event(e.clone()));
        assert_eq!(model.view, View::fold(&events[..=k]), "after event {k}");
        assert_eq!(model.view.applied, k + 1);
    }
}

#[test]
fn a_reconnect_resends_history_and_nothing_is_doubled() {
    let (hello, events) = classic_session();
    let half = events.len() / 2;
    let mut model = live_model(&hello, &events[..half]);

    model.apply(Action::Lost {
        attempt: 1,
        retry_ms: 500,
        reason: "closed (1006)".into(),
    });
    assert!(matches!(model.link, Link::Lost { attempt: 1, .. }));
    assert!(!model.is_live());
    model.apply(Action::Connecting { attempt: 1 });

    // The relay greets again and resends the whole history, then goes on.
    received(&mut model, RelayMessage::Hello(hello.clone()));
    for e in &events {
        received(&mut model, RelayMessage::Event(e.clone()));
    }
    assert!(model.is_live());
    assert_eq!(model.events, events);
    assert_eq!(model.view, View::fold(&events));

    // A resync after falling behind repeats events too: still no doubles.
    received(&mut model, RelayMessage::Resync { from_seq: 3 });
    for e in &events[3..] {
        received(&mut model, RelayMessage::Event(e.clone()));
    }
    assert_eq!(model.events, events);
}

#[test]
fn a_new_session_starts_from_nothing() {
    let (hello, events) = classic_session();
    let mut model = live_model(&hello, &events);
    let next = SessionInfo {
        id: hello.session.id + 1,
        ..hello.session.clone()
    };
    received(&mut model, RelayMessage::Session(next.clone()));
    assert_eq!(model.session, Some(next));
    assert!(model.events.is_empty());
    assert_eq!(model.view, View::default());
    // Its events start again at 0.
    received(&mut model, RelayMessage::Event(events[0].clone()));
    assert_eq!(model.events.len(), 1);
}

#[test]
fn a_gap_is_said_not_papered_over() {
    let (hello, events) = classic_session();
    let mut model = live_model(&hello, &events[..2]);
    received(&mut model, RelayMessage::Event(events[5].clone()));
    assert_eq!(model.events.len(), 2, "event 5 cannot follow event 1");
    assert!(model
        .notice
        .as_deref()
        .is_some_and(|n| n.contains("missed events 2 to 4")));
}

#[test]
fn what_the_relay_refuses_is_shown_until_dismissed() {
    let mut model = Model::default();
    received(
        &mut model,
        RelayMessage::Error {
            message: "cannot step: nothing waits".into(),
        },
    );
    assert_eq!(model.notice.as_deref(), Some("cannot step: nothing waits"));
    model.apply(Action::Dismiss);
    assert_eq!(model.notice, None);
    model.apply(Action::Garbled("not a relay message".into()));
    assert!(model.notice.is_some());
}

fn event(seq: u64, actor: Actor, kind: EventKind) -> Event {
    Event {
        seq,
        t_us: seq,
        actor,
        socket: None,
        tuple: None,
        at: None,
        kind,
    }
}

#[test]
fn recv_all_that_meets_end_of_stream_shows_the_error_with_both_counts() {
    // As the server sees a peer that sends 5 bytes and closes.
    let server = Actor::Server;
    let turn = |seq, number, asked, got: &[u8], total| {
        event(
            seq,
            server,
            EventKind::RecvIteration {
                number,
                asked,
                got: got.len(),
                total,
                bytes: got.to_vec(),
            },
        )
    };
    let events = [
        event(
            0,
            server,
            EventKind::CallWaiting {
                call: Call::Recv { len: 16 },
            },
        ),
        event(
            1,
            server,
            EventKind::CallEntered {
                call: Call::Recv { len: 16 },
            },
        ),
        event(
            2,
            server,
            EventKind::CallReturned {
                call: Call::Recv { len: 16 },
                result: CallResult::Bytes {
                    n: 5,
                    data: b"Greet".to_vec(),
                },
            },
        ),
        turn(3, 1, 16, b"Greet", 5),
        event(
            4,
            server,
            EventKind::CallWaiting {
                call: Call::Recv { len: 11 },
            },
        ),
        turn(5, 2, 11, b"", 5),
    ];
    let view = View::fold(&events);
    let r = &view.recv_alls[&server];
    assert_eq!(
        r.expected, 16,
        "the second recv continues the same recv_all"
    );
    assert_eq!(r.turns.len(), 2);
    assert_eq!(
        r.eof_error.as_deref(),
        Some("was expecting 16 bytes but only received 5 bytes before the socket closed")
    );
    assert!(r.done());
}

#[test]
fn downloads_come_from_the_relays_http_side() {
    let at = |url: &str| Model {
        relay_url: url.to_owned(),
        ..Model::default()
    };
    assert_eq!(
        at("ws://127.0.0.1:9001/ws").relay_http_base().as_deref(),
        Some("http://127.0.0.1:9001")
    );
    assert_eq!(
        at("wss://class.example.org/ws")
            .relay_http_base()
            .as_deref(),
        Some("https://class.example.org")
    );
    assert_eq!(at("/ws").relay_http_base().as_deref(), Some(""));
    assert_eq!(at("ws://odd.example/socket").relay_http_base(), None);
}

#[test]
fn scrubbing_to_any_moment_equals_folding_up_to_it_in_every_scenario() {
    for rec in support::recorded() {
        let name = &rec.session.scenario.name;
        // What the page showed live after each event, as it arrived...
        let mut model = Model::default();
        received(&mut model, RelayMessage::Session(rec.session.clone()));
        let mut live = vec![model.view.clone()];
        for e in &rec.events {
            received(&mut model, RelayMessage::Event(e.clone()));
            live.push(model.view.clone());
        }
        // ...is what moving back to that moment shows, folded afresh.
        let n = rec.events.len();
        for k in (0..n).rev() {
            model.apply(Action::Seek(Some(k)));
            assert_eq!(model.shown_len(), k, "{name}");
            assert_eq!(*model.shown(), live[k], "{name}: after {k} events");
        }
        // Live events keep arriving while looking back; the moment stays put.
        model.apply(Action::Seek(Some(1)));
        received(
            &mut model,
            RelayMessage::Event(Event {
                seq: n as u64,
                ..rec.events[0].clone()
            }),
        );
        assert_eq!(model.shown_len(), 1);
        assert_eq!(model.events.len(), n + 1);
        // Back to live.
        model.apply(Action::Seek(None));
        assert_eq!(model.shown_len(), n + 1);
        assert_eq!(model.shown(), &model.view);
    }
}

#[test]
fn a_saved_trace_opens_with_no_relay_and_steps_the_same() {
    for rec in support::recorded() {
        let text = rec.json_lines();
        let mut model = Model::default();
        model.apply(Action::OpenTrace {
            name: "t.jsonl".into(),
            text,
        });
        assert_eq!(model.notice, None);
        assert_eq!(
            model.source,
            tcpstep_frontend::model::Source::Trace {
                name: "t.jsonl".into()
            }
        );
        assert_eq!(model.session.as_ref(), Some(&rec.session));
        assert!(
            model.hello.as_ref().is_some_and(|h| !h.sources.is_empty()),
            "the trace brings its source"
        );
        assert_eq!(model.events, rec.events);
        assert_eq!(model.view, View::fold(&rec.events));
        // The relay is not listened to while a trace is open.
        received(
            &mut model,
            RelayMessage::Session(SessionInfo {
                id: 99,
                ..rec.session.clone()
            }),
        );
        assert_eq!(model.session.as_ref().map(|s| s.id), Some(rec.session.id));
        // Selecting an event shows it, within the moment shown.
        model.apply(Action::Select(Some(2)));
        assert_eq!(model.selected_event().map(|e| e.seq), Some(2));
        model.apply(Action::Seek(Some(1)));
        assert_eq!(
            model.selected_event(),
            None,
            "event 2 has not happened at moment 1"
        );
    }
}

#[test]
fn a_file_that_is_not_a_trace_is_refused_with_a_reason() {
    let mut model = Model::default();
    for (text, says) in [
        ("not json\n", "line 1: not a tcpstep trace line"),
        ("", "has no session line"),
        (
            "{\"type\":\"error\",\"message\":\"x\"}\n",
            "has no session line",
        ),
    ] {
        model.apply(Action::OpenTrace {
            name: "x.jsonl".into(),
            text: text.into(),
        });
        assert!(
            model.notice.as_deref().is_some_and(|n| n.contains(says)),
            "{:?}",
            model.notice
        );
        assert_eq!(model.source, tcpstep_frontend::model::Source::Relay);
    }
}

/// The notes a trace's events get, as text.
fn notes_of(rec: &tcpstep_relay::record::Recording) -> Vec<String> {
    tcpstep_frontend::model::explain_all(&rec.events)
        .into_iter()
        .flatten()
        .map(|n| n.text)
        .collect()
}

#[test]
fn explanations_follow_from_the_events_in_every_scenario() {
    let by_name = support::recording;
    let has = |name: &str, text: &str| notes_of(by_name(name)).iter().any(|n| n.contains(text));
    let capture = support::capture_required("the notes on segments");

    // recv returning less than asked, only where it did.
    assert!(has("fragmented", "returned only 4 bytes"));
    assert!(!has("classic", "returned only"));
    // End of stream, only where the peer closed before the count was reached.
    assert!(has("early-close", "returned 0: end of stream"));
    assert!(!has("classic", "returned 0"));
    // A refused connect.
    assert!(has("refused", "ECONNREFUSED"));
    assert!(!has("classic", "ECONNREFUSED"));
    // The kernel queueing a connection before accept() runs.
    assert!(notes_of(by_name("crowd"))
        .iter()
        .any(|n| n.contains("queued the connection")));
    if capture {
        assert!(has("classic", "asks to open a connection"));
        assert!(has("classic", "answers the SYN by itself"));
        // The classic close: a byte unread, so RST instead of FIN.
        assert!(has("classic", "1 byte(s) still unread"));
        assert!(!has("early-close", "still unread"));
        // Nothing listening: RST answers the SYN.
        assert!(has("refused", "Nothing listens at"));
        assert!(!has("classic", "Nothing listens at"));
        // Data after the server closed (fragmented's last piece) meets RST.
        assert!(has("fragmented", "already closed"));
    }
    // The model keeps the same notes as it receives events one by one.
    let rec = by_name("classic");
    let model = live_model(&rec_hello(rec), &rec.events);
    assert_eq!(
        model.notes,
        tcpstep_frontend::model::explain_all(&rec.events)
    );
    assert!(model.latest_note().is_some());
}

fn rec_hello(rec: &tcpstep_relay::record::Recording) -> Hello {
    Hello {
        protocol_version: protocol::PROTOCOL_VERSION,
        relay_version: "test".into(),
        capture: protocol::CaptureStatus {
            enabled: rec.pcap.is_some(),
            reason: String::new(),
        },
        scenarios: Scenario::presets(),
        session: rec.session.clone(),
        sources: Vec::new(),
        ephemeral_ports: None,
        sandbox: Default::default(),
        room: None,
    }
}

#[test]
fn the_number_watching_follows_the_relay() {
    let mut model = Model::default();
    assert_eq!(model.viewers, None);
    received(&mut model, RelayMessage::Viewers { count: 3 });
    assert_eq!(model.viewers, Some(3));
    received(&mut model, RelayMessage::Viewers { count: 1 });
    assert_eq!(model.viewers, Some(1));
}

#[test]
fn a_full_history_is_shown_as_such() {
    let view = View::fold(&[event(
        0,
        Actor::Relay,
        EventKind::HistoryFull { limit: 200_000 },
    )]);
    assert_eq!(view.history_full, Some(200_000));
}
