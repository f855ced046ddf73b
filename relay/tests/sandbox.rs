//! Sessions in sandboxes, against the real kernel: each session's worker in
//! a user and network namespace of its own. What a user is promised: the
//! textbook's 127.0.0.1:3000 for every session, none of the host's ports
//! touched, capture without permission, a worker that dies or hangs ending
//! its session alone, and, where namespaces are forbidden, sessions as before.
//!
//! These need user namespaces, which this machine has: no test here passes
//! by skipping when they are missing.

mod support;

use std::{
    net::TcpListener,
    path::Path,
    process::{Command as Process, Output, Stdio},
    time::Duration,
};

use protocol::{Actor, Call, Command, EventKind, RelayMessage};
use support::{children, read_trace, scratch, serving::Serving, step, Viewer, RELAY};

/// `relay record --scenario classic` into `dir` (trace and pcap), as `process` runs it.
fn record(mut process: Process, dir: &Path) -> Output {
    process
        .args(["record", "--scenario", "classic", "--out"])
        .arg(dir.join("t.jsonl"))
        .arg("--pcap")
        .arg(dir.join("t.pcap"))
        .stdin(Stdio::null())
        .output()
        .expect("run relay record")
}

/// How many packets a pcap file holds (its records, walked by their lengths).
fn pcap_packets(path: &Path) -> usize {
    let bytes = std::fs::read(path).expect("the pcap");
    let mut at = 24; // the global header
    let mut n = 0;
    while at + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes"));
        at += 16 + caplen as usize;
        n += 1;
    }
    n
}

fn succeeded(run: &Output) {
    assert!(
        run.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        run.status,
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// The whole exchange happened at 127.0.0.1:3000, captured, once per record.
fn check_recorded(dir: &Path) {
    let (hello, events) = read_trace(&dir.join("t.jsonl"));
    assert!(hello.sandbox.enabled, "{:?}", hello.sandbox);
    assert_eq!(hello.session.server_addr, "127.0.0.1:3000");
    let segments = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Segment { .. }))
        .count();
    // Handshake (3), greeting and reply with their ACKs, and the closes.
    assert!(segments >= 8, "{segments} segments in the trace");
    assert_eq!(pcap_packets(&dir.join("t.pcap")), segments);
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        EventKind::CallReturned {
            call: Call::Accept,
            ..
        }
    )));
}

/// The issue's "done when": two records at once, both at 127.0.0.1:3000,
/// while another process holds the host's 127.0.0.1:3000 and is never
/// connected to.
#[test]
fn two_records_at_once_both_use_the_textbooks_port_and_never_the_hosts() {
    let holder = TcpListener::bind("127.0.0.1:3000")
        .expect("this test holds the host's 127.0.0.1:3000; something else holds it");
    holder.set_nonblocking(true).expect("non-blocking");
    let dirs = [scratch("a"), scratch("b")];
    let runs: Vec<_> = dirs
        .iter()
        .map(|dir| {
            let dir = dir.clone();
            std::thread::spawn(move || record(Process::new(RELAY), &dir))
        })
        .collect();
    for run in runs {
        succeeded(&run.join().expect("a record"));
    }
    for dir in &dirs {
        check_recorded(dir);
    }
    match holder.accept() {
        Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the host's port 3000 was connected to: {other:?}"),
    }
}

/// As an unprivileged user, with no capability at all, a record still has
/// its sandbox and captures the whole exchange.
#[test]
fn an_unprivileged_user_records_in_a_sandbox_with_capture() {
    let dir = scratch("nobody");
    let mut process = Process::new(RELAY);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        use std::os::unix::process::CommandExt;
        process.uid(65534).gid(65534).current_dir(&dir);
    }
    succeeded(&record(process, &dir));
    check_recorded(&dir);
}

