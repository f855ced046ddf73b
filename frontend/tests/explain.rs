//! What the page says about a step, a state, a number and the textbook's
//! RST, on real sessions of the relay: a classic exchange stepped by hand
//! as a person would, and every preset recorded.

mod support;

use std::time::{Duration, Instant};

use protocol::{
    Actor, Call, Event, EventKind, Mode, PortRange, RelayMessage, Scenario, SocketRole, TcpFlag,
    TcpState,
};
use tcpstep_frontend::model::{
    examine_all, explain_all,
    numbers::{initial, port_origin, relative_numbers, sender, shared_fd_table, Base},
    step::{is_step, step_at, MOST_LISTED},
    words::{rfc_state, state_aside, state_text},
    Action, Model, View, What,
};
use tcpstep_relay::{
    feed::{Feed, LIVE_BUFFER},
    session::Session,
};

/// A classic session, paused, stepped by hand.
struct ByHand {
    feed: std::sync::Arc<Feed>,
    session: Option<Session>,
}

impl ByHand {
    fn start() -> ByHand {
        let feed = std::sync::Arc::new(Feed::before(&Scenario::classic(), LIVE_BUFFER));
        let session = Session::start(
            1,
            Scenario::classic(),
            Mode::Paused,
            support::sandboxed().enabled,
            feed.clone(),
        )
        .expect("start a session");
        ByHand {
            feed,
            session: Some(session),
        }
    }

    fn events(&self) -> Vec<Event> {
        self.feed.events()
    }

