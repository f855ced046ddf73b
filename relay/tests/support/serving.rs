//! `relay serve` as a process, started on port 0, its banner read.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command as Process, Stdio},
};

use super::RELAY;

pub struct Serving {
    pub child: Child,
    pub url: String,
    pub banner: Vec<String>,
}

impl Serving {
    pub fn start() -> Serving {
        Serving::start_args(&[])
    }

    /// `relay serve --port 0` with more arguments.
    pub fn start_args(args: &[&str]) -> Serving {
        let mut process = Process::new(RELAY);
        process.arg("serve").args(args);
        Serving::start_with(process)
    }

    /// `relay serve --port 0`, as `process` runs it.
    pub fn start_with(mut process: Process) -> Serving {
        let mut child = process
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start relay serve");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut banner = Vec::new();
        let mut url = None;
        // The capture line ends the banner.
        while !banner.iter().any(|l: &String| l.starts_with("capture: ")) {
            let line = lines.next().expect("a banner line").expect("utf-8");
            if let Some(rest) = line.strip_prefix("viewers connect to ") {
                url = Some(rest.to_owned());
            }
            banner.push(line);
        }
        // Keep draining stdout so the relay never blocks on it.
        std::thread::spawn(move || lines.for_each(drop));
        Serving {
            child,
            url: url.expect("the banner names the WebSocket URL"),
            banner,
        }
    }

    /// The worker of the relay's one session: of its workers, the oldest
    /// (the other, if any, is the spare, started once the session took its
    /// worker).
    pub fn session_worker(&self) -> Option<u32> {
        let mut workers = super::children(self.child.id());
        workers.sort_by_key(|&pid| started_at(pid));
        workers.first().copied()
    }

    /// How many sockets the relay process and its session's worker hold
    /// open (not the spare's, which is being made at any moment).
    pub fn open_sockets(&self) -> usize {
        let pids = std::iter::once(self.child.id()).chain(self.session_worker());
        pids.map(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/fd"))
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter(|target| target.to_string_lossy().starts_with("socket:"))
                .count()
        })
        .sum()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// When process `pid` started, in clock ticks since boot (/proc/PID/stat's
/// 22nd field; 0 if it is gone).
fn started_at(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // The fields after the command name, which is in parentheses.
    let Some(rest) = stat.rfind(')').and_then(|i| stat.get(i + 2..)) else {
        return 0;
    };
    rest.split_whitespace()
        .nth(19)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}
