//! Each scenario, run for real and recorded: what the calls and the wire show.
//! The written pcap is read back with libpcap, not with our writer's code.

mod support;

use std::time::Duration;

use protocol::{
    Actor, Call, CallResult, Ending, Event, EventKind, Mode, Scenario, Segment, TcpFlag,
};
use support::{
    events::{returned, segments},
    stepped::Stepped,
};
use tcpstep_relay::{
    capture,
    record::{self, Recording},
};

fn run(name: &str) -> Recording {
    let scenario = Scenario::preset(name).expect("a preset");
    record::record(
        scenario,
        capture::status().enabled,
        Duration::from_secs(180),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ending(events: &[Event], actor: Actor) -> Option<&Ending> {
    events.iter().find_map(|e| match &e.kind {
        EventKind::ActorEnded { ending } if e.actor == actor => Some(ending),
        _ => None,
    })
}

/// The handshake each connection starts with, consistent seq and ack.
fn assert_handshakes(segs: &[&Segment], server: &str, connections: usize) {
    let syns: Vec<&&Segment> = segs
        .iter()
        .filter(|s| s.flags == [TcpFlag::Syn] && s.to == server)
        .collect();
    let mut clients: Vec<&str> = syns.iter().map(|s| s.from.as_str()).collect();
    clients.sort();
    clients.dedup(); // a SYN sent again is the same connection
    assert_eq!(clients.len(), connections, "{segs:#?}");
    for syn in syns {
        let syn_ack = segs
            .iter()
            .find(|s| s.flags == [TcpFlag::Syn, TcpFlag::Ack] && s.to == syn.from)
            .expect("a SYN-ACK for each client");
        assert_eq!(syn_ack.ack, syn.seq.wrapping_add(1));
        assert!(segs.iter().any(|s| s.from == syn.from
            && s.flags == [TcpFlag::Ack]
            && s.seq == syn.seq.wrapping_add(1)
            && s.ack == syn_ack.seq.wrapping_add(1)));
    }
}

fn payload(segs: &[&Segment], from: impl Fn(&str) -> bool) -> Vec<u8> {
    segs.iter()
        .filter(|s| from(&s.from))
        .flat_map(|s| s.payload.clone())
        .collect()
}

/// The pcap file as libpcap reads it: each frame's TCP payload length, in order.
fn read_back(pcap: &[u8]) -> Vec<usize> {
    let dir = std::env::temp_dir().join(format!("tcpstep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{:p}.pcap", pcap.as_ptr()));
    std::fs::write(&path, pcap).expect("write the pcap");
    let mut file = pcap::Capture::from_file(&path).expect("libpcap opens our file");
    assert_eq!(file.get_datalink(), pcap::Linktype::ETHERNET);
    let mut lengths = Vec::new();
    while let Ok(packet) = file.next_packet() {
        assert_eq!(packet.header.caplen, packet.header.len, "whole frames");
        let decoded = tcpstep_relay::capture::parse::decode(packet.data).expect("a TCP frame");
        lengths.push(decoded.payload.len());
    }
    let _ = std::fs::remove_file(&path);
    lengths
}

/// The recording's pcap holds exactly the segments its events report.
fn assert_pcap_matches(rec: &Recording) {
    let Some(pcap) = &rec.pcap else {
        return;
    };
    let from_events: Vec<usize> = segments(&rec.events).iter().map(|s| s.len).collect();
    assert_eq!(read_back(pcap), from_events);
}

#[test]
fn classic() {
    let rec = run("classic");
    let ev = &rec.events;
    let server = rec.session.server_addr.as_str();
    assert!(matches!(
        ending(ev, Actor::Client(0)),
        Some(Ending::Completed)
    ));
    assert!(record::finished(ev, 1));
    if rec.pcap.is_none() {
        return;
    }
    let segs = segments(ev);
    assert_handshakes(&segs, server, 1);
    assert_eq!(payload(&segs, |f| f != server), b"Greetings, server");
    assert_eq!(payload(&segs, |f| f == server), b"Goodbye, client!");
    // The server closes with a byte unread: its kernel resets the connection.
    assert!(segs.iter().any(|s| s.from == server && s.has(TcpFlag::Rst)));
    assert_pcap_matches(&rec);
}

#[test]
fn fragmented() {
    let rec = run("fragmented");
    let ev = &rec.events;
    let server = rec.session.server_addr.as_str();
    // recv_all needed a recv per piece: 4 bytes at a time, four times.
    let got: Vec<usize> = ev
        .iter()
        .filter(|e| e.actor == Actor::Server)
        .filter_map(|e| match &e.kind {
            EventKind::RecvIteration { got, .. } => Some(*got),
            _ => None,
        })
        .collect();
    assert!(got.len() > 1, "{got:?}");
    assert_eq!(got.iter().sum::<usize>(), 16);
    // The client asked for TCP_NODELAY so each piece leaves at once.
    assert!(ev.iter().any(|e| matches!(&e.kind,
        EventKind::CallReturned { call: Call::Setsockopt { option, .. }, result: CallResult::Done } if option == "TCP_NODELAY")));
    if rec.pcap.is_none() {
        return;
    }
    let segs = segments(ev);
    let pieces: Vec<usize> = segs
        .iter()
        .filter(|s| s.to == server && s.len > 0)
        .map(|s| s.len)
        .collect();
    assert_eq!(pieces, [4, 4, 4, 4, 1], "one segment per piece");
    assert_pcap_matches(&rec);
}

#[test]
fn early_close() {
    let rec = run("early-close");
    let ev = &rec.events;
    let server = rec.session.server_addr.as_str();
    // recv returned 0 after 5 bytes: recv_all's error names both counts.
    assert!(returned(ev, Actor::Server, "recv")
        .iter()
        .any(|r| matches!(r, CallResult::Bytes { n: 0, .. })));
    match ending(ev, Actor::Server) {
        Some(Ending::Failed { message }) => assert!(
            message.contains("was expecting 16 bytes but only received 5 bytes"),
            "{message}"
        ),
        other => panic!("the server should fail: {other:?}"),
    }
    if rec.pcap.is_none() {
        return;
    }
    let segs = segments(ev);
    assert_handshakes(&segs, server, 1);
    assert_eq!(payload(&segs, |f| f != server), b"Greet");
    // The client's close is a FIN: nothing was left unread on its side.
    assert!(segs.iter().any(|s| s.to == server && s.has(TcpFlag::Fin)));
    assert!(!segs.iter().any(|s| s.has(TcpFlag::Rst)));
    assert_pcap_matches(&rec);
}

#[test]
fn refused() {
    let rec = run("refused");
    let ev = &rec.events;
    assert!(
        !ev.iter().any(|e| e.actor == Actor::Server),
        "nothing listens"
    );
    let connect = returned(ev, Actor::Client(0), "connect");
    assert!(
        matches!(connect[..], [CallResult::Error { errno, .. }] if errno == "ECONNREFUSED"),
        "{connect:?}"
    );
    match ending(ev, Actor::Client(0)) {
        Some(Ending::Failed { message }) => assert!(message.contains("connection refused")),
        other => panic!("the client should fail: {other:?}"),
    }
    if rec.pcap.is_none() {
        return;
    }
    // On the wire: a SYN, answered by the kernel with RST+ACK.
    let segs = segments(ev);
    let flags: Vec<&[TcpFlag]> = segs.iter().map(|s| &s.flags[..]).collect();
    assert_eq!(flags, [&[TcpFlag::Syn][..], &[TcpFlag::Ack, TcpFlag::Rst]]);
    assert_eq!(segs[1].ack, segs[0].seq.wrapping_add(1));
    assert_pcap_matches(&rec);
}

#[test]
fn crowd() {
    let rec = run("crowd");
    let ev = &rec.events;
    // However the calls interleave, every client is served in the end.
    for k in 0..4 {
        assert!(
            matches!(ending(ev, Actor::Client(k)), Some(Ending::Completed)),
            "client {k}"
        );
    }
    if rec.pcap.is_none() {
        return;
    }
    assert_handshakes(&segments(ev), rec.session.server_addr.as_str(), 4);
    assert_pcap_matches(&rec);
}

fn entered(events: &[Event], actor: Actor, name: &str) -> bool {
    events.iter().any(|e| {
        e.actor == actor
            && matches!(&e.kind, EventKind::CallEntered { call } if call.name() == name)
    })
}

/// Stepped by hand, a crowd is deterministic: the server takes one
/// connection and turns to it; two more complete their handshakes into the
/// accept queue (Linux admits backlog + 1); the fourth's SYN is dropped and
/// its connect() waits for the retry.
#[test]
fn crowd_stepped_one_call_at_a_time() {
    let s = Stepped::start("crowd");
    let server = Actor::Server;
    s.step_until(server, "accept()", |ev| entered(ev, server, "accept"));
    for k in 0..4 {
        let client = Actor::Client(k);
        s.wait("the client to start", |ev| {
            ev.iter().any(|e| e.actor == client)
        });
        s.step_until(client, "connect()", |ev| entered(ev, client, "connect"));
        if k == 0 {
            // The server's accept() returns this first connection; it then
            // waits to recv, and accepts no more while we step only clients.
            s.wait("accept to return", |ev| {
                ev.iter().any(|e| {
                    matches!(
                        &e.kind,
                        EventKind::CallReturned {
                            call: Call::Accept,
                            ..
                        }
                    )
                })
            });
        }
    }
    let events = s.wait("the fourth client to block in connect", |ev| {
        ev.iter().any(|e| {
            e.actor == Actor::Client(3)
                && matches!(
                    &e.kind,
                    EventKind::CallBlocked {
                        call: Call::Connect { .. }
                    }
                )
        })
    });
    let queued = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::SocketState { state } => state.accept_queue,
            _ => None,
        })
        .max();
    assert_eq!(
        queued,
        Some(2),
        "backlog 1 admits two completed connections"
    );
    for k in 1..3 {
        assert!(
            returned(&events, Actor::Client(k), "connect")
                .iter()
                .any(|r| matches!(r, CallResult::Done)),
            "client {k} connected into the queue"
        );
    }
    assert!(returned(&events, Actor::Client(3), "connect").is_empty());
    if capture::status().enabled {
        // The dropped SYN is sent again by the client's kernel (after about a second).
        s.wait("the fourth client's SYN sent again", |ev| {
            let mut syns: Vec<&str> = segments(ev)
                .into_iter()
                .filter(|s| s.flags == [TcpFlag::Syn])
                .map(|s| s.from.as_str())
                .collect();
            let all = syns.len();
            syns.sort();
            syns.dedup();
            syns.len() == 4 && all > 4
        });
    }
}

