//! The kernel's own account of the session's sockets, from its tracepoints.
//!
//! The prober samples each socket's state every few milliseconds and the
//! capture sees segments; the kernel's tracepoints say everything it does,
//! as it does it: each state change (also the microseconds of `SYN_SENT`
//! and `SYN_RECV`), each reset with the kernel's reason, each
//! retransmission, each drop with its reason, each `tcp_probe` sample.
//!
//! One [`KernelTrace`] per relay, in the relay's main process (a process
//! inside a user namespace cannot read tracefs), reads them for every
//! session at once, in a private trace instance:
//!
//! - `tracefs.rs`: where tracefs is (mounting it if it may) and the
//!   instance's life: made at start, removed at the end, stale ones of dead
//!   relays removed at start.
//! - `format.rs`: each event's `format` file: fields, and the kernel's
//!   names for states and reasons.
//! - `ring.rs`: the raw ring buffer's pages (`trace_pipe_raw`), where
//!   pointers are not hashed.
//! - `decode.rs`: a record into a [`protocol::KernelWord`] and the socket it names.
//! - `sockets.rs`: which socket, by cookie (`SO_COOKIE`), never by address:
//!   many sandboxed sessions all use 127.0.0.1:3000.
//! - `follow.rs`: the tie-in with a [`Feed`](crate::feed::Feed): the
//!   sockets a session opens are watched, and what the kernel says of them
//!   becomes events of that session.
//! - [`played`]: a whole session played with the account followed, for
//!   tests and benchmarks.

mod decode;
mod follow;
mod format;
pub mod played;
mod ring;
mod sockets;
mod tracefs;

use std::{
    fs::File,
    io::{ErrorKind, Read},
    os::unix::fs::OpenOptionsExt,
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc::Sender,
        Arc, Mutex,
    },
    thread::JoinHandle,
    time::Duration,
};

pub use follow::{follow, Follower};
pub use sockets::{KernelEvent, LeftOut};
pub use tracefs::TraceError;

use crate::sync::lock;
use decode::Decoder;
use format::Format;
use sockets::Sockets;
use tracefs::{Instance, Tracefs};

/// How often the reader looks for new pages when the buffers were empty.
const POLL: Duration = Duration::from_millis(5);
/// Events younger than this wait one more round before they are sorted in:
/// another CPU may still be writing an earlier one.
const SETTLE_NS: u64 = 2_000_000;
/// How often the reader lets go of what nobody will claim.
const EXPIRE_EVERY_NS: u64 = 1_000_000_000;
/// Each CPU's buffer in the instance, in KiB.
const BUFFER_KB: &str = "1024";

/// The relay's reader of the kernel's tracepoints.
pub struct KernelTrace {
    sockets: Arc<Mutex<Sockets>>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    /// Dropped after the reader has closed its files.
    instance: Option<Instance>,
    removed_stale: Vec<String>,
}

