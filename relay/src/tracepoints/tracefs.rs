//! Where tracefs is, mounting it if need be, and the relay's private trace
//! instance: made at start, removed at the end, and a dead relay's removed
//! by the next.
//!
//! An instance (`instances/NAME`) has its own ring buffer, its own enabled
//! events and filters, and its own clock: nothing the relay does there
//! disturbs anyone else tracing on the machine. Its name says which relay
//! made it (`tcpstep-PID-START-N`: the process id, the process's start time
//! so that a reused pid is not mistaken for the relay, and a number per
//! instance the process made), so a relay that died without removing its
//! instance is recognised and its instance removed at the next start.

use std::{
    fs,
    io::{self, ErrorKind},
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
};

/// Why the kernel's tracepoints cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(
        "tracefs is not mounted and cannot be mounted ({0}): run the relay as root, \
         or mount it (`mount -t tracefs nodev /sys/kernel/tracing`) and give the relay access"
    )]
    Mount(io::Error),
    #[error(
        "cannot use tracefs at {path} ({source}): reading the kernel's tracepoints needs \
         root (CAP_SYS_ADMIN) in the machine's first user namespace"
    )]
    Access { path: PathBuf, source: io::Error },
    #[error("this kernel has no tracepoint {0}")]
    NoEvent(String),
    #[error("cannot read the format of {event}: {reason}")]
    Format { event: String, reason: String },
    #[error("cannot start the tracepoint reader: {0}")]
    Thread(io::Error),
}

/// Where tracefs is mounted.
#[derive(Debug, Clone)]
pub struct Tracefs {
    root: PathBuf,
}

const MOUNT_POINT: &str = "/sys/kernel/tracing";
const PREFIX: &str = "tcpstep-";

impl Tracefs {
    /// Finds tracefs, mounting it at `/sys/kernel/tracing` if it is nowhere.
    pub fn find_or_mount() -> Result<Tracefs, TraceError> {
        if let Some(root) = mounted() {
            return Ok(Tracefs { root });
        }
        mount().map_err(TraceError::Mount)?;
        Ok(Tracefs {
            root: PathBuf::from(MOUNT_POINT),
        })
    }

    /// Removes the instances of relays that are no longer running; says which.
    pub fn remove_stale(&self) -> Vec<String> {
        let mut removed = Vec::new();
        let Ok(entries) = fs::read_dir(self.root.join("instances")) else {
            return removed;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(owner) = Owner::of(&name) else {
                continue;
            };
            if !owner.is_running() && remove_patiently(&entry.path()).is_ok() {
                removed.push(name);
            }
        }
        removed
    }
}

/// The tracefs mount point `/proc/self/mounts` lists, if any.
fn mounted() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mounts").ok()?;
    let points: Vec<&str> = mounts
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let (_, point, kind) = (parts.next()?, parts.next()?, parts.next()?);
            (kind == "tracefs").then_some(point)
        })
        .collect();
    points
        .iter()
        .find(|p| **p == MOUNT_POINT)
        .or_else(|| points.first())
        .map(PathBuf::from)
}

fn mount() -> io::Result<()> {
    let source = c"nodev";
    let target = c"/sys/kernel/tracing";
    let kind = c"tracefs";
    // SAFETY: every pointer is a NUL-terminated string that outlives the call.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            kind.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The relay process an instance's name says made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Owner {
    pid: u32,
    start: u64,
}

impl Owner {
    fn this_process() -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start: start_time(pid).unwrap_or(0),
        }
    }

    /// `tcpstep-PID-START-N` → its owner.
    fn of(name: &str) -> Option<Owner> {
        let mut parts = name.strip_prefix(PREFIX)?.split('-');
        let pid = parts.next()?.parse().ok()?;
        let start = parts.next()?.parse().ok()?;
        parts.next()?.parse::<u32>().ok()?;
        Some(Owner { pid, start })
    }

    fn is_running(self) -> bool {
        start_time(self.pid) == Some(self.start)
    }
}

