//! The hub, end to end: a real relay on loopback, real WebSocket viewers, and
//! the classic pair on real sockets behind it.

mod support;

use std::collections::HashMap;

use protocol::{
    Actor, Call, CallResult, Command, Ending, Event, EventKind, FourTuple, Mode, RelayMessage,
    Scenario, Segment, SocketId, SocketRole, TcpFlag, TcpOption, TcpState, PROTOCOL_VERSION,
};
use support::{step, Relay, Viewer};
use tokio_tungstenite::tungstenite::{protocol::frame::coding::CloseCode, Message};

const SERVER: Actor = Actor::Server;
const CLIENT: Actor = Actor::Client(0);

fn gated_entry(e: &Event) -> bool {
    matches!(&e.kind, EventKind::CallEntered { call }
        if call.is_stepped())
}

/// Steps whoever is next in line, one call at a time, until the client has
/// ended and the server sleeps in `accept()` again.
async fn step_until_exchange_done(v: &mut Viewer) {
    let mut in_flight = false;
    let mut client_ended = false;
    loop {
        let e = v.next_event().await;
        if e.actor == CLIENT && matches!(e.kind, EventKind::ActorEnded { .. }) {
            client_ended = true;
        }
        if client_ended
            && e.actor == SERVER
            && matches!(&e.kind, EventKind::CallBlocked { call: Call::Accept })
        {
            return;
        }
        if gated_entry(&e) {
            in_flight = false;
        }
        let events = v.events();
        let waits = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::CallWaiting { .. }))
            .count();
        let entries = events.iter().filter(|e| gated_entry(e)).count();
        if waits > entries && !in_flight {
            v.send(&Command::Step { actor: None }).await;
            in_flight = true;
        }
    }
}

async fn hello(v: &mut Viewer) -> protocol::Hello {
    match v.next().await {
        RelayMessage::Hello(hello) => hello,
        other => panic!("expected hello, got {other:?}"),
    }
}

