//! The worker: `relay worker`, one session in a sandbox of its own.
//!
//! The relay starts it with pipes for standard input and output. Before
//! anything else (while it has one thread) it enters a private user and
//! network namespace; then it reads the `Start` message, runs the session
//! in its own process as the relay would, sends every event up as it is
//! made, and carries out the relay's commands one at a time until `Stop`,
//! or until its input closes because the relay is gone: then it stops the
//! session too, closing every socket, and exits.

use std::{
    fs::File,
    io::{self, BufReader},
    os::fd::{AsRawFd, FromRawFd},
    sync::{Arc, Mutex},
};

use super::{
    channel::{self, Frame, FromWorker, ToWorker},
    namespace,
};
use crate::{
    capture,
    feed::{Feed, Item},
    session::{Local, Place},
    sync::lock,
};

/// Runs the worker; with `check`, only enters the sandbox, says whether
/// that and capture inside it work, and exits. Errors are the channel's:
/// the relay is gone, or sent what no relay sends.
pub fn run(check: bool) -> io::Result<()> {
    let entered = namespace::enter();
    let out = channel_out()?;
    let mut input = BufReader::new(io::stdin().lock());
    let out = Arc::new(Mutex::new(out));
    let say = |message: &FromWorker| channel::write_message(&mut *lock(&out), message);
    if let Err(err) = entered {
        return say(&FromWorker::Refused {
            reason: err.to_string(),
        });
    }
    if check {
        return say(&FromWorker::Checked {
            capture: capture::status(),
        });
    }
    // Made ahead of need (a spare), the capture is opened and the wire's
    // netfilter rules made now, while no session waits: the session takes
    // them (see `capture::Live::open` and `netfilter::prepare`). Without
    // iptables, only scenarios that take the wire in hand fail, and say why.
    let _ = capture::status();
    if let Err(err) = crate::netfilter::prepare(protocol::classic::DEFAULT_PORT) {
        tracing::debug!("the wire's rules are not made ahead: {err}");
    }
    let (id, scenario, mode, capture) = match channel::read(&mut input)? {
        Some(Frame::Message(ToWorker::Start {
            id,
            scenario,
            mode,
            capture,
        })) => (id, scenario, mode, capture),
        // A spare the relay never needed: it exited, or ended it.
        None => return Ok(()),
        Some(_) => return Err(io::Error::other("the relay did not start with Start")),
    };
    let feed = Arc::new(Feed::before(&scenario, 1).tap(forward(out.clone())));
    let session = match Local::start(id, scenario, mode, capture, feed, Place::Sandbox) {
        Ok(session) => session,
        Err(err) => {
            return say(&FromWorker::Refused {
                reason: format!("cannot start the session: {err}"),
            })
        }
    };
    loop {
        let command = match channel::read::<ToWorker>(&mut input) {
            Ok(Some(Frame::Message(command))) => command,
            // The relay is gone (or confused): end as it would have us end.
            Ok(None) | Ok(Some(_)) | Err(_) => ToWorker::Stop,
        };
        match command {
            ToWorker::Step { actor } => say(&FromWorker::Stepped(session.step(actor)))?,
            ToWorker::SetMode { mode } => {
                session.set_mode(mode);
                say(&FromWorker::Done)?;
            }
            ToWorker::Pcap => match session.pcap() {
                Some(pcap) => channel::write_pcap(&mut *lock(&out), &pcap)?,
                None => say(&FromWorker::NoPcap)?,
            },
            ToWorker::Start { .. } => {
                say(&FromWorker::Refused {
                    reason: "a worker runs one session".into(),
                })?;
            }
            ToWorker::Stop => {
                session.stop();
                // The relay may be gone; there is nobody to tell then.
                let _ = say(&FromWorker::Stopped);
                return Ok(());
            }
        }
    }
}

/// The channel to the relay: the standard output the worker was started
/// with. Standard output itself then points at standard error, so that
/// nothing printed by mistake can break a frame.
fn channel_out() -> io::Result<File> {
    let stdout = io::stdout().as_raw_fd();
    // SAFETY: dup and dup2 on descriptors this process holds; the new
    // descriptor is owned by the File alone.
    unsafe {
        let fd = libc::fcntl(stdout, libc::F_DUPFD_CLOEXEC, 3);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::dup2(io::stderr().as_raw_fd(), stdout) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(File::from_raw_fd(fd))
    }
}

/// Sends each of the feed's items to the relay as it is made (from under
/// the feed's lock, so in order). If the relay is gone, nothing is sent; the
/// command loop hears it and stops the session.
fn forward(out: Arc<Mutex<File>>) -> crate::feed::Tap {
    Box::new(move |item| {
        let mut out = lock(&out);
        let _ = match item {
            Item::Session(session) => {
                // The feed set its clock at zero just now.
                let started_ns = channel::monotonic_ns();
                channel::write_message(
                    &mut *out,
                    &FromWorker::Began {
                        session: Box::new(session.clone()),
                        started_ns,
                    },
                )
            }
            Item::Event { json, .. } => channel::write_event(&mut *out, json),
            Item::Viewers(_) => Ok(()),
        };
    })
}
