//! The fault scenarios, run for real on loopback and stepped by hand in one
//! fixed order, so that what the kernel does is the same on every run: what
//! the calls return, what crosses the wire, and what the kernel reports of
//! each socket, also after its program has closed it.
//!
//! The wire is checked only where capture works (CI runs as root).

mod support;

use std::time::Duration;

use protocol::{
    Actor, CallResult, Event, EventKind, Scenario, Segment, SocketId, TcpFlag, TcpState,
};
use support::{
    events::{returned, segments},
    stepped::Stepped,
};
use tcpstep_relay::{capture, record};

const SERVER: Actor = Actor::Server;
const CLIENT: Actor = Actor::Client(0);

fn errno(result: &CallResult) -> Option<&str> {
    match result {
        CallResult::Error { errno, .. } => Some(errno),
        _ => None,
    }
}

/// The socket the actor's `socket()` or `accept()` returned last.
fn socket_of(events: &[Event], actor: Actor, call: &str) -> SocketId {
    let returned = events
        .iter()
        .rposition(|e| {
            e.actor == actor
                && matches!(&e.kind, EventKind::CallReturned { call: c, .. } if c.name() == call)
        })
        .unwrap_or_else(|| panic!("{actor} made no {call}"));
    // The call's event names no socket yet; the opened event that follows does.
    events[returned..]
        .iter()
        .find_map(|o| match o.kind {
            EventKind::SocketOpened { .. } if o.actor == actor => o.socket,
            _ => None,
        })
        .unwrap_or_else(|| panic!("{actor}'s {call} opened no socket"))
}

/// Every TCP state the kernel reported for `socket`, in order, without repeats.
fn states(events: &[Event], socket: SocketId) -> Vec<TcpState> {
    let mut path: Vec<TcpState> = Vec::new();
    for e in events.iter().filter(|e| e.socket == Some(socket)) {
        if let EventKind::SocketState { state } = &e.kind {
            if path.last() != Some(&state.state) {
                path.push(state.state);
            }
        }
    }
    path
}

fn server_addr(events: &[Event]) -> String {
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Printed { line } => line
                .strip_prefix("Listening at ")
                .and_then(tcpstep_relay::pair::PyAddr::parse)
                .map(|a| a.to_string()),
            _ => None,
        })
        .expect("the server listens")
}

/// The server's `accept()` asleep, waiting for the client.
fn server_waits_in_accept(s: &Stepped) {
    for call in ["socket", "setsockopt", "bind", "listen"] {
        s.through(SERVER, call, false);
    }
    s.through(SERVER, "accept", true);
}

/// The server's `accept()`, asleep until the client connected, has returned.
fn accepted(s: &Stepped) {
    s.wait("accept() to return", |ev| {
        !returned(ev, SERVER, "accept").is_empty()
    });
}

fn client_connects(s: &Stepped) {
    s.through(CLIENT, "socket", false);
    s.through(CLIENT, "connect", false);
}

#[test]
fn abortive_close_resets_instead_of_closing() {
    let s = Stepped::start("abortive-close");
    server_waits_in_accept(&s);
    client_connects(&s);
    s.through(CLIENT, "send", false);
    s.through(CLIENT, "setsockopt", false); // SO_LINGER {on, 0}
    let ev = s.to_the_end(CLIENT);
    let linger = ev.iter().any(|e| {
        matches!(&e.kind, EventKind::CallReturned { call: protocol::Call::Setsockopt { option, value: 0 }, .. } if option == "SO_LINGER")
    });
    assert!(linger, "the client set SO_LINGER to 0");
    let ev = s.to_the_end(SERVER);

    // The server reads what arrived before the reset, then the reset itself.
    let recvs = returned(&ev, SERVER, "recv");
    assert!(
        matches!(
            recvs[..],
            [CallResult::Bytes { n: 5, .. }, CallResult::Error { .. }]
        ),
        "{recvs:?}"
    );
    assert_eq!(errno(recvs[1]), Some("ECONNRESET"));
    // Gone at once: no FIN_WAIT, no TIME_WAIT for the side that aborted.
    let client = socket_of(&ev, CLIENT, "socket");
    let ev = s.wait("the kernel to report the client's connection gone", |ev| {
        states(ev, client).last() == Some(&TcpState::Close)
    });
    let path = states(&ev, client);
    assert_eq!(
        path.last(),
        Some(&TcpState::Close),
        "{path:?}: an aborted socket is gone at once"
    );
    assert!(!path.contains(&TcpState::TimeWait), "{path:?}");

    if capture::status().enabled {
        let server = server_addr(&ev);
        let segs = segments(&ev);
        let from_client: Vec<&&Segment> = segs.iter().filter(|s| s.to == server).collect();
        assert!(from_client.iter().any(|s| s.has(TcpFlag::Rst)), "{segs:#?}");
        assert!(
            !from_client.iter().any(|s| s.has(TcpFlag::Fin)),
            "{segs:#?}"
        );
    }
}

