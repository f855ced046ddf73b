//! Every message survives a trip through JSON, and fixed encodings still
//! decode: the wire format cannot drift by accident.

use tcpstep_protocol::*;

fn round_trip<T>(value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(value).expect("encodes");
    let back: T = serde_json::from_str(&json).expect("decodes");
    assert_eq!(&back, value, "through {json}");
}

fn tuple() -> FourTuple {
    FourTuple {
        local: "127.0.0.1:3000".into(),
        remote: Some("127.0.0.1:54321".into()),
    }
}

fn event(kind: EventKind) -> Event {
    Event {
        seq: 7,
        t_us: 1234,
        actor: Actor::Client(0),
        socket: Some(SocketId(2)),
        tuple: Some(tuple()),
        at: Some(SourceLine {
            file: "relay/src/pair/server.rs".into(),
            line: 86,
        }),
        kind,
    }
}

fn every_call() -> Vec<Call> {
    vec![
        Call::Socket,
        Call::Setsockopt {
            option: "SO_REUSEADDR".into(),
            value: 1,
        },
        Call::Bind {
            addr: "127.0.0.1:3000".into(),
        },
        Call::Listen { backlog: 1 },
        Call::Accept,
        Call::Connect {
            addr: "127.0.0.1:3000".into(),
        },
        Call::Send {
            bytes: b"Greetings, server".to_vec(),
        },
        Call::Recv { len: 16 },
        Call::Getsockname,
        Call::Getpeername,
        Call::Shutdown {
            how: "SHUT_WR".into(),
        },
        Call::Close,
    ]
}

#[test]
fn only_the_name_look_ups_are_not_stepped() {
    let not_stepped: Vec<&str> = every_call()
        .iter()
        .filter(|call| !call.is_stepped())
        .map(Call::name)
        .collect();
    assert_eq!(not_stepped, ["getsockname", "getpeername"]);
}

fn every_result() -> Vec<CallResult> {
    vec![
        CallResult::Done,
        CallResult::Socket { fd: 4, peer: None },
        CallResult::Socket {
            fd: 5,
            peer: Some("127.0.0.1:54321".into()),
        },
        CallResult::Addr {
            addr: "127.0.0.1:54321".into(),
        },
        CallResult::Bytes {
            n: 3,
            data: vec![0, 0x7f, 0xff],
        },
        CallResult::Error {
            errno: "ECONNREFUSED".into(),
            message: "connection refused".into(),
        },
    ]
}