impl KernelTrace {
    /// Finds (or mounts) tracefs, removes the instances of relays that
    /// died, makes this relay's own instance with the events it reads, and
    /// starts reading. Says plainly why when it cannot.
    pub fn start() -> Result<KernelTrace, TraceError> {
        let fs = Tracefs::find_or_mount()?;
        let removed_stale = fs.remove_stale();
        let instance = Instance::create(&fs)?;
        let access = |source| TraceError::Access {
            path: instance.path().to_owned(),
            source,
        };
        instance
            .write("buffer_size_kb", BUFFER_KB)
            .map_err(access)?;
        let mut formats = Vec::new();
        for event in decode::EVENTS {
            let text = instance
                .format(event)
                .map_err(|_| TraceError::NoEvent(event.replace('/', ":")))?;
            let format = Format::parse(&text).map_err(|e| TraceError::Format {
                event: event.to_owned(),
                reason: e.to_string(),
            })?;
            formats.push((event.to_owned(), format));
        }
        let decoder = Decoder::new(formats).map_err(|e| TraceError::Format {
            event: "a tracepoint".into(),
            reason: e.to_string(),
        })?;
        for event in decode::EVENTS {
            instance.enable(event, decode::filter(event))?;
        }
        let mut pipes = Vec::new();
        for cpu in instance.cpus() {
            let path = instance
                .path()
                .join(format!("per_cpu/cpu{cpu}/trace_pipe_raw"));
            let file = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&path)
                .map_err(|source| TraceError::Access { path, source })?;
            pipes.push(file);
        }
        instance.write("tracing_on", "1").map_err(access)?;
        let sockets = Arc::new(Mutex::new(Sockets::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = Reader {
            pipes,
            page: vec![0; instance.page_size()],
            decoder,
            sockets: sockets.clone(),
            stop: stop.clone(),
            pending: Vec::new(),
            expired_at: 0,
        };
        let reader = std::thread::Builder::new()
            .name("tracepoints".into())
            .spawn(move || reader.run())
            .map_err(TraceError::Thread)?;
        Ok(KernelTrace {
            sockets,
            stop,
            reader: Some(reader),
            instance: Some(instance),
            removed_stale,
        })
    }

    /// Sends what the kernel says of the socket with `cookie` to `to`: what
    /// it already said (held since), and what it says from now on.
    pub fn watch(&self, cookie: u64, to: Sender<KernelEvent>) {
        lock(&self.sockets).watch(cookie, to);
    }

    /// Stops sending what the kernel says of `cookie`.
    pub fn unwatch(&self, cookie: u64) {
        lock(&self.sockets).unwatch(cookie);
    }

    /// What was left out so far, and why.
    pub fn left_out(&self) -> LeftOut {
        lock(&self.sockets).left_out
    }

    /// The instance's directory under tracefs.
    pub fn instance(&self) -> &Path {
        self.instance.as_ref().map_or(Path::new(""), |i| i.path())
    }

    /// The stale instances of dead relays this one removed at its start.
    pub fn removed_stale(&self) -> &[String] {
        &self.removed_stale
    }
}

impl Drop for KernelTrace {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            if let Some(instance) = &self.instance {
                // Stop the kernel first: nothing more to read.
                let _ = instance.write("tracing_on", "0");
            }
            let _ = reader.join();
        }
        // The instance goes now (its files are closed).
        self.instance.take();
    }
}

/// The reading thread: every CPU's buffer, merged in time order.
struct Reader {
    pipes: Vec<File>,
    page: Vec<u8>,
    decoder: Decoder,
    sockets: Arc<Mutex<Sockets>>,
    stop: Arc<AtomicBool>,
    /// Decoded, not yet sorted in (see [`SETTLE_NS`]).
    pending: Vec<decode::Said>,
    /// When the reader last let go of what nobody will claim.
    expired_at: u64,
}

impl Reader {
    fn run(mut self) {
        while !self.stop.load(Ordering::Relaxed) {
            let read = self.read_all();
            let now = monotonic_ns();
            self.pending.sort_by_key(|s| s.time_ns);
            let ready = self
                .pending
                .partition_point(|s| s.time_ns.saturating_add(SETTLE_NS) <= now);
            let mut sockets = lock(&self.sockets);
            for said in self.pending.drain(..ready) {
                sockets.take(said);
            }
            if now.saturating_sub(self.expired_at) >= EXPIRE_EVERY_NS {
                sockets.expire(now);
                self.expired_at = now;
            }
            drop(sockets);
            if read == 0 {
                std::thread::sleep(POLL);
            }
        }
    }

    /// Reads every page there is now; says how many.
    fn read_all(&mut self) -> usize {
        let mut pages = 0;
        let mut lost = 0;
        for pipe in &mut self.pipes {
            loop {
                match pipe.read(&mut self.page) {
                    Ok(0) => break,
                    Ok(n) => {
                        pages += 1;
                        let page = ring::parse(&self.page[..n]);
                        lost += page.missed.unwrap_or(0);
                        for record in page.records {
                            if let Some(said) = self.decoder.decode(record.time_ns, record.data) {
                                self.pending.push(said);
                            }
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    // WouldBlock: this CPU has nothing more for now.
                    Err(_) => break,
                }
            }
        }
        if lost > 0 {
            lock(&self.sockets).lost(lost);
        }
        pages
    }
}

/// `CLOCK_MONOTONIC` now, in nanoseconds: the instance's trace clock (`mono`).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}
