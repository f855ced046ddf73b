//! Soak for sandboxes: 1,000 sessions, each in a worker process of its own
//! with its own user and network namespace, created and ended by resets.
//! Afterwards no worker process is left but the running session's and the
//! spare (made ahead for the next session), no namespace is left but
//! theirs, and the relay holds the
//! same file descriptors and threads as before, its memory not grown with
//! the count.
//!
//! Its own test binary: whether sessions are sandboxed is decided once per
//! process, and here it is decided for them.

mod support;

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use protocol::{Command, Mode};
use support::{children, Relay, RELAY};

const CYCLES: usize = 1000;

/// What the process holds: open file descriptors, threads, resident memory
/// (KiB), worker processes, and the network namespaces of those workers.
#[derive(Debug, Clone, PartialEq)]
struct Held {
    fds: usize,
    threads: usize,
    rss_kib: u64,
    workers: Vec<u32>,
    namespaces: BTreeSet<String>,
}

fn held() -> Held {
    let rss_kib = support::rss_kib();
    let workers = children(std::process::id());
    // Every network namespace on the machine that any process is in: a
    // namespace lives exactly as long as something holds it.
    let namespaces = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|p| std::fs::read_link(p.path().join("ns/net")).ok())
        .map(|ns| ns.to_string_lossy().into_owned())
        .collect();
    Held {
        fds: support::entries("/proc/self/fd"),
        threads: support::entries("/proc/self/task"),
        rss_kib,
        workers,
        namespaces,
    }
}

/// Waits (up to 20 s) until `settled` holds.
async fn settles(what: &str, settled: impl Fn(&Held) -> bool) -> Held {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = held();
        if settled(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "{what}: still {now:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sandboxed_sessions_leave_no_process_namespace_or_descriptor_behind() {
    let status = tcpstep_relay::sandbox::use_worker(RELAY.into());
    assert!(
        status.enabled,
        "this machine can make user namespaces: {status:?}"
    );
    // Sessions play with no delay, so that each reset interrupts the
    // exchange somewhere along the way, with real sockets open.
    let relay = Relay::start_in(
        Mode::Playing { interval_ms: 0 },
        tcpstep_relay::feed::LIVE_BUFFER,
        &[],
    )
    .await;
    let host = relay.host.clone();
    let done = |host: &tcpstep_relay::host::Host| {
        tcpstep_relay::record::finished(&host.feed().events(), 1)
    };
    for _ in 0..20 {
        host.command(Command::Reset { scenario: None })
            .expect("reset");
    }
    let before = settles("warm-up", |h| done(&host) && h.workers.len() == 2).await;
    let started = Instant::now();
    for i in 0..CYCLES {
        host.command(Command::Reset { scenario: None })
            .expect("reset");
        if i % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(i as u64 % 7)).await;
        }
    }
    let took = started.elapsed();
    let after = settles("the last session to finish, and no more", |h| {
        done(&host) && h.fds == before.fds && h.threads == before.threads && h.workers.len() == 2
    })
    .await;
    println!(
        "{CYCLES} sandboxed sessions in {took:?} ({:?} each)\nbefore {before:?}\nafter {after:?}",
        took / CYCLES as u32
    );
    // The namespaces that differ are the running session's and the spare's.
    let gone: Vec<_> = before.namespaces.difference(&after.namespaces).collect();
    let new: Vec<_> = after.namespaces.difference(&before.namespaces).collect();
    assert!(
        gone.len() <= 2 && new.len() <= 2,
        "namespaces left behind: {new:?} (gone: {gone:?})"
    );
    let grown = after.rss_kib.saturating_sub(before.rss_kib);
    assert!(
        grown < 16 * 1024,
        "resident memory grew by {grown} KiB over {CYCLES} sandboxed sessions"
    );
}
