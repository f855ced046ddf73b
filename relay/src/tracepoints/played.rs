//! A session played through with the kernel's account followed into its
//! feed, for the tests and benchmarks that read the kernel's words on a
//! whole real session (as `record` plays one, with the reader added).

use std::{
    collections::BTreeSet,
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use protocol::{Event, EventKind, KernelWord, Scenario};

use super::{follow, KernelTrace};
use crate::{
    feed::{Feed, LIVE_BUFFER},
    record::{self, RecordError},
};

/// How long, once the session has stopped and closed every socket, to wait
/// for the kernel to destroy them all (the last words of each socket's life).
const LAST_WORDS: Duration = Duration::from_secs(10);

/// A session played through.
pub struct Played {
    pub events: Vec<Event>,
    /// From the session's start until its programs had done everything.
    pub finished_in: Duration,
}

/// Plays `scenario` at full speed with `trace` following it (or, with
/// `None`, without: the same run as a baseline), stops it, and returns
/// its events once the kernel has said its last word of every socket.
pub fn play(
    trace: Option<&Arc<KernelTrace>>,
    scenario: Scenario,
    capture: bool,
    timeout: Duration,
) -> Result<Played, RecordError> {
    let feed = Arc::new(Feed::before(&scenario, LIVE_BUFFER));
    let follower = match trace {
        Some(trace) => Some(follow(trace.clone(), &feed).map_err(RecordError::Start)?),
        None => None,
    };
    let (session, finished_in) = record::play_until_done(scenario, capture, timeout, &feed)?;
    session.stop();
    if follower.is_some() {
        let deadline = Instant::now() + LAST_WORDS;
        while !every_socket_destroyed(&feed.events()) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
    }
    drop(follower);
    Ok(Played {
        events: feed.events(),
        finished_in,
    })
}

/// Whether the kernel has said `Destroyed` of every socket with a cookie.
fn every_socket_destroyed(events: &[Event]) -> bool {
    let opened: BTreeSet<_> = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::SocketOpened {
                    cookie: Some(_),
                    ..
                }
            )
        })
        .filter_map(|e| e.socket)
        .collect();
    let destroyed: BTreeSet<_> = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::Kernel {
                    word: KernelWord::Destroyed,
                    ..
                }
            )
        })
        .filter_map(|e| e.socket)
        .collect();
    opened.is_subset(&destroyed)
}
