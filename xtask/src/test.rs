//! `cargo xtask test`: every check and test, in the order that fails fastest.

use std::process::Command;

use anyhow::Result;

use crate::{
    cmd::{exec, step},
    page, setup,
};

pub fn run() -> Result<()> {
    setup::run()?;

    step("Formatting");
    exec(Command::new("cargo").args(["fmt", "--all", "--", "--check"]))?;

    step("Lints");
    exec(Command::new("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("Native tests: the pair on real sockets, the protocol, the frontend's model");
    exec(
        Command::new("cargo")
            .args(["test", "--workspace"])
            .env("TCPSTEP_REQUIRE_CAPTURE", "1")
            // Likewise the kernel's tracepoints (relay/tests/kernel.rs): root reads them.
            .env("TCPSTEP_REQUIRE_TRACEFS", "1"),
    )?;

    step("Release build of the visualiser (trunk build --release, wasm-opt included)");
    exec(Command::new("trunk").args(["build", "--release"]))?;

    step("Page tests: the built visualiser in headless Chromium, against a real relay");
    let serve = page::TrunkServe::start(true)?;
    exec(
        Command::new("cargo")
            .args([
                "test",
                "--package",
                "tcpstep-relay",
                "--test",
                "page",
                "--",
                "--ignored",
            ])
            .env("TCPSTEP_PAGE_URL", &serve.url)
            .env("TCPSTEP_REQUIRE_CAPTURE", "1")
            .env("TCPSTEP_REQUIRE_TRACEFS", "1")
            // The accessibility test injects axe-core from where set-up put it.
            .env("TCPSTEP_AXE_JS", setup::axe_script()),
    )?;
    println!(
        "screenshot: {}",
        crate::root().join("target/artifacts/page.png").display()
    );
    Ok(())
}
