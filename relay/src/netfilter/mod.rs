//! The wire in the learner's hands: a sandboxed session's segments through
//! a netfilter queue, each given a verdict by the scenario's wire rules.
//!
//! The kernel hands each segment, as it is sent, to the queue; the reader
//! thread here decides (`verdicts.rs`) whether it passes, is dropped, or is
//! held for a while, tells the session (which reports it as a
//! `wire_verdict` event), and gives the kernel its verdict. Everything the
//! kernel does about a dropped or late segment (a retransmission after its
//! timer, a call that sleeps longer) is its own.
//!
//! Only in a sandbox: the rules (`iptables.rs`) change the session's own
//! network namespace, never the host's.

mod iptables;
mod verdicts;

use std::{
    collections::VecDeque,
    io, thread,
    time::{Duration, Instant, SystemTime},
};

use protocol::{wire::Toward, WireAction, WireRules};
pub use verdicts::{Decision, Verdicts};

use crate::capture::parse::{decode_ip, Decoded};

/// What the session is told of each verdict that is not "pass".
pub type OnVerdict = Box<dyn Fn(WireAction, Decoded, SystemTime) + Send>;

/// Why the wire could not be taken in hand.
#[derive(Debug, thiserror::Error)]
pub enum HandError {
    #[error(transparent)]
    Rules(#[from] iptables::RulesError),
    #[error("cannot read the netfilter queue: {0}")]
    Queue(io::Error),
}

/// The port whose rules were made ahead of need, if any.
static PREPARED: std::sync::OnceLock<u16> = std::sync::OnceLock::new();

/// Makes the rules for `port` ahead of need: a spare worker does, for the
/// textbook's port, since running iptables takes milliseconds a session
/// should not wait for. Until a reader binds the queue, `--queue-bypass`
/// lets every segment pass untouched.
pub fn prepare(port: u16) -> Result<(), HandError> {
    iptables::queue_port(port)?;
    let _ = PREPARED.set(port);
    Ok(())
}

/// Starts passing every segment to or from the server's `port` through the
/// queue, with verdicts by `rules`, on a thread of its own that lives as
/// long as the process (a worker's: it ends with its session).
pub fn take_in_hand(rules: WireRules, port: u16, on_verdict: OnVerdict) -> Result<(), HandError> {
    let mut queue = nfq::Queue::open().map_err(HandError::Queue)?;
    queue.bind(iptables::QUEUE).map_err(HandError::Queue)?;
    // Past the queue's length the kernel lets segments pass rather than drop them.
    queue
        .set_fail_open(iptables::QUEUE, true)
        .map_err(HandError::Queue)?;
    if PREPARED.get() != Some(&port) {
        iptables::queue_port(port)?;
    }
    thread::Builder::new()
        .name("wire".into())
        .spawn(move || read(queue, Verdicts::new(rules), port, on_verdict))
        .map_err(HandError::Queue)?;
    Ok(())
}

/// A segment held until `due`.
struct Held {
    due: Instant,
    message: nfq::Message,
}

/// The reader: blocks on the queue while nothing is held; while something
/// is, looks for new segments without blocking and lets each held one go
/// when it is due.
fn read(mut queue: nfq::Queue, mut verdicts: Verdicts, port: u16, on_verdict: OnVerdict) {
    let mut held: VecDeque<Held> = VecDeque::new();
    loop {
        queue.set_nonblocking(!held.is_empty());
        match queue.recv() {
            Ok(mut message) => {
                let at = SystemTime::now();
                let decoded = decode_ip(message.get_payload());
                let decision = match &decoded {
                    Some(d) => verdicts.decide(toward(d, port), d),
                    // Not a TCP segment we can read: not ours to judge.
                    None => Decision::Pass,
                };
                match (decision, decoded) {
                    (Decision::Drop { rule }, Some(d)) => {
                        on_verdict(WireAction::Dropped { rule }, d, at);
                        message.set_verdict(nfq::Verdict::Drop);
                    }
                    (Decision::Delay { rule, ms }, Some(d)) => {
                        on_verdict(WireAction::Delayed { rule, ms }, d, at);
                        let due = Instant::now() + Duration::from_millis(ms.into());
                        // Kept in order of when each is due.
                        let at = held.partition_point(|h| h.due <= due);
                        held.insert(at, Held { due, message });
                        continue;
                    }
                    _ => message.set_verdict(nfq::Verdict::Accept),
                }
                if queue.verdict(message).is_err() {
                    return; // the queue is gone: the process is ending
                }
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                let wait = held.front().map_or(Duration::ZERO, |h| {
                    h.due.saturating_duration_since(Instant::now())
                });
                thread::sleep(wait.min(Duration::from_millis(1)));
            }
            Err(_) => return,
        }
        while held.front().is_some_and(|h| h.due <= Instant::now()) {
            if let Some(Held { mut message, .. }) = held.pop_front() {
                message.set_verdict(nfq::Verdict::Accept);
                if queue.verdict(message).is_err() {
                    return;
                }
            }
        }
    }
}

/// Which end a segment goes to: the server's port, or a client's.
fn toward(segment: &Decoded, server_port: u16) -> Toward {
    if segment.to.port() == server_port {
        Toward::Server
    } else {
        Toward::Client
    }
}