fn socket_of(e: &Event) -> SocketId {
    e.socket.unwrap_or_else(|| panic!("no socket on {e:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stepping_the_classic_session_shows_every_call_and_the_kernels_work() {
    let relay = Relay::start().await;
    let mut v = Viewer::connect(&relay.url).await;
    let hello = hello(&mut v).await;
    assert_eq!(hello.protocol_version, PROTOCOL_VERSION);
    assert_eq!(hello.relay_version, env!("CARGO_PKG_VERSION"));
    assert!(hello.scenarios.iter().any(|s| s.name == "classic"));
    assert!(!hello.capture.reason.is_empty());
    assert_eq!(hello.session.mode, Mode::Paused);
    let server_addr = hello.session.server_addr.clone();

    for expected in ["socket", "setsockopt", "bind", "listen"] {
        assert_eq!(v.waiting(SERVER).await.name(), expected);
        v.release(SERVER).await;
    }
    let listening = v
        .seen_or_until(|e| matches!(&e.kind, EventKind::SocketState { state } if state.state == TcpState::Listen))
        .await;
    let listener = socket_of(&listening);
    let EventKind::SocketState { state } = &listening.kind else {
        unreachable!()
    };
    assert_eq!((state.accept_queue, state.backlog), (Some(0), Some(1)));
    assert_eq!(
        listening.tuple,
        Some(FourTuple {
            local: server_addr.clone(),
            remote: None
        })
    );
    assert_eq!(v.waiting(SERVER).await, Call::Accept);

    // The client is started once the server listens.
    assert_eq!(v.waiting(CLIENT).await, Call::Socket);
    v.release(CLIENT).await;
    assert_eq!(
        v.waiting(CLIENT).await,
        Call::Connect {
            addr: server_addr.clone()
        }
    );
    v.release(CLIENT).await;
    let connected = v
        .seen_or_until(|e| {
            e.actor == CLIENT
                && matches!(
                    &e.kind,
                    EventKind::CallReturned {
                        call: Call::Connect { .. },
                        ..
                    }
                )
        })
        .await;
    assert!(matches!(
        &connected.kind,
        EventKind::CallReturned {
            result: CallResult::Done,
            ..
        }
    ));
    let client_local = connected
        .tuple
        .as_ref()
        .map(|t| t.local.clone())
        .expect("the connected socket's address");

    // The kernel finished the handshake on its own: the connection waits in
    // the listener's accept queue while accept() has not been released. (The
    // prober may see it before or after connect() returns to the client.)
    let queued = v
        .seen_or_until(|e| {
            e.socket == Some(listener)
                && matches!(&e.kind, EventKind::SocketState { state } if state.accept_queue == Some(1))
        })
        .await;
    assert_eq!(queued.actor, Actor::Kernel);
    assert!(
        !v.events().iter().any(|e| e.actor == SERVER
            && matches!(&e.kind, EventKind::CallEntered { call: Call::Accept })),
        "accept() was not released yet"
    );

    v.release(SERVER).await;
    let accepted = v
        .seen_or_until(|e| {
            matches!(
                &e.kind,
                EventKind::CallReturned {
                    call: Call::Accept,
                    ..
                }
            )
        })
        .await;
    assert_eq!(
        accepted.kind,
        EventKind::CallReturned {
            call: Call::Accept,
            result: CallResult::Socket {
                fd: match &accepted.kind {
                    EventKind::CallReturned {
                        result: CallResult::Socket { fd, .. },
                        ..
                    } => *fd,
                    other => panic!("accept failed: {other:?}"),
                },
                peer: Some(client_local.clone()),
            }
        }
    );
    let opened = v
        .seen_or_until(|e| {
            matches!(
                &e.kind,
                EventKind::SocketOpened {
                    role: SocketRole::Accepted,
                    ..
                }
            )
        })
        .await;
    let conn = socket_of(&opened);
    assert_ne!(conn, listener, "accept() hands out a new socket");
    assert_eq!(
        opened.tuple,
        Some(FourTuple {
            local: server_addr.clone(),
            remote: Some(client_local.clone())
        })
    );

    step_until_exchange_done(&mut v).await;
    let events = v.events();
    if std::env::var_os("SHOW_EVENTS").is_some() {
        for e in &events {
            println!("{}", serde_json::to_string(e).unwrap_or_default());
        }
    }
    if hello.capture.enabled {
        check_the_wire(&events, &server_addr, &client_local, conn);
    }

    // One stream: numbered without gaps, on a clock that never goes back.
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as u64);
    }
    assert!(events.windows(2).all(|w| w[0].t_us <= w[1].t_us));

    // recv_all's turns on each side add up to 16 bytes.
    for actor in [SERVER, CLIENT] {
        let turns: Vec<(usize, usize)> = events
            .iter()
            .filter(|e| e.actor == actor)
            .filter_map(|e| match &e.kind {
                EventKind::RecvIteration { got, total, .. } => Some((*got, *total)),
                _ => None,
            })
            .collect();
        assert!(!turns.is_empty(), "{actor} called recv_all");
        assert_eq!(
            turns.iter().map(|t| t.0).sum::<usize>(),
            16,
            "{actor}: {turns:?}"
        );
        assert_eq!(turns.last().map(|t| t.1), Some(16));
    }
    // The greeting's unread 17th byte waits in the server socket's receive queue.
    assert!(events.iter().any(|e| e.socket == Some(conn)
        && matches!(&e.kind, EventKind::SocketState { state } if state.recv_queue == 1)));

    let printed = |actor| -> Vec<String> {
        events
            .iter()
            .filter(|e| e.actor == actor)
            .filter_map(|e| match &e.kind {
                EventKind::Printed { line } => Some(line.clone()),
                _ => None,
            })
            .collect()
    };
    assert!(printed(SERVER).contains(&"  message from client: b'Greetings, serve'".to_owned()));
    assert!(printed(SERVER).contains(&"  Closing socket".to_owned()));
    assert_eq!(
        printed(CLIENT),
        [
            format!(
                "Client has been assigned the socket:  {}",
                tcpstep_relay::pair::PyAddr(client_local.parse().expect("an address"))
            ),
            "Server:  b'Goodbye, client!'".to_owned()
        ]
    );

    // Both connection sockets are closed; the client ended well.
    let client_socket = socket_of(&connected);
    for id in [conn, client_socket] {
        assert!(
            events
                .iter()
                .any(|e| e.socket == Some(id) && e.kind == EventKind::SocketClosed),
            "socket {id} closed"
        );
    }
    assert!(events.iter().any(|e| e.actor == CLIENT
        && e.kind
            == EventKind::ActorEnded {
                ending: Ending::Completed
            }));
}

