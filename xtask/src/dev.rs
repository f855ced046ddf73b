//! `cargo xtask dev`: the visualiser, served and opened, for working on it.

use std::process::Command;

use anyhow::Result;

use crate::{
    cmd::{exec, step},
    setup,
};

pub fn run() -> Result<()> {
    setup::run()?;
    step("Serving the visualiser at http://127.0.0.1:8080/ (ctrl-c stops it)");
    let mut trunk = Command::new("trunk");
    trunk.arg("serve");
    // Open a browser where there is a screen to open it on.
    if std::env::var_os("DISPLAY").is_some() || cfg!(target_os = "macos") {
        trunk.arg("--open");
    }
    exec(&mut trunk)
}
