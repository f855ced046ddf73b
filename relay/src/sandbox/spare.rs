//! A worker started ahead of need.
//!
//! Making a worker costs tens of milliseconds, nearly all of it the
//! kernel's: a new network namespace, and the capture's packet ring in it.
//! None of that depends on the session, so the relay keeps one worker made
//! and waiting for its `Start`: a reset or a new session takes it, and the
//! next spare is started at once, off the caller's path. A spare that died
//! meanwhile is not used; one left when the relay exits sees its input
//! close and exits too.

use std::{
    io,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    sync::Mutex,
    thread,
};

use crate::sync::lock;

/// A worker process and its two pipes, not yet told to start a session.
pub struct Spawned {
    pub child: Child,
    pub to_worker: ChildStdin,
    pub from_worker: ChildStdout,
}

/// Starts `program worker`.
pub fn spawn(program: &Path) -> io::Result<Spawned> {
    let mut child = Command::new(program)
        .arg("worker")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start a worker ({}): {e}", program.display()),
            )
        })?;
    match (child.stdin.take(), child.stdout.take()) {
        (Some(to_worker), Some(from_worker)) => Ok(Spawned {
            child,
            to_worker,
            from_worker,
        }),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            Err(io::Error::other("a worker started without its pipes"))
        }
    }
}

impl Spawned {
    /// Ends a worker nobody will use.
    fn end(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The spare, and the program it runs.
struct Spare(PathBuf, Spawned);

static SPARE: Mutex<Option<Spare>> = Mutex::new(None);

/// A worker of `program` for a new session: the spare if it is alive, else
/// a new one. Either way a new spare is started, on a thread of its own.
pub fn take(program: &Path) -> io::Result<Spawned> {
    let spare = lock(&SPARE).take();
    let ready = spare.and_then(|Spare(made_by, mut spawned)| {
        let alive = matches!(spawned.child.try_wait(), Ok(None));
        if made_by == program && alive {
            Some(spawned)
        } else {
            spawned.end();
            None
        }
    });
    let worker = match ready {
        Some(worker) => worker,
        None => spawn(program)?,
    };
    let program = program.to_owned();
    // Without a thread to start it, there is simply no spare next time.
    let _ = thread::Builder::new()
        .name("spare worker".into())
        .spawn(move || {
            if let Ok(spawned) = spawn(&program) {
                let old = lock(&SPARE).replace(Spare(program, spawned));
                if let Some(Spare(_, old)) = old {
                    old.end();
                }
            }
        });
    Ok(worker)
}
