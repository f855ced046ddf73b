//! Which socket each thing the kernel said is about, by cookie, never by
//! address.
//!
//! Tracepoints carry no network namespace: two sessions' sockets can both be
//! `127.0.0.1:3000`. What names one socket and no other is its kernel
//! address (`skaddr`) while it lives, and its cookie (`SO_COOKIE`) for as
//! long as the machine runs. A viewer's session knows its sockets' cookies;
//! most events give only `skaddr` (a state change, a reset sent, a drop), a
//! few give both (`tcp_probe`, `tcp_receive_reset`, `tcp_destroy_sock`).
//!
//! So the events of each `skaddr` are kept together, as one socket's life,
//! from its first state change (listening, connecting, or born a copy of a
//! listener) to its `tcp_destroy_sock`, after which the kernel may hand the
//! same address to a new socket. A life also ends where a new one begins at
//! its address: on this kernel (6.18) a socket's destroy is sometimes never
//! reported (seen under load, with nothing lost from the buffer), and a
//! socket's events before its first state change do not exist. As soon as any event of a
//! life gives the cookie, the whole life is that cookie's: held events go to
//! whoever watches it, and later ones go straight through. A socket whose
//! cookie nobody watches (another program's) is let go and counted, and so
//! is a life that never names its cookie: nothing is guessed.
//!
//! The cost: a socket's early events (a handshake's `SYN_SENT`) are held
//! until its life names its cookie, at the latest when the kernel destroys
//! it. Each keeps the kernel's own time, so it is shown where it happened.

use std::{collections::HashMap, sync::mpsc::Sender};

use protocol::KernelWord;

use super::decode::Said;

/// Something the kernel said of one watched socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelEvent {
    /// When the kernel did it: `CLOCK_MONOTONIC`, nanoseconds.
    pub time_ns: u64,
    /// The socket's cookie (`SO_COOKIE`).
    pub cookie: u64,
    /// The socket's kernel address while it lives.
    pub skaddr: u64,
    pub word: KernelWord,
}

/// What the kernel said that was left out, by why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeftOut {
    /// About no socket at all (a RST answering a segment no socket wanted).
    pub no_socket: u64,
    /// About a socket nobody watched (another program's), or one whose
    /// cookie the kernel never gave.
    pub unclaimed: u64,
    /// Lost in the kernel's buffer before the relay read it.
    pub lost: u64,
}

/// The most events one life holds while its cookie is unknown or unwatched.
const HELD_PER_LIFE: usize = 1024;
/// How long a socket whose cookie is known may wait for a watcher: a
/// session names its sockets as soon as `socket()` or `accept()` returns,
/// and the watch follows as soon as the feed carries that (a socket may be
/// closed, and destroyed, before then).
const WAIT_FOR_WATCH_NS: u64 = 10_000_000_000;
/// How long a life that never named its cookie is kept after its last event.
const KEEP_NAMELESS_NS: u64 = 600_000_000_000;

#[derive(Debug, Default)]
struct Life {
    cookie: Option<u64>,
    held: Vec<Said>,
    first_ns: u64,
    last_ns: u64,
}

/// The lives of every socket the kernel spoke of, and who watches which.
#[derive(Debug, Default)]
pub struct Sockets {
    lives: HashMap<u64, Life>,
    /// Lives that ended with their cookie known and nobody (yet) watching.
    ended: HashMap<u64, Life>,
    watches: HashMap<u64, Sender<KernelEvent>>,
    pub left_out: LeftOut,
}

impl Sockets {
    /// Sends what the kernel said of `cookie`, already and from now on, to `to`.
    pub fn watch(&mut self, cookie: u64, to: Sender<KernelEvent>) {
        self.watches.insert(cookie, to);
        if let Some(life) = self.ended.remove(&cookie) {
            self.deliver(cookie, life.held);
        }
        let skaddrs: Vec<u64> = self
            .lives
            .iter()
            .filter(|(_, life)| life.cookie == Some(cookie))
            .map(|(&skaddr, _)| skaddr)
            .collect();
        for skaddr in skaddrs {
            if let Some(life) = self.lives.get_mut(&skaddr) {
                let held = std::mem::take(&mut life.held);
                self.deliver(cookie, held);
            }
        }
    }

    /// Stops sending what is said of `cookie`.
    pub fn unwatch(&mut self, cookie: u64) {
        self.watches.remove(&cookie);
    }

