//! A session: the classic pair run on real sockets, stepped by viewers.
//!
//! Each program runs on its own thread, making real blocking calls, with a
//! `Tracer` as its observer: before each call it reports the call
//! and waits at the step gate (`Gate`) until a viewer (or play) releases it.
//! A prober thread watches the kernel between calls, so what the kernel does
//! on its own (finishing a handshake before `accept()` returns, data waiting
//! before `recv()`) is reported as it happens, and so is a call that sleeps in
//! the kernel. Everything goes into the relay's [`Feed`] as one stream.
//!
//! Stopping a session closes the gate, wakes calls asleep in the kernel by
//! shutting their sockets down, and waits for the programs to end, so every
//! socket the session opened is closed.

mod gate;
mod kernel;
mod tracer;

use std::{
    collections::HashMap,
    net::{SocketAddr, TcpListener},
    os::fd::{BorrowedFd, RawFd},
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc, Condvar, Mutex, MutexGuard,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant, SystemTime},
};

use gate::Gate;
pub use gate::StepError;
use protocol::{
    Actor, Call, Ending, EventKind, FourTuple, KernelState, Mode, Scenario, Segment, SessionInfo,
    SocketId, SocketRole, SourceLine, TcpFlag, TcpState,
};
use socket2::SockRef;
use tracer::Tracer;

use crate::{
    capture::Live,
    feed::Feed,
    pair::{self, Observer, PairError, Server},
    scenario::{self, Plan},
};

/// How often the prober looks at the kernel while a session runs.
const PROBE_INTERVAL: Duration = Duration::from_millis(2);

/// The prober reads the kernel's connection table at every this many looks.
const LINGER_PROBE_EVERY: u32 = 5;

/// How long stopping waits for a program to end before leaving it behind.
const STOP_PATIENCE: Duration = Duration::from_secs(5);

/// A session's threads, by name, to wait for when it stops.
type ThreadList = Arc<Mutex<Vec<(String, JoinHandle<()>)>>>;

/// How many of a session's threads still run, and a signal when one ends:
/// stopping waits on it rather than polling each thread.
#[derive(Default)]
struct Running {
    count: Mutex<usize>,
    ended: Condvar,
}

impl Running {
    /// Waits until at most `left` threads run, or `deadline`; says whether they did.
    fn wait_until(&self, left: usize, deadline: Instant) -> bool {
        let mut count = lock(&self.count);
        while *count > left {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            count = self
                .ended
                .wait_timeout(count, deadline - now)
                .map(|(c, _)| c)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
        true
    }
}

/// Counts a thread as ended when dropped, however its body ends (a panic too).
struct Ends(Arc<Running>);

impl Drop for Ends {
    fn drop(&mut self) {
        *lock(&self.0.count) -= 1;
        self.0.ended.notify_all();
    }
}

/// A socket as events name it.
pub(crate) type SocketRef = (SocketId, Option<FourTuple>);

#[derive(Debug)]
struct Tracked {
    id: SocketId,
    owner: Actor,
    /// The socket's inode: proves an fd number still means this socket.
    inode: u64,
    tuple: Option<FourTuple>,
    last: Option<KernelState>,
}

#[derive(Debug)]
struct InCall {
    tid: libc::pid_t,
    call: Call,
    socket: Option<SocketRef>,
    at: Option<SourceLine>,
    /// How many looks in a row found the thread asleep.
    seen_asleep: u32,
    reported_blocked: bool,
}

#[derive(Debug, Default)]
struct Sockets {
    next_id: u32,
    open: HashMap<RawFd, Tracked>,
    /// Every address pair a socket of the session has had, kept after it
    /// closes: the kernel sends segments for a connection after close().
    by_tuple: HashMap<FourTuple, SocketId>,
    /// Connections their programs have closed and the kernel still keeps
    /// (`FIN_WAIT_2`, `LAST_ACK`, `TIME_WAIT`), watched until it lets go.
    lingering: Vec<Lingering>,
}

/// A closed socket's connection, still in the kernel's table.
#[derive(Debug)]
struct Lingering {
    id: SocketId,
    tuple: FourTuple,
    /// (local, remote), as `/proc/net/tcp` names it.
    key: (SocketAddr, SocketAddr),
    last: Option<KernelState>,
}

impl Lingering {
    /// Watches a socket's connection after its close, if it had one.
    fn after_close(t: Tracked) -> Option<Lingering> {
        let tuple = t.tuple?;
        let key = (
            tuple.local.parse().ok()?,
            tuple.remote.as_ref()?.parse().ok()?,
        );
        Some(Lingering {
            id: t.id,
            tuple,
            key,
            last: t.last,
        })
    }
}

impl Sockets {
    fn named(&mut self, id: SocketId, tuple: &Option<FourTuple>) {
        if let Some(tuple) = tuple {
            self.by_tuple.insert(tuple.clone(), id);
        }
    }