/// What the classic exchange puts on the wire, as captured.
fn check_the_wire(events: &[Event], server: &str, client: &str, conn: SocketId) {
    let segments: Vec<(u64, &Segment)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Segment { segment } => Some((e.seq, segment)),
            _ => None,
        })
        .collect();
    let to_server = |s: &Segment| s.from == client && s.to == server;
    let to_client = |s: &Segment| s.from == server && s.to == client;

    // The three-way handshake, each number consistent with the last.
    let [(syn_at, syn), (_, syn_ack), (ack_at, ack)] = segments[..3] else {
        panic!("fewer than three segments: {segments:?}")
    };
    assert!(to_server(syn) && syn.flags == [TcpFlag::Syn], "{syn:?}");
    assert!(
        to_client(syn_ack) && syn_ack.flags == [TcpFlag::Syn, TcpFlag::Ack],
        "{syn_ack:?}"
    );
    assert!(to_server(ack) && ack.flags == [TcpFlag::Ack], "{ack:?}");
    assert_eq!(syn_ack.ack, syn.seq.wrapping_add(1));
    assert_eq!(ack.seq, syn.seq.wrapping_add(1));
    assert_eq!(ack.ack, syn_ack.seq.wrapping_add(1));
    assert_eq!((syn.rel_seq, syn_ack.rel_seq, syn_ack.rel_ack), (0, 0, 1));
    assert_eq!((ack.rel_seq, ack.rel_ack), (1, 1));
    assert!(syn
        .options
        .iter()
        .any(|o| matches!(o, TcpOption::Mss { .. })));
    assert!(syn.options.contains(&TcpOption::SackPermitted));

    // In order with the calls: the handshake is on the wire before connect() returns.
    let connect_returned = events
        .iter()
        .find(|e| {
            matches!(
                &e.kind,
                EventKind::CallReturned {
                    call: Call::Connect { .. },
                    ..
                }
            )
        })
        .map(|e| e.seq)
        .expect("connect returned");
    assert!(syn_at < ack_at && ack_at < connect_returned);

    // The data: 17 bytes to the server, 16 back.
    let data = |dir: &dyn Fn(&Segment) -> bool| -> Vec<u8> {
        segments
            .iter()
            .filter(|(_, s)| dir(s))
            .flat_map(|(_, s)| s.payload.clone())
            .collect()
    };
    assert_eq!(data(&to_server), b"Greetings, server");
    assert_eq!(data(&to_client), b"Goodbye, client!");

    // The server closed with the 17th byte unread, so its kernel reset the
    // connection instead of closing it gracefully (RFC 2525 section 2.17,
    // RFC 9293 section 3.6.1's "data loss" on close).
    assert!(
        segments
            .iter()
            .any(|(_, s)| to_client(s) && s.from_socket == Some(conn) && s.has(TcpFlag::Rst)),
        "the server's close sends RST: {segments:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_see_identical_streams_and_a_late_one_gets_the_whole_history() {
    let relay = Relay::start().await;
    let mut a = Viewer::connect(&relay.url).await;
    let mut b = Viewer::connect(&relay.url).await;
    assert_eq!(hello(&mut a).await, hello(&mut b).await);

    step_until_exchange_done(&mut a).await;
    let seen_by_a = a.events();
    let mut seen_by_b = Vec::new();
    while seen_by_b.len() < seen_by_a.len() {
        seen_by_b.push(b.next_event().await);
    }
    assert_eq!(seen_by_a, seen_by_b);

    let mut late = Viewer::connect(&relay.url).await;
    let hello_late = hello(&mut late).await;
    assert_eq!(hello_late.session.id, 1);
    let mut history = Vec::new();
    while history.len() < seen_by_a.len() {
        history.push(late.next_event().await);
    }
    assert_eq!(
        history, seen_by_a,
        "the late viewer's history is the stream so far"
    );
}