    /// Takes one thing the kernel said, in the order the kernel said them.
    pub fn take(&mut self, said: Said) {
        if said.skaddr == 0 {
            self.left_out.no_socket += 1;
            return;
        }
        let skaddr = said.skaddr;
        let ends = said.word == KernelWord::Destroyed;
        let another = match (said.cookie, self.lives.get(&skaddr)) {
            // A cookie that is not the life's: its socket's end went unseen.
            (Some(new), Some(life)) if life.cookie.is_some_and(|old| old != new) => true,
            // A socket's first state change begins a life: whatever the
            // address held before was another socket, whose end went unseen
            // (the kernel does not always report one: checked on 6.18).
            (_, Some(_)) => is_birth(&said.word),
            (_, None) => false,
        };
        if another {
            if let Some(old) = self.lives.remove(&skaddr) {
                self.end(old);
            }
        }
        let life = self.lives.entry(skaddr).or_insert_with(|| Life {
            first_ns: said.time_ns,
            ..Life::default()
        });
        life.last_ns = said.time_ns;
        if said.cookie.is_some() {
            life.cookie = said.cookie;
        }
        if life.held.len() < HELD_PER_LIFE {
            life.held.push(said);
        } else {
            self.left_out.unclaimed += 1;
        }
        let life = &self.lives[&skaddr];
        if let Some(cookie) = life.cookie.filter(|c| self.watches.contains_key(c)) {
            let held = self
                .lives
                .get_mut(&skaddr)
                .map(|life| std::mem::take(&mut life.held))
                .unwrap_or_default();
            self.deliver(cookie, held);
        }
        if ends {
            if let Some(life) = self.lives.remove(&skaddr) {
                self.end(life);
            }
        }
    }

    /// The kernel lost events: any life may have lost its end, so every
    /// life ends here (what is bound waits for its watcher as usual; what
    /// is not is let go and counted). A socket that goes on names its
    /// cookie again and is bound again.
    pub fn lost(&mut self, count: u64) {
        self.left_out.lost += count;
        let lives: Vec<Life> = self.lives.drain().map(|(_, life)| life).collect();
        for life in lives {
            self.end(life);
        }
    }

    /// A life is over: what it holds waits for its watcher, if it can have one.
    fn end(&mut self, life: Life) {
        if life.held.is_empty() {
            return;
        }
        match life.cookie {
            Some(cookie) => {
                if let Some(earlier) = self.ended.insert(cookie, life) {
                    self.left_out.unclaimed += earlier.held.len() as u64;
                }
            }
            None => self.left_out.unclaimed += life.held.len() as u64,
        }
    }

    /// Lets go of what nobody will claim, as of `now_ns` on the trace clock.
    pub fn expire(&mut self, now_ns: u64) {
        let mut unclaimed = 0;
        self.ended.retain(|_, life| {
            let keep = now_ns.saturating_sub(life.last_ns) < WAIT_FOR_WATCH_NS;
            if !keep {
                unclaimed += life.held.len() as u64;
            }
            keep
        });
        let watches = &self.watches;
        self.lives.retain(|_, life| {
            let keep = match life.cookie {
                Some(c) if watches.contains_key(&c) => true,
                // Another program's socket: what it held is let go, the life
                // is kept (it may still be watched, or end).
                Some(_) => {
                    if now_ns.saturating_sub(life.first_ns) >= WAIT_FOR_WATCH_NS {
                        unclaimed += life.held.len() as u64;
                        life.held.clear();
                        life.first_ns = now_ns;
                    }
                    true
                }
                None => now_ns.saturating_sub(life.last_ns) < KEEP_NAMELESS_NS,
            };
            if !keep {
                unclaimed += life.held.len() as u64;
            }
            keep
        });
        self.left_out.unclaimed += unclaimed;
    }

    fn deliver(&mut self, cookie: u64, held: Vec<Said>) {
        let Some(to) = self.watches.get(&cookie) else {
            self.left_out.unclaimed += held.len() as u64;
            return;
        };
        for said in held {
            let event = KernelEvent {
                time_ns: said.time_ns,
                cookie,
                skaddr: said.skaddr,
                word: said.word,
            };
            if to.send(event).is_err() {
                // The watcher is gone: so is its interest.
                self.watches.remove(&cookie);
                self.left_out.unclaimed += 1;
                return;
            }
        }
    }
}

