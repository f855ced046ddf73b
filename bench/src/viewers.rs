//! Viewers connect and leave: how long a WebSocket upgrade takes on
//! loopback, and how long a viewer that closes politely waits for the
//! relay's answer, in each state a session can be in. The baseline is a
//! bare TCP connect to the same relay (the kernel's part of any connection).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use protocol::{Actor, Call, EventKind, Mode, Scenario};
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

use crate::{relay::Relay, stats::Samples};

/// A state of the class session, made real before measuring in it.
#[derive(Debug, Clone, Copy)]
pub enum State {
    /// Paused before the server's first call.
    Fresh,
    /// The server asleep in accept(), no client yet.
    InAccept,
    /// The exchange done: the client ended, the server asleep in accept() again.
    Done,
    /// Playing a crowd of clients: events flowing to every viewer.
    Playing,
}

impl State {
    pub const ALL: [State; 4] = [State::Fresh, State::InAccept, State::Done, State::Playing];

    pub fn label(self) -> &'static str {
        match self {
            State::Fresh => "paused at the start",
            State::InAccept => "server asleep in accept(), no client yet",
            State::Done => "exchange done, server asleep in accept() again",
            State::Playing => "playing a crowd of 200 clients, events flowing",
        }
    }
}

/// Upgrade and close times in `state`, `n` of each, and the baseline.
pub struct Figures {
    pub tcp_connect: Samples,
    pub upgrade: Samples,
    pub close: Samples,
}

pub fn measure(rt: &Runtime, state: State, n: usize) -> Figures {
    let (scenario, mode) = match state {
        State::Playing => (
            Scenario {
                name: "custom".into(),
                clients: 200,
                backlog: 256,
                ..Scenario::classic()
            },
            Mode::Playing { interval_ms: 1 },
        ),
        _ => (Scenario::classic(), Mode::Paused),
    };
    let relay = Relay::start(rt, scenario, mode);
    reach(&relay, state);
    let addr = relay
        .url
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_owned();
    let mut figures = Figures {
        tcp_connect: Samples::default(),
        upgrade: Samples::default(),
        close: Samples::default(),
    };
    rt.block_on(async {
        for _ in 0..n {
            let t = Instant::now();
            let stream = tokio::net::TcpStream::connect(&addr)
                .await
                .expect("connect");
            figures.tcp_connect.push(t.elapsed());
            drop(stream);

            let t = Instant::now();
            let (mut ws, _) = tokio_tungstenite::connect_async(relay.url.as_str())
                .await
                .expect("the WebSocket handshake");
            figures.upgrade.push(t.elapsed());
            // The hello (and whatever follows) has begun to arrive: a viewer
            // that leaves now leaves a session under way.
            let first = ws.next().await.expect("a message").expect("a frame");
            assert!(matches!(first, Message::Text(_)));

            let t = Instant::now();
            ws.send(Message::Close(None))
                .await
                .expect("send a close frame");
            let answered = tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Close(_))) => return true,
                        Some(Ok(_)) => continue,
                        _ => return false,
                    }
                }
            })
            .await;
            assert_eq!(
                answered,
                Ok(true),
                "{}: the close went unanswered",
                state.label()
            );
            figures.close.push(t.elapsed());
        }
    });
    if let State::Playing = state {
        assert!(
            !tcpstep_relay::record::finished(&relay.host.feed().events(), 200),
            "the crowd finished before the measurements did: they were not taken while playing"
        );
    }
    figures
}

/// Brings the relay's class session to `state`.
fn reach(relay: &Relay, state: State) {
    let events = || relay.host.feed().events();
    let wait = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(Instant::now() < deadline, "never reached: {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    let accepts = || {
        events()
            .iter()
            .filter(|e| matches!(e.kind, EventKind::CallBlocked { call: Call::Accept }))
            .count()
    };
    match state {
        State::Fresh => wait("the first call waiting", &|| !events().is_empty()),
        State::Playing => wait("events flowing", &|| events().len() > 100),
        State::InAccept => {
            let server = |f: fn(&EventKind) -> bool| {
                events()
                    .iter()
                    .filter(|e| e.actor == Actor::Server && f(&e.kind))
                    .count()
            };
            let waiting = || {
                server(|k| matches!(k, EventKind::CallWaiting { .. }))
                    > server(|k| matches!(k, EventKind::CallEntered { call } if call.is_stepped()))
            };
            // socket, setsockopt, bind, listen, accept
            for _ in 0..5 {
                wait("the server waiting for a step", &waiting);
                // Its wait is announced a moment before the gate holds it.
                wait("the step taken", &|| {
                    relay.host.step(Some(Actor::Server)).is_ok()
                });
            }
            wait("accept() asleep", &|| accepts() == 1);
        }
        State::Done => {
            relay
                .host
                .command(protocol::Command::Play { interval_ms: 1 })
                .expect("play");
            // The second accept() entered, with nothing to return: asleep.
            let second_accept = || {
                events()
                    .iter()
                    .filter(|e| matches!(e.kind, EventKind::CallEntered { call: Call::Accept }))
                    .count()
                    == 2
            };
            wait("the exchange done", &|| {
                tcpstep_relay::record::finished(&events(), 1) && second_accept()
            });
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