/// Every call names the line of source that made it, in the source the
/// relay sends its viewers: that line really is the call.
#[test]
fn each_call_points_at_its_line_in_the_source_sent_to_viewers() {
    let sources = tcpstep_relay::pair::sources();
    for name in [
        "classic",
        "fragmented",
        "refused",
        "abortive-close",
        "half-close",
    ] {
        let rec = run(name);
        let mut checked = 0;
        for e in &rec.events {
            let EventKind::CallWaiting { call } = &e.kind else {
                continue;
            };
            let at =
                e.at.as_ref()
                    .unwrap_or_else(|| panic!("{name}: {call:?} has no line"));
            let file = sources
                .iter()
                .find(|f| f.path == at.file)
                .unwrap_or_else(|| panic!("{} is not among the sources sent", at.file));
            // The statement that starts on that line (rustfmt may spread a call over several).
            let lines: Vec<&str> = file.text.lines().collect();
            let first = at.line as usize - 1;
            assert!(
                first < lines.len(),
                "{}:{} is past the end",
                at.file,
                at.line
            );
            let end = (first..lines.len())
                .find(|&i| lines[i].trim_end().ends_with(';') || lines[i].trim_end().ends_with('{'))
                .unwrap_or(first);
            let line = lines[first..=end.min(first + 8)].join(" ");
            let word = match call {
                Call::Socket => "socket",
                Call::Setsockopt { option, .. } if option == "SO_LINGER" => "linger",
                Call::Setsockopt { .. } => "set",
                Call::Shutdown { .. } => "shutdown",
                Call::Connect { .. } => "connect",
                Call::Send { .. } => "send",
                Call::Recv { .. } => "recv",
                Call::Close => "close",
                Call::Accept => "accept",
                Call::Bind { .. } => "bind",
                Call::Listen { .. } => "listen",
                Call::Getsockname | Call::Getpeername => "name",
            };
            assert!(
                line.contains(word),
                "{name}: {call:?} at {}:{}: {line:?}",
                at.file,
                at.line
            );
            checked += 1;
        }
        assert!(checked >= 2, "{name}: only {checked} calls");
    }
}

/// A session whose history fills up says so once, records nothing more, and
/// its programs stop: the relay's memory is bounded.
#[test]
fn a_full_history_ends_the_session() {
    let s = Stepped::start_with(
        Scenario::classic(),
        Mode::Playing { interval_ms: 0 },
        |feed| feed.with_limit(20),
    );
    let events = s.wait("the history to fill", |ev| {
        ev.iter()
            .any(|e| e.kind == EventKind::HistoryFull { limit: 20 })
    });
    assert_eq!(events.len(), 21);
    assert!(s.session().step(None).is_err(), "nothing more is released");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(s.events().len(), 21, "nothing more is recorded");
}