    /// The session's socket at `local` talking to `remote`, or listening at `local`.
    fn at(&self, local: &str, remote: &str, listener_too: bool) -> Option<SocketId> {
        let connected = FourTuple {
            local: local.to_owned(),
            remote: Some(remote.to_owned()),
        };
        let listening = FourTuple {
            local: local.to_owned(),
            remote: None,
        };
        self.by_tuple
            .get(&connected)
            .or_else(|| {
                listener_too
                    .then(|| self.by_tuple.get(&listening))
                    .flatten()
            })
            .copied()
    }
}

/// What a session's threads share.
pub struct Shared {
    id: u64,
    feed: Arc<Feed>,
    gate: Gate,
    sockets: Mutex<Sockets>,
    calls: Mutex<HashMap<Actor, InCall>>,
    /// Told once when the server's `listen()` succeeds: the clients start then.
    listening: Mutex<Option<mpsc::Sender<()>>>,
    /// The capture of the session's port, if capture is on.
    wire: Option<Mutex<Live>>,
    /// The wall-clock time at which the session's clock reads 0: pcap
    /// timestamps are wall-clock.
    wall_start: SystemTime,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// The server is listening: time for the clients to run.
    fn server_listening(&self) {
        if let Some(tell) = lock(&self.listening).take() {
            let _ = tell.send(());
        }
    }

    fn emit(&self, actor: Actor, socket: Option<SocketRef>, kind: EventKind) {
        self.emit_at(actor, socket, None, kind);
    }

    /// An event of a program's call, with the source line that makes it.
    fn emit_at(
        &self,
        actor: Actor,
        socket: Option<SocketRef>,
        at: Option<SourceLine>,
        kind: EventKind,
    ) {
        if !self.feed.push(self.id, actor, socket, at, kind) {
            // The history is full: the programs make no more calls; a reset
            // starts a new session.
            self.gate.close();
        }
    }

    /// The session's name for the socket `fd`, with its addresses.
    fn socket(&self, fd: RawFd) -> Option<SocketRef> {
        let sockets = lock(&self.sockets);
        let t = sockets.open.get(&fd)?;
        Some((t.id, t.tuple.clone()))
    }

    /// Starts tracking a socket a call just returned.
    fn track(&self, fd: RawFd, owner: Actor, role: SocketRole) -> SocketRef {
        let mut sockets = lock(&self.sockets);
        sockets.next_id += 1;
        let id = SocketId(sockets.next_id);
        let tuple = (role != SocketRole::Fresh)
            .then(|| four_tuple(fd))
            .flatten();
        sockets.named(id, &tuple);
        sockets.open.insert(
            fd,
            Tracked {
                id,
                owner,
                inode: inode(fd).unwrap_or(0),
                tuple: tuple.clone(),
                last: None,
            },
        );
        (id, tuple)
    }

    /// Re-reads a socket's addresses after bind, listen or connect.
    fn update(&self, fd: RawFd) -> Option<SocketRef> {
        let mut sockets = lock(&self.sockets);
        let t = sockets.open.get_mut(&fd)?;
        t.tuple = four_tuple(fd);
        let named = (t.id, t.tuple.clone());
        sockets.named(named.0, &named.1);
        Some(named)
    }

    /// Stops tracking `fd` (it is about to be closed), after a last look at it.
    fn forget(&self, fd: RawFd) -> Option<SocketRef> {
        let mut sockets = lock(&self.sockets);
        self.probe_one(fd, sockets.open.get_mut(&fd)?);
        let t = sockets.open.remove(&fd)?;
        let named = (t.id, t.tuple.clone());
        sockets.lingering.extend(Lingering::after_close(t));
        Some(named)
    }

    fn enter_call(
        &self,
        actor: Actor,
        tid: libc::pid_t,
        call: &Call,
        socket: Option<SocketRef>,
        at: Option<SourceLine>,
    ) {
        lock(&self.calls).insert(
            actor,
            InCall {
                tid,
                call: call.clone(),
                socket,
                at,
                seen_asleep: 0,
                reported_blocked: false,
            },
        );
    }

