//! The netfilter rules that send a session's segments to its queue.
//!
//! This kernel has the xtables `NFQUEUE` target but not nftables' own
//! `queue` expression, so the rules are made with Debian's `iptables`, run
//! inside the session's namespace (where the worker is root). Only the
//! OUTPUT chain: on loopback every segment is sent once and received once,
//! and taking it as it is sent gives each one verdict. `--queue-bypass`
//! lets segments pass when nothing reads the queue, so a worker that dies
//! never wedges a connection.

use std::process::Command;

/// The queue a session's segments go to: its own namespace has no other.
pub const QUEUE: u16 = 0;

/// Why the rules could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error(
        "cannot run iptables ({0}); `cargo xtask setup` installs it (Debian's iptables package)"
    )]
    Missing(std::io::Error),
    #[error("iptables refused the queue's rule: {0}")]
    Refused(String),
}

/// Sends every TCP segment to or from `port` on `lo` to [`QUEUE`].
pub fn queue_port(port: u16) -> Result<(), RulesError> {
    for side in ["--dport", "--sport"] {
        let port = port.to_string();
        let out = Command::new("iptables")
            .args(["-w", "-A", "OUTPUT", "-o", "lo", "-p", "tcp", side, &port])
            .args([
                "-j",
                "NFQUEUE",
                "--queue-num",
                &QUEUE.to_string(),
                "--queue-bypass",
            ])
            .output()
            .map_err(RulesError::Missing)?;
        if !out.status.success() {
            return Err(RulesError::Refused(
                String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            ));
        }
    }
    Ok(())
}
