//! `cargo xtask bench`: every benchmark, each figure against a baseline
//! measured in the same run. The report is target/artifacts/bench.md;
//! docs/PERFORMANCE.md keeps the figures of record and the command.

use std::{fs, io::Read, path::Path, process::Command};

use anyhow::{Context, Result};

use crate::{
    cmd::{exec, step},
    page, setup,
};

/// What the issue asks of the bundle, gzipped: wasm plus js.
const BUNDLE_TARGET: u64 = 250 * 1024;

pub fn run() -> Result<()> {
    setup::run()?;
    let artifacts = crate::root().join("target/artifacts");
    fs::create_dir_all(&artifacts)?;

    step("The relay and the model, natively (release build)");
    // The relay binary too: sandboxed sessions run it as their worker.
    exec(Command::new("cargo").args([
        "build",
        "--release",
        "--package",
        "tcpstep-relay",
        "--bin",
        "relay",
    ]))?;
    exec(Command::new("cargo").args(["run", "--release", "--package", "tcpstep-bench"]))?;
    let mut report = fs::read_to_string(artifacts.join("bench.md")).unwrap_or_default();

    step("The release bundle (trunk build --release), gzipped");
    exec(Command::new("trunk").args(["build", "--release"]))?;
    report.push_str(&bundle_section(&crate::root().join("dist"))?);

    step("The page in headless Chromium");
    let serve = page::TrunkServe::start(true)?;
    exec(
        Command::new("cargo")
            .args([
                "test",
                "--release",
                "--package",
                "tcpstep-relay",
                "--test",
                "page_bench",
                "--",
                "--ignored",
                "--nocapture",
            ])
            .env("TCPSTEP_PAGE_URL", &serve.url),
    )?;
    report.push('\n');
    report.push_str(&fs::read_to_string(artifacts.join("bench-page.md")).unwrap_or_default());

    let path = artifacts.join("bench.md");
    fs::write(&path, &report)?;
    println!("\n{report}\nreport: {}", path.display());
    Ok(())
}

/// The wasm and js trunk built, raw and gzipped (by the system's `gzip -9`).
fn bundle_section(dist: &Path) -> Result<String> {
    let mut rows = String::new();
    let mut total = 0;
    for entry in fs::read_dir(dist).context("no dist/: did trunk build?")? {
        let path = entry?.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if ext != "wasm" && ext != "js" {
            continue;
        }
        let raw = fs::metadata(&path)?.len();
        let gz = gzipped_len(&path)?;
        total += gz;
        rows.push_str(&format!("| {ext} | {raw} | {gz} |\n",));
    }
    Ok(format!(
        "\n## Release bundle\n\n| file | bytes | gzip -9 bytes |\n|---|---|---|\n{rows}\
         | together | | {total} ({:.1} KiB; target 250 KiB: {:.2}x of it) |\n",
        total as f64 / 1024.0,
        total as f64 / BUNDLE_TARGET as f64
    ))
}

fn gzipped_len(path: &Path) -> Result<u64> {
    let mut child = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("cannot run gzip")?;
    let mut out = Vec::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_end(&mut out)?;
    }
    child.wait()?;
    Ok(out.len() as u64)
}