    fn leave_call(&self, actor: Actor) {
        lock(&self.calls).remove(&actor);
    }

    /// Reports every segment captured since the last look, naming the
    /// session's sockets at each end.
    fn drain_wire(&self) {
        let Some(wire) = &self.wire else {
            return;
        };
        let mut wire = lock(wire);
        for captured in wire.drain() {
            let d = captured.decoded;
            let (from, to) = (d.from.to_string(), d.to.to_string());
            let (from_socket, to_socket) = {
                let sockets = lock(&self.sockets);
                (
                    sockets.at(&from, &to, false),
                    sockets.at(&to, &from, d.flags.contains(&TcpFlag::Syn)),
                )
            };
            let wire_us = captured
                .at
                .duration_since(self.wall_start)
                .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
            let segment = Segment {
                from,
                to,
                from_socket,
                to_socket,
                flags: d.flags,
                seq: d.seq,
                ack: d.ack,
                rel_seq: captured.rel_seq,
                rel_ack: captured.rel_ack,
                window: d.window,
                options: d.options,
                len: d.payload.len(),
                payload: d.payload,
                wire_us,
            };
            self.emit(
                Actor::Wire,
                from_socket.map(|id| (id, None)),
                EventKind::Segment { segment },
            );
        }
    }

    /// The session's capture as a pcap file, if capture is on.
    pub fn pcap(&self) -> Option<Vec<u8>> {
        self.wire.as_ref().map(|wire| lock(wire).pcap())
    }

    /// Reports calls that have gone to sleep in the kernel since the last look.
    ///
    /// A call is blocked when its thread is asleep at two looks in a row: a
    /// call that only waits a moment for a lock (our own probe's, say) is
    /// not waiting for the network.
    fn probe_calls(&self) {
        let mut calls = lock(&self.calls);
        for (&actor, call) in calls.iter_mut() {
            if call.reported_blocked {
                continue;
            }
            call.seen_asleep = match kernel::thread_sleeping(call.tid) {
                true => call.seen_asleep + 1,
                false => 0,
            };
            if call.seen_asleep >= 2 {
                call.reported_blocked = true;
                self.emit_at(
                    actor,
                    call.socket.clone(),
                    call.at.clone(),
                    EventKind::CallBlocked {
                        call: call.call.clone(),
                    },
                );
            }
        }
    }

    /// Reports every socket whose kernel state changed since the last look.
    fn probe_sockets(&self) {
        let mut sockets = lock(&self.sockets);
        for (&fd, tracked) in sockets.open.iter_mut() {
            self.probe_one(fd, tracked);
        }
    }

    /// Reports the sockets a call can have changed: `fds`, and the other
    /// end of the connection `about` names (its peer's socket, or the
    /// listener it reached). Cheap in a crowd, where probing every socket
    /// after every call made a session's cost grow with the square of its
    /// clients.
    fn probe_around(&self, fds: &[RawFd], about: Option<&FourTuple>) {
        let mut sockets = lock(&self.sockets);
        let mut targets: Vec<RawFd> = fds.to_vec();
        if let Some(FourTuple {
            local,
            remote: Some(remote),
        }) = about
        {
            targets.extend(sockets.open.iter().filter_map(|(&other, t)| {
                let t = t.tuple.as_ref()?;
                let peer = t.local == *remote
                    && (t.remote.as_deref() == Some(local.as_str()) || t.remote.is_none());
                peer.then_some(other)
            }));
        }
        for fd in targets {
            if let Some(tracked) = sockets.open.get_mut(&fd) {
                self.probe_one(fd, tracked);
            }
        }
    }

    fn probe_one(&self, fd: RawFd, tracked: &mut Tracked) {
        if inode(fd) != Some(tracked.inode) {
            return; // closed behind our back (a program ending on an error)
        }
        let Some(now) = kernel::socket_state(fd) else {
            return;
        };
        if tracked.last.as_ref() != Some(&now) {
            tracked.last = Some(now.clone());
            self.emit(
                Actor::Kernel,
                Some((tracked.id, tracked.tuple.clone())),
                EventKind::SocketState { state: now },
            );
        }
    }

