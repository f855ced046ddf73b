//! A call the relay announces as waiting is in line: a step of its program,
//! sent the moment the announcement arrives, is accepted. (The page's Step
//! button, Predict and every other viewer act on `call_waiting`; were it
//! sent before the program took its place at the gate, a step sent at once
//! would be refused as "not waiting", for a call the page shows waiting.)
//!
//! Both on real sockets, over the classic exchange, many times over: once
//! in-process, stepping from a thread that wakes on each event, which is as
//! quick as any viewer can be, and once through the hub, as a viewer does.

mod support;

use std::time::{Duration, Instant};

use protocol::{Actor, Command, EventKind, RelayMessage, Scenario};
use support::{step, stepped::Stepped, Relay, Viewer};
use tcpstep_relay::{feed::Item, record::finished};
use tokio::sync::broadcast::error::TryRecvError;

/// How many classic exchanges each test runs.
const EXCHANGES: usize = 32;

/// How many sessions the in-process test runs at once.
const AT_ONCE: usize = 4;

/// Whether the client has ended and the server sleeps in `accept()` again:
/// the exchange is done.
fn done(events: &[protocol::Event]) -> bool {
    finished(events, Scenario::classic().clients)
}

/// Runs one classic exchange in-process, stepping each call from this
/// thread the moment its `call_waiting` is in the feed; returns how many
/// calls it stepped.
fn exchange_stepped_at_once(round: usize) -> usize {
    let mut calls = 0;
    let session = Stepped::start("classic");
    // Subscribed before the first call can be stepped: the programs wait
    // for their first step, and the history holds what came before.
    let sub = session.feed.subscribe(None);
    let mut live = sub.live;
    let mut announced = |json: &str| {
        let Ok(RelayMessage::Event(e)) = serde_json::from_str::<RelayMessage>(json) else {
            return;
        };
        if let EventKind::CallWaiting { call } = &e.kind {
            let stepped = session.session().step(Some(e.actor));
            assert_eq!(
                stepped,
                Ok(e.actor),
                "exchange {round}: event {} announced the {}'s {} as waiting",
                e.seq,
                e.actor,
                call.name()
            );
            calls += 1;
        }
    };
    for json in &sub.history {
        announced(json);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(&session.events()) {
        assert!(
            Instant::now() < deadline,
            "exchange {round} did not finish: {:#?}",
            session.events()
        );
        // Polled, not slept on: the step goes out as soon as the event is
        // there, as quick as a viewer can possibly be.
        match live.try_recv() {
            Ok(Item::Event { json, .. }) => announced(&json),
            Ok(_) => {}
            Err(TryRecvError::Empty) => std::thread::yield_now(),
            Err(err) => panic!("exchange {round}: the live feed failed: {err}"),
        }
    }
    calls
}

#[test]
fn a_step_sent_the_moment_a_call_is_announced_is_accepted() {
    // A few sessions at once, so that the programs' threads are often
    // interrupted (as on a busy relay), wherever that may be.
    let calls: usize = std::thread::scope(|scope| {
        let running: Vec<_> = (0..AT_ONCE)
            .map(|lane| {
                scope.spawn(move || {
                    (0..EXCHANGES / AT_ONCE)
                        .map(|k| exchange_stepped_at_once(lane + k * AT_ONCE))
                        .sum::<usize>()
                })
            })
            .collect();
        running
            .into_iter()
            .map(|r| r.join().expect("a lane of exchanges"))
            .sum()
    });
    // socket, setsockopt, bind, listen, accept twice, recv, send, close for
    // the server; socket, connect, send, recv, close for the client: every
    // one of them stepped the moment it was announced.
    let exchanges = EXCHANGES / AT_ONCE * AT_ONCE;
    assert!(calls >= exchanges * 14, "{calls} calls stepped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_stepping_each_call_as_it_is_announced_is_never_refused() {
    let relay = Relay::start().await;
    let mut v = Viewer::connect(&relay.url).await;
    let mut calls = 0;
    for round in 0..EXCHANGES {
        if round > 0 {
            v.send(&Command::Reset { scenario: None }).await;
            while !matches!(v.next().await, RelayMessage::Session(_)) {}
        }
        let mut client_ended = false;
        loop {
            let e = match v.next().await {
                RelayMessage::Event(e) => e,
                RelayMessage::Error { message } => {
                    panic!("exchange {round}: a step was refused: {message}")
                }
                _ => continue,
            };
            match &e.kind {
                EventKind::CallWaiting { .. } => {
                    v.send(&step(e.actor)).await;
                    calls += 1;
                }
                EventKind::ActorEnded { .. } if e.actor == Actor::Client(0) => client_ended = true,
                _ => {}
            }
            if client_ended && done(&v.session_events()) {
                break;
            }
        }
    }
    assert!(calls >= EXCHANGES * 14, "{calls} calls stepped");
    // Every refusal would have come back as an error.
    assert!(
        !v.received
            .iter()
            .any(|m| matches!(m, RelayMessage::Error { .. })),
        "a step was refused"
    );
}
