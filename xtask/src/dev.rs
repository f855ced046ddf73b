//! `cargo xtask dev`: the relay and the visualiser, running, for a person to use.

use std::{
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
    let relay = Command::new("cargo")
        .current_dir(crate::root())
        .args([
            "run",
            "--quiet",
            "--package",
            "tcpstep-relay",
            "--",
            "serve",
            "--port",
            RELAY_PORT,
        ])
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
    exec(&mut trunk)
}

/// The relay runs exactly as long as `trunk serve` does.
struct StopOnDrop(Child);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
