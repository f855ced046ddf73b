//! A session run in this process: the classic pair on real sockets, stepped
//! by viewers.
//!
//! Each program runs on its own thread (`program.rs`), making real blocking
//! calls, with a `Tracer` as its observer: before each call it takes its
//! place at the step gate (`gate.rs`), reports the call as waiting only once
//! it is in line, and waits there until a viewer (or play) releases it. A prober thread (`prober.rs`) watches the kernel between
//! calls, so what the kernel does on its own (finishing a handshake before
//! `accept()` returns, data waiting before `recv()`) is reported as it
//! happens, and so is a call that sleeps in the kernel. The socket registry
//! (`registry.rs`) names each socket; the wire (`wire.rs`) reports captured
//! segments with the sockets at their ends. Everything goes into the relay's
//! [`Feed`](crate::feed::Feed) as one stream.
//!
//! This file keeps a session's life: [`Session::start`], [`Session::step`]
//! and [`Session::stop`]. Stopping a session closes the gate, wakes calls
//! asleep in the kernel by shutting their sockets down, and waits for the
//! programs to end (`threads.rs`, bounded), so every socket the session
//! opened is closed.

use std::{
    net::{SocketAddr, TcpListener},
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime},
};

use protocol::{classic::DEFAULT_PORT, Actor, EventKind, Mode, Scenario, SessionInfo};

use super::{gate::Gate, prober, program, shared::Shared, threads::Threads, StepError};

use crate::{
    capture::Live,
    feed::Feed,
    pair::{self, Server},
    scenario::{self, Plan},
};

/// How long stopping waits for a program to end before leaving it behind.
const STOP_PATIENCE: Duration = Duration::from_secs(5);

/// Where a session runs, which decides what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// In a network namespace of its own (a worker's): its server listens
    /// at the textbook's port 3000 unless its scenario names another, and
    /// its wire rules may change the namespace's netfilter rules.
    Sandbox,
    /// In the host's namespace, shared with everything else: its server
    /// listens on a free port, and it has no wire rules.
    Host,
}

/// A running session.
pub struct Local {
    shared: Arc<Shared>,
    stop_probing: Arc<AtomicBool>,
    threads: Threads,
}

impl Local {
    /// Starts session `id` of `scenario`, its programs waiting for the first step.
    /// With `capture`, the session's segments are captured too; if that
    /// fails the session runs without them, and the relay says why.
    pub fn start(
        id: u64,
        scenario: Scenario,
        mode: Mode,
        capture: bool,
        feed: Arc<Feed>,
        place: Place,
    ) -> std::io::Result<Self> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        let plan = scenario::plan(&scenario).map_err(|e| invalid(e.to_string()))?;
        if scenario.needs_sandbox() && place == Place::Host {
            return Err(invalid(format!(
                "{} takes the wire in hand, which only a session in a sandbox of its own may do: {}",
                scenario.name,
                crate::sandbox::status().reason
            )));
        }
        let port = match (scenario.port, place) {
            (Some(port), _) => port,
            (None, Place::Sandbox) => DEFAULT_PORT,
            // A port the kernel just handed out and took back: free, and not
            // one a recent session's TIME_WAIT still holds.
            (None, Place::Host) => TcpListener::bind("127.0.0.1:0")?.local_addr()?.port(),
        };
        let server_addr = SocketAddr::from(([127, 0, 0, 1], port));
        let info = SessionInfo {
            id,
            scenario: scenario.clone(),
            server_addr: server_addr.to_string(),
            mode,
        };
        feed.begin_session(info);
        let wall_start = SystemTime::now();
        let wire = if capture {
            match Live::open(port) {
                Ok(live) => Some(Mutex::new(live)),
                Err(reason) => {
                    tracing::warn!(session = id, "{reason}");
                    None
                }
            }
        } else {
            None
        };
        let (listening, server_listens) = mpsc::channel();
        let shared = Arc::new(Shared {
            id,
            feed,
            gate: Gate::new(mode),
            sockets: Mutex::default(),
            calls: Mutex::default(),
            listening: Mutex::new(Some(listening)),
            wire,
            wall_start,
        });
        if !scenario.wire.is_empty() {
            let reporter = shared.clone();
            crate::netfilter::take_in_hand(
                scenario.wire.clone(),
                port,
                Box::new(move |action, decoded, at| reporter.report_verdict(action, decoded, at)),
            )
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        let stop_probing = Arc::new(AtomicBool::new(false));
        let threads = Threads::new(id);
        let session = Local {
            shared: shared.clone(),
            stop_probing: stop_probing.clone(),
            threads: threads.clone(),
        };

        prober::spawn(&threads, shared.clone(), stop_probing)?;
        let player = shared.clone();
        threads.spawn("player", move || player.gate.play())?;

        let Plan {
            server,
            client,
            clients,
        } = plan;
        match server {
            Some(config) => program::spawn(
                &threads,
                &shared,
                Actor::Server,
                STOP_PATIENCE,
                move |tracer| {
                    let server = Server::listen(server_addr, &config, tracer)?;
                    match server.serve_forever(tracer) {
                        Ok(never) => match never {},
                        Err(err) => Err(err),
                    }
                },
            )?,
            // Nothing listens: the clients need not wait for anyone.
            None => shared.server_listening(),
        }
        // As a person would: the clients are started once the server listens,
        // all together, each queued at the gate before the next starts, so
        // that "step the next in line" means the same thing in every run.
        // Play waits until all are in line: a crowd arrives at once.
        let launcher = threads.clone();
        threads.spawn("launcher", move || {
            if server_listens.recv().is_err() {
                return; // the server ended first, or the session stopped
            }
            let gate = &shared.gate;
            gate.hold(true);
            let _release = Release(gate);
            for k in 0..clients {
                let config = client.clone();
                let client = program::spawn(
                    &launcher,
                    &shared,
                    Actor::Client(k),
                    STOP_PATIENCE,
                    move |tracer| pair::client(server_addr, &config, tracer).map(drop),
                );
                if client.is_err() || shared.gate.is_closed() {
                    return;
                }
            }
        })?;
        Ok(session)
    }

    /// The session's segments so far as a pcap file, if it captures.
    pub fn pcap(&self) -> Option<Vec<u8>> {
        self.shared.drain_wire();
        self.shared.pcap()
    }

    /// Releases one waiting call (see [`Command::Step`](protocol::Command::Step)).
    pub fn step(&self, actor: Option<Actor>) -> Result<Actor, StepError> {
        self.shared.gate.step(actor)
    }

    /// Plays or pauses; the change is an event, so every viewer sees who did it.
    pub fn set_mode(&self, mode: Mode) {
        if self.shared.gate.set_mode(mode) {
            self.shared
                .emit(Actor::Relay, None, EventKind::ModeChanged { mode });
        }
    }

    /// Ends the session: no call is released again, calls asleep in the
    /// kernel are woken, and every program ends, closing its sockets.
    pub fn stop(self) {
        self.shared.gate.close();
        // A launcher still waiting for the server to listen gives up.
        self.shared.server_never_listens();
        self.shared.shut_down_sockets();
        let deadline = Instant::now() + STOP_PATIENCE;
        // Everyone but the prober, which watches the programs wind down.
        let ended = self.threads.wait_until(1, deadline);
        self.stop_probing.store(true, Ordering::Relaxed);
        self.threads.unpark(prober::THREAD);
        let ended = ended && self.threads.wait_until(0, deadline);
        self.threads.join(ended, STOP_PATIENCE);
    }
}

/// Lets play go on when the launcher is done, however it ends.
struct Release<'a>(&'a Gate);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.hold(false);
    }
}