/// Whether `word` is a socket's first state change: listening, connecting,
/// or (a connection a listener hands out) born a copy of its listener.
/// Before it, a socket has done nothing the kernel reports.
fn is_birth(word: &KernelWord) -> bool {
    matches!(
        word,
        KernelWord::StateChanged { old, new }
            if (old == "TCP_CLOSE" && (new == "TCP_LISTEN" || new == "TCP_SYN_SENT"))
                || (old == "TCP_LISTEN" && new == "TCP_SYN_RECV")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn state(t: u64, skaddr: u64, new: &str) -> Said {
        Said {
            time_ns: t,
            skaddr,
            cookie: None,
            word: KernelWord::StateChanged {
                old: "TCP_CLOSE".into(),
                new: new.into(),
            },
        }
    }

    fn destroyed(t: u64, skaddr: u64, cookie: u64) -> Said {
        Said {
            time_ns: t,
            skaddr,
            cookie: Some(cookie),
            word: KernelWord::Destroyed,
        }
    }

    #[test]
    fn a_life_is_held_until_it_names_its_cookie_and_an_address_reused_is_a_new_life() {
        let mut sockets = Sockets::default();
        let (tx, rx) = mpsc::channel();
        sockets.watch(7, tx);
        sockets.take(state(1, 0xa0, "TCP_SYN_SENT"));
        assert!(rx.try_recv().is_err(), "no cookie yet: held");
        sockets.take(destroyed(2, 0xa0, 7));
        let got: Vec<KernelEvent> = rx.try_iter().collect();
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].time_ns, got[0].cookie), (1, 7));
        assert_eq!(got[1].word, KernelWord::Destroyed);
        // The same address, a new socket nobody watches.
        sockets.take(state(3, 0xa0, "TCP_LISTEN"));
        sockets.take(destroyed(4, 0xa0, 8));
        assert!(rx.try_recv().is_err(), "another socket's life");
        sockets.expire(4 + WAIT_FOR_WATCH_NS);
        assert_eq!(sockets.left_out.unclaimed, 2);
    }

    fn change(t: u64, skaddr: u64, old: &str, new: &str) -> Said {
        Said {
            time_ns: t,
            skaddr,
            cookie: None,
            word: KernelWord::StateChanged {
                old: old.into(),
                new: new.into(),
            },
        }
    }

    #[test]
    fn a_birth_at_an_address_ends_the_life_before_it_even_when_its_end_went_unreported() {
        let mut sockets = Sockets::default();
        let (tx, rx) = mpsc::channel();
        sockets.watch(7, tx);
        // Another program's connection, whose destroy the kernel never reports...
        sockets.take(change(1, 0xc0, "TCP_LISTEN", "TCP_SYN_RECV"));
        sockets.take(change(2, 0xc0, "TCP_ESTABLISHED", "TCP_CLOSE"));
        // ...then our listener at the same address.
        sockets.take(change(3, 0xc0, "TCP_CLOSE", "TCP_LISTEN"));
        sockets.take(change(4, 0xc0, "TCP_LISTEN", "TCP_CLOSE"));
        sockets.take(destroyed(5, 0xc0, 7));
        let got: Vec<u64> = rx.try_iter().map(|e| e.time_ns).collect();
        assert_eq!(got, [3, 4, 5], "only our listener's life");
        assert_eq!(sockets.left_out.unclaimed, 2);
        // Lost events end every life: what was unbound is let go.
        sockets.take(change(6, 0xd0, "TCP_CLOSE", "TCP_SYN_SENT"));
        sockets.lost(3);
        let mut probe = change(7, 0xd0, "TCP_SYN_SENT", "TCP_ESTABLISHED");
        probe.cookie = Some(7);
        sockets.take(probe);
        assert_eq!(rx.try_iter().map(|e| e.time_ns).collect::<Vec<_>>(), [7]);
        assert_eq!(sockets.left_out.lost, 3);
        assert_eq!(sockets.left_out.unclaimed, 3);
    }

    #[test]
    fn a_socket_watched_after_its_first_events_still_gets_them() {
        let mut sockets = Sockets::default();
        let mut probe = state(2, 0xb0, "TCP_ESTABLISHED");
        probe.cookie = Some(9);
        sockets.take(state(1, 0xb0, "TCP_SYN_RECV"));
        sockets.take(probe);
        let (tx, rx) = mpsc::channel();
        sockets.watch(9, tx);
        assert_eq!(rx.try_iter().count(), 2);
        sockets.take(state(3, 0xb0, "TCP_CLOSE"));
        assert_eq!(rx.try_iter().count(), 1, "then straight through");
        sockets.take(Said {
            skaddr: 0,
            ..state(4, 0, "TCP_CLOSE")
        });
        assert_eq!(sockets.left_out.no_socket, 1);
    }
}