/// A process's start time (clock ticks after boot), field 22 of its `stat`.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count after its ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Disables an instance's events and removes it. Its files must be closed.
fn remove_instance(path: &Path) -> io::Result<()> {
    let _ = fs::write(path.join("tracing_on"), "0");
    let _ = fs::write(path.join("events/enable"), "0");
    fs::remove_dir(path)
}

/// The relay's own trace instance; removed when dropped.
#[derive(Debug)]
pub struct Instance {
    path: PathBuf,
}

impl Instance {
    /// Makes a new instance for this process, its clock `CLOCK_MONOTONIC`.
    pub fn create(fs: &Tracefs) -> Result<Instance, TraceError> {
        static MADE: AtomicU32 = AtomicU32::new(0);
        let owner = Owner::this_process();
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PREFIX}{}-{}-{n}", owner.pid, owner.start);
        let path = fs.root.join("instances").join(name);
        let access = |path: &Path, source| TraceError::Access {
            path: path.to_owned(),
            source,
        };
        fs::create_dir(&path).map_err(|e| access(&path, e))?;
        let instance = Instance { path };
        instance
            .write("trace_clock", "mono")
            .map_err(|e| access(&instance.path, e))?;
        Ok(instance)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&self, file: &str, value: &str) -> io::Result<()> {
        fs::write(self.path.join(file), value)
    }

    /// Enables `event` (`system/name`), kept to `filter` if given.
    pub fn enable(&self, event: &str, filter: Option<&str>) -> Result<(), TraceError> {
        let dir = self.path.join("events").join(event);
        if !dir.exists() {
            return Err(TraceError::NoEvent(event.replace('/', ":")));
        }
        let access = |source| TraceError::Access {
            path: dir.clone(),
            source,
        };
        if let Some(filter) = filter {
            fs::write(dir.join("filter"), filter).map_err(access)?;
        }
        fs::write(dir.join("enable"), "1").map_err(access)
    }

    /// The event's `format` file (the same in every instance).
    pub fn format(&self, event: &str) -> io::Result<String> {
        fs::read_to_string(self.path.join("events").join(event).join("format"))
    }

    /// The CPUs whose buffers the instance has (`per_cpu/cpuN`).
    pub fn cpus(&self) -> Vec<u32> {
        let mut cpus: Vec<u32> = fs::read_dir(self.path.join("per_cpu"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_prefix("cpu")?.parse().ok())
            .collect();
        cpus.sort_unstable();
        cpus
    }

    /// How large one page of the ring buffer is, in bytes.
    pub fn page_size(&self) -> usize {
        fs::read_to_string(self.path.join("buffer_subbuf_size_kb"))
            .ok()
            .and_then(|kb| kb.trim().parse::<usize>().ok())
            .map_or(4096, |kb| kb * 1024)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Err(e) = remove_patiently(&self.path) {
            tracing::warn!("cannot remove trace instance {}: {e}", self.path.display());
        }
    }
}

/// [`remove_instance`], waiting a moment while the kernel says it is busy:
/// it refuses while a file of the instance is open (a read in progress, or
/// a file just closed whose hold the kernel has not yet let go).
fn remove_patiently(path: &Path) -> io::Result<()> {
    let mut tries = 0;
    loop {
        match remove_instance(path) {
            Err(e) if e.kind() == ErrorKind::ResourceBusy && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_name_says_which_process_made_it() {
        let me = Owner::this_process();
        assert!(me.is_running());
        let name = format!("{PREFIX}{}-{}-3", me.pid, me.start);
        assert_eq!(Owner::of(&name), Some(me));
        assert_eq!(Owner::of("tcpstep-12"), None);
        assert_eq!(Owner::of("someone-else-1-2-3"), None);
        // The same pid started at another time is another process.
        assert!(!Owner {
            start: me.start + 1,
            ..me
        }
        .is_running());
    }
}