    /// Forgets every socket `actor` still had when it ended: they closed as it
    /// unwound, and their fd numbers may already mean something else.
    fn forget_all_of(&self, actor: Actor) -> Vec<SocketRef> {
        let mut sockets = lock(&self.sockets);
        let fds: Vec<RawFd> = sockets
            .open
            .iter()
            .filter(|(_, t)| t.owner == actor)
            .map(|(&fd, _)| fd)
            .collect();
        let mut named = Vec::new();
        for fd in fds {
            let Some(t) = sockets.open.remove(&fd) else {
                continue;
            };
            named.push((t.id, t.tuple.clone()));
            sockets.lingering.extend(Lingering::after_close(t));
        }
        named
    }

    /// Reports the kernel's state of connections whose sockets were closed,
    /// from its connection table, until it forgets them (then as `CLOSE`).
    fn probe_lingering(&self) {
        let mut sockets = lock(&self.sockets);
        if sockets.lingering.is_empty() {
            return;
        }
        let Ok(table) = kernel::connections() else {
            return;
        };
        sockets.lingering.retain_mut(|l| {
            let now = table.get(&l.key).cloned().unwrap_or(KernelState {
                state: TcpState::Close,
                recv_queue: 0,
                send_queue: 0,
                accept_queue: None,
                backlog: None,
            });
            if l.last.as_ref() != Some(&now) {
                self.emit(
                    Actor::Kernel,
                    Some((l.id, Some(l.tuple.clone()))),
                    EventKind::SocketState { state: now.clone() },
                );
            }
            let gone = now.state == TcpState::Close;
            l.last = Some(now);
            !gone
        });
    }

