//! `cargo xtask test`: every check and test, in the order that fails fastest.

use std::process::Command;

use anyhow::{bail, Result};

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
    exec(Command::new("cargo").args(["test", "--workspace"]))?;

    step("Release build of the visualiser (trunk build --release, wasm-opt included)");
    exec(Command::new("trunk").args(["build", "--release"]))?;

    step("Page tests in headless Chromium");
    page_tests()
}

/// The visualiser, served by `trunk serve`, rendered by a real Chromium.
fn page_tests() -> Result<()> {
    let serve = page::TrunkServe::start(true)?;
    let mut passed = 0;
    let mut failed = Vec::new();
    let mut check = |name: &str, ok: bool| {
        if ok {
            passed += 1;
            println!("test page::{name} ... ok");
        } else {
            failed.push(name.to_owned());
            println!("test page::{name} ... FAILED");
        }
    };

    let dom = page::rendered_dom(&serve.url)?;
    check(
        "the_wasm_app_renders_its_heading",
        dom.contains("<h1>tcpstep</h1>"),
    );
    check(
        "the_page_shows_both_programs",
        dom.contains(r#"id="server""#) && dom.contains(r#"id="client""#),
    );
    check(
        "the_page_shows_the_pair_from_the_protocol_crate",
        dom.contains("recv_all(16)") && dom.contains("Greetings, server"),
    );
    let shot = crate::root().join("target/artifacts/page.png");
    page::screenshot(&serve.url, &shot, 1280, 800)?;
    println!("screenshot: {}", shot.display());

    println!("\npage tests: {passed} passed, {} failed", failed.len());
    if !failed.is_empty() {
        println!("--- rendered DOM ---\n{dom}");
        bail!("page tests failed: {}", failed.join(", "));
    }
    Ok(())
}
