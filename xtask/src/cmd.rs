//! Running other programs, and saying so.

use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Prints a step's heading, so that a long run reads as a list of what it did.
pub fn step(what: &str) {
    println!("\n==> {what}");
}

/// Runs `cmd` to completion from the workspace root, its output going to ours;
/// fails if it does.
pub fn exec(cmd: &mut Command) -> Result<()> {
    cmd.current_dir(crate::root());
    println!("$ {}", show(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {}", show(cmd)))?;
    if !status.success() {
        bail!("{} failed ({status})", show(cmd));
    }
    Ok(())
}

/// The trimmed standard output of `program args...`, or `None` if it cannot be
/// run or fails: the answer to "is this installed, and which version?".
pub fn probe(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn show(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