    /// Wakes every call asleep on one of the session's sockets: `shutdown()`
    /// makes a blocked `recv` return 0 and a blocked `accept` fail.
    fn shut_down_sockets(&self) {
        let sockets = lock(&self.sockets);
        for (&fd, tracked) in &sockets.open {
            if inode(fd) == Some(tracked.inode) {
                // SAFETY: fd is open (its inode is the tracked socket's) while we hold the lock.
                let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
                let _ = SockRef::from(&borrowed).shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

/// The socket's inode number: unique among open sockets, so it tells whether
/// an fd number still refers to the socket we tracked.
fn inode(fd: RawFd) -> Option<u64> {
    // SAFETY: fstat writes a stat struct; on a closed fd it fails with EBADF.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some(st.st_ino)
}

/// The socket's addresses, as `getsockname()` and `getpeername()` give them.
fn four_tuple(fd: RawFd) -> Option<FourTuple> {
    // SAFETY: callers pass an fd that a program of the session holds open.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let sock = SockRef::from(&borrowed);
    let local = sock.local_addr().ok()?.as_socket()?;
    let remote = sock
        .peer_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .map(|a| a.to_string());
    Some(FourTuple {
        local: local.to_string(),
        remote,
    })
}

/// A running session.
pub struct Session {
    shared: Arc<Shared>,
    stop_probing: Arc<AtomicBool>,
    threads: ThreadList,
    running: Arc<Running>,
}

impl Session {
    /// Starts session `id` of `scenario`, its programs waiting for the first step.
    /// With `capture`, the session's segments are captured too; if that
    /// fails the session runs without them, and the relay says why.
    pub fn start(
        id: u64,
        scenario: Scenario,
        mode: Mode,
        capture: bool,
        feed: Arc<Feed>,
    ) -> std::io::Result<Self> {
        let plan = scenario::plan(&scenario)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let port = match scenario.port {
            Some(port) => port,
            // A port the kernel just handed out and took back: free, and not
            // one a recent session's TIME_WAIT still holds.
            None => TcpListener::bind("127.0.0.1:0")?.local_addr()?.port(),
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
                    eprintln!("relay: session {id}: {reason}");
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
        let stop_probing = Arc::new(AtomicBool::new(false));
        let session = Session {
            shared: shared.clone(),
            stop_probing: stop_probing.clone(),
            threads: Arc::default(),
            running: Arc::default(),
        };

        let threads = Threads {
            shared: shared.clone(),
            list: session.threads.clone(),
            running: session.running.clone(),
        };
        threads.spawn("prober", move || {
            let mut looks = 0u32;
            while !stop_probing.load(Ordering::Relaxed) {
                let began = Instant::now();
                shared.probe_calls();
                shared.drain_wire();
                shared.probe_sockets();
                // The connection table is read less often: it lists every
                // connection of the host, and TIME_WAIT lasts a minute.
                if looks % LINGER_PROBE_EVERY == 0 {
                    shared.probe_lingering();
                }
                looks = looks.wrapping_add(1);
                // A look at a crowd's thousands of sockets takes a while:
                // rest three times as long, so the prober takes at most a
                // quarter of a core and of the sockets' lock. Woken early by stop().
                thread::park_timeout(PROBE_INTERVAL.max(began.elapsed() * 3));
            }
        })?;
        let shared = session.shared.clone();
        threads.spawn("player", move || shared.gate.play())?;

        let Plan {
            server,
            client,
            clients,
        } = plan;
        match server {
            Some(config) => threads.spawn_actor(Actor::Server, move |tracer| {
                let server = Server::listen(server_addr, &config, tracer)?;
                match server.serve_forever(tracer) {
                    Ok(never) => match never {},
                    Err(err) => Err(err),
                }
            })?,
            // Nothing listens: the clients need not wait for anyone.
            None => session.shared.server_listening(),
        }
        // As a person would: the clients are started once the server listens,
        // all together, each queued at the gate before the next starts, so
        // that "step the next in line" means the same thing in every run.
        // Play waits until all are in line: a crowd arrives at once.
        threads.clone().spawn("launcher", move || {
            if server_listens.recv().is_err() {
                return; // the server ended first, or the session stopped
            }
            let gate = &threads.shared.gate;
            gate.hold(true);
            let _release = Release(gate);
            for k in 0..clients {
                let config = client.clone();
                let client = threads.spawn_actor(Actor::Client(k), move |tracer| {
                    pair::client(server_addr, &config, tracer).map(drop)
                });
                if client.is_err() || threads.shared.gate.is_closed() {
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
        drop(lock(&self.shared.listening).take());
        self.shared.shut_down_sockets();
        let deadline = Instant::now() + STOP_PATIENCE;
        // Everyone but the prober, which watches the programs wind down.
        let ended = self.running.wait_until(1, deadline);
        let threads = std::mem::take(&mut *lock(&self.threads));
        self.stop_probing.store(true, Ordering::Relaxed);
        for (name, handle) in &threads {
            if name == "prober" {
                handle.thread().unpark();
            }
        }
        let ended = ended && self.running.wait_until(0, deadline);
        for (name, handle) in threads {
            if ended || handle.is_finished() {
                let _ = handle.join();
            } else {
                eprintln!(
                    "relay: warning: session {}: {name} did not end within {STOP_PATIENCE:?}; leaving it behind",
                    self.shared.id
                );
            }
        }
    }
}

/// Starts a session's threads and keeps their handles, from any thread.
#[derive(Clone)]
struct Threads {
    shared: Arc<Shared>,
    list: ThreadList,
    running: Arc<Running>,
}

impl Threads {
    fn spawn(&self, name: &str, body: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        *lock(&self.running.count) += 1;
        let ends = Ends(self.running.clone());
        let handle = thread::Builder::new()
            .name(format!("session-{}-{name}", self.shared.id))
            .spawn(move || {
                let _ends = ends;
                body();
            });
        let handle = handle?;
        lock(&self.list).push((name.to_owned(), handle));
        Ok(())
    }

    /// Runs a program on its own thread, and returns once it waits at the
    /// gate for its first call (or has ended).
    fn spawn_actor(
        &self,
        actor: Actor,
        program: impl FnOnce(&mut dyn Observer) -> Result<(), PairError> + Send + 'static,
    ) -> std::io::Result<()> {
        let shared = self.shared.clone();
        // Told when the program first waits at the gate, or dropped when it ends.
        let (arrived, has_arrived) = mpsc::channel::<()>();
        self.spawn(&actor.to_string(), move || {
            let mut tracer = Tracer::new(actor, shared.clone(), arrived);
            let result = program(&mut tracer);
            let ending = match result {
                Ok(()) => Ending::Completed,
                Err(_) if shared.gate.is_closed() => Ending::Stopped,
                Err(err) => {
                    // What the terminal program prints on stderr as it exits.
                    tracer.line(&format!("relay: {err}"));
                    Ending::Failed {
                        message: err.to_string(),
                    }
                }
            };
            for socket in shared.forget_all_of(actor) {
                shared.emit(actor, Some(socket), EventKind::SocketClosed);
            }
            shared.emit(actor, None, EventKind::ActorEnded { ending });
        })?;
        let _ = has_arrived.recv_timeout(STOP_PATIENCE);
        Ok(())
    }
}

/// Lets play go on when the launcher is done, however it ends.
struct Release<'a>(&'a Gate);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.hold(false);
    }
}