#[test]
fn half_close_still_reads_the_reply() {
    let s = Stepped::start("half-close");
    server_waits_in_accept(&s);
    client_connects(&s);
    s.through(CLIENT, "send", false);
    s.through(CLIENT, "shutdown", false);
    // The server reads the whole message (and only it), then replies to a
    // client that will send no more.
    accepted(&s);
    s.through(SERVER, "recv", false);
    s.through(SERVER, "send", false);
    let ev = s.to_the_end(CLIENT);
    assert!(
        matches!(
            returned(&ev, CLIENT, "recv")[..],
            [CallResult::Bytes { n: 16, .. }]
        ),
        "the client read the whole reply after its shutdown"
    );
    s.through(SERVER, "close", false);
    let ev = s.events();
    let accepted = socket_of(&ev, SERVER, "accept");
    let client = socket_of(&ev, CLIENT, "socket");
    let server_path = states(&ev, accepted);
    assert!(
        server_path.contains(&TcpState::CloseWait),
        "the client's FIN put the server's socket in CLOSE_WAIT: {server_path:?}"
    );
    // The client closed first, so it is the one left in TIME_WAIT.
    let ev = s.wait("the client's connection in TIME_WAIT", |ev| {
        states(ev, client).contains(&TcpState::TimeWait)
    });
    let client_path = states(&ev, client);
    assert!(client_path.contains(&TcpState::FinWait2), "{client_path:?}");

    if capture::status().enabled {
        let server = server_addr(&ev);
        let segs = segments(&ev);
        let client_fin = segs
            .iter()
            .position(|s| s.to == server && s.has(TcpFlag::Fin))
            .expect("the client's FIN");
        let reply = segs
            .iter()
            .position(|s| s.from == server && s.len == 16)
            .expect("the reply");
        assert!(
            client_fin < reply,
            "the reply crossed after the client's FIN"
        );
        assert!(!segs.iter().any(|s| s.has(TcpFlag::Rst)), "{segs:#?}");
    }
}

#[test]
fn unread_bytes_at_close_reset_the_connection() {
    let s = Stepped::start("unread-close");
    server_waits_in_accept(&s);
    client_connects(&s);
    s.through(CLIENT, "send", false);
    s.through(CLIENT, "recv", true); // waits for a reply that never comes
    accepted(&s);
    s.through(SERVER, "recv", false);
    let ev = s.wait("the 35 unread bytes reported", |ev| {
        let accepted = socket_of(ev, SERVER, "accept");
        ev.iter().any(|e| {
            e.socket == Some(accepted)
                && matches!(&e.kind, EventKind::SocketState { state } if state.recv_queue == 35)
        })
    });
    assert!(matches!(
        returned(&ev, SERVER, "recv")[..],
        [CallResult::Bytes { n: 16, .. }]
    ));
    s.through(SERVER, "close", false);
    let ev = s.to_the_end(CLIENT);
    let recvs = returned(&ev, CLIENT, "recv");
    assert_eq!(
        recvs.iter().map(|r| errno(r)).collect::<Vec<_>>(),
        [Some("ECONNRESET")]
    );
    if capture::status().enabled {
        let server = server_addr(&ev);
        let segs = segments(&ev);
        assert!(segs.iter().any(|s| s.from == server && s.has(TcpFlag::Rst)));
        assert!(!segs.iter().any(|s| s.from == server && s.has(TcpFlag::Fin)));
    }
}

/// A slow reader with a tiny buffer: the window closes and opens, again and
/// again. Played, not stepped: the reader's pauses make it slow.
#[test]
fn a_tiny_receive_buffer_and_a_slow_reader_close_the_window() {
    let scenario = Scenario::preset("zero-window").expect("a preset");
    let rec = record::record(scenario, capture::status().enabled, Duration::from_secs(60))
        .expect("recorded");
    let ev = &rec.events;
    let recvs = returned(ev, SERVER, "recv");
    let read: usize = recvs
        .iter()
        .map(|r| match r {
            CallResult::Bytes { n, .. } => *n,
            _ => 0,
        })
        .sum();
    assert_eq!(read, 8 * 1024, "every byte read");
    assert!(recvs.len() > 4, "many small reads: {}", recvs.len());
    assert!(
        ev.iter().any(|e| e.actor == CLIENT
            && matches!(&e.kind, EventKind::CallBlocked { call } if call.name() == "send")),
        "the client's send waited for the window"
    );
    if rec.pcap.is_some() {
        let server = rec.session.server_addr.as_str();
        let segs = segments(ev);
        let from_server: Vec<&&Segment> = segs
            .iter()
            .filter(|s| s.from == server && !s.has(TcpFlag::Rst) && !s.has(TcpFlag::Syn))
            .collect();
        let closed = from_server
            .iter()
            .position(|s| s.window == 0)
            .expect("a zero window");
        assert!(
            from_server[closed..].iter().any(|s| s.window > 0),
            "and the window opened again"
        );
        let data: Vec<u8> = segs
            .iter()
            .filter(|s| s.to == server)
            .flat_map(|s| s.payload.clone())
            .collect();
        assert_eq!(data, "0123456789abcdef".repeat(512).as_bytes());
    }
}