#[test]
fn every_event_kind_round_trips() {
    let mut kinds = Vec::new();
    for call in every_call() {
        kinds.push(EventKind::CallWaiting { call: call.clone() });
        kinds.push(EventKind::CallEntered { call: call.clone() });
        kinds.push(EventKind::CallBlocked { call: call.clone() });
        for result in every_result() {
            kinds.push(EventKind::CallReturned {
                call: call.clone(),
                result,
            });
        }
    }
    kinds.extend([
        EventKind::RecvIteration {
            number: 1,
            asked: 16,
            got: 5,
            total: 5,
            bytes: b"Greet".to_vec(),
        },
        EventKind::SendIteration {
            number: 1,
            offered: 17,
            accepted: 17,
            total: 17,
        },
        EventKind::Printed {
            line: "Waiting to accept a new connection".into(),
        },
        EventKind::SocketOpened {
            role: SocketRole::Fresh,
            fd: 3,
            cookie: None,
        },
        EventKind::SocketOpened {
            role: SocketRole::Accepted,
            fd: 4,
            cookie: Some(0x1005),
        },
        EventKind::Kernel {
            at_us: 1200,
            word: KernelWord::StateChanged {
                old: "TCP_CLOSE".into(),
                new: "TCP_SYN_SENT".into(),
            },
        },
        EventKind::Kernel {
            at_us: 1201,
            word: KernelWord::ResetSent {
                reason: "TCP_ABORT_ON_CLOSE".into(),
                state: Some("TCP_CLOSE".into()),
            },
        },
        EventKind::Kernel {
            at_us: 1202,
            word: KernelWord::ResetReceived { reason: None },
        },
        EventKind::Kernel {
            at_us: 1203,
            word: KernelWord::Retransmitted {
                state: Some("TCP_SYN_SENT".into()),
            },
        },
        EventKind::Kernel {
            at_us: 1204,
            word: KernelWord::SynAckRetransmitted,
        },
        EventKind::Kernel {
            at_us: 1205,
            word: KernelWord::Dropped {
                reason: "TCP_LISTEN_OVERFLOW".into(),
            },
        },
        EventKind::Kernel {
            at_us: 1206,
            word: KernelWord::Probe(Probe {
                cwnd: 10,
                ssthresh: 2_147_483_647,
                srtt_us: 21,
                snd_wnd: 65536,
                rcv_wnd: 65483,
                snd_nxt: 1,
                snd_una: 1,
                data_len: 17,
            }),
        },
        EventKind::Kernel {
            at_us: 1207,
            word: KernelWord::Destroyed,
        },
        EventKind::SocketUpdated {
            role: SocketRole::Listener,
        },
        EventKind::SocketUpdated {
            role: SocketRole::Accepted,
        },
        EventKind::SocketUpdated {
            role: SocketRole::Connected,
        },
        EventKind::SocketClosed,
        EventKind::Segment {
            segment: Segment {
                from: "127.0.0.1:54321".into(),
                to: "127.0.0.1:3000".into(),
                from_socket: Some(SocketId(2)),
                to_socket: None,
                flags: vec![
                    TcpFlag::Syn,
                    TcpFlag::Ack,
                    TcpFlag::Psh,
                    TcpFlag::Fin,
                    TcpFlag::Rst,
                    TcpFlag::Urg,
                    TcpFlag::Ece,
                    TcpFlag::Cwr,
                ],
                seq: 4_000_000_000,
                ack: 1,
                rel_seq: 0,
                rel_ack: 1,
                window: 65_535,
                options: vec![
                    TcpOption::Mss { bytes: 65_495 },
                    TcpOption::WindowScale { shift: 7 },
                    TcpOption::SackPermitted,
                    TcpOption::Sack {
                        blocks: vec![(1, 5), (9, 12)],
                    },
                    TcpOption::Timestamps { value: 7, echo: 0 },
                    TcpOption::Nop,
                ],
                len: 3,
                payload: b"abc".to_vec(),
                wire_us: 99,
            },
        },
        EventKind::HistoryFull { limit: 200_000 },
        EventKind::ModeChanged { mode: Mode::Paused },
        EventKind::ModeChanged {
            mode: Mode::Playing { interval_ms: 250 },
        },
    ]);
    for n in 1..=12 {
        let state = TcpState::from_linux(n).expect("a Linux TCP state");
        kinds.push(EventKind::SocketState {
            state: KernelState {
                state,
                recv_queue: 1,
                send_queue: 2,
                accept_queue: Some(0),
                backlog: Some(1),
            },
        });
    }
    for ending in [
        Ending::Completed,
        Ending::Stopped,
        Ending::Failed {
            message: "oops".into(),
        },
    ] {
        kinds.push(EventKind::ActorEnded { ending });
    }
    for kind in kinds {
        round_trip(&event(kind.clone()));
        round_trip(&RelayMessage::Event(event(kind)));
    }
    // Optional fields left out.
    round_trip(&Event {
        seq: 0,
        t_us: 0,
        actor: Actor::Kernel,
        socket: None,
        tuple: None,
        at: None,
        kind: EventKind::SocketClosed,
    });
}

fn session() -> SessionInfo {
    SessionInfo {
        id: 1,
        scenario: Scenario::classic(),
        server_addr: "127.0.0.1:3000".into(),
        mode: Mode::Paused,
    }
}

#[test]
fn every_relay_message_round_trips() {
    round_trip(&RelayMessage::Hello(Hello {
        protocol_version: PROTOCOL_VERSION,
        relay_version: "0.1.0".into(),
        capture: CaptureStatus {
            enabled: false,
            reason: "needs CAP_NET_RAW".into(),
        },
        scenarios: vec![Scenario::classic()],
        session: session(),
        sources: vec![SourceFile {
            path: "relay/src/pair/server.rs".into(),
            text: "fn main() {}\n".into(),
        }],
        ephemeral_ports: Some(PortRange::LINUX_DEFAULT),
        sandbox: tcpstep_protocol::SandboxStatus {
            enabled: true,
            reason: "each session in its own namespace".into(),
        },
        room: Some(RoomInfo {
            id: RoomInfo::CLASS.into(),
            drives: false,
            presenter: true,
            max_sessions: 16,
            idle_end_s: 300,
        }),
    }));
    round_trip(&RelayMessage::Opened {
        room: "k3v9q2m7x4bd".into(),
    });
    round_trip(&RelayMessage::Rooms {
        rooms: vec![RoomSummary {
            id: RoomInfo::CLASS.into(),
            scenario: "classic".into(),
            viewers: 2,
        }],
    });
    round_trip(&RelayMessage::Session(session()));
    round_trip(&RelayMessage::Resync { from_seq: 10 });
    round_trip(&RelayMessage::Viewers { count: 3 });
    round_trip(&RelayMessage::Error {
        message: "unknown command".into(),
    });
}

