//! `cargo xtask dev`: the relay and the visualiser, running, for a person to use.
//!
//! The relay and `trunk serve` live exactly as long as this command. When
//! trunk ends or this command fails, the relay is stopped on the way out
//! ([`StopOnDrop`]). When this command is killed outright (a signal to it
//! alone, `kill -9` included), nothing of it runs on the way out, so each
//! child is started with the kernel's parent-death signal
//! (`prctl(PR_SET_PDEATHSIG)`): the kernel sends it SIGTERM the moment this
//! process is gone. (`cargo run` replaces itself with the relay by `exec`,
//! which keeps the setting.)

use std::{
    io,
    os::unix::process::CommandExt,
    process::{Child, Command},
    thread,
    time::Duration,
};

use anyhow::{bail, Context, Result};

use crate::{
    cmd::{exec, step},
    setup,
};

/// The relay's WebSocket port: Trunk.toml proxies the page's `/ws` to it.
const RELAY_PORT: &str = "9001";

pub fn run() -> Result<()> {
    setup::run()?;

    step("Building the relay");
    exec(Command::new("cargo").args(["build", "--package", "tcpstep-relay"]))?;

    step("Starting the relay (relay serve)");
    let mut relay = Command::new("cargo");
    relay.current_dir(crate::root()).args([
        "run",
        "--quiet",
        "--package",
        "tcpstep-relay",
        "--",
        "serve",
        "--port",
        RELAY_PORT,
    ]);
    let relay = ends_with_us(&mut relay)
        .spawn()
        .context("cannot start the relay")?;
    let mut relay = StopOnDrop(relay);
    thread::sleep(Duration::from_millis(500));
    if let Some(status) = relay.0.try_wait()? {
        bail!("the relay stopped at once ({status}); its message is above");
    }

    step("Serving the visualiser at http://127.0.0.1:8080/ (ctrl-c stops both)");
    let mut trunk = Command::new("trunk");
    trunk.arg("serve");
    // Open a browser where there is a screen to open it on.
    if std::env::var_os("DISPLAY").is_some() || cfg!(target_os = "macos") {
        trunk.arg("--open");
    }
    exec(ends_with_us(&mut trunk))
}

/// Makes `command`'s process receive SIGTERM when this one ends, however it
/// ends (see the module's comment).
fn ends_with_us(command: &mut Command) -> &mut Command {
    let parent = std::process::id();
    let set_death_signal = move || {
        // SAFETY: prctl and getppid are async-signal-safe, as code between
        // fork and exec must be; neither touches memory we own.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // We may have ended between the fork and the prctl: then the signal
        // will never come, so do not start at all. (No allocation here:
        // another thread may have held the allocator's lock at the fork.)
        if u32::try_from(unsafe { libc::getppid() }).ok() != Some(parent) {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        Ok(())
    };
    // SAFETY: the closure only makes the async-signal-safe calls above.
    unsafe { command.pre_exec(set_death_signal) }
}

/// The relay runs exactly as long as `trunk serve` does.
struct StopOnDrop(Child);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