/// Where user namespaces are forbidden (here: a namespace whose
/// `user.max_user_namespaces` is 0, so the relay's own unshare fails), the
/// relay says so once and records as before, in its own process.
#[test]
fn where_namespaces_are_forbidden_sessions_run_as_before() {
    let dir = scratch("forbidden");
    let out = dir.join("t.jsonl");
    let run = Process::new("unshare")
        .args(["--user", "--map-root-user", "sh", "-c"])
        .arg(r#"echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" record --scenario classic --out "$1""#)
        .arg(RELAY)
        .arg(&out)
        .stdin(Stdio::null())
        .output()
        .expect("run unshare");
    succeeded(&run);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        stderr.matches("no sandboxes").count(),
        1,
        "said once: {stderr}"
    );
    assert!(stderr.contains("unshare"), "{stderr}");
    let (hello, events) = read_trace(&out);
    assert!(!hello.sandbox.enabled);
    assert!(
        hello.sandbox.reason.contains("refused") && hello.sandbox.reason.contains("own process"),
        "{}",
        hello.sandbox.reason
    );
    assert_ne!(
        hello.session.server_addr, "",
        "the session ran: {}",
        hello.session.server_addr
    );
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        EventKind::CallReturned {
            call: Call::Accept,
            ..
        }
    )));
}

/// The worker of a relay's one session.
fn the_worker(relay: &Serving) -> u32 {
    let workers = children(relay.child.id());
    assert!(
        (1..=2).contains(&workers.len()),
        "one session's worker and perhaps a spare: {workers:?}"
    );
    relay.session_worker().expect("a worker")
}

fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) on a process this test's relay started.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, signal) }, 0);
}

/// Steps the server's socket() and sees it return: the session is alive.
async fn socket_returns(v: &mut Viewer) {
    v.waiting(Actor::Server).await;
    v.send(&step(Actor::Server)).await;
    v.until(|e| {
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

/// The next `error` message, skipping events.
async fn next_error(v: &mut Viewer) -> String {
    loop {
        if let RelayMessage::Error { message } = v.next().await {
            return message;
        }
    }
}

/// After a reset, the new session works.
async fn reset_works(v: &mut Viewer) {
    v.send(&Command::Reset { scenario: None }).await;
    loop {
        if let RelayMessage::Session(_) = v.next().await {
            break;
        }
    }
    socket_returns(v).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_session_ends_its_session_alone_and_says_how() {
    let relay = Serving::start();
    let mut v = Viewer::connect(&relay.url).await;
    let RelayMessage::Hello(hello) = v.next().await else {
        panic!("hello first")
    };
    assert!(hello.sandbox.enabled, "{:?}", hello.sandbox);
    socket_returns(&mut v).await;
    signal(the_worker(&relay), libc::SIGKILL);
    let lost = v
        .until(|e| matches!(&e.kind, EventKind::SessionLost { .. }))
        .await;
    let EventKind::SessionLost { reason } = lost.kind else {
        unreachable!()
    };
    assert!(reason.contains("SIGKILL"), "{reason}");
    // Steps now say why nothing happens, and the relay goes on.
    v.send(&step(Actor::Server)).await;
    let error = next_error(&mut v).await;
    assert!(error.contains("sandbox is gone"), "{error}");
    reset_works(&mut v).await;
    // Another viewer joins the new session as usual.
    let mut w = Viewer::connect(&relay.url).await;
    let RelayMessage::Hello(_) = w.next().await else {
        panic!("hello first")
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_stops_answering_is_killed_and_its_session_lost() {
    let relay = Serving::start();
    let mut v = Viewer::connect(&relay.url).await;
    let RelayMessage::Hello(_) = v.next().await else {
        panic!("hello first")
    };
    socket_returns(&mut v).await;
    let worker = the_worker(&relay);
    signal(worker, libc::SIGSTOP);
    v.send(&step(Actor::Server)).await;
    let error = next_error(&mut v).await;
    assert!(
        error.contains("did not answer") && error.contains("killed"),
        "{error}"
    );
    let lost = v
        .seen_or_until(|e| matches!(&e.kind, EventKind::SessionLost { .. }))
        .await;
    assert_eq!(lost.actor, Actor::Relay);
    // It is gone: no stopped process is left behind.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!children(relay.child.id()).contains(&worker));
    reset_works(&mut v).await;
}