    /// Waits (as a person watching would) until the events satisfy `done`.
    fn wait(&self, what: &str, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let events = self.events();
            if done(&events) {
                return events;
            }
            assert!(
                Instant::now() < deadline,
                "waited in vain for {what}: {events:#?}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Presses "Step {actor}" once, when that program is waiting for it.
    fn step(&self, actor: Actor) {
        let session = self.session.as_ref().expect("running");
        let deadline = Instant::now() + Duration::from_secs(20);
        while session.step(Some(actor)).is_err() {
            assert!(Instant::now() < deadline, "{actor} never waited for a step");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl ByHand {
    /// Steps `actor` until it waits before a call named `name`.
    fn step_to(&self, actor: Actor, name: &str) {
        loop {
            let events = self.wait("the program to stop before a call", |ev| {
                matches!(
                    ev.iter().rev().find(|e| e.actor == actor).map(|e| &e.kind),
                    Some(EventKind::CallWaiting { .. })
                )
            });
            let next = events.iter().rev().find(|e| e.actor == actor);
            if matches!(next.map(|e| &e.kind), Some(EventKind::CallWaiting { call }) if call.name() == name)
            {
                return;
            }
            self.step(actor);
            // Wait for the step to be taken before looking again.
            let before = events.len();
            self.wait("the step to be taken", |ev| {
                ev[before.min(ev.len())..]
                    .iter()
                    .any(|e| e.actor == actor && matches!(e.kind, EventKind::CallEntered { .. }))
            });
        }
    }
}

impl Drop for ByHand {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            session.stop();
        }
    }
}

fn waits_before(events: &[Event], actor: Actor, name: &str) -> bool {
    events.iter().any(|e| {
        e.actor == actor
            && matches!(&e.kind, EventKind::CallWaiting { call } if call.name() == name)
    })
}

fn segment(e: &Event) -> Option<&protocol::Segment> {
    match &e.kind {
        EventKind::Segment { segment } => Some(segment),
        _ => None,
    }
}

/// The client's socket is ESTABLISHED, as its kernel reported.
fn client_established(events: &[Event]) -> bool {
    let client_socket = events.iter().find_map(|e| match e.kind {
        EventKind::SocketOpened { .. } if e.actor == Actor::Client(0) => e.socket,
        _ => None,
    });
    events.iter().any(|e| {
        e.socket.is_some()
            && e.socket == client_socket
            && matches!(&e.kind, EventKind::SocketState { state } if state.state == TcpState::Established)
    })
}

#[test]
fn the_clients_connect_step_lists_the_handshake_and_the_server_waking_up() {
    let capture = support::capture_required("the connect step's segments");
    let run = ByHand::start();
    // The server goes first, to accept(), which sleeps: nobody has connected.
    run.step_to(Actor::Server, "accept");
    run.step(Actor::Server);
    run.wait("accept() to sleep", |ev| {
        ev.iter().any(|e| {
            e.actor == Actor::Server
                && matches!(e.kind, EventKind::CallBlocked { call: Call::Accept })
        })
    });
    // The client makes its socket, and stops before connect().
    run.step_to(Actor::Client(0), "connect");
    run.step(Actor::Client(0));
    let handshake = |ev: &[Event]| ev.iter().filter_map(segment).count() >= 3;
    let events = run.wait("the connect step to settle", |ev| {
        waits_before(ev, Actor::Client(0), "send")
            && waits_before(ev, Actor::Server, "recv")
            && client_established(ev)
            && (!capture || handshake(ev))
    });

    let step = step_at(&events, events.len(), &View::fold(&events)).expect("a step");
    assert_eq!(step.actor, Actor::Client(0));
    assert!(matches!(step.call, Call::Connect { .. }), "{:?}", step.call);
    assert!(is_step(&events, step.seq as usize));
    let what: Vec<What> = step.happenings.iter().map(|h| h.what).collect();
    let texts: Vec<&str> = step.happenings.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(what[0], What::Step, "{texts:#?}");
    assert!(
        texts[0].contains("client 0's connect(127.0.0.1:"),
        "{texts:#?}"
    );
    assert!(
        step.happenings.windows(2).all(|w| w[0].seq < w[1].seq),
        "in order: {texts:#?}"
    );
    assert_eq!(step.later, 0, "the live end: nothing after it");
    assert_eq!(step.unlisted, 0);

    let find = |what: What, needle: &str| {
        step.happenings
            .iter()
            .find(|h| h.what == what && h.text.contains(needle))
            .unwrap_or_else(|| panic!("no {what:?} with {needle:?} in {texts:#?}"))
    };
    let returned = find(What::Returned, "connect(127.0.0.1:");
    assert!(returned.text.contains("returns ok"), "{}", returned.text);
    // The server was asleep in accept(): the client's step woke it.
    let woke = find(What::Woke, "accept() returns fd");
    assert!(
        woke.text.starts_with("The server wakes up"),
        "{}",
        woke.text
    );
    assert!(
        woke.text.contains("a connection from 127.0.0.1:"),
        "{}",
        woke.text
    );
    // Both ends become ESTABLISHED, in RFC 9293's words.
    let states: Vec<&str> = step
        .happenings
        .iter()
        .filter(|h| h.what == What::State)
        .map(|h| h.text.as_str())
        .collect();
    assert!(
        states
            .iter()
            .any(|s| s.starts_with("Client 0's fd") && s.ends_with("ESTABLISHED.")),
        "{states:#?}"
    );
    find(What::Printed, "");
    find(What::Socket, "has a new socket");
    find(What::Waiting, "send(17 bytes)");
    find(What::Waiting, "recv(16)");

    if capture {
        let segments: Vec<(u64, &protocol::Segment)> = step
            .happenings
            .iter()
            .filter(|h| h.what == What::Segment)
            .map(|h| (h.seq, segment(&events[h.seq as usize]).expect("a segment")))
            .collect();
        assert!(segments.len() >= 3, "{texts:#?}");
        let flags = |s: &protocol::Segment| (s.has(TcpFlag::Syn), s.has(TcpFlag::Ack));
        assert_eq!(flags(segments[0].1), (true, false), "SYN first");
        assert_eq!(flags(segments[1].1), (true, true), "then SYN, ACK");
        assert_eq!(flags(segments[2].1), (false, true), "then the ACK");
        let syn = find(What::Segment, "sends SYN on the wire");
        assert!(syn.text.starts_with("Client 0's kernel"), "{}", syn.text);
        find(What::Segment, "sends SYN, ACK on the wire");
        // accept() returned a connection the handshake had already made.
        assert!(woke.seq > segments[2].0, "{texts:#?}");

        // Looking back at the moment just after the handshake's ACK: the
        // same step, listed as far as that moment, the rest counted.
        let at = segments[2].0 as usize + 1;
        let back = step_at(&events, at, &View::fold(&events[..at])).expect("a step");
        assert_eq!(back.seq, step.seq);
        assert!(back.happenings.iter().all(|h| (h.seq as usize) < at));
        assert_eq!(back.happenings.last().map(|h| h.seq), Some(segments[2].0));
        assert_eq!(
            back.later,
            events.len() - at,
            "the rest of the step comes after"
        );
    }

    // Just after accept() fell asleep, the step shown is the server's
    // accept(), asleep.
    let before = 1 + events
        .iter()
        .position(|e| matches!(e.kind, EventKind::CallBlocked { call: Call::Accept }))
        .expect("accept() slept");
    let accept = step_at(&events, before, &View::fold(&events[..before])).expect("a step");
    assert_eq!(accept.actor, Actor::Server);
    assert_eq!(accept.call, Call::Accept);
    assert!(
        accept
            .happenings
            .iter()
            .any(|h| h.what == What::Blocked && h.text.contains("accept() blocks")),
        "{:#?}",
        accept.happenings
    );
}

#[test]
fn every_moment_of_every_preset_belongs_to_one_step_or_none() {
    for rec in support::recorded() {
        let events = &rec.events;
        let name = &rec.session.scenario.name;
        let mut view = View::default();
        // Every moment of the small sessions; a sample of the large.
        let every = (events.len() / 400).max(1);
        let mut steps = 0;
        for at in 0..=events.len() {
            if at > 0 {
                view.apply(&events[at - 1]);
            }
            if at % every != 0 && at != events.len() {
                continue;
            }
            let Some(step) = step_at(events, at, &view) else {
                assert!(
                    (0..at).all(|i| !is_step(events, i)),
                    "{name}: a step before moment {at} was missed"
                );
                continue;
            };
            steps += 1;
            let start = step.seq as usize;
            assert!(start < at, "{name}");
            assert!(is_step(events, start), "{name}");
            assert!(
                (start + 1..at).all(|i| !is_step(events, i)),
                "{name}: the latest step"
            );
            assert_eq!(step.happenings[0].seq, step.seq, "{name}");
            assert_eq!(step.happenings[0].what, What::Step, "{name}");
            assert!(step.happenings.len() <= MOST_LISTED, "{name}");
            assert!(
                step.happenings
                    .windows(2)
                    .all(|w| w[0].seq < w[1].seq && (w[1].seq as usize) < at),
                "{name}: in order, within the moment"
            );
            assert!(step.happenings.iter().all(|h| !h.text.is_empty()));
            let end = at + step.later;
            assert!(end == events.len() || is_step(events, end), "{name}: {end}");
        }
        assert!(steps > 0, "{name} has steps");
    }
}

#[test]
fn states_are_named_as_rfc_9293_names_them_with_linuxs_names_beside() {
    let named: Vec<String> = (1..=12)
        .map(|n| state_text(TcpState::from_linux(n).expect("a Linux state")))
        .collect();
    assert_eq!(
        named,
        [
            "ESTABLISHED",
            "SYN-SENT (Linux: SYN_SENT)",
            "SYN-RECEIVED (Linux: SYN_RECV)",
            "FIN-WAIT-1 (Linux: FIN_WAIT_1)",
            "FIN-WAIT-2 (Linux: FIN_WAIT_2)",
            "TIME-WAIT (Linux: TIME_WAIT)",
            "CLOSED (Linux: CLOSE)",
            "CLOSE-WAIT (Linux: CLOSE_WAIT)",
            "LAST-ACK (Linux: LAST_ACK)",
            "LISTEN",
            "CLOSING",
            "SYN-RECEIVED (Linux: NEW_SYN_RECV)",
        ]
    );
    assert_eq!(rfc_state(TcpState::Close), "CLOSED");
    // The one state the RFC has no name for is said what it is.
    let aside = state_aside(TcpState::NewSynRecv).expect("NEW_SYN_RECV explained");
    assert!(
        aside.contains("Linux's own") && aside.contains("SYN-RECEIVED"),
        "{aside}"
    );
    assert_eq!(state_aside(TcpState::Established), None);

    // The notes on a real half-close say the states the kernel reported,
    // by both names, and never Linux's alone.
    let rec = support::recording("half-close");
    let notes: Vec<String> = explain_all(&rec.events)
        .into_iter()
        .flatten()
        .map(|n| n.text)
        .collect();
    let all = notes.join("\n");
    // Which states the prober caught varies from run to run; TIME-WAIT,
    // read from the kernel's table after the close, is always there.
    assert!(all.contains("Now TIME-WAIT (Linux: TIME_WAIT)"), "{all}");
    let every: Vec<String> = (1..=12)
        .filter_map(TcpState::from_linux)
        .map(state_text)
        .collect();
    for now in notes.iter().filter_map(|n| n.strip_prefix("Now ")) {
        assert!(
            every.iter().any(|s| now.starts_with(&format!("{s}:"))),
            "a state not in RFC 9293's words: {now}"
        );
    }
    let findings = examine_all(&rec.events);
    let time_wait = findings
        .iter()
        .find(|f| f.rule == "TIME-WAIT entered")
        .expect("the client waits in TIME-WAIT");
    assert!(
        time_wait.text.contains("TIME-WAIT (Linux: TIME_WAIT)"),
        "{}",
        time_wait.text
    );
}

#[test]
fn the_numbers_say_where_they_come_from() {
    let rec = support::recording("classic");
    let view = View::fold(&rec.events);
    let hello = rec.hello();
    let range = hello.ephemeral_ports;
    // The relay read the machine's own range and sent it.
    let proc = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| PortRange::parse(&t));
    assert_eq!(range, proc);
    assert!(range.is_some(), "Linux has the sysctl");

    let client = view
        .sockets
        .values()
        .find(|s| s.role == SocketRole::Connected)
        .expect("the client's socket");
    let port = client
        .tuple
        .as_ref()
        .and_then(|t| t.local.rsplit_once(':'))
        .map(|(_, p)| p.to_owned())
        .expect("the client's port");
    let origin = port_origin(&view, client.id, range).expect("the client's port has an origin");
    let r = range.expect("a range");
    assert!(
        origin.starts_with(&format!("Port {port}: client 0 never called bind()")),
        "{origin}"
    );
    assert!(
        origin.contains(&format!("{}–{}", r.low, r.high))
            && origin.contains("net.ipv4.ip_local_port_range"),
        "{origin}"
    );
    // Without the relay's word (an old trace), Linux's default, named as such.
    let old = port_origin(&view, client.id, None).expect("still an origin");
    assert!(
        old.contains("32768–60999") && old.contains("Linux's default"),
        "{old}"
    );
    let listener = view
        .sockets
        .values()
        .find(|s| s.role == SocketRole::Listener)
        .expect("the listener");
    let origin = port_origin(&view, listener.id, range).expect("the listener's port");
    assert!(
        origin.contains(&format!("with bind({})", rec.session.server_addr)),
        "{origin}"
    );
    let accepted = view
        .sockets
        .values()
        .find(|s| s.role == SocketRole::Accepted)
        .expect("the connection socket");
    let origin = port_origin(&view, accepted.id, range).expect("its port");
    assert!(origin.contains("is the listener's"), "{origin}");

    // Two programs' sockets, one table.
    let why = shared_fd_table(&view).expect("server and client both have sockets");
    assert!(why.contains("threads of one process"), "{why}");
    assert!(shared_fd_table(&View::fold(&[])).is_none());

    // The port outside the range the relay gave is not said to come from it.
    let port: u16 = port.parse().expect("a port");
    let elsewhere = PortRange {
        low: if port > 1024 { 1024 } else { port + 1 },
        high: if port > 1024 { port - 1 } else { u16::MAX },
    };
    let outside = port_origin(&view, client.id, Some(elsewhere)).expect("still an origin");
    assert!(
        outside.contains(&format!(
            "Port {port} lies outside the ephemeral port range"
        )) && !outside.contains("chose a free port from"),
        "{outside}"
    );
}

/// The segments of a recording, each with its event's seq.
fn segments_of(events: &[Event]) -> Vec<(u64, &protocol::Segment)> {
    events
        .iter()
        .filter_map(|e| segment(e).map(|s| (e.seq, s)))
        .collect()
}

#[test]
fn relative_numbers_count_from_a_syn_only_when_one_was_seen() {
    if !support::capture_required("relative numbers on the wire") {
        return;
    }
    let rec = support::recording("classic");
    let view = View::fold(&rec.events);
    let client = view
        .sockets
        .values()
        .find(|s| s.role == SocketRole::Connected)
        .expect("the client's socket");
    // Relative numbers count from each direction's real ISN: its SYN's.
    let segments = segments_of(&rec.events);
    assert!(!segments.is_empty(), "capture is on, yet no segments");
    let syn_of = |from: &str| {
        segments
            .iter()
            .find(|(_, s)| s.from == from && s.has(TcpFlag::Syn))
            .map(|(_, s)| s.seq)
            .expect("a SYN each way")
    };
    // The SYN leaves before the relay knows the client's address; the page
    // still knows whose it was.
    let (syn_at, syn) = *segments
        .iter()
        .find(|(_, s)| s.has(TcpFlag::Syn) && !s.has(TcpFlag::Ack))
        .expect("the SYN");
    assert_eq!(sender(&view, syn), Some(client.id));
    // The SYN carries its own ISN; it acknowledges nothing.
    let own = initial(&view, syn_at, syn);
    assert_eq!(own.sender, Base::Isn(syn.seq));
    assert_eq!(own.receiver, None);
    let (at, data) = *segments
        .iter()
        .find(|(_, s)| s.len == 17)
        .expect("the greeting on the wire");
    let (client_isn, server_isn) = (syn_of(&data.from), syn_of(&data.to));
    let isn = initial(&view, at, data);
    assert_eq!(isn.sender, Base::Isn(client_isn));
    assert_eq!(isn.receiver, Some(Base::Isn(server_isn)));
    assert_eq!(data.seq.wrapping_sub(client_isn), data.rel_seq);
    let note = relative_numbers(&view, at, data);
    assert!(
        note.text
            .contains(&format!("is {client_isn}: its SYN carried it"))
            && note
                .text
                .contains(&format!("{} − {client_isn} = {}", data.seq, data.rel_seq))
            && note.text.contains(&format!("ISN, {server_isn}"))
            && note.text.contains("random"),
        "{}",
        note.text
    );
    assert_eq!(note.rfc.map(|r| r.0), Some("RFC 9293 §3.4.1"));

    // Nothing listens in `refused`: the RST that answers the client's SYN
    // has no SYN of its own, so no ISN, and is explained on its own terms.
    let refused = support::recording("refused");
    let view = View::fold(&refused.events);
    let segments = segments_of(&refused.events);
    let syn = segments
        .iter()
        .map(|(_, s)| *s)
        .find(|s| s.has(TcpFlag::Syn))
        .expect("the client's SYN");
    let (at, rst) = *segments
        .iter()
        .find(|(_, s)| s.has(TcpFlag::Rst))
        .expect("the RST that refuses it");
    assert_eq!(
        (rst.seq, rst.ack),
        (0, syn.seq.wrapping_add(1)),
        "the kernel's RST"
    );
    let isn = initial(&view, at, rst);
    assert_eq!(isn.sender, Base::FirstSeen(0), "no SYN from {}", rst.from);
    assert_eq!(isn.receiver, Some(Base::Isn(syn.seq)));
    let note = relative_numbers(&view, at, rst);
    let text = &note.text;
    for wrong in [
        "ISN on this connection is 0",
        "at random",
        "initial sequence number (ISN) on this connection is",
    ] {
        assert!(!text.contains(wrong), "{wrong:?} in {text}");
    }
    for right in [
        format!("This RST answers {}'s SYN", rst.to),
        "no initial sequence number".to_owned(),
        "seq = 0".to_owned(),
        format!("ack = {} + 1 = {}", syn.seq, rst.ack),
    ] {
        assert!(text.contains(&right), "{right:?} in {text}");
    }
    assert_eq!(note.rfc.map(|r| r.0), Some("RFC 9293 §3.5.2"));
}

/// The counts the scenario makes the programs use, to check the advice
/// against: what the client sends, what the server reads.
fn counts(s: &Scenario) -> (usize, usize) {
    (s.message.len() * s.repeat as usize, s.expected)
}

#[test]
fn the_textbooks_rst_comes_with_its_story_and_advice() {
    let capture = support::capture_required("the RST's numbers on the wire");
    for name in ["classic", "unread-close"] {
        let rec = support::recording(name);
        let (sent, read) = counts(&rec.session.scenario);
        let unread = sent - read;
        let findings = examine_all(&rec.events);
        let finding = findings
            .iter()
            .find(|f| f.rule == "data left unread at close")
            .unwrap_or_else(|| panic!("{name}: {findings:#?}"));
        // The finding itself stays as it was.
        assert!(
            finding
                .text
                .contains(&format!("with {unread} byte(s) unread")),
            "{name}: {}",
            finding.text
        );
        let detail = finding.detail.as_deref().expect("the story behind it");
        for needle in [
            "This is what the chapter's server does by design".to_owned(),
            format!("client 0 sent {sent} bytes and the server read {read}"),
            format!("{unread} byte"),
            "until recv() returns 0".to_owned(),
            "agree on message lengths".to_owned(),
        ] {
            assert!(detail.contains(&needle), "{name}: {needle:?} in {detail}");
        }
        if name == "classic" {
            assert!(
                detail.contains(r#"1 byte ("r") was still unread"#),
                "{detail}"
            );
        }
        // Without the wire, the story quotes no ACK number: nobody saw one.
        let unread_close = tcpstep_frontend::model::unread::unread_close(
            &View::fold(&rec.events[..finding.seq as usize]),
            rec.events[finding.seq as usize]
                .socket
                .expect("the closed socket"),
        )
        .expect("the close with bytes unread");
        let blind = tcpstep_frontend::model::unread::UnreadClose {
            acked: None,
            ..unread_close.clone()
        }
        .advice(None);
        assert!(!blind.contains("ack="), "{name}: {blind}");
        assert!(
            blind.contains("the wire was not captured") && blind.contains("until recv() returns 0"),
            "{name}: {blind}"
        );
        if !capture {
            assert!(!detail.contains("ack="), "{name}: {detail}");
            continue;
        }
        assert_eq!(detail, unread_close.advice(None), "{name}");
        let notes = explain_all(&rec.events);
        let (i, rst) = rec
            .events
            .iter()
            .enumerate()
            .find_map(|(i, e)| segment(e).filter(|s| s.has(TcpFlag::Rst)).map(|s| (i, s)))
            .unwrap_or_else(|| panic!("{name}: a RST on the wire"));
        // Every byte sent was acknowledged: ack = sent + 1, the SYN taking
        // one, and one more if the client's FIN arrived before the close.
        let fin = rec.events[..i]
            .iter()
            .filter_map(segment)
            .any(|s| s.from == rst.to && s.has(TcpFlag::Fin));
        let ack = format!("ack={}", sent + 1 + usize::from(fin));
        assert_eq!(
            rst.rel_ack as usize,
            sent + 1 + usize::from(fin),
            "{name}: the RST's ack"
        );
        // At the close, the latest ACK the server's kernel had sent covered
        // every byte: what the finding's story quotes.
        let close = finding.seq as usize;
        let acked = rec.events[..close]
            .iter()
            .filter_map(segment)
            .rfind(|s| s.from == rst.from && s.has(TcpFlag::Ack) && !s.has(TcpFlag::Rst))
            .map(|s| s.rel_ack as usize)
            .expect("the server's kernel acknowledged");
        assert!(
            acked > sent,
            "{name}: all {sent} bytes acknowledged: {acked}"
        );
        assert!(
            detail.contains(&format!("its ACKs said ack={acked}: all {sent} bytes")),
            "{name}: {detail}"
        );
        let note = notes[i].as_ref().expect("the RST's note");
        for needle in [
            format!("with {unread} byte(s) still unread"),
            format!("So the RST still says {ack}"),
            format!("client 0 sent {sent} bytes and the server read {read}"),
            "had already acknowledged them".to_owned(),
            "until recv() returns 0".to_owned(),
        ] {
            assert!(
                note.text.contains(&needle),
                "{name}: {needle:?} in {}",
                note.text
            );
        }
        assert_eq!(note.rfc.map(|r| r.0), Some("RFC 2525 §2.17"));
    }
    // Where nothing was left unread, no such story.
    let findings = examine_all(&support::recording("half-close").events);
    assert!(findings.iter().all(|f| f.detail.is_none()), "{findings:#?}");
}

#[test]
fn the_page_model_shows_the_step_of_the_moment_shown() {
    let rec = support::recording("classic");
    let mut model = Model::default();
    model.apply(Action::Received(Box::new(RelayMessage::Hello(rec.hello()))));
    for e in &rec.events {
        model.apply(Action::Received(Box::new(RelayMessage::Event(e.clone()))));
    }
    let live = tcpstep_frontend::model::shown_step(&model).expect("a step at the end");
    assert_eq!(
        Some(live.clone()),
        step_at(&rec.events, rec.events.len(), &model.view)
    );
    let middle = live.seq as usize;
    model.apply(Action::Seek(Some(middle)));
    let back = tcpstep_frontend::model::shown_step(&model).expect("a step in the middle");
    assert!(back.seq < live.seq);
    assert!(back.happenings.iter().all(|h| (h.seq as usize) < middle));
    assert_eq!(
        back.later, 0,
        "the moment just before the next step ends this one"
    );
}

/// The step's "wakes up" comes from the view's own record of each call
/// ([`tcpstep_frontend::model::CallView::blocked`]), however long ago the
/// call fell asleep: here client 1's connect() sleeps (its SYN dropped, the
/// accept queue full) while client 0 sends its message a byte at a time,
/// thousands of events.
#[test]
fn a_call_that_slept_through_many_events_still_wakes_up() {
    let scenario = Scenario {
        name: "custom".to_owned(),
        message: "x".to_owned(),
        repeat: 8000,
        expected: 8000,
        chunk: Some(1),
        pause_ms: 0,
        clients: 2,
        backlog: 0,
        accept_pause_ms: 2000,
        ..Scenario::classic()
    };
    let rec = tcpstep_relay::record::record(
        scenario,
        support::sandboxed().enabled,
        Duration::from_secs(180),
    )
    .expect("record the long session");
    let events = &rec.events;
    // Each call's sleep: from its call_blocked to its program's next return.
    let mut longest: Option<(usize, usize)> = None;
    for (i, e) in events.iter().enumerate() {
        if !matches!(e.kind, EventKind::CallBlocked { .. }) {
            continue;
        }
        let Some(ret) = (i + 1..events.len()).find(|&j| {
            events[j].actor == e.actor && matches!(events[j].kind, EventKind::CallReturned { .. })
        }) else {
            continue;
        };
        if longest.is_none_or(|(b, r)| ret - i > r - b) {
            longest = Some((i, ret));
        }
    }
    let (blocked, returned) = longest.expect("a call slept");
    // The old search gave up 20,000 events back; how far the longest sleep
    // reaches depends on the machine's pace (from 9,000 to over 20,000 seen),
    // and the view's record has no bound, so thousands are enough here.
    assert!(
        returned - blocked > 2_000,
        "the session was meant to hold a sleep across thousands of events: the longest spans {} of {}",
        returned - blocked,
        events.len()
    );
    let at = returned + 1;
    let step = step_at(events, at, &View::fold(&events[..at])).expect("a step");
    let woke = step
        .happenings
        .iter()
        .find(|h| h.seq == returned as u64)
        .unwrap_or_else(|| panic!("the return is listed: {:#?}", step.happenings));
    assert_eq!(woke.what, What::Woke, "{}", woke.text);
    assert!(woke.text.contains("wakes up"), "{}", woke.text);
}

/// A program the relay stopped is said to have stopped with its session,
/// not "by a reset": the same ending covers a full history, SIGTERM and a
/// session closing because its server failed.
#[test]
fn a_program_stopped_with_its_session_is_not_said_to_be_reset() {
    let mut run = ByHand::start();
    run.step_to(Actor::Server, "accept");
    run.step(Actor::Server);
    run.wait("accept() to sleep", |ev| {
        ev.iter().any(|e| {
            e.actor == Actor::Server
                && matches!(e.kind, EventKind::CallBlocked { call: Call::Accept })
        })
    });
    // The session closes (as the hub closes it when its last viewer leaves).
    run.session.take().expect("running").stop();
    let events = run.wait("the server to end", |ev| {
        ev.iter()
            .any(|e| e.actor == Actor::Server && matches!(e.kind, EventKind::ActorEnded { .. }))
    });
    let ended = events
        .iter()
        .position(|e| e.actor == Actor::Server && matches!(e.kind, EventKind::ActorEnded { .. }))
        .expect("ended");
    assert!(
        matches!(
            &events[ended].kind,
            EventKind::ActorEnded {
                ending: protocol::Ending::Stopped
            }
        ),
        "{:?}",
        events[ended].kind
    );
    let at = ended + 1;
    let step = step_at(&events, at, &View::fold(&events[..at])).expect("a step");
    let end = step
        .happenings
        .iter()
        .find(|h| h.what == What::Ended && h.seq == ended as u64)
        .unwrap_or_else(|| panic!("the ending is listed: {:#?}", step.happenings));
    assert_eq!(end.text, "The server ends, stopped: its session ended.");
    assert!(step.happenings.iter().all(|h| !h.text.contains("reset")));
}