#[test]
fn every_command_round_trips() {
    for actor in [
        None,
        Some(Actor::Server),
        Some(Actor::Client(3)),
        Some(Actor::Kernel),
        Some(Actor::Wire),
    ] {
        round_trip(&Command::Step { actor });
    }
    round_trip(&Command::Play { interval_ms: 500 });
    round_trip(&Command::Pause);
    round_trip(&Command::Open);
    round_trip(&Command::Rooms {
        ids: vec!["k3v9q2m7x4bd".into()],
    });
    round_trip(&Command::Reset { scenario: None });
    for scenario in Scenario::presets() {
        round_trip(&Command::Reset {
            scenario: Some(scenario),
        });
    }
    round_trip(&Command::Reset {
        scenario: Some(Scenario {
            name: "custom".into(),
            chunk: Some(3),
            rcvbuf: Some(2048),
            sndbuf: Some(4096),
            port: Some(4000),
            ..Scenario::classic()
        }),
    });
}

/// Fixed texts: if one of these stops decoding, the wire format changed and
/// PROTOCOL_VERSION must change with it.
#[test]
fn pinned_encodings_still_decode() {
    let step: Command = serde_json::from_str(r#"{"command":"step","actor":{"client":0}}"#)
        .expect("step names a client");
    assert_eq!(
        step,
        Command::Step {
            actor: Some(Actor::Client(0))
        }
    );
    let step: Command = serde_json::from_str(r#"{"command":"step","actor":"server"}"#)
        .expect("step names the server");
    assert_eq!(
        step,
        Command::Step {
            actor: Some(Actor::Server)
        }
    );
    let next: Command = serde_json::from_str(r#"{"command":"step"}"#).expect("plain step");
    assert_eq!(next, Command::Step { actor: None });

    let recv = r#"{"type":"event","seq":12,"t_us":5150,"actor":"server","socket":2,
        "tuple":{"local":"127.0.0.1:3000","remote":"127.0.0.1:54321"},
        "kind":"call_returned","call":{"name":"recv","len":16},
        "result":{"outcome":"bytes","n":5,"data":"4772656574"}}"#;
    let msg: RelayMessage = serde_json::from_str(recv).expect("a recv event");
    let RelayMessage::Event(ev) = msg else {
        panic!("not an event: {msg:?}")
    };
    assert_eq!(ev.seq, 12);
    assert_eq!(ev.socket, Some(SocketId(2)));
    assert_eq!(
        ev.kind,
        EventKind::CallReturned {
            call: Call::Recv { len: 16 },
            result: CallResult::Bytes {
                n: 5,
                data: b"Greet".to_vec()
            }
        }
    );

    let said = r#"{"seq":4,"t_us":90,"actor":"kernel","socket":2,"kind":"kernel",
        "at_us":80,"word":{"what":"reset_sent","reason":"TCP_ABORT_ON_CLOSE","state":"TCP_CLOSE"}}"#;
    let ev: Event = serde_json::from_str(said).expect("a kernel event");
    assert_eq!(
        ev.kind,
        EventKind::Kernel {
            at_us: 80,
            word: KernelWord::ResetSent {
                reason: "TCP_ABORT_ON_CLOSE".into(),
                state: Some("TCP_CLOSE".into())
            }
        }
    );
    let probe = r#"{"seq":5,"t_us":91,"actor":"kernel","socket":2,"kind":"kernel","at_us":81,
        "word":{"what":"probe","cwnd":10,"ssthresh":2147483647,"srtt_us":21,"snd_wnd":65536,
        "rcv_wnd":65483,"snd_nxt":1,"snd_una":1,"data_len":17}}"#;
    let ev: Event = serde_json::from_str(probe).expect("a probe event");
    assert!(matches!(
        ev.kind,
        EventKind::Kernel {
            word: KernelWord::Probe(Probe { cwnd: 10, .. }),
            ..
        }
    ));
    let opened = r#"{"seq":6,"t_us":92,"actor":"server","socket":3,"kind":"socket_opened",
        "role":"accepted","fd":5,"cookie":4101}"#;
    let ev: Event = serde_json::from_str(opened).expect("an opened socket with its cookie");
    assert_eq!(
        ev.kind,
        EventKind::SocketOpened {
            role: SocketRole::Accepted,
            fd: 5,
            cookie: Some(4101)
        }
    );

    let state = r#"{"seq":3,"t_us":9,"actor":"kernel","socket":1,
        "tuple":{"local":"127.0.0.1:3000"},"kind":"socket_state",
        "state":{"state":"LISTEN","recv_queue":0,"send_queue":0,"accept_queue":1,"backlog":1}}"#;
    let ev: Event = serde_json::from_str(state).expect("a state event");
    assert_eq!(
        ev.kind,
        EventKind::SocketState {
            state: KernelState {
                state: TcpState::Listen,
                recv_queue: 0,
                send_queue: 0,
                accept_queue: Some(1),
                backlog: Some(1)
            }
        }
    );
}

