//! Sandboxes: each session in a worker process of its own, inside a private
//! user and network namespace.
//!
//! What a user gets from it: every session's server listens at exactly the
//! textbook's 127.0.0.1:3000, however many sessions run; the segments are
//! captured with no `setcap` or `sudo` (the worker is root in its own user
//! namespace, and nowhere else); the programs reach nothing of the host's
//! (their loopback is their own); and a session that crashes or hangs ends
//! alone, with an event that says so.
//!
//! How: the relay re-executes itself as `relay worker` ([`worker`]), which
//! enters the namespaces while it has one thread ([`namespace`]), runs the
//! session as the relay would in its own process, and speaks the protocol
//! crate's types to the relay over its standard input and output
//! ([`channel`]). The relay's side ([`Remote`]) puts the worker's events in
//! the session's feed and asks it to step, play, pause, hand over its pcap
//! and stop. One worker is kept made ahead (`spare.rs`), so a session
//! starts without waiting for the kernel to make its namespace. The hub
//! stays the only thing that faces the network.
//!
//! Whether sessions are sandboxed is decided once per process:
//! [`use_worker`] checks that a worker can make its namespaces (a kernel or
//! a container may forbid them) and, if it can, every session from then on
//! runs in one. Otherwise, or when nothing called it (a program embedding
//! the relay's library, the model's tests), sessions run in the calling
//! process as before, and [`status`] says why.

pub mod channel;
pub mod namespace;
mod remote;
mod spare;
pub mod worker;

use std::{
    io::BufReader,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

use protocol::{CaptureStatus, SandboxStatus};
pub use remote::Remote;

use channel::{Frame, FromWorker};

/// How long the check at start-up may take before the sandbox counts as unusable.
const CHECK_PATIENCE: Duration = Duration::from_secs(10);

/// A worker program that was checked and works.
#[derive(Debug)]
pub struct Worker {
    program: PathBuf,
    /// What capture is like inside a sandbox.
    capture: CaptureStatus,
}

impl Worker {
    pub fn program(&self) -> &Path {
        &self.program
    }
}

/// Whether the sessions this process starts can capture, and what viewers
/// are told: inside their sandboxes if they have them, else here.
pub fn capture_status() -> CaptureStatus {
    match worker() {
        Some(worker) => worker.capture.clone(),
        None => crate::capture::status(),
    }
}

/// The process's choice, made once.
static CHOICE: OnceLock<(Option<Worker>, SandboxStatus)> = OnceLock::new();

/// Sandboxes every session this process starts from now on, if `program`
/// (this relay's own executable, or another build of it) can make one
/// here; says what was decided. Only the first call decides.
pub fn use_worker(program: PathBuf) -> SandboxStatus {
    CHOICE.get_or_init(|| check(program)).1.clone()
}

/// Runs sessions in this process from now on, as `--no-sandbox` asks.
/// Only the first call (of this or [`use_worker`]) decides.
pub fn refuse_worker() -> SandboxStatus {
    CHOICE
        .get_or_init(|| {
            (
                None,
                SandboxStatus {
                    enabled: false,
                    reason: format!("sandboxes are off (--no-sandbox): {IN_PROCESS}"),
                },
            )
        })
        .1
        .clone()
}

/// What running without a sandbox means, said after why.
const IN_PROCESS: &str = "sessions run in the relay's own process and share this machine's network namespace (each server on a free port of 127.0.0.1)";

/// The worker that sandboxes sessions, if there is one.
pub fn worker() -> Option<&'static Worker> {
    CHOICE.get().and_then(|(worker, _)| worker.as_ref())
}

/// Whether sessions are sandboxed, and why or why not.
pub fn status() -> SandboxStatus {
    match CHOICE.get() {
        Some((_, status)) => status.clone(),
        None => SandboxStatus {
            enabled: false,
            reason: format!("this program did not ask for sandboxes: {IN_PROCESS}"),
        },
    }
}

/// Runs `program worker --check` and reads what it says.
fn check(program: PathBuf) -> (Option<Worker>, SandboxStatus) {
    match ask_check(&program) {
        Ok(capture) => {
            let status = SandboxStatus {
                enabled: true,
                reason: "each session runs in a private network namespace of its own: its server at 127.0.0.1:3000, its loopback its own, nothing of this machine's reachable from it".to_owned(),
            };
            (Some(Worker { program, capture }), status)
        }
        Err(why) => {
            tracing::warn!("no sandboxes: {why}");
            let status = SandboxStatus {
                enabled: false,
                reason: format!("{why}; {IN_PROCESS}"),
            };
            (None, status)
        }
    }
}

fn ask_check(program: &Path) -> Result<CaptureStatus, String> {
    let mut child = Command::new(program)
        .args(["worker", "--check"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {} ({e})", program.display()))?;
    let stdout = child.stdout.take();
    // The read happens on a thread so that a worker that hangs costs the
    // patience, not the relay.
    let (tell, told) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let answer = stdout
            .ok_or_else(|| std::io::Error::other("no pipe"))
            .and_then(|out| channel::read::<FromWorker>(&mut BufReader::new(out)));
        let _ = tell.send(answer);
    });
    let answer = told.recv_timeout(CHECK_PATIENCE);
    let _ = child.kill();
    let _ = child.wait();
    match answer {
        Ok(Ok(Some(Frame::Message(FromWorker::Checked { capture })))) => Ok(capture),
        Ok(Ok(Some(Frame::Message(FromWorker::Refused { reason })))) => Err(reason),
        Ok(Ok(None)) => Err(format!(
            "the sandbox check ended without an answer: is {} a relay of this version?",
            program.display()
        )),
        Ok(Ok(Some(other))) => Err(format!("the sandbox check answered {other:?}")),
        Ok(Err(err)) => Err(format!("the sandbox check failed: {err}")),
        Err(_) => Err(format!(
            "the sandbox check did not answer within {CHECK_PATIENCE:?}"
        )),
    }
}
