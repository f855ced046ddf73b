//! Failures say what really failed, and end what they end at once.
//!
//! Every failure here is the kernel's own: a socket call that really fails
//! (an fd swapped for `/dev/null` just before the call, so the kernel
//! answers `ENOTSOCK`), a port really held by another socket, a real
//! SIGTERM to a real `relay serve`.

mod support;

use std::{
    fs::File,
    io::{self, BufRead, BufReader},
    net::{SocketAddr, TcpListener},
    os::fd::{AsRawFd, RawFd},
    panic::Location,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use protocol::{Actor, Call, Ending, EventKind, Mode, RelayMessage, Scenario};
use support::{Hub, Relay, Viewer};
use tcpstep_relay::{
    capture,
    feed::LIVE_BUFFER,
    host::Host,
    hub::CLOSE_PATIENCE,
    pair::{self, ClientConfig, Observer, PairError, Server, ServerConfig},
    rooms::{Rooms, RoomsConfig},
};
use tokio_tungstenite::tungstenite::{
    protocol::{frame::coding::CloseCode, CloseFrame},
    Message,
};

const RELAY: &str = env!("CARGO_BIN_EXE_relay");

/// An observer that, just before the first call `doomed` picks, puts
/// `/dev/null` in place of the call's socket (`dup2`), so the kernel fails
/// the call itself with `ENOTSOCK`.
struct SwapOut {
    doomed: fn(&Call) -> bool,
    null: File,
    done: bool,
}

impl SwapOut {
    fn ahead_of(doomed: fn(&Call) -> bool) -> Self {
        SwapOut {
            doomed,
            null: File::open("/dev/null").expect("open /dev/null"),
            done: false,
        }
    }
}

impl Observer for SwapOut {
    fn line(&mut self, _line: &str) {}

    fn before(
        &mut self,
        fd: Option<RawFd>,
        call: &Call,
        _at: &'static Location<'static>,
    ) -> io::Result<()> {
        if let (false, Some(fd)) = (self.done, fd) {
            if (self.doomed)(call) {
                self.done = true;
                // SAFETY: both fds are open; dup2 closes the socket `fd`
                // and makes `fd` another name for /dev/null, which the
                // program's socket then owns and closes.
                let swapped = unsafe { libc::dup2(self.null.as_raw_fd(), fd) };
                assert_eq!(swapped, fd, "dup2: {}", io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

fn setsockopt_of(option: &'static str) -> impl Fn(&Call) -> bool {
    move |call| matches!(call, Call::Setsockopt { option: o, .. } if o == option)
}

/// A port nothing listens on (the kernel's choice, let go at once).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("its address").port()
}

fn the_call_error(err: PairError) -> pair::CallError {
    match err {
        PairError::Call(err) => err,
        other => panic!("expected a failed call, got {other}"),
    }
}

#[test]
fn a_failed_setsockopt_names_its_own_option() {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    // The client's SO_RCVBUF, the server's SO_SNDBUF, the client's
    // TCP_NODELAY and the server's SO_REUSEADDR: each failure names its option.
    let client = ClientConfig {
        rcvbuf: Some(4096),
        ..ClientConfig::default()
    };
    let mut observer = SwapOut::ahead_of(|c| setsockopt_of("SO_RCVBUF")(c));
    let err = the_call_error(pair::client(addr, &client, &mut observer).expect_err("must fail"));
    assert_eq!(
        err.to_string(),
        format!("cannot set SO_RCVBUF on the socket for {addr}: not a socket (ENOTSOCK)")
    );

    let nodelay = ClientConfig {
        nodelay: true,
        ..ClientConfig::default()
    };
    let mut observer = SwapOut::ahead_of(|c| setsockopt_of("TCP_NODELAY")(c));
    let err = the_call_error(pair::client(addr, &nodelay, &mut observer).expect_err("must fail"));
    assert_eq!(
        err.to_string(),
        format!("cannot set TCP_NODELAY on the socket for {addr}: not a socket (ENOTSOCK)")
    );

    let server = ServerConfig {
        sndbuf: Some(4096),
        ..ServerConfig::default()
    };
    let mut observer = SwapOut::ahead_of(|c| setsockopt_of("SO_SNDBUF")(c));
    let Err(err) = Server::listen(addr, &server, &mut observer) else {
        panic!("must fail");
    };
    assert_eq!(
        err.to_string(),
        format!("cannot set SO_SNDBUF on the socket for {addr}: not a socket (ENOTSOCK)")
    );

    let mut observer = SwapOut::ahead_of(|c| setsockopt_of("SO_REUSEADDR")(c));
    let Err(err) = Server::listen(addr, &ServerConfig::default(), &mut observer) else {
        panic!("must fail");
    };
    assert_eq!(
        err.to_string(),
        format!("cannot set SO_REUSEADDR on the socket for {addr}: not a socket (ENOTSOCK)")
    );
}

#[test]
fn a_failed_shutdown_says_it_was_the_shutdown() {
    let server = Server::listen(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        &ServerConfig::default(),
        &mut Quiet,
    )
    .expect("a server on a free port");
    let addr = server.local_addr();
    // The server serves until the test process ends.
    std::thread::spawn(move || server.serve_forever(&mut Quiet));
    let half_close = ClientConfig {
        half_close: true,
        ..ClientConfig::default()
    };
    let mut observer = SwapOut::ahead_of(|c| matches!(c, Call::Shutdown { .. }));
    let err =
        the_call_error(pair::client(addr, &half_close, &mut observer).expect_err("must fail"));
    assert_eq!(
        err.to_string(),
        format!("cannot shut down the connection to {addr}: not a socket (ENOTSOCK)")
    );
}

/// An observer that prints nothing.
struct Quiet;

impl Observer for Quiet {
    fn line(&mut self, _line: &str) {}
}

/// What the kernel says to a `bind()` on a port another socket holds.
fn in_use(port: u16) -> String {
    format!("cannot bind 127.0.0.1:{port}: address already in use (EADDRINUSE)")
}

#[test]
fn record_says_at_once_that_the_server_could_not_bind() {
    // Another program's listener holds the port, in the host's namespace,
    // where sessions run without a sandbox (in one, the port is free).
    let holder = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let port = holder.local_addr().expect("its address").port();
    let out = std::env::temp_dir().join(format!("tcpstep-failures-{}.jsonl", std::process::id()));
    let started = Instant::now();
    let run = Command::new(RELAY)
        .args([
            "record",
            "--no-sandbox",
            "--scenario",
            "custom",
            "--server-port",
        ])
        .arg(port.to_string())
        .args(["--timeout", "60", "--out"])
        .arg(&out)
        .stdin(Stdio::null())
        .output()
        .expect("run relay record");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "stderr: {stderr}");
    // At once, not after its 60 s timeout: a failed bind takes a millisecond,
    // the rest is starting and stopping the session.
    assert!(
        took < Duration::from_secs(5),
        "took {took:?}; stderr: {stderr}"
    );
    // One line, in the server's own words.
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(
        stderr.starts_with("relay: the server failed, which ended the session: ")
            && stderr.contains(&in_use(port)),
        "stderr: {stderr}"
    );
    assert!(
        !stderr.contains("waiting on each other"),
        "stderr: {stderr}"
    );
    assert!(
        !out.exists(),
        "no trace is written for a session that never ran"
    );
    drop(holder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_session_whose_server_cannot_bind_ends_at_once_in_its_words() {
    let holder = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let port = holder.local_addr().expect("its address").port();
    // Playing, so that no step is needed for the server to reach bind().
    let relay = Relay::start_in(Mode::Playing { interval_ms: 1 }, LIVE_BUFFER, &[]).await;
    let mut viewer = Viewer::connect(&relay.url).await;
    let scenario = Scenario {
        name: "custom".to_owned(),
        port: Some(port),
        ..Scenario::classic()
    };
    let started = Instant::now();
    viewer
        .send(&protocol::Command::Reset {
            scenario: Some(scenario),
        })
        .await;
    loop {
        if let RelayMessage::Session(info) = viewer.next().await {
            if info.scenario.port == Some(port) {
                break;
            }
        }
    }
    let ended = viewer
        .until(|e| e.actor == Actor::Server && matches!(e.kind, EventKind::ActorEnded { .. }))
        .await;
    let EventKind::ActorEnded {
        ending: Ending::Failed { message },
    } = ended.kind
    else {
        panic!("the server should have failed: {ended:?}");
    };
    assert!(message.starts_with(&in_use(port)), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the failure took {:?} to show",
        started.elapsed()
    );
    // The session is over, and says so to whoever steps it, at once.
    viewer.send(&protocol::Command::Step { actor: None }).await;
    let answer = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            if let RelayMessage::Error { message } = viewer.next().await {
                return message;
            }
        }
    })
    .await
    .expect("an answer to the step");
    assert!(answer.contains("the session has ended"), "{answer}");
    // No client was ever started: nothing listens for it to reach.
    assert!(
        viewer
            .session_events()
            .iter()
            .all(|e| !matches!(e.actor, Actor::Client(_))),
        "a client ran against a server that never listened"
    );
    drop(holder);
}

/// A real `relay serve` on a free port, and the URL it says viewers connect to.
fn serve() -> (std::process::Child, String) {
    let mut relay = Command::new(RELAY)
        .args(["serve", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start relay serve");
    let stdout = relay.stdout.take().expect("its stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("relay serve says where viewers connect")
            .expect("a line");
        if let Some(url) = line.strip_prefix("viewers connect to ") {
            break url.to_owned();
        }
    };
    // The rest of its output (a line as it stops) goes nowhere, unread.
    std::thread::spawn(move || lines.for_each(drop));
    (relay, url)
}

fn sigterm(relay: &std::process::Child) -> Instant {
    let pid = libc::pid_t::try_from(relay.id()).expect("a pid");
    // SAFETY: kill(2) on our own child, which has not been waited for.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    Instant::now()
}

/// Waits (at most 5 s after `signalled`) for the relay to exit; its status.
async fn exits(relay: &mut std::process::Child, signalled: Instant) -> std::process::ExitStatus {
    loop {
        if let Some(status) = relay.try_wait().expect("wait for the relay") {
            return status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(5),
            "the relay was still running 5 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The close frame a viewer receives next (within 5 s), skipping anything before it.
async fn close_frame(viewer: &mut Viewer) -> CloseFrame {
    let close = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match viewer.ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                other => panic!("the connection ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("a close frame within 5 s");
    let close = close.expect("a close frame with a code");
    assert_eq!(close.code, CloseCode::Away);
    assert_eq!(close.reason.as_str(), "the relay is shutting down");
    close
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_every_viewer_and_the_relay_exits_cleanly() {
    let (mut relay, url) = serve();
    let mut viewers = Vec::new();
    for _ in 0..3 {
        let mut viewer = Viewer::connect(&url).await;
        assert!(matches!(viewer.next().await, RelayMessage::Hello(_)));
        viewers.push(viewer);
    }
    let signalled = sigterm(&relay);
    for viewer in &mut viewers {
        // Each viewer is told, with a close frame, before the relay goes...
        close_frame(viewer).await;
        // ...and our reply completes the closing handshake: the relay then
        // ends the connection cleanly (a reset would be an error here).
        let end = viewer.ws.next().await;
        assert!(end.is_none(), "after the close frame: {end:?}");
    }
    let status = exits(&mut relay, signalled).await;
    assert_eq!(status.code(), Some(0), "relay serve after SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_waits_for_a_silent_viewer_but_not_for_ever() {
    let (mut relay, url) = serve();
    let mut silent = Viewer::connect(&url).await;
    assert!(matches!(silent.next().await, RelayMessage::Hello(_)));
    let signalled = sigterm(&relay);
    // This viewer reads nothing and so never answers the close frame: the
    // relay waits for its answer a while (hub::CLOSE_PATIENCE bounds it),
    // then exits cleanly all the same.
    let status = exits(&mut relay, signalled).await;
    assert_eq!(status.code(), Some(0), "relay serve after SIGTERM");
    assert!(
        signalled.elapsed() >= Duration::from_millis(900),
        "the relay left after {:?}: it did not wait for its viewer's answer",
        signalled.elapsed()
    );
    // The close frame was sent all the same, and waits in the viewer's socket.
    close_frame(&mut silent).await;
}

/// A viewer still taking a long history, slowly, is sent its close frame as
/// soon as the relay stops, not after the rest of the history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_reaches_a_viewer_still_taking_its_history() {
    // Eight clients each send 64 KiB: the bytes are in each send's events,
    // in the segments and in the server's recvs, so the history is megabytes
    // of JSON, more than a viewer's connection holds in flight.
    let scenario = Scenario {
        name: "custom".to_owned(),
        message: "x".to_owned(),
        repeat: 64 * 1024,
        expected: 64 * 1024,
        clients: 8,
        backlog: 16,
        ..Scenario::classic()
    };
    let host = Host::start_in(
        scenario,
        Mode::Playing { interval_ms: 1 },
        capture::status(),
        LIVE_BUFFER,
    )
    .expect("a session");
    let clients_ended = |events: &[protocol::Event]| {
        events
            .iter()
            .any(|e| e.actor == Actor::Client(0) && matches!(e.kind, EventKind::ActorEnded { .. }))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !clients_ended(&host.feed().events()) {
        assert!(Instant::now() < deadline, "the clients never ended");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let history = host.feed().events().len();
    let json: usize = host
        .feed()
        .events()
        .iter()
        .map(|e| serde_json::to_string(e).expect("encode").len())
        .sum();
    assert!(json > 4 << 20, "a history of only {json} bytes");

    let Hub {
        addr,
        stop,
        task: hub,
    } = Hub::start(Rooms::new(host.clone(), RoomsConfig::default()), &[]).await;
    // A viewer with a small receive buffer that reads nothing for now: the
    // relay's sends of the history soon wait for it.
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let stream = socket.connect(addr).await.expect("connect to the hub");
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), stream)
        .await
        .expect("the WebSocket handshake");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(()).expect("the hub is running");

    // Now read: what was already on its way, then the close frame.
    let mut events = 0;
    let close = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(Message::Text(text))) => {
                    if let Ok(RelayMessage::Event(_)) = serde_json::from_str(text.as_str()) {
                        events += 1;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("the connection ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("a close frame within 5 s")
    .expect("a close frame with a code");
    assert_eq!(close.code, CloseCode::Away);
    assert_eq!(close.reason.as_str(), "the relay is shutting down");
    assert!(
        events < history,
        "the close frame came after all {history} events of the history: it waited for them"
    );
    let end = ws.next().await;
    assert!(end.is_none(), "after the close frame: {end:?}");
    // Every task ended by itself, none cut off.
    tokio::time::timeout(CLOSE_PATIENCE, hub)
        .await
        .expect("the hub ended within its patience")
        .expect("the hub's task");
    host.shutdown();
}

/// A connection that has not yet said what it wants (no request, so no
/// WebSocket to close) is let go as soon as the relay stops: the relay does
/// not wait its patience out for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_lets_go_of_a_connection_that_has_sent_no_request() {
    let host = Host::start_in(
        Scenario::classic(),
        Mode::Paused,
        capture::status(),
        LIVE_BUFFER,
    )
    .expect("a session");
    let Hub {
        addr,
        stop,
        task: hub,
    } = Hub::start(Rooms::new(host.clone(), RoomsConfig::default()), &[]).await;
    let mut silent = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the hub");
    // Long enough for the hub to have accepted it and to be waiting for its request.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = Instant::now();
    stop.send(()).expect("the hub is running");
    tokio::time::timeout(CLOSE_PATIENCE, hub)
        .await
        .expect("the hub ended within its patience")
        .expect("the hub's task");
    assert!(
        stopping.elapsed() < CLOSE_PATIENCE / 2,
        "the hub took {:?} to stop: it waited for a request that never came",
        stopping.elapsed()
    );
    // The connection was closed, not left open.
    let mut byte = [0; 1];
    let read = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::io::AsyncReadExt::read(&mut silent, &mut byte),
    )
    .await
    .expect("the connection ends at once");
    assert_eq!(read.expect("a clean end"), 0, "nothing is sent to it");
    host.shutdown();
}