/// Roughly how many bytes of JSON these messages took.
fn streamed_bytes(messages: &[RelayMessage]) -> usize {
    messages
        .iter()
        .map(|m| serde_json::to_string(m).map_or(0, |s| s.len()))
        .sum()
}

/// Each session's events, checked: numbered 0, 1, 2, ... with no gap and no
/// repeat, whatever resynchronising happened in between.
fn per_session(received: &[RelayMessage], first: u64) -> HashMap<u64, Vec<Event>> {
    let mut sessions: HashMap<u64, Vec<Event>> = HashMap::new();
    let mut current = first;
    for message in received {
        match message {
            RelayMessage::Session(info) => current = info.id,
            RelayMessage::Resync { from_seq } => {
                let have = sessions.get(&current).map_or(0, Vec::len) as u64;
                assert_eq!(
                    *from_seq, have,
                    "a resync resumes exactly where the viewer was"
                );
            }
            RelayMessage::Event(e) => {
                let list = sessions.entry(current).or_default();
                assert_eq!(
                    e.seq,
                    list.len() as u64,
                    "session {current}: no gap, no repeat"
                );
                list.push(e.clone());
            }
            _ => {}
        }
    }
    sessions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_never_reads_holds_up_nobody_and_is_resynchronised() {
    // A small live buffer, so falling behind is quick to reach.
    let relay = Relay::start_with(32, &[]).await;

    // The stalled viewer: a tiny receive buffer, and it reads nothing yet.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let addr = relay
        .url
        .trim_start_matches("ws://")
        .trim_end_matches("/ws");
    let stream = socket
        .connect(addr.parse().expect("hub address"))
        .await
        .expect("connect");
    let (ws, _) = tokio_tungstenite::client_async(
        relay.url.as_str(),
        tokio_tungstenite::MaybeTlsStream::Plain(stream),
    )
    .await
    .expect("handshake");
    let mut stalled = Viewer {
        ws,
        received: Vec::new(),
    };

    let mut active = Viewer::connect(&relay.url).await;
    hello(&mut active).await;
    active.send(&Command::Play { interval_ms: 1 }).await;
    // Enough sessions that their events overflow every buffer between the
    // relay and the stalled viewer (the kernel's, both ends, are well under
    // a megabyte here) and the live buffer too.
    let mut last = 1;
    let (mut streamed, mut counted) = (0, 0);
    while streamed < 2 * 1024 * 1024 {
        streamed += streamed_bytes(&active.received[counted..]);
        counted = active.received.len();
        // Play through the exchange: the client ends, the server waits for the next.
        active
            .until(|e| e.actor == CLIENT && matches!(e.kind, EventKind::ActorEnded { .. }))
            .await;
        active.send(&Command::Reset { scenario: None }).await;
        loop {
            if let RelayMessage::Session(info) = active.next().await {
                last = info.id;
                break;
            }
        }
    }
    active
        .until(|e| e.actor == CLIENT && matches!(e.kind, EventKind::ActorEnded { .. }))
        .await;
    active.send(&Command::Pause).await;
    active
        .until(|e| matches!(e.kind, EventKind::ModeChanged { mode: Mode::Paused }))
        .await;

    // Now it reads: it catches up, and what it gets is whole.
    let RelayMessage::Hello(first) = stalled.next().await else {
        panic!("hello first")
    };
    let last_session = per_session(&active.received, 1)
        .remove(&last)
        .expect("the active viewer saw the last session");
    loop {
        stalled.next().await;
        let sessions = per_session(&stalled.received, first.session.id);
        if sessions
            .get(&last)
            .is_some_and(|e| e.len() >= last_session.len())
        {
            assert_eq!(sessions[&last][..last_session.len()], last_session[..]);
            break;
        }
    }
    let fell_behind = stalled
        .received
        .iter()
        .any(|m| matches!(m, RelayMessage::Resync { .. }))
        || per_session(&stalled.received, first.session.id).len() < last as usize;
    assert!(
        fell_behind,
        "the stalled viewer was resynchronised, not fed everything"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_an_error_and_the_relay_keeps_serving() {
    let relay = Relay::start().await;
    let mut v = Viewer::connect(&relay.url).await;
    let mut other = Viewer::connect(&relay.url).await;
    hello(&mut v).await;
    hello(&mut other).await;

    async fn expect_error(v: &mut Viewer, containing: &str) {
        loop {
            match v.next().await {
                RelayMessage::Error { message } => {
                    assert!(
                        message.contains(containing),
                        "{message:?} lacks {containing:?}"
                    );
                    return;
                }
                RelayMessage::Event(_) | RelayMessage::Viewers { .. } => continue,
                other => panic!("expected an error, got {other:?}"),
            }
        }
    }

    v.send_raw(Message::text("{not json")).await;
    expect_error(&mut v, "not a command").await;
    v.send_raw(Message::text(r#"{"command":"fly"}"#)).await;
    expect_error(&mut v, "not a command").await;
    v.send_raw(Message::binary(vec![1, 2, 3])).await;
    expect_error(&mut v, "binary frames are not accepted").await;
    v.send(&step(Actor::Client(5))).await;
    expect_error(&mut v, "client 5 is not waiting").await;
    v.send(&Command::Play { interval_ms: 0 }).await;
    expect_error(&mut v, "at least 1 ms").await;
    v.send(&Command::Reset {
        scenario: Some(Scenario {
            name: "nonsense".into(),
            ..Scenario::classic()
        }),
    })
    .await;
    expect_error(&mut v, "unknown scenario \"nonsense\"").await;

    // Still served: a step goes through.
    v.send(&step(SERVER)).await;
    v.until(|e| {
        e.actor == SERVER
            && matches!(
                &e.kind,
                EventKind::CallReturned {
                    call: Call::Socket,
                    ..
                }
            )
    })
    .await;

    // Oversized: closed with a code that says why.
    v.send_raw(Message::text("x".repeat(protocol::MAX_COMMAND_BYTES + 1)))
        .await;
    loop {
        match v.next_frame().await {
            Message::Close(Some(frame)) => {
                assert_eq!(frame.code, CloseCode::Size);
                assert!(
                    frame.reason.as_str().contains("over the limit"),
                    "{frame:?}"
                );
                break;
            }
            Message::Text(_) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }

    // Everyone else is served on.
    other.send(&step(SERVER)).await;
    other
        .until(|e| {
            e.actor == SERVER
                && matches!(
                    &e.kind,
                    EventKind::CallReturned {
                        call: Call::Setsockopt { .. },
                        ..
                    }
                )
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_known_origins_may_connect() {
    let relay = Relay::start_with(64, &["https://class.example.org"]).await;
    let refused = Viewer::connect_from(&relay.url, Some("https://evil.example")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
            let body = response.body().as_deref().map(String::from_utf8_lossy);
            assert!(body.is_some_and(|b| b.contains("--allow-origin")));
        }
        Err(other) => panic!("refused for the wrong reason: {other}"),
        Ok(_) => panic!("a foreign page could drive the relay"),
    }
    for allowed in [
        Some("http://127.0.0.1:8080"),
        Some("http://localhost:8080"),
        Some("https://class.example.org"),
        None,
    ] {
        let mut v = Viewer::connect_from(&relay.url, allowed)
            .await
            .unwrap_or_else(|e| panic!("{allowed:?} refused: {e}"));
        hello(&mut v).await;
    }
    let wrong_path = relay.url.replace("/ws", "/other");
    assert!(Viewer::connect_from(&wrong_path, None).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_starts_a_fresh_session_on_a_new_port() {
    let relay = Relay::start().await;
    let mut v = Viewer::connect(&relay.url).await;
    let first = hello(&mut v).await.session;
    v.send(&step(SERVER)).await;
    v.until(|e| matches!(&e.kind, EventKind::SocketOpened { .. }))
        .await;
    v.send(&Command::Reset { scenario: None }).await;
    let second = loop {
        if let RelayMessage::Session(info) = v.next().await {
            break info;
        }
    };
    assert_eq!(second.id, first.id + 1);
    assert_ne!(second.server_addr, first.server_addr);
    let e = v.next_event().await;
    assert_eq!(e.seq, 0, "the new session's events start again at 0");
    assert_eq!(e.kind, EventKind::CallWaiting { call: Call::Socket });
}

/// A plain HTTP GET on the hub's port: status line and body.
async fn http_get(url: &str, path: &str) -> (String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("ws://").trim_end_matches("/ws");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    (
        head.lines().next().unwrap_or_default().to_owned(),
        response[split + 4..].to_vec(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_current_session_downloads_as_json_lines_and_pcap() {
    let relay = Relay::start().await;
    let mut v = Viewer::connect(&relay.url).await;
    let capture_on = hello(&mut v).await.capture.enabled;
    step_until_exchange_done(&mut v).await;

    let (status, pcap) = http_get(&relay.url, "/download/trace.pcap").await;
    let (status_jsonl, jsonl) = http_get(&relay.url, "/download/trace.jsonl").await;
    assert_eq!(status_jsonl, "HTTP/1.1 200 OK");
    let messages: Vec<RelayMessage> = String::from_utf8_lossy(&jsonl)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a relay message per line"))
        .collect();
    assert!(matches!(&messages[0], RelayMessage::Hello(h) if h.session.id == 1));
    let events: Vec<Event> = messages[1..]
        .iter()
        .map(|m| match m {
            RelayMessage::Event(e) => e.clone(),
            other => panic!("not an event: {other:?}"),
        })
        .collect();
    // What the viewer saw is where the download starts.
    let seen = v.events();
    assert_eq!(events[..seen.len()], seen[..]);

    if capture_on {
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(&pcap[..4], &0xa1b2_c3d4u32.to_ne_bytes());
        let segments = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Segment { .. }))
            .count();
        // Each record: 16-byte header, then the frame. Count them.
        let (mut at, mut frames) = (24, 0);
        while at + 16 <= pcap.len() {
            let len =
                u32::from_ne_bytes(pcap[at + 8..at + 12].try_into().expect("4 bytes")) as usize;
            at += 16 + len;
            frames += 1;
        }
        assert_eq!(at, pcap.len(), "whole records");
        assert_eq!(frames, segments);
    } else {
        assert_eq!(status, "HTTP/1.1 404 Not Found");
    }
    // Any other path is still the WebSocket's business.
    let (other, _) = http_get(&relay.url, "/elsewhere").await;
    assert!(other.starts_with("HTTP/1.1 4"), "{other}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_viewer_is_told_how_many_watch() {
    let relay = Relay::start().await;
    let watching = |v: &Viewer| {
        v.received.iter().rev().find_map(|m| match m {
            RelayMessage::Viewers { count } => Some(*count),
            _ => None,
        })
    };
    async fn until_count(v: &mut Viewer, want: u32) {
        loop {
            if let RelayMessage::Viewers { count } = v.next().await {
                if count == want {
                    return;
                }
            }
        }
    }
    let mut a = Viewer::connect(&relay.url).await;
    until_count(&mut a, 1).await;
    let mut b = Viewer::connect(&relay.url).await;
    until_count(&mut b, 2).await;
    until_count(&mut a, 2).await;
    // Class mode: b's step is a's step too.
    b.send(&step(SERVER)).await;
    a.until(|e| {
        e.actor == SERVER && matches!(&e.kind, EventKind::CallEntered { call: Call::Socket })
    })
    .await;
    drop(b);
    until_count(&mut a, 1).await;
    assert_eq!(watching(&a), Some(1));
}