#[test]
fn a_scenario_names_only_what_differs_from_the_classic_pair() {
    let reset: Command =
        serde_json::from_str(r#"{"command":"reset","scenario":{"name":"custom","clients":3}}"#)
            .expect("a partial scenario");
    assert_eq!(
        reset,
        Command::Reset {
            scenario: Some(Scenario {
                name: "custom".into(),
                clients: 3,
                ..Scenario::classic()
            })
        }
    );
    let classic = Scenario::preset("classic").expect("classic");
    assert_eq!(classic.message.len(), 17);
    assert_eq!((classic.expected, classic.reply.len()), (16, 16));
    for preset in Scenario::presets() {
        assert_ne!(preset.description(), "", "{}", preset.name);
    }
}

#[test]
fn malformed_bytes_are_rejected_not_misread() {
    for bad in [r#""abc""#, r#""zz""#] {
        let text = format!(
            r#"{{"seq":0,"t_us":0,"actor":"server","kind":"call_entered","call":{{"name":"send","bytes":{bad}}}}}"#
        );
        assert!(serde_json::from_str::<Event>(&text).is_err(), "{text}");
    }
}

#[test]
fn tcp_states_carry_the_kernels_names() {
    assert_eq!(TcpState::from_linux(10).map(TcpState::name), Some("LISTEN"));
    assert_eq!(
        TcpState::from_linux(4).map(TcpState::name),
        Some("FIN_WAIT_1")
    );
    assert_eq!(TcpState::from_linux(0), None);
    assert_eq!(TcpState::from_linux(13), None);
    // On the wire too, each state is spelled as the kernel spells it.
    for n in 1..=12 {
        let state = TcpState::from_linux(n).expect("a Linux TCP state");
        let json = serde_json::to_string(&state).expect("encodes");
        assert_eq!(json, format!("\"{}\"", state.name()));
    }
}

/// The hello grew the kernel's ephemeral port range; a hello from before
/// (a saved trace's first line) must still open, without it.
#[test]
fn a_hello_with_or_without_the_port_range_decodes() {
    let old = r#"{"type":"hello","protocol_version":1,"relay_version":"0.1.0",
        "capture":{"enabled":false,"reason":"needs CAP_NET_RAW"},"scenarios":[],
        "session":{"id":1,"scenario":{"name":"classic"},"server_addr":"127.0.0.1:3000","mode":{"mode":"paused"}}}"#;
    let RelayMessage::Hello(hello) = serde_json::from_str(old).expect("an old hello") else {
        panic!("not a hello")
    };
    assert_eq!(hello.ephemeral_ports, None);
    let new = old.replacen(
        r#""scenarios":[],"#,
        r#""scenarios":[],"ephemeral_ports":{"low":32768,"high":60999},"#,
        1,
    );
    let RelayMessage::Hello(hello) = serde_json::from_str(&new).expect("a new hello") else {
        panic!("not a hello")
    };
    assert_eq!(hello.ephemeral_ports, Some(PortRange::LINUX_DEFAULT));
    assert_eq!(
        PortRange::parse("32768\t60999\n"),
        Some(PortRange::LINUX_DEFAULT)
    );
    assert_eq!(PortRange::parse("60999 32768"), None);
    assert_eq!(PortRange::parse("1 2 3"), None);
}

/// The rooms' messages as a page and a relay write them: pinned, so that a
/// page and a relay built apart still understand each other.
#[test]
fn the_rooms_messages_are_pinned() {
    let open: Command = serde_json::from_str(r#"{"command":"open"}"#).expect("open");
    assert_eq!(open, Command::Open);
    let rooms: Command =
        serde_json::from_str(r#"{"command":"rooms","ids":["k3v9q2m7x4bd"]}"#).expect("rooms");
    assert_eq!(
        rooms,
        Command::Rooms {
            ids: vec!["k3v9q2m7x4bd".into()]
        }
    );
    let opened = serde_json::to_string(&RelayMessage::Opened {
        room: "k3v9q2m7x4bd".into(),
    })
    .expect("encodes");
    assert_eq!(opened, r#"{"type":"opened","room":"k3v9q2m7x4bd"}"#);
    let info = RoomInfo {
        id: RoomInfo::CLASS.into(),
        drives: true,
        presenter: false,
        max_sessions: 16,
        idle_end_s: 300,
    };
    assert_eq!(
        serde_json::to_string(&info).expect("encodes"),
        r#"{"id":"class","drives":true,"presenter":false,"max_sessions":16,"idle_end_s":300}"#
    );
}
