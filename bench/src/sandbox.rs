//! Sessions in sandboxes: what a worker process in its own namespaces costs
//! against a session in the relay's process, and what many sandboxed
//! sessions at once cost each other.

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use protocol::{Mode, Scenario};
use tcpstep_relay::{
    feed::{Feed, Item, LIVE_BUFFER},
    record::finished,
    sandbox::Remote,
    session::{Local, Place},
};

use crate::stats::Samples;

/// The relay binary beside this one (`cargo xtask bench` builds both).
pub fn relay_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let relay = exe.parent()?.join("relay");
    relay.exists().then_some(relay)
}

fn new_feed() -> Arc<Feed> {
    Arc::new(Feed::before(&Scenario::classic(), LIVE_BUFFER))
}

/// A session of either kind, as the benchmark drives it.
enum Running {
    Local(Local),
    Remote(Remote),
}

impl Running {
    fn start(relay: Option<&Path>, id: u64, mode: Mode, capture: bool, feed: Arc<Feed>) -> Running {
        Running::start_of(Scenario::classic(), relay, id, mode, capture, feed)
    }

    fn start_of(
        classic: Scenario,
        relay: Option<&Path>,
        id: u64,
        mode: Mode,
        capture: bool,
        feed: Arc<Feed>,
    ) -> Running {
        match relay {
            Some(relay) => Running::Remote(
                Remote::start(relay, id, classic, mode, capture, feed)
                    .expect("a sandboxed session"),
            ),
            None => Running::Local(
                Local::start(id, classic, mode, capture, feed, Place::Host)
                    .expect("an in-process session"),
            ),
        }
    }

    fn step(&self) -> bool {
        match self {
            Running::Local(s) => s.step(None).is_ok(),
            Running::Remote(s) => s.step(None).is_ok(),
        }
    }

    fn stop(self) {
        match self {
            Running::Local(s) => s.stop(),
            Running::Remote(s) => s.stop(),
        }
    }
}

/// From starting a session (in a sandbox with `relay`, else in this
/// process) to its first event in the relay's feed, sessions `apart` from
/// each other (a person resets seconds apart; a spare worker is made
/// ahead meanwhile).
pub fn start_to_first_event(
    relay: Option<&Path>,
    capture: bool,
    n: usize,
    apart: Duration,
) -> Samples {
    let mut samples = Samples::default();
    for id in 1..=n as u64 {
        thread::sleep(apart);
        let feed = new_feed();
        let t = Instant::now();
        let session = Running::start(relay, id, Mode::Paused, capture, feed.clone());
        while feed.events().is_empty() {
            thread::yield_now();
        }
        samples.push(t.elapsed());
        session.stop();
    }
    samples
}

/// What [`many`] measured.
pub struct Many {
    pub exchanges: usize,
    pub window: Duration,
    /// From a step of one more session, paused, to its event in the feed.
    pub step_to_event: Samples,
}

/// `sessions` sandboxed sessions playing the classic exchange with no delay
/// in a loop (each new session once the last finished) for `window`, while
/// a viewer steps one more, paused, session: exchanges completed, and how
/// long each step took to show.
pub fn many(relay: &Path, capture: bool, sessions: usize, window: Duration) -> Many {
    let exchanges = Arc::new(AtomicUsize::new(0));
    let over = Arc::new(AtomicBool::new(false));
    let players: Vec<_> = (0..sessions)
        .map(|k| {
            let (relay, exchanges, over) = (relay.to_owned(), exchanges.clone(), over.clone());
            thread::spawn(move || {
                let mut id = (k as u64) << 32;
                while !over.load(Ordering::Relaxed) {
                    id += 1;
                    let feed = new_feed();
                    let playing = Mode::Playing { interval_ms: 0 };
                    let session = Running::start(Some(&relay), id, playing, capture, feed.clone());
                    while !finished(&feed.events(), 1) && !over.load(Ordering::Relaxed) {
                        thread::sleep(Duration::from_millis(1));
                    }
                    if finished(&feed.events(), 1) {
                        exchanges.fetch_add(1, Ordering::Relaxed);
                    }
                    session.stop();
                }
            })
        })
        .collect();
    let started = Instant::now();
    let mut step_to_event = Samples::default();
    let mut id = u64::MAX / 2;
    while started.elapsed() < window {
        id += 1;
        let feed = new_feed();
        let session = Running::start(Some(relay), id, Mode::Paused, capture, feed.clone());
        let mut live = feed.subscribe(None).live;
        loop {
            let t = Instant::now();
            if !session.step() {
                break; // nothing waits: this exchange is done
            }
            // The event that says the call was released.
            loop {
                match live.blocking_recv() {
                    Ok(Item::Event { json, .. }) if json.contains("\"call_entered\"") => break,
                    Ok(_) => continue,
                    Err(_) => break,
                }
            }
            step_to_event.push(t.elapsed());
            // Let the released call run, as a person stepping would.
            thread::sleep(Duration::from_millis(5));
        }
        session.stop();
    }
    over.store(true, Ordering::Relaxed);
    let window = started.elapsed();
    for p in players {
        let _ = p.join();
    }
    Many {
        exchanges: exchanges.load(Ordering::Relaxed),
        window,
        step_to_event,
    }
}

/// The classic exchange played with no delay in a sandbox, from the start
/// of each session to its end (sessions 200 ms apart, so each has its
/// spare worker ready), with `wire` rules: time per exchange, and events
/// per second.
pub fn wire_exchanges(
    relay: &Path,
    capture: bool,
    wire: protocol::WireRules,
    n: usize,
) -> (Samples, f64) {
    let mut samples = Samples::default();
    let (mut events, mut time) = (0usize, Duration::ZERO);
    for id in 1..=n as u64 {
        thread::sleep(Duration::from_millis(200));
        let feed = new_feed();
        let scenario = Scenario {
            name: "custom".into(),
            wire: wire.clone(),
            ..Scenario::classic()
        };
        let t = Instant::now();
        let session = Running::start_of(
            scenario,
            Some(relay),
            id,
            Mode::Playing { interval_ms: 0 },
            capture,
            feed.clone(),
        );
        while !finished(&feed.events(), 1) {
            thread::sleep(Duration::from_micros(200));
        }
        let took = t.elapsed();
        samples.push(took);
        events += feed.events().len();
        time += took;
        session.stop();
    }
    (samples, events as f64 / time.as_secs_f64())
}
