//! The kernel's own account, read from real tracepoints in a private
//! tracefs instance, for real sockets on loopback: the handshake's
//! `SYN_SENT` and `SYN_RECV` for the right sockets, the server's reset with
//! the kernel's reason, the instance's life, and sockets with the same
//! addresses in two network namespaces told apart by cookie.
//!
//! These need root (tracefs). Under `cargo xtask test`, which sets
//! `TCPSTEP_REQUIRE_TRACEFS=1`, a relay that cannot read the tracepoints
//! fails them; elsewhere they say on stderr what they skip.

mod support;

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    os::fd::AsRawFd,
    path::Path,
    sync::{mpsc, Arc},
    time::{Duration, Instant},
};

use protocol::{Actor, EventKind, KernelWord, Mode, Scenario, SocketRole};
use support::stepped::Stepped;
use tcpstep_relay::tracepoints::{self, KernelEvent, KernelTrace};

const REQUIRE_TRACEFS: &str = "TCPSTEP_REQUIRE_TRACEFS";

/// The relay's reader, or `None` (said on stderr) where tracefs cannot be
/// used and `TCPSTEP_REQUIRE_TRACEFS` is not 1.
fn kernel_trace(what: &str) -> Option<KernelTrace> {
    kernel_trace_after(what, || {})
}

/// [`kernel_trace`], after `prepare`, with no other test's reader starting
/// in between (each start removes the stale instances it finds).
fn kernel_trace_after(what: &str, prepare: impl FnOnce()) -> Option<KernelTrace> {
    static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _alone = STARTING.lock().unwrap_or_else(|e| e.into_inner());
    prepare();
    match KernelTrace::start() {
        Ok(trace) => Some(trace),
        Err(reason) => {
            let required = std::env::var(REQUIRE_TRACEFS).is_ok_and(|v| v.trim() == "1");
            assert!(
                !required,
                "{what} needs the kernel's tracepoints, and {REQUIRE_TRACEFS}=1 says they must \
                 be read, but: {reason}"
            );
            eprintln!("SKIPPED: {what}, as {reason} (with {REQUIRE_TRACEFS}=1 this fails)");
            None
        }
    }
}

