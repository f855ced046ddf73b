//! The tie-in between the kernel's account and a session's feed.
//!
//! A [`Follower`] reads a [`Feed`] as a viewer would: each socket a session
//! opens arrives as `socket_opened` with the socket's cookie, and the
//! follower watches that cookie. What the kernel says of it comes back as a
//! [`KernelEvent`] and goes into the feed as an event of that session and
//! socket (`Actor::Kernel`, [`EventKind::Kernel`]), with the moment the
//! kernel did it on the session's clock. Reading the feed, rather than being
//! called by the session, is what lets the one reader in the relay's main
//! process serve sessions that run elsewhere: whatever forwards their
//! events into a feed is all it needs.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc, Mutex, Weak,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use protocol::{Actor, Event, EventKind, FourTuple, RelayMessage, SocketId};
use tokio::sync::broadcast::error::RecvError;

use super::{monotonic_ns, KernelEvent, KernelTrace};
use crate::{
    feed::{Feed, Item},
    sync::lock,
};

/// A socket of a session, as its events name it.
#[derive(Debug, Clone)]
struct Named {
    session: u64,
    id: SocketId,
    tuple: Option<FourTuple>,
}

type Names = Arc<Mutex<HashMap<u64, Named>>>;

/// Turns what the kernel says of a feed's sockets into the feed's events.
/// Stops when dropped.
pub struct Follower {
    stop: Arc<AtomicBool>,
    deliverer: Option<JoinHandle<()>>,
    trace: Arc<KernelTrace>,
    names: Names,
}

/// Follows `feed`'s sessions with `trace`.
pub fn follow(trace: Arc<KernelTrace>, feed: &Arc<Feed>) -> std::io::Result<Follower> {
    let names: Names = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let (to_feed, said) = mpsc::channel::<KernelEvent>();
    let watcher = Watcher {
        trace: Arc::downgrade(&trace),
        feed: Arc::downgrade(feed),
        names: names.clone(),
        to_feed,
        stop: stop.clone(),
        current: 0,
        next_seq: 0,
    };
    let subscription = feed.subscribe(None);
    std::thread::Builder::new()
        .name("kernel-watch".into())
        .spawn(move || watcher.run(subscription))?;
    let deliverer = {
        let (feed, names, stop) = (Arc::downgrade(feed), names.clone(), stop.clone());
        std::thread::Builder::new()
            .name("kernel-events".into())
            .spawn(move || deliver(said, feed, names, stop))?
    };
    Ok(Follower {
        stop,
        deliverer: Some(deliverer),
        trace,
        names,
    })
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for cookie in lock(&self.names).keys() {
            self.trace.unwatch(*cookie);
        }
        if let Some(deliverer) = self.deliverer.take() {
            let _ = deliverer.join();
        }
        // The watcher ends at the feed's next item, or when the feed goes.
    }
}

/// Reads the feed for the sockets sessions open.
struct Watcher {
    /// Weak: the reader (and its trace instance) ends with the relay's last
    /// hold on it, not with this thread, which ends only at the feed's next item.
    trace: Weak<KernelTrace>,
    feed: Weak<Feed>,
    names: Names,
    to_feed: mpsc::Sender<KernelEvent>,
    stop: Arc<AtomicBool>,
    current: u64,
    next_seq: u64,
}

impl Watcher {
    fn run(mut self, first: crate::feed::Subscription) {
        let mut subscription = first;
        loop {
            self.session(subscription.session.id);
            for json in &subscription.history {
                self.event(json);
            }
            self.next_seq = subscription.first_seq + subscription.history.len() as u64;
            let mut live = subscription.live;
            loop {
                if self.stop.load(Ordering::Relaxed) {
                    return;
                }
                match live.blocking_recv() {
                    Ok(Item::Session(info)) => {
                        self.session(info.id);
                        self.next_seq = 0;
                    }
                    Ok(Item::Event { session, seq, json }) if session == self.current => {
                        self.next_seq = seq + 1;
                        self.event(&json);
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return,
                }
            }
            // Fell behind: read again from the first event missed.
            let Some(feed) = self.feed.upgrade() else {
                return;
            };
            subscription = feed.subscribe(Some((self.current, self.next_seq)));
        }
    }

    /// A new session: the old one's sockets are no longer watched.
    fn session(&mut self, id: u64) {
        if id == self.current {
            return;
        }
        self.current = id;
        let trace = self.trace.upgrade();
        let mut names = lock(&self.names);
        names.retain(|cookie, named| {
            let keep = named.session == id;
            if let (false, Some(trace)) = (keep, &trace) {
                trace.unwatch(*cookie);
            }
            keep
        });
    }

    fn event(&mut self, json: &str) {
        // Only two kinds matter here: don't decode the rest.
        if !json.contains(r#""kind":"socket_opened""#)
            && !json.contains(r#""kind":"socket_updated""#)
        {
            return;
        }
        let Ok(RelayMessage::Event(Event {
            socket: Some(id),
            tuple,
            kind,
            ..
        })) = serde_json::from_str::<RelayMessage>(json)
        else {
            return;
        };
        let mut names = lock(&self.names);
        match kind {
            EventKind::SocketOpened {
                cookie: Some(cookie),
                ..
            } => {
                names.insert(
                    cookie,
                    Named {
                        session: self.current,
                        id,
                        tuple,
                    },
                );
                drop(names);
                if let Some(trace) = self.trace.upgrade() {
                    trace.watch(cookie, self.to_feed.clone());
                }
            }
            EventKind::SocketUpdated { .. } => {
                if let Some(named) = names.values_mut().find(|n| n.id == id) {
                    named.tuple = tuple;
                }
            }
            _ => {}
        }
    }
}

/// Puts what the kernel said into the feed, as events of its session.
fn deliver(
    said: mpsc::Receiver<KernelEvent>,
    feed: Weak<Feed>,
    names: Names,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let event = match said.recv_timeout(Duration::from_millis(50)) {
            Ok(event) => event,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let Some(feed) = feed.upgrade() else { return };
        let Some(named) = lock(&names).get(&event.cookie).cloned() else {
            continue;
        };
        let Some(started) = feed.started(named.session) else {
            continue;
        };
        let at_us = session_us(started, event.time_ns);
        feed.push(
            named.session,
            Actor::Kernel,
            Some((named.id, named.tuple)),
            None,
            EventKind::Kernel {
                at_us,
                word: event.word,
            },
        );
    }
}

/// A `CLOCK_MONOTONIC` time, in microseconds on the clock of a session
/// that began at `started` (0 if before).
fn session_us(started: Instant, time_ns: u64) -> u64 {
    let (now, now_ns) = (Instant::now(), monotonic_ns());
    let ago = Duration::from_nanos(now_ns.saturating_sub(time_ns));
    let at = now.checked_sub(ago).unwrap_or(started);
    u64::try_from(at.saturating_duration_since(started).as_micros()).unwrap_or(u64::MAX)
}
