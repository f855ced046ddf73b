//! Soak: a relay that serves for a long time keeps nothing it no longer
//! needs. 1,000 viewers connect and leave, and 1,000 resets each start and
//! stop a session on real sockets; afterwards the process has the same
//! file descriptors (sockets, captures), threads and tasks as before, and
//! its memory has not grown with the count.

mod support;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use protocol::Command;
use support::Relay;
use tokio_tungstenite::tungstenite::Message;

const CYCLES: usize = 1000;

/// What the process holds: open file descriptors, threads, resident memory (KiB).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Held {
    fds: usize,
    threads: usize,
    rss_kib: u64,
}

fn held() -> Held {
    let rss_kib = support::rss_kib();
    Held {
        fds: support::entries("/proc/self/fd"),
        threads: support::entries("/proc/self/task"),
        rss_kib,
    }
}

/// Waits (up to 20 s) until `settled` holds of what the process holds:
/// sessions' threads and viewers' tasks end moments after they are told to.
async fn settles(what: &str, settled: impl Fn(Held) -> bool) -> Held {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = held();
        if settled(now) {
            return now;
        }
        assert!(Instant::now() < deadline, "{what}: still {now:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A viewer connects, reads its hello, and leaves, closing politely or not.
async fn visit(url: &str, politely: bool) {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let first = ws.next().await.expect("a message").expect("a frame");
    assert!(matches!(first, Message::Text(ref t) if t.as_str().contains("\"hello\"")));
    if politely {
        let _ = ws.send(Message::Close(None)).await;
    }
    drop(ws);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_viewers_and_a_thousand_resets_leave_nothing_behind() {
    // Sessions play with no delay, so that each reset interrupts the
    // exchange somewhere along the way, with real sockets open.
    let mode = protocol::Mode::Playing { interval_ms: 0 };
    let relay = Relay::start_in(mode, tcpstep_relay::feed::LIVE_BUFFER, &[]).await;
    let host = relay.host.clone();
    let tasks = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let viewers_gone = |host: &tcpstep_relay::host::Host| {
        host.viewers.load(std::sync::atomic::Ordering::SeqCst) == 0
    };

    // Warm up: the allocator's pools, tokio's, the capture handle kept for reuse.
    for i in 0..20 {
        visit(&relay.url, i % 2 == 0).await;
        host.command(Command::Reset { scenario: None })
            .expect("reset");
    }
    // Measured when the session is done (the server asleep in accept()),
    // the same point each time: a session under way holds more sockets.
    let done = |host: &tcpstep_relay::host::Host| {
        tcpstep_relay::record::finished(&host.feed().events(), 1)
    };
    let before = settles("warm-up", |_| viewers_gone(&host) && done(&host)).await;
    let tasks_before = tasks();

    for i in 0..CYCLES {
        visit(&relay.url, i % 2 == 0).await;
    }
    let after_viewers = settles("viewers to leave", |h| {
        viewers_gone(&host) && done(&host) && h.fds == before.fds
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while tasks() > tasks_before {
        assert!(
            Instant::now() < deadline,
            "tasks: {} before, {} now",
            tasks_before,
            tasks()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    for i in 0..CYCLES {
        host.command(Command::Reset { scenario: None })
            .expect("reset");
        // Let some sessions get further than others before the next reset.
        if i % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(i as u64 % 7)).await;
        }
    }
    let after_resets = settles("the last session to finish, and no more", |h| {
        done(&host) && h.fds == before.fds && h.threads == before.threads
    })
    .await;

    println!("before {before:?}\nafter {CYCLES} viewers {after_viewers:?}\nafter {CYCLES} resets {after_resets:?}");
    // Memory: what a thousand of each would leave if each leaked a little.
    // A session's history is freed when the next begins, so growth is the
    // allocator's slack, not a count of cycles.
    let grown = after_resets.rss_kib.saturating_sub(before.rss_kib);
    assert!(
        grown < 16 * 1024,
        "resident memory grew by {grown} KiB over {CYCLES} viewers and {CYCLES} resets"
    );
}