fn cookie(fd: &impl AsRawFd) -> u64 {
    let mut cookie: u64 = 0;
    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cookie`.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_COOKIE,
            (&mut cookie as *mut u64).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "SO_COOKIE: {}", std::io::Error::last_os_error());
    cookie
}

/// The classic pair's sockets, with their cookies.
struct Classic {
    listener: TcpListener,
    client: Option<TcpStream>,
    accepted: Option<TcpStream>,
}

/// Listens at `addr` (port 0: any), connects, accepts: the handshake.
/// Each socket is watched from the moment it exists, as a session does.
fn handshake(trace: &KernelTrace, addr: SocketAddr, to: &mpsc::Sender<KernelEvent>) -> Classic {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    trace.watch(cookie(&socket), to.clone());
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    socket.bind(&addr.into()).expect("bind");
    socket.listen(1).expect("listen");
    let listener: TcpListener = socket.into();
    let server = listener.local_addr().expect("bound");
    let client =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    trace.watch(cookie(&client), to.clone());
    client.connect(&server.into()).expect("connect");
    let (accepted, _) = listener.accept().expect("accept");
    trace.watch(cookie(&accepted), to.clone());
    Classic {
        listener,
        client: Some(client.into()),
        accepted: Some(accepted),
    }
}

impl Classic {
    /// The exchange: 17 bytes in, 16 read, the reply, and the server's
    /// close with one byte unread (a RST); then everything closed.
    fn exchange(mut self, greeting: &[u8]) -> [u64; 3] {
        let cookies = [
            cookie(&self.listener),
            cookie(self.client.as_ref().expect("client")),
            cookie(self.accepted.as_ref().expect("accepted")),
        ];
        let mut client = self.client.take().expect("client");
        let mut accepted = self.accepted.take().expect("accepted");
        client.write_all(greeting).expect("send");
        let mut got = [0u8; 16];
        accepted
            .read_exact(&mut got[..greeting.len().min(16)])
            .expect("recv");
        accepted.write_all(b"Goodbye, client!").expect("reply");
        // Let the greeting's last byte arrive before the close that leaves it unread.
        std::thread::sleep(Duration::from_millis(20));
        drop(accepted);
        let mut reply = [0u8; 16];
        client.read_exact(&mut reply).expect("the reply");
        assert_eq!(&reply, b"Goodbye, client!");
        drop(client);
        drop(self.listener);
        cookies
    }
}

/// What the kernel said of each of `cookies`, gathered until each socket
/// has been destroyed.
fn until_destroyed(rx: &mpsc::Receiver<KernelEvent>, cookies: &[u64]) -> Vec<KernelEvent> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got: Vec<KernelEvent> = Vec::new();
    let destroyed = |got: &[KernelEvent], c: u64| {
        got.iter()
            .any(|e| e.cookie == c && e.word == KernelWord::Destroyed)
    };
    while !cookies.iter().all(|&c| destroyed(&got, c)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(event) => got.push(event),
            Err(_) => panic!("not every socket of {cookies:x?} was destroyed: {got:#?}"),
        }
    }
    got.extend(rx.try_iter());
    got
}

fn states(events: &[KernelEvent], cookie: u64) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e.cookie == cookie)
        .filter_map(|e| match &e.word {
            KernelWord::StateChanged { old, new } => Some((old.clone(), new.clone())),
            _ => None,
        })
        .collect()
}

fn pair(old: &str, new: &str) -> (String, String) {
    (old.to_owned(), new.to_owned())
}

#[test]
fn the_classic_exchange_in_the_kernels_own_words() {
    let Some(trace) = kernel_trace("the classic exchange's tracepoints") else {
        return;
    };
    let (tx, rx) = mpsc::channel();
    let classic = handshake(&trace, "127.0.0.1:0".parse().unwrap(), &tx);
    let [listener, client, accepted] = classic.exchange(b"Greetings, server");
    let events = until_destroyed(&rx, &[listener, client, accepted]);

    assert_eq!(
        states(&events, listener),
        [
            pair("TCP_CLOSE", "TCP_LISTEN"),
            pair("TCP_LISTEN", "TCP_CLOSE")
        ],
        "left out: {:?}; {:#x?}",
        trace.left_out(),
        events
            .iter()
            .filter(|e| e.cookie == listener)
            .collect::<Vec<_>>()
    );
    let client_states = states(&events, client);
    assert_eq!(
        client_states[..2],
        [
            pair("TCP_CLOSE", "TCP_SYN_SENT"),
            pair("TCP_SYN_SENT", "TCP_ESTABLISHED")
        ],
        "the client's handshake: {client_states:?}"
    );
    let accepted_states = states(&events, accepted);
    // The accepted socket is born a copy of the listener, in SYN_RECV.
    assert_eq!(
        accepted_states[..2],
        [
            pair("TCP_LISTEN", "TCP_SYN_RECV"),
            pair("TCP_SYN_RECV", "TCP_ESTABLISHED")
        ],
        "the accepted socket's handshake: {accepted_states:?}"
    );
    let resets: Vec<&KernelWord> = events
        .iter()
        .filter(|e| e.cookie == accepted)
        .map(|e| &e.word)
        .filter(|w| matches!(w, KernelWord::ResetSent { .. }))
        .collect();
    assert_eq!(
        resets,
        [&KernelWord::ResetSent {
            reason: "TCP_ABORT_ON_CLOSE".into(),
            state: Some("TCP_CLOSE".into())
        }],
        "closed with a byte unread"
    );
    assert!(
        events
            .iter()
            .any(|e| e.cookie == client && matches!(e.word, KernelWord::ResetReceived { .. })),
        "the client's kernel received the reset"
    );
    // tcp_probe: the accepted socket saw the 17-byte greeting arrive.
    assert!(events.iter().any(
        |e| e.cookie == accepted && matches!(&e.word, KernelWord::Probe(p) if p.data_len == 17)
    ));
    // In time order, on CLOCK_MONOTONIC, and just now.
    let now = tracepoints::monotonic_ns();
    for w in events.windows(2).filter(|w| w[0].cookie == w[1].cookie) {
        assert!(w[0].time_ns <= w[1].time_ns, "{w:#?}");
    }
    assert!(events
        .iter()
        .all(|e| e.time_ns <= now && now - e.time_ns < 30_000_000_000));
}

#[test]
fn the_instance_is_the_relays_own_and_a_dead_relays_is_removed() {
    let Some(trace) = kernel_trace("the trace instance's life") else {
        return;
    };
    let instance = trace.instance().to_owned();
    assert!(instance.is_dir(), "{} exists", instance.display());
    let instances = instance.parent().expect("instances/").to_owned();
    assert_eq!(
        std::fs::read_to_string(instance.join("trace_clock"))
            .expect("trace_clock")
            .split_whitespace()
            .find(|c| c.starts_with('[')),
        Some("[mono]")
    );
    drop(trace);
    assert!(!instance.exists(), "removed when the relay's reader ends");

    // A relay that died without removing its instance: a process that ran
    // and ended, its pid with a start time no running process has.
    let mut child = std::process::Command::new("true").spawn().expect("true");
    let pid = child.id();
    child.wait().expect("ended");
    let stale = instances.join(format!("tcpstep-{pid}-1-0"));
    let trace = kernel_trace_after("the trace instance's life", || {
        std::fs::create_dir(&stale).expect("a stale instance");
        std::fs::write(stale.join("events/sock/inet_sock_set_state/enable"), "1")
            .expect("with an event on");
    })
    .expect("started once already");
    assert!(
        trace
            .removed_stale()
            .contains(&format!("tcpstep-{pid}-1-0")),
        "{:?}; still there: {}; rmdir: {:?}",
        trace.removed_stale(),
        stale.exists(),
        std::fs::remove_dir(&stale)
    );
    assert!(!stale.exists());
    assert!(trace.instance().is_dir());
    // Anyone else's instance is left alone.
    assert!(!trace
        .removed_stale()
        .iter()
        .any(|n| !n.starts_with("tcpstep-")));
}

/// Runs `f` on a thread of its own in a new network namespace (its own
/// loopback, up): the same addresses as the test's, another machine's worth of sockets.
fn in_new_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        // SAFETY: unshare changes only this thread's network namespace.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "unshare(CLONE_NEWNET): {}",
            std::io::Error::last_os_error()
        );
        // A child forked from this thread is in its namespace.
        let up = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .expect("ip");
        assert!(up.success(), "lo up in the new namespace");
        f()
    })
    .join()
    .expect("the namespace's thread")
}

#[test]
fn the_same_addresses_in_two_network_namespaces_are_told_apart_by_cookie() {
    let Some(trace) = kernel_trace("sockets in two network namespaces") else {
        return;
    };
    let trace = Arc::new(trace);
    let (here_tx, here_rx) = mpsc::channel();
    let (there_tx, there_rx) = mpsc::channel();
    // Both listen at the same address at once (any port free here: the new
    // namespace has every port free), then exchange different greetings.
    let here = handshake(&trace, "127.0.0.1:0".parse().unwrap(), &here_tx);
    let addr = here.listener.local_addr().expect("bound");
    let there_trace = trace.clone();
    let there = in_new_netns(move || {
        let classic = handshake(&there_trace, addr, &there_tx);
        assert_eq!(classic.listener.local_addr().expect("bound"), addr);
        classic.exchange(b"Hello")
    });
    let here = here.exchange(b"Greetings, server");
    assert!(
        here.iter().all(|c| !there.contains(c)),
        "cookies are the machine's, not a namespace's: {here:x?} {there:x?}"
    );
    let here_events = until_destroyed(&here_rx, &here);
    let there_events = until_destroyed(&there_rx, &there);
    for (events, cookies, greeting) in [(&here_events, &here, 17), (&there_events, &there, 5)] {
        assert!(
            events.iter().all(|e| cookies.contains(&e.cookie)),
            "only this namespace's sockets"
        );
        let [listener, client, accepted] = *cookies;
        assert_eq!(states(events, listener)[0], pair("TCP_CLOSE", "TCP_LISTEN"));
        assert_eq!(states(events, client)[0], pair("TCP_CLOSE", "TCP_SYN_SENT"));
        assert_eq!(
            states(events, accepted)[0],
            pair("TCP_LISTEN", "TCP_SYN_RECV")
        );
        let greetings: Vec<u32> = events
            .iter()
            .filter(|e| e.cookie == accepted)
            .filter_map(|e| match &e.word {
                KernelWord::Probe(p) if p.data_len > 0 => Some(p.data_len),
                _ => None,
            })
            .collect();
        assert_eq!(
            greetings,
            [greeting],
            "this namespace's greeting, and only it"
        );
    }
    let skaddrs = |events: &[KernelEvent], c: u64| -> Vec<u64> {
        let mut s: Vec<u64> = events
            .iter()
            .filter(|e| e.cookie == c)
            .map(|e| e.skaddr)
            .collect();
        s.dedup();
        s
    };
    // Each socket one kernel object, none shared across the namespaces.
    for k in 0..3 {
        let (a, b) = (
            skaddrs(&here_events, here[k]),
            skaddrs(&there_events, there[k]),
        );
        assert_eq!((a.len(), b.len()), (1, 1), "{a:x?} {b:x?}");
        assert_ne!(a, b);
    }
}

#[test]
fn a_sessions_sockets_hear_the_kernel_through_its_feed() {
    let Some(trace) = kernel_trace("a session's kernel events") else {
        return;
    };
    let trace = Arc::new(trace);
    let session = Stepped::start_with(
        Scenario::classic(),
        Mode::Playing { interval_ms: 1 },
        |feed| feed,
    );
    let _follower = tracepoints::follow(trace.clone(), &session.feed).expect("follow");
    let said = |events: &[protocol::Event],
                actor_socket: Option<protocol::SocketId>,
                what: &dyn Fn(&KernelWord) -> bool| {
        events.iter().any(|e| {
            e.actor == Actor::Kernel
                && e.socket == actor_socket
                && matches!(&e.kind, EventKind::Kernel { word, .. } if what(word))
        })
    };
    let opened = |events: &[protocol::Event], role: SocketRole, actor: Actor| {
        events.iter().find_map(|e| match e.kind {
            EventKind::SocketOpened {
                role: r,
                cookie: Some(_),
                ..
            } if r == role && e.actor == actor => e.socket,
            _ => None,
        })
    };
    let events = session.wait("the kernel's account of the handshake and the reset", |ev| {
        let client = opened(ev, SocketRole::Fresh, Actor::Client(0));
        let accepted = opened(ev, SocketRole::Accepted, Actor::Server);
        client.is_some()
            && accepted.is_some()
            && said(ev, client, &|w| w.new_state() == Some(protocol::TcpState::SynSent))
            && said(ev, accepted, &|w| w.new_state() == Some(protocol::TcpState::SynRecv))
            && said(ev, accepted, &|w| {
                matches!(w, KernelWord::ResetSent { reason, .. } if reason == "TCP_ABORT_ON_CLOSE")
            })
    });
    // The moment the kernel did it: SYN_SENT inside the client's connect().
    let client = opened(&events, SocketRole::Fresh, Actor::Client(0));
    let at = |pred: &dyn Fn(&protocol::Event) -> bool| {
        events.iter().find(|e| pred(e)).map(|e| match e.kind {
            EventKind::Kernel { at_us, .. } => at_us,
            _ => e.t_us,
        })
    };
    let syn_sent = at(&|e| {
        e.socket == client
            && matches!(&e.kind, EventKind::Kernel { word, .. } if word.new_state() == Some(protocol::TcpState::SynSent))
    })
    .expect("SYN_SENT");
    let connect_entered = at(&|e| {
        e.actor == Actor::Client(0)
            && matches!(&e.kind, EventKind::CallEntered { call } if call.name() == "connect")
    })
    .expect("connect entered");
    let connect_returned = at(&|e| {
        e.actor == Actor::Client(0)
            && matches!(&e.kind, EventKind::CallReturned { call, .. } if call.name() == "connect")
    })
    .expect("connect returned");
    assert!(
        connect_entered <= syn_sent && syn_sent <= connect_returned,
        "SYN_SENT at {syn_sent} µs, inside connect() ({connect_entered}..{connect_returned})"
    );
    assert!(Path::new(trace.instance()).is_dir());
}

/// Without the right to read tracefs (the relay run as `nobody`, with no
/// capabilities), `relay serve` says so once, with what would grant it,
/// and serves as before.
#[test]
fn a_relay_that_may_not_read_the_tracepoints_says_so_and_serves() {
    use std::io::BufRead;
    if kernel_trace("the fallback without tracefs").is_none() {
        return; // this machine cannot show the difference
    }
    let mut relay = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_relay"))
        .args(["serve", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("setpriv runs the relay as nobody");
    let stdout = relay.stdout.take().expect("stdout");
    let mut banner = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("utf-8");
        let done = line.starts_with("kernel tracepoints: ");
        banner.push(line);
        if done || banner.len() > 10 {
            break;
        }
    }
    let _ = relay.kill();
    let _ = relay.wait();
    let said: Vec<&String> = banner
        .iter()
        .filter(|l| l.starts_with("kernel tracepoints: "))
        .collect();
    assert_eq!(said.len(), 1, "said once: {banner:#?}");
    assert!(
        said[0].starts_with("kernel tracepoints: off: "),
        "{}",
        said[0]
    );
    assert!(
        said[0].contains("root"),
        "says what would grant it: {}",
        said[0]
    );
    assert!(
        banner
            .iter()
            .any(|l| l.starts_with("viewers connect to ws://")),
        "and serves: {banner:#?}"
    );
}

/// The reader keeps up and loses nothing: a burst of listeners from four
/// threads at once, each watched from birth, each heard from three times
/// (listening, closed, destroyed), in that order, and nothing else.
#[test]
fn a_burst_of_sockets_is_heard_whole() {
    let Some(trace) = kernel_trace("a burst of sockets") else {
        return;
    };
    let trace = Arc::new(trace);
    let (tx, rx) = mpsc::channel();
    let cookies: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (trace, tx) = (trace.clone(), tx.clone());
                scope.spawn(move || {
                    (0..250)
                        .map(|_| {
                            let s = socket2::Socket::new(
                                socket2::Domain::IPV4,
                                socket2::Type::STREAM,
                                None,
                            )
                            .expect("socket");
                            let c = cookie(&s);
                            trace.watch(c, tx.clone());
                            s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
                                .expect("bind");
                            s.listen(1).expect("listen");
                            c
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker"))
            .collect()
    });
    let events = until_destroyed(&rx, &cookies);
    for c in &cookies {
        let words: Vec<&KernelWord> = events
            .iter()
            .filter(|e| e.cookie == *c)
            .map(|e| &e.word)
            .collect();
        assert_eq!(
            words,
            [
                &KernelWord::StateChanged {
                    old: "TCP_CLOSE".into(),
                    new: "TCP_LISTEN".into()
                },
                &KernelWord::StateChanged {
                    old: "TCP_LISTEN".into(),
                    new: "TCP_CLOSE".into()
                },
                &KernelWord::Destroyed
            ],
            "socket {c:#x} ({:?})",
            trace.left_out()
        );
    }
}
