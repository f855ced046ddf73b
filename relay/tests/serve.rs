//! `relay serve` as a process: what it prints, that resets leak no sockets,
//! and that it stops cleanly.

mod support;

use std::process::Command as Process;

use protocol::{Call, Command, EventKind, RelayMessage};
use support::{serving::Serving, step, Viewer, RELAY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_prints_where_to_connect_and_what_capture_can_do() {
    let relay = Serving::start();
    assert!(relay.url.starts_with("ws://127.0.0.1:") && relay.url.ends_with("/ws"));
    assert!(relay
        .banner
        .iter()
        .any(|l| l.starts_with("open the visualiser at http://")));
    assert!(relay.banner.iter().any(|l| l.starts_with("capture: ")));
    let sandbox = relay
        .banner
        .iter()
        .find(|l| l.starts_with("sandbox: "))
        .expect("a sandbox line");
    assert!(sandbox.contains("127.0.0.1:3000"), "{sandbox}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_close_every_socket_of_the_old_session() {
    let relay = Serving::start();
    let mut v = Viewer::connect(&relay.url).await;
    let RelayMessage::Hello(_) = v.next().await else {
        panic!("hello first")
    };
    // The hub's listener, this viewer's connection and the runtime's own
    // (signal handling uses a socket pair); the session has none yet, its
    // server waiting before socket().
    let at_rest = relay.open_sockets();
    for round in 0..5 {
        // Play the whole exchange: listener, client socket, accepted socket.
        v.send(&Command::Play { interval_ms: 1 }).await;
        v.until(|e| {
            e.actor == protocol::Actor::Client(0) && matches!(e.kind, EventKind::ActorEnded { .. })
        })
        .await;
        v.until(|e| matches!(&e.kind, EventKind::CallBlocked { call: Call::Accept }))
            .await;
        assert!(
            relay.open_sockets() > at_rest,
            "round {round}: the listener is open"
        );
        v.send(&Command::Pause).await;
        v.send(&Command::Reset { scenario: None }).await;
        loop {
            if let RelayMessage::Session(_) = v.next().await {
                break;
            }
        }
        // The new session's server waits before its first call: no socket yet.
        v.seen_or_until(|e| matches!(&e.kind, EventKind::CallWaiting { call: Call::Socket }))
            .await;
        assert_eq!(
            relay.open_sockets(),
            at_rest,
            "round {round}: nothing left open"
        );
    }
    v.send(&step(protocol::Actor::Server)).await;
}

/// `relay ARGS` without CAP_NET_RAW: as root, dropped; otherwise never had.
fn without_net_raw(args: &[&str]) -> Process {
    if running_as_root() {
        let mut p = Process::new("setpriv");
        p.args(["--bounding-set=-net_raw", "--inh-caps=-net_raw", RELAY]);
        p.args(args);
        p
    } else {
        let mut p = Process::new(RELAY);
        p.args(args);
        p
    }
}

/// The sandbox's promise: capture with no permission step. A relay without
/// CAP_NET_RAW still captures every session, inside its namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_sandbox_sessions_capture_without_any_permission() {
    let relay = Serving::start_with(without_net_raw(&["serve"]));
    let mut v = Viewer::connect(&relay.url).await;
    let RelayMessage::Hello(hello) = v.next().await else {
        panic!("hello first")
    };
    assert!(hello.sandbox.enabled, "{:?}", hello.sandbox);
    assert!(hello.capture.enabled, "{:?}", hello.capture);
    assert_eq!(hello.session.server_addr, "127.0.0.1:3000");
    v.send(&Command::Play { interval_ms: 1 }).await;
    v.until(|e| matches!(&e.kind, EventKind::Segment { .. }))
        .await;
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_capture_permission_the_relay_captures() {
    if !running_as_root() {
        // Without root this test has nothing to check: the next one covers it.
        eprintln!("not root: capture permission is tested by the next test");
        return;
    }
    let relay = Serving::start();
    let line = relay
        .banner
        .iter()
        .find(|l| l.starts_with("capture: "))
        .expect("a capture line");
    assert!(line.contains("capturing"), "{line}");
    let mut v = Viewer::connect(&relay.url).await;
    let RelayMessage::Hello(hello) = v.next().await else {
        panic!("hello first")
    };
    assert!(hello.capture.enabled, "{:?}", hello.capture);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_capture_permission_the_relay_says_how_to_grant_it_and_runs_on() {
    // Without sandboxes (in one, a session may capture whatever the relay's
    // own permissions): the host's namespace, where capture needs them.
    let process = without_net_raw(&["serve", "--no-sandbox"]);
    let relay = Serving::start_with(process);
    let line = relay
        .banner
        .iter()
        .find(|l| l.starts_with("capture: "))
        .expect("a capture line");
    assert!(line.contains("capture is off"), "{line}");
    assert!(
        line.contains("CAP_NET_RAW") && line.contains("setcap cap_net_raw+eip"),
        "{line}"
    );

    let mut v = Viewer::connect(&relay.url).await;
    let RelayMessage::Hello(hello) = v.next().await else {
        panic!("hello first")
    };
    assert!(!hello.capture.enabled);
    assert!(hello.capture.reason.contains("setcap cap_net_raw+eip"));
    // It runs on: calls are stepped and reported.
    v.release(protocol::Actor::Server).await;
    v.seen_or_until(|e| {
        matches!(
            &e.kind,
            EventKind::CallReturned {
                call: Call::Socket,
                ..
            }
        )
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_starts_with_the_scenario_it_is_given() {
    let relay = Serving::start_args(&["--scenario", "refused"]);
    let mut v = Viewer::connect(&relay.url).await;
    let RelayMessage::Hello(hello) = v.next().await else {
        panic!("hello first")
    };
    assert_eq!(hello.session.scenario.name, "refused");
    assert!(hello.scenarios.iter().any(|s| s.name == "crowd"));
    let out = Process::new(RELAY)
        .args(["serve", "--port", "0", "--scenario", "chaos"])
        .output()
        .expect("run relay serve");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scenario \"chaos\""));
}

#[test]
fn serve_on_a_port_in_use_fails_with_one_clear_line() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = holder.local_addr().expect("addr").port().to_string();
    let out = Process::new(RELAY)
        .args(["serve", "--port", &port])
        .output()
        .expect("run relay serve");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot bind 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("EADDRINUSE"), "{stderr}");
}

#[test]
fn ctrl_c_stops_the_relay_cleanly() {
    let mut relay = Serving::start();
    // SAFETY: kill() with a pid we spawned and SIGINT, as a terminal's ctrl-c would.
    let rc = unsafe { libc::kill(relay.child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0);
    let status = relay.child.wait().expect("the relay exits");
    assert!(status.success(), "{status}");
}
